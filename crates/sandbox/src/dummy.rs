//! Dummy data (sandbox.md layer 1, as OpenSAFELY does): synthetic tables with the real schema,
//! value formats and plausible distributions, on which developers iterate freely.
//!
//! Distributions come only from [`CoarseStats`]: null shares rounded to 5 %, numeric quantiles
//! rounded to two significant digits with the 5th/95th percentiles standing in for the extremes,
//! categories held by at least ten rows (rarer ones folded into “其他”), and date ranges taken from
//! the 5th/95th percentiles and widened to whole months. Exact minima, maxima and rare values
//! belong to real people, so they never reach the statistics, let alone the dummy rows.
//!
//! Identifiers are fake but well-formed: resident ID numbers with a Yunnan county code, a birth
//! date in range and a valid check character; USCCs with both check characters; mobile numbers;
//! names drawn from built-in lists. Generation is deterministic for a seed, so a developer's
//! dummy results are reproducible.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Date32Array, Float64Array, Int64Array, StringArray,
    TimestampSecondArray,
};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Date32Type, Field, Float64Type, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use chrono::{Datelike, Days, NaiveDate};
use thiserror::Error;
use yunshu_domain::ids::{ResidentId, Uscc};
use yunshu_domain::regions::{RegionLevel, RegionTree};

use crate::dp::SeededRng;

/// What a column means, which decides the format of its dummy values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Semantic {
    /// 居民身份证号码.
    ResidentId,
    /// 统一社会信用代码.
    Uscc,
    /// Mobile number.
    Mobile,
    /// A person's name in Chinese.
    ChineseName,
    /// GB/T 2260 region code (generated at county level in Yunnan).
    RegionCode,
    /// Calendar date.
    Date,
    /// Date and time.
    DateTime,
    /// Whole number.
    Integer,
    /// Decimal number.
    Decimal,
    /// A value from a small set (category, code list).
    Category,
    /// Free text.
    Text,
    /// Yes/no.
    Boolean,
}

impl Semantic {
    /// What a real column means, from the identifier kind its profile detected or declared
    /// (`resident_id`, `uscc`, `mobile`), its Arrow type, and its name (姓名, 手机, 区县/区划/地区).
    /// Other text is a category: its common values are kept, rare ones folded into 其他.
    pub fn infer(name: &str, data_type: &DataType, identifier: Option<&str>) -> Semantic {
        match identifier {
            Some("resident_id") => return Semantic::ResidentId,
            Some("uscc") => return Semantic::Uscc,
            Some("mobile") => return Semantic::Mobile,
            _ => {}
        }
        match data_type {
            DataType::Date32 | DataType::Date64 => Semantic::Date,
            DataType::Timestamp(_, _) => Semantic::DateTime,
            DataType::Boolean => Semantic::Boolean,
            t if t.is_integer() => Semantic::Integer,
            t if t.is_floating() || matches!(t, DataType::Decimal128(_, _)) => Semantic::Decimal,
            _ if name.contains("姓名") => Semantic::ChineseName,
            _ if name.contains("手机") => Semantic::Mobile,
            _ if name.contains("区县") || name.contains("区划") || name.ends_with("地区") => {
                Semantic::RegionCode
            }
            _ => Semantic::Category,
        }
    }
}

/// Why dummy data could not be generated. Messages name columns and types, never values.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DummyError {
    /// The column's Arrow type cannot hold values of its semantic kind.
    #[error("column {column:?}: cannot generate {kind:?} values as {data_type}")]
    Unsupported { column: String, kind: Semantic, data_type: DataType },
    /// The embedded region tree could not be loaded.
    #[error("region tree unavailable: {0}")]
    Regions(String),
    /// Arrow refused the generated batch.
    #[error("arrow: {0}")]
    Arrow(String),
}

impl DummyError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            DummyError::Unsupported { .. } => "dummy.unsupported_type",
            DummyError::Regions(_) => "dummy.regions",
            DummyError::Arrow(_) => "dummy.arrow",
        }
    }

    /// Message for Chinese-speaking users.
    pub fn message_zh(&self) -> String {
        match self {
            DummyError::Unsupported { column, data_type, .. } => {
                format!("字段“{column}”的类型 {data_type} 与其语义不符，无法生成模拟数据")
            }
            DummyError::Regions(_) => "行政区划数据不可用，无法生成模拟数据".to_owned(),
            DummyError::Arrow(_) => "模拟数据组装失败".to_owned(),
        }
    }
}

