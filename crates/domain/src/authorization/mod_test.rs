//! Unit tests of the shared authorization types.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::fixtures::d;
use super::*;

#[test]
fn criteria_are_checked() {
    let ind = |name: &str, weight| Indicator { name: name.to_owned(), weight };
    assert!(EvaluationCriteria::new(vec![ind("甲", 50), ind("乙", 50)]).is_ok());
    let cases = [
        (vec![], CriteriaError::Empty),
        (vec![ind(" ", 100)], CriteriaError::UnnamedIndicator),
        (vec![ind("甲", 0), ind("乙", 100)], CriteriaError::ZeroWeight { name: "甲".to_owned() }),
        (vec![ind("甲", 50), ind("甲", 50)], CriteriaError::DuplicateIndicator { name: "甲".to_owned() }),
        (vec![ind("甲", 50), ind("乙", 51)], CriteriaError::WeightsNot100 { sum: 101 }),
    ];
    for (indicators, expected) in cases {
        assert_eq!(EvaluationCriteria::new(indicators), Err(expected));
    }
}

#[test]
fn term_limit_is_start_plus_years_exactly() {
    let start = d(2026, 1, 1);
    let exact = Term::new(start, d(2031, 1, 1)).unwrap();
    assert_eq!(exact.check_limit(5, None), Ok(()), "5 years exactly is fine");
    let over = Term::new(start, d(2031, 1, 2)).unwrap();
    assert_eq!(over.check_limit(5, None), Err(TermError::TooLong { max_years: 5, max_end: d(2031, 1, 1) }));
    let approval = LongTermApproval {
        justification: "基础设施投资回收期长".to_owned(),
        approved_by: "省数据局".to_owned(),
        approved_on: d(2025, 12, 1),
        doc_number: DocNumber::parse("云数局〔2025〕3号").ok(),
    };
    assert_eq!(over.check_limit(5, Some(&approval)), Ok(()));
    let unjustified = LongTermApproval { justification: String::new(), ..approval };
    assert!(over.check_limit(5, Some(&unjustified)).is_err());
    assert_eq!(Term::new(start, start), Err(TermError::EndNotAfterStart));
    // Feb 29 + 3 years ends on Feb 28.
    assert_eq!(Term::max_end(d(2028, 2, 29), 3), d(2031, 2, 28));
}

#[test]
fn product_lists_need_both_classes() {
    let mut items = fixtures::products();
    assert!(product_list_complete(&items));
    items[1].form = ProductForm::Other;
    assert!(!product_list_complete(&items), "an other form must be described");
    items[1].form_note = "数据沙箱服务".to_owned();
    assert!(product_list_complete(&items));
    items.remove(0);
    assert!(!product_list_complete(&items));
}

#[test]
fn codes_round_trip() {
    for m in AuthorizationMode::ALL {
        assert_eq!(AuthorizationMode::parse(m.code()), Some(*m));
    }
    for f in ProductForm::ALL {
        assert_eq!(ProductForm::parse(f.code()), Some(*f));
    }
    assert_eq!(ProductForm::DesensitizedDataset.label_zh(), "脱敏数据集");
    assert_eq!(Settings::default().material_max_bytes, 20 * 1024 * 1024);
}
