//! The sandbox's records: every query a project ran (Art. 25(4): text, plan fingerprint, datasets,
//! outcome — the audit record written in the same transaction is the tamper-evident copy), the outputs
//! of real-data queries waiting in the project's outbox, their reviews (the airlock) and downloads.
//! Result files themselves live encrypted in the object store; rows here hold their paths and SM3.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::approvals::parse_date;
use crate::{Change, Result, Store, StoreError, Tx, parse_ts, ts};

/// One query run in a project's sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryRecord {
    pub id: i64,
    pub project_id: i64,
    pub user_id: i64,
    /// `dummy` or `real`.
    pub mode: String,
    pub sql: String,
    pub fingerprint: String,
    /// Granted tables the query read, comma-separated.
    pub tables: String,
    /// `ok`, `refused` (policy, statement, chain) or `error` (limits, execution).
    pub outcome: String,
    pub error_code: String,
    pub rows: i64,
    pub suppressed: i64,
    /// Object path of the unit sketch (real-data queries), empty otherwise.
    pub units_object: String,
    /// The earlier query this one forms a differencing pair with.
    pub differencing_with: Option<i64>,
    /// ε charged per grant (differential privacy), `grant_id:num/den` lines; empty when none.
    pub dp_charges: String,
    /// Wall time of the run in milliseconds.
    pub elapsed_ms: i64,
    pub created_at: DateTime<Utc>,
}

/// What a new query record carries.
#[derive(Debug, Clone, Default)]
pub struct NewQuery {
    pub project_id: i64,
    pub user_id: i64,
    pub mode: String,
    pub sql: String,
    pub fingerprint: String,
    pub tables: String,
    pub outcome: String,
    pub error_code: String,
    pub rows: i64,
    pub suppressed: i64,
    pub units_object: String,
    pub differencing_with: Option<i64>,
    pub dp_charges: String,
    pub elapsed_ms: i64,
}

/// An output of a real-data query in the project's outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputRecord {
    pub id: i64,
    pub query_id: i64,
    pub project_id: i64,
    pub operator_org_id: i64,
    pub requester_id: i64,
    /// The combined grade of the grants the query used (L3 and above: two reviewers).
    pub grade: String,
    /// pass / review / fail.
    pub check_outcome: String,
    /// The check report, one reason per line (never data values).
    pub check_report: String,
    pub object_path: String,
    pub sm3: String,
    pub rows: i64,
    /// pending / released / rejected.
    pub status: String,
    pub released_on: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOutput {
    pub query_id: i64,
    pub project_id: i64,
    pub operator_org_id: i64,
    pub requester_id: i64,
    pub grade: String,
    pub check_outcome: String,
    pub check_report: String,
    pub object_path: String,
    pub sm3: String,
    pub rows: i64,
}

/// A reviewer's decision on an output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewRecord {
    pub output_id: i64,
    pub reviewer_id: i64,
    /// approve / reject.
    pub decision: String,
    pub note: String,
    pub on: NaiveDate,
}

/// A download of a released output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadRecord {
    pub output_id: i64,
    pub user_id: i64,
    pub format: String,
    /// SM3 of the bytes sent (the file the developer must later attest it deleted).
    pub sm3: String,
    pub at: DateTime<Utc>,
}

