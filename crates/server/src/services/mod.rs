//! The platform's operations, shared by the web pages and the JSON API so that both do exactly the
//! same checks: parse the input (422 naming the field), check the policy on the object, change state
//! and write its audit record in one transaction.

use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::json;
use yunshu_domain::approval::{Approval, ChainSpec, Outcome};
use yunshu_domain::ids::{IdError, Mobile, ResidentId, Uscc};
use yunshu_domain::party::{OrgType, Role, RoleSet};
use yunshu_domain::personnel::{
    ConfidentialityAgreement, FilingStatus, PersonName, Username, check_password_policy,
};
use yunshu_domain::regions::RegionCode;
use yunshu_store::Change;
use yunshu_store::approvals::{ApprovalRecord, ApprovalSubject};
use yunshu_store::orgs::{NewOrg, Organisation};
use yunshu_store::users::{IdentityResult, NewUser, User};

pub mod backflow;
pub mod catalog;
pub mod data_use;
pub mod datasets;
pub mod evaluations;
pub mod onboarding;
pub mod plans;
pub mod reg_notices;
pub mod sanctions;
pub mod sandbox;
pub mod sweep;
pub mod verifications;

use crate::AppState;
use crate::auth::hash_password;
use crate::authz::PolicyResource;
use crate::context::Ctx;
use crate::error::{AppError, AppResult};

/// The approval action under which personnel filings run.
pub const FILING_ACTION: &str = "user.filing";

fn id_error(field: &'static str, label: &str, e: IdError) -> AppError {
    AppError::invalid(field, e.code(), format!("{label}：{}", e.message_zh()))
}

/// The organisation of `org_type` that serves `region`: the most local active one whose area contains
/// it (a prefecture's registration body before the province's). Registration, escalation of overdue
/// verification requests and the registration certificate all ask this.
pub async fn serving_org(
    state: &AppState,
    org_type: OrgType,
    region: &RegionCode,
) -> AppResult<Option<Organisation>> {
    Ok(state
        .store
        .orgs_in_region("")
        .await?
        .into_iter()
        .filter(|o| o.active && o.org_type == org_type && state.regions.contains(&o.region, region))
        .max_by_key(|o| state.regions.ancestors(&o.region).len()))
}

pub fn org_resource(org: &Organisation) -> PolicyResource {
    PolicyResource::Org { id: org.id, region: org.region }
}

pub async fn user_resource(state: &AppState, user: &User) -> AppResult<PolicyResource> {
    let org = state.store.org(user.org_id).await?;
    Ok(PolicyResource::User { id: user.id, org_id: org.id, region: org.region })
}

/// Raw input for a new organisation (form or JSON).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct OrgInput {
    /// 机构名称.
    pub name: String,
    /// 统一社会信用代码 (GB 32100, 18 characters with check character).
    pub uscc: String,
    /// data_authority | implementing_agency | operator | developer | data_provider | public_utility |
    /// registration_body | platform_operator | supervisor
    pub org_type: String,
    /// GB/T 2260 code of a region in Yunnan.
    pub region: String,
}

pub fn parse_org(state: &AppState, input: &OrgInput) -> AppResult<NewOrg> {
    let name = input.name.trim();
    if name.chars().count() < 2 || name.chars().count() > 100 {
        return Err(AppError::invalid("name", "org.name_length", "机构名称应为 2 至 100 个字符"));
    }
    let uscc = Uscc::parse(&input.uscc).map_err(|e| id_error("uscc", "统一社会信用代码", e))?;
    let org_type = OrgType::parse(input.org_type.trim())
        .map_err(|_| AppError::invalid("org_type", "org.type_unknown", "请选择机构类型"))?;
    let region = RegionCode::parse(input.region.trim())
        .ok()
        .filter(|r| state.regions.get(r).is_some())
        .ok_or_else(|| AppError::invalid("region", "region.unknown", "请选择云南省内的行政区划"))?;
    Ok(NewOrg { name: name.to_owned(), uscc, org_type, region })
}

pub async fn create_org(state: &AppState, ctx: &Ctx, input: &OrgInput) -> AppResult<i64> {
    let org = parse_org(state, input)?;
    // The new organisation must sit inside the caller's area.
    ctx.require(state, "org.create", &PolicyResource::Org { id: 0, region: org.region })?;
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    let id = tx.create_org(&org).await?;
    tx.commit().await?;
    Ok(id)
}

