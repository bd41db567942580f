//! Per-column profiling of a version, computed batch by batch while importing (one pass, bounded
//! memory): null count and rate, distinct count (exact up to [`EXACT_DISTINCT_CAP`] values, then a
//! HyperLogLog estimate marked `≈`), minimum and maximum, and the validity of identifiers (by the
//! real validators of `yunshu_domain::ids`) and of dates (a plausible 1900–2100 range).
//!
//! Identifier columns are the declared ones, plus those *detected* by name (身份证, 信用代码, 手机…)
//! or by content (≥ 90 % of the first batch's values shaped like an identifier).

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Float64Type, Int64Type, TimestampMillisecondType};
use arrow_array::{Array, ArrayRef, RecordBatch};
use chrono::NaiveDate;

use crate::schema::{ColumnKind, ColumnSpec, IdentifierKind};
use crate::values::{KindInference, days_to_date};

/// Distinct values are counted exactly (by 64-bit hash) up to this many, then estimated.
pub const EXACT_DISTINCT_CAP: usize = 100_000;

/// Line numbers of invalid values kept per column, as examples.
pub const MAX_EXAMPLES: usize = 10;

/// How many values of the first batch are looked at to detect an identifier column by content.
const DETECTION_SAMPLE: usize = 1_000;

/// Profile of one column of a version.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnProfile {
    /// Column name.
    pub name: String,
    /// Stored kind.
    pub kind: ColumnKind,
    /// Identifier kind declared for the column.
    pub declared: Option<IdentifierKind>,
    /// Identifier kind detected from the name or the values, when none was declared.
    pub detected: Option<IdentifierKind>,
    /// Number of rows.
    pub rows: u64,
    /// Number of null (empty) cells.
    pub nulls: u64,
    /// Number of distinct non-null values (exact when `distinct_exact`).
    pub distinct: u64,
    /// Whether `distinct` is exact rather than a HyperLogLog estimate.
    pub distinct_exact: bool,
    /// Smallest non-null value, formatted for display.
    pub min: Option<String>,
    /// Largest non-null value, formatted for display.
    pub max: Option<String>,
    /// Invalid identifiers (declared or detected) or implausible dates; `None` when the column is
    /// not checked.
    pub invalid: Option<u64>,
    /// Lines of the first invalid values (not the values: they may be personal information).
    pub invalid_lines: Vec<u64>,
}

impl ColumnProfile {
    /// Share of null cells, 0.0 for an empty table.
    pub fn null_rate(&self) -> f64 {
        if self.rows == 0 { 0.0 } else { self.nulls as f64 / self.rows as f64 }
    }

    /// The distinct count as shown: `≈` marks an estimate.
    pub fn distinct_display(&self) -> String {
        if self.distinct_exact { self.distinct.to_string() } else { format!("≈{}", self.distinct) }
    }

    /// The identifier kind checked: declared, else detected.
    pub fn identifier(&self) -> Option<IdentifierKind> {
        self.declared.or(self.detected)
    }
}

/// Profile of a version: all columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Number of rows.
    pub rows: u64,
    /// One entry per stored column, in order.
    pub columns: Vec<ColumnProfile>,
}

impl Profile {
    /// The profile of the named column.
    pub fn column(&self, name: &str) -> Option<&ColumnProfile> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The latest date of a Date or DateTime column (the version's data date for freshness).
    pub fn latest_date(&self, column: &str) -> Option<NaiveDate> {
        let max = self.column(column)?.max.as_deref()?;
        NaiveDate::parse_from_str(max.get(..10)?, "%Y-%m-%d").ok()
    }
}

/// Streaming profiler: feed it batches, then [`Profiler::finish`].
#[derive(Debug)]
pub struct Profiler {
    columns: Vec<ColumnState>,
    rows: u64,
    /// Whether identifiers are validated in `observe` (else by an [`IdentifierTally`] on
    /// another thread, merged with [`Profiler::merge`]).
    validate_inline: bool,
}

#[derive(Debug)]
struct ColumnState {
    spec: ColumnSpec,
    detected: Option<IdentifierKind>,
    detection_done: bool,
    nulls: u64,
    distinct: Distinct,
    range: Range,
    invalid: u64,
    invalid_lines: Vec<u64>,
}

#[derive(Debug)]
enum Range {
    Empty,
    Int(i64, i64),
    Float(f64, f64),
    Date(i32, i32),
    Millis(i64, i64),
    Bool(bool, bool),
    Text(String, String),
}

/// Earliest and latest plausible dates (days since 1970): 1900-01-01 and 2100-12-31.
const PLAUSIBLE_DAYS: (i32, i32) = (-25_567, 47_847);

impl Profiler {
    /// A profiler for the given stored columns.
    pub fn new(columns: &[ColumnSpec]) -> Profiler {
        let columns = columns
            .iter()
            .map(|spec| ColumnState {
                spec: spec.clone(),
                detected: None,
                detection_done: false,
                nulls: 0,
                distinct: Distinct::default(),
                range: Range::Empty,
                invalid: 0,
                invalid_lines: Vec::new(),
            })
            .collect();
        Profiler { columns, rows: 0, validate_inline: true }
    }

