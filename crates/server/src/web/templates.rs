//! Template structs of the web UI (askama, compiled into the binary). Each page carries the
//! [`Layout`] the base template reads: who is signed in, the menu they may use, breadcrumbs.

use askama::Template;

pub struct MenuItem {
    pub label: String,
    pub href: String,
    pub active: bool,
}

pub struct MenuGroup {
    pub title: String,
    pub items: Vec<MenuItem>,
}

pub struct Layout {
    pub user_name: String,
    pub org_name: String,
    pub region_name: String,
    pub roles: String,
    pub csrf: String,
    pub notifications: usize,
    pub menu: Vec<MenuGroup>,
    pub crumbs: Vec<(String, String)>,
    pub flash: String,
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub status: u16,
    pub title: &'static str,
    pub message: String,
    pub operation_id: String,
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub csrf: String,
    pub error: String,
    pub username: String,
    pub totp: bool,
    pub max_failures: i64,
    pub lock_minutes: i64,
    pub idle_minutes: i64,
}

pub struct TodoRow {
    pub link: String,
    pub title: String,
    pub received: String,
    pub due: String,
    pub left: String,
    pub overdue: bool,
}

pub struct DoneRow {
    pub approval_id: i64,
    pub title: String,
    pub state: String,
    pub decided: String,
}

#[derive(Template)]
#[template(path = "desk.html")]
pub struct DeskPage {
    pub l: Layout,
    pub org_name: String,
    pub org_type: String,
    pub region_path: String,
    pub region_code: String,
    pub todo: Vec<TodoRow>,
    pub overdue: usize,
    pub done: Vec<DoneRow>,
    pub mine: Vec<(i64, String)>,
    pub notices: Vec<(String, String, String)>,
    pub gaps: Vec<String>,
    /// (label, value, link)
    pub figures: Vec<(String, String, String)>,
}

/// A list's pager: which page of how many, and the links to the neighbours (empty at the ends).
pub struct Pager {
    pub total: usize,
    pub page: usize,
    pub pages: usize,
    pub prev: String,
    pub next: String,
}

pub struct OrgRow {
    pub id: i64,
    pub name: String,
    pub uscc: String,
    pub org_type_label: String,
    pub region: String,
    pub region_name: String,
    pub active: bool,
}

#[derive(Default)]
pub struct OrgForm {
    pub name: String,
    pub uscc: String,
    pub org_type: String,
    pub region: String,
}

#[derive(Template)]
#[template(path = "orgs.html")]
pub struct OrgsPage {
    pub l: Layout,
    pub q: String,
    pub org_type: String,
    pub orgs: Vec<OrgRow>,
    pub pager: Pager,
    pub types: Vec<(String, String)>,
    pub regions: Vec<(String, String)>,
    pub can_create: bool,
    pub form: OrgForm,
    pub error: String,
    pub error_field: String,
}

pub struct HistoryRow {
    pub when: String,
    pub what: String,
    pub who: String,
    pub detail: String,
}

pub struct UserRow {
    pub id: i64,
    pub name: String,
    pub username: String,
    pub org: String,
    pub roles: String,
    pub resident_id: String,
    pub mobile: String,
    pub identity: String,
    pub identity_detail: String,
    pub filing: String,
    pub filing_link: i64,
    pub agreement: String,
    pub status: String,
    pub active: bool,
    pub eligible: bool,
}

#[derive(Template)]
#[template(path = "org.html")]
pub struct OrgPage {
    pub l: Layout,
    pub org: OrgRow,
    pub users: Vec<UserRow>,
    pub chain: String,
    /// Three editable steps: (role code, mode code, days); empty role = no such step.
    pub chain_steps: Vec<(String, String, String)>,
    pub role_options: Vec<(String, String)>,
    pub can_configure: bool,
    pub history: Vec<HistoryRow>,
}

#[derive(Default)]
pub struct UserForm {
    pub org_id: String,
    pub username: String,
    pub display_name: String,
    pub resident_id: String,
    pub mobile: String,
    pub roles: Vec<String>,
}

impl UserForm {
    pub fn has_role(&self, r: &str) -> bool {
        self.roles.iter().any(|x| x == r)
    }
}

#[derive(Template)]
#[template(path = "users.html")]
pub struct UsersPage {
    pub l: Layout,
    pub users: Vec<UserRow>,
    pub q: String,
    pub pager: Pager,
    pub orgs: Vec<(String, String)>,
    pub roles: Vec<(String, String)>,
    pub can_create: bool,
    pub form: UserForm,
    pub error: String,
    pub error_field: String,
}

#[derive(Template)]
#[template(path = "user.html")]
pub struct UserPage {
    pub l: Layout,
    pub u: UserRow,
    pub gaps: Vec<String>,
    pub can_manage: bool,
    pub can_deactivate: bool,
    pub history: Vec<HistoryRow>,
}

pub struct TaskRow {
    pub round: u32,
    pub step: String,
    pub assignee: String,
    pub comment: String,
    pub state: String,
    pub due: String,
    pub overdue: bool,
}

#[derive(Template)]
#[template(path = "approval.html")]
pub struct ApprovalPage {
    pub l: Layout,
    pub id: i64,
    pub title: String,
    pub action: String,
    pub initiator: String,
    pub chain: String,
    pub status: String,
    pub status_class: String,
    pub round: u32,
    pub tasks: Vec<TaskRow>,
    pub can_decide: bool,
    pub colleagues: Vec<(i64, String)>,
    pub is_initiator: bool,
    pub running: bool,
    pub resubmittable: bool,
    pub history: Vec<HistoryRow>,
}

pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub created: String,
    pub expires: String,
    pub status: String,
    pub revocable: bool,
}

#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage {
    pub l: Layout,
    /// The user's own personnel record (实名, 备案, 保密协议) and what still blocks data access.
    pub me: UserRow,
    pub gaps: Vec<String>,
    pub error: String,
    pub totp_enabled: bool,
    pub totp_required: bool,
    pub totp_secret: String,
    pub totp_uri: String,
    pub tokens: Vec<TokenRow>,
    pub new_token: String,
}

#[derive(Template)]
#[template(path = "calendar.html")]
pub struct CalendarPage {
    pub l: Layout,
    pub years: String,
    pub start: String,
    pub days: u32,
    pub unit: String,
    pub answer: String,
    pub error: String,
    pub month_title: String,
    /// Weeks of (day label, css class, title).
    pub weeks: Vec<Vec<(String, String, String)>>,
    pub can_load: bool,
}

pub struct AuditRow {
    pub seq: i64,
    pub at: String,
    pub action: String,
    pub object: String,
    pub result: String,
    pub user: String,
    pub org: String,
    pub ip: String,
    pub summary: String,
}

#[derive(Template)]
#[template(path = "audit_record.html")]
pub struct AuditRecordPage {
    pub l: Layout,
    pub seq: i64,
    pub at: String,
    pub action: String,
    pub object: String,
    pub result: String,
    pub user: String,
    pub org: String,
    pub role: String,
    pub ip: String,
    pub operation_id: String,
    pub summary: String,
    /// The stored summary, pretty-printed.
    pub json: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
pub struct AuditPage {
    pub l: Layout,
    pub records: Vec<AuditRow>,
    pub action: String,
    pub result: String,
    pub person: String,
    pub object_type: String,
    pub object_id: String,
    /// (code, name) of the actions and object kinds the filters offer.
    pub actions: &'static [(&'static str, &'static str)],
    pub objects: &'static [(&'static str, &'static str)],
    /// The CSV export of what the filters select.
    pub export_link: String,
    /// The next (older) page, empty on the last page.
    pub next_link: String,
}
