//! Property: for random aggregate queries over a generated dataset, no released output row aggregates
//! fewer than k distinct privacy units — checked against the truth computed on the raw data.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, Int64Array};
use arrow::datatypes::DataType;
use common::*;
use datafusion::datasource::TableProvider;
use proptest::prelude::*;
use yunshu_sandbox::{Cancel, Limits, Sandbox};

const DIMS: &[&str] = &["region", "gender", "occupation", "EXTRACT(YEAR FROM birth_date)"];
const AGGS: &[&str] =
    &["COUNT(*)", "SUM(salary)", "AVG(salary)", "COUNT(DISTINCT person_id)", "STDDEV(salary)"];
const WHERES: &[&str] = &[
    "",
    "WHERE gender = '男'",
    "WHERE occupation IN ('职业1', '职业2', 'OCC-RARE-777')",
    "WHERE region <> '530102'",
    "WHERE occupation LIKE '职业%'",
];

fn key_of(batch: &arrow::record_batch::RecordBatch, row: usize, dims: usize) -> String {
    (0..dims)
        .map(|c| {
            let col = arrow::compute::cast(batch.column(c), &DataType::Utf8).unwrap();
            let s = col.as_any().downcast_ref::<arrow::array::StringArray>().unwrap();
            if s.is_null(row) { "∅".to_string() } else { s.value(row).to_string() }
        })
        .collect::<Vec<_>>()
        .join("|")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]
    #[test]
    fn no_released_row_has_fewer_than_k_units(
        dims in proptest::sample::subsequence(DIMS.to_vec(), 0..=3),
        aggs in proptest::sample::subsequence(AGGS.to_vec(), 1..=3),
        filter in proptest::sample::select(WHERES.to_vec()),
        k in 5u32..=20,
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let f = fixture();
            let mut policy = people_policy();
            policy.k = k;
            let sb = sandbox_with(&f, policy, Limits::default());
            let select: Vec<String> = dims.iter().map(|d| d.to_string()).chain(aggs.iter().map(|a| a.to_string())).collect();
            let group = if dims.is_empty() { String::new() } else {
                format!("GROUP BY {}", (1..=dims.len()).map(|i| i.to_string()).collect::<Vec<_>>().join(", "))
            };
            let sql = format!("SELECT {} FROM people {filter} {group}", select.join(", "));
            let outcome = sb.run(&sql, &Cancel::default()).await.unwrap();
            // The truth, on raw data: distinct people per group.
            let raw: Arc<dyn TableProvider> = f.people.clone();
            let open = Sandbox::open(vec![("people".into(), raw)], Limits::default()).unwrap();
            let dims_sql: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
            let truth_sql = format!(
                "SELECT {}COUNT(DISTINCT person_id) AS units FROM people {filter} {group}",
                if dims.is_empty() { String::new() } else { format!("{}, ", dims_sql.join(", ")) }
            );
            let truth = open.run_open(&truth_sql, &Cancel::default()).await.unwrap();
            let mut units: HashMap<String, i64> = HashMap::new();
            let mut small = 0u64;
            for b in &truth {
                let u = b.column(dims.len()).as_any().downcast_ref::<Int64Array>().unwrap();
                for r in 0..b.num_rows() {
                    units.insert(key_of(b, r, dims.len()), u.value(r));
                    if u.value(r) < i64::from(k.max(5)) {
                        small += 1;
                    }
                }
            }
            for b in &outcome.batches {
                for r in 0..b.num_rows() {
                    let key = key_of(b, r, dims.len());
                    let n = units.get(&key).copied().unwrap_or(0);
                    prop_assert!(n >= i64::from(k), "{sql}: released group {key} has {n} units < {k}");
                }
            }
            prop_assert_eq!(outcome.suppressed, small, "{}", sql);
            Ok(())
        })?;
    }
}
