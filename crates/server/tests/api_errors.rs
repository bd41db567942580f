//! Bad input gets a clear error (status, code, Chinese message, operation id, field) and changes
//! nothing: no organisation or user is added, no audit record is written.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use serde_json::{Value, json};
use yunshu_domain::ids::{ResidentId, Uscc};

struct Counts {
    orgs: usize,
    users: usize,
    audit: i64,
}

async fn counts(app: &common::TestApp) -> Counts {
    let s = &app.state.store;
    Counts {
        orgs: s.orgs_in_region("53").await.unwrap().len(),
        users: s.users_in_region("53").await.unwrap().len(),
        audit: s.audit_count().await.unwrap(),
    }
}

async fn assert_unchanged(app: &common::TestApp, before: &Counts, what: &str) {
    let now = counts(app).await;
    assert_eq!(now.orgs, before.orgs, "{what}: organisation count changed");
    assert_eq!(now.users, before.users, "{what}: user count changed");
    assert_eq!(now.audit, before.audit, "{what}: an audit record was written");
}

/// Flips the last (check) character to a different valid character.
fn break_check(s: &str) -> String {
    let last = s.chars().last().unwrap();
    let other = if last == '0' { '1' } else { '0' };
    format!("{}{other}", &s[..s.len() - 1])
}

fn assert_error_shape(body: &Value, code_prefix: &str) {
    let code = body["code"].as_str().unwrap_or_default();
    assert!(code.starts_with(code_prefix), "code {code} in {body}");
    let msg = body["message"].as_str().unwrap_or_default();
    assert!(msg.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "message not Chinese: {body}");
    assert!(!body["operation_id"].as_str().unwrap_or_default().is_empty(), "no operation_id: {body}");
}

