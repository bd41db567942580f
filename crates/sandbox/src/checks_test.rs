//! Unit tests of `checks`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use arrow::array::{BooleanArray, Float64Array, Int64Array, ListArray, StringArray};
use arrow::datatypes::Int32Type;

use super::*;

fn stats(units: u64, total: f64, top1: f64, top2: f64) -> CellStats {
    CellStats { units, total, top1, top2, is_zero: false }
}

fn rules(kind: ColumnKind, s: CellStats) -> Vec<CellRule> {
    check_cell(&CheckConfig::default(), kind, &s)
}

#[test]
fn threshold_boundary() {
    assert_eq!(rules(ColumnKind::Frequency, stats(9, 9.0, 1.0, 1.0)), vec![CellRule::Threshold]);
    assert!(rules(ColumnKind::Frequency, stats(10, 10.0, 1.0, 1.0)).is_empty());
    assert_eq!(CellRule::Threshold.outcome(), Outcome::Fail);
}

#[test]
fn dominance_boundary_is_ninety_percent_of_two() {
    // (60 + 30) / 100 = 0.90 exactly passes; p% is satisfied ((100 − 90)/60 ≥ 0.1).
    assert!(rules(ColumnKind::Magnitude, stats(20, 100.0, 60.0, 30.0)).is_empty());
    assert_eq!(rules(ColumnKind::Magnitude, stats(20, 100.0, 60.0, 31.0)), vec![CellRule::Dominance]);
    // Negative measures use absolute values.
    assert_eq!(rules(ColumnKind::Magnitude, stats(20, -100.0, -60.0, -31.0)), vec![CellRule::Dominance]);
    // Frequencies have no dominance rule.
    assert!(rules(ColumnKind::Frequency, stats(20, 100.0, 60.0, 31.0)).is_empty());
    // Contributions that cancel out to a zero total are dominated.
    assert!(rules(ColumnKind::Magnitude, stats(20, 0.0, 50.0, 50.0)).contains(&CellRule::Dominance));
    // NaN statistics cannot be checked, so they fail.
    assert!(rules(ColumnKind::Magnitude, stats(20, f64::NAN, 1.0, 1.0)).contains(&CellRule::Dominance));
}

#[test]
fn p_ratio_boundary_is_ten_percent() {
    // With the default k the dominance rule implies p% (remainder ≥ 0.1·total ≥ 0.1·top1), so
    // isolate the p% rule by relaxing k.
    let config = CheckConfig { dominance_k: 1.0, ..CheckConfig::default() };
    let check = |s| check_cell(&config, ColumnKind::Magnitude, &s);
    // (100 − 80 − 12) / 80 = 0.10 exactly passes.
    assert!(check(stats(20, 100.0, 80.0, 12.0)).is_empty());
    assert_eq!(check(stats(20, 100.0, 80.0, 13.0)), vec![CellRule::PRatio]);
}

#[test]
fn zero_cells_go_to_review() {
    let zero = CellStats { units: 12, total: 0.0, top1: 0.0, top2: 0.0, is_zero: true };
    assert_eq!(rules(ColumnKind::Magnitude, zero), vec![CellRule::Zero]);
    let report = check_output(
        &CheckConfig::default(),
        &CheckInput {
            columns: &[ColumnMeta::new("人数", ColumnKind::Frequency)],
            cells: &[vec![Some(zero)], vec![Some(stats(15, 15.0, 1.0, 1.0))]],
            values: &[],
            residual_df: None,
        },
        &HashSet::new(),
    );
    assert_eq!(report.outcome, Outcome::Review);
    assert_eq!(report.reasons.len(), 1);
    assert_eq!(report.reasons[0].code, "cell.zero");
    assert_eq!(report.reasons[0].rows, 1);
    assert_eq!(report.outcome.label_zh(), "需人工审核");
}

#[test]
fn residual_df_boundary() {
    let config = CheckConfig::default();
    assert_eq!(check_residual_df(&config, 9).unwrap().outcome, Outcome::Fail);
    assert!(check_residual_df(&config, 10).is_none());
}

#[test]
fn missing_stats_on_an_aggregate_fail() {
    let columns =
        [ColumnMeta::new("区县", ColumnKind::Dimension), ColumnMeta::new("金额", ColumnKind::Magnitude)];
    let reasons = check_cells(&CheckConfig::default(), &columns, &[vec![None], vec![None, None]]);
    assert_eq!(reasons.len(), 1);
    assert_eq!(reasons[0].code, "cell.stats_missing");
    assert_eq!(reasons[0].rows, 2);
    assert_eq!(reasons[0].column.as_deref(), Some("金额"));
}

