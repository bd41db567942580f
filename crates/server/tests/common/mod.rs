//! Test kit: starts the real server on port 0 with a fresh database and the demo story seeded.
//!
//! The database is SQLite in a temporary directory, or — when `YUNSHU_TEST_DATABASE_URL` names a
//! PostgreSQL database (e.g. `postgres://postgres@127.0.0.1:5432/postgres`) — a scratch database created
//! beside it for this test and dropped afterwards. CI sets `YUNSHU_TEST_REQUIRE_POSTGRES=1` for the
//! PostgreSQL run so that a missing server fails instead of silently testing SQLite.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use yunshu_audit::AuditKey;
use yunshu_server::{AppState, Config};
use yunshu_store::Store;

pub struct TestApp {
    pub url: String,
    pub state: AppState,
    /// Seconds added to the fixed "now" of the test clock (see [`TestApp::advance`]).
    pub clock_offset: Arc<std::sync::atomic::AtomicI64>,
    pub dir: PathBuf,
    pg: Option<(String, String)>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<()>>,
}

/// The fixed "now" of tests: 2026-11-27 10:00 Beijing time.
pub fn test_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 2, 0, 0).unwrap()
}

fn unique() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!("{}_{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst))
}

pub async fn database() -> (String, PathBuf, Option<(String, String)>) {
    let dir = std::env::temp_dir().join(format!("yunshu-test-{}", unique()));
    std::fs::create_dir_all(&dir).unwrap();
    match std::env::var("YUNSHU_TEST_DATABASE_URL") {
        Ok(base) if base.starts_with("postgres") => {
            let name = format!("yunshu_t_{}", unique());
            let url = yunshu_store::scratch::create_postgres(&base, &name)
                .await
                .expect("cannot create a scratch PostgreSQL database");
            (url, dir, Some((base, name)))
        }
        _ => {
            if std::env::var("YUNSHU_TEST_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
                panic!(
                    "YUNSHU_TEST_REQUIRE_POSTGRES=1 but YUNSHU_TEST_DATABASE_URL is not a postgres:// URL"
                );
            }
            (format!("sqlite://{}?mode=rwc", dir.join("test.db").display()), dir, None)
        }
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(Config::default(), test_now()).await
    }

    pub async fn spawn_with(config: Config, now: DateTime<Utc>) -> TestApp {
        TestApp::spawn_rewriting(config, now, |url| url.to_owned()).await
    }

    /// As [`TestApp::spawn_with`], the server reaching its database at `rewrite(url)` (through a
    /// proxy the test controls, say).
    pub async fn spawn_rewriting(
        config: Config,
        now: DateTime<Utc>,
        rewrite: impl Fn(&str) -> String,
    ) -> TestApp {
        let (db_url, dir, pg) = database().await;
        let db_url = rewrite(&db_url);
        let key = AuditKey::load_or_create(&dir.join("keys/audit-signing.key")).unwrap();
        let store = Store::open(&db_url, Arc::new(key)).await.unwrap();
        yunshu_server::demo::seed(&store, now).await.unwrap();
        let clock_offset = Arc::new(std::sync::atomic::AtomicI64::new(0));
        let offset = clock_offset.clone();
        let clock: yunshu_server::Clock = Arc::new(move || {
            now + chrono::Duration::seconds(offset.load(std::sync::atomic::Ordering::SeqCst))
        });
        let state = AppState::new(store, config, clock, dir.join("audit/checkpoints.log"), &dir).unwrap();
        yunshu_server::demo::seed_catalog(&state, now).await.unwrap();
        yunshu_server::demo::seed_onboarding(&state, now).await.unwrap();
        yunshu_server::demo::seed_evaluations(&state, now).await.unwrap();
        yunshu_server::demo::seed_plans(&state, now).await.unwrap();
        yunshu_server::demo::seed_sanctions(&state, now).await.unwrap();
        yunshu_server::demo::seed_data_use(&state, now).await.unwrap();
        std::fs::create_dir_all(dir.join("audit")).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let s = state.clone();
        let handle = tokio::spawn(async move {
            yunshu_server::serve_on(s, listener, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        TestApp { url, state, clock_offset, dir, pg, shutdown: Some(tx), handle: Some(handle) }
    }

    /// Moves the test clock forward.
    pub fn advance(&self, d: chrono::Duration) {
        self.clock_offset.fetch_add(d.num_seconds(), std::sync::atomic::Ordering::SeqCst);
    }

    /// A client with its own cookie jar (no redirects followed, so tests see 303s).
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    /// The CSRF token in the first `_csrf` field of a page.
    pub async fn csrf(&self, client: &reqwest::Client, path: &str) -> String {
        let body = client.get(format!("{}{path}", self.url)).send().await.unwrap().text().await.unwrap();
        csrf_of(&body)
    }

    /// Logs in through the login form; returns the client and its session CSRF token.
    pub async fn login(&self, username: &str) -> (reqwest::Client, String) {
        let c = self.client();
        let pre = self.csrf(&c, "/login").await;
        let r = c
            .post(format!("{}/login", self.url))
            .form(&[
                ("_csrf", pre.as_str()),
                ("username", username),
                ("password", yunshu_server::demo::DEMO_PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "login of {username} failed");
        let csrf = self.csrf(&c, "/account").await;
        (c, csrf)
    }

    /// An API token for a demo user (issued through the API itself).
    pub async fn token(&self, username: &str) -> String {
        let (c, csrf) = self.login(username).await;
        let r = c
            .post(format!("{}/api/v1/tokens", self.url))
            .header("x-csrf-token", &csrf)
            .json(&serde_json::json!({"name": "test", "days": 30}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        r.json::<serde_json::Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
    }

    /// `GET` an API path with a bearer token; asserts 200 and returns the JSON.
    pub async fn api_get(&self, token: &str, path: &str) -> serde_json::Value {
        let r = reqwest::Client::new()
            .get(format!("{}{path}", self.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().await.unwrap()
    }

    /// `POST` to an API path with a bearer token and an optional JSON body.
    pub async fn api_post(
        &self,
        token: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> reqwest::Response {
        let mut req = reqwest::Client::new().post(format!("{}{path}", self.url)).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.unwrap()
    }

    pub async fn user_id(&self, username: &str) -> i64 {
        self.state.store.user_by_username(username).await.unwrap().unwrap().id
    }

    /// Stops the server (graceful shutdown, final checkpoint) and keeps the database.
    pub async fn stop_server(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = h.await;
        }
    }

    pub async fn stop(mut self) {
        self.stop_server().await;
        self.state.store.pool().close().await;
        if let Some((base, name)) = self.pg.take() {
            let _ = yunshu_store::scratch::drop_postgres(&base, &name).await;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn csrf_of(body: &str) -> String {
    let marker = "name=\"_csrf\" value=\"";
    let i = body.find(marker).expect("page has no CSRF field") + marker.len();
    body[i..].split('"').next().unwrap().to_owned()
}
