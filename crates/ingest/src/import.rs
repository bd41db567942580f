//! `import`: one upload becomes one immutable Parquet version in the object store, or nothing.
//!
//! The pipeline threads (module `pipeline`) parse, convert and encode; this async function
//! uploads the encoded chunks as a multipart upload to a staging object of its own
//! (`<dest>.staging-<pid>-<nanos>-<n>`, so two imports never share one), and only when every stage
//! succeeded copies it to `dest` — if `dest` does not exist yet: publishing never overwrites — and
//! deletes the staging object. On any error the upload is aborted and this import's staging object
//! deleted, and nothing else: the store holds no trace of a failed import, and a failed import
//! never removes what another one published. The store is any `ObjectStore` (the platform wraps
//! it to encrypt with SM4).

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::sync_channel;
use std::thread;

use chrono::NaiveDate;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};

use crate::detect::{SourceFormat, TextEncoding};
use crate::error::{ErrorReport, ImportError};
use crate::pipeline::{self, ConvertSummary, ReadOptions, Shared, SourceSummary, Upload};
use crate::profile::Profile;
use crate::quality::{QualityReport, QualityRule};
use crate::schema::{ColumnSpec, SchemaDifference};

/// Default rows per batch.
pub const DEFAULT_BATCH_ROWS: usize = 64 * 1024;
/// Default limit on the declared uncompressed size of an XLSX archive.
pub const DEFAULT_XLSX_MAX_UNCOMPRESSED: u64 = 512 * 1024 * 1024;
/// Size of the parts of the multipart upload.
const UPLOAD_PART_BYTES: usize = 8 * 1024 * 1024;
/// Parts uploaded concurrently.
const UPLOAD_CONCURRENCY: usize = 2;

/// Options of one import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Largest accepted source, in bytes (enforced while reading).
    pub max_bytes: u64,
    /// Sheet of an XLSX workbook (else the first).
    pub sheet: Option<String>,
    /// Registered data items, if any: columns are parsed to these kinds.
    pub expected: Option<Vec<ColumnSpec>>,
    /// Rows per batch (also the type-inference sample when `expected` is absent).
    pub batch_rows: usize,
    /// Quality rules evaluated during the import.
    pub rules: Vec<QualityRule>,
    /// The date freshness rules are evaluated against (time is a parameter).
    pub today: NaiveDate,
    /// Limit on the declared uncompressed size of an XLSX archive (also at most 20 × `max_bytes`).
    pub xlsx_max_uncompressed: u64,
}

impl ImportOptions {
    /// Options with the defaults: no registered items, no rules, the first sheet.
    pub fn new(max_bytes: u64, today: NaiveDate) -> ImportOptions {
        ImportOptions {
            max_bytes,
            sheet: None,
            expected: None,
            batch_rows: DEFAULT_BATCH_ROWS,
            rules: Vec::new(),
            today,
            xlsx_max_uncompressed: DEFAULT_XLSX_MAX_UNCOMPRESSED,
        }
    }
}

/// Progress of an import, reported after each batch written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Rows written so far.
    pub rows: u64,
    /// Source bytes read so far.
    pub bytes_read: u64,
}

/// A successful import.
#[derive(Debug, Clone)]
pub struct ImportOutcome {
    /// The object written.
    pub path: Path,
    /// Rows stored.
    pub row_count: u64,
    /// Stored columns.
    pub schema: Vec<ColumnSpec>,
    /// Hex SM3 digest of the source bytes as received.
    pub sm3: String,
    /// Source size in bytes.
    pub bytes_read: u64,
    /// Detected format.
    pub format: SourceFormat,
    /// Detected text encoding (CSV, JSON Lines).
    pub encoding: Option<TextEncoding>,
    /// Detected delimiter (CSV).
    pub delimiter: Option<char>,
    /// Sheet read (XLSX).
    pub sheet: Option<String>,
    /// Differences from the registered items, for the uploader to accept.
    pub differences: Vec<SchemaDifference>,
    /// Profile of the version.
    pub profile: Profile,
    /// Quality rules' results and score.
    pub quality: QualityReport,
}

fn io_error(e: impl std::fmt::Display) -> ImportError {
    ImportError::Io(e.to_string())
}

