//! The import pipeline: threads connected by bounded channels (two batches in flight per
//! channel), so memory stays bounded whatever the source size and both cores work.
//!
//! 1. **read** ([`read_source`]): counts and hashes the bytes, detects the format, decodes text and
//!    splits it into [`RawBatch`]es of cell bytes (CSV, JSON Lines, XLSX) or reads Arrow batches
//!    (Parquet, spooled to a temporary file because its footer comes last);
//! 2. **convert** ([`convert`]): infers kinds from the first batch, reconciles them with the
//!    registered items, parses cells into Arrow arrays, profiles and checks quality rules; a
//!    scoped **validate** thread beside it runs the `yunshu_domain::ids` validators on identifier
//!    columns (the costliest part of profiling: ~0.3–0.45 µs per ID number or USCC);
//! 3. **encode** ([`encode`]): writes Parquet into 4 MiB chunks sent to the async uploader.
//!
//! Errors go to one shared, capped [`ErrorSink`]. After the first error nothing more is encoded,
//! but reading and converting go on (cheaply) to collect up to [`crate::error::MAX_REPORTED_ERRORS`]
//! errors for the report.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read, Seek, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread;

use arrow_array::builder::{
    BooleanBuilder, Date32Builder, Float64Builder, Int64Builder, StringBuilder, TimestampMillisecondBuilder,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_cast::{CastOptions, cast_with_options};
use arrow_schema::SchemaRef;
use calamine::{Data, Reader as _, Xlsx};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use crate::detect::{SourceFormat, TextEncoding, UTF8_BOM, detect_delimiter};
use crate::error::{ErrorSink, ImportError};
use crate::profile::{IdentifierTally, Profiler};
use crate::quality::{QualityEvaluator, QualityRule};
use crate::schema::{ColumnKind, ColumnSpec, IdentifierKind, SchemaDifference, arrow_schema, reconcile};
use crate::source::{CountingReader, Gb18030Reader, SourceState, import_error};
use crate::values::{
    KindInference, date_to_days, parse_boolean, parse_date, parse_datetime, parse_decimal, parse_integer,
};

/// Bytes looked at to detect format, encoding and delimiter.
const PEEK_BYTES: usize = 64 * 1024;
/// Rows per Parquet row group.
pub const ROW_GROUP_ROWS: usize = 1024 * 1024;
/// Size of the chunks handed to the uploader.
const CHUNK_BYTES: usize = 4 * 1024 * 1024;
/// An XLSX entry larger than this must not inflate more than [`MAX_ZIP_RATIO`] times.
const ZIP_ENTRY_CHECKED_BYTES: u64 = 10 * 1024 * 1024;
/// Largest allowed inflation ratio of a large XLSX entry.
const MAX_ZIP_RATIO: u64 = 100;
/// Most columns a source may have. Wider headers are refused before anything is allocated for
/// their rows: a government table with more than a thousand data items is a file to split.
pub const MAX_COLUMNS: usize = 1024;
/// Longest column name, in characters (a data item's name, not a paragraph).
pub const MAX_COLUMN_NAME_CHARS: usize = 100;
/// Cell bytes one raw batch may hold before it is sent on, whatever the row count: memory per
/// batch is bounded by bytes, never by the shape the file declares.
const BATCH_BYTES: usize = 32 * 1024 * 1024;
/// Cells one raw batch may hold (each costs a `usize` end offset).
const BATCH_CELLS: usize = 4 * 1024 * 1024;

/// State shared by the pipeline's threads.
#[derive(Debug, Default)]
pub struct Shared {
    errors: Mutex<ErrorSink>,
    /// Bytes read and SM3 digest of the source.
    pub source: Arc<SourceState>,
}

impl Shared {
    /// Records an error; returns `false` when the report is full (stop reading).
    pub fn push(&self, error: ImportError) -> bool {
        match self.errors.lock() {
            Ok(mut sink) => sink.push(error),
            Err(poisoned) => poisoned.into_inner().push(error),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&ErrorSink) -> T) -> T {
        match self.errors.lock() {
            Ok(sink) => f(&sink),
            Err(poisoned) => f(&poisoned.into_inner()),
        }
    }

    /// Whether any error was recorded.
    pub fn failed(&self) -> bool {
        self.with(|s| !s.is_empty())
    }

    fn full(&self) -> bool {
        self.with(ErrorSink::is_full)
    }

    /// Takes the collected errors.
    pub fn take(&self) -> ErrorSink {
        match self.errors.lock() {
            Ok(mut sink) => std::mem::take(&mut *sink),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        }
    }
}

/// Cells of a batch of rows, row-major, in one buffer (no allocation per cell). An empty cell is
/// a null.
#[derive(Debug, Default)]
pub struct RawBatch {
    columns: usize,
    data: Vec<u8>,
    ends: Vec<usize>,
    lines: Vec<u64>,
}

impl RawBatch {
    /// An empty batch for `rows` rows of `columns` cells, its buffers reserved within the byte
    /// and cell budgets (fallibly: a refused reservation is an error, not an abort).
    fn new(columns: usize, rows: usize) -> Result<RawBatch, ImportError> {
        let columns = columns.max(1);
        let rows = rows.min(BATCH_CELLS / columns).max(1);
        let mut batch = RawBatch { columns, ..RawBatch::default() };
        let out_of_memory = |_| ImportError::Io("内存不足，无法分配导入批次".to_string());
        batch.data.try_reserve_exact((rows * columns * 8).min(BATCH_BYTES)).map_err(out_of_memory)?;
        batch.ends.try_reserve_exact(rows * columns).map_err(out_of_memory)?;
        batch.lines.try_reserve_exact(rows).map_err(out_of_memory)?;
        Ok(batch)
    }

    fn rows(&self) -> usize {
        self.lines.len()
    }

    /// Whether the batch should be sent on: `batch_rows` rows, or the byte or cell budget spent.
    fn is_full(&self, batch_rows: usize) -> bool {
        self.rows() >= batch_rows || self.data.len() >= BATCH_BYTES || self.ends.len() >= BATCH_CELLS
    }

    /// An empty batch sized like `previous` (so the cell buffer is not regrown batch after batch).
    fn like(previous: &RawBatch) -> RawBatch {
        RawBatch {
            columns: previous.columns,
            data: Vec::with_capacity(previous.data.len() + previous.data.len() / 8),
            ends: Vec::with_capacity(previous.ends.capacity()),
            lines: Vec::with_capacity(previous.lines.capacity()),
        }
    }

    fn field(&self, row: usize, column: usize) -> &[u8] {
        let i = row * self.columns + column;
        let start = if i == 0 { 0 } else { self.ends.get(i - 1).copied().unwrap_or(0) };
        let end = self.ends.get(i).copied().unwrap_or(start);
        self.data.get(start..end).unwrap_or(&[])
    }

    fn push_field(&mut self, bytes: &[u8]) {
        self.data.extend_from_slice(bytes);
        self.ends.push(self.data.len());
    }

    fn push_csv_record(&mut self, record: &csv::ByteRecord, line: u64) {
        let base = self.data.len();
        self.data.extend_from_slice(record.as_slice());
        for i in 0..record.len() {
            self.ends.push(base + record.range(i).map_or(0, |r| r.end));
        }
        self.lines.push(line);
    }
}

/// What the read stage sends.
#[derive(Debug)]
pub enum Input {
    /// Column names, before any batch.
    Header(Vec<String>),
    /// Cells of CSV, JSON Lines or XLSX rows.
    Raw(RawBatch),
    /// Typed rows of a Parquet source, with the line (1-based row index) of the first row.
    Arrow(RecordBatch, u64),
}

/// What the read stage found out about the source.
#[derive(Debug, Clone, Default)]
pub struct SourceSummary {
    /// Format, once detected.
    pub format: Option<SourceFormat>,
    /// Text encoding (CSV, JSON Lines).
    pub encoding: Option<TextEncoding>,
    /// Delimiter (CSV).
    pub delimiter: Option<char>,
    /// Sheet read (XLSX).
    pub sheet: Option<String>,
}

/// Options of the read stage.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Size limit of the source.
    pub max_bytes: u64,
    /// Sheet to read (XLSX), else the first.
    pub sheet: Option<String>,
    /// Rows per batch.
    pub batch_rows: usize,
    /// Limit on the total declared uncompressed size of an XLSX archive.
    pub xlsx_max_uncompressed: u64,
}

