//! The JSON API under `/api/v1`. Handlers parse, call [`crate::services`], and answer wire types;
//! wire types are separate from domain types and are the schemas of the OpenAPI document.

pub mod backflow;
pub mod calendar;
pub mod catalog;
pub mod data_use;
pub mod datasets;
pub mod evaluations;
pub mod onboarding;
pub mod plans;
pub mod sanctions;
pub mod sandbox;
pub mod verifications;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Extension, Router};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use yunshu_store::approvals::ApprovalRecord;
use yunshu_store::orgs::Organisation;
use yunshu_store::users::User;

use crate::AppState;
use crate::authz::PolicyResource;
use crate::context::Ctx;
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Path};
use crate::services::{self, Decision};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/api/v1/openapi.json", get(crate::openapi::document))
        .route("/api/v1/me", get(me))
        .route("/api/v1/todo", get(todo))
        .route("/api/v1/regions", get(regions))
        .route("/api/v1/calendar/add-working-days", get(calendar::add_working_days))
        .route("/api/v1/calendar/add-days", get(calendar::add_days))
        .route("/api/v1/calendar/schedules", post(calendar::load_schedule))
        .route("/api/v1/tokens", get(list_tokens).post(create_token))
        .route("/api/v1/tokens/{id}/revoke", post(revoke_token))
        .route("/api/v1/orgs", get(list_orgs).post(create_org))
        .route("/api/v1/orgs/{id}", get(get_org))
        .route("/api/v1/orgs/{id}/chains/{action}", put(set_chain))
        .route("/api/v1/users", get(list_users).post(create_user))
        .route("/api/v1/users/{id}", get(get_user))
        .route("/api/v1/users/{id}/verify-identity", post(verify_identity))
        .route("/api/v1/users/{id}/agreement", post(record_agreement))
        .route("/api/v1/users/{id}/filing", post(submit_filing))
        .route("/api/v1/users/{id}/deactivate", post(deactivate_user))
        .route("/api/v1/approvals/{id}", get(get_approval))
        .route("/api/v1/approvals/{id}/{decision}", post(decide))
        .route("/api/v1/audit", get(audit_recent))
        .route("/api/v1/resources", get(catalog::list).post(catalog::create))
        .route("/api/v1/resources/{id}", get(catalog::get))
        .route("/api/v1/resources/{id}/items", put(catalog::set_items))
        .route("/api/v1/resources/{id}/registrations", post(catalog::apply))
        .route("/api/v1/resources/{id}/negative-list", post(catalog::exclude))
        .route("/api/v1/registrations/{id}", get(catalog::get_registration))
        .route("/api/v1/registrations/{id}/{move}", post(catalog::move_registration))
        .route("/api/v1/negative-list/{id}/review", post(catalog::review_negative))
        .route("/api/v1/public/catalog", get(catalog::public_search))
        .merge(onboarding_routes())
        .route("/api/v1/plans", get(plans::list_plans).post(plans::create_plan))
        .route("/api/v1/plans/{id}", get(plans::get_plan))
        .route("/api/v1/plans/{id}/{move}", post(plans::move_plan))
        .route("/api/v1/filings", get(plans::list_filings))
        .route("/api/v1/agreements", get(plans::list_agreements).post(plans::create_agreement))
        .route("/api/v1/agreements/{id}", get(plans::get_agreement))
        .route("/api/v1/agreements/{id}/{move}", post(plans::move_agreement))
        .merge(evaluation_routes())
        .merge(data_use_routes())
        .route("/api/v1/sanctions", get(sanctions::list).post(sanctions::impose))
        .route("/api/v1/sanctions/{id}/lift", post(sanctions::lift))
        .route("/api/v1/scenarios/{id}/access", get(sanctions::access))
        .route(
            "/api/v1/dev-agreements/{id}/termination",
            get(sanctions::get_termination).post(sanctions::terminate),
        )
        .route("/api/v1/terminations/{id}/attestation", post(sanctions::attest))
        .route("/api/v1/terminations/{id}/verification", post(sanctions::verify))
        .route(
            "/api/v1/resources/{id}/versions",
            get(datasets::list).post(datasets::upload).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/api/v1/versions/{id}/{decision}", post(datasets::decide))
        .route("/api/v1/resources/{id}/rules", post(datasets::add_rule))
        .route("/api/v1/resources/{id}/verifications", post(verifications::raise))
        .route("/api/v1/verifications", get(verifications::list))
        .route("/api/v1/backflow", post(backflow::request))
        .route("/api/v1/backflow/{id}/{decision}", post(backflow::decide))
        .route("/api/v1/verifications/{id}", get(verifications::get))
        .route("/api/v1/verifications/{id}/answer", post(verifications::answer))
}

