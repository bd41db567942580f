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
    /// pending / released / rejected / withdrawn.
    pub status: String,
    pub released_on: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    /// queued / running / done / failed / cancelled: real runs execute apart from the request that
    /// submitted them.
    pub run_state: String,
    /// Why the run failed (`code\tmessage`), for the reviewers only.
    pub run_error: String,
    pub elapsed_ms: i64,
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

/// 12: real runs execute apart from the request: an output exists from submission (run state queued →
/// running → done | failed | cancelled) and keeps what went wrong for the reviewers; one review per
/// reviewer and output, decided in the database.
pub(crate) const V12: &[&str] = &[
    "ALTER TABLE sandbox_output ADD COLUMN run_state TEXT NOT NULL DEFAULT 'done'",
    "ALTER TABLE sandbox_output ADD COLUMN run_error TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE sandbox_output ADD COLUMN elapsed_ms BIGINT NOT NULL DEFAULT 0",
    "CREATE UNIQUE INDEX sandbox_output_review_once ON sandbox_output_review (output_id, reviewer_id)",
    "CREATE INDEX sandbox_output_run_state ON sandbox_output (run_state, id)",
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
     check_report, object_path, sm3, rows_out, status, released_on, created_at, run_state, run_error, elapsed_ms";

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
        run_state: r.try_get("run_state")?,
        run_error: r.try_get("run_error")?,
        elapsed_ms: r.try_get("elapsed_ms")?,
    })
}

/// What a finished real run writes into its output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedRun {
    /// done or failed.
    pub run_state: String,
    pub run_error: String,
    pub check_outcome: String,
    pub check_report: String,
    pub object_path: String,
    pub sm3: String,
    pub rows: i64,
    pub elapsed_ms: i64,
}

