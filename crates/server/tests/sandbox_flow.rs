//! The sandbox end to end through the API, on the demo's grant (滇金普惠's project over 省人社厅's
//! social-insurance payments): the catalog with usage classes, a run on dummy data with a full result
//! and the real-policy pre-check, a real run that is only "submitted" for the developer and lands in
//! the outbox with its check report for the reviewers, the reviewers' to-do and their audited look,
//! two different reviewers for the grant's grade (never the requester, never a non-reviewer, one
//! review each however many requests arrive), downloads as CSV, XLSX and Parquet (audited, SM3
//! stable), a differencing pair held for review across the query history, withdrawal by output id,
//! and revocation stopping the next query at once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use serde_json::{Value, json};

async fn post(app: &common::TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    let r = app.api_post(token, path, Some(body)).await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn get_raw(app: &common::TestApp, token: &str, path: &str) -> (u16, Vec<u8>) {
    let r = reqwest::Client::new().get(format!("{}{path}", app.url)).bearer_auth(token).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.bytes().await.unwrap().to_vec())
}

async fn demo_project(app: &common::TestApp, dev: &str) -> i64 {
    let projects = app.api_get(dev, "/api/v1/projects").await;
    projects.as_array().unwrap().iter().find(|p| p["name"] == "小微企业信用评分模型").unwrap()["id"]
        .as_i64()
        .unwrap()
}

/// The demo with DP bounds for the payment fields (the demo grant carries an ε budget).
async fn spawn() -> common::TestApp {
    let mut config = yunshu_server::Config::default();
    config.dp.bounds =
        yunshu_server::DpSettings::parse_bounds("缴费金额 = 0..5000\n缴费基数 = 0..30000").unwrap();
    common::TestApp::spawn_with(config, common::test_now()).await
}

