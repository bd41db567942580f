//! Data ingestion (Art. 16) and quality (Art. 17): a provider imports a file into a new immutable,
//! SM4-encrypted Parquet version of its resource; the profile and the quality score are computed on
//! the same stream; a schema that differs from the registered items waits for the provider to accept
//! it. The same service runs for the page upload (streamed, never spooled to disk), the API and
//! `yunshu import`.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use serde::Deserialize;
use serde_json::{Value, json};
use yunshu_domain::catalog::{FieldKind, UpdateCycle};
use yunshu_ingest::{
    Check, ColumnKind, ColumnSpec, ErrorReport, ImportOptions, ImportOutcome, Profile, Progress,
    QualityReport, QualityRule, Severity,
};
use yunshu_store::catalog::ResourceRecord;
use yunshu_store::datasets::{NewVersion, RuleRecord, VersionRecord, VersionStatus};

use super::catalog::resource_for;
use crate::AppState;
use crate::context::Ctx;
use crate::error::{AppError, AppResult};

/// Opens the platform's object store: files under `data_dir/objects`, each encrypted with SM4 under
/// a data key wrapped by the master key in `data_dir/keys/data-master.key`.
pub fn open_objects(data_dir: &Path) -> Result<Arc<dyn ObjectStore>, String> {
    let dir = data_dir.join("objects");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let inner = object_store::local::LocalFileSystem::new_with_prefix(&dir).map_err(|e| e.to_string())?;
    let keys = yunshu_vault::LocalKeyFile::open_or_create(&data_dir.join("keys/data-master.key"))
        .map_err(|e| e.to_string())?;
    Ok(Arc::new(yunshu_vault::EncryptedStore::new(Arc::new(inner), Arc::new(keys))))
}

fn column_kind(k: FieldKind) -> ColumnKind {
    match k {
        FieldKind::Text => ColumnKind::Text,
        FieldKind::Integer => ColumnKind::Integer,
        FieldKind::Decimal => ColumnKind::Decimal,
        FieldKind::Date => ColumnKind::Date,
        FieldKind::DateTime => ColumnKind::DateTime,
        FieldKind::Boolean => ColumnKind::Boolean,
    }
}

fn severity(code: &str) -> Severity {
    match code {
        "high" => Severity::High,
        "low" => Severity::Low,
        _ => Severity::Medium,
    }
}

fn severity_label(code: &str) -> &'static str {
    match code {
        "high" => "高",
        "low" => "低",
        _ => "中",
    }
}

/// A stored rule as the importer's rule. `update_cycle` gives a freshness rule without parameters
/// its default age.
pub fn to_rule(r: &RuleRecord, update_cycle: UpdateCycle) -> Result<QualityRule, String> {
    let check = match r.check_code.as_str() {
        "not_null" => Check::NotNull,
        "range" => {
            let (a, b) = r.params.split_once(',').unwrap_or((r.params.as_str(), ""));
            let num = |s: &str| -> Result<Option<f64>, String> {
                let s = s.trim();
                if s.is_empty() {
                    Ok(None)
                } else {
                    s.parse().map(Some).map_err(|_| format!("不是数值：{s}"))
                }
            };
            Check::Range { min: num(a)?, max: num(b)? }
        }
        "pattern" => Check::Pattern(
            regex::Regex::new(&format!("^(?:{})$", r.params)).map_err(|_| "正则表达式不正确".to_owned())?,
        ),
        "reference" => Check::Reference(
            r.params
                .split([',', '，', '、'])
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
        ),
        "freshness" => {
            let days = match r.params.trim() {
                "" => i64::from(update_cycle.max_age_days().unwrap_or(366)),
                s => s.parse().map_err(|_| "时效天数应为整数".to_owned())?,
            };
            Check::Freshness { max_age_days: days }
        }
        other => return Err(format!("未知的规则类型：{other}")),
    };
    Ok(QualityRule {
        id: format!("R{}", r.id),
        column: r.column_name.clone(),
        check,
        severity: severity(&r.severity),
    })
}

fn profile_json(p: &Profile) -> Value {
    json!({
        "rows": p.rows,
        "columns": p.columns.iter().map(|c| json!({
            "name": c.name,
            "kind": c.kind.code(),
            "identifier": c.identifier().map(|i| i.code()),
            "identifier_label": c.identifier().map(|i| i.label_zh()),
            "rows": c.rows,
            "nulls": c.nulls,
            "null_rate": c.null_rate(),
            "distinct": c.distinct_display(),
            "min": c.min,
            "max": c.max,
            "invalid": c.invalid,
            "invalid_lines": c.invalid_lines,
        })).collect::<Vec<_>>(),
    })
}

fn quality_json(q: &QualityReport, rules: &[RuleRecord]) -> Value {
    json!({
        "score": q.score,
        "results": q.results.iter().map(|r| {
            let rule = rules.iter().find(|x| format!("R{}", x.id) == r.rule_id);
            json!({
                "rule": r.rule_id,
                "column": r.column,
                "check": rule.map(|x| x.check_code.clone()),
                "params": rule.map(|x| x.params.clone()),
                "severity": rule.map(|x| severity_label(&x.severity)),
                "checked": r.checked,
                "passed": r.passed,
                "failed_lines": r.failed_lines,
                "not_applicable": r.not_applicable.map(|n| format!("{n:?}")),
            })
        }).collect::<Vec<_>>(),
    })
}

