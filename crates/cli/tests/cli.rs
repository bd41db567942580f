//! The command line as an operator uses it: calendar answers, bootstrap of a production platform,
//! and clear errors with a non-zero exit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};

fn yunshu(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_yunshu"));
    c.args(args).env_remove("YUNSHU_DATABASE_URL");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn calendar_answers_and_refuses_unpublished_years() {
    // 国庆 2026 (10-01..07 off, 10-10 调休 Saturday worked) lies inside the period.
    let o = yunshu(&["calendar", "add-working-days", "2026-09-21", "20"], &[]);
    assert!(o.status.success());
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "2026-10-26");
    // 30 calendar days from 2026-09-01 end on 10-01, a holiday: the period ends on 10-08.
    let o = yunshu(&["calendar", "add-days", "2026-09-01", "30"], &[]);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "2026-10-08");
    let o = yunshu(&["calendar", "add-working-days", "2026-12-20", "20"], &[]);
    assert!(!o.status.success());
    assert!(text(&o).contains("2027"), "{}", text(&o));
    let o = yunshu(&["calendar", "add-working-days", "2026-02-30", "1"], &[]);
    assert!(!o.status.success());
    assert!(text(&o).contains("YYYY-MM-DD"));
}

/// `yunshu admin bootstrap` of the bureau with an administrator, in data directory `d`.
fn bootstrap_args<'a>(d: &'a str, uscc: &'a str) -> Vec<&'a str> {
    vec![
        "admin",
        "bootstrap",
        "--data-dir",
        d,
        "--org-name",
        "云南省数据局",
        "--uscc",
        uscc,
        "--username",
        "admin",
        "--name",
        "李建华",
        "--resident-id",
        "11010519491231002X",
        "--mobile",
        "13912345678",
    ]
}

#[test]
fn bootstrap_creates_the_first_administrator_once() {
    let dir = std::env::temp_dir().join(format!("yunshu-bootstrap-{}", std::process::id()));
    let d = dir.to_str().unwrap();
    let o = yunshu(&bootstrap_args(d, "11530000MB0K54321Y"), &[]);
    assert!(!o.status.success(), "no password given");
    let o =
        yunshu(&bootstrap_args(d, "11530000MB0K54321A"), &[("YUNSHU_BOOTSTRAP_PASSWORD", "Kunming-2026!")]);
    assert!(!o.status.success());
    assert!(text(&o).contains("field uscc"), "{}", text(&o));
    let uscc = yunshu_domain::ids::Uscc::complete("11530000MB0K5432").unwrap();
    let good = bootstrap_args(d, uscc.as_str());
    let o = yunshu(&good, &[("YUNSHU_BOOTSTRAP_PASSWORD", "Kunming-2026!")]);
    assert!(o.status.success(), "{}", text(&o));
    let o = yunshu(&good, &[("YUNSHU_BOOTSTRAP_PASSWORD", "Kunming-2026!")]);
    assert!(!o.status.success(), "only once");
    let o = yunshu(&["audit", "verify", "--data-dir", d], &[]);
    assert!(o.status.success(), "{}", text(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn calendar_uses_schedules_loaded_into_the_platform_when_given_its_data_dir() {
    let o = yunshu(
        &["calendar", "add-working-days", "2026-12-20", "20", "--data-dir", "/nonexistent/yunshu"],
        &[],
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("holds no Yunshu database"));
    // A data directory without a 2027 schedule answers like the built-in calendar.
    let dir = std::env::temp_dir().join(format!("yunshu-cal-{}", std::process::id()));
    let d = dir.to_str().unwrap();
    let uscc = yunshu_domain::ids::Uscc::complete("11530000MB0K5433").unwrap();
    let o = yunshu(&bootstrap_args(d, uscc.as_str()), &[("YUNSHU_BOOTSTRAP_PASSWORD", "Kunming-2026!")]);
    assert!(o.status.success(), "{}", text(&o));
    let o = yunshu(&["calendar", "add-working-days", "2026-09-21", "20", "--data-dir", d], &[]);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "2026-10-26");
    let o = yunshu(&["calendar", "add-working-days", "2026-12-20", "20", "--data-dir", d], &[]);
    assert!(!o.status.success(), "2027 is not loaded there either");
    // An administrator loads 2027 (here through the store, as the platform does); the CLI follows.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let key = yunshu_audit::AuditKey::load(&dir.join("keys/audit-signing.key")).unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.join("yunshu.db").display());
        let store = yunshu_store::Store::open(&url, std::sync::Arc::new(key)).await.unwrap();
        let cal = store.work_calendar().await.unwrap();
        let off = |m, d| yunshu_domain::calendar::ScheduleDay {
            date: chrono::NaiveDate::from_ymd_opt(2027, m, d).unwrap(),
            kind: yunshu_domain::calendar::DayKind::Off,
            name: "元旦".into(),
        };
        let schedule = yunshu_domain::calendar::YearSchedule { year: 2027, days: vec![off(1, 1)] };
        let mut tx = store.begin(chrono::Utc::now(), &yunshu_store::AuditCtx::system("test")).await.unwrap();
        tx.load_holiday_schedule(schedule, "test", &cal).await.unwrap();
        tx.commit().await.unwrap();
        store.pool().close().await;
    });
    let o = yunshu(&["calendar", "add-working-days", "2026-12-20", "20", "--data-dir", d], &[]);
    assert!(o.status.success(), "{}", text(&o));
    // 12-21..31: 9 working days; 2027-01-01 off; 01-04..08 → 14; 01-11..15 → 19; 01-18 → 20.
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "2027-01-18");
    let _ = std::fs::remove_dir_all(&dir);
}
