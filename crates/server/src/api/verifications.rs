//! JSON API of verification requests and objections (Art. 17).

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use yunshu_store::verifications::RequestRecord;

use super::Created;
use crate::AppState;
use crate::context::Ctx;
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Path};
use crate::services::catalog::resource_for;
use crate::services::verifications::{self as svc, AnswerInput, RaiseInput};

#[derive(Serialize, utoipa::ToSchema)]
pub struct VerificationView {
    pub id: i64,
    pub resource_id: i64,
    /// verification | objection
    pub kind: String,
    pub fields: Vec<String>,
    pub rows: String,
    pub question: String,
    /// open | escalated | answered
    pub status: String,
    pub received_on: String,
    pub due_on: String,
    /// The due date reaches into a year without a published holiday schedule.
    pub due_provisional: bool,
    pub overdue: bool,
    pub answer: Option<String>,
    pub corrected: Option<bool>,
    pub answered_late: Option<bool>,
}

fn view(rec: &RequestRecord, today: chrono::NaiveDate) -> VerificationView {
    let q = &rec.request;
    VerificationView {
        id: rec.id,
        resource_id: rec.resource_id,
        kind: q.kind.code().to_owned(),
        fields: q.fields.clone(),
        rows: q.rows.clone(),
        question: q.question.clone(),
        status: q.status.code().to_owned(),
        received_on: q.received.to_string(),
        due_on: q.due.due.to_string(),
        due_provisional: q.due.provisional,
        overdue: q.is_overdue(today),
        answer: rec.answer.clone(),
        corrected: rec.corrected,
        answered_late: rec.answered_late,
    }
}

pub async fn raise(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Json(input): Json<RaiseInput>,
) -> AppResult<(StatusCode, axum::Json<Created>)> {
    let id = svc::raise(&state, &ctx, id, &input).await?;
    Ok((StatusCode::CREATED, axum::Json(Created { id })))
}

pub async fn list(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
) -> AppResult<axum::Json<Vec<VerificationView>>> {
    let today = ctx.today();
    Ok(axum::Json(svc::visible(&state, &ctx).await?.iter().map(|(rec, _)| view(rec, today)).collect()))
}

async fn load(state: &AppState, ctx: &Ctx, id: i64) -> AppResult<RequestRecord> {
    let rec = state.store.verification(id).await?;
    resource_for(state, ctx, rec.resource_id, "resource.view").await?;
    let me = ctx.me()?;
    if me.org.org_type == yunshu_domain::party::OrgType::Operator && rec.raised_by_org != me.org.id {
        return Err(AppError::forbidden());
    }
    Ok(rec)
}

pub async fn get(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<VerificationView>> {
    Ok(axum::Json(view(&load(&state, &ctx, id).await?, ctx.today())))
}

pub async fn answer(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Json(input): Json<AnswerInput>,
) -> AppResult<axum::Json<VerificationView>> {
    svc::answer(&state, &ctx, id, &input).await?;
    Ok(axum::Json(view(&state.store.verification(id).await?, ctx.today())))
}
