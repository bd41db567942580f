//! Differential privacy in query execution (sandbox.md layer 6): how an aggregation over a table
//! with a [`DpPolicy`] is computed, noised and released, and what it costs.
//!
//! # Shape
//!
//! A query may read one DP table, once, possibly joined to tables without personal data; it reaches
//! the output only through one aggregation (its gate, as for every protected table), grouped by any
//! dimension expressions the plan check allows. The aggregates it may compute there are
//! `COUNT(*)`, `COUNT(x)`, `COUNT(DISTINCT unit)` (the table's privacy unit, as a join key), and
//! `SUM(c)` / `AVG(c)` of a column `c` that has clamping bounds in the configuration. Anything else
//! is refused before it runs (`dp.shape`, `dp.unbounded_column`). Whatever the query does *above*
//! the aggregation (HAVING, ORDER BY, LIMIT, arithmetic, a further aggregation) only post-processes
//! released noisy values and costs nothing.
//!
//! # Mechanism
//!
//! 1. *Per-unit pre-aggregation* (DataFusion, on the same rewritten input the gate would read):
//!    rows whose unit is null are dropped (an outer join must not make up a unit); each value to be
//!    summed is clamped per row to its configured `[lower, upper]`; then rows are aggregated by the
//!    group keys and the unit, giving each unit's row count, non-null counts and clamped sums in each
//!    of its groups.
//! 2. *Contribution bounding* (trusted Rust, here): each unit's count in a group is capped at
//!    `m = max_rows_per_group` and its sum clamped to `[m·lower, m·upper]` and rounded to an integer;
//!    each unit keeps at most `G = max_groups` groups, chosen by a keyed hash of (unit, group) under a
//!    fresh random key, so the choice depends on that unit's own rows only.
//! 3. *Noise* from the discrete Laplace sampler of [`crate::dp`] (exact integer arithmetic, never
//!    SQL `random()`), with the L1 sensitivity of each whole column over all groups:
//!    distinct units `G`, counts `G·m`, sums `G·m·max(|lower|, |upper|)`.
//! 4. *Group selection on noisy counts*: each group's distinct-unit count gets noise of scale `G/ε`;
//!    the group is released only when that noisy count reaches `τ = max(threshold, k)` and its
//!    (contribution-bounded) distinct-unit count is at least k — k is the platform's floor for every
//!    protected table, so a group of fewer than k people is never shown, DP or not. Apart from that
//!    floor, the set of released groups depends on the data only through noisy values; the number of
//!    withheld groups is not reported (it would count the groups that exist). The noisy unit count
//!    also stands in for the exact one in the output checks.
//! 5. The released groups (sorted by key, so row order carries nothing) replace the aggregation in
//!    the plan and the rest of the query runs on them.
//!
//! # Accounting
//!
//! Each released aggregate column is one ε-DP measurement (ε = the policy's `epsilon`), and so is the
//! noisy unit count that selects the groups; `COUNT(DISTINCT unit)` reuses that count at no cost; an
//! `AVG` is one aggregate whose ε is split in halves between its noisy sum and its noisy count.
//! Measurements compose sequentially: a query costs `ε × (1 + aggregates)`, known from the checked
//! plan before anything runs ([`crate::Sandbox::dp_cost`]). Selecting groups by a noisy threshold
//! adds a δ: a group that one unit alone makes up is released with probability at most
//! `e^{−a(τ−2)}/(e^a+1)`, `a = ε/G`, for each of its ≤ G groups ([`DpPolicy::selection_delta`]).
//! The ε is spent once the pre-aggregation has run, whether or not any group is released.

use std::collections::HashMap;
use std::hash::Hasher;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Float64Type, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use arrow::row::{OwnedRow, RowConverter, SortField};
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, DFSchemaRef};
use datafusion::datasource::{MemTable, provider_as_source, source_as_provider};
use datafusion::functions_aggregate::expr_fn::{count, sum};
use datafusion::logical_expr::expr::{AggregateFunction, Alias};
use datafusion::logical_expr::{
    Aggregate, Expr, Filter, LogicalPlan, LogicalPlanBuilder, Projection, lit, when,
};

