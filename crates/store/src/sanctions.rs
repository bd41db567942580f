//! The blacklist (Art. 21) and the termination of development agreements (Art. 25(5)), persisted.
//!
//! A sanction is one row; it is never deleted (lifting fills the lifting columns). A termination is
//! one row per development agreement with its items: the platform's own copies (deletion records)
//! and the developer's downloaded files (attestation records) in `termination_item`, and every
//! attestation act in `termination_attestation` — an attestation over zero files is still a row,
//! because "the developer said so, on that day" is the record the operator verifies. Terminating also
//! marks the development agreement terminated, in the same transaction. Every write audits itself.

use chrono::NaiveDate;
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;
use yunshu_domain::authorization::developer::DevelopmentAgreement;
use yunshu_domain::authorization::sanction::{Lifting, Sanction, SanctionKind};
use yunshu_domain::authorization::termination::{
    CopyKind, DownloadedFile, PlatformCopy, Termination, TerminationStatus,
};

use crate::approvals::parse_date;
use crate::{Change, Result, Store, StoreError, Tx, ts};

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_owned())
}

fn opt_date(s: Option<String>) -> Result<Option<NaiveDate>> {
    s.as_deref().map(parse_date).transpose()
}

/// A stored sanction.
#[derive(Debug, Clone)]
pub struct SanctionRecord {
    pub id: i64,
    pub sanction: Sanction,
}

const SANCTION_COLS: &str = "id, developer_org_id, operator_org_id, kind, agreement_id, reason, imposed_on, \
     until_on, lifted_on, lifted_by_org_id, lift_reason";

fn sanction_from_row(r: &AnyRow) -> Result<SanctionRecord> {
    let kind: String = r.try_get("kind")?;
    let imposed: String = r.try_get("imposed_on")?;
    let lifted = match opt_date(r.try_get("lifted_on")?)? {
        Some(on) => Some(Lifting {
            on,
            by: r
                .try_get::<Option<i64>, _>("lifted_by_org_id")?
                .ok_or_else(|| corrupt("sanction lifted_by"))?,
            reason: r.try_get::<Option<String>, _>("lift_reason")?.unwrap_or_default(),
        }),
        None => None,
    };
    Ok(SanctionRecord {
        id: r.try_get("id")?,
        sanction: Sanction {
            developer: r.try_get("developer_org_id")?,
            imposed_by: r.try_get("operator_org_id")?,
            kind: SanctionKind::parse(&kind).ok_or_else(|| corrupt("sanction kind"))?,
            agreement: r.try_get("agreement_id")?,
            reason: r.try_get("reason")?,
            imposed_on: parse_date(&imposed)?,
            until: opt_date(r.try_get("until_on")?)?,
            lifted,
        },
    })
}

/// A stored termination with its items and attestation acts.
#[derive(Debug, Clone)]
pub struct TerminationRecord {
    pub id: i64,
    pub termination: Termination,
    /// The day the scheduler flagged the attestation overdue (once).
    pub overdue_flagged_on: Option<NaiveDate>,
    pub attestations: Vec<AttestationRecord>,
}

/// One attestation act of the developer.
#[derive(Debug, Clone)]
pub struct AttestationRecord {
    pub attested_on: NaiveDate,
    pub user_id: i64,
    pub file_count: i64,
    pub statement: String,
}

const TERMINATION_COLS: &str = "id, agreement_id, operator_org_id, developer_org_id, terminated_on, reason, \
     status, attestation_due, provisional, verified_on, verification_note, overdue_flagged_on";

const ITEM_PLATFORM: &str = "platform_copy";
const ITEM_DOWNLOAD: &str = "download";

