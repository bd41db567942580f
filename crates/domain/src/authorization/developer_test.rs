//! Unit tests of `developer`: scenarios, applications, supplement expiry, notice, objections, signing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::authorization::fixtures::*;
use crate::authorization::material::MaterialKind;

fn item(passed: bool) -> AssessmentItem {
    AssessmentItem { passed, reason: "评估意见".to_owned() }
}

fn in_notice() -> Application {
    let mut app = qualified_application();
    app.publish_notice(d(2026, 9, 28), None, d(2026, 9, 28), &cal()).unwrap();
    app
}

fn one_year() -> Term {
    Term::new(d(2026, 11, 1), d(2027, 10, 31)).unwrap()
}

#[test]
fn notice_spanning_the_national_day_holiday_ends_on_the_fifth_working_day() {
    // Notice starts Mon 2026-09-28 (start day not counted): 9-29 Tue (1), 9-30 Wed (2),
    // 10-01..10-07 国庆 off, 10-08 Thu (3), 10-09 Fri (4), 10-10 Sat 调休 work (5) → ends 2026-10-10.
    let app = in_notice();
    let notice = app.notices.last().unwrap();
    assert_eq!((notice.start, notice.end), (d(2026, 9, 28), d(2026, 10, 10)));
    assert!(!notice.provisional);
    assert_eq!(app.status, ApplicationStatus::InNotice);
    assert!(notice.is_running(d(2026, 10, 10)) && !notice.has_ended(d(2026, 10, 10)));
    assert!(notice.has_ended(d(2026, 10, 11)));
}

#[test]
fn notice_may_be_longer_never_shorter() {
    let cases = [
        (Some(d(2026, 10, 9)), Err(DeveloperError::NoticeTooShort { min_end: d(2026, 10, 10) })),
        (Some(d(2026, 10, 16)), Ok(d(2026, 10, 16))),
        (None, Ok(d(2026, 10, 10))),
    ];
    for (end, expected) in cases {
        let mut app = qualified_application();
        let got = app.publish_notice(d(2026, 9, 28), end, d(2026, 9, 28), &cal()).map(|n| n.end);
        assert_eq!(got, expected);
    }
    let mut app = qualified_application();
    assert_eq!(
        app.publish_notice(d(2026, 9, 27), None, d(2026, 9, 28), &cal()).unwrap_err(),
        DeveloperError::BadDate,
        "a notice cannot start in the past"
    );
}

#[test]
fn open_objections_block_signing_until_decided() {
    let mut app = in_notice();
    let op = operator_agreement();
    // Lodged on a holiday: the notice still runs.
    let i = app.lodge_objection("张某 138****0000", "该单位存在失信记录", d(2026, 10, 3)).unwrap();
    assert_eq!(
        app.sign_agreement(one_year(), None, &op, &[], d(2026, 10, 10)).unwrap_err(),
        DeveloperError::NoticeNotEnded { end: d(2026, 10, 10) }
    );
    let err = app.sign_agreement(one_year(), None, &op, &[], d(2026, 10, 12)).unwrap_err();
    assert_eq!(err, DeveloperError::ObjectionsOpen { count: 1 });
    assert_eq!(err.code(), "onboarding.objections_open");
    assert_eq!(
        app.lodge_objection("李某", "迟到的异议", d(2026, 10, 11)).unwrap_err(),
        DeveloperError::NoticeNotRunning
    );
    assert_eq!(
        app.decide_objection(i, ObjectionOutcome::Dismissed, " ", d(2026, 10, 12)),
        Err(DeveloperError::ReasonRequired)
    );
    let s = app
        .decide_objection(i, ObjectionOutcome::Dismissed, "经核查信用记录已修复", d(2026, 10, 12))
        .unwrap();
    assert_eq!(s, ApplicationStatus::InNotice);
    assert_eq!(
        app.decide_objection(i, ObjectionOutcome::Dismissed, "再次", d(2026, 10, 12)),
        Err(DeveloperError::ObjectionDecided)
    );
    let agreement = app.sign_agreement(one_year(), None, &op, &[], d(2026, 10, 12)).unwrap();
    assert_eq!(app.status, ApplicationStatus::Contracted);
    assert_eq!((agreement.developer, agreement.scenario, agreement.operator), (DEVELOPER, 7, OPERATOR));
}

