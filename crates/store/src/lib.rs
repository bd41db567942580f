//! Persistence for Yunshu: SQLite (embedded, the default) and PostgreSQL (production), behind one
//! API. This is the only crate that knows SQL.
//!
//! Architecture invariants kept here:
//! - Every write goes through [`Tx`], and [`Tx::commit`] refuses to commit a transaction that has not
//!   appended an audit record: a state change and its audit record commit together or not at all.
//! - The audit log has no update or delete path (and triggers in both databases refuse them).
//! - SQL is written once with `$n` placeholders (both drivers accept them); backend differences live in
//!   [`schema`] and in the few helpers that branch on [`Backend`].

pub mod approvals;
pub mod audit_log;
pub mod backflow;
pub mod calendar;
pub mod catalog;
pub mod data_use;
pub mod datasets;
pub mod evaluations;
pub mod onboarding;
pub mod orgs;
pub mod plans;
pub mod reg_objections;
pub mod sanctions;
pub mod sandbox_runs;
pub mod schema;
pub mod sessions;
pub mod tasks;
pub mod users;
pub mod verifications;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, AssertSqlSafe, Row};
use tokio::sync::{Mutex, OwnedMutexGuard};
use yunshu_audit::{AuditKey, AuditRecord, Hash};

pub use sqlx::Any;

/// Which database is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Backend, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database URL must start with sqlite: or postgres://")]
    UnsupportedUrl,
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("not found")]
    NotFound,
    #[error("already exists: {0}")]
    Conflict(&'static str),
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
    #[error("a transaction tried to commit a change without an audit record")]
    Unaudited,
    #[error("audit: {0}")]
    Audit(String),
}

impl StoreError {
    /// Whether the database could not be reached (no connection within the acquire timeout, a
    /// broken connection), rather than a fault of the request or of the data.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Db(
                sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::Io(_)
                    | sqlx::Error::Tls(_)
            )
        )
    }

    /// Maps unique-constraint violations to [`StoreError::Conflict`] so callers can answer 409.
    fn from_insert(e: sqlx::Error, what: &'static str) -> StoreError {
        if let sqlx::Error::Database(db) = &e
            && db.is_unique_violation()
        {
            return StoreError::Conflict(what);
        }
        StoreError::Db(e)
    }
}

/// How long a request waits for a PostgreSQL connection before it is answered "unavailable".
pub const POSTGRES_ACQUIRE_TIMEOUT: Duration = Duration::from_millis(1500);

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Canonical timestamp text: RFC 3339, UTC, milliseconds. Sorts correctly as text in both databases.
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn parse_ts(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| StoreError::Corrupt(format!("timestamp {s}")))
}

/// Who did something, for the audit record (filled by the server per request).
#[derive(Debug, Clone, Default)]
pub struct AuditCtx {
    pub operation_id: String,
    pub user_id: Option<i64>,
    pub org_id: Option<i64>,
    pub role: Option<String>,
    pub source_ip: Option<String>,
}

impl AuditCtx {
    /// The context of a command-line action by the platform itself.
    pub fn system(operation_id: impl Into<String>) -> AuditCtx {
        AuditCtx { operation_id: operation_id.into(), role: Some("system".into()), ..AuditCtx::default() }
    }
}

/// The store: a pool, the audit key, and (for SQLite) the single-writer lock.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    key: Arc<AuditKey>,
    write_lock: Arc<Mutex<()>>,
    head_tx: Arc<tokio::sync::watch::Sender<i64>>,
}

impl Store {
    /// Connects and applies pending migrations.
    pub async fn open(url: &str, key: Arc<AuditKey>) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let mut opts = AnyPoolOptions::new();
        opts = match backend {
            Backend::Sqlite => opts
                .max_connections(8)
                .acquire_timeout(Duration::from_secs(30))
                .after_connect(|conn, _meta| {
                    Box::pin(async move {
                        // WAL for concurrent readers; FULL so that a returned commit is on disk (the
                        // audit log's durability promise); busy_timeout for the CLI running beside a server.
                        sqlx::raw_sql(
                            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; \
                         PRAGMA foreign_keys=ON; PRAGMA busy_timeout=10000;",
                        )
                        .execute(conn)
                        .await?;
                        Ok(())
                    })
                }),
            // A PostgreSQL that cannot be reached is answered with a 503 within the acquire
            // timeout (sqlx retries connecting until then), not after the client gave up; the pool
            // reconnects by itself when the server is back.
            Backend::Postgres => opts.max_connections(16).acquire_timeout(POSTGRES_ACQUIRE_TIMEOUT),
        };
        let pool = opts.connect(url).await?;
        let (head_tx, _) = tokio::sync::watch::channel(0);
        let store =
            Store { pool, backend, key, write_lock: Arc::new(Mutex::new(())), head_tx: Arc::new(head_tx) };
        store.migrate().await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn audit_key(&self) -> &AuditKey {
        &self.key
    }

