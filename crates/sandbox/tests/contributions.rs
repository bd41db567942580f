//! Per-unit contributions feed dominance and the p% rule: a group one person dominates fails, a
//! balanced one passes, and magnitudes the engine has no contributions for stay under review.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use common::*;
use datafusion::datasource::MemTable;
use yunshu_domain::catalog::UsageClass::*;
use yunshu_sandbox::checks::{CheckConfig, Outcome as Check};
use yunshu_sandbox::release::outcome_checks;
use yunshu_sandbox::{Cancel, ColumnPolicy, Dataset, Limits, PseudonymKey, Sandbox, TablePolicy};

/// incomes(person_id, town, income): town 甲 has 20 people earning 100 and one earning 1 000 000;
/// town 乙 has 30 people earning 100..130.
fn incomes() -> Sandbox {
    let (mut ids, mut towns, mut income) = (vec![], vec![], vec![]);
    for i in 0..21i64 {
        ids.push(i + 1);
        towns.push("甲");
        income.push(if i == 20 { 1_000_000.0 } else { 100.0 });
    }
    for i in 0..30i64 {
        ids.push(100 + i);
        towns.push("乙");
        income.push(100.0 + i as f64);
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("person_id", DataType::Int64, false),
        Field::new("town", DataType::Utf8, false),
        Field::new("income", DataType::Float64, false),
    ]));
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(ids)),
        Arc::new(StringArray::from(towns)),
        Arc::new(Float64Array::from(income)),
    ];
    let table = Arc::new(
        MemTable::try_new(schema.clone(), vec![vec![RecordBatch::try_new(schema, cols).unwrap()]]).unwrap(),
    );
    let policy = TablePolicy {
        name: "incomes".into(),
        unit: Some("person_id".into()),
        unit_per_row: true,
        k: 10,
        columns: vec![
            ColumnPolicy::new("person_id", JoinKey, true),
            ColumnPolicy::new("town", Dimension, false),
            ColumnPolicy::new("income", Aggregate, true),
        ],
        row_filter: None,
        dp: None,
    };
    Sandbox::new(
        vec![Dataset { policy, provider: table }],
        PseudonymKey::derive(b"s", "p"),
        Limits::default(),
    )
    .unwrap()
}

fn codes(r: &yunshu_sandbox::checks::CheckReport) -> Vec<&'static str> {
    r.reasons.iter().map(|x| x.code).collect()
}

#[tokio::test]
async fn a_dominated_sum_fails_and_a_balanced_one_passes() {
    let sb = incomes();
    let o = sb
        .run(
            "SELECT town, COUNT(*) AS n, SUM(income) AS total FROM incomes GROUP BY town ORDER BY town",
            &Cancel::default(),
        )
        .await
        .unwrap();
    assert_eq!(o.num_rows(), 2);
    assert_eq!(o.contributions.len(), 1);
    assert_eq!(o.contributions[0].column, 2);
    // Towns are sorted 乙 < 甲? Find the dominated row by its figures instead.
    let cells: Vec<_> = o.contributions[0].cells.iter().map(|c| c.unwrap()).collect();
    assert!(cells.iter().any(|c| c.top1 == 1_000_000.0 && c.top2 == 100.0 && c.total == 1_002_000.0));
    assert!(cells.iter().any(|c| c.top1 == 129.0 && c.top2 == 128.0));
    let report = outcome_checks(&o, &CheckConfig::default(), &HashSet::new());
    let c = codes(&report);
    assert!(c.contains(&"cell.dominance"), "{c:?}");
    assert!(c.contains(&"cell.p_ratio"), "{c:?}");
    assert!(!c.contains(&"cell.contributions_pending"), "{c:?}");
    assert_eq!(report.outcome, Check::Fail);
    let dominance = report.reasons.iter().find(|r| r.code == "cell.dominance").unwrap();
    assert_eq!(dominance.rows, 1, "only the dominated town");

    // The balanced town alone passes; AVG is checked on the same figures.
    let o = sb
        .run(
            "SELECT town, AVG(income) AS mean FROM incomes WHERE town = '乙' GROUP BY town",
            &Cancel::default(),
        )
        .await
        .unwrap();
    let report = outcome_checks(&o, &CheckConfig::default(), &HashSet::new());
    assert_eq!(report.outcome, Check::Pass, "{:?}", codes(&report));
    // Renamed through a subquery and sorted: still traced.
    let o = sb
        .run(
            "SELECT t, s FROM (SELECT town AS t, SUM(income) AS s FROM incomes GROUP BY town) x ORDER BY s DESC",
            &Cancel::default(),
        )
        .await
        .unwrap();
    assert_eq!(o.contributions.len(), 1);
    assert!(codes(&outcome_checks(&o, &CheckConfig::default(), &HashSet::new())).contains(&"cell.dominance"));
    // An expression over the sum has no per-unit figures: reviewed, not passed.
    let o = sb
        .run("SELECT town, SUM(income) / 2 AS half FROM incomes GROUP BY town", &Cancel::default())
        .await
        .unwrap();
    assert!(o.contributions.is_empty());
    let c = codes(&outcome_checks(&o, &CheckConfig::default(), &HashSet::new()));
    assert!(c.contains(&"cell.contributions_pending"), "{c:?}");
}

#[tokio::test]
async fn units_with_several_rows_stay_under_review() {
    // payments: five rows per person, so a row is not a unit's contribution.
    let f = fixture();
    let o = sandbox(&f)
        .run("SELECT region, SUM(amount) AS total FROM payments GROUP BY region", &Cancel::default())
        .await
        .unwrap();
    assert!(o.contributions.is_empty());
    let c = codes(&outcome_checks(&o, &CheckConfig::default(), &HashSet::new()));
    assert!(c.contains(&"cell.contributions_pending"), "{c:?}");
    // The people register has one row per person: its sums are checked for real.
    let o = sandbox(&f)
        .run("SELECT region, SUM(salary) AS total FROM people GROUP BY region", &Cancel::default())
        .await
        .unwrap();
    assert_eq!(o.contributions.len(), 1);
    let c = codes(&outcome_checks(&o, &CheckConfig::default(), &HashSet::new()));
    assert!(!c.contains(&"cell.contributions_pending"), "{c:?}");
}