#[tokio::test]
async fn bad_input_is_refused_clearly_and_changes_nothing() {
    let app = common::TestApp::spawn().await;
    let token = app.token("bureau.admin").await;
    let c = reqwest::Client::new();
    let post = |path: &str| c.post(format!("{}{path}", app.url)).bearer_auth(&token);
    let fintech_org = app.state.store.user_by_username("fintech.head").await.unwrap().unwrap().org_id;

    let good_uscc = Uscc::complete("9153010200000033").unwrap().to_string();
    let good_rid = ResidentId::complete("53010219900101123").unwrap().as_str().to_owned();
    let user = |rid: &str, mobile: &str| {
        json!({"org_id": fintech_org, "username": "err.user", "display_name": "测试用户",
               "resident_id": rid, "mobile": mobile, "roles": ["clerk"], "password": "Kunming-2026!"})
    };

    let before = counts(&app).await;
    // Invalid USCC check character.
    let r = post("/api/v1/orgs")
        .json(&json!({"name": "错误测试有限公司", "uscc": break_check(&good_uscc), "org_type": "developer", "region": "530102"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let b: Value = r.json().await.unwrap();
    assert_error_shape(&b, "");
    assert_eq!(b["field"], "uscc", "{b}");
    assert_unchanged(&app, &before, "bad uscc").await;

    // Invalid resident id check character.
    let r = post("/api/v1/users").json(&user(&break_check(&good_rid), "13912345678")).send().await.unwrap();
    assert_eq!(r.status(), 422);
    let b: Value = r.json().await.unwrap();
    assert_error_shape(&b, "");
    assert_eq!(b["field"], "resident_id", "{b}");
    assert_unchanged(&app, &before, "bad resident id").await;

    // Invalid mobile.
    let r = post("/api/v1/users").json(&user(&good_rid, "1391234567")).send().await.unwrap();
    assert_eq!(r.status(), 422);
    let b: Value = r.json().await.unwrap();
    assert_error_shape(&b, "");
    assert_eq!(b["field"], "mobile", "{b}");
    assert_unchanged(&app, &before, "bad mobile").await;

    // Impossible birth date 1999-02-30 (whatever the check character).
    for last in ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'X'] {
        let rid = format!("53010219990230123{last}");
        let r = post("/api/v1/users").json(&user(&rid, "13912345678")).send().await.unwrap();
        assert_eq!(r.status(), 422, "birth date 19990230 with check {last}");
    }
    assert_unchanged(&app, &before, "bad birth date").await;

    // Malformed JSON.
    let r = post("/api/v1/orgs")
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["code"], "request.malformed_json", "{b}");
    assert_unchanged(&app, &before, "malformed json").await;

    // Body over 2 MiB.
    let big = format!("{{\"name\": \"{}\"}}", "a".repeat(3 * 1024 * 1024));
    let r = post("/api/v1/orgs").header("content-type", "application/json").body(big).send().await.unwrap();
    assert_eq!(r.status(), 413);
    assert_unchanged(&app, &before, "too large").await;

    // Unknown API route → JSON 404; unknown page → HTML 404.
    let r = c.get(format!("{}/api/v1/nope", app.url)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["code"], "not_found", "{b}");
    let r = c.get(format!("{}/no-such-page", app.url)).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let ct = r.headers().get("content-type").unwrap().to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/html"), "{ct}");
    assert_unchanged(&app, &before, "404s").await;

    // Duplicate USCC → 409 (the first creation succeeds and is audited; the duplicate adds nothing).
    let org =
        json!({"name": "重复测试有限公司", "uscc": good_uscc, "org_type": "developer", "region": "530102"});
    let r = post("/api/v1/orgs").json(&org).send().await.unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let after_first = counts(&app).await;
    assert_eq!(after_first.orgs, before.orgs + 1);
    let r = post("/api/v1/orgs").json(&org).send().await.unwrap();
    assert_eq!(r.status(), 409);
    let b: Value = r.json().await.unwrap();
    assert_error_shape(&b, "");
    assert_unchanged(&app, &after_first, "duplicate uscc").await;

    app.stop().await;
}

#[tokio::test]
async fn openapi_health_tokens_and_csrf() {
    let app = common::TestApp::spawn().await;
    let c = reqwest::Client::new();
    let doc: Value =
        c.get(format!("{}/api/v1/openapi.json", app.url)).send().await.unwrap().json().await.unwrap();
    assert!(doc["paths"].get("/api/v1/orgs").is_some(), "openapi paths lack /api/v1/orgs");
    assert_eq!(c.get(format!("{}/healthz", app.url)).send().await.unwrap().status(), 200);

    // A revoked token is refused. (Tokens are minted from a signed-in session, never from a token.)
    let token = app.token("bureau.admin").await;
    let (web, web_csrf) = app.login("bureau.admin").await;
    let r = web
        .post(format!("{}/api/v1/tokens", app.url))
        .header("x-csrf-token", &web_csrf)
        .json(&json!({"name": "short", "days": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let t: Value = r.json().await.unwrap();
    let (id, second) = (t["id"].as_i64().unwrap(), t["token"].as_str().unwrap().to_owned());
    assert_eq!(
        c.get(format!("{}/api/v1/me", app.url)).bearer_auth(&second).send().await.unwrap().status(),
        200
    );
    let r =
        c.post(format!("{}/api/v1/tokens/{id}/revoke", app.url)).bearer_auth(&token).send().await.unwrap();
    assert!(r.status().is_success(), "revoke: {}", r.status());
    let r = c.get(format!("{}/api/v1/me", app.url)).bearer_auth(&second).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["code"], "auth.bad_token", "{b}");
    // An unknown token likewise.
    let r = c.get(format!("{}/api/v1/me", app.url)).bearer_auth("not-a-token").send().await.unwrap();
    assert_eq!(r.status(), 401);

    // CSRF: a cookie-authenticated write without the token is refused and writes nothing.
    let before = app.state.store.audit_count().await.unwrap();
    let (s, _) = app.login("bureau.admin").await;
    let after_login = app.state.store.audit_count().await.unwrap();
    assert!(after_login >= before);
    let r = s
        .post(format!("{}/admin/orgs", app.url))
        .form(&[("name", "无令牌有限公司"), ("uscc", "x"), ("org_type", "developer"), ("region", "530102")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = s
        .post(format!("{}/api/v1/orgs", app.url))
        .json(&json!({"name": "无令牌有限公司"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["code"], "auth.csrf", "{b}");
    // Nothing was created; the two refused attempts are themselves on record (越权访问).
    assert_eq!(app.state.store.audit_count().await.unwrap(), after_login + 2);
    for r in app.state.store.audit_recent(None, 2).await.unwrap() {
        assert_eq!(r.record.action, "auth.denied");
        assert_eq!(r.record.result, "denied");
    }
    app.stop().await;
}
