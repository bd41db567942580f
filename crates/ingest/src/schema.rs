//! Column specifications (数据项) and their mapping to Arrow types, plus the comparison of an
//! imported file's schema with the registered data items.
//!
//! Decimals are stored as `Float64`: the platform profiles and queries them, it does not do
//! accounting, and a fixed precision/scale would have to be registered per data item (a later
//! `Decimal128` variant can carry them). Date-times are `Timestamp(ms)` without a time zone: the
//! source files carry local (Beijing) wall-clock times and nothing else.

use std::fmt;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// The type of a data item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnKind {
    /// 字符串
    Text,
    /// 整数 (64-bit)
    Integer,
    /// 小数 (stored as `Float64`, see the module docs)
    Decimal,
    /// 日期
    Date,
    /// 日期时间 (millisecond precision, no time zone)
    DateTime,
    /// 布尔
    Boolean,
}

impl ColumnKind {
    /// Chinese label shown to users.
    pub fn label_zh(self) -> &'static str {
        match self {
            ColumnKind::Text => "字符串",
            ColumnKind::Integer => "整数",
            ColumnKind::Decimal => "小数",
            ColumnKind::Date => "日期",
            ColumnKind::DateTime => "日期时间",
            ColumnKind::Boolean => "布尔",
        }
    }

    /// Stable snake_case code, for the API.
    pub fn code(self) -> &'static str {
        match self {
            ColumnKind::Text => "text",
            ColumnKind::Integer => "integer",
            ColumnKind::Decimal => "decimal",
            ColumnKind::Date => "date",
            ColumnKind::DateTime => "datetime",
            ColumnKind::Boolean => "boolean",
        }
    }

    /// The Arrow type a column of this kind is stored as.
    pub fn arrow_type(self) -> DataType {
        match self {
            ColumnKind::Text => DataType::Utf8,
            ColumnKind::Integer => DataType::Int64,
            ColumnKind::Decimal => DataType::Float64,
            ColumnKind::Date => DataType::Date32,
            ColumnKind::DateTime => DataType::Timestamp(TimeUnit::Millisecond, None),
            ColumnKind::Boolean => DataType::Boolean,
        }
    }

    /// The kind whose values a column of this Arrow type holds, if it is one the platform stores.
    /// Narrower integer and float types widen; strings of any offset width are text.
    pub fn from_arrow(data_type: &DataType) -> Option<ColumnKind> {
        match data_type {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Some(ColumnKind::Text),
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32 => Some(ColumnKind::Integer),
            DataType::Float16 | DataType::Float32 | DataType::Float64 | DataType::Decimal128(..) => {
                Some(ColumnKind::Decimal)
            }
            DataType::Date32 | DataType::Date64 => Some(ColumnKind::Date),
            DataType::Timestamp(..) => Some(ColumnKind::DateTime),
            DataType::Boolean => Some(ColumnKind::Boolean),
            _ => None,
        }
    }

    /// Whether values inferred as `found` can be stored losslessly as `self` (so no mismatch is
    /// reported): anything is text, integers are decimals, dates are date-times.
    pub fn accepts(self, found: ColumnKind) -> bool {
        self == found
            || self == ColumnKind::Text
            || (self == ColumnKind::Decimal && found == ColumnKind::Integer)
            || (self == ColumnKind::DateTime && found == ColumnKind::Date)
    }
}

impl fmt::Display for ColumnKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label_zh())
    }
}

/// Identifier kinds whose values are checked with the validators of `yunshu_domain::ids`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdentifierKind {
    /// 居民身份证号码 (GB 11643)
    ResidentId,
    /// 统一社会信用代码 (GB 32100)
    Uscc,
    /// 手机号码
    Mobile,
}

impl IdentifierKind {
    /// Chinese label shown to users.
    pub fn label_zh(self) -> &'static str {
        match self {
            IdentifierKind::ResidentId => "居民身份证号码",
            IdentifierKind::Uscc => "统一社会信用代码",
            IdentifierKind::Mobile => "手机号码",
        }
    }

    /// Stable snake_case code, for the API.
    pub fn code(self) -> &'static str {
        match self {
            IdentifierKind::ResidentId => "resident_id",
            IdentifierKind::Uscc => "uscc",
            IdentifierKind::Mobile => "mobile",
        }
    }

    /// Whether `value` is a valid identifier of this kind, by the domain's real validators.
    pub fn is_valid(self, value: &str) -> bool {
        use yunshu_domain::ids::{Mobile, ResidentId, Uscc};
        match self {
            // The allocation-free checks: profiling runs them on every cell.
            IdentifierKind::ResidentId => ResidentId::is_valid(value),
            IdentifierKind::Uscc => Uscc::is_valid(value),
            IdentifierKind::Mobile => Mobile::is_valid(value),
        }
    }

    /// Guesses the identifier kind from a column name (Chinese or common English/pinyin names).
    pub fn from_column_name(name: &str) -> Option<IdentifierKind> {
        let lower = name.trim().to_lowercase();
        let has = |words: &[&str]| words.iter().any(|w| lower.contains(w));
        if has(&["统一社会信用代码", "信用代码", "uscc", "credit_code", "creditcode", "tyshxydm"])
        {
            Some(IdentifierKind::Uscc)
        } else if has(&["身份证", "公民身份号码", "证件号", "id_card", "idcard", "id_number", "sfzh"])
        {
            Some(IdentifierKind::ResidentId)
        } else if has(&["手机", "移动电话", "mobile", "cellphone", "sjhm"]) {
            Some(IdentifierKind::Mobile)
        } else {
            None
        }
    }

    /// Guesses the identifier kind from the shape of a value (cheap; no check characters):
    /// 11 digits starting with 1 → mobile, 17 digits + digit/X → resident ID, other 18
    /// upper-case alphanumerics starting with a digit → USCC.
    pub fn from_shape(value: &str) -> Option<IdentifierKind> {
        let bytes = value.as_bytes();
        match bytes.len() {
            11 if bytes[0] == b'1' && bytes.iter().all(u8::is_ascii_digit) => Some(IdentifierKind::Mobile),
            18 => {
                let (first17, last) = bytes.split_at(17);
                if first17.iter().all(u8::is_ascii_digit) && (last[0].is_ascii_digit() || last[0] == b'X') {
                    Some(IdentifierKind::ResidentId)
                } else if bytes.iter().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()) {
                    Some(IdentifierKind::Uscc)
                } else {
                    None
                }
            }
            _ => None,
        }
    }
}

