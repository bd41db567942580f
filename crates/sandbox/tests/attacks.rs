//! The attack suite: at least one case per class of sandbox.md's threat model. Every case asserts that
//! no raw value of a protected column reaches the developer — not in results, not in error messages.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use yunshu_sandbox::{Cancel, Limits, SandboxError};

/// Runs `sql` and checks that neither the result nor the error carries a secret.
async fn attempt(f: &Fixture, sql: &str) -> Result<yunshu_sandbox::Outcome, SandboxError> {
    let sb = sandbox(f);
    let r = sb.run(sql, &Cancel::default()).await;
    match &r {
        Ok(o) => {
            for cell in cells(&o.batches) {
                for s in &f.secrets {
                    assert!(!cell.contains(s.as_str()), "{sql}: output cell {cell} leaks {s}");
                }
            }
        }
        Err(e) => {
            let texts = [e.to_string(), e.message_zh()];
            for t in texts {
                for s in &f.secrets {
                    assert!(!t.contains(s.as_str()), "{sql}: error {t} leaks {s}");
                }
            }
        }
    }
    r
}

async fn refused(f: &Fixture, sql: &str) -> SandboxError {
    match attempt(f, sql).await {
        Ok(o) => panic!("{sql}: expected a refusal, got {} rows", o.num_rows()),
        Err(e) => e,
    }
}

fn is_policy(e: &SandboxError) -> bool {
    matches!(e, SandboxError::Policy(_))
}

#[tokio::test]
async fn error_messages_never_carry_values() {
    let f = fixture();
    // A failing cast would echo the value: casts of protected text are refused (TRY_CAST is offered).
    let e = refused(&f, "SELECT COUNT(*) FROM people WHERE CAST(occupation AS INT) = 1").await;
    assert!(is_policy(&e), "{e:?}");
    // Division by a protected value: a division-by-zero error would say which row.
    let e = refused(&f, "SELECT SUM(salary / (salary - 98765.43)) FROM people").await;
    assert!(is_policy(&e), "{e:?}");
    // Errors raised while data is read are generic.
    assert!(!SandboxError::Execution.message_zh().contains("Cast"));
    // Unknown columns name only the granted schema, never the hidden fields' values.
    let e = refused(&f, "SELECT COUNT(*) FROM people WHERE id_card = '5301'").await;
    assert!(matches!(e, SandboxError::Sql(_)), "{e:?}");
    // TRY_CAST is allowed and leaks nothing (the one rare person is below k anyway).
    let o = attempt(&f, "SELECT COUNT(*) AS n FROM people WHERE TRY_CAST(occupation AS INT) IS NULL")
        .await
        .unwrap();
    assert_eq!(o.num_rows(), 1);
}

#[tokio::test]
async fn like_and_range_bisection_on_masked_columns_is_refused() {
    let f = fixture();
    for sql in [
        "SELECT COUNT(*) FROM people WHERE id_card LIKE '5301%'",
        "SELECT COUNT(*) FROM people WHERE birth_date < DATE '1990-01-01'",
        "SELECT COUNT(*) FROM people WHERE birth_date BETWEEN DATE '1990-01-01' AND DATE '1990-06-30'",
        "SELECT COUNT(*) FROM people WHERE CAST(birth_date AS VARCHAR) LIKE '1990%'",
        "SELECT COUNT(*) FROM people WHERE region LIKE '5306%'",
        "SELECT COUNT(*) FROM people WHERE region > '530600'",
        "SELECT COUNT(*) FROM people WHERE salary > 90000",
        "SELECT SUM(CASE WHEN salary > 50000 THEN 1 ELSE 0 END) FROM people",
        "SELECT SUM(salary * salary) FROM people",
        "SELECT SUM(abs(salary - 5000)) FROM people",
        "SELECT SUM(greatest(salary - 90000, 0)) FROM people",
        "SELECT region, COUNT(*) FROM people GROUP BY region HAVING MAX(salary) > 90000",
    ] {
        let e = refused(&f, sql).await;
        assert!(matches!(e, SandboxError::Policy(_) | SandboxError::Sql(_)), "{sql}: {e:?}");
    }
    // LIKE on a non-sensitive dimension is allowed, but a group of one is suppressed.
    let o = attempt(&f, "SELECT COUNT(*) AS n FROM people WHERE occupation LIKE 'OCC-R%'").await.unwrap();
    assert_eq!(o.num_rows(), 0);
    assert_eq!(o.suppressed, 1);
}

