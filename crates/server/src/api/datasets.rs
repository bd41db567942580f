//! JSON API of dataset versions: import a file (the raw request body, streamed to the importer),
//! list versions with their profiles and quality reports, accept or discard a version whose schema
//! differs, add quality rules.

use axum::Extension;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use yunshu_store::datasets::VersionRecord;

use super::Created;
use crate::AppState;
use crate::context::Ctx;
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Path, Query};
use crate::services::catalog::resource_for;
use crate::services::datasets::{self as svc, ChannelReader, RuleInput};

#[derive(Serialize, utoipa::ToSchema)]
pub struct VersionView {
    pub id: i64,
    pub resource_id: i64,
    pub version_no: i64,
    pub source_name: String,
    /// csv | xlsx | parquet | jsonl
    pub source_format: String,
    pub encoding: Option<String>,
    pub delimiter: Option<String>,
    pub sheet: Option<String>,
    pub row_count: i64,
    pub source_bytes: i64,
    /// SM3 of the source file as received (hex).
    pub sm3: String,
    /// active | pending_acceptance | discarded
    pub status: String,
    /// Stored columns: [{name, kind}].
    #[schema(value_type = Object)]
    pub schema: Value,
    /// Differences from the registered items: [{code, message}].
    #[schema(value_type = Object)]
    pub differences: Value,
    /// Quality score 0–100 (`None` without rules).
    pub quality_score: Option<f64>,
    /// Rule results.
    #[schema(value_type = Object)]
    pub quality: Value,
    /// Per-column profile; `None` for callers who may not see real values.
    #[schema(value_type = Object)]
    pub profile: Option<Value>,
    pub created_at: String,
}

fn view(v: &VersionRecord, with_profile: bool) -> VersionView {
    let parse = |s: &str| serde_json::from_str::<Value>(s).unwrap_or(Value::Null);
    VersionView {
        id: v.id,
        resource_id: v.new.resource_id,
        version_no: v.version_no,
        source_name: v.new.source_name.clone(),
        source_format: v.new.source_format.clone(),
        encoding: v.new.encoding.clone(),
        delimiter: v.new.delimiter.clone(),
        sheet: v.new.sheet.clone(),
        row_count: v.new.row_count,
        source_bytes: v.new.source_bytes,
        sm3: v.new.sm3.clone(),
        status: v.new.status.code().to_owned(),
        schema: parse(&v.new.schema_json),
        differences: parse(&v.new.differences_json),
        quality_score: v.new.quality_score.map(|s| s as f64 / 100.0),
        quality: parse(&v.new.quality_json),
        profile: with_profile.then(|| parse(&v.new.profile_json)),
        created_at: yunshu_store::ts(v.created_at),
    }
}

pub async fn list(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<Vec<VersionView>>> {
    let r = resource_for(&state, &ctx, id, "resource.view").await?;
    let profile = svc::may_see_profile(&ctx, &r);
    Ok(axum::Json(state.store.versions_of(r.id).await?.iter().map(|v| view(v, profile)).collect()))
}

#[derive(Debug, Default, Deserialize)]
pub struct UploadQuery {
    #[serde(default)]
    name: String,
    #[serde(default)]
    sheet: Option<String>,
}

/// The body is the file itself; it is streamed to the importer as it arrives.
pub async fn upload(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Query(q): Query<UploadQuery>,
    body: Body,
) -> AppResult<(StatusCode, axum::Json<VersionView>)> {
    let name = q.name.trim();
    if name.is_empty() {
        return Err(AppError::invalid(
            "name",
            "upload.name",
            "请在 name 参数中给出文件名（如 data.csv），用于识别格式",
        ));
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, String>>(8);
    let mut stream = body.into_data_stream();
    let feed = async move {
        while let Some(chunk) = stream.next().await {
            let item = chunk.map_err(|e| format!("上传中断：{e}"));
            let stop = item.is_err();
            if tx.send(item).await.is_err() || stop {
                break;
            }
        }
    };
    let import =
        svc::import_version(&state, &ctx, id, ChannelReader::new(rx), name, q.sheet.clone(), &|_| {});
    let ((), imported) = tokio::join!(feed, import);
    let imported = imported?;
    let v = state.store.version(imported.version_id).await?;
    let r = state.store.resource(id).await?;
    Ok((StatusCode::CREATED, axum::Json(view(&v, svc::may_see_profile(&ctx, &r)))))
}

pub async fn decide(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path((id, decision)): Path<(i64, String)>,
) -> AppResult<StatusCode> {
    let accept = match decision.as_str() {
        "accept" => true,
        "discard" => false,
        _ => return Err(AppError::invalid("decision", "dataset.decision", "应为 accept 或 discard")),
    };
    svc::decide_version(&state, &ctx, id, accept).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn add_rule(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Json(input): Json<RuleInput>,
) -> AppResult<(StatusCode, axum::Json<Created>)> {
    let id = svc::add_rule(&state, &ctx, id, &input).await?;
    Ok((StatusCode::CREATED, axum::Json(Created { id })))
}
