//! From a real-data outcome to its output-check report (sandbox.md layer 4), the step before the
//! result lands in the project's outbox.
//!
//! Text columns are scanned for direct identifiers; every numeric cell is checked against the cell
//! threshold with the distinct-unit count the gate computed for its row. SUM/AVG columns whose per-unit
//! contributions the engine gathered ([`crate::contrib`]) are magnitude columns: dominance (n=2,
//! k=90 %) and the p% rule run on those figures. Other floating-point columns may be magnitudes the
//! engine has no contributions for (a unit with several rows, a join, an expression over sums): they
//! are checked as frequencies and the report says so with a `cell.contributions_pending` review
//! reason.

use std::collections::HashSet;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Float64Type};

use crate::checks::{
    CellStats, CheckConfig, CheckInput, CheckReason, CheckReport, ColumnKind, ColumnMeta,
    Outcome as CheckOutcome, check_output,
};
use crate::engine::Outcome;

/// Checks an outcome. `source_names`: names present in the source tables (for the identifier scan).
pub fn outcome_checks(
    outcome: &Outcome,
    config: &CheckConfig,
    source_names: &HashSet<String>,
) -> CheckReport {
    let schema = outcome.schema.clone();
    let known = |c: usize| outcome.contributions.iter().find(|x| x.column == c);
    let columns: Vec<ColumnMeta> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(c, f)| {
            let kind = if !f.data_type().is_numeric() {
                ColumnKind::Dimension
            } else if known(c).is_some() {
                ColumnKind::Magnitude
            } else {
                ColumnKind::Frequency
            };
            ColumnMeta::new(f.name().clone(), kind)
        })
        .collect();
    let mut cells: Vec<Vec<Option<CellStats>>> = Vec::with_capacity(outcome.num_rows());
    let mut values = Vec::new();
    let mut row = 0usize;
    for b in &outcome.batches {
        for r in 0..b.num_rows() {
            let units = outcome.row_units.get(row).copied().flatten();
            let mut line = Vec::with_capacity(columns.len());
            for (c, meta) in columns.iter().enumerate() {
                if meta.kind == ColumnKind::Dimension {
                    line.push(None);
                    continue;
                }
                let Some(units) = units else {
                    // No protected table contributed: nothing to protect in this cell.
                    line.push(Some(CellStats {
                        units: u64::MAX,
                        total: 0.0,
                        top1: 0.0,
                        top2: 0.0,
                        is_zero: false,
                    }));
                    continue;
                };
                let col = b.column(c);
                let zero = arrow::compute::cast(col, &DataType::Float64)
                    .ok()
                    .map(|f| {
                        let f = f.as_primitive::<Float64Type>();
                        !f.is_null(r) && f.value(r) == 0.0
                    })
                    .unwrap_or(false);
                let figures = known(c).map(|x| x.cells.get(row).copied().flatten());
                let stats = match figures {
                    // A magnitude cell without its figures cannot be checked: the rules fail it.
                    Some(None) => {
                        CellStats { units, total: f64::NAN, top1: f64::NAN, top2: f64::NAN, is_zero: zero }
                    }
                    Some(Some(x)) => {
                        CellStats { units, total: x.total, top1: x.top1, top2: x.top2, is_zero: zero }
                    }
                    None => CellStats { units, total: 0.0, top1: 0.0, top2: 0.0, is_zero: zero },
                };
                line.push(Some(stats));
            }
            cells.push(line);
            row += 1;
        }
    }
    for c in 0..columns.len() {
        let parts: Vec<&dyn Array> = outcome.batches.iter().map(|b| b.column(c).as_ref()).collect();
        match arrow::compute::concat(&parts) {
            Ok(a) => values.push(a),
            Err(_) => values.push(arrow::array::new_empty_array(schema.field(c).data_type())),
        }
    }
    let input = CheckInput { columns: &columns, cells: &cells, values: &values, residual_df: None };
    let report = check_output(config, &input, source_names);
    let has_magnitude =
        schema.fields().iter().enumerate().any(|(c, f)| f.data_type().is_floating() && known(c).is_none());
    if has_magnitude && outcome.row_units.iter().any(|u| u.is_some()) {
        report.merge(CheckReport::from_reasons(vec![CheckReason {
            code: "cell.contributions_pending",
            outcome: CheckOutcome::Review,
            column: None,
            rows: 0,
            message_zh: "金额类结果的优势（dominance）与 p% 规则需人工复核".into(),
        }]))
    } else {
        report
    }
}