use crate::check::GATE_PREFIX;
use crate::dp::{DpConfig, DpError, Epsilon, Rng, noisy_count, noisy_sum};
use crate::policy::{DpBounds, DpPolicy, MIN_K, SandboxError};
use crate::table::PolicyTable;

/// Names of the columns and tables this module adds to plans (reserved: a query cannot name them).
const PREFIX: &str = "__yunshu_dp";

/// The name the released groups are scanned under in the rewritten plan.
pub(crate) const RELEASED_TABLE: &str = "__yunshu_dp_released";

/// One aggregate of the gate, as DP computes it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Measure {
    /// COUNT(*), COUNT(x): partial `p` is the unit's (non-null) row count in the group.
    Count { p: usize },
    /// COUNT(DISTINCT unit): the selection's noisy unit count.
    Units,
    /// SUM(c): partial `p` is the unit's clamped sum.
    Sum { p: usize, bounds: DpBounds },
    /// AVG(c): partial `p` the clamped sum, `q` the non-null count.
    Avg { p: usize, q: usize, bounds: DpBounds },
}

/// What a partial (a column of the pre-aggregation after the group keys and the unit) holds.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Partial {
    Count,
    Sum(DpBounds),
}

/// What fills one output column of the gate aggregation after its group keys.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Out {
    Measure(Measure),
    /// The gate's unit count (the threshold column the engine strips).
    Gate,
}

/// A DP query, analysed from the checked plan before anything runs.
#[derive(Debug)]
pub(crate) struct DpQuery {
    policy: DpPolicy,
    tau: i64,
    /// The table's k: a floor on the group's (contribution-bounded) distinct units, applied besides
    /// the noisy threshold so no released group has fewer than k units, DP or not.
    k_floor: i64,
    /// The gate aggregation's output schema: what the released table must look like.
    agg_schema: DFSchemaRef,
    groups: usize,
    outputs: Vec<Out>,
    partials: Vec<Partial>,
    /// The per-unit pre-aggregation: group keys, the unit, then the partials.
    pub(crate) pre: LogicalPlan,
    /// ε the query spends.
    pub(crate) cost: Epsilon,
}

fn shape(msg: impl Into<String>) -> SandboxError {
    SandboxError::DpShape(msg.into())
}

fn internal(e: impl std::fmt::Display) -> SandboxError {
    SandboxError::Internal(e.to_string())
}

fn dp_err(e: DpError) -> SandboxError {
    SandboxError::Dp(e)
}

/// The DP policy and k of a scan that reads a DP table.
fn dp_policy_of(plan: &LogicalPlan) -> Option<(DpPolicy, u32)> {
    let LogicalPlan::TableScan(ts) = plan else { return None };
    let provider = source_as_provider(&ts.source).ok()?;
    let any: &dyn std::any::Any = provider.as_ref();
    let table = any.downcast_ref::<PolicyTable>()?;
    let policy = table.policy();
    policy.dp.clone().map(|dp| (dp, policy.effective_k()))
}

/// A scan of a protected table without DP.
fn protected_plain_scan(plan: &LogicalPlan) -> bool {
    let LogicalPlan::TableScan(ts) = plan else { return false };
    let Ok(provider) = source_as_provider(&ts.source) else { return false };
    let any: &dyn std::any::Any = provider.as_ref();
    any.downcast_ref::<PolicyTable>().is_some_and(|t| t.policy().is_protected() && !t.policy().is_dp())
}

/// Whether `pred` holds for a scan reachable from `plan` without passing an aggregation.
fn below_without_aggregate(plan: &LogicalPlan, pred: &dyn Fn(&LogicalPlan) -> bool) -> bool {
    if pred(plan) {
        return true;
    }
    if matches!(plan, LogicalPlan::Aggregate(_)) {
        return false;
    }
    plan.inputs().into_iter().any(|c| below_without_aggregate(c, pred))
}

fn is_dp_scan(plan: &LogicalPlan) -> bool {
    dp_policy_of(plan).is_some()
}

/// The gate of the DP table: the aggregation right above its scan.
fn find_gate(plan: &LogicalPlan) -> Option<&Aggregate> {
    if let LogicalPlan::Aggregate(a) = plan
        && below_without_aggregate(&a.input, &is_dp_scan)
    {
        return Some(a);
    }
    plan.inputs().into_iter().find_map(find_gate)
}

