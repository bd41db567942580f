//! Verification requests (Art. 17): the operator asks, the provider answers within 10 working days;
//! the scheduler escalates on the first day after the deadline, not on it; a late answer is marked.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use serde_json::{Value, json};

#[tokio::test]
async fn verification_answered_or_escalated_on_the_right_working_day() {
    let app = common::TestApp::spawn().await;
    let op = app.token("op.clerk").await;
    let amr = app.token("amr.clerk").await;
    let bureau = app.token("bureau.clerk").await;
    let id = app
        .state
        .store
        .resources(&Default::default())
        .await
        .unwrap()
        .iter()
        .find(|r| r.meta.name == "市场主体登记信息")
        .unwrap()
        .id;
    let ask = |fields: Value| {
        json!({"kind": "verification", "fields": fields, "rows": "第 120–135 行",
               "question": "注册资本出现负数，请核实是否录入错误"})
    };
    // Bad input and wrong parties.
    let r =
        app.api_post(&op, &format!("/api/v1/resources/{id}/verifications"), Some(ask(json!(["姓名"])))).await;
    assert_eq!(r.status(), 422);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "verification.unknown_field");
    let dev = app.token("fintech.clerk").await;
    let r = app
        .api_post(&dev, &format!("/api/v1/resources/{id}/verifications"), Some(ask(json!(["注册资本"]))))
        .await;
    assert_eq!(r.status(), 403);

    // Raised Fri 2026-11-27: 11-30 … 12-04 are days 1–5, 12-07 … 12-11 days 6–10.
    let r = app
        .api_post(&op, &format!("/api/v1/resources/{id}/verifications"), Some(ask(json!(["注册资本"]))))
        .await;
    assert_eq!(r.status(), 201);
    let vid = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let v = app.api_get(&op, &format!("/api/v1/verifications/{vid}")).await;
    assert_eq!(v["due_on"], "2026-12-11");
    assert_eq!(v["status"], "open");
    let todo = app.api_get(&amr, "/api/v1/todo").await;
    let t = todo.as_array().unwrap().iter().find(|t| t["link"] == format!("/verifications/{vid}")).unwrap();
    assert_eq!((t["due_date"].as_str(), t["working_days_left"].as_i64()), (Some("2026-12-11"), Some(10)));
    // Only the provider answers.
    let r = app
        .api_post(&op, &format!("/api/v1/verifications/{vid}/answer"), Some(json!({"answer": "已核实"})))
        .await;
    assert_eq!(r.status(), 403);
    let hrss = app.token("hrss.clerk").await;
    let r = app
        .api_post(&hrss, &format!("/api/v1/verifications/{vid}/answer"), Some(json!({"answer": "已核实"})))
        .await;
    assert_eq!(r.status(), 403);

    // On the due day nothing is escalated; the next day it is, and the bureau gets a to-do.
    // (The demo's own request, due on 11-27, is escalated by the first tick.)
    app.advance(chrono::Duration::days(14)); // Fri 12-11
    yunshu_server::scheduler::tick(&app.state).await.unwrap();
    let v = app.api_get(&amr, &format!("/api/v1/verifications/{vid}")).await;
    assert_eq!((v["status"].as_str(), v["overdue"].as_bool()), (Some("open"), Some(false)));
    app.advance(chrono::Duration::days(1)); // Sat 12-12
    let report = yunshu_server::scheduler::tick(&app.state).await.unwrap();
    assert_eq!(report.verifications_escalated, 1, "{report:?}");
    assert_eq!(
        yunshu_server::scheduler::tick(&app.state).await.unwrap().verifications_escalated,
        0,
        "idempotent"
    );
    let v = app.api_get(&amr, &format!("/api/v1/verifications/{vid}")).await;
    assert_eq!((v["status"].as_str(), v["overdue"].as_bool()), (Some("escalated"), Some(true)));
    let todo = app.api_get(&bureau, "/api/v1/todo").await;
    assert!(todo.as_array().unwrap().iter().any(|t| t["link"] == format!("/verifications/{vid}")), "{todo}");
    let amr_user = app.user_id("amr.clerk").await;
    let notes = app.state.store.notifications_of_user(amr_user).await.unwrap();
    assert!(notes.iter().any(|n| n.title.contains("逾期未答复")), "{notes:?}");
    // The generic job told the provider its to-do is overdue, once.
    assert_eq!(
        notes
            .iter()
            .filter(|n| n.title.starts_with("已逾期：") && n.title.contains("市场主体登记信息"))
            .count(),
        2,
        "{notes:?}"
    );

    // The late answer closes the provider's and the bureau's to-dos and is marked late.
    let r = app
        .api_post(
            &amr,
            &format!("/api/v1/verifications/{vid}/answer"),
            Some(json!({"answer": "已更正第 120 行", "corrected": true})),
        )
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!((v["status"].as_str(), v["answered_late"].as_bool()), (Some("answered"), Some(true)));
    let todo = app.api_get(&bureau, "/api/v1/todo").await;
    assert!(!todo.as_array().unwrap().iter().any(|t| t["link"] == format!("/verifications/{vid}")));
    let r = app
        .api_post(&amr, &format!("/api/v1/verifications/{vid}/answer"), Some(json!({"answer": "再答一次"})))
        .await;
    assert_eq!(r.status(), 409);

    // Pages: the list and the detail with the answer.
    let (c, _) = app.login("amr.clerk").await;
    let html = c.get(format!("{}/verifications/{vid}", app.url)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("逾期答复") && html.contains("已更正第 120 行"), "{html}");
    let html = c.get(format!("{}/verifications", app.url)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("市场主体登记信息"));
    let recs = app.state.store.audit_recent(Some(("verification", &vid.to_string())), 10).await.unwrap();
    let actions: Vec<&str> = recs.iter().rev().map(|r| r.record.action.as_str()).collect();
    assert_eq!(
        actions,
        ["verification.raise", "verification.escalate", "task.overdue", "verification.answer"]
    );
    app.stop().await;
}
