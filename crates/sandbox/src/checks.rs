//! Output checks before release (sandbox.md layer 4), in the style of ACRO's defaults.
//!
//! Statistical disclosure rules are computed from each privacy unit's contribution to a cell
//! (the engine gathers them: distinct units, the total and the two largest contributions), not
//! from the released cells, because a released mean or rounded value no longer shows who
//! dominates it. Every output value that could carry a direct identifier is also scanned for valid
//! resident ID numbers, USCCs, mobile numbers and names present in the source data.
//!
//! Reports name columns and count rows but never contain a data value: the developer reads the
//! report before release, so a value in a message would itself be a leak (sandbox.md layer 8).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use yunshu_domain::ids::{Mobile, ResidentId, Uscc};

/// Outcome of the checks on one output, ordered from best to worst so that `max` combines them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// No rule was triggered.
    Pass,
    /// A human reviewer must look (e.g. zero cells).
    Review,
    /// Must not be released as it is.
    Fail,
}

impl Outcome {
    /// Every value, best first.
    pub const ALL: &'static [Outcome] = &[Outcome::Pass, Outcome::Review, Outcome::Fail];

    /// Stable machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Review => "review",
            Outcome::Fail => "fail",
        }
    }

    /// The value for a stored code.
    pub fn parse(code: &str) -> Option<Outcome> {
        Outcome::ALL.iter().copied().find(|o| o.code() == code.trim())
    }

    /// Label for Chinese-speaking users.
    pub fn label_zh(self) -> &'static str {
        match self {
            Outcome::Pass => "通过",
            Outcome::Review => "需人工审核",
            Outcome::Fail => "不通过",
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label_zh())
    }
}

/// Thresholds of the checks; the defaults are ACRO's.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckConfig {
    /// Minimum distinct privacy units per aggregate cell.
    pub cell_threshold: u64,
    /// N of the N-k dominance rule (the top N contributions are summed; only 1 or 2 are
    /// supported because the engine gathers the two largest).
    pub dominance_n: usize,
    /// k of the N-k dominance rule: the top N may not exceed this share of the total.
    pub dominance_k: f64,
    /// p of the p% rule: what remains after the top two must be at least p × the largest.
    pub p_ratio: f64,
    /// Released values are rounded to this base (e.g. 5), if set; see [`round_to_base`].
    pub rounding_base: Option<u32>,
    /// Minimum residual degrees of freedom of a model output.
    pub min_residual_df: u64,
}

impl Default for CheckConfig {
    fn default() -> Self {
        CheckConfig {
            cell_threshold: 10,
            dominance_n: 2,
            dominance_k: 0.90,
            p_ratio: 0.10,
            rounding_base: None,
            min_residual_df: 10,
        }
    }
}

/// What one output column holds, which decides the rules applied to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnKind {
    /// A group key or other non-aggregate value: scanned for direct identifiers.
    Dimension,
    /// A count of rows or units: threshold and zero rules.
    Frequency,
    /// A sum, mean or other magnitude: threshold, zero, dominance and p% rules.
    Magnitude,
}

impl ColumnKind {
    fn is_aggregate(self) -> bool {
        !matches!(self, ColumnKind::Dimension)
    }
}

/// Description of an output column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMeta {
    /// Column name as released (shown in reasons).
    pub name: String,
    /// How its cells were produced.
    pub kind: ColumnKind,
}

impl ColumnMeta {
    /// A column description.
    pub fn new(name: impl Into<String>, kind: ColumnKind) -> ColumnMeta {
        ColumnMeta { name: name.into(), kind }
    }
}

/// Per-unit statistics of one aggregate cell, gathered by the engine before release.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CellStats {
    /// Distinct privacy units contributing to the cell.
    pub units: u64,
    /// Sum of the aggregated measure over all units (for magnitude cells).
    pub total: f64,
    /// Largest absolute contribution of a single unit.
    pub top1: f64,
    /// Second largest absolute contribution of a single unit.
    pub top2: f64,
    /// Whether the released cell is zero (or empty).
    pub is_zero: bool,
}

/// One reason a check did not pass. Never carries a data value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReason {
    /// Stable machine-readable code, e.g. `cell.threshold`.
    pub code: &'static str,
    /// What this reason alone would decide.
    pub outcome: Outcome,
    /// The column concerned, if the reason is about one column.
    pub column: Option<String>,
    /// How many rows (cells) triggered it.
    pub rows: u64,
    /// Explanation for Chinese-speaking users: column names and counts only.
    pub message_zh: String,
}

