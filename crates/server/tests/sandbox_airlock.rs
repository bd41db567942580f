//! The airlock holds before release, and the sandbox never stops the platform:
//!
//! - two platforms whose data differ in one person's values answer the developer byte for byte the
//!   same (API, pages, history, outputs, to-dos, notifications) for the same real runs — including the
//!   attack run's bisection by a comparison of gated values, an error raised by a value, a narrowed
//!   aggregate and a differencing pair — while their reviewers see different things;
//! - health, pages and the API answer within a second while CPU-bound real runs saturate the sandbox;
//!   a run is cancelled by its own id; a stopping server ends within seconds and signs the audit head.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use yunshu_domain::ids::{ResidentId, Uscc};

const PEOPLE: usize = 300;
const MONTHS: [&str; 5] = ["2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01", "2026-05-01"];

fn employer(i: usize) -> String {
    Uscc::complete(&format!("915301{:02}MA0E{:04}", i % 12, i % 12)).unwrap().as_str().to_owned()
}

fn amount(person: usize, month: usize) -> f64 {
    let base = 3_000 + (person * 7919) % 9_000;
    (base as f64 * 0.16 * 100.0).round() / 100.0 + month as f64
}

/// What person 0 — the only one to pay in June — pays then: on one platform [`JUNE`], on the other
/// [`BUMPED`].
const JUNE: f64 = 1_234.56;
const BUMPED: f64 = 48_000.0;

/// 社会保险缴费信息 as a provider would upload it: everyone pays January to May, person 0 also June
/// (`bumped`: a different amount).
fn payments_csv(bumped: bool) -> Vec<u8> {
    let mut s = String::from(
        "参保人身份证号,参保人姓名,出生日期,参保地区县,缴费单位统一社会信用代码,缴费月份,缴费基数,缴费金额\n",
    );
    for p in 0..PEOPLE {
        let birth = format!("19{:02}{:02}{:02}", 60 + p % 40, 1 + p % 12, 1 + p % 28);
        let id = ResidentId::complete(&format!("530102{birth}{:03}", p % 1000)).unwrap();
        let born = format!("{}-{}-{}", &birth[..4], &birth[4..6], &birth[6..]);
        let base = 3_000 + (p * 7919) % 9_000;
        for (m, month) in MONTHS.iter().enumerate() {
            let a = amount(p, m);
            s.push_str(&format!(
                "{},测试{p:03},{born},530102,{},{month},{base},{a:.2}\n",
                id.as_str(),
                employer(p)
            ));
        }
        if p == 0 {
            let a = if bumped { BUMPED } else { JUNE };
            s.push_str(&format!(
                "{},测试{p:03},{born},530102,{},2026-06-01,{base},{a:.2}\n",
                id.as_str(),
                employer(p)
            ));
        }
    }
    s.into_bytes()
}

