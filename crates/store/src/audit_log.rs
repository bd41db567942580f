//! Reading the audit log (for verification and the audit pages) and recording checkpoints.
//! There is deliberately no function here that updates or deletes an audit record.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;
use yunshu_audit::{AuditRecord, Checkpoint, Hash, StoredRecord, Tag};

use crate::{Result, Store, StoreError, ts};

fn record_from_row(r: &AnyRow) -> Result<StoredRecord> {
    let hex = |col: &str| -> Result<[u8; 32]> {
        let s: String = r.try_get(col)?;
        let v = hex::decode(&s).map_err(|_| StoreError::Corrupt(format!("audit {col}")))?;
        <[u8; 32]>::try_from(v.as_slice()).map_err(|_| StoreError::Corrupt(format!("audit {col}")))
    };
    Ok(StoredRecord {
        record: AuditRecord {
            seq: r.try_get("seq")?,
            at: r.try_get("at")?,
            operation_id: r.try_get("operation_id")?,
            user_id: r.try_get("user_id")?,
            org_id: r.try_get("org_id")?,
            role: r.try_get("role")?,
            action: r.try_get("action")?,
            object_type: r.try_get("object_type")?,
            object_id: r.try_get("object_id")?,
            result: r.try_get("result")?,
            source_ip: r.try_get("source_ip")?,
            summary: r.try_get("summary")?,
        },
        prev_hash: Hash(hex("prev_hash")?),
        hash: Hash(hex("hash")?),
        tag: Tag(hex("tag")?),
    })
}

/// An audit record with the names of its person, organisation and object (`None` where there is
/// no such row, e.g. the system, or an object kind without a name).
#[derive(Debug, Clone)]
pub struct NamedRecord {
    pub stored: StoredRecord,
    pub user_name: Option<String>,
    pub org_name: Option<String>,
    pub object_name: Option<String>,
}

/// What to look for in the audit log.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only records made by organisations whose region code starts with this (None: all).
    pub region_prefix: Option<String>,
    /// Only actions starting with this (e.g. `user.`).
    pub action_prefix: Option<String>,
    /// Only `ok`, `denied` or `error`.
    pub result: Option<String>,
    /// Only records older than this sequence number (the next page).
    pub before_seq: Option<i64>,
    /// Only records made by the person with this login name or real name.
    pub person: Option<String>,
    /// Only records about objects of this kind (`user`, `resource` …).
    pub object_type: Option<String>,
    /// Only records about the object with this id (with `object_type`).
    pub object_id: Option<String>,
    pub limit: i64,
}

const COLS: &str = "seq, at, operation_id, user_id, org_id, role, action, object_type, object_id, result, \
    source_ip, summary, prev_hash, hash, tag";

