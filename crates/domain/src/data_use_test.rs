//! Unit tests of `data_use`: requests and their two approvals, projects, assessments, grants and the
//! combined grade, the access chain, the airlock and the ε budget.
//! Organisations: data authority 1, operator 20, developer 30, provider 50 (resource 100), other
//! provider 51 (resource 200). Scenario 7 (普惠金融), development agreement 501.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::authorization::Term;
use crate::authorization::developer::DevAgreementStatus;
use crate::catalog::DataItemInput;

const AUTHORITY: OrgId = 1;
const OPERATOR: OrgId = 20;
const DEVELOPER: OrgId = 30;
const PROVIDER: OrgId = 50;
const OTHER_PROVIDER: OrgId = 51;
const RES: ResourceId = 100;
const OTHER_RES: ResourceId = 200;
const SCENARIO: ScenarioId = 7;
const AGREEMENT: AgreementId = 501;
const PROJECT: ProjectId = 601;
const REQUEST: RequestId = 701;
const ASSESSMENT: AssessmentId = 801;
const DEV_USER: UserId = 3001;
const REVIEWER_A: UserId = 2001;
const REVIEWER_B: UserId = 2002;

const QUASI: PiFlags = PiFlags { direct: false, quasi: true, sensitive: false };
const DIRECT: PiFlags = PiFlags { direct: true, quasi: false, sensitive: false };
const SENSITIVE: PiFlags = PiFlags { direct: false, quasi: false, sensitive: true };

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

/// Submission day.
fn today() -> NaiveDate {
    d(2026, 11, 2)
}

fn item(name: &str, grade: &str, pi: PiFlags, rules: &str) -> DataItem {
    let input = DataItemInput {
        name: name.into(),
        kind: "text".into(),
        grade: grade.into(),
        pi,
        scenario_rules: rules.into(),
        ..Default::default()
    };
    DataItem::parse(1, &input).unwrap()
}

fn items() -> Vec<DataItem> {
    vec![
        item("姓名", "l4", DIRECT, ""),
        item("出生日期", "l3", QUASI, "普惠金融:restricted"),
        item("性别", "l3", QUASI, ""),
        item("区县", "l3", QUASI, ""),
        item("民族", "l4", SENSITIVE, "普惠金融:excluded"),
        item("月收入", "l2", PiFlags::default(), ""),
        item("企业数", "l1", PiFlags::default(), ""),
        item("核心字段", "core", PiFlags::default(), ""),
    ]
}

fn other_items() -> Vec<DataItem> {
    vec![item("车牌号", "l2", PiFlags::default(), "")]
}

fn usable() -> UseFacts {
    UseFacts { grade: Some(Grade::L4), coded: true, cancelled: false, on_negative_list: false }
}

/// L3 may be a dimension here (a province's configuration), so that the Art. 28 rule is what bites.
fn policy() -> GradePolicy {
    GradePolicy::parse(
        "l1 = hidden, join_key, aggregate, dimension, open
         l2 = hidden, join_key, aggregate, dimension
         l3 = hidden, join_key, aggregate, dimension
         l4 = hidden, join_key
         important = hidden, aggregate",
    )
    .unwrap()
}

fn scenario() -> ScenarioRef<'static> {
    ScenarioRef { id: SCENARIO, category: "普惠金融", name: "小微企业信用贷款" }
}

fn line(resource_id: ResourceId, name: &str, class: UsageClass) -> RequestedField {
    RequestedField {
        resource_id,
        item: name.into(),
        class,
        justification: "用于评估小微企业主的信用风险，必需".into(),
    }
}

fn lines() -> Vec<RequestedField> {
    vec![
        line(RES, "出生日期", UsageClass::Dimension),
        line(RES, "性别", UsageClass::Dimension),
        line(RES, "区县", UsageClass::Dimension),
        line(RES, "月收入", UsageClass::Aggregate),
        line(RES, "姓名", UsageClass::JoinKey),
    ]
}

fn draft(fields: Vec<RequestedField>) -> DataUseRequest {
    DataUseRequest::draft(
        OPERATOR,
        PROVIDER,
        SCENARIO,
        "小微企业信用贷款风险评估模型开发",
        "昆明市范围内 2024 年以后的记录",
        fields,
        d(2027, 6, 30),
    )
}

fn submit(req: &mut DataUseRequest, facts: UseFacts) -> Result<(), DataUseError> {
    let its = items();
    let others = other_items();
    let resources = [
        ResourceFacts { resource_id: RES, provider: PROVIDER, use_facts: facts, items: &its },
        ResourceFacts {
            resource_id: OTHER_RES,
            provider: OTHER_PROVIDER,
            use_facts: usable(),
            items: &others,
        },
    ];
    req.submit(&scenario(), &resources, &policy(), today())
}

fn submitted() -> DataUseRequest {
    let mut req = draft(lines());
    submit(&mut req, usable()).unwrap();
    req
}