// ---------------------------------------------------------------------------------------------
// Stage 1: read
// ---------------------------------------------------------------------------------------------

/// Reads the whole source, sending header and batches; errors go to `shared`.
pub fn read_source<R: Read>(
    source: R,
    name: &str,
    options: &ReadOptions,
    shared: &Shared,
    tx: &SyncSender<Input>,
) -> SourceSummary {
    let mut summary = SourceSummary::default();
    let mut counting = CountingReader::new(source, options.max_bytes, shared.source.clone());
    let mut peek = Vec::with_capacity(PEEK_BYTES);
    if let Err(e) = (&mut counting).take(PEEK_BYTES as u64).read_to_end(&mut peek) {
        shared.push(import_error(&e));
        return summary;
    }
    let format = SourceFormat::detect(name, &peek);
    summary.format = Some(format);
    let result = match format {
        SourceFormat::Csv | SourceFormat::JsonLines if crate::detect::looks_utf16(&peek) => {
            Err(ImportError::Utf16)
        }
        SourceFormat::Csv | SourceFormat::JsonLines => {
            let encoding = TextEncoding::detect(&peek);
            summary.encoding = Some(encoding);
            let body = match encoding {
                TextEncoding::Utf8 => peek.strip_prefix(UTF8_BOM).unwrap_or(&peek).to_vec(),
                TextEncoding::Gb18030 => peek.clone(),
            };
            if format == SourceFormat::Csv {
                let delimiter = match encoding {
                    TextEncoding::Utf8 => detect_delimiter(&body),
                    // GBK trail bytes include `|`: look at decoded text.
                    TextEncoding::Gb18030 => {
                        detect_delimiter(encoding_rs::GB18030.decode_without_bom_handling(&body).0.as_bytes())
                    }
                };
                summary.delimiter = Some(char::from(delimiter));
            }
            let chained = Cursor::new(body).chain(counting);
            let delimiter = summary.delimiter.map_or(b',', |c| c as u8);
            match (encoding, format) {
                (TextEncoding::Utf8, SourceFormat::Csv) => read_csv(chained, delimiter, options, shared, tx),
                (TextEncoding::Utf8, _) => read_jsonl(chained, options, shared, tx),
                (TextEncoding::Gb18030, SourceFormat::Csv) => {
                    read_csv(Gb18030Reader::new(chained), delimiter, options, shared, tx)
                }
                (TextEncoding::Gb18030, _) => read_jsonl(Gb18030Reader::new(chained), options, shared, tx),
            }
        }
        SourceFormat::Xlsx => {
            let mut bytes = peek;
            match counting.read_to_end(&mut bytes) {
                Ok(_) => read_xlsx(bytes, options, shared, tx, &mut summary),
                Err(e) => Err(import_error(&e)),
            }
        }
        SourceFormat::Parquet => read_parquet(Cursor::new(peek).chain(counting), options, shared, tx),
    };
    if let Err(error) = result {
        shared.push(error);
    }
    summary
}