/// Analyses a checked plan: `None` when no DP table is read, else the DP computation of its gate.
pub(crate) fn analyse(plan: &LogicalPlan) -> Result<Option<DpQuery>, SandboxError> {
    let mut scans = Vec::new();
    plan.apply(|p| {
        if let Some(x) = dp_policy_of(p) {
            scans.push(x);
        }
        Ok(TreeNodeRecursion::Continue)
    })
    .map_err(internal)?;
    let Some((policy, k)) = scans.first().cloned() else { return Ok(None) };
    if scans.len() > 1 {
        return Err(shape("一次查询只能读取一个启用差分隐私的数据集，且只能读取一次（不能自连接）"));
    }
    policy.validate().map_err(dp_err)?;
    let a = find_gate(plan).ok_or_else(|| internal("dp table without its aggregation"))?;
    if below_without_aggregate(&a.input, &protected_plain_scan) {
        return Err(shape("启用差分隐私的数据集不能与其他含个人信息的数据集在同一聚合中关联"));
    }
    let n_groups = a.group_expr.len();

    // The gate's unit count: exactly one, counting the unit column.
    let mut unit: Option<Column> = None;
    for e in &a.aggr_expr {
        let Expr::Alias(Alias { expr, name, .. }) = e else { continue };
        if !name.starts_with(GATE_PREFIX) {
            continue;
        }
        let col = match expr.as_ref() {
            Expr::AggregateFunction(AggregateFunction { func, params })
                if func.name().eq_ignore_ascii_case("count") && params.args.len() == 1 =>
            {
                match &params.args[0] {
                    Expr::Column(c) => Some(c.clone()),
                    _ => None,
                }
            }
            _ => None,
        };
        match (col, &unit) {
            (Some(c), None) => unit = Some(c),
            _ => return Err(shape("启用差分隐私的聚合不能再关联其他聚合结果")),
        }
    }
    let unit = unit.ok_or_else(|| internal("dp gate without a unit count"))?;

    // The query's aggregates.
    let mut outputs = Vec::with_capacity(a.aggr_expr.len());
    let mut partials: Vec<Partial> = Vec::new();
    let mut partial_exprs: Vec<Expr> = Vec::new();
    let mut measured = 0u64;
    let col = |name: String| Expr::Column(Column::new_unqualified(name));
    for e in &a.aggr_expr {
        let (inner, alias) = match e {
            Expr::Alias(Alias { expr, name, .. }) => (expr.as_ref(), Some(name.as_str())),
            other => (other, None),
        };
        if alias.is_some_and(|n| n.starts_with(GATE_PREFIX)) {
            outputs.push(Out::Gate);
            continue;
        }
        let Expr::AggregateFunction(AggregateFunction { func, params }) = inner else {
            return Err(shape("聚合表达式不符合要求"));
        };
        let name = func.name().to_ascii_lowercase();
        if params.filter.is_some() || !params.order_by.is_empty() {
            return Err(shape("聚合函数不能带 FILTER 或 ORDER BY"));
        }
        let [arg] = params.args.as_slice() else {
            return Err(shape(format!("不支持聚合函数 {}", name.to_uppercase())));
        };
        let measure = match name.as_str() {
            "count" if params.distinct => {
                if matches!(arg, Expr::Column(c) if *c == unit) {
                    Measure::Units
                } else {
                    return Err(shape("COUNT(DISTINCT …) 只能统计隐私主体（如 COUNT(DISTINCT person_id)）"));
                }
            }
            "count" => {
                let p = partials.len();
                partials.push(Partial::Count);
                let counted = match arg {
                    Expr::Literal(v, _) if !v.is_null() => lit(1i64),
                    other => other.clone(),
                };
                partial_exprs.push(count(counted));
                Measure::Count { p }
            }
            "sum" | "avg" if !params.distinct => {
                let bounds = bounded(arg, &policy)?;
                let clamped = clamp(arg.clone(), bounds)?;
                let p = partials.len();
                partials.push(Partial::Sum(bounds));
                partial_exprs.push(sum(clamped.clone()));
                if name == "sum" {
                    Measure::Sum { p, bounds }
                } else {
                    let q = partials.len();
                    partials.push(Partial::Count);
                    partial_exprs.push(count(clamped));
                    Measure::Avg { p, q, bounds }
                }
            }
            _ => {
                return Err(shape(format!(
                    "只支持 COUNT(*)、COUNT(字段)、COUNT(DISTINCT 隐私主体)、SUM、AVG，不支持 {}{}",
                    name.to_uppercase(),
                    if params.distinct { "(DISTINCT …)" } else { "" }
                )));
            }
        };
        if measure != Measure::Units {
            measured += 1;
        }
        outputs.push(Out::Measure(measure));
    }
    let cost = policy.epsilon.checked_mul(measured + 1).map_err(|e| dp_err(e.into()))?;

    // The pre-aggregation: input → drop rows without a unit → keys, unit, partial arguments →
    // aggregate by keys and unit.
    let filtered = LogicalPlan::Filter(
        Filter::try_new(Expr::Column(unit.clone()).is_not_null(), a.input.clone()).map_err(internal)?,
    );
    let mut proj = Vec::new();
    for (i, g) in a.group_expr.iter().enumerate() {
        proj.push(g.clone().alias(format!("{PREFIX}_g{i}")));
    }
    proj.push(Expr::Column(unit).alias(format!("{PREFIX}_u")));
    // Each partial aggregate's argument is projected (rewritten to a column) so the aggregation
    // only groups and counts.
    let mut aggs = Vec::new();
    for (j, e) in partial_exprs.into_iter().enumerate() {
        let Expr::AggregateFunction(AggregateFunction { func, params }) = e else {
            return Err(internal("partial is not an aggregate"));
        };
        let arg_name = format!("{PREFIX}_a{j}");
        proj.push(params.args.into_iter().next().unwrap_or_else(|| lit(1i64)).alias(&arg_name));
        let f = Expr::AggregateFunction(AggregateFunction::new_udf(
            func,
            vec![col(arg_name)],
            false,
            None,
            vec![],
            None,
        ));
        aggs.push(f.alias(format!("{PREFIX}_p{j}")));
    }
    let projected = LogicalPlan::Projection(Projection::try_new(proj, Arc::new(filtered)).map_err(internal)?);
    let mut keys: Vec<Expr> = (0..n_groups).map(|i| col(format!("{PREFIX}_g{i}"))).collect();
    keys.push(col(format!("{PREFIX}_u")));
    let pre = LogicalPlan::Aggregate(Aggregate::try_new(Arc::new(projected), keys, aggs).map_err(internal)?);
    let tau = i64::from(policy.tau(k));
    Ok(Some(DpQuery {
        policy,
        tau,
        k_floor: i64::from(k.max(MIN_K)),
        agg_schema: a.schema.clone(),
        groups: n_groups,
        outputs,
        partials,
        pre,
        cost,
    }))
}