/// Evaluations (Art. 26). Evidence is uploaded as the raw request body, up to the material limit.
/// Data-use requests, projects, assessments and grants (Art. 20, 21, 25(3), 28).
fn data_use_routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/data-use-requests", get(data_use::list_requests).post(data_use::create_request))
        .route("/api/v1/data-use-requests/{id}", get(data_use::get_request))
        .route("/api/v1/data-use-requests/{id}/{move}", post(data_use::move_request))
        .route("/api/v1/projects", get(data_use::list_projects).post(data_use::open_project))
        .route("/api/v1/projects/{id}", get(data_use::get_project))
        .route("/api/v1/assessments", post(data_use::record_assessment))
        .route("/api/v1/assessments/{id}", get(data_use::get_assessment))
        .route("/api/v1/grants", post(data_use::create_grant))
        .route("/api/v1/grants/{id}", get(data_use::get_grant))
        .route("/api/v1/grants/{id}/revoke", post(data_use::revoke_grant))
        .route("/api/v1/grants/{id}/chain", get(data_use::grant_chain))
        .route("/api/v1/projects/{id}/sandbox", get(sandbox::catalog))
        .route("/api/v1/projects/{id}/sandbox/queries", get(sandbox::queries).post(sandbox::run))
        .route("/api/v1/projects/{id}/sandbox/cancel", post(sandbox::cancel))
        .route("/api/v1/projects/{id}/outputs", get(sandbox::project_outputs))
        .route("/api/v1/outputs/pending", get(sandbox::pending))
        .route("/api/v1/outputs/{id}", get(sandbox::output))
        .route("/api/v1/outputs/{id}/data", get(sandbox::output_data))
        .route("/api/v1/outputs/{id}/review", post(sandbox::review))
        .route("/api/v1/outputs/{id}/withdraw", post(sandbox::withdraw))
        .route("/api/v1/outputs/{id}/download/{format}", get(sandbox::download))
}

