//! Approval chains under pressure: two people deciding at once, transfers that must respect the step's
//! role, double submissions, and tokens that may not mint tokens.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use serde_json::{Value, json};

#[tokio::test]
async fn a_decision_made_on_a_stale_read_is_refused() {
    let app = common::TestApp::spawn().await;
    // Approval 1: 何俊杰's filing, waiting for op.head.
    let stale = app.state.store.approval(1).await.unwrap();
    let head = app.token("op.head").await;
    assert_eq!(app.api_post(&head, "/api/v1/approvals/1/approve", None).await.status(), 200);
    // A second decision computed from the earlier read (as a concurrent request would) cannot be saved.
    let cal = app.state.store.work_calendar().await.unwrap();
    let mut a = stale.approval.clone();
    a.send_back(app.user_id("op.head").await, "重复提交".into()).unwrap();
    let mut tx =
        app.state.store.begin(common::test_now(), &yunshu_store::AuditCtx::system("test")).await.unwrap();
    let err = tx.save_approval(&stale, &a, &cal, common::test_now().date_naive()).await.unwrap_err();
    assert!(matches!(err, yunshu_store::StoreError::Conflict("approval")), "{err:?}");
    tx.rollback().await.unwrap();
    assert_eq!(app.api_get(&head, "/api/v1/approvals/1").await["status"], "approved");
    app.stop().await;
}

#[tokio::test]
async fn a_task_is_transferred_only_to_someone_holding_the_steps_role() {
    let app = common::TestApp::spawn().await;
    let head = app.token("op.head").await;
    let http = reqwest::Client::new();
    let clerk = app.user_id("op.clerk").await;
    let r = http
        .post(format!("{}/api/v1/approvals/1/transfer", app.url))
        .bearer_auth(&head)
        .json(&json!({"to_user": clerk}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422, "a 负责人 step never goes to a clerk");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["field"], "to_user");
    app.stop().await;
}

#[tokio::test]
async fn a_filing_is_submitted_once_and_tokens_do_not_mint_tokens() {
    let app = common::TestApp::spawn().await;
    let admin = app.token("bureau.admin").await;
    let http = reqwest::Client::new();
    let analyst = app.user_id("fintech.analyst").await;
    let submit =
        || http.post(format!("{}/api/v1/users/{analyst}/filing", app.url)).bearer_auth(&admin).send();
    let (a, b) = tokio::join!(submit(), submit());
    let mut statuses = [a.unwrap().status().as_u16(), b.unwrap().status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409], "of two simultaneous submissions one gets through");
    let r = http
        .post(format!("{}/api/v1/tokens", app.url))
        .bearer_auth(&admin)
        .json(&json!({"name": "from a token", "days": 365}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "token.from_token");
    app.stop().await;
}

#[tokio::test]
async fn deactivating_an_assignee_tells_the_initiator() {
    let app = common::TestApp::spawn().await;
    let admin = app.token("bureau.admin").await;
    // Approval 1 waits for op.head; op.clerk submitted it.
    let head = app.user_id("op.head").await;
    assert_eq!(app.api_post(&admin, &format!("/api/v1/users/{head}/deactivate"), None).await.status(), 204);
    let clerk = app.user_id("op.clerk").await;
    let notes = app.state.store.notifications_of_user(clerk).await.unwrap();
    assert!(notes.iter().any(|n| n.title.contains("已停用") && n.link.as_deref() == Some("/approvals/1")));
    let (c, _) = app.login("op.clerk").await;
    let page = c.get(format!("{}/approvals/1", app.url)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("郑宏伟（已停用）"));
    app.stop().await;
}