fn consent() -> Vec<FieldRef> {
    vec![FieldRef::new(RES, "出生日期")]
}

fn approve(req: &mut DataUseRequest, side: Approver) -> Result<RequestStatus, DataUseError> {
    let (org, ty) = match side {
        Approver::Authority => (AUTHORITY, OrgType::DataAuthority),
        Approver::Provider => (PROVIDER, OrgType::DataProvider),
    };
    req.approve(side, org, ty, 9, &consent(), d(2026, 11, 10))
}

fn approved() -> DataUseRequest {
    let mut req = submitted();
    approve(&mut req, Approver::Authority).unwrap();
    approve(&mut req, Approver::Provider).unwrap();
    req
}

fn agreement() -> DevelopmentAgreement {
    DevelopmentAgreement {
        operator: OPERATOR,
        developer: DEVELOPER,
        scenario: SCENARIO,
        term: Term::new(d(2026, 11, 1), d(2027, 3, 31)).unwrap(),
        long_term: None,
        signed_on: d(2026, 10, 12),
        status: DevAgreementStatus::Signed,
        ended_on: None,
    }
}

fn project() -> Project {
    let a = agreement();
    Project::open(
        DEVELOPER,
        (AGREEMENT, &a),
        AccessDecision::Allowed,
        "小微企业信用评分",
        "开发小微企业信用评分模型，服务普惠金融",
        d(2026, 11, 3),
    )
    .unwrap()
}

fn assessment(conclusion: Conclusion) -> SecurityAssessment {
    let p = project();
    let r = approved();
    SecurityAssessment::record(
        (PROJECT, &p),
        (REQUEST, &r),
        "准标识符组合可能识别个人；月收入为敏感财务信息",
        "仅聚合输出，k=10，双人审核，审计全部查询",
        conclusion,
        2001,
        None,
        d(2026, 11, 12),
    )
    .unwrap()
}

fn gf(resource_id: ResourceId, name: &str, class: UsageClass) -> GrantedField {
    GrantedField { resource_id, item: name.into(), class }
}

fn input(fields: Vec<GrantedField>) -> GrantInput {
    GrantInput { fields, row_scope: String::new(), k: KThreshold::default(), epsilon: Some(1.0), until: None }
}

fn build(fields: Vec<GrantedField>, a: &SecurityAssessment) -> Result<Grant, DataUseError> {
    let its = items();
    let pairs: Vec<(ResourceId, &DataItem)> = its.iter().map(|i| (RES, i)).collect();
    Grant::build(
        (PROJECT, &project()),
        &agreement(),
        (REQUEST, &approved()),
        (ASSESSMENT, a),
        &pairs,
        &policy(),
        input(fields),
        d(2026, 11, 13),
    )
}

fn grant() -> Grant {
    build(
        vec![gf(RES, "出生日期", UsageClass::Dimension), gf(RES, "月收入", UsageClass::Aggregate)],
        &assessment(Conclusion::Pass),
    )
    .unwrap()
}

// ---- requests -------------------------------------------------------------------------------------

#[test]
fn submission_records_the_fields_needing_provider_consent() {
    let req = submitted();
    assert_eq!(req.status, RequestStatus::Submitted);
    assert_eq!(req.submitted_on, Some(today()));
    assert_eq!(req.consent_required, consent());
}

#[test]
fn submission_refusals() {
    let no_negative = UseFacts { on_negative_list: true, ..usable() };
    let mut short = line(RES, "月收入", UsageClass::Aggregate);
    short.justification = "  需要  ".into();
    // (fields, facts, valid_until, expected code)
    let cases: Vec<(Vec<RequestedField>, UseFacts, NaiveDate, &str)> = vec![
        (vec![], usable(), d(2027, 6, 30), "data_use.no_fields"),
        (vec![short], usable(), d(2027, 6, 30), "data_use.justification"),
        (
            vec![line(RES, "月收入", UsageClass::Aggregate), line(RES, " 月收入", UsageClass::Hidden)],
            usable(),
            d(2027, 6, 30),
            "data_use.duplicate_field",
        ),
        (
            vec![line(999, "月收入", UsageClass::Aggregate)],
            usable(),
            d(2027, 6, 30),
            "data_use.resource_not_found",
        ),
        (
            vec![line(OTHER_RES, "车牌号", UsageClass::Aggregate)],
            usable(),
            d(2027, 6, 30),
            "data_use.other_provider",
        ),
        (
            vec![line(RES, "月收入", UsageClass::Aggregate)],
            no_negative,
            d(2027, 6, 30),
            "data_use.resource_unusable",
        ),
        (
            vec![line(RES, "学历", UsageClass::Aggregate)],
            usable(),
            d(2027, 6, 30),
            "data_use.field_not_found",
        ),
        (vec![line(RES, "民族", UsageClass::Hidden)], usable(), d(2027, 6, 30), "data_use.field_excluded"),
        (vec![line(RES, "姓名", UsageClass::Open)], usable(), d(2027, 6, 30), "data_use.class_not_allowed"),
        (
            vec![line(RES, "核心字段", UsageClass::Hidden)],
            usable(),
            d(2027, 6, 30),
            "data_use.class_not_allowed",
        ),
        (vec![line(RES, "月收入", UsageClass::Aggregate)], usable(), today(), "data_use.validity_in_past"),
        (
            vec![line(RES, "月收入", UsageClass::Aggregate)],
            usable(),
            d(2027, 11, 3),
            "data_use.validity_too_long",
        ),
    ];
    for (fields, facts, until, code) in cases {
        let mut req = draft(fields);
        req.valid_until = until;
        let err = submit(&mut req, facts).unwrap_err();
        assert_eq!(err.code(), code, "{err:?}");
        assert!(!err.message_zh().is_empty());
        assert_eq!(req.status, RequestStatus::Draft, "a refused submission leaves the draft");
    }
    // Exactly one year is fine.
    let mut req = draft(vec![line(RES, "月收入", UsageClass::Aggregate)]);
    req.valid_until = d(2027, 11, 2);
    submit(&mut req, usable()).unwrap();
}

