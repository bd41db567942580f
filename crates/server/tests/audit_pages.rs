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
    // The supervisor (网信办, province level) sees the province, including 大理's records.
    let cac = app.token("cac.clerk").await;
    let dali = app.state.store.orgs_in_region("5329").await.unwrap();
    let all = get(cac.clone(), "?action=user.create").await;
    assert!(all.iter().all(|r| r["action"] == "user.create"));
    assert!(
        all.iter().any(|r| dali.iter().any(|o| r["org_id"] == o.id.to_string()) || r["org_id"].is_null())
    );
    // Refused attempts are on record and can be filtered.
    let r = reqwest::Client::new()
        .get(format!("{}/api/v1/orgs/{}", app.url, dali[0].id))
        .bearer_auth(&km)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let denied = get(cac.clone(), "?result=denied").await;
    assert!(denied.iter().any(|r| r["action"] == "auth.denied" && r["object_id"] == "GET /api/v1/orgs/{id}"));
    // Pages: each older than the last.
    let first = get(cac.clone(), "").await;
    let last = first.last().unwrap()["seq"].as_i64().unwrap();
    let next = get(cac, &format!("?before={last}")).await;
    assert!(next.iter().all(|r| r["seq"].as_i64().unwrap() < last));
    app.stop().await;
}