/// Raw input for a new user.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct UserInput {
    pub org_id: i64,
    /// 登录名.
    pub username: String,
    /// 姓名 (real name).
    pub display_name: String,
    /// 居民身份证号码 (GB 11643).
    pub resident_id: String,
    /// 手机号码.
    pub mobile: String,
    /// Role codes: clerk, head, leader, admin, reviewer.
    pub roles: Vec<String>,
    /// Initial password (policy: ≥ 10 characters, 3 of 4 classes, not containing the login name).
    pub password: String,
}

pub struct ParsedUser {
    pub username: Username,
    pub name: PersonName,
    pub resident_id: ResidentId,
    pub mobile: Mobile,
    pub roles: RoleSet,
}

impl ParsedUser {
    /// The store's record of a new user of `org_id` with the (already hashed) password.
    pub fn into_new_user(self, org_id: i64, password_hash: String) -> NewUser {
        NewUser {
            org_id,
            username: self.username.as_str().to_owned(),
            display_name: self.name.as_str().to_owned(),
            resident_id: self.resident_id,
            mobile: self.mobile,
            roles: self.roles,
            password_hash,
        }
    }
}

pub fn parse_user(input: &UserInput) -> AppResult<ParsedUser> {
    let username = Username::parse(&input.username)
        .map_err(|e| AppError::invalid("username", e.code(), e.message_zh()))?;
    let name = PersonName::parse(&input.display_name)
        .map_err(|e| AppError::invalid("display_name", e.code(), e.message_zh()))?;
    let resident_id =
        ResidentId::parse(&input.resident_id).map_err(|e| id_error("resident_id", "身份证号码", e))?;
    let mobile = Mobile::parse(&input.mobile).map_err(|e| id_error("mobile", "手机号码", e))?;
    let mut roles = Vec::new();
    for r in &input.roles {
        roles.push(
            Role::parse(r.trim())
                .map_err(|_| AppError::invalid("roles", "user.role_unknown", format!("未知岗位：{r}")))?,
        );
    }
    let roles = RoleSet::new(roles);
    if roles.is_empty() {
        return Err(AppError::invalid("roles", "user.roles_empty", "请至少选择一个岗位"));
    }
    check_password_policy(&input.password, username.as_str())
        .map_err(|e| AppError::invalid("password", e.code(), e.message_zh()))?;
    Ok(ParsedUser { username, name, resident_id, mobile, roles })
}

pub async fn create_user(state: &AppState, ctx: &Ctx, input: &UserInput) -> AppResult<i64> {
    let parsed = parse_user(input)?;
    let org = match state.store.org(input.org_id).await {
        Ok(o) => o,
        Err(yunshu_store::StoreError::NotFound) => {
            return Err(AppError::invalid("org_id", "org.unknown", "所属机构不存在"));
        }
        Err(e) => return Err(e.into()),
    };
    ctx.require(state, "user.create", &org_resource(&org))?;
    let hash = hash_password(&input.password)?;
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    let id = tx.create_user(&parsed.into_new_user(org.id, hash)).await?;
    tx.commit().await?;
    Ok(id)
}

/// Loads a user the caller may act on with `action`.
pub async fn user_for(state: &AppState, ctx: &Ctx, id: i64, action: &str) -> AppResult<User> {
    let user = state.store.user(id).await?;
    ctx.require(state, action, &user_resource(state, &user).await?)?;
    Ok(user)
}

pub async fn verify_identity(state: &AppState, ctx: &Ctx, user_id: i64) -> AppResult<IdentityResult> {
    let user = user_for(state, ctx, user_id, "user.manage").await?;
    let v = state.verifier.verify(&user.display_name, &user.resident_id);
    let result = IdentityResult { status: v.status, verifier: v.verifier, detail: v.detail };
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    tx.record_identity(user.id, &result).await?;
    tx.commit().await?;
    Ok(result)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct AgreementInput {
    /// Signing date, YYYY-MM-DD.
    pub signed_on: String,
    /// Expiry date, YYYY-MM-DD; empty for none.
    #[serde(default)]
    pub expires_on: Option<String>,
    /// The agreement's reference number (文号 / 编号).
    pub reference: String,
}

pub(crate) fn parse_date(field: &'static str, s: &str) -> AppResult<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| AppError::invalid(field, "date.format", "日期格式应为 YYYY-MM-DD"))
}

pub async fn record_agreement(
    state: &AppState,
    ctx: &Ctx,
    user_id: i64,
    input: &AgreementInput,
) -> AppResult<()> {
    let signed = parse_date("signed_on", &input.signed_on)?;
    if signed > ctx.today() {
        return Err(AppError::invalid("signed_on", "agreement.future", "签署日期不能晚于今天"));
    }
    let expires = match input.expires_on.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => Some(parse_date("expires_on", s)?),
        _ => None,
    };
    let agreement = ConfidentialityAgreement::new(signed, expires)
        .map_err(|e| AppError::invalid("expires_on", e.code(), e.message_zh()))?;
    let reference = input.reference.trim();
    if reference.is_empty() || reference.chars().count() > 64 {
        return Err(AppError::invalid(
            "reference",
            "agreement.reference",
            "请填写协议编号（最多 64 个字符）",
        ));
    }
    let user = user_for(state, ctx, user_id, "user.manage").await?;
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    tx.record_agreement(user.id, &agreement, reference).await?;
    tx.commit().await?;
    Ok(())
}

