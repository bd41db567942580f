//! The leak classes of the independent attack run (issue: "可用不可见 must hold"), each with several
//! variants: narrowed aggregates (FILTER, CASE, nulls, inside joins and subqueries), comparisons of
//! gated values, differencing by rows within one output and across outputs, complementary suppression,
//! dominance on several rows per person, and moments at small n.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use yunshu_sandbox::differencing::{Earlier, against};
use yunshu_sandbox::gate::Suppression;
use yunshu_sandbox::{Cancel, Outcome, Sandbox};

async fn run(sb: &Sandbox, secrets: &[String], sql: &str) -> Outcome {
    let o = sb.run(sql, &Cancel::default()).await.unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    for cell in cells(&o.batches) {
        for s in secrets {
            assert!(!cell.contains(s.as_str()), "{sql}: cell {cell} is a planted secret {s}");
        }
    }
    o
}

fn suppressed(o: &Outcome, why: Suppression) -> u64 {
    o.gates.iter().flat_map(|g| &g.suppressed).filter(|(_, w, _)| *w == why).map(|(_, _, n)| *n).sum()
}

fn setup() -> (Sandbox, Vec<String>) {
    let f = fixture();
    let (social, secrets) = social();
    (social_sandbox(&f, social, "project-1"), secrets)
}

#[tokio::test]
async fn a_filter_on_any_aggregate_counts_its_own_contributors() {
    let (sb, secrets) = setup();
    for employer in [SOLO, TRIO] {
        for agg in [
            "COUNT(*)",
            "COUNT(amount)",
            "COUNT(DISTINCT person_id)",
            "SUM(base)",
            "AVG(base)",
            "SUM(amount)",
            "VAR(base)",
            "VAR_POP(base)",
            "STDDEV(base)",
            "STDDEV_POP(base)",
        ] {
            let sql = format!(
                "SELECT COUNT(DISTINCT person_id) AS everyone, {agg} FILTER (WHERE employer = '{employer}') AS v \
                 FROM social"
            );
            let o = run(&sb, &secrets, &sql).await;
            assert_eq!(o.num_rows(), 1, "{sql}");
            assert_eq!(single(&o.batches, "everyone"), Some(301.0), "{sql}");
            assert_eq!(single(&o.batches, "v"), None, "{sql}: a value of fewer than k people was released");
            assert!(suppressed(&o, Suppression::Threshold) >= 1, "{sql}");
        }
    }
    // A month only one person paid in, narrowed by FILTER next to a count of everyone.
    let o = run(
        &sb,
        &secrets,
        "SELECT COUNT(DISTINCT person_id) AS n, SUM(amount) FILTER (WHERE month = DATE '2026-06-01') AS june \
         FROM social",
    )
    .await;
    assert_eq!(single(&o.batches, "june"), None);
    // The same narrowing on a large employer set passes.
    let o = run(
        &sb,
        &secrets,
        &format!("SELECT SUM(base) FILTER (WHERE employer NOT IN ('{SOLO}', '{TRIO}')) AS most FROM social"),
    )
    .await;
    assert!(single(&o.batches, "most").is_some());
}

#[tokio::test]
async fn case_and_null_narrowing_count_their_own_contributors() {
    let (sb, secrets) = setup();
    for v in [
        format!("SUM(CASE WHEN employer = '{SOLO}' THEN 1 ELSE 0 END)"),
        format!("COUNT(CASE WHEN employer = '{TRIO}' THEN 1 END)"),
        format!("AVG(CASE WHEN employer = '{TRIO}' THEN 1 ELSE 0 END)"),
        format!("SUM(base + CASE WHEN employer = '{SOLO}' THEN 0 END)"),
        "AVG(amount + CASE WHEN month = DATE '2026-06-01' THEN 0 END)".to_owned(),
        format!("SUM(COALESCE(CASE WHEN employer = '{SOLO}' THEN 0 END, 0) + base * 0 + 1)"),
    ] {
        let sql = format!("SELECT COUNT(*) AS n, {v} AS v FROM social");
        let o = run(&sb, &secrets, &sql).await;
        // The last one is a count of everyone dressed up (every row contributes 1): released.
        if v.starts_with("SUM(COALESCE") {
            assert!(single(&o.batches, "v").is_some(), "{sql}");
        } else {
            assert_eq!(single(&o.batches, "v"), None, "{sql}");
        }
    }
}