#[test]
fn rounding_to_base() {
    assert_eq!(round_to_base(12.0, 5), 10.0);
    assert_eq!(round_to_base(12.5, 5), 15.0);
    assert_eq!(round_to_base(-12.5, 5), -15.0);
    assert_eq!(round_to_base(7.3, 0), 7.3);
    assert_eq!(round_count_to_base(12, 5), 10);
    assert_eq!(round_count_to_base(13, 5), 15);
    assert_eq!(round_count_to_base(-13, 5), -15);
    assert_eq!(round_count_to_base(10, 5), 10);
    assert_eq!(round_count_to_base(i64::MAX, 5), i64::MAX - 2);
    assert_eq!(round_count_to_base(i64::MIN, 5), -i64::MAX);
}

fn valid_id() -> String {
    ResidentId::complete("53010219900307123").unwrap().as_str().to_owned()
}

fn valid_uscc() -> String {
    Uscc::complete("91530100MA6K1234").unwrap().as_str().to_owned()
}

fn kinds(value: &str) -> Vec<IdentifierKind> {
    let names: HashSet<String> = ["张三丰".to_owned(), "李四".to_owned(), "王".to_owned()].into();
    IdentifierScanner::new(&names).scan(value).into_iter().collect()
}

#[test]
fn scan_finds_identifiers_inside_longer_strings() {
    let id = valid_id();
    assert_eq!(kinds(&id), vec![IdentifierKind::ResidentId]);
    assert_eq!(kinds(&format!("身份证：{id}。")), vec![IdentifierKind::ResidentId]);
    assert_eq!(kinds(&format!("abc{}", id.to_lowercase())), vec![IdentifierKind::ResidentId]);
    assert_eq!(kinds(&format!("单位{}有限公司", valid_uscc())), vec![IdentifierKind::LegalUscc]);
    // An individual business (type code 92) names a natural person.
    let individual = Uscc::complete("92530100MA6K1234").unwrap().as_str().to_owned();
    assert_eq!(kinds(&format!("个体户{individual}")), vec![IdentifierKind::Uscc]);
    assert_eq!(kinds("电话13812345678请勿外传"), vec![IdentifierKind::Mobile]);
    assert_eq!(kinds("138 1234 5678"), vec![IdentifierKind::Mobile]);
    assert_eq!(kinds("+86-138-1234-5678"), vec![IdentifierKind::Mobile]);
    assert_eq!(kinds("１３８１２３４５６７８"), vec![IdentifierKind::Mobile]);
    assert_eq!(kinds("联系人李四"), vec![IdentifierKind::Name]);
}

#[test]
fn scan_does_not_flag_ordinary_values() {
    for value in [
        "",
        "12345678901234567890",
        "12812345678",
        "1381234567",
        "金额 1234",
        "2024-01-05",
        "王府井",
        "李",
        &valid_id()[..17],
    ] {
        assert!(kinds(value).is_empty(), "{value}");
    }
}

#[test]
fn column_scan_reports_counts_never_values() {
    let id = valid_id();
    let names: HashSet<String> = ["张三丰".to_owned()].into();
    let scanner = IdentifierScanner::new(&names);
    let strings: ArrayRef = Arc::new(StringArray::from(vec![
        Some(id.as_str()),
        None,
        Some("张三丰"),
        Some(id.as_str()),
        Some("普通"),
    ]));
    let reasons = scanner.scan_column("备注", &strings);
    assert_eq!(reasons.len(), 2);
    assert_eq!((reasons[0].code, reasons[0].rows), ("identifier.resident_id", 2));
    assert_eq!((reasons[1].code, reasons[1].rows), ("identifier.name", 1));
    for r in &reasons {
        assert_eq!(r.outcome, Outcome::Fail);
        assert_eq!(r.column.as_deref(), Some("备注"));
        assert!(!r.message_zh.contains(&id) && !r.message_zh.contains("张三丰"), "{}", r.message_zh);
    }
    // Numbers can carry a mobile or an ID number too.
    let ints: ArrayRef = Arc::new(Int64Array::from(vec![13_812_345_678, 5]));
    assert_eq!(scanner.scan_column("x", &ints)[0].code, "identifier.mobile");
    let id_number: i64 = id.parse().unwrap_or(0);
    if id_number > 0 {
        let ints: ArrayRef = Arc::new(Int64Array::from(vec![id_number]));
        assert_eq!(scanner.scan_column("x", &ints)[0].code, "identifier.resident_id");
    }
    let floats: ArrayRef = Arc::new(Float64Array::from(vec![13_812_345_678.0]));
    assert_eq!(scanner.scan_column("x", &floats)[0].code, "identifier.mobile");
    // Booleans cannot spell an identifier; nested values go to a human.
    let bools: ArrayRef = Arc::new(BooleanArray::from(vec![true]));
    assert!(scanner.scan_column("b", &bools).is_empty());
    let list: ArrayRef =
        Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![Some(vec![Some(1), Some(2)])]));
    assert_eq!(scanner.scan_column("l", &list)[0].outcome, Outcome::Review);
}

