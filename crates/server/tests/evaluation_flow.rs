//! Evaluations (Art. 26) end to end through the API: each relationship's evaluator may open an
//! evaluation and nobody else may (403); the weighted total and the result thresholds (and a worse
//! result chosen with a reason, never a better one); a request for materials with its due date,
//! answered by the evaluated party; a 限期整改 whose 30-day rectification ends on a Sunday and rolls to
//! the next working day; the scheduler flagging it overdue (and the sanction suggested to the
//! operator); the re-evaluation that resolves the standing. Test "now" is Fri 2026-11-27.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use serde_json::{Value, json};

async fn org_of(app: &common::TestApp, user: &str) -> i64 {
    app.state.store.user_by_username(user).await.unwrap().unwrap().org_id
}

async fn post(app: &common::TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    let r = app.api_post(token, path, Some(body)).await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn open(app: &common::TestApp, token: &str, relation: &str, evaluated: i64) -> (u16, Value) {
    post(
        app,
        token,
        "/api/v1/evaluations",
        json!({"relation": relation, "evaluated_org_id": evaluated, "period": "2026 年度"}),
    )
    .await
}

async fn evidence(app: &common::TestApp, token: &str, name: &str) -> i64 {
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/evaluation-materials?file_name={name}", app.url))
        .bearer_auth(token)
        .header("content-type", "application/pdf")
        .body(format!("%PDF-1.4\n% {name}\n%%EOF\n").into_bytes())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["sm3"].as_str().unwrap().len(), 64);
    v["id"].as_i64().unwrap()
}

