//! Differential privacy in query execution: budget refusals before anything runs, noise from an
//! injected seeded generator, bounded columns only, each unit's contribution bounded, and groups
//! released on noisy counts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use common::*;
use datafusion::catalog::Session;
use datafusion::datasource::{MemTable, TableProvider, TableType};
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use yunshu_domain::catalog::UsageClass::*;
use yunshu_sandbox::dp::SeededRng;
use yunshu_sandbox::{
    Cancel, ColumnPolicy, Dataset, DpBudget, DpPolicy, Epsilon, Limits, Outcome, PseudonymKey, Sandbox,
    SandboxError, TablePolicy,
};

fn eps(text: &str) -> Epsilon {
    Epsilon::parse(text).unwrap()
}

/// A table that counts its scans: a refused query must not have read anything.
#[derive(Debug)]
struct Counting {
    inner: Arc<MemTable>,
    scans: Arc<AtomicUsize>,
}

#[async_trait]
impl TableProvider for Counting {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        self.scans.fetch_add(1, Ordering::SeqCst);
        self.inner.scan(state, projection, filters, limit).await
    }
}

/// visits(person_id, clinic, fee): clinic `A` has 9 people, `B` 10, `C` 60; each visit row is one
/// person's, `extra` adds rows for person 1 (in clinic C).
fn visits(extra: &[(i64, f64)]) -> Arc<MemTable> {
    let (mut ids, mut clinics, mut fees) = (vec![], vec![], vec![]);
    let mut person = 0i64;
    for (clinic, n) in [("A", 9), ("B", 10), ("C", 60)] {
        for _ in 0..n {
            person += 1;
            ids.push(person);
            clinics.push(clinic.to_string());
            fees.push(100.0 + (person % 7) as f64);
        }
    }
    for (id, fee) in extra {
        ids.push(*id);
        clinics.push(
            if *id > 19 {
                "C"
            } else if *id > 9 {
                "B"
            } else {
                "A"
            }
            .to_string(),
        );
        fees.push(*fee);
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("person_id", DataType::Int64, false),
        Field::new("clinic", DataType::Utf8, false),
        Field::new("fee", DataType::Float64, false),
    ]));
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(ids)),
        Arc::new(StringArray::from(clinics)),
        Arc::new(Float64Array::from(fees)),
    ];
    Arc::new(
        MemTable::try_new(schema.clone(), vec![vec![RecordBatch::try_new(schema, cols).unwrap()]]).unwrap(),
    )
}

fn visits_policy(dp: DpPolicy) -> TablePolicy {
    TablePolicy {
        name: "visits".into(),
        unit: Some("person_id".into()),
        unit_per_row: false,
        k: 10,
        columns: vec![
            ColumnPolicy::new("person_id", JoinKey, true),
            ColumnPolicy::new("clinic", Dimension, false),
            ColumnPolicy::new("fee", Aggregate, true),
        ],
        row_filter: None,
        dp: Some(dp),
    }
}

fn visits_sandbox(table: Arc<dyn TableProvider>, dp: DpPolicy, seed: u64) -> Sandbox {
    Sandbox::new(
        vec![Dataset { policy: visits_policy(dp), provider: table }],
        PseudonymKey::derive(b"test-secret", "project-dp"),
        Limits::default(),
    )
    .unwrap()
    .with_rng(Box::new(SeededRng::new(seed)))
}

/// The fixture's people and payments, with DP on the one given.
fn fixture_sandbox(
    f: &Fixture,
    people_dp: Option<DpPolicy>,
    payments_dp: Option<DpPolicy>,
    seed: u64,
) -> Sandbox {
    let mut people = people_policy();
    people.dp = people_dp;
    let mut payments = payments_policy();
    payments.dp = payments_dp;
    Sandbox::new(
        vec![
            Dataset { policy: people, provider: f.people.clone() },
            Dataset { policy: payments, provider: f.payments.clone() },
        ],
        PseudonymKey::derive(b"test-secret", "project-7"),
        Limits::default(),
    )
    .unwrap()
    .with_rng(Box::new(SeededRng::new(seed)))
}

/// Rows of an outcome as text keyed by the first column.
fn rows(o: &Outcome) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for b in &o.batches {
        let cols: Vec<_> =
            b.columns().iter().map(|c| arrow::compute::cast(c, &DataType::Utf8).unwrap()).collect();
        for r in 0..b.num_rows() {
            let text: Vec<String> = cols
                .iter()
                .map(|c| c.as_any().downcast_ref::<StringArray>().unwrap().value(r).to_string())
                .collect();
            out.insert(text[0].clone(), text[1..].to_vec());
        }
    }
    out
}

