//! Verification requests and objections (Art. 17), persisted; the request's working-day deadline is
//! also a `deadline` row (through the provider's organisation task), so loading a holiday schedule
//! recomputes it.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;
use yunshu_domain::calendar::Deadline;
use yunshu_domain::verification::{RequestKind, RequestStatus, VerificationRequest};

use crate::approvals::parse_date;
use crate::{Change, Result, Store, StoreError, Tx, get_bool, parse_ts, ts};

/// A stored request with who raised and answered it.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    pub id: i64,
    pub resource_id: i64,
    pub request: VerificationRequest,
    pub raised_by_org: i64,
    pub raised_by_user: i64,
    pub answer: Option<String>,
    pub corrected: Option<bool>,
    pub answered_late: Option<bool>,
    pub answered_at: Option<DateTime<Utc>>,
    pub escalated_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

const COLS: &str = "id, resource_id, kind, raised_by_org, raised_by_user, fields, rows_desc, question, status, \
     received_on, due_on, due_provisional, answer, corrected, answered_late, answered_at, escalated_at, created_at";

fn from_row(r: &AnyRow) -> Result<RequestRecord> {
    let kind: String = r.try_get("kind")?;
    let status: String = r.try_get("status")?;
    let fields: String = r.try_get("fields")?;
    let opt_bool = |c: &str| -> Result<Option<bool>> {
        let v: Option<i64> = r.try_get(c)?;
        Ok(v.map(|x| x != 0))
    };
    let opt_ts = |c: &str| -> Result<Option<DateTime<Utc>>> {
        let v: Option<String> = r.try_get(c)?;
        v.as_deref().map(parse_ts).transpose()
    };
    let created: String = r.try_get("created_at")?;
    Ok(RequestRecord {
        id: r.try_get("id")?,
        resource_id: r.try_get("resource_id")?,
        request: VerificationRequest {
            kind: RequestKind::parse(&kind).ok_or_else(|| StoreError::Corrupt("request kind".into()))?,
            fields: fields.split('\n').filter(|f| !f.is_empty()).map(str::to_owned).collect(),
            rows: r.try_get("rows_desc")?,
            question: r.try_get("question")?,
            status: RequestStatus::parse(&status)
                .ok_or_else(|| StoreError::Corrupt("request status".into()))?,
            received: parse_date(&r.try_get::<String, _>("received_on")?)?,
            due: Deadline {
                due: parse_date(&r.try_get::<String, _>("due_on")?)?,
                provisional: get_bool(r, "due_provisional")?,
            },
        },
        raised_by_org: r.try_get("raised_by_org")?,
        raised_by_user: r.try_get("raised_by_user")?,
        answer: r.try_get("answer")?,
        corrected: opt_bool("corrected")?,
        answered_late: opt_bool("answered_late")?,
        answered_at: opt_ts("answered_at")?,
        escalated_at: opt_ts("escalated_at")?,
        created_at: parse_ts(&created)?,
    })
}

impl Store {
    pub async fn verification(&self, id: i64) -> Result<RequestRecord> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLS} FROM verification_request WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        from_row(&row)
    }

    /// All requests, newest first (callers filter by what the viewer may see).
    pub async fn verifications(&self) -> Result<Vec<RequestRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLS} FROM verification_request ORDER BY id DESC"
        )))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// Open (not escalated, not answered) requests: the scheduler's input.
    pub async fn open_verifications(&self) -> Result<Vec<RequestRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLS} FROM verification_request WHERE status = 'open' ORDER BY due_on"
        )))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }
}

impl Tx {
    pub async fn insert_verification(
        &mut self,
        resource_id: i64,
        raised_by_org: i64,
        raised_by_user: i64,
        req: &VerificationRequest,
    ) -> Result<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO verification_request (resource_id, kind, raised_by_org, raised_by_user, fields, rows_desc, \
             question, status, received_on, due_on, due_provisional, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        )
        .bind(resource_id)
        .bind(req.kind.code())
        .bind(raised_by_org)
        .bind(raised_by_user)
        .bind(req.fields.join("\n"))
        .bind(&req.rows)
        .bind(&req.question)
        .bind(req.status.code())
        .bind(req.received.to_string())
        .bind(req.due.due.to_string())
        .bind(i64::from(req.due.provisional))
        .bind(ts(self.now()))
        .fetch_one(self.conn())
        .await?;
        self.audit(Change::ok(
            "verification.raise",
            "verification",
            id,
            json!({"resource_id": resource_id, "kind": req.kind.code(), "fields": req.fields,
                   "due": req.due.due.to_string(), "detail": req.question}),
        ))
        .await?;
        Ok(id)
    }

    /// Records the answer (the status moved by the domain); refused when someone answered meanwhile.
    pub async fn answer_verification(
        &mut self,
        rec: &RequestRecord,
        answer: &str,
        corrected: bool,
        late: bool,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE verification_request SET status = 'answered', answer = $1, corrected = $2, answered_late = $3, \
             answered_at = $4, answered_by = $5 WHERE id = $6 AND status <> 'answered'",
        )
        .bind(answer)
        .bind(i64::from(corrected))
        .bind(i64::from(late))
        .bind(ts(self.now()))
        .bind(self.ctx().user_id)
        .bind(rec.id)
        .execute(self.conn())
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict("verification"));
        }
        self.audit(Change::ok(
            "verification.answer",
            "verification",
            rec.id,
            json!({"corrected": corrected, "late": late, "detail": answer}),
        ))
        .await?;
        Ok(())
    }

    pub async fn escalate_verification(&mut self, rec: &RequestRecord) -> Result<()> {
        let done = sqlx::query(
            "UPDATE verification_request SET status = 'escalated', escalated_at = $1 WHERE id = $2 AND status = 'open'",
        )
        .bind(ts(self.now()))
        .bind(rec.id)
        .execute(self.conn())
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict("verification"));
        }
        self.audit(Change::ok(
            "verification.escalate",
            "verification",
            rec.id,
            json!({"due": rec.request.due.due.to_string(), "detail": "逾期未答复，提请数据主管部门督办"}),
        ))
        .await?;
        Ok(())
    }
}
