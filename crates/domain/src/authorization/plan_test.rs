//! Unit tests of `plan`: the 12 items, feasibility, the decision path, versions and filing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::authorization::fixtures::*;
use crate::authorization::{FilingStatus, ProductClass};

fn complete_draft(level: Level) -> ImplementationPlan {
    let mut plan = ImplementationPlan::draft(AGENCY, level);
    plan.edit(plan_content(), feasibility()).unwrap();
    plan
}

fn review(outcome: DecisionOutcome, date: NaiveDate) -> GovernmentReview {
    GovernmentReview { outcome, date, meeting_ref: "州人民政府第 8 次常务会议".to_owned() }
}

/// Submitted, agency-approved and government-approved on `approved_on`.
fn approved(level: Level, approved_on: NaiveDate) -> ImplementationPlan {
    let mut plan = complete_draft(level);
    plan.submit(d(2026, 9, 1)).unwrap();
    plan.record_agency_decision(decision(DecisionOutcome::Approved, d(2026, 9, 7)), d(2026, 9, 7), &cal())
        .unwrap();
    plan.record_government_review(review(DecisionOutcome::Approved, approved_on), approved_on, &cal())
        .unwrap();
    plan
}

#[test]
fn each_missing_item_is_named_in_the_submission_error() {
    type RemoveItem = fn(&mut PlanContent);
    let cases: [(PlanItem, RemoveItem); 12] = [
        (PlanItem::Name, |c| c.name.clear()),
        (PlanItem::NecessityFeasibility, |c| c.necessity = "  ".to_owned()),
        (PlanItem::OperatorConditions, |c| {
            c.operator_conditions.retain(|x| x.category != ConditionCategory::Security)
        }),
        (PlanItem::Mode, |c| c.mode = None),
        (PlanItem::DataScope, |c| c.data_resources.clear()),
        (PlanItem::TermAndSchedule, |c| c.exit_conditions.clear()),
        (PlanItem::ProductList, |c| c.products.retain(|p| p.class != ProductClass::IndustryDevelopment)),
        (PlanItem::CostRevenue, |c| c.revenue_sharing.clear()),
        (PlanItem::Security, |c| c.emergency_measures.clear()),
        (PlanItem::RightsDuties, |c| c.rights_duties.clear()),
        (PlanItem::Supervision, |c| c.supervision.clear()),
        (PlanItem::Other, |c| c.other.clear()),
    ];
    for (n, (item, remove)) in cases.into_iter().enumerate() {
        assert_eq!(item.number(), n + 1);
        let mut content = plan_content();
        remove(&mut content);
        let mut plan = ImplementationPlan::draft(AGENCY, Level::Province);
        plan.edit(content, feasibility()).unwrap();
        let err = plan.submit(d(2026, 9, 1)).unwrap_err();
        assert_eq!(err, PlanError::Incomplete { items: vec![item], aspects: vec![] }, "item {item:?}");
        assert_eq!(err.code(), "plan.incomplete");
        let expected = format!("（{}）{}", chinese_number(n + 1), item.label_zh());
        assert!(err.message_zh().contains(&expected), "{} lacks {expected}", err.message_zh());
        assert_eq!(plan.status, PlanStatus::Draft, "a refused submission changes nothing");
    }
}

#[test]
fn an_empty_draft_lists_all_items_and_aspects_in_order() {
    let mut plan = ImplementationPlan::draft(AGENCY, Level::Province);
    let Err(PlanError::Incomplete { items, aspects }) = plan.submit(d(2026, 9, 1)) else { panic!() };
    assert_eq!(items, PlanItem::ALL.to_vec());
    assert_eq!(aspects, FeasibilityAspect::ALL.to_vec());
}

#[test]
fn by_domain_mode_needs_the_industry_department() {
    let mut content = plan_content();
    content.mode = Some(AuthorizationMode::ByDomain);
    assert_eq!(content.missing_items(), vec![PlanItem::Mode]);
    content.industry_department = Some(INDUSTRY);
    assert!(content.missing_items().is_empty());
}