fn column_f64(o: &Outcome, name: &str) -> Vec<f64> {
    let i = o.schema.index_of(name).unwrap();
    o.batches
        .iter()
        .flat_map(|b| {
            let c = arrow::compute::cast(b.column(i), &DataType::Float64).unwrap();
            c.as_any().downcast_ref::<Float64Array>().unwrap().values().to_vec()
        })
        .collect()
}

fn salary_dp() -> DpPolicy {
    DpPolicy::new(eps("0.5")).bound("salary", 0, 20_000)
}

#[tokio::test]
async fn dp_cost_is_known_before_running_and_an_over_budget_query_reads_nothing() {
    let scans = Arc::new(AtomicUsize::new(0));
    let table = Arc::new(Counting { inner: visits(&[]), scans: scans.clone() });
    let dp = DpPolicy::new(eps("0.25")).bound("fee", 0, 500);
    let sb = visits_sandbox(table, dp, 1);
    let sql = "SELECT clinic, COUNT(*) AS n, SUM(fee) AS total, AVG(fee) AS mean FROM visits GROUP BY clinic";
    // Three aggregates plus the noisy unit count that selects the groups: 4 × 0.25.
    assert_eq!(sb.dp_cost(sql).await.unwrap(), Some(eps("1")));
    // COUNT(DISTINCT unit) reuses the selection's count: free.
    let free = "SELECT clinic, COUNT(DISTINCT person_id) AS people FROM visits GROUP BY clinic";
    assert_eq!(sb.dp_cost(free).await.unwrap(), Some(eps("0.25")));
    assert_eq!(scans.load(Ordering::SeqCst), 0, "dp_cost must not read data");

    // The project has 0.9 left: refused before anything is read, nothing spent.
    let budget = DpBudget::with_spent(eps("2"), eps("1.1")).unwrap();
    let e = sb.run_within(sql, budget.remaining(), &Cancel::default()).await.unwrap_err();
    assert_eq!(e, SandboxError::DpBudget { cost: eps("1"), remaining: eps("0.9") });
    assert_eq!(e.code(), "dp.budget_exceeded");
    assert!(e.message_zh().contains("未执行"), "{}", e.message_zh());
    assert_eq!(scans.load(Ordering::SeqCst), 0, "an over-budget query must not run");
    assert!(budget.charge(eps("1")).is_err());
    assert_eq!(budget.remaining(), eps("0.9"));

    // Within budget it runs and reports exactly what dp_cost said.
    let o = sb.run_within(sql, eps("1"), &Cancel::default()).await.unwrap();
    assert_eq!(o.epsilon, Some(eps("1")));
    assert!(scans.load(Ordering::SeqCst) > 0);
    let budget = budget.charge(o.epsilon.unwrap());
    assert!(budget.is_err(), "the server's charge is refused the same way");

    // A query on tables without DP costs nothing and reports nothing spent.
    let f = fixture();
    let plain = fixture_sandbox(&f, None, None, 1);
    let q = "SELECT region, COUNT(*) AS n FROM people GROUP BY region";
    assert_eq!(plain.dp_cost(q).await.unwrap(), None);
    assert_eq!(plain.run(q, &Cancel::default()).await.unwrap().epsilon, None);
}