    /// Leaves identifier validation to an [`IdentifierTally`] (the import runs it on its own
    /// thread: the validators are the costliest part of profiling).
    pub fn offload_identifiers(&mut self) {
        self.validate_inline = false;
    }

    /// Columns whose identifiers are checked (declared or detected), known after the first batch.
    pub fn identifier_columns(&self) -> Vec<(usize, IdentifierKind)> {
        self.columns
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.spec.identifier.or(c.detected).map(|kind| (i, kind)))
            .collect()
    }

    /// Adds the results of an offloaded tally.
    pub fn merge(&mut self, tally: IdentifierTally) {
        for (column, result) in tally.columns {
            if let Some(state) = self.columns.get_mut(column) {
                state.invalid += result.invalid;
                state.invalid_lines.extend(result.lines);
                state.invalid_lines.sort_unstable();
                state.invalid_lines.truncate(MAX_EXAMPLES);
            }
        }
    }

    /// Observes one batch whose columns are in the profiler's order; `lines[i]` is the source
    /// line of row `i`.
    pub fn observe(&mut self, batch: &RecordBatch, lines: &[u64]) {
        self.rows += batch.num_rows() as u64;
        for (state, array) in self.columns.iter_mut().zip(batch.columns()) {
            state.observe(array, lines, self.validate_inline);
        }
    }

    /// The finished profile.
    pub fn finish(self) -> Profile {
        let rows = self.rows;
        let columns = self
            .columns
            .into_iter()
            .map(|s| {
                let (distinct, distinct_exact) = s.distinct.count();
                let (min, max) = s.range.display();
                let checked = s.spec.identifier.or(s.detected).is_some()
                    || matches!(s.spec.kind, ColumnKind::Date | ColumnKind::DateTime);
                ColumnProfile {
                    name: s.spec.name,
                    kind: s.spec.kind,
                    declared: s.spec.identifier,
                    detected: s.detected,
                    rows,
                    nulls: s.nulls,
                    distinct,
                    distinct_exact,
                    min,
                    max,
                    invalid: checked.then_some(s.invalid),
                    invalid_lines: s.invalid_lines,
                }
            })
            .collect();
        Profile { rows, columns }
    }
}

impl ColumnState {
    fn invalid_at(&mut self, line: u64) {
        self.invalid += 1;
        if self.invalid_lines.len() < MAX_EXAMPLES {
            self.invalid_lines.push(line);
        }
    }