/// What a finished real run writes into its query record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryRun {
    pub fingerprint: String,
    /// ok or error.
    pub outcome: String,
    pub error_code: String,
    pub rows: i64,
    pub suppressed: i64,
    pub units_object: String,
    pub elapsed_ms: i64,
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

    /// Earlier outputs of any project of the developer organisation `developer_org_id` that read one
    /// of `tables` and kept their value fingerprints (pending or released; rejected and withdrawn ones
    /// never left the platform), newest first, with the path of their fingerprints.
    pub async fn sandbox_history(
        &self,
        developer_org_id: i64,
        tables: &[String],
        before_output: i64,
        limit: i64,
    ) -> Result<Vec<(i64, String)>> {
        if tables.is_empty() {
            return Ok(Vec::new());
        }
        let mut cond = Vec::new();
        for i in 0..tables.len() {
            cond.push(format!("(',' || q.tables || ',') LIKE ${}", i + 4));
        }
        let sql = format!(
            "SELECT o.id AS id, q.units_object AS units_object FROM sandbox_output o \
             JOIN sandbox_query q ON q.id = o.query_id JOIN sandbox_project p ON p.id = o.project_id \
             WHERE p.developer_org_id = $1 AND o.id < $2 AND o.run_state = 'done' \
             AND o.status IN ('pending', 'released') AND q.units_object <> '' AND ({}) \
             ORDER BY o.id DESC LIMIT $3",
            cond.join(" OR ")
        );
        let mut q =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(developer_org_id).bind(before_output).bind(limit);
        for t in tables {
            q = q.bind(format!("%,{t},%"));
        }
        let rows = q.fetch_all(self.pool()).await?;
        rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("units_object")?))).collect()
    }

    /// Outputs whose run has not finished (queued, or running when the server stopped), oldest first.
    pub async fn sandbox_unfinished_runs(&self) -> Result<Vec<OutputRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {OUTPUT_COLS} FROM sandbox_output WHERE run_state IN ('queued', 'running') \
             AND status = 'pending' ORDER BY id"
        )))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(output_from_row).collect()
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

    /// A submitted real run's output: pending review, its run queued.
    pub async fn insert_sandbox_output(&mut self, o: &NewOutput) -> Result<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO sandbox_output (query_id, project_id, operator_org_id, requester_id, grade, \
             check_outcome, check_report, object_path, sm3, rows_out, status, released_on, created_at, \
             run_state, run_error, elapsed_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', NULL, $11, 'queued', '', 0) RETURNING id",
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

    /// The output, locked for the rest of the transaction (PostgreSQL: `FOR UPDATE`; SQLite's single
    /// writer already serialises write transactions), so a decision taken on it stands.
    pub async fn lock_sandbox_output(&mut self, id: i64) -> Result<OutputRecord> {
        let lock = match self.store.backend {
            crate::Backend::Sqlite => "",
            crate::Backend::Postgres => " FOR UPDATE",
        };
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {OUTPUT_COLS} FROM sandbox_output WHERE id = $1{lock}"
        )))
        .bind(id)
        .fetch_optional(self.conn())
        .await?
        .ok_or(StoreError::NotFound)?;
        output_from_row(&row)
    }

    /// The reviews of an output as this transaction sees them (after [`Tx::lock_sandbox_output`]).
    pub async fn sandbox_reviews_locked(&mut self, output_id: i64) -> Result<Vec<ReviewRecord>> {
        let rows = sqlx::query(
            "SELECT output_id, reviewer_id, decision, note, decided_on FROM sandbox_output_review \
             WHERE output_id = $1 ORDER BY id",
        )
        .bind(output_id)
        .fetch_all(self.conn())
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

    /// Records a reviewer's decision and the output's resulting status. One review per reviewer and
    /// output (a unique index: a second one is a conflict); only a pending output changes, and a
    /// released output is immutable. Call after [`Tx::lock_sandbox_output`] with the status decided
    /// from the locked state.
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
        .await
        .map_err(|e| StoreError::from_insert(e, "sandbox_output_review"))?;
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

    /// Takes a queued run for execution; `false` if it is not queued (withdrawn, or taken already).
    pub async fn claim_sandbox_run(&mut self, output_id: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE sandbox_output SET run_state = 'running' WHERE id = $1 AND run_state = 'queued' \
             AND status = 'pending'",
        )
        .bind(output_id)
        .execute(self.conn())
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        self.audit(Change::ok("sandbox.run_start", "sandbox_output", output_id, json!({}))).await?;
        Ok(true)
    }

    /// Puts runs that were running when the server stopped back in the queue.
    pub async fn requeue_sandbox_runs(&mut self) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE sandbox_output SET run_state = 'queued' WHERE run_state = 'running' AND status = 'pending'",
        )
        .execute(self.conn())
        .await?;
        let n = done.rows_affected();
        self.audit(Change::ok("sandbox.run_requeue", "sandbox_output", "*", json!({"runs": n}))).await?;
        Ok(n)
    }

    /// Records the end of a run; a conflict if the run is no longer running (withdrawn meanwhile).
    pub async fn finish_sandbox_run(&mut self, output_id: i64, f: &FinishedRun) -> Result<()> {
        let done = sqlx::query(
            "UPDATE sandbox_output SET run_state = $1, run_error = $2, check_outcome = $3, check_report = $4, \
             object_path = $5, sm3 = $6, rows_out = $7, elapsed_ms = $8 \
             WHERE id = $9 AND run_state = 'running' AND status = 'pending'",
        )
        .bind(&f.run_state)
        .bind(&f.run_error)
        .bind(&f.check_outcome)
        .bind(&f.check_report)
        .bind(&f.object_path)
        .bind(&f.sm3)
        .bind(f.rows)
        .bind(f.elapsed_ms)
        .bind(output_id)
        .execute(self.conn())
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict("sandbox_output"));
        }
        self.audit(Change::ok(
            "sandbox.run_end",
            "sandbox_output",
            output_id,
            json!({"run_state": f.run_state, "error": f.run_error, "check": f.check_outcome, "sm3": f.sm3,
                   "rows": f.rows, "elapsed_ms": f.elapsed_ms}),
        ))
        .await?;
        Ok(())
    }

    /// What the query of a finished run did (the audit record is the tamper-evident copy).
    pub async fn finish_sandbox_query(&mut self, query_id: i64, q: &QueryRun) -> Result<()> {
        sqlx::query(
            "UPDATE sandbox_query SET fingerprint = $1, outcome = $2, error_code = $3, rows_out = $4, \
             suppressed = $5, units_object = $6, elapsed_ms = $7 WHERE id = $8",
        )
        .bind(&q.fingerprint)
        .bind(&q.outcome)
        .bind(&q.error_code)
        .bind(q.rows)
        .bind(q.suppressed)
        .bind(&q.units_object)
        .bind(q.elapsed_ms)
        .bind(query_id)
        .execute(self.conn())
        .await?;
        self.audit(Change {
            action: "sandbox.query_run",
            object_type: "sandbox_query",
            object_id: query_id.to_string(),
            result: if q.outcome == "ok" { "ok" } else { "error" },
            summary: json!({"fingerprint": q.fingerprint, "outcome": q.outcome, "error_code": q.error_code,
                            "rows": q.rows, "suppressed": q.suppressed, "elapsed_ms": q.elapsed_ms}),
        })
        .await?;
        Ok(())
    }

    /// The developer withdraws a pending output: its run is cancelled if it has not finished, and
    /// it can no longer be reviewed. A conflict if it is no longer pending.
    pub async fn withdraw_sandbox_output(&mut self, output_id: i64) -> Result<()> {
        let done = sqlx::query(
            "UPDATE sandbox_output SET status = 'withdrawn', \
             run_state = CASE WHEN run_state IN ('queued', 'running') THEN 'cancelled' ELSE run_state END \
             WHERE id = $1 AND status = 'pending'",
        )
        .bind(output_id)
        .execute(self.conn())
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict("sandbox_output"));
        }
        self.audit(Change::ok("sandbox.withdraw", "sandbox_output", output_id, json!({}))).await?;
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
