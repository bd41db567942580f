//! Profile figures and the quality score on known small tables; the benchmark generator and
//! baseline.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::io::Cursor;

use chrono::NaiveDate;
use common::*;
use regex::Regex;
use yunshu_domain::ids::{Mobile, ResidentId, Uscc};
use yunshu_ingest::{
    Check, ColumnKind, ColumnSpec, IdentifierKind, ImportOptions, QualityRule, Severity, generate_bench_csv,
    plain_csv_to_parquet,
};

/// 5 rows: one invalid ID (bad check character), one missing ID, one invalid mobile.
const TABLE: &str = "\
证件号码,联系电话,金额,日期,等级,编码
11010519491231002X,13800138000,10.5,2025-06-01,A,X1
110105194912310021,13800138000,-3,2025-06-20,B,X2
,12345678901,100,2025-06-25,A,Y3
11010519491231002X,13900139000,,2025-06-28,C,X4
11010519491231002X,,7,2025-06-28,A,X5
";

#[tokio::test]
async fn profile_figures() {
    let (_, outcome) = run_ok(TABLE.as_bytes().to_vec(), "p.csv", options()).await;
    let profile = &outcome.profile;
    assert_eq!(profile.rows, 5);

    let id = profile.column("证件号码").unwrap();
    assert_eq!(id.kind, ColumnKind::Text);
    assert_eq!((id.declared, id.detected), (None, Some(IdentifierKind::ResidentId)));
    assert_eq!(id.nulls, 1);
    assert!((id.null_rate() - 0.2).abs() < 1e-9);
    assert_eq!((id.distinct, id.distinct_exact), (2, true));
    assert_eq!(id.distinct_display(), "2");
    assert_eq!(id.invalid, Some(1));
    assert_eq!(id.invalid_lines, [3]);

    // Detected by content (no name hint in 联系电话), one invalid (prefix 12).
    let mobile = profile.column("联系电话").unwrap();
    assert_eq!(mobile.detected, Some(IdentifierKind::Mobile));
    assert_eq!((mobile.invalid, mobile.invalid_lines.as_slice()), (Some(1), &[4][..]));

    let amount = profile.column("金额").unwrap();
    assert_eq!(amount.kind, ColumnKind::Decimal);
    assert_eq!((amount.min.as_deref(), amount.max.as_deref()), (Some("-3"), Some("100")));
    assert_eq!((amount.nulls, amount.distinct), (1, 4));
    assert_eq!(amount.invalid, None);

    let date = profile.column("日期").unwrap();
    assert_eq!(date.kind, ColumnKind::Date);
    assert_eq!((date.min.as_deref(), date.max.as_deref()), (Some("2025-06-01"), Some("2025-06-28")));
    assert_eq!((date.distinct, date.invalid), (4, Some(0)));

    let grade = profile.column("等级").unwrap();
    assert_eq!((grade.min.as_deref(), grade.max.as_deref(), grade.distinct), (Some("A"), Some("C"), 3));
}

#[tokio::test]
async fn declared_identifiers_are_checked() {
    let text = "code\n91110000600037341L\n91110000600037341A\n";
    let mut registered = options();
    registered.expected = Some(vec![ColumnSpec::identifier("code", IdentifierKind::Uscc)]);
    let (_, outcome) = run_ok(text.as_bytes().to_vec(), "u.csv", registered).await;
    let code = outcome.profile.column("code").unwrap();
    assert_eq!((code.declared, code.detected, code.invalid), (Some(IdentifierKind::Uscc), None, Some(1)));
}

fn rules() -> Vec<QualityRule> {
    let rule = |id: &str, column: &str, check, severity| QualityRule {
        id: id.to_string(),
        column: column.to_string(),
        check,
        severity,
    };
    vec![
        // 4 of 5 rows non-null.
        rule("r1", "证件号码", Check::NotNull, Severity::High),
        // 4 non-null amounts, 3 in 0..=50 (-3 and 100 fail).
        rule("r2", "金额", Check::Range { min: Some(0.0), max: Some(50.0) }, Severity::Medium),
        // 4 of 5 codes start with X.
        rule("r3", "编码", Check::Pattern(Regex::new("^X\\d$").unwrap()), Severity::Low),
        // A and B allowed: 4 of 5.
        rule(
            "r4",
            "等级",
            Check::Reference(BTreeSet::from(["A".to_string(), "B".to_string()])),
            Severity::Low,
        ),
        // Latest 2025-06-28, today 2025-06-30: fresh within 7 days.
        rule("r5", "日期", Check::Freshness { max_age_days: 7 }, Severity::Medium),
        // Not applicable: missing column (left out of the score).
        rule("r6", "不存在", Check::NotNull, Severity::High),
    ]
}