/// The result of checking one output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// The worst outcome of all reasons (Pass if there are none).
    pub outcome: Outcome,
    /// Reasons, in a stable order (by column, then rule).
    pub reasons: Vec<CheckReason>,
}

impl CheckReport {
    /// A report from its reasons.
    pub fn from_reasons(reasons: Vec<CheckReason>) -> CheckReport {
        let outcome = reasons.iter().map(|r| r.outcome).max().unwrap_or(Outcome::Pass);
        CheckReport { outcome, reasons }
    }

    /// Both reports' reasons (e.g. cell checks plus a model check), with the worse outcome.
    pub fn merge(mut self, other: CheckReport) -> CheckReport {
        self.reasons.extend(other.reasons);
        CheckReport::from_reasons(self.reasons)
    }
}

/// One output to check.
///
/// `columns`, `values` and each row of `cells` are parallel: `values[c]` is the released column
/// `c` and `cells[r][c]` the per-unit statistics of its row `r` (`None` for dimension columns).
#[derive(Debug, Clone, Copy)]
pub struct CheckInput<'a> {
    /// The output's columns.
    pub columns: &'a [ColumnMeta],
    /// Per-unit statistics, row-major.
    pub cells: &'a [Vec<Option<CellStats>>],
    /// The released values, for the identifier scan (may be empty when no value is released,
    /// e.g. a model summary).
    pub values: &'a [ArrayRef],
    /// Residual degrees of freedom, when the output is a model (regression etc.).
    pub residual_df: Option<u64>,
}

/// Runs every check on one output.
pub fn check_output(
    config: &CheckConfig,
    input: &CheckInput<'_>,
    source_names: &HashSet<String>,
) -> CheckReport {
    let mut reasons = check_cells(config, input.columns, input.cells);
    let scanner = IdentifierScanner::new(source_names);
    for (meta, array) in input.columns.iter().zip(input.values) {
        if meta.kind == ColumnKind::Dimension {
            reasons.extend(scanner.scan_column(&meta.name, array));
        }
    }
    if let Some(df) = input.residual_df {
        reasons.extend(check_residual_df(config, df));
    }
    CheckReport::from_reasons(reasons)
}

// ---------------------------------------------------------------------------------------------
// Cell rules
// ---------------------------------------------------------------------------------------------

/// A rule one cell can trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CellRule {
    /// The engine gave no statistics for an aggregate cell: it cannot be checked, so it fails.
    MissingStats,
    /// Fewer distinct units than the threshold.
    Threshold,
    /// The top contributions dominate the total.
    Dominance,
    /// The remainder after the top two is too small relative to the largest (p% rule).
    PRatio,
    /// A zero cell (structural or not: a human decides).
    Zero,
}

impl CellRule {
    /// Stable machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            CellRule::MissingStats => "cell.stats_missing",
            CellRule::Threshold => "cell.threshold",
            CellRule::Dominance => "cell.dominance",
            CellRule::PRatio => "cell.p_ratio",
            CellRule::Zero => "cell.zero",
        }
    }

    /// What triggering the rule decides.
    pub fn outcome(self) -> Outcome {
        match self {
            CellRule::Zero => Outcome::Review,
            _ => Outcome::Fail,
        }
    }

    fn message_zh(self, config: &CheckConfig, column: &str, rows: u64) -> String {
        match self {
            CellRule::MissingStats => {
                format!("列“{column}”有 {rows} 个汇总单元格缺少贡献统计，无法检查，不得导出")
            }
            CellRule::Threshold => format!(
                "列“{column}”有 {rows} 个单元格的统计对象少于 {} 个（最小单元格规则）",
                config.cell_threshold
            ),
            CellRule::Dominance => format!(
                "列“{column}”有 {rows} 个单元格中最大的 {} 个统计对象的贡献超过合计的 {}%（优势规则）",
                config.dominance_n,
                percent(config.dominance_k)
            ),
            CellRule::PRatio => format!(
                "列“{column}”有 {rows} 个单元格中除最大两个统计对象外的贡献不足最大贡献的 {}%（p% 规则）",
                percent(config.p_ratio)
            ),
            CellRule::Zero => format!("列“{column}”有 {rows} 个零值单元格，需人工判断是否泄露信息"),
        }
    }
}

fn percent(share: f64) -> String {
    let p = share * 100.0;
    if (p - p.round()).abs() < 1e-9 { format!("{}", p.round() as i64) } else { format!("{p:.1}") }
}