#[test]
fn check_output_combines_all_rules() {
    let columns = [
        ColumnMeta::new("联系人", ColumnKind::Dimension),
        ColumnMeta::new("人数", ColumnKind::Frequency),
        ColumnMeta::new("金额", ColumnKind::Magnitude),
    ];
    let values: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec!["甲", "13912345678"])),
        // Aggregate columns are not scanned: a large sum may look like a phone number.
        Arc::new(Int64Array::from(vec![13_812_345_678, 20])),
        Arc::new(Float64Array::from(vec![1.0, 2.0])),
    ];
    let cells = vec![
        vec![None, Some(stats(5, 5.0, 1.0, 1.0)), Some(stats(5, 100.0, 95.0, 1.0))],
        vec![None, Some(stats(20, 20.0, 1.0, 1.0)), Some(stats(20, 100.0, 10.0, 10.0))],
    ];
    let report = check_output(
        &CheckConfig::default(),
        &CheckInput { columns: &columns, cells: &cells, values: &values, residual_df: Some(3) },
        &HashSet::new(),
    );
    assert_eq!(report.outcome, Outcome::Fail);
    let codes: Vec<(&str, Option<&str>, u64)> =
        report.reasons.iter().map(|r| (r.code, r.column.as_deref(), r.rows)).collect();
    assert_eq!(
        codes,
        vec![
            ("cell.threshold", Some("人数"), 1),
            ("cell.threshold", Some("金额"), 1),
            ("cell.dominance", Some("金额"), 1),
            ("cell.p_ratio", Some("金额"), 1),
            ("identifier.mobile", Some("联系人"), 1),
            ("model.residual_df", None, 0),
        ]
    );
    let clean = check_output(
        &CheckConfig::default(),
        &CheckInput {
            columns: &columns[1..2],
            cells: &[vec![Some(stats(10, 10.0, 1.0, 1.0))]],
            values: &[],
            residual_df: None,
        },
        &HashSet::new(),
    );
    assert_eq!(clean.outcome, Outcome::Pass);
    assert!(clean.reasons.is_empty());
    assert_eq!(Outcome::parse("fail"), Some(Outcome::Fail));
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// A valid ID number or USCC is found whatever text surrounds it.
        #[test]
        fn embedded_codes_are_found(prefix in ".{0,8}", suffix in ".{0,8}") {
            let id_found = kinds(&format!("{prefix}{}{suffix}", valid_id()));
            prop_assert!(id_found.contains(&IdentifierKind::ResidentId));
            let uscc_found = kinds(&format!("{prefix}{}{suffix}", valid_uscc()));
            prop_assert!(uscc_found.contains(&IdentifierKind::LegalUscc));
        }

        /// A mobile number is found when it is not glued to other digits.
        #[test]
        fn embedded_mobiles_are_found(prefix in "[a-z 号码：]{0,6}", suffix in "[a-z 。，]{0,6}", rest in 0u64..1_000_000_000) {
            let value = format!("{prefix}13{rest:09}{suffix}");
            prop_assert!(kinds(&value).contains(&IdentifierKind::Mobile));
        }

        /// Whatever passes the magnitude rules meets every threshold.
        #[test]
        fn passing_cells_meet_every_rule(units in 0u64..30, total in -1e6f64..1e6, a in 0f64..1e6, b in 0f64..1e6) {
            let (top1, top2) = if a >= b { (a, b) } else { (b, a) };
            let cell = stats(units, total, top1, top2);
            if rules(ColumnKind::Magnitude, cell).is_empty() {
                prop_assert!(units >= 10);
                prop_assert!(total == 0.0 || (top1 + top2) / total.abs() <= 0.9);
                prop_assert!(top1 == 0.0 || (total.abs() - top1 - top2) / top1 >= 0.1);
            }
        }
    }
}