#[tokio::test]
async fn small_groups_are_suppressed_and_counted_without_saying_which() {
    let f = fixture();
    let o = attempt(&f, "SELECT region, COUNT(*) AS n, AVG(salary) AS s FROM people GROUP BY region")
        .await
        .unwrap();
    assert_eq!(o.num_rows(), 3);
    assert_eq!(o.suppressed, 1);
    assert!(!cells(&o.batches).iter().any(|c| c == RARE_REGION));
    assert!(o.gates.iter().flat_map(|g| &g.values).all(|v| v.units >= 10));
    // The suppressed count does not depend on HAVING (it is counted right above the aggregation).
    for having in ["> 0", "> 1e12"] {
        let sql = format!(
            "SELECT COUNT(*) AS n FROM people WHERE region = '{RARE_REGION}' HAVING SUM(salary) {having}"
        );
        let o = attempt(&f, &sql).await.unwrap();
        assert_eq!(o.num_rows(), 0);
        assert_eq!(o.suppressed, 1, "{sql}");
    }
    // One row per unit in a join: each payment counts, but the threshold counts people.
    let o = attempt(
        &f,
        &format!("SELECT p.region, COUNT(*) AS n FROM payments p WHERE p.region = '{RARE_REGION}' GROUP BY p.region"),
    )
    .await
    .unwrap();
    assert_eq!(o.num_rows(), 0, "five payments of one person are one unit");
    // Value-returning aggregates, raw rows, windows and DISTINCT on protected data.
    for sql in [
        "SELECT MAX(salary) FROM people",
        "SELECT MEDIAN(salary) FROM people",
        "SELECT region, MIN(birth_date) FROM people GROUP BY region",
        "SELECT array_agg(salary) FROM people",
        "SELECT string_agg(occupation, ',') FROM people",
        "SELECT first_value(salary) FROM people",
        "SELECT * FROM people",
        "SELECT region FROM people",
        "SELECT DISTINCT occupation FROM people",
        "SELECT region, RANK() OVER (ORDER BY salary) FROM people",
        "SELECT region, COUNT(*) FROM people GROUP BY ROLLUP(region)",
        "SELECT SUM(DISTINCT salary) FROM people",
    ] {
        let e = refused(&f, sql).await;
        assert!(is_policy(&e), "{sql}: {e:?}");
    }
}

#[tokio::test]
async fn differencing_pairs_reveal_nothing_through_the_threshold_or_are_flagged() {
    use yunshu_sandbox::differencing::{Earlier, against};
    let f = fixture();
    // The classic pair: everyone, and everyone but the rare region. Both groups are large; their
    // contributions differ for one unit.
    let a = attempt(&f, "SELECT COUNT(*) AS n, SUM(salary) AS s FROM people").await.unwrap();
    let b = attempt(
        &f,
        &format!("SELECT COUNT(*) AS n, SUM(salary) AS s FROM people WHERE region <> '{RARE_REGION}'"),
    )
    .await
    .unwrap();
    assert_eq!(a.num_rows(), 1);
    assert_eq!(b.num_rows(), 1);
    let earlier = [Earlier { output: 1, values: a.value_prints() }];
    let (found, _) = against(&b.value_prints(), &earlier);
    assert!(!found.is_empty() && found.iter().all(|x| x.units == 1), "{found:?}");
    // Two unrelated large queries are not a pair.
    let c = attempt(&f, "SELECT COUNT(*) AS n FROM people WHERE gender = '男'").await.unwrap();
    assert!(against(&c.value_prints(), &earlier).0.is_empty());
    // The same contributions again are not a pair either (nothing new is learnt from the difference).
    let a2 = attempt(&f, "SELECT SUM(salary) AS m FROM people").await.unwrap();
    assert!(against(&a2.value_prints(), &earlier).0.is_empty());
}