#[tokio::test]
async fn noisy_outputs_differ_from_exact_ones_and_the_seed_reproduces_them() {
    let f = fixture();
    let sql =
        "SELECT region, COUNT(*) AS n, SUM(salary) AS total FROM people GROUP BY region ORDER BY region";
    let exact = sandbox(&f).run(sql, &Cancel::default()).await.unwrap();
    let noisy = fixture_sandbox(&f, Some(salary_dp()), None, 7).run(sql, &Cancel::default()).await.unwrap();
    let again = fixture_sandbox(&f, Some(salary_dp()), None, 7).run(sql, &Cancel::default()).await.unwrap();
    let other = fixture_sandbox(&f, Some(salary_dp()), None, 8).run(sql, &Cancel::default()).await.unwrap();
    assert_eq!(noisy.epsilon, Some(eps("1.5")));
    // The rare region (one person) is never released; the three large ones are.
    // The three large regions are released; the rare region (one person) is not, exactly (k), and only
    // with the small probability δ on its noisy count (below).
    let (e, mut n) = (rows(&exact), rows(&noisy));
    assert!(!e.contains_key(RARE_REGION));
    n.remove(RARE_REGION);
    assert_eq!(e.keys().collect::<Vec<_>>(), n.keys().collect::<Vec<_>>());
    assert_ne!(e, n, "noise must change the released values");
    assert_eq!(rows(&noisy), rows(&again), "the same seed gives the same noise");
    assert_ne!(rows(&noisy), rows(&other), "another seed gives other noise");
    // Close to the truth: counts within a few units, sums within a few bounds' worth (scale 2 × 20 000).
    // (The exact run's complementary suppression nulls one more region's cells, so that the dropped
    // one-person region cannot be recovered from a total: those are skipped.)
    for (region, exact) in &e {
        let noisy = &n[region];
        if exact[0].is_empty() || exact[1].is_empty() {
            continue;
        }
        let (a, b): (f64, f64) = (exact[0].parse().unwrap(), noisy[0].parse().unwrap());
        assert!((a - b).abs() <= 20.0, "{a} vs {b}");
        let (a, b): (f64, f64) = (exact[1].parse().unwrap(), noisy[1].parse().unwrap());
        assert!((a - b).abs() <= 600_000.0, "{a} vs {b}");
        // No exact sum is released (the salaries have fractional parts; noisy sums are integers).
        assert_eq!(b.fract(), 0.0);
    }
    let mut rare = 0;
    for seed in 100..160 {
        let o =
            fixture_sandbox(&f, Some(salary_dp()), None, seed).run(sql, &Cancel::default()).await.unwrap();
        rare += usize::from(rows(&o).contains_key(RARE_REGION));
    }
    // δ per query ≈ e^{−0.5·8}/(e^{0.5}+1) ≈ 0.007.
    assert!(rare <= 3, "the one-person region was released {rare} times in 60");
    // Nothing is reported as suppressed: that count would count the groups that exist.
    assert_eq!(noisy.suppressed, 0);
}

#[tokio::test]
async fn only_bounded_columns_and_supported_shapes_on_a_dp_table() {
    let f = fixture();
    let pay_dp = DpPolicy { max_groups: 5, ..DpPolicy::new(eps("0.1")) };
    let sb = fixture_sandbox(&f, Some(salary_dp()), Some(pay_dp), 1);
    let run = |sql: &'static str| {
        let sb = &sb;
        async move { sb.run(sql, &Cancel::default()).await }
    };
    // amount has no configured bounds on payments.
    let e = run("SELECT month, SUM(amount) AS s FROM payments GROUP BY month").await.unwrap_err();
    assert_eq!(e, SandboxError::DpUnboundedColumn("amount".into()));
    assert_eq!(e.code(), "dp.unbounded_column");
    let e = run("SELECT month, AVG(amount) AS s FROM payments GROUP BY month").await.unwrap_err();
    assert_eq!(e.code(), "dp.unbounded_column");
    assert_eq!(
        sb.dp_cost("SELECT SUM(amount) FROM payments").await.unwrap_err().code(),
        "dp.unbounded_column"
    );
    // A bounded column under another name is still clamped; an expression is refused.
    let e = run("SELECT SUM(salary * 2) AS s FROM people").await.unwrap_err();
    assert_eq!(e.code(), "dp.shape", "{e:?}");
    for sql in [
        "SELECT region, STDDEV(salary) AS s FROM people GROUP BY region",
        "SELECT region, VAR(salary) AS s FROM people GROUP BY region",
        "SELECT COUNT(DISTINCT region) AS s FROM people",
        "SELECT region, COUNT(*) FILTER (WHERE gender = '男') AS s FROM people GROUP BY region",
        // Two DP tables, or one read twice.
        "SELECT p.region, COUNT(*) AS n FROM people p JOIN payments q ON p.person_id = q.person_id GROUP BY p.region",
    ] {
        let e = run(sql).await.unwrap_err();
        assert_eq!(e.code(), "dp.shape", "{sql}: {e:?}");
        assert!(!e.message_zh().is_empty());
        // check_sql (the workspace's "on real data this would be refused") says the same.
        assert_eq!(sb.check_sql(sql).await.unwrap_err().code(), "dp.shape", "{sql}");
    }
    // A DP table joined to a protected table without DP in one aggregation is refused.
    let mixed = fixture_sandbox(&f, Some(salary_dp()), None, 1);
    let e = mixed
        .run(
            "SELECT p.region, COUNT(*) AS n FROM people p JOIN payments q ON p.person_id = q.person_id GROUP BY p.region",
            &Cancel::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "dp.shape");
    // The plan check still applies first on DP tables.
    for sql in [
        "SELECT region, MAX(salary) AS m FROM people GROUP BY region",
        "SELECT region, SUM(DISTINCT salary) AS s FROM people GROUP BY region",
    ] {
        let e = run(sql).await.unwrap_err();
        assert!(matches!(e, SandboxError::Policy(_)), "{sql}: {e:?}");
    }
    // Post-processing above the aggregation is free and allowed.
    let o = run(
        "SELECT region, n FROM (SELECT region, COUNT(*) AS n, AVG(salary) AS a FROM people GROUP BY region) t \
         WHERE n > 50 ORDER BY n DESC LIMIT 2",
    )
    .await
    .unwrap();
    assert!(o.num_rows() <= 2);
    assert_eq!(o.epsilon, Some(eps("1.5")));
}

