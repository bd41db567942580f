//! Pages of 数据使用 (data-use requests, Art. 20, with the printable 审批表) and 开发项目 (projects,
//! their security assessments and grants, Art. 21, 25(3), 28). The operator drafts, submits,
//! assesses, grants and revokes; the data authority and the provider decide; the developer opens
//! projects and sees its grants; authorities and supervisors read. Forms post to the same services as
//! the API; a validation error shows the page again with the message (422 / 409).

use std::collections::HashMap;

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Datelike;
use yunshu_domain::authorization::developer::ScenarioStatus;
use yunshu_domain::catalog::UsageClass;
use yunshu_domain::data_use::RequestStatus;
use yunshu_domain::party::OrgType;

use super::templates::{HistoryRow, Layout};
use super::{history, layout, page};
use crate::AppState;
use crate::api::data_use::{DataUseRequestView, ProjectView, project_view, request_view};
use crate::authz::PolicyResource;
use crate::context::Ctx;
use crate::error::{AppError, AppResult};
use crate::extract::{Form, Path, Query};
use crate::services::data_use::{
    self as svc, FieldInput, FieldRefInput, GrantForm, ProjectInput, RequestInput, RequestMove,
    RequestMoveInput, RevokeInput, SecurityAssessmentInput,
};

type Fields = HashMap<String, String>;

fn get<'a>(f: &'a Fields, k: &str) -> &'a str {
    f.get(k).map(String::as_str).unwrap_or("")
}

fn id_of(f: &Fields, k: &str) -> i64 {
    get(f, k).trim().parse().unwrap_or(0)
}

fn own(ctx: &Ctx) -> AppResult<PolicyResource> {
    let me = ctx.me()?;
    Ok(PolicyResource::Onboarding { id: 0, parties: vec![(me.org.id, me.org.region)] })
}

fn classes() -> Vec<(&'static str, &'static str)> {
    UsageClass::ALL.iter().map(|c| (c.code(), c.label_zh())).collect()
}

// ---- request list -------------------------------------------------------------------------------

pub struct RequestRow {
    pub id: i64,
    pub scenario: String,
    pub operator: String,
    pub provider: String,
    pub fields: usize,
    pub valid_until: String,
    pub status: String,
    pub due: String,
}

#[derive(Template)]
#[template(path = "data_use_requests.html")]
pub struct RequestsPage {
    pub l: Layout,
    pub rows: Vec<RequestRow>,
    pub can_operate: bool,
}

fn due_words(v: &DataUseRequestView) -> String {
    v.deadlines
        .iter()
        .filter(|d| d.open)
        .map(|d| {
            let (left, _) = super::left_words(d.working_days_left.unwrap_or(0), d.provisional);
            format!("{}：{}（{}）", d.side_label, d.due_date.clone().unwrap_or_default(), left)
        })
        .collect::<Vec<_>>()
        .join("；")
}

pub async fn requests(State(state): State<AppState>, Extension(ctx): Extension<Ctx>) -> AppResult<Response> {
    let l = layout(&state, &ctx, "/data-use/requests", vec![("数据使用", ""), ("数据使用申请", "")]).await?;
    let today = ctx.today();
    let mut rows = Vec::new();
    for r in svc::visible_requests(&state, &ctx).await? {
        let v = request_view(&state, &r, today).await?;
        rows.push(RequestRow {
            id: v.id,
            scenario: v.scenario.clone(),
            operator: v.operator.clone(),
            provider: v.provider.clone(),
            fields: v.fields.len(),
            valid_until: v.valid_until.clone(),
            status: v.status_label.clone(),
            due: due_words(&v),
        });
    }
    let can_operate = ctx.allowed(&state, "data_use.operate", &own(&ctx)?);
    Ok(page(&RequestsPage { l, rows, can_operate }).into_response())
}

// ---- new request --------------------------------------------------------------------------------

pub struct ItemRow {
    pub n: usize,
    pub resource_id: i64,
    pub resource: String,
    pub item: String,
    pub grade: String,
    pub pi: String,
    pub rules: String,
}

