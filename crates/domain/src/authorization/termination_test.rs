//! Unit tests of `termination`: access closes at once; deletion is tracked to verification.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::authorization::fixtures::*;
use crate::authorization::sanction::{AccessDecision, DenyReason, decide_access};

const AGREEMENT: AgreementId = 501;

fn start(today: NaiveDate) -> (DevelopmentAgreement, Termination) {
    let mut a = dev_agreement();
    let t = Termination::start(
        AGREEMENT,
        &mut a,
        "开发主体违反协议约定",
        vec![("ws-1".to_owned(), CopyKind::Workspace), ("out-9".to_owned(), CopyKind::PendingOutput)],
        vec![
            ("dl-1".to_owned(), "公交到站.csv".to_owned(), "aa".repeat(32)),
            ("dl-2".to_owned(), "线路.parquet".to_owned(), "bb".repeat(32)),
        ],
        &Settings::default(),
        today,
        &cal(),
    )
    .unwrap();
    (a, t)
}

#[test]
fn termination_closes_access_at_once() {
    let today = d(2027, 1, 4);
    let (a, t) = start(today);
    assert!(!a.grants_access(today));
    assert_eq!(a.ended_on, Some(today));
    assert_eq!(
        decide_access(DEVELOPER, 7, Some((AGREEMENT, &a)), &[], Some(&t), today),
        AccessDecision::Denied(DenyReason::Terminated)
    );
    // The termination record alone is enough (e.g. the agreement row not yet reloaded).
    let fresh = dev_agreement();
    assert_eq!(
        decide_access(DEVELOPER, 7, Some((AGREEMENT, &fresh)), &[], Some(&t), today),
        AccessDecision::Denied(DenyReason::Terminated)
    );
}

#[test]
fn deletion_runs_from_platform_copies_to_verification() {
    // Terminated Mon 2026-11-02; 10 working days → Mon 2026-11-16.
    let (_, mut t) = start(d(2026, 11, 2));
    assert_eq!(t.attestation_due, d(2026, 11, 16));
    assert_eq!(t.status, TerminationStatus::Terminated);
    // The developer may attest early; the status waits for the platform.
    assert_eq!(t.attest(DEVELOPER, &["dl-1"], d(2026, 11, 3)).unwrap(), TerminationStatus::Terminated);
    assert_eq!(t.attest(31, &["dl-2"], d(2026, 11, 3)), Err(TerminationError::NotTheDeveloper));
    assert_eq!(t.attest(DEVELOPER, &["dl-1"], d(2026, 11, 3)), Err(TerminationError::AlreadyRecorded));
    assert_eq!(t.attest(DEVELOPER, &["dl-x"], d(2026, 11, 3)), Err(TerminationError::UnknownItem));
    assert_eq!(t.record_platform_deletion("ws-1", d(2026, 11, 3)).unwrap(), TerminationStatus::Terminated);
    assert_eq!(
        t.verify(OPERATOR, OrgType::Operator, "", d(2026, 11, 3)),
        Err(TerminationError::NotReady { status: TerminationStatus::Terminated })
    );
    assert_eq!(
        t.record_platform_deletion("out-9", d(2026, 11, 4)).unwrap(),
        TerminationStatus::PlatformCopiesDeleted
    );
    assert_eq!(t.unattested().len(), 1);
    assert_eq!(
        t.attest(DEVELOPER, &["dl-2"], d(2026, 11, 16)).unwrap(),
        TerminationStatus::DeveloperAttested
    );
    assert!(!t.attested_late());
    assert_eq!(
        t.verify(OPERATOR, OrgType::Developer, "", d(2026, 11, 17)),
        Err(TerminationError::NotTheOperator)
    );
    assert_eq!(
        t.verify(OPERATOR, OrgType::Operator, "抽查无留存", d(2026, 11, 17)).unwrap(),
        TerminationStatus::Verified
    );
}

#[test]
fn attestation_overdue_is_flagged() {
    // Terminated Mon 2026-09-28: 9-29, 9-30, (国庆) 10-08, 10-09, 10-10 (调休), 10-12..10-16 → due 10-16.
    let (_, mut t) = start(d(2026, 9, 28));
    assert_eq!(t.attestation_due, d(2026, 10, 16));
    assert!(!t.is_overdue(d(2026, 10, 16)));
    assert!(t.is_overdue(d(2026, 10, 17)));
    t.attest(DEVELOPER, &["dl-1", "dl-2"], d(2026, 10, 19)).unwrap();
    assert!(!t.is_overdue(d(2026, 10, 19)));
    assert!(t.attested_late(), "the verified record keeps the late flag");
}

#[test]
fn nothing_to_delete_is_immediately_attested() {
    let mut a = dev_agreement();
    let t = Termination::start(
        AGREEMENT,
        &mut a,
        "到期前协商解除",
        vec![],
        vec![],
        &Settings::default(),
        d(2027, 1, 4),
        &cal(),
    )
    .unwrap();
    assert_eq!(t.status, TerminationStatus::DeveloperAttested);
    let mut again = a.clone();
    assert!(matches!(
        Termination::start(
            AGREEMENT,
            &mut again,
            "再次",
            vec![],
            vec![],
            &Settings::default(),
            d(2027, 1, 5),
            &cal()
        ),
        Err(TerminationError::Agreement(_))
    ));
    let mut b = dev_agreement();
    assert_eq!(
        Termination::start(
            AGREEMENT,
            &mut b,
            " ",
            vec![],
            vec![],
            &Settings::default(),
            d(2027, 1, 4),
            &cal()
        ),
        Err(TerminationError::ReasonRequired)
    );
    for s in TerminationStatus::ALL {
        assert_eq!(TerminationStatus::parse(s.code()), Some(*s));
    }
}