impl Store {
    /// Records with seq > `after`, ascending, at most `limit` (for streaming verification).
    pub async fn audit_batch(&self, after: i64, limit: i64) -> Result<Vec<StoredRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2"
        )))
        .bind(after)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(record_from_row).collect()
    }

    /// Newest records first, optionally for one object (the history timeline of a record).
    pub async fn audit_recent(&self, object: Option<(&str, &str)>, limit: i64) -> Result<Vec<StoredRecord>> {
        let rows = match object {
            Some((t, id)) => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {COLS} FROM audit_log WHERE object_type = $1 AND object_id = $2 \
                     ORDER BY seq DESC LIMIT $3"
                )))
                .bind(t)
                .bind(id)
                .bind(limit)
                .fetch_all(self.pool())
                .await?
            }
            None => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {COLS} FROM audit_log ORDER BY seq DESC LIMIT $1"
                )))
                .bind(limit)
                .fetch_all(self.pool())
                .await?
            }
        };
        rows.iter().map(record_from_row).collect()
    }

    /// Newest-first page of records matching `f` (keyset pagination on `seq`), each with the names
    /// of its person, organisation and object (users, organisations, resources, registrations,
    /// scenarios) — joined in the same statement after the page is cut, so a page or an export of
    /// thousands of records costs one query, not one per name.
    pub async fn audit_search(&self, f: &AuditFilter) -> Result<Vec<NamedRecord>> {
        // One statement; unused filters compare against NULL and drop out.
        let cols = COLS.split(", ").map(|c| format!("a.{c}")).collect::<Vec<_>>().join(", ");
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {cols}, pu.display_name AS user_name, po.name AS org_name, \
             COALESCE(ou.display_name, oo.name, r.name, rr.name, sc.title) AS object_name \
             FROM (SELECT {COLS} FROM audit_log WHERE \
                 ($1 IS NULL OR org_id IN (SELECT CAST(id AS TEXT) FROM org WHERE region_code LIKE $1)) \
                 AND ($2 IS NULL OR action LIKE $2) \
                 AND ($3 IS NULL OR seq < $3) \
                 AND ($4 IS NULL OR result = $4) \
                 AND ($6 IS NULL OR user_id IN \
                      (SELECT CAST(id AS TEXT) FROM app_user WHERE username = $6 OR display_name = $6)) \
                 AND ($7 IS NULL OR object_type = $7) \
                 AND ($8 IS NULL OR object_id = $8) \
                 ORDER BY seq DESC LIMIT $5) a \
             LEFT JOIN app_user pu ON CAST(pu.id AS TEXT) = a.user_id \
             LEFT JOIN org po ON CAST(po.id AS TEXT) = a.org_id \
             LEFT JOIN app_user ou ON a.object_type = 'user' AND CAST(ou.id AS TEXT) = a.object_id \
             LEFT JOIN org oo ON a.object_type = 'org' AND CAST(oo.id AS TEXT) = a.object_id \
             LEFT JOIN data_resource r ON a.object_type = 'resource' AND CAST(r.id AS TEXT) = a.object_id \
             LEFT JOIN registration g ON a.object_type = 'registration' AND CAST(g.id AS TEXT) = a.object_id \
             LEFT JOIN data_resource rr ON rr.id = g.resource_id \
             LEFT JOIN scenario sc ON a.object_type = 'scenario' AND CAST(sc.id AS TEXT) = a.object_id \
             ORDER BY a.seq DESC"
        )))
        .bind(f.region_prefix.as_ref().map(|p| format!("{p}%")))
        .bind(f.action_prefix.as_ref().map(|a| format!("{a}%")))
        .bind(f.before_seq)
        .bind(f.result.clone())
        .bind(f.limit)
        .bind(f.person.clone())
        .bind(f.object_type.clone())
        .bind(f.object_id.clone())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(NamedRecord {
                    stored: record_from_row(row)?,
                    user_name: row.try_get("user_name")?,
                    org_name: row.try_get("org_name")?,
                    object_name: row.try_get("object_name")?,
                })
            })
            .collect()
    }

    /// The current head (seq, hash) as the head row says.
    pub async fn audit_head(&self) -> Result<(i64, Hash)> {
        let row = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1").fetch_one(self.pool()).await?;
        let h: String = row.try_get("hash")?;
        Ok((row.try_get("seq")?, Hash::from_hex(&h).map_err(|_| StoreError::Corrupt("audit head".into()))?))
    }

    /// Signs the current head and records the checkpoint in the database (the caller also appends it
    /// to the checkpoint file outside the database). Returns `None` when the head is already
    /// checkpointed.
    /// The sequence number of the newest signed checkpoint (0: none yet).
    pub async fn last_checkpoint_seq(&self) -> Result<i64> {
        let last: Option<i64> =
            sqlx::query_scalar("SELECT MAX(seq) FROM audit_checkpoint").fetch_one(self.pool()).await?;
        Ok(last.unwrap_or(0))
    }

    pub async fn checkpoint_head(&self, now: DateTime<Utc>) -> Result<Option<Checkpoint>> {
        let (seq, head) = self.audit_head().await?;
        if seq == 0 {
            return Ok(None);
        }
        if self.last_checkpoint_seq().await? == seq {
            return Ok(None);
        }
        let cp = self
            .audit_key()
            .sign_checkpoint(seq, head, ts(now))
            .map_err(|e| StoreError::Audit(e.to_string()))?;
        sqlx::query("INSERT INTO audit_checkpoint (seq, head, at, signature) VALUES ($1, $2, $3, $4)")
            .bind(cp.seq)
            .bind(cp.head.to_hex())
            .bind(&cp.at)
            .bind(hex::encode(&cp.signature))
            .execute(self.pool())
            .await?;
        Ok(Some(cp))
    }

    /// Objects whose creation has no audit record: organisations, users, resources and dataset
    /// versions (`kind id`, at most `limit`). The chain proves that records were not altered; this
    /// proves that records behind the data were not cut away together with the chain's tail (a
    /// head reset in a copy of the database would leave the chain itself consistent).
    pub async fn unaudited_objects(&self, limit: i64) -> Result<Vec<String>> {
        const CHECKS: &[(&str, &str)] = &[
            (
                "org",
                "SELECT CAST(o.id AS TEXT) FROM org o WHERE NOT EXISTS (SELECT 1 FROM audit_log a \
                 WHERE a.object_type = 'org' AND a.object_id = CAST(o.id AS TEXT) AND a.action = 'org.create') \
                 ORDER BY o.id LIMIT $1",
            ),
            (
                "user",
                "SELECT CAST(u.id AS TEXT) FROM app_user u WHERE NOT EXISTS (SELECT 1 FROM audit_log a \
                 WHERE a.object_type = 'user' AND a.object_id = CAST(u.id AS TEXT) AND a.action = 'user.create') \
                 ORDER BY u.id LIMIT $1",
            ),
            (
                "resource",
                "SELECT CAST(r.id AS TEXT) FROM data_resource r WHERE NOT EXISTS (SELECT 1 FROM audit_log a \
                 WHERE a.object_type = 'resource' AND a.object_id = CAST(r.id AS TEXT) \
                 AND a.action IN ('resource.create', 'resource.backflow_copy')) ORDER BY r.id LIMIT $1",
            ),
            (
                "dataset_version",
                "SELECT CAST(v.id AS TEXT) FROM dataset_version v WHERE NOT EXISTS (SELECT 1 FROM audit_log a \
                 WHERE a.object_type = 'resource' AND a.object_id = CAST(v.resource_id AS TEXT) \
                 AND a.action = 'dataset.import') ORDER BY v.id LIMIT $1",
            ),
        ];
        let mut missing = Vec::new();
        for (kind, sql) in CHECKS {
            let ids: Vec<String> = sqlx::query_scalar(*sql).bind(limit).fetch_all(self.pool()).await?;
            missing.extend(ids.into_iter().map(|id| format!("{kind} {id}")));
        }
        Ok(missing)
    }

    pub async fn audit_count(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM audit_log").fetch_one(self.pool()).await?)
    }
}
