//! Users (实名用户): creation, credentials, lockout, identity verification, personnel filing,
//! confidentiality agreements, deactivation.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;
use yunshu_domain::ids::{Mobile, ResidentId};
use yunshu_domain::party::RoleSet;
use yunshu_domain::personnel::{ConfidentialityAgreement, FilingStatus, IdentityStatus, PersonnelRecord};

use crate::{Change, Result, Store, StoreError, Tx, get_bool, parse_ts, ts};

#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub org_id: i64,
    pub username: String,
    pub display_name: String,
    pub resident_id: ResidentId,
    pub mobile: Mobile,
    pub roles: RoleSet,
    pub active: bool,
    pub password_hash: String,
    pub failed_logins: i64,
    pub locked_until: Option<DateTime<Utc>>,
    pub totp_secret: Option<String>,
    pub totp_enabled: bool,
    pub identity: IdentityStatus,
    pub identity_verifier: Option<String>,
    pub identity_checked_at: Option<DateTime<Utc>>,
    pub identity_detail: Option<String>,
    pub filing: FilingStatus,
    pub filing_approval_id: Option<i64>,
    pub agreement: Option<ConfidentialityAgreement>,
    pub agreement_ref: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl User {
    pub fn personnel(&self) -> PersonnelRecord {
        PersonnelRecord {
            active: self.active,
            identity: self.identity.clone(),
            filing: self.filing,
            agreement: self.agreement.clone(),
        }
    }
}

/// A validated new user. The password is already hashed by the caller (argon2id).
#[derive(Debug, Clone)]
pub struct NewUser {
    pub org_id: i64,
    pub username: String,
    pub display_name: String,
    pub resident_id: ResidentId,
    pub mobile: Mobile,
    pub roles: RoleSet,
    pub password_hash: String,
}

/// What an identity verifier said, to be recorded on the user.
#[derive(Debug, Clone)]
pub struct IdentityResult {
    pub status: IdentityStatus,
    pub verifier: String,
    pub detail: String,
}

const COLS: &str = "id, org_id, username, display_name, resident_id, mobile, roles, active, password_hash, \
    failed_logins, locked_until, totp_secret, totp_enabled, identity_status, identity_verifier, \
    identity_checked_at, identity_detail, filing_status, filing_approval_id, agreement_signed_on, \
    agreement_expires_on, agreement_ref, created_at";

fn opt_ts(row: &AnyRow, col: &str) -> Result<Option<DateTime<Utc>>> {
    let v: Option<String> = row.try_get(col)?;
    v.as_deref().map(parse_ts).transpose()
}

fn opt_date(row: &AnyRow, col: &str) -> Result<Option<NaiveDate>> {
    let v: Option<String> = row.try_get(col)?;
    v.as_deref()
        .map(|s| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| StoreError::Corrupt(format!("date {s}")))
        })
        .transpose()
}

fn from_row(row: &AnyRow) -> Result<User> {
    let rid: String = row.try_get("resident_id")?;
    let mobile: String = row.try_get("mobile")?;
    let roles: String = row.try_get("roles")?;
    let identity: String = row.try_get("identity_status")?;
    let filing: String = row.try_get("filing_status")?;
    let created: String = row.try_get("created_at")?;
    let agreement = match opt_date(row, "agreement_signed_on")? {
        Some(signed) => Some(
            ConfidentialityAgreement::new(signed, opt_date(row, "agreement_expires_on")?)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        ),
        None => None,
    };
    Ok(User {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        resident_id: ResidentId::parse(&rid).map_err(|e| StoreError::Corrupt(format!("resident id: {e}")))?,
        mobile: Mobile::parse(&mobile).map_err(|e| StoreError::Corrupt(format!("mobile: {e}")))?,
        roles: RoleSet::parse_list(&roles).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        active: get_bool(row, "active")?,
        password_hash: row.try_get("password_hash")?,
        failed_logins: row.try_get("failed_logins")?,
        locked_until: opt_ts(row, "locked_until")?,
        totp_secret: row.try_get("totp_secret")?,
        totp_enabled: get_bool(row, "totp_enabled")?,
        identity: IdentityStatus::parse(&identity),
        identity_verifier: row.try_get("identity_verifier")?,
        identity_checked_at: opt_ts(row, "identity_checked_at")?,
        identity_detail: row.try_get("identity_detail")?,
        filing: FilingStatus::parse(&filing),
        filing_approval_id: row.try_get("filing_approval_id")?,
        agreement,
        agreement_ref: row.try_get("agreement_ref")?,
        created_at: parse_ts(&created)?,
    })
}