impl Store {
    /// Every sanction against an organisation, whoever imposed it (a restriction binds the province).
    pub async fn sanctions_of(&self, developer_org_id: i64) -> Result<Vec<SanctionRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SANCTION_COLS} FROM sanction WHERE developer_org_id = $1 ORDER BY id DESC"
        )))
        .bind(developer_org_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(sanction_from_row).collect()
    }

    /// Sanctions imposed by an operator.
    pub async fn sanctions_by(&self, operator_org_id: i64) -> Result<Vec<SanctionRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SANCTION_COLS} FROM sanction WHERE operator_org_id = $1 ORDER BY id DESC"
        )))
        .bind(operator_org_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(sanction_from_row).collect()
    }

    /// Every sanction in the province (the bureau's and the supervisors' view).
    pub async fn all_sanctions(&self) -> Result<Vec<SanctionRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SANCTION_COLS} FROM sanction ORDER BY id DESC"
        )))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(sanction_from_row).collect()
    }

    pub async fn sanction(&self, id: i64) -> Result<SanctionRecord> {
        let row =
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {SANCTION_COLS} FROM sanction WHERE id = $1")))
                .bind(id)
                .fetch_optional(self.pool())
                .await?
                .ok_or(StoreError::NotFound)?;
        sanction_from_row(&row)
    }

    async fn termination_with(&self, r: &AnyRow) -> Result<TerminationRecord> {
        let id: i64 = r.try_get("id")?;
        let items = sqlx::query(
            "SELECT item_type, item_key, kind, file_name, sm3, done_on FROM termination_item \
             WHERE termination_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        let mut platform_copies = Vec::new();
        let mut downloads = Vec::new();
        for it in &items {
            let item_type: String = it.try_get("item_type")?;
            let done = opt_date(it.try_get("done_on")?)?;
            let key: String = it.try_get("item_key")?;
            if item_type == ITEM_PLATFORM {
                let kind: String = it.try_get("kind")?;
                platform_copies.push(PlatformCopy {
                    id: key,
                    kind: CopyKind::parse(&kind).ok_or_else(|| corrupt("copy kind"))?,
                    deleted_on: done,
                });
            } else {
                downloads.push(DownloadedFile {
                    id: key,
                    file_name: it.try_get("file_name")?,
                    sm3_hex: it.try_get("sm3")?,
                    attested_on: done,
                });
            }
        }
        let atts = sqlx::query(
            "SELECT attested_on, user_id, file_count, statement FROM termination_attestation \
             WHERE termination_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        let attestations = atts
            .iter()
            .map(|a| {
                Ok(AttestationRecord {
                    attested_on: parse_date(&a.try_get::<String, _>("attested_on")?)?,
                    user_id: a.try_get("user_id")?,
                    file_count: a.try_get("file_count")?,
                    statement: a.try_get("statement")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let status: String = r.try_get("status")?;
        let provisional: i64 = r.try_get("provisional")?;
        Ok(TerminationRecord {
            id,
            termination: Termination {
                agreement: r.try_get("agreement_id")?,
                operator: r.try_get("operator_org_id")?,
                developer: r.try_get("developer_org_id")?,
                terminated_on: parse_date(&r.try_get::<String, _>("terminated_on")?)?,
                reason: r.try_get("reason")?,
                status: TerminationStatus::parse(&status).ok_or_else(|| corrupt("termination status"))?,
                platform_copies,
                downloads,
                attestation_due: parse_date(&r.try_get::<String, _>("attestation_due")?)?,
                provisional: provisional != 0,
                verified_on: opt_date(r.try_get("verified_on")?)?,
                verification_note: r.try_get("verification_note")?,
            },
            overdue_flagged_on: opt_date(r.try_get("overdue_flagged_on")?)?,
            attestations,
        })
    }

    /// The termination of a development agreement, if it was terminated.
    pub async fn termination_of(&self, agreement_id: i64) -> Result<Option<TerminationRecord>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TERMINATION_COLS} FROM termination WHERE agreement_id = $1"
        )))
        .bind(agreement_id)
        .fetch_optional(self.pool())
        .await?;
        match row {
            Some(r) => Ok(Some(self.termination_with(&r).await?)),
            None => Ok(None),
        }
    }

    pub async fn termination(&self, id: i64) -> Result<TerminationRecord> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TERMINATION_COLS} FROM termination WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        self.termination_with(&row).await
    }

    /// Terminations not yet verified (the scheduler's overdue check).
    pub async fn open_terminations(&self) -> Result<Vec<TerminationRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TERMINATION_COLS} FROM termination WHERE status <> 'verified' ORDER BY id"
        )))
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(self.termination_with(r).await?);
        }
        Ok(out)
    }

    /// The development agreement with the given id.
    pub async fn dev_agreement(&self, id: i64) -> Result<crate::onboarding::DevAgreementRecord> {
        let row = sqlx::query("SELECT developer_org_id FROM development_agreement WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)?;
        let dev: i64 = row.try_get("developer_org_id")?;
        self.dev_agreements_of(dev).await?.into_iter().find(|d| d.id == id).ok_or(StoreError::NotFound)
    }
}

