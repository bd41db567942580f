//! Organisations (机构): create, read, list by region.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;
use yunshu_domain::ids::Uscc;
use yunshu_domain::party::OrgType;
use yunshu_domain::regions::RegionCode;

use crate::{Change, Result, Store, StoreError, Tx, get_bool, parse_ts, ts};

#[derive(Debug, Clone)]
pub struct Organisation {
    pub id: i64,
    pub name: String,
    pub uscc: Uscc,
    pub org_type: OrgType,
    pub region: RegionCode,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

/// A validated new organisation (built by the server from a form or JSON body).
#[derive(Debug, Clone)]
pub struct NewOrg {
    pub name: String,
    pub uscc: Uscc,
    pub org_type: OrgType,
    pub region: RegionCode,
}

const COLS: &str = "id, name, uscc, org_type, region_code, active, created_at";

fn from_row(row: &AnyRow) -> Result<Organisation> {
    let uscc: String = row.try_get("uscc")?;
    let t: String = row.try_get("org_type")?;
    let region: String = row.try_get("region_code")?;
    let created: String = row.try_get("created_at")?;
    Ok(Organisation {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        uscc: Uscc::parse(&uscc).map_err(|e| StoreError::Corrupt(format!("org uscc: {e}")))?,
        org_type: OrgType::parse(&t).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        region: RegionCode::parse(&region).map_err(|e| StoreError::Corrupt(format!("{e}")))?,
        active: get_bool(row, "active")?,
        created_at: parse_ts(&created)?,
    })
}

impl Tx {
    pub async fn create_org(&mut self, org: &NewOrg) -> Result<i64> {
        let now = ts(self.now());
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO org (name, uscc, org_type, region_code, active, created_at) \
             VALUES ($1, $2, $3, $4, 1, $5) RETURNING id",
        )
        .bind(&org.name)
        .bind(org.uscc.as_str())
        .bind(org.org_type.code())
        .bind(org.region.as_str())
        .bind(&now)
        .fetch_one(self.conn())
        .await
        .map_err(|e| StoreError::from_insert(e, "uscc"))?;
        self.audit(Change::ok(
            "org.create",
            "org",
            id,
            json!({"name": org.name, "uscc": org.uscc.as_str(), "type": org.org_type.code(), "region": org.region.as_str()}),
        ))
        .await?;
        Ok(id)
    }

    pub async fn set_org_active(&mut self, id: i64, active: bool) -> Result<()> {
        let n = sqlx::query("UPDATE org SET active = $1 WHERE id = $2")
            .bind(i64::from(active))
            .bind(id)
            .execute(self.conn())
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        // A deactivated organisation's people are signed out and its tokens revoked at once, so that
        // re-activating it later does not bring old credentials back.
        if !active {
            sqlx::query(
                "DELETE FROM web_session WHERE user_id IN (SELECT id FROM app_user WHERE org_id = $1)",
            )
            .bind(id)
            .execute(self.conn())
            .await?;
            sqlx::query("UPDATE api_token SET revoked_at = $1 WHERE org_id = $2 AND revoked_at IS NULL")
                .bind(crate::ts(self.now()))
                .bind(id)
                .execute(self.conn())
                .await?;
        }
        let action = if active { "org.activate" } else { "org.deactivate" };
        self.audit(Change::ok(action, "org", id, json!({"active": active}))).await?;
        Ok(())
    }
}

impl Store {
    pub async fn org(&self, id: i64) -> Result<Organisation> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLS} FROM org WHERE id = $1")))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)?;
        from_row(&row)
    }

    pub async fn org_by_uscc(&self, uscc: &Uscc) -> Result<Option<Organisation>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLS} FROM org WHERE uscc = $1")))
            .bind(uscc.as_str())
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// All organisations whose region code starts with `region_prefix` (the region hierarchy is
    /// encoded in GB/T 2260 codes: "53" = the province, "5301" = 昆明市 and its counties).
    pub async fn orgs_in_region(&self, region_prefix: &str) -> Result<Vec<Organisation>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLS} FROM org WHERE region_code LIKE $1 ORDER BY region_code, id"
        )))
        .bind(format!("{region_prefix}%"))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }

    pub async fn count_orgs(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM org").fetch_one(self.pool()).await?)
    }
}