/// A grant of the demo project over the same fields as its first grant, with `k` and no ε.
async fn regrant(app: &common::TestApp, op: &str, dev: &str, project: i64, k: u32) -> i64 {
    let p = app.api_get(dev, &format!("/api/v1/projects/{project}")).await;
    let first =
        p["grants"].as_array().unwrap().iter().min_by_key(|g| g["id"].as_i64().unwrap()).unwrap().clone();
    let fields: Vec<Value> = first["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| json!({"resource_id": f["resource_id"], "item": f["item"], "class": f["class"]}))
        .collect();
    let (s, v) = post(
        app,
        op,
        "/api/v1/grants",
        json!({"project_id": project, "assessment_id": first["assessment_id"], "k": k, "fields": fields}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    v["id"].as_i64().unwrap()
}

async fn run(app: &common::TestApp, dev: &str, project: i64, sql: &str, mode: &str) -> Value {
    let (s, v) = post(
        app,
        dev,
        &format!("/api/v1/projects/{project}/sandbox/queries"),
        json!({"sql": sql, "mode": mode}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    v
}

#[tokio::test]
async fn dummy_real_review_release_download() {
    let app = spawn().await;
    let dev = app.token("fintech.clerk").await;
    let r1 = app.token("op.reviewer1").await;
    let r2 = app.token("op.reviewer2").await;
    let head = app.token("op.head").await;
    let amr = app.token("amr.clerk").await;
    let project = demo_project(&app, &dev).await;

    // The catalog: the granted dataset with each field's usage class; hidden fields are absent.
    let cat = app.api_get(&dev, &format!("/api/v1/projects/{project}/sandbox")).await;
    let tables = cat["tables"].as_array().unwrap();
    assert_eq!(tables.len(), 1, "{cat}");
    let t = &tables[0];
    assert_eq!(t["available"], true, "{t}");
    let ds = t["name"].as_str().unwrap().to_owned();
    let cols: Vec<&str> =
        t["columns"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert!(cols.contains(&"参保人身份证号") && cols.contains(&"缴费金额"), "{cols:?}");
    assert!(!cols.contains(&"参保人姓名"), "an ungranted field is not in the catalog: {cols:?}");
    let id_col = t["columns"].as_array().unwrap().iter().find(|c| c["name"] == "参保人身份证号").unwrap();
    assert_eq!(id_col["class_label"], "仅作关联键（假名化）");

    // Dummy data: any SQL, full results, plus what the real policy would say.
    let v = run(&app, &dev, project, &format!("SELECT 参保人身份证号, 缴费金额 FROM {ds} LIMIT 5"), "dummy")
        .await;
    assert_eq!(v["outcome"], "ok", "{v}");
    assert_eq!(v["rows"].as_array().unwrap().len(), 5);
    assert!(!v["real_check"].as_str().unwrap().is_empty(), "raw rows would be refused on real data: {v}");
    let by_month = format!(
        "SELECT 缴费月份, COUNT(DISTINCT 参保人身份证号) AS 人数, SUM(缴费金额) AS 缴费总额 FROM {ds} GROUP BY 缴费月份 ORDER BY 缴费月份"
    );
    let v = run(&app, &dev, project, &by_month, "dummy").await;
    assert_eq!(v["outcome"], "ok", "{v}");
    assert_eq!(v["real_check"], "", "{v}");
    assert!(!v["rows"].as_array().unwrap().is_empty());

    // Real data: refused shapes are refused with a stable code, and nothing is returned.
    let v = run(&app, &dev, project, &format!("SELECT 参保人身份证号 FROM {ds}"), "real").await;
    assert_eq!(v["outcome"], "refused", "{v}");
    assert!(v["error_code"].as_str().unwrap().starts_with("sandbox."), "{v}");
    assert!(v["rows"].as_array().unwrap().is_empty());
    // An aggregate query is submitted: nothing that depends on the data comes back — no values, no
    // size, no check outcome, no run time.
    let v = run(&app, &dev, project, &by_month, "real").await;
    assert_eq!(v["outcome"], "submitted", "{v}");
    assert!(v["rows"].as_array().unwrap().is_empty(), "real values wait in the outbox: {v}");
    assert!(v["total_rows"].is_null() && v["elapsed_ms"].is_null(), "{v}");
    assert!(v.get("check_report").is_none() && v.get("check_outcome").is_none(), "{v}");
    let output = v["output_id"].as_i64().unwrap();
    app.state.sandbox.settle().await;
    let o = app.api_get(&dev, &format!("/api/v1/outputs/{output}")).await;
    assert_eq!(o["status"], "pending", "{o}");
    for hidden in ["rows", "check_outcome", "suppressed", "run_state", "elapsed_ms", "sm3"] {
        assert!(o[hidden].is_null(), "{hidden} before release: {o}");
    }
    assert!(o["check_report"].as_array().unwrap().is_empty(), "{o}");
    let history = app.api_get(&dev, &format!("/api/v1/projects/{project}/sandbox/queries")).await;
    assert_eq!(history[0]["outcome"], "submitted", "{history}");
    assert!(history[0]["rows"].is_null() && history[0]["elapsed_ms"].is_null(), "{history}");
    // The reviewers see the run, its size and the report.
    let o = app.api_get(&r1, &format!("/api/v1/outputs/{output}")).await;
    assert_eq!(o["run_state"], "done", "{o}");
    assert_eq!(o["rows"], 5, "the reviewers see it: {o}");
    assert!(["pass", "review"].contains(&o["check_outcome"].as_str().unwrap()), "{o}");
    let query = v["query_id"].as_i64().unwrap();
    // The query is in the audit log with its text, and its run with the plan fingerprint.
    let recs = app.state.store.audit_recent(Some(("sandbox_query", &query.to_string())), 10).await.unwrap();
    assert!(
        recs.iter()
            .any(|r| r.record.action == "sandbox.query" && r.record.summary.to_string().contains("缴费月份")),
        "{recs:?}"
    );
    assert!(recs.iter().any(|r| r.record.action == "sandbox.query_run"), "{recs:?}");

    // Not released yet: no download.
    let (s, _) = get_raw(&app, &dev, &format!("/api/v1/outputs/{output}/download/csv")).await;
    assert_eq!(s, 409);
    // Only the operator's reviewers see the values (each look audited); others are refused.
    let pending = app.api_get(&r1, "/api/v1/outputs/pending").await;
    assert!(pending.as_array().unwrap().iter().any(|o| o["id"] == output), "{pending}");
    let data = app.api_get(&r1, &format!("/api/v1/outputs/{output}/data")).await;
    assert_eq!(data["rows"].as_array().unwrap().len(), 5, "{data}");
    for row in data["rows"].as_array().unwrap() {
        let n: i64 = row[1].as_str().unwrap().parse().unwrap();
        assert!(n >= 10, "every released group has at least k units: {row}");
    }
    let looks =
        app.state.store.audit_recent(Some(("sandbox_output", &output.to_string())), 20).await.unwrap();
    assert!(looks.iter().any(|r| r.record.action == "sandbox.look"), "{looks:?}");
    let (s, _) = get_raw(&app, &dev, &format!("/api/v1/outputs/{output}/data")).await;
    assert_eq!(s, 403, "the developer does not see unreleased values");
    let (s, _) = get_raw(&app, &amr, &format!("/api/v1/outputs/{output}")).await;
    assert_eq!(s, 403, "a provider of another party does not see the output");

    // Review: the note is required for an output flagged for review; the grant's grade asks for two
    // different reviewers; the 负责人 is not a reviewer; the developer cannot review.
    let note = "已核对各分组个体数均不少于 10，金额为月度汇总，可放行";
    let (s, v) = post(
        &app,
        &head,
        &format!("/api/v1/outputs/{output}/review"),
        json!({"decision": "approve", "note": note}),
    )
    .await;
    assert_eq!(s, 403, "{v}");
    let (s, v) = post(
        &app,
        &dev,
        &format!("/api/v1/outputs/{output}/review"),
        json!({"decision": "approve", "note": note}),
    )
    .await;
    assert_eq!(s, 403, "{v}");
    let (s, v) = post(
        &app,
        &r1,
        &format!("/api/v1/outputs/{output}/review"),
        json!({"decision": "approve", "note": note}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    // The demo grant is L4: two different reviewers are needed.
    assert_eq!(v["required_approvals"], 2, "{v}");
    assert_eq!(v["status"], "pending", "{v}");
    let (s, v) = post(
        &app,
        &r1,
        &format!("/api/v1/outputs/{output}/review"),
        json!({"decision": "approve", "note": note}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["code"], "sandbox.review_same_reviewer");
    let (s, v) = post(
        &app,
        &r2,
        &format!("/api/v1/outputs/{output}/review"),
        json!({"decision": "approve", "note": note}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let o = app.api_get(&dev, &format!("/api/v1/outputs/{output}")).await;
    assert_eq!(o["status"], "released", "{o}");
    // Released is final.
    let (s, v) = post(
        &app,
        &r2,
        &format!("/api/v1/outputs/{output}/review"),
        json!({"decision": "reject", "note": "再次审核应当被拒绝的理由"}),
    )
    .await;
    assert_eq!(s, 409, "{v}");

    // Downloads: CSV (UTF-8 with BOM), XLSX, Parquet; each recorded; another party cannot.
    let (s, csv) = get_raw(&app, &dev, &format!("/api/v1/outputs/{output}/download/csv")).await;
    assert_eq!(s, 200);
    let csv = String::from_utf8(csv).unwrap();
    assert!(csv.starts_with("\u{feff}缴费月份,人数,缴费总额"), "{csv}");
    assert_eq!(csv.lines().count(), 6, "{csv}");
    let (s, xlsx) = get_raw(&app, &dev, &format!("/api/v1/outputs/{output}/download/xlsx")).await;
    assert_eq!(s, 200);
    assert!(xlsx.starts_with(b"PK"));
    let (s, pq) = get_raw(&app, &dev, &format!("/api/v1/outputs/{output}/download/parquet")).await;
    assert_eq!(s, 200);
    assert!(pq.starts_with(b"PAR1"));
    let (s, _) = get_raw(&app, &dev, &format!("/api/v1/outputs/{output}/download/exe")).await;
    assert_eq!(s, 422);
    let (s, _) = get_raw(&app, &r1, &format!("/api/v1/outputs/{output}/download/csv")).await;
    assert_eq!(s, 403, "reviewers do not download");
    let o = app.api_get(&dev, &format!("/api/v1/outputs/{output}")).await;
    assert_eq!(o["downloads"].as_array().unwrap().len(), 3, "{o}");

    // The developer's download log feeds the termination attestation.
    let agreement = app.state.store.project(project).await.unwrap().project.agreement;
    let log = yunshu_server::services::sanctions::download_log(&app.state, agreement).await.unwrap();
    assert_eq!(log.len(), 3);
    let copies = yunshu_server::services::sanctions::platform_copies(&app.state, agreement).await.unwrap();
    assert!(copies.iter().any(|(id, _)| *id == format!("output:{output}")), "{copies:?}");
    app.stop().await;
}

#[tokio::test]
async fn differencing_pairs_and_revocation_stop_queries() {
    let app = spawn().await;
    let dev = app.token("fintech.clerk").await;
    let op = app.token("op.clerk").await;
    let r1 = app.token("op.reviewer1").await;
    let project = demo_project(&app, &dev).await;
    let demo_grant =
        app.api_get(&dev, &format!("/api/v1/projects/{project}")).await["grants"][0]["id"].as_i64().unwrap();
    let ds = app.api_get(&dev, &format!("/api/v1/projects/{project}/sandbox")).await["tables"][0]["name"]
        .as_str()
        .unwrap()
        .to_owned();

    // Without differential privacy (a new grant, k = 10, no ε) the developer learns each employer's
    // headcount (a released-style output the reviewer sees).
    let exact = regrant(&app, &op, &dev, project, 10).await;
    let v = run(
        &app,
        &dev,
        project,
        &format!("SELECT 缴费单位统一社会信用代码 AS 单位, COUNT(DISTINCT 参保人身份证号) AS 人数 FROM {ds} GROUP BY 缴费单位统一社会信用代码"),
        "real",
    )
    .await;
    assert_eq!(v["outcome"], "submitted", "{v}");
    app.state.sandbox.settle().await;
    // Legal persons' credit codes in an output send it to review (not fail).
    let o = app.api_get(&r1, &format!("/api/v1/outputs/{}", v["output_id"])).await;
    assert_eq!(o["check_outcome"], "review", "{o}");
    assert!(
        o["check_report"].as_array().unwrap().iter().any(|r| r["code"] == "identifier.legal_uscc"),
        "{o}"
    );
    let data = app.api_get(&r1, &format!("/api/v1/outputs/{}/data", v["output_id"])).await;
    let (employer, headcount) = data["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r[1].as_str().unwrap().is_empty())
        .map(|r| (r[0].as_str().unwrap().to_owned(), r[1].as_str().unwrap().parse::<u32>().unwrap()))
        .min_by_key(|(_, n)| *n)
        .unwrap();
    assert!(headcount >= 10);

    // Everyone, then everyone but that employer: the people's contributions differ for `headcount`
    // people. Under a grant whose k is above that, the second is a differencing pair: held for the
    // reviewers with its partner named — the developer sees "submitted" for both, as always.
    let strict = regrant(&app, &op, &dev, project, headcount + 5).await;
    let total = format!("SELECT COUNT(DISTINCT 参保人身份证号) AS 人数, SUM(缴费金额) AS 总额 FROM {ds}");
    let a = run(&app, &dev, project, &total, "real").await;
    let minus = format!("{total} WHERE 缴费单位统一社会信用代码 <> '{employer}'");
    let b = run(&app, &dev, project, &minus, "real").await;
    for v in [&a, &b] {
        assert_eq!(v["outcome"], "submitted", "{v}");
    }
    app.state.sandbox.settle().await;
    let o = app.api_get(&r1, &format!("/api/v1/outputs/{}", b["output_id"])).await;
    assert_eq!(o["check_outcome"], "review", "{o}");
    let pair =
        o["check_report"].as_array().unwrap().iter().find(|r| r["code"] == "differencing.history").cloned();
    let pair = pair.unwrap_or_else(|| panic!("no differencing finding: {o}"));
    assert!(pair["message"].as_str().unwrap().contains(&format!("第 {} 号输出", a["output_id"])), "{pair}");
    let d = app.api_get(&dev, &format!("/api/v1/outputs/{}", b["output_id"])).await;
    assert!(d["check_report"].as_array().unwrap().is_empty() && d["check_outcome"].is_null(), "{d}");

    // Revocation stops the next query at once (dummy and real alike).
    for g in [demo_grant, exact, strict] {
        let (s, v) = post(
            &app,
            &op,
            &format!("/api/v1/grants/{g}/revoke"),
            json!({"reason": "测试撤销授权，停止访问"}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
    }
    for mode in ["dummy", "real"] {
        let v = run(&app, &dev, project, &total, mode).await;
        assert_eq!(v["outcome"], "refused", "{v}");
        assert_eq!(v["error_code"], "sandbox.grant_revoked", "{v}");
    }
    let cat = app.api_get(&dev, &format!("/api/v1/projects/{project}/sandbox")).await;
    assert!(cat["tables"].as_array().unwrap().is_empty(), "{cat}");
    assert_eq!(cat["suspended"].as_array().unwrap().len(), 3, "{cat}");
    app.stop().await;
}

#[tokio::test]
async fn only_the_projects_developer_runs_queries() {
    let app = spawn().await;
    let dev = app.token("fintech.clerk").await;
    let project = demo_project(&app, &dev).await;
    for who in ["op.clerk", "amr.clerk", "bureau.clerk"] {
        let t = app.token(who).await;
        let (s, v) = post(
            &app,
            &t,
            &format!("/api/v1/projects/{project}/sandbox/queries"),
            json!({"sql": "SELECT 1", "mode": "dummy"}),
        )
        .await;
        assert_eq!(s, 403, "{who}: {v}");
    }
    let (s, v) = post(
        &app,
        &dev,
        &format!("/api/v1/projects/{project}/sandbox/queries"),
        json!({"sql": "  ", "mode": "dummy"}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["code"], "sandbox.sql_empty");
    let (s, v) =
        post(&app, &dev, "/api/v1/projects/999999/sandbox/queries", json!({"sql": "SELECT 1"})).await;
    assert_eq!(s, 404, "{v}");
    app.stop().await;
}

#[tokio::test]
async fn the_epsilon_budget_is_charged_per_query_and_an_over_budget_query_never_runs() {
    let app = spawn().await;
    let dev = app.token("fintech.clerk").await;
    let project = demo_project(&app, &dev).await;
    let cat = app.api_get(&dev, &format!("/api/v1/projects/{project}/sandbox")).await;
    let t = &cat["tables"][0];
    assert_eq!(t["dp"], true, "{t}");
    assert_eq!(t["epsilon"], 1.0);
    // The demo's own query (one count, plus the noisy count that selects groups, which it reuses) spent 0.1.
    let spent = t["epsilon_spent"].as_f64().unwrap();
    assert!((spent - 0.1).abs() < 1e-9, "{t}");
    let ds = t["name"].as_str().unwrap().to_owned();
    // An unbounded field cannot be summed under DP.
    let v = run(
        &app,
        &dev,
        project,
        &format!("SELECT 缴费月份, SUM(出生日期) AS x FROM {ds} GROUP BY 缴费月份"),
        "real",
    )
    .await;
    assert_eq!(v["outcome"], "refused", "{v}");
    // A count and a bounded sum: charged each time until the budget cannot pay; the refused query
    // records no charge and the spent total never exceeds the budget.
    let sql = format!(
        "SELECT 缴费月份, COUNT(DISTINCT 参保人身份证号) AS 人数, SUM(缴费金额) AS 总额 FROM {ds} GROUP BY 缴费月份"
    );
    let mut ok = 0;
    loop {
        let v = run(&app, &dev, project, &sql, "real").await;
        if v["outcome"] != "submitted" {
            assert_eq!(v["error_code"], "sandbox.dp_budget_exceeded", "{v}");
            assert!(v["output_id"].is_null());
            break;
        }
        ok += 1;
        assert!(ok < 20, "the budget never ran out");
    }
    assert!(ok >= 1);
    let after =
        app.api_get(&dev, &format!("/api/v1/projects/{project}/sandbox")).await["tables"][0]["epsilon_spent"]
            .as_f64()
            .unwrap();
    assert!(after <= 1.0 + 1e-9 && after > spent, "{after}");
    let history = app.api_get(&dev, &format!("/api/v1/projects/{project}/sandbox/queries")).await;
    assert_eq!(history[0]["error_code"], "sandbox.dp_budget_exceeded");
    app.state.sandbox.settle().await;
    app.stop().await;
}

#[tokio::test]
async fn one_review_per_reviewer_however_many_requests_arrive_and_withdrawal_by_id() {
    let app = spawn().await;
    let dev = app.token("fintech.clerk").await;
    let r1 = app.token("op.reviewer1").await;
    let r2 = app.token("op.reviewer2").await;
    let project = demo_project(&app, &dev).await;
    let ds = app.api_get(&dev, &format!("/api/v1/projects/{project}/sandbox")).await["tables"][0]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let sql = format!("SELECT 缴费月份, COUNT(DISTINCT 参保人身份证号) AS 人数 FROM {ds} GROUP BY 缴费月份");
    let v = run(&app, &dev, project, &sql, "real").await;
    let output = v["output_id"].as_i64().unwrap();
    app.state.sandbox.settle().await;
    // 16 simultaneous approvals by one reviewer of an L4 output: one counts, the output stays pending.
    let note = "已核对各分组个体数均不少于 10，可以放行";
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (url, token) = (format!("{}/api/v1/outputs/{output}/review", app.url), r1.clone());
        tasks.push(tokio::spawn(async move {
            reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .json(&json!({"decision": "approve", "note": note}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut codes = Vec::new();
    for t in tasks {
        codes.push(t.await.unwrap());
    }
    assert_eq!(codes.iter().filter(|c| **c == 200).count(), 1, "{codes:?}");
    assert!(codes.iter().all(|c| [200, 409, 422].contains(c)), "{codes:?}");
    let reviews = app.state.store.sandbox_reviews(output).await.unwrap();
    assert_eq!(reviews.len(), 1, "{reviews:?}");
    let o = app.api_get(&r1, &format!("/api/v1/outputs/{output}")).await;
    assert_eq!(o["status"], "pending", "{o}");
    // The second reviewer releases it.
    let (s, v) = post(
        &app,
        &r2,
        &format!("/api/v1/outputs/{output}/review"),
        json!({"decision": "approve", "note": note}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "released", "{v}");

    // Withdrawal by the output's own id: the run stops, the reviewers' to-do closes, and the answer
    // is the same whether the run had finished or not.
    let a = run(&app, &dev, project, &sql, "real").await["output_id"].as_i64().unwrap();
    let b = run(&app, &dev, project, &sql, "real").await["output_id"].as_i64().unwrap();
    let (s, wa) = post(&app, &dev, &format!("/api/v1/outputs/{a}/withdraw"), json!({})).await;
    assert_eq!(s, 200, "{wa}");
    app.state.sandbox.settle().await;
    let (s, wb) = post(&app, &dev, &format!("/api/v1/outputs/{b}/withdraw"), json!({})).await;
    assert_eq!(s, 200, "{wb}");
    assert_eq!(wa["status"], "withdrawn");
    for key in ["status", "status_label", "rows", "check_outcome", "run_state", "reviews"] {
        assert_eq!(wa[key], wb[key], "{key}: {wa} vs {wb}");
    }
    let (s, v) = post(&app, &dev, &format!("/api/v1/outputs/{b}/withdraw"), json!({})).await;
    assert_eq!(s, 409, "{v}");
    let (s, v) =
        post(&app, &r1, &format!("/api/v1/outputs/{a}/review"), json!({"decision": "approve", "note": note}))
            .await;
    assert!(s == 409 || s == 403, "{v}");
    let pending = app.api_get(&r1, "/api/v1/outputs/pending").await;
    assert!(!pending.as_array().unwrap().iter().any(|o| o["id"] == a || o["id"] == b), "{pending}");
    // Another developer's staff, or a reviewer, cannot withdraw it.
    let (s, _) = post(&app, &r1, &format!("/api/v1/outputs/{output}/withdraw"), json!({})).await;
    assert_eq!(s, 403);
    app.stop().await;
}
