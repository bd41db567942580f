//! From a real-data outcome to its output-check report (sandbox.md layer 4), the step before the
//! result lands in the project's outbox. The report is for the operator's reviewers; before release
//! the developer sees none of it (layer 5).
//!
//! The disclosure rules on aggregate cells — threshold, dominance, p%, complementary suppression —
//! were already applied by the per-value gates while the query ran ([`crate::gate`]); the report says
//! what they suppressed. On the released values it adds: the scan of text columns for direct
//! identifiers, zero cells (a structural zero can tell that nobody in a group has a property), VAR/STDDEV
//! over few units, and differencing pairs within the output ([`crate::differencing`]).

use std::collections::HashSet;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Float64Type};

use crate::checks::{CheckConfig, CheckReason, CheckReport, IdentifierScanner, Outcome as CheckOutcome};
use crate::engine::Outcome;
use crate::gate::Suppression;

fn reason(
    code: &'static str,
    outcome: CheckOutcome,
    column: Option<&str>,
    rows: u64,
    message_zh: String,
) -> CheckReason {
    CheckReason { code, outcome, column: column.map(str::to_owned), rows, message_zh }
}

/// Checks an outcome. `source_names`: names present in the source tables (for the identifier scan).
pub fn outcome_checks(
    outcome: &Outcome,
    _config: &CheckConfig,
    source_names: &HashSet<String>,
) -> CheckReport {
    let schema = outcome.schema.clone();
    let mut reasons = Vec::new();
    let protected = !outcome.gates.is_empty() || outcome.epsilon.is_some() || outcome.suppressed > 0;
    let scanner = IdentifierScanner::new(source_names);
    for (c, f) in schema.fields().iter().enumerate() {
        let parts: Vec<&dyn Array> = outcome.batches.iter().map(|b| b.column(c).as_ref()).collect();
        let Ok(array) = arrow::compute::concat(&parts) else {
            reasons.push(reason(
                "identifier.unscannable",
                CheckOutcome::Review,
                Some(f.name()),
                0,
                format!("列“{}”无法读取以扫描直接标识符，需人工审核", f.name()),
            ));
            continue;
        };
        if !f.data_type().is_numeric() {
            reasons.extend(scanner.scan_column(f.name(), &array));
        } else if protected {
            let zeros = arrow::compute::cast(&array, &DataType::Float64)
                .ok()
                .map(|x| {
                    let x = x.as_primitive::<Float64Type>();
                    (0..x.len()).filter(|i| !x.is_null(*i) && x.value(*i) == 0.0).count() as u64
                })
                .unwrap_or(0);
            if zeros > 0 {
                reasons.push(reason(
                    "cell.zero",
                    CheckOutcome::Review,
                    Some(f.name()),
                    zeros,
                    format!(
                        "列“{}”有 {zeros} 个零值单元格（结构性零值可能说明某组无人具有某特征），需人工审核",
                        f.name()
                    ),
                ));
            }
        }
    }
    let dropped: u64 = outcome.suppressed;
    if dropped > 0 {
        reasons.push(reason(
            "gate.groups_suppressed",
            CheckOutcome::Pass,
            None,
            dropped,
            format!("{dropped} 个分组的个体数少于阈值 k，已整组隐去"),
        ));
    }
    for g in &outcome.gates {
        for (column, why, n) in &g.suppressed {
            let (code, what) = match why {
                Suppression::Threshold => {
                    ("gate.threshold", "该值实际贡献的个体数少于 k（含 FILTER/CASE 等收窄之后）")
                }
                Suppression::Dominance => ("gate.dominance", "前两名个体的贡献超过合计的 90%（优势规则）"),
                Suppression::PRatio => {
                    ("gate.p_ratio", "除前两名外其余个体的贡献不足最大者的 10%（p% 规则）")
                }
                Suppression::Secondary => (
                    "gate.secondary",
                    "互补隐去：被隐去的单元格合计须覆盖至少 k 个个体，防止用合计减去其余单元格还原",
                ),
            };
            reasons.push(reason(
                code,
                CheckOutcome::Pass,
                Some(column),
                *n,
                format!("列“{column}”有 {n} 个单元格已隐去（置空）：{what}"),
            ));
        }
        for (column, n) in &g.moments {
            reasons.push(reason(
                "cell.moments",
                CheckOutcome::Review,
                Some(column),
                *n,
                format!(
                    "列“{column}”有 {n} 个方差/标准差单元格的贡献个体较少；与均值、人数同时输出时可据以推算极端个体的取值，需人工审核"
                ),
            ));
        }
    }
    for f in &outcome.findings {
        reasons.push(reason(
            "differencing.within",
            CheckOutcome::Review,
            None,
            f.units as u64,
            f.message_zh(),
        ));
    }
    if outcome.findings_total > outcome.findings.len() {
        let more = outcome.findings_total - outcome.findings.len();
        reasons.push(reason(
            "differencing.within",
            CheckOutcome::Review,
            None,
            more as u64,
            format!("另有 {more} 组输出内的差分配对未逐一列出"),
        ));
    }
    CheckReport::from_reasons(reasons)
}
