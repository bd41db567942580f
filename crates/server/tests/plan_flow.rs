//! Implementation plans and operation agreements end to end through the API (Art. 8–11): a plan is
//! submitted with an item missing (named by number), completed, decided by the agency (三重一大),
//! reviewed by the government, approved and locked; a prefecture plan opens a filing to-do for the
//! provincial bureau due 20 working days after approval, filed on time or late; a major change goes
//! through the same path again. An agreement with a 5-year term signs, 5 years + 1 day needs a
//! justification and approval; a prefecture agreement's filing falls due 20 working days after
//! signing; the bureau's overview lists it; the print pages carry a 文号.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use serde_json::{Value, json};

async fn post(app: &common::TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    let r = app.api_post(token, path, Some(body)).await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn full_content(name: &str) -> Value {
    json!({
        "name": name,
        "necessity": "公共数据价值释放需要",
        "operator_conditions": [
            {"category": "capital", "requirement": "注册资本不少于 5000 万元"},
            {"category": "management", "requirement": "健全的数据管理制度"},
            {"category": "technology", "requirement": "具备隐私计算能力"},
            {"category": "service", "requirement": "7×24 小时服务"},
            {"category": "security", "requirement": "通过数据安全等级保护三级"}
        ],
        "mode": "whole",
        "data_resources": [{"id": "R1", "code": "530000-AMR-001", "name": "企业登记信息"}],
        "update_frequency": "每日",
        "data_quality": "完整率 99%",
        "term_years": 5,
        "construction": "建设运营平台",
        "technical_support": "可信数据空间",
        "schedule": [{"name": "平台上线", "due": "2027-06-30"}],
        "evaluation_criteria": [{"name": "数据供给", "weight": 40}, {"name": "应用成效", "weight": 60}],
        "exit_conditions": ["连续两年评价不合格"],
        "asset_management": "资产登记入账",
        "products": [
            {"name": "企业信用核验接口", "class": "public_welfare", "form": "data_api"},
            {"name": "普惠金融模型", "class": "industry_development", "form": "model"}
        ],
        "cost_accounting": "按项目核算成本",
        "revenue_sharing": "收益按约定分配",
        "data_security": "分级分类保护",
        "personal_information": "去标识化处理",
        "emergency_measures": "应急预案",
        "rights_duties": "各方权利义务见协议",
        "supervision": "年度考核评价",
        "other": "无"
    })
}

fn feasibility() -> Value {
    json!({"lifecycle": "全生命周期管理", "social_demand": "需求旺盛", "scenarios": "普惠金融",
           "market_size": "百亿级", "expected_effect": "降低融资成本", "risk_control": "安全评估",
           "held_on": "2026-11-20"})
}

/// Drives a fresh plan of `user` to approval on the test's "today"; returns its id.
async fn approved_plan(app: &common::TestApp, token: &str, name: &str) -> i64 {
    let (s, v) = post(
        app,
        token,
        "/api/v1/plans",
        json!({"content": full_content(name), "feasibility": feasibility()}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_i64().unwrap();
    let (s, v) = post(app, token, &format!("/api/v1/plans/{id}/submit"), json!({})).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = post(
        app,
        token,
        &format!("/api/v1/plans/{id}/decision"),
        json!({"meeting": "党委会（三重一大）", "date": "2026-11-27", "outcome": "approved", "minutes_ref": "纪要 12 号"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "government_review");
    let (s, v) = post(
        app,
        token,
        &format!("/api/v1/plans/{id}/review"),
        json!({"meeting_ref": "政府常务会议 2026 第 30 次", "date": "2026-11-27", "outcome": "approved"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "approved");
    id
}

#[tokio::test]
async fn a_plan_goes_from_draft_to_approval_and_a_prefecture_plan_is_filed() {
    let app = common::TestApp::spawn().await;
    let agency = app.token("agency.clerk").await;
    let km = app.token("kmagency.clerk").await;
    let bureau = app.token("bureau.clerk").await;

    // Submit with item (十二) missing: 422 naming it.
    let mut content = full_content("省级公共数据授权运营");
    content["other"] = json!("");
    let (s, v) =
        post(&app, &agency, "/api/v1/plans", json!({"content": content, "feasibility": feasibility()})).await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_i64().unwrap();
    let plan = app.api_get(&agency, &format!("/api/v1/plans/{id}")).await;
    assert_eq!(plan["missing_items"][0]["number"], 12);
    let (s, v) = post(&app, &agency, &format!("/api/v1/plans/{id}/submit"), json!({})).await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["code"], "plan.incomplete");
    let msg = v["message"].as_str().unwrap();
    assert!(msg.contains("十二") && msg.contains("应当明确的其他事项"), "{msg}");
    // Bad input names the field.
    let (s, v) = post(
        &app,
        &agency,
        &format!("/api/v1/plans/{id}/edit"),
        json!({"content": {"products": [{"name": "x", "class": "nope", "form": "model"}]}}),
    )
    .await;
    assert_eq!(s, 422);
    assert_eq!(v["field"], "products.class", "{v}");

    // Complete, submit, decide, review.
    let (s, _) = post(
        &app,
        &agency,
        &format!("/api/v1/plans/{id}/edit"),
        json!({"content": full_content("省级公共数据授权运营"), "feasibility": feasibility()}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, v) = post(&app, &agency, &format!("/api/v1/plans/{id}/submit"), json!({})).await;
    assert_eq!((s, v["status"].as_str()), (200, Some("agency_decision")));
    // The government review cannot come before the agency's decision: 409.
    let (s, v) = post(
        &app,
        &agency,
        &format!("/api/v1/plans/{id}/review"),
        json!({"meeting_ref": "常务会", "date": "2026-11-27", "outcome": "approved"}),
    )
    .await;
    assert_eq!(s, 409);
    assert_eq!(v["code"], "plan.wrong_status");
    let (s, v) = post(
        &app,
        &agency,
        &format!("/api/v1/plans/{id}/decision"),
        json!({"meeting": "党委会", "date": "2026-11-27", "outcome": "approved", "minutes_ref": "纪要 1 号"}),
    )
    .await;
    assert_eq!((s, v["status"].as_str()), (200, Some("government_review")), "{v}");
    let (s, v) = post(
        &app,
        &agency,
        &format!("/api/v1/plans/{id}/review"),
        json!({"meeting_ref": "省政府常务会议", "date": "2026-11-27", "outcome": "approved"}),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["status"], "approved");
    assert_eq!(v["locked"], true);
    assert_eq!(v["filing"]["status"], "not_required", "a provincial plan is not filed");
    assert!(v["doc_number"].as_str().unwrap().starts_with("云数授方〔2026〕"));
    // Locked: editing is refused.
    let (s, v) =
        post(&app, &agency, &format!("/api/v1/plans/{id}/edit"), json!({"content": full_content("x")})).await;
    assert_eq!(s, 409);
    assert_eq!(v["code"], "plan.locked");

    // A major change repeats the path; the old version is superseded on approval.
    let (s, v) = post(
        &app,
        &agency,
        &format!("/api/v1/plans/{id}/version"),
        json!({"kind": "major", "description": "扩大数据范围"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let v2 = v["id"].as_i64().unwrap();
    assert_ne!(v2, id);
    assert_eq!(v["version"], 2);
    assert_eq!(v["status"], "draft");
    let (s, _) = post(&app, &agency, &format!("/api/v1/plans/{v2}/submit"), json!({})).await;
    assert_eq!(s, 200);
    let (_, v) = post(
        &app,
        &agency,
        &format!("/api/v1/plans/{v2}/decision"),
        json!({"meeting": "党委会", "date": "2026-11-27", "outcome": "approved"}),
    )
    .await;
    assert_eq!(v["status"], "government_review", "a major change goes to the government again");
    let (_, v) = post(
        &app,
        &agency,
        &format!("/api/v1/plans/{v2}/review"),
        json!({"meeting_ref": "省政府常务会议", "date": "2026-11-27", "outcome": "approved"}),
    )
    .await;
    assert_eq!(v["status"], "approved");
    let old = app.api_get(&agency, &format!("/api/v1/plans/{id}")).await;
    assert_eq!(old["status"], "superseded");

    // A prefecture plan: the bureau gets a filing to-do due 20 working days after approval.
    let km_id = approved_plan(&app, &km, "昆明市公共数据授权运营").await;
    let plan = app.api_get(&km, &format!("/api/v1/plans/{km_id}")).await;
    assert_eq!(plan["filing"]["status"], "due");
    let due = plan["filing"]["due"].as_str().unwrap().to_owned();
    let cal = app.state.store.work_calendar().await.unwrap();
    let approved = chrono::NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
    assert_eq!(due, cal.deadline_working_days(approved, 20).due.to_string());
    assert_eq!(plan["filing"]["working_days_left"], 20);
    let todos = app.api_get(&bureau, "/api/v1/todo").await;
    assert!(todos.to_string().contains("实施方案待备案"), "{todos}");
    let filings = app.api_get(&bureau, "/api/v1/filings").await;
    assert!(filings.as_array().unwrap().iter().any(|f| f["subject"] == "plan" && f["id"] == km_id));
    // The agency cannot file its own plan; the bureau files it on time.
    let (s, _) = post(&app, &km, &format!("/api/v1/plans/{km_id}/file"), json!({})).await;
    assert_eq!(s, 403);
    let (s, v) = post(&app, &bureau, &format!("/api/v1/plans/{km_id}/file"), json!({})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["filing"]["status"], "filed");
    let (s, v) = post(&app, &bureau, &format!("/api/v1/plans/{km_id}/file"), json!({})).await;
    assert_eq!((s, v["code"].as_str()), (409, Some("filing.not_due")));

    // Another one filed after the deadline is late.
    let late = approved_plan(&app, &km, "昆明市交通数据授权运营").await;
    app.advance(chrono::Duration::days(40));
    yunshu_server::scheduler::tick(&app.state).await.unwrap();
    // Tokens do not outlive the jump in time.
    let bureau = app.token("bureau.clerk").await;
    let plan = app.api_get(&bureau, &format!("/api/v1/plans/{late}")).await;
    assert_eq!(plan["filing"]["overdue"], true);
    assert!(plan["filing"]["working_days_left"].as_i64().unwrap() < 0);
    let (s, v) = post(&app, &bureau, &format!("/api/v1/plans/{late}/file"), json!({})).await;
    assert_eq!(s, 200);
    assert_eq!(v["filing"]["status"], "filed_late");

    // The printable record carries the 文号.
    let (client, _) = app.login("kmagency.clerk").await;
    let html = client.get(format!("{}/authorization/plans/{km_id}/print", app.url)).send().await.unwrap();
    assert_eq!(html.status(), 200);
    let html = html.text().await.unwrap();
    assert!(html.contains("云数授方〔2026〕"), "print page without 文号");
    app.stop().await;
}

fn clauses(start: &str, end: &str) -> Value {
    json!({
        "data_resources": [{"id": "R1", "code": "530100-AMR-001", "name": "企业登记信息"}],
        "term_start": start, "term_end": end,
        "products": [
            {"name": "企业信用核验接口", "class": "public_welfare", "form": "data_api"},
            {"name": "普惠金融模型", "class": "industry_development", "form": "model"}
        ],
        "technical_standards": "GB/T 35273", "security_review": "上线前安全审核", "compliance_review": "业务合规审核",
        "platform": "云数运营平台", "asset_ownership": "资产归属实施机构", "disclosure": "按季度披露",
        "no_redevelopment_undertaking": true, "cost_revenue": "成本收入单独核算", "security": "安全措施",
        "evaluation_renewal": "年度评价", "liability": "违约责任", "disputes": "仲裁", "change_termination": "变更终止",
        "confidentiality": "保密", "other": "无"
    })
}

#[tokio::test]
async fn agreements_check_the_term_sign_file_and_show_in_the_overview() {
    let app = common::TestApp::spawn().await;
    let km = app.token("kmagency.clerk").await;
    let bureau = app.token("bureau.clerk").await;
    let op_org = app.state.store.user_by_username("op.clerk").await.unwrap().unwrap().org_id;

    let (s, v) = post(
        &app,
        &km,
        "/api/v1/agreements",
        json!({"mode": "whole", "method": "public_tender", "participants": ["云数运营", "甲公司"],
               "winner": "云数运营", "winner_org_id": op_org, "decided_on": "2026-11-20",
               "term_start": "2026-12-01", "term_end": "2031-12-01"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_i64().unwrap();
    // Signing before the decision: 409.
    let (s, v) = post(&app, &km, &format!("/api/v1/agreements/{id}/sign"), json!({})).await;
    assert_eq!(s, 409, "{v}");
    let (s, v) = post(
        &app,
        &km,
        &format!("/api/v1/agreements/{id}/decision"),
        json!({"meeting": "党委会（三重一大）", "date": "2026-11-25", "outcome": "approved"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    // 5 years + 1 day without justification: refused, naming the term.
    let (s, _) = post(
        &app,
        &km,
        &format!("/api/v1/agreements/{id}/content"),
        json!({"content": clauses("2026-12-01", "2031-12-02")}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, v) = post(&app, &km, &format!("/api/v1/agreements/{id}/sign"), json!({})).await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["code"], "term.too_long");
    assert_eq!(v["field"], "term_end");
    // With a recorded justification and approval it signs.
    let mut c = clauses("2026-12-01", "2031-12-02");
    c["long_term"] = json!({"justification": "基础设施投资回收期长", "approved_by": "昆明市人民政府", "approved_on": "2026-11-26"});
    let (s, v) = post(&app, &km, &format!("/api/v1/agreements/{id}/content"), json!({"content": c})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["term_beyond_limit"], true);
    let (s, v) = post(&app, &km, &format!("/api/v1/agreements/{id}/sign"), json!({})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "signed");
    assert!(v["doc_number"].as_str().unwrap().starts_with("云数运协〔2026〕"));
    // Prefecture agreement: filing due 20 working days after signing.
    let cal = app.state.store.work_calendar().await.unwrap();
    let signed = chrono::NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
    assert_eq!(v["filing"]["due"].as_str().unwrap(), cal.deadline_working_days(signed, 20).due.to_string());
    assert_eq!(v["open_tasks"], 1);

    // A second agreement with exactly 5 years signs without any justification.
    let (_, v) = post(
        &app,
        &km,
        "/api/v1/agreements",
        json!({"mode": "whole", "method": "negotiation", "participants": ["云数运营"], "winner": "云数运营",
               "winner_org_id": op_org, "decided_on": "2026-11-20", "term_start": "2026-12-01", "term_end": "2031-12-01"}),
    )
    .await;
    let five = v["id"].as_i64().unwrap();
    post(
        &app,
        &km,
        &format!("/api/v1/agreements/{five}/decision"),
        json!({"meeting": "党委会", "date": "2026-11-25", "outcome": "approved"}),
    )
    .await;
    post(
        &app,
        &km,
        &format!("/api/v1/agreements/{five}/content"),
        json!({"content": clauses("2026-12-01", "2031-12-01")}),
    )
    .await;
    let (s, v) = post(&app, &km, &format!("/api/v1/agreements/{five}/sign"), json!({})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["term_beyond_limit"], false);

    // The bureau's overview lists every agreement, the demo's 云数运营 one with its 14 clauses.
    let all = app.api_get(&bureau, "/api/v1/agreements").await;
    let all = all.as_array().unwrap();
    let row = all.iter().find(|a| a["id"] == id).expect("overview lists the agreement");
    assert_eq!(row["filing"]["status"], "due");
    assert!(all.iter().any(|a| a["agency_name"] == "云南省数据发展促进中心"
        && a["missing_clauses"].as_array().unwrap().is_empty()));
    // 昆明's agency does not see the province's agreement.
    let own = app.api_get(&km, "/api/v1/agreements").await;
    assert!(own.as_array().unwrap().iter().all(|a| a["agency_name"] != "云南省数据发展促进中心"));

    // Filed by the bureau: the to-do closes.
    let (s, v) = post(&app, &bureau, &format!("/api/v1/agreements/{id}/file"), json!({})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["filing"]["status"], "filed");
    assert_eq!(v["open_tasks"], 0);

    // The term starts: the scheduler puts it in force.
    app.advance(chrono::Duration::days(5));
    yunshu_server::scheduler::tick(&app.state).await.unwrap();
    let bureau = app.token("bureau.clerk").await;
    let v = app.api_get(&bureau, &format!("/api/v1/agreements/{id}")).await;
    assert_eq!(v["status"], "in_force");

    let (client, _) = app.login("kmagency.clerk").await;
    let html = client.get(format!("{}/authorization/agreements/{id}/print", app.url)).send().await.unwrap();
    assert_eq!(html.status(), 200);
    assert!(html.text().await.unwrap().contains("云数运协〔2026〕"));
    app.stop().await;
}

#[tokio::test]
async fn the_demo_has_plans_in_each_state() {
    let app = common::TestApp::spawn().await;
    let bureau = app.token("bureau.clerk").await;
    let plans = app.api_get(&bureau, "/api/v1/plans").await;
    let plans = plans.as_array().unwrap();
    assert!(plans.iter().any(|p| p["status"] == "government_review"), "{plans:?}");
    assert!(plans.iter().any(|p| p["status"] == "approved" && p["level"] == "province"));
    assert!(plans.iter().any(|p| p["level"] == "prefecture" && p["filing"]["overdue"] == true));
    let (client, _) = app.login("bureau.clerk").await;
    for path in ["/authorization/plans", "/authorization/agreements", "/authorization/filings"] {
        let r = client.get(format!("{}{path}", app.url)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }
    // Every demo plan and agreement renders, with its printable record once approved or signed.
    let agreements = app.api_get(&bureau, "/api/v1/agreements").await;
    let mut paths: Vec<String> = Vec::new();
    for p in plans {
        paths.push(format!("/authorization/plans/{}", p["id"]));
        if p["doc_number"].is_string() {
            paths.push(format!("/authorization/plans/{}/print", p["id"]));
        }
    }
    for a in agreements.as_array().unwrap() {
        paths.push(format!("/authorization/agreements/{}", a["id"]));
        paths.push(format!("/authorization/agreements/{}/print", a["id"]));
        assert!(a["missing_clauses"].as_array().unwrap().is_empty(), "the demo agreement has its 14 clauses");
    }
    for path in &paths {
        let r = client.get(format!("{}{path}", app.url)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn the_pages_take_structured_items_and_name_what_is_missing() {
    let app = common::TestApp::spawn().await;
    let (c, csrf) = app.login("kmagency.clerk").await;
    let page = c.get(format!("{}/authorization/plans", app.url)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("新建实施方案") && page.contains("产业发展、行业发展类"));
    // Structured lines: conditions per category, products per class with their form, milestones,
    // weighted indicators.
    let r = c
        .post(format!("{}/authorization/plans", app.url))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("name", "昆明市医疗数据授权运营实施方案"),
            ("cond_capital", "注册资本 1 亿元"),
            ("products_public", "数据接口|就医信用核验"),
            ("products_industry", "数据模型|商保理赔模型"),
            ("schedule", "2027-06-30|上线"),
            ("indicators", "供给|40\n成效|60"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let link = r.headers()["location"].to_str().unwrap().to_owned();
    let id: i64 = link.rsplit('/').next().unwrap().parse().unwrap();
    let km = app.token("kmagency.clerk").await;
    let plan = app.api_get(&km, &format!("/api/v1/plans/{id}")).await;
    assert_eq!(plan["content"]["products"][1]["class"], "industry_development");
    assert_eq!(plan["content"]["products"][1]["form"], "model");
    assert_eq!(plan["content"]["evaluation_criteria"][1]["weight"], 60);
    assert_eq!(plan["content"]["schedule"][0]["due"], "2027-06-30");
    // Submitting shows the missing items by number and name on the page (422).
    let r = c
        .post(format!("{}/authorization/plans/{id}/submit", app.url))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(body.contains("（二）授权运营的必要性和可行性论证"), "missing items not named");
    // The bureau's filing to-do page lists the demo's overdue 昆明 plan with its working days.
    let (b, _) = app.login("bureau.clerk").await;
    let page =
        b.get(format!("{}/authorization/filings", app.url)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("昆明市公共数据授权运营实施方案") && page.contains("逾期"), "{page}");
    // The agreement overview says where evaluations and sanctions come from.
    let page =
        b.get(format!("{}/authorization/agreements", app.url)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("云数运营") || page.contains("运营"));
    app.stop().await;
}

/// Clause 9 and 12: the agency renews an agreement in force only when the operator's evaluations allow
/// it (the demo's 云数运营 is in 限期整改, so renewal is refused), and terminates it with a reason.
#[tokio::test]
async fn renewal_follows_the_evaluations_and_termination_needs_a_reason() {
    let app = common::TestApp::spawn().await;
    let agency = app.token("agency.clerk").await;
    let list = app.api_get(&agency, "/api/v1/agreements").await;
    let a = list
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["status"] == "in_force" || a["status"] == "renewed")
        .unwrap_or_else(|| panic!("no agreement in force in the demo: {list}"))
        .clone();
    let id = a["id"].as_i64().unwrap();
    let end = chrono::NaiveDate::parse_from_str(a["term_end"].as_str().unwrap(), "%Y-%m-%d").unwrap();
    let new_end = end + chrono::Duration::days(365);
    let r = app
        .api_post(
            &agency,
            &format!("/api/v1/agreements/{id}/renew"),
            Some(json!({"new_end": new_end.to_string()})),
        )
        .await;
    assert_eq!(r.status(), 409);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["code"], "operation_agreement.renewal_refused", "{e}");
    // Only the agency acts; the operator cannot terminate its own agreement.
    let op = app.token("op.head").await;
    let r =
        app.api_post(&op, &format!("/api/v1/agreements/{id}/terminate"), Some(json!({"reason": "x"}))).await;
    assert_eq!(r.status(), 403);
    let r = app.api_post(&agency, &format!("/api/v1/agreements/{id}/terminate"), Some(json!({}))).await;
    assert_eq!(r.status(), 422);
    assert_eq!(r.json::<Value>().await.unwrap()["field"], "reason");
    let r = app
        .api_post(
            &agency,
            &format!("/api/v1/agreements/{id}/terminate"),
            Some(json!({"reason": "运营机构严重违反协议约定"})),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "terminated");
    let r = app
        .api_post(
            &agency,
            &format!("/api/v1/agreements/{id}/renew"),
            Some(json!({"new_end": new_end.to_string()})),
        )
        .await;
    assert_eq!(r.status(), 409, "a terminated agreement is not renewed");
    app.stop().await;
}