#[test]
fn the_negative_list_is_reported_before_core_data() {
    let facts = UseFacts { grade: Some(Grade::Core), on_negative_list: true, ..usable() };
    let mut req = draft(vec![line(RES, "月收入", UsageClass::Aggregate)]);
    assert_eq!(
        submit(&mut req, facts),
        Err(DataUseError::ResourceUnusable { resource: RES, refusal: UseRefusal::NegativeList })
    );
}

#[test]
fn form_refusals_and_scenario_mismatch() {
    let mut req = draft(lines());
    req.purpose = "贷款".into();
    assert_eq!(submit(&mut req, usable()), Err(DataUseError::Purpose));
    let mut req = draft(lines());
    req.row_scope = " ".into();
    assert_eq!(submit(&mut req, usable()), Err(DataUseError::RowScope));
    let mut req = draft(lines());
    req.scenario = 8;
    assert_eq!(submit(&mut req, usable()), Err(DataUseError::RequestMismatch));
    let mut req = submitted();
    assert_eq!(submit(&mut req, usable()).unwrap_err().code(), "data_use.illegal_move");
}

#[test]
fn two_independent_approvals_in_either_order() {
    for order in [[Approver::Authority, Approver::Provider], [Approver::Provider, Approver::Authority]] {
        let mut req = submitted();
        assert_eq!(approve(&mut req, order[0]).unwrap(), RequestStatus::Submitted);
        assert!(!req.is_in_force(d(2026, 11, 10)));
        assert_eq!(approve(&mut req, order[1]).unwrap(), RequestStatus::Approved);
        assert!(req.is_in_force(d(2026, 11, 10)));
        assert_eq!(req.provider_decision.as_ref().unwrap().consented, consent());
    }
}

#[test]
fn either_refusal_refuses_whatever_the_other_did() {
    for (first_approves, refuser) in [
        (None, Approver::Authority),
        (Some(Approver::Authority), Approver::Provider),
        (Some(Approver::Provider), Approver::Authority),
    ] {
        let mut req = submitted();
        if let Some(side) = first_approves {
            approve(&mut req, side).unwrap();
        }
        let (org, ty) = match refuser {
            Approver::Authority => (AUTHORITY, OrgType::DataAuthority),
            Approver::Provider => (PROVIDER, OrgType::DataProvider),
        };
        assert_eq!(req.refuse(refuser, org, ty, 9, "不符", d(2026, 11, 10)), Err(DataUseError::Reason));
        assert_eq!(
            req.refuse(refuser, org, ty, 9, "超出最小必要范围", d(2026, 11, 10)).unwrap(),
            RequestStatus::Refused
        );
        assert!(!req.is_in_force(d(2026, 11, 10)));
        assert_eq!(approve(&mut req, Approver::Provider).unwrap_err().code(), "data_use.illegal_move");
    }
}

#[test]
fn decision_refusals() {
    let mut req = submitted();
    let day = d(2026, 11, 10);
    // Only a data authority decides for the authority side; only the request's provider for its side.
    assert_eq!(
        req.approve(Approver::Authority, OPERATOR, OrgType::Operator, 9, &[], day),
        Err(DataUseError::WrongActor(Approver::Authority))
    );
    assert_eq!(
        req.approve(Approver::Provider, OTHER_PROVIDER, OrgType::DataProvider, 9, &consent(), day),
        Err(DataUseError::WrongActor(Approver::Provider))
    );
    // The provider's approval must list the restricted field.
    let err = req.approve(Approver::Provider, PROVIDER, OrgType::DataProvider, 9, &[], day).unwrap_err();
    assert_eq!(err, DataUseError::ConsentMissing(consent()));
    assert!(err.message_zh().contains("出生日期"));
    // Deciding twice.
    approve(&mut req, Approver::Authority).unwrap();
    assert_eq!(
        approve(&mut req, Approver::Authority),
        Err(DataUseError::AlreadyDecided(Approver::Authority))
    );
    // Approving past the requested validity.
    let mut late = submitted();
    assert_eq!(
        late.approve(Approver::Authority, AUTHORITY, OrgType::DataAuthority, 9, &[], d(2027, 7, 1)),
        Err(DataUseError::ValidityInPast)
    );
    // A draft cannot be decided.
    let mut d0 = draft(lines());
    assert_eq!(approve(&mut d0, Approver::Authority).unwrap_err().code(), "data_use.illegal_move");
}

