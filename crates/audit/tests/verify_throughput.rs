//! Rough verification throughput on 100k records (ignored by default; run with
//! `cargo test -p yunshu-audit --release --test verify_throughput -- --ignored --nocapture`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Instant;

use common::build_log;
use yunshu_audit::{AuditKey, VerifyMode, verify_all};

#[test]
#[ignore = "benchmark: prints records/s and MB/s of verify for 100k records"]
fn verify_throughput_100k_records() {
    const N: i64 = 100_000;
    let key = AuditKey::generate().unwrap();
    let started = Instant::now();
    let log = build_log(&key, N, 1_000);
    let sealed_in = started.elapsed();
    println!("seal: {N} records, {} checkpoints in {:.2?}", log.checkpoints.len(), sealed_in);
    let public = key.public_key();
    for (name, mode) in [("full", VerifyMode::Full(&key)), ("public-only", VerifyMode::PublicOnly(&public))] {
        let records = log.records.clone();
        let started = Instant::now();
        let report = verify_all(mode, log.checkpoints.clone(), records).unwrap();
        let secs = started.elapsed().as_secs_f64();
        assert_eq!(report.records, 100_000);
        println!(
            "verify ({name}): {} records, {} checkpoints, {:.1} MB hashed in {:.3} s: {:.0} records/s, {:.1} MB/s",
            report.records,
            report.checkpoints_checked,
            report.bytes_hashed as f64 / 1e6,
            secs,
            report.records as f64 / secs,
            report.bytes_hashed as f64 / 1e6 / secs,
        );
    }
}