/// Quantile levels kept for numbers: the 5th and 95th percentiles stand in for min and max.
pub const QUANTILE_LEVELS: [f64; 5] = [0.05, 0.25, 0.50, 0.75, 0.95];
/// A category value must be held by at least this many rows to be kept by name.
pub const MIN_CATEGORY_ROWS: u64 = 10;
/// Below this many non-null values no distribution is kept at all (defaults are used): with so
/// few rows even a percentile is one person's value.
pub const MIN_ROWS_FOR_DISTRIBUTION: usize = 20;
/// The bucket rare category values are folded into.
pub const OTHER_CATEGORY: &str = "其他";

/// Coarsened statistics of one real column: all a dummy generator may know about it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CoarseStats {
    /// Share of nulls, rounded to a multiple of 5 %.
    pub null_fraction: f64,
    /// Numbers: values at [`QUANTILE_LEVELS`], rounded to 2 significant digits.
    pub quantiles: Option<[f64; 5]>,
    /// Categories held by ≥ [`MIN_CATEGORY_ROWS`] rows with row counts rounded to 5, plus an
    /// [`OTHER_CATEGORY`] bucket for the rest.
    pub categories: Vec<(String, u64)>,
    /// Dates, date-times and ID birth dates: 5th to 95th percentile, widened to whole months
    /// (first day of the first month, last day of the last).
    pub date_range: Option<(NaiveDate, NaiveDate)>,
    /// Text: 5th to 95th percentile of the length in characters.
    pub length_range: Option<(u32, u32)>,
    /// Booleans: share of `true`, rounded to a multiple of 5 %.
    pub true_fraction: Option<f64>,
    /// Dates: every value is the first of its month (a monthly period such as 缴费月份), so dummy
    /// dates are too — a GROUP BY on them then gives months, as on the real data.
    pub month_grain: bool,
}

/// `x` rounded to a multiple of 0.05.
fn round_to_5_percent(x: f64) -> f64 {
    (x * 20.0).round() / 20.0
}

/// `x` rounded to two significant digits.
fn round_2_significant(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let magnitude = 10f64.powi(x.abs().log10().floor() as i32 - 1);
    (x / magnitude).round() * magnitude
}

/// Linear-interpolated quantile of sorted values (at least one).
fn quantile(sorted: &[f64], level: f64) -> f64 {
    let position = level * (sorted.len().saturating_sub(1)) as f64;
    let lower = position.floor() as usize;
    let fraction = position - lower as f64;
    let a = sorted.get(lower).copied().unwrap_or(0.0);
    let b = sorted.get(lower + 1).copied().unwrap_or(a);
    a + (b - a) * fraction
}