    /// Subscribe to the audit head sequence (for the checkpointer).
    pub fn watch_head(&self) -> tokio::sync::watch::Receiver<i64> {
        self.head_tx.subscribe()
    }

    async fn migrate(&self) -> Result<()> {
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS schema_migration (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL)",
        )
        .execute(&self.pool)
        .await?;
        for m in schema::migrations(self.backend) {
            let mut tx = self.pool.begin().await?;
            let done: Option<i64> =
                sqlx::query_scalar("SELECT version FROM schema_migration WHERE version = $1")
                    .bind(m.version)
                    .fetch_optional(&mut *tx)
                    .await?;
            if done.is_some() {
                continue;
            }
            for stmt in &m.statements {
                sqlx::query(AssertSqlSafe(stmt.as_str())).execute(&mut *tx).await?;
            }
            sqlx::query("INSERT INTO schema_migration (version, applied_at) VALUES ($1, $2)")
                .bind(m.version)
                .bind(ts(Utc::now()))
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// Begins a write transaction. SQLite has one writer: take the lock first so writers queue in
    /// order instead of spinning on SQLITE_BUSY; `BEGIN IMMEDIATE` also fences other processes.
    pub async fn begin(&self, now: DateTime<Utc>, ctx: &AuditCtx) -> Result<Tx> {
        let (guard, tx) = match self.backend {
            Backend::Sqlite => {
                let guard = self.write_lock.clone().lock_owned().await;
                (Some(guard), self.pool.begin_with("BEGIN IMMEDIATE").await?)
            }
            Backend::Postgres => (None, self.pool.begin().await?),
        };
        Ok(Tx { tx, _guard: guard, store: self.clone(), now, ctx: ctx.clone(), audited: false, head: None })
    }
}

impl Store {
    /// The table of the benchmark baseline (never part of the schema proper).
    pub async fn create_bench_table(&self) -> Result<()> {
        sqlx::query("CREATE TABLE IF NOT EXISTS bench_plain (id BIGINT PRIMARY KEY, payload TEXT NOT NULL)")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Benchmark baseline: one plain row committed the way a write transaction commits (same lock,
    /// same `BEGIN`), into the `bench_plain` table only, without the audit chain.
    pub async fn baseline_commit(&self, id: i64, payload: &str) -> Result<()> {
        let (_guard, mut tx) = match self.backend {
            Backend::Sqlite => {
                let guard = self.write_lock.clone().lock_owned().await;
                (Some(guard), self.pool.begin_with("BEGIN IMMEDIATE").await?)
            }
            Backend::Postgres => (None, self.pool.begin().await?),
        };
        sqlx::query("INSERT INTO bench_plain (id, payload) VALUES ($1, $2)")
            .bind(id)
            .bind(payload)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// A write transaction that must carry its audit record(s).
pub struct Tx {
    tx: sqlx::Transaction<'static, Any>,
    _guard: Option<OwnedMutexGuard<()>>,
    store: Store,
    now: DateTime<Utc>,
    ctx: AuditCtx,
    audited: bool,
    head: Option<i64>,
}

/// What changed, for the audit record.
pub struct Change<'a> {
    pub action: &'a str,
    pub object_type: &'a str,
    pub object_id: String,
    pub result: &'a str,
    /// JSON text summarising the change (never secrets; identifiers masked where a reader needs no more).
    pub summary: serde_json::Value,
}

impl<'a> Change<'a> {
    pub fn ok(
        action: &'a str,
        object_type: &'a str,
        object_id: impl ToString,
        summary: serde_json::Value,
    ) -> Change<'a> {
        Change { action, object_type, object_id: object_id.to_string(), result: "ok", summary }
    }
}

impl Tx {
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    pub fn ctx(&self) -> &AuditCtx {
        &self.ctx
    }

    pub fn conn(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.tx
    }

    /// Appends an audit record in this transaction, chained to the current head.
    pub async fn audit(&mut self, change: Change<'_>) -> Result<i64> {
        // The head row lock (PostgreSQL) or the write lock (SQLite) makes appends strictly sequential.
        let lock_sql = match self.store.backend {
            Backend::Sqlite => "SELECT seq, hash FROM audit_head WHERE id = 1",
            Backend::Postgres => "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE",
        };
        let row = sqlx::query(lock_sql).fetch_one(&mut *self.tx).await?;
        let prev_seq: i64 = row.try_get("seq")?;
        let prev_hex: String = row.try_get("hash")?;
        let prev = Hash::from_hex(&prev_hex).map_err(|_| StoreError::Corrupt("audit head hash".into()))?;
        let record = AuditRecord {
            seq: prev_seq + 1,
            at: ts(self.now),
            operation_id: self.ctx.operation_id.clone(),
            user_id: self.ctx.user_id.map(|u| u.to_string()),
            org_id: self.ctx.org_id.map(|o| o.to_string()),
            role: self.ctx.role.clone(),
            action: change.action.to_owned(),
            object_type: change.object_type.to_owned(),
            object_id: change.object_id,
            result: change.result.to_owned(),
            source_ip: self.ctx.source_ip.clone(),
            summary: change.summary.to_string(),
        };
        let sealed = self.store.key.seal(&prev, record);
        let r = &sealed.record;
        sqlx::query(
            "INSERT INTO audit_log (seq, at, operation_id, user_id, org_id, role, action, object_type, \
             object_id, result, source_ip, summary, prev_hash, hash, tag) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(r.seq)
        .bind(&r.at)
        .bind(&r.operation_id)
        .bind(&r.user_id)
        .bind(&r.org_id)
        .bind(&r.role)
        .bind(&r.action)
        .bind(&r.object_type)
        .bind(&r.object_id)
        .bind(&r.result)
        .bind(&r.source_ip)
        .bind(&r.summary)
        .bind(sealed.prev_hash.to_hex())
        .bind(sealed.hash.to_hex())
        .bind(sealed.tag.to_hex())
        .execute(&mut *self.tx)
        .await?;
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(r.seq)
            .bind(sealed.hash.to_hex())
            .execute(&mut *self.tx)
            .await?;
        self.audited = true;
        self.head = Some(r.seq);
        Ok(r.seq)
    }

    /// Commits. Refuses (and rolls back) when nothing was audited.
    pub async fn commit(self) -> Result<()> {
        if !self.audited {
            self.tx.rollback().await?;
            return Err(StoreError::Unaudited);
        }
        let store = self.store.clone();
        let head = self.head;
        self.tx.commit().await?;
        if let Some(seq) = head {
            store.head_tx.send_replace(seq);
        }
        Ok(())
    }

    pub async fn rollback(self) -> Result<()> {
        self.tx.rollback().await?;
        Ok(())
    }
}

pub(crate) fn get_bool(row: &AnyRow, col: &str) -> Result<bool> {
    Ok(row.try_get::<i64, _>(col)? != 0)
}

/// Scratch databases for tests and benchmarks: a fresh PostgreSQL database next to `base_url`
/// (which must name an existing database the user may connect to, e.g. `postgres://…/postgres`).
pub mod scratch {
    use sqlx::{AssertSqlSafe, Connection};

    use crate::Result;

    /// Creates database `name` and returns its URL.
    pub async fn create_postgres(base_url: &str, name: &str) -> Result<String> {
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(base_url).await?;
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE \"{name}\""))).execute(&mut conn).await?;
        conn.close().await?;
        let (head, _) = base_url.rsplit_once('/').unwrap_or((base_url, ""));
        Ok(format!("{head}/{name}"))
    }

    /// Drops database `name` (best effort: connections still open are terminated).
    pub async fn drop_postgres(base_url: &str, name: &str) -> Result<()> {
        let mut conn = sqlx::AnyConnection::connect(base_url).await?;
        sqlx::query(AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")))
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        Ok(())
    }
}