#[tokio::test]
async fn narrowing_inside_joins_and_subqueries_is_gated_too() {
    let (sb, secrets) = setup();
    for sql in [
        format!(
            "SELECT p.gender, COUNT(*) AS n, SUM(s.base) FILTER (WHERE s.employer = '{SOLO}') AS v \
             FROM social s JOIN people p ON s.person_id = p.person_id GROUP BY p.gender"
        ),
        format!(
            "SELECT v FROM (SELECT COUNT(*) AS n, SUM(base) FILTER (WHERE employer = '{TRIO}') AS v FROM social) t"
        ),
        format!(
            "SELECT t.n, t.v FROM (SELECT month, COUNT(*) AS n, COUNT(DISTINCT person_id) FILTER \
             (WHERE employer = '{TRIO}') AS v FROM social GROUP BY month) t WHERE t.v IS NULL OR t.v > 0"
        ),
    ] {
        let o = run(&sb, &secrets, &sql).await;
        let col = o.schema.index_of("v").unwrap();
        for b in &o.batches {
            assert_eq!(b.column(col).null_count(), b.num_rows(), "{sql}: a narrowed value was released");
        }
    }
}

#[tokio::test]
async fn comparing_gated_values_inside_one_output_is_a_differencing_pair_for_review() {
    let (sb, secrets) = setup();
    // The bisection of the attack run: the outer query compares two large aggregates whose difference
    // is one person's June payment. The output goes to the reviewers with the pair flagged.
    let o = run(
        &sb,
        &secrets,
        "SELECT CASE WHEN a.s - b.s > 1000 THEN 0 ELSE 1 END AS bit FROM \
         (SELECT SUM(amount) AS s FROM social) a, \
         (SELECT SUM(amount) AS s FROM social WHERE month < DATE '2026-06-01') b",
    )
    .await;
    assert_eq!(o.num_rows(), 1);
    assert!(o.findings.iter().any(|f| f.units == 1), "{:?}", o.findings);
    // Two FILTERed aggregates in one row, the same way.
    let o = run(
        &sb,
        &secrets,
        "SELECT SUM(amount) AS all_months, SUM(amount) FILTER (WHERE month <> DATE '2026-06-01') AS but_june \
         FROM social",
    )
    .await;
    assert!(o.findings.iter().any(|f| f.units == 1), "{:?}", o.findings);
}

#[tokio::test]
async fn differencing_is_judged_on_contributions_across_outputs_and_projects() {
    let f = fixture();
    let (social_t, secrets) = social();
    let one = social_sandbox(&f, social_t.clone(), "project-1");
    let two = social_sandbox(&f, social_t, "project-2");
    // Same 301 people in both: a comparison of the people would pass; the contributions differ for one.
    let total = run(&one, &secrets, "SELECT SUM(amount) AS s FROM social").await;
    let but_june =
        run(&two, &secrets, "SELECT SUM(amount) AS s FROM social WHERE month < DATE '2026-06-01'").await;
    let earlier = [Earlier { output: 11, values: total.value_prints() }];
    let (found, _) = against(&but_june.value_prints(), &earlier);
    assert_eq!(found.iter().map(|x| x.units).collect::<Vec<_>>(), vec![1], "{found:?}");
    // Five months' bases of one person split over two projects: total base vs total without SOLO.
    let a = run(&one, &secrets, "SELECT SUM(base) AS s FROM social").await;
    let b =
        run(&two, &secrets, &format!("SELECT SUM(base) AS s FROM social WHERE employer <> '{SOLO}'")).await;
    let (found, _) = against(&b.value_prints(), &[Earlier { output: 12, values: a.value_prints() }]);
    assert!(found.iter().any(|x| x.units == 1), "{found:?}");
    // Unrelated outputs are not pairs.
    let c = run(&two, &secrets, "SELECT SUM(amount) AS s FROM social WHERE month = DATE '2026-02-01'").await;
    assert!(against(&c.value_prints(), &earlier).0.is_empty());
}