fn first_of_month(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

fn last_of_month(d: NaiveDate) -> NaiveDate {
    let next = if d.month() == 12 {
        NaiveDate::from_ymd_opt(d.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(d.year(), d.month() + 1, 1)
    };
    next.and_then(|n| n.pred_opt()).unwrap_or(d)
}

const EPOCH: NaiveDate = match NaiveDate::from_ymd_opt(1970, 1, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};

fn date_from_days(days: i64) -> NaiveDate {
    if days >= 0 {
        EPOCH.checked_add_days(Days::new(days.unsigned_abs()))
    } else {
        EPOCH.checked_sub_days(Days::new(days.unsigned_abs()))
    }
    .unwrap_or(EPOCH)
}

fn days_from_date(d: NaiveDate) -> i64 {
    d.signed_duration_since(EPOCH).num_days()
}

/// Date range of day numbers: percentiles, widened to whole months.
fn coarse_date_range(mut days: Vec<i64>) -> Option<(NaiveDate, NaiveDate)> {
    if days.len() < MIN_ROWS_FOR_DISTRIBUTION {
        return None;
    }
    days.sort_unstable();
    let as_f64: Vec<f64> = days.iter().map(|&d| d as f64).collect();
    let low = date_from_days(quantile(&as_f64, 0.05).floor() as i64);
    let high = date_from_days(quantile(&as_f64, 0.95).ceil() as i64);
    Some((first_of_month(low), last_of_month(high)))
}

fn text_values(array: &ArrayRef) -> Vec<String> {
    match cast(array, &DataType::LargeUtf8) {
        Ok(text) => text.as_string::<i64>().iter().flatten().map(str::to_owned).collect(),
        Err(_) => Vec::new(),
    }
}

impl CoarseStats {
    /// Computes coarsened statistics of a real column, so that callers never handle raw extremes.
    /// Types that do not fit `kind` yield only the null share.
    pub fn from_column(array: &ArrayRef, kind: Semantic) -> CoarseStats {
        let len = array.len();
        let null_fraction =
            if len == 0 { 0.0 } else { round_to_5_percent(array.null_count() as f64 / len as f64) };
        let mut stats = CoarseStats { null_fraction, ..CoarseStats::default() };
        match kind {
            Semantic::Integer | Semantic::Decimal => {
                if let Ok(numbers) = cast(array, &DataType::Float64) {
                    let mut values: Vec<f64> = numbers
                        .as_primitive::<Float64Type>()
                        .iter()
                        .flatten()
                        .filter(|v| v.is_finite())
                        .collect();
                    if values.len() >= MIN_ROWS_FOR_DISTRIBUTION {
                        values.sort_by(f64::total_cmp);
                        stats.quantiles =
                            Some(QUANTILE_LEVELS.map(|l| round_2_significant(quantile(&values, l))));
                    }
                }
            }
            Semantic::Date | Semantic::DateTime => {
                if let Ok(dates) = cast(array, &DataType::Date32) {
                    let days: Vec<i64> =
                        dates.as_primitive::<Date32Type>().iter().flatten().map(i64::from).collect();
                    stats.month_grain = days.len() >= MIN_ROWS_FOR_DISTRIBUTION
                        && days.iter().all(|d| date_from_days(*d).day() == 1);
                    stats.date_range = coarse_date_range(days);
                }
            }
            Semantic::ResidentId => {
                let days = text_values(array)
                    .iter()
                    .filter_map(|v| ResidentId::parse(v).ok())
                    .map(|id| days_from_date(id.birth_date()))
                    .collect();
                stats.date_range = coarse_date_range(days);
            }
            Semantic::Category | Semantic::RegionCode => {
                let mut counts: HashMap<String, u64> = HashMap::new();
                let values = text_values(array);
                let total = values.len() as u64;
                for v in values {
                    *counts.entry(v).or_default() += 1;
                }
                let mut kept: Vec<(String, u64)> =
                    counts.into_iter().filter(|(_, n)| *n >= MIN_CATEGORY_ROWS).collect();
                let kept_rows: u64 = kept.iter().map(|(_, n)| n).sum();
                // Counts are rounded to 5 so that the "其他" bucket's size does not reveal exactly
                // how many rows hold rare values.
                for (_, n) in &mut kept {
                    *n = round_count(*n);
                }
                let other = round_count(total - kept_rows);
                kept.sort();
                if other > 0 {
                    kept.push((OTHER_CATEGORY.to_owned(), other));
                }
                stats.categories = kept;
            }
            Semantic::Text => {
                let mut lengths: Vec<f64> =
                    text_values(array).iter().map(|v| v.chars().count() as f64).collect();
                if lengths.len() >= MIN_ROWS_FOR_DISTRIBUTION {
                    lengths.sort_by(f64::total_cmp);
                    let low = quantile(&lengths, 0.05).round() as u32;
                    let high = quantile(&lengths, 0.95).round() as u32;
                    stats.length_range = Some((low.max(1), high.max(low).max(1)));
                }
            }
            Semantic::Boolean => {
                if let DataType::Boolean = array.data_type() {
                    let values = array.as_boolean();
                    let non_null = values.len() - values.null_count();
                    if non_null > 0 {
                        let trues = values.true_count() as f64;
                        stats.true_fraction = Some(round_to_5_percent(trues / non_null as f64));
                    }
                }
            }
            Semantic::Uscc | Semantic::Mobile | Semantic::ChineseName => {}
        }
        stats
    }
}

/// Row count rounded to the nearest multiple of 5.
fn round_count(n: u64) -> u64 {
    (n + 2) / 5 * 5
}

/// One column to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct DummyColumn {
    /// Column name.
    pub name: String,
    /// What the values mean.
    pub kind: Semantic,
    /// Arrow type of the real column (and of the dummy one).
    pub data_type: DataType,
    /// Whether the real column is nullable; nulls are generated only then.
    pub nullable: bool,
    /// Coarsened statistics of the real column.
    pub stats: CoarseStats,
}

impl DummyColumn {
    /// Describes a real column, computing its coarse statistics.
    pub fn profile(field: &Field, kind: Semantic, array: &ArrayRef) -> DummyColumn {
        DummyColumn {
            name: field.name().clone(),
            kind,
            data_type: field.data_type().clone(),
            nullable: field.is_nullable(),
            stats: CoarseStats::from_column(array, kind),
        }
    }
}

/// The schema of the dummy table.
pub fn dummy_schema(columns: &[DummyColumn]) -> SchemaRef {
    Arc::new(Schema::new(
        columns.iter().map(|c| Field::new(&c.name, c.data_type.clone(), c.nullable)).collect::<Vec<_>>(),
    ))
}

/// Generates `rows` dummy rows, deterministically for `seed`.
pub fn generate(columns: &[DummyColumn], rows: usize, seed: u64) -> Result<RecordBatch, DummyError> {
    let tree = RegionTree::yunnan().map_err(|e| DummyError::Regions(e.to_string()))?;
    let counties: Vec<String> = tree
        .all()
        .filter(|r| r.level() == RegionLevel::County)
        .map(|r| r.code().as_str().to_owned())
        .collect();
    if counties.is_empty() {
        return Err(DummyError::Regions("no county in the region tree".to_owned()));
    }
    let mut arrays = Vec::with_capacity(columns.len());
    for (index, column) in columns.iter().enumerate() {
        // Each column has its own stream, so adding a column does not change the others.
        let column_seed = seed ^ (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut rng = SeededRng::new(column_seed);
        let mut generator = Generator { rng: &mut rng, counties: &counties, column };
        arrays.push(generator.array(rows)?);
    }
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    RecordBatch::try_new_with_options(dummy_schema(columns), arrays, &options)
        .map_err(|e| DummyError::Arrow(e.to_string()))
}

fn is_string_type(data_type: &DataType) -> bool {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, value) => is_string_type(value),
        _ => false,
    }
}