impl Tx {
    pub async fn create_user(&mut self, u: &NewUser) -> Result<i64> {
        let now = ts(self.now());
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO app_user (org_id, username, display_name, resident_id, mobile, roles, active, \
             password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8) RETURNING id",
        )
        .bind(u.org_id)
        .bind(&u.username)
        .bind(&u.display_name)
        .bind(u.resident_id.as_str())
        .bind(u.mobile.as_str())
        .bind(u.roles.to_list())
        .bind(&u.password_hash)
        .bind(&now)
        .fetch_one(self.conn())
        .await
        .map_err(|e| StoreError::from_insert(e, "username"))?;
        self.audit(Change::ok(
            "user.create",
            "user",
            id,
            json!({"username": u.username, "name": u.display_name, "org_id": u.org_id,
                   "resident_id": u.resident_id.masked(), "mobile": u.mobile.masked(),
                   "roles": u.roles.to_list()}),
        ))
        .await?;
        Ok(id)
    }

    pub async fn record_identity(&mut self, user_id: i64, r: &IdentityResult) -> Result<()> {
        let now = ts(self.now());
        self.update_user(
            user_id,
            "UPDATE app_user SET identity_status = $1, identity_verifier = $2, identity_detail = $3, \
             identity_checked_at = $4 WHERE id = $5",
            vec![
                Some(r.status.code().to_owned()),
                Some(r.verifier.clone()),
                Some(r.detail.clone()),
                Some(now),
            ],
        )
        .await?;
        self.audit(Change::ok(
            "user.verify_identity",
            "user",
            user_id,
            json!({"status": r.status.code(), "verifier": r.verifier, "detail": r.detail}),
        ))
        .await?;
        Ok(())
    }

    pub async fn record_agreement(
        &mut self,
        user_id: i64,
        a: &ConfidentialityAgreement,
        reference: &str,
    ) -> Result<()> {
        self.update_user(
            user_id,
            "UPDATE app_user SET agreement_signed_on = $1, agreement_expires_on = $2, agreement_ref = $3 \
             WHERE id = $4",
            vec![
                Some(a.signed_on.to_string()),
                a.expires_on.map(|d| d.to_string()),
                Some(reference.to_owned()),
            ],
        )
        .await?;
        self.audit(Change::ok(
            "user.record_agreement",
            "user",
            user_id,
            json!({"signed_on": a.signed_on.to_string(),
                   "expires_on": a.expires_on.map(|d| d.to_string()), "reference": reference}),
        ))
        .await?;
        Ok(())
    }

    /// Records a submitted filing, unless one is already pending or approved: of two simultaneous
    /// submissions only the first gets through (the second sees the first's row after its commit).
    pub async fn mark_filing_submitted(&mut self, user_id: i64, approval_id: i64) -> Result<()> {
        let n = sqlx::query(
            "UPDATE app_user SET filing_status = 'pending', filing_approval_id = $1 \
             WHERE id = $2 AND filing_status NOT IN ('pending', 'approved')",
        )
        .bind(approval_id)
        .bind(user_id)
        .execute(self.conn())
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::Conflict("filing"));
        }
        Ok(())
    }

    /// Sets the filing state (the approval chain decides; this records its outcome). Audited by the
    /// caller together with the approval step.
    pub async fn set_filing(
        &mut self,
        user_id: i64,
        status: FilingStatus,
        approval_id: Option<i64>,
    ) -> Result<()> {
        let n = sqlx::query(
            "UPDATE app_user SET filing_status = $1, filing_approval_id = COALESCE($2, filing_approval_id) \
             WHERE id = $3",
        )
        .bind(status.code())
        .bind(approval_id)
        .bind(user_id)
        .execute(self.conn())
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn set_user_active(&mut self, user_id: i64, active: bool) -> Result<()> {
        let n = sqlx::query("UPDATE app_user SET active = $1 WHERE id = $2")
            .bind(i64::from(active))
            .bind(user_id)
            .execute(self.conn())
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        // Deactivation ends every session and token at once.
        if !active {
            sqlx::query("DELETE FROM web_session WHERE user_id = $1")
                .bind(user_id)
                .execute(self.conn())
                .await?;
            sqlx::query("UPDATE api_token SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
                .bind(ts(self.now()))
                .bind(user_id)
                .execute(self.conn())
                .await?;
        }
        let action = if active { "user.activate" } else { "user.deactivate" };
        self.audit(Change::ok(action, "user", user_id, json!({"active": active}))).await?;
        Ok(())
    }

    /// Sets a new password and ends every other session of the user (whoever knew the old password
    /// is signed out); `keep_session` is the secret of the session that made the change.
    pub async fn set_password(&mut self, user_id: i64, hash: &str, keep_session: Option<&str>) -> Result<()> {
        self.update_user(
            user_id,
            "UPDATE app_user SET password_hash = $1, failed_logins = 0, locked_until = NULL WHERE id = $2",
            vec![Some(hash.to_owned())],
        )
        .await?;
        let keep = keep_session.map(crate::sessions::secret_digest).unwrap_or_default();
        let ended = sqlx::query("DELETE FROM web_session WHERE user_id = $1 AND token_hash <> $2")
            .bind(user_id)
            .bind(keep)
            .execute(self.conn())
            .await?
            .rows_affected();
        self.audit(Change::ok("user.set_password", "user", user_id, json!({"other_sessions_ended": ended})))
            .await?;
        Ok(())
    }

    /// Records a failed login; locks the account when the limit is reached.
    /// Takes one of an account's `max_failures` guesses, before the password (or one-time code) is
    /// checked: one conditional update, so however many requests arrive at once, at most
    /// `max_failures` of them are verified until the account is locked or a guess succeeds.
    /// `None`: no guess left (locked, or the others are being checked) — refuse without checking.
    pub async fn reserve_login_attempt(
        &mut self,
        user_id: i64,
        max_failures: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>> {
        let attempt: Option<i64> = sqlx::query_scalar(
            "UPDATE app_user SET failed_logins = failed_logins + 1 \
             WHERE id = $1 AND failed_logins < $2 AND (locked_until IS NULL OR locked_until <= $3) \
             RETURNING failed_logins",
        )
        .bind(user_id)
        .bind(max_failures)
        .bind(ts(now))
        .fetch_optional(self.conn())
        .await?;
        if let Some(attempt) = attempt {
            self.audit(Change {
                action: "auth.login",
                object_type: "user",
                object_id: user_id.to_string(),
                result: "attempt",
                summary: json!({"attempt": attempt, "of": max_failures}),
            })
            .await?;
        }
        Ok(attempt)
    }

    /// A reserved guess (`attempt`, from [`Tx::reserve_login_attempt`]) failed: the account is
    /// locked until `lock_until` when it was the last one allowed. Returns whether it was locked.
    pub async fn login_failed(
        &mut self,
        user_id: i64,
        attempt: i64,
        max_failures: i64,
        lock_until: DateTime<Utc>,
    ) -> Result<bool> {
        let locked = attempt >= max_failures;
        if locked {
            sqlx::query("UPDATE app_user SET locked_until = $1, failed_logins = 0 WHERE id = $2")
                .bind(ts(lock_until))
                .bind(user_id)
                .execute(self.conn())
                .await?;
        }
        self.audit(Change {
            action: "auth.login",
            object_type: "user",
            object_id: user_id.to_string(),
            result: "denied",
            summary: json!({"reason": "bad_password", "failures": attempt, "locked": locked}),
        })
        .await?;
        Ok(locked)
    }

    pub async fn login_succeeded(&mut self, user_id: i64) -> Result<()> {
        sqlx::query("UPDATE app_user SET failed_logins = 0, locked_until = NULL WHERE id = $1")
            .bind(user_id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    pub async fn set_totp(&mut self, user_id: i64, secret: Option<&str>, enabled: bool) -> Result<()> {
        let n = sqlx::query("UPDATE app_user SET totp_secret = $1, totp_enabled = $2 WHERE id = $3")
            .bind(secret)
            .bind(i64::from(enabled))
            .bind(user_id)
            .execute(self.conn())
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn update_user(
        &mut self,
        user_id: i64,
        sql: &'static str,
        values: Vec<Option<String>>,
    ) -> Result<()> {
        let mut q = sqlx::query(sql);
        for v in values {
            q = q.bind(v);
        }
        let n = q.bind(user_id).execute(self.conn()).await?.rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}

impl Store {
    pub async fn user(&self, id: i64) -> Result<User> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLS} FROM app_user WHERE id = $1")))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)?;
        from_row(&row)
    }

    pub async fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        let row =
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLS} FROM app_user WHERE username = $1")))
                .bind(username)
                .fetch_optional(self.pool())
                .await?;
        row.as_ref().map(from_row).transpose()
    }

    pub async fn users_of_org(&self, org_id: i64) -> Result<Vec<User>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLS} FROM app_user WHERE org_id = $1 ORDER BY id"
        )))
        .bind(org_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// Users of all organisations in a region (by code prefix), with their organisation's name.
    pub async fn users_in_region(&self, region_prefix: &str) -> Result<Vec<User>> {
        let cols = COLS.split(", ").map(|c| format!("u.{}", c.trim())).collect::<Vec<_>>().join(", ");
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {cols} FROM app_user u JOIN org o ON o.id = u.org_id \
             WHERE o.region_code LIKE $1 ORDER BY o.region_code, u.org_id, u.id"
        )))
        .bind(format!("{region_prefix}%"))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }
}
