//! Measures the import against the plain CSV → Parquet baseline (benchmarks.md, P2) on a
//! generated CSV: `cargo run --release -p yunshu-ingest --example ingest_bench -- ROWS`.
//! The store is in memory (no encryption): this isolates parsing, validation and encoding.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::sync::Arc;
use std::time::Instant;

use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rows: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let csv_path = std::env::temp_dir().join(format!("yunshu-bench-{rows}.csv"));
    if !csv_path.exists() {
        let started = Instant::now();
        yunshu_ingest::generate_bench_csv(rows, 42, BufWriter::new(File::create(&csv_path)?))?;
        println!("generated {rows} rows in {:.1?}", started.elapsed());
    }
    let size = std::fs::metadata(&csv_path)?.len();
    let mb = size as f64 / 1e6;

    let started = Instant::now();
    let sink = std::io::sink();
    let plain_rows =
        yunshu_ingest::plain_csv_to_parquet(BufReader::new(File::open(&csv_path)?), sink, 65_536)?;
    let plain = started.elapsed().as_secs_f64();
    println!("plain: {plain_rows} rows, {plain:.2} s, {:.1} MB/s", mb / plain);

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    let today = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).ok_or("date")?;
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let started = Instant::now();
    let outcome = runtime.block_on(yunshu_ingest::import(
        File::open(&csv_path)?,
        "bench.csv",
        yunshu_ingest::ImportOptions::new(u64::MAX, today),
        store.clone(),
        &Path::from("bench/v1.parquet"),
        &|_| {},
    ))?;
    let import = started.elapsed().as_secs_f64();
    println!("import: {} rows, {import:.2} s, {:.1} MB/s", outcome.row_count, mb / import);
    println!("ratio import/plain throughput: {:.2}", plain / import);
    let stored = runtime.block_on(store.head(&Path::from("bench/v1.parquet")))?.size;
    println!("parquet version: {:.1} MB", stored as f64 / 1e6);
    for c in &outcome.profile.columns {
        println!("  {} {:?} distinct {} invalid {:?}", c.name, c.kind, c.distinct_display(), c.invalid);
    }
    Ok(())
}