fn evaluation_routes() -> Router<AppState> {
    let material_limit = usize::try_from(services::onboarding::SETTINGS.material_max_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(64 * 1024);
    Router::new()
        .route("/api/v1/evaluations", get(evaluations::list).post(evaluations::open))
        .route("/api/v1/evaluations/{id}", get(evaluations::get))
        .route("/api/v1/evaluations/{id}/requests", post(evaluations::request_materials))
        .route("/api/v1/evaluations/{id}/materials", post(evaluations::submit_materials))
        .route("/api/v1/evaluations/{id}/conclusion", post(evaluations::conclude))
        .route("/api/v1/evaluations/{id}/rectification/{move}", post(evaluations::rectify))
        .route("/api/v1/evaluations/{id}/reevaluation", post(evaluations::reevaluate))
        .route(
            "/api/v1/evaluation-materials",
            post(evaluations::upload).layer(axum::extract::DefaultBodyLimit::max(material_limit)),
        )
}

/// Developer onboarding (Art. 12–13). Materials are uploaded as the raw request body, up to the
/// material limit (above the server's general body limit) on that route only.
fn onboarding_routes() -> Router<AppState> {
    let material_limit = usize::try_from(services::onboarding::SETTINGS.material_max_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(64 * 1024);
    Router::new()
        .route("/api/v1/scenarios", get(onboarding::list_scenarios).post(onboarding::publish_scenario))
        .route("/api/v1/scenarios/proposals", post(onboarding::propose_scenario))
        .route("/api/v1/scenarios/{id}", get(onboarding::get_scenario))
        .route("/api/v1/scenarios/{id}/assessment", post(onboarding::assess_scenario))
        .route("/api/v1/scenarios/{id}/applications", post(onboarding::apply))
        .route(
            "/api/v1/materials",
            post(onboarding::upload_material).layer(axum::extract::DefaultBodyLimit::max(material_limit)),
        )
        .route("/api/v1/applications", get(onboarding::list_applications))
        .route("/api/v1/applications/{id}", get(onboarding::get_application))
        .route("/api/v1/applications/{id}/{move}", post(onboarding::move_application))
        .route("/api/v1/applications/{id}/objections/{oid}/decision", post(onboarding::decide_objection))
        .route("/api/v1/public/notices", get(onboarding::public_notices))
        .route("/api/v1/public/notices/{id}/objections", post(onboarding::lodge_objection))
        .route("/api/v1/public/registrations", get(catalog::public_registration_notices))
        .route("/api/v1/public/registrations/{id}/objections", post(catalog::lodge_registration_objection))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    pub status: &'static str,
    pub database: &'static str,
}

fn backend_name(state: &AppState) -> &'static str {
    match state.store.backend() {
        yunshu_store::Backend::Sqlite => "sqlite",
        yunshu_store::Backend::Postgres => "postgres",
    }
}

/// Liveness: the process answers. It does not touch the database, so a database outage does not
/// make a supervisor restart a process that will recover by itself.
async fn healthz(State(state): State<AppState>) -> axum::Json<Health> {
    axum::Json(Health { status: "ok", database: backend_name(&state) })
}

/// Readiness: the database answers within [`READY_TIMEOUT`]; otherwise 503 with `status`
/// "unavailable" (within that second, whatever the pool's own timeouts).
async fn readyz(State(state): State<AppState>) -> Response {
    let ready = tokio::time::timeout(READY_TIMEOUT, state.store.audit_head()).await;
    let ok = matches!(ready, Ok(Ok(_)));
    let body = Health { status: if ok { "ok" } else { "unavailable" }, database: backend_name(&state) };
    let status = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, axum::Json(body)).into_response()
}

/// How long the readiness check waits for the database.
const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

// ---------------------------------------------------------------------------------------------
// Wire types.

#[derive(Serialize, utoipa::ToSchema)]
pub struct OrgView {
    pub id: i64,
    pub name: String,
    pub uscc: String,
    pub org_type: String,
    pub org_type_label: String,
    pub region: String,
    pub region_name: String,
    pub active: bool,
}