/// The users of an organisation holding a role, minus those who must not review (the subject).
async fn resolver(state: &AppState, org_id: i64, exclude: Option<i64>) -> AppResult<Vec<User>> {
    Ok(state
        .store
        .users_of_org(org_id)
        .await?
        .into_iter()
        .filter(|u| u.active && Some(u.id) != exclude)
        .collect())
}

fn resolve_fn(users: &[User]) -> impl Fn(Role) -> Vec<i64> + '_ {
    move |role| users.iter().filter(|u| u.roles.contains(role)).map(|u| u.id).collect()
}

/// Submits a user's personnel filing (人员备案) to their organisation's chain.
pub async fn submit_filing(state: &AppState, ctx: &Ctx, user_id: i64) -> AppResult<i64> {
    let me = ctx.me()?;
    let user = user_for(state, ctx, user_id, "user.manage").await?;
    if matches!(user.filing, FilingStatus::Pending | FilingStatus::Approved) {
        return Err(AppError::conflict("filing.already", "该人员备案已提交或已通过"));
    }
    let spec = state.store.chain_spec(user.org_id, FILING_ACTION).await?.unwrap_or_else(ChainSpec::head_only);
    let users = resolver(state, user.org_id, Some(user.id)).await?;
    let (approval, outcome) = Approval::start(me.user.id, spec, resolve_fn(&users))?;
    let cal = state.store.work_calendar().await?;
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    let approval_id = tx
        .insert_approval(
            &ApprovalSubject {
                org_id: user.org_id,
                action: FILING_ACTION,
                subject_type: "user",
                subject_id: user.id.to_string(),
                title: format!("人员备案：{}（{}）", user.display_name, user.username),
            },
            &approval,
            &cal,
            ctx.today(),
        )
        .await?;
    tx.mark_filing_submitted(user.id, approval_id).await?;
    if let Outcome::Started { assignees } = &outcome {
        for a in assignees {
            tx.notify(
                *a,
                &format!("待审核人员备案：{}", user.display_name),
                Some(&format!("/approvals/{approval_id}")),
            )
            .await?;
        }
    }
    tx.audit(Change::ok(
        "user.submit_filing",
        "user",
        user.id,
        json!({"approval_id": approval_id, "chain": approval.spec.to_text()}),
    ))
    .await?;
    tx.commit().await?;
    Ok(approval_id)
}