#[tokio::test]
async fn one_unit_with_many_rows_cannot_move_a_noisy_sum_by_more_than_its_bound() {
    let bound = 500i64;
    let m = 2u32;
    let dp = DpPolicy { max_rows_per_group: m, ..DpPolicy::new(eps("1")).bound("fee", 0, bound) };
    let sql = "SELECT clinic, COUNT(*) AS n, SUM(fee) AS total FROM visits GROUP BY clinic ORDER BY clinic";
    // Person 30 (clinic C) adds a thousand enormous visits; with the same seed the noise is the same,
    // so the released values differ only by that unit's bounded contribution.
    let heavy: Vec<(i64, f64)> = (0..1000).map(|_| (30, 1e12)).collect();
    for seed in 0..5 {
        let base = visits_sandbox(visits(&[]), dp.clone(), seed).run(sql, &Cancel::default()).await.unwrap();
        let more =
            visits_sandbox(visits(&heavy), dp.clone(), seed).run(sql, &Cancel::default()).await.unwrap();
        let (b, h) = (rows(&base), rows(&more));
        assert_eq!(b.keys().collect::<Vec<_>>(), h.keys().collect::<Vec<_>>());
        let c = b.get("C").expect("clinic C is large enough");
        let ch = h.get("C").unwrap();
        let (n0, n1): (i64, i64) = (c[0].parse().unwrap(), ch[0].parse().unwrap());
        let (s0, s1): (f64, f64) = (c[1].parse().unwrap(), ch[1].parse().unwrap());
        assert!((n1 - n0).abs() <= i64::from(m), "count moved by {}", n1 - n0);
        assert!((s1 - s0).abs() <= (i64::from(m) * bound) as f64, "sum moved by {}", s1 - s0);
        // The other groups are untouched.
        assert_eq!(b.get("B"), h.get("B"));
    }
}

#[tokio::test]
async fn each_unit_counts_in_at_most_its_configured_number_of_groups() {
    let f = fixture();
    // 301 people with 5 monthly payments each; one group (month) per unit.
    let dp = DpPolicy::new(eps("1"));
    let sb = fixture_sandbox(&f, None, Some(dp), 3);
    let o =
        sb.run("SELECT month, COUNT(*) AS n FROM payments GROUP BY month", &Cancel::default()).await.unwrap();
    let total: f64 = column_f64(&o, "n").iter().sum();
    assert!(total < 301.0 + 40.0, "each person counted once, not five times: {total}");
    assert!(total > 301.0 - 80.0, "{total}");
    // With five groups per unit every month is complete.
    let dp5 = DpPolicy { max_groups: 5, ..DpPolicy::new(eps("1")) };
    let sb = fixture_sandbox(&f, None, Some(dp5), 3);
    let o =
        sb.run("SELECT month, COUNT(*) AS n FROM payments GROUP BY month", &Cancel::default()).await.unwrap();
    assert_eq!(o.num_rows(), 5);
    for n in column_f64(&o, "n") {
        assert!((n - 301.0).abs() < 80.0, "{n}");
    }
}