pub fn org_view(state: &AppState, o: &Organisation) -> OrgView {
    OrgView {
        id: o.id,
        name: o.name.clone(),
        uscc: o.uscc.as_str().to_owned(),
        org_type: o.org_type.code().to_owned(),
        org_type_label: o.org_type.label_zh().to_owned(),
        region: o.region.as_str().to_owned(),
        region_name: crate::web::region_name(state, &o.region),
        active: o.active,
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: i64,
    pub org_id: i64,
    pub username: String,
    pub display_name: String,
    /// Masked: 5301**********1234.
    pub resident_id: String,
    /// Masked: 138****5678.
    pub mobile: String,
    pub roles: Vec<String>,
    pub active: bool,
    pub identity_status: String,
    pub identity_verifier: Option<String>,
    pub filing_status: String,
    pub agreement_signed_on: Option<String>,
    pub agreement_expires_on: Option<String>,
    /// Reasons this user may not access data yet (empty: may).
    pub data_access_gaps: Vec<String>,
}

pub fn user_view(u: &User, today: chrono::NaiveDate) -> UserView {
    UserView {
        id: u.id,
        org_id: u.org_id,
        username: u.username.clone(),
        display_name: u.display_name.clone(),
        resident_id: u.resident_id.masked(),
        mobile: u.mobile.masked(),
        roles: u.roles.iter().map(|r| r.code().to_owned()).collect(),
        active: u.active,
        identity_status: u.identity.code().to_owned(),
        identity_verifier: u.identity_verifier.clone(),
        filing_status: u.filing.code().to_owned(),
        agreement_signed_on: u.agreement.as_ref().map(|a| a.signed_on.to_string()),
        agreement_expires_on: u.agreement.as_ref().and_then(|a| a.expires_on.map(|d| d.to_string())),
        data_access_gaps: yunshu_domain::personnel::data_access_gaps(&u.personnel(), today)
            .into_iter()
            .map(|g| g.code().to_owned())
            .collect(),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MeView {
    pub user: UserView,
    pub org: OrgView,
}

async fn me(State(state): State<AppState>, Extension(ctx): Extension<Ctx>) -> AppResult<axum::Json<MeView>> {
    let p = ctx.me()?;
    Ok(axum::Json(MeView { user: user_view(&p.user, ctx.today()), org: org_view(&state, &p.org) }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TodoItem {
    /// Set for an approval step (a personal task); `None` for an organisation's task.
    pub approval_id: Option<i64>,
    pub title: String,
    /// The approval action or the task kind (e.g. `registration.accept`).
    pub action: String,
    /// Where the item is handled in the web UI.
    pub link: String,
    pub created_at: String,
    pub due_date: Option<String>,
    /// The due date reaches into a year whose official holiday schedule is not loaded yet.
    pub provisional: bool,
    /// Working days left (negative: overdue).
    pub working_days_left: Option<i64>,
}

/// The caller's to-do list: their approval steps and their organisation's open tasks for their
/// roles, soonest due first.
pub async fn todo_items(
    state: &AppState,
    ctx: &Ctx,
) -> AppResult<Vec<(TodoItem, DateTime<Utc>, Option<NaiveDate>)>> {
    let p = ctx.me()?;
    let cal = state.store.work_calendar().await?;
    let today = ctx.today();
    let mut out = Vec::new();
    let left = |due: Option<NaiveDate>| due.map(|d| cal.working_days_left(today, d));
    for i in state.store.todo_of_user(p.user.id).await? {
        let l = left(i.due);
        out.push((
            TodoItem {
                approval_id: Some(i.approval_id),
                title: i.title,
                action: i.action,
                link: format!("/approvals/{}", i.approval_id),
                created_at: yunshu_store::ts(i.created_at),
                due_date: i.due.map(|d| d.to_string()),
                provisional: i.provisional || l.is_some_and(|l| l.1),
                working_days_left: l.map(|l| l.0),
            },
            i.created_at,
            i.due,
        ));
    }
    let roles: Vec<&str> = p.user.roles.iter().map(|r| r.code()).collect();
    // An organisation's to-do goes to those of its people who can act on it: whose roles open the
    // page it leads to (an accountant is not sent to a filing it cannot see).
    for t in state
        .store
        .open_tasks_for(p.org.id, &roles)
        .await?
        .into_iter()
        .filter(|t| ctx.may_open(state, &t.link))
    {
        let l = left(t.due);
        out.push((
            TodoItem {
                approval_id: None,
                title: t.title,
                action: t.kind,
                link: t.link,
                created_at: yunshu_store::ts(t.created_at),
                due_date: t.due.map(|d| d.to_string()),
                provisional: t.provisional || l.is_some_and(|l| l.1),
                working_days_left: l.map(|l| l.0),
            },
            t.created_at,
            t.due,
        ));
    }
    out.sort_by_key(|(_, created, due)| (due.is_none(), *due, *created));
    Ok(out)
}

async fn todo(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
) -> AppResult<axum::Json<Vec<TodoItem>>> {
    Ok(axum::Json(todo_items(&state, &ctx).await?.into_iter().map(|(i, _, _)| i).collect()))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RegionView {
    pub code: String,
    pub name: String,
    pub level: String,
    pub parent: Option<String>,
}

async fn regions(State(state): State<AppState>) -> axum::Json<Vec<RegionView>> {
    axum::Json(
        state
            .regions
            .all()
            .map(|r| RegionView {
                code: r.code().as_str().to_owned(),
                name: r.name().to_owned(),
                level: format!("{:?}", r.level()).to_lowercase(),
                parent: r.parent().map(|p| p.as_str().to_owned()),
            })
            .collect(),
    )
}

/// Organisations the caller may see: their area if they may view organisations there, else their own.
pub async fn visible_orgs(state: &AppState, ctx: &Ctx) -> AppResult<Vec<Organisation>> {
    let p = ctx.me()?;
    let all = state.store.orgs_in_region(p.org.region.scope_prefix()).await?;
    Ok(all.into_iter().filter(|o| ctx.allowed(state, "org.view", &services::org_resource(o))).collect())
}

async fn list_orgs(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
) -> AppResult<axum::Json<Vec<OrgView>>> {
    let orgs = visible_orgs(&state, &ctx).await?;
    Ok(axum::Json(orgs.iter().map(|o| org_view(&state, o)).collect()))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Created {
    pub id: i64,
}

async fn create_org(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Json(input): Json<services::OrgInput>,
) -> AppResult<(StatusCode, axum::Json<Created>)> {
    let id = services::create_org(&state, &ctx, &input).await?;
    Ok((StatusCode::CREATED, axum::Json(Created { id })))
}

async fn get_org(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<OrgView>> {
    let org = state.store.org(id).await?;
    ctx.require(&state, "org.view", &services::org_resource(&org))?;
    Ok(axum::Json(org_view(&state, &org)))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ChainInput {
    /// Steps as `role:mode:days` joined by `;`, e.g. `head:any:5;leader:all:3`.
    pub spec: String,
}

async fn set_chain(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path((id, action)): Path<(i64, String)>,
    Json(input): Json<ChainInput>,
) -> AppResult<StatusCode> {
    services::configure_chain(&state, &ctx, id, &action, &input.spec).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Users the caller may see.
pub async fn visible_users(state: &AppState, ctx: &Ctx) -> AppResult<Vec<User>> {
    let p = ctx.me()?;
    let orgs = visible_orgs(state, ctx).await?;
    let mut out = Vec::new();
    for u in state.store.users_in_region(p.org.region.scope_prefix()).await? {
        if let Some(o) = orgs.iter().find(|o| o.id == u.org_id) {
            let r = PolicyResource::User { id: u.id, org_id: o.id, region: o.region };
            if ctx.allowed(state, "user.view", &r) {
                out.push(u);
            }
        }
    }
    Ok(out)
}

async fn list_users(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
) -> AppResult<axum::Json<Vec<UserView>>> {
    let users = visible_users(&state, &ctx).await?;
    Ok(axum::Json(users.iter().map(|u| user_view(u, ctx.today())).collect()))
}

async fn create_user(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Json(input): Json<services::UserInput>,
) -> AppResult<(StatusCode, axum::Json<Created>)> {
    let id = services::create_user(&state, &ctx, &input).await?;
    Ok((StatusCode::CREATED, axum::Json(Created { id })))
}

async fn get_user(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<UserView>> {
    let u = services::user_for(&state, &ctx, id, "user.view").await?;
    Ok(axum::Json(user_view(&u, ctx.today())))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct IdentityView {
    pub status: String,
    pub verifier: String,
    pub detail: String,
}

async fn verify_identity(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<IdentityView>> {
    let r = services::verify_identity(&state, &ctx, id).await?;
    Ok(axum::Json(IdentityView {
        status: r.status.code().to_owned(),
        verifier: r.verifier,
        detail: r.detail,
    }))
}

async fn record_agreement(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Json(input): Json<services::AgreementInput>,
) -> AppResult<StatusCode> {
    services::record_agreement(&state, &ctx, id, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn submit_filing(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<(StatusCode, axum::Json<Created>)> {
    let approval_id = services::submit_filing(&state, &ctx, id).await?;
    Ok((StatusCode::CREATED, axum::Json(Created { id: approval_id })))
}

async fn deactivate_user(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    services::deactivate_user(&state, &ctx, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TaskView {
    pub round: u32,
    pub step: usize,
    pub assignee: i64,
    pub state: String,
    pub comment: Option<String>,
    pub due_date: Option<String>,
    pub provisional: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ApprovalView {
    pub id: i64,
    pub org_id: i64,
    pub action: String,
    pub title: String,
    pub subject_type: String,
    pub subject_id: String,
    pub initiator: i64,
    pub status: String,
    pub chain: String,
    pub round: u32,
    pub tasks: Vec<TaskView>,
}

pub fn approval_view(r: &ApprovalRecord) -> ApprovalView {
    ApprovalView {
        id: r.id,
        org_id: r.org_id,
        action: r.action.clone(),
        title: r.title.clone(),
        subject_type: r.subject_type.clone(),
        subject_id: r.subject_id.clone(),
        initiator: r.approval.initiator,
        status: r.approval.status.code().to_owned(),
        chain: r.approval.spec.to_text(),
        round: r.approval.round,
        tasks: r
            .tasks
            .iter()
            .map(|t| TaskView {
                round: t.task.round,
                step: t.task.step,
                assignee: t.task.assignee,
                state: t.task.state.code().to_owned(),
                comment: t.task.comment.clone(),
                due_date: t.deadline.as_ref().map(|d| d.due.to_string()),
                provisional: t.deadline.as_ref().is_some_and(|d| d.provisional),
            })
            .collect(),
    }
}

async fn get_approval(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<ApprovalView>> {
    let rec = services::approval_for(&state, &ctx, id, "approval.view").await?;
    Ok(axum::Json(approval_view(&rec)))
}

async fn decide(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path((id, decision)): Path<(i64, String)>,
    body: axum::body::Bytes,
) -> AppResult<axum::Json<ApprovalView>> {
    let decision = Decision::parse(&decision).ok_or_else(AppError::not_found)?;
    // The body is optional (approve needs none); when present it must be valid JSON.
    let input: services::DecisionInput = if body.iter().all(u8::is_ascii_whitespace) {
        services::DecisionInput::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            if e.is_syntax() || e.is_eof() {
                AppError::new(StatusCode::BAD_REQUEST, "request.malformed_json", "请求体不是合法的 JSON")
            } else {
                AppError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "request.invalid_fields",
                    format!("请求字段缺失或类型不符：{e}"),
                )
            }
        })?
    };
    services::decide(&state, &ctx, id, decision, &input).await?;
    let rec = state.store.approval(id).await?;
    Ok(axum::Json(approval_view(&rec)))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenView {
    pub id: i64,
    pub name: String,
    pub org_id: i64,
    pub created_at: String,
    pub expires_at: String,
    pub revoked: bool,
}

async fn list_tokens(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
) -> AppResult<axum::Json<Vec<TokenView>>> {
    let p = ctx.me()?;
    let tokens = state.store.api_tokens_of_user(p.user.id).await?;
    Ok(axum::Json(
        tokens
            .into_iter()
            .map(|t| TokenView {
                id: t.id,
                name: t.name,
                org_id: t.org_id,
                created_at: yunshu_store::ts(t.created_at),
                expires_at: yunshu_store::ts(t.expires_at),
                revoked: t.revoked_at.is_some(),
            })
            .collect(),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct TokenInput {
    pub name: String,
    /// Lifetime in days (1 to the configured maximum, 365 by default).
    pub days: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct NewToken {
    pub id: i64,
    /// The secret, shown once: send it as `Authorization: Bearer <token>`.
    pub token: String,
    pub expires_at: String,
}

pub async fn issue_token(state: &AppState, ctx: &Ctx, input: &TokenInput) -> AppResult<NewToken> {
    let p = ctx.me()?;
    // A token never mints tokens: otherwise a short-lived or soon-revoked token could outlive itself.
    if matches!(p.via, crate::context::Via::Token { .. }) {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            "token.from_token",
            "接口令牌不能用于创建新的接口令牌，请登录平台后创建",
        ));
    }
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(AppError::invalid("name", "token.name", "请填写令牌用途（最多 64 个字符）"));
    }
    if !(1..=state.config.token_max_days).contains(&input.days) {
        return Err(AppError::invalid(
            "days",
            "token.days",
            format!("有效期应为 1 至 {} 天", state.config.token_max_days),
        ));
    }
    let secret = format!("ys_{}", crate::auth::random_hex(24)?);
    let expires = ctx.now + chrono::Duration::days(input.days);
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    let id = tx.create_api_token(&secret, p.user.id, p.org.id, name, expires).await?;
    tx.commit().await?;
    Ok(NewToken { id, token: secret, expires_at: yunshu_store::ts(expires) })
}

async fn create_token(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Json(input): Json<TokenInput>,
) -> AppResult<(StatusCode, axum::Json<NewToken>)> {
    Ok((StatusCode::CREATED, axum::Json(issue_token(&state, &ctx, &input).await?)))
}

pub async fn revoke(state: &AppState, ctx: &Ctx, id: i64) -> AppResult<()> {
    let p = ctx.me()?;
    let t = state.store.api_token(id).await?;
    if t.user_id != p.user.id {
        return Err(AppError::not_found());
    }
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    tx.revoke_api_token(id).await?;
    tx.commit().await?;
    Ok(())
}

async fn revoke_token(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    revoke(&state, &ctx, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditView {
    pub seq: i64,
    pub at: String,
    pub operation_id: String,
    pub user_id: Option<String>,
    pub org_id: Option<String>,
    pub role: Option<String>,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub result: String,
    pub source_ip: Option<String>,
    pub summary: String,
    pub hash: String,
    /// The person's, the organisation's and the object's names, where they have one.
    pub user_name: Option<String>,
    pub org_name: Option<String>,
    pub object_name: Option<String>,
}

/// Query of the audit pages and API.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct AuditQuery {
    /// Action prefix, e.g. `user.` or `auth.denied`.
    #[serde(default)]
    pub action: Option<String>,
    /// `ok`, `denied` or `error`.
    #[serde(default)]
    pub result: Option<String>,
    /// Records older than this sequence number (next page).
    #[serde(default)]
    pub before: Option<i64>,
    /// The person who acted: login name or real name.
    #[serde(default)]
    pub person: Option<String>,
    /// The kind of object (`user`, `resource`, `registration` …).
    #[serde(default)]
    pub object_type: Option<String>,
    /// The object's id (with `object_type`).
    #[serde(default)]
    pub object_id: Option<String>,
}

/// Audit records the caller may read, newest first: the whole province for province-level readers,
/// otherwise the records made by organisations in the caller's area.
pub async fn visible_audit(
    state: &AppState,
    ctx: &Ctx,
    q: &AuditQuery,
    limit: i64,
) -> AppResult<Vec<AuditView>> {
    let p = ctx.me()?;
    let province = p.org.region.level() == yunshu_domain::regions::RegionLevel::Province;
    let clean = |s: &Option<String>| s.as_ref().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let filter = yunshu_store::audit_log::AuditFilter {
        region_prefix: if province { None } else { Some(p.org.region.scope_prefix().to_owned()) },
        action_prefix: clean(&q.action),
        result: clean(&q.result),
        before_seq: q.before,
        person: clean(&q.person),
        object_type: clean(&q.object_type),
        object_id: clean(&q.object_id),
        limit,
    };
    let recs = state.store.audit_search(&filter).await?;
    Ok(recs
        .into_iter()
        .map(|n| {
            let r = n.stored;
            AuditView {
                seq: r.record.seq,
                at: r.record.at,
                operation_id: r.record.operation_id,
                user_id: r.record.user_id,
                org_id: r.record.org_id,
                role: r.record.role,
                action: r.record.action,
                object_type: r.record.object_type,
                object_id: r.record.object_id,
                result: r.record.result,
                source_ip: r.record.source_ip,
                summary: r.record.summary,
                hash: r.hash.to_hex(),
                user_name: n.user_name,
                org_name: n.org_name,
                object_name: n.object_name,
            }
        })
        .collect())
}

async fn audit_recent(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    crate::extract::Query(q): crate::extract::Query<AuditQuery>,
) -> AppResult<axum::Json<Vec<AuditView>>> {
    Ok(axum::Json(visible_audit(&state, &ctx, &q, 200).await?))
}