/// The configured bounds of a SUM/AVG argument: a column, possibly cast by type coercion.
fn bounded(arg: &Expr, policy: &DpPolicy) -> Result<DpBounds, SandboxError> {
    let column = match arg {
        Expr::Column(c) => c,
        Expr::Cast(c) => match c.expr.as_ref() {
            Expr::Column(c) => c,
            _ => return Err(shape("SUM/AVG 的参数只能是配置了取值范围的字段本身")),
        },
        Expr::TryCast(c) => match c.expr.as_ref() {
            Expr::Column(c) => c,
            _ => return Err(shape("SUM/AVG 的参数只能是配置了取值范围的字段本身")),
        },
        _ => return Err(shape("SUM/AVG 的参数只能是配置了取值范围的字段本身")),
    };
    // Bounds are looked up by name: whatever value arrives under that name is clamped to them, so a
    // renamed expression gains nothing.
    let bounds = policy
        .bounds
        .get(&column.name)
        .copied()
        .ok_or_else(|| SandboxError::DpUnboundedColumn(column.name.clone()))?;
    Ok(bounds)
}

/// `arg` as a double, clamped to the bounds per row (null stays null).
fn clamp(arg: Expr, b: DpBounds) -> Result<Expr, SandboxError> {
    let v = datafusion::logical_expr::cast(arg, DataType::Float64);
    let (lo, hi) = (b.lower as f64, b.upper as f64);
    when(v.clone().lt(lit(lo)), lit(lo)).when(v.clone().gt(lit(hi)), lit(hi)).otherwise(v).map_err(internal)
}

