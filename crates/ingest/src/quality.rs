//! Configurable quality rules (质量规则) and the quality score of a version.
//!
//! Rules are evaluated while importing, on the same batches as the profile (no second pass):
//! [`QualityEvaluator::observe`] per batch, [`QualityEvaluator::finish`] with the profile and the
//! evaluation time. Each rule counts the values it checked and those that passed; failures keep
//! line numbers only (never values: they may be personal information).
//!
//! - `NotNull`: every row is checked;
//! - `Range`, `Pattern`, `Reference`: non-null values are checked (a null is `NotNull`'s business);
//!   `Range` applies to integer and decimal columns, `Pattern` is an unanchored regex search on
//!   the value's text (write `^…$` to match whole values), `Reference` is membership of a set;
//! - `Freshness`: one check, passed when the column's latest date is at most `max_age_days`
//!   before `now` (the version's data date against its update cycle).
//!
//! The score is the severity-weighted share of checks passed, `Σ wᵢ·passedᵢ/checkedᵢ / Σ wᵢ × 100`
//! with weights high 3, medium 2, low 1; rules that checked nothing (a missing column, an empty
//! table) are left out of both sums, and a version without applicable rules scores 100.

use std::collections::BTreeSet;

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Float64Type, Int64Type, TimestampMillisecondType};
use arrow_array::{Array, ArrayRef, RecordBatch};
use chrono::NaiveDate;
use regex::Regex;

use crate::profile::{MAX_EXAMPLES, Profile};
use crate::schema::{ColumnKind, ColumnSpec};
use crate::values::days_to_date;

/// How much a failed rule weighs in the score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    /// 高 (weight 3)
    High,
    /// 中 (weight 2)
    Medium,
    /// 低 (weight 1)
    Low,
}

impl Severity {
    /// Weight in the score.
    pub fn weight(self) -> u32 {
        match self {
            Severity::High => 3,
            Severity::Medium => 2,
            Severity::Low => 1,
        }
    }

    /// Chinese label.
    pub fn label_zh(self) -> &'static str {
        match self {
            Severity::High => "高",
            Severity::Medium => "中",
            Severity::Low => "低",
        }
    }
}

/// What a rule checks.
#[derive(Debug, Clone)]
pub enum Check {
    /// 非空
    NotNull,
    /// 取值范围 (inclusive bounds, either optional)
    Range {
        /// Smallest allowed value.
        min: Option<f64>,
        /// Largest allowed value.
        max: Option<f64>,
    },
    /// 格式 (regular expression)
    Pattern(Regex),
    /// 参照 (allowed values, e.g. a code list)
    Reference(BTreeSet<String>),
    /// 时效 (latest date at most this many days before `now`)
    Freshness {
        /// Allowed age in days (from the resource's update cycle).
        max_age_days: i64,
    },
}

impl Check {
    /// Stable code, for the API.
    pub fn code(&self) -> &'static str {
        match self {
            Check::NotNull => "not_null",
            Check::Range { .. } => "range",
            Check::Pattern(_) => "pattern",
            Check::Reference(_) => "reference",
            Check::Freshness { .. } => "freshness",
        }
    }

    /// Chinese label.
    pub fn label_zh(&self) -> &'static str {
        match self {
            Check::NotNull => "非空",
            Check::Range { .. } => "取值范围",
            Check::Pattern(_) => "格式",
            Check::Reference(_) => "参照值",
            Check::Freshness { .. } => "时效",
        }
    }
}

/// A quality rule on one column.
#[derive(Debug, Clone)]
pub struct QualityRule {
    /// Rule identifier (shown with the result).
    pub id: String,
    /// Column name.
    pub column: String,
    /// What is checked.
    pub check: Check,
    /// Weight in the score.
    pub severity: Severity,
}

/// Why a rule checked nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotApplicable {
    /// The column is not in the version.
    MissingColumn,
    /// The check does not apply to the column's kind (e.g. a range on text).
    WrongKind,
}

