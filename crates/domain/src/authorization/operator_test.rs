//! Unit tests of `operator`: selection, the 14 clauses, term limits, signatures, filing, renewal.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::authorization::evaluation::{EvaluationResult, EvaluationStanding};
use crate::authorization::fixtures::*;
use crate::authorization::{FilingStatus, ProductClass};

fn term(start: NaiveDate, end: NaiveDate) -> Term {
    Term::new(start, end).unwrap()
}

fn approval() -> LongTermApproval {
    LongTermApproval {
        justification: "平台建设投入大，回收期长".to_owned(),
        approved_by: "省人民政府".to_owned(),
        approved_on: d(2025, 12, 1),
        doc_number: None,
    }
}

#[test]
fn each_missing_clause_is_named_before_signing() {
    type RemoveClause = fn(&mut AgreementContent);
    let cases: [(AgreementClause, RemoveClause); 14] = [
        (AgreementClause::DataScope, |c| c.data_resources.clear()),
        (AgreementClause::Term, |c| c.term = None),
        (AgreementClause::Products, |c| c.compliance_review.clear()),
        (AgreementClause::Platform, |c| c.platform.clear()),
        (AgreementClause::AssetOwnership, |c| c.asset_ownership.clear()),
        (AgreementClause::Disclosure, |c| c.no_redevelopment_undertaking = false),
        (AgreementClause::CostRevenue, |c| c.cost_revenue.clear()),
        (AgreementClause::Security, |c| c.security.clear()),
        (AgreementClause::EvaluationRenewal, |c| c.evaluation_renewal.clear()),
        (AgreementClause::Liability, |c| c.liability.clear()),
        (AgreementClause::Disputes, |c| c.disputes.clear()),
        (AgreementClause::ChangeTermination, |c| c.change_termination.clear()),
        (AgreementClause::Confidentiality, |c| c.confidentiality.clear()),
        (AgreementClause::Other, |c| c.other = " ".to_owned()),
    ];
    let t = term(d(2026, 1, 1), d(2030, 12, 31));
    for (n, (clause, remove)) in cases.into_iter().enumerate() {
        assert_eq!(clause.number(), n + 1);
        let mut a = ready_agreement(Level::Province, AuthorizationMode::Whole, t, d(2025, 12, 20));
        let mut content = agreement_content(t);
        remove(&mut content);
        a.edit(content).unwrap();
        let err = a.sign(Signatory::Agency, d(2025, 12, 20), &cal()).unwrap_err();
        assert_eq!(err, OperatorError::Incomplete { clauses: vec![clause] }, "{clause:?}");
        assert_eq!(err.code(), "operation_agreement.incomplete");
        let expected = format!("（{}）{}", chinese_number(n + 1), clause.label_zh());
        assert!(err.message_zh().contains(&expected), "{}", err.message_zh());
        assert!(a.signed_by_agency.is_none(), "a refused signature is not recorded");
    }
}

#[test]
fn product_list_needs_both_classes() {
    let mut content = agreement_content(term(d(2026, 1, 1), d(2030, 12, 31)));
    content.products.retain(|p| p.class == ProductClass::PublicWelfare);
    assert_eq!(content.missing_clauses(), vec![AgreementClause::Products]);
}

#[test]
fn term_up_to_five_years_or_justified_and_approved() {
    let today = d(2025, 12, 20);
    let cases = [
        (d(2031, 1, 1), None, true),               // start + 5 years exactly
        (d(2031, 1, 2), None, false),              // one day more
        (d(2031, 1, 2), Some(approval()), true),   // with justification and approval
        (d(2033, 12, 31), Some(approval()), true), // approval covers a longer term
    ];
    for (end, exception, ok) in cases {
        let t = term(d(2026, 1, 1), end);
        let mut a = ready_agreement(Level::Province, AuthorizationMode::Whole, t, today);
        a.content.long_term = exception;
        let result = a.sign(Signatory::Agency, today, &cal());
        assert_eq!(result.is_ok(), ok, "end {end}: {result:?}");
        if !ok {
            let err = result.unwrap_err();
            assert_eq!(err, OperatorError::Term(TermError::TooLong { max_years: 5, max_end: d(2031, 1, 1) }));
            assert_eq!(err.code(), "term.too_long");
        }
    }
}

#[test]
fn selection_and_decision_come_first() {
    let t = term(d(2026, 1, 1), d(2030, 12, 31));
    let mut a = OperationAgreement::draft(AGENCY, Level::Province, AuthorizationMode::Whole, None).unwrap();
    a.edit(agreement_content(t)).unwrap();
    assert_eq!(a.sign(Signatory::Agency, d(2025, 12, 20), &cal()), Err(OperatorError::NoSelection));
    assert_eq!(
        a.record_agency_decision(decision(DecisionOutcome::Approved, d(2025, 12, 20)), d(2025, 12, 20)),
        Err(OperatorError::NoSelection)
    );
    let mut bad = selection(d(2025, 12, 10));
    bad.winner = "未参与单位".to_owned();
    assert_eq!(a.record_selection(bad, d(2025, 12, 20)), Err(OperatorError::WinnerNotParticipant));
    let mut other = selection(d(2025, 12, 10));
    other.method = SelectionMethod::OtherCompetitive;
    assert_eq!(a.record_selection(other, d(2025, 12, 20)), Err(OperatorError::MethodUnnamed));
    a.record_selection(selection(d(2025, 12, 10)), d(2025, 12, 20)).unwrap();
    assert_eq!(a.sign(Signatory::Agency, d(2025, 12, 20), &cal()), Err(OperatorError::NoAgencyDecision));
    a.record_agency_decision(decision(DecisionOutcome::Rejected, d(2025, 12, 15)), d(2025, 12, 20)).unwrap();
    assert_eq!(a.sign(Signatory::Agency, d(2025, 12, 20), &cal()), Err(OperatorError::NoAgencyDecision));
}

