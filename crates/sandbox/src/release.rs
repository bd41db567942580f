//! From a real-data outcome to its output-check report (sandbox.md layer 4), the step before the
//! result lands in the project's outbox.
//!
//! Text columns are scanned for direct identifiers; every numeric cell is checked against the cell
//! threshold with the distinct-unit count the gate computed for its row. Dominance and the p% rule need
//! each unit's contribution to a magnitude cell; until the engine gathers those, magnitude columns are
//! checked as frequencies and the report says so with a `cell.contributions_pending` review reason.

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
    let columns: Vec<ColumnMeta> = schema
        .fields()
        .iter()
        .map(|f| {
            let kind = if f.data_type().is_numeric() { ColumnKind::Frequency } else { ColumnKind::Dimension };
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
                line.push(Some(CellStats { units, total: 0.0, top1: 0.0, top2: 0.0, is_zero: zero }));
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
    let has_magnitude = schema.fields().iter().any(|f| f.data_type().is_floating());
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