/// The import failed: a 422 naming the lines and columns, in Chinese; the code of the first error.
fn report_error(report: &ErrorReport) -> AppError {
    let code = report.first().map(|e| e.code()).unwrap_or("import.failed");
    let mut lines: Vec<String> = report.errors.iter().take(20).map(|e| e.message_zh()).collect();
    if report.errors.len() > 20 || report.truncated {
        lines.push(format!("……共 {} 处以上错误", report.errors.len()));
    }
    AppError::invalid("file", code, format!("导入失败，未写入任何数据：{}", lines.join("；")))
}

/// What an import produced.
pub struct Imported {
    pub version_id: i64,
    pub version_no: i64,
    pub status: VersionStatus,
    pub rows: u64,
}

/// The registered items of a resource as the importer's expected columns.
fn expected_columns(r: &ResourceRecord) -> Vec<ColumnSpec> {
    r.items.iter().map(|i| ColumnSpec::new(i.name.clone(), column_kind(i.kind))).collect()
}

/// Imports `source` as the next version of resource `id`. `name` is the uploaded file name (for
/// format detection); `sheet` picks an XLSX sheet.
pub async fn import_version<R: Read + Send + 'static>(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    source: R,
    name: &str,
    sheet: Option<String>,
    progress: &(dyn Fn(Progress) + Sync),
) -> AppResult<Imported> {
    let r = resource_for(state, ctx, id, "resource.manage").await?;
    import_into(state, &ctx.audit(), ctx.now, r, source, name, sheet, progress).await
}

/// The import itself, for a caller already authorised: a signed-in provider (above), or the
/// platform's own console (`yunshu import`, audited as such).
#[allow(clippy::too_many_arguments)]
pub async fn import_into<R: Read + Send + 'static>(
    state: &AppState,
    audit: &yunshu_store::AuditCtx,
    now: chrono::DateTime<chrono::Utc>,
    r: ResourceRecord,
    source: R,
    name: &str,
    sheet: Option<String>,
    progress: &(dyn Fn(Progress) + Sync),
) -> AppResult<Imported> {
    if r.items.is_empty() {
        return Err(AppError::conflict("resource.no_items", "请先编目数据项并完成分级，再导入数据"));
    }
    if r.status == yunshu_store::catalog::ResourceStatus::Cancelled {
        return Err(AppError::conflict("resource.cancelled", "该资源已注销登记，不能导入数据"));
    }
    let stored_rules = state.store.rules_of(r.id).await?;
    let rules = stored_rules
        .iter()
        .map(|x| to_rule(x, r.meta.update_cycle))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|m| AppError::conflict("quality_rule.invalid", m))?;
    // The object gets a name of its own before the version has a number: the number is taken in
    // the transaction that records the version, so concurrent imports into one resource each get
    // theirs and never share (or clean up) one another's object.
    let mut token = [0u8; 8];
    getrandom::fill(&mut token).map_err(AppError::internal)?;
    let dest = ObjectPath::from(format!(
        "resources/{}/{}-{}.parquet",
        r.id,
        now.format("%Y%m%d%H%M%S"),
        hex::encode(token)
    ));
    let mut options = ImportOptions::new(state.config.upload_limit, crate::web::beijing_date(now));
    options.sheet = sheet.filter(|s| !s.trim().is_empty());
    options.expected = Some(expected_columns(&r));
    options.rules = rules;
    let outcome: ImportOutcome =
        yunshu_ingest::import(source, name, options, state.objects.clone(), &dest, progress)
            .await
            .map_err(|e| report_error(&e))?;
    let status =
        if outcome.differences.is_empty() { VersionStatus::Active } else { VersionStatus::PendingAcceptance };
    let differences: Vec<Value> =
        outcome.differences.iter().map(|d| json!({"code": d.code(), "message": d.message_zh()})).collect();
    let schema: Vec<Value> =
        outcome.schema.iter().map(|c| json!({"name": c.name, "kind": c.kind.code()})).collect();
    let has_rules = !outcome.quality.results.is_empty();
    let v = NewVersion {
        resource_id: r.id,
        object_path: dest.to_string(),
        source_name: name.chars().take(200).collect(),
        source_format: outcome.format.code().to_owned(),
        encoding: outcome.encoding.map(|e| e.code().to_owned()),
        delimiter: outcome.delimiter.map(|d| if d == '\t' { "\\t".to_owned() } else { d.to_string() }),
        sheet: outcome.sheet.clone(),
        row_count: i64::try_from(outcome.row_count).unwrap_or(i64::MAX),
        source_bytes: i64::try_from(outcome.bytes_read).unwrap_or(i64::MAX),
        sm3: outcome.sm3.clone(),
        schema_json: Value::Array(schema).to_string(),
        differences_json: Value::Array(differences).to_string(),
        profile_json: profile_json(&outcome.profile).to_string(),
        quality_json: quality_json(&outcome.quality, &stored_rules).to_string(),
        quality_score: has_rules.then(|| (outcome.quality.score * 100.0).round() as i64),
        status,
    };
    let recorded = async {
        let mut tx = state.store.begin(now, audit).await?;
        let recorded = tx.insert_version(&v).await?;
        tx.commit().await?;
        Ok::<(i64, i64), yunshu_store::StoreError>(recorded)
    }
    .await;
    match recorded {
        Ok((version_id, version_no)) => {
            Ok(Imported { version_id, version_no, status, rows: outcome.row_count })
        }
        Err(e) => {
            // Nothing half-imported: the object goes when its record could not be written.
            let _ = state.objects.delete(&dest).await;
            Err(e.into())
        }
    }
}

