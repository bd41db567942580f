//! `yunshu-ingest`: file import into versioned Parquet objects, with profiling and quality
//! checks (Art. 16–17 of the measures).
//!
//! An upload (CSV in UTF-8 or GBK/GB18030 with a detected delimiter, XLSX, Parquet or JSON Lines)
//! is streamed through a pipeline of threads (read, convert, validate identifiers, encode) into Parquet written to an
//! `object_store::ObjectStore` ([`import()`]); each import is a new immutable object, or nothing at
//! all when any error was found (the errors are reported with line and column). The profile
//! ([`profile`]) and quality rules ([`quality`]) are computed on the same stream, so a version is
//! read once.
//!
//! - [`schema`]: data items (`ColumnSpec`) and their Arrow types, schema differences;
//! - [`detect`]: format, encoding and delimiter detection;
//! - [`values`]: cell parsing and type inference;
//! - `pipeline` (private): the read → convert (+ validate) → encode threads;
//! - `source` (private): byte counting, SM3 digest, size limit, GB18030 decoding;
//! - [`mod@bench`]: the benchmark CSV generator and the plain CSV → Parquet baseline.

pub mod bench;
pub mod detect;
pub mod error;
pub mod import;
mod pipeline;
pub mod profile;
pub mod quality;
pub mod schema;
mod source;
pub mod values;
pub mod xlsx;

pub use bench::{generate_bench_csv, plain_csv_to_parquet};
pub use detect::{SourceFormat, TextEncoding};
pub use error::{ErrorReport, ImportError};
pub use import::{ImportOptions, ImportOutcome, Progress, import};
pub use pipeline::{ROW_GROUP_ROWS, writer_properties};
pub use profile::{ColumnProfile, Profile};
pub use quality::{Check, QualityReport, QualityRule, RuleResult, Severity, evaluate};
pub use schema::{ColumnKind, ColumnSpec, IdentifierKind, SchemaDifference};