/// One score per indicator of the evaluation, in order, the first with the evidence; indicators
/// beyond `values` get its last value (a plan in force may give other criteria than the defaults:
/// uniform scores give the same total whatever the weights).
fn scores(eval: &Value, values: &[u32], evidence: i64) -> Value {
    let list: Vec<Value> = eval["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, ind)| (i, (ind, values.get(i).or(values.last()).unwrap())))
        .map(|(i, (ind, s))| {
            json!({"indicator": ind["name"], "score": s,
                   "evidence": if i == 0 { vec![evidence] } else { vec![] }})
        })
        .collect();
    json!(list)
}

#[tokio::test]
async fn each_relationship_has_its_evaluator_and_refuses_the_others() {
    let app = common::TestApp::spawn().await;
    let bureau = app.token("bureau.clerk").await;
    let agency = app.token("agency.clerk").await;
    let op = app.token("op.head").await;
    let fintech = app.token("fintech.clerk").await;
    let travel = app.token("travel.clerk").await;
    let amr_org = org_of(&app, "amr.clerk").await;
    let op_org = org_of(&app, "op.head").await;
    let fintech_org = org_of(&app, "fintech.clerk").await;

    // 数据主管部门 → 数据提供单位.
    assert_eq!(open(&app, &bureau, "authority_to_provider", amr_org).await.0, 201);
    assert_eq!(open(&app, &op, "authority_to_provider", amr_org).await.0, 403);
    assert_eq!(open(&app, &agency, "authority_to_provider", amr_org).await.0, 403);
    // 实施机构 → 运营机构.
    assert_eq!(open(&app, &agency, "agency_to_operator", op_org).await.0, 201);
    assert_eq!(open(&app, &bureau, "agency_to_operator", op_org).await.0, 403);
    assert_eq!(open(&app, &op, "agency_to_operator", op_org).await.0, 403);
    // 运营机构 → 开发主体.
    let (s, v) = open(&app, &op, "operator_to_developer", fintech_org).await;
    assert_eq!(s, 201);
    let id = v["id"].as_i64().unwrap();
    assert_eq!(open(&app, &agency, "operator_to_developer", fintech_org).await.0, 403);
    assert_eq!(open(&app, &bureau, "operator_to_developer", fintech_org).await.0, 403);
    // A developer evaluates nobody.
    assert_eq!(open(&app, &fintech, "operator_to_developer", fintech_org).await.0, 403);
    // The right evaluator, the wrong party: a 422 naming the field.
    let (s, v) = open(&app, &op, "operator_to_developer", amr_org).await;
    assert_eq!(s, 422);
    assert_eq!(v["field"], "evaluated_org_id", "{v}");

    // On the evaluation itself: the evaluated developer sees it but cannot score it; a stranger
    // neither sees nor scores it.
    let path = format!("/api/v1/evaluations/{id}");
    let seen = app.api_get(&fintech, &path).await;
    assert_eq!(seen["relation"], "operator_to_developer");
    assert!(!seen["indicators"].as_array().unwrap().is_empty());
    let r =
        reqwest::Client::new().get(format!("{}{path}", app.url)).bearer_auth(&travel).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let body = json!({"scores": [], "reason": ""});
    assert_eq!(post(&app, &fintech, &format!("{path}/conclusion"), body.clone()).await.0, 403);
    assert_eq!(post(&app, &travel, &format!("{path}/conclusion"), body.clone()).await.0, 403);
    assert_eq!(post(&app, &agency, &format!("{path}/conclusion"), body).await.0, 403);
    // The evaluator cannot answer its own requests or rectify for the party.
    assert_eq!(post(&app, &op, &format!("{path}/rectification/plan"), json!({"text": "x"})).await.0, 403);
    app.stop().await;
}

#[tokio::test]
async fn weighted_total_and_thresholds() {
    let app = common::TestApp::spawn().await;
    let bureau = app.token("bureau.clerk").await;
    let agency = app.token("agency.clerk").await;
    let amr_org = org_of(&app, "amr.clerk").await;
    let op_org = org_of(&app, "op.head").await;

    // Weights 30/30/20/20, scores 90/80/70/60: 27 + 24 + 14 + 12 = 77.00 → 通过.
    let id = open(&app, &bureau, "authority_to_provider", amr_org).await.1["id"].as_i64().unwrap();
    let path = format!("/api/v1/evaluations/{id}");
    let eval = app.api_get(&bureau, &path).await;
    let ev = evidence(&app, &bureau, "supply.pdf").await;
    // A score above 100 and a missing indicator are refused, naming the field.
    let (s, v) = post(
        &app,
        &bureau,
        &format!("{path}/conclusion"),
        json!({"scores": scores(&eval, &[101, 80, 70, 60], ev)}),
    )
    .await;
    assert_eq!((s, v["field"].as_str()), (422, Some("scores")), "{v}");
    let (s, v) = post(
        &app,
        &bureau,
        &format!("{path}/conclusion"),
        json!({"scores": [scores(&eval, &[90], ev)[0].clone()]}),
    )
    .await;
    assert_eq!((s, v["code"].as_str()), (422, Some("evaluation.score_missing")), "{v}");
    // Evidence of someone else is refused.
    let amr = app.token("amr.clerk").await;
    let foreign = evidence(&app, &amr, "foreign.pdf").await;
    let (s, v) = post(
        &app,
        &bureau,
        &format!("{path}/conclusion"),
        json!({"scores": scores(&eval, &[90, 80, 70, 60], foreign)}),
    )
    .await;
    assert_eq!((s, v["field"].as_str()), (422, Some("evidence")), "{v}");
    let (s, v) = post(
        &app,
        &bureau,
        &format!("{path}/conclusion"),
        json!({"scores": scores(&eval, &[90, 80, 70, 60], ev)}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["total"], "77.00");
    assert_eq!(v["band"], "pass");
    assert_eq!(v["result"], "pass");
    assert_eq!(v["result_label"], "通过");
    assert!(v["rectification"].is_null());
    // Concluded: no second conclusion (409 with the domain's code).
    let (s, v) = post(
        &app,
        &bureau,
        &format!("{path}/conclusion"),
        json!({"scores": scores(&eval, &[90, 80, 70, 60], ev)}),
    )
    .await;
    assert_eq!((s, v["code"].as_str()), (409, Some("evaluation.already_concluded")), "{v}");
    // The provider sees its standing.
    let seen = app.api_get(&amr, &path).await;
    assert_eq!(seen["standing"]["latest"], "pass");

    // 30.00 → 未通过; a passing 60.00 concluded as 限期整改 needs a reason; never better than the band.
    let agency_ev = evidence(&app, &agency, "operator.pdf").await;
    let id = open(&app, &agency, "agency_to_operator", op_org).await.1["id"].as_i64().unwrap();
    let path = format!("/api/v1/evaluations/{id}");
    let eval = app.api_get(&agency, &path).await;
    let (s, v) = post(
        &app,
        &agency,
        &format!("{path}/conclusion"),
        json!({"scores": scores(&eval, &[30, 30, 30, 30], agency_ev), "result": "pass", "reason": "好"}),
    )
    .await;
    assert_eq!((s, v["code"].as_str()), (422, Some("evaluation.better_than_band")), "{v}");
    let (s, v) = post(
        &app,
        &agency,
        &format!("{path}/conclusion"),
        json!({"scores": scores(&eval, &[30, 30, 30, 30], agency_ev)}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!((v["total"].as_str(), v["result"].as_str()), (Some("30.00"), Some("fail")));

    let id = open(&app, &agency, "agency_to_operator", op_org).await.1["id"].as_i64().unwrap();
    let path = format!("/api/v1/evaluations/{id}");
    let (s, v) = post(
        &app,
        &agency,
        &format!("{path}/conclusion"),
        json!({"scores": scores(&eval, &[60, 60, 60, 60], agency_ev), "result": "rectify"}),
    )
    .await;
    assert_eq!((s, v["field"].as_str()), (422, Some("reason")), "{v}");
    let (s, v) = post(&app, &agency, &format!("{path}/conclusion"), json!({"scores": scores(&eval, &[60, 60, 60, 60], agency_ev), "result": "rectify", "reason": "数据安全事件未按规定报告"})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["total"].as_str(), v["band"].as_str(), v["result"].as_str()),
        (Some("60.00"), Some("pass"), Some("rectify"))
    );
    assert_eq!(v["reason"], "数据安全事件未按规定报告");
    app.stop().await;
}

#[tokio::test]
async fn materials_rectification_overdue_and_reevaluation() {
    let app = common::TestApp::spawn().await;
    let mut op = app.token("op.head").await;
    let mut fintech = app.token("fintech.clerk").await;
    let fintech_org = org_of(&app, "fintech.clerk").await;

    let id = open(&app, &op, "operator_to_developer", fintech_org).await.1["id"].as_i64().unwrap();
    let path = format!("/api/v1/evaluations/{id}");

    // A request for materials: the due date must be after today; the developer gets a to-do.
    let (s, v) =
        post(&app, &op, &format!("{path}/requests"), json!({"what": "数据使用日志", "due": "2026-11-27"}))
            .await;
    assert_eq!((s, v["field"].as_str()), (422, Some("due")), "{v}");
    let (s, v) =
        post(&app, &op, &format!("{path}/requests"), json!({"what": "数据使用日志", "due": "2026-12-04"}))
            .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["requests"][0]["due"], "2026-12-04");
    assert_eq!(v["requests"][0]["submitted_on"], Value::Null);
    let todos = app.api_get(&fintech, "/api/v1/todo").await;
    assert!(
        todos.as_array().unwrap().iter().any(|t| t["title"].as_str().unwrap_or("").contains("数据使用日志")),
        "{todos}"
    );
    let log = evidence(&app, &fintech, "usage-log.pdf").await;
    let (s, v) =
        post(&app, &fintech, &format!("{path}/materials"), json!({"request": 0, "material_ids": [log]}))
            .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["requests"][0]["submitted_on"], "2026-11-27");
    assert_eq!(v["requests"][0]["material_ids"], json!([log.to_string()]));

    // 50.00 → 限期整改 on Fri 2026-11-27: +30 days is Sun 2026-12-27 → Mon 2026-12-28.
    let eval = app.api_get(&op, &path).await;
    let ev = evidence(&app, &op, "inspection.pdf").await;
    let (s, v) = post(
        &app,
        &op,
        &format!("{path}/conclusion"),
        json!({"scores": scores(&eval, &[50, 50, 50, 50], ev)}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["result"], "rectify");
    assert_eq!(v["rectification"]["ordered_on"], "2026-11-27");
    assert_eq!(v["rectification"]["due"], "2026-12-28");
    assert_eq!(v["rectification"]["status"], "awaiting_plan");
    assert_eq!(v["standing"]["latest"], "rectify");
    assert_eq!(v["standing"]["open_rectification"], true);
    // Completion before a plan is the wrong step (409).
    let (s, v) =
        post(&app, &fintech, &format!("{path}/rectification/completion"), json!({"text": "已整改"})).await;
    assert_eq!((s, v["code"].as_str()), (409, Some("evaluation.rectification_wrong_step")), "{v}");
    let (s, v) = post(
        &app,
        &fintech,
        &format!("{path}/rectification/plan"),
        json!({"text": "补建数据使用审计日志，整改责任人张三"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["rectification"]["status"], "in_progress");
    // The due day itself is not overdue: the scheduler flags nothing. (Tokens expire over a month:
    // sign in again.)
    app.advance(chrono::Duration::days(31)); // Mon 2026-12-28.
    yunshu_server::scheduler::tick(&app.state).await.unwrap();
    op = app.token("op.head").await;
    let v = app.api_get(&op, &path).await;
    assert_eq!(v["rectification"]["overdue_flagged_on"], Value::Null);
    app.advance(chrono::Duration::days(1)); // Tue 2026-12-29: overdue.
    let report = yunshu_server::scheduler::tick(&app.state).await.unwrap();
    op = app.token("op.head").await;
    fintech = app.token("fintech.clerk").await;
    assert!(report.rectifications_overdue >= 1, "{report:?}");
    let v = app.api_get(&op, &path).await;
    assert_eq!(v["rectification"]["overdue_flagged_on"], "2026-12-29");
    assert_eq!(v["rectification"]["overdue"], true);
    // Shown to the operator only: the suggestion to suspend.
    assert_eq!(v["sanction_suggestion"]["kind"], "suspension", "{v}");
    assert_eq!(v["sanction_suggestion"]["reason"], "rectification_overdue");
    assert!(app.api_get(&fintech, &path).await["sanction_suggestion"].is_null());
    let todos = app.api_get(&op, "/api/v1/todo").await;
    assert!(todos.as_array().unwrap().iter().any(|t| t["title"].as_str().unwrap_or("").contains("整改逾期")));
    // Flagged once.
    let again = yunshu_server::scheduler::tick(&app.state).await.unwrap();
    assert_eq!(again.rectifications_overdue, 0);

    // Late completion is accepted and flagged; the evaluator re-evaluates and the standing resolves.
    let (s, v) =
        post(&app, &fintech, &format!("{path}/rectification/completion"), json!({"text": "审计日志已上线"}))
            .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["rectification"]["completed_late"], true);
    assert_eq!(post(&app, &fintech, &format!("{path}/reevaluation"), json!({})).await.0, 403);
    let (s, v) = post(&app, &op, &format!("{path}/reevaluation"), json!({})).await;
    assert_eq!(s, 201, "{v}");
    let re = v["id"].as_i64().unwrap();
    let re_path = format!("/api/v1/evaluations/{re}");
    let eval = app.api_get(&op, &re_path).await;
    assert_eq!(eval["reevaluates"], id);
    let (s, v) = post(
        &app,
        &op,
        &format!("{re_path}/conclusion"),
        json!({"scores": scores(&eval, &[80, 80, 80, 80], ev)}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["result"], "pass");
    assert_eq!(v["standing"]["latest"], "pass");
    assert_eq!(v["standing"]["open_rectification"], false);
    assert!(v["sanction_suggestion"].is_null(), "{v}");
    app.stop().await;
}

#[tokio::test]
async fn demo_has_one_evaluation_per_relationship_and_a_running_rectification() {
    let app = common::TestApp::spawn().await;
    let agency = app.token("agency.clerk").await;
    let bureau = app.token("bureau.clerk").await;
    let op = app.token("op.clerk").await;
    let b = app.api_get(&bureau, "/api/v1/evaluations").await;
    assert!(
        b.as_array()
            .unwrap()
            .iter()
            .any(|e| e["relation"] == "authority_to_provider" && e["result"] == "pass")
    );
    let a = app.api_get(&agency, "/api/v1/evaluations").await;
    let running = a
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["relation"] == "agency_to_operator")
        .expect("demo agency → operator evaluation");
    assert_eq!(running["result"], "rectify");
    assert_eq!(running["rectification"]["status"], "in_progress");
    assert_eq!(running["rectification"]["overdue"], false);
    let o = app.api_get(&op, "/api/v1/evaluations").await;
    let dev = o.as_array().unwrap().iter().find(|e| e["relation"] == "operator_to_developer").unwrap();
    assert_eq!(dev["result"], "pass");
    assert!(dev["requests"][0]["submitted_on"].is_string());
    // The operator sees its own standing as the evaluated party.
    assert_eq!(running["standing"]["open_rectification"], true);
    app.stop().await;
}

#[tokio::test]
async fn pages_list_form_and_printable_report() {
    let app = common::TestApp::spawn().await;
    let (c, csrf) = app.login("op.head").await;
    let get = |path: String| {
        let c = c.clone();
        let url = format!("{}{path}", app.url);
        async move {
            let r = c.get(url).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (s, body) = get("/evaluations".to_owned()).await;
    assert_eq!(s, 200);
    assert!(body.contains("评价评估") && body.contains("运营机构评估开发主体"), "{body}");
    assert!(body.contains("发起评估"));

    // The operator opens an evaluation of 滇金普惠 through the form, then scores it on the page.
    let fintech_org = org_of(&app, "fintech.clerk").await;
    let r = c
        .post(format!("{}/evaluations", app.url))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("relation", "operator_to_developer"),
            ("evaluated_org_id", &fintech_org.to_string()),
            ("period", "2026 年度"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let id: i64 = location.trim_start_matches("/evaluations/").parse().unwrap();
    let token = app.token("op.head").await;
    let ev = evidence(&app, &token, "page.pdf").await;
    let indicators = app.api_get(&token, &format!("/api/v1/evaluations/{id}")).await["indicators"]
        .as_array()
        .unwrap()
        .len();
    let mut form: Vec<(String, String)> = vec![("_csrf".into(), csrf.clone())];
    for i in 0..indicators {
        form.push((format!("score_{i}"), "70".into()));
        form.push((format!("evidence_{i}"), if i == 0 { ev.to_string() } else { String::new() }));
    }
    form.push(("result".into(), String::new()));
    form.push(("reason".into(), String::new()));
    let r = c.post(format!("{}/evaluations/{id}/conclude", app.url)).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let (s, body) = get(format!("/evaluations/{id}")).await;
    assert_eq!(s, 200);
    assert!(body.contains("70.00") && body.contains("通过"), "{body}");
    // A bad score shows the form again with the error (422).
    let id2 = open(&app, &token, "operator_to_developer", fintech_org).await.1["id"].as_i64().unwrap();
    let r = c
        .post(format!("{}/evaluations/{id2}/conclude", app.url))
        .form(&[("_csrf", csrf.as_str()), ("score_0", "abc")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);

    // The printable report carries its 文号.
    let (s, body) = get(format!("/evaluations/{id}/report")).await;
    assert_eq!(s, 200);
    assert!(body.contains(&format!("云数评〔2026〕{id}号")), "{body}");
    assert!(body.contains("评估报告"));

    // The evaluated operator sees its running rectification and its standing on the demo's evaluation.
    let (c2, _) = app.login("op.clerk").await;
    let body = c2.get(format!("{}/evaluations", app.url)).send().await.unwrap().text().await.unwrap();
    assert!(body.contains("实施机构评估运营机构") && body.contains("整改中"), "{body}");
    app.stop().await;
}

#[tokio::test]
async fn the_agency_plan_in_force_gives_the_indicators() {
    use yunshu_domain::authorization::plan::{ImplementationPlan, PlanStatus};
    use yunshu_domain::authorization::{Indicator, Level};
    let app = common::TestApp::spawn().await;
    let agency_org = org_of(&app, "agency.clerk").await;
    let op_org = org_of(&app, "op.head").await;
    let mut plan = ImplementationPlan::draft(agency_org, Level::Province);
    plan.content.evaluation_criteria = vec![
        Indicator { name: "服务质量".into(), weight: 60 },
        Indicator { name: "安全合规".into(), weight: 40 },
    ];
    plan.status = PlanStatus::Approved;
    let mut tx =
        app.state.store.begin(common::test_now(), &yunshu_store::AuditCtx::system("test")).await.unwrap();
    tx.insert_plan(None, &plan).await.unwrap();
    tx.commit().await.unwrap();

    let agency = app.token("agency.clerk").await;
    let id = open(&app, &agency, "agency_to_operator", op_org).await.1["id"].as_i64().unwrap();
    let v = app.api_get(&agency, &format!("/api/v1/evaluations/{id}")).await;
    assert_eq!(
        v["indicators"],
        json!([{"name": "服务质量", "weight": 60}, {"name": "安全合规", "weight": 40}])
    );
    // 90 × 60% + 50 × 40% = 74.00.
    let ev = evidence(&app, &agency, "plan.pdf").await;
    let (s, v) = post(
        &app,
        &agency,
        &format!("/api/v1/evaluations/{id}/conclusion"),
        json!({"scores": scores(&v, &[90, 50], ev)}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["total"], "74.00");
    // The operator evaluating its developers works under the same agency's plan.
    let op = app.token("op.head").await;
    let fintech_org = org_of(&app, "fintech.clerk").await;
    let id = open(&app, &op, "operator_to_developer", fintech_org).await.1["id"].as_i64().unwrap();
    let v = app.api_get(&op, &format!("/api/v1/evaluations/{id}")).await;
    assert_eq!(v["indicators"][0]["name"], "服务质量");
    // Data providers: no plan names them, the default set applies.
    let bureau = app.token("bureau.clerk").await;
    let amr_org = org_of(&app, "amr.clerk").await;
    let id = open(&app, &bureau, "authority_to_provider", amr_org).await.1["id"].as_i64().unwrap();
    let v = app.api_get(&bureau, &format!("/api/v1/evaluations/{id}")).await;
    assert_eq!(v["indicators"][0]["name"], "数据供给及时性");
    app.stop().await;
}
