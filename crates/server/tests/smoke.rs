//! Smoke test: the demo starts, a demo user logs in and lands on the work desk.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

#[tokio::test]
async fn demo_user_logs_in_and_sees_the_work_desk() {
    let app = common::TestApp::spawn().await;
    let (c, _) = app.login("fintech.head").await;
    let body = c.get(format!("{}/", app.url)).send().await.unwrap().text().await.unwrap();
    assert!(body.contains("工作台"));
    assert!(body.contains("滇金普惠金融科技有限公司"));
    assert!(body.contains("五华区"));
    let health = c.get(format!("{}/healthz", app.url)).send().await.unwrap();
    assert_eq!(health.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn a_head_sees_the_pending_filing_with_its_deadline_and_history() {
    let app = common::TestApp::spawn().await;
    let (c, _) = app.login("op.head").await;
    let desk = c.get(format!("{}/", app.url)).send().await.unwrap().text().await.unwrap();
    assert!(desk.contains("人员备案：何俊杰（op.newhire）"), "the seeded filing is in 待办");
    assert!(desk.contains("剩余"), "deadline shown in working days left");
    let page = c.get(format!("{}/approvals/1", app.url)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("提交人员备案"), "the submission is in the approval's history");
    assert!(page.contains("同意") && page.contains("退回") && page.contains("不同意"));
    assert!(!page.contains("转办给"), "nobody else in the operator holds the 负责人 role to take it over");
    // The approval is not visible to another organisation's clerk.
    let (other, _) = app.login("fintech.clerk").await;
    let r = other.get(format!("{}/approvals/1", app.url)).send().await.unwrap();
    assert_eq!(r.status(), 403);
    app.stop().await;
}

#[tokio::test]
async fn a_user_sees_why_they_may_not_use_data_yet() {
    let app = common::TestApp::spawn().await;
    let (c, _) = app.login("fintech.intern").await;
    let page = c.get(format!("{}/account", app.url)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("未具备"));
    assert!(page.contains("没有在有效期内的保密协议"), "the missing agreement is named");
    app.stop().await;
}