/// Result of one rule.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleResult {
    /// Rule identifier.
    pub rule_id: String,
    /// Column name.
    pub column: String,
    /// Severity of the rule.
    pub severity: Severity,
    /// Values (or rows) checked.
    pub checked: u64,
    /// Values that passed.
    pub passed: u64,
    /// Lines of the first failures (at most [`MAX_EXAMPLES`]).
    pub failed_lines: Vec<u64>,
    /// Set when the rule could not be applied.
    pub not_applicable: Option<NotApplicable>,
}

impl RuleResult {
    /// Share of checks passed, `None` when nothing was checked.
    pub fn pass_rate(&self) -> Option<f64> {
        (self.checked > 0).then(|| self.passed as f64 / self.checked as f64)
    }
}

/// Quality of a version.
#[derive(Debug, Clone, PartialEq)]
pub struct QualityReport {
    /// One result per rule, in the rules' order.
    pub results: Vec<RuleResult>,
    /// Severity-weighted share of checks passed, 0–100.
    pub score: f64,
}

/// Streaming evaluator of rules over batches.
#[derive(Debug)]
pub struct QualityEvaluator {
    rules: Vec<(QualityRule, Option<(usize, ColumnKind)>)>,
    results: Vec<RuleResult>,
}

impl QualityEvaluator {
    /// An evaluator of `rules` over a version with the given columns.
    pub fn new(rules: &[QualityRule], columns: &[ColumnSpec]) -> QualityEvaluator {
        let rules: Vec<_> = rules
            .iter()
            .map(|r| {
                let column = columns.iter().position(|c| c.name == r.column).map(|i| (i, columns[i].kind));
                (r.clone(), column)
            })
            .collect();
        let results = rules
            .iter()
            .map(|(rule, column)| {
                let not_applicable = match (column, &rule.check) {
                    (None, _) => Some(NotApplicable::MissingColumn),
                    (Some((_, kind)), Check::Range { .. })
                        if !matches!(kind, ColumnKind::Integer | ColumnKind::Decimal) =>
                    {
                        Some(NotApplicable::WrongKind)
                    }
                    (Some((_, kind)), Check::Freshness { .. })
                        if !matches!(kind, ColumnKind::Date | ColumnKind::DateTime) =>
                    {
                        Some(NotApplicable::WrongKind)
                    }
                    _ => None,
                };
                RuleResult {
                    rule_id: rule.id.clone(),
                    column: rule.column.clone(),
                    severity: rule.severity,
                    checked: 0,
                    passed: 0,
                    failed_lines: Vec::new(),
                    not_applicable,
                }
            })
            .collect();
        QualityEvaluator { rules, results }
    }

    /// Checks the rows of one batch (columns in the evaluator's order); `lines[i]` is the source
    /// line of row `i`.
    pub fn observe(&mut self, batch: &RecordBatch, lines: &[u64]) {
        for ((rule, column), result) in self.rules.iter().zip(self.results.iter_mut()) {
            let Some((index, kind)) = *column else { continue };
            if result.not_applicable.is_some() {
                continue;
            }
            let Some(array) = batch.columns().get(index) else { continue };
            check_array(&rule.check, kind, array, lines, result);
        }
    }

    /// Finishes the evaluation: freshness against `now` from the profile, and the score.
    pub fn finish(mut self, profile: &Profile, now: NaiveDate) -> QualityReport {
        for ((rule, _), result) in self.rules.iter().zip(self.results.iter_mut()) {
            if let (Check::Freshness { max_age_days }, None) = (&rule.check, result.not_applicable) {
                result.checked = 1;
                let fresh = profile
                    .latest_date(&rule.column)
                    .is_some_and(|latest| (now - latest).num_days() <= *max_age_days);
                result.passed = u64::from(fresh);
            }
        }
        let score = score(&self.results);
        QualityReport { results: self.results, score }
    }
}

fn score(results: &[RuleResult]) -> f64 {
    let (mut weighted, mut weights) = (0.0, 0.0);
    for result in results {
        if let Some(rate) = result.pass_rate() {
            let w = f64::from(result.severity.weight());
            weighted += w * rate;
            weights += w;
        }
    }
    if weights == 0.0 { 100.0 } else { weighted / weights * 100.0 }
}

