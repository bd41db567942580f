//! Unit tests of `evaluation`: parties, scoring, bands, rectification deadlines, standing, suggestions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::authorization::fixtures::*;

fn operator_evaluator() -> Evaluator {
    Evaluator { org: OPERATOR, org_type: OrgType::Operator, appointment: String::new() }
}

fn open(today: NaiveDate) -> Evaluation {
    Evaluation::open(
        EvaluationRelation::OperatorToDeveloper,
        operator_evaluator(),
        DEVELOPER,
        OrgType::Developer,
        "2026 年度",
        criteria(),
        today,
    )
    .unwrap()
}

fn scores(supply: u32, effect: u32) -> Vec<ScoreInput> {
    vec![
        ScoreInput { indicator: "数据供给".into(), score: supply, evidence: vec!["mat-1".into()] },
        ScoreInput { indicator: "产品成效".into(), score: effect, evidence: vec![] },
    ]
}

/// A concluded evaluation with the given scores on `day`.
fn concluded(supply: u32, effect: u32, day: NaiveDate) -> Evaluation {
    let mut e = open(day);
    e.conclude(scores(supply, effect), None, &Settings::default(), day, &cal()).unwrap();
    e
}

#[test]
fn weighted_total_gives_the_band() {
    // Weights 40 / 60.
    let cases = [
        (80, 50, 6200, EvaluationResult::Pass),    // 32 + 30 = 62.00
        (60, 60, 6000, EvaluationResult::Pass),    // exactly the pass threshold
        (59, 60, 5960, EvaluationResult::Rectify), // 23.60 + 36 = 59.60
        (50, 40, 4400, EvaluationResult::Rectify),
        (20, 30, 2600, EvaluationResult::Fail),
    ];
    for (supply, effect, total, result) in cases {
        let e = concluded(supply, effect, d(2026, 9, 3));
        let c = e.conclusion.as_ref().unwrap();
        assert_eq!((c.total_x100, c.result), (total, result), "{supply}/{effect}");
        assert_eq!(e.status(), EvaluationStatus::Concluded);
    }
    assert_eq!(concluded(59, 60, d(2026, 9, 3)).conclusion.unwrap().total_text(), "59.60");
}

#[test]
fn the_evaluator_may_choose_a_worse_result_with_reasons_never_a_better_one() {
    let settings = Settings::default();
    let day = d(2026, 9, 3);
    let mut e = open(day);
    assert_eq!(
        e.conclude(scores(90, 90), Some((EvaluationResult::Rectify, " ")), &settings, day, &cal()),
        Err(EvaluationError::ReasonRequired)
    );
    assert_eq!(
        e.conclude(scores(90, 90), Some((EvaluationResult::Rectify, "日志留存不足")), &settings, day, &cal()),
        Ok(EvaluationResult::Rectify)
    );
    assert_eq!(e.conclusion.as_ref().unwrap().band, EvaluationResult::Pass);
    assert!(e.rectification.is_some());
    let mut f = open(day);
    assert_eq!(
        f.conclude(scores(10, 10), Some((EvaluationResult::Pass, "酌情")), &settings, day, &cal()),
        Err(EvaluationError::BetterThanBand { band: EvaluationResult::Fail })
    );
}

#[test]
fn scores_cover_every_indicator_once_with_evidence() {
    let settings = Settings::default();
    let day = d(2026, 9, 3);
    let mut e = open(day);
    let mut missing = scores(80, 80);
    missing.pop();
    assert_eq!(
        e.conclude(missing, None, &settings, day, &cal()),
        Err(EvaluationError::ScoreMissing { indicator: "产品成效".into() })
    );
    let mut unknown = scores(80, 80);
    unknown.push(ScoreInput { indicator: "其他".into(), score: 1, evidence: vec![] });
    assert_eq!(
        e.conclude(unknown, None, &settings, day, &cal()),
        Err(EvaluationError::UnknownIndicator { indicator: "其他".into() })
    );
    assert_eq!(
        e.conclude(scores(101, 80), None, &settings, day, &cal()),
        Err(EvaluationError::ScoreOutOfRange { indicator: "数据供给".into() })
    );
    let mut no_evidence = scores(80, 80);
    no_evidence[0].evidence.clear();
    assert_eq!(e.conclude(no_evidence, None, &settings, day, &cal()), Err(EvaluationError::NoEvidence));
    assert_eq!(e.status(), EvaluationStatus::Open);
}