#[test]
fn withdrawal_only_by_the_operator_before_the_decision() {
    let mut req = submitted();
    approve(&mut req, Approver::Authority).unwrap();
    assert_eq!(req.withdraw(PROVIDER), Err(DataUseError::RequestMismatch));
    assert_eq!(req.withdraw(OPERATOR).unwrap(), RequestStatus::Withdrawn);
    let mut done = approved();
    assert_eq!(done.withdraw(OPERATOR).unwrap_err().code(), "data_use.illegal_move");
}

#[test]
fn an_approval_expires_on_the_day_after_its_validity() {
    let mut req = approved();
    assert!(req.is_in_force(d(2027, 6, 30)));
    assert_eq!(req.advance(d(2027, 6, 30)), RequestStatus::Approved);
    assert!(!req.is_in_force(d(2027, 7, 1)));
    assert_eq!(req.advance(d(2027, 7, 1)), RequestStatus::Expired);
}

// ---- projects and assessments ---------------------------------------------------------------------

#[test]
fn a_project_needs_an_agreement_giving_access() {
    let a = agreement();
    let open = |dev, access, name: &str| {
        Project::open(dev, (AGREEMENT, &a), access, name, "开发小微企业信用评分模型", d(2026, 11, 3))
    };
    assert_eq!(open(31, AccessDecision::Allowed, "评分").unwrap_err(), DataUseError::AgreementMismatch);
    assert_eq!(
        open(DEVELOPER, AccessDecision::Denied(DenyReason::Suspended), "评分").unwrap_err(),
        DataUseError::AgreementDenied(DenyReason::Suspended)
    );
    assert_eq!(open(DEVELOPER, AccessDecision::Allowed, "评").unwrap_err(), DataUseError::ProjectName);
    let p = project();
    assert_eq!((p.operator, p.scenario, p.agreement), (OPERATOR, SCENARIO, AGREEMENT));
    let mut p = p;
    p.close(d(2027, 1, 1)).unwrap();
    assert_eq!(p.close(d(2027, 1, 2)), Err(DataUseError::ProjectClosed));
}

#[test]
fn assessment_refusals_and_validity() {
    let p = project();
    let r = approved();
    let record = |req: &DataUseRequest, risks: &str, c: Conclusion, until: Option<NaiveDate>| {
        SecurityAssessment::record(
            (PROJECT, &p),
            (REQUEST, req),
            risks,
            "仅聚合输出，双人审核",
            c,
            2001,
            until,
            d(2026, 11, 12),
        )
    };
    let risks = "准标识符组合可能识别个人";
    assert_eq!(record(&submitted(), risks, Conclusion::Pass, None), Err(DataUseError::RequestNotInForce));
    let mut other = approved();
    other.scenario = 8;
    assert_eq!(record(&other, risks, Conclusion::Pass, None), Err(DataUseError::RequestMismatch));
    assert_eq!(record(&r, "有风险", Conclusion::Pass, None), Err(DataUseError::AssessmentText));
    assert_eq!(record(&r, risks, Conclusion::Conditional(" ".into()), None), Err(DataUseError::Conditions));
    assert_eq!(
        record(&r, risks, Conclusion::Pass, Some(d(2027, 7, 1))),
        Err(DataUseError::AssessmentValidity { latest: d(2027, 6, 30) })
    );
    let a = record(&r, risks, Conclusion::Conditional("仅限聚合输出".into()), None).unwrap();
    assert_eq!(a.valid_until, d(2027, 6, 30));
    assert!(a.holds(d(2027, 6, 30)) && !a.holds(d(2027, 7, 1)));
    let f = record(&r, risks, Conclusion::Fail, None).unwrap();
    assert!(!f.holds(d(2026, 12, 1)));
}

// ---- grants ---------------------------------------------------------------------------------------