    fn observe(&mut self, array: &ArrayRef, lines: &[u64], validate: bool) {
        self.nulls += array.null_count() as u64;
        let line = |i: usize| lines.get(i).copied().unwrap_or(0);
        match self.spec.kind {
            ColumnKind::Text => {
                let values = array.as_string::<i32>();
                if !self.detection_done {
                    self.detection_done = true;
                    if self.spec.identifier.is_none() {
                        self.detected = IdentifierKind::from_column_name(&self.spec.name).or_else(|| {
                            let mut inference = KindInference::default();
                            values.iter().flatten().take(DETECTION_SAMPLE).for_each(|v| inference.observe(v));
                            inference.identifier()
                        });
                    }
                }
                let identifier = if validate { self.spec.identifier.or(self.detected) } else { None };
                let (mut lo, mut hi): (Option<&str>, Option<&str>) = (None, None);
                for (i, value) in values.iter().enumerate() {
                    let Some(value) = value else { continue };
                    self.distinct.insert(hash_bytes(value.as_bytes()));
                    if lo.is_none_or(|l| value < l) {
                        lo = Some(value);
                    }
                    if hi.is_none_or(|h| value > h) {
                        hi = Some(value);
                    }
                    if let Some(kind) = identifier
                        && !kind.is_valid(value)
                    {
                        self.invalid_at(line(i));
                    }
                }
                if let (Some(lo), Some(hi)) = (lo, hi) {
                    self.range = match std::mem::replace(&mut self.range, Range::Empty) {
                        Range::Text(mut l, mut h) => {
                            if lo < l.as_str() {
                                l = lo.to_string();
                            }
                            if hi > h.as_str() {
                                h = hi.to_string();
                            }
                            Range::Text(l, h)
                        }
                        _ => Range::Text(lo.to_string(), hi.to_string()),
                    };
                }
            }
            ColumnKind::Integer => {
                for value in array.as_primitive::<Int64Type>().iter().flatten() {
                    self.distinct.insert(mix(value as u64));
                    self.range = match self.range {
                        Range::Int(l, h) => Range::Int(l.min(value), h.max(value)),
                        _ => Range::Int(value, value),
                    };
                }
            }
            ColumnKind::Decimal => {
                for value in array.as_primitive::<Float64Type>().iter().flatten() {
                    // +0.0 and -0.0 are one value.
                    let bits = if value == 0.0 { 0 } else { value.to_bits() };
                    self.distinct.insert(mix(bits));
                    self.range = match self.range {
                        Range::Float(l, h) => Range::Float(l.min(value), h.max(value)),
                        _ => Range::Float(value, value),
                    };
                }
            }
            ColumnKind::Date => {
                for (i, value) in array.as_primitive::<Date32Type>().iter().enumerate() {
                    let Some(value) = value else { continue };
                    self.distinct.insert(mix(value as u64));
                    if value < PLAUSIBLE_DAYS.0 || value > PLAUSIBLE_DAYS.1 {
                        self.invalid_at(line(i));
                    }
                    self.range = match self.range {
                        Range::Date(l, h) => Range::Date(l.min(value), h.max(value)),
                        _ => Range::Date(value, value),
                    };
                }
            }
            ColumnKind::DateTime => {
                for (i, value) in array.as_primitive::<TimestampMillisecondType>().iter().enumerate() {
                    let Some(value) = value else { continue };
                    self.distinct.insert(mix(value as u64));
                    let day = value.div_euclid(86_400_000);
                    if day < i64::from(PLAUSIBLE_DAYS.0) || day > i64::from(PLAUSIBLE_DAYS.1) {
                        self.invalid_at(line(i));
                    }
                    self.range = match self.range {
                        Range::Millis(l, h) => Range::Millis(l.min(value), h.max(value)),
                        _ => Range::Millis(value, value),
                    };
                }
            }
            ColumnKind::Boolean => {
                for value in array.as_boolean().iter().flatten() {
                    self.distinct.insert(mix(u64::from(value)));
                    self.range = match self.range {
                        Range::Bool(l, h) => Range::Bool(l && value, h || value),
                        _ => Range::Bool(value, value),
                    };
                }
            }
        }
    }
}

/// Invalid identifiers found in one column.
#[derive(Debug, Default)]
struct TallyResult {
    invalid: u64,
    lines: Vec<u64>,
}

/// Identifier validation by the domain validators, separable from the profiler so it can run
/// on another thread.
#[derive(Debug, Default)]
pub struct IdentifierTally {
    columns: std::collections::BTreeMap<usize, TallyResult>,
}

impl IdentifierTally {
    /// Validates the non-null values of a text column; `lines[i]` is the line of row `i`.
    pub fn observe(&mut self, column: usize, kind: IdentifierKind, array: &ArrayRef, lines: &[u64]) {
        let result = self.columns.entry(column).or_default();
        let Some(values) = array.as_string_opt::<i32>() else { return };
        for (i, value) in values.iter().enumerate() {
            if let Some(value) = value
                && !kind.is_valid(value)
            {
                result.invalid += 1;
                if result.lines.len() < MAX_EXAMPLES {
                    result.lines.push(lines.get(i).copied().unwrap_or(0));
                }
            }
        }
    }
}

