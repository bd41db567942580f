//! Import errors. Each names the line (1-based; for CSV the header is line 1) and the column where
//! it applies, so the uploader can fix the file. A failed import writes nothing; the errors of one
//! import are collected into an [`ErrorReport`] (up to [`MAX_REPORTED_ERRORS`]) where continuing
//! is cheap (bad cells, malformed rows), and stop at the first where it is not (size, encoding,
//! container format).

use std::fmt;

use thiserror::Error;

use crate::schema::ColumnKind;

/// How many errors one report collects before the import stops reading.
pub const MAX_REPORTED_ERRORS: usize = 100;

/// Maximum number of characters of a bad value quoted in an error.
pub const VALUE_PREVIEW_CHARS: usize = 20;

/// One reason a file could not be imported.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ImportError {
    /// The source is larger than the allowed size (detected while reading, not after).
    #[error("source larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// Text that is neither valid UTF-8 nor valid GB18030 (after the encoding was detected).
    #[error("undecodable text at line {line}")]
    UndecodableText {
        /// Line of the first undecodable byte.
        line: u64,
    },
    /// A row with the wrong number of fields.
    #[error("line {line}: expected {expected} fields, found {found}")]
    MalformedRow {
        /// Line where the row starts.
        line: u64,
        /// Number of header fields.
        expected: usize,
        /// Number of fields in the row.
        found: usize,
    },
    /// A cell that does not parse as its column's kind.
    #[error("line {line}, column {column}: {value_preview:?} is not a {kind:?}")]
    BadValue {
        /// Line of the row.
        line: u64,
        /// Column name.
        column: String,
        /// Expected kind.
        kind: ColumnKind,
        /// The value, truncated to [`VALUE_PREVIEW_CHARS`] characters.
        value_preview: String,
    },
    /// An XLSX whose zip entries inflate beyond the limits.
    #[error("zip bomb: entry {entry} inflates to {uncompressed} bytes from {compressed}")]
    ZipBomb {
        /// Entry name (or `*` for the archive total).
        entry: String,
        /// Declared uncompressed size.
        uncompressed: u64,
        /// Compressed size.
        compressed: u64,
    },
    /// Not a readable XLSX workbook.
    #[error("not an xlsx workbook: {reason}")]
    NotXlsx {
        /// Reader's explanation.
        reason: String,
    },
    /// Not a readable Parquet file.
    #[error("not a parquet file: {reason}")]
    NotParquet {
        /// Reader's explanation.
        reason: String,
    },
    /// A JSON Lines line that is not a JSON object (or has keys outside the first line's).
    #[error("line {line}: bad json: {reason}")]
    BadJson {
        /// Line number.
        line: u64,
        /// Parser's explanation.
        reason: String,
    },
    /// The named sheet does not exist.
    #[error("sheet {name} not found")]
    SheetNotFound {
        /// Requested sheet.
        name: String,
        /// Sheets in the workbook.
        available: Vec<String>,
    },
    /// No header or no columns.
    #[error("empty source")]
    Empty,
    /// A header with more columns than the platform accepts.
    #[error("{found} columns, more than {limit}")]
    TooManyColumns {
        /// Columns in the header.
        found: usize,
        /// The limit.
        limit: usize,
    },
    /// A column name longer than the platform accepts.
    #[error("column name of {chars} characters, more than {limit}")]
    ColumnNameTooLong {
        /// The name's first characters.
        preview: String,
        /// Its length in characters.
        chars: usize,
        /// The limit.
        limit: usize,
    },
    /// UTF-16 text (a byte order mark or NUL bytes between characters): saved from Excel or
    /// Notepad as "Unicode".
    #[error("utf-16 text")]
    Utf16,
    /// The header names a column twice (or has an empty name).
    #[error("bad header column {column:?}")]
    BadHeader {
        /// The offending name.
        column: String,
    },
    /// The destination version already exists (versions are immutable).
    #[error("destination {path} already exists")]
    DestinationExists {
        /// Object path.
        path: String,
    },
    /// Reading the source or writing the store failed.
    #[error("io: {0}")]
    Io(String),
}

