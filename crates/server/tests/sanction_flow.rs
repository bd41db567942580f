//! The blacklist (Art. 21) and termination (Art. 25(5)) end to end through the API: a restriction
//! refuses applications province-wide, a suspension blocks the developer's access at once and
//! lifting restores it, only the imposing operator lifts (with a reason), termination closes access
//! at once, and an attestation not given within 10 working days is flagged to the operator and the
//! bureau on the first day after its due day.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use chrono::NaiveDate;
use object_store::ObjectStoreExt;
use serde_json::{Value, json};
use yunshu_domain::authorization::sanction::{Sanction, SanctionError, SanctionKind, applications_allowed};
use yunshu_domain::party::OrgType;

async fn post(app: &common::TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    let r = app.api_post(token, path, Some(body)).await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn org_of(app: &common::TestApp, username: &str) -> i64 {
    app.state.store.user_by_username(username).await.unwrap().unwrap().org_id
}

/// The scenario and development agreement 滇金普惠 holds in the demo.
async fn fintech_agreement(app: &common::TestApp, token: &str) -> (i64, i64) {
    let apps = app.api_get(token, "/api/v1/applications").await;
    let a = apps.as_array().unwrap().iter().find(|a| a["status"] == "contracted").expect("demo agreement");
    (a["scenario_id"].as_i64().unwrap(), a["agreement"]["id"].as_i64().unwrap())
}

async fn access(app: &common::TestApp, token: &str, sid: i64) -> String {
    let v = app.api_get(token, &format!("/api/v1/scenarios/{sid}/access")).await;
    let scenario = app.api_get(token, &format!("/api/v1/scenarios/{sid}")).await;
    // The scenario view's flag and the access decision agree.
    assert_eq!(scenario["access"], v["allowed"], "{v}");
    v["code"].as_str().unwrap().to_owned()
}

async fn todos(app: &common::TestApp, token: &str, kind: &str) -> Vec<Value> {
    app.api_get(token, "/api/v1/todo")
        .await
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["action"] == kind)
        .cloned()
        .collect()
}

#[test]
fn a_restriction_by_any_operator_refuses_applications_in_the_whole_province() {
    let today = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
    let until = NaiveDate::from_ymd_opt(2027, 6, 30).unwrap();
    // Imposed by operator 77 (another prefecture's operator): binds everyone.
    let s = Sanction::impose(
        SanctionKind::Restriction,
        5,
        77,
        OrgType::Operator,
        None,
        Some(until),
        "数据外泄",
        today,
    )
    .unwrap();
    assert!(matches!(
        applications_allowed(std::slice::from_ref(&s), today),
        Err(SanctionError::Restricted { .. })
    ));
    assert!(applications_allowed(&[s], until.succ_opt().unwrap()).is_ok());
}

#[tokio::test]
async fn restriction_by_the_operator_refuses_an_application() {
    let app = common::TestApp::spawn().await;
    let op = app.token("op.clerk").await;
    let travel = app.token("travel.clerk").await;
    let travel_org = org_of(&app, "travel.clerk").await;

    // A restriction needs its end date; a developer may not impose.
    let (s, v) = post(
        &app,
        &op,
        "/api/v1/sanctions",
        json!({"developer_org_id": travel_org, "kind": "restriction", "reason": "违规对外提供数据"}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["field"], "until");
    let body = json!({"developer_org_id": travel_org, "kind": "restriction", "until": "2027-06-30",
                      "reason": "违规对外提供数据"});
    let (s, _) = post(&app, &travel, "/api/v1/sanctions", body.clone()).await;
    assert_eq!(s, 403);
    let (s, v) = post(&app, &op, "/api/v1/sanctions", body).await;
    assert_eq!(s, 201, "{v}");

    // The restricted developer applies for the open scenario: refused, with the domain's message.
    let scenarios = app.api_get(&travel, "/api/v1/scenarios").await;
    let open =
        scenarios.as_array().unwrap().iter().find(|s| s["status"] == "open").unwrap()["id"].as_i64().unwrap();
    let (s, v) =
        post(&app, &travel, &format!("/api/v1/scenarios/{open}/applications"), json!({"material_ids": []}))
            .await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["code"], "sanction.restricted");
    assert!(v["message"].as_str().unwrap().contains("全省范围内"), "{v}");

    // The developer sees its own measure; the bureau and the supervisor see it read-only.
    let mine = app.api_get(&travel, "/api/v1/sanctions").await;
    assert_eq!(mine.as_array().unwrap().len(), 1);
    assert_eq!(mine[0]["kind"], "restriction");
    assert_eq!(mine[0]["state"], "active");
    let bureau = app.token("bureau.clerk").await;
    assert!(!app.api_get(&bureau, "/api/v1/sanctions").await.as_array().unwrap().is_empty());
    let cac = app.token("cac.clerk").await;
    assert!(!app.api_get(&cac, "/api/v1/sanctions").await.as_array().unwrap().is_empty());
    let (s, _) = post(&app, &bureau, "/api/v1/sanctions", json!({})).await;
    assert_eq!(s, 403);
    app.stop().await;
}