pub(crate) const V10_COMMON: &[&str] = &[
    "CREATE TABLE sandbox_query (
        id {ID},
        project_id BIGINT NOT NULL REFERENCES sandbox_project(id),
        user_id BIGINT NOT NULL REFERENCES app_user(id),
        mode TEXT NOT NULL,
        sql_text TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        tables TEXT NOT NULL,
        outcome TEXT NOT NULL,
        error_code TEXT NOT NULL,
        rows_out BIGINT NOT NULL,
        suppressed BIGINT NOT NULL,
        units_object TEXT NOT NULL,
        differencing_with BIGINT,
        created_at TEXT NOT NULL
    )",
    "CREATE INDEX sandbox_query_project ON sandbox_query (project_id, id)",
    "CREATE TABLE sandbox_output (
        id {ID},
        query_id BIGINT NOT NULL REFERENCES sandbox_query(id),
        project_id BIGINT NOT NULL REFERENCES sandbox_project(id),
        operator_org_id BIGINT NOT NULL REFERENCES org(id),
        requester_id BIGINT NOT NULL REFERENCES app_user(id),
        grade TEXT NOT NULL,
        check_outcome TEXT NOT NULL,
        check_report TEXT NOT NULL,
        object_path TEXT NOT NULL,
        sm3 TEXT NOT NULL,
        rows_out BIGINT NOT NULL,
        status TEXT NOT NULL,
        released_on TEXT,
        created_at TEXT NOT NULL
    )",
    "CREATE INDEX sandbox_output_project ON sandbox_output (project_id, id)",
    "CREATE TABLE sandbox_output_review (
        id {ID},
        output_id BIGINT NOT NULL REFERENCES sandbox_output(id),
        reviewer_id BIGINT NOT NULL REFERENCES app_user(id),
        decision TEXT NOT NULL,
        note TEXT NOT NULL,
        decided_on TEXT NOT NULL
    )",
    "CREATE TABLE sandbox_download (
        id {ID},
        output_id BIGINT NOT NULL REFERENCES sandbox_output(id),
        user_id BIGINT NOT NULL REFERENCES app_user(id),
        format TEXT NOT NULL,
        at TEXT NOT NULL
    )",
];

/// 11: what differential privacy charged each query, and how long it ran.
pub(crate) const V11: &[&str] = &[
    "ALTER TABLE sandbox_query ADD COLUMN dp_charges TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE sandbox_query ADD COLUMN elapsed_ms BIGINT NOT NULL DEFAULT 0",
    "ALTER TABLE sandbox_download ADD COLUMN sm3 TEXT NOT NULL DEFAULT ''",
];

const QUERY_COLS: &str = "id, project_id, user_id, mode, sql_text, fingerprint, tables, outcome, error_code, \
     rows_out, suppressed, units_object, differencing_with, dp_charges, elapsed_ms, created_at";
const OUTPUT_COLS: &str = "id, query_id, project_id, operator_org_id, requester_id, grade, check_outcome, \
     check_report, object_path, sm3, rows_out, status, released_on, created_at";

fn query_from_row(r: &AnyRow) -> Result<QueryRecord> {
    Ok(QueryRecord {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        user_id: r.try_get("user_id")?,
        mode: r.try_get("mode")?,
        sql: r.try_get("sql_text")?,
        fingerprint: r.try_get("fingerprint")?,
        tables: r.try_get("tables")?,
        outcome: r.try_get("outcome")?,
        error_code: r.try_get("error_code")?,
        rows: r.try_get("rows_out")?,
        suppressed: r.try_get("suppressed")?,
        units_object: r.try_get("units_object")?,
        differencing_with: r.try_get("differencing_with")?,
        dp_charges: r.try_get("dp_charges")?,
        elapsed_ms: r.try_get("elapsed_ms")?,
        created_at: parse_ts(&r.try_get::<String, _>("created_at")?)?,
    })
}

fn output_from_row(r: &AnyRow) -> Result<OutputRecord> {
    let released: Option<String> = r.try_get("released_on")?;
    Ok(OutputRecord {
        id: r.try_get("id")?,
        query_id: r.try_get("query_id")?,
        project_id: r.try_get("project_id")?,
        operator_org_id: r.try_get("operator_org_id")?,
        requester_id: r.try_get("requester_id")?,
        grade: r.try_get("grade")?,
        check_outcome: r.try_get("check_outcome")?,
        check_report: r.try_get("check_report")?,
        object_path: r.try_get("object_path")?,
        sm3: r.try_get("sm3")?,
        rows: r.try_get("rows_out")?,
        status: r.try_get("status")?,
        released_on: released.map(|d| parse_date(&d)).transpose()?,
        created_at: parse_ts(&r.try_get::<String, _>("created_at")?)?,
    })
}

impl Store {
    pub async fn sandbox_query(&self, id: i64) -> Result<QueryRecord> {
        let row =
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {QUERY_COLS} FROM sandbox_query WHERE id = $1")))
                .bind(id)
                .fetch_optional(self.pool())
                .await?
                .ok_or(StoreError::NotFound)?;
        query_from_row(&row)
    }

