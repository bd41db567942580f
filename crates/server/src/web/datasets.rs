//! The 数据与质量 page of a resource: upload a file as a new version (streamed to the importer, never
//! spooled), the versions with their SM3 digests and quality scores (and a chart of the score over
//! versions), schema differences to accept, the profile of a version (only for those who may see
//! real values), and the quality rules.

use askama::Template;
use axum::Extension;
use axum::extract::{Multipart, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::Value;
use yunshu_store::datasets::{VersionRecord, VersionStatus};

use super::templates::Layout;
use super::{layout, page, zh_time};
use crate::AppState;
use crate::context::Ctx;
use crate::error::{AppError, AppResult};
use crate::extract::{Form, Path, Query};
use crate::services::catalog::resource_for;
use crate::services::datasets::{self as svc, ChannelReader, RuleInput};

pub struct VersionRow {
    pub id: i64,
    pub no: i64,
    pub source: String,
    pub format: String,
    pub rows: i64,
    pub bytes: String,
    pub sm3: String,
    pub score: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub pending: bool,
    pub differences: Vec<String>,
    pub uploader: String,
    pub at: String,
}

pub struct ProfileRow {
    pub name: String,
    pub kind: String,
    pub identifier: String,
    pub null_rate: String,
    pub distinct: String,
    pub range: String,
    pub invalid: String,
}

pub struct RuleRow {
    pub id: i64,
    pub column: String,
    pub check: String,
    pub params: String,
    pub severity: String,
    pub result: String,
}

#[derive(Template)]
#[template(path = "resource_data.html")]
pub struct DataPage {
    pub l: Layout,
    pub id: i64,
    pub name: String,
    pub can_manage: bool,
    pub can_profile: bool,
    pub upload_limit_mb: u64,
    pub versions: Vec<VersionRow>,
    pub chart: Vec<(i64, String, i64, i64)>,
    pub profile_no: i64,
    pub profile: Vec<ProfileRow>,
    pub rules: Vec<RuleRow>,
    pub columns: Vec<String>,
    pub error: String,
    pub flash: String,
}

fn human_bytes(n: i64) -> String {
    let n = n as f64;
    if n >= 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2} GB", n / 1024.0 / 1024.0 / 1024.0)
    } else if n >= 1024.0 * 1024.0 {
        format!("{:.1} MB", n / 1024.0 / 1024.0)
    } else {
        format!("{:.1} KB", n / 1024.0)
    }
}

fn score_text(v: &VersionRecord) -> String {
    v.new.quality_score.map(|s| format!("{:.1}", s as f64 / 100.0)).unwrap_or_else(|| "未设规则".to_owned())
}