/// Refuses a header wider than [`MAX_COLUMNS`] (called before anything is allocated per column).
fn check_width(found: usize) -> Result<(), ImportError> {
    if found > MAX_COLUMNS {
        return Err(ImportError::TooManyColumns { found, limit: MAX_COLUMNS });
    }
    Ok(())
}

/// Checks header names: at most [`MAX_COLUMNS`], each non-empty after trimming, at most
/// [`MAX_COLUMN_NAME_CHARS`] characters, free of control and invisible characters, unique.
fn header_names(names: Vec<String>) -> Result<Vec<String>, ImportError> {
    check_width(names.len())?;
    let mut seen = HashSet::new();
    let names: Vec<String> = names.into_iter().map(|n| n.trim().to_string()).collect();
    for name in &names {
        let chars = name.chars().count();
        if chars > MAX_COLUMN_NAME_CHARS {
            let preview: String = name.chars().take(crate::error::VALUE_PREVIEW_CHARS).collect();
            return Err(ImportError::ColumnNameTooLong { preview, chars, limit: MAX_COLUMN_NAME_CHARS });
        }
        if yunshu_domain::text::name_has_hidden_characters(name) {
            return Err(ImportError::BadHeader { column: name.escape_default().to_string() });
        }
        if name.is_empty() || !seen.insert(name.as_str()) {
            return Err(ImportError::BadHeader { column: name.clone() });
        }
    }
    if names.is_empty() {
        return Err(ImportError::Empty);
    }
    Ok(names)
}

fn csv_error(error: csv::Error) -> ImportError {
    match error.into_kind() {
        csv::ErrorKind::Io(e) => import_error(&e),
        other => ImportError::Io(format!("{other:?}")),
    }
}

/// Sends a message; `false` when the next stage has stopped.
fn send(tx: &SyncSender<Input>, input: Input) -> bool {
    tx.send(input).is_ok()
}

