//! JSON API of backflow (回流, Art. 16).

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use super::Created;
use crate::AppState;
use crate::context::Ctx;
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Path};
use crate::services::backflow::{self as svc, BackflowInput, DecideInput};

#[derive(Serialize, utoipa::ToSchema)]
pub struct BackflowView {
    pub id: i64,
    pub resource_id: i64,
    pub requesting_org: i64,
    pub purpose: String,
    /// requested | consented | refused
    pub status: String,
    pub reason: Option<String>,
    /// The prefecture's registered copy, once consented.
    pub copy_resource_id: Option<i64>,
}

pub async fn request(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Json(input): Json<BackflowInput>,
) -> AppResult<(StatusCode, axum::Json<Created>)> {
    let id = svc::request(&state, &ctx, &input).await?;
    Ok((StatusCode::CREATED, axum::Json(Created { id })))
}

pub async fn decide(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path((id, decision)): Path<(i64, String)>,
    Json(input): Json<DecideInput>,
) -> AppResult<axum::Json<BackflowView>> {
    let consent = match decision.as_str() {
        "consent" => true,
        "refuse" => false,
        _ => return Err(AppError::invalid("decision", "backflow.decision", "应为 consent 或 refuse")),
    };
    svc::decide(&state, &ctx, id, consent, &input).await?;
    let b = state.store.backflow(id).await?;
    Ok(axum::Json(BackflowView {
        id: b.id,
        resource_id: b.resource_id,
        requesting_org: b.requesting_org,
        purpose: b.purpose,
        status: b.status,
        reason: b.reason,
        copy_resource_id: b.copy_resource_id,
    }))
}
