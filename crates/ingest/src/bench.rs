//! The ingestion benchmark's data and baseline (benchmarks.md, P2): a deterministic CSV of
//! Chinese names, valid identifiers, dates and amounts, and the plain CSV → Parquet conversion
//! (arrow-csv, no validation, no profiling, no encryption) the import is compared with.

use std::io::{self, Cursor, Read, Write};
use std::sync::Arc;

use arrow_csv::reader::Format;
use parquet::arrow::ArrowWriter;
use yunshu_domain::ids::{ResidentId, Uscc};

use crate::pipeline::writer_properties;

/// Header of the benchmark CSV.
pub const BENCH_HEADER: &str = "序号,姓名,身份证号,统一社会信用代码,手机号,登记日期,金额,地区";

const SURNAMES: &[&str] =
    &["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "段", "和", "普", "李"];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
    "秀英", "华", "玉兰", "云", "滇", "洱", "春",
];
/// Yunnan county-level region codes (GB/T 2260).
const REGIONS: &[&str] = &[
    "530102", "530103", "530111", "530112", "530113", "530114", "530302", "530402", "530502", "530602",
    "530702", "530802", "530902", "532301", "532501", "532601", "532801", "532901", "533102", "533301",
    "533401",
];
/// USCC alphabet (GB 32100: no I, O, S, V, Z).
const USCC_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items.get(self.below(items.len())).copied().unwrap_or("")
    }
}

/// Writes the benchmark CSV (header + `rows` rows, ≈ 100 bytes per row, so 10M rows ≈ 1 GB),
/// deterministic by `seed`. Identifiers are valid (completed by `yunshu_domain::ids`).
pub fn generate_bench_csv<W: Write>(rows: u64, seed: u64, writer: W) -> io::Result<()> {
    let mut out = io::BufWriter::with_capacity(1 << 20, writer);
    let mut rng = Rng(seed);
    writeln!(out, "{BENCH_HEADER}")?;
    let epoch = chrono::NaiveDate::from_ymd_opt(1950, 1, 1).unwrap_or_default();
    let registered_epoch = chrono::NaiveDate::from_ymd_opt(2015, 1, 1).unwrap_or_default();
    for n in 1..=rows {
        let region = rng.pick(REGIONS);
        let birth = epoch + chrono::Days::new(rng.next() % 20_000);
        let first17 = format!("{region}{}{:03}", birth.format("%Y%m%d"), rng.below(1000));
        let id = ResidentId::complete(&first17).map_err(|e| io::Error::other(e.to_string()))?;
        let mut body = String::with_capacity(8);
        for _ in 0..8 {
            body.push(char::from(USCC_ALPHABET.get(rng.below(USCC_ALPHABET.len())).copied().unwrap_or(b'0')));
        }
        let uscc =
            Uscc::complete(&format!("91{region}{body}")).map_err(|e| io::Error::other(e.to_string()))?;
        let mobile = format!("1{}{:09}", 3 + rng.below(7), rng.next() % 1_000_000_000);
        let registered = registered_epoch + chrono::Days::new(rng.next() % 4_000);
        let amount = rng.next() % 100_000_000;
        let name = format!("{}{}", rng.pick(SURNAMES), rng.pick(GIVEN));
        writeln!(
            out,
            "{n},{name},{},{},{mobile},{},{}.{:02},{region}",
            id.as_str(),
            uscc.as_str(),
            registered.format("%Y-%m-%d"),
            amount / 100,
            amount % 100,
        )?;
    }
    out.flush()
}

/// The baseline: CSV (UTF-8, comma, header) → Parquet with arrow-csv's reader (schema inferred
/// from the first 1 000 rows) and the same writer settings as the import. Returns the rows
/// written. No validation, no profiling, one thread.
pub fn plain_csv_to_parquet<R: Read, W: Write + Send>(
    mut reader: R,
    writer: W,
    batch_rows: usize,
) -> io::Result<u64> {
    let other = |e: &dyn std::fmt::Display| io::Error::other(e.to_string());
    let mut sample = Vec::with_capacity(1 << 20);
    (&mut reader).take(1 << 20).read_to_end(&mut sample)?;
    let format = Format::default().with_header(true);
    let (schema, _) = format.infer_schema(Cursor::new(&sample), Some(1000)).map_err(|e| other(&e))?;
    let schema = Arc::new(schema);
    let csv = arrow_csv::ReaderBuilder::new(schema.clone())
        .with_format(format)
        .with_batch_size(batch_rows.max(1))
        .build(Cursor::new(sample).chain(reader))
        .map_err(|e| other(&e))?;
    let mut parquet =
        ArrowWriter::try_new(writer, schema, Some(writer_properties())).map_err(|e| other(&e))?;
    let mut rows = 0u64;
    for batch in csv {
        let batch = batch.map_err(|e| other(&e))?;
        rows += batch.num_rows() as u64;
        parquet.write(&batch).map_err(|e| other(&e))?;
    }
    parquet.close().map_err(|e| other(&e))?;
    Ok(rows)
}
