//! JSON API of evaluations (Art. 26) and rectification: open, request materials, submit materials,
//! conclude with scores and evidence, rectification plan and completion, re-evaluation, evidence
//! uploads (raw body, SM3-digested). Each view carries the evaluated party's standing and, for the
//! operator evaluating a developer, the sanction the evaluations suggest.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use yunshu_domain::authorization::evaluation::EvaluationRelation;
use yunshu_store::evaluations::EvaluationRecord;

use super::Created;
use super::onboarding::{MaterialView, material_view};
use crate::AppState;
use crate::context::Ctx;
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Path, Query};
use crate::services::evaluations::{
    self as svc, ConcludeInput, MaterialRequestInput, OpenEvaluationInput, RectStep, RectificationInput,
    SubmitMaterialsInput,
};
use crate::services::onboarding::SETTINGS;

#[derive(Serialize, utoipa::ToSchema)]
pub struct IndicatorView {
    pub name: String,
    pub weight: u32,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MaterialRequestView {
    /// The index to answer with.
    pub request: usize,
    pub what: String,
    pub requested_on: String,
    /// Last day to submit.
    pub due: String,
    pub submitted_on: Option<String>,
    pub material_ids: Vec<String>,
    pub overdue: bool,
    pub submitted_late: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ScoreView {
    pub indicator: String,
    pub weight: u32,
    pub score: u32,
    pub evidence: Vec<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RectificationView {
    pub ordered_on: String,
    /// 30 calendar days after the order, rolled to the next working day.
    pub due: String,
    pub provisional: bool,
    /// awaiting_plan | in_progress | completed
    pub status: String,
    pub status_label: String,
    pub plan: String,
    pub plan_submitted_on: Option<String>,
    pub report: String,
    pub completed_on: Option<String>,
    pub overdue: bool,
    pub completed_late: bool,
    /// The day the scheduler flagged it overdue.
    pub overdue_flagged_on: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct StandingView {
    /// pass | rectify | fail, or none yet.
    pub latest: Option<String>,
    pub latest_label: Option<String>,
    /// A 限期整改 not yet followed by a passing evaluation.
    pub open_rectification: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SanctionSuggestionView {
    /// reminder_interview | suspension | cancellation
    pub kind: String,
    pub kind_label: String,
    pub reason: String,
    pub reason_label: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct EvaluationView {
    pub id: i64,
    /// authority_to_provider | agency_to_operator | operator_to_developer
    pub relation: String,
    pub relation_label: String,
    pub evaluator_org_id: i64,
    pub evaluator_name: String,
    pub evaluated_org_id: i64,
    pub evaluated_name: String,
    pub period: String,
    pub opened_on: String,
    /// open | concluded
    pub status: String,
    pub status_label: String,
    pub indicators: Vec<IndicatorView>,
    pub requests: Vec<MaterialRequestView>,
    pub scores: Vec<ScoreView>,
    /// Weighted total, `87.50`.
    pub total: Option<String>,
    /// The thresholds' result.
    pub band: Option<String>,
    pub result: Option<String>,
    pub result_label: Option<String>,
    pub reason: String,
    pub decided_on: Option<String>,
    pub rectification: Option<RectificationView>,
    /// The evaluation this one re-evaluates.
    pub reevaluates: Option<i64>,
    /// The evaluated party's standing in this relationship.
    pub standing: StandingView,
    /// Operator → developer, shown to the operator only: the sanction the evaluations suggest.
    pub sanction_suggestion: Option<SanctionSuggestionView>,
}

pub async fn evaluation_view(
    state: &AppState,
    ctx: &Ctx,
    rec: &EvaluationRecord,
) -> AppResult<EvaluationView> {
    let e = &rec.evaluation;
    let today = ctx.today();
    let standing = svc::standing(state, e.evaluated, e.relation).await?;
    let me = ctx.me()?;
    let suggestion = if e.relation == EvaluationRelation::OperatorToDeveloper && me.org.id == e.evaluator.org
    {
        svc::sanction_suggestion(state, e.evaluated, today).await?
    } else {
        None
    };
    let c = e.conclusion.as_ref();
    Ok(EvaluationView {
        id: rec.id,
        relation: e.relation.code().to_owned(),
        relation_label: e.relation.label_zh().to_owned(),
        evaluator_org_id: e.evaluator.org,
        evaluator_name: state.store.org(e.evaluator.org).await?.name,
        evaluated_org_id: e.evaluated,
        evaluated_name: state.store.org(e.evaluated).await?.name,
        period: e.period.clone(),
        opened_on: e.opened_on.to_string(),
        status: e.status().code().to_owned(),
        status_label: e.status().label_zh().to_owned(),
        indicators: e
            .criteria
            .indicators()
            .iter()
            .map(|i| IndicatorView { name: i.name.clone(), weight: i.weight })
            .collect(),
        requests: e
            .requests
            .iter()
            .enumerate()
            .map(|(i, r)| MaterialRequestView {
                request: i,
                what: r.what.clone(),
                requested_on: r.requested_on.to_string(),
                due: r.due.to_string(),
                submitted_on: r.submitted_on.map(|d| d.to_string()),
                material_ids: r.materials.clone(),
                overdue: r.is_overdue(today),
                submitted_late: r.submitted_late(),
            })
            .collect(),
        scores: e
            .scores
            .iter()
            .map(|s| ScoreView {
                indicator: s.indicator.clone(),
                weight: s.weight,
                score: s.score,
                evidence: s.evidence.clone(),
            })
            .collect(),
        total: c.map(|c| c.total_text()),
        band: c.map(|c| c.band.code().to_owned()),
        result: c.map(|c| c.result.code().to_owned()),
        result_label: c.map(|c| c.result.label_zh().to_owned()),
        reason: c.map(|c| c.reason.clone()).unwrap_or_default(),
        decided_on: c.map(|c| c.decided_on.to_string()),
        rectification: e.rectification.as_ref().map(|r| RectificationView {
            ordered_on: r.ordered_on.to_string(),
            due: r.due.to_string(),
            provisional: r.provisional,
            status: r.status().code().to_owned(),
            status_label: r.status().label_zh().to_owned(),
            plan: r.plan.clone(),
            plan_submitted_on: r.plan_submitted_on.map(|d| d.to_string()),
            report: r.report.clone(),
            completed_on: r.completed_on.map(|d| d.to_string()),
            overdue: r.is_overdue(today),
            completed_late: r.completed_late(),
            overdue_flagged_on: rec.overdue_flagged_on.map(|d| d.to_string()),
        }),
        reevaluates: rec.reevaluates,
        standing: StandingView {
            latest: standing.latest.map(|r| r.code().to_owned()),
            latest_label: standing.latest.map(|r| r.label_zh().to_owned()),
            open_rectification: standing.open_rectification,
        },
        sanction_suggestion: suggestion.map(|s| SanctionSuggestionView {
            kind: s.kind.code().to_owned(),
            kind_label: s.kind.label_zh().to_owned(),
            reason: s.reason.code().to_owned(),
            reason_label: s.reason.label_zh().to_owned(),
        }),
    })
}

pub async fn list(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
) -> AppResult<axum::Json<Vec<EvaluationView>>> {
    let mut out = Vec::new();
    for rec in svc::visible_evaluations(&state, &ctx).await? {
        out.push(evaluation_view(&state, &ctx, &rec).await?);
    }
    Ok(axum::Json(out))
}

pub async fn open(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Json(input): Json<OpenEvaluationInput>,
) -> AppResult<(StatusCode, axum::Json<Created>)> {
    let id = svc::open_evaluation(&state, &ctx, &input).await?;
    Ok((StatusCode::CREATED, axum::Json(Created { id })))
}

pub async fn get(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<EvaluationView>> {
    let rec = svc::evaluation_for(&state, &ctx, id, "evaluation.view").await?;
    Ok(axum::Json(evaluation_view(&state, &ctx, &rec).await?))
}

pub async fn request_materials(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Json(input): Json<MaterialRequestInput>,
) -> AppResult<axum::Json<EvaluationView>> {
    let rec = svc::request_materials(&state, &ctx, id, &input).await?;
    Ok(axum::Json(evaluation_view(&state, &ctx, &rec).await?))
}

pub async fn submit_materials(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Json(input): Json<SubmitMaterialsInput>,
) -> AppResult<axum::Json<EvaluationView>> {
    let rec = svc::submit_materials(&state, &ctx, id, &input).await?;
    Ok(axum::Json(evaluation_view(&state, &ctx, &rec).await?))
}

pub async fn conclude(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Json(input): Json<ConcludeInput>,
) -> AppResult<axum::Json<EvaluationView>> {
    let rec = svc::conclude(&state, &ctx, id, &input).await?;
    Ok(axum::Json(evaluation_view(&state, &ctx, &rec).await?))
}

pub async fn rectify(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path((id, step)): Path<(i64, String)>,
    Json(input): Json<RectificationInput>,
) -> AppResult<axum::Json<EvaluationView>> {
    let step = RectStep::parse(&step).ok_or_else(AppError::not_found)?;
    let rec = svc::rectify(&state, &ctx, id, step, &input).await?;
    Ok(axum::Json(evaluation_view(&state, &ctx, &rec).await?))
}

pub async fn reevaluate(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<(StatusCode, axum::Json<Created>)> {
    let id = svc::reevaluate(&state, &ctx, id).await?;
    Ok((StatusCode::CREATED, axum::Json(Created { id })))
}

#[derive(Deserialize)]
pub struct UploadQuery {
    #[serde(default)]
    pub file_name: String,
}

/// Evidence or a requested material: the body is the file (`Content-Type` its media type).
pub async fn upload(
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
                format!("文件超过上限 {} MB", SETTINGS.material_max_bytes / (1024 * 1024)),
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
    let (id, _) = svc::upload_evidence(&state, &ctx, &q.file_name, &media_type, &bytes).await?;
    Ok((StatusCode::CREATED, axum::Json(material_view(&state.store.material(id).await?))))
}