#[derive(Template)]
#[template(path = "data_use_request_new.html")]
pub struct NewRequestPage {
    pub l: Layout,
    pub scenarios: Vec<(i64, String)>,
    pub providers: Vec<(i64, String)>,
    pub scenario_id: i64,
    pub provider_id: i64,
    pub items: Vec<ItemRow>,
    pub classes: Vec<(&'static str, &'static str)>,
    pub valid_until: String,
    pub error: String,
}

async fn new_request_page(
    state: &AppState,
    ctx: &Ctx,
    scenario_id: i64,
    provider_id: i64,
    error: Option<AppError>,
) -> AppResult<NewRequestPage> {
    let l =
        layout(state, ctx, "/data-use/requests", vec![("数据使用", "/data-use/requests"), ("新建申请", "")])
            .await?;
    let me = ctx.me()?;
    let scenarios = state
        .store
        .scenarios()
        .await?
        .into_iter()
        .filter(|s| s.scenario.operator == me.org.id && s.scenario.status == ScenarioStatus::Open)
        .map(|s| (s.id, s.scenario.title))
        .collect();
    // Only what is registered (has a code) is offered: the catalogue the operator may request from.
    let registered: Vec<_> = crate::services::catalog::visible_resources(state, ctx)
        .await?
        .into_iter()
        .filter(|r| r.reg_code.is_some() && !r.on_negative_list)
        .collect();
    let mut providers: Vec<(i64, String)> = Vec::new();
    for r in &registered {
        if !providers.iter().any(|(id, _)| *id == r.provider_org_id) {
            providers.push((r.provider_org_id, state.store.org(r.provider_org_id).await?.name));
        }
    }
    let mut items = Vec::new();
    for listed in registered.iter().filter(|r| r.provider_org_id == provider_id) {
        // Lists carry no items; the one resource does.
        let r = state.store.resource(listed.id).await?;
        for i in &r.items {
            let mut pi = Vec::new();
            if i.pi.direct {
                pi.push("直接标识符");
            }
            if i.pi.quasi {
                pi.push("准标识符");
            }
            if i.pi.sensitive {
                pi.push("敏感个人信息");
            }
            items.push(ItemRow {
                n: items.len(),
                resource_id: r.id,
                resource: r.meta.name.clone(),
                item: i.name.clone(),
                grade: i.grade.label_zh().to_owned(),
                pi: pi.join("、"),
                rules: i
                    .scenario_rules
                    .iter()
                    .map(|x| format!("{}：{}", x.scenario, x.kind.label_zh()))
                    .collect::<Vec<_>>()
                    .join("；"),
            });
        }
    }
    let valid_until = (ctx.today() + chrono::Duration::days(180)).to_string();
    Ok(NewRequestPage {
        l,
        scenarios,
        providers,
        scenario_id,
        provider_id,
        items,
        classes: classes(),
        valid_until,
        error: error.map(|e| e.message).unwrap_or_default(),
    })
}

pub async fn new_request(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<Fields>,
) -> AppResult<Response> {
    ctx.require(&state, "data_use.operate", &own(&ctx)?)?;
    let p =
        new_request_page(&state, &ctx, id_of(&q, "scenario_id"), id_of(&q, "provider_org_id"), None).await?;
    Ok(page(&p).into_response())
}

/// The rows of a field table: `use_N` ticks row N, with `res_N`, `item_N`, `class_N`, `just_N`. Rows
/// come back in their order on the page.
fn ticked_fields(f: &Fields) -> Vec<FieldInput> {
    let mut rows: Vec<usize> = f
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .filter_map(|(k, _)| k.strip_prefix("use_").and_then(|n| n.parse().ok()))
        .collect();
    rows.sort_unstable();
    rows.into_iter()
        .map(|n| FieldInput {
            resource_id: id_of(f, &format!("res_{n}")),
            item: get(f, &format!("item_{n}")).to_owned(),
            class: get(f, &format!("class_{n}")).to_owned(),
            justification: get(f, &format!("just_{n}")).to_owned(),
        })
        .collect()
}

/// The request form (rows as in [`ticked_fields`]).
fn request_input(f: &Fields) -> RequestInput {
    RequestInput {
        scenario_id: id_of(f, "scenario_id"),
        provider_org_id: id_of(f, "provider_org_id"),
        purpose: get(f, "purpose").to_owned(),
        row_scope: get(f, "row_scope").to_owned(),
        valid_until: get(f, "valid_until").to_owned(),
        fields: ticked_fields(f),
    }
}