impl Range {
    fn display(&self) -> (Option<String>, Option<String>) {
        let date = |d: i32| days_to_date(d).map(|d| d.format("%Y-%m-%d").to_string());
        let millis = |m: i64| {
            let day = i32::try_from(m.div_euclid(86_400_000)).ok();
            let secs = m.rem_euclid(86_400_000) / 1000;
            day.and_then(days_to_date).map(|d| {
                format!("{} {:02}:{:02}:{:02}", d.format("%Y-%m-%d"), secs / 3600, secs / 60 % 60, secs % 60)
            })
        };
        match self {
            Range::Empty => (None, None),
            Range::Int(l, h) => (Some(l.to_string()), Some(h.to_string())),
            Range::Float(l, h) => (Some(l.to_string()), Some(h.to_string())),
            Range::Date(l, h) => (date(*l), date(*h)),
            Range::Millis(l, h) => (millis(*l), millis(*h)),
            Range::Bool(l, h) => (Some(l.to_string()), Some(h.to_string())),
            Range::Text(l, h) => (Some(l.clone()), Some(h.clone())),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Distinct counting
// ---------------------------------------------------------------------------------------------

/// Values arrive already hashed, so the set must not hash them again.
#[derive(Default)]
struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

type HashedSet = HashSet<u64, BuildHasherDefault<IdentityHasher>>;

/// HyperLogLog precision: 2^12 registers, standard error ≈ 1.6 %.
const HLL_BITS: u32 = 12;
const HLL_REGISTERS: usize = 1 << HLL_BITS;

#[derive(Debug)]
enum Distinct {
    Exact(HashedSet),
    Estimate(Vec<u8>),
}

impl Default for Distinct {
    fn default() -> Self {
        Distinct::Exact(HashedSet::default())
    }
}

impl Distinct {
    fn insert(&mut self, hash: u64) {
        match self {
            Distinct::Exact(set) => {
                set.insert(hash);
                if set.len() > EXACT_DISTINCT_CAP {
                    let mut registers = vec![0u8; HLL_REGISTERS];
                    set.iter().for_each(|&h| hll_insert(&mut registers, h));
                    *self = Distinct::Estimate(registers);
                }
            }
            Distinct::Estimate(registers) => hll_insert(registers, hash),
        }
    }

    fn count(&self) -> (u64, bool) {
        match self {
            Distinct::Exact(set) => (set.len() as u64, true),
            Distinct::Estimate(registers) => (hll_estimate(registers), false),
        }
    }
}

fn hll_insert(registers: &mut [u8], hash: u64) {
    let index = (hash >> (64 - HLL_BITS)) as usize;
    let rest = (hash << HLL_BITS) | (1 << (HLL_BITS - 1));
    let rank = rest.leading_zeros() as u8 + 1;
    if let Some(r) = registers.get_mut(index)
        && rank > *r
    {
        *r = rank;
    }
}

fn hll_estimate(registers: &[u8]) -> u64 {
    let m = registers.len() as f64;
    let alpha = 0.7213 / (1.0 + 1.079 / m);
    let sum: f64 = registers.iter().map(|&r| 2f64.powi(-i32::from(r))).sum();
    let raw = alpha * m * m / sum;
    let zeros = registers.iter().filter(|&&r| r == 0).count();
    let estimate = if raw <= 2.5 * m && zeros > 0 { m * (m / zeros as f64).ln() } else { raw };
    estimate.round() as u64
}

/// SplitMix64 finaliser: spreads the bits of a value (needed by HyperLogLog).
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A fast 64-bit hash of a byte string (8 bytes at a time, then the SplitMix64 finaliser).
fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h = 0xCBF2_9CE4_8422_2325u64 ^ bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        h = mix(h ^ u64::from_le_bytes(word));
    }
    let mut tail = [0u8; 8];
    let rest = chunks.remainder();
    tail[..rest.len()].copy_from_slice(rest);
    mix(h ^ u64::from_le_bytes(tail) ^ 0xFF)
}

#[cfg(test)]
#[path = "profile_test.rs"]
mod tests;
