//! `yunshu bench ingest`: the ingestion and encrypted-store benchmarks (P2, P3 of benchmarks.md).
//!
//! Generates the benchmark CSV (seeded: Chinese names, ID numbers, USCCs, mobiles, dates, amounts),
//! then, alternating in one process run and reporting medians:
//! - P2: the full import (parse, validate identifiers, profile, write Parquet, SM4-encrypt into the
//!   object store) against (i) the plain CSV → Parquet conversion without validation or encryption and
//!   (ii) the raw SM4-CTR throughput of the cipher on this machine × cores. Goal: import ≥ 0.7 ×
//!   min(plain, SM4 limit).
//! - P3: a full scan (all columns) of the encrypted version against the same Parquet file unencrypted.
//!   Goal: encrypted scan ≥ 0.8 × min(plain scan, SM4 limit).
//!
//! Throughputs are in MB/s of the input of each path (CSV bytes for P2, Parquet bytes for P3). Peak
//! memory is the process high-water mark (VmHWM) after each import, against the CSV size: streaming
//! keeps it bounded.

use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use yunshu_ingest::{ColumnKind, ColumnSpec, IdentifierKind, ImportOptions};

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn mb(bytes: u64, secs: f64) -> f64 {
    bytes as f64 / 1e6 / secs.max(1e-9)
}

/// The process's peak resident memory (VmHWM) in MB, where /proc tells.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// The benchmark file's columns with the identifier columns declared, as a provider registers them.
fn expected() -> Vec<ColumnSpec> {
    // 序号,姓名,身份证号,统一社会信用代码,手机号,登记日期,金额,地区
    vec![
        ColumnSpec::new("序号", ColumnKind::Integer),
        ColumnSpec::new("姓名", ColumnKind::Text),
        ColumnSpec::identifier("身份证号", IdentifierKind::ResidentId),
        ColumnSpec::identifier("统一社会信用代码", IdentifierKind::Uscc),
        ColumnSpec::identifier("手机号", IdentifierKind::Mobile),
        ColumnSpec::new("登记日期", ColumnKind::Date),
        ColumnSpec::new("金额", ColumnKind::Decimal),
        ColumnSpec::new("地区", ColumnKind::Text),
    ]
}

async fn scan(store: Arc<dyn ObjectStore>, path: &ObjectPath) -> Result<u64, String> {
    let meta = store.head(path).await.map_err(err)?;
    #[allow(deprecated)]
    let reader =
        parquet::arrow::async_reader::ParquetObjectReader::new(store, path.clone()).with_file_size(meta.size);
    let mut stream = parquet::arrow::ParquetRecordBatchStreamBuilder::new(reader)
        .await
        .map_err(err)?
        .build()
        .map_err(err)?;
    let mut rows = 0u64;
    while let Some(b) = stream.next().await {
        rows += b.map_err(err)?.num_rows() as u64;
    }
    Ok(rows)
}

