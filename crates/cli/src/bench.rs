//! `yunshu bench audit`: durable audit appends per second (each append its own committed transaction,
//! as a state change would be) with 1, 8 and 64 concurrent writers, against the baseline of the same
//! database committing plain one-row transactions, then the verification speed of the whole chain.

use std::sync::Arc;
use std::time::Instant;

use clap::Subcommand;
use serde_json::json;
use yunshu_audit::{AuditKey, Verifier, VerifyMode};
use yunshu_store::{AuditCtx, Change, Store};

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Audit log append rate and verification speed (P4).
    Audit {
        /// Appends per writer-count run.
        #[arg(long, default_value_t = 2000)]
        records: usize,
        /// A PostgreSQL URL of an existing database (e.g. postgres://postgres@127.0.0.1/postgres):
        /// a scratch database is created beside it, measured, and dropped. SQLite is always measured.
        #[arg(long)]
        postgres: Option<String>,
    },
    /// Ingestion into the SM4-encrypted store and its full scan, against plain Parquet and the SM4
    /// limit (P2, P3). 10M rows (≈ 1 GB of CSV) is the full size.
    Ingest {
        #[arg(long, default_value_t = 1_000_000)]
        rows: u64,
        /// Alternating runs of each path; the medians are reported.
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
    /// The sandbox (P1): the developer's query through the whole policy layer (a), the same query
    /// protected by hand (b) and unprotected (c), on generated people/payments/enterprises. The full
    /// size is 2M people, 10M payments, 200k enterprises.
    Sandbox {
        #[arg(long, default_value_t = 2_000_000)]
        people: usize,
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// One query only (Q1 … Q5).
        #[arg(long)]
        only: Option<String>,
    },
}

pub async fn run(cmd: BenchCommand) -> Result<(), String> {
    match cmd {
        BenchCommand::Ingest { rows, runs } => crate::bench_ingest::run(rows, runs).await,
        BenchCommand::Sandbox { people, runs, only } => {
            use yunshu_sandbox::bench;
            let size = bench::Size { people, payments_per_person: 5, enterprises: (people / 10).max(100) };
            let partitions = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
            let started = Instant::now();
            let data = bench::generate(size, partitions).map_err(|e| e.message_zh())?;
            println!("generated {} payments in {:.1} s", data.rows, started.elapsed().as_secs_f64());
            let figures = bench::run_only(&data, runs, only.as_deref())
                .await
                .map_err(|e| format!("{}: {}", e.code(), e.message_zh()))?;
            print!("{}", bench::report(size, data.rows, runs, &figures));
            Ok(())
        }
        BenchCommand::Audit { records, postgres } => {
            let dir = std::env::temp_dir().join(format!("yunshu-bench-{}", std::process::id()));
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            let url = format!("sqlite://{}?mode=rwc", dir.join("bench.db").display());
            audit_bench("SQLite (WAL, synchronous=FULL)", &url, records).await?;
            let _ = std::fs::remove_dir_all(&dir);
            if let Some(base) = postgres {
                let name = format!("yunshu_bench_{}", std::process::id());
                let url =
                    yunshu_store::scratch::create_postgres(&base, &name).await.map_err(|e| e.to_string())?;
                let r = audit_bench("PostgreSQL", &url, records).await;
                yunshu_store::scratch::drop_postgres(&base, &name).await.map_err(|e| e.to_string())?;
                r?;
            }
            Ok(())
        }
    }
}

async fn audit_bench(label: &str, url: &str, records: usize) -> Result<(), String> {
    let key = Arc::new(AuditKey::generate().map_err(|e| e.to_string())?);
    let store = Store::open(url, key.clone()).await.map_err(|e| e.to_string())?;
    store.create_bench_table().await.map_err(|e| e.to_string())?;
    println!("== {label}: {records} durable commits per run ==");
    println!("{:>8} {:>16} {:>20} {:>8}", "writers", "audit appends/s", "baseline commits/s", "ratio");
    let mut next_id = 0i64;
    for writers in [1usize, 8, 64] {
        // Alternate: baseline, then audited appends, on the same database in the same run.
        let base = plain_rate(&store, writers, records, &mut next_id).await?;
        let audit = audit_rate(&store, writers, records).await?;
        println!("{writers:>8} {audit:>16.0} {base:>20.0} {:>8.2}", audit / base);
    }
    let started = Instant::now();
    let mut v = Verifier::new(VerifyMode::Full(&key), Vec::new());
    let mut after = 0;
    loop {
        let batch = store.audit_batch(after, 5_000).await.map_err(|e| e.to_string())?;
        let Some(last) = batch.last() else { break };
        after = last.record.seq;
        for r in &batch {
            v.push(r).map_err(|e| e.to_string())?;
        }
    }
    let report = v.finish().map_err(|e| e.to_string())?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "verify (read + check) {} records in {:.2} s: {:.0} records/s, {:.1} MB/s",
        report.records,
        secs,
        report.records as f64 / secs,
        report.bytes_hashed as f64 / secs / 1e6
    );
    store.pool().close().await;
    Ok(())
}

async fn audit_rate(store: &Store, writers: usize, records: usize) -> Result<f64, String> {
    let started = Instant::now();
    let per = records / writers;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..per {
                let ctx = AuditCtx { operation_id: format!("bench-{w}-{i}"), ..AuditCtx::default() };
                let mut tx = store.begin(chrono::Utc::now(), &ctx).await.map_err(|e| e.to_string())?;
                tx.audit(Change::ok("bench.append", "bench", i, json!({"writer": w, "i": i})))
                    .await
                    .map_err(|e| e.to_string())?;
                tx.commit().await.map_err(|e| e.to_string())?;
            }
            Ok::<(), String>(())
        }));
    }
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
    }
    Ok((per * writers) as f64 / started.elapsed().as_secs_f64())
}

async fn plain_rate(store: &Store, writers: usize, records: usize, next_id: &mut i64) -> Result<f64, String> {
    let started = Instant::now();
    let per = records / writers;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let store = store.clone();
        let first = *next_id + (w * per) as i64;
        tasks.push(tokio::spawn(async move {
            for i in 0..per {
                // Same write path (single-writer lock on SQLite), one plain row, no chain.
                store
                    .baseline_commit(first + i as i64, &format!("{{\"writer\": {w}, \"i\": {i}}}"))
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Ok::<(), String>(())
        }));
    }
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
    }
    *next_id += (per * writers) as i64;
    Ok((per * writers) as f64 / started.elapsed().as_secs_f64())
}
