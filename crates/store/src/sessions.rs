//! Web sessions and API tokens. Only SM3 digests of the secrets are stored, so a copy of the
//! database does not let anyone log in.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::Row;

use crate::{Change, Result, Store, StoreError, Tx, get_bool, parse_ts, ts};

/// SM3 digest (hex) of a bearer secret.
pub fn secret_digest(secret: &str) -> String {
    use sm3::Digest;
    hex::encode(sm3::Sm3::digest(secret.as_bytes()))
}

#[derive(Debug, Clone)]
pub struct WebSession {
    pub user_id: i64,
    pub csrf_token: String,
    pub second_factor_ok: bool,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct ApiToken {
    pub id: i64,
    pub user_id: i64,
    pub org_id: i64,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Tx {
    /// Starts a session (the login itself is the audited event).
    pub async fn create_session(
        &mut self,
        secret: &str,
        user_id: i64,
        csrf: &str,
        second_factor_ok: bool,
    ) -> Result<()> {
        let now = ts(self.now());
        let ip = self.ctx().source_ip.clone();
        sqlx::query(
            "INSERT INTO web_session (token_hash, user_id, csrf_token, second_factor_ok, created_at, \
             last_seen_at, source_ip) VALUES ($1, $2, $3, $4, $5, $5, $6)",
        )
        .bind(secret_digest(secret))
        .bind(user_id)
        .bind(csrf)
        .bind(i64::from(second_factor_ok))
        .bind(&now)
        .bind(ip)
        .execute(self.conn())
        .await?;
        self.audit(Change::ok("auth.login", "user", user_id, json!({"second_factor": second_factor_ok})))
            .await?;
        Ok(())
    }

    pub async fn end_session(&mut self, secret: &str, user_id: i64) -> Result<()> {
        sqlx::query("DELETE FROM web_session WHERE token_hash = $1")
            .bind(secret_digest(secret))
            .execute(self.conn())
            .await?;
        self.audit(Change::ok("auth.logout", "user", user_id, json!({}))).await?;
        Ok(())
    }

    pub async fn mark_second_factor(&mut self, secret: &str, user_id: i64) -> Result<()> {
        sqlx::query("UPDATE web_session SET second_factor_ok = 1 WHERE token_hash = $1")
            .bind(secret_digest(secret))
            .execute(self.conn())
            .await?;
        self.audit(Change::ok("auth.second_factor", "user", user_id, json!({}))).await?;
        Ok(())
    }

    pub async fn create_api_token(
        &mut self,
        secret: &str,
        user_id: i64,
        org_id: i64,
        name: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO api_token (token_hash, user_id, org_id, name, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(secret_digest(secret))
        .bind(user_id)
        .bind(org_id)
        .bind(name)
        .bind(ts(self.now()))
        .bind(ts(expires_at))
        .fetch_one(self.conn())
        .await?;
        self.audit(Change::ok(
            "token.create",
            "api_token",
            id,
            json!({"name": name, "user_id": user_id, "org_id": org_id, "expires_at": ts(expires_at)}),
        ))
        .await?;
        Ok(id)
    }

    pub async fn revoke_api_token(&mut self, id: i64) -> Result<()> {
        let n = sqlx::query("UPDATE api_token SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(ts(self.now()))
            .bind(id)
            .execute(self.conn())
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        self.audit(Change::ok("token.revoke", "api_token", id, json!({}))).await?;
        Ok(())
    }
}

impl Store {
    /// Looks a session up and, when it is still fresh, slides its idle window. Idle sessions are
    /// deleted on sight. Touching a session is bookkeeping, not a state change of the platform, so it
    /// is not audited.
    pub async fn touch_session(
        &self,
        secret: &str,
        now: DateTime<Utc>,
        idle: chrono::Duration,
    ) -> Result<Option<WebSession>> {
        let digest = secret_digest(secret);
        let row = sqlx::query(
            "SELECT user_id, csrf_token, second_factor_ok, created_at, last_seen_at FROM web_session \
             WHERE token_hash = $1",
        )
        .bind(&digest)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let last: String = row.try_get("last_seen_at")?;
        let last = parse_ts(&last)?;
        if now - last > idle {
            sqlx::query("DELETE FROM web_session WHERE token_hash = $1")
                .bind(&digest)
                .execute(self.pool())
                .await?;
            return Ok(None);
        }
        sqlx::query("UPDATE web_session SET last_seen_at = $1 WHERE token_hash = $2")
            .bind(ts(now))
            .bind(&digest)
            .execute(self.pool())
            .await?;
        let created: String = row.try_get("created_at")?;
        Ok(Some(WebSession {
            user_id: row.try_get("user_id")?,
            csrf_token: row.try_get("csrf_token")?,
            second_factor_ok: get_bool(&row, "second_factor_ok")?,
            created_at: parse_ts(&created)?,
            last_seen_at: now,
        }))
    }

    /// A token that exists, is not revoked and has not expired.
    pub async fn valid_api_token(&self, secret: &str, now: DateTime<Utc>) -> Result<Option<ApiToken>> {
        let row = sqlx::query(
            "SELECT id, user_id, org_id, name, created_at, expires_at, revoked_at FROM api_token \
             WHERE token_hash = $1",
        )
        .bind(secret_digest(secret))
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let t = token_from_row(&row)?;
        if t.revoked_at.is_some() || t.expires_at <= now {
            return Ok(None);
        }
        Ok(Some(t))
    }

    pub async fn api_tokens_of_user(&self, user_id: i64) -> Result<Vec<ApiToken>> {
        let rows = sqlx::query(
            "SELECT id, user_id, org_id, name, created_at, expires_at, revoked_at FROM api_token \
             WHERE user_id = $1 ORDER BY id DESC",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(token_from_row).collect()
    }

    pub async fn api_token(&self, id: i64) -> Result<ApiToken> {
        let row = sqlx::query(
            "SELECT id, user_id, org_id, name, created_at, expires_at, revoked_at FROM api_token WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        token_from_row(&row)
    }
}

fn token_from_row(row: &sqlx::any::AnyRow) -> Result<ApiToken> {
    let created: String = row.try_get("created_at")?;
    let expires: String = row.try_get("expires_at")?;
    let revoked: Option<String> = row.try_get("revoked_at")?;
    Ok(ApiToken {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        org_id: row.try_get("org_id")?,
        name: row.try_get("name")?,
        created_at: parse_ts(&created)?,
        expires_at: parse_ts(&expires)?,
        revoked_at: revoked.as_deref().map(parse_ts).transpose()?,
    })
}
