//! Unit tests of `sanction`: measures, province-wide restriction, lifting, the access decision.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::authorization::developer::{Application, DeveloperError};
use crate::authorization::fixtures::*;

const AGREEMENT: AgreementId = 501;

fn impose(kind: SanctionKind, by: OrgId, until: Option<NaiveDate>, today: NaiveDate) -> Sanction {
    Sanction::impose(kind, DEVELOPER, by, OrgType::Operator, Some(AGREEMENT), until, "违规使用数据", today)
        .unwrap()
}

fn access(sanctions: &[Sanction], today: NaiveDate) -> AccessDecision {
    let a = dev_agreement();
    decide_access(DEVELOPER, 7, Some((AGREEMENT, &a)), sanctions, None, today)
}

#[test]
fn a_restriction_by_one_operator_refuses_applications_to_another() {
    // Restricted by operator 21 until 2027-06-30; the scenario belongs to operator 20.
    let restriction = impose(SanctionKind::Restriction, OTHER_OPERATOR, Some(d(2027, 6, 30)), d(2026, 9, 1));
    let s = scenario();
    assert_eq!(s.operator, OPERATOR);
    let sanctions = vec![restriction];
    let err =
        Application::submit(7, &s, DEVELOPER, OrgType::Developer, materials(), &sanctions, d(2026, 9, 14))
            .unwrap_err();
    assert_eq!(
        err,
        DeveloperError::Sanction(SanctionError::Restricted { until: d(2027, 6, 30), by: OTHER_OPERATOR })
    );
    assert_eq!(err.code(), "sanction.restricted");
    assert!(err.message_zh().contains("全省"));
    // The last day still binds; the day after it does not.
    assert!(applications_allowed(&sanctions, d(2027, 6, 30)).is_err());
    assert!(applications_allowed(&sanctions, d(2027, 7, 1)).is_ok());
}

#[test]
fn a_restriction_also_blocks_signing() {
    let mut app = qualified_application();
    app.publish_notice(d(2026, 9, 28), None, d(2026, 9, 28), &cal()).unwrap();
    let restriction = impose(SanctionKind::Restriction, OTHER_OPERATOR, Some(d(2027, 6, 30)), d(2026, 10, 9));
    let term = crate::authorization::Term::new(d(2026, 11, 1), d(2027, 10, 31)).unwrap();
    assert!(matches!(
        app.sign_agreement(term, None, &operator_agreement(), &[restriction], d(2026, 10, 12)),
        Err(DeveloperError::Sanction(SanctionError::Restricted { .. }))
    ));
}

#[test]
fn only_the_imposing_operator_lifts_with_a_reason() {
    let mut r = impose(SanctionKind::Restriction, OTHER_OPERATOR, Some(d(2027, 6, 30)), d(2026, 9, 1));
    let today = d(2026, 10, 12);
    assert_eq!(
        r.lift(OTHER_OPERATOR, OrgType::DataAuthority, "整改完成", today),
        Err(SanctionError::NotAnOperator)
    );
    assert_eq!(
        r.lift(OPERATOR, OrgType::Operator, "整改完成", today),
        Err(SanctionError::NotImposingOperator)
    );
    assert_eq!(r.lift(OTHER_OPERATOR, OrgType::Operator, " ", today), Err(SanctionError::ReasonRequired));
    assert_eq!(r.lift(OTHER_OPERATOR, OrgType::Operator, "整改完成", today).unwrap(), SanctionState::Lifted);
    assert!(applications_allowed(&[r.clone()], today).is_ok());
    assert_eq!(r.lift(OTHER_OPERATOR, OrgType::Operator, "再次", today), Err(SanctionError::NothingToLift));
}

#[test]
fn imposing_checks_the_actor_and_the_target() {
    let today = d(2026, 9, 1);
    let cases = [
        (
            SanctionKind::Suspension,
            OrgType::DataAuthority,
            Some(AGREEMENT),
            None,
            SanctionError::NotAnOperator,
        ),
        (SanctionKind::Suspension, OrgType::Operator, None, None, SanctionError::AgreementRequired),
        (SanctionKind::Cancellation, OrgType::Operator, None, None, SanctionError::AgreementRequired),
        (SanctionKind::Restriction, OrgType::Operator, None, None, SanctionError::UntilRequired),
        (SanctionKind::Restriction, OrgType::Operator, None, Some(today), SanctionError::UntilInPast),
    ];
    for (kind, actor, agreement, until, expected) in cases {
        let got = Sanction::impose(kind, DEVELOPER, OPERATOR, actor, agreement, until, "理由", today);
        assert_eq!(got, Err(expected), "{kind:?}");
    }
}

