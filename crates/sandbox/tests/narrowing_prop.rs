//! Property: random aggregate queries with random FILTER / CASE / null narrowing over data with planted
//! small groups (one-person and three-person employers, a one-person month) never release a value that
//! fewer than k units contribute to — checked against the truth computed on the raw rows.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, Int64Array, StringArray};
use arrow::datatypes::DataType;
use common::*;
use datafusion::datasource::TableProvider;
use proptest::prelude::*;
use yunshu_sandbox::{Cancel, Limits, Sandbox};

const DIMS: &[&str] = &["employer", "month", "EXTRACT(MONTH FROM month)"];

fn narrowings() -> Vec<String> {
    vec![
        "TRUE".into(),
        format!("employer = '{SOLO}'"),
        format!("employer IN ('{TRIO}', '{SOLO}')"),
        format!("employer = '{TEN}'"),
        "month = DATE '2026-06-01'".into(),
        format!("employer <> '{SOLO}'"),
        "month >= DATE '2026-05-01'".into(),
    ]
}

/// (function, measure): the measure is what a row contributes (`1` for counts).
const MEASURES: &[(&str, &str)] = &[
    ("COUNT", "*"),
    ("COUNT", "amount"),
    ("SUM", "base"),
    ("AVG", "amount"),
    ("COUNT DISTINCT", "person_id"),
    ("VAR", "base"),
    ("SUM", "1"),
];

/// How the narrowing is written.
const FORMS: &[&str] = &["filter", "case", "case_else_zero", "plus_null"];

/// The aggregate as the developer writes it, and the condition under which a row contributes.
fn aggregate(m: usize, form: usize, n: &str) -> (String, String) {
    let (f, x) = MEASURES[m];
    let arg = |inner: &str| match f {
        "COUNT DISTINCT" => format!("COUNT(DISTINCT {inner})"),
        other => format!("{other}({inner})"),
    };
    let measured = match (f, x) {
        ("COUNT", _) | ("COUNT DISTINCT", _) => "TRUE".to_owned(),
        (_, "1") => "TRUE".to_owned(),
        (_, col) => format!("{col} IS NOT NULL AND {col} <> 0"),
    };
    match FORMS[form] {
        "filter" => (format!("{} FILTER (WHERE {n})", arg(x)), format!("({n}) AND {measured}")),
        "case" if f != "COUNT DISTINCT" && x != "*" => {
            (arg(&format!("CASE WHEN {n} THEN {x} END")), format!("({n}) AND {measured}"))
        }
        "case_else_zero" if f == "SUM" => {
            (arg(&format!("CASE WHEN {n} THEN {x} ELSE 0 END")), format!("({n}) AND {measured}"))
        }
        "plus_null" if x == "base" || x == "amount" => {
            (arg(&format!("{x} + CASE WHEN {n} THEN 0 END")), format!("({n}) AND {measured}"))
        }
        // Forms that do not apply to this measure fall back to FILTER.
        _ => (format!("{} FILTER (WHERE {n})", arg(x)), format!("({n}) AND {measured}")),
    }
}

fn key_of(batch: &arrow::record_batch::RecordBatch, row: usize, dims: usize) -> String {
    (0..dims)
        .map(|c| {
            let col = arrow::compute::cast(batch.column(c), &DataType::Utf8).unwrap();
            let s = col.as_any().downcast_ref::<StringArray>().unwrap();
            if s.is_null(row) { "∅".to_string() } else { s.value(row).to_string() }
        })
        .collect::<Vec<_>>()
        .join("|")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn no_released_value_has_fewer_than_k_contributing_units(
        dims in proptest::sample::subsequence(DIMS.to_vec(), 0..=2),
        aggs in proptest::collection::vec((0..MEASURES.len(), 0..FORMS.len(), 0..7usize), 1..=3),
        where_clause in proptest::sample::select(vec!["", "WHERE employer <> 'none'", "WHERE month <= DATE '2026-06-01'"]),
        k in 5u32..=12,
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let f = fixture();
            let (social_t, secrets) = social();
            let mut policy = social_policy();
            policy.k = k;
            let key = yunshu_sandbox::PseudonymKey::derive(b"test-secret", "p");
            let sb = Sandbox::new(vec![], key.clone(), Limits::default()).unwrap();
            let provider: Arc<dyn TableProvider> = social_t.clone();
            sb.add_dataset(yunshu_sandbox::Dataset { policy, provider }, &key).unwrap();
            let _ = &f;
            let ns = narrowings();
            let parts: Vec<(String, String)> = aggs.iter().map(|(m, form, n)| aggregate(*m, *form, &ns[*n])).collect();
            let group = if dims.is_empty() { String::new() } else {
                format!(" GROUP BY {}", (1..=dims.len()).map(|i| i.to_string()).collect::<Vec<_>>().join(", "))
            };
            let select: Vec<String> = dims.iter().map(|d| d.to_string())
                .chain(parts.iter().enumerate().map(|(j, (a, _))| format!("{a} AS v{j}")))
                .collect();
            let sql = format!("SELECT {} FROM social {where_clause}{group}", select.join(", "));
            // A form the policy refuses (CASE over an aggregate-only field) releases nothing.
            let outcome = match sb.run(&sql, &Cancel::default()).await {
                Ok(o) => o,
                Err(yunshu_sandbox::SandboxError::Policy(_)) => return Ok(()),
                Err(e) => panic!("{sql}: {e:?}"),
            };
            for cell in cells(&outcome.batches) {
                for s in &secrets {
                    prop_assert!(!cell.contains(s.as_str()), "{}: {}", sql, cell);
                }
            }
            // The truth: per group, the distinct people with a contributing row for each value.
            let raw: Arc<dyn TableProvider> = social_t;
            let open = Sandbox::open(vec![("social".into(), raw)], Limits::default()).unwrap();
            let truth_select: Vec<String> = dims.iter().map(|d| d.to_string())
                .chain(std::iter::once("COUNT(DISTINCT person_id) AS g".to_owned()))
                .chain(parts.iter().enumerate().map(|(j, (_, c))| {
                    format!("COUNT(DISTINCT CASE WHEN {c} THEN person_id END) AS u{j}")
                }))
                .collect();
            let truth_sql = format!("SELECT {} FROM social {where_clause}{group}", truth_select.join(", "));
            let truth = open.run_open(&truth_sql, &Cancel::default()).await.unwrap();
            let mut units: HashMap<String, Vec<i64>> = HashMap::new();
            for b in &truth {
                for r in 0..b.num_rows() {
                    let v: Vec<i64> = (dims.len()..b.num_columns())
                        .map(|c| b.column(c).as_any().downcast_ref::<Int64Array>().unwrap().value(r))
                        .collect();
                    units.insert(key_of(b, r, dims.len()), v);
                }
            }
            for b in &outcome.batches {
                for r in 0..b.num_rows() {
                    let key = key_of(b, r, dims.len());
                    let t = units.get(&key).cloned().unwrap_or_default();
                    prop_assert!(t.first().copied().unwrap_or(0) >= i64::from(k), "{}: group {} released", sql, key);
                    for j in 0..parts.len() {
                        if !b.column(dims.len() + j).is_null(r) {
                            let n = t.get(1 + j).copied().unwrap_or(0);
                            prop_assert!(n >= i64::from(k), "{}: v{} of {} has {} contributing units < {}", sql, j, key, n, k);
                        }
                    }
                }
            }
            Ok(())
        })?;
    }
}
