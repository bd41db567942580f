//! Developer onboarding end to end through the API (Art. 12–13): the operator publishes a scenario, a
//! developer uploads its materials (type and size checked, SM3 digests) and applies, the operator
//! returns it for supplement with a working-day deadline, reviews and qualifies it, publishes a
//! 5-working-day notice that the public sees and objects to without logging in, decides the
//! objection, and signs a development agreement within 3 years; the to-dos follow each step. Plus a
//! supplement deadline that lapses, and the demo's onboarding states.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use serde_json::{Value, json};

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"._-".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn upload(
    app: &common::TestApp,
    token: &str,
    kind: &str,
    name: &str,
    media: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/api/v1/materials?kind={kind}&file_name={}", app.url, urlencode(name)))
        .bearer_auth(token)
        .header("content-type", media)
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn upload_ok(app: &common::TestApp, token: &str, kind: &str) -> i64 {
    let body = format!("%PDF-1.4\n% {kind}\n%%EOF\n").into_bytes();
    let r = upload(app, token, kind, &format!("{kind}.pdf"), "application/pdf", body).await;
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["sm3"].as_str().unwrap().len(), 64);
    v["id"].as_i64().unwrap()
}

async fn required(app: &common::TestApp, token: &str) -> Vec<i64> {
    let mut ids = Vec::new();
    for kind in ["development_plan", "security_commitment", "credit_report", "qualification_proof"] {
        ids.push(upload_ok(app, token, kind).await);
    }
    ids
}

async fn post(app: &common::TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    let r = app.api_post(token, path, Some(body)).await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn all_met() -> Value {
    json!(
        ["business_credit", "technical_capability", "data_management", "data_security", "other_rules"]
            .iter()
            .map(|c| json!({"condition": c, "met": true}))
            .collect::<Vec<_>>()
    )
}

/// The open to-dos of a user whose link points at the application.
async fn todos_for(app: &common::TestApp, token: &str, app_id: i64) -> Vec<Value> {
    let link = format!("/onboarding/applications/{app_id}");
    app.api_get(token, "/api/v1/todo")
        .await
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["link"] == link)
        .cloned()
        .collect()
}

