//! Deadlines that reach into a year without an official holiday schedule (2027 in our data) are
//! computed on weekends only, shown as provisional, and recomputed — audited — when an administrator
//! loads that year's schedule.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};

#[tokio::test]
async fn a_2027_deadline_is_provisional_until_the_schedule_is_loaded() {
    // 2026-12-10 10:00 Beijing time.
    let now = Utc.with_ymd_and_hms(2026, 12, 10, 2, 0, 0).unwrap();
    let app = common::TestApp::spawn_with(yunshu_server::Config::default(), now).await;
    let admin = app.token("bureau.admin").await;
    let head = app.token("fintech.head").await;
    let http = reqwest::Client::new();
    let fintech = app.state.store.user_by_username("fintech.head").await.unwrap().unwrap().org_id;
    // The organisation's filing review takes 20 working days: the deadline reaches into 2027.
    let r = http
        .put(format!("{}/api/v1/orgs/{fintech}/chains/user.filing", app.url))
        .bearer_auth(&admin)
        .json(&json!({"spec": "head:any:20"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let analyst = app.user_id("fintech.analyst").await;
    let r = app.api_post(&admin, &format!("/api/v1/users/{analyst}/filing"), None).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());

    // The head's to-do item for the filing: (due date, provisional).
    let due = |v: Value| {
        let item =
            v.as_array().unwrap().iter().find(|t| t["title"].as_str().unwrap().contains("蒋思远")).cloned();
        let item = item.unwrap();
        (item["due_date"].as_str().unwrap().to_owned(), item["provisional"].as_bool().unwrap())
    };
    // Weekends only from 2026-12-10: 15 working days to 2026-12-31, then 5 more → 2027-01-07.
    assert_eq!(due(app.api_get(&head, "/api/v1/todo").await), ("2027-01-07".to_owned(), true));

    // A strict query into 2027 is an error with a clear message.
    let r = http
        .get(format!("{}/api/v1/calendar/add-working-days?start=2026-12-20&days=20", app.url))
        .bearer_auth(&head)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("2027"), "{body}");

    // Only a province-level administrator may load a schedule.
    let schedule = json!({"year": 2027, "source": "国办发明电〔2026〕X号（测试）", "days": [
        {"name": "元旦", "date": "2027-01-01", "isOffDay": true}
    ]});
    let r = app.api_post(&head, "/api/v1/calendar/schedules", Some(schedule.clone())).await;
    assert_eq!(r.status(), 403);
    let audit_before = app.state.store.audit_count().await.unwrap();
    let r = app.api_post(&admin, "/api/v1/calendar/schedules", Some(schedule)).await;
    assert_eq!(r.status(), 200);
    let loaded: Value = r.json().await.unwrap();
    assert!(loaded["recomputed"].as_u64().unwrap() >= 1);
    assert_eq!(app.state.store.audit_count().await.unwrap(), audit_before + 1);

    // 2027-01-01 is now a holiday: one day later, and no longer provisional.
    assert_eq!(due(app.api_get(&head, "/api/v1/todo").await), ("2027-01-08".to_owned(), false));
    let recent = app.state.store.audit_recent(None, 1).await.unwrap();
    assert_eq!(recent[0].record.action, "calendar.load");
    app.stop().await;
}