#[tokio::test]
async fn joins_on_masked_keys_are_refused_and_keys_are_pseudonymised() {
    let f = fixture();
    for sql in [
        "SELECT COUNT(*) FROM people p JOIN payments q ON p.salary = q.amount",
        "SELECT COUNT(*) FROM people p JOIN (VALUES (5)) v(x) ON p.person_id = v.x",
        "SELECT p.person_id, COUNT(*) FROM people p JOIN payments q ON p.person_id = q.person_id GROUP BY p.person_id",
        "SELECT COUNT(*) FROM people WHERE person_id = 1",
        "SELECT COUNT(*) FROM people WHERE person_id + 0 = 1",
        "SELECT SUM(person_id) FROM people",
        "SELECT COUNT(*) FROM people p JOIN payments q ON p.id_card = q.region",
        "SELECT COUNT(*) FROM people p JOIN payments q ON p.person_id = q.region",
    ] {
        let e = refused(&f, sql).await;
        assert!(matches!(e, SandboxError::Policy(_) | SandboxError::Sql(_)), "{sql}: {e:?}");
    }
    // Joining on two keys works; distinct people are counted on pseudonyms.
    let o = attempt(
        &f,
        "SELECT q.month, COUNT(DISTINCT p.person_id) AS people, SUM(q.amount) AS total \
         FROM people p JOIN payments q ON p.person_id = q.person_id GROUP BY q.month ORDER BY q.month",
    )
    .await
    .unwrap();
    assert_eq!(o.num_rows(), 5);
    let c = cells(&o.batches);
    assert!(c.contains(&PEOPLE.to_string()), "{c:?}");
}

#[tokio::test]
async fn explain_information_schema_files_and_statements_are_unavailable() {
    let f = fixture();
    for sql in [
        "EXPLAIN SELECT region, COUNT(*) FROM people GROUP BY region",
        "EXPLAIN ANALYZE SELECT region, COUNT(*) FROM people GROUP BY region",
    ] {
        assert_eq!(refused(&f, sql).await, SandboxError::Explain, "{sql}");
    }
    for sql in [
        "SELECT * FROM information_schema.tables",
        "SELECT * FROM information_schema.columns",
        "SHOW TABLES",
        "SHOW COLUMNS FROM people",
        "DESCRIBE people",
        "SELECT * FROM '/etc/passwd'",
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM generate_series(1, 3)",
        "CREATE TABLE t AS SELECT * FROM people",
        "CREATE EXTERNAL TABLE t STORED AS CSV LOCATION '/etc/passwd'",
        "INSERT INTO people SELECT * FROM people",
        "COPY (SELECT region FROM people) TO '/tmp/out.csv'",
        "SET datafusion.execution.batch_size = 1",
        "DROP TABLE people",
        "CREATE VIEW v AS SELECT * FROM people",
    ] {
        let e = refused(&f, sql).await;
        assert!(
            matches!(
                e,
                SandboxError::Statement
                    | SandboxError::Sql(_)
                    | SandboxError::Policy(_)
                    | SandboxError::Explain
            ),
            "{sql}: {e:?}"
        );
    }
}

#[tokio::test]
async fn resource_exhaustion_is_capped_and_cancellable() {
    let f = fixture();
    // Memory: a tiny cap refuses a large join instead of taking the server down.
    let sb = sandbox_with(&f, people_policy(), Limits { memory_bytes: 1024, ..Limits::default() });
    let r = sb
        .run(
            "SELECT a.month, COUNT(*) AS n FROM payments a JOIN payments b ON a.month = b.month GROUP BY a.month",
            &Cancel::default(),
        )
        .await;
    assert!(matches!(r, Err(SandboxError::Memory)), "{r:?}");
    // Time: a query over its time cap is stopped.
    let sb =
        sandbox_with(&f, people_policy(), Limits { timeout: Duration::from_millis(1), ..Limits::default() });
    let r = sb
        .run(
            "SELECT a.month, COUNT(*) AS n FROM payments a JOIN payments b ON a.month = b.month \
             JOIN payments c ON b.month = c.month GROUP BY a.month",
            &Cancel::default(),
        )
        .await;
    assert!(matches!(r, Err(SandboxError::Timeout)), "{r:?}");
    // Cancellation.
    let sb = sandbox(&f);
    let cancel = Cancel::default();
    cancel.cancel();
    let r = sb.run("SELECT region, COUNT(*) AS n FROM people GROUP BY region", &cancel).await;
    assert!(matches!(r, Err(SandboxError::Cancelled)), "{r:?}");
    // Deep nesting is a parse error, not a stack overflow.
    let deep =
        format!("SELECT COUNT(*) AS n FROM people WHERE {}1 = 1{}", "(".repeat(5000), ")".repeat(5000));
    assert!(sb.run(&deep, &Cancel::default()).await.is_err());
}