struct Generator<'a> {
    rng: &'a mut SeededRng,
    counties: &'a [String],
    column: &'a DummyColumn,
}

impl Generator<'_> {
    fn unsupported(&self) -> DummyError {
        DummyError::Unsupported {
            column: self.column.name.clone(),
            kind: self.column.kind,
            data_type: self.column.data_type.clone(),
        }
    }

    fn is_null(&mut self) -> bool {
        self.column.nullable && self.rng.unit_f64() < self.column.stats.null_fraction
    }

    fn pick<'s>(&mut self, items: &'s [&'s str]) -> &'s str {
        items.get(self.rng.below(items.len() as u64) as usize).copied().unwrap_or("")
    }

    fn county(&mut self) -> String {
        let i = self.rng.below(self.counties.len() as u64) as usize;
        self.counties.get(i).cloned().unwrap_or_else(|| "530102".to_owned())
    }

    /// Converts a generated array to the column's type; a cast that loses values (unparsable
    /// strings become null) into a non-null column is caught when the batch is assembled.
    fn to_target(&self, array: ArrayRef) -> Result<ArrayRef, DummyError> {
        let out = cast(&array, &self.column.data_type).map_err(|_| self.unsupported())?;
        if out.data_type() == &self.column.data_type { Ok(out) } else { Err(self.unsupported()) }
    }

    fn array(&mut self, rows: usize) -> Result<ArrayRef, DummyError> {
        let data_type = &self.column.data_type;
        match self.column.kind {
            Semantic::Integer | Semantic::Decimal => {
                if !(data_type.is_numeric() || is_string_type(data_type)) {
                    return Err(self.unsupported());
                }
                let integer = self.column.kind == Semantic::Integer || data_type.is_integer();
                let values: Vec<Option<f64>> =
                    (0..rows).map(|_| if self.is_null() { None } else { Some(self.number()) }).collect();
                let array: ArrayRef = if integer {
                    Arc::new(values.iter().map(|v| v.map(|x| x.round() as i64)).collect::<Int64Array>())
                } else {
                    // Two decimals look like money and avoid float noise in text output.
                    Arc::new(
                        values
                            .iter()
                            .map(|v| v.map(|x| (x * 100.0).round() / 100.0))
                            .collect::<Float64Array>(),
                    )
                };
                self.to_target(array)
            }
            Semantic::Date => {
                if !(matches!(data_type, DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _))
                    || is_string_type(data_type))
                {
                    return Err(self.unsupported());
                }
                let (low, high) = self.date_range(default_date_range());
                let monthly = self.column.stats.month_grain;
                let values: Date32Array = (0..rows)
                    .map(|_| {
                        if self.is_null() {
                            None
                        } else {
                            let day = self.day_between(low, high);
                            let day = if monthly {
                                days_from_date(first_of_month(date_from_days(day)))
                            } else {
                                day
                            };
                            i32::try_from(day).ok()
                        }
                    })
                    .collect();
                self.to_target(Arc::new(values))
            }
            Semantic::DateTime => {
                if !(matches!(data_type, DataType::Timestamp(_, _) | DataType::Date64)
                    || is_string_type(data_type))
                {
                    return Err(self.unsupported());
                }
                let (low, high) = self.date_range(default_date_range());
                let values: TimestampSecondArray = (0..rows)
                    .map(|_| {
                        if self.is_null() {
                            None
                        } else {
                            let day = self.day_between(low, high);
                            Some(day * 86_400 + self.rng.below(86_400) as i64)
                        }
                    })
                    .collect();
                let array: ArrayRef = Arc::new(values);
                if let DataType::Timestamp(TimeUnit::Second, None) = data_type {
                    return Ok(array);
                }
                self.to_target(array)
            }
            Semantic::Boolean => {
                let p = self.column.stats.true_fraction.unwrap_or(0.5);
                let values: BooleanArray = (0..rows)
                    .map(|_| if self.is_null() { None } else { Some(self.rng.unit_f64() < p) })
                    .collect();
                self.to_target(Arc::new(values))
            }
            Semantic::ResidentId
            | Semantic::Uscc
            | Semantic::Mobile
            | Semantic::ChineseName
            | Semantic::RegionCode
            | Semantic::Category
            | Semantic::Text => {
                let textual = is_string_type(data_type);
                // Codes may be stored as numbers (e.g. region codes as integers); identifiers with
                // letters or check character X may not.
                let allowed = textual
                    || (data_type.is_integer()
                        && matches!(self.column.kind, Semantic::RegionCode | Semantic::Category));
                if !allowed {
                    return Err(self.unsupported());
                }
                let mut values: Vec<Option<String>> = Vec::with_capacity(rows);
                for _ in 0..rows {
                    values.push(if self.is_null() { None } else { Some(self.text_value(textual)?) });
                }
                self.to_target(Arc::new(values.into_iter().collect::<StringArray>()))
            }
        }
    }

    /// A number following the coarse quantiles: piecewise-linear inverse CDF between the 5th and
    /// 95th percentiles.
    fn number(&mut self) -> f64 {
        let q = self.column.stats.quantiles.unwrap_or([0.0, 25.0, 50.0, 75.0, 100.0]);
        let u = 0.05 + 0.90 * self.rng.unit_f64();
        for (i, pair) in QUANTILE_LEVELS.windows(2).enumerate() {
            if let ([l0, l1], Some(v0), Some(v1)) = (pair, q.get(i), q.get(i + 1))
                && u <= *l1
            {
                return v0 + (v1 - v0) * (u - l0) / (l1 - l0);
            }
        }
        q[4]
    }

    fn date_range(&self, default: (NaiveDate, NaiveDate)) -> (i64, i64) {
        let (low, high) = self.column.stats.date_range.unwrap_or(default);
        (days_from_date(low), days_from_date(high).max(days_from_date(low)))
    }

    fn day_between(&mut self, low: i64, high: i64) -> i64 {
        low + self.rng.below((high - low + 1).unsigned_abs()) as i64
    }

    fn text_value(&mut self, textual: bool) -> Result<String, DummyError> {
        Ok(match self.column.kind {
            Semantic::ResidentId => self.resident_id()?,
            Semantic::Uscc => self.uscc()?,
            Semantic::Mobile => {
                let second = self.pick(&["3", "5", "7", "8", "9"]);
                let rest: String = (0..9).map(|_| char::from(b'0' + self.rng.below(10) as u8)).collect();
                format!("1{second}{rest}")
            }
            Semantic::ChineseName => {
                let surname = self.pick(SURNAMES);
                let first = self.pick(GIVEN);
                if self.rng.below(10) < 7 {
                    let second = self.pick(GIVEN);
                    format!("{surname}{first}{second}")
                } else {
                    format!("{surname}{first}")
                }
            }
            Semantic::RegionCode => match self.category(textual) {
                Some(code) if code != OTHER_CATEGORY => code,
                _ => self.county(),
            },
            Semantic::Category => match self.category(textual) {
                Some(value) => value,
                None if textual => format!("类别{}", 1 + self.rng.below(3)),
                None => format!("{}", 1 + self.rng.below(3)),
            },
            _ => {
                let (low, high) = self.column.stats.length_range.unwrap_or((2, 8));
                let len = u64::from(low) + self.rng.below(u64::from(high.saturating_sub(low)) + 1);
                (0..len).map(|_| self.pick(TEXT_CHARS)).collect()
            }
        })
    }

    /// A category drawn by its coarse row count; `None` when there are no usable categories. The
    /// "其他" bucket is only usable in text columns.
    fn category(&mut self, textual: bool) -> Option<String> {
        let usable: Vec<&(String, u64)> = self
            .column
            .stats
            .categories
            .iter()
            .filter(|(v, n)| *n > 0 && (textual || v != OTHER_CATEGORY))
            .collect();
        let total: u64 = usable.iter().map(|(_, n)| n).sum();
        if total == 0 {
            return None;
        }
        let mut target = self.rng.below(total);
        for (value, n) in usable {
            if target < *n {
                return Some(value.clone());
            }
            target -= n;
        }
        None
    }

    fn resident_id(&mut self) -> Result<String, DummyError> {
        let (low, high) = self.date_range(default_birth_range());
        // GB 11643 birth dates start in 1900.
        let floor = days_from_date(NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(EPOCH));
        let birth = date_from_days(self.day_between(low.max(floor), high.max(floor)));
        let county = self.county();
        let sequence = self.rng.below(1000);
        let first17 = format!("{county}{}{sequence:03}", birth.format("%Y%m%d"));
        ResidentId::complete(&first17).map(|id| id.as_str().to_owned()).map_err(|_| self.unsupported())
    }

    fn uscc(&mut self) -> Result<String, DummyError> {
        // 9 = market regulation, 1 = enterprise; the registering authority is a Yunnan county;
        // the organisation code body uses digits and letters.
        const BODY: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
        let county = self.county();
        let body: String = (0..8)
            .map(|_| {
                char::from(BODY.get(self.rng.below(BODY.len() as u64) as usize).copied().unwrap_or(b'0'))
            })
            .collect();
        Uscc::complete(&format!("91{county}{body}"))
            .map(|c| c.as_str().to_owned())
            .map_err(|_| self.unsupported())
    }
}