impl Tx {
    /// Stores a new sanction.
    pub async fn insert_sanction(&mut self, s: &Sanction) -> Result<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO sanction (developer_org_id, operator_org_id, kind, agreement_id, reason, imposed_on, \
             until_on, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(s.developer)
        .bind(s.imposed_by)
        .bind(s.kind.code())
        .bind(s.agreement)
        .bind(&s.reason)
        .bind(s.imposed_on.to_string())
        .bind(s.until.map(|d| d.to_string()))
        .bind(ts(self.now()))
        .fetch_one(self.conn())
        .await?;
        self.audit(Change::ok(
            "sanction.impose",
            "sanction",
            id,
            json!({"developer_org_id": s.developer, "kind": s.kind.code(), "agreement_id": s.agreement,
                   "until": s.until.map(|d| d.to_string()), "reason": s.reason}),
        ))
        .await?;
        Ok(id)
    }

    /// Records the lifting of a sanction (only once: a second lifting is a conflict).
    pub async fn lift_sanction(&mut self, id: i64, l: &Lifting) -> Result<()> {
        let n = sqlx::query(
            "UPDATE sanction SET lifted_on = $1, lifted_by_org_id = $2, lift_reason = $3 \
             WHERE id = $4 AND lifted_on IS NULL",
        )
        .bind(l.on.to_string())
        .bind(l.by)
        .bind(&l.reason)
        .bind(id)
        .execute(self.conn())
        .await?
        .rows_affected();
        if n != 1 {
            return Err(StoreError::Conflict("sanction"));
        }
        self.audit(Change::ok("sanction.lift", "sanction", id, json!({"reason": l.reason}))).await?;
        Ok(())
    }