    /// A project's queries, newest first.
    pub async fn sandbox_queries(&self, project_id: i64, limit: i64) -> Result<Vec<QueryRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {QUERY_COLS} FROM sandbox_query WHERE project_id = $1 ORDER BY id DESC LIMIT $2"
        )))
        .bind(project_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(query_from_row).collect()
    }

    /// A project's real queries that ran and kept a unit sketch, newest first (differencing: other
    /// queries must not push them out of the compared window).
    pub async fn sandbox_sketched_queries(&self, project_id: i64, limit: i64) -> Result<Vec<QueryRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {QUERY_COLS} FROM sandbox_query WHERE project_id = $1 AND mode = 'real' \
             AND outcome = 'ok' AND units_object <> '' ORDER BY id DESC LIMIT $2"
        )))
        .bind(project_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(query_from_row).collect()
    }

    pub async fn sandbox_output(&self, id: i64) -> Result<OutputRecord> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {OUTPUT_COLS} FROM sandbox_output WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        output_from_row(&row)
    }

    /// A project's outbox, newest first.
    pub async fn sandbox_outputs(&self, project_id: i64) -> Result<Vec<OutputRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {OUTPUT_COLS} FROM sandbox_output WHERE project_id = $1 ORDER BY id DESC"
        )))
        .bind(project_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(output_from_row).collect()
    }

    /// Outputs waiting for an operator's review, oldest first.
    pub async fn sandbox_outputs_pending(&self, operator_org_id: i64) -> Result<Vec<OutputRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {OUTPUT_COLS} FROM sandbox_output WHERE operator_org_id = $1 AND status = 'pending' ORDER BY id"
        )))
        .bind(operator_org_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(output_from_row).collect()
    }

    /// Outputs of every project under a development agreement (termination: the platform's copies).
    pub async fn sandbox_outputs_of_agreement(&self, agreement_id: i64) -> Result<Vec<OutputRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {OUTPUT_COLS} FROM sandbox_output WHERE project_id IN \
             (SELECT id FROM sandbox_project WHERE agreement_id = $1) ORDER BY id"
        )))
        .bind(agreement_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(output_from_row).collect()
    }

    /// Downloads of outputs of every project under a development agreement (termination: the files
    /// the developer must attest it deleted).
    pub async fn sandbox_downloads_of_agreement(
        &self,
        agreement_id: i64,
    ) -> Result<Vec<(DownloadRecord, OutputRecord)>> {
        let mut out = Vec::new();
        for o in self.sandbox_outputs_of_agreement(agreement_id).await? {
            for d in self.sandbox_downloads(o.id).await? {
                out.push((d, o.clone()));
            }
        }
        Ok(out)
    }

    pub async fn sandbox_reviews(&self, output_id: i64) -> Result<Vec<ReviewRecord>> {
        let rows = sqlx::query(
            "SELECT output_id, reviewer_id, decision, note, decided_on FROM sandbox_output_review \
             WHERE output_id = $1 ORDER BY id",
        )
        .bind(output_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ReviewRecord {
                    output_id: r.try_get("output_id")?,
                    reviewer_id: r.try_get("reviewer_id")?,
                    decision: r.try_get("decision")?,
                    note: r.try_get("note")?,
                    on: parse_date(&r.try_get::<String, _>("decided_on")?)?,
                })
            })
            .collect()
    }

    pub async fn sandbox_downloads(&self, output_id: i64) -> Result<Vec<DownloadRecord>> {
        let rows = sqlx::query(
            "SELECT output_id, user_id, format, sm3, at FROM sandbox_download WHERE output_id = $1 ORDER BY id",
        )
        .bind(output_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DownloadRecord {
                    output_id: r.try_get("output_id")?,
                    user_id: r.try_get("user_id")?,
                    format: r.try_get("format")?,
                    sm3: r.try_get("sm3")?,
                    at: parse_ts(&r.try_get::<String, _>("at")?)?,
                })
            })
            .collect()
    }
}