async fn post(app: &common::TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    let r = app.api_post(token, path, Some(body)).await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The demo with a new version of 社会保险缴费信息 (bumped or not) and a grant of the demo project
/// over it with k = 10 and no differential privacy. Returns the developer's token, the project and
/// the dataset's table name.
async fn platform(bumped: bool, config: yunshu_server::Config) -> (common::TestApp, String, i64, String) {
    let app = common::TestApp::spawn_with(config, common::test_now()).await;
    let hrss = app.token("hrss.clerk").await;
    let dev = app.token("fintech.clerk").await;
    let projects = app.api_get(&dev, "/api/v1/projects").await;
    let project = projects.as_array().unwrap().iter().find(|p| p["name"] == "小微企业信用评分模型").unwrap()
        ["id"]
        .as_i64()
        .unwrap();
    let rid =
        app.api_get(&dev, &format!("/api/v1/projects/{project}/sandbox")).await["tables"][0]["resource_id"]
            .as_i64()
            .unwrap();
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/resources/{rid}/versions?name=payments.csv", app.url))
        .bearer_auth(&hrss)
        .body(payments_csv(bumped))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let v: Value = r.json().await.unwrap();
    if v["status"] != "active" {
        let r = app.api_post(&hrss, &format!("/api/v1/versions/{}/accept", v["id"]), None).await;
        assert_eq!(r.status(), 200);
    }
    let op = app.token("op.clerk").await;
    let p = app.api_get(&dev, &format!("/api/v1/projects/{project}")).await;
    let first =
        p["grants"].as_array().unwrap().iter().min_by_key(|g| g["id"].as_i64().unwrap()).unwrap().clone();
    let fields: Vec<Value> = first["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| json!({"resource_id": f["resource_id"], "item": f["item"], "class": f["class"]}))
        .collect();
    let (s, v) = post(
        &app,
        &op,
        "/api/v1/grants",
        json!({"project_id": project, "assessment_id": first["assessment_id"], "k": 10, "fields": fields}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    (app, dev, project, format!("ds{rid}"))
}

/// The developer's real runs: the attack run's classes.
fn attack_queries(ds: &str) -> Vec<String> {
    let total: f64 = (0..PEOPLE).flat_map(|p| (0..5).map(move |m| amount(p, m))).sum();
    // Between the two platforms' totals: which side of it a total lies on is the hidden bit.
    let threshold = total + (JUNE + BUMPED) / 2.0;
    vec![
        format!(
            "SELECT 缴费月份, COUNT(DISTINCT 参保人身份证号) AS 人数, SUM(缴费金额) AS 总额 FROM {ds} GROUP BY 缴费月份"
        ),
        // The bisection of the attack run: a comparison of two gated totals that differ by one person.
        format!(
            "SELECT CASE WHEN a.s - b.s > {} THEN 0 ELSE 1 END AS bit FROM \
             (SELECT SUM(缴费金额) AS s FROM {ds}) a, \
             (SELECT SUM(缴费金额) AS s FROM {ds} WHERE 缴费月份 < DATE '2026-06-01') b",
            (JUNE + BUMPED) / 2.0
        ),
        // An error (division by zero) decided by a hidden value.
        format!(
            "SELECT 1 / (CASE WHEN s > {threshold:.2} THEN 0 ELSE 1 END) AS e FROM (SELECT SUM(缴费金额) AS s FROM {ds}) t"
        ),
        // A FILTER narrowed to the one June payer, next to everyone.
        format!(
            "SELECT COUNT(DISTINCT 参保人身份证号) AS n, SUM(缴费金额) FILTER (WHERE 缴费月份 = DATE '2026-06-01') AS v FROM {ds}"
        ),
        // A differencing pair across two outputs.
        format!("SELECT SUM(缴费金额) AS s FROM {ds}"),
        format!("SELECT SUM(缴费金额) AS s FROM {ds} WHERE 缴费月份 < DATE '2026-06-01'"),
        format!(
            "SELECT 缴费单位统一社会信用代码 AS 单位, AVG(缴费金额) AS 平均, VAR(缴费金额) AS 方差 FROM {ds} GROUP BY 1"
        ),
    ]
}

/// Replaces what differs between two sessions only — CSRF tokens, and the wall time of the demo's
/// dummy run (synthetic data; real runs show none) — so pages compare.
fn normalise(text: &str, csrf: &str) -> String {
    let mut text = if csrf.is_empty() { text.to_owned() } else { text.replace(csrf, "CSRF") };
    // A request's own operation id (random per request).
    while let Some(i) = text.find("\"operation_id\":\"") {
        let start = i + "\"operation_id\":\"".len();
        let end = text[start..].find('"').map(|e| start + e).unwrap_or(text.len());
        text.replace_range(i..end, "\"op\":\"ID");
    }
    while let Some(i) = text.find("操作编号：<code>") {
        let start = i + "操作编号：<code>".len();
        let end = text[start..].find('<').map(|e| start + e).unwrap_or(text.len());
        text.replace_range(i..end, "操作:ID");
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(i) = rest.find("\"elapsed_ms\":") {
        let (head, tail) = rest.split_at(i + "\"elapsed_ms\":".len());
        out.push_str(head);
        let digits = tail.chars().take_while(|c| c.is_ascii_digit()).count();
        out.push_str(if digits > 0 { "N" } else { "" });
        rest = &tail[digits..];
    }
    out.push_str(rest);
    out
}

/// Everything the developer can see after the runs, in order.
async fn developer_view(app: &common::TestApp, dev: &str, project: i64, outputs: &[i64]) -> Vec<String> {
    let (web, csrf) = app.login("fintech.clerk").await;
    let mut seen = Vec::new();
    for path in [
        format!("/api/v1/projects/{project}/sandbox"),
        format!("/api/v1/projects/{project}/sandbox/queries"),
        format!("/api/v1/projects/{project}/outputs"),
        "/api/v1/todo".to_owned(),
    ] {
        let r =
            reqwest::Client::new().get(format!("{}{path}", app.url)).bearer_auth(dev).send().await.unwrap();
        seen.push(format!("{path} {} {}", r.status(), normalise(&r.text().await.unwrap(), "")));
    }
    for o in outputs {
        let r = reqwest::Client::new()
            .get(format!("{}/api/v1/outputs/{o}", app.url))
            .bearer_auth(dev)
            .send()
            .await
            .unwrap();
        seen.push(format!("output {o} {} {}", r.status(), r.text().await.unwrap()));
        for page in [
            format!("/outputs/{o}"),
            format!("/api/v1/outputs/{o}/data"),
            format!("/outputs/{o}/download/csv"),
        ] {
            let r = web.get(format!("{}{page}", app.url)).send().await.unwrap();
            seen.push(format!("{page} {} {}", r.status(), normalise(&r.text().await.unwrap(), &csrf)));
        }
    }
    for page in [format!("/projects/{project}/workspace"), "/outputs".to_owned(), "/".to_owned()] {
        let r = web.get(format!("{}{page}", app.url)).send().await.unwrap();
        seen.push(format!("{page} {} {}", r.status(), normalise(&r.text().await.unwrap(), &csrf)));
    }
    seen
}

#[tokio::test]
async fn the_developer_sees_the_same_whatever_one_persons_values_are() {
    let mut views = Vec::new();
    let mut reviewer_views = Vec::new();
    for bumped in [false, true] {
        let (app, dev, project, ds) = platform(bumped, yunshu_server::Config::default()).await;
        let mut answers = Vec::new();
        let mut outputs = Vec::new();
        for sql in attack_queries(&ds) {
            let (s, v) = post(
                &app,
                &dev,
                &format!("/api/v1/projects/{project}/sandbox/queries"),
                json!({"sql": sql, "mode": "real"}),
            )
            .await;
            assert_eq!(s, 200, "{v}");
            assert_eq!(v["outcome"], "submitted", "{sql}: {v}");
            outputs.push(v["output_id"].as_i64().unwrap());
            answers.push(v.to_string());
        }
        // One withdrawn while it may still run, one after it ran: the same answer.
        let (s, w) = post(&app, &dev, &format!("/api/v1/outputs/{}/withdraw", outputs[6]), json!({})).await;
        assert_eq!(s, 200, "{w}");
        answers.push(w.to_string());
        app.state.sandbox.settle().await;
        let (s, w) = post(&app, &dev, &format!("/api/v1/outputs/{}/withdraw", outputs[2]), json!({})).await;
        assert_eq!(s, 200, "{w}");
        answers.push(w.to_string());
        answers.extend(developer_view(&app, &dev, project, &outputs).await);
        views.push(answers);
        let r1 = app.token("op.reviewer1").await;
        let mut r = Vec::new();
        for o in &outputs {
            r.push(app.api_get(&r1, &format!("/api/v1/outputs/{o}")).await);
        }
        reviewer_views.push(r);
        app.stop().await;
    }
    let (a, b) = (&views[0], &views[1]);
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        if x != y {
            let at =
                x.char_indices().zip(y.chars()).find(|((_, p), q)| p != q).map(|((i, _), _)| i).unwrap_or(0);
            let from = x.floor_char_boundary(at.saturating_sub(60));
            let to_x = x.ceil_char_boundary((at + 120).min(x.len()));
            let to_y = y.ceil_char_boundary((at + 120).min(y.len()));
            panic!(
                "the developer could tell the two platforms apart:\n{}\n---\n{}",
                &x[from..to_x],
                &y[from.min(y.len())..to_y]
            );
        }
    }
    // The data did differ where the reviewers look: the filtered value of the bumped person's
    // employer, the monthly table's checks and the variances.
    assert_ne!(reviewer_views[0], reviewer_views[1]);
    // The division by a hidden value failed on one platform only; its reviewers see why.
    let runs: Vec<&Value> = reviewer_views.iter().map(|v| &v[2]["run_state"]).collect();
    assert!(runs.contains(&&json!("failed")) && runs.contains(&&json!("done")), "{runs:?}");
    // The June value narrowed by FILTER is suppressed on both.
    for v in &reviewer_views {
        assert!(v[3]["check_report"].to_string().contains("gate.threshold"), "{}", v[3]);
    }
    // The comparison of two gated totals is held for review as a differencing pair.
    let pair = &reviewer_views[0][1];
    assert!(pair["check_report"].to_string().contains("differencing"), "{pair}");
    // The pair of totals across outputs, too.
    let later = &reviewer_views[0][5];
    assert!(later["check_report"].to_string().contains("differencing.history"), "{later}");
}

/// A join that multiplies the rows of each month three times over: billions of rows, CPU-bound.
fn heavy(ds: &str) -> String {
    format!(
        "SELECT a.缴费月份, COUNT(*) AS n FROM {ds} a JOIN {ds} b ON a.缴费月份 = b.缴费月份 \
         JOIN {ds} c ON b.缴费月份 = c.缴费月份 GROUP BY a.缴费月份"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_pages_and_api_answer_while_the_sandbox_is_saturated() {
    let config = yunshu_server::Config { sandbox_concurrent_runs: 2, ..Default::default() };
    let (app, dev, project, ds) = platform(false, config).await;
    let mut outputs = Vec::new();
    for _ in 0..3 {
        let (s, v) = post(
            &app,
            &dev,
            &format!("/api/v1/projects/{project}/sandbox/queries"),
            json!({"sql": heavy(&ds), "mode": "real"}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["outcome"], "submitted", "{v}");
        outputs.push(v["output_id"].as_i64().unwrap());
    }
    // Let the runs start and take the sandbox's threads.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (web, _) = app.login("fintech.clerk").await;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    for _ in 0..10 {
        for (what, url) in
            [("health", format!("{}/healthz", app.url)), ("login page", format!("{}/login", app.url))]
        {
            let t = Instant::now();
            let r = client.get(&url).send().await.unwrap();
            assert!(r.status().is_success(), "{what}: {}", r.status());
            assert!(t.elapsed() < Duration::from_secs(1), "{what} took {:?}", t.elapsed());
        }
        let t = Instant::now();
        let r = web.get(format!("{}/projects/{project}/workspace", app.url)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(t.elapsed() < Duration::from_secs(1), "the workspace took {:?}", t.elapsed());
        let t = Instant::now();
        let r = reqwest::Client::new()
            .get(format!("{}/api/v1/projects/{project}/outputs", app.url))
            .bearer_auth(&dev)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(t.elapsed() < Duration::from_secs(1), "the API took {:?}", t.elapsed());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let r1 = app.token("op.reviewer1").await;
    let running = app.api_get(&r1, &format!("/api/v1/outputs/{}", outputs[0])).await;
    assert_eq!(running["run_state"], "running", "{running}");
    // Each run is cancelled by its own id: the first stops, the others keep running.
    let (s, v) = post(&app, &dev, &format!("/api/v1/outputs/{}/withdraw", outputs[0]), json!({})).await;
    assert_eq!(s, 200, "{v}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let second = app.api_get(&r1, &format!("/api/v1/outputs/{}", outputs[1])).await;
    assert_eq!(second["run_state"], "running", "cancelling one run leaves the others: {second}");
    for o in &outputs[1..] {
        let (s, v) = post(&app, &dev, &format!("/api/v1/outputs/{o}/withdraw"), json!({})).await;
        assert_eq!(s, 200, "{v}");
    }
    let t = Instant::now();
    tokio::time::timeout(Duration::from_secs(10), app.state.sandbox.settle())
        .await
        .expect("runs stop on cancel");
    println!("the cancelled runs stopped within {:?}", t.elapsed());
    for o in &outputs {
        let v = app.api_get(&r1, &format!("/api/v1/outputs/{o}")).await;
        assert_eq!(v["status"], "withdrawn", "{v}");
        assert_eq!(v["run_state"], "cancelled", "{v}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_server_ends_within_seconds_with_runs_saturating_the_sandbox() {
    let (app, dev, project, ds) = platform(false, yunshu_server::Config::default()).await;
    let mut outputs = Vec::new();
    for _ in 0..3 {
        let (_, v) = post(
            &app,
            &dev,
            &format!("/api/v1/projects/{project}/sandbox/queries"),
            json!({"sql": heavy(&ds), "mode": "real"}),
        )
        .await;
        outputs.push(v["output_id"].as_i64().unwrap());
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut app = app;
    let t = Instant::now();
    tokio::time::timeout(Duration::from_secs(10), app.stop_server())
        .await
        .expect("the server stops within 10 s");
    println!("stopped in {:?}", t.elapsed());
    // The final checkpoint signed the head.
    let again = app.state.store.checkpoint_head(common::test_now()).await.unwrap();
    assert!(again.is_none(), "the audit head was not signed at shutdown");
    // The runs stay queued for the next start (they were stopped, not failed).
    for o in &outputs {
        let out = app.state.store.sandbox_output(*o).await.unwrap();
        assert!(["queued", "running"].contains(&out.run_state.as_str()), "{out:?}");
    }
    app.stop().await;
}
