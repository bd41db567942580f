#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn items() -> Vec<String> {
    vec!["统一社会信用代码".into(), "注册资本".into()]
}

fn raise(today: &str) -> VerificationRequest {
    let cal = WorkCalendar::official().unwrap();
    VerificationRequest::raise(
        RequestKind::Verification,
        vec!["注册资本".into()],
        "第 120–135 行",
        "注册资本出现负数，请核实是否录入错误",
        &items(),
        d(today),
        &cal,
    )
    .unwrap()
}

#[test]
fn answer_due_ten_working_days_after_receipt_across_national_day() {
    // Received Fri 2026-09-25 (a 中秋 holiday, so counting starts after it): working days are
    // 09-28 (1), 09-29 (2), 09-30 (3), 10-01..07 off, 10-08 (4), 10-09 (5), Sat 10-10 调休 (6),
    // 10-12 (7), 10-13 (8), 10-14 (9), 10-15 (10).
    let r = raise("2026-09-25");
    assert_eq!(r.due.due, d("2026-10-15"));
    assert!(!r.due.provisional);
    assert!(!r.is_overdue(d("2026-10-15")), "the due day itself is not overdue");
    assert!(r.is_overdue(d("2026-10-16")));
}

#[test]
fn a_request_reaching_into_2027_is_provisional() {
    let r = raise("2026-12-24");
    assert!(r.due.provisional);
}

#[test]
fn answer_on_time_late_and_twice() {
    let mut r = raise("2026-11-02");
    assert_eq!(r.due.due, d("2026-11-16"));
    assert_eq!(r.answer("已核实无误", d("2026-11-16")).unwrap(), Answered { late: false });
    assert_eq!(r.answer("再次答复", d("2026-11-16")), Err(RequestError::AlreadyAnswered));
    let mut late = raise("2026-11-02");
    assert_eq!(late.escalate(d("2026-11-16")), Err(RequestError::NotOverdue));
    late.escalate(d("2026-11-17")).unwrap();
    assert_eq!(late.status, RequestStatus::Escalated);
    assert_eq!(late.escalate(d("2026-11-18")), Err(RequestError::NotOverdue), "escalated once");
    assert_eq!(late.answer("", d("2026-11-18")), Err(RequestError::Answer));
    assert_eq!(late.answer("已更正第 120 行", d("2026-11-18")).unwrap(), Answered { late: true });
    assert!(!late.is_overdue(d("2026-12-01")));
}

#[test]
fn fields_must_belong_to_the_resource_and_a_question_is_needed() {
    let cal = WorkCalendar::official().unwrap();
    let t = d("2026-11-02");
    let q = "请核实这些值是否正确无误";
    assert_eq!(
        VerificationRequest::raise(RequestKind::Objection, vec![], "", q, &items(), t, &cal),
        Err(RequestError::NoFields)
    );
    assert_eq!(
        VerificationRequest::raise(RequestKind::Objection, vec!["姓名".into()], "", q, &items(), t, &cal),
        Err(RequestError::UnknownField("姓名".into()))
    );
    assert_eq!(
        VerificationRequest::raise(
            RequestKind::Objection,
            vec!["注册资本".into()],
            "",
            "太短",
            &items(),
            t,
            &cal
        ),
        Err(RequestError::Question)
    );
}