impl Tx {
    /// Records a query (and its audit record: the text, the plan fingerprint, the datasets, the outcome).
    pub async fn insert_sandbox_query(&mut self, q: &NewQuery) -> Result<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO sandbox_query (project_id, user_id, mode, sql_text, fingerprint, tables, outcome, \
             error_code, rows_out, suppressed, units_object, differencing_with, dp_charges, elapsed_ms, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id",
        )
        .bind(q.project_id)
        .bind(q.user_id)
        .bind(&q.mode)
        .bind(&q.sql)
        .bind(&q.fingerprint)
        .bind(&q.tables)
        .bind(&q.outcome)
        .bind(&q.error_code)
        .bind(q.rows)
        .bind(q.suppressed)
        .bind(&q.units_object)
        .bind(q.differencing_with)
        .bind(&q.dp_charges)
        .bind(q.elapsed_ms)
        .bind(ts(self.now()))
        .fetch_one(self.conn())
        .await?;
        self.audit(Change {
            action: "sandbox.query",
            object_type: "sandbox_query",
            object_id: id.to_string(),
            result: if q.outcome == "ok" { "ok" } else { "denied" },
            summary: json!({
                "project_id": q.project_id, "mode": q.mode, "sql": q.sql, "fingerprint": q.fingerprint,
                "tables": q.tables, "outcome": q.outcome, "error_code": q.error_code, "rows": q.rows,
                "suppressed": q.suppressed, "differencing_with": q.differencing_with,
                "dp_charges": q.dp_charges, "elapsed_ms": q.elapsed_ms,
            }),
        })
        .await?;
        Ok(id)
    }

    pub async fn insert_sandbox_output(&mut self, o: &NewOutput) -> Result<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO sandbox_output (query_id, project_id, operator_org_id, requester_id, grade, \
             check_outcome, check_report, object_path, sm3, rows_out, status, released_on, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', NULL, $11) RETURNING id",
        )
        .bind(o.query_id)
        .bind(o.project_id)
        .bind(o.operator_org_id)
        .bind(o.requester_id)
        .bind(&o.grade)
        .bind(&o.check_outcome)
        .bind(&o.check_report)
        .bind(&o.object_path)
        .bind(&o.sm3)
        .bind(o.rows)
        .bind(ts(self.now()))
        .fetch_one(self.conn())
        .await?;
        self.audit(Change::ok(
            "sandbox.output",
            "sandbox_output",
            id,
            json!({"query_id": o.query_id, "project_id": o.project_id, "check": o.check_outcome, "sm3": o.sm3}),
        ))
        .await?;
        Ok(id)
    }

    /// Records a reviewer's decision and the output's resulting status. Only a pending output changes:
    /// a released output is immutable.
    pub async fn review_sandbox_output(&mut self, r: &ReviewRecord, status: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO sandbox_output_review (output_id, reviewer_id, decision, note, decided_on) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(r.output_id)
        .bind(r.reviewer_id)
        .bind(&r.decision)
        .bind(&r.note)
        .bind(r.on.to_string())
        .execute(self.conn())
        .await?;
        let released = (status == "released").then(|| r.on.to_string());
        let done = sqlx::query(
            "UPDATE sandbox_output SET status = $1, released_on = $2 WHERE id = $3 AND status = 'pending'",
        )
        .bind(status)
        .bind(released)
        .bind(r.output_id)
        .execute(self.conn())
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict("sandbox_output"));
        }
        self.audit(Change::ok(
            "sandbox.review",
            "sandbox_output",
            r.output_id,
            json!({"decision": r.decision, "status": status, "note": r.note}),
        ))
        .await?;
        Ok(())
    }

    pub async fn insert_sandbox_download(
        &mut self,
        output_id: i64,
        user_id: i64,
        format: &str,
        sm3: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO sandbox_download (output_id, user_id, format, sm3, at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(output_id)
        .bind(user_id)
        .bind(format)
        .bind(sm3)
        .bind(ts(self.now()))
        .execute(self.conn())
        .await?;
        self.audit(Change::ok(
            "sandbox.download",
            "sandbox_output",
            output_id,
            json!({"format": format, "sm3": sm3}),
        ))
        .await?;
        Ok(())
    }
}
