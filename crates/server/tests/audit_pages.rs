//! The audit log as supervisors read it: province-level readers see everything, a prefecture
//! authority only what organisations of its prefecture did; filters and pages.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use serde_json::Value;

#[tokio::test]
async fn a_prefecture_reads_only_its_own_prefectures_records() {
    let app = common::TestApp::spawn().await;
    let http = reqwest::Client::new();
    let get = |token: String, q: &str| {
        let url = format!("{}/api/v1/audit{q}", app.url);
        let http = http.clone();
        async move {
            let r = http.get(url).bearer_auth(token).send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Vec<Value>>().await.unwrap()
        }
    };
    let km = app.token("km.admin").await;
    let kunming_orgs: Vec<String> =
        app.state.store.orgs_in_region("5301").await.unwrap().iter().map(|o| o.id.to_string()).collect();
    let recs = get(km.clone(), "").await;
    assert!(!recs.is_empty());
    for r in &recs {
        let org = r["org_id"].as_str().unwrap_or("");
        assert!(kunming_orgs.iter().any(|o| o == org), "record {} of org {org} is outside 昆明", r["seq"]);
    }
    // A refused attempt by 大理 is on record: the supervisor (网信办, province level) sees it, 昆明 does not.
    let cac = app.token("cac.clerk").await;
    let dali_admin = app.token("dali.admin").await;
    let dali_org = app.state.store.user_by_username("dali.admin").await.unwrap().unwrap().org_id.to_string();
    let km_org = app.state.store.user_by_username("km.admin").await.unwrap().unwrap().org_id;
    let r = reqwest::Client::new()
        .get(format!("{}/api/v1/orgs/{km_org}", app.url))
        .bearer_auth(&dali_admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let denied = get(cac.clone(), "?result=denied").await;
    assert!(denied.iter().all(|r| r["result"] == "denied"));
    assert!(denied.iter().any(|r| r["action"] == "auth.denied"
        && r["org_id"] == dali_org.as_str()
        && r["object_id"] == "GET /api/v1/orgs/{id}"));
    let seen_by_km = get(km.clone(), "?result=denied").await;
    assert!(seen_by_km.iter().all(|r| r["org_id"] != dali_org.as_str()));
    let creates = get(cac.clone(), "?action=user.create").await;
    assert!(!creates.is_empty() && creates.iter().all(|r| r["action"] == "user.create"));
    // Pages: each older than the last.
    let first = get(cac.clone(), "").await;
    let last = first.last().unwrap()["seq"].as_i64().unwrap();
    let next = get(cac, &format!("?before={last}")).await;
    assert!(next.iter().all(|r| r["seq"].as_i64().unwrap() < last));
    app.stop().await;
}
