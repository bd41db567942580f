//! `yunshu audit verify` against a real database: intact, then each kind of tampering — a record
//! edited, deleted, two records reordered, the newest records cut off, and the whole chain recomputed
//! by someone without the signing key. Each must fail and name the first bad record.
//!
//! Runs on SQLite, or on PostgreSQL when `YUNSHU_TEST_DATABASE_URL` is a postgres:// URL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use sqlx::{AssertSqlSafe, Row};
use yunshu_audit::{AuditKey, AuditRecord, Hash};
use yunshu_store::{Backend, Store};

struct Fixture {
    dir: PathBuf,
    url: String,
    pg: Option<(String, String)>,
    store: Store,
}

fn unique() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!("{}_{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst))
}

async fn fixture() -> Fixture {
    let dir = std::env::temp_dir().join(format!("yunshu-verify-{}", unique()));
    std::fs::create_dir_all(dir.join("audit")).unwrap();
    let (url, pg) = match std::env::var("YUNSHU_TEST_DATABASE_URL") {
        Ok(base) if base.starts_with("postgres") => {
            let name = format!("yunshu_v_{}", unique());
            (yunshu_store::scratch::create_postgres(&base, &name).await.unwrap(), Some((base, name)))
        }
        _ => {
            assert!(
                std::env::var("YUNSHU_TEST_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "PostgreSQL required but YUNSHU_TEST_DATABASE_URL is not set"
            );
            (format!("sqlite://{}?mode=rwc", dir.join("yunshu.db").display()), None)
        }
    };
    let key = AuditKey::load_or_create(&dir.join("keys/audit-signing.key")).unwrap();
    let store = Store::open(&url, Arc::new(key)).await.unwrap();
    yunshu_server::demo::seed(&store, chrono::Utc::now()).await.unwrap();
    let state = yunshu_server::AppState::new(
        store.clone(),
        yunshu_server::Config::default(),
        yunshu_server::system_clock(),
        dir.join("audit/checkpoints.log"),
        &dir,
    )
    .unwrap();
    state.checkpoint().await.unwrap();
    // Allow tampering: an attacker with database access can drop the append-only triggers.
    match store.backend() {
        Backend::Sqlite => {
            for t in ["audit_log_no_update", "audit_log_no_delete"] {
                sqlx::query(AssertSqlSafe(format!("DROP TRIGGER {t}"))).execute(store.pool()).await.unwrap();
            }
        }
        Backend::Postgres => {
            sqlx::query("ALTER TABLE audit_log DISABLE TRIGGER USER").execute(store.pool()).await.unwrap();
        }
    }
    Fixture { dir, url, pg, store }
}

impl Fixture {
    fn verify(&self) -> (bool, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_yunshu"))
            .args(["audit", "verify", "--data-dir"])
            .arg(&self.dir)
            .args(["--database-url", &self.url])
            .env_remove("YUNSHU_DATABASE_URL")
            .output()
            .unwrap();
        let text =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.success(), text)
    }

    async fn exec(&self, sql: &str) {
        sqlx::query(AssertSqlSafe(sql.to_owned())).execute(self.store.pool()).await.unwrap();
    }

    async fn max_seq(&self) -> i64 {
        sqlx::query_scalar("SELECT MAX(seq) FROM audit_log").fetch_one(self.store.pool()).await.unwrap()
    }

    async fn done(self) {
        self.store.pool().close().await;
        if let Some((base, name)) = self.pg {
            let _ = yunshu_store::scratch::drop_postgres(&base, &name).await;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn assert_fails_at(result: (bool, String), seq: i64) {
    let (ok, text) = result;
    assert!(!ok, "verification should fail:\n{text}");
    assert!(text.contains(&format!("audit record {seq}")), "should name record {seq}:\n{text}");
}

#[tokio::test]
async fn intact_log_verifies() {
    let f = fixture().await;
    let (ok, text) = f.verify();
    assert!(ok, "{text}");
    assert!(text.contains("audit log intact"), "{text}");
    f.done().await;
}

#[tokio::test]
async fn an_edited_record_is_named() {
    let f = fixture().await;
    f.exec("UPDATE audit_log SET summary = '{\"name\":\"forged\"}' WHERE seq = 7").await;
    assert_fails_at(f.verify(), 7);
    f.done().await;
}

#[tokio::test]
async fn a_deleted_record_is_named() {
    let f = fixture().await;
    f.exec("DELETE FROM audit_log WHERE seq = 12").await;
    assert_fails_at(f.verify(), 12);
    f.done().await;
}

#[tokio::test]
async fn reordered_records_are_named() {
    let f = fixture().await;
    // Swap the positions of records 20 and 21.
    f.exec("UPDATE audit_log SET seq = -20 WHERE seq = 20").await;
    f.exec("UPDATE audit_log SET seq = 20 WHERE seq = 21").await;
    f.exec("UPDATE audit_log SET seq = 21 WHERE seq = -20").await;
    assert_fails_at(f.verify(), 20);
    f.done().await;
}

#[tokio::test]
async fn cut_off_newest_records_are_named() {
    let f = fixture().await;
    let max = f.max_seq().await;
    f.exec(&format!("DELETE FROM audit_log WHERE seq > {}", max - 3)).await;
    assert_fails_at(f.verify(), max - 2);
    f.done().await;
}

#[tokio::test]
async fn a_chain_recomputed_without_the_key_is_named() {
    let f = fixture().await;
    let attacker = AuditKey::generate().unwrap();
    let rows = sqlx::query(
        "SELECT seq, at, operation_id, user_id, org_id, role, action, object_type, object_id, result, source_ip, summary, prev_hash \
         FROM audit_log WHERE seq >= 5 ORDER BY seq",
    )
    .fetch_all(f.store.pool())
    .await
    .unwrap();
    let mut prev = Hash::from_hex(&rows[0].get::<String, _>("prev_hash")).unwrap();
    for r in rows {
        let mut record = AuditRecord {
            seq: r.get("seq"),
            at: r.get("at"),
            operation_id: r.get("operation_id"),
            user_id: r.get("user_id"),
            org_id: r.get("org_id"),
            role: r.get("role"),
            action: r.get("action"),
            object_type: r.get("object_type"),
            object_id: r.get("object_id"),
            result: r.get("result"),
            source_ip: r.get("source_ip"),
            summary: r.get("summary"),
        };
        if record.seq == 5 {
            record.summary = "{\"forged\":true}".into();
        }
        let sealed = attacker.seal(&prev, record);
        sqlx::query("UPDATE audit_log SET summary = $1, prev_hash = $2, hash = $3, tag = $4 WHERE seq = $5")
            .bind(&sealed.record.summary)
            .bind(sealed.prev_hash.to_hex())
            .bind(sealed.hash.to_hex())
            .bind(sealed.tag.to_hex())
            .bind(sealed.record.seq)
            .execute(f.store.pool())
            .await
            .unwrap();
        prev = sealed.hash;
    }
    assert_fails_at(f.verify(), 5);
    f.done().await;
}

#[tokio::test]
async fn the_database_refuses_updates_and_deletes_of_audit_records() {
    let dir = std::env::temp_dir().join(format!("yunshu-ro-{}", unique()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.join("y.db").display());
    let key = AuditKey::generate().unwrap();
    let store = Store::open(&url, Arc::new(key)).await.unwrap();
    yunshu_server::demo::seed(&store, chrono::Utc::now()).await.unwrap();
    assert!(
        sqlx::query("UPDATE audit_log SET summary = 'x' WHERE seq = 1").execute(store.pool()).await.is_err()
    );
    assert!(sqlx::query("DELETE FROM audit_log WHERE seq = 1").execute(store.pool()).await.is_err());
    store.pool().close().await;
    let _ = std::fs::remove_dir_all(Path::new(&dir));
}

#[tokio::test]
async fn an_unsigned_tail_cut_away_with_its_objects_left_is_named() {
    // A crash before the next checkpoint, then in a copy of the database the newest records are
    // cut and the head reset: the chain alone is consistent, the data behind it is not.
    let f = fixture().await;
    let mut tx = f.store.begin(chrono::Utc::now(), &yunshu_store::AuditCtx::system("test")).await.unwrap();
    let org = tx
        .create_org(&yunshu_store::orgs::NewOrg {
            name: "无记录的单位".to_owned(),
            uscc: yunshu_domain::ids::Uscc::complete("9153010031009990").unwrap(),
            org_type: yunshu_domain::party::OrgType::Developer,
            region: yunshu_domain::regions::RegionCode::parse("530100").unwrap(),
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let max = f.max_seq().await;
    f.exec(&format!("DELETE FROM audit_log WHERE seq = {max}")).await;
    let (ok, text) = f.verify();
    assert!(!ok, "verification should fail:\n{text}");
    assert!(text.contains(&format!("org {org}")), "should name the org:\n{text}");
    f.done().await;
}