#[test]
fn upheld_objections_send_back_to_review_or_reject() {
    let mut app = in_notice();
    let i = app.lodge_objection("王某", "资质证明造假", d(2026, 9, 29)).unwrap();
    assert_eq!(
        app.decide_objection(i, ObjectionOutcome::UpheldReview, "需重新核查资质", d(2026, 9, 30)).unwrap(),
        ApplicationStatus::UnderReview
    );
    assert!(app.sign_agreement(one_year(), None, &operator_agreement(), &[], d(2026, 10, 12)).is_err());

    let mut app = in_notice();
    let i = app.lodge_objection("王某", "资质证明造假", d(2026, 9, 29)).unwrap();
    assert_eq!(
        app.decide_objection(i, ObjectionOutcome::UpheldReject, "经核实材料造假", d(2026, 9, 30)).unwrap(),
        ApplicationStatus::Rejected
    );
    assert!(app.rejection_reason.contains("材料造假"));
}

#[test]
fn supplement_lapses_the_day_after_the_deadline_not_on_it() {
    // Requested Mon 2026-09-28 with the default 5 working days: due Sat 2026-10-10 (调休 work day).
    let settings = Settings::default();
    let submit = || {
        Application::submit(7, &scenario(), DEVELOPER, OrgType::Developer, materials(), &[], d(2026, 9, 25))
            .unwrap()
    };
    let mut app = submit();
    let due = app.request_supplement("信用报告已过期", None, &settings, d(2026, 9, 28), &cal()).unwrap();
    assert_eq!(due, d(2026, 10, 10));
    assert_eq!(app.status, ApplicationStatus::AwaitingSupplement);
    assert!(!app.expire_if_overdue(d(2026, 10, 10)), "not on the last day");
    assert!(app.expire_if_overdue(d(2026, 10, 11)));
    assert_eq!(app.status, ApplicationStatus::Lapsed);
    assert!(app.supplement(vec![material(MaterialKind::CreditReport)], d(2026, 10, 11)).is_err());

    let mut app = submit();
    app.request_supplement("信用报告已过期", None, &settings, d(2026, 9, 28), &cal()).unwrap();
    app.supplement(vec![material(MaterialKind::CreditReport)], d(2026, 10, 10)).unwrap();
    assert_eq!(app.status, ApplicationStatus::UnderReview);
    assert!(!app.expire_if_overdue(d(2026, 10, 30)));
    assert_eq!(app.materials.len(), 5);

    // A configured deadline: 1 working day from Fri 2026-09-18 → Sun 9-20 (调休 work day, the
    // Saturday before is off).
    let mut app = submit();
    let due = app.request_supplement("补充", Some(1), &settings, d(2026, 9, 18), &cal()).unwrap();
    assert_eq!(due, d(2026, 9, 20));
    assert_eq!(
        app.supplement(vec![material(MaterialKind::Other)], d(2026, 9, 21)).unwrap_err(),
        DeveloperError::SupplementOverdue { due: d(2026, 9, 20) }
    );
}

#[test]
fn applications_need_the_four_required_materials() {
    let mut given = materials();
    given.retain(|m| m.kind() != MaterialKind::SecurityCommitment);
    let err = Application::submit(7, &scenario(), DEVELOPER, OrgType::Developer, given, &[], d(2026, 9, 14))
        .unwrap_err();
    assert_eq!(err, DeveloperError::MaterialsMissing { kinds: vec![MaterialKind::SecurityCommitment] });
    assert!(err.message_zh().contains("数据安全承诺书"));
    assert_eq!(
        Application::submit(7, &scenario(), OPERATOR, OrgType::Operator, materials(), &[], d(2026, 9, 14))
            .unwrap_err(),
        DeveloperError::NotADeveloper
    );
}

#[test]
fn qualification_review_checks_all_five_conditions() {
    let s = scenario();
    let mut app =
        Application::submit(7, &s, DEVELOPER, OrgType::Developer, materials(), &[], d(2026, 9, 14)).unwrap();
    assert_eq!(app.complete_review(&s, all_met(), d(2026, 9, 21)), Err(DeveloperError::NoReviewRecord));
    let record =
        ReviewRecord {
            method: ReviewMethod::ExpertPanel, date: d(2026, 9, 18), summary: "专家意见".into()
        };
    app.add_review(record, d(2026, 9, 18)).unwrap();
    let mut missing = all_met();
    missing.pop();
    assert_eq!(
        app.complete_review(&s, missing, d(2026, 9, 21)),
        Err(DeveloperError::ConditionUnchecked { condition: QualificationCondition::OtherRules })
    );
    let mut unmet = all_met();
    unmet[3].met = false;
    assert_eq!(app.complete_review(&s, unmet.clone(), d(2026, 9, 21)), Err(DeveloperError::ReasonRequired));
    unmet[3].note = "未通过等保三级测评".to_owned();
    assert_eq!(app.complete_review(&s, unmet, d(2026, 9, 21)).unwrap(), ApplicationStatus::Rejected);
    assert!(app.rejection_reason.contains("数据安全保障能力"));
}