fn read_csv<T: Read>(
    reader: T,
    delimiter: u8,
    options: &ReadOptions,
    shared: &Shared,
    tx: &SyncSender<Input>,
) -> Result<(), ImportError> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .buffer_capacity(1 << 20)
        .from_reader(reader);
    let mut record = csv::ByteRecord::new();
    if !csv.read_byte_record(&mut record).map_err(csv_error)? {
        return Err(ImportError::Empty);
    }
    check_width(record.len())?;
    let mut names = Vec::with_capacity(record.len());
    for field in record.iter() {
        let line = record.position().map_or(1, |p| p.line());
        names.push(String::from_utf8(field.to_vec()).map_err(|_| ImportError::UndecodableText { line })?);
    }
    let header = header_names(names)?;
    let columns = header.len();
    if !send(tx, Input::Header(header)) {
        return Ok(());
    }
    let mut batch = RawBatch::new(columns, options.batch_rows)?;
    while csv.read_byte_record(&mut record).map_err(csv_error)? {
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != columns {
            let error = ImportError::MalformedRow { line, expected: columns, found: record.len() };
            if !shared.push(error) {
                return Ok(());
            }
            continue;
        }
        batch.push_csv_record(&record, line);
        if batch.is_full(options.batch_rows) {
            let next = RawBatch::like(&batch);
            let full = std::mem::replace(&mut batch, next);
            if shared.full() || !send(tx, Input::Raw(full)) {
                return Ok(());
            }
        }
    }
    if batch.rows() > 0 {
        send(tx, Input::Raw(batch));
    }
    Ok(())
}

fn read_jsonl<T: Read>(
    reader: T,
    options: &ReadOptions,
    shared: &Shared,
    tx: &SyncSender<Input>,
) -> Result<(), ImportError> {
    let mut reader = BufReader::with_capacity(1 << 20, reader);
    let mut buffer = Vec::new();
    let mut line = 0u64;
    let mut header: Option<Vec<String>> = None;
    let mut batch = RawBatch::default();
    loop {
        buffer.clear();
        if reader.read_until(b'\n', &mut buffer).map_err(|e| import_error(&e))? == 0 {
            break;
        }
        line += 1;
        let Ok(text) = std::str::from_utf8(&buffer) else {
            return Err(ImportError::UndecodableText { line });
        };
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let object: serde_json::Map<String, serde_json::Value> = match serde_json::from_str(text) {
            Ok(object) => object,
            Err(e) => {
                if !shared.push(ImportError::BadJson { line, reason: e.to_string() }) {
                    return Ok(());
                }
                continue;
            }
        };
        let names = match &header {
            Some(names) => names,
            None => {
                // Sorted explicitly: serde_json's map order depends on a crate feature that another
                // crate of the build may switch on (`preserve_order`).
                let mut keys: Vec<String> = object.keys().cloned().collect();
                keys.sort();
                let names = header_names(keys)?;
                if !send(tx, Input::Header(names.clone())) {
                    return Ok(());
                }
                batch = RawBatch::new(names.len(), options.batch_rows)?;
                header.insert(names)
            }
        };
        if let Some(unknown) = object.keys().find(|k| !names.contains(k)) {
            let reason = format!("unknown key {unknown:?} (keys are those of the first line)");
            if !shared.push(ImportError::BadJson { line, reason }) {
                return Ok(());
            }
            continue;
        }
        for name in names {
            match object.get(name) {
                None | Some(serde_json::Value::Null) => batch.push_field(b""),
                Some(serde_json::Value::String(s)) => batch.push_field(s.as_bytes()),
                Some(other) => {
                    // Numbers, booleans and nested values as their JSON text.
                    let _ = write!(batch.data, "{other}");
                    batch.ends.push(batch.data.len());
                }
            }
        }
        batch.lines.push(line);
        if batch.is_full(options.batch_rows) {
            let next = RawBatch::like(&batch);
            let full = std::mem::replace(&mut batch, next);
            if shared.full() || !send(tx, Input::Raw(full)) {
                return Ok(());
            }
        }
    }
    if header.is_none() {
        return if shared.failed() { Ok(()) } else { Err(ImportError::Empty) };
    }
    if batch.rows() > 0 {
        send(tx, Input::Raw(batch));
    }
    Ok(())
}

/// Refuses archives whose declared sizes inflate beyond the limits (the zip-bomb defence),
/// before anything is decompressed.
pub fn check_zip(bytes: &[u8], max_uncompressed: u64) -> Result<(), ImportError> {
    let not_xlsx = |e: zip::result::ZipError| ImportError::NotXlsx { reason: e.to_string() };
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(not_xlsx)?;
    let mut total = 0u64;
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).map_err(not_xlsx)?;
        let (uncompressed, compressed) = (entry.size(), entry.compressed_size());
        total = total.saturating_add(uncompressed);
        if uncompressed > ZIP_ENTRY_CHECKED_BYTES && uncompressed > compressed.saturating_mul(MAX_ZIP_RATIO) {
            let entry = entry.name().map(|n| n.to_string()).unwrap_or_else(|_| format!("#{i}"));
            return Err(ImportError::ZipBomb { entry, uncompressed, compressed });
        }
    }
    if total > max_uncompressed {
        return Err(ImportError::ZipBomb {
            entry: "*".to_string(),
            uncompressed: total,
            compressed: bytes.len() as u64,
        });
    }
    Ok(())
}