#[test]
fn rectification_30_days_ending_in_a_holiday_rolls_to_the_next_working_day() {
    let cases = [
        // 2026-09-03 + 30 days = Sat 10-03 (国庆); 10-04..10-07 off → Thu 2026-10-08.
        (d(2026, 9, 3), d(2026, 10, 8)),
        // 2026-01-19 + 30 days = Wed 02-18 (春节 15–23 off) → Tue 2026-02-24.
        (d(2026, 1, 19), d(2026, 2, 24)),
        // 2026-06-01 + 30 days = Wed 07-01, a working day.
        (d(2026, 6, 1), d(2026, 7, 1)),
    ];
    for (ordered, due) in cases {
        let e = concluded(50, 40, ordered);
        let r = e.rectification.as_ref().unwrap();
        assert_eq!(r.due, due, "ordered {ordered}");
        assert!(!r.provisional);
        assert!(!r.is_overdue(due));
        assert!(r.is_overdue(due.succ_opt().unwrap()));
    }
}

#[test]
fn rectification_plan_then_completion() {
    let mut e = concluded(50, 40, d(2026, 9, 3));
    assert_eq!(e.rectification.as_ref().unwrap().status(), RectificationStatus::AwaitingPlan);
    assert_eq!(
        e.complete_rectification("完成", d(2026, 9, 10)),
        Err(EvaluationError::RectificationWrongStep)
    );
    e.submit_rectification_plan("补齐日志留存", d(2026, 9, 5)).unwrap();
    assert_eq!(e.rectification.as_ref().unwrap().status(), RectificationStatus::InProgress);
    assert_eq!(e.complete_rectification("已补齐", d(2026, 10, 8)), Ok(true), "on the due day is on time");
    assert_eq!(e.rectification.as_ref().unwrap().status(), RectificationStatus::Completed);

    let mut late = concluded(50, 40, d(2026, 9, 3));
    late.submit_rectification_plan("方案", d(2026, 9, 5)).unwrap();
    assert_eq!(late.complete_rectification("已补齐", d(2026, 10, 9)), Ok(false));
    assert_eq!(
        concluded(90, 90, d(2026, 9, 3)).submit_rectification_plan("x", d(2026, 9, 4)),
        Err(EvaluationError::NoRectification)
    );
}

#[test]
fn material_requests_have_a_due_date() {
    let mut e = open(d(2026, 9, 1));
    assert_eq!(
        e.request_materials("年度运营报告", d(2026, 9, 1), d(2026, 9, 1)),
        Err(EvaluationError::BadDueDate)
    );
    let i = e.request_materials("年度运营报告", d(2026, 9, 10), d(2026, 9, 1)).unwrap();
    assert!(!e.requests[i].is_overdue(d(2026, 9, 10)));
    assert!(e.requests[i].is_overdue(d(2026, 9, 11)));
    e.submit_materials(i, vec!["mat-7".into()], d(2026, 9, 11)).unwrap();
    assert!(e.requests[i].submitted_late());
    assert_eq!(
        e.submit_materials(i, vec!["mat-8".into()], d(2026, 9, 12)),
        Err(EvaluationError::AlreadySubmitted)
    );
    assert_eq!(
        e.submit_materials(9, vec!["mat-8".into()], d(2026, 9, 12)),
        Err(EvaluationError::NoSuchRequest)
    );
}