/// One data item (数据项) of a resource: a named, typed column.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ColumnSpec {
    /// Column name, as in the file's header.
    pub name: String,
    /// Value type.
    pub kind: ColumnKind,
    /// Identifier kind checked during profiling, if any.
    pub identifier: Option<IdentifierKind>,
}

impl ColumnSpec {
    /// A column without identifier semantics.
    pub fn new(name: impl Into<String>, kind: ColumnKind) -> ColumnSpec {
        ColumnSpec { name: name.into(), kind, identifier: None }
    }

    /// A text column holding identifiers of `identifier` kind.
    pub fn identifier(name: impl Into<String>, identifier: IdentifierKind) -> ColumnSpec {
        ColumnSpec { name: name.into(), kind: ColumnKind::Text, identifier: Some(identifier) }
    }
}

/// The Arrow schema of a list of columns (all nullable: an empty cell is a null).
pub fn arrow_schema(columns: &[ColumnSpec]) -> SchemaRef {
    let fields: Vec<Field> = columns.iter().map(|c| Field::new(&c.name, c.kind.arrow_type(), true)).collect();
    Arc::new(Schema::new(fields))
}

/// A difference between the registered data items and an imported file, shown to the uploader
/// who must accept it (Art. 16).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaDifference {
    /// A registered data item absent from the file.
    MissingColumn {
        /// Registered name.
        name: String,
    },
    /// A file column that is not a registered data item (imported with its inferred type).
    ExtraColumn {
        /// Column name in the file.
        name: String,
        /// Inferred kind.
        kind: ColumnKind,
    },
    /// A column whose values look like another kind than the registered one.
    TypeMismatch {
        /// Column name.
        name: String,
        /// Registered kind.
        expected: ColumnKind,
        /// Kind inferred from the file.
        found: ColumnKind,
    },
}

impl SchemaDifference {
    /// Stable snake_case code, for the API.
    pub fn code(&self) -> &'static str {
        match self {
            SchemaDifference::MissingColumn { .. } => "schema.missing_column",
            SchemaDifference::ExtraColumn { .. } => "schema.extra_column",
            SchemaDifference::TypeMismatch { .. } => "schema.type_mismatch",
        }
    }

    /// Chinese description shown for acceptance.
    pub fn message_zh(&self) -> String {
        match self {
            SchemaDifference::MissingColumn { name } => format!("文件缺少已登记的数据项「{name}」"),
            SchemaDifference::ExtraColumn { name, kind } => {
                format!("文件含未登记的列「{name}」（推断类型：{}）", kind.label_zh())
            }
            SchemaDifference::TypeMismatch { name, expected, found } => format!(
                "数据项「{name}」登记为{}，文件中的值看起来是{}",
                expected.label_zh(),
                found.label_zh()
            ),
        }
    }
}

/// Resolves the columns to write from the file's header, the inferred kinds and the registered
/// items: registered columns take the registered kind (values that do not parse are errors);
/// unregistered columns keep the inferred kind and declare no identifier (profiling detects
/// identifier-looking columns separately). An inferred `None` means the sample held no value
/// for the column: it is stored as text when unregistered and never reported as a mismatch.
/// Returns the columns and the differences.
pub fn reconcile(
    header: &[String],
    inferred: &[Option<ColumnKind>],
    expected: Option<&[ColumnSpec]>,
) -> (Vec<ColumnSpec>, Vec<SchemaDifference>) {
    let mut columns = Vec::with_capacity(header.len());
    let mut diffs = Vec::new();
    for (index, name) in header.iter().enumerate() {
        let seen = inferred.get(index).copied().flatten();
        let found = seen.unwrap_or(ColumnKind::Text);
        match expected {
            None => columns.push(ColumnSpec::new(name.clone(), found)),
            Some(expected) => match expected.iter().find(|c| c.name == *name) {
                Some(spec) => {
                    if seen.is_some_and(|found| !spec.kind.accepts(found)) {
                        diffs.push(SchemaDifference::TypeMismatch {
                            name: name.clone(),
                            expected: spec.kind,
                            found,
                        });
                    }
                    columns.push(spec.clone());
                }
                None => {
                    diffs.push(SchemaDifference::ExtraColumn { name: name.clone(), kind: found });
                    columns.push(ColumnSpec::new(name.clone(), found));
                }
            },
        }
    }
    if let Some(expected) = expected {
        for spec in expected {
            if !header.contains(&spec.name) {
                diffs.push(SchemaDifference::MissingColumn { name: spec.name.clone() });
            }
        }
    }
    (columns, diffs)
}
