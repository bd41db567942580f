#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn item(name: &str, grade: &str, pi: PiFlags) -> DataItemInput {
    DataItemInput { name: name.into(), kind: "text".into(), grade: grade.into(), pi, ..Default::default() }
}

const DIRECT: PiFlags = PiFlags { direct: true, quasi: false, sensitive: false };
const QUASI: PiFlags = PiFlags { direct: false, quasi: true, sensitive: false };

#[test]
fn classification_parses_with_and_without_separators() {
    let c = Classification::parse("3-01-001-002").unwrap();
    assert_eq!(c.code(), "301001002");
    assert_eq!(c.display(), "3-01-001-002");
    assert_eq!(c.class_label_zh(), "部门信息资源");
    assert_eq!(Classification::parse("301001002").unwrap(), c);
    for bad in ["", "30100100", "401001002", "300001002", "301000002", "30100100A", "3010010021"] {
        assert_eq!(Classification::parse(bad), Err(CatalogError::Classification), "{bad}");
    }
}

#[test]
fn resource_code_round_trips_and_rejects_garbage() {
    let c = Classification::parse("301001002").unwrap();
    let code = ResourceCode::new(&c, "01525306X", 3).unwrap();
    assert_eq!(code.as_str(), "301001002/01525306X-0003");
    assert_eq!(ResourceCode::parse(code.as_str()).unwrap(), code);
    for bad in ["301001002/01525306X-3", "301001002-01525306X-0003", "301001002/0152-0003", "x/y-z"] {
        assert!(ResourceCode::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn personal_fields_cannot_be_graded_below_their_minimum() {
    // (flags, grade, accepted?)
    let cases = [
        (DIRECT, "l3", false),
        (DIRECT, "l4", true),
        (DIRECT, "important", true),
        (QUASI, "l2", false),
        (QUASI, "l3", true),
        (PiFlags { sensitive: true, ..PiFlags::default() }, "l3", false),
        (PiFlags::default(), "l1", true),
    ];
    for (pi, grade, ok) in cases {
        let r = DataItem::parse(1, &item("字段", grade, pi));
        assert_eq!(r.is_ok(), ok, "{pi:?} {grade}");
        if let Err(e) = r {
            assert_eq!(e.error.code(), "catalog.grade_too_low");
            assert!(e.error.message_zh().contains("就高从严"));
        }
    }
}

#[test]
fn items_need_unique_valid_names_and_a_grade() {
    let ok = [item("身份证号", "l4", DIRECT), item("缴费金额", "l3", PiFlags::default())];
    let items = DataItem::parse_all(&ok).unwrap();
    assert_eq!(resource_grade(&items), Some(Grade::L4));
    let dup = [item("金额", "l2", PiFlags::default()), item("金额", "l2", PiFlags::default())];
    assert_eq!(DataItem::parse_all(&dup).unwrap_err().error, CatalogError::DuplicateItem("金额".into()));
    assert_eq!(DataItem::parse_all(&[]).unwrap_err().error, CatalogError::NoItems);
    let bad_name = [item("a,b", "l1", PiFlags::default())];
    assert_eq!(DataItem::parse_all(&bad_name).unwrap_err().field, "name");
    let no_grade = [item("x", "", PiFlags::default())];
    assert_eq!(DataItem::parse_all(&no_grade).unwrap_err().error, CatalogError::Grade(1));
}

#[test]
fn scenario_rules_only_on_personal_fields() {
    let mut personal = item("手机号", "l4", DIRECT);
    personal.scenario_rules = "精准营销:excluded；普惠金融:restricted".into();
    let it = DataItem::parse(1, &personal).unwrap();
    assert_eq!(it.scenario_rules.len(), 2);
    assert_eq!(it.scenario_rules[1].kind, ScenarioRuleKind::Restricted);
    assert_eq!(it.scenario_rules_text(), "精准营销:excluded; 普惠金融:restricted");
    let mut plain = item("行业", "l1", PiFlags::default());
    plain.scenario_rules = "精准营销".into();
    assert_eq!(
        DataItem::parse(1, &plain).unwrap_err().error,
        CatalogError::ScenarioRuleNotPersonal("行业".into())
    );
}

#[test]
fn resource_grade_is_the_highest_field_grade() {
    let items = DataItem::parse_all(&[
        item("行业", "l1", PiFlags::default()),
        item("注册资本", "l2", PiFlags::default()),
        item("涉密字段", "core", PiFlags::default()),
    ])
    .unwrap();
    assert_eq!(resource_grade(&items), Some(Grade::Core));
}

fn meta_input() -> ResourceInput {
    ResourceInput {
        classification: "301001002".into(),
        name: "企业登记信息".into(),
        abstract_text: "全省市场主体登记基本信息，含统一社会信用代码、名称、行业、注册资本".into(),
        format: "table".into(),
        sharing_type: "conditional".into(),
        sharing_conditions: "用于授权运营场景，经审核后使用".into(),
        open_attribute: "not_open".into(),
        update_cycle: "daily".into(),
        release_date: "2026-01-15".into(),
        related: String::new(),
    }
}

#[test]
fn resource_meta_requires_conditions_for_conditional_sharing() {
    let m = ResourceMeta::parse(&meta_input()).unwrap();
    assert_eq!(m.sharing_type, SharingType::Conditional);
    assert_eq!(m.update_cycle.max_age_days(), Some(1));
    let mut no_cond = meta_input();
    no_cond.sharing_conditions = String::new();
    assert_eq!(ResourceMeta::parse(&no_cond).unwrap_err().field, "sharing_conditions");
    let mut unconditional = no_cond.clone();
    unconditional.sharing_type = "unconditional".into();
    assert!(ResourceMeta::parse(&unconditional).is_ok());
    let mut short = meta_input();
    short.abstract_text = "太短".into();
    assert_eq!(ResourceMeta::parse(&short).unwrap_err().field, "abstract_text");
    let mut bad_date = meta_input();
    bad_date.release_date = "2026/01/15".into();
    assert_eq!(ResourceMeta::parse(&bad_date).unwrap_err().error, CatalogError::Date);
    let mut related = meta_input();
    related.related = "301001002/01525306X-0001， 301001003/01525306X-0002".into();
    assert_eq!(ResourceMeta::parse(&related).unwrap().related.len(), 2);
}

#[test]
fn registration_types_match_the_resource_state() {
    // (type, already coded, accepted?)
    let cases = [
        (RegistrationType::Initial, false, true),
        (RegistrationType::Initial, true, false),
        (RegistrationType::Supplementary, false, true),
        (RegistrationType::Change, false, false),
        (RegistrationType::Change, true, true),
        (RegistrationType::Correction, true, true),
        (RegistrationType::Cancellation, true, true),
        (RegistrationType::Cancellation, false, false),
    ];
    for (t, coded, ok) in cases {
        assert_eq!(Registration::apply(t, coded, false).is_ok(), ok, "{t:?} coded={coded}");
    }
    assert_eq!(
        Registration::apply(RegistrationType::Initial, false, true),
        Err(RegistrationError::OpenApplication)
    );
}

#[test]
fn registration_notice_spans_national_day_and_code_waits_for_its_end() {
    let cal = WorkCalendar::official().unwrap();
    let mut r = Registration::apply(RegistrationType::Initial, false, false).unwrap();
    assert!(r.assign_code(d("2026-09-29")).is_err());
    r.accept().unwrap();
    // Starts Tue 2026-09-29: 09-30 is day 1, 10-01..10-07 off, 10-08 (2), 10-09 (3), Sat 10-10 is a
    // 调休 working day (4), 10-12 (5).
    let last = r.start_notice(d("2026-09-29"), 5, &cal).unwrap();
    assert_eq!(last, d("2026-10-12"));
    assert_eq!(r.notice, Some((d("2026-09-29"), d("2026-10-12"))));
    // On the public site from its first to its last day, not before or after.
    assert!(!r.notice_running(d("2026-09-28")));
    assert!(r.notice_running(d("2026-09-29")) && r.notice_running(d("2026-10-12")));
    assert!(!r.notice_running(d("2026-10-13")));
    let e = r.assign_code(d("2026-10-12")).unwrap_err();
    assert_eq!(e, RegistrationError::NoticeNotEnded { last_day: d("2026-10-12") });
    assert!(e.message_zh().contains("2026-10-12"));
    r.assign_code(d("2026-10-13")).unwrap();
    assert_eq!(r.status, RegistrationStatus::Coded);
    assert!(!r.is_open());
}

#[test]
fn registration_illegal_moves_are_refused() {
    let cal = WorkCalendar::official().unwrap();
    let mut r = Registration::apply(RegistrationType::Initial, false, false).unwrap();
    assert!(matches!(r.start_notice(d("2026-11-02"), 5, &cal), Err(RegistrationError::IllegalMove { .. })));
    assert_eq!(r.reject("短"), Err(RegistrationError::Reason));
    r.accept().unwrap();
    assert!(r.accept().is_err());
    r.return_for_correction("数据项说明不完整").unwrap();
    assert_eq!(r.status, RegistrationStatus::Returned);
    assert!(r.reject("材料不齐全需重报").is_err());
    r.resubmit().unwrap();
    r.withdraw().unwrap();
    assert!(r.resubmit().is_err());
    assert!(!r.is_open());
    // A notice into 2027, whose schedule is not published, is refused rather than guessed.
    let mut late = Registration::apply(RegistrationType::Initial, false, false).unwrap();
    late.accept().unwrap();
    let e = late.start_notice(d("2026-12-28"), 5, &cal).unwrap_err();
    assert_eq!(e.code(), "calendar.not_published");
    assert_eq!(late.status, RegistrationStatus::Accepted);
}

#[test]
fn code_format_is_configurable() {
    let f = CodeFormat::default();
    assert_eq!(f.render("530000", 2026, RegistrationType::Initial, 12), "YNGS-530000-2026-000012");
    let g = CodeFormat::parse("{year}{type}{seq:8}").unwrap();
    assert_eq!(g.render("530100", 2026, RegistrationType::Supplementary, 7), "2026B00000007");
    for bad in ["YN-{year}", "{seq:2}", "{seq:x}"] {
        assert_eq!(CodeFormat::parse(bad), Err(CatalogError::CodeTemplate), "{bad}");
    }
    let q = query_code(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255]);
    assert_eq!(q.len(), 12);
    assert!(!q.contains('0') && !q.contains('O') && !q.contains('I') && !q.contains('1'));
}

#[test]
fn negative_list_needs_reasons_and_review_and_is_reviewed_yearly() {
    let review = GovernmentReview::parse("同意列入负面清单", "2026-03-10", "云政审〔2026〕8号").unwrap();
    assert!(GovernmentReview::parse("同意", "2026/03/10", "x号").is_err());
    assert!(NegativeListEntry::new("涉及国家安全", review.clone(), d("2026-03-12")).is_err());
    let e = NegativeListEntry::new("涉及国家安全和重要基础设施运行数据", review, d("2026-03-12")).unwrap();
    assert_eq!(e.next_review.due, d("2027-03-12"));
    // 2024-02-29 + 1 year ends on the corresponding date, 2025-02-28.
    assert_eq!(yearly_review(d("2024-02-29")).due, d("2025-02-28"));
}

#[test]
fn usability_negative_list_overrides_everything() {
    let ok = UseFacts { grade: Some(Grade::L3), coded: true, cancelled: false, on_negative_list: false };
    assert_eq!(usability(&ok), Ok(()));
    let cases = [
        (UseFacts { on_negative_list: true, ..ok }, UseRefusal::NegativeList),
        (
            UseFacts { on_negative_list: true, grade: Some(Grade::Core), coded: false, ..ok },
            UseRefusal::NegativeList,
        ),
        (UseFacts { grade: Some(Grade::Core), ..ok }, UseRefusal::CoreData),
        (UseFacts { cancelled: true, ..ok }, UseRefusal::Cancelled),
        (UseFacts { coded: false, ..ok }, UseRefusal::NotRegistered),
        (UseFacts { grade: None, ..ok }, UseRefusal::NoItems),
    ];
    for (facts, refusal) in cases {
        assert_eq!(usability(&facts), Err(refusal), "{facts:?}");
    }
}

#[test]
fn grade_policy_is_configuration_but_core_is_never_usable() {
    let p = GradePolicy::default();
    assert!(p.allowed(Grade::L1).contains(&UsageClass::Open));
    assert!(!p.allowed(Grade::L3).contains(&UsageClass::Dimension));
    assert_eq!(
        p.allowed(Grade::L4).into_iter().collect::<Vec<_>>(),
        vec![UsageClass::Hidden, UsageClass::JoinKey]
    );
    assert!(p.allowed(Grade::Core).is_empty());
    let custom = GradePolicy::parse("l3 = hidden, aggregate, dimension # 本地口径\ncore = open").unwrap();
    assert!(custom.allowed(Grade::L3).contains(&UsageClass::Dimension));
    assert!(custom.allowed(Grade::Core).is_empty(), "core stays unusable whatever is configured");
    assert!(custom.allowed(Grade::L1).is_empty(), "unlisted grades allow nothing");
    assert_eq!(GradePolicy::parse("l3 hidden"), Err(CatalogError::GradePolicy(1)));
    assert_eq!(GradePolicy::parse("l9 = open"), Err(CatalogError::GradePolicy(1)));
    assert_eq!(GradePolicy::parse(&p.to_text()).unwrap(), p);
}