/// Replaces the DP gate aggregation of `plan` with `released` (same output schema).
pub(crate) fn substitute(plan: LogicalPlan, released: &LogicalPlan) -> Result<LogicalPlan, SandboxError> {
    fn go(plan: LogicalPlan, released: &LogicalPlan) -> datafusion::common::Result<Transformed<LogicalPlan>> {
        if let LogicalPlan::Aggregate(a) = &plan
            && below_without_aggregate(&a.input, &is_dp_scan)
        {
            return Ok(Transformed::yes(released.clone()));
        }
        plan.map_children(|c| go(c, released))
    }
    let out = go(plan, released).map_err(internal)?;
    if !out.transformed {
        return Err(internal("dp gate not replaced"));
    }
    Ok(out.data)
}

/// A unit's partial in one group, bounded: its count to `m` rows, its (per-row clamped) sum to `m`
/// rows' worth of the bounds, rounded to an integer for the discrete noise.
fn bound(m: i64, p: Partial, v: f64) -> i64 {
    match p {
        Partial::Count => (v.max(0.0) as i64).min(m),
        Partial::Sum(b) => {
            let lo = b.lower.saturating_mul(m) as f64;
            let hi = b.upper.saturating_mul(m) as f64;
            let v = if v.is_nan() { 0.0 } else { v };
            v.clamp(lo, hi).round() as i64
        }
    }
}

/// Each unit's bounded contributions, gathered from the pre-aggregation's batches.
pub(crate) struct Gatherer<'q> {
    q: &'q DpQuery,
    m: i64,
    key_converter: Option<RowConverter>,
    unit_converter: RowConverter,
    groups: HashMap<Box<[u8]>, u32>,
    group_keys: Vec<Option<OwnedRow>>,
    units: HashMap<Box<[u8]>, u32>,
    /// (unit, group, keyed hash) per pre-aggregated row.
    rows: Vec<(u32, u32, u64)>,
    /// The bounded partials of each row, flat.
    values: Vec<i64>,
    hash_key: (u64, u64),
    bytes: usize,
    max_bytes: usize,
}

impl DpQuery {
    /// A gatherer for this query's pre-aggregated rows; the keyed hash that picks each unit's groups
    /// is drawn from `rng`.
    pub(crate) fn gatherer(&self, rng: &mut dyn Rng, max_bytes: usize) -> Result<Gatherer<'_>, SandboxError> {
        let schema = self.pre.schema();
        let sort = |i: usize| SortField::new(schema.field(i).data_type().clone());
        let key_converter = if self.groups == 0 {
            None
        } else {
            Some(RowConverter::new((0..self.groups).map(sort).collect()).map_err(internal)?)
        };
        let unit_converter = RowConverter::new(vec![sort(self.groups)]).map_err(internal)?;
        let hash_key = (rng.next_u64().map_err(dp_err)?, rng.next_u64().map_err(dp_err)?);
        Ok(Gatherer {
            q: self,
            m: i64::from(self.policy.max_rows_per_group),
            key_converter,
            unit_converter,
            groups: HashMap::new(),
            group_keys: Vec::new(),
            units: HashMap::new(),
            rows: Vec::new(),
            values: Vec::new(),
            hash_key,
            bytes: 0,
            max_bytes,
        })
    }
}