pub async fn deactivate_user(state: &AppState, ctx: &Ctx, user_id: i64) -> AppResult<()> {
    let me = ctx.me()?;
    if me.user.id == user_id {
        return Err(AppError::conflict("user.self_deactivate", "不能停用自己的账号"));
    }
    let user = user_for(state, ctx, user_id, "user.deactivate").await?;
    if !user.active {
        return Err(AppError::conflict("user.already_inactive", "该账号已停用"));
    }
    // Approvals waiting for this person would stall: their initiators are told, so that they can
    // withdraw and resubmit (a resubmission asks only active colleagues).
    let waiting = state.store.approvals_waiting_for(user.id).await?;
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    tx.set_user_active(user.id, false).await?;
    for (id, initiator, title) in &waiting {
        tx.notify(
            *initiator,
            &format!("审批人{}已停用，请撤回后重新提交：{title}", user.display_name),
            Some(&format!("/approvals/{id}")),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A decision on an approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject,
    Return,
    Withdraw,
    Resubmit,
    Transfer,
    Remind,
}

impl Decision {
    pub fn parse(s: &str) -> Option<Decision> {
        Some(match s {
            "approve" => Decision::Approve,
            "reject" => Decision::Reject,
            "return" => Decision::Return,
            "withdraw" => Decision::Withdraw,
            "resubmit" => Decision::Resubmit,
            "transfer" => Decision::Transfer,
            "remind" => Decision::Remind,
            _ => return None,
        })
    }
    pub fn code(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Reject => "reject",
            Decision::Return => "return",
            Decision::Withdraw => "withdraw",
            Decision::Resubmit => "resubmit",
            Decision::Transfer => "transfer",
            Decision::Remind => "remind",
        }
    }
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct DecisionInput {
    /// Opinion or reason (required to reject or return).
    #[serde(default)]
    pub comment: Option<String>,
    /// For `transfer`: the user who takes the task over (same organisation).
    #[serde(default)]
    pub to_user: Option<i64>,
}

/// Loads an approval the caller may see.
pub async fn approval_for(state: &AppState, ctx: &Ctx, id: i64, action: &str) -> AppResult<ApprovalRecord> {
    let rec = state.store.approval(id).await?;
    let org = state.store.org(rec.org_id).await?;
    let resource = PolicyResource::Approval { id, org_id: org.id, region: org.region };
    // The initiator may always follow what they submitted, even from another organisation.
    let initiator = ctx.principal.as_ref().is_some_and(|p| p.user.id == rec.approval.initiator);
    if !initiator {
        ctx.require(state, action, &resource)?;
    }
    Ok(rec)
}

pub async fn decide(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    decision: Decision,
    input: &DecisionInput,
) -> AppResult<Outcome> {
    let me = ctx.me()?.user.id;
    let rec = approval_for(state, ctx, id, "approval.act").await?;
    let subject_user = if rec.subject_type == "user" { rec.subject_id.parse::<i64>().ok() } else { None };
    let users = resolver(state, rec.org_id, subject_user).await?;
    let resolve = resolve_fn(&users);
    let comment = input.comment.clone().filter(|c| !c.trim().is_empty());
    let mut a = rec.approval.clone();
    let outcome = match decision {
        Decision::Approve => a.approve(me, comment.clone(), &resolve)?,
        Decision::Reject => a.reject(me, comment.clone().unwrap_or_default())?,
        Decision::Return => a.send_back(me, comment.clone().unwrap_or_default())?,
        Decision::Withdraw => a.withdraw(me)?,
        Decision::Resubmit => a.resubmit(me, &resolve)?,
        Decision::Remind => a.remind(me)?,
        Decision::Transfer => {
            let to = input
                .to_user
                .ok_or_else(|| AppError::invalid("to_user", "approval.transfer_target", "请选择转办人员"))?;
            // 转办 hands the task to a colleague who holds the step's role (a 负责人 step goes to
            // another 负责人, never to a clerk).
            let role = match rec.approval.status {
                yunshu_domain::approval::ApprovalStatus::InProgress { step } => {
                    rec.approval.spec.steps().get(step).map(|s| s.role)
                }
                _ => None,
            };
            if !users.iter().any(|u| u.id == to && role.is_some_and(|r| u.roles.contains(r))) {
                return Err(AppError::invalid(
                    "to_user",
                    "approval.transfer_target",
                    "只能转办给本单位在岗、且担任该环节岗位的人员",
                ));
            }
            a.transfer(me, to)?
        }
    };
    let cal = state.store.work_calendar().await?;
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    tx.save_approval(&rec, &a, &cal, ctx.today()).await?;
    let link = format!("/approvals/{id}");
    match &outcome {
        Outcome::Advanced { assignees, .. } | Outcome::Started { assignees } => {
            for u in assignees {
                tx.notify(*u, &format!("待办：{}", rec.title), Some(&link)).await?;
            }
        }
        Outcome::Reminded { assignees } => {
            for u in assignees {
                tx.notify(*u, &format!("催办：{}", rec.title), Some(&link)).await?;
            }
        }
        Outcome::Approved | Outcome::Rejected | Outcome::Returned => {
            tx.notify(
                rec.approval.initiator,
                &format!("{}：{}", a.status.label_zh(), rec.title),
                Some(&link),
            )
            .await?;
        }
        Outcome::Waiting | Outcome::Withdrawn => {}
    }
    // Apply the decision to its subject.
    if rec.action == FILING_ACTION
        && let Some(uid) = subject_user
    {
        let filing = match a.status {
            yunshu_domain::approval::ApprovalStatus::Approved => Some(FilingStatus::Approved),
            yunshu_domain::approval::ApprovalStatus::Rejected => Some(FilingStatus::Rejected),
            yunshu_domain::approval::ApprovalStatus::Returned
            | yunshu_domain::approval::ApprovalStatus::Withdrawn => Some(FilingStatus::Returned),
            yunshu_domain::approval::ApprovalStatus::InProgress { .. } => Some(FilingStatus::Pending),
        };
        if let Some(f) = filing {
            tx.set_filing(uid, f, None).await?;
        }
    }
    tx.audit(Change::ok(
        match decision {
            Decision::Approve => "approval.approve",
            Decision::Reject => "approval.reject",
            Decision::Return => "approval.return",
            Decision::Withdraw => "approval.withdraw",
            Decision::Resubmit => "approval.resubmit",
            Decision::Transfer => "approval.transfer",
            Decision::Remind => "approval.remind",
        },
        "approval",
        id,
        json!({"title": rec.title, "comment": comment, "to_user": input.to_user,
               "status": a.status.code(), "round": a.round}),
    ))
    .await?;
    tx.commit().await?;
    Ok(outcome)
}

/// Sets an organisation's chain for an action (`head:any:5;leader:any:3`).
pub async fn configure_chain(
    state: &AppState,
    ctx: &Ctx,
    org_id: i64,
    action: &str,
    spec_text: &str,
) -> AppResult<()> {
    let org = state.store.org(org_id).await?;
    ctx.require(state, "chain.configure", &org_resource(&org))?;
    if action != FILING_ACTION {
        return Err(AppError::invalid("action", "chain.unknown_action", "该事项没有可配置的审批链"));
    }
    let spec =
        ChainSpec::parse_text(spec_text).map_err(|e| AppError::invalid("spec", e.code(), e.message_zh()))?;
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    tx.set_chain_spec(org.id, action, &spec).await?;
    tx.commit().await?;
    Ok(())
}

/// Loads a year's official holiday schedule and recomputes every open deadline, in one transaction
/// with its audit record. Returns the number of deadlines whose due date or provisional flag changed.
pub async fn load_schedule(
    state: &AppState,
    ctx: &Ctx,
    schedule: yunshu_domain::calendar::YearSchedule,
    source: &str,
) -> AppResult<u64> {
    if source.is_empty() || source.chars().count() > 200 {
        return Err(AppError::invalid(
            "source",
            "calendar.source",
            "请填写通知文号或来源（最多 200 个字符）",
        ));
    }
    let cal = state.store.work_calendar().await?;
    // Validate against the calendar first, so a bad schedule is a 422 naming the problem.
    cal.clone().load(schedule.clone()).map_err(|e| AppError::invalid("days", e.code(), e.message_zh()))?;
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    let n = tx.load_holiday_schedule(schedule, source, &cal).await?;
    tx.commit().await?;
    Ok(n)
}

/// First start of a production platform: creates the first organisation (the bureau or the platform
/// operator) and its administrator, in one audited transaction. Refused once any organisation exists —
/// from then on administrators create everything through the platform.
pub async fn bootstrap(
    state: &AppState,
    now: chrono::DateTime<chrono::Utc>,
    org: &OrgInput,
    admin: &UserInput,
) -> AppResult<(i64, i64)> {
    let new_org = parse_org(state, org)?;
    if !matches!(new_org.org_type, OrgType::DataAuthority | OrgType::PlatformOperator) {
        return Err(AppError::invalid(
            "org_type",
            "bootstrap.org_type",
            "首个机构应为数据主管部门或平台运行保障机构",
        ));
    }
    let parsed = parse_user(admin)?;
    if !parsed.roles.contains(Role::Admin) {
        return Err(AppError::invalid("roles", "bootstrap.roles", "首个用户须为系统管理员"));
    }
    if state.store.count_orgs().await? > 0 {
        return Err(AppError::conflict("bootstrap.done", "平台已有机构，不能再次初始化"));
    }
    let hash = hash_password(&admin.password)?;
    let mut tx = state.store.begin(now, &yunshu_store::AuditCtx::system("bootstrap")).await?;
    let org_id = tx.create_org(&new_org).await?;
    let user_id = tx.create_user(&parsed.into_new_user(org_id, hash)).await?;
    tx.commit().await?;
    Ok((org_id, user_id))
}
