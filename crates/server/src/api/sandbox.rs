//! JSON API of the sandbox: a project's catalog (granted datasets with usage classes and ε budgets),
//! runs on dummy or real data, the query history, cancellation, the outbox, one output with its check
//! report and reviews, the values for the operator's reviewers (audited), reviews and downloads. Same
//! services as the workspace pages.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::AppState;
use crate::context::Ctx;
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Path};
use crate::services::sandbox::{
    self as svc, Catalog, OutputView, QueryView, ReviewInput, RunInput, RunResult,
};

/// A project's catalog today.
pub async fn catalog(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<Catalog>> {
    let p = crate::services::data_use::project_for(&state, &ctx, id, "project.view").await?;
    Ok(axum::Json(svc::catalog(&state, &p, ctx.today()).await?))
}

/// Runs a query (dummy or real). Refusals and errors of the run are a 200 answer with `outcome`
/// `refused`/`error` and a stable `error_code` (the run is recorded either way).
pub async fn run(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Json(input): Json<RunInput>,
) -> AppResult<axum::Json<RunResult>> {
    Ok(axum::Json(svc::run(&state, &ctx, id, &input).await?))
}

/// The project's last 200 queries, newest first.
pub async fn queries(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<Vec<QueryView>>> {
    crate::services::data_use::project_for(&state, &ctx, id, "project.view").await?;
    Ok(axum::Json(svc::query_views(&state, &ctx, id, svc::HISTORY).await?))
}

/// Withdraws a submitted output (its run is cancelled if it has not finished); the answer does not
/// depend on how far the run got.
pub async fn withdraw(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<OutputView>> {
    let out = svc::withdraw(&state, &ctx, id).await?;
    Ok(axum::Json(svc::output_view(&state, &ctx, &out).await?))
}

/// Cancels the caller's dummy runs in progress in the project (204 whether or not one was running).
pub async fn cancel(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    let p = svc::project_for_query(&state, &ctx, id).await?;
    state.sandbox.cancel(p.id, ctx.me()?.user.id);
    Ok(StatusCode::NO_CONTENT)
}

/// The project's outputs, newest first.
pub async fn project_outputs(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<Vec<OutputView>>> {
    crate::services::data_use::project_for(&state, &ctx, id, "project.view").await?;
    let mut out = Vec::new();
    for o in state.store.sandbox_outputs(id).await? {
        out.push(svc::output_view(&state, &ctx, &o).await?);
    }
    Ok(axum::Json(out))
}

/// Outputs of the caller's operator awaiting review (the reviewers' to-do).
pub async fn pending(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
) -> AppResult<axum::Json<Vec<OutputView>>> {
    let me = ctx.me()?;
    if !me.user.roles.contains(yunshu_domain::party::Role::Reviewer) {
        return Err(AppError::forbidden());
    }
    let mut out = Vec::new();
    for o in state.store.sandbox_outputs_pending(me.org.id).await? {
        out.push(svc::output_view(&state, &ctx, &o).await?);
    }
    Ok(axum::Json(out))
}

/// One output: check report, reviews, downloads (never its values).
pub async fn output(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<OutputView>> {
    let (out, _, _) = svc::output_access(&state, &ctx, id).await?;
    Ok(axum::Json(svc::output_view(&state, &ctx, &out).await?))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct OutputData {
    pub columns: Vec<String>,
    /// The first rows as display strings.
    pub rows: Vec<Vec<String>>,
}

/// The values of an output, for the operator's reviewers only; each look is audited.
pub async fn output_data(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<OutputData>> {
    let (out, _, reviewer) = svc::output_access(&state, &ctx, id).await?;
    if !reviewer {
        return Err(AppError::forbidden());
    }
    let (columns, rows) = svc::look(&state, &ctx, &out).await?;
    Ok(axum::Json(OutputData { columns, rows }))
}

/// A reviewer approves (`approve`) or rejects (`reject`) an output.
pub async fn review(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Json(input): Json<ReviewInput>,
) -> AppResult<axum::Json<OutputView>> {
    let out = svc::review(&state, &ctx, id, &input).await?;
    Ok(axum::Json(svc::output_view(&state, &ctx, &out).await?))
}

/// Downloads a released output as `csv`, `parquet` or `xlsx` (audited).
pub async fn download(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path((id, format)): Path<(i64, String)>,
) -> AppResult<Response> {
    Ok(svc::download(&state, &ctx, id, &format).await?.into_response())
}