/// The provider accepts (the version becomes current) or discards (its object is deleted) a version
/// whose schema differs from the registered items.
pub async fn decide_version(state: &AppState, ctx: &Ctx, version_id: i64, accept: bool) -> AppResult<()> {
    let v = state.store.version(version_id).await?;
    resource_for(state, ctx, v.new.resource_id, "resource.manage").await?;
    if v.new.status != VersionStatus::PendingAcceptance {
        return Err(AppError::conflict("dataset.not_pending", "该版本不在待确认状态"));
    }
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    tx.decide_version(&v, accept).await.map_err(|e| match e {
        yunshu_store::StoreError::Conflict(_) => AppError::conflict("dataset.not_pending", "该版本已被处理"),
        other => other.into(),
    })?;
    tx.commit().await?;
    if !accept {
        state
            .objects
            .delete(&ObjectPath::from(v.new.object_path.as_str()))
            .await
            .map_err(AppError::internal)?;
    }
    Ok(())
}

/// The current version: the newest active one.
pub fn current(versions: &[VersionRecord]) -> Option<&VersionRecord> {
    versions.iter().find(|v| v.new.status == VersionStatus::Active)
}

/// Who may see profiles (they show real values): the provider, the operator and the authorities.
pub fn may_see_profile(ctx: &Ctx, r: &ResourceRecord) -> bool {
    use yunshu_domain::party::OrgType;
    ctx.me().is_ok_and(|p| match p.org.org_type {
        OrgType::DataProvider | OrgType::PublicUtility => p.org.id == r.provider_org_id,
        OrgType::Operator | OrgType::DataAuthority => true,
        _ => false,
    })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RuleInput {
    /// Data item (column) name.
    pub column: String,
    /// not_null | range | pattern | reference | freshness
    pub check: String,
    /// range: "min,max" (either may be empty); pattern: a regular expression; reference: allowed values
    /// separated by commas; freshness: maximum age in days (empty: from the update cycle).
    #[serde(default)]
    pub params: String,
    /// high | medium | low
    #[serde(default)]
    pub severity: String,
}

pub async fn add_rule(state: &AppState, ctx: &Ctx, resource_id: i64, input: &RuleInput) -> AppResult<i64> {
    let r = resource_for(state, ctx, resource_id, "resource.manage").await?;
    let column = input.column.trim();
    if !r.items.iter().any(|i| i.name == column) {
        return Err(AppError::invalid("column", "quality_rule.column", "请选择已编目的数据项"));
    }
    let sev = match input.severity.trim() {
        "" => "medium",
        s @ ("high" | "medium" | "low") => s,
        _ => return Err(AppError::invalid("severity", "quality_rule.severity", "严重程度应为高、中或低")),
    };
    let probe = RuleRecord {
        id: 0,
        resource_id,
        column_name: column.to_owned(),
        check_code: input.check.trim().to_owned(),
        params: input.params.trim().chars().take(500).collect(),
        severity: sev.to_owned(),
    };
    to_rule(&probe, r.meta.update_cycle)
        .map_err(|m| AppError::invalid("params", "quality_rule.invalid", m))?;
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    let id = tx.add_rule(resource_id, column, &probe.check_code, &probe.params, sev).await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn delete_rule(state: &AppState, ctx: &Ctx, resource_id: i64, rule_id: i64) -> AppResult<()> {
    resource_for(state, ctx, resource_id, "resource.manage").await?;
    let rule = state
        .store
        .rules_of(resource_id)
        .await?
        .into_iter()
        .find(|r| r.id == rule_id)
        .ok_or_else(AppError::not_found)?;
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    tx.delete_rule(&rule).await?;
    tx.commit().await?;
    Ok(())
}

/// A synchronous reader over chunks sent from an async task: the page upload streams the multipart
/// field into the importer's reader thread through it, so an upload never touches the disk.
pub struct ChannelReader {
    rx: tokio::sync::mpsc::Receiver<Result<bytes::Bytes, String>>,
    current: bytes::Bytes,
}

impl ChannelReader {
    pub fn new(rx: tokio::sync::mpsc::Receiver<Result<bytes::Bytes, String>>) -> ChannelReader {
        ChannelReader { rx, current: bytes::Bytes::new() }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.current = b,
                Some(Err(e)) => return Err(std::io::Error::other(e)),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        Ok(n)
    }
}