#[test]
fn a_grant_expires_at_the_earliest_end() {
    let g = grant();
    // Request valid to 2027-06-30, agreement to 2027-03-31.
    assert_eq!(g.expires_on, d(2027, 3, 31));
    assert_eq!(g.k.get(), DEFAULT_K);
    // The request's prose scope is not copied into the grant: only a condition the operator writes
    // becomes a row filter.
    assert_eq!(g.row_scope, "");
    assert_eq!(g.combined.grade, Grade::L3);
    assert_eq!(g.resources(), vec![RES]);
    assert_eq!(g.class_of(RES, "月收入"), Some(UsageClass::Aggregate));
    let its = items();
    let pairs: Vec<(ResourceId, &DataItem)> = its.iter().map(|i| (RES, i)).collect();
    let mut i = input(vec![gf(RES, "月收入", UsageClass::Aggregate)]);
    i.until = Some(d(2027, 1, 31));
    let g = Grant::build(
        (PROJECT, &project()),
        &agreement(),
        (REQUEST, &approved()),
        (ASSESSMENT, &assessment(Conclusion::Pass)),
        &pairs,
        &policy(),
        i,
        d(2026, 11, 13),
    )
    .unwrap();
    assert_eq!(g.expires_on, d(2027, 1, 31));
}

#[test]
fn k_below_five_is_refused() {
    assert_eq!(KThreshold::new(4), Err(DataUseError::KTooLow(4)));
    assert_eq!(KThreshold::new(0).unwrap_err().code(), "data_use.k_too_low");
    assert_eq!(KThreshold::new(5).unwrap().get(), 5);
    assert_eq!(KThreshold::default().get(), 10);
}

#[test]
fn grant_refusals() {
    let pass = assessment(Conclusion::Pass);
    let cases: Vec<(Vec<GrantedField>, &str)> = vec![
        (vec![], "data_use.no_fields"),
        (vec![gf(RES, "企业数", UsageClass::Open)], "data_use.not_requested"),
        (vec![gf(RES, "月收入", UsageClass::Dimension)], "data_use.wider_than_requested"),
        (
            vec![gf(RES, "月收入", UsageClass::Aggregate), gf(RES, "月收入", UsageClass::Hidden)],
            "data_use.duplicate_field",
        ),
    ];
    for (fields, code) in cases {
        assert_eq!(build(fields, &pass).unwrap_err().code(), code);
    }
    // Narrower than requested is fine.
    build(vec![gf(RES, "区县", UsageClass::Aggregate)], &pass).unwrap();
    // A failed assessment.
    let fail = assessment(Conclusion::Fail);
    assert_eq!(
        build(vec![gf(RES, "月收入", UsageClass::Aggregate)], &fail),
        Err(DataUseError::AssessmentNotPassed)
    );
    // A conditional one is enough.
    build(
        vec![gf(RES, "月收入", UsageClass::Aggregate)],
        &assessment(Conclusion::Conditional("仅限聚合输出".into())),
    )
    .unwrap();
    // An assessment for another request.
    let mut wrong = assessment(Conclusion::Pass);
    wrong.request = 702;
    assert_eq!(
        build(vec![gf(RES, "月收入", UsageClass::Aggregate)], &wrong),
        Err(DataUseError::AssessmentMismatch)
    );
}

#[test]
fn grant_refusals_of_the_chain_links() {
    let its = items();
    let pairs: Vec<(ResourceId, &DataItem)> = its.iter().map(|i| (RES, i)).collect();
    let pass = assessment(Conclusion::Pass);
    let fields = || vec![gf(RES, "月收入", UsageClass::Aggregate)];
    let go = |p: &Project,
              a: &DevelopmentAgreement,
              r: &DataUseRequest,
              i: GrantInput,
              items: &[(ResourceId, &DataItem)]| {
        Grant::build((PROJECT, p), a, (REQUEST, r), (ASSESSMENT, &pass), items, &policy(), i, d(2026, 11, 13))
    };
    let mut closed = project();
    closed.close(d(2026, 11, 12)).unwrap();
    assert_eq!(
        go(&closed, &agreement(), &approved(), input(fields()), &pairs),
        Err(DataUseError::ProjectClosed)
    );
    let mut other = agreement();
    other.developer = 31;
    assert_eq!(
        go(&project(), &other, &approved(), input(fields()), &pairs),
        Err(DataUseError::AgreementMismatch)
    );
    assert_eq!(
        go(&project(), &agreement(), &submitted(), input(fields()), &pairs),
        Err(DataUseError::RequestNotInForce)
    );
    let mut bad_eps = input(fields());
    bad_eps.epsilon = Some(f64::NAN);
    assert_eq!(go(&project(), &agreement(), &approved(), bad_eps, &pairs), Err(DataUseError::Epsilon));
    let mut past = input(fields());
    past.until = Some(d(2026, 11, 12));
    assert_eq!(go(&project(), &agreement(), &approved(), past, &pairs), Err(DataUseError::ExpiryInPast));
    assert_eq!(
        go(&project(), &agreement(), &approved(), input(fields()), &[]),
        Err(DataUseError::FieldNotFound(FieldRef::new(RES, "月收入")))
    );
    // The policy tightened after the request: L3 no longer a dimension.
    let strict = GradePolicy::default();
    let r = Grant::build(
        (PROJECT, &project()),
        &agreement(),
        (REQUEST, &approved()),
        (ASSESSMENT, &pass),
        &pairs,
        &strict,
        input(vec![gf(RES, "区县", UsageClass::Dimension)]),
        d(2026, 11, 13),
    );
    assert_eq!(r.unwrap_err().code(), "data_use.class_not_allowed");
}