fn default_date_range() -> (NaiveDate, NaiveDate) {
    (
        NaiveDate::from_ymd_opt(2015, 1, 1).unwrap_or(EPOCH),
        NaiveDate::from_ymd_opt(2024, 12, 31).unwrap_or(EPOCH),
    )
}

fn default_birth_range() -> (NaiveDate, NaiveDate) {
    (
        NaiveDate::from_ymd_opt(1950, 1, 1).unwrap_or(EPOCH),
        NaiveDate::from_ymd_opt(2005, 12, 31).unwrap_or(EPOCH),
    )
}

/// Common surnames (百家姓, most frequent first).
const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何",
    "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾", "肖", "田",
    "董", "袁", "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁", "任", "沈", "姚",
    "卢", "姜", "崔", "钟", "谭", "陆", "汪", "范", "金", "石", "廖", "贾", "夏", "韦", "付", "方", "白",
    "邹", "孟", "熊", "秦",
];

/// Characters common in given names.
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "秀", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "霞", "平", "刚", "桂", "英", "华", "玉", "兰", "萍", "红", "文", "辉", "建", "国", "云", "峰",
    "春", "林", "海", "晨", "宇", "欣", "怡", "浩", "然", "子", "梓", "涵", "轩", "雨", "思", "佳", "嘉",
    "琪", "博", "昊",
];

/// Characters for dummy free text.
const TEXT_CHARS: &[&str] = &[
    "数", "据", "示", "例", "文", "本", "信", "息", "服", "务", "项", "目", "管", "理", "办", "事", "记",
    "录", "情", "况", "说", "明", "正", "常", "处", "完", "成", "审", "核", "通", "过", "云", "南", "省",
    "市", "县",
];

#[cfg(test)]
#[path = "dummy_test.rs"]
mod tests;