#[tokio::test]
async fn row_scope_applies_below_every_operator_and_sizes_stay_hidden() {
    let f = fixture();
    let mut p = people_policy();
    p.row_filter = Some("region = '530102'".into());
    let sb = sandbox_with(&f, p, Limits::default());
    let o =
        sb.run("SELECT gender, COUNT(*) AS n FROM people GROUP BY gender", &Cancel::default()).await.unwrap();
    let total: i64 = o
        .batches
        .iter()
        .map(|b| {
            b.column(1)
                .as_any()
                .downcast_ref::<arrow::array::Int64Array>()
                .unwrap()
                .iter()
                .flatten()
                .sum::<i64>()
        })
        .sum();
    assert_eq!(total, 100, "only the granted region's rows are seen");
    // A join cannot reach rows outside the scope through the other table.
    let o = sb
        .run(
            "SELECT q.region, COUNT(DISTINCT p.person_id) AS n FROM payments q JOIN people p \
             ON p.person_id = q.person_id GROUP BY q.region",
            &Cancel::default(),
        )
        .await
        .unwrap();
    assert_eq!(o.num_rows(), 1);
}

#[tokio::test]
async fn allowed_queries_work() {
    let f = fixture();
    for sql in [
        "SELECT region, COUNT(*) AS n, SUM(salary) AS total FROM people GROUP BY region",
        "SELECT gender, (EXTRACT(YEAR FROM birth_date) / 10) * 10 AS decade, AVG(salary) AS s FROM people GROUP BY 1, 2",
        "SELECT occupation, COUNT(*) AS n FROM people WHERE gender = '女' GROUP BY occupation ORDER BY n DESC LIMIT 2",
        "SELECT COUNT(*) AS n FROM (SELECT * FROM people) t WHERE t.gender IN ('男', '女')",
        "SELECT AVG(total) AS m FROM (SELECT region, SUM(salary) AS total FROM people GROUP BY region) r",
        "SELECT p.region, SUM(q.amount) AS paid FROM people p, payments q WHERE p.person_id = q.person_id GROUP BY p.region",
        "SELECT date_trunc('month', month) AS m, SUM(amount * 1.1 + 2) AS t FROM payments WHERE month >= DATE '2025-02-01' GROUP BY 1",
    ] {
        let o = attempt(&f, sql).await;
        assert!(o.is_ok(), "{sql}: {o:?}");
        let o = o.unwrap();
        assert!(o.num_rows() > 0, "{sql}");
        assert!(o.gates.iter().flat_map(|g| &g.values).all(|v| v.units >= 10), "{sql}");
    }
}

/// Datasets are read from the platform's object store as Parquet, through the same policy.
#[tokio::test]
async fn parquet_datasets_from_an_object_store_go_through_the_policy() {
    use object_store::{ObjectStore, ObjectStoreExt};
    let f = fixture();
    let store: std::sync::Arc<dyn ObjectStore> = std::sync::Arc::new(object_store::memory::InMemory::new());
    let open =
        yunshu_sandbox::Sandbox::open(vec![("people".into(), f.people.clone())], Limits::default()).unwrap();
    let batches = open.run_open("SELECT * FROM people", &Cancel::default()).await.unwrap();
    let mut buf = Vec::new();
    let mut w = parquet::arrow::ArrowWriter::try_new(&mut buf, batches[0].schema(), None).unwrap();
    for b in &batches {
        w.write(b).unwrap();
    }
    w.close().unwrap();
    store.put(&object_store::path::Path::from("resources/7/v1.parquet"), buf.into()).await.unwrap();

    let sb = yunshu_sandbox::Sandbox::new(
        vec![],
        yunshu_sandbox::PseudonymKey::derive(b"k", "p"),
        Limits::default(),
    )
    .unwrap();
    sb.register_store(store).unwrap();
    let t = sb.parquet_table("resources/7/v1.parquet").await.unwrap();
    sb.add_dataset(
        yunshu_sandbox::Dataset { policy: people_policy(), provider: t },
        &yunshu_sandbox::PseudonymKey::derive(b"k", "p"),
    )
    .unwrap();
    let o =
        sb.run("SELECT region, COUNT(*) AS n FROM people GROUP BY region", &Cancel::default()).await.unwrap();
    assert_eq!(o.num_rows(), 3);
    assert_eq!(o.suppressed, 1);
    assert!(matches!(sb.run("SELECT name FROM people", &Cancel::default()).await, Err(SandboxError::Sql(_))));
}