/// Imports `source` (named `name`, used for format detection) into `dest` of `store`.
///
/// Runs three threads for parsing and encoding; must be called within a Tokio runtime (the
/// multipart upload spawns its part uploads). `progress` is called on the calling task after each
/// batch. On failure, returns every error found (up to the cap) and leaves the store unchanged.
pub async fn import<R: Read + Send + 'static>(
    source: R,
    name: &str,
    options: ImportOptions,
    store: Arc<dyn ObjectStore>,
    dest: &Path,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<ImportOutcome, ErrorReport> {
    match store.head(dest).await {
        Ok(_) => return Err(ImportError::DestinationExists { path: dest.to_string() }.into()),
        Err(object_store::Error::NotFound { .. }) => {}
        Err(e) => return Err(io_error(e).into()),
    }
    let staging = staging_path(dest);
    let shared = Arc::new(Shared::default());
    let (input_tx, input_rx) = sync_channel(2);
    let (output_tx, output_rx) = sync_channel(2);
    let (upload_tx, mut upload_rx) = tokio::sync::mpsc::channel(4);

    let read_options = ReadOptions {
        max_bytes: options.max_bytes,
        sheet: options.sheet.clone(),
        batch_rows: options.batch_rows.max(1),
        xlsx_max_uncompressed: options.xlsx_max_uncompressed,
    };
    let reader = {
        let (shared, name) = (shared.clone(), name.to_string());
        spawn("ingest-read", move || pipeline::read_source(source, &name, &read_options, &shared, &input_tx))
    };
    let converter = {
        let shared = shared.clone();
        let (expected, rules) = (options.expected.clone(), options.rules.clone());
        spawn("ingest-convert", move || {
            pipeline::convert(&input_rx, &output_tx, expected.as_deref(), &rules, &shared)
        })
    };
    let encoder = {
        let shared = shared.clone();
        spawn("ingest-encode", move || pipeline::encode(&output_rx, &upload_tx, &shared))
    };

    let (reader, converter, encoder) = match (reader, converter, encoder) {
        (Ok(r), Ok(c), Ok(e)) => (r, c, e),
        _ => return Err(ImportError::Io("cannot start import threads".to_string()).into()),
    };
    let mut upload: Option<WriteMultipart> = None;
    let mut store_error: Option<ImportError> = None;
    while let Some(message) = upload_rx.recv().await {
        match message {
            Upload::Rows(rows) => progress(Progress { rows, bytes_read: shared.source.bytes() }),
            Upload::Chunk(bytes) => {
                let writer = match upload.as_mut() {
                    Some(writer) => writer,
                    None => match store.put_multipart(&staging).await {
                        Ok(parts) => {
                            upload.insert(WriteMultipart::new_with_chunk_size(parts, UPLOAD_PART_BYTES))
                        }
                        Err(e) => {
                            store_error = Some(io_error(e));
                            break;
                        }
                    },
                };
                if let Err(e) = writer.wait_for_capacity(UPLOAD_CONCURRENCY).await {
                    store_error = Some(io_error(e));
                    break;
                }
                writer.put(bytes.into());
            }
        }
    }
    // Dropping the receiver stops the encoder, which stops the converter, which stops the reader.
    drop(upload_rx);
    let joined = tokio::task::spawn_blocking(move || {
        let summary = reader.join().ok();
        let converted = converter.join().ok();
        let encoded = encoder.join().is_ok();
        (summary, converted, encoded)
    })
    .await;
    let (summary, converted, encoded) = joined.unwrap_or((None, None, false));

    let mut errors = shared.take();
    if let Some(e) = store_error {
        errors.push(e);
    }
    let outcome = match (summary, converted.flatten(), encoded) {
        _ if !errors.is_empty() => None,
        (Some(summary), Some(converted), true) => Some((summary, converted)),
        (_, None, true) => {
            errors.push(ImportError::Empty);
            None
        }
        _ => {
            errors.push(ImportError::Io("import thread failed".to_string()));
            None
        }
    };
    let Some((summary, converted)) = outcome else {
        if let Some(writer) = upload {
            let _ = writer.abort().await;
        }
        let _ = store.delete(&staging).await;
        let mut report = errors.into_report();
        report.errors.sort_by_key(line_of);
        return Err(report);
    };
    let Some(writer) = upload else {
        return Err(ImportError::Io("no parquet data produced".to_string()).into());
    };
    if let Err(e) = writer.finish().await {
        let _ = store.delete(&staging).await;
        return Err(io_error(e).into());
    }
    // `copy_if_not_exists` is atomic (a hard link on the local store): either this import
    // created `dest` or it did not, so an error never leaves a half-published object of ours and
    // never touches one published by someone else.
    let published = store.copy_if_not_exists(&staging, dest).await;
    let _ = store.delete(&staging).await;
    match published {
        Ok(()) => {}
        Err(object_store::Error::AlreadyExists { .. }) => {
            return Err(ImportError::DestinationExists { path: dest.to_string() }.into());
        }
        Err(e) => return Err(io_error(e).into()),
    }
    Ok(outcome_of(dest, &shared, summary, converted, options.today))
}

/// A staging path no other import uses: the process, the time and a process-wide sequence.
fn staging_path(dest: &Path) -> Path {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let n = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    Path::from(format!("{dest}.staging-{}-{nanos}-{n}", std::process::id()))
}

/// Spawns a named pipeline thread (names show in profilers and panics).
fn spawn<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::io::Result<thread::JoinHandle<T>> {
    thread::Builder::new().name(name.to_string()).spawn(f)
}

fn outcome_of(
    dest: &Path,
    shared: &Shared,
    summary: SourceSummary,
    converted: ConvertSummary,
    today: NaiveDate,
) -> ImportOutcome {
    let profile = converted.profiler.finish();
    let quality = converted.evaluator.finish(&profile, today);
    ImportOutcome {
        path: dest.clone(),
        row_count: profile.rows,
        schema: converted.columns,
        sm3: shared.source.digest(),
        bytes_read: shared.source.bytes(),
        format: summary.format.unwrap_or(SourceFormat::Csv),
        encoding: summary.encoding,
        delimiter: summary.delimiter,
        sheet: summary.sheet,
        differences: converted.differences,
        profile,
        quality,
    }
}

/// Sort key of a report's errors: by line, errors without a line first.
fn line_of(error: &ImportError) -> u64 {
    match error {
        ImportError::UndecodableText { line }
        | ImportError::MalformedRow { line, .. }
        | ImportError::BadValue { line, .. }
        | ImportError::BadJson { line, .. } => *line,
        _ => 0,
    }
}