pub async fn create_request(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Form(f): Form<Fields>,
) -> AppResult<Response> {
    let input = request_input(&f);
    let result = match svc::create_request(&state, &ctx, &input).await {
        // "保存并提交" submits at once; a refusal leaves the draft to be corrected.
        Ok(id) if get(&f, "and_submit") == "1" => {
            match svc::move_request(&state, &ctx, id, RequestMove::Submit, &RequestMoveInput::default()).await
            {
                Ok(_) => Ok(id),
                Err(e) if e.is_form_error() => {
                    return Ok(
                        (e.status, page(&request_page(&state, &ctx, id, Some(e)).await?)).into_response()
                    );
                }
                Err(e) => Err(e),
            }
        }
        other => other,
    };
    match result {
        Ok(id) => Ok(Redirect::to(&format!("/data-use/requests/{id}")).into_response()),
        Err(e) if e.is_form_error() => {
            let status = e.status;
            let p = new_request_page(&state, &ctx, input.scenario_id, input.provider_org_id, Some(e)).await?;
            Ok((status, page(&p)).into_response())
        }
        Err(e) => Err(e),
    }
}

// ---- request detail -----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "data_use_request.html")]
pub struct RequestPage {
    pub l: Layout,
    pub r: DataUseRequestView,
    pub can_submit: bool,
    pub can_withdraw: bool,
    pub can_decide: bool,
    pub decide_as: String,
    pub history: Vec<HistoryRow>,
    pub error: String,
}

async fn request_page(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    error: Option<AppError>,
) -> AppResult<RequestPage> {
    let rec = svc::request_for(state, ctx, id, "data_use.view").await?;
    let me = ctx.me()?;
    let l = layout(
        state,
        ctx,
        "/data-use/requests",
        vec![("数据使用", "/data-use/requests"), ("数据使用申请详情", "")],
    )
    .await?;
    let r = &rec.request;
    let res = PolicyResource::Onboarding { id, parties: vec![(me.org.id, me.org.region)] };
    let operator = me.org.id == r.operator && ctx.allowed(state, "data_use.operate", &res);
    let submitted = r.status == RequestStatus::Submitted;
    let (can_decide, decide_as) = if !submitted || !ctx.allowed(state, "data_use.decide", &res) {
        (false, String::new())
    } else if me.org.id == r.provider && r.provider_decision.is_none() {
        (true, "数据提供单位".to_owned())
    } else if me.org.org_type == OrgType::DataAuthority
        && rec.authority_org_id == Some(me.org.id)
        && r.authority_decision.is_none()
    {
        (true, "数据主管部门".to_owned())
    } else {
        (false, String::new())
    };
    Ok(RequestPage {
        l,
        r: request_view(state, &rec, ctx.today()).await?,
        can_submit: operator && r.status == RequestStatus::Draft,
        can_withdraw: operator && matches!(r.status, RequestStatus::Draft | RequestStatus::Submitted),
        can_decide,
        decide_as,
        history: history(state, "data_use_request", &id.to_string()).await?,
        error: error.map(|e| e.message).unwrap_or_default(),
    })
}

pub async fn request(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    Ok(page(&request_page(&state, &ctx, id, None).await?).into_response())
}