pub async fn run(rows: u64, runs: usize) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("yunshu-bench-ingest-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("enc")).map_err(err)?;
    std::fs::create_dir_all(dir.join("plain")).map_err(err)?;
    let result = run_in(&dir, rows, runs.max(1)).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn run_in(dir: &std::path::Path, rows: u64, runs: usize) -> Result<(), String> {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let csv_path = dir.join("bench.csv");
    {
        let f = std::fs::File::create(&csv_path).map_err(err)?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
        yunshu_ingest::generate_bench_csv(rows, 20261127, &mut w).map_err(err)?;
        std::io::Write::flush(&mut w).map_err(err)?;
    }
    let csv_bytes = std::fs::metadata(&csv_path).map_err(err)?.len();
    println!(
        "云数 ingestion benchmark (P2, P3): {rows} rows, CSV {:.1} MB, {cores} cores, {runs} runs",
        csv_bytes as f64 / 1e6
    );

    let sm4 = yunshu_vault::sm4_throughput(64 << 20, cores);
    let sm4_limit = sm4.total_bytes_per_s / 1e6;
    println!(
        "SM4 (RustCrypto sm4 0.6, CTR): {:.1} MB/s on one core; {sm4_limit:.1} MB/s measured with {} threads \
         = the limit (a busy machine lowers it)",
        sm4.per_core_bytes_per_s / 1e6,
        sm4.cores
    );

    let keys = yunshu_vault::LocalKeyFile::open_or_create(&dir.join("bench.key")).map_err(err)?;
    let inner: Arc<dyn ObjectStore> =
        Arc::new(LocalFileSystem::new_with_prefix(dir.join("enc")).map_err(err)?);
    let encrypted: Arc<dyn ObjectStore> = Arc::new(yunshu_vault::EncryptedStore::new(inner, Arc::new(keys)));
    let plain_store: Arc<dyn ObjectStore> =
        Arc::new(LocalFileSystem::new_with_prefix(dir.join("plain")).map_err(err)?);

    let (mut plain_rates, mut import_rates, mut peaks) = (Vec::new(), Vec::new(), Vec::new());
    let mut last_version = None;
    for run in 0..runs {
        // (i) plain CSV → Parquet, no validation, no encryption.
        let plain_file = dir.join("plain").join("plain.parquet");
        let t = Instant::now();
        {
            let input = std::fs::File::open(&csv_path).map_err(err)?;
            let out = std::fs::File::create(&plain_file).map_err(err)?;
            yunshu_ingest::plain_csv_to_parquet(input, out, 65_536).map_err(err)?;
        }
        plain_rates.push(mb(csv_bytes, t.elapsed().as_secs_f64()));
        // The full path.
        let dest = ObjectPath::from(format!("resources/1/v{}.parquet", run + 1));
        let mut options = ImportOptions::new(u64::MAX, chrono::Local::now().date_naive());
        options.expected = Some(expected());
        let input = std::fs::File::open(&csv_path).map_err(err)?;
        let t = Instant::now();
        let outcome = yunshu_ingest::import(input, "bench.csv", options, encrypted.clone(), &dest, &|_| {})
            .await
            .map_err(err)?;
        import_rates.push(mb(csv_bytes, t.elapsed().as_secs_f64()));
        if outcome.row_count != rows {
            return Err(format!("imported {} rows of {rows}", outcome.row_count));
        }
        let invalid: u64 = outcome.profile.columns.iter().filter_map(|c| c.invalid).sum();
        if run == 0 {
            println!(
                "  import check: {} rows, {invalid} invalid identifiers, SM3 {}",
                outcome.row_count, outcome.sm3
            );
        }
        peaks.push(peak_rss_mb().unwrap_or(0.0));
        if let Some(old) = last_version.replace(dest) {
            encrypted.delete(&old).await.map_err(err)?;
        }
    }
    let plain = median(plain_rates);
    let import = median(import_rates);
    let limit = plain.min(sm4_limit);
    println!("P2 ingestion (MB/s of CSV, median of {runs}):");
    println!("  full import (validate + profile + Parquet + SM4) {import:>8.1}");
    println!("  (i) plain CSV → Parquet                         {plain:>8.1}");
    println!("  (ii) SM4 limit                                  {sm4_limit:>8.1}");
    println!(
        "  ratio import / min(plain, SM4) = {:.2}  (goal ≥ 0.70: {})",
        import / limit,
        if import / limit >= 0.7 { "met" } else { "NOT met" }
    );
    println!(
        "  peak memory (VmHWM) {:.0} MB for a {:.0} MB file",
        peaks.iter().copied().fold(0.0, f64::max),
        csv_bytes as f64 / 1e6
    );

    // P3: the same Parquet bytes, encrypted and plain.
    let version = last_version.ok_or("no version imported")?;
    let parquet_bytes = encrypted.head(&version).await.map_err(err)?.size;
    let plain_path = ObjectPath::from("scan.parquet");
    let bytes = encrypted.get(&version).await.map_err(err)?.bytes().await.map_err(err)?;
    plain_store.put(&plain_path, bytes.into()).await.map_err(err)?;
    let (mut enc_rates, mut plain_scan_rates) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let t = Instant::now();
        let n = scan(plain_store.clone(), &plain_path).await?;
        plain_scan_rates.push(mb(parquet_bytes, t.elapsed().as_secs_f64()));
        let t = Instant::now();
        let m = scan(encrypted.clone(), &version).await?;
        enc_rates.push(mb(parquet_bytes, t.elapsed().as_secs_f64()));
        if n != rows || m != rows {
            return Err(format!("scanned {n} / {m} rows of {rows}"));
        }
    }
    let enc = median(enc_rates);
    let plain_scan = median(plain_scan_rates);
    let limit = plain_scan.min(sm4_limit);
    println!(
        "P3 full scan of a {:.1} MB Parquet version (MB/s, median of {runs}):",
        parquet_bytes as f64 / 1e6
    );
    println!("  encrypted store (SM4-CTR + GHASH tag per chunk){enc:>8.1}");
    println!("  plain Parquet                                   {plain_scan:>8.1}");
    println!("  SM4 limit                                       {sm4_limit:>8.1}");
    println!(
        "  ratio encrypted / min(plain, SM4) = {:.2}  (goal ≥ 0.80: {})",
        enc / limit,
        if enc / limit >= 0.8 { "met" } else { "NOT met" }
    );
    Ok(())
}