impl Gatherer<'_> {
    /// Takes one batch of the pre-aggregation (keys, unit, partials).
    pub(crate) fn add(&mut self, b: &RecordBatch) -> Result<(), SandboxError> {
        let n = b.num_rows();
        if n == 0 {
            return Ok(());
        }
        let g = self.q.groups;
        let keys = match &self.key_converter {
            Some(c) => Some(c.convert_columns(&b.columns()[..g]).map_err(internal)?),
            None => None,
        };
        let units = self.unit_converter.convert_columns(&b.columns()[g..=g]).map_err(internal)?;
        let mut partials = Vec::with_capacity(self.q.partials.len());
        for j in 0..self.q.partials.len() {
            let c = cast(b.column(g + 1 + j), &DataType::Float64).map_err(internal)?;
            partials.push(c);
        }
        let q = self.q;
        for r in 0..n {
            let gid = match &keys {
                Some(k) => {
                    let row = k.row(r);
                    if let Some(id) = self.groups.get(row.as_ref()).copied() {
                        id
                    } else {
                        let id = u32::try_from(self.group_keys.len()).map_err(|_| SandboxError::Memory)?;
                        self.bytes += 2 * row.as_ref().len() + 64;
                        self.groups.insert(row.as_ref().into(), id);
                        self.group_keys.push(Some(row.owned()));
                        id
                    }
                }
                None => {
                    if self.group_keys.is_empty() {
                        self.group_keys.push(None);
                    }
                    0
                }
            };
            let urow = units.row(r);
            let uid = if let Some(id) = self.units.get(urow.as_ref()).copied() {
                id
            } else {
                let id = u32::try_from(self.units.len()).map_err(|_| SandboxError::Memory)?;
                self.bytes += urow.as_ref().len() + 48;
                self.units.insert(urow.as_ref().into(), id);
                id
            };
            let mut h = siphasher::sip::SipHasher13::new_with_keys(self.hash_key.0, self.hash_key.1);
            h.write(urow.as_ref());
            if let Some(k) = &keys {
                h.write(k.row(r).as_ref());
            }
            self.rows.push((uid, gid, h.finish()));
            for (j, p) in q.partials.iter().enumerate() {
                let c = partials[j].as_primitive::<Float64Type>();
                let v = if c.is_null(r) { 0.0 } else { c.value(r) };
                self.values.push(bound(self.m, *p, v));
            }
            self.bytes += 16 + 8 * q.partials.len();
        }
        if self.bytes > self.max_bytes {
            return Err(SandboxError::Memory);
        }
        Ok(())
    }

    /// Limits groups per unit, adds the noise, selects groups on their noisy unit counts and returns
    /// the released rows as a plan with the gate aggregation's output schema.
    pub(crate) fn release(self, rng: &mut dyn Rng) -> Result<LogicalPlan, SandboxError> {
        let q = self.q;
        let policy = &q.policy;
        let width = q.partials.len();
        let max_groups = usize::try_from(policy.max_groups).unwrap_or(usize::MAX);
        // Each unit keeps its `max_groups` groups of smallest keyed hash.
        let mut order: Vec<usize> = (0..self.rows.len()).collect();
        order.sort_unstable_by_key(|i| (self.rows[*i].0, self.rows[*i].2));
        let n_groups = self.group_keys.len();
        let mut units = vec![0i64; n_groups];
        let mut acc = vec![0i128; n_groups * width];
        let mut current: Option<u32> = None;
        let mut taken = 0usize;
        for i in order {
            let (uid, gid, _) = self.rows[i];
            if current != Some(uid) {
                current = Some(uid);
                taken = 0;
            }
            if taken >= max_groups {
                continue;
            }
            taken += 1;
            let gid = gid as usize;
            units[gid] += 1;
            for j in 0..width {
                acc[gid * width + j] += i128::from(self.values[i * width + j]);
            }
        }

        // Noise and selection, in key order.
        let eps = policy.epsilon;
        let g = u64::from(policy.max_groups);
        let gm =
            u32::try_from(g * u64::from(policy.max_rows_per_group)).map_err(|_| dp_err(DpError::Overflow))?;
        let unit_config = DpConfig { clamp_lower: 0, clamp_upper: 1, max_contributions: policy.max_groups };
        let count_config = DpConfig { clamp_lower: 0, clamp_upper: 1, max_contributions: gm };
        let sum_config =
            |b: DpBounds| DpConfig { clamp_lower: b.lower, clamp_upper: b.upper, max_contributions: gm };
        let half = eps.checked_div(2).map_err(|e| dp_err(e.into()))?;
        let saturate = |x: i128| x.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
        let mut gids: Vec<usize> = (0..n_groups).collect();
        gids.sort_by(|a, b| self.group_keys[*a].cmp(&self.group_keys[*b]));
        let n_out = q.outputs.len();
        let mut released_keys: Vec<usize> = Vec::new();
        let mut cols_i: Vec<Vec<i64>> = vec![Vec::new(); n_out];
        let mut cols_f: Vec<Vec<f64>> = vec![Vec::new(); n_out];
        for gid in gids {
            let noisy_units = noisy_count(units[gid], eps, &unit_config, rng).map_err(dp_err)?;
            // Released when the noisy count reaches τ AND the group really has k units: k is the
            // platform's floor for every protected table; DP adds noise on top of it. (The floor
            // makes which groups appear depend on exact counts, as without DP; the values stay noisy.)
            if noisy_units < q.tau || units[gid] < q.k_floor {
                continue;
            }
            released_keys.push(gid);
            let a = |j: usize| saturate(acc[gid * width + j]);
            for (o, out) in q.outputs.iter().enumerate() {
                match out {
                    Out::Gate | Out::Measure(Measure::Units) => cols_i[o].push(noisy_units.max(0)),
                    Out::Measure(Measure::Count { p }) => {
                        cols_i[o].push(noisy_count(a(*p), eps, &count_config, rng).map_err(dp_err)?.max(0))
                    }
                    Out::Measure(Measure::Sum { p, bounds }) => {
                        cols_i[o].push(noisy_sum(a(*p), eps, &sum_config(*bounds), rng).map_err(dp_err)?)
                    }
                    Out::Measure(Measure::Avg { p, q: c, bounds }) => {
                        let s = noisy_sum(a(*p), half, &sum_config(*bounds), rng).map_err(dp_err)?;
                        let n = noisy_count(a(*c), half, &count_config, rng).map_err(dp_err)?;
                        // Post-processing: a mean of bounded values lies within the bounds.
                        let mean = s as f64 / n.max(1) as f64;
                        cols_f[o].push(mean.clamp(bounds.lower as f64, bounds.upper as f64));
                    }
                }
            }
        }

        // The released table: group keys, then each aggregate, typed as the aggregation's output.
        let target = q.agg_schema.as_arrow();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(q.groups + n_out);
        if let Some(conv) = &self.key_converter {
            let rows: Vec<&OwnedRow> =
                released_keys.iter().filter_map(|gid| self.group_keys[*gid].as_ref()).collect();
            let keys = conv.convert_rows(rows.iter().map(|r| r.row())).map_err(internal)?;
            for (i, k) in keys.into_iter().enumerate() {
                columns.push(cast(&k, target.field(i).data_type()).map_err(internal)?);
            }
        }
        for (o, out) in q.outputs.iter().enumerate() {
            let field = target.field(q.groups + o);
            let array: ArrayRef = match out {
                Out::Measure(Measure::Avg { .. }) => {
                    Arc::new(Float64Array::from(std::mem::take(&mut cols_f[o])))
                }
                _ => Arc::new(Int64Array::from(std::mem::take(&mut cols_i[o]))),
            };
            columns.push(cast(&array, field.data_type()).map_err(internal)?);
        }
        let fields: Vec<Field> = target
            .fields()
            .iter()
            .enumerate()
            .map(|(i, f)| Field::new(format!("c{i}"), f.data_type().clone(), f.is_nullable()))
            .collect();
        let schema: SchemaRef = Arc::new(Schema::new(fields));
        let batch = RecordBatch::try_new(schema.clone(), columns).map_err(internal)?;
        let table = MemTable::try_new(schema, vec![vec![batch]]).map_err(internal)?;
        let scan = LogicalPlanBuilder::scan(RELEASED_TABLE, provider_as_source(Arc::new(table)), None)
            .and_then(|b| b.build())
            .map_err(internal)?;
        let exprs: Vec<Expr> = (0..q.agg_schema.fields().len())
            .map(|i| {
                let (qualifier, f) = q.agg_schema.qualified_field(i);
                Expr::Column(Column::new(Some(RELEASED_TABLE), format!("c{i}")))
                    .alias_qualified(qualifier.cloned(), f.name())
            })
            .collect();
        let plan = LogicalPlan::Projection(Projection::try_new(exprs, Arc::new(scan)).map_err(internal)?);
        Ok(plan)
    }
}
