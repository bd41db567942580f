//! A crash under write load (issue 12, item 6): the real binary is killed with SIGKILL while
//! anonymous objections (each an audited write) arrive; after the restart every acknowledged write is
//! there, the audit head is signed within seconds, and `yunshu audit verify` says the log is intact.
//! SQLite (the demo's database); the PostgreSQL kill runs are the issue's manual check.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// One HTTP/1.1 request with `Connection: close`; the status and the body (`None`: no answer).
fn http(port: u16, method: &str, path: &str, json: Option<&str>) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let body = json.unwrap_or("");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).ok()?;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.split(' ').nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Some((status, body))
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `yunshu <command>` (`demo` seeds and signs; `serve` only starts) on `dir`, once it answers.
fn start(command: &str, dir: &Path, port: u16) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_yunshu"))
        .args([command, "--port", &port.to_string(), "--data-dir"])
        .arg(dir)
        .env_remove("YUNSHU_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(120);
    while http(port, "GET", "/healthz", None).is_none_or(|(s, _)| s != 200) {
        assert!(Instant::now() < deadline, "the server did not start within 120 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

async fn scalar(db: &Path, sql: &str) -> i64 {
    use sqlx::ConnectOptions;
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new().filename(db).connect().await.unwrap();
    let v: Option<i64> =
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(&mut conn).await.unwrap();
    v.unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_kill_during_writes_nothing_acknowledged_is_lost_and_the_head_is_signed_within_seconds() {
    let dir = std::env::temp_dir().join(format!("yunshu-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let mut server = start("demo", &dir, port);

    // The demo's registration in public notice takes anonymous objections: each one an audited write.
    let (_, list) = http(port, "GET", "/api/v1/public/registrations", None).unwrap();
    let id: i64 = list
        .split("\"registration_id\":")
        .nth(1)
        .and_then(|rest| rest.split([',', '}']).next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no registration in notice: {list}"));
    let path = format!("/api/v1/public/registrations/{id}/objections");
    let body = r#"{"name":"压力测试","contact":"","content":"崩溃测试中提出的异议内容"}"#;
    // Writes arrive continuously from another thread; the server is killed in their midst.
    let acknowledged = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
    let writer = {
        let (acknowledged, path) = (acknowledged.clone(), path.clone());
        std::thread::spawn(move || {
            while let Some((status, _)) = http(port, "POST", &path, Some(body)) {
                if status == 201 {
                    acknowledged.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            }
        })
    };
    while acknowledged.load(std::sync::atomic::Ordering::SeqCst) < 30 {
        std::thread::sleep(Duration::from_millis(5));
    }
    // SIGKILL: no shutdown hook, no final checkpoint.
    server.0.kill().unwrap();
    server.0.wait().unwrap();
    writer.join().unwrap();
    let acknowledged = acknowledged.load(std::sync::atomic::Ordering::SeqCst);
    drop(server);

    let db = dir.join("yunshu.db");
    let port = free_port();
    // `serve`, not `demo`: the signature must come from the server's own start-up, not the seeding.
    let server = start("serve", &dir, port);
    let started = Instant::now();
    let stored = scalar(&db, "SELECT COUNT(*) FROM registration_objection").await;
    assert!(stored >= acknowledged, "{acknowledged} acknowledged, {stored} stored");
    loop {
        let head = scalar(&db, "SELECT seq FROM audit_head WHERE id = 1").await;
        let signed = scalar(&db, "SELECT MAX(seq) FROM audit_checkpoint").await;
        if signed >= head {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "the head #{head} stayed unsigned (#{signed}) after the restart"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(server);
    let out = Command::new(env!("CARGO_BIN_EXE_yunshu"))
        .args(["audit", "verify", "--data-dir"])
        .arg(&dir)
        .env_remove("YUNSHU_DATABASE_URL")
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("audit log intact"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}