/// Text of an XLSX cell: integral floats without `.0`, Excel dates as ISO dates or date-times.
fn cell_text(cell: &Data, out: &mut Vec<u8>) {
    match cell {
        Data::Empty => {}
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => out.extend_from_slice(s.as_bytes()),
        Data::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Data::Float(f) => {
            if f.fract() == 0.0 && f.abs() < 1e15 {
                let _ = write!(out, "{}", *f as i64);
            } else {
                let _ = write!(out, "{f}");
            }
        }
        Data::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        Data::DateTime(dt) => {
            let serial = dt.as_f64();
            if dt.is_datetime() {
                // Excel's day 0 is 1899-12-30 (counting its fictitious 1900-02-29); 25 569 is 1970-01-01.
                let millis = ((serial - 25_569.0) * 86_400_000.0).round() as i64;
                let days = millis.div_euclid(86_400_000);
                let secs = millis.rem_euclid(86_400_000) / 1000;
                let date = i32::try_from(days).ok().and_then(crate::values::days_to_date);
                match date {
                    Some(date) if secs == 0 => {
                        let _ = write!(out, "{}", date.format("%Y-%m-%d"));
                    }
                    Some(date) => {
                        let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
                        let _ = write!(out, "{} {h:02}:{m:02}:{s:02}", date.format("%Y-%m-%d"));
                    }
                    None => {
                        let _ = write!(out, "{serial}");
                    }
                }
            } else {
                let _ = write!(out, "{serial}");
            }
        }
        Data::Error(e) => {
            let _ = write!(out, "{e}");
        }
    }
}

fn read_xlsx(
    bytes: Vec<u8>,
    options: &ReadOptions,
    shared: &Shared,
    tx: &SyncSender<Input>,
    summary: &mut SourceSummary,
) -> Result<(), ImportError> {
    let limit = options.xlsx_max_uncompressed.min(options.max_bytes.saturating_mul(20));
    check_zip(&bytes, limit)?;
    let mut workbook: Xlsx<_> = calamine::Reader::new(Cursor::new(bytes))
        .map_err(|e: calamine::XlsxError| ImportError::NotXlsx { reason: e.to_string() })?;
    let available = workbook.sheet_names();
    let sheet = match &options.sheet {
        Some(name) if available.contains(name) => name.clone(),
        Some(name) => return Err(ImportError::SheetNotFound { name: name.clone(), available }),
        None => available.first().cloned().ok_or(ImportError::Empty)?,
    };
    summary.sheet = Some(sheet.clone());
    let range =
        workbook.worksheet_range(&sheet).map_err(|e| ImportError::NotXlsx { reason: e.to_string() })?;
    let first_row = u64::from(range.start().map_or(0, |(row, _)| row));
    let mut rows = range.rows().enumerate().filter(|(_, row)| row.iter().any(|c| !matches!(c, Data::Empty)));
    let Some((_, header_row)) = rows.next() else { return Err(ImportError::Empty) };
    let mut names: Vec<String> = header_row
        .iter()
        .map(|c| {
            let mut text = Vec::new();
            cell_text(c, &mut text);
            String::from_utf8_lossy(&text).into_owned()
        })
        .collect();
    // Formatting often widens the used range: trailing unnamed columns are not columns.
    while names.last().is_some_and(|n| n.trim().is_empty()) {
        names.pop();
    }
    let header = header_names(names)?;
    let columns = header.len();
    if !send(tx, Input::Header(header)) {
        return Ok(());
    }
    let mut batch = RawBatch::new(columns, options.batch_rows.min(range.height()))?;
    let mut cell = Vec::new();
    for (index, row) in rows {
        for column in 0..columns {
            cell.clear();
            if let Some(c) = row.get(column) {
                cell_text(c, &mut cell);
            }
            batch.push_field(cell.trim_ascii());
        }
        batch.lines.push(first_row + index as u64 + 1);
        if batch.is_full(options.batch_rows) {
            let next = RawBatch::like(&batch);
            let full = std::mem::replace(&mut batch, next);
            if shared.full() || !send(tx, Input::Raw(full)) {
                return Ok(());
            }
        }
    }
    if batch.rows() > 0 {
        send(tx, Input::Raw(batch));
    }
    Ok(())
}

