//! Dataset versions (数据版本) and quality rules, persisted. A version row describes an immutable
//! encrypted object: where it is, what it holds (schema, row count, SM3 of the source as received),
//! its profile and quality report (JSON documents produced by the importer, kept as text), and
//! whether its schema differences were accepted. The data never enter the database.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Change, Result, Store, StoreError, Tx, parse_ts, ts};

/// Where a version stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionStatus {
    /// In use: the current data of the resource when it is the newest active one.
    Active,
    /// Its schema differs from the registered items; waits for the provider to accept or discard.
    PendingAcceptance,
    /// Discarded by the provider; its object is deleted.
    Discarded,
}

impl VersionStatus {
    pub fn code(self) -> &'static str {
        match self {
            VersionStatus::Active => "active",
            VersionStatus::PendingAcceptance => "pending_acceptance",
            VersionStatus::Discarded => "discarded",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            VersionStatus::Active => "已生效",
            VersionStatus::PendingAcceptance => "结构差异待确认",
            VersionStatus::Discarded => "已废弃",
        }
    }

    fn parse(s: &str) -> Result<VersionStatus> {
        match s {
            "active" => Ok(VersionStatus::Active),
            "pending_acceptance" => Ok(VersionStatus::PendingAcceptance),
            "discarded" => Ok(VersionStatus::Discarded),
            other => Err(StoreError::Corrupt(format!("version status {other}"))),
        }
    }
}

/// A version to record after a successful import.
#[derive(Debug, Clone)]
pub struct NewVersion {
    pub resource_id: i64,
    pub object_path: String,
    pub source_name: String,
    pub source_format: String,
    pub encoding: Option<String>,
    pub delimiter: Option<String>,
    pub sheet: Option<String>,
    pub row_count: i64,
    pub source_bytes: i64,
    pub sm3: String,
    pub schema_json: String,
    pub differences_json: String,
    pub profile_json: String,
    pub quality_json: String,
    /// Quality score × 100 (basis points of 100), `None` when no rule applied.
    pub quality_score: Option<i64>,
    pub status: VersionStatus,
}

/// A stored version.
#[derive(Debug, Clone)]
pub struct VersionRecord {
    pub id: i64,
    pub version_no: i64,
    pub new: NewVersion,
    pub uploader_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

const COLS: &str = "id, resource_id, version_no, object_path, source_name, source_format, encoding, delimiter, \
     sheet, row_count, source_bytes, sm3, schema_json, differences_json, profile_json, quality_json, quality_score, \
     status, uploader_id, created_at";

fn version_from_row(r: &AnyRow) -> Result<VersionRecord> {
    let status: String = r.try_get("status")?;
    let created: String = r.try_get("created_at")?;
    Ok(VersionRecord {
        id: r.try_get("id")?,
        version_no: r.try_get("version_no")?,
        new: NewVersion {
            resource_id: r.try_get("resource_id")?,
            object_path: r.try_get("object_path")?,
            source_name: r.try_get("source_name")?,
            source_format: r.try_get("source_format")?,
            encoding: r.try_get("encoding")?,
            delimiter: r.try_get("delimiter")?,
            sheet: r.try_get("sheet")?,
            row_count: r.try_get("row_count")?,
            source_bytes: r.try_get("source_bytes")?,
            sm3: r.try_get("sm3")?,
            schema_json: r.try_get("schema_json")?,
            differences_json: r.try_get("differences_json")?,
            profile_json: r.try_get("profile_json")?,
            quality_json: r.try_get("quality_json")?,
            quality_score: r.try_get("quality_score")?,
            status: VersionStatus::parse(&status)?,
        },
        uploader_id: r.try_get("uploader_id")?,
        created_at: parse_ts(&created)?,
    })
}

/// A stored quality rule (its check as code + parameters text; the importer parses them).
#[derive(Debug, Clone)]
pub struct RuleRecord {
    pub id: i64,
    pub resource_id: i64,
    pub column_name: String,
    pub check_code: String,
    pub params: String,
    pub severity: String,
}

impl Store {
    /// Versions of a resource, newest first.
    pub async fn versions_of(&self, resource_id: i64) -> Result<Vec<VersionRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLS} FROM dataset_version WHERE resource_id = $1 ORDER BY version_no DESC"
        )))
        .bind(resource_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(version_from_row).collect()
    }

    pub async fn version(&self, id: i64) -> Result<VersionRecord> {
        let row =
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLS} FROM dataset_version WHERE id = $1")))
                .bind(id)
                .fetch_optional(self.pool())
                .await?
                .ok_or(StoreError::NotFound)?;
        version_from_row(&row)
    }

    pub async fn rules_of(&self, resource_id: i64) -> Result<Vec<RuleRecord>> {
        let rows = sqlx::query(
            "SELECT id, resource_id, column_name, check_code, params, severity FROM quality_rule \
             WHERE resource_id = $1 ORDER BY id",
        )
        .bind(resource_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RuleRecord {
                    id: r.try_get("id")?,
                    resource_id: r.try_get("resource_id")?,
                    column_name: r.try_get("column_name")?,
                    check_code: r.try_get("check_code")?,
                    params: r.try_get("params")?,
                    severity: r.try_get("severity")?,
                })
            })
            .collect()
    }

    /// The object paths recorded for a resource's versions (every status: a version waiting for
    /// acceptance keeps its object; a discarded one had it deleted).
    pub async fn object_paths_of(&self, resource_id: i64) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar("SELECT object_path FROM dataset_version WHERE resource_id = $1")
            .bind(resource_id)
            .fetch_all(self.pool())
            .await?)
    }
}

