//! Backflow (Art. 16): a prefecture authority requests a province-level resource, the provider
//! consents or refuses; the consented copy is registered in the prefecture's scope with the data;
//! an excluded resource cannot flow back, and copies are quarantined when their source is excluded.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use serde_json::{Value, json};

#[tokio::test]
async fn request_consent_copy_and_quarantine() {
    let app = common::TestApp::spawn().await;
    let all = app.state.store.resources(&Default::default()).await.unwrap();
    let id_of = |name: &str| all.iter().find(|r| r.meta.name == name).unwrap().id;
    let social = id_of("社会保险缴费信息");
    let excluded = id_of("行政处罚决定信息");
    let km = app.token("km.clerk").await;
    let dali = app.token("dali.clerk").await;
    let hrss = app.token("hrss.clerk").await;
    let bureau = app.token("bureau.clerk").await;
    let ask = |id: i64| json!({"resource_id": id, "purpose": "用于昆明市社保待遇资格核查和就业监测"});

    // Refused requests: an excluded resource, a province-level requester, a short purpose.
    let r = app.api_post(&km, "/api/v1/backflow", Some(ask(excluded))).await;
    assert_eq!(r.status(), 409);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "resource.negative_list");
    assert_eq!(app.api_post(&bureau, "/api/v1/backflow", Some(ask(social))).await.status(), 403);
    let r =
        app.api_post(&km, "/api/v1/backflow", Some(json!({"resource_id": social, "purpose": "核查"}))).await;
    assert_eq!(r.status(), 422);

    let r = app.api_post(&km, "/api/v1/backflow", Some(ask(social))).await;
    assert_eq!(r.status(), 201);
    let km_req = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    assert_eq!(app.api_post(&km, "/api/v1/backflow", Some(ask(social))).await.status(), 409, "duplicate");
    let r = app.api_post(&dali, "/api/v1/backflow", Some(ask(social))).await;
    let dali_req = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let todo = app.api_get(&hrss, "/api/v1/todo").await;
    assert_eq!(todo.as_array().unwrap().iter().filter(|t| t["action"] == "backflow.decide").count(), 2);

    // The requester cannot decide; the provider refuses with reasons and consents.
    let r = app.api_post(&km, &format!("/api/v1/backflow/{km_req}/consent"), Some(json!({}))).await;
    assert_eq!(r.status(), 403);
    let r = app.api_post(&hrss, &format!("/api/v1/backflow/{dali_req}/refuse"), Some(json!({}))).await;
    assert_eq!(r.status(), 422);
    let r = app
        .api_post(
            &hrss,
            &format!("/api/v1/backflow/{dali_req}/refuse"),
            Some(json!({"reason": "用途超出约定范围"})),
        )
        .await;
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "refused");
    let r = app.api_post(&hrss, &format!("/api/v1/backflow/{km_req}/consent"), Some(json!({}))).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    let copy = v["copy_resource_id"].as_i64().unwrap();
    assert_eq!(
        app.api_post(&hrss, &format!("/api/v1/backflow/{km_req}/consent"), Some(json!({}))).await.status(),
        409
    );

    // The copy: registered, in 昆明's scope, same items, the data version with it.
    let c = app.api_get(&km, &format!("/api/v1/resources/{copy}")).await;
    assert_eq!((c["status"].as_str(), c["region"].as_str()), (Some("registered"), Some("530100")));
    assert!(c["reg_code"].as_str().unwrap().ends_with("-HL530100"), "{c}");
    let source = app.api_get(&hrss, &format!("/api/v1/resources/{social}")).await;
    assert_eq!(c["items"], source["items"]);
    assert_eq!(c["refusal"], Value::Null);
    let versions = app.api_get(&km, &format!("/api/v1/resources/{copy}/versions")).await;
    assert_eq!(versions[0]["row_count"], 6000);
    // 大理 does not see 昆明's copy.
    let r = reqwest::Client::new()
        .get(format!("{}/api/v1/resources/{copy}", app.url))
        .bearer_auth(&dali)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Excluding the source quarantines the copy.
    let neg = json!({"reasons": "经评估涉及个人敏感信息聚合风险，暂停授权运营",
                     "decision": "同意列入", "decided_on": "2026-11-20", "reference": "云政审〔2026〕33号"});
    assert_eq!(
        app.api_post(&bureau, &format!("/api/v1/resources/{social}/negative-list"), Some(neg)).await.status(),
        201
    );
    let c = app.api_get(&km, &format!("/api/v1/resources/{copy}")).await;
    assert_eq!(c["refusal"], "resource.negative_list");
    // Pages.
    let (web, _) = app.login("hrss.clerk").await;
    let html = web.get(format!("{}/backflow", app.url)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("已同意") && html.contains("不同意"), "{html}");
    app.stop().await;
}