fn check_label(code: &str) -> &'static str {
    match code {
        "not_null" => "非空",
        "range" => "取值范围",
        "pattern" => "格式",
        "reference" => "参照值",
        "freshness" => "时效",
        _ => "其他",
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct DataQuery {
    #[serde(default)]
    version: Option<i64>,
}

async fn data_page(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    version: Option<i64>,
    error: Option<AppError>,
    flash: String,
) -> AppResult<DataPage> {
    let r = resource_for(state, ctx, id, "resource.view").await?;
    let l = layout(
        state,
        ctx,
        "/catalog",
        vec![
            ("数据管理", ""),
            ("数据资源目录", "/catalog"),
            (r.meta.name.as_str(), &format!("/catalog/{id}")),
            ("数据与质量", ""),
        ],
    )
    .await?;
    let can_manage = ctx.allowed(state, "resource.manage", &crate::services::catalog::resource_policy(&r));
    let can_profile = svc::may_see_profile(ctx, &r);
    let versions = state.store.versions_of(r.id).await?;
    let mut rows = Vec::new();
    for v in &versions {
        let uploader = match v.uploader_id {
            Some(u) => state.store.user(u).await.map(|u| u.display_name).unwrap_or_default(),
            None => "平台控制台".to_owned(),
        };
        let differences = serde_json::from_str::<Value>(&v.new.differences_json)
            .ok()
            .and_then(|d| d.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|d| d["message"].as_str().map(str::to_owned))
            .collect();
        let mut format = v.new.source_format.to_uppercase();
        if let Some(e) = &v.new.encoding {
            format.push_str(&format!(" · {e}"));
        }
        if let Some(d) = &v.new.delimiter {
            format.push_str(&format!(" · 分隔符 {d}"));
        }
        if let Some(s) = &v.new.sheet {
            format.push_str(&format!(" · 工作表 {s}"));
        }
        rows.push(VersionRow {
            id: v.id,
            no: v.version_no,
            source: v.new.source_name.clone(),
            format,
            rows: v.new.row_count,
            bytes: human_bytes(v.new.source_bytes),
            sm3: v.new.sm3.clone(),
            score: score_text(v),
            status: v.new.status.label_zh(),
            status_class: match v.new.status {
                VersionStatus::Active => "ok",
                VersionStatus::PendingAcceptance => "warn",
                VersionStatus::Discarded => "",
            },
            pending: v.new.status == VersionStatus::PendingAcceptance,
            differences,
            uploader,
            at: zh_time(v.created_at),
        });
    }
    // Chart: score per version, oldest first; bar height in px of 100.
    let chart = versions
        .iter()
        .rev()
        .filter_map(|v| {
            v.new.quality_score.map(|s| (v.version_no, format!("{:.1}", s as f64 / 100.0), s / 100, 0))
        })
        .enumerate()
        .map(|(i, (no, label, h, _))| (no, label, h, i as i64 * 48 + 30))
        .collect();
    let shown = match version {
        Some(vid) => versions.iter().find(|v| v.id == vid),
        None => svc::current(&versions).or(versions.first()),
    };
    let mut profile = Vec::new();
    let mut quality: Option<Value> = None;
    if let Some(v) = shown {
        quality = serde_json::from_str(&v.new.quality_json).ok();
        if can_profile && let Ok(p) = serde_json::from_str::<Value>(&v.new.profile_json) {
            for c in p["columns"].as_array().cloned().unwrap_or_default() {
                let s = |k: &str| c[k].as_str().unwrap_or("").to_owned();
                let invalid = match c["invalid"].as_u64() {
                    Some(n) => {
                        let lines: Vec<String> = c["invalid_lines"]
                            .as_array()
                            .cloned()
                            .unwrap_or_default()
                            .iter()
                            .filter_map(|x| x.as_u64().map(|l| l.to_string()))
                            .collect();
                        if n == 0 { "0".to_owned() } else { format!("{n}（行 {}）", lines.join("、")) }
                    }
                    None => "—".to_owned(),
                };
                profile.push(ProfileRow {
                    name: s("name"),
                    kind: yunshu_domain::catalog::FieldKind::parse(&s("kind"))
                        .map(|k| k.label_zh().to_owned())
                        .unwrap_or_else(|| s("kind")),
                    identifier: s("identifier_label"),
                    null_rate: format!("{:.1}%", c["null_rate"].as_f64().unwrap_or(0.0) * 100.0),
                    distinct: s("distinct"),
                    range: match (c["min"].as_str(), c["max"].as_str()) {
                        (Some(a), Some(b)) => format!("{a} ～ {b}"),
                        _ => String::new(),
                    },
                    invalid,
                });
            }
        }
    }
    let results = quality.as_ref().and_then(|q| q["results"].as_array().cloned()).unwrap_or_default();
    let rules = state
        .store
        .rules_of(r.id)
        .await?
        .into_iter()
        .map(|x| {
            let result = results
                .iter()
                .find(|q| q["rule"].as_str() == Some(format!("R{}", x.id).as_str()))
                .map(|q| {
                    if q["not_applicable"].is_string() {
                        "不适用".to_owned()
                    } else {
                        format!(
                            "{} / {} 通过",
                            q["passed"].as_u64().unwrap_or(0),
                            q["checked"].as_u64().unwrap_or(0)
                        )
                    }
                })
                .unwrap_or_else(|| "（下次导入时检查）".to_owned());
            RuleRow {
                id: x.id,
                column: x.column_name,
                check: check_label(&x.check_code).to_owned(),
                params: x.params,
                severity: match x.severity.as_str() {
                    "high" => "高",
                    "low" => "低",
                    _ => "中",
                }
                .to_owned(),
                result,
            }
        })
        .collect();
    Ok(DataPage {
        l,
        id: r.id,
        name: r.meta.name.clone(),
        can_manage,
        can_profile,
        upload_limit_mb: state.config.upload_limit / 1024 / 1024,
        versions: rows,
        chart,
        profile_no: shown.map(|v| v.version_no).unwrap_or(0),
        profile,
        rules,
        columns: r.items.iter().map(|i| i.name.clone()).collect(),
        error: error.map(|e| e.message).unwrap_or_default(),
        flash,
    })
}

pub async fn data(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Query(q): Query<DataQuery>,
) -> AppResult<Response> {
    Ok(page(&data_page(&state, &ctx, id, q.version, None, String::new()).await?).into_response())
}

/// The upload: fields `sheet` (optional, before the file) and `file`, streamed into the importer.
pub async fn upload(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    mut multipart: Multipart,
) -> AppResult<Response> {
    let mut sheet = None;
    let mut outcome = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                outcome =
                    Some(Err(AppError::invalid("file", "upload.malformed", format!("上传内容不完整：{e}"))));
                break;
            }
        };
        match field.name() {
            Some("sheet") => sheet = field.text().await.ok(),
            Some("file") => {
                let name = field.file_name().unwrap_or("upload.csv").to_owned();
                let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, String>>(8);
                let mut field = field;
                let feed = async move {
                    loop {
                        match field.chunk().await {
                            Ok(Some(c)) => {
                                if tx.send(Ok(c)).await.is_err() {
                                    break;
                                }
                            }
                            Ok(None) => break,
                            Err(e) => {
                                let _ = tx.send(Err(format!("上传中断：{e}"))).await;
                                break;
                            }
                        }
                    }
                };
                let import = svc::import_version(
                    &state,
                    &ctx,
                    id,
                    ChannelReader::new(rx),
                    &name,
                    sheet.clone(),
                    &|_| {},
                );
                let ((), result) = tokio::join!(feed, import);
                outcome = Some(result);
                break;
            }
            _ => {}
        }
    }
    let result =
        outcome.unwrap_or_else(|| Err(AppError::invalid("file", "upload.no_file", "请选择要导入的文件")));
    match result {
        Ok(imported) => {
            let flash = match imported.status {
                VersionStatus::Active => {
                    format!("已导入第 {} 版，共 {} 行。", imported.version_no, imported.rows)
                }
                _ => format!(
                    "已导入第 {} 版（{} 行），但结构与登记的数据项不一致，请核对后确认或废弃。",
                    imported.version_no, imported.rows
                ),
            };
            Ok(page(&data_page(&state, &ctx, id, Some(imported.version_id), None, flash).await?)
                .into_response())
        }
        Err(e) if e.is_form_error() => {
            let status = e.status;
            Ok((status, page(&data_page(&state, &ctx, id, None, Some(e), String::new()).await?))
                .into_response())
        }
        Err(e) => Err(e),
    }
}