/// A temporary file removed when dropped.
struct TempFile {
    path: PathBuf,
    file: File,
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl TempFile {
    fn create() -> io::Result<TempFile> {
        loop {
            let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = std::env::temp_dir().join(format!("yunshu-ingest-{}-{n}.parquet", std::process::id()));
            match File::options().read(true).write(true).create_new(true).open(&path) {
                Ok(file) => return Ok(TempFile { path, file }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn read_parquet<T: Read>(
    mut reader: T,
    options: &ReadOptions,
    shared: &Shared,
    tx: &SyncSender<Input>,
) -> Result<(), ImportError> {
    let io_error = |e: io::Error| import_error(&e);
    let mut spool = TempFile::create().map_err(io_error)?;
    io::copy(&mut reader, &mut spool.file).map_err(io_error)?;
    spool.file.rewind().map_err(io_error)?;
    let file = spool.file.try_clone().map_err(io_error)?;
    let not_parquet = |e: parquet::errors::ParquetError| ImportError::NotParquet { reason: e.to_string() };
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(not_parquet)?;
    let header = header_names(builder.schema().fields().iter().map(|f| f.name().clone()).collect())?;
    let batches = builder.with_batch_size(options.batch_rows).build().map_err(not_parquet)?;
    if !send(tx, Input::Header(header)) {
        return Ok(());
    }
    let mut first_line = 1u64;
    for batch in batches {
        let batch = batch.map_err(|e| ImportError::NotParquet { reason: e.to_string() })?;
        let rows = batch.num_rows() as u64;
        if shared.full() || !send(tx, Input::Arrow(batch, first_line)) {
            return Ok(());
        }
        first_line += rows;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Stage 2: convert, profile, check
// ---------------------------------------------------------------------------------------------

/// What the convert stage sends.
#[derive(Debug)]
pub enum Output {
    /// The schema, before any batch.
    Schema(SchemaRef),
    /// A converted batch.
    Batch(RecordBatch),
}

/// What the convert stage found.
#[derive(Debug)]
pub struct ConvertSummary {
    /// Stored columns.
    pub columns: Vec<ColumnSpec>,
    /// Differences from the registered items.
    pub differences: Vec<SchemaDifference>,
    /// Profile accumulated so far.
    pub profiler: Profiler,
    /// Quality rules accumulated so far.
    pub evaluator: QualityEvaluator,
}

struct Setup {
    columns: Vec<ColumnSpec>,
    differences: Vec<SchemaDifference>,
    schema: SchemaRef,
    profiler: Profiler,
    evaluator: QualityEvaluator,
}

fn set_up(
    header: &[String],
    inferred: &[Option<ColumnKind>],
    expected: Option<&[ColumnSpec]>,
    rules: &[QualityRule],
    tx: &SyncSender<Output>,
) -> Setup {
    let (columns, differences) = reconcile(header, inferred, expected);
    let schema = arrow_schema(&columns);
    let _ = tx.send(Output::Schema(schema.clone()));
    let mut profiler = Profiler::new(&columns);
    profiler.offload_identifiers();
    Setup { profiler, evaluator: QualityEvaluator::new(rules, &columns), columns, differences, schema }
}

/// Converts batches; returns `None` when the source sent no header.
pub fn convert(
    rx: &Receiver<Input>,
    tx: &SyncSender<Output>,
    expected: Option<&[ColumnSpec]>,
    rules: &[QualityRule],
    shared: &Shared,
) -> Option<ConvertSummary> {
    thread::scope(|scope| {
        // Identifier validation runs beside conversion: it costs about as much as the rest of
        // the conversion and profiling together.
        let (validate_tx, validate_rx) = sync_channel::<ValidateJob>(2);
        let validator =
            thread::Builder::new().name("ingest-validate".to_string()).spawn_scoped(scope, move || {
                let mut tally = IdentifierTally::default();
                while let Ok((columns, lines)) = validate_rx.recv() {
                    for (column, kind, array) in columns {
                        tally.observe(column, kind, &array, &lines);
                    }
                }
                tally
            });
        let Ok(validator) = validator else {
            shared.push(ImportError::Io("cannot start the validation thread".to_string()));
            return None;
        };
        let summary = convert_batches(rx, tx, &validate_tx, expected, rules, shared);
        drop(validate_tx);
        let tally = validator.join().unwrap_or_default();
        summary.map(|mut summary| {
            summary.profiler.merge(tally);
            summary
        })
    })
}

/// Identifier columns of one batch and the lines of its rows.
type ValidateJob = (Vec<(usize, IdentifierKind, ArrayRef)>, Vec<u64>);

fn convert_batches(
    rx: &Receiver<Input>,
    tx: &SyncSender<Output>,
    validate_tx: &SyncSender<ValidateJob>,
    expected: Option<&[ColumnSpec]>,
    rules: &[QualityRule],
    shared: &Shared,
) -> Option<ConvertSummary> {
    let mut header: Option<Vec<String>> = None;
    let mut setup: Option<Setup> = None;
    while let Ok(input) = rx.recv() {
        let (batch, lines) = match input {
            Input::Header(names) => {
                header = Some(names);
                continue;
            }
            Input::Raw(raw) => {
                let names = header.as_deref().unwrap_or(&[]);
                let s = setup.get_or_insert_with(|| {
                    let inferred: Vec<Option<ColumnKind>> = (0..names.len())
                        .map(|c| {
                            let mut inference = KindInference::default();
                            for row in 0..raw.rows() {
                                let field = raw.field(row, c);
                                if !field.is_empty()
                                    && let Ok(text) = std::str::from_utf8(field)
                                {
                                    inference.observe(text);
                                }
                            }
                            inference.observed_kind()
                        })
                        .collect();
                    set_up(names, &inferred, expected, rules, tx)
                });
                let batch = build_batch(&raw, &s.columns, &s.schema, shared);
                (batch, raw.lines)
            }
            Input::Arrow(batch, first_line) => {
                let names = header.as_deref().unwrap_or(&[]);
                let s = setup.get_or_insert_with(|| {
                    let inferred: Vec<Option<ColumnKind>> = batch
                        .schema()
                        .fields()
                        .iter()
                        .map(|f| Some(ColumnKind::from_arrow(f.data_type()).unwrap_or(ColumnKind::Text)))
                        .collect();
                    set_up(names, &inferred, expected, rules, tx)
                });
                let lines: Vec<u64> = (first_line..first_line + batch.num_rows() as u64).collect();
                (cast_batch(&batch, &lines, &s.columns, &s.schema, shared), lines)
            }
        };
        let Some(s) = setup.as_mut() else { continue };
        if let Some(batch) = batch
            && !shared.failed()
        {
            s.profiler.observe(&batch, &lines);
            s.evaluator.observe(&batch, &lines);
            let job: Vec<_> = s
                .profiler
                .identifier_columns()
                .into_iter()
                .filter_map(|(i, kind)| Some((i, kind, batch.columns().get(i)?.clone())))
                .collect();
            if !job.is_empty() && validate_tx.send((job, lines)).is_err() {
                break;
            }
            if tx.send(Output::Batch(batch)).is_err() {
                break;
            }
        }
    }
    let names = header?;
    let s = match setup {
        Some(s) => s,
        // A header without rows: nothing to infer from (unregistered columns are text).
        None => set_up(&names, &vec![None; names.len()], expected, rules, tx),
    };
    Some(ConvertSummary {
        columns: s.columns,
        differences: s.differences,
        profiler: s.profiler,
        evaluator: s.evaluator,
    })
}

fn text_value(text: &str) -> Option<&str> {
    Some(text)
}

/// Parses raw cells into typed arrays; bad cells become errors (and nulls).
fn build_batch(
    raw: &RawBatch,
    columns: &[ColumnSpec],
    schema: &SchemaRef,
    shared: &Shared,
) -> Option<RecordBatch> {
    let rows = raw.rows();
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(columns.len());
    let mut ok = true;
    for (c, spec) in columns.iter().enumerate() {
        let line_of = |row: usize| raw.lines.get(row).copied().unwrap_or(0);
        let mut texts = (0..rows).map(|row| {
            let field = raw.field(row, c);
            if field.is_empty() { (row, Ok(None)) } else { (row, std::str::from_utf8(field).map(Some)) }
        });
        macro_rules! typed {
            ($builder:expr, $parse:expr) => {{
                let mut builder = $builder;
                for (row, text) in &mut texts {
                    match text {
                        Ok(Some(text)) => match $parse(text) {
                            Some(v) => builder.append_value(v),
                            None => {
                                ok = false;
                                shared.push(ImportError::bad_value(
                                    line_of(row),
                                    &spec.name,
                                    spec.kind,
                                    text,
                                ));
                                builder.append_null();
                            }
                        },
                        Ok(None) => builder.append_null(),
                        Err(_) => {
                            ok = false;
                            shared.push(ImportError::UndecodableText { line: line_of(row) });
                            builder.append_null();
                        }
                    }
                }
                Arc::new(builder.finish()) as ArrayRef
            }};
        }
        let array = match spec.kind {
            ColumnKind::Text => {
                typed!(StringBuilder::with_capacity(rows, raw.data.len() / columns.len().max(1)), text_value)
            }
            ColumnKind::Integer => typed!(Int64Builder::with_capacity(rows), parse_integer),
            ColumnKind::Decimal => typed!(Float64Builder::with_capacity(rows), parse_decimal),
            ColumnKind::Date => {
                typed!(Date32Builder::with_capacity(rows), |t: &str| parse_date(t).map(date_to_days))
            }
            ColumnKind::DateTime => typed!(TimestampMillisecondBuilder::with_capacity(rows), parse_datetime),
            ColumnKind::Boolean => typed!(BooleanBuilder::with_capacity(rows), parse_boolean),
        };
        arrays.push(array);
    }
    if !ok {
        return None;
    }
    match RecordBatch::try_new(schema.clone(), arrays) {
        Ok(batch) => Some(batch),
        Err(e) => {
            shared.push(ImportError::Io(e.to_string()));
            None
        }
    }
}

/// Casts a Parquet batch to the stored kinds; values that do not cast become errors.
fn cast_batch(
    batch: &RecordBatch,
    lines: &[u64],
    columns: &[ColumnSpec],
    schema: &SchemaRef,
    shared: &Shared,
) -> Option<RecordBatch> {
    let mut arrays = Vec::with_capacity(columns.len());
    let options = CastOptions { safe: true, ..Default::default() };
    let mut ok = true;
    for (source, spec) in batch.columns().iter().zip(columns) {
        let target = spec.kind.arrow_type();
        if source.data_type() == &target {
            arrays.push(source.clone());
            continue;
        }
        let cast = match cast_with_options(source, &target, &options) {
            Ok(cast) => cast,
            Err(e) => {
                shared.push(ImportError::NotParquet { reason: format!("{}: {e}", spec.name) });
                return None;
            }
        };
        if cast.null_count() > source.null_count() {
            let formatter = ArrayFormatter::try_new(source.as_ref(), &FormatOptions::default()).ok();
            for i in (0..source.len()).filter(|&i| source.is_valid(i) && cast.is_null(i)) {
                ok = false;
                let text = formatter.as_ref().map(|f| f.value(i).to_string()).unwrap_or_default();
                let line = lines.get(i).copied().unwrap_or(0);
                if !shared.push(ImportError::bad_value(line, &spec.name, spec.kind, &text)) {
                    break;
                }
            }
        }
        arrays.push(cast);
    }
    if !ok {
        return None;
    }
    RecordBatch::try_new(schema.clone(), arrays).map_err(|e| shared.push(ImportError::Io(e.to_string()))).ok()
}

// ---------------------------------------------------------------------------------------------
// Stage 3: encode
// ---------------------------------------------------------------------------------------------

/// What the encode stage hands to the async uploader.
#[derive(Debug)]
pub enum Upload {
    /// Bytes of the Parquet file, in order.
    Chunk(Vec<u8>),
    /// Rows written so far.
    Rows(u64),
}

/// Parquet writer settings shared by the import and the baseline: snappy, ~1M-row row groups,
/// page statistics.
pub fn writer_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_statistics_enabled(EnabledStatistics::Page)
        .build()
}

/// A `Write` that sends full chunks to the uploader.
struct ChunkWriter {
    buffer: Vec<u8>,
    tx: tokio::sync::mpsc::Sender<Upload>,
}

impl ChunkWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK_BYTES));
        self.tx.blocking_send(Upload::Chunk(chunk)).map_err(|_| io::Error::other("upload stopped"))
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        if self.buffer.len() >= CHUNK_BYTES {
            self.send()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        // Chunks go out when full or at the end; a flush of the Parquet writer is not a reason
        // to send a small part.
        Ok(())
    }
}

/// Encodes batches into Parquet chunks; stops writing after the first error anywhere.
pub fn encode(rx: &Receiver<Output>, tx: &tokio::sync::mpsc::Sender<Upload>, shared: &Shared) {
    let mut writer: Option<ArrowWriter<ChunkWriter>> = None;
    let mut rows = 0u64;
    let failed = |e: &dyn std::fmt::Display| shared.push(ImportError::Io(format!("parquet: {e}")));
    while let Ok(output) = rx.recv() {
        match output {
            Output::Schema(schema) => {
                let sink = ChunkWriter { buffer: Vec::with_capacity(CHUNK_BYTES), tx: tx.clone() };
                match ArrowWriter::try_new(sink, schema, Some(writer_properties())) {
                    Ok(w) => writer = Some(w),
                    Err(e) => {
                        failed(&e);
                        return;
                    }
                }
            }
            Output::Batch(batch) => {
                if shared.failed() {
                    continue;
                }
                let Some(w) = writer.as_mut() else { continue };
                if let Err(e) = w.write(&batch) {
                    failed(&e);
                    return;
                }
                rows += batch.num_rows() as u64;
                if tx.blocking_send(Upload::Rows(rows)).is_err() {
                    return;
                }
            }
        }
    }
    if shared.failed() {
        return;
    }
    let Some(w) = writer else { return };
    // `into_inner` flushes the open row group and writes the footer.
    match w.into_inner() {
        Ok(mut sink) => {
            if let Err(e) = sink.send() {
                failed(&e);
            }
        }
        Err(e) => {
            failed(&e);
        }
    }
}