#[tokio::test]
async fn quality_score_is_the_weighted_share_of_checks_passed() {
    let mut with_rules = options();
    with_rules.rules = rules();
    let (_, outcome) = run_ok(TABLE.as_bytes().to_vec(), "q.csv", with_rules).await;
    let report = &outcome.quality;
    let figures: Vec<(u64, u64)> = report.results.iter().map(|r| (r.checked, r.passed)).collect();
    assert_eq!(figures, [(5, 4), (4, 2), (5, 4), (5, 4), (1, 1), (0, 0)]);
    assert_eq!(report.results[0].failed_lines, [4]);
    assert_eq!(report.results[1].failed_lines, [3, 4]);
    assert_eq!(report.results[5].not_applicable, Some(yunshu_ingest::quality::NotApplicable::MissingColumn));
    // (3·0.8 + 2·0.5 + 1·0.8 + 1·0.8 + 2·1) / 9 × 100
    let expected = (3.0 * 0.8 + 2.0 * 0.5 + 0.8 + 0.8 + 2.0) / 9.0 * 100.0;
    assert!((report.score - expected).abs() < 1e-9, "{} vs {expected}", report.score);

    // A month later the data are stale.
    let mut later = options();
    later.rules = rules();
    later.today = NaiveDate::from_ymd_opt(2025, 7, 30).unwrap();
    let (_, outcome) = run_ok(TABLE.as_bytes().to_vec(), "q.csv", later).await;
    assert_eq!(outcome.quality.results[4].passed, 0);
    assert!(outcome.quality.score < expected);
}

#[tokio::test]
async fn no_rules_score_one_hundred() {
    let (_, outcome) = run_ok(TABLE.as_bytes().to_vec(), "q.csv", options()).await;
    assert_eq!(outcome.quality.score, 100.0);
}

#[test]
fn bench_csv_is_deterministic_and_valid() {
    let mut a = Vec::new();
    generate_bench_csv(1_000, 7, &mut a).unwrap();
    let mut b = Vec::new();
    generate_bench_csv(1_000, 7, &mut b).unwrap();
    assert_eq!(a, b);
    let text = String::from_utf8(a.clone()).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(yunshu_ingest::bench::BENCH_HEADER));
    let mut count = 0;
    for line in lines {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields.len(), 8);
        ResidentId::parse(fields[2]).unwrap();
        Uscc::parse(fields[3]).unwrap();
        Mobile::parse(fields[4]).unwrap();
        count += 1;
    }
    assert_eq!(count, 1_000);
    let per_row = a.len() as f64 / 1_000.0;
    assert!((80.0..=120.0).contains(&per_row), "{per_row} bytes per row");

    let mut parquet = Vec::new();
    assert_eq!(plain_csv_to_parquet(Cursor::new(a), &mut parquet, 65_536).unwrap(), 1_000);
    assert!(parquet.starts_with(b"PAR1"));
}

#[tokio::test]
async fn bench_csv_imports_with_every_identifier_valid() {
    let mut csv = Vec::new();
    generate_bench_csv(2_000, 1, &mut csv).unwrap();
    let (_, outcome) = run_ok(csv, "bench.csv", ImportOptions::new(u64::MAX, today())).await;
    assert_eq!(outcome.row_count, 2_000);
    for name in ["身份证号", "统一社会信用代码", "手机号"] {
        let column = outcome.profile.column(name).unwrap();
        assert!(column.identifier().is_some(), "{name}");
        assert_eq!(column.invalid, Some(0), "{name}");
    }
    assert_eq!(outcome.profile.column("登记日期").unwrap().kind, ColumnKind::Date);
    assert_eq!(outcome.profile.column("金额").unwrap().kind, ColumnKind::Decimal);
}
