//! Helpers shared by the integration tests: stores, fixtures generated in code, read-back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::io::Cursor;
use std::sync::{Arc, Mutex};

use arrow_array::RecordBatch;
use chrono::NaiveDate;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use yunshu_ingest::{ErrorReport, ImportOptions, ImportOutcome, Progress, import};

pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 6, 30).unwrap()
}

pub fn options() -> ImportOptions {
    ImportOptions::new(64 * 1024 * 1024, today())
}

pub fn dest() -> Path {
    Path::from("resources/R001/v1.parquet")
}

pub fn store() -> Arc<dyn ObjectStore> {
    Arc::new(InMemory::new())
}

/// Imports `bytes` into a fresh store; returns the store and the result.
pub async fn run(
    bytes: Vec<u8>,
    name: &str,
    options: ImportOptions,
) -> (Arc<dyn ObjectStore>, Result<ImportOutcome, ErrorReport>) {
    let store = store();
    let result = import(Cursor::new(bytes), name, options, store.clone(), &dest(), &|_: Progress| {}).await;
    (store, result)
}

/// Imports and expects success.
pub async fn run_ok(
    bytes: Vec<u8>,
    name: &str,
    options: ImportOptions,
) -> (Arc<dyn ObjectStore>, ImportOutcome) {
    let (store, result) = run(bytes, name, options).await;
    match result {
        Ok(outcome) => (store, outcome),
        Err(report) => panic!("import failed: {report}"),
    }
}

/// Imports and expects failure; asserts the store holds no object at all.
pub async fn run_err(bytes: Vec<u8>, name: &str, options: ImportOptions) -> ErrorReport {
    let (store, result) = run(bytes, name, options).await;
    let report = match result {
        Ok(outcome) => panic!("import succeeded: {} rows", outcome.row_count),
        Err(report) => report,
    };
    assert_store_empty(&store).await;
    report
}

pub async fn assert_store_empty(store: &Arc<dyn ObjectStore>) {
    let listing = store.list_with_delimiter(None).await.unwrap();
    assert!(listing.objects.is_empty(), "objects left: {:?}", listing.objects);
    assert!(listing.common_prefixes.is_empty(), "objects left under: {:?}", listing.common_prefixes);
}

/// Reads the written version back.
pub async fn read_back(store: &Arc<dyn ObjectStore>) -> Vec<RecordBatch> {
    let bytes = store.get(&dest()).await.unwrap().bytes().await.unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes).unwrap().build().unwrap();
    reader.map(|b| b.unwrap()).collect()
}

/// Collects progress reports.
#[derive(Default)]
pub struct Recorder(pub Mutex<Vec<Progress>>);

impl Recorder {
    pub fn record(&self, p: Progress) {
        self.0.lock().unwrap().push(p);
    }
}

/// A minimal XLSX workbook (see `yunshu_ingest::xlsx`): a cell starting with `=d` is an Excel date
/// serial, a number is numeric, other text is an inline string.
pub fn xlsx(sheets: &[(&str, Vec<Vec<&str>>)]) -> Vec<u8> {
    use yunshu_ingest::xlsx::{Cell, build_xlsx};
    let sheets: Vec<(&str, Vec<Vec<Cell>>)> = sheets
        .iter()
        .map(|(name, rows)| {
            let rows = rows
                .iter()
                .map(|row| {
                    row.iter()
                        .map(|v| {
                            if let Some(serial) = v.strip_prefix("=d") {
                                Cell::DateSerial(serial.parse().unwrap())
                            } else if let Ok(n) = v.parse::<f64>() {
                                Cell::Number(n)
                            } else {
                                Cell::Text((*v).to_owned())
                            }
                        })
                        .collect()
                })
                .collect();
            (*name, rows)
        })
        .collect();
    build_xlsx(&sheets).unwrap()
}