fn record(result: &mut RuleResult, ok: bool, line: u64) {
    result.checked += 1;
    if ok {
        result.passed += 1;
    } else if result.failed_lines.len() < MAX_EXAMPLES {
        result.failed_lines.push(line);
    }
}

/// The text of a cell for pattern and reference checks (dates as `YYYY-MM-DD`).
fn cell_text(kind: ColumnKind, array: &ArrayRef, i: usize) -> Option<String> {
    if array.is_null(i) {
        return None;
    }
    Some(match kind {
        ColumnKind::Text => array.as_string::<i32>().value(i).to_string(),
        ColumnKind::Integer => array.as_primitive::<Int64Type>().value(i).to_string(),
        ColumnKind::Decimal => array.as_primitive::<Float64Type>().value(i).to_string(),
        ColumnKind::Date => days_to_date(array.as_primitive::<Date32Type>().value(i))?.to_string(),
        ColumnKind::DateTime => {
            let ms = array.as_primitive::<TimestampMillisecondType>().value(i);
            chrono::DateTime::from_timestamp_millis(ms)?.naive_utc().format("%Y-%m-%d %H:%M:%S").to_string()
        }
        ColumnKind::Boolean => array.as_boolean().value(i).to_string(),
    })
}

fn check_array(check: &Check, kind: ColumnKind, array: &ArrayRef, lines: &[u64], result: &mut RuleResult) {
    let line = |i: usize| lines.get(i).copied().unwrap_or(0);
    match check {
        Check::NotNull => {
            for i in 0..array.len() {
                record(result, array.is_valid(i), line(i));
            }
        }
        Check::Range { min, max } => {
            let within = |v: f64| min.is_none_or(|m| v >= m) && max.is_none_or(|m| v <= m);
            match kind {
                ColumnKind::Integer => {
                    for (i, v) in array.as_primitive::<Int64Type>().iter().enumerate() {
                        if let Some(v) = v {
                            record(result, within(v as f64), line(i));
                        }
                    }
                }
                ColumnKind::Decimal => {
                    for (i, v) in array.as_primitive::<Float64Type>().iter().enumerate() {
                        if let Some(v) = v {
                            record(result, within(v), line(i));
                        }
                    }
                }
                _ => {}
            }
        }
        Check::Pattern(regex) => {
            if kind == ColumnKind::Text {
                for (i, v) in array.as_string::<i32>().iter().enumerate() {
                    if let Some(v) = v {
                        record(result, regex.is_match(v), line(i));
                    }
                }
            } else {
                for i in 0..array.len() {
                    if let Some(text) = cell_text(kind, array, i) {
                        record(result, regex.is_match(&text), line(i));
                    }
                }
            }
        }
        Check::Reference(allowed) => {
            if kind == ColumnKind::Text {
                for (i, v) in array.as_string::<i32>().iter().enumerate() {
                    if let Some(v) = v {
                        record(result, allowed.contains(v), line(i));
                    }
                }
            } else {
                for i in 0..array.len() {
                    if let Some(text) = cell_text(kind, array, i) {
                        record(result, allowed.contains(&text), line(i));
                    }
                }
            }
        }
        // Evaluated once, at the end, from the profile.
        Check::Freshness { .. } => {}
    }
}

/// Evaluates rules over in-memory batches (row `i` of the whole sequence is line `i + 1`), for
/// callers that already hold the data; the import evaluates while streaming instead.
pub fn evaluate(
    columns: &[ColumnSpec],
    batches: &[RecordBatch],
    rules: &[QualityRule],
    now: NaiveDate,
) -> QualityReport {
    let mut profiler = crate::profile::Profiler::new(columns);
    let mut evaluator = QualityEvaluator::new(rules, columns);
    let mut first = 1u64;
    for batch in batches {
        let lines: Vec<u64> = (first..first + batch.num_rows() as u64).collect();
        first += batch.num_rows() as u64;
        profiler.observe(batch, &lines);
        evaluator.observe(batch, &lines);
    }
    evaluator.finish(&profiler.finish(), now)
}