/// The rules one cell triggers. Frequency cells get the threshold and zero rules; magnitude
/// cells also get dominance and the p% rule (computed on absolute contributions).
pub fn check_cell(config: &CheckConfig, kind: ColumnKind, stats: &CellStats) -> Vec<CellRule> {
    let mut rules = Vec::new();
    if stats.units < config.cell_threshold {
        rules.push(CellRule::Threshold);
    }
    if stats.is_zero {
        // Dominance and p% are undefined on a zero total; the zero itself goes to a reviewer.
        rules.push(CellRule::Zero);
        return rules;
    }
    if kind != ColumnKind::Magnitude {
        return rules;
    }
    let total = stats.total.abs();
    let (top1, top2) = (stats.top1.abs(), stats.top2.abs());
    let top_n = if config.dominance_n <= 1 { top1 } else { top1 + top2 };
    // A non-zero cell whose contributions cancel out (|total| = 0) is treated as dominated:
    // the ratio is unbounded. NaN statistics fail too: a cell that cannot be checked is not safe.
    let dominated = if total > 0.0 {
        let ratio = top_n / total;
        ratio.is_nan() || ratio > config.dominance_k
    } else {
        top1 > 0.0 || top1.is_nan()
    };
    if dominated {
        rules.push(CellRule::Dominance);
    }
    if top1 > 0.0 {
        let remainder = (total - top1 - top2) / top1;
        if remainder.is_nan() || remainder < config.p_ratio {
            rules.push(CellRule::PRatio);
        }
    }
    rules
}

/// Applies [`check_cell`] to every aggregate cell and summarises by (column, rule).
pub fn check_cells(
    config: &CheckConfig,
    columns: &[ColumnMeta],
    cells: &[Vec<Option<CellStats>>],
) -> Vec<CheckReason> {
    let mut counts: BTreeMap<(usize, CellRule), u64> = BTreeMap::new();
    for row in cells {
        for (index, meta) in columns.iter().enumerate() {
            if !meta.kind.is_aggregate() {
                continue;
            }
            match row.get(index).copied().flatten() {
                Some(stats) => {
                    for rule in check_cell(config, meta.kind, &stats) {
                        *counts.entry((index, rule)).or_default() += 1;
                    }
                }
                None => *counts.entry((index, CellRule::MissingStats)).or_default() += 1,
            }
        }
    }
    counts
        .into_iter()
        .filter_map(|((index, rule), rows)| {
            let name = &columns.get(index)?.name;
            Some(CheckReason {
                code: rule.code(),
                outcome: rule.outcome(),
                column: Some(name.clone()),
                rows,
                message_zh: rule.message_zh(config, name, rows),
            })
        })
        .collect()
}

/// The model rule: fewer than `min_residual_df` residual degrees of freedom fails, because a
/// saturated model reproduces its inputs.
pub fn check_residual_df(config: &CheckConfig, residual_df: u64) -> Option<CheckReason> {
    (residual_df < config.min_residual_df).then(|| CheckReason {
        code: "model.residual_df",
        outcome: Outcome::Fail,
        column: None,
        rows: 0,
        message_zh: format!(
            "模型的残差自由度为 {residual_df}，少于 {}，模型结果可能还原个体数据",
            config.min_residual_df
        ),
    })
}

/// `x` rounded to the nearest multiple of `base` (halves away from zero); `base` 0 or 1 leaves `x`
/// unchanged.
pub fn round_to_base(x: f64, base: u32) -> f64 {
    if base <= 1 || !x.is_finite() {
        return x;
    }
    let b = f64::from(base);
    (x / b).round() * b
}

/// Integer version of [`round_to_base`] for counts, exact for every `i64` (saturating at the ends).
pub fn round_count_to_base(x: i64, base: u32) -> i64 {
    if base <= 1 {
        return x;
    }
    let b = u64::from(base);
    let magnitude = x.unsigned_abs();
    let rounded =
        (magnitude / b).saturating_mul(b).saturating_add(if magnitude % b * 2 >= b { b } else { 0 });
    let signed = i64::try_from(rounded).unwrap_or(i64::MAX);
    if x < 0 { -signed } else { signed }
}

// ---------------------------------------------------------------------------------------------
// Direct identifier scan
// ---------------------------------------------------------------------------------------------

