//! Faults, races and bad input (issue 12): 16 concurrent clients on one transition, on whichever
//! backend the test kit runs (SQLite, or PostgreSQL in CI's second run).
//!
//! - two (sixteen) imports into one resource at once: every acknowledged version has its object,
//!   numbers are distinct, nothing is left in staging (item 2);
//! - sixteen catalogue creations of one organisation at once: all 201, distinct codes (item 3);
//! - a burst of wrong passwords with the right one among them: at most `lockout_failures`
//!   passwords are checked (item 5);
//! - the audit head is signed at start and within seconds of a write (item 6);
//! - liveness and readiness, a scenario that does not exist, control and bidi characters, serde's
//!   English, a bad bearer token on a page (items 8 and 9);
//! - seeding the demo twice seeds nothing twice (item 11).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use std::time::{Duration, Instant};

use serde_json::{Value, json};

const CLIENTS: usize = 16;

fn resource_body(name: &str) -> Value {
    json!({
        "classification": "301001020",
        "name": name,
        "abstract_text": "用于检验并发与故障处理的企业基本信息",
        "sharing_type": "conditional",
        "sharing_conditions": "授权运营场景内使用",
        "update_cycle": "monthly"
    })
}

/// Files under `dir`, recursively, as paths relative to it.
fn files(dir: &std::path::Path) -> Vec<String> {
    fn walk(root: &std::path::Path, dir: &std::path::Path, out: &mut Vec<String>) {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(root, &p, out);
                } else {
                    out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_imports_and_creations_each_get_their_own_number_and_object() {
    let app = common::TestApp::spawn().await;
    let amr = app.token("amr.clerk").await;

    // Item 3: sixteen creations of one organisation at once.
    let creations = (0..CLIENTS).map(|i| {
        let (url, token) = (app.url.clone(), amr.clone());
        tokio::spawn(async move {
            reqwest::Client::new()
                .post(format!("{url}/api/v1/resources"))
                .bearer_auth(token)
                .json(&resource_body(&format!("并发编目测试资源{i}")))
                .send()
                .await
                .unwrap()
        })
    });
    let mut codes = std::collections::HashSet::new();
    let mut ids = Vec::new();
    for c in creations {
        let r = c.await.unwrap();
        assert_eq!(r.status(), 201, "a concurrent creation was refused: {}", r.text().await.unwrap());
        let v: Value = r.json().await.unwrap();
        let id = v["id"].as_i64().unwrap();
        let code = app.state.store.resource(id).await.unwrap().code.to_string();
        assert!(codes.insert(code.clone()), "two resources got the code {code}");
        ids.push(id);
    }

    // Item 2: sixteen imports into one resource at once.
    let id = ids[0];
    let items = json!({"items": [
        {"name": "企业名称", "kind": "text", "grade": "l1"},
        {"name": "注册资本", "kind": "decimal", "grade": "l2"}
    ]});
    let r = reqwest::Client::new()
        .put(format!("{}/api/v1/resources/{id}/items", app.url))
        .bearer_auth(&amr)
        .json(&items)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let imports = (0..CLIENTS).map(|i| {
        let (url, token) = (app.url.clone(), amr.clone());
        let mut body = String::from("企业名称,注册资本\n");
        for n in 0..(2000 + i * 10) {
            body += &format!("企业{n},{}.5\n", 100 + n);
        }
        tokio::spawn(async move {
            reqwest::Client::new()
                .post(format!("{url}/api/v1/resources/{id}/versions?name=v{i}.csv"))
                .bearer_auth(token)
                .body(body)
                .send()
                .await
                .unwrap()
        })
    });
    let mut acknowledged = 0;
    for r in imports {
        let r = r.await.unwrap();
        assert_eq!(r.status(), 201, "a concurrent import failed: {}", r.text().await.unwrap());
        acknowledged += 1;
    }
    let versions = app.state.store.versions_of(id).await.unwrap();
    assert_eq!(versions.len(), acknowledged);
    let mut numbers: Vec<i64> = versions.iter().map(|v| v.version_no).collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=CLIENTS as i64).collect::<Vec<_>>(), "numbers are not 1..=16 without gaps");
    let on_disk = files(&app.dir.join("objects"));
    for v in &versions {
        assert!(on_disk.contains(&v.new.object_path), "version {} lost its object", v.version_no);
        // And it reads back (the object is whole, not another import's half).
        let bytes = object_store::ObjectStoreExt::get(
            &*app.state.objects,
            &object_store::path::Path::from(v.new.object_path.as_str()),
        )
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
        assert!(bytes.starts_with(b"PAR1"));
    }
    let leftovers: Vec<&String> = on_disk
        .iter()
        .filter(|p| {
            p.starts_with(&format!("resources/{id}/")) && !versions.iter().any(|v| v.new.object_path == **p)
        })
        .collect();
    assert!(leftovers.is_empty(), "staging or orphaned objects left: {leftovers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_guesses_checks_at_most_the_allowed_number_of_passwords() {
    let app = common::TestApp::spawn().await;
    let c = app.client();
    let pre = app.csrf(&c, "/login").await;
    let user = app.user_id("fintech.clerk").await;
    let guesses = (0..CLIENTS).map(|i| {
        let (c, url, pre) = (c.clone(), app.url.clone(), pre.clone());
        let password = if i == CLIENTS - 1 {
            yunshu_server::demo::DEMO_PASSWORD.to_owned()
        } else {
            format!("wrong-{i}")
        };
        tokio::spawn(async move {
            c.post(format!("{url}/login"))
                .form(&[
                    ("_csrf", pre.as_str()),
                    ("username", "fintech.clerk"),
                    ("password", password.as_str()),
                ])
                .send()
                .await
                .unwrap()
                .status()
        })
    });
    let mut signed_in = 0;
    for g in guesses {
        let status = g.await.unwrap();
        assert!(status == 303 || status == 401, "unexpected {status}");
        signed_in += usize::from(status == 303);
    }
    let records = app.state.store.audit_recent(Some(("user", &user.to_string())), 200).await.unwrap();
    let checked =
        records.iter().filter(|r| r.record.action == "auth.login" && r.record.result == "attempt").count();
    let limit = usize::try_from(app.state.config.lockout_failures).unwrap();
    assert!(checked <= limit, "{checked} passwords were checked, more than {limit}");
    assert!(signed_in <= 1);
    // Whatever happened, wrong guesses alone never sign in, and a locked account stays locked.
    let u = app.state.store.user_by_username("fintech.clerk").await.unwrap().unwrap();
    if signed_in == 0 {
        assert!(u.locked_until.is_some(), "{checked} wrong guesses did not lock the account");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_audit_head_is_signed_at_start_and_within_seconds_of_a_write() {
    let app = common::TestApp::spawn().await;
    let signed = |app: &common::TestApp| {
        let store = app.state.store.clone();
        async move { store.audit_head().await.unwrap().0 == store.last_checkpoint_seq().await.unwrap() }
    };
    let start = Instant::now();
    while !signed(&app).await {
        assert!(start.elapsed() < Duration::from_secs(3), "the seeded head was not signed at start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let amr = app.token("amr.clerk").await;
    let r = app.api_post(&amr, "/api/v1/resources", Some(resource_body("签名检验资源"))).await;
    assert_eq!(r.status(), 201);
    let start = Instant::now();
    while !signed(&app).await {
        assert!(start.elapsed() < Duration::from_secs(3), "a write stayed unsigned for 3 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn health_readiness_and_bad_requests_are_answered_plainly() {
    let app = common::TestApp::spawn().await;
    let client = reqwest::Client::new();
    for path in ["/healthz", "/readyz"] {
        let r = client.get(format!("{}{path}", app.url)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.json::<Value>().await.unwrap()["status"], "ok");
    }
    let fintech = app.token("fintech.clerk").await;
    // A scenario that does not exist is a 404, not "no access".
    let r = client
        .get(format!("{}/api/v1/scenarios/987654/access", app.url))
        .bearer_auth(&fintech)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // Names with NUL, bidi overrides or only zero-width characters: 422 in Chinese naming the field.
    let amr = app.token("amr.clerk").await;
    for name in ["企业\u{0}信息", "\u{202E}息信业企", "\u{200B}\u{200B}\u{FEFF}"] {
        let r = app.api_post(&amr, "/api/v1/resources", Some(resource_body(name))).await;
        assert_eq!(r.status(), 422, "{name:?}");
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["code"], "request.bad_text");
        assert!(e["message"].as_str().unwrap().contains("字段「name」"), "{e}");
    }
    // A number where a number is due: Chinese, naming the field, no serde English.
    let mut body = resource_body("类型错误检验");
    body["update_cycle"] = json!(12);
    let r = app.api_post(&amr, "/api/v1/resources", Some(body)).await;
    assert_eq!(r.status(), 422);
    let e: Value = r.json().await.unwrap();
    let message = e["message"].as_str().unwrap();
    assert!(message.contains("update_cycle"), "{message}");
    assert!(!message.contains("invalid") && !message.contains("expected"), "serde's English: {message}");

    // A page with a bad bearer token is told so, not redirected to /login forever.
    let c = app.client();
    let r = c.get(format!("{}/catalog", app.url)).bearer_auth("not-a-token").send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = c.get(format!("{}/login", app.url)).bearer_auth("not-a-token").send().await.unwrap();
    assert_ne!(r.status(), 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn seeding_the_demo_again_seeds_nothing_twice() {
    let app = common::TestApp::spawn().await;
    let now = common::test_now();
    let plans = app.state.store.plans().await.unwrap().len();
    let resources = app.state.store.resources(&Default::default()).await.unwrap().len();
    let orgs = app.state.store.count_orgs().await.unwrap();
    yunshu_server::demo::seed(&app.state.store, now).await.unwrap();
    yunshu_server::demo::seed_catalog(&app.state, now).await.unwrap();
    yunshu_server::demo::seed_onboarding(&app.state, now).await.unwrap();
    yunshu_server::demo::seed_evaluations(&app.state, now).await.unwrap();
    yunshu_server::demo::seed_plans(&app.state, now).await.unwrap();
    yunshu_server::demo::seed_sanctions(&app.state, now).await.unwrap();
    yunshu_server::demo::seed_data_use(&app.state, now).await.unwrap();
    assert_eq!(app.state.store.plans().await.unwrap().len(), plans);
    assert_eq!(app.state.store.resources(&Default::default()).await.unwrap().len(), resources);
    assert_eq!(app.state.store.count_orgs().await.unwrap(), orgs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn what_interrupted_imports_leave_is_swept_and_nothing_else() {
    let app = common::TestApp::spawn().await;
    let objects = app.dir.join("objects");
    let old = std::time::SystemTime::now() - Duration::from_secs(3600);
    let write = |path: &str, aged: bool| {
        let p = objects.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, b"left behind").unwrap();
        if aged {
            std::fs::File::options().write(true).open(&p).unwrap().set_modified(old).unwrap();
        }
    };
    // A version that is recorded keeps its object, however old.
    let recorded = files(&objects).into_iter().filter(|p| p.ends_with(".parquet")).collect::<Vec<_>>();
    assert!(!recorded.is_empty(), "the demo has versions");
    for p in &recorded {
        std::fs::File::options().write(true).open(objects.join(p)).unwrap().set_modified(old).unwrap();
    }
    let resource = recorded[0].split('/').nth(1).unwrap().to_owned();
    write(&format!("resources/{resource}/a.parquet.staging-1-2-3"), true);
    write(&format!("resources/{resource}/a.parquet.staging-1-2-3#7"), true);
    write(&format!("resources/{resource}/orphan.parquet"), true);
    // An import in progress (fresh files) is left alone.
    write(&format!("resources/{resource}/b.parquet.staging-4-5-6#1"), false);
    write(&format!("resources/{resource}/fresh.parquet"), false);
    let report = yunshu_server::services::sweep::sweep_all(&app.state).await.unwrap();
    assert_eq!(report.staging, 2);
    assert_eq!(report.unreferenced, 1);
    let left = files(&objects);
    for p in &recorded {
        assert!(left.contains(p), "recorded {p} was swept");
    }
    assert!(left.contains(&format!("resources/{resource}/b.parquet.staging-4-5-6#1")));
    assert!(left.contains(&format!("resources/{resource}/fresh.parquet")));
    assert!(!left.contains(&format!("resources/{resource}/orphan.parquet")));
}

/// A TCP proxy to PostgreSQL that the test can cut (existing connections dropped, new ones closed
/// at once) and restore: the database "stops" without stopping the server other tests share.
struct DbProxy {
    port: u16,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    links: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl DbProxy {
    async fn start(target: String) -> DbProxy {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let links = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (up2, links2) = (up.clone(), links.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !up2.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let target = target.clone();
                let link = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                links2.lock().unwrap().push(link);
            }
        });
        DbProxy { port, up, links }
    }

    fn cut(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_the_database_unreachable_pages_and_the_api_answer_503_within_two_seconds() {
    // PostgreSQL only: an embedded SQLite cannot become unreachable.
    let Ok(base) = std::env::var("YUNSHU_TEST_DATABASE_URL") else { return };
    if !base.starts_with("postgres") {
        return;
    }
    let proxy = DbProxy::start("127.0.0.1:5432".to_owned()).await;
    let port = proxy.port;
    let app = common::TestApp::spawn_rewriting(yunshu_server::Config::default(), common::test_now(), |url| {
        url.replacen("127.0.0.1:5432", &format!("127.0.0.1:{port}"), 1)
    })
    .await;
    let token = app.token("amr.clerk").await;
    let (page_client, _) = app.login("amr.clerk").await;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let get = |path: &str| client.get(format!("{}{path}", app.url)).bearer_auth(&token).send();
    assert_eq!(get("/api/v1/resources").await.unwrap().status(), 200);

    proxy.cut();
    let t = Instant::now();
    let r = client.get(format!("{}/readyz", app.url)).send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert!(t.elapsed() < Duration::from_millis(1300), "readiness took {:?}", t.elapsed());
    let t = Instant::now();
    assert_eq!(client.get(format!("{}/healthz", app.url)).send().await.unwrap().status(), 200);
    assert!(t.elapsed() < Duration::from_millis(500), "liveness took {:?}", t.elapsed());
    for _ in 0..3 {
        let t = Instant::now();
        let r = get("/api/v1/resources").await.unwrap();
        assert!(t.elapsed() < Duration::from_secs(2), "the API took {:?}", t.elapsed());
        assert_eq!(r.status(), 503);
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["code"], "db.unavailable");
        assert!(e["message"].as_str().unwrap().contains("数据库暂时无法连接"));
        let t = Instant::now();
        let r = page_client.get(format!("{}/catalog", app.url)).send().await.unwrap();
        assert!(t.elapsed() < Duration::from_secs(2), "a page took {:?}", t.elapsed());
        assert_eq!(r.status(), 503);
        assert!(r.text().await.unwrap().contains("数据库暂时无法连接"));
    }

    // Back without a restart.
    proxy.restore();
    let t = Instant::now();
    loop {
        if get("/api/v1/resources").await.is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "the platform did not recover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(client.get(format!("{}/readyz", app.url)).send().await.unwrap().status(), 200);
}