#[test]
fn parties_must_fit_the_relation() {
    let third_party =
        Evaluator { org: 50, org_type: OrgType::PlatformOperator, appointment: "委托书 2026-01".into() };
    let agency = Evaluator { org: AGENCY, org_type: OrgType::ImplementingAgency, appointment: String::new() };
    let authority = Evaluator { org: 1, org_type: OrgType::DataAuthority, appointment: String::new() };
    let unappointed = Evaluator { appointment: String::new(), ..third_party.clone() };
    let cases = [
        (EvaluationRelation::AgencyToOperator, agency.clone(), OrgType::Operator, true),
        (EvaluationRelation::AgencyToOperator, third_party, OrgType::Operator, true),
        (EvaluationRelation::AgencyToOperator, unappointed, OrgType::Operator, false),
        (EvaluationRelation::AuthorityToProvider, authority.clone(), OrgType::DataProvider, true),
        (EvaluationRelation::AuthorityToProvider, authority, OrgType::PublicUtility, true),
        (EvaluationRelation::AuthorityToProvider, agency, OrgType::DataProvider, false),
        (EvaluationRelation::OperatorToDeveloper, operator_evaluator(), OrgType::Developer, true),
        (EvaluationRelation::OperatorToDeveloper, operator_evaluator(), OrgType::Operator, false),
    ];
    for (relation, evaluator, evaluated_type, ok) in cases {
        let got =
            Evaluation::open(relation, evaluator, 99, evaluated_type, "2026", criteria(), d(2026, 9, 1));
        assert_eq!(got.is_ok(), ok, "{relation:?} {evaluated_type:?}");
    }
}

#[test]
fn standing_feeds_renewal() {
    let cases: [(&[(u32, u32)], EvaluationStanding); 5] = [
        (&[], EvaluationStanding { latest: None, open_rectification: false }),
        (&[(90, 90)], EvaluationStanding { latest: Some(EvaluationResult::Pass), open_rectification: false }),
        (
            &[(50, 40)],
            EvaluationStanding { latest: Some(EvaluationResult::Rectify), open_rectification: true },
        ),
        (
            &[(50, 40), (90, 90)],
            EvaluationStanding { latest: Some(EvaluationResult::Pass), open_rectification: false },
        ),
        (
            &[(90, 90), (10, 10)],
            EvaluationStanding { latest: Some(EvaluationResult::Fail), open_rectification: false },
        ),
    ];
    for (history, expected) in cases {
        let evaluations: Vec<Evaluation> = history
            .iter()
            .enumerate()
            .map(|(i, (a, b))| concluded(*a, *b, d(2026, 3 + u32::try_from(i).unwrap(), 2)))
            .collect();
        assert_eq!(EvaluationStanding::of(&evaluations), expected, "{history:?}");
    }
}

#[test]
fn failing_twice_suggests_cancellation() {
    let today = d(2026, 12, 1);
    let fail1 = concluded(10, 10, d(2026, 3, 2));
    let fail2 = concluded(10, 10, d(2026, 9, 1));
    let pass = concluded(90, 90, d(2026, 6, 1));
    let s = suggest_sanction(&[fail1.clone(), fail2.clone()], today).unwrap();
    assert_eq!((s.kind, s.reason), (SanctionKind::Cancellation, SuggestionReason::FailedTwice));
    let s = suggest_sanction(&[fail1.clone(), pass.clone(), fail2], today).unwrap();
    assert_eq!(s.kind, SanctionKind::ReminderInterview, "not consecutive");
    assert_eq!(suggest_sanction(&[fail1, pass.clone()], today), None);
    let rectify = concluded(50, 40, d(2026, 9, 3)); // due 2026-10-08
    assert_eq!(suggest_sanction(std::slice::from_ref(&rectify), d(2026, 10, 8)), None);
    assert_eq!(
        suggest_sanction(&[rectify], d(2026, 10, 9)).map(|s| s.kind),
        Some(SanctionKind::Suspension),
        "overdue rectification"
    );
    assert_eq!(suggest_sanction(&[pass], today), None);
}

#[test]
fn codes_round_trip() {
    for r in EvaluationResult::ALL {
        assert_eq!(EvaluationResult::parse(r.code()), Some(*r));
    }
    assert_eq!(EvaluationResult::Rectify.label_zh(), "限期整改");
    assert_eq!(EvaluationRelation::ALL.len(), 3);
}