#[test]
fn suspension_pauses_access_and_lifting_restores_it() {
    let today = d(2027, 1, 4);
    assert_eq!(access(&[], today), AccessDecision::Allowed);
    let mut s = impose(SanctionKind::Suspension, OPERATOR, None, today);
    assert_eq!(access(&[s.clone()], today), AccessDecision::Denied(DenyReason::Suspended));
    assert_eq!(
        access(&[s.clone()], d(2027, 3, 1)),
        AccessDecision::Denied(DenyReason::Suspended),
        "until lifted"
    );
    s.lift(OPERATOR, OrgType::Operator, "已完成整改", d(2027, 2, 1)).unwrap();
    assert_eq!(access(&[s.clone()], d(2027, 2, 1)), AccessDecision::Allowed);
    // A suspension with an end date ends by itself.
    let timed = impose(SanctionKind::Suspension, OPERATOR, Some(d(2027, 1, 31)), today);
    assert!(!access(std::slice::from_ref(&timed), d(2027, 1, 31)).is_allowed());
    assert!(access(&[timed], d(2027, 2, 1)).is_allowed());
}

#[test]
fn cancellation_is_permanent_for_that_agreement() {
    let today = d(2027, 1, 4);
    let mut c = impose(SanctionKind::Cancellation, OPERATOR, Some(d(2027, 2, 1)), today);
    assert_eq!(c.until, None, "a cancellation has no end date");
    assert_eq!(c.lift(OPERATOR, OrgType::Operator, "求情", today), Err(SanctionError::Permanent));
    assert_eq!(access(&[c.clone()], d(2027, 6, 1)), AccessDecision::Denied(DenyReason::Cancelled));
    // Another agreement of the same developer is not affected.
    let a = dev_agreement();
    assert!(decide_access(DEVELOPER, 7, Some((502, &a)), &[c], None, today).is_allowed());
}

#[test]
fn a_reminder_interview_has_no_effect_on_access() {
    let today = d(2027, 1, 4);
    let mut r = impose(SanctionKind::ReminderInterview, OPERATOR, None, today);
    assert!(access(&[r.clone()], today).is_allowed());
    assert!(applications_allowed(&[r.clone()], today).is_ok());
    assert_eq!(r.lift(OPERATOR, OrgType::Operator, "无", today), Err(SanctionError::NothingToLift));
}

#[test]
fn access_needs_the_matching_agreement_within_its_term() {
    let a = dev_agreement();
    let today = d(2027, 1, 4);
    let cases = [
        (DEVELOPER, 7, Some((AGREEMENT, &a)), today, AccessDecision::Allowed),
        (DEVELOPER, 8, Some((AGREEMENT, &a)), today, AccessDecision::Denied(DenyReason::NoAgreement)),
        (31, 7, Some((AGREEMENT, &a)), today, AccessDecision::Denied(DenyReason::NoAgreement)),
        (DEVELOPER, 7, None, today, AccessDecision::Denied(DenyReason::NoAgreement)),
        (
            DEVELOPER,
            7,
            Some((AGREEMENT, &a)),
            d(2026, 10, 31),
            AccessDecision::Denied(DenyReason::NotStarted),
        ),
        (DEVELOPER, 7, Some((AGREEMENT, &a)), d(2027, 11, 1), AccessDecision::Denied(DenyReason::Expired)),
    ];
    for (developer, scenario, agreement, day, expected) in cases {
        assert_eq!(decide_access(developer, scenario, agreement, &[], None, day), expected);
    }
    assert_eq!(AccessDecision::Denied(DenyReason::Suspended).code(), "suspended");
    assert_eq!(AccessDecision::Allowed.label_zh(), "可访问");
}
