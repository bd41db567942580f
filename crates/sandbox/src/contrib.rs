//! Per-unit contributions to magnitude cells, for the dominance and p% rules (sandbox.md layer 4).
//!
//! Dominance (n=2, k=90 %) and the p% rule need, for each released SUM/AVG cell, the total and the two
//! largest contributions of single privacy units — figures the released cell no longer shows. Where
//! every row of the aggregated input is one unit's (a register with one row per unit, not joined,
//! `unit_per_row`), a row *is* a unit's contribution: the plan check then adds to the gate aggregation,
//! for each SUM/AVG of a protected value, three hidden aggregates of [`Top2`] — the sum of absolute
//! values and the two largest absolute values — carried to the output like the gate counts and stripped
//! by the engine. They cost three floats per group, computed in the same pass.
//!
//! Where a unit may have several rows (or a join may repeat it), contributions need a per-unit
//! pre-aggregation; those cells are not covered here and keep the review reason
//! `cell.contributions_pending` (see [`crate::release`]).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Field, FieldRef, Float64Type};
use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, LogicalPlan, Signature, Volatility,
};

/// Hidden contribution columns are named `{CONTRIB_PREFIX}{gate}_{aggregate}_{part}`.
pub const CONTRIB_PREFIX: &str = "__yunshu_c";

/// Which figure a [`Top2`] aggregate returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    /// Σ |x|.
    Total,
    /// The largest |x|.
    Top1,
    /// The second largest |x|.
    Top2,
}

impl Part {
    pub const ALL: [Part; 3] = [Part::Total, Part::Top1, Part::Top2];

    pub fn suffix(self) -> &'static str {
        match self {
            Part::Total => "t",
            Part::Top1 => "1",
            Part::Top2 => "2",
        }
    }
}

/// The aggregate behind the hidden contribution columns: over Float64 values, one of Σ|x|, the
/// largest |x|, the second largest |x|. A NaN makes the total NaN, which the checks treat as
/// dominated (fail closed).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Top2 {
    part: Part,
    signature: Signature,
}

impl Top2 {
    pub fn udaf(part: Part) -> AggregateUDF {
        AggregateUDF::from(Top2 {
            part,
            signature: Signature::exact(vec![DataType::Float64], Volatility::Immutable),
        })
    }
}

impl AggregateUDFImpl for Top2 {
    fn name(&self) -> &str {
        match self.part {
            Part::Total => "__yunshu_abs_total",
            Part::Top1 => "__yunshu_abs_top1",
            Part::Top2 => "__yunshu_abs_top2",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(Acc { part: self.part, total: 0.0, top1: 0.0, top2: 0.0 }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(["total", "top1", "top2"]
            .iter()
            .map(|n| Arc::new(Field::new(format!("{}[{n}]", args.name), DataType::Float64, true)))
            .collect())
    }
}

#[derive(Debug)]
struct Acc {
    part: Part,
    total: f64,
    top1: f64,
    top2: f64,
}

impl Acc {
    fn push(&mut self, a: f64) {
        if a > self.top1 {
            self.top2 = self.top1;
            self.top1 = a;
        } else if a > self.top2 {
            self.top2 = a;
        }
    }
}

fn floats(a: &ArrayRef) -> Result<&arrow::array::PrimitiveArray<Float64Type>> {
    a.as_primitive_opt::<Float64Type>()
        .ok_or_else(|| DataFusionError::Internal("top2 expects Float64".into()))
}

impl Accumulator for Acc {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let Some(v) = values.first() else { return Ok(()) };
        let v = floats(v)?;
        for i in 0..v.len() {
            if v.is_null(i) {
                continue;
            }
            let a = v.value(i).abs();
            self.total += a;
            self.push(a);
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Float64(Some(match self.part {
            Part::Total => self.total,
            Part::Top1 => self.top1,
            Part::Top2 => self.top2,
        })))
    }

    fn size(&self) -> usize {
        std::mem::size_of::<Self>()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![
            ScalarValue::Float64(Some(self.total)),
            ScalarValue::Float64(Some(self.top1)),
            ScalarValue::Float64(Some(self.top2)),
        ])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let [t, a, b] = states else { return Err(DataFusionError::Internal("top2 state".into())) };
        let (t, a, b) = (floats(t)?, floats(a)?, floats(b)?);
        for i in 0..t.len() {
            if !t.is_null(i) {
                self.total += t.value(i);
            }
            for x in [a, b] {
                if !x.is_null(i) {
                    self.push(x.value(i));
                }
            }
        }
        Ok(())
    }
}

/// The name of the hidden columns of aggregate `j` of gate `g`, without the part suffix.
pub fn base_name(gate: usize, j: usize) -> String {
    format!("{CONTRIB_PREFIX}{gate}_{j}_")
}

/// The contribution columns' base name for output column `i` of `plan`, when that column is a SUM/AVG
/// of a gate that carries contributions, passed through to the output unchanged.
pub fn trace(plan: &LogicalPlan, i: usize) -> Option<String> {
    match plan {
        LogicalPlan::Projection(p) => {
            let mut e = p.expr.get(i)?;
            while let datafusion::logical_expr::Expr::Alias(a) = e {
                e = a.expr.as_ref();
            }
            let datafusion::logical_expr::Expr::Column(c) = e else { return None };
            let j = p.input.schema().index_of_column(c).ok()?;
            trace(&p.input, j)
        }
        LogicalPlan::Filter(_)
        | LogicalPlan::Sort(_)
        | LogicalPlan::Limit(_)
        | LogicalPlan::SubqueryAlias(_) => trace(plan.inputs().first()?, i),
        LogicalPlan::Aggregate(a) => {
            let j = i.checked_sub(a.group_expr.len())?;
            let suffix = format!("_{j}_{}", Part::Total.suffix());
            a.aggr_expr.iter().find_map(|e| match e {
                datafusion::logical_expr::Expr::Alias(al)
                    if al.name.starts_with(CONTRIB_PREFIX) && al.name.ends_with(&suffix) =>
                {
                    al.name.strip_suffix(Part::Total.suffix()).map(str::to_owned)
                }
                _ => None,
            })
        }
        _ => None,
    }
}
