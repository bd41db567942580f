//! Backflow (回流, Art. 16): a prefecture's request for a province-level resource, the provider's
//! consent or refusal, and the registered copy made in the prefecture's scope on consent.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::catalog::ResourceRecord;
use crate::{Change, Result, Store, StoreError, Tx, parse_ts, ts};

/// A stored backflow request.
#[derive(Debug, Clone)]
pub struct BackflowRecord {
    pub id: i64,
    pub resource_id: i64,
    pub requesting_org: i64,
    pub requested_by: i64,
    pub purpose: String,
    /// requested | consented | refused
    pub status: String,
    pub reason: Option<String>,
    pub copy_resource_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

const COLS: &str =
    "id, resource_id, requesting_org, requested_by, purpose, status, reason, copy_resource_id, created_at";

fn from_row(r: &AnyRow) -> Result<BackflowRecord> {
    let created: String = r.try_get("created_at")?;
    Ok(BackflowRecord {
        id: r.try_get("id")?,
        resource_id: r.try_get("resource_id")?,
        requesting_org: r.try_get("requesting_org")?,
        requested_by: r.try_get("requested_by")?,
        purpose: r.try_get("purpose")?,
        status: r.try_get("status")?,
        reason: r.try_get("reason")?,
        copy_resource_id: r.try_get("copy_resource_id")?,
        created_at: parse_ts(&created)?,
    })
}

impl Store {
    pub async fn backflow(&self, id: i64) -> Result<BackflowRecord> {
        let row =
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLS} FROM backflow_request WHERE id = $1")))
                .bind(id)
                .fetch_optional(self.pool())
                .await?
                .ok_or(StoreError::NotFound)?;
        from_row(&row)
    }

    pub async fn backflows(&self) -> Result<Vec<BackflowRecord>> {
        let rows =
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLS} FROM backflow_request ORDER BY id DESC")))
                .fetch_all(self.pool())
                .await?;
        rows.iter().map(from_row).collect()
    }

    /// Copies made from a resource by backflow.
    pub async fn copies_of(&self, resource_id: i64) -> Result<Vec<i64>> {
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM data_resource WHERE source_resource_id = $1")
            .bind(resource_id)
            .fetch_all(self.pool())
            .await?;
        Ok(ids)
    }
}

impl Tx {
    pub async fn insert_backflow(
        &mut self,
        resource_id: i64,
        org: i64,
        user: i64,
        purpose: &str,
    ) -> Result<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO backflow_request (resource_id, requesting_org, requested_by, purpose, status, created_at) \
             VALUES ($1, $2, $3, $4, 'requested', $5) RETURNING id",
        )
        .bind(resource_id)
        .bind(org)
        .bind(user)
        .bind(purpose)
        .bind(ts(self.now()))
        .fetch_one(self.conn())
        .await?;
        self.audit(Change::ok(
            "backflow.request",
            "backflow",
            id,
            json!({"resource_id": resource_id, "org": org, "detail": purpose}),
        ))
        .await?;
        Ok(id)
    }

    /// Records the provider's decision; refused (`Conflict`) when it was decided meanwhile.
    pub async fn decide_backflow(
        &mut self,
        b: &BackflowRecord,
        consent: bool,
        reason: &str,
        copy: Option<i64>,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE backflow_request SET status = $1, reason = $2, copy_resource_id = $3, decided_at = $4 \
             WHERE id = $5 AND status = 'requested'",
        )
        .bind(if consent { "consented" } else { "refused" })
        .bind(reason)
        .bind(copy)
        .bind(ts(self.now()))
        .bind(b.id)
        .execute(self.conn())
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict("backflow"));
        }
        self.audit(Change::ok(
            if consent { "backflow.consent" } else { "backflow.refuse" },
            "backflow",
            b.id,
            json!({"copy_resource_id": copy, "reason": reason}),
        ))
        .await?;
        Ok(())
    }

    /// The prefecture's registered copy of a province-level resource: same metadata and items, owned
    /// by the requesting authority in its region under its own resource code (`owner_code`: its
    /// 组织机构代码), registration code derived from the original's.
    pub async fn create_copy(
        &mut self,
        source: &ResourceRecord,
        owner_org: i64,
        owner_code: &str,
        region: &str,
    ) -> Result<i64> {
        let now = ts(self.now());
        let m = &source.meta;
        let related: Vec<&str> = m.related.iter().map(|c| c.as_str()).collect();
        let class = m.classification;
        let seq = self.next_counter(&format!("resource:{}:{owner_code}", class.code())).await?;
        let seq = u32::try_from(seq).map_err(|_| StoreError::Corrupt("resource sequence".into()))?;
        let code = yunshu_domain::catalog::ResourceCode::new(&class, owner_code, seq)
            .map_err(|e| StoreError::Corrupt(e.message_zh()))?;
        let code = code.as_str().to_owned();
        let reg = source.reg_code.as_ref().map(|c| format!("{c}-HL{region}"));
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO data_resource (provider_org_id, region_code, classification, resource_code, name, \
             abstract_text, format, sharing_type, sharing_conditions, open_attribute, update_cycle, release_date, \
             related, grade, status, reg_code, reg_code_provisional, registered_at, source_resource_id, \
             created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'registered', $15, $16, $17, $18, \
             $17, $17) RETURNING id",
        )
        .bind(owner_org)
        .bind(region)
        .bind(m.classification.code())
        .bind(&code)
        .bind(format!("{}（回流）", m.name))
        .bind(&m.abstract_text)
        .bind(m.format.code())
        .bind(m.sharing_type.code())
        .bind(&m.sharing_conditions)
        .bind(m.open_attribute.code())
        .bind(m.update_cycle.code())
        .bind(m.release_date.map(|d| d.to_string()))
        .bind(related.join(" "))
        .bind(source.grade.map(|g| g.code()))
        .bind(reg)
        .bind(i64::from(source.reg_code_provisional))
        .bind(&now)
        .bind(source.id)
        .fetch_one(self.conn())
        .await
        .map_err(|e| StoreError::from_insert(e, "resource copy"))?;
        sqlx::query(
            "INSERT INTO data_item (resource_id, idx, name, kind, description, grade, pi_direct, pi_quasi, \
             pi_sensitive, scenario_rules) SELECT $1, idx, name, kind, description, grade, pi_direct, pi_quasi, \
             pi_sensitive, scenario_rules FROM data_item WHERE resource_id = $2",
        )
        .bind(id)
        .bind(source.id)
        .execute(self.conn())
        .await?;
        self.audit(Change::ok(
            "resource.backflow_copy",
            "resource",
            id,
            json!({"source": source.id, "code": code, "detail": format!("由 {} 回流", m.name)}),
        ))
        .await?;
        Ok(id)
    }

    /// Quarantines the copies of a resource put on the negative list: they are refused like it.
    pub async fn quarantine_copies(&mut self, source_id: i64) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE data_resource SET on_negative_list = 1, updated_at = $1 WHERE source_resource_id = $2",
        )
        .bind(ts(self.now()))
        .bind(source_id)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected())
    }
}
