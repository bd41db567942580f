//! Import of each source format, detection, read-back, schema differences, progress.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Cursor;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Float64Type, Int64Type, TimestampMillisecondType};
use arrow_array::{Array, ArrayRef, Float64Array, Int32Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use common::*;
use parquet::arrow::ArrowWriter;
use sm3::{Digest, Sm3};
use yunshu_ingest::values::date_to_days;
use yunshu_ingest::{
    ColumnKind, ColumnSpec, ImportOptions, Progress, SchemaDifference, SourceFormat, TextEncoding, import,
};

const CSV: &str =
    "姓名,年龄,金额,登记日期,是否有效\n张三,30,12.5,2024-01-02,是\n李四,41,7,2024-03-04,否\n王五,,0.25,,是\n";

fn kinds(outcome: &yunshu_ingest::ImportOutcome) -> Vec<ColumnKind> {
    outcome.schema.iter().map(|c| c.kind).collect()
}

fn date(y: i32, m: u32, d: u32) -> i32 {
    date_to_days(chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap())
}

#[tokio::test]
async fn utf8_csv_is_typed_stored_and_digested() {
    let bytes = CSV.as_bytes().to_vec();
    let (store, outcome) = run_ok(bytes.clone(), "a.csv", options()).await;
    assert_eq!(outcome.row_count, 3);
    assert_eq!(outcome.format, SourceFormat::Csv);
    assert_eq!(outcome.encoding, Some(TextEncoding::Utf8));
    assert_eq!(outcome.delimiter, Some(','));
    assert_eq!(outcome.bytes_read, bytes.len() as u64);
    assert_eq!(outcome.sm3, hex::encode(Sm3::digest(&bytes)));
    assert_eq!(
        kinds(&outcome),
        [ColumnKind::Text, ColumnKind::Integer, ColumnKind::Decimal, ColumnKind::Date, ColumnKind::Boolean]
    );
    assert!(outcome.differences.is_empty());

    let batches = read_back(&store).await;
    let batch = &batches[0];
    assert_eq!(batch.num_rows(), 3);
    assert_eq!(batch.column(0).as_string::<i32>().value(1), "李四");
    let ages = batch.column(1).as_primitive::<Int64Type>();
    assert_eq!((ages.value(0), ages.is_null(2)), (30, true));
    assert_eq!(batch.column(2).as_primitive::<Float64Type>().value(2), 0.25);
    assert_eq!(batch.column(3).as_primitive::<Date32Type>().value(0), date(2024, 1, 2));
    assert!(!batch.column(4).as_boolean().value(1));
    // Only the version is left: the staging object is gone.
    let listing = store.list_with_delimiter(Some(&"resources/R001".into())).await.unwrap();
    assert_eq!(listing.objects.len(), 1);
}

#[tokio::test]
async fn gbk_csv_is_detected_and_decoded() {
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(CSV);
    assert!(!unmappable);
    let bytes = gbk.into_owned();
    let (store, outcome) = run_ok(bytes.clone(), "gbk.csv", options()).await;
    assert_eq!(outcome.encoding, Some(TextEncoding::Gb18030));
    assert_eq!(outcome.row_count, 3);
    // The digest is of the bytes as received, not of the decoded text.
    assert_eq!(outcome.sm3, hex::encode(Sm3::digest(&bytes)));
    assert_eq!(outcome.schema[0].name, "姓名");
    let batches = read_back(&store).await;
    assert_eq!(batches[0].column(0).as_string::<i32>().value(2), "王五");
}

#[tokio::test]
async fn semicolon_tab_and_bom() {
    let semicolon = CSV.replace(',', ";");
    let (_, outcome) = run_ok(semicolon.into_bytes(), "s.csv", options()).await;
    assert_eq!((outcome.delimiter, outcome.row_count, outcome.schema.len()), (Some(';'), 3, 5));

    let tab = CSV.replace(',', "\t");
    let (_, outcome) = run_ok(tab.into_bytes(), "t.txt", options()).await;
    assert_eq!((outcome.delimiter, outcome.row_count), (Some('\t'), 3));

    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(CSV.as_bytes());
    let (_, outcome) = run_ok(bom, "bom.csv", options()).await;
    assert_eq!(outcome.schema[0].name, "姓名", "the BOM is not part of the first name");
    assert_eq!(outcome.encoding, Some(TextEncoding::Utf8));
}

#[tokio::test]
async fn quoted_fields_and_crlf() {
    let text = "名称,备注\r\n\"昆明, 五华\",\"多行\n备注\"\r\n甲,乙\r\n";
    let (store, outcome) = run_ok(text.as_bytes().to_vec(), "q.csv", options()).await;
    assert_eq!(outcome.row_count, 2);
    let batches = read_back(&store).await;
    assert_eq!(batches[0].column(0).as_string::<i32>().value(0), "昆明, 五华");
    assert_eq!(batches[0].column(1).as_string::<i32>().value(0), "多行\n备注");
}

#[tokio::test]
async fn xlsx_first_and_named_sheet() {
    // 45292 = 2024-01-01 in Excel's serial dates.
    let workbook = xlsx(&[
        ("汇总", vec![vec!["名称", "数量", "日期"], vec!["甲", "3", "=d45292"], vec!["乙", "4", "=d45293"]]),
        ("明细", vec![vec!["编号", "金额"], vec!["A1", "1.5"]]),
    ]);
    let (store, outcome) = run_ok(workbook.clone(), "book.xlsx", options()).await;
    assert_eq!(outcome.format, SourceFormat::Xlsx);
    assert_eq!(outcome.sheet.as_deref(), Some("汇总"));
    assert_eq!(kinds(&outcome), [ColumnKind::Text, ColumnKind::Integer, ColumnKind::Date]);
    let batches = read_back(&store).await;
    assert_eq!(batches[0].column(2).as_primitive::<Date32Type>().value(0), date(2024, 1, 1));
    assert_eq!(batches[0].column(1).as_primitive::<Int64Type>().value(1), 4);

    let mut named = options();
    named.sheet = Some("明细".to_string());
    let (_, outcome) = run_ok(workbook.clone(), "book.xlsx", named).await;
    assert_eq!(outcome.sheet.as_deref(), Some("明细"));
    assert_eq!(kinds(&outcome), [ColumnKind::Text, ColumnKind::Decimal]);

    let mut missing = options();
    missing.sheet = Some("不存在".to_string());
    let report = run_err(workbook, "book.xlsx", missing).await;
    assert_eq!(report.errors[0].code(), "ingest.sheet_not_found");
    assert!(report.errors[0].message_zh().contains("不存在"));
}

fn parquet_bytes() -> Vec<u8> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("code", DataType::Utf8, true),
        Field::new("count", DataType::Int32, true),
        Field::new("amount", DataType::Float64, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![Some("a"), Some("12"), None])),
        Arc::new(Int32Array::from(vec![Some(1), None, Some(3)])),
        Arc::new(Float64Array::from(vec![1.5, 2.5, 3.5])),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, schema, None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    out
}