#[test]
fn two_quasi_identifiers_as_dimensions_count_as_a_direct_identifier() {
    let its = items();
    let by = |n: &str| its.iter().find(|i| i.name == n).unwrap();
    let birth = gf(RES, "出生日期", UsageClass::Dimension);
    let county = gf(RES, "区县", UsageClass::Dimension);
    let gender_agg = gf(RES, "性别", UsageClass::Aggregate);
    let income = gf(RES, "月收入", UsageClass::Aggregate);

    // One quasi-identifier as a dimension, another only aggregated: the max field grade.
    let c = combined_grade(&[(&birth, by("出生日期")), (&gender_agg, by("性别")), (&income, by("月收入"))]);
    assert_eq!(c.grade, Grade::L3);
    assert!(c.linked_quasi.is_empty());
    assert_eq!(c.reasons.len(), 1);

    // Two as dimensions: L4, reasons name them, and L4 does not allow a dimension.
    let pairs = [(&birth, by("出生日期")), (&county, by("区县")), (&income, by("月收入"))];
    let c = combined_grade(&pairs);
    assert_eq!(c.grade, Grade::L4);
    assert_eq!(c.linked_quasi, vec![FieldRef::new(RES, "出生日期"), FieldRef::new(RES, "区县")]);
    assert!(c.reasons[1].contains("出生日期") && c.reasons[1].contains("区县"));
    let err = check_combination(&pairs, &policy()).unwrap_err();
    assert_eq!(
        err,
        DataUseError::AggregationRisk {
            fields: vec![FieldRef::new(RES, "出生日期"), FieldRef::new(RES, "区县")],
            grade: Grade::L4
        }
    );
    assert!(err.message_zh().contains("关联汇聚"));
    // The same through Grant::build.
    assert_eq!(build(vec![birth.clone(), county.clone()], &assessment(Conclusion::Pass)), Err(err));

    // A configuration letting L4 be a dimension accepts the combination, at L4.
    let lenient = GradePolicy::parse("l2 = aggregate\nl3 = dimension\nl4 = dimension").unwrap();
    assert_eq!(check_combination(&pairs, &lenient).unwrap().grade, Grade::L4);
    // The empty combination.
    assert_eq!(combined_grade(&[]).grade, Grade::L1);
}

#[test]
fn disclosure_orders_the_classes() {
    let ranks: Vec<u8> = UsageClass::ALL.iter().map(|c| disclosure(*c)).collect();
    assert_eq!(ranks, vec![0, 1, 2, 3, 4]);
}

// ---- the access chain -----------------------------------------------------------------------------

struct World {
    project: Project,
    grant: Grant,
    request: DataUseRequest,
    assessment: SecurityAssessment,
    resources: Vec<(ResourceId, UseFacts)>,
    agreement: AccessDecision,
}

fn world() -> World {
    World {
        project: project(),
        grant: grant(),
        request: approved(),
        assessment: assessment(Conclusion::Pass),
        resources: vec![(RES, usable())],
        agreement: AccessDecision::Allowed,
    }
}

fn check(w: &World, day: NaiveDate) -> Result<(), ChainDenied> {
    let chain = AccessChain {
        agreement: w.agreement,
        project: (PROJECT, &w.project),
        grant: &w.grant,
        request: (REQUEST, &w.request),
        assessment: (ASSESSMENT, &w.assessment),
        resources: &w.resources,
    };
    check_chain(&chain, day)
}

#[test]
fn the_chain_allows_a_complete_chain_until_the_grant_expires() {
    let w = world();
    assert_eq!(check(&w, d(2026, 11, 13)), Ok(()));
    assert_eq!(check(&w, d(2027, 3, 31)), Ok(()));
    assert_eq!(check(&w, d(2027, 4, 1)), Err(ChainDenied::GrantExpired));
    assert_eq!(check(&w, d(2026, 11, 12)), Err(ChainDenied::GrantNotStarted));
}

/// Breaks one link of a complete chain.
type Breaker = fn(&mut World);