/// The move form: `reason`, and the provider's consent as `consent_N` = `resource_id:item`.
pub async fn move_request(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path((id, mv)): Path<(i64, String)>,
    Form(f): Form<Fields>,
) -> AppResult<Response> {
    let mv = RequestMove::parse(&mv).ok_or_else(AppError::not_found)?;
    let consented = f
        .iter()
        .filter(|(k, _)| k.starts_with("consent_"))
        .filter_map(|(_, v)| {
            let (r, item) = v.split_once(':')?;
            Some(FieldRefInput { resource_id: r.parse().ok()?, item: item.to_owned() })
        })
        .collect();
    let input = RequestMoveInput { reason: get(&f, "reason").to_owned(), consented };
    match svc::move_request(&state, &ctx, id, mv, &input).await {
        Ok(_) => Ok(Redirect::to(&format!("/data-use/requests/{id}")).into_response()),
        Err(e) if e.is_form_error() => {
            let status = e.status;
            Ok((status, page(&request_page(&state, &ctx, id, Some(e)).await?)).into_response())
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "data_use_request_print.html")]
pub struct RequestPrint {
    pub doc_no: String,
    pub r: DataUseRequestView,
}

/// The printable 数据使用审批表 (A4); its 文号 once the request is decided.
pub async fn print_request(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let rec = svc::request_for(&state, &ctx, id, "data_use.view").await?;
    let decided =
        rec.request.authority_decision.iter().chain(rec.request.provider_decision.iter()).map(|d| d.on).max();
    let doc_no = match (decided, rec.request.status) {
        (Some(on), RequestStatus::Approved | RequestStatus::Refused | RequestStatus::Expired) => {
            yunshu_domain::authorization::doc_number::DocNumber::new(
                "云数用",
                on.year(),
                u32::try_from(id).unwrap_or(0),
            )
            .map(|d| d.to_string())
            .unwrap_or_default()
        }
        _ => String::new(),
    };
    Ok(page(&RequestPrint { doc_no, r: request_view(&state, &rec, ctx.today()).await? }).into_response())
}

// ---- projects -------------------------------------------------------------------------------------

pub struct ProjectRow {
    pub id: i64,
    pub name: String,
    pub developer: String,
    pub operator: String,
    pub scenario: String,
    pub status: String,
    pub grants: usize,
    pub opened_on: String,
}

#[derive(Template)]
#[template(path = "projects.html")]
pub struct ProjectsPage {
    pub l: Layout,
    pub rows: Vec<ProjectRow>,
    pub can_open: bool,
    /// (scenario id, title) of the scenarios the developer holds an agreement for.
    pub scenarios: Vec<(i64, String)>,
    pub error: String,
}

async fn projects_page(state: &AppState, ctx: &Ctx, error: Option<AppError>) -> AppResult<ProjectsPage> {
    let l = layout(state, ctx, "/projects", vec![("数据使用", ""), ("开发项目", "")]).await?;
    let me = ctx.me()?;
    let today = ctx.today();
    let mut rows = Vec::new();
    for p in svc::visible_projects(state, ctx).await? {
        let v = project_view(state, &p, today).await?;
        rows.push(ProjectRow {
            id: v.id,
            name: v.name,
            developer: v.developer,
            operator: v.operator,
            scenario: v.scenario,
            status: v.status_label,
            grants: v.grants.len(),
            opened_on: v.opened_on,
        });
    }
    let can_open = ctx.allowed(state, "project.manage", &own(ctx)?);
    let mut scenarios: Vec<(i64, String)> = Vec::new();
    if can_open {
        for d in state.store.dev_agreements_of(me.org.id).await? {
            if !scenarios.iter().any(|(s, _)| *s == d.agreement.scenario) {
                scenarios.push((
                    d.agreement.scenario,
                    state.store.scenario(d.agreement.scenario).await?.scenario.title,
                ));
            }
        }
    }
    Ok(ProjectsPage { l, rows, can_open, scenarios, error: error.map(|e| e.message).unwrap_or_default() })
}

pub async fn projects(State(state): State<AppState>, Extension(ctx): Extension<Ctx>) -> AppResult<Response> {
    Ok(page(&projects_page(&state, &ctx, None).await?).into_response())
}

pub async fn open_project(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Form(f): Form<Fields>,
) -> AppResult<Response> {
    let input = ProjectInput {
        scenario_id: id_of(&f, "scenario_id"),
        name: get(&f, "name").to_owned(),
        purpose: get(&f, "purpose").to_owned(),
    };
    match svc::open_project(&state, &ctx, &input).await {
        Ok(id) => Ok(Redirect::to(&format!("/projects/{id}")).into_response()),
        Err(e) if e.is_form_error() => {
            let status = e.status;
            Ok((status, page(&projects_page(&state, &ctx, Some(e)).await?)).into_response())
        }
        Err(e) => Err(e),
    }
}

/// One field of an approved request, offered in the grant form.
pub struct OfferRow {
    pub n: usize,
    pub request_id: i64,
    pub resource_id: i64,
    pub item: String,
    pub requested: String,
    pub requested_code: String,
    pub grade: String,
}

#[derive(Template)]
#[template(path = "project.html")]
pub struct ProjectPage {
    pub l: Layout,
    pub p: ProjectView,
    pub can_operate: bool,
    /// (id, label) of approved, in-force requests of the project's operator and scenario.
    pub requests: Vec<(i64, String)>,
    /// (id, label) of the project's assessments that hold today.
    pub assessments: Vec<(i64, String)>,
    pub offers: Vec<OfferRow>,
    pub classes: Vec<(&'static str, &'static str)>,
    pub history: Vec<HistoryRow>,
    pub error: String,
    /// The combined grade of a previewed grant (empty unless previewing).
    pub preview: String,
    /// Requests (cited by assessments) whose page the viewer may open.
    pub openable_requests: Vec<i64>,
    /// Names of the resources the grants and offers name, by id.
    pub resource_names: Vec<(i64, String)>,
}

impl ProjectPage {
    /// A resource's name for people (its number only if it cannot be read).
    pub fn resource_name(&self, id: &i64) -> String {
        self.resource_names
            .iter()
            .find(|(r, _)| r == id)
            .map_or_else(|| format!("资源 {id}"), |(_, name)| name.clone())
    }

    /// Whether to link request `id` (a link is shown only where the viewer may follow it).
    pub fn may_open_request(&self, id: &i64) -> bool {
        self.openable_requests.contains(id)
    }
}

async fn project_page(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    error: Option<AppError>,
) -> AppResult<ProjectPage> {
    let rec = svc::project_for(state, ctx, id, "project.view").await?;
    let me = ctx.me()?;
    let today = ctx.today();
    let l =
        layout(state, ctx, "/projects", vec![("数据使用", ""), ("开发项目", "/projects"), ("项目详情", "")])
            .await?;
    let p = project_view(state, &rec, today).await?;
    let res = PolicyResource::Onboarding { id, parties: vec![(me.org.id, me.org.region)] };
    let can_operate = me.org.id == rec.project.operator && ctx.allowed(state, "data_use.operate", &res);
    let mut requests = Vec::new();
    let mut offers = Vec::new();
    let mut assessments = Vec::new();
    if can_operate {
        for r in state.store.data_use_requests_of_org(me.org.id).await? {
            let x = &r.request;
            if x.operator == rec.project.operator
                && x.scenario == rec.project.scenario
                && x.is_in_force(today)
            {
                let v = request_view(state, &r, today).await?;
                requests.push((
                    r.id,
                    format!(
                        "申请 {}（{}，{} 个数据项，有效期至 {}）",
                        r.id,
                        v.provider,
                        v.fields.len(),
                        v.valid_until
                    ),
                ));
            }
        }
        for a in &p.assessments {
            if a.holds {
                assessments.push((
                    a.id,
                    format!(
                        "评估 {}（申请 {}，{}，有效期至 {}）",
                        a.id, a.request_id, a.conclusion_label, a.valid_until
                    ),
                ));
                let r = state.store.data_use_request(a.request_id).await?;
                let v = request_view(state, &r, today).await?;
                for f in v.fields {
                    if offers.iter().any(|o: &OfferRow| {
                        o.request_id == r.id && o.resource_id == f.resource_id && o.item == f.item
                    }) {
                        continue;
                    }
                    offers.push(OfferRow {
                        n: offers.len(),
                        request_id: r.id,
                        resource_id: f.resource_id,
                        item: f.item,
                        requested: f.class_label,
                        requested_code: f.class,
                        grade: f.grade_label,
                    });
                }
            }
        }
    }
    let mut openable_requests = Vec::new();
    for a in &p.assessments {
        if !openable_requests.contains(&a.request_id)
            && svc::request_for(state, ctx, a.request_id, "data_use.view").await.is_ok()
        {
            openable_requests.push(a.request_id);
        }
    }
    let mut resource_names: Vec<(i64, String)> = Vec::new();
    let ids = p
        .grants
        .iter()
        .flat_map(|g| g.fields.iter().map(|f| f.resource_id))
        .chain(offers.iter().map(|o| o.resource_id));
    for rid in ids.collect::<Vec<_>>() {
        if !resource_names.iter().any(|(r, _)| *r == rid)
            && let Ok(r) = state.store.resource(rid).await
        {
            resource_names.push((rid, r.meta.name));
        }
    }
    Ok(ProjectPage {
        resource_names,
        l,
        p,
        can_operate,
        requests,
        assessments,
        offers,
        classes: classes(),
        history: history(state, "sandbox_project", &id.to_string()).await?,
        error: error.map(|e| e.message).unwrap_or_default(),
        preview: String::new(),
        openable_requests,
    })
}

pub async fn project(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    Ok(page(&project_page(&state, &ctx, id, None).await?).into_response())
}

async fn after_project(state: &AppState, ctx: &Ctx, id: i64, r: AppResult<()>) -> AppResult<Response> {
    match r {
        Ok(()) => Ok(Redirect::to(&format!("/projects/{id}")).into_response()),
        Err(e) if e.is_form_error() => {
            let status = e.status;
            Ok((status, page(&project_page(state, ctx, id, Some(e)).await?)).into_response())
        }
        Err(e) => Err(e),
    }
}

pub async fn record_assessment(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Form(f): Form<Fields>,
) -> AppResult<Response> {
    let input = SecurityAssessmentInput {
        project_id: id,
        request_id: id_of(&f, "request_id"),
        risks: get(&f, "risks").to_owned(),
        measures: get(&f, "measures").to_owned(),
        conclusion: get(&f, "conclusion").to_owned(),
        conditions: get(&f, "conditions").to_owned(),
        valid_until: get(&f, "valid_until").to_owned(),
    };
    let r = svc::record_assessment(&state, &ctx, &input).await.map(|_| ());
    after_project(&state, &ctx, id, r).await
}

/// The grant form: `use_N` ticks offered field N (`res_N`, `item_N`), granted at `class_N`.
pub async fn create_grant(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Form(f): Form<Fields>,
) -> AppResult<Response> {
    let r = match grant_numbers(&f) {
        Ok((k, epsilon)) => {
            let input = GrantForm {
                project_id: id,
                assessment_id: id_of(&f, "assessment_id"),
                fields: ticked_fields(&f),
                row_scope: get(&f, "row_scope").to_owned(),
                k,
                epsilon,
                until: get(&f, "until").to_owned(),
            };
            if get(&f, "preview") == "1" {
                // 预览: the combined grade and its reasons, nothing stored.
                return match svc::preview_grant(&state, &ctx, &input).await {
                    Ok(g) => {
                        let mut p = project_page(&state, &ctx, id, None).await?;
                        p.preview = format!(
                            "组合分级：{}。{}",
                            g.combined.grade.label_zh(),
                            g.combined.reasons.join("；")
                        );
                        Ok(page(&p).into_response())
                    }
                    Err(e) => after_project(&state, &ctx, id, Err(e)).await,
                };
            }
            svc::create_grant(&state, &ctx, &input).await.map(|_| ())
        }
        Err(e) => Err(e),
    };
    after_project(&state, &ctx, id, r).await
}

/// k and ε of the grant form (blank: default k, no ε).
fn grant_numbers(f: &Fields) -> AppResult<(Option<u32>, Option<f64>)> {
    let k = match get(f, "k").trim() {
        "" => None,
        s => Some(
            s.parse::<u32>()
                .map_err(|_| AppError::invalid("k", "data_use.k_format", "聚合阈值 k 应为整数"))?,
        ),
    };
    let epsilon = match get(f, "epsilon").trim() {
        "" => None,
        s => Some(
            s.parse::<f64>().map_err(|_| AppError::invalid("epsilon", "data_use.epsilon", "ε 应为数字"))?,
        ),
    };
    Ok((k, epsilon))
}

pub async fn revoke_grant(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Form(f): Form<Fields>,
) -> AppResult<Response> {
    let g = svc::grant_for(&state, &ctx, id, "project.view").await?;
    let r = svc::revoke_grant(&state, &ctx, id, &RevokeInput { reason: get(&f, "reason").to_owned() })
        .await
        .map(|_| ());
    after_project(&state, &ctx, g.grant.project, r).await
}