#[tokio::test]
async fn scenario_application_review_notice_objection_and_agreement() {
    let app = common::TestApp::spawn().await;
    let op = app.token("op.clerk").await;
    let dev = app.token("fintech.clerk").await;

    // The operator publishes a scenario; a developer may not.
    let scenario = json!({"title": "小微企业纳税信用贷", "description": "基于纳税和社保缴纳信息为小微企业提供授信辅助评分"});
    let (s, _) = post(&app, &dev, "/api/v1/scenarios", scenario.clone()).await;
    assert_eq!(s, 403);
    let (s, v) = post(&app, &op, "/api/v1/scenarios", scenario).await;
    assert_eq!(s, 201, "{v}");
    let sid = v["id"].as_i64().unwrap();

    // Materials: an .exe and a file over 20 MB are refused with clear codes.
    let r =
        upload(&app, &dev, "other", "setup.exe", "application/octet-stream", b"MZ\x90\x00".to_vec()).await;
    assert_eq!(r.status(), 422);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "material.type_not_allowed");
    let big = vec![b'%'; 20 * 1024 * 1024 + 1];
    let r = upload(&app, &dev, "development_plan", "plan.pdf", "application/pdf", big).await;
    assert_eq!(r.status(), 422);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "material.too_large");
    // A missing required material (no credit report) blocks the submission.
    let mut ids = Vec::new();
    for kind in ["development_plan", "security_commitment", "qualification_proof"] {
        ids.push(upload_ok(&app, &dev, kind).await);
    }
    let (s, v) =
        post(&app, &dev, &format!("/api/v1/scenarios/{sid}/applications"), json!({"material_ids": ids}))
            .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["code"], "onboarding.materials_missing");
    assert!(v["message"].as_str().unwrap().contains("信用状况报告"), "{v}");
    ids.push(upload_ok(&app, &dev, "credit_report").await);
    let (s, v) =
        post(&app, &dev, &format!("/api/v1/scenarios/{sid}/applications"), json!({"material_ids": ids}))
            .await;
    assert_eq!(s, 201, "{v}");
    let aid = v["id"].as_i64().unwrap();
    let a = app.api_get(&dev, &format!("/api/v1/applications/{aid}")).await;
    assert_eq!(a["status"], "under_review");
    assert_eq!(a["materials"].as_array().unwrap().len(), 4);
    // The operator's to-do: review.
    let t = todos_for(&app, &op, aid).await;
    assert_eq!(t.len(), 1, "{t:?}");
    assert_eq!(t[0]["action"], "application.review");
    // Only the operator reviews.
    let (s, _) =
        post(&app, &dev, &format!("/api/v1/applications/{aid}/complete"), json!({"checks": all_met()})).await;
    assert_eq!(s, 403);

    // Return for supplement: 5 working days from Fri 2026-11-27 (start day not counted):
    // Mon 30 (1), Tue 1 Dec (2), Wed 2 (3), Thu 3 (4), Fri 4 (5) → last day 2026-12-04.
    let (s, v) = post(
        &app,
        &op,
        &format!("/api/v1/applications/{aid}/request-supplement"),
        json!({"what": "请补充等级保护测评报告"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "awaiting_supplement");
    assert_eq!(v["supplements"][0]["due"], "2026-12-04");
    let t = todos_for(&app, &dev, aid).await;
    assert_eq!(t.len(), 1, "{t:?}");
    assert_eq!(t[0]["action"], "application.supplement");
    assert_eq!(t[0]["due_date"], "2026-12-04");
    assert!(todos_for(&app, &op, aid).await.is_empty());
    let extra = upload_ok(&app, &dev, "other").await;
    let (s, v) =
        post(&app, &dev, &format!("/api/v1/applications/{aid}/supplement"), json!({"material_ids": [extra]}))
            .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "under_review");
    assert_eq!(v["materials"].as_array().unwrap().len(), 5);
    assert!(todos_for(&app, &dev, aid).await.is_empty());

    // Review: a record first, then one finding per condition.
    let (s, v) =
        post(&app, &op, &format!("/api/v1/applications/{aid}/complete"), json!({"checks": all_met()})).await;
    assert_eq!(s, 409);
    assert_eq!(v["code"], "onboarding.no_review_record");
    let review = json!({"method": "expert_panel", "summary": "专家论证：技术方案可行，安全措施到位"});
    let (s, v) = post(&app, &op, &format!("/api/v1/applications/{aid}/review"), review).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) =
        post(&app, &op, &format!("/api/v1/applications/{aid}/complete"), json!({"checks": all_met()})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "qualified");

    // Notice from today, Fri 2026-11-27: the 5th working day after it is Fri 2026-12-04 (as above).
    let (s, v) =
        post(&app, &op, &format!("/api/v1/applications/{aid}/notice"), json!({"end": "2026-12-03"})).await;
    assert_eq!(s, 422);
    assert_eq!(v["code"], "onboarding.notice_too_short");
    let (s, v) = post(&app, &op, &format!("/api/v1/applications/{aid}/notice"), json!({})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "in_notice");
    assert_eq!(v["notice"]["start"], "2026-11-27");
    assert_eq!(v["notice"]["end"], "2026-12-04");
    assert_eq!(v["notice"]["working_days"], 5);

    // The public portal, without login: the notice with its dates, and an objection.
    let anon = app.client();
    let list = anon.get(format!("{}/public/notices", app.url)).send().await.unwrap();
    assert_eq!(list.status(), 200);
    let html = list.text().await.unwrap();
    assert!(
        html.contains("小微企业纳税信用贷")
            && html.contains("2026年11月27日")
            && html.contains("2026年12月4日")
    );
    let notice =
        anon.get(format!("{}/public/notices/{aid}", app.url)).send().await.unwrap().text().await.unwrap();
    assert!(notice.contains("（5 个工作日）"), "{notice}");
    let csrf = common::csrf_of(&notice);
    let r = anon
        .post(format!("{}/public/notices/{aid}/objections", app.url))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("name", ""),
            ("contact", ""),
            ("content", "该公司去年曾发生数据泄露事件，请核实"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], format!("/public/notices/{aid}?lodged=1"));
    // Without the page's token the public form is refused.
    let r = app
        .client()
        .post(format!("{}/public/notices/{aid}/objections", app.url))
        .form(&[("content", "无令牌的异议提交")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let pub_api: Value =
        reqwest::get(format!("{}/api/v1/public/notices", app.url)).await.unwrap().json().await.unwrap();
    assert!(
        pub_api.as_array().unwrap().iter().any(|n| n["application_id"] == aid && n["end"] == "2026-12-04")
    );
    let a = app.api_get(&op, &format!("/api/v1/applications/{aid}")).await;
    let objection = &a["objections"][0];
    assert_eq!(objection["name"], "匿名");
    assert!(objection["outcome"].is_null());
    let oid = objection["id"].as_i64().unwrap();
    let t = todos_for(&app, &op, aid).await;
    assert!(t.iter().any(|t| t["action"] == "objection.decide"), "{t:?}");
    // The sign to-do runs from the notice's end: 10 working days after Fri 4 Dec → Fri 2026-12-18.
    let sign_todo: Vec<Value> =
        todos_for(&app, &op, aid).await.into_iter().filter(|t| t["action"] == "application.sign").collect();
    assert_eq!(sign_todo.len(), 1);
    assert_eq!(sign_todo[0]["due_date"], "2026-12-18");

    // Signing: refused before the notice ends…
    let term = json!({"start": "2026-12-05", "end": "2029-12-05"});
    let (s, v) = post(&app, &op, &format!("/api/v1/applications/{aid}/sign"), term.clone()).await;
    assert_eq!(s, 409);
    assert_eq!(v["code"], "onboarding.notice_not_ended");
    // …and after it while an objection is open; objections after the end are refused.
    app.advance(chrono::Duration::days(8)); // Sat 2026-12-05
    let (s, v) = post(&app, &op, &format!("/api/v1/applications/{aid}/sign"), term.clone()).await;
    assert_eq!(s, 409);
    assert_eq!(v["code"], "onboarding.objections_open");
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/public/notices/{aid}/objections", app.url))
        .json(&json!({"content": "公示期满后提出的异议"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "onboarding.notice_not_running");
    // The operator decides the objection with reasons.
    let path = format!("/api/v1/applications/{aid}/objections/{oid}/decision");
    let (s, v) = post(&app, &op, &path, json!({"outcome": "dismissed"})).await;
    assert_eq!(s, 422);
    assert_eq!(v["code"], "onboarding.reason_required");
    let (s, v) = post(
        &app,
        &op,
        &path,
        json!({"outcome": "dismissed", "reason": "经核查，所称事件系其他同名企业，异议不成立"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["objections"][0]["outcome"], "dismissed");
    assert!(!todos_for(&app, &op, aid).await.iter().any(|t| t["action"] == "objection.decide"));

    // A term over 3 years is refused; beyond the operator's own agreement too; 3 years signs.
    let (s, v) = post(
        &app,
        &op,
        &format!("/api/v1/applications/{aid}/sign"),
        json!({"start": "2026-12-05", "end": "2029-12-06"}),
    )
    .await;
    assert_eq!(s, 422);
    assert_eq!(v["code"], "term.too_long");
    let long = json!({"start": "2026-12-05", "end": "2031-12-31", "justification": "重大基础设施场景", "approved_by": "省数据局"});
    let (s, v) = post(&app, &op, &format!("/api/v1/applications/{aid}/sign"), long).await;
    assert_eq!(s, 422);
    assert_eq!(v["code"], "term.beyond_operator_agreement");
    let scen = app.api_get(&dev, &format!("/api/v1/scenarios/{sid}")).await;
    assert_eq!(scen["access"], false);
    let (s, v) = post(&app, &op, &format!("/api/v1/applications/{aid}/sign"), term).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "contracted");
    assert_eq!(v["agreement"]["end"], "2029-12-05");
    assert!(todos_for(&app, &op, aid).await.is_empty());
    assert!(todos_for(&app, &dev, aid).await.is_empty());
    // The developer now has access for that scenario.
    let scen = app.api_get(&dev, &format!("/api/v1/scenarios/{sid}")).await;
    assert_eq!(scen["access"], true);

    // Every step left its audit record on the application.
    let recs = app.state.store.audit_recent(Some(("application", &aid.to_string())), 100).await.unwrap();
    let actions: Vec<&str> = recs.iter().map(|r| r.record.action.as_str()).collect();
    for a in [
        "application.submit",
        "application.request_supplement",
        "application.supplement",
        "application.add_review",
        "application.complete_review",
        "application.notice",
        "objection.lodge",
        "objection.decide",
        "application.sign",
    ] {
        assert!(actions.contains(&a), "missing {a} in {actions:?}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_missed_supplement_deadline_lapses_the_application() {
    let app = common::TestApp::spawn().await;
    let op = app.token("op.clerk").await;
    let dev = app.token("travel.clerk").await;
    let scenarios = app.api_get(&dev, "/api/v1/scenarios").await;
    let sid = scenarios.as_array().unwrap().iter().find(|s| s["title"] == "普惠金融信用评估").unwrap()["id"]
        .as_i64()
        .unwrap();
    let ids = required(&app, &dev).await;
    // 彩云文旅 already has one on this scenario in the demo (awaiting supplement); a second is fine.
    let (s, v) =
        post(&app, &dev, &format!("/api/v1/scenarios/{sid}/applications"), json!({"material_ids": ids}))
            .await;
    assert_eq!(s, 201, "{v}");
    let aid = v["id"].as_i64().unwrap();
    // Materials cannot be reused.
    let (s, v) =
        post(&app, &dev, &format!("/api/v1/scenarios/{sid}/applications"), json!({"material_ids": ids}))
            .await;
    assert_eq!(s, 422);
    assert_eq!(v["code"], "material.unavailable");
    let (s, v) = post(
        &app,
        &op,
        &format!("/api/v1/applications/{aid}/request-supplement"),
        json!({"what": "补充信用报告原件", "working_days": 2}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    // 2 working days after Fri 27 Nov: Mon 30 (1), Tue 1 Dec (2).
    assert_eq!(v["supplements"][0]["due"], "2026-12-01");
    // On the last day nothing lapses; the day after, the scheduler lapses it.
    app.advance(chrono::Duration::days(4)); // Tue 2026-12-01
    let n = yunshu_server::services::onboarding::expire_overdue(&app.state, app.state.now()).await.unwrap();
    assert_eq!(
        app.api_get(&dev, &format!("/api/v1/applications/{aid}")).await["status"],
        "awaiting_supplement"
    );
    app.advance(chrono::Duration::days(1)); // Wed 2026-12-02
    let m = yunshu_server::services::onboarding::expire_overdue(&app.state, app.state.now()).await.unwrap();
    assert!(m >= 1, "lapsed {n} then {m}");
    let a = app.api_get(&dev, &format!("/api/v1/applications/{aid}")).await;
    assert_eq!(a["status"], "lapsed");
    assert!(todos_for(&app, &dev, aid).await.is_empty());
    let extra = upload_ok(&app, &dev, "other").await;
    let (s, v) =
        post(&app, &dev, &format!("/api/v1/applications/{aid}/supplement"), json!({"material_ids": [extra]}))
            .await;
    assert_eq!(s, 409);
    assert_eq!(v["code"], "onboarding.wrong_status");
    let recs = app.state.store.audit_recent(Some(("application", &aid.to_string())), 100).await.unwrap();
    assert!(recs.iter().any(|r| r.record.action == "application.lapse"));
    app.stop().await;
}

#[tokio::test]
async fn the_demo_has_every_onboarding_state() {
    let app = common::TestApp::spawn().await;
    let op = app.token("op.head").await;
    let apps = app.api_get(&op, "/api/v1/applications").await;
    let statuses: Vec<&str> =
        apps.as_array().unwrap().iter().map(|a| a["status"].as_str().unwrap()).collect();
    for s in ["under_review", "awaiting_supplement", "in_notice", "contracted"] {
        assert!(statuses.contains(&s), "demo lacks {s}: {statuses:?}");
    }
    let in_notice = apps.as_array().unwrap().iter().find(|a| a["status"] == "in_notice").unwrap();
    assert_eq!(in_notice["objections"].as_array().unwrap().len(), 1);
    assert!(in_notice["objections"][0]["outcome"].is_null());
    let scenarios = app.api_get(&op, "/api/v1/scenarios").await;
    let tourism = scenarios.as_array().unwrap().iter().find(|s| s["title"] == "文旅客流监测与预测").unwrap();
    assert_eq!(tourism["origin"], "self_proposed");
    assert_eq!(tourism["status"], "open");
    assert_eq!(tourism["assessment"]["security_passed"], true);
    let fin = app.token("fintech.clerk").await;
    let finance = app.api_get(&fin, "/api/v1/scenarios").await;
    assert!(
        finance.as_array().unwrap().iter().any(|s| s["title"] == "普惠金融信用评估" && s["access"] == true)
    );
    // The pages render for both parties and the public.
    let (c, _) = app.login("op.clerk").await;
    for p in [
        "/onboarding/scenarios",
        "/onboarding/applications",
        &format!("/onboarding/applications/{}", in_notice["id"]),
    ] {
        let r = c.get(format!("{}{p}", app.url)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{p}");
    }
    let (d, _) = app.login("fintech.clerk").await;
    let r = d.get(format!("{}/onboarding/applications/{}", app.url, in_notice["id"])).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // The operator's forms: a review record, then the five findings (one unmet without a note is refused).
    let (c, csrf) = app.login("op.clerk").await;
    let under =
        apps.as_array().unwrap().iter().find(|a| a["status"] == "under_review").unwrap()["id"].clone();
    let form = |pairs: &[(&str, &str)]| {
        let mut v: Vec<(String, String)> = vec![("_csrf".into(), csrf.clone())];
        v.extend(pairs.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())));
        v
    };
    let url = |mv: &str| format!("{}/onboarding/applications/{under}/{mv}", app.url);
    let r = c
        .post(url("review"))
        .form(&form(&[("method", "defence"), ("summary", "现场答辩：团队具备相应技术能力")]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let mut checks = vec![
        ("met_business_credit", "1"),
        ("met_technical_capability", "1"),
        ("met_data_management", "1"),
        ("met_data_security", "1"),
        ("note_other_rules", ""),
    ];
    let r = c.post(url("complete")).form(&form(&checks)).send().await.unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("请填写理由或说明"));
    checks.push(("met_other_rules", "1"));
    let r = c.post(url("complete")).form(&form(&checks)).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(app.api_get(&op, &format!("/api/v1/applications/{under}")).await["status"], "qualified");
    // Another developer is no party to it.
    let (t, _) = app.login("travel.clerk").await;
    let r = t.get(format!("{}/onboarding/applications/{}", app.url, in_notice["id"])).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let anon = app.client();
    let r = anon.get(format!("{}/public/notices", app.url)).send().await.unwrap();
    assert!(r.text().await.unwrap().contains("文旅客流监测与预测"));
    // An empty objection is answered beside the form, nothing written.
    let page = anon
        .get(format!("{}/public/notices/{}", app.url, in_notice["id"]))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = anon
        .post(format!("{}/public/notices/{}/objections", app.url, in_notice["id"]))
        .form(&[("_csrf", common::csrf_of(&page).as_str()), ("name", "李女士"), ("content", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("请填写异议内容及理由") && html.contains("李女士"), "{html}");
    let after = app.api_get(&op, &format!("/api/v1/applications/{}", in_notice["id"])).await;
    assert_eq!(after["objections"].as_array().unwrap().len(), 1);
    app.stop().await;
}

/// A company proposes its own scenario through the page; the operator assesses it through the page.
#[tokio::test]
async fn a_company_proposes_a_scenario_and_the_operator_assesses_it_in_the_pages() {
    let app = common::TestApp::spawn().await;
    let (dev, csrf) = app.login("travel.clerk").await;
    let operator = app.state.store.user_by_username("op.clerk").await.unwrap().unwrap().org_id;
    let page =
        dev.get(format!("{}/onboarding/scenarios", app.url)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("主动提出应用场景"));
    let r = dev
        .post(format!("{}/onboarding/scenarios/proposals", app.url))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("operator_org_id", &operator.to_string()),
            ("title", "边境口岸跨境物流时效分析"),
            ("description", "利用口岸通关与物流数据分析中老铁路跨境物流时效"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let url = r.headers()["location"].to_str().unwrap().to_owned();
    let page = dev.get(format!("{}{url}", app.url)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("边境口岸跨境物流时效分析") && page.contains("主动提出"), "{page}");
    // An empty title is refused beside the form.
    let r = dev
        .post(format!("{}/onboarding/scenarios/proposals", app.url))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("operator_org_id", &operator.to_string()),
            ("title", ""),
            ("description", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    // The operator assesses it: all three aspects pass, the scenario opens.
    let (op, op_csrf) = app.login("op.clerk").await;
    let r = op
        .post(format!("{}{url}/assessment", app.url))
        .form(&[
            ("_csrf", op_csrf.as_str()),
            ("need_passed", "1"),
            ("need_reason", "跨境贸易企业需求明确"),
            ("compliance_passed", "1"),
            ("compliance_reason", "不涉及数据出境"),
            ("security_passed", "1"),
            ("security_reason", "仅使用汇总统计"),
        ])
        .send()
        .await
        .unwrap();
    assert!(r.status() == 303 || r.status() == 200, "{}", r.status());
    let page = op.get(format!("{}{url}", app.url)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("征集中"), "{page}");
    app.stop().await;
}