#[tokio::test]
async fn parquet_is_read_and_cast_to_the_registered_kinds() {
    let (store, outcome) = run_ok(parquet_bytes(), "x.bin", options()).await;
    assert_eq!(outcome.format, SourceFormat::Parquet);
    assert_eq!(kinds(&outcome), [ColumnKind::Text, ColumnKind::Integer, ColumnKind::Decimal]);
    let batches = read_back(&store).await;
    assert_eq!(batches[0].column(1).data_type(), &DataType::Int64);

    // Registered with `code` as an integer: "a" cannot be cast (row 1), "12" can.
    let mut registered = options();
    registered.expected = Some(vec![
        ColumnSpec::new("code", ColumnKind::Integer),
        ColumnSpec::new("count", ColumnKind::Decimal),
        ColumnSpec::new("amount", ColumnKind::Decimal),
    ]);
    let report = run_err(parquet_bytes(), "x.parquet", registered).await;
    match &report.errors[0] {
        yunshu_ingest::ImportError::BadValue { line, column, value_preview, .. } => {
            assert_eq!((*line, column.as_str(), value_preview.as_str()), (1, "code", "a"));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn json_lines() {
    let text =
        "{\"name\":\"张三\",\"age\":30,\"ok\":true}\n\n{\"name\":\"李四\",\"age\":null,\"ok\":false}\n";
    let (store, outcome) = run_ok(text.as_bytes().to_vec(), "a.jsonl", options()).await;
    assert_eq!(outcome.format, SourceFormat::JsonLines);
    assert_eq!(outcome.row_count, 2);
    // serde_json orders keys alphabetically.
    let names: Vec<&str> = outcome.schema.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["age", "name", "ok"]);
    assert_eq!(kinds(&outcome), [ColumnKind::Integer, ColumnKind::Text, ColumnKind::Boolean]);
    let batches = read_back(&store).await;
    assert!(batches[0].column(0).is_null(1));

    let bad = "{\"a\":1}\n{\"a\":2\n{\"b\":3}\n";
    let report = run_err(bad.as_bytes().to_vec(), "b.jsonl", options()).await;
    let lines: Vec<String> = report.errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(report.errors.len(), 2, "{lines:?}");
    assert!(matches!(report.errors[0], yunshu_ingest::ImportError::BadJson { line: 2, .. }));
    assert!(matches!(report.errors[1], yunshu_ingest::ImportError::BadJson { line: 3, .. }));
}

#[tokio::test]
async fn schema_differences_are_reported_for_acceptance() {
    let mut registered = options();
    registered.expected = Some(vec![
        ColumnSpec::new("姓名", ColumnKind::Text),
        ColumnSpec::new("年龄", ColumnKind::Decimal),
        ColumnSpec::new("登记日期", ColumnKind::DateTime),
        ColumnSpec::new("是否有效", ColumnKind::Text),
        ColumnSpec::new("地址", ColumnKind::Text),
        ColumnSpec::new("金额", ColumnKind::Date),
    ]);
    // `金额` registered as a date: its values are decimals → mismatch *and* bad values.
    let report = run_err(CSV.as_bytes().to_vec(), "a.csv", registered.clone()).await;
    assert!(report.errors.iter().all(|e| e.code() == "ingest.bad_value"));

    registered.expected.as_mut().unwrap().pop();
    let (store, outcome) = run_ok(CSV.as_bytes().to_vec(), "a.csv", registered).await;
    assert_eq!(
        outcome.differences,
        [
            SchemaDifference::ExtraColumn { name: "金额".to_string(), kind: ColumnKind::Decimal },
            SchemaDifference::MissingColumn { name: "地址".to_string() },
        ]
    );
    assert!(outcome.differences[1].message_zh().contains("地址"));
    // Registered kinds win where compatible: 年龄 is stored as a decimal, the date as a timestamp.
    assert_eq!(
        kinds(&outcome),
        [ColumnKind::Text, ColumnKind::Decimal, ColumnKind::Decimal, ColumnKind::DateTime, ColumnKind::Text]
    );
    let batches = read_back(&store).await;
    let ts = batches[0].column(3).as_primitive::<TimestampMillisecondType>().value(0);
    assert_eq!(ts, i64::from(date(2024, 1, 2)) * 86_400_000);
}

#[tokio::test]
async fn type_mismatch_is_listed() {
    let text = "编号,名称\nA1,甲\nB2,乙\n";
    let mut registered = options();
    registered.expected =
        Some(vec![ColumnSpec::new("编号", ColumnKind::Text), ColumnSpec::new("名称", ColumnKind::Text)]);
    let (_, outcome) = run_ok(text.as_bytes().to_vec(), "a.csv", registered).await;
    assert!(outcome.differences.is_empty());
    let text = "数量\n1\n2\n";
    let mut registered = options();
    registered.expected = Some(vec![ColumnSpec::new("数量", ColumnKind::Boolean)]);
    let report = run_err(text.as_bytes().to_vec(), "a.csv", registered).await;
    // 1 parses as a boolean, 2 does not: line 3.
    assert!(matches!(&report.errors[0], yunshu_ingest::ImportError::BadValue { line: 3, .. }));
}

#[tokio::test]
async fn progress_is_reported_per_batch_for_a_large_csv() {
    let mut text = String::from("id,name,amount\n");
    for i in 0..300_000 {
        text.push_str(&format!("{i},name{},{}.5\n", i % 977, i % 1000));
    }
    let recorder = Recorder::default();
    let store = store();
    let mut opts = ImportOptions::new(u64::MAX, today());
    opts.batch_rows = 65_536;
    let outcome =
        import(Cursor::new(text.into_bytes()), "big.csv", opts, store.clone(), &dest(), &|p: Progress| {
            recorder.record(p)
        })
        .await
        .unwrap();
    assert_eq!(outcome.row_count, 300_000);
    let reports = recorder.0.lock().unwrap().clone();
    assert_eq!(reports.len(), 5, "one report per 64k-row batch: {reports:?}");
    assert!(reports.windows(2).all(|w| w[0].rows < w[1].rows));
    assert_eq!(reports.last().unwrap().rows, 300_000);
    let profile = outcome.profile.column("name").unwrap();
    assert_eq!(profile.distinct, 977);
    let id = outcome.profile.column("id").unwrap();
    let error = (id.distinct as f64 - 300_000.0).abs() / 300_000.0;
    assert!(!id.distinct_exact && error < 0.05, "{}", id.distinct_display());
    assert!(id.distinct_display().starts_with('≈'));
}

#[tokio::test]
async fn an_existing_version_is_not_overwritten() {
    let store = store();
    let dest = dest();
    let source = || Cursor::new(CSV.as_bytes().to_vec());
    import(source(), "a.csv", options(), store.clone(), &dest, &|_| {}).await.unwrap();
    let report = import(source(), "a.csv", options(), store.clone(), &dest, &|_| {}).await.unwrap_err();
    assert_eq!(report.errors[0].code(), "ingest.destination_exists");
}

#[tokio::test]
async fn a_header_without_rows_is_an_empty_version_without_false_mismatches() {
    let mut registered = options();
    registered.expected =
        Some(vec![ColumnSpec::new("数量", ColumnKind::Integer), ColumnSpec::new("日期", ColumnKind::Date)]);
    let (store, outcome) = run_ok("数量,日期,备注\n".as_bytes().to_vec(), "h.csv", registered).await;
    assert_eq!(outcome.row_count, 0);
    assert_eq!(kinds(&outcome), [ColumnKind::Integer, ColumnKind::Date, ColumnKind::Text]);
    assert_eq!(
        outcome.differences,
        [SchemaDifference::ExtraColumn { name: "备注".to_string(), kind: ColumnKind::Text }]
    );
    assert!(read_back(&store).await.iter().all(|b| b.num_rows() == 0));
}