    /// Stores a termination with its items and marks the agreement terminated.
    pub async fn insert_termination(
        &mut self,
        t: &Termination,
        agreement: &DevelopmentAgreement,
    ) -> Result<i64> {
        let n = sqlx::query(
            "UPDATE development_agreement SET status = $1, ended_on = $2 WHERE id = $3 AND status <> $1",
        )
        .bind(agreement.status.code())
        .bind(agreement.ended_on.map(|d| d.to_string()))
        .bind(t.agreement)
        .execute(self.conn())
        .await?
        .rows_affected();
        if n != 1 {
            return Err(StoreError::Conflict("agreement"));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO termination (agreement_id, operator_org_id, developer_org_id, terminated_on, reason, \
             status, attestation_due, provisional, verification_note, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '', $9) RETURNING id",
        )
        .bind(t.agreement)
        .bind(t.operator)
        .bind(t.developer)
        .bind(t.terminated_on.to_string())
        .bind(&t.reason)
        .bind(t.status.code())
        .bind(t.attestation_due.to_string())
        .bind(i64::from(t.provisional))
        .bind(ts(self.now()))
        .fetch_one(self.conn())
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict("termination"),
            _ => StoreError::Db(e),
        })?;
        for c in &t.platform_copies {
            sqlx::query(
                "INSERT INTO termination_item (termination_id, item_type, item_key, kind, file_name, sm3, done_on) \
                 VALUES ($1, $2, $3, $4, '', '', $5)",
            )
            .bind(id)
            .bind(ITEM_PLATFORM)
            .bind(&c.id)
            .bind(c.kind.code())
            .bind(c.deleted_on.map(|d| d.to_string()))
            .execute(self.conn())
            .await?;
        }
        for d in &t.downloads {
            sqlx::query(
                "INSERT INTO termination_item (termination_id, item_type, item_key, kind, file_name, sm3, done_on) \
                 VALUES ($1, $2, $3, '', $4, $5, $6)",
            )
            .bind(id)
            .bind(ITEM_DOWNLOAD)
            .bind(&d.id)
            .bind(&d.file_name)
            .bind(&d.sm3_hex)
            .bind(d.attested_on.map(|d| d.to_string()))
            .execute(self.conn())
            .await?;
        }
        self.audit(Change::ok(
            "agreement.terminate",
            "development_agreement",
            t.agreement,
            json!({"termination_id": id, "reason": t.reason, "attestation_due": t.attestation_due.to_string(),
                   "platform_copies": t.platform_copies.len(), "downloads": t.downloads.len()}),
        ))
        .await?;
        Ok(id)
    }

    async fn save_termination_head(&mut self, id: i64, t: &Termination) -> Result<()> {
        sqlx::query(
            "UPDATE termination SET status = $1, verified_on = $2, verification_note = $3 WHERE id = $4",
        )
        .bind(t.status.code())
        .bind(t.verified_on.map(|d| d.to_string()))
        .bind(&t.verification_note)
        .bind(id)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    async fn mark_item(&mut self, id: i64, item_type: &str, key: &str, on: NaiveDate) -> Result<()> {
        let n = sqlx::query(
            "UPDATE termination_item SET done_on = $1 \
             WHERE termination_id = $2 AND item_type = $3 AND item_key = $4 AND done_on IS NULL",
        )
        .bind(on.to_string())
        .bind(id)
        .bind(item_type)
        .bind(key)
        .execute(self.conn())
        .await?
        .rows_affected();
        if n != 1 {
            return Err(StoreError::Conflict("termination item"));
        }
        Ok(())
    }

    /// Records the deletion of one platform copy (one audit record per deletion).
    pub async fn record_platform_deletion(
        &mut self,
        id: i64,
        t: &Termination,
        copy_id: &str,
        on: NaiveDate,
    ) -> Result<()> {
        self.mark_item(id, ITEM_PLATFORM, copy_id, on).await?;
        self.save_termination_head(id, t).await?;
        self.audit(Change::ok(
            "termination.platform_delete",
            "termination",
            id,
            json!({"copy": copy_id, "status": t.status.code()}),
        ))
        .await?;
        Ok(())
    }

    /// Records that the platform held no copies for the agreement: the deletion step ran over an
    /// empty list, and says so in the audit log.
    pub async fn record_no_platform_copies(&mut self, id: i64, t: &Termination) -> Result<()> {
        self.save_termination_head(id, t).await?;
        self.audit(Change::ok(
            "termination.platform_delete",
            "termination",
            id,
            json!({"copies": [], "status": t.status.code()}),
        ))
        .await?;
        Ok(())
    }

    /// Records one attestation act of the developer over `file_ids` (possibly none).
    pub async fn record_attestation(
        &mut self,
        id: i64,
        t: &Termination,
        user_id: i64,
        file_ids: &[&str],
        statement: &str,
        on: NaiveDate,
    ) -> Result<()> {
        for f in file_ids {
            self.mark_item(id, ITEM_DOWNLOAD, f, on).await?;
        }
        self.save_termination_head(id, t).await?;
        let count = i64::try_from(file_ids.len()).map_err(|_| corrupt("file count"))?;
        sqlx::query(
            "INSERT INTO termination_attestation (termination_id, attested_on, user_id, file_count, statement, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(on.to_string())
        .bind(user_id)
        .bind(count)
        .bind(statement)
        .bind(ts(self.now()))
        .execute(self.conn())
        .await?;
        self.audit(Change::ok(
            "termination.attest",
            "termination",
            id,
            json!({"files": file_ids, "status": t.status.code()}),
        ))
        .await?;
        Ok(())
    }

    /// The operator's verification.
    pub async fn verify_termination(&mut self, id: i64, t: &Termination) -> Result<()> {
        self.save_termination_head(id, t).await?;
        self.audit(Change::ok(
            "termination.verify",
            "termination",
            id,
            json!({"note": t.verification_note, "attested_late": t.attested_late()}),
        ))
        .await?;
        Ok(())
    }

    /// Flags the attestation overdue (once: a second flag is a conflict).
    pub async fn flag_termination_overdue(&mut self, id: i64, on: NaiveDate) -> Result<()> {
        let n = sqlx::query(
            "UPDATE termination SET overdue_flagged_on = $1 WHERE id = $2 AND overdue_flagged_on IS NULL",
        )
        .bind(on.to_string())
        .bind(id)
        .execute(self.conn())
        .await?
        .rows_affected();
        if n != 1 {
            return Err(StoreError::Conflict("termination"));
        }
        self.audit(Change::ok(
            "termination.overdue",
            "termination",
            id,
            json!({"flagged_on": on.to_string()}),
        ))
        .await?;
        Ok(())
    }
}

impl Store {
    /// Ids of the development agreements an operator signed, newest first.
    pub async fn dev_agreement_ids_of_operator(&self, operator_org_id: i64) -> Result<Vec<i64>> {
        let rows =
            sqlx::query("SELECT id FROM development_agreement WHERE operator_org_id = $1 ORDER BY id DESC")
                .bind(operator_org_id)
                .fetch_all(self.pool())
                .await?;
        rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
    }
}