/// A kind of direct identifier found in an output value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdentifierKind {
    /// 居民身份证号码 with a valid check character and birth date.
    ResidentId,
    /// 统一社会信用代码 of an individual business (个体工商户, type code 92): it names a natural person.
    Uscc,
    /// 统一社会信用代码 of a legal person or other organisation: not personal information, but it
    /// singles out one enterprise, so a reviewer confirms the output is what the scenario allows.
    LegalUscc,
    /// An 11-digit mainland mobile number.
    Mobile,
    /// A person's name that occurs in the source data.
    Name,
}

impl IdentifierKind {
    /// Stable machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            IdentifierKind::ResidentId => "identifier.resident_id",
            IdentifierKind::Uscc => "identifier.uscc",
            IdentifierKind::LegalUscc => "identifier.legal_uscc",
            IdentifierKind::Mobile => "identifier.mobile",
            IdentifierKind::Name => "identifier.name",
        }
    }

    /// Chinese name of the identifier.
    pub fn label_zh(self) -> &'static str {
        match self {
            IdentifierKind::ResidentId => "居民身份证号码",
            IdentifierKind::Uscc => "个体工商户统一社会信用代码",
            IdentifierKind::LegalUscc => "法人统一社会信用代码",
            IdentifierKind::Mobile => "手机号码",
            IdentifierKind::Name => "源数据中的姓名",
        }
    }
}

/// Finds direct identifiers in text, including inside longer strings.
#[derive(Debug, Clone)]
pub struct IdentifierScanner<'a> {
    names: &'a HashSet<String>,
    /// Distinct name lengths in characters, so each value is probed once per length.
    name_lengths: BTreeSet<usize>,
}

/// Names shorter than this are not searched: a single character matches almost any text.
const MIN_NAME_CHARS: usize = 2;

impl<'a> IdentifierScanner<'a> {
    /// A scanner for the given source names.
    pub fn new(names: &'a HashSet<String>) -> IdentifierScanner<'a> {
        let name_lengths =
            names.iter().map(|n| n.chars().count()).filter(|&len| len >= MIN_NAME_CHARS).collect();
        IdentifierScanner { names, name_lengths }
    }

    /// Every kind of identifier found in `value`.
    pub fn scan(&self, value: &str) -> BTreeSet<IdentifierKind> {
        let mut found = BTreeSet::new();
        scan_codes(value, &mut found);
        if self.contains_name(value) {
            found.insert(IdentifierKind::Name);
        }
        found
    }

    fn contains_name(&self, value: &str) -> bool {
        if self.name_lengths.is_empty() {
            return false;
        }
        let bounds: Vec<usize> = value.char_indices().map(|(i, _)| i).chain([value.len()]).collect();
        self.name_lengths.iter().any(|&len| {
            bounds.windows(len + 1).any(|w| match (w.first(), w.last()) {
                (Some(&a), Some(&b)) => value.get(a..b).is_some_and(|s| self.names.contains(s)),
                _ => false,
            })
        })
    }

    /// Scans one released column and returns one reason per kind of identifier found: Fail for
    /// identifiers of natural persons, Review for legal persons' credit codes.
    /// String, dictionary and numeric columns are scanned (a number can be a mobile or an ID
    /// number); columns that cannot be rendered as text go to a reviewer.
    pub fn scan_column(&self, column: &str, array: &ArrayRef) -> Vec<CheckReason> {
        if !scannable(array.data_type()) {
            if cannot_hold_identifier(array.data_type()) {
                return Vec::new();
            }
            return vec![unscannable(column)];
        }
        let Ok(text) = cast(array, &DataType::LargeUtf8) else {
            return vec![unscannable(column)];
        };
        let mut counts: BTreeMap<IdentifierKind, u64> = BTreeMap::new();
        for value in text.as_string::<i64>().iter().flatten() {
            for kind in self.scan(value) {
                *counts.entry(kind).or_default() += 1;
            }
        }
        counts
            .into_iter()
            .map(|(kind, rows)| match kind {
                IdentifierKind::LegalUscc => CheckReason {
                    code: kind.code(),
                    outcome: Outcome::Review,
                    column: Some(column.to_owned()),
                    rows,
                    message_zh: format!(
                        "列“{column}”有 {rows} 行含有{}（逐个企业的结果），请审核是否属于授权场景的用途",
                        kind.label_zh()
                    ),
                },
                _ => CheckReason {
                    code: kind.code(),
                    outcome: Outcome::Fail,
                    column: Some(column.to_owned()),
                    rows,
                    message_zh: format!(
                        "列“{column}”有 {rows} 行含有疑似{}（直接标识符），不得导出",
                        kind.label_zh()
                    ),
                },
            })
            .collect()
    }
}

fn unscannable(column: &str) -> CheckReason {
    CheckReason {
        code: "identifier.unscannable",
        outcome: Outcome::Review,
        column: Some(column.to_owned()),
        rows: 0,
        message_zh: format!("列“{column}”的类型无法自动扫描直接标识符，需人工审核"),
    }
}

fn scannable(data_type: &DataType) -> bool {
    match data_type {
        DataType::Dictionary(_, value) => scannable(value),
        other => {
            other.is_integer()
                || other.is_floating()
                || matches!(
                    other,
                    DataType::Utf8
                        | DataType::LargeUtf8
                        | DataType::Utf8View
                        | DataType::Decimal32(_, _)
                        | DataType::Decimal64(_, _)
                        | DataType::Decimal128(_, _)
                        | DataType::Decimal256(_, _)
                )
        }
    }
}

/// Types whose values are too short or structured to spell an identifier.
fn cannot_hold_identifier(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Null
            | DataType::Boolean
            | DataType::Date32
            | DataType::Date64
            | DataType::Timestamp(_, _)
            | DataType::Time32(_)
            | DataType::Time64(_)
            | DataType::Duration(_)
            | DataType::Interval(_)
    )
}