#[test]
fn every_broken_link_denies() {
    let day = d(2026, 12, 1);
    let cases: Vec<(Breaker, &str)> = vec![
        (|w| w.agreement = AccessDecision::Denied(DenyReason::Suspended), "sandbox.agreement_denied"),
        (|w| w.agreement = AccessDecision::Denied(DenyReason::Terminated), "sandbox.agreement_denied"),
        (|w| w.project.status = ProjectStatus::Closed, "sandbox.project_closed"),
        (|w| w.grant.request = 702, "sandbox.chain_mismatch"),
        (|w| w.assessment.project = 602, "sandbox.chain_mismatch"),
        (|w| w.grant.revoke(2001, "发现违规使用", d(2026, 11, 20)).unwrap(), "sandbox.grant_revoked"),
        (|w| w.request.status = RequestStatus::Expired, "sandbox.request_not_in_force"),
        (|w| w.request.valid_until = d(2026, 11, 30), "sandbox.request_not_in_force"),
        (|w| w.assessment.conclusion = Conclusion::Fail, "sandbox.assessment_failed"),
        (|w| w.assessment.valid_until = d(2026, 11, 30), "sandbox.assessment_expired"),
        (|w| w.resources.clear(), "sandbox.resource_unknown"),
        (|w| w.resources[0].1.on_negative_list = true, "sandbox.resource_unusable"),
        (|w| w.resources[0].1.cancelled = true, "sandbox.resource_unusable"),
    ];
    for (breaker, code) in cases {
        let mut w = world();
        breaker(&mut w);
        let err = check(&w, day).unwrap_err();
        assert_eq!(err.code(), code, "{err:?}");
        assert!(!err.message_zh().is_empty());
    }
}

#[test]
fn a_sanction_beats_every_other_reason() {
    let mut w = world();
    w.agreement = AccessDecision::Denied(DenyReason::Cancelled);
    w.resources[0].1.on_negative_list = true;
    w.project.status = ProjectStatus::Closed;
    let err = check(&w, d(2026, 12, 1)).unwrap_err();
    assert_eq!(err, ChainDenied::Agreement(DenyReason::Cancelled));
    assert!(err.message_zh().contains("取消"));
}

#[test]
fn revocation_needs_a_reason_and_happens_once() {
    let mut g = grant();
    assert_eq!(g.revoke(2001, "违规", d(2026, 12, 1)), Err(DataUseError::Reason));
    g.revoke(2001, "发现违规使用", d(2026, 12, 1)).unwrap();
    assert_eq!(g.revoke(2001, "发现违规使用", d(2026, 12, 1)), Err(DataUseError::AlreadyRevoked));
}

// ---- the airlock ----------------------------------------------------------------------------------

fn output(grade: Grade, outcome: CheckOutcome) -> OutputReview {
    OutputReview::new(PROJECT, OPERATOR, DEV_USER, grade, OutputCheck { outcome, reasons: vec![] })
}

#[test]
fn reviewer_refusals() {
    let day = d(2026, 12, 1);
    let mut o = output(Grade::L2, CheckOutcome::Pass);
    assert_eq!(o.approve(DEV_USER, OPERATOR, "", day), Err(ReviewError::OwnOutput));
    assert_eq!(o.reject(DEV_USER, OPERATOR, "不予放行理由", day), Err(ReviewError::OwnOutput));
    assert_eq!(o.approve(REVIEWER_A, DEVELOPER, "", day), Err(ReviewError::NotOperatorStaff));
    assert_eq!(o.reject(REVIEWER_A, OPERATOR, "不行", day), Err(ReviewError::Reason));
    let mut f = output(Grade::L2, CheckOutcome::Fail);
    assert_eq!(f.approve(REVIEWER_A, OPERATOR, "看过了，可以", day), Err(ReviewError::CheckFailed));
    assert_eq!(f.reject(REVIEWER_A, OPERATOR, "小单元格未通过", day).unwrap(), ReviewStatus::Rejected);
    let mut r = output(Grade::L2, CheckOutcome::Review);
    assert_eq!(r.approve(REVIEWER_A, OPERATOR, " ", day), Err(ReviewError::NoteRequired));
    assert_eq!(
        r.approve(REVIEWER_A, OPERATOR, "零值为结构性零，可放行", day).unwrap(),
        ReviewStatus::Released
    );
    for e in [ReviewError::OwnOutput, ReviewError::Decided(ReviewStatus::Released)] {
        assert!(e.code().starts_with("sandbox.review_"));
        assert!(!e.message_zh().is_empty());
    }
}

#[test]
fn below_l3_one_approval_releases() {
    let mut o = output(Grade::L2, CheckOutcome::Pass);
    assert_eq!(o.required_approvals(), 1);
    assert_eq!(o.approve(REVIEWER_A, OPERATOR, "", d(2026, 12, 1)).unwrap(), ReviewStatus::Released);
    assert!(o.is_released());
    assert_eq!(o.released_on, Some(d(2026, 12, 1)));
}

#[test]
fn l3_needs_two_different_reviewers() {
    for grade in [Grade::L3, Grade::L4, Grade::Important] {
        let mut o = output(grade, CheckOutcome::Pass);
        assert_eq!(o.required_approvals(), 2);
        assert_eq!(o.approve(REVIEWER_A, OPERATOR, "", d(2026, 12, 1)).unwrap(), ReviewStatus::Pending);
        assert_eq!(o.approve(REVIEWER_A, OPERATOR, "", d(2026, 12, 1)), Err(ReviewError::SameReviewer));
        assert_eq!(o.approve(REVIEWER_B, OPERATOR, "", d(2026, 12, 2)).unwrap(), ReviewStatus::Released);
    }
}