pub async fn decide(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path((id, vid, decision)): Path<(i64, i64, String)>,
) -> AppResult<Response> {
    let accept = match decision.as_str() {
        "accept" => true,
        "discard" => false,
        _ => return Err(AppError::not_found()),
    };
    match svc::decide_version(&state, &ctx, vid, accept).await {
        Ok(()) => Ok(Redirect::to(&format!("/catalog/{id}/data")).into_response()),
        Err(e) if e.is_form_error() => {
            let status = e.status;
            Ok((status, page(&data_page(&state, &ctx, id, None, Some(e), String::new()).await?))
                .into_response())
        }
        Err(e) => Err(e),
    }
}

pub async fn add_rule(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Form(f): Form<RuleInput>,
) -> AppResult<Response> {
    match svc::add_rule(&state, &ctx, id, &f).await {
        Ok(_) => Ok(Redirect::to(&format!("/catalog/{id}/data#rules")).into_response()),
        Err(e) if e.is_form_error() => {
            let status = e.status;
            Ok((status, page(&data_page(&state, &ctx, id, None, Some(e), String::new()).await?))
                .into_response())
        }
        Err(e) => Err(e),
    }
}

pub async fn delete_rule(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path((id, rule)): Path<(i64, i64)>,
) -> AppResult<Response> {
    svc::delete_rule(&state, &ctx, id, rule).await?;
    Ok(Redirect::to(&format!("/catalog/{id}/data#rules")).into_response())
}