#[tokio::test]
async fn released_groups_come_from_noisy_unit_counts() {
    // Clinic A has 9 people (below τ = k = 10), B exactly 10, C 60. A is never released (k is a floor
    // on the real unit count, DP or not); B, at the threshold, goes either way on its noisy count.
    let dp = DpPolicy::new(eps("1"));
    let sql = "SELECT clinic, COUNT(DISTINCT person_id) AS people FROM visits GROUP BY clinic";
    let (mut a_released, mut b_withheld) = (0, 0);
    let mut non_exact = 0;
    for seed in 0..60 {
        let o = visits_sandbox(visits(&[]), dp.clone(), seed).run(sql, &Cancel::default()).await.unwrap();
        let r = rows(&o);
        assert!(r.contains_key("C"), "seed {seed}");
        a_released += usize::from(r.contains_key("A"));
        b_withheld += usize::from(!r.contains_key("B"));
        // Released counts are the noisy ones, at least τ.
        for (clinic, v) in &r {
            let n: u64 = v[0].parse().unwrap();
            assert!(n >= 10, "{clinic}: {n}");
            let exact = match clinic.as_str() {
                "A" => 9,
                "B" => 10,
                _ => 60,
            };
            non_exact += usize::from(n != exact);
        }
        assert_eq!(o.suppressed, 0);
    }
    assert_eq!(a_released, 0, "a group below k is never released");
    assert!(b_withheld > 0, "a group at τ is sometimes withheld on its noisy count");
    assert!(non_exact > 20);
}

#[tokio::test]
async fn dp_configuration_is_validated() {
    let bad = DpPolicy { max_rows_per_group: 0, ..DpPolicy::new(eps("1")) };
    let r = Sandbox::new(
        vec![Dataset { policy: visits_policy(bad), provider: visits(&[]) }],
        PseudonymKey::derive(b"s", "p"),
        Limits::default(),
    );
    assert!(matches!(r, Err(SandboxError::Dp(_))));
    let inverted = DpPolicy::new(eps("1")).bound("fee", 10, 1);
    let r = Sandbox::new(
        vec![Dataset { policy: visits_policy(inverted), provider: visits(&[]) }],
        PseudonymKey::derive(b"s", "p"),
        Limits::default(),
    );
    assert_eq!(r.err().map(|e| e.code()), Some("dp.invalid_config"));
    // DP on a table without a privacy unit is a configuration error.
    let mut no_unit = visits_policy(DpPolicy::new(eps("1")));
    no_unit.unit = None;
    let r = Sandbox::new(
        vec![Dataset { policy: no_unit, provider: visits(&[]) }],
        PseudonymKey::derive(b"s", "p"),
        Limits::default(),
    );
    assert!(matches!(r, Err(SandboxError::Dp(_))));
    // The selection's δ for display.
    let d = DpPolicy::new(eps("1")).selection_delta(10);
    assert!(d > 0.0 && d < 1e-3, "{d}");
}

#[tokio::test]
async fn outer_joins_to_public_tables_make_up_no_units() {
    // clinics(clinic, city) has no personal data; clinic D (in 丽江) has no visits at all.
    let schema = Arc::new(Schema::new(vec![
        Field::new("clinic", DataType::Utf8, false),
        Field::new("city", DataType::Utf8, false),
    ]));
    let cols: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec!["A", "B", "C", "D"])),
        Arc::new(StringArray::from(vec!["昆明", "昆明", "大理", "丽江"])),
    ];
    let clinics = Arc::new(
        MemTable::try_new(schema.clone(), vec![vec![RecordBatch::try_new(schema, cols).unwrap()]]).unwrap(),
    );
    let public = TablePolicy {
        name: "clinics".into(),
        unit: None,
        unit_per_row: false,
        k: 10,
        columns: vec![ColumnPolicy::new("clinic", Open, false), ColumnPolicy::new("city", Open, false)],
        row_filter: None,
        dp: None,
    };
    let dp = DpPolicy::new(eps("1")).bound("fee", 0, 500);
    for seed in 0..10 {
        let sb = Sandbox::new(
            vec![
                Dataset { policy: visits_policy(dp.clone()), provider: visits(&[]) },
                Dataset { policy: public.clone(), provider: clinics.clone() },
            ],
            PseudonymKey::derive(b"s", "p"),
            Limits::default(),
        )
        .unwrap()
        .with_rng(Box::new(SeededRng::new(seed)));
        let o = sb
            .run(
                "SELECT c.city, COUNT(*) AS n FROM clinics c LEFT JOIN visits v ON c.clinic = v.clinic GROUP BY c.city",
                &Cancel::default(),
            )
            .await
            .unwrap();
        let r = rows(&o);
        assert!(!r.contains_key("丽江"), "a group of public rows alone is no group of units");
        assert!(r.contains_key("大理"));
        assert_eq!(o.epsilon, Some(eps("2")));
    }
}