#[test]
fn one_rejection_rejects_and_released_is_final() {
    let mut o = output(Grade::L3, CheckOutcome::Pass);
    o.approve(REVIEWER_A, OPERATOR, "", d(2026, 12, 1)).unwrap();
    assert_eq!(
        o.reject(REVIEWER_B, OPERATOR, "可能暴露个体收入", d(2026, 12, 1)).unwrap(),
        ReviewStatus::Rejected
    );
    assert_eq!(
        o.approve(REVIEWER_B, OPERATOR, "", d(2026, 12, 2)),
        Err(ReviewError::Decided(ReviewStatus::Rejected))
    );
    let mut released = output(Grade::L1, CheckOutcome::Pass);
    released.approve(REVIEWER_A, OPERATOR, "", d(2026, 12, 1)).unwrap();
    let before = released.clone();
    assert_eq!(
        released.reject(REVIEWER_B, OPERATOR, "改变主意了吧", d(2026, 12, 2)),
        Err(ReviewError::Decided(ReviewStatus::Released))
    );
    assert_eq!(released, before);
}

// ---- the ε budget ---------------------------------------------------------------------------------

fn eps(text: &str) -> Epsilon {
    Epsilon::parse(text).unwrap()
}

#[test]
fn budget_exact_fit_and_over_budget() {
    let b = DpBudget::new(eps("1")).unwrap();
    let b = b.charge(eps("0.7")).unwrap().charge(eps("0.3")).unwrap();
    assert_eq!(b.remaining(), Epsilon::ZERO);
    let err = b.charge(eps("0.01")).unwrap_err();
    assert_eq!(err.code(), "sandbox.dp_budget_exceeded");
    assert!(err.message_zh().contains("未执行"));
    assert!(err.message_zh().contains("0.01"));
    // Decimal costs add up exactly: ten charges of 0.1 fit 1 and nothing more does.
    let mut b = DpBudget::new(eps("1")).unwrap();
    for _ in 0..10 {
        b = b.charge(eps("0.1")).unwrap();
    }
    assert_eq!(b.spent, eps("1"));
    assert!(b.charge(eps("0.000001")).is_err());
    // Over budget is refused before spending: the budget is unchanged.
    let b = DpBudget::new(eps("1")).unwrap().charge(eps("0.5")).unwrap();
    assert_eq!(b.charge(eps("0.6")), Err(DpError::Exceeded { cost: eps("0.6"), remaining: eps("0.5") }));
    assert_eq!(b.remaining(), eps("0.5"));
    assert!(b.allows(eps("0.5")) && !b.allows(eps("0.5000001")));
    // Thirds do not fit a decimal but are exact.
    let b = DpBudget::new(eps("1")).unwrap();
    let b = b.charge(eps("1/3")).unwrap().charge(eps("1/3")).unwrap().charge(eps("1/3")).unwrap();
    assert_eq!(b.remaining(), Epsilon::ZERO);
    // Loading a stored budget.
    assert_eq!(DpBudget::with_spent(eps("2"), eps("0.5")).unwrap().remaining(), eps("1.5"));
    assert!(DpBudget::with_spent(eps("1"), eps("2")).is_err());
}

#[test]
fn budget_amounts_must_be_positive() {
    assert_eq!(DpBudget::new(Epsilon::ZERO), Err(DpError::InvalidAmount));
    assert_eq!(DpBudget::new(eps("1")).unwrap().charge(Epsilon::ZERO), Err(DpError::InvalidAmount));
    assert_eq!(DpError::InvalidAmount.code(), "sandbox.dp_invalid_amount");
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e-12] {
        assert!(Epsilon::from_decimal(bad).is_err(), "{bad}");
    }
}

#[test]
fn epsilon_is_exact_and_displays_what_it_parses() {
    assert_eq!(eps("0.1"), Epsilon::new(1, 10).unwrap());
    assert_eq!(eps(" 2/6 "), Epsilon::new(1, 3).unwrap());
    assert_eq!(eps(".5"), Epsilon::new(1, 2).unwrap());
    for bad in ["", ".", "-1", "abc", "1/0", "0.1234567891", "1e-3"] {
        assert!(Epsilon::parse(bad).is_err(), "{bad}");
    }
    for text in ["0.1", "1", "2.5", "0.125", "1/3", "0.000000001", "7/6"] {
        let e = eps(text);
        assert_eq!(e.to_string(), text);
        assert_eq!(eps(&e.to_string()), e);
    }
    // The grant's stored decimal converts exactly.
    assert_eq!(Epsilon::from_decimal(0.1).unwrap(), eps("0.1"));
    assert_eq!(Epsilon::from_decimal(1.0).unwrap(), eps("1"));
    assert_eq!(eps("1").checked_div(4).unwrap(), eps("0.25"));
    assert!(eps("1").checked_div(0).is_err());
    assert!(Epsilon::new(u64::MAX, 1).unwrap().checked_mul(2).is_err());
    assert!(eps("1/3") < eps("0.34"));
}
