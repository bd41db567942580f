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

#[tokio::test]
async fn the_audit_page_says_who_did_what_to_which_named_object_in_chinese() {
    let app = common::TestApp::spawn().await;
    let (c, _) = app.login("bureau.admin").await;
    let base = app.url.clone();
    let get = |path: String| {
        let (c, base) = (c.clone(), base.clone());
        async move {
            let r = c.get(format!("{base}{path}")).send().await.unwrap();
            assert_eq!(r.status(), 200, "{path}");
            r.text().await.unwrap()
        }
    };
    let page = get("/audit".to_owned()).await;
    let table = &page[page.find("id=\"audit-list\"").unwrap()..];
    // No raw JSON, no "user 40": named objects, Chinese actions and results.
    assert!(!table.contains("{&quot;") && !table.contains("{\""), "raw JSON in the table");
    assert!(
        table.contains("用户「") || table.contains("机构「") || table.contains("数据资源「"),
        "no named object"
    );
    assert!(!table.contains("user.create"), "action codes in the table");
    // The action filter offers Chinese names; filtering by action, person and object works.
    assert!(page.contains("<option value=\"user.create\"") && page.contains("创建用户"));
    let filtered = get("/audit?action=user.create".to_owned()).await;
    let rows = filtered.matches("<tr><td><a href=\"/audit/").count();
    assert!(rows > 0 && filtered.matches("创建用户").count() >= rows, "action filter");
    let user = app.user_id("fintech.clerk").await;
    let by_object = get(format!("/audit?object_type=user&object_id={user}")).await;
    assert!(by_object.contains("用户「"), "object filter");
    assert!(by_object.matches("<tr><td><a href=\"/audit/").count() >= 1);
    let by_person = get("/audit?person=bureau.admin".to_owned()).await;
    assert!(by_person.matches("<tr><td><a href=\"/audit/").count() >= 1, "person filter");
    // One record in full, with its JSON; the export carries the JSON too.
    let seq = app.state.store.audit_recent(Some(("user", &user.to_string())), 1).await.unwrap()[0].record.seq;
    let record = get(format!("/audit/{seq}")).await;
    assert!(record.contains("原始记录") && record.contains("id=\"audit-json\""), "{record}");
    let csv = get("/audit/export?action=user.create".to_owned()).await;
    assert!(csv.starts_with('\u{feff}') && csv.contains("原始记录（JSON）") && csv.contains("创建用户"));
    // A prefecture does not open a record of the province outside its area.
    let (km, _) = app.login("km.admin").await;
    let province = app
        .state
        .store
        .audit_recent(Some(("user", &app.user_id("bureau.clerk").await.to_string())), 1)
        .await
        .unwrap()[0]
        .record
        .seq;
    let r = km.get(format!("{}/audit/{province}", app.url)).send().await.unwrap();
    assert_eq!(r.status(), 404);
}