#[test]
fn self_proposed_scenarios_wait_for_the_assessment() {
    let mut s =
        Scenario::propose(DEVELOPER, OPERATOR, "冷链物流路径优化", "基于交通数据的冷链路径", d(2026, 9, 1))
            .unwrap();
    assert_eq!(s.status, ScenarioStatus::Proposed);
    // Others cannot apply yet; the proposer's own application is lodged but its review waits.
    assert!(matches!(
        Application::submit(8, &s, 31, OrgType::Developer, materials(), &[], d(2026, 9, 2)),
        Err(DeveloperError::ScenarioNotOpen { .. })
    ));
    let mut app =
        Application::submit(8, &s, DEVELOPER, OrgType::Developer, materials(), &[], d(2026, 9, 2)).unwrap();
    let record =
        ReviewRecord { method: ReviewMethod::Defence, date: d(2026, 9, 3), summary: "现场答辩".into() };
    app.add_review(record, d(2026, 9, 3)).unwrap();
    assert!(matches!(
        app.complete_review(&s, all_met(), d(2026, 9, 4)),
        Err(DeveloperError::ScenarioNotOpen { .. })
    ));

    let mut assessment = ScenarioAssessment {
        need: item(true),
        compliance: item(true),
        security_risk: item(true),
        assessed_on: d(2026, 9, 4),
    };
    assessment.compliance.reason.clear();
    assert_eq!(s.assess(OPERATOR, assessment.clone()), Err(DeveloperError::ReasonRequired));
    assessment.compliance.reason = "符合负面清单要求".into();
    assert_eq!(s.assess(OTHER_OPERATOR, assessment.clone()), Err(DeveloperError::NotOperator));
    assert_eq!(s.assess(OPERATOR, assessment).unwrap(), ScenarioStatus::Open);
    assert_eq!(app.complete_review(&s, all_met(), d(2026, 9, 4)).unwrap(), ApplicationStatus::Qualified);

    let mut refused = Scenario::propose(DEVELOPER, OPERATOR, "t", "d", d(2026, 9, 1)).unwrap();
    let assessment = ScenarioAssessment {
        need: item(true),
        compliance: item(true),
        security_risk: item(false),
        assessed_on: d(2026, 9, 4),
    };
    assert_eq!(refused.assess(OPERATOR, assessment).unwrap(), ScenarioStatus::Refused);
}

#[test]
fn development_term_limits() {
    let op = operator_agreement(); // ends 2030-12-31
    let approval = LongTermApproval {
        justification: "长期科研项目".into(),
        approved_by: "运营机构".into(),
        approved_on: d(2026, 10, 1),
        doc_number: None,
    };
    let start = d(2026, 11, 1);
    let cases = [
        (d(2029, 11, 1), None, Ok(())), // start + 3 years exactly
        (d(2029, 11, 2), None, Err(TermError::TooLong { max_years: 3, max_end: d(2029, 11, 1) })),
        (d(2030, 6, 30), Some(approval.clone()), Ok(())),
        (
            d(2031, 1, 1),
            Some(approval),
            Err(TermError::BeyondOperatorAgreement { operator_end: d(2030, 12, 31) }),
        ),
    ];
    for (end, exception, expected) in cases {
        let mut app = in_notice();
        let got = app
            .sign_agreement(Term::new(start, end).unwrap(), exception, &op, &[], d(2026, 10, 12))
            .map(|_| ())
            .map_err(|e| match e {
                DeveloperError::Term(t) => t,
                other => panic!("{other:?}"),
            });
        assert_eq!(got, expected, "end {end}");
    }
    let mut app = in_notice();
    let mut ended = operator_agreement();
    ended.terminate("违约", d(2026, 10, 1)).unwrap();
    assert_eq!(
        app.sign_agreement(one_year(), None, &ended, &[], d(2026, 10, 12)).unwrap_err(),
        DeveloperError::OperatorAgreementNotLive
    );
}

#[test]
fn the_agreement_grants_access_within_its_term() {
    let mut a = dev_agreement();
    assert!(!a.grants_access(d(2026, 10, 31)));
    assert!(a.grants_access(d(2026, 11, 1)));
    assert!(a.grants_access(d(2027, 10, 31)));
    assert!(!a.grants_access(d(2027, 11, 1)));
    assert_eq!(a.advance(d(2027, 11, 1)), DevAgreementStatus::Expired);
}

#[test]
fn codes_round_trip() {
    for s in ApplicationStatus::ALL {
        assert_eq!(ApplicationStatus::parse(s.code()), Some(*s));
    }
    assert_eq!(ApplicationStatus::InNotice.label_zh(), "公示中");
    assert_eq!(QualificationCondition::ALL.len(), 5);
}
