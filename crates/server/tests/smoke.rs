//! Smoke test: the demo starts, a demo user logs in and lands on the work desk.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

#[tokio::test]
async fn demo_user_logs_in_and_sees_the_work_desk() {
    let app = common::TestApp::spawn().await;
    let (c, _) = app.login("fintech.head").await;
    let body = c
        .get(format!("{}/", app.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("工作台"));
    assert!(body.contains("滇金普惠金融科技有限公司"));
    assert!(body.contains("五华区"));
    let health = c.get(format!("{}/healthz", app.url)).send().await.unwrap();
    assert_eq!(health.status(), 200);
    app.stop().await;
}
