//! Each class of bad file gives a report naming line and column, and leaves the store empty.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Cursor, Write};

use common::*;
use yunshu_ingest::{ColumnKind, ColumnSpec, ImportError};

#[tokio::test]
async fn malformed_rows_name_their_lines() {
    let text = "a,b,c\n1,2,3\n4,5\n6,7,8\n9,10,11,12\n";
    let report = run_err(text.as_bytes().to_vec(), "m.csv", options()).await;
    assert_eq!(
        report.errors,
        [
            ImportError::MalformedRow { line: 3, expected: 3, found: 2 },
            ImportError::MalformedRow { line: 5, expected: 3, found: 4 },
        ]
    );
    assert_eq!(report.errors[0].code(), "ingest.malformed_row");
    assert_eq!(report.errors[0].message_zh(), "第 3 行列数错误：应为 3 列，实为 2 列");
}

#[tokio::test]
async fn wrong_types_name_line_and_column() {
    let text = "姓名,年龄,出生日期\n张三,30,1990-01-01\n李四,三十岁以上的一个很长很长很长很长的值啊啊啊,1991-02-30\n";
    let mut registered = options();
    registered.expected = Some(vec![
        ColumnSpec::new("姓名", ColumnKind::Text),
        ColumnSpec::new("年龄", ColumnKind::Integer),
        ColumnSpec::new("出生日期", ColumnKind::Date),
    ]);
    let report = run_err(text.as_bytes().to_vec(), "w.csv", registered).await;
    assert_eq!(report.errors.len(), 2);
    match &report.errors[0] {
        ImportError::BadValue { line, column, kind, value_preview } => {
            assert_eq!((*line, column.as_str(), *kind), (3, "年龄", ColumnKind::Integer));
            assert_eq!(value_preview.chars().count(), 21, "20 characters and an ellipsis");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(
        matches!(&report.errors[1], ImportError::BadValue { line: 3, column, .. } if column == "出生日期")
    );
    assert!(report.errors[1].message_zh().contains("第 3 行「出生日期」列"));
}

#[tokio::test]
async fn errors_are_capped_at_one_hundred() {
    let mut text = String::from("n\n");
    for _ in 0..500 {
        text.push_str("x\n");
    }
    let mut registered = options();
    registered.expected = Some(vec![ColumnSpec::new("n", ColumnKind::Integer)]);
    let report = run_err(text.into_bytes(), "c.csv", registered).await;
    assert_eq!(report.errors.len(), 100);
    assert!(report.truncated);
}

#[tokio::test]
async fn zip_bomb_is_refused_before_inflating() {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options_zip = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(false);
    zip.start_file("xl/worksheets/sheet1.xml", options_zip).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        zip.write_all(&zeros).unwrap();
    }
    let bomb = zip.finish().unwrap().into_inner();
    assert!(bomb.len() < 1 << 20, "compressed to {} bytes", bomb.len());
    let report = run_err(bomb, "bomb.xlsx", options()).await;
    match &report.errors[0] {
        ImportError::ZipBomb { entry, uncompressed, .. } => {
            assert_eq!(entry, "xl/worksheets/sheet1.xml");
            assert_eq!(*uncompressed, 64 << 20);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(report.errors[0].code(), "ingest.zip_bomb");
}

#[tokio::test]
async fn oversized_sources_stop_while_reading() {
    let mut text = String::from("a,b\n");
    for i in 0..100_000 {
        text.push_str(&format!("{i},{i}\n"));
    }
    let mut small = options();
    small.max_bytes = 100_000;
    let report = run_err(text.into_bytes(), "big.csv", small).await;
    assert_eq!(report.errors, [ImportError::TooLarge { limit: 100_000 }]);
}

#[tokio::test]
async fn undecodable_gbk_names_the_line() {
    let (gbk, _, _) = encoding_rs::GBK.encode("姓名,城市\n张三,昆明\n李四,大理\n");
    let mut bytes = gbk.into_owned();
    bytes.extend_from_slice(b"\xD5\xC5\xFF,\xC0\xA5\n");
    let report = run_err(bytes, "bad.csv", options()).await;
    assert_eq!(report.errors, [ImportError::UndecodableText { line: 4 }]);
    assert!(report.errors[0].message_zh().contains("第 4 行"));
}

#[tokio::test]
async fn invalid_utf8_after_a_utf8_start_names_the_line() {
    let mut bytes = "名称\n甲\n".as_bytes().to_vec();
    // Past the 64 KiB detection sample, so the file was taken for UTF-8.
    for _ in 0..10_000 {
        bytes.extend_from_slice("乙乙乙\n".as_bytes());
    }
    bytes.extend_from_slice(b"\xC0\xA5\n");
    let report = run_err(bytes, "late.csv", options()).await;
    assert_eq!(report.errors, [ImportError::UndecodableText { line: 10_003 }]);
}

#[tokio::test]
async fn not_parquet_and_empty() {
    let report = run_err(b"PAR1 not really".to_vec(), "x.parquet", options()).await;
    assert_eq!(report.errors[0].code(), "ingest.not_parquet");
    let report = run_err(Vec::new(), "e.csv", options()).await;
    assert_eq!(report.errors, [ImportError::Empty]);
    let report = run_err(b"a,,a\n1,2,3\n".to_vec(), "h.csv", options()).await;
    assert_eq!(report.errors[0].code(), "ingest.bad_header");
    let report = run_err(b"PK\x03\x04 broken".to_vec(), "x.xlsx", options()).await;
    assert_eq!(report.errors[0].code(), "ingest.not_xlsx");
}