impl Tx {
    /// Records a version. The object was written before (import is all or nothing); when this
    /// transaction fails, the caller deletes the object. The version number is taken here, in
    /// the same transaction ([`Tx::next_version_no`]); returns the row id and that number.
    pub async fn insert_version(&mut self, v: &NewVersion) -> Result<(i64, i64)> {
        let version_no = self.next_version_no(v.resource_id).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO dataset_version (resource_id, version_no, object_path, source_name, source_format, \
             encoding, delimiter, sheet, row_count, source_bytes, sm3, schema_json, differences_json, \
             profile_json, quality_json, quality_score, status, uploader_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) \
             RETURNING id",
        )
        .bind(v.resource_id)
        .bind(version_no)
        .bind(&v.object_path)
        .bind(&v.source_name)
        .bind(&v.source_format)
        .bind(&v.encoding)
        .bind(&v.delimiter)
        .bind(&v.sheet)
        .bind(v.row_count)
        .bind(v.source_bytes)
        .bind(&v.sm3)
        .bind(&v.schema_json)
        .bind(&v.differences_json)
        .bind(&v.profile_json)
        .bind(&v.quality_json)
        .bind(v.quality_score)
        .bind(v.status.code())
        .bind(self.ctx().user_id)
        .bind(ts(self.now()))
        .fetch_one(self.conn())
        .await
        .map_err(|e| StoreError::from_insert(e, "dataset version"))?;
        self.audit(Change::ok(
            "dataset.import",
            "resource",
            v.resource_id,
            json!({
                "version": version_no,
                "rows": v.row_count,
                "bytes": v.source_bytes,
                "sm3": v.sm3,
                "source": v.source_name,
                "status": v.status.code(),
                "detail": format!("第 {version_no} 版，{} 行", v.row_count),
            }),
        ))
        .await?;
        Ok((id, version_no))
    }

    /// Accepts or discards a version waiting for acceptance of its schema differences.
    pub async fn decide_version(&mut self, v: &VersionRecord, accept: bool) -> Result<()> {
        let status = if accept { VersionStatus::Active } else { VersionStatus::Discarded };
        let done = sqlx::query(
            "UPDATE dataset_version SET status = $1, decided_at = $2 WHERE id = $3 AND status = 'pending_acceptance'",
        )
        .bind(status.code())
        .bind(ts(self.now()))
        .bind(v.id)
        .execute(self.conn())
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict("dataset version"));
        }
        self.audit(Change::ok(
            if accept { "dataset.accept_schema" } else { "dataset.discard" },
            "resource",
            v.new.resource_id,
            json!({"version": v.version_no, "detail": format!("第 {} 版", v.version_no)}),
        ))
        .await?;
        Ok(())
    }

    pub async fn add_rule(
        &mut self,
        resource_id: i64,
        column: &str,
        check_code: &str,
        params: &str,
        severity: &str,
    ) -> Result<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO quality_rule (resource_id, column_name, check_code, params, severity, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(resource_id)
        .bind(column)
        .bind(check_code)
        .bind(params)
        .bind(severity)
        .bind(ts(self.now()))
        .fetch_one(self.conn())
        .await?;
        self.audit(Change::ok(
            "quality_rule.add",
            "resource",
            resource_id,
            json!({"rule": id, "column": column, "check": check_code, "params": params, "severity": severity}),
        ))
        .await?;
        Ok(id)
    }

    pub async fn delete_rule(&mut self, rule: &RuleRecord) -> Result<()> {
        sqlx::query("DELETE FROM quality_rule WHERE id = $1").bind(rule.id).execute(self.conn()).await?;
        self.audit(Change::ok(
            "quality_rule.delete",
            "resource",
            rule.resource_id,
            json!({"rule": rule.id, "column": rule.column_name, "check": rule.check_code}),
        ))
        .await?;
        Ok(())
    }
}