#[tokio::test]
async fn a_table_with_a_suppressed_cell_gets_complementary_suppression() {
    let (sb, secrets) = setup();
    let monthly = run(&sb, &secrets, "SELECT month, SUM(amount) AS s FROM social GROUP BY month").await;
    // June (one person) is dropped; one more month is nulled so that the total minus the released
    // months covers at least k people.
    assert_eq!(monthly.suppressed, 1);
    assert_eq!(monthly.num_rows(), 5);
    assert_eq!(suppressed(&monthly, Suppression::Secondary), 1);
    let col = monthly.schema.index_of("s").unwrap();
    assert_eq!(monthly.batches.iter().map(|b| b.column(col).null_count()).sum::<usize>(), 1);
    // The total, released before or after, gives nothing away against the released months.
    let total = run(&sb, &secrets, "SELECT SUM(amount) AS s FROM social").await;
    let (found, _) = against(&total.value_prints(), &[Earlier { output: 1, values: monthly.value_prints() }]);
    assert!(found.is_empty(), "{found:?}");
    let (found, _) = against(&monthly.value_prints(), &[Earlier { output: 2, values: total.value_prints() }]);
    assert!(found.is_empty(), "{found:?}");
    // A table without a secondary suppression (its own margin was safe) but with an earlier margin
    // over all months but one is caught as margin minus cells.
    let no_may =
        run(&sb, &secrets, "SELECT SUM(amount) AS s FROM social WHERE month <> DATE '2026-05-01'").await;
    let upto_may = run(
        &sb,
        &secrets,
        "SELECT month, SUM(amount) AS s FROM social WHERE month < DATE '2026-06-01' AND month <> DATE '2026-05-01' GROUP BY month",
    )
    .await;
    let (found, _) =
        against(&upto_may.value_prints(), &[Earlier { output: 3, values: no_may.value_prints() }]);
    assert!(
        found.iter().any(|x| x.units == 1),
        "margin over Jan–Apr plus June minus the four months: {found:?}"
    );
}

#[tokio::test]
async fn dominance_and_p_ratio_run_on_per_person_sums_with_several_rows_each() {
    let (sb, secrets) = setup();
    let o = run(
        &sb,
        &secrets,
        "SELECT employer, COUNT(DISTINCT person_id) AS n, SUM(base) AS total, AVG(base) AS mean, \
         VAR(base) AS var FROM social GROUP BY employer",
    )
    .await;
    // The employer one person dominates (100 000 of about 110 000) has its sums suppressed.
    let key = o.schema.index_of("employer").unwrap();
    let total = o.schema.index_of("total").unwrap();
    let var = o.schema.index_of("var").unwrap();
    let mut seen_dominated = false;
    let mut seen_ten = false;
    for b in &o.batches {
        let keys = arrow::compute::cast(b.column(key), &arrow::datatypes::DataType::Utf8).unwrap();
        let keys = keys.as_any().downcast_ref::<arrow::array::StringArray>().unwrap();
        for r in 0..b.num_rows() {
            match keys.value(r) {
                k if k == DOMINATED => {
                    seen_dominated = true;
                    assert!(b.column(total).is_null(r), "a dominated sum was released");
                    assert!(b.column(var).is_null(r), "a dominated variance was released");
                }
                k if k == TEN => seen_ten = true,
                k => assert!(k != SOLO && k != TRIO, "an employer of fewer than k people: {k}"),
            }
        }
    }
    assert!(seen_dominated && seen_ten);
    assert!(suppressed(&o, Suppression::Dominance) >= 2);
    // Ten people, one holding 41 000 of 86 000: count, mean and variance of ten would let the outlier
    // be estimated — the variance at small n is flagged for review.
    assert!(o.gates.iter().flat_map(|g| &g.moments).any(|(c, n)| c.starts_with("var(") && *n >= 1));
}

#[tokio::test]
async fn the_gate_does_not_depend_on_having_order_or_limit() {
    let (sb, secrets) = setup();
    for tail in ["", " HAVING SUM(amount) > 0", " ORDER BY s DESC LIMIT 2", " HAVING SUM(amount) > 1e15"] {
        let sql = format!("SELECT month, SUM(amount) AS s FROM social GROUP BY month{tail}");
        let o = run(&sb, &secrets, &sql).await;
        assert_eq!(o.suppressed, 1, "{sql}");
        assert_eq!(suppressed(&o, Suppression::Secondary), 1, "{sql}");
    }
}
