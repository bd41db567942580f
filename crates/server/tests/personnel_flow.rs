//! The personnel filing chain end to end through the API: create → verify identity → agreement →
//! filing → the 负责人's to-do → return → resubmit → approve → data access; deactivation; lockout.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use serde_json::{Value, json};
use yunshu_domain::ids::ResidentId;

const NEW_PASSWORD: &str = "Kunming-2026!";

async fn login_with(
    app: &common::TestApp,
    username: &str,
    password: &str,
) -> (reqwest::Client, reqwest::StatusCode, String) {
    let c = app.client();
    let pre = app.csrf(&c, "/login").await;
    let r = c
        .post(format!("{}/login", app.url))
        .form(&[("_csrf", pre.as_str()), ("username", username), ("password", password)])
        .send()
        .await
        .unwrap();
    let status = r.status();
    let body = r.text().await.unwrap();
    (c, status, body)
}

fn gaps(me_user: &Value) -> Vec<String> {
    me_user["data_access_gaps"].as_array().unwrap().iter().map(|g| g.as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn filing_chain_end_to_end() {
    let app = common::TestApp::spawn().await;
    let admin = app.token("bureau.admin").await;
    let head = app.token("fintech.head").await;
    let clerk = app.token("fintech.clerk").await;
    let c = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", app.url);
    let fintech_org = app.state.store.user_by_username("fintech.head").await.unwrap().unwrap().org_id;

    let rid = ResidentId::complete("53010219900101145").unwrap().as_str().to_owned();
    let r = c
        .post(url("/api/v1/users"))
        .bearer_auth(&admin)
        .json(&json!({"org_id": fintech_org, "username": "fintech.newbie", "display_name": "段新人",
                      "resident_id": rid, "mobile": "13912345678", "roles": ["clerk"], "password": NEW_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let uid = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();

    let (newbie, status, _) = login_with(&app, "fintech.newbie", NEW_PASSWORD).await;
    assert_eq!(status, 303);
    let me: Value = newbie.get(url("/api/v1/me")).send().await.unwrap().json().await.unwrap();
    let g = gaps(&me["user"]);
    for want in
        ["personnel.identity_not_verified", "personnel.filing_not_approved", "personnel.no_current_agreement"]
    {
        assert!(g.iter().any(|x| x == want), "gaps {g:?} lack {want}");
    }

    let r = c
        .post(url(&format!("/api/v1/users/{uid}/verify-identity")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["verifier"], "format-only", "{v}");
    let r = c
        .post(url(&format!("/api/v1/users/{uid}/agreement")))
        .bearer_auth(&admin)
        .json(
            &json!({"signed_on": "2026-11-20", "expires_on": "2029-11-19", "reference": "保密〔2026〕101号"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204, "{}", r.text().await.unwrap());
    let r = c.post(url(&format!("/api/v1/users/{uid}/filing"))).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let aid = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();

    // The 负责人 sees it in the to-do list with a deadline.
    let todo: Value =
        c.get(url("/api/v1/todo")).bearer_auth(&head).send().await.unwrap().json().await.unwrap();
    let item = todo
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["approval_id"] == aid && i["link"] == format!("/approvals/{aid}"))
        .unwrap_or_else(|| panic!("{todo}"));
    assert!(item["due_date"].is_string(), "{item}");
    assert!(item["working_days_left"].is_i64(), "{item}");

    // Not the clerk's task.
    let r =
        c.post(url(&format!("/api/v1/approvals/{aid}/approve"))).bearer_auth(&clerk).send().await.unwrap();
    assert_eq!(r.status(), 409);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "approval.not_your_task");

    // Returned with a comment.
    let r = c
        .post(url(&format!("/api/v1/approvals/{aid}/return")))
        .bearer_auth(&head)
        .json(&json!({"comment": "请补充岗位说明"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let u: Value = c
        .get(url(&format!("/api/v1/users/{uid}")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(u["filing_status"], "returned", "{u}");

    // The initiator resubmits; the 负责人 approves.
    let r =
        c.post(url(&format!("/api/v1/approvals/{aid}/resubmit"))).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let r = c.post(url(&format!("/api/v1/approvals/{aid}/approve"))).bearer_auth(&head).send().await.unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let a: Value = r.json().await.unwrap();
    assert_eq!(a["status"], "approved", "{a}");
    let me: Value = newbie.get(url("/api/v1/me")).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["user"]["filing_status"], "approved", "{me}");
    assert!(gaps(&me["user"]).is_empty(), "{me}");

    // The new user's token and session stop working once deactivated.
    let csrf = app.csrf(&newbie, "/account").await;
    let r = newbie
        .post(url("/api/v1/tokens"))
        .header("x-csrf-token", &csrf)
        .json(&json!({"name": "mine", "days": 30}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let newbie_token = r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let r = c.post(url(&format!("/api/v1/users/{uid}/deactivate"))).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(r.status(), 204, "{}", r.text().await.unwrap());
    assert_eq!(newbie.get(url("/api/v1/me")).send().await.unwrap().status(), 401);
    assert_eq!(c.get(url("/api/v1/me")).bearer_auth(&newbie_token).send().await.unwrap().status(), 401);
    app.stop().await;
}

#[tokio::test]
async fn five_wrong_passwords_lock_the_account() {
    let app = common::TestApp::spawn().await;
    for _ in 0..5 {
        let (_, status, _) = login_with(&app, "water.clerk", "Wrong-password-1").await;
        assert_ne!(status, 303);
    }
    let (_, status, body) = login_with(&app, "water.clerk", yunshu_server::demo::DEMO_PASSWORD).await;
    assert_eq!(status, 401);
    assert!(body.contains("锁定"), "{body}");
    app.stop().await;
}