#[tokio::test]
async fn suspension_blocks_access_at_once_and_only_the_operator_lifts_it_with_a_reason() {
    let app = common::TestApp::spawn().await;
    let op = app.token("op.clerk").await;
    let dev = app.token("fintech.clerk").await;
    let dev_org = org_of(&app, "fintech.clerk").await;
    let (sid, aid) = fintech_agreement(&app, &dev).await;
    assert_eq!(access(&app, &dev, sid).await, "allowed");

    // A suspension must name the agreement.
    let (s, v) = post(
        &app,
        &op,
        "/api/v1/sanctions",
        json!({"developer_org_id": dev_org, "kind": "suspension", "reason": "未按约定落实安全措施"}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["field"], "agreement_id");
    let (s, v) = post(
        &app,
        &op,
        "/api/v1/sanctions",
        json!({"developer_org_id": dev_org, "kind": "suspension", "agreement_id": aid,
               "reason": "未按约定落实安全措施"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_i64().unwrap();
    // The same token, the next request: access is gone.
    assert_eq!(access(&app, &dev, sid).await, "suspended");

    // Only the operator lifts: the developer, the bureau and the supervisor are refused.
    for who in ["fintech.clerk", "bureau.clerk", "cac.clerk", "op.reviewer1"] {
        let t = app.token(who).await;
        let (s, _) =
            post(&app, &t, &format!("/api/v1/sanctions/{id}/lift"), json!({"reason": "已整改"})).await;
        assert_eq!(s, 403, "{who}");
    }
    // Without a reason: 422 naming the field.
    let (s, v) = post(&app, &op, &format!("/api/v1/sanctions/{id}/lift"), json!({"reason": "  "})).await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["field"], "reason");
    let (s, v) =
        post(&app, &op, &format!("/api/v1/sanctions/{id}/lift"), json!({"reason": "已完成整改并通过复核"}))
            .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "lifted");
    assert_eq!(access(&app, &dev, sid).await, "allowed");
    // Lifting twice is a conflict.
    let (s, v) = post(&app, &op, &format!("/api/v1/sanctions/{id}/lift"), json!({"reason": "再次"})).await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["code"], "sanction.nothing_to_lift");

    // A cancellation revokes access for good: it cannot be lifted.
    let (s, v) = post(
        &app,
        &op,
        "/api/v1/sanctions",
        json!({"developer_org_id": dev_org, "kind": "cancellation", "agreement_id": aid, "reason": "严重违约"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(access(&app, &dev, sid).await, "cancelled");
    let cid = v["id"].as_i64().unwrap();
    let (s, v) = post(&app, &op, &format!("/api/v1/sanctions/{cid}/lift"), json!({"reason": "撤销"})).await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["code"], "sanction.permanent");

    // Every change is audited.
    let audit: Vec<String> = app
        .state
        .store
        .audit_recent(None, 50)
        .await
        .unwrap()
        .iter()
        .map(|r| r.record.action.clone())
        .collect();
    assert!(audit.iter().any(|a| a == "sanction.impose"));
    assert!(audit.iter().any(|a| a == "sanction.lift"));
    app.stop().await;
}

#[tokio::test]
async fn termination_closes_access_at_once_and_an_overdue_attestation_is_flagged() {
    let app = common::TestApp::spawn().await;
    let op = app.token("op.clerk").await;
    let dev = app.token("fintech.clerk").await;
    let bureau = app.token("bureau.clerk").await;
    let (sid, aid) = fintech_agreement(&app, &dev).await;
    let path = format!("/api/v1/dev-agreements/{aid}/termination");

    // Only the operator terminates, and with a reason.
    let (s, _) = post(&app, &dev, &path, json!({"reason": "x"})).await;
    assert_eq!(s, 403);
    let (s, v) = post(&app, &op, &path, json!({"reason": ""})).await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["field"], "reason");
    let (s, t) = post(&app, &op, &path, json!({"reason": "开发主体严重违反协议约定"})).await;
    assert_eq!(s, 201, "{t}");
    assert_eq!(access(&app, &dev, sid).await, "terminated");
    let tid = t["id"].as_i64().unwrap();
    // The demo's project under this agreement has one output waiting for review: termination deletes
    // its files from the vault and lists the deletion; nothing was downloaded.
    let copies = t["platform_copies"].as_array().unwrap();
    assert_eq!(copies.len(), 1, "{t}");
    assert!(copies[0]["id"].as_str().unwrap().starts_with("output:"), "{t}");
    assert_eq!(copies[0]["kind"], "pending_output", "{t}");
    assert!(copies[0]["done_on"].is_string(), "{t}");
    assert_eq!(t["downloads"], json!([]));
    let outputs = app.state.store.sandbox_outputs_of_agreement(aid).await.unwrap();
    let gone = app.state.objects.head(&object_store::path::Path::from(outputs[0].object_path.as_str())).await;
    assert!(matches!(gone, Err(object_store::Error::NotFound { .. })), "{gone:?}");
    // Terminating twice is a conflict.
    let (s, v) = post(&app, &op, &path, json!({"reason": "again"})).await;
    assert_eq!(s, 409, "{v}");

    // Due 10 working days after the termination (the domain's Settings), on the work calendar.
    let today = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
    let cal = app.state.store.work_calendar().await.unwrap();
    let due = cal.deadline_working_days(today, 10).due;
    assert_eq!(t["attestation_due"], due.to_string());
    let attest = todos(&app, &dev, "termination.attest").await;
    assert_eq!(attest.len(), 1);
    assert_eq!(attest[0]["due_date"], due.to_string());

    // The operator cannot verify before the developer attests.
    let (s, v) =
        post(&app, &op, &format!("/api/v1/terminations/{tid}/verification"), json!({"note": "ok"})).await;
    assert_eq!(s, 409, "{v}");

    // On the due day nothing is flagged; the day after, the operator and the bureau are told, once.
    app.advance(chrono::Duration::days((due - today).num_days()));
    assert_eq!(yunshu_server::scheduler::tick(&app.state).await.unwrap().attestations_flagged, 0);
    app.advance(chrono::Duration::days(1));
    assert_eq!(yunshu_server::scheduler::tick(&app.state).await.unwrap().attestations_flagged, 1);
    assert_eq!(yunshu_server::scheduler::tick(&app.state).await.unwrap().attestations_flagged, 0);
    assert_eq!(todos(&app, &op, "termination.overdue").await.len(), 1);
    assert_eq!(todos(&app, &bureau, "termination.overdue").await.len(), 1);
    let v = app.api_get(&op, &path).await;
    assert_eq!(v["overdue"], true);
    assert_eq!(v["overdue_flagged_on"], (due + chrono::Duration::days(1)).to_string());

    // The developer attests (its download log is empty: zero files), the operator verifies.
    let (s, _) = post(&app, &op, &format!("/api/v1/terminations/{tid}/attestation"), json!({})).await;
    assert_eq!(s, 403);
    let (s, v) = post(
        &app,
        &dev,
        &format!("/api/v1/terminations/{tid}/attestation"),
        json!({"file_ids": [], "statement": "本单位未保留任何下载数据"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "developer_attested");
    assert_eq!(v["attestations"].as_array().unwrap().len(), 1);
    assert!(todos(&app, &dev, "termination.attest").await.is_empty());
    assert_eq!(todos(&app, &op, "termination.verify").await.len(), 1);
    let (s, v) =
        post(&app, &op, &format!("/api/v1/terminations/{tid}/verification"), json!({"note": "已核验"})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "verified");
    assert!(todos(&app, &op, "termination.verify").await.is_empty());
    // Still no access after verification.
    assert_eq!(access(&app, &dev, sid).await, "terminated");
    app.stop().await;
}

#[tokio::test]
async fn pages_impose_lift_terminate_attest_verify_and_print() {
    let app = common::TestApp::spawn().await;
    let dev_org = org_of(&app, "fintech.clerk").await;
    let dev_token = app.token("fintech.clerk").await;
    let (sid, aid) = fintech_agreement(&app, &dev_token).await;

    // The demo's reminder interview is on the list of the operator, the developer, the bureau and
    // the supervisor; only the operator has the forms; the provider does not see the page.
    let (op, csrf) = app.login("op.clerk").await;
    let body = op.get(format!("{}/sanctions", app.url)).send().await.unwrap().text().await.unwrap();
    assert!(body.contains("提醒约谈") && body.contains("impose-sanction"), "{body}");
    for who in ["fintech.clerk", "bureau.clerk", "cac.clerk"] {
        let (c, _) = app.login(who).await;
        let r = c.get(format!("{}/sanctions", app.url)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{who}");
        let body = r.text().await.unwrap();
        assert!(body.contains("提醒约谈"), "{who}");
        assert!(!body.contains("impose-sanction"), "{who}");
    }
    let (amr, _) = app.login("amr.clerk").await;
    assert_eq!(amr.get(format!("{}/sanctions", app.url)).send().await.unwrap().status(), 403);

    // Impose a suspension through the form; a missing reason is answered beside the form.
    let post = |path: String, pairs: Vec<(&'static str, String)>| {
        let mut v: Vec<(String, String)> = vec![("_csrf".into(), csrf.clone())];
        v.extend(pairs.into_iter().map(|(a, b)| (a.to_owned(), b)));
        op.post(format!("{}{path}", app.url)).form(&v).send()
    };
    let r = post(
        "/sanctions".into(),
        vec![
            ("developer_org_id", dev_org.to_string()),
            ("kind", "suspension".into()),
            ("agreement_id", aid.to_string()),
            ("until", String::new()),
            ("reason", String::new()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("请填写理由"));
    let r = post(
        "/sanctions".into(),
        vec![
            ("developer_org_id", dev_org.to_string()),
            ("kind", "suspension".into()),
            ("agreement_id", aid.to_string()),
            ("until", String::new()),
            ("reason", "安全整改期间暂停".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(access(&app, &dev_token, sid).await, "suspended");
    let list = app.api_get(&dev_token, "/api/v1/sanctions").await;
    let susp =
        list.as_array().unwrap().iter().find(|s| s["kind"] == "suspension").unwrap()["id"].as_i64().unwrap();
    let r = post(format!("/sanctions/{susp}/lift"), vec![("reason", "整改完成".into())]).await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(access(&app, &dev_token, sid).await, "allowed");

    // Terminate through the page; the steps and the printable record follow.
    let page = format!("/dev-agreements/{aid}/termination");
    let body = op.get(format!("{}{page}", app.url)).send().await.unwrap().text().await.unwrap();
    assert!(body.contains("id=\"terminate\""));
    let r = post(page.clone(), vec![("reason", "开发主体申请提前终止".into())]).await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(access(&app, &dev_token, sid).await, "terminated");
    let body = op.get(format!("{}{page}", app.url)).send().await.unwrap().text().await.unwrap();
    assert!(body.contains("output:") && body.contains("终止开发利用协议"), "{body}");
    let t = app.api_get(&dev_token, &format!("/api/v1/dev-agreements/{aid}/termination")).await;
    let tid = t["id"].as_i64().unwrap();

    let (dev, dcsrf) = app.login("fintech.clerk").await;
    let body = dev.get(format!("{}{page}", app.url)).send().await.unwrap().text().await.unwrap();
    assert!(body.contains("id=\"attest\""));
    let r = dev
        .post(format!("{}/terminations/{tid}/attestation", app.url))
        .form(&[("_csrf", dcsrf.as_str()), ("statement", "未保留任何数据")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r =
        post(format!("/terminations/{tid}/verification"), vec![("note", "核验无误".into())]).await.unwrap();
    assert_eq!(r.status(), 303);
    let print = op.get(format!("{}{page}/print", app.url)).send().await.unwrap();
    assert_eq!(print.status(), 200);
    let body = print.text().await.unwrap();
    assert!(
        body.contains("云数终〔2026〕") && body.contains("已核验") && body.contains("核验无误"),
        "{body}"
    );
    app.stop().await;
}