#[test]
fn incomplete_feasibility_blocks_submission() {
    let mut f = feasibility();
    f.market_size.clear();
    let mut plan = ImplementationPlan::draft(AGENCY, Level::Province);
    plan.edit(plan_content(), f).unwrap();
    let err = plan.submit(d(2026, 9, 1)).unwrap_err();
    assert_eq!(err, PlanError::Incomplete { items: vec![], aspects: vec![FeasibilityAspect::MarketSize] });
    assert!(err.message_zh().contains("市场规模"));
}

#[test]
fn criteria_weights_must_sum_to_100() {
    let mut content = plan_content();
    content.evaluation_criteria[0].weight = 30;
    let mut plan = ImplementationPlan::draft(AGENCY, Level::Province);
    plan.edit(content, feasibility()).unwrap();
    let err = plan.submit(d(2026, 9, 1)).unwrap_err();
    assert_eq!(err.code(), "criteria.weights_not_100");
    assert!(err.message_zh().contains("90"));
}

#[test]
fn full_path_approves_and_locks_the_plan() {
    let mut plan = complete_draft(Level::Province);
    assert_eq!(plan.submit(d(2026, 9, 1)).unwrap(), PlanStatus::AgencyDecision);
    assert_eq!(plan.edit(plan_content(), feasibility()).unwrap_err().code(), "plan.locked");
    let s = plan
        .record_agency_decision(decision(DecisionOutcome::Approved, d(2026, 9, 7)), d(2026, 9, 7), &cal())
        .unwrap();
    assert_eq!(s, PlanStatus::GovernmentReview);
    let s = plan
        .record_government_review(review(DecisionOutcome::Approved, d(2026, 9, 15)), d(2026, 9, 16), &cal())
        .unwrap();
    assert_eq!(s, PlanStatus::Approved);
    assert_eq!(plan.approved_on, Some(d(2026, 9, 15)));
    assert_eq!(plan.filing, Filing::NOT_REQUIRED, "provincial plans are not filed");
    assert!(matches!(plan.edit(plan_content(), feasibility()), Err(PlanError::Locked { .. })));
    assert_eq!(plan.criteria().unwrap().indicators().len(), 2);
}

#[test]
fn returned_goes_back_to_draft_and_rejected_is_final() {
    let mut plan = complete_draft(Level::Province);
    plan.submit(d(2026, 9, 1)).unwrap();
    let s = plan
        .record_agency_decision(decision(DecisionOutcome::Returned, d(2026, 9, 2)), d(2026, 9, 2), &cal())
        .unwrap();
    assert_eq!(s, PlanStatus::Draft);
    plan.edit(plan_content(), feasibility()).unwrap();
    plan.submit(d(2026, 9, 3)).unwrap();
    plan.record_agency_decision(decision(DecisionOutcome::Approved, d(2026, 9, 4)), d(2026, 9, 4), &cal())
        .unwrap();
    let s = plan
        .record_government_review(review(DecisionOutcome::Rejected, d(2026, 9, 8)), d(2026, 9, 8), &cal())
        .unwrap();
    assert_eq!(s, PlanStatus::Rejected);
    assert!(matches!(plan.submit(d(2026, 9, 9)), Err(PlanError::WrongStatus { .. })));
}

#[test]
fn decisions_are_dated_between_submission_and_today() {
    let mut plan = complete_draft(Level::Province);
    plan.submit(d(2026, 9, 10)).unwrap();
    for date in [d(2026, 9, 9), d(2026, 9, 12)] {
        let err = plan
            .record_agency_decision(decision(DecisionOutcome::Approved, date), d(2026, 9, 11), &cal())
            .unwrap_err();
        assert_eq!(err, PlanError::BadDecisionDate);
    }
    let mut no_meeting = decision(DecisionOutcome::Approved, d(2026, 9, 11));
    no_meeting.meeting.clear();
    assert_eq!(
        plan.record_agency_decision(no_meeting, d(2026, 9, 11), &cal()),
        Err(PlanError::MeetingMissing)
    );
    // Skipping a step is impossible.
    assert!(matches!(
        plan.record_government_review(
            review(DecisionOutcome::Approved, d(2026, 9, 11)),
            d(2026, 9, 11),
            &cal()
        ),
        Err(PlanError::WrongStatus { .. })
    ));
}

