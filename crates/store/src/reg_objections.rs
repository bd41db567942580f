//! Public notice of registrations (Art. 18): registrations in notice, as the public site lists
//! them, and the objections anyone lodges there. An objection is kept as lodged (no update path);
//! the registration body answers it by its next move on the registration (退回补正 when it holds,
//! 赋码 when it does not), which the registration's history shows beside it.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::approvals::parse_date;
use crate::catalog::RegistrationRecord;
use crate::{Change, Result, Store, Tx, parse_ts, ts};

/// Migration 13: objections to registration notices.
pub(crate) const V13_COMMON: &[&str] = &[
    "CREATE TABLE registration_objection (
        id {ID},
        registration_id BIGINT NOT NULL REFERENCES registration(id),
        lodged_on TEXT NOT NULL,
        objector_name TEXT NOT NULL,
        objector_contact TEXT NOT NULL,
        content TEXT NOT NULL,
        created_at TEXT NOT NULL
    )",
    "CREATE INDEX registration_objection_reg ON registration_objection(registration_id)",
    "CREATE INDEX registration_status ON registration(status)",
];

/// An objection to a registration in notice.
#[derive(Debug, Clone)]
pub struct RegObjectionRecord {
    pub id: i64,
    pub registration_id: i64,
    pub lodged_on: NaiveDate,
    /// 异议人 ("匿名" when not given).
    pub name: String,
    pub contact: String,
    pub content: String,
    pub created_at: DateTime<Utc>,
}

fn objection_from_row(r: &AnyRow) -> Result<RegObjectionRecord> {
    let lodged: String = r.try_get("lodged_on")?;
    let created: String = r.try_get("created_at")?;
    Ok(RegObjectionRecord {
        id: r.try_get("id")?,
        registration_id: r.try_get("registration_id")?,
        lodged_on: parse_date(&lodged)?,
        name: r.try_get("objector_name")?,
        contact: r.try_get("objector_contact")?,
        content: r.try_get("content")?,
        created_at: parse_ts(&created)?,
    })
}

impl Store {
    /// Registrations whose notice has started by `today` and is still running (status 公示中),
    /// oldest notice first: the public list. Filtered in SQL.
    pub async fn registrations_in_notice(&self, today: NaiveDate) -> Result<Vec<RegistrationRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {} FROM registration WHERE status = 'in_notice' AND notice_start <= $1 AND notice_end >= $1 \
             ORDER BY notice_start, id",
            crate::catalog::REG_COLS
        )))
        .bind(today.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(crate::catalog::registration_from_row).collect()
    }

    /// The objections to a registration, in the order lodged.
    pub async fn registration_objections(&self, registration_id: i64) -> Result<Vec<RegObjectionRecord>> {
        let rows = sqlx::query(
            "SELECT id, registration_id, lodged_on, objector_name, objector_contact, content, created_at \
             FROM registration_objection WHERE registration_id = $1 ORDER BY id",
        )
        .bind(registration_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(objection_from_row).collect()
    }
}

impl Tx {
    /// Records an objection (audited as `registration.objection` on the registration).
    pub async fn insert_registration_objection(
        &mut self,
        registration_id: i64,
        lodged_on: NaiveDate,
        name: &str,
        contact: &str,
        content: &str,
    ) -> Result<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO registration_objection (registration_id, lodged_on, objector_name, objector_contact, \
             content, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(registration_id)
        .bind(lodged_on.to_string())
        .bind(name)
        .bind(contact)
        .bind(content)
        .bind(ts(self.now()))
        .fetch_one(self.conn())
        .await?;
        self.audit(Change::ok(
            "registration.objection",
            "registration",
            registration_id,
            json!({"objection": id, "objector": name, "detail": format!("{name} 对登记公示提出异议")}),
        ))
        .await?;
        Ok(id)
    }
}
