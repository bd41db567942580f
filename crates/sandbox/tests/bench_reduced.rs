//! The sandbox benchmark (P1) at reduced size, run by CI with the test build. It prints the figures and
//! checks what must hold at any size: the policy path releases exactly the groups the hand-written
//! protection releases, and costs the same order of time. (Full-size figures: `yunshu bench sandbox`.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use yunshu_sandbox::bench;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_benchmark_reduced() {
    let size = bench::Size::reduced();
    let data = bench::generate(size, 2).unwrap();
    let figures = bench::run(&data, 3).await.unwrap();
    println!("{}", bench::report(size, data.rows, 3, &figures));
    assert_eq!(figures.len(), 5);
    for f in &figures {
        assert_eq!(
            f.rows_a, f.rows_b,
            "{}: the policy path and the hand-written protection release the same groups",
            f.name
        );
        assert!(f.rows_a > 0, "{}", f.name);
        // At this size the fixed cost of planning and checking dominates, and test builds are
        // unoptimised: only a sanity bound here; the goal is judged at full size (`yunshu bench sandbox`).
        assert!(f.time_ratio() < 20.0, "{}: (a)/(b) = {:.2}", f.name, f.time_ratio());
    }
}

/// Each benchmark query runs with one per-value gate right above its aggregation (the people ⋈ payments
/// join of Q4 is on the unit, so one unit class serves both tables), no distinct count of its own, and
/// every table read through its policy scan.
#[tokio::test]
async fn benchmark_plans_have_one_gate_and_policy_scans() {
    let size = bench::Size { people: 2000, payments_per_person: 5, enterprises: 200 };
    let data = bench::generate(size, 2).unwrap();
    let sb = bench::protected_sandbox(&data).unwrap();
    for (name, q, _) in bench::QUERIES {
        let plan = sb.plan_for_platform(q).await.unwrap();
        println!("== {name}\n{plan}");
        assert_eq!(plan.matches("YunshuValueGate").count(), 1, "{name}");
        assert_eq!(
            plan.matches("__yunshu_gate0(").count(),
            2,
            "{name}: one statistics aggregate, partial and final"
        );
        assert!(
            !plan.contains("__yunshu_gate0(payments.__yunshu_unit, people.__yunshu_unit"),
            "{name}: one class"
        );
        let scans = if *name == "Q1" || *name == "Q2" { 1 } else { 2 };
        assert_eq!(plan.matches("YunshuPolicyScan").count(), scans, "{name}");
        let final_agg =
            plan.lines().find(|l| l.contains("mode=Final") || l.contains("mode=Single")).unwrap_or("");
        let own = if *name == "Q5" { 1 } else { 0 };
        assert!(final_agg.matches("count(DISTINCT").count() <= own, "{name}: {final_agg}");
    }
}