#[test]
fn by_domain_needs_both_signatures_of_the_authorizing_side() {
    assert_eq!(
        OperationAgreement::draft(AGENCY, Level::Province, AuthorizationMode::ByDomain, None).unwrap_err(),
        OperatorError::IndustryDepartmentMissing
    );
    let today = d(2026, 3, 2);
    let t = term(d(2026, 3, 1), d(2030, 12, 31));
    let mut a = ready_agreement(Level::Province, AuthorizationMode::ByDomain, t, today);
    assert_eq!(a.sign(Signatory::Agency, today, &cal()).unwrap(), AgreementStatus::Draft);
    assert_eq!(a.sign(Signatory::Agency, today, &cal()), Err(OperatorError::AlreadySigned));
    assert_eq!(a.sign(Signatory::Operator, today, &cal()).unwrap(), AgreementStatus::Draft);
    assert_eq!(a.missing_signatures(), vec![Signatory::IndustryDepartment]);
    // Started already: in force as soon as the last signature is made.
    assert_eq!(a.sign(Signatory::IndustryDepartment, today, &cal()).unwrap(), AgreementStatus::InForce);
    assert_eq!(a.signed_on, Some(today));

    let mut whole = ready_agreement(Level::Province, AuthorizationMode::Whole, t, today);
    assert_eq!(whole.sign(Signatory::IndustryDepartment, today, &cal()), Err(OperatorError::NotASignatory));
}

#[test]
fn prefecture_agreement_filing_is_due_20_working_days_after_signing() {
    // Signed Tue 2026-09-15: the same count as the plan filing, due Mon 2026-10-19.
    let today = d(2026, 9, 15);
    let mut a = ready_agreement(
        Level::Prefecture,
        AuthorizationMode::Whole,
        term(d(2026, 10, 1), d(2031, 9, 30)),
        today,
    );
    a.sign(Signatory::Agency, today, &cal()).unwrap();
    assert_eq!(a.sign(Signatory::Operator, today, &cal()).unwrap(), AgreementStatus::Signed, "starts later");
    assert_eq!(a.filing.status, FilingStatus::Due);
    assert_eq!(a.filing.due, Some(d(2026, 10, 19)));
    assert!(a.filing.is_overdue(d(2026, 10, 20)));
    assert_eq!(a.advance(d(2026, 9, 30)), AgreementStatus::Signed);
    assert_eq!(a.advance(d(2026, 10, 1)), AgreementStatus::InForce);
    assert!(a.is_in_force(d(2031, 9, 30)));
    assert_eq!(a.advance(d(2031, 10, 1)), AgreementStatus::Expired);
    assert!(!a.is_in_force(d(2031, 10, 1)));
}

#[test]
fn renewal_follows_the_operators_evaluations() {
    let mut a = operator_agreement();
    a.advance(d(2026, 1, 1));
    let good = EvaluationStanding { latest: Some(EvaluationResult::Pass), open_rectification: false };
    let failed = EvaluationStanding { latest: Some(EvaluationResult::Fail), open_rectification: false };
    let rectifying = EvaluationStanding { latest: Some(EvaluationResult::Rectify), open_rectification: true };
    let today = d(2030, 6, 1);
    assert_eq!(
        a.renew(d(2033, 12, 31), None, &failed, today),
        Err(OperatorError::RenewalRefused { reason: RenewalBlock::LatestFailed })
    );
    let err = a.renew(d(2033, 12, 31), None, &rectifying, today).unwrap_err();
    assert_eq!(err, OperatorError::RenewalRefused { reason: RenewalBlock::OpenRectification });
    assert!(err.message_zh().contains("限期整改"));
    // At most 5 years from the current end (2030-12-31 → 2035-12-31).
    assert!(matches!(a.renew(d(2036, 1, 1), None, &good, today), Err(OperatorError::Term(_))));
    assert_eq!(a.renew(d(2035, 12, 31), None, &good, today).unwrap(), AgreementStatus::Renewed);
    assert_eq!(a.end(), Some(d(2035, 12, 31)));
    assert!(a.is_in_force(d(2033, 1, 1)));
    assert_eq!(a.renewals.len(), 1);
}

#[test]
fn termination_needs_a_reason_and_ends_the_agreement() {
    let mut a = operator_agreement();
    assert_eq!(a.terminate(" ", d(2027, 1, 1)), Err(OperatorError::ReasonRequired));
    assert_eq!(a.terminate("严重违约", d(2027, 1, 1)).unwrap(), AgreementStatus::Terminated);
    assert!(!a.is_in_force(d(2027, 1, 2)));
    assert!(a.terminate("再次", d(2027, 1, 2)).is_err());
    assert!(a.edit(agreement_content(term(d(2026, 1, 1), d(2027, 1, 1)))).is_err());
}

#[test]
fn codes_round_trip() {
    for s in AgreementStatus::ALL {
        assert_eq!(AgreementStatus::parse(s.code()), Some(*s));
    }
    for m in SelectionMethod::ALL {
        assert_eq!(SelectionMethod::parse(m.code()), Some(*m));
    }
    assert_eq!(AgreementClause::ALL.len(), 14);
    assert_eq!(AgreementStatus::InForce.label_zh(), "已生效");
}
