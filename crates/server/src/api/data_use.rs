//! JSON API of data-use requests (Art. 20), developer projects, security assessments (Art. 25(3)) and
//! grants (Art. 21, 28). Same services as the pages; the views here are also what the pages render.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use serde::Serialize;
use yunshu_domain::data_use::Approver;
use yunshu_store::data_use::{AssessmentRecord, GrantRecord, ProjectRecord, RequestRecord};

use super::Created;
use crate::AppState;
use crate::context::Ctx;
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Path};
use crate::services::data_use::{
    self as svc, GrantForm, ProjectInput, RequestInput, RequestMove, RequestMoveInput, RevokeInput,
    SecurityAssessmentInput, TASK_AUTHORITY, TASK_PROVIDER,
};

#[derive(Serialize, utoipa::ToSchema)]
pub struct RequestFieldView {
    pub resource_id: i64,
    pub resource_name: String,
    pub item: String,
    /// hidden | join_key | aggregate | dimension | open
    pub class: String,
    pub class_label: String,
    /// The item's grade in the catalogue today (l1 … core), if known.
    pub grade: String,
    pub grade_label: String,
    pub justification: String,
    /// Restricted for this scenario: the provider must consent to it (Art. 5).
    pub consent_required: bool,
    pub consented: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RequestDecisionView {
    /// authority | provider
    pub side: String,
    pub side_label: String,
    pub org_id: i64,
    pub org_name: String,
    pub user_id: i64,
    pub decided_on: String,
    pub approved: bool,
    pub reason: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RequestDeadlineView {
    /// authority | provider
    pub side: String,
    pub side_label: String,
    pub org_id: i64,
    pub due_date: Option<String>,
    pub working_days_left: Option<i64>,
    pub provisional: bool,
    pub open: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DataUseRequestView {
    pub id: i64,
    pub operator_org_id: i64,
    pub operator: String,
    pub provider_org_id: i64,
    pub provider: String,
    /// The data authority deciding for the authority side (set on submission).
    pub authority_org_id: Option<i64>,
    pub authority: String,
    pub scenario_id: i64,
    pub scenario: String,
    pub purpose: String,
    pub row_scope: String,
    pub valid_until: String,
    /// draft | submitted | approved | refused | expired | withdrawn (as stored; `in_force` is today's
    /// answer whether or not the scheduler has run)
    pub status: String,
    pub status_label: String,
    pub in_force: bool,
    pub submitted_on: Option<String>,
    pub fields: Vec<RequestFieldView>,
    pub decisions: Vec<RequestDecisionView>,
    pub deadlines: Vec<RequestDeadlineView>,
}

async fn org_name(state: &AppState, id: i64) -> AppResult<String> {
    Ok(state.store.org(id).await?.name)
}

pub async fn request_view(
    state: &AppState,
    rec: &RequestRecord,
    today: NaiveDate,
) -> AppResult<DataUseRequestView> {
    let r = &rec.request;
    let mut fields = Vec::new();
    let mut resources: Vec<yunshu_store::catalog::ResourceRecord> = Vec::new();
    for f in &r.fields {
        if !resources.iter().any(|x| x.id == f.resource_id) {
            match state.store.resource(f.resource_id).await {
                Ok(x) => resources.push(x),
                Err(yunshu_store::StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let res = resources.iter().find(|x| x.id == f.resource_id);
        let item = res.and_then(|x| x.items.iter().find(|i| i.name == f.item));
        let fr = f.field_ref();
        fields.push(RequestFieldView {
            resource_id: f.resource_id,
            resource_name: res
                .map(|x| x.meta.name.clone())
                .unwrap_or_else(|| format!("资源 {}", f.resource_id)),
            item: f.item.clone(),
            class: f.class.code().to_owned(),
            class_label: f.class.label_zh().to_owned(),
            grade: item.map(|i| i.grade.code().to_owned()).unwrap_or_default(),
            grade_label: item.map(|i| i.grade.label_zh().to_owned()).unwrap_or_default(),
            justification: f.justification.clone(),
            consent_required: r.consent_required.contains(&fr),
            consented: r.provider_decision.as_ref().is_some_and(|d| d.consented.contains(&fr)),
        });
    }
    let mut decisions = Vec::new();
    for (side, d) in
        [(Approver::Authority, &r.authority_decision), (Approver::Provider, &r.provider_decision)]
    {
        if let Some(d) = d {
            decisions.push(RequestDecisionView {
                side: side.code().to_owned(),
                side_label: side.label_zh().to_owned(),
                org_id: d.org,
                org_name: org_name(state, d.org).await?,
                user_id: d.user,
                decided_on: d.on.to_string(),
                approved: d.approved,
                reason: d.reason.clone(),
            });
        }
    }
    let cal = state.store.work_calendar().await?;
    let mut deadlines = Vec::new();
    for (side, subject) in [(Approver::Authority, TASK_AUTHORITY), (Approver::Provider, TASK_PROVIDER)] {
        for t in state.store.tasks_of_subject(subject, &rec.id.to_string()).await? {
            let left = t.due.map(|d| cal.working_days_left(today, d));
            deadlines.push(RequestDeadlineView {
                side: side.code().to_owned(),
                side_label: side.label_zh().to_owned(),
                org_id: t.org_id,
                due_date: t.due.map(|d| d.to_string()),
                working_days_left: left.map(|l| l.0),
                provisional: t.provisional || left.is_some_and(|l| l.1),
                open: t.done_at.is_none(),
            });
        }
    }
    let authority = match rec.authority_org_id {
        Some(a) => org_name(state, a).await?,
        None => String::new(),
    };
    Ok(DataUseRequestView {
        id: rec.id,
        operator_org_id: r.operator,
        operator: org_name(state, r.operator).await?,
        provider_org_id: r.provider,
        provider: org_name(state, r.provider).await?,
        authority_org_id: rec.authority_org_id,
        authority,
        scenario_id: r.scenario,
        scenario: state.store.scenario(r.scenario).await?.scenario.title,
        purpose: r.purpose.clone(),
        row_scope: r.row_scope.clone(),
        valid_until: r.valid_until.to_string(),
        status: r.status.code().to_owned(),
        status_label: r.status.label_zh().to_owned(),
        in_force: r.is_in_force(today),
        submitted_on: r.submitted_on.map(|d| d.to_string()),
        fields,
        decisions,
        deadlines,
    })
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SecurityAssessmentView {
    pub id: i64,
    pub project_id: i64,
    pub request_id: i64,
    pub risks: String,
    pub measures: String,
    /// pass | conditional | fail
    pub conclusion: String,
    pub conclusion_label: String,
    pub conditions: String,
    pub assessor_id: i64,
    pub assessed_on: String,
    pub valid_until: String,
    /// A passing assessment within its validity today.
    pub holds: bool,
}

pub fn assessment_view(a: &AssessmentRecord, today: NaiveDate) -> SecurityAssessmentView {
    let x = &a.assessment;
    SecurityAssessmentView {
        id: a.id,
        project_id: x.project,
        request_id: x.request,
        risks: x.risks.clone(),
        measures: x.measures.clone(),
        conclusion: x.conclusion.code().to_owned(),
        conclusion_label: x.conclusion.label_zh().to_owned(),
        conditions: match &x.conclusion {
            yunshu_domain::data_use::Conclusion::Conditional(c) => c.clone(),
            _ => String::new(),
        },
        assessor_id: x.assessor,
        assessed_on: x.assessed_on.to_string(),
        valid_until: x.valid_until.to_string(),
        holds: x.holds(today),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct GrantFieldView {
    pub resource_id: i64,
    pub item: String,
    pub class: String,
    pub class_label: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ChainView {
    /// Whether a query under the grant may run today.
    pub allowed: bool,
    /// `ok` or the `sandbox.*` code of the refusal.
    pub code: String,
    pub message: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct GrantView {
    pub id: i64,
    pub project_id: i64,
    pub request_id: i64,
    pub assessment_id: i64,
    pub fields: Vec<GrantFieldView>,
    pub row_scope: String,
    pub k: u32,
    pub epsilon: Option<f64>,
    pub granted_on: String,
    pub expires_on: String,
    /// The grade of the combination of fields (关联汇聚, Art. 28).
    pub grade: String,
    pub grade_label: String,
    pub grade_reasons: Vec<String>,
    pub revoked_on: Option<String>,
    pub revoke_reason: Option<String>,
    pub chain: ChainView,
}

pub async fn grant_view(state: &AppState, g: &GrantRecord, today: NaiveDate) -> AppResult<GrantView> {
    let x = &g.grant;
    let chain = match svc::grant_chain(state, g.id, today).await? {
        Ok(()) => {
            ChainView { allowed: true, code: "ok".into(), message: "访问链完整，可以查询".into() }
        }
        Err(d) => ChainView { allowed: false, code: d.code().to_owned(), message: d.message_zh() },
    };
    Ok(GrantView {
        id: g.id,
        project_id: x.project,
        request_id: x.request,
        assessment_id: x.assessment,
        fields: x
            .fields
            .iter()
            .map(|f| GrantFieldView {
                resource_id: f.resource_id,
                item: f.item.clone(),
                class: f.class.code().to_owned(),
                class_label: f.class.label_zh().to_owned(),
            })
            .collect(),
        row_scope: x.row_scope.clone(),
        k: x.k.get(),
        epsilon: x.epsilon,
        granted_on: x.granted_on.to_string(),
        expires_on: x.expires_on.to_string(),
        grade: x.combined.grade.code().to_owned(),
        grade_label: x.combined.grade.label_zh().to_owned(),
        grade_reasons: x.combined.reasons.clone(),
        revoked_on: x.revoked.as_ref().map(|r| r.on.to_string()),
        revoke_reason: x.revoked.as_ref().map(|r| r.reason.clone()),
        chain,
    })
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ProjectView {
    pub id: i64,
    pub developer_org_id: i64,
    pub developer: String,
    pub operator_org_id: i64,
    pub operator: String,
    pub agreement_id: i64,
    pub scenario_id: i64,
    pub scenario: String,
    pub name: String,
    pub purpose: String,
    /// active | closed
    pub status: String,
    pub status_label: String,
    pub opened_on: String,
    pub assessments: Vec<SecurityAssessmentView>,
    pub grants: Vec<GrantView>,
}

pub async fn project_view(state: &AppState, p: &ProjectRecord, today: NaiveDate) -> AppResult<ProjectView> {
    let x = &p.project;
    let mut grants = Vec::new();
    for g in state.store.grants_of_project(p.id).await? {
        grants.push(grant_view(state, &g, today).await?);
    }
    Ok(ProjectView {
        id: p.id,
        developer_org_id: x.developer,
        developer: org_name(state, x.developer).await?,
        operator_org_id: x.operator,
        operator: org_name(state, x.operator).await?,
        agreement_id: x.agreement,
        scenario_id: x.scenario,
        scenario: state.store.scenario(x.scenario).await?.scenario.title,
        name: x.name.clone(),
        purpose: x.purpose.clone(),
        status: x.status.code().to_owned(),
        status_label: x.status.label_zh().to_owned(),
        opened_on: x.opened_on.to_string(),
        assessments: state
            .store
            .assessments_of_project(p.id)
            .await?
            .iter()
            .map(|a| assessment_view(a, today))
            .collect(),
        grants,
    })
}

pub async fn list_requests(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
) -> AppResult<axum::Json<Vec<DataUseRequestView>>> {
    let today = ctx.today();
    let mut out = Vec::new();
    for r in svc::visible_requests(&state, &ctx).await? {
        out.push(request_view(&state, &r, today).await?);
    }
    Ok(axum::Json(out))
}

pub async fn create_request(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Json(input): Json<RequestInput>,
) -> AppResult<(StatusCode, axum::Json<Created>)> {
    let id = svc::create_request(&state, &ctx, &input).await?;
    Ok((StatusCode::CREATED, axum::Json(Created { id })))
}

pub async fn get_request(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<DataUseRequestView>> {
    let r = svc::request_for(&state, &ctx, id, "data_use.view").await?;
    Ok(axum::Json(request_view(&state, &r, ctx.today()).await?))
}

pub async fn move_request(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path((id, mv)): Path<(i64, String)>,
    Json(input): Json<RequestMoveInput>,
) -> AppResult<axum::Json<DataUseRequestView>> {
    let mv = RequestMove::parse(&mv).ok_or_else(AppError::not_found)?;
    let r = svc::move_request(&state, &ctx, id, mv, &input).await?;
    Ok(axum::Json(request_view(&state, &r, ctx.today()).await?))
}

pub async fn list_projects(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
) -> AppResult<axum::Json<Vec<ProjectView>>> {
    let today = ctx.today();
    let mut out = Vec::new();
    for p in svc::visible_projects(&state, &ctx).await? {
        out.push(project_view(&state, &p, today).await?);
    }
    Ok(axum::Json(out))
}

pub async fn open_project(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Json(input): Json<ProjectInput>,
) -> AppResult<(StatusCode, axum::Json<Created>)> {
    let id = svc::open_project(&state, &ctx, &input).await?;
    Ok((StatusCode::CREATED, axum::Json(Created { id })))
}

pub async fn get_project(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<ProjectView>> {
    let p = svc::project_for(&state, &ctx, id, "project.view").await?;
    Ok(axum::Json(project_view(&state, &p, ctx.today()).await?))
}

pub async fn record_assessment(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Json(input): Json<SecurityAssessmentInput>,
) -> AppResult<(StatusCode, axum::Json<Created>)> {
    let id = svc::record_assessment(&state, &ctx, &input).await?;
    Ok((StatusCode::CREATED, axum::Json(Created { id })))
}

pub async fn get_assessment(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<SecurityAssessmentView>> {
    let a = svc::assessment_for(&state, &ctx, id, "project.view").await?;
    Ok(axum::Json(assessment_view(&a, ctx.today())))
}

pub async fn create_grant(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Json(input): Json<GrantForm>,
) -> AppResult<(StatusCode, axum::Json<Created>)> {
    let id = svc::create_grant(&state, &ctx, &input).await?;
    Ok((StatusCode::CREATED, axum::Json(Created { id })))
}

pub async fn get_grant(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<GrantView>> {
    let g = svc::grant_for(&state, &ctx, id, "project.view").await?;
    Ok(axum::Json(grant_view(&state, &g, ctx.today()).await?))
}

pub async fn revoke_grant(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Json(input): Json<RevokeInput>,
) -> AppResult<axum::Json<GrantView>> {
    let g = svc::revoke_grant(&state, &ctx, id, &input).await?;
    Ok(axum::Json(grant_view(&state, &g, ctx.today()).await?))
}

pub async fn grant_chain(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<ChainView>> {
    let g = svc::grant_for(&state, &ctx, id, "project.view").await?;
    Ok(axum::Json(grant_view(&state, &g, ctx.today()).await?.chain))
}
