//! JSON API of developer onboarding (Art. 12–13): scenarios, material uploads, applications and their
//! moves, objection decisions, and the public notices with objections (no sign-in). Same services as
//! the pages.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use yunshu_domain::calendar::WorkCalendar;
use yunshu_store::onboarding::{ApplicationRecord, MaterialRecord, ScenarioRecord};

use super::Created;
use crate::AppState;
use crate::context::Ctx;
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Path, Query};
use crate::services::onboarding::{
    self as svc, AppMove, AppMoveInput, AssessmentInput, MaterialsInput, ObjectionDecisionInput,
    ObjectionInput, ScenarioInput,
};

#[derive(Serialize, utoipa::ToSchema)]
pub struct AssessmentView {
    pub need_passed: bool,
    pub need_reason: String,
    pub compliance_passed: bool,
    pub compliance_reason: String,
    pub security_passed: bool,
    pub security_reason: String,
    pub assessed_on: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ScenarioView {
    pub id: i64,
    pub title: String,
    pub description: String,
    /// published | self_proposed
    pub origin: String,
    /// open | proposed | refused | closed
    pub status: String,
    pub status_label: String,
    pub operator_org_id: i64,
    pub proposer_org_id: Option<i64>,
    pub assessment: Option<AssessmentView>,
    pub created_on: String,
    /// Whether the caller's organisation holds a development agreement giving access today.
    pub access: bool,
}

pub fn scenario_view(s: &ScenarioRecord, access: bool) -> ScenarioView {
    let sc = &s.scenario;
    ScenarioView {
        id: s.id,
        title: sc.title.clone(),
        description: sc.description.clone(),
        origin: sc.origin.code().to_owned(),
        status: sc.status.code().to_owned(),
        status_label: sc.status.label_zh().to_owned(),
        operator_org_id: sc.operator,
        proposer_org_id: sc.proposer,
        assessment: sc.assessment.as_ref().map(|a| AssessmentView {
            need_passed: a.need.passed,
            need_reason: a.need.reason.clone(),
            compliance_passed: a.compliance.passed,
            compliance_reason: a.compliance.reason.clone(),
            security_passed: a.security_risk.passed,
            security_reason: a.security_risk.reason.clone(),
            assessed_on: a.assessed_on.to_string(),
        }),
        created_on: sc.created_on.to_string(),
        access,
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MaterialView {
    pub id: i64,
    /// development_plan | security_commitment | credit_report | qualification_proof | other
    pub kind: String,
    pub file_name: String,
    pub media_type: String,
    pub size: u64,
    /// SM3 digest of the bytes, 64 lowercase hex digits.
    pub sm3: String,
}

pub fn material_view(m: &MaterialRecord) -> MaterialView {
    MaterialView {
        id: m.id,
        kind: m.material.kind().code().to_owned(),
        file_name: m.material.file_name().to_owned(),
        media_type: m.material.media_type().to_owned(),
        size: m.material.size(),
        sm3: m.material.sm3_hex().to_owned(),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SupplementView {
    pub what: String,
    pub requested_on: String,
    /// Last day; the application lapses the day after.
    pub due: String,
    pub provisional: bool,
    pub answered_on: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ReviewView {
    /// document_review | defence | expert_panel
    pub method: String,
    pub date: String,
    pub summary: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CheckView {
    pub condition: String,
    pub met: bool,
    pub note: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct NoticeView {
    pub start: String,
    pub end: String,
    /// Working days after the start up to and including the end (at least 5).
    pub working_days: Option<i64>,
    pub provisional: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ObjectionView {
    pub id: i64,
    pub lodged_on: String,
    pub name: String,
    pub content: String,
    /// `None` while undecided; dismissed | upheld_review | upheld_reject.
    pub outcome: Option<String>,
    pub reason: Option<String>,
    pub decided_on: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DevAgreementView {
    pub id: i64,
    pub start: String,
    pub end: String,
    /// signed | expired | terminated
    pub status: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ApplicationView {
    pub id: i64,
    pub scenario_id: i64,
    pub operator_org_id: i64,
    pub applicant_org_id: i64,
    /// under_review | awaiting_supplement | lapsed | qualified | in_notice | rejected | contracted | withdrawn
    pub status: String,
    pub status_label: String,
    pub submitted_on: String,
    pub materials: Vec<MaterialView>,
    pub supplements: Vec<SupplementView>,
    pub reviews: Vec<ReviewView>,
    pub checks: Vec<CheckView>,
    /// The current (last) notice.
    pub notice: Option<NoticeView>,
    /// Objections of the current notice.
    pub objections: Vec<ObjectionView>,
    pub rejection_reason: String,
    pub agreement: Option<DevAgreementView>,
}

pub fn notice_view(rec: &ApplicationRecord, cal: &WorkCalendar) -> Option<NoticeView> {
    rec.application.notices.last().map(|n| NoticeView {
        start: n.start.to_string(),
        end: n.end.to_string(),
        working_days: cal.working_days_between(n.start, n.end).ok(),
        provisional: n.provisional,
    })
}

pub async fn application_view(state: &AppState, rec: &ApplicationRecord) -> AppResult<ApplicationView> {
    let a = &rec.application;
    let cal = state.store.work_calendar().await?;
    let current = a.notices.len().saturating_sub(1);
    let agreement = state.store.dev_agreement_of_application(rec.id).await?.map(|d| DevAgreementView {
        id: d.id,
        start: d.agreement.term.start.to_string(),
        end: d.agreement.term.end.to_string(),
        status: d.agreement.status.code().to_owned(),
    });
    Ok(ApplicationView {
        id: rec.id,
        scenario_id: a.scenario,
        operator_org_id: a.operator,
        applicant_org_id: a.applicant,
        status: a.status.code().to_owned(),
        status_label: a.status.label_zh().to_owned(),
        submitted_on: a.submitted_on.to_string(),
        materials: rec.materials.iter().map(material_view).collect(),
        supplements: a
            .supplements
            .iter()
            .map(|s| SupplementView {
                what: s.what.clone(),
                requested_on: s.requested_on.to_string(),
                due: s.due.to_string(),
                provisional: s.provisional,
                answered_on: s.answered_on.map(|d| d.to_string()),
            })
            .collect(),
        reviews: a
            .reviews
            .iter()
            .map(|r| ReviewView {
                method: r.method.code().to_owned(),
                date: r.date.to_string(),
                summary: r.summary.clone(),
            })
            .collect(),
        checks: a
            .checks
            .iter()
            .map(|c| CheckView { condition: c.condition.code().to_owned(), met: c.met, note: c.note.clone() })
            .collect(),
        notice: notice_view(rec, &cal),
        objections: rec
            .objections
            .iter()
            .filter(|o| o.notice_idx == current)
            .map(|o| ObjectionView {
                id: o.id,
                lodged_on: o.objection.lodged_on.to_string(),
                name: o.name.clone(),
                content: o.objection.content.clone(),
                outcome: o.objection.decision.as_ref().map(|d| d.outcome.code().to_owned()),
                reason: o.objection.decision.as_ref().map(|d| d.reason.clone()),
                decided_on: o.objection.decision.as_ref().map(|d| d.decided_on.to_string()),
            })
            .collect(),
        rejection_reason: a.rejection_reason.clone(),
        agreement,
    })
}

pub async fn list_scenarios(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
) -> AppResult<axum::Json<Vec<ScenarioView>>> {
    let me = ctx.me()?.org.id;
    let mut out = Vec::new();
    for s in svc::visible_scenarios(&state, &ctx).await? {
        let access = svc::has_scenario_access(&state, me, s.id, ctx.today()).await?;
        out.push(scenario_view(&s, access));
    }
    Ok(axum::Json(out))
}

pub async fn publish_scenario(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Json(input): Json<ScenarioInput>,
) -> AppResult<(StatusCode, axum::Json<Created>)> {
    let id = svc::publish_scenario(&state, &ctx, &input).await?;
    Ok((StatusCode::CREATED, axum::Json(Created { id })))
}

pub async fn propose_scenario(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Json(input): Json<ScenarioInput>,
) -> AppResult<(StatusCode, axum::Json<Created>)> {
    let id = svc::propose_scenario(&state, &ctx, &input).await?;
    Ok((StatusCode::CREATED, axum::Json(Created { id })))
}

pub async fn get_scenario(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<ScenarioView>> {
    let s = svc::visible_scenarios(&state, &ctx)
        .await?
        .into_iter()
        .find(|s| s.id == id)
        .ok_or_else(AppError::not_found)?;
    let access = svc::has_scenario_access(&state, ctx.me()?.org.id, id, ctx.today()).await?;
    Ok(axum::Json(scenario_view(&s, access)))
}

pub async fn assess_scenario(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Json(input): Json<AssessmentInput>,
) -> AppResult<axum::Json<ScenarioView>> {
    svc::assess_scenario(&state, &ctx, id, &input).await?;
    Ok(axum::Json(scenario_view(&state.store.scenario(id).await?, false)))
}

pub async fn apply(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Json(input): Json<MaterialsInput>,
) -> AppResult<(StatusCode, axum::Json<Created>)> {
    let id = svc::apply(&state, &ctx, id, &input).await?;
    Ok((StatusCode::CREATED, axum::Json(Created { id })))
}

#[derive(Debug, Deserialize)]
pub struct UploadQuery {
    pub kind: String,
    pub file_name: String,
}

/// The file is the request body itself (`Content-Type` its media type), so no multipart parser is
/// needed; the route accepts bodies up to the material limit.
pub async fn upload_material(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<(StatusCode, axum::Json<MaterialView>)> {
    let bytes = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "material.too_large",
                format!("文件超过上限 {} MB", svc::SETTINGS.material_max_bytes / (1024 * 1024)),
            )
        } else {
            AppError::new(StatusCode::BAD_REQUEST, "request.bad_body", e.body_text())
        }
    })?;
    let media_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_owned())
        .unwrap_or_default();
    let (id, _) = svc::upload_material(&state, &ctx, &q.kind, &q.file_name, &media_type, &bytes).await?;
    Ok((StatusCode::CREATED, axum::Json(material_view(&state.store.material(id).await?))))
}

pub async fn list_applications(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
) -> AppResult<axum::Json<Vec<ApplicationView>>> {
    let mut out = Vec::new();
    for rec in svc::visible_applications(&state, &ctx).await? {
        out.push(application_view(&state, &rec).await?);
    }
    Ok(axum::Json(out))
}

pub async fn get_application(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<ApplicationView>> {
    let rec = svc::application_for(&state, &ctx, id, "application.view").await?;
    Ok(axum::Json(application_view(&state, &rec).await?))
}

pub async fn move_application(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path((id, mv)): Path<(i64, String)>,
    Json(input): Json<AppMoveInput>,
) -> AppResult<axum::Json<ApplicationView>> {
    let mv = AppMove::parse(&mv).ok_or_else(AppError::not_found)?;
    svc::move_application(&state, &ctx, id, mv, &input).await?;
    Ok(axum::Json(application_view(&state, &state.store.application(id).await?).await?))
}

pub async fn decide_objection(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path((id, oid)): Path<(i64, i64)>,
    Json(input): Json<ObjectionDecisionInput>,
) -> AppResult<axum::Json<ApplicationView>> {
    svc::decide_objection(&state, &ctx, id, oid, &input).await?;
    Ok(axum::Json(application_view(&state, &state.store.application(id).await?).await?))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PublicNoticeView {
    pub application_id: i64,
    pub scenario_title: String,
    pub applicant_name: String,
    pub start: String,
    pub end: String,
    pub working_days: Option<i64>,
}

pub async fn public_notice_view(state: &AppState, rec: &ApplicationRecord) -> AppResult<PublicNoticeView> {
    let cal = state.store.work_calendar().await?;
    let notice = notice_view(rec, &cal).ok_or_else(AppError::not_found)?;
    Ok(PublicNoticeView {
        application_id: rec.id,
        scenario_title: state.store.scenario(rec.application.scenario).await?.scenario.title,
        applicant_name: state.store.org(rec.application.applicant).await?.name,
        start: notice.start,
        end: notice.end,
        working_days: notice.working_days,
    })
}

pub async fn public_notices(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
) -> AppResult<axum::Json<Vec<PublicNoticeView>>> {
    let mut out = Vec::new();
    for rec in svc::public_notices(&state, ctx.today()).await? {
        out.push(public_notice_view(&state, &rec).await?);
    }
    Ok(axum::Json(out))
}

pub async fn lodge_objection(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Json(input): Json<ObjectionInput>,
) -> AppResult<(StatusCode, axum::Json<Created>)> {
    let id = svc::lodge_objection(&state, &ctx, id, &input).await?;
    Ok((StatusCode::CREATED, axum::Json(Created { id })))
}