impl ImportError {
    /// Stable snake_case code, for the API.
    pub fn code(&self) -> &'static str {
        match self {
            ImportError::TooLarge { .. } => "ingest.too_large",
            ImportError::UndecodableText { .. } => "ingest.undecodable_text",
            ImportError::MalformedRow { .. } => "ingest.malformed_row",
            ImportError::BadValue { .. } => "ingest.bad_value",
            ImportError::ZipBomb { .. } => "ingest.zip_bomb",
            ImportError::NotXlsx { .. } => "ingest.not_xlsx",
            ImportError::NotParquet { .. } => "ingest.not_parquet",
            ImportError::BadJson { .. } => "ingest.bad_json",
            ImportError::SheetNotFound { .. } => "ingest.sheet_not_found",
            ImportError::Empty => "ingest.empty",
            ImportError::TooManyColumns { .. } => "ingest.too_many_columns",
            ImportError::ColumnNameTooLong { .. } => "ingest.column_name_too_long",
            ImportError::Utf16 => "ingest.utf16",
            ImportError::BadHeader { .. } => "ingest.bad_header",
            ImportError::DestinationExists { .. } => "ingest.destination_exists",
            ImportError::Io(_) => "ingest.io",
        }
    }

    /// Specific Chinese message shown to the uploader.
    pub fn message_zh(&self) -> String {
        match self {
            ImportError::TooLarge { limit } => format!("文件超过大小上限（{limit} 字节），未导入"),
            ImportError::UndecodableText { line } => {
                format!("第 {line} 行含无法解码的字符（文件既不是有效的 UTF-8，也不是有效的 GBK/GB18030）")
            }
            ImportError::MalformedRow { line, expected, found } => {
                format!("第 {line} 行列数错误：应为 {expected} 列，实为 {found} 列")
            }
            ImportError::BadValue { line, column, kind, value_preview } => {
                format!("第 {line} 行「{column}」列的值「{value_preview}」不是有效的{}", kind.label_zh())
            }
            ImportError::ZipBomb { entry, uncompressed, compressed } => format!(
                "XLSX 文件疑似压缩炸弹：条目「{entry}」解压后 {uncompressed} 字节（压缩 {compressed} 字节），已拒绝"
            ),
            ImportError::NotXlsx { reason } => format!("不是有效的 XLSX 工作簿：{reason}"),
            ImportError::NotParquet { reason } => format!("不是有效的 Parquet 文件：{reason}"),
            ImportError::BadJson { line, reason } => format!("第 {line} 行不是有效的 JSON 对象：{reason}"),
            ImportError::SheetNotFound { name, available } => {
                format!("工作簿中没有名为「{name}」的工作表（现有：{}）", available.join("、"))
            }
            ImportError::Empty => "文件为空或没有表头".to_string(),
            ImportError::TooManyColumns { found, limit } => {
                format!("表头有 {found} 列，超过上限 {limit} 列：请拆分为多个文件或检查分隔符")
            }
            ImportError::ColumnNameTooLong { preview, chars, limit } => {
                format!("表头列名「{preview}…」长 {chars} 个字符，超过上限 {limit} 个字符：请检查第一行是否为表头")
            }
            ImportError::Utf16 => "文件是 UTF-16（Unicode）编码，平台只接受 UTF-8 或 GBK：请在 Excel 中“另存为”选择“CSV UTF-8（逗号分隔）”，或在记事本中“另存为”时将编码选为 UTF-8".to_string(),
            ImportError::BadHeader { column } => format!("表头列名「{column}」为空、重复或含控制字符、不可见字符"),
            ImportError::DestinationExists { path } => format!("版本对象 {path} 已存在，版本不可覆盖"),
            ImportError::Io(detail) => format!("读写失败：{detail}"),
        }
    }

    /// A bad-value error with the value truncated for display.
    pub(crate) fn bad_value(line: u64, column: &str, kind: ColumnKind, value: &str) -> ImportError {
        let mut preview: String = value.chars().take(VALUE_PREVIEW_CHARS).collect();
        if value.chars().nth(VALUE_PREVIEW_CHARS).is_some() {
            preview.push('…');
        }
        ImportError::BadValue { line, column: column.to_string(), kind, value_preview: preview }
    }
}

/// All errors of one failed import (at least one), in the order found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorReport {
    /// The errors, at most [`MAX_REPORTED_ERRORS`].
    pub errors: Vec<ImportError>,
    /// Whether reading stopped because the report was full.
    pub truncated: bool,
}

impl ErrorReport {
    /// A report of one error.
    pub fn single(error: ImportError) -> ErrorReport {
        ErrorReport { errors: vec![error], truncated: false }
    }

    /// The first error (a report is never empty).
    pub fn first(&self) -> Option<&ImportError> {
        self.errors.first()
    }
}

impl fmt::Display for ErrorReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{error}")?;
        }
        if self.truncated {
            f.write_str("; …")?;
        }
        Ok(())
    }
}

impl std::error::Error for ErrorReport {}

impl From<ImportError> for ErrorReport {
    fn from(error: ImportError) -> Self {
        ErrorReport::single(error)
    }
}

/// Collects errors up to the cap.
#[derive(Debug, Default)]
pub struct ErrorSink {
    pub errors: Vec<ImportError>,
    pub truncated: bool,
}

impl ErrorSink {
    /// Records an error; returns `false` once the report is full (the caller should stop).
    pub fn push(&mut self, error: ImportError) -> bool {
        if self.errors.len() < MAX_REPORTED_ERRORS {
            self.errors.push(error);
            true
        } else {
            self.truncated = true;
            false
        }
    }

    pub fn is_full(&self) -> bool {
        self.errors.len() >= MAX_REPORTED_ERRORS
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn into_report(self) -> ErrorReport {
        ErrorReport { errors: self.errors, truncated: self.truncated }
    }
}