#[test]
fn prefecture_filing_crosses_the_national_day_holiday() {
    // Approved Tue 2026-09-15. 20 working days, start day not counted:
    // 9-16 (1) 9-17 (2) 9-18 (3) | 9-19 Sat off | 9-20 Sun 调休 work (4) | 9-21..9-24 (5–8) |
    // 9-25..9-27 中秋 off | 9-28 (9) 9-29 (10) 9-30 (11) | 10-01..10-07 国庆 off | 10-08 (12) 10-09 (13) |
    // 10-10 Sat 调休 work (14) | 10-11 Sun off | 10-12..10-16 (15–19) | 10-17, 10-18 weekend | 10-19 Mon (20).
    // A weekends-only count would give 10-13.
    let plan = approved(Level::Prefecture, d(2026, 9, 15));
    assert_eq!(plan.filing.status, FilingStatus::Due);
    assert_eq!(plan.filing.due, Some(d(2026, 10, 19)));
    assert!(!plan.filing.provisional);
    assert!(!plan.filing.is_overdue(d(2026, 10, 19)), "the due day itself is not overdue");
    assert!(plan.filing.is_overdue(d(2026, 10, 20)));

    let mut on_time = plan.filing;
    assert_eq!(on_time.record_filed(d(2026, 10, 19), d(2026, 10, 19)).unwrap(), FilingStatus::Filed);
    let mut late = plan.filing;
    assert_eq!(late.record_filed(d(2026, 10, 20), d(2026, 10, 21)).unwrap(), FilingStatus::FiledLate);
    assert!(!late.is_overdue(d(2026, 11, 1)));
}

#[test]
fn county_plans_are_filed_too() {
    let plan = approved(Level::County, d(2026, 9, 15));
    assert_eq!(plan.filing.status, FilingStatus::Due);
}

#[test]
fn major_change_goes_through_the_government_again_and_supersedes() {
    let mut v1 = approved(Level::Prefecture, d(2026, 9, 15));
    assert_eq!(v1.new_version(ChangeKind::Major, " ").unwrap_err(), PlanError::ChangeUndescribed);
    let mut v2 = v1.new_version(ChangeKind::Major, "扩大数据范围").unwrap();
    assert_eq!((v2.version, v2.status), (2, PlanStatus::Draft));
    v2.content.data_resources.push(ResourceRef {
        id: "res-2".to_owned(),
        code: "530000-JT-0002".to_owned(),
        name: "出租车轨迹".to_owned(),
    });
    v2.submit(d(2026, 11, 2)).unwrap();
    let s = v2
        .record_agency_decision(decision(DecisionOutcome::Approved, d(2026, 11, 3)), d(2026, 11, 3), &cal())
        .unwrap();
    assert_eq!(s, PlanStatus::GovernmentReview, "a major change needs the government again");
    assert_eq!(v1.supersede(&v2), Err(PlanError::NotASuccessor), "not approved yet");
    v2.record_government_review(review(DecisionOutcome::Approved, d(2026, 11, 10)), d(2026, 11, 10), &cal())
        .unwrap();
    assert_eq!(v1.supersede(&v2).unwrap(), PlanStatus::Superseded);
    assert_eq!(v1.superseded_on, Some(d(2026, 11, 10)));
    assert_eq!(v2.filing.status, FilingStatus::Due, "the new version is filed as well");
}

#[test]
fn minor_change_is_approved_by_the_agency_alone() {
    let v1 = approved(Level::Province, d(2026, 9, 15));
    let mut v2 = v1.new_version(ChangeKind::Minor, "更正联系人").unwrap();
    v2.submit(d(2026, 10, 12)).unwrap();
    let s = v2
        .record_agency_decision(decision(DecisionOutcome::Approved, d(2026, 10, 13)), d(2026, 10, 13), &cal())
        .unwrap();
    assert_eq!(s, PlanStatus::Approved);
    assert_eq!(v2.approved_on, Some(d(2026, 10, 13)));
    assert!(v2.government_review.is_none());
}

#[test]
fn status_codes_round_trip() {
    for s in PlanStatus::ALL {
        assert_eq!(PlanStatus::parse(s.code()), Some(*s));
    }
    assert_eq!(PlanStatus::Approved.label_zh(), "已生效");
    assert_eq!(PlanStatus::parse("nope"), None);
    assert_eq!(chinese_number(12), "十二");
    assert_eq!(chinese_number(10), "十");
}