/// Maps full-width digits and letters (０-９, Ａ-Ｚ, ａ-ｚ) to ASCII, so that they cannot be used
/// to slip an identifier past the scan.
fn ascii_equivalent(c: char) -> Option<u8> {
    let c = match u32::from(c) {
        code @ 0xFF10..=0xFF19 | code @ 0xFF21..=0xFF3A | code @ 0xFF41..=0xFF5A => {
            char::from_u32(code - 0xFEE0).unwrap_or(c)
        }
        _ => c,
    };
    u8::try_from(c).ok().filter(u8::is_ascii)
}

/// Looks for resident ID numbers, USCCs and mobile numbers. Candidates are maximal runs of ASCII
/// letters and digits (every 18-character window is tried for the check-charactered codes; a
/// mobile must be a whole digit run of 11, or 13 with the 86 country code, because windows of long
/// numbers would match almost anything), and the same with single spaces or hyphens removed
/// between digit groups (`138 1234 5678`).
fn scan_codes(value: &str, found: &mut BTreeSet<IdentifierKind>) {
    let mut alnum_runs: Vec<Vec<u8>> = vec![Vec::new()];
    let mut joined_digit_runs: Vec<(Vec<u8>, bool)> = vec![(Vec::new(), false)];
    let mut pending_separator = false;
    for c in value.chars() {
        let ascii = ascii_equivalent(c);
        match ascii {
            Some(b) if b.is_ascii_alphanumeric() => {
                if let Some(run) = alnum_runs.last_mut() {
                    run.push(b);
                }
            }
            _ => alnum_runs.push(Vec::new()),
        }
        match ascii {
            Some(b) if b.is_ascii_digit() => {
                if let Some((run, joined)) = joined_digit_runs.last_mut() {
                    *joined |= pending_separator && !run.is_empty();
                    run.push(b);
                }
                pending_separator = false;
            }
            Some(b' ' | b'-') if !pending_separator => pending_separator = true,
            _ => {
                joined_digit_runs.push((Vec::new(), false));
                pending_separator = false;
            }
        }
    }
    for run in &alnum_runs {
        scan_run(run, found);
    }
    for (run, joined) in &joined_digit_runs {
        if *joined {
            scan_run(run, found);
        }
    }
}

fn scan_run(run: &[u8], found: &mut BTreeSet<IdentifierKind>) {
    for window in run.windows(18) {
        let Ok(s) = std::str::from_utf8(window) else { continue };
        if ResidentId::is_valid(s) {
            found.insert(IdentifierKind::ResidentId);
        }
        if Uscc::is_valid(s) {
            found.insert(if s.starts_with("92") { IdentifierKind::Uscc } else { IdentifierKind::LegalUscc });
        }
    }
    for digits in run.split(|b| !b.is_ascii_digit()) {
        let candidate = match digits.len() {
            11 => Some(digits),
            13 if digits.starts_with(b"86") => digits.get(2..),
            _ => None,
        };
        if let Some(s) = candidate.and_then(|c| std::str::from_utf8(c).ok())
            && Mobile::is_valid(s)
        {
            found.insert(IdentifierKind::Mobile);
        }
    }
}

#[cfg(test)]
#[path = "checks_test.rs"]
mod tests;
