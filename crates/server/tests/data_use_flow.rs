//! Data-use requests, projects, security assessments and grants end to end through the API and the
//! pages: the full chain (operator drafts and submits → to-dos for the provider and the serving data
//! authority → both approve → the developer opens a project → the operator assesses and grants → the
//! chain holds → revocation stops it), and each refusal: a field excluded for the scenario, a
//! negative-listed resource, a class wider than requested, k below 5, the combined grade of linked
//! quasi-identifiers, a developer without an agreement, a sanctioned developer, expiry on the day after
//! the validity, and a prefecture authority reaching for a sibling prefecture's request.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use serde_json::{Value, json};

async fn post(app: &common::TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    let r = app.api_post(token, path, Some(body)).await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn status_of(app: &common::TestApp, token: &str, path: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{}{path}", app.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn resource(app: &common::TestApp, name: &str) -> (i64, i64) {
    let all = app.state.store.resources(&Default::default()).await.unwrap();
    let r = all.iter().find(|r| r.meta.name == name).unwrap();
    (r.id, r.provider_org_id)
}

async fn scenario(app: &common::TestApp, title: &str) -> i64 {
    app.state.store.scenarios().await.unwrap().into_iter().find(|s| s.scenario.title == title).unwrap().id
}

fn field(resource_id: i64, item: &str, class: &str) -> Value {
    json!({"resource_id": resource_id, "item": item, "class": class,
           "justification": format!("{item}是评估模型必需的特征，无法以其他方式替代")})
}

/// Drafts and submits a request; returns its id (asserting both steps succeed).
async fn request(
    app: &common::TestApp,
    op: &str,
    scenario_id: i64,
    provider: i64,
    fields: Vec<Value>,
    until: &str,
) -> i64 {
    let (s, v) = post(
        app,
        op,
        "/api/v1/data-use-requests",
        json!({"scenario_id": scenario_id, "provider_org_id": provider,
               "purpose": "评估小微企业用工稳定性和缴费能力，作为信用评分特征",
               "row_scope": "全省 2026 年以来的记录", "valid_until": until, "fields": fields}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_i64().unwrap();
    let (s, v) = post(app, op, &format!("/api/v1/data-use-requests/{id}/submit"), json!({})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "submitted");
    id
}

async fn approve_both(app: &common::TestApp, id: i64, provider: &str, authority: &str) {
    for who in [provider, authority] {
        let (s, v) = post(app, who, &format!("/api/v1/data-use-requests/{id}/approve"), json!({})).await;
        assert_eq!(s, 200, "{v}");
    }
}

struct Chain {
    project: i64,
    assessment: i64,
}

/// Opens a project for 滇金普惠 and records a passing assessment over `request`.
async fn project_and_assessment(
    app: &common::TestApp,
    op: &str,
    dev: &str,
    scenario_id: i64,
    request: i64,
) -> Chain {
    let (s, v) = post(
        app,
        dev,
        "/api/v1/projects",
        json!({"scenario_id": scenario_id, "name": "测试评分项目", "purpose": "训练小微企业信用评分模型的测试项目"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let project = v["id"].as_i64().unwrap();
    let (s, v) = post(
        app,
        op,
        "/api/v1/assessments",
        json!({"project_id": project, "request_id": request, "conclusion": "pass",
               "risks": "身份证号属直接标识符，组合后存在识别风险",
               "measures": "仅作假名化关联键，金额仅聚合输出，k 不低于 10"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    Chain { project, assessment: v["id"].as_i64().unwrap() }
}

#[tokio::test]
async fn the_full_chain_from_request_to_grant_and_revocation() {
    let app = common::TestApp::spawn().await;
    let op = app.token("op.clerk").await;
    let hrss = app.token("hrss.clerk").await;
    let bureau = app.token("bureau.clerk").await;
    let dev = app.token("fintech.clerk").await;
    let km = app.token("km.clerk").await;
    let amr = app.token("amr.clerk").await;
    let (social, provider) = resource(&app, "社会保险缴费信息").await;
    let sid = scenario(&app, "普惠金融信用评估").await;

    let id = request(
        &app,
        &op,
        sid,
        provider,
        vec![
            field(social, "参保人身份证号", "join_key"),
            field(social, "缴费单位统一社会信用代码", "dimension"),
            field(social, "缴费金额", "aggregate"),
        ],
        "2027-05-31",
    )
    .await;
    // To-dos for the provider and the data authority serving its region (the province), each due in
    // 10 working days.
    let v = app.api_get(&op, &format!("/api/v1/data-use-requests/{id}")).await;
    let bureau_org = app.state.store.user_by_username("bureau.clerk").await.unwrap().unwrap().org_id;
    assert_eq!(v["authority_org_id"], bureau_org);
    let deadlines = v["deadlines"].as_array().unwrap();
    assert_eq!(deadlines.len(), 2);
    for d in deadlines {
        assert_eq!(d["working_days_left"], 10, "{d}");
        assert_eq!(d["open"], true);
    }
    let link = format!("/data-use/requests/{id}");
    for (token, kind) in [(&hrss, "data_use.provider_decide"), (&bureau, "data_use.authority_decide")] {
        let todo = app.api_get(token, "/api/v1/todo").await;
        assert!(
            todo.as_array().unwrap().iter().any(|t| t["action"] == kind && t["link"] == link.as_str()),
            "{kind}: {todo}"
        );
    }
    // Another provider may not decide; a prefecture authority may not even look.
    let (s, _) = post(&app, &amr, &format!("/api/v1/data-use-requests/{id}/approve"), json!({})).await;
    assert_eq!(s, 403);
    assert_eq!(status_of(&app, &km, &format!("/api/v1/data-use-requests/{id}")).await, 403);
    // The operator cannot assess before approval.
    // Both approve.
    let (s, v) = post(&app, &hrss, &format!("/api/v1/data-use-requests/{id}/approve"), json!({})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "submitted");
    let (s, v) = post(&app, &hrss, &format!("/api/v1/data-use-requests/{id}/approve"), json!({})).await;
    assert_eq!(s, 409, "a side decides once: {v}");
    assert_eq!(v["code"], "data_use.already_decided");
    let (s, v) = post(&app, &bureau, &format!("/api/v1/data-use-requests/{id}/approve"), json!({})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "approved");
    assert_eq!(v["in_force"], true);
    assert!(v["deadlines"].as_array().unwrap().iter().all(|d| d["open"] == false), "{v}");

    // Project, assessment, grant.
    let c = project_and_assessment(&app, &op, &dev, sid, id).await;
    let (s, v) = post(
        &app,
        &op,
        "/api/v1/grants",
        json!({"project_id": c.project, "assessment_id": c.assessment, "k": 10,
               "row_scope": "缴费月份 >= '2026-01'",
               "fields": [{"resource_id": social, "item": "参保人身份证号", "class": "join_key"},
                          {"resource_id": social, "item": "缴费金额", "class": "aggregate"}]}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let grant = v["id"].as_i64().unwrap();
    let g = app.api_get(&dev, &format!("/api/v1/grants/{grant}")).await;
    assert_eq!(g["grade"], "l4", "{g}");
    assert_eq!(g["expires_on"], "2027-05-31");
    assert_eq!(g["chain"]["allowed"], true, "{g}");
    let p = app.api_get(&dev, &format!("/api/v1/projects/{}", c.project)).await;
    assert_eq!(p["grants"][0]["fields"][0]["class_label"], "仅作关联键（假名化）");
    let today = common::test_now().date_naive();
    assert!(yunshu_server::services::data_use::grant_chain(&app.state, grant, today).await.unwrap().is_ok());

    // Pages: the request, its printable record with 文号, the developer's project with its grants.
    let (c_op, _) = app.login("op.clerk").await;
    let page =
        c_op.get(format!("{}/data-use/requests/{id}", app.url)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("已批准") && page.contains("缴费金额"), "{page}");
    let print = c_op
        .get(format!("{}/data-use/requests/{id}/print", app.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(print.contains("公共数据使用审批表") && print.contains("云数用"), "{print}");
    let (c_dev, _) = app.login("fintech.clerk").await;
    let page =
        c_dev.get(format!("{}/projects/{}", app.url, c.project)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("仅作关联键") && page.contains("2027-05-31"), "{page}");

    // The operator's grant form previews the combined grade without granting.
    let (c_op2, csrf) = app.login("op.clerk").await;
    let page =
        c_op2.get(format!("{}/projects/{}", app.url, c.project)).send().await.unwrap().text().await.unwrap();
    let n = page.split("name=\"item_").skip(1).position(|s| s.contains("value=\"缴费金额\"")).unwrap();
    let r = c_op2
        .post(format!("{}/projects/{}/grants", app.url, c.project))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("assessment_id", &c.assessment.to_string()),
            (&format!("use_{n}"), "1"),
            (&format!("res_{n}"), &social.to_string()),
            (&format!("item_{n}"), "缴费金额"),
            (&format!("class_{n}"), "aggregate"),
            ("k", "10"),
            ("preview", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("组合分级：一般数据 L3"), "{page}");
    let p = app.api_get(&dev, &format!("/api/v1/projects/{}", c.project)).await;
    assert_eq!(p["grants"].as_array().unwrap().len(), 1, "a preview grants nothing");

    // Revocation stops the chain at once.
    let (s, v) =
        post(&app, &op, &format!("/api/v1/grants/{grant}/revoke"), json!({"reason": "项目暂停，收回授权"}))
            .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["chain"]["allowed"], false);
    assert_eq!(v["chain"]["code"], "sandbox.grant_revoked");
    let (s, _) =
        post(&app, &op, &format!("/api/v1/grants/{grant}/revoke"), json!({"reason": "再次撤销试一下"})).await;
    assert_eq!(s, 409);
    app.stop().await;
}

#[tokio::test]
async fn the_demo_has_a_granted_project_and_a_request_waiting_for_the_provider() {
    let app = common::TestApp::spawn().await;
    let dev = app.token("fintech.clerk").await;
    let amr = app.token("amr.clerk").await;
    let projects = app.api_get(&dev, "/api/v1/projects").await;
    let p = projects
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "小微企业信用评分模型")
        .expect("demo project");
    assert_eq!(p["grants"][0]["chain"]["allowed"], true, "{p}");
    assert_eq!(p["assessments"][0]["conclusion"], "conditional");
    let todo = app.api_get(&amr, "/api/v1/todo").await;
    assert!(todo.as_array().unwrap().iter().any(|t| t["action"] == "data_use.provider_decide"), "{todo}");
    // The provider's page offers the decision.
    let (c, _) = app.login("amr.clerk").await;
    let list = c.get(format!("{}/data-use/requests", app.url)).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("审批中"), "{list}");
    app.stop().await;
}

#[tokio::test]
async fn the_pages_draft_submit_and_decide() {
    let app = common::TestApp::spawn().await;
    let (social, provider) = resource(&app, "社会保险缴费信息").await;
    let sid = scenario(&app, "普惠金融信用评估").await;
    let (c, csrf) = app.login("op.clerk").await;
    let form = c
        .get(format!("{}/data-use/requests/new?scenario_id={sid}&provider_org_id={provider}", app.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(form.contains("缴费金额"), "{form}");
    // Find the row number of 缴费金额 in the form.
    let n = form.split("name=\"item_").skip(1).position(|s| s.contains("value=\"缴费金额\"")).unwrap();
    let r = c
        .post(format!("{}/data-use/requests", app.url))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("scenario_id", &sid.to_string()),
            ("provider_org_id", &provider.to_string()),
            (&format!("use_{n}"), "1"),
            (&format!("res_{n}"), &social.to_string()),
            (&format!("item_{n}"), "缴费金额"),
            (&format!("class_{n}"), "aggregate"),
            (&format!("just_{n}"), "聚合计算企业月度缴费总额，衡量缴费能力"),
            ("purpose", "评估小微企业缴费能力，作为信用评分模型特征"),
            ("row_scope", "全省 2026 年以来"),
            ("valid_until", "2027-03-31"),
            ("and_submit", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let id: i64 = location.rsplit('/').next().unwrap().parse().unwrap();
    let hrss = app.token("hrss.clerk").await;
    let v = app.api_get(&hrss, &format!("/api/v1/data-use-requests/{id}")).await;
    assert_eq!(v["status"], "submitted", "{v}");
    // The provider refuses through its page, with a reason; the request is refused.
    let (p, pcsrf) = app.login("hrss.clerk").await;
    let r = p
        .post(format!("{}/data-use/requests/{id}/refuse", app.url))
        .form(&[("_csrf", pcsrf.as_str()), ("reason", "缴费金额涉及个人收入，暂不提供")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let v = app.api_get(&hrss, &format!("/api/v1/data-use-requests/{id}")).await;
    assert_eq!(v["status"], "refused", "{v}");
    assert!(v["deadlines"].as_array().unwrap().iter().all(|d| d["open"] == false), "{v}");
    // A form error shows the page again with the message.
    let r = c
        .post(format!("{}/data-use/requests", app.url))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("scenario_id", &sid.to_string()),
            ("provider_org_id", &provider.to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    app.stop().await;
}

#[tokio::test]
async fn refusals_at_submission_and_grant() {
    let app = common::TestApp::spawn().await;
    let op = app.token("op.clerk").await;
    let hrss = app.token("hrss.clerk").await;
    let bureau = app.token("bureau.clerk").await;
    let dev = app.token("fintech.clerk").await;
    let travel = app.token("travel.clerk").await;
    let (social, provider) = resource(&app, "社会保险缴费信息").await;
    let (penalties, penalty_provider) = resource(&app, "行政处罚决定信息").await;
    let sid = scenario(&app, "普惠金融信用评估").await;
    let draft = |scenario_id: i64, provider: i64, fields: Vec<Value>| {
        json!({"scenario_id": scenario_id, "provider_org_id": provider,
               "purpose": "评估小微企业用工稳定性和缴费能力，作为信用评分特征",
               "row_scope": "全省", "valid_until": "2027-05-31", "fields": fields})
    };

    // A field the provider excluded for the scenario (精准营销:excluded on direct identifiers).
    let (s, v) = post(
        &app,
        &op,
        "/api/v1/scenarios",
        json!({"title": "精准营销", "description": "面向合作商户的精准营销客群分析，按区域和年龄段统计潜在客户规模"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let marketing = v["id"].as_i64().unwrap();
    let (s, v) = post(
        &app,
        &op,
        "/api/v1/data-use-requests",
        draft(marketing, provider, vec![field(social, "参保人身份证号", "join_key")]),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = post(&app, &op, &format!("/api/v1/data-use-requests/{}/submit", v["id"]), json!({})).await;
    assert_eq!((s, v["code"].as_str()), (422, Some("data_use.field_excluded")), "{v}");

    // A negative-listed resource.
    let (s, v) = post(
        &app,
        &op,
        "/api/v1/data-use-requests",
        draft(sid, penalty_provider, vec![field(penalties, "处罚种类", "dimension")]),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = post(&app, &op, &format!("/api/v1/data-use-requests/{}/submit", v["id"]), json!({})).await;
    assert_eq!((s, v["code"].as_str()), (422, Some("data_use.resource_unusable")), "{v}");
    assert!(v["message"].as_str().unwrap().contains("负面清单"), "{v}");

    // A developer without a development agreement for the scenario.
    let (s, v) = post(
        &app,
        &travel,
        "/api/v1/projects",
        json!({"scenario_id": sid, "name": "文旅信用项目", "purpose": "没有开发利用协议的开发主体尝试开设项目"}),
    )
    .await;
    assert_eq!((s, v["code"].as_str()), (409, Some("data_use.agreement_denied")), "{v}");

    // Wider than requested, k below 5.
    let id =
        request(&app, &op, sid, provider, vec![field(social, "缴费金额", "aggregate")], "2027-05-31").await;
    approve_both(&app, id, &hrss, &bureau).await;
    let c = project_and_assessment(&app, &op, &dev, sid, id).await;
    let grant = |class: &str, k: u32| {
        json!({"project_id": c.project, "assessment_id": c.assessment, "k": k,
               "fields": [{"resource_id": social, "item": "缴费金额", "class": class}]})
    };
    let (s, v) = post(&app, &op, "/api/v1/grants", grant("dimension", 10)).await;
    assert_eq!((s, v["code"].as_str()), (422, Some("data_use.wider_than_requested")), "{v}");
    let (s, v) = post(&app, &op, "/api/v1/grants", grant("aggregate", 3)).await;
    assert_eq!((s, v["code"].as_str()), (422, Some("data_use.k_too_low")), "{v}");
    let (s, v) = post(&app, &op, "/api/v1/grants", grant("aggregate", 5)).await;
    assert_eq!(s, 201, "{v}");
    // Only the operator grants.
    let (s, _) = post(&app, &dev, "/api/v1/grants", grant("aggregate", 10)).await;
    assert_eq!(s, 403);
    app.stop().await;
}

#[tokio::test]
async fn linked_quasi_identifiers_are_graded_as_a_direct_identifier() {
    // A policy that lets L3 fields be dimensions: each quasi-identifier alone is allowed, together
    // they single people out and count as L4 (关联汇聚, Art. 28), where dimensions are not allowed.
    let policy = yunshu_domain::catalog::GradePolicy::parse(
        "l1 = hidden, join_key, aggregate, dimension, open
         l2 = hidden, join_key, aggregate, dimension
         l3 = hidden, join_key, aggregate, dimension
         l4 = hidden, join_key
         important = hidden, aggregate
         core =",
    )
    .unwrap();
    let config = yunshu_server::Config { grade_policy: policy, ..Default::default() };
    let app = common::TestApp::spawn_with(config, common::test_now()).await;
    let op = app.token("op.clerk").await;
    let hrss = app.token("hrss.clerk").await;
    let bureau = app.token("bureau.clerk").await;
    let dev = app.token("fintech.clerk").await;
    let (social, provider) = resource(&app, "社会保险缴费信息").await;
    let sid = scenario(&app, "普惠金融信用评估").await;
    let id = request(
        &app,
        &op,
        sid,
        provider,
        vec![field(social, "出生日期", "dimension"), field(social, "参保地区县", "dimension")],
        "2027-05-31",
    )
    .await;
    approve_both(&app, id, &hrss, &bureau).await;
    let c = project_and_assessment(&app, &op, &dev, sid, id).await;
    let fields = |second: &str| {
        json!({"project_id": c.project, "assessment_id": c.assessment,
               "fields": [{"resource_id": social, "item": "出生日期", "class": "dimension"},
                          {"resource_id": social, "item": "参保地区县", "class": second}]})
    };
    let (s, v) = post(&app, &op, "/api/v1/grants", fields("dimension")).await;
    assert_eq!((s, v["code"].as_str()), (422, Some("data_use.aggregation_risk")), "{v}");
    assert!(v["message"].as_str().unwrap().contains("关联汇聚"), "{v}");
    // One of them aggregate-only: allowed, graded L3.
    let (s, v) = post(&app, &op, "/api/v1/grants", fields("aggregate")).await;
    assert_eq!(s, 201, "{v}");
    let g = app.api_get(&op, &format!("/api/v1/grants/{}", v["id"])).await;
    assert_eq!(g["grade"], "l3", "{g}");
    app.stop().await;
}

#[tokio::test]
async fn a_suspended_developer_loses_the_chain_at_once() {
    let app = common::TestApp::spawn().await;
    let op = app.token("op.clerk").await;
    let dev = app.token("fintech.clerk").await;
    let projects = app.api_get(&dev, "/api/v1/projects").await;
    let p = &projects.as_array().unwrap()[0];
    let grant = p["grants"][0]["id"].as_i64().unwrap();
    assert_eq!(p["grants"][0]["chain"]["allowed"], true);
    let dev_org = app.state.store.user_by_username("fintech.clerk").await.unwrap().unwrap().org_id;
    let (s, v) = post(
        &app,
        &op,
        "/api/v1/sanctions",
        json!({"developer_org_id": dev_org, "kind": "suspension", "agreement_id": p["agreement_id"],
               "reason": "违规将开发成果提供给未授权的第三方，暂停开发利用资格"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let chain = app.api_get(&dev, &format!("/api/v1/grants/{grant}/chain")).await;
    assert_eq!(chain["allowed"], false, "{chain}");
    assert_eq!(chain["code"], "sandbox.agreement_denied");
    let today = common::test_now().date_naive();
    let r = yunshu_server::services::data_use::grant_chain(&app.state, grant, today).await.unwrap();
    assert!(matches!(r, Err(yunshu_domain::data_use::ChainDenied::Agreement(_))), "{r:?}");
    // No new project either.
    let (s, v) = post(
        &app,
        &dev,
        "/api/v1/projects",
        json!({"scenario_id": p["scenario_id"], "name": "暂停期间的项目", "purpose": "暂停期间尝试新开项目应被拒绝"}),
    )
    .await;
    assert_eq!((s, v["code"].as_str()), (409, Some("data_use.agreement_denied")), "{v}");
    app.stop().await;
}

#[tokio::test]
async fn an_approval_expires_on_the_day_after_its_validity() {
    let app = common::TestApp::spawn().await;
    let op = app.token("op.clerk").await;
    let hrss = app.token("hrss.clerk").await;
    let bureau = app.token("bureau.clerk").await;
    let dev = app.token("fintech.clerk").await;
    let (social, provider) = resource(&app, "社会保险缴费信息").await;
    let sid = scenario(&app, "普惠金融信用评估").await;
    // Today is 2026-11-27; valid through 2026-12-02.
    let id =
        request(&app, &op, sid, provider, vec![field(social, "缴费金额", "aggregate")], "2026-12-02").await;
    approve_both(&app, id, &hrss, &bureau).await;
    let c = project_and_assessment(&app, &op, &dev, sid, id).await;
    let (s, v) = post(
        &app,
        &op,
        "/api/v1/grants",
        json!({"project_id": c.project, "assessment_id": c.assessment,
               "fields": [{"resource_id": social, "item": "缴费金额", "class": "aggregate"}]}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let grant = v["id"].as_i64().unwrap();
    // On the last day: still in force, nothing to expire.
    app.advance(chrono::Duration::days(5));
    assert_eq!(yunshu_server::scheduler::tick(&app.state).await.unwrap().data_use_expired, 0);
    let chain = app.api_get(&dev, &format!("/api/v1/grants/{grant}/chain")).await;
    assert_eq!(chain["allowed"], true, "{chain}");
    // The day after: expired by the scheduler (once), and the chain denies.
    app.advance(chrono::Duration::days(1));
    assert_eq!(yunshu_server::scheduler::tick(&app.state).await.unwrap().data_use_expired, 1);
    assert_eq!(yunshu_server::scheduler::tick(&app.state).await.unwrap().data_use_expired, 0);
    let v = app.api_get(&op, &format!("/api/v1/data-use-requests/{id}")).await;
    assert_eq!(v["status"], "expired", "{v}");
    let chain = app.api_get(&dev, &format!("/api/v1/grants/{grant}/chain")).await;
    assert_eq!(chain["allowed"], false, "{chain}");
    assert_eq!(chain["code"], "sandbox.grant_expired");
    let audit = app.state.store.audit_recent(Some(("data_use_request", &id.to_string())), 10).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|r| r.record.action == "data_use.expire" && r.record.role.as_deref() == Some("system"))
    );
    app.stop().await;
}

#[tokio::test]
async fn a_prefecture_authority_never_sees_a_sibling_prefectures_request() {
    let app = common::TestApp::spawn().await;
    let op = app.token("op.clerk").await;
    let km = app.token("km.clerk").await;
    let dali = app.token("dali.clerk").await;
    let (water, water_org) = resource(&app, "居民户用水量").await;
    let sid = scenario(&app, "普惠金融信用评估").await;
    let (s, v) = post(
        &app,
        &op,
        "/api/v1/data-use-requests",
        json!({"scenario_id": sid, "provider_org_id": water_org, "purpose": "分析居民用水稳定性作为个体工商户经营特征",
               "row_scope": "昆明市", "valid_until": "2027-05-31",
               "fields": [field(water, "用水量", "aggregate")]}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_i64().unwrap();
    // 昆明 (the provider's prefecture) reads it; 大理 does not, neither one by one nor in its list.
    assert_eq!(status_of(&app, &km, &format!("/api/v1/data-use-requests/{id}")).await, 200);
    assert_eq!(status_of(&app, &dali, &format!("/api/v1/data-use-requests/{id}")).await, 403);
    let list = app.api_get(&dali, "/api/v1/data-use-requests").await;
    assert!(list.as_array().unwrap().iter().all(|r| r["id"] != id), "{list}");
    let list = app.api_get(&km, "/api/v1/data-use-requests").await;
    assert!(list.as_array().unwrap().iter().any(|r| r["id"] == id), "{list}");
    let (c, _) = app.login("dali.clerk").await;
    let r = c.get(format!("{}/data-use/requests/{id}", app.url)).send().await.unwrap();
    assert_eq!(r.status(), 403);
    app.stop().await;
}

#[tokio::test]
async fn requests_and_grants_round_trip_through_the_store() {
    use yunshu_domain::data_use::{Approver, FieldRef, RequestStatus, Revocation};
    use yunshu_domain::party::OrgType;
    let app = common::TestApp::spawn().await;
    let store = &app.state.store;
    let (social, provider) = resource(&app, "社会保险缴费信息").await;
    let op_user = store.user_by_username("op.clerk").await.unwrap().unwrap();
    let hrss_user = store.user_by_username("hrss.clerk").await.unwrap().unwrap();
    let bureau_user = store.user_by_username("bureau.clerk").await.unwrap().unwrap();
    let demo = store
        .all_data_use_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.request.status == RequestStatus::Approved)
        .unwrap();
    let today = common::test_now().date_naive();

    // A request with a restricted field the provider consented to, approved by both.
    let mut r = demo.request.clone();
    r.status = RequestStatus::Submitted;
    r.authority_decision = None;
    r.provider_decision = None;
    r.consent_required = vec![FieldRef::new(social, "出生日期")];
    let ctx = yunshu_store::AuditCtx::system("test");
    let mut tx = store.begin(common::test_now(), &ctx).await.unwrap();
    let id = tx.insert_data_use_request(&r, op_user.id).await.unwrap();
    tx.commit().await.unwrap();
    let rec = store.data_use_request(id).await.unwrap();
    assert_eq!(rec.request, r);
    r.approve(
        Approver::Provider,
        provider,
        OrgType::DataProvider,
        hrss_user.id,
        &[FieldRef::new(social, "出生日期")],
        today,
    )
    .unwrap();
    r.approve(Approver::Authority, bureau_user.org_id, OrgType::DataAuthority, bureau_user.id, &[], today)
        .unwrap();
    assert_eq!(r.status, RequestStatus::Approved);
    let mut tx = store.begin(common::test_now(), &ctx).await.unwrap();
    tx.save_data_use_request(&rec, &r, Some(bureau_user.org_id), "data_use.approve", json!({}))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let back = store.data_use_request(id).await.unwrap();
    assert_eq!(back.request, r);
    assert_eq!(back.version, rec.version + 1);
    // A save computed from the stale read is refused.
    let mut tx = store.begin(common::test_now(), &ctx).await.unwrap();
    assert!(tx.save_data_use_request(&rec, &r, None, "data_use.approve", json!({})).await.is_err());
    tx.rollback().await.unwrap();

    // A grant with ε, linked quasi-identifiers and a revocation.
    let project = store.all_projects().await.unwrap()[0].id;
    let demo_grant = store.grants_of_project(project).await.unwrap().remove(0);
    let mut g = demo_grant.grant.clone();
    g.epsilon = Some(0.1);
    g.combined.linked_quasi = vec![FieldRef::new(social, "出生日期"), FieldRef::new(social, "参保地区县")];
    g.combined.reasons.push("第二条理由".into());
    let mut tx = store.begin(common::test_now(), &ctx).await.unwrap();
    let gid = tx.insert_grant(&g, op_user.id).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.grant(gid).await.unwrap().grant, g);
    let rev = Revocation { by: op_user.id, on: today, reason: "测试撤销授权".into() };
    let mut tx = store.begin(common::test_now(), &ctx).await.unwrap();
    tx.revoke_grant(gid, project, &rev).await.unwrap();
    tx.commit().await.unwrap();
    g.revoked = Some(rev);
    assert_eq!(store.grant(gid).await.unwrap().grant, g);
    app.stop().await;
}
