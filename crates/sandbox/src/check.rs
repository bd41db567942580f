//! The plan check and rewrite (sandbox.md layers 2 and 3), on DataFusion's analysed logical plan — the
//! plan, not the text, so aliases, subqueries-as-tables and implicit joins are all seen for what they are.
//!
//! One bottom-up pass computes, for every column of every node, its *lineage*: the granted source fields
//! it is computed from, with their usage classes. With it the pass
//!
//! - refuses what a usage class does not allow (a join key outside an equi-join, an aggregate-only field in
//!   a predicate or a group key, a range or LIKE on a sensitive field, non-linear arithmetic on protected
//!   values, value-returning aggregates such as MIN/MAX/MEDIAN on them, windows over raw rows, subquery
//!   expressions, DISTINCT, UNION, EXPLAIN, statements);
//! - requires every scan of a protected table to reach the output only through an aggregation (its
//!   *gate*); for a table with differential privacy it adds to that aggregation one count of distinct
//!   privacy units per unit class (`__yunshu_k{gate}_{i}`) and carries them up to the output, so the
//!   executor can apply the threshold right above the aggregation and [`crate::dp_query`] can find it;
//! - for a gate without differential privacy, adds instead one hidden aggregate of per-unit
//!   contributions ([`crate::gate`]) and puts a [`GateNode`] above the aggregation, which applies the
//!   threshold to every value after its own narrowing (`FILTER`, `CASE`, nulls), dominance and p%,
//!   and complementary suppression.
//!
//! Comparisons with constants of *derived* values (outputs of an earlier aggregation) are free: those rows
//! already passed a gate.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use datafusion::common::tree_node::TreeNode;
use datafusion::common::{Column, DFSchema};
use datafusion::datasource::source_as_provider;
use datafusion::functions_aggregate::expr_fn::{count_distinct, min};
use datafusion::logical_expr::expr::{AggregateFunction, Alias};
use datafusion::logical_expr::{
    Aggregate, BinaryExpr, Expr, ExprSchemable, Extension, JoinType, LogicalPlan, Operator, Projection, lit,
};
use yunshu_domain::catalog::UsageClass;

use crate::gate::{self, ClassSpec, GateLog, GateNode, GateSpec, GateUdaf, Rules, ValueKind, ValueSpec};
use crate::policy::{RESERVED_PREFIX, SandboxError, UNIT_COLUMN};
use crate::table::PolicyTable;

/// What a source field may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Open,
    Dimension,
    Aggregate,
    JoinKey,
    /// The privacy-unit carrier: pass-through only.
    Unit,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Src {
    scan: usize,
    column: Arc<str>,
    kind: Kind,
    sensitive: bool,
}

type Srcs = BTreeSet<Src>;

fn has(s: &Srcs, kinds: &[Kind]) -> bool {
    s.iter().any(|x| kinds.contains(&x.kind))
}

fn sensitive(s: &Srcs) -> Option<&Src> {
    s.iter().find(|x| x.sensitive)
}

fn protected(s: &Srcs) -> bool {
    s.iter().any(|x| x.kind != Kind::Open)
}

fn names(s: &Srcs) -> String {
    let mut v: Vec<&str> = s.iter().map(|x| x.column.as_ref()).collect();
    v.dedup();
    v.join("、")
}

/// A protected scan waiting for its gate.
#[derive(Debug, Clone)]
struct Pending {
    table: String,
    /// The dataset's privacy-unit field (its join-key column, when granted, carries the same pseudonyms).
    unit: String,
    k: u32,
    /// Under differential privacy ([`crate::dp_query`] computes the gate).
    dp: bool,
}

struct Node {
    cols: Vec<Srcs>,
    pending: BTreeMap<usize, Pending>,
    /// A join below, since the last aggregation: rows of a table may repeat.
    joined: bool,
    /// Protected scans inner-joined on their privacy units: every row carries the same unit for all of
    /// them, so one distinct count serves the class.
    same_unit: Vec<(usize, usize)>,
}

/// One gate: the unit-count columns an aggregation carries and the threshold of each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gate {
    pub columns: Vec<GateColumn>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateColumn {
    pub name: String,
    pub table: String,
    pub k: u32,
}

/// The checked and rewritten plan.
#[derive(Debug)]
pub struct Checked {
    pub plan: LogicalPlan,
    pub gates: Vec<Gate>,
    /// Granted tables the query reads.
    pub tables: BTreeSet<String>,
}

pub const GATE_PREFIX: &str = "__yunshu_k";

const BLENDING: &[&str] =
    &["count", "sum", "avg", "var", "var_pop", "stddev", "stddev_pop", "covar_samp", "covar_pop", "corr"];

/// Functions that generalise a value without a free parameter (a year, a month, a prefix).
const GENERALISING: &[&str] = &[
    "date_part",
    "date_trunc",
    "substr",
    "left",
    "upper",
    "lower",
    "btrim",
    "ltrim",
    "rtrim",
    "character_length",
    "coalesce",
];

const MAX_IN_LIST_SENSITIVE: usize = 20;

/// Checks the analysed plan of a developer's query and rewrites it for execution with thresholds.
/// `log` receives what the per-value gates do when the plan runs.
pub fn check(plan: &LogicalPlan, log: &Arc<GateLog>) -> Result<Checked, SandboxError> {
    let mut c = Checker {
        next_scan: 0,
        gates: Vec::new(),
        next_value_gate: 0,
        tables: BTreeSet::new(),
        log: log.clone(),
    };
    let (plan, node) = c.go(plan)?;
    if !node.pending.is_empty() {
        return Err(SandboxError::policy(
            "受保护的数据只能以聚合结果输出：请使用 GROUP BY 与 COUNT/SUM/AVG 等聚合函数",
        ));
    }
    for (f, s) in plan.schema().fields().iter().zip(&node.cols) {
        if f.name().starts_with(GATE_PREFIX) {
            continue;
        }
        if protected(s) {
            return Err(SandboxError::policy(format!(
                "输出列“{}”直接含有受保护字段（{}），只能输出开放字段或聚合结果",
                f.name(),
                names(s)
            )));
        }
    }
    Ok(Checked { plan, gates: c.gates, tables: c.tables })
}

struct Checker {
    next_scan: usize,
    /// Count gates (differential privacy).
    gates: Vec<Gate>,
    next_value_gate: usize,
    tables: BTreeSet<String>,
    log: Arc<GateLog>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A projection below a gate (values flowing to the aggregation).
    Value,
    /// WHERE, JOIN … ON filters, FILTER (WHERE …) of an aggregate.
    Predicate,
    Group,
    AggArg,
}

impl Checker {
    fn go(&mut self, plan: &LogicalPlan) -> Result<(LogicalPlan, Node), SandboxError> {
        match plan {
            LogicalPlan::TableScan(ts) => {
                let provider = source_as_provider(&ts.source).map_err(internal)?;
                let any: &dyn std::any::Any = provider.as_ref();
                let Some(table) = any.downcast_ref::<PolicyTable>() else {
                    return Err(SandboxError::policy(format!(
                        "只能查询本项目已授权的数据集，不能读取“{}”",
                        ts.table_name
                    )));
                };
                if !ts.filters.is_empty() || ts.fetch.is_some() {
                    return Err(SandboxError::Internal("scan with pushed filters before check".into()));
                }
                let policy = table.policy();
                self.tables.insert(policy.name.clone());
                let scan = self.next_scan;
                self.next_scan += 1;
                let mut cols = Vec::new();
                for f in ts.projected_schema.fields() {
                    let (kind, sens) = if f.name() == UNIT_COLUMN {
                        (Kind::Unit, false)
                    } else {
                        let cp = policy.column(f.name()).ok_or_else(|| {
                            SandboxError::Internal(format!("column {} without policy", f.name()))
                        })?;
                        let kind = match cp.class {
                            UsageClass::Open => Kind::Open,
                            UsageClass::Dimension => Kind::Dimension,
                            UsageClass::Aggregate => Kind::Aggregate,
                            UsageClass::JoinKey => Kind::JoinKey,
                            UsageClass::Hidden => {
                                return Err(SandboxError::Internal("hidden column exposed".into()));
                            }
                        };
                        (kind, cp.sensitive)
                    };
                    cols.push(BTreeSet::from([Src {
                        scan,
                        column: f.name().as_str().into(),
                        kind,
                        sensitive: sens,
                    }]));
                }
                let mut pending = BTreeMap::new();
                if policy.is_protected() {
                    pending.insert(
                        scan,
                        Pending {
                            table: policy.name.clone(),
                            unit: policy.unit.clone().unwrap_or_default(),
                            k: policy.effective_k(),
                            dp: policy.is_dp(),
                        },
                    );
                }
                Ok((plan.clone(), Node { cols, pending, joined: false, same_unit: Vec::new() }))
            }
            LogicalPlan::Projection(p) => {
                let (input, n) = self.go(&p.input)?;
                let schema = input.schema().clone();
                let mut exprs = Vec::with_capacity(p.expr.len());
                let mut cols = Vec::with_capacity(p.expr.len());
                for e in &p.expr {
                    reserved(e)?;
                    let s = if bare_column(e).is_some() {
                        self.expr(e, &n, &schema, Mode::Value, true)?
                    } else {
                        self.expr(e, &n, &schema, Mode::Value, false)?
                    };
                    exprs.push(e.clone());
                    cols.push(s);
                }
                // Carry each pending table's unit and every gate count through the projection.
                for (i, s) in n.cols.iter().enumerate() {
                    let carries = s.len() == 1 && s.iter().all(|x| x.kind == Kind::Unit);
                    let field = schema.field(i);
                    let gate = field.name().starts_with(GATE_PREFIX);
                    if !carries && !gate {
                        continue;
                    }
                    let col = Column::from(schema.qualified_field(i));
                    let present = exprs.iter().any(|e| bare_column(e) == Some(&col));
                    if present {
                        continue;
                    }
                    let e = Expr::Column(col);
                    if carries {
                        let scan = s.iter().map(|x| x.scan).next().unwrap_or_default();
                        exprs.push(e.alias(format!("{UNIT_COLUMN}_{scan}")));
                    } else {
                        exprs.push(e);
                    }
                    cols.push(s.clone());
                }
                let plan = LogicalPlan::Projection(Projection::try_new(exprs, Arc::new(input)).map_err(sql)?);
                Ok((plan, Node { cols, pending: n.pending, joined: n.joined, same_unit: n.same_unit }))
            }
            LogicalPlan::Filter(f) => {
                let (input, mut n) = self.go(&f.input)?;
                reserved(&f.predicate)?;
                self.expr(&f.predicate, &n, input.schema(), Mode::Predicate, false)?;
                let pairs = self.unit_equalities(&f.predicate, &n, input.schema())?;
                n.same_unit.extend(pairs);
                let plan = plan.with_new_exprs(plan.expressions(), vec![input]).map_err(sql)?;
                Ok((plan, n))
            }
            LogicalPlan::Join(j) => {
                if !matches!(j.join_type, JoinType::Inner | JoinType::Left | JoinType::Right | JoinType::Full)
                {
                    return Err(SandboxError::policy("只支持内连接和外连接（INNER/LEFT/RIGHT/FULL JOIN）"));
                }
                let (left, nl) = self.go(&j.left)?;
                let (right, nr) = self.go(&j.right)?;
                let mut same_unit = nl.same_unit.clone();
                same_unit.extend(nr.same_unit.iter().copied());
                for (l, r) in &j.on {
                    reserved(l)?;
                    reserved(r)?;
                    let ls = self.expr(l, &nl, left.schema(), Mode::Value, bare_column(l).is_some())?;
                    let rs = self.expr(r, &nr, right.schema(), Mode::Value, bare_column(r).is_some())?;
                    join_pair(l, &ls, r, &rs)?;
                    if j.join_type == JoinType::Inner
                        && let (Some(a), Some(b)) = (unit_of(&ls, &nl.pending), unit_of(&rs, &nr.pending))
                    {
                        same_unit.push((a, b));
                    }
                }
                let mut cols = nl.cols;
                cols.extend(nr.cols);
                let mut pending = nl.pending;
                pending.extend(nr.pending);
                let mut node = Node { cols, pending, joined: true, same_unit };
                let plan = plan.with_new_exprs(plan.expressions(), vec![left, right]).map_err(sql)?;
                if let Some(f) = &j.filter {
                    reserved(f)?;
                    self.expr(f, &node, plan.schema(), Mode::Predicate, false)?;
                    if j.join_type == JoinType::Inner {
                        let pairs = self.unit_equalities(f, &node, plan.schema())?;
                        node.same_unit.extend(pairs);
                    }
                }
                Ok((plan, node))
            }
            LogicalPlan::SubqueryAlias(_) => {
                let input = plan.inputs()[0];
                let (input, n) = self.go(input)?;
                let plan = plan.with_new_exprs(plan.expressions(), vec![input]).map_err(sql)?;
                Ok((plan, n))
            }
            LogicalPlan::Sort(_) | LogicalPlan::Limit(_) => {
                let (input, n) = self.go(plan.inputs()[0])?;
                if !n.pending.is_empty() {
                    return Err(SandboxError::policy(
                        "受保护的数据在聚合之前不能排序或截取（ORDER BY/LIMIT）",
                    ));
                }
                for e in plan.expressions() {
                    reserved(&e)?;
                    self.expr(&e, &n, input.schema(), Mode::Value, false)?;
                }
                let plan = plan.with_new_exprs(plan.expressions(), vec![input]).map_err(sql)?;
                Ok((plan, n))
            }
            LogicalPlan::Window(w) => {
                let (input, n) = self.go(&w.input)?;
                if !n.pending.is_empty() || n.cols.iter().any(protected) {
                    return Err(SandboxError::policy(
                        "窗口函数只能用于聚合之后的结果，不能用于受保护的明细行",
                    ));
                }
                for e in &w.window_expr {
                    reserved(e)?;
                    no_subquery(e)?;
                }
                let mut cols = n.cols.clone();
                cols.extend(w.window_expr.iter().map(|_| Srcs::new()));
                let plan = plan.with_new_exprs(plan.expressions(), vec![input]).map_err(sql)?;
                Ok((plan, Node { cols, pending: n.pending, joined: n.joined, same_unit: n.same_unit }))
            }
            LogicalPlan::Aggregate(a) => self.aggregate(a),
            LogicalPlan::Values(_) | LogicalPlan::EmptyRelation(_) => {
                let cols = plan.schema().fields().iter().map(|_| Srcs::new()).collect();
                Ok((
                    plan.clone(),
                    Node { cols, pending: BTreeMap::new(), joined: false, same_unit: Vec::new() },
                ))
            }
            LogicalPlan::Distinct(_) => {
                Err(SandboxError::policy("不支持 DISTINCT 查询明细，请改用 GROUP BY 分组聚合"))
            }
            LogicalPlan::Union(_) => Err(SandboxError::policy("暂不支持 UNION，请分别提交查询")),
            LogicalPlan::Explain(_) | LogicalPlan::Analyze(_) => Err(SandboxError::Explain),
            LogicalPlan::Statement(_)
            | LogicalPlan::Dml(_)
            | LogicalPlan::Ddl(_)
            | LogicalPlan::Copy(_)
            | LogicalPlan::DescribeTable(_) => Err(SandboxError::Statement),
            LogicalPlan::Subquery(_) => Err(SandboxError::policy("不支持子查询表达式，请改写为 JOIN")),
            LogicalPlan::RecursiveQuery(_) => Err(SandboxError::policy("不支持递归查询")),
            LogicalPlan::Unnest(_) => Err(SandboxError::policy("不支持 UNNEST")),
            LogicalPlan::Repartition(_) | LogicalPlan::Extension(_) => {
                Err(SandboxError::policy("不支持该查询结构"))
            }
        }
    }

    /// `a.unit = b.unit` conjuncts of a predicate that holds on every row (WHERE, INNER JOIN … ON).
    fn unit_equalities(
        &self,
        pred: &Expr,
        n: &Node,
        schema: &DFSchema,
    ) -> Result<Vec<(usize, usize)>, SandboxError> {
        let mut out = Vec::new();
        for c in datafusion::logical_expr::utils::split_conjunction(pred) {
            if let Expr::BinaryExpr(BinaryExpr { left, op: Operator::Eq, right }) = c
                && bare_column(left).is_some()
                && bare_column(right).is_some()
            {
                let l = self.lineage(left, n, schema)?;
                let r = self.lineage(right, n, schema)?;
                if let (Some(a), Some(b)) = (unit_of(&l, &n.pending), unit_of(&r, &n.pending)) {
                    out.push((a, b));
                }
            }
        }
        Ok(out)
    }

    fn aggregate(&mut self, a: &Aggregate) -> Result<(LogicalPlan, Node), SandboxError> {
        let (input, n) = self.go(&a.input)?;
        let schema = input.schema().clone();
        let mut group = Vec::with_capacity(a.group_expr.len());
        for g in &a.group_expr {
            reserved(g)?;
            if matches!(g, Expr::GroupingSet(_)) {
                return Err(SandboxError::policy("不支持 GROUPING SETS / ROLLUP / CUBE（小计行会形成差分）"));
            }
            let s = self.expr(g, &n, &schema, Mode::Group, false)?;
            if has(&s, &[Kind::Aggregate, Kind::JoinKey, Kind::Unit]) {
                return Err(SandboxError::policy(format!(
                    "字段（{}）不能作为分组依据：仅聚合字段和关联键只能在聚合函数或 JOIN 中使用",
                    names(&s)
                )));
            }
            group.push(g.clone());
        }
        let mut aggr = Vec::with_capacity(a.aggr_expr.len());
        for e in &a.aggr_expr {
            reserved(e)?;
            self.aggregate_expr(e, &n, &schema)?;
            aggr.push(e.clone());
        }
        // Carry gate counts of aggregations below (a nested aggregation) so they stay in the plan.
        for (i, f) in schema.fields().iter().enumerate() {
            if f.name().starts_with(GATE_PREFIX) {
                let col = Column::from(schema.qualified_field(i));
                aggr.push(min(Expr::Column(col)).alias(f.name()));
            }
        }
        if n.pending.is_empty() {
            let plan = LogicalPlan::Aggregate(Aggregate::try_new(Arc::new(input), group, aggr).map_err(sql)?);
            let cols = plan.schema().fields().iter().map(|_| Srcs::new()).collect();
            return Ok((plan, Node { cols, pending: BTreeMap::new(), joined: false, same_unit: Vec::new() }));
        }
        let classes = unit_classes(&n);
        let plan = if n.pending.values().any(|p| p.dp) {
            self.count_gate(&n, &schema, &classes, input, group, aggr)?
        } else {
            self.value_gate(a, &n, &schema, &classes, input, group, aggr)?
        };
        let cols = plan.schema().fields().iter().map(|_| Srcs::new()).collect();
        Ok((plan, Node { cols, pending: BTreeMap::new(), joined: false, same_unit: Vec::new() }))
    }

    /// The column carrying the privacy unit of a class (the scan's unit carrier, never a join key the
    /// query can see: carriers are keyed per developer organisation, so fingerprints compare across its
    /// projects).
    fn carrier(n: &Node, class: &BTreeSet<usize>) -> Result<usize, SandboxError> {
        n.cols
            .iter()
            .position(|s| s.len() == 1 && s.iter().all(|x| x.kind == Kind::Unit && class.contains(&x.scan)))
            .ok_or_else(|| SandboxError::Internal("privacy unit lost before the gate".into()))
    }

    fn class_spec(n: &Node, class: &BTreeSet<usize>) -> ClassSpec {
        let members: Vec<&Pending> = class.iter().map(|s| &n.pending[s]).collect();
        let mut tables: Vec<&str> = members.iter().map(|p| p.table.as_str()).collect();
        tables.dedup();
        ClassSpec {
            tables: tables.join("+"),
            k: members.iter().map(|p| p.k).max().unwrap_or(crate::policy::DEFAULT_K),
        }
    }

    /// The gate of an aggregation over a differential-privacy table: one distinct-unit count per class,
    /// applied by the engine right above the aggregation and read by [`crate::dp_query`].
    fn count_gate(
        &mut self,
        n: &Node,
        schema: &DFSchema,
        classes: &[BTreeSet<usize>],
        input: LogicalPlan,
        group: Vec<Expr>,
        mut aggr: Vec<Expr>,
    ) -> Result<LogicalPlan, SandboxError> {
        let g = self.gates.len();
        let mut gate = Gate { columns: Vec::new() };
        for (i, class) in classes.iter().enumerate() {
            // Count the unit where the query can see it as a join key (dp_query recognises the query's
            // own `COUNT(DISTINCT unit)` by that column), else through the carrier.
            let visible = class.iter().find_map(|scan| {
                let p = &n.pending[scan];
                n.cols.iter().position(|s| {
                    s.len() == 1
                        && s.iter()
                            .all(|x| x.scan == *scan && x.kind == Kind::JoinKey && *x.column == *p.unit)
                })
            });
            let idx = match visible {
                Some(i) => i,
                None => Self::carrier(n, class)?,
            };
            let unit = Expr::Column(Column::from(schema.qualified_field(idx)));
            let name = format!("{GATE_PREFIX}{g}_{i}");
            aggr.push(count_distinct(unit).alias(&name));
            let spec = Self::class_spec(n, class);
            gate.columns.push(GateColumn { name, table: spec.tables, k: spec.k });
        }
        self.gates.push(gate);
        Ok(LogicalPlan::Aggregate(Aggregate::try_new(Arc::new(input), group, aggr).map_err(sql)?))
    }

    /// The per-value gate ([`crate::gate`]): the query's aggregation plus one hidden aggregate of
    /// per-unit contributions, under a [`GateNode`].
    #[allow(clippy::too_many_arguments)]
    fn value_gate(
        &mut self,
        a: &Aggregate,
        n: &Node,
        schema: &DFSchema,
        classes: &[BTreeSet<usize>],
        input: LogicalPlan,
        group: Vec<Expr>,
        mut aggr: Vec<Expr>,
    ) -> Result<LogicalPlan, SandboxError> {
        let gate = self.next_value_gate;
        self.next_value_gate += 1;
        let mut args = Vec::new();
        let mut class_specs = Vec::new();
        for class in classes {
            let idx = Self::carrier(n, class)?;
            args.push(Expr::Column(Column::from(schema.qualified_field(idx))));
            class_specs.push(Self::class_spec(n, class));
        }
        // The names the aggregation gives the query's own aggregates.
        let probe =
            Aggregate::try_new(Arc::new(input.clone()), group.clone(), a.aggr_expr.clone()).map_err(sql)?;
        let mut values = Vec::with_capacity(a.aggr_expr.len());
        let mut computed = Vec::new();
        for (j, e) in a.aggr_expr.iter().enumerate() {
            let name = probe.schema.field(a.group_expr.len() + j).name().clone();
            let (kind, m, include, y, sources) = self.value_parts(e, n, schema)?;
            let unit_count = self.unit_count(e, n, schema, classes)?;
            let class = match unit_count {
                Some(c) => c,
                None => classes
                    .iter()
                    .position(|c| !sources.is_empty() && sources.iter().all(|s| c.contains(s)))
                    .unwrap_or(0),
            };
            args.extend([m, include, y]);
            values.push(ValueSpec { name, kind, class, computed: unit_count.is_some() });
            if unit_count.is_some() {
                computed.push(j);
            }
        }
        // A COUNT(DISTINCT unit) is the gate's own count of contributing units: the aggregation does
        // not count the units a second time.
        let own: Vec<Expr> = a
            .aggr_expr
            .iter()
            .enumerate()
            .filter(|(j, _)| !computed.contains(j))
            .map(|(_, e)| e.clone())
            .collect();
        let carried: Vec<Expr> = aggr.split_off(a.aggr_expr.len());
        aggr = own;
        aggr.extend(carried);
        let spec = Arc::new(GateSpec { gate, classes: class_specs, values, rules: Rules::default() });
        aggr.push(GateUdaf::udaf(&spec).call(args).alias(spec.stats_column()));
        let agg = LogicalPlan::Aggregate(Aggregate::try_new(Arc::new(input), group, aggr).map_err(sql)?);
        let node = GateNode::try_new(agg, spec, self.log.clone(), probe.schema.clone()).map_err(sql)?;
        Ok(LogicalPlan::Extension(Extension { node: Arc::new(node) }))
    }

    /// The class whose privacy unit an aggregate counts, when it is `COUNT(DISTINCT unit)` on the unit
    /// as a visible join key.
    fn unit_count(
        &self,
        e: &Expr,
        n: &Node,
        schema: &DFSchema,
        classes: &[BTreeSet<usize>],
    ) -> Result<Option<usize>, SandboxError> {
        let inner = match e {
            Expr::Alias(Alias { expr, .. }) => expr.as_ref(),
            other => other,
        };
        let Expr::AggregateFunction(AggregateFunction { func, params }) = inner else { return Ok(None) };
        if !func.name().eq_ignore_ascii_case("count") || !params.distinct {
            return Ok(None);
        }
        let [arg] = params.args.as_slice() else { return Ok(None) };
        if bare_column(arg).is_none() {
            return Ok(None);
        }
        let s = self.lineage(arg, n, schema)?;
        let Some(scan) = unit_of(&s, &n.pending) else { return Ok(None) };
        Ok(classes.iter().position(|c| c.contains(&scan)))
    }

    /// How one aggregate contributes per row: its kind, the measured value, when a row counts, the
    /// second factor, and the scans its argument comes from.
    #[allow(clippy::type_complexity)]
    fn value_parts(
        &self,
        e: &Expr,
        n: &Node,
        schema: &DFSchema,
    ) -> Result<(ValueKind, Expr, Expr, Expr, BTreeSet<usize>), SandboxError> {
        let inner = match e {
            Expr::Alias(Alias { expr, .. }) => expr.as_ref(),
            other => other,
        };
        let Expr::AggregateFunction(AggregateFunction { func, params }) = inner else {
            return Err(SandboxError::policy("聚合表达式不符合要求"));
        };
        let name = func.name().to_ascii_lowercase();
        let mut sources = BTreeSet::new();
        for arg in &params.args {
            for s in self.lineage(arg, n, schema)? {
                if s.kind != Kind::Open {
                    sources.insert(s.scan);
                }
            }
        }
        let mut include = params.filter.as_deref().cloned().unwrap_or_else(|| lit(true));
        let float = |x: &Expr| datafusion::logical_expr::cast(x.clone(), arrow::datatypes::DataType::Float64);
        let (kind, m, y) = match (name.as_str(), params.args.as_slice()) {
            ("sum" | "avg", [x]) => (ValueKind::Sum, float(x), gate::one()),
            ("var" | "var_pop" | "var_samp" | "stddev" | "stddev_pop" | "stddev_samp", [x]) => {
                (ValueKind::Moment, float(x), gate::one())
            }
            ("covar_samp" | "covar_pop" | "corr", [x, y]) => (ValueKind::Product, float(x), float(y)),
            ("count", args) => {
                for x in args {
                    include = include.and(x.clone().is_not_null());
                }
                (ValueKind::Count, gate::one(), gate::one())
            }
            (_, args) => {
                for x in args {
                    include = include.and(x.clone().is_not_null());
                }
                (ValueKind::Other, gate::one(), gate::one())
            }
        };
        Ok((kind, m, include, y, sources))
    }

    fn aggregate_expr(&mut self, e: &Expr, n: &Node, schema: &DFSchema) -> Result<(), SandboxError> {
        let inner = match e {
            Expr::Alias(Alias { expr, .. }) => expr.as_ref(),
            other => other,
        };
        let Expr::AggregateFunction(AggregateFunction { func, params }) = inner else {
            return Err(SandboxError::policy("聚合表达式不符合要求"));
        };
        let name = func.name().to_ascii_lowercase();
        if !params.order_by.is_empty() {
            return Err(SandboxError::policy("聚合函数内不能使用 ORDER BY"));
        }
        if let Some(f) = &params.filter {
            self.expr(f, n, schema, Mode::Predicate, false)?;
        }
        let mut srcs = Srcs::new();
        for a in &params.args {
            srcs.extend(self.expr(a, n, schema, Mode::AggArg, bare_column(a).is_some())?);
        }
        if !protected(&srcs) {
            return Ok(());
        }
        if !BLENDING.contains(&name.as_str()) {
            return Err(SandboxError::policy(format!(
                "受保护字段（{}）只能用于 COUNT、SUM、AVG、VAR、STDDEV 等混合多人的聚合，不能用于 {}",
                names(&srcs),
                name.to_uppercase()
            )));
        }
        if params.distinct && name != "count" {
            return Err(SandboxError::policy(
                "受保护字段只能用于 COUNT(DISTINCT …)，不能用于其他 DISTINCT 聚合",
            ));
        }
        if has(&srcs, &[Kind::JoinKey, Kind::Unit]) {
            let bare = params.args.len() == 1 && bare_column(&params.args[0]).is_some();
            if name != "count" || !bare || has(&srcs, &[Kind::Unit]) {
                return Err(SandboxError::policy(format!(
                    "关联键（{}）只能用于 JOIN 条件或 COUNT(DISTINCT 关联键)",
                    names(&srcs)
                )));
            }
        }
        Ok(())
    }

    /// The lineage of an expression, refusing what its sources do not allow. `bare`: the expression is
    /// a plain column reference being passed through.
    fn expr(
        &self,
        e: &Expr,
        n: &Node,
        schema: &DFSchema,
        mode: Mode,
        bare: bool,
    ) -> Result<Srcs, SandboxError> {
        let s = self.lineage(e, n, schema)?;
        if bare {
            // A pass-through: a join key or the unit may travel, as long as nothing computes on it.
            if mode == Mode::Predicate || mode == Mode::Group {
                check_mode(&s, mode)?;
            }
            if has(&s, &[Kind::Unit]) && mode != Mode::Value {
                return Err(SandboxError::policy("查询不能使用系统保留字段"));
            }
            return Ok(s);
        }
        check_mode(&s, mode)?;
        Ok(s)
    }

    fn lineage(&self, e: &Expr, n: &Node, schema: &DFSchema) -> Result<Srcs, SandboxError> {
        let rec = |x: &Expr| self.lineage(x, n, schema);
        match e {
            Expr::Column(c) => {
                let i = schema.index_of_column(c).map_err(sql)?;
                n.cols.get(i).cloned().ok_or_else(|| SandboxError::Internal("lineage out of range".into()))
            }
            Expr::Literal(..) => Ok(Srcs::new()),
            Expr::Alias(a) => rec(&a.expr),
            Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
                let l = rec(left)?;
                let r = rec(right)?;
                binary(left, &l, *op, right, &r)
            }
            Expr::Like(l) | Expr::SimilarTo(l) => {
                let mut s = rec(&l.expr)?;
                s.extend(rec(&l.pattern)?);
                if s.iter().any(|x| !(x.kind == Kind::Open || (x.kind == Kind::Dimension && !x.sensitive))) {
                    return Err(SandboxError::policy(format!(
                        "字段（{}）受保护，不能使用 LIKE 等模式匹配（防止逐位试探）",
                        names(&s)
                    )));
                }
                Ok(s)
            }
            Expr::Not(x)
            | Expr::IsNotNull(x)
            | Expr::IsNull(x)
            | Expr::IsTrue(x)
            | Expr::IsFalse(x)
            | Expr::IsUnknown(x)
            | Expr::IsNotTrue(x)
            | Expr::IsNotFalse(x)
            | Expr::IsNotUnknown(x) => {
                let s = rec(x)?;
                if has(&s, &[Kind::JoinKey, Kind::Unit]) {
                    return Err(SandboxError::policy(format!("关联键（{}）只能用于 JOIN", names(&s))));
                }
                Ok(s)
            }
            Expr::Negative(x) => rec(x),
            Expr::Between(b) => {
                let s = rec(&b.expr)?;
                let mut bounds = rec(&b.low)?;
                bounds.extend(rec(&b.high)?);
                comparable(&s)?;
                comparable(&bounds)?;
                if let Some(x) = sensitive(&s).or(sensitive(&bounds)) {
                    return Err(SandboxError::policy(format!(
                        "敏感字段“{}”只能做等值比较，不能用 BETWEEN 划定范围",
                        x.column
                    )));
                }
                let mut all = s;
                all.extend(bounds);
                Ok(all)
            }
            Expr::Case(c) => {
                let mut s = Srcs::new();
                if let Some(x) = &c.expr {
                    s.extend(rec(x)?);
                }
                for (w, t) in &c.when_then_expr {
                    s.extend(rec(w)?);
                    s.extend(rec(t)?);
                }
                if let Some(x) = &c.else_expr {
                    s.extend(rec(x)?);
                }
                if has(&s, &[Kind::Aggregate, Kind::JoinKey, Kind::Unit]) {
                    return Err(SandboxError::policy(format!(
                        "字段（{}）受保护，不能用于 CASE 条件分支",
                        names(&s)
                    )));
                }
                Ok(s)
            }
            Expr::Cast(c) => {
                let s = rec(&c.expr)?;
                if protected(&s) {
                    let from = c.expr.get_type(schema).map_err(sql)?;
                    let text = matches!(
                        from,
                        arrow::datatypes::DataType::Utf8
                            | arrow::datatypes::DataType::LargeUtf8
                            | arrow::datatypes::DataType::Utf8View
                    );
                    let to_text = matches!(
                        c.field.data_type(),
                        arrow::datatypes::DataType::Utf8
                            | arrow::datatypes::DataType::LargeUtf8
                            | arrow::datatypes::DataType::Utf8View
                    );
                    if text && !to_text {
                        return Err(SandboxError::policy(
                            "受保护的文本字段不能用 CAST 转换为其他类型（转换失败会泄露取值），请使用 TRY_CAST",
                        ));
                    }
                    if has(&s, &[Kind::JoinKey, Kind::Unit]) {
                        return Err(SandboxError::policy(format!("关联键（{}）不能转换类型", names(&s))));
                    }
                }
                Ok(s)
            }
            Expr::TryCast(c) => {
                let s = rec(&c.expr)?;
                if has(&s, &[Kind::JoinKey, Kind::Unit]) {
                    return Err(SandboxError::policy(format!("关联键（{}）不能转换类型", names(&s))));
                }
                Ok(s)
            }
            Expr::ScalarFunction(f) => {
                let name = f.func.name().to_ascii_lowercase();
                let mut s = Srcs::new();
                for a in &f.args {
                    s.extend(rec(a)?);
                }
                if !protected(&s) {
                    return Ok(s);
                }
                if has(&s, &[Kind::JoinKey, Kind::Unit]) {
                    return Err(SandboxError::policy(format!("关联键（{}）不能参与函数运算", names(&s))));
                }
                let allowed = if has(&s, &[Kind::Aggregate]) {
                    matches!(name.as_str(), "coalesce" | "date_part" | "date_trunc")
                } else {
                    GENERALISING.contains(&name.as_str())
                };
                if !allowed {
                    return Err(SandboxError::policy(format!(
                        "受保护字段（{}）不能使用函数 {}（只允许 EXTRACT/DATE_TRUNC/SUBSTR 等泛化函数）",
                        names(&s),
                        name.to_uppercase()
                    )));
                }
                Ok(s)
            }
            Expr::InList(l) => {
                let s = rec(&l.expr)?;
                comparable(&s)?;
                let mut all = s.clone();
                for x in &l.list {
                    let xs = rec(x)?;
                    comparable(&xs)?;
                    all.extend(xs);
                }
                if sensitive(&s).is_some() && l.list.len() > MAX_IN_LIST_SENSITIVE {
                    return Err(SandboxError::policy(format!(
                        "敏感字段的 IN 列表最多 {MAX_IN_LIST_SENSITIVE} 个取值"
                    )));
                }
                Ok(all)
            }
            Expr::AggregateFunction(_) | Expr::WindowFunction(_) => {
                // Aggregates are checked at their node; inside another expression they only appear
                // above it (HAVING, ORDER BY), where the node's own columns are derived.
                let s = e.column_refs().into_iter().try_fold(Srcs::new(), |mut acc, c| {
                    acc.extend(rec(&Expr::Column(c.clone()))?);
                    Ok::<_, SandboxError>(acc)
                })?;
                if protected(&s) {
                    return Err(SandboxError::policy("聚合函数或窗口函数只能出现在聚合节点中"));
                }
                Ok(s)
            }
            Expr::Exists(_)
            | Expr::InSubquery(_)
            | Expr::ScalarSubquery(_)
            | Expr::SetComparison(_)
            | Expr::OuterReferenceColumn(..) => {
                Err(SandboxError::policy("不支持子查询表达式（EXISTS/IN/标量子查询），请改写为 JOIN"))
            }
            Expr::Placeholder(_) | Expr::ScalarVariable(..) => {
                Err(SandboxError::policy("不支持参数占位符或会话变量"))
            }
            Expr::GroupingSet(_) => Err(SandboxError::policy("不支持 GROUPING SETS / ROLLUP / CUBE")),
            _ => Err(SandboxError::policy("不支持该表达式")),
        }
    }
}

/// The pending scan whose privacy unit this bare join-key lineage is.
fn unit_of(s: &Srcs, pending: &BTreeMap<usize, Pending>) -> Option<usize> {
    let x = s.iter().next()?;
    if s.len() != 1 || x.kind != Kind::JoinKey {
        return None;
    }
    let p = pending.get(&x.scan)?;
    (*x.column == *p.unit).then_some(x.scan)
}

/// Pending scans grouped by shared units (union of the inner joins on units).
fn unit_classes(n: &Node) -> Vec<BTreeSet<usize>> {
    let mut classes: Vec<BTreeSet<usize>> = n.pending.keys().map(|s| BTreeSet::from([*s])).collect();
    for (a, b) in &n.same_unit {
        let ia = classes.iter().position(|c| c.contains(a));
        let ib = classes.iter().position(|c| c.contains(b));
        if let (Some(ia), Some(ib)) = (ia, ib)
            && ia != ib
        {
            let moved = classes[ib].clone();
            classes[ia].extend(moved);
            classes.remove(ib);
        }
    }
    classes
}

fn check_mode(s: &Srcs, mode: Mode) -> Result<(), SandboxError> {
    match mode {
        Mode::Predicate => {
            if has(s, &[Kind::Aggregate]) {
                return Err(SandboxError::policy(format!(
                    "仅聚合字段（{}）不能用于筛选条件，只能出现在聚合函数中",
                    names(s)
                )));
            }
            if has(s, &[Kind::JoinKey, Kind::Unit]) {
                return Err(SandboxError::policy(format!(
                    "关联键（{}）只能用于两个关联键之间的等值连接",
                    names(s)
                )));
            }
        }
        Mode::Group => {
            if has(s, &[Kind::Aggregate, Kind::JoinKey, Kind::Unit]) {
                return Err(SandboxError::policy(format!(
                    "字段（{}）不能作为分组依据：仅聚合字段和关联键只能在聚合函数或 JOIN 中使用",
                    names(s)
                )));
            }
        }
        Mode::Value | Mode::AggArg => {
            if has(s, &[Kind::JoinKey, Kind::Unit]) {
                return Err(SandboxError::policy(format!(
                    "关联键（{}）只能直接用于 JOIN 或 COUNT(DISTINCT …)，不能参与运算",
                    names(s)
                )));
            }
        }
    }
    Ok(())
}

/// Values that may be compared: not aggregate-only, not join keys.
fn comparable(s: &Srcs) -> Result<(), SandboxError> {
    if has(s, &[Kind::Aggregate]) {
        return Err(SandboxError::policy(format!(
            "仅聚合字段（{}）不能用于比较，只能出现在 SUM/AVG 等聚合函数中",
            names(s)
        )));
    }
    if has(s, &[Kind::JoinKey, Kind::Unit]) {
        return Err(SandboxError::policy(format!("关联键（{}）只能用于两个关联键之间的等值连接", names(s))));
    }
    Ok(())
}

fn binary(left: &Expr, l: &Srcs, op: Operator, right: &Expr, r: &Srcs) -> Result<Srcs, SandboxError> {
    use Operator::*;
    let mut all = l.clone();
    all.extend(r.iter().cloned());
    match op {
        Eq | NotEq | Lt | LtEq | Gt | GtEq | IsDistinctFrom | IsNotDistinctFrom => {
            // An equi-join written in WHERE: two join keys compared with each other.
            let keys = |e: &Expr, s: &Srcs| {
                bare_column(e).is_some() && !s.is_empty() && s.iter().all(|x| x.kind == Kind::JoinKey)
            };
            if op == Eq && keys(left, l) && keys(right, r) {
                return Ok(Srcs::new());
            }
            comparable(l)?;
            comparable(r)?;
            let ranged = !matches!(op, Eq | NotEq | IsDistinctFrom | IsNotDistinctFrom);
            if ranged {
                let one_sided = sensitive(l).is_some() != sensitive(r).is_some();
                if one_sided && let Some(x) = sensitive(l).or(sensitive(r)) {
                    return Err(SandboxError::policy(format!(
                        "敏感字段“{}”只能做等值比较（=、<>、IN），不能用大小比较划定范围",
                        x.column
                    )));
                }
            }
            Ok(all)
        }
        And | Or => Ok(all),
        Plus | Minus => {
            if has(&all, &[Kind::JoinKey, Kind::Unit]) {
                return Err(SandboxError::policy(format!("关联键（{}）不能参与运算", names(&all))));
            }
            Ok(all)
        }
        Multiply | Divide | Modulo => {
            if has(&all, &[Kind::JoinKey, Kind::Unit]) {
                return Err(SandboxError::policy(format!("关联键（{}）不能参与运算", names(&all))));
            }
            if matches!(op, Divide | Modulo) && protected(r) {
                return Err(SandboxError::policy(format!(
                    "受保护字段（{}）不能作为除数（除零错误会泄露取值）",
                    names(r)
                )));
            }
            // Products of two protected values give higher moments, from which the values of a small
            // group can be solved (Newton's identities): only scaling by a constant is linear.
            if protected(l) && protected(r) {
                return Err(SandboxError::policy(format!(
                    "受保护字段（{}）之间不能相乘或相除，只能乘以常数",
                    names(&all)
                )));
            }
            Ok(all)
        }
        _ => {
            if protected(&all) {
                return Err(SandboxError::policy(format!(
                    "受保护字段（{}）不能使用运算符 {op}",
                    names(&all)
                )));
            }
            Ok(all)
        }
    }
}

fn join_pair(l: &Expr, ls: &Srcs, r: &Expr, rs: &Srcs) -> Result<(), SandboxError> {
    let key = |s: &Srcs| has(s, &[Kind::JoinKey]);
    if key(ls) || key(rs) {
        let both = bare_column(l).is_some()
            && bare_column(r).is_some()
            && ls.iter().all(|x| x.kind == Kind::JoinKey)
            && rs.iter().all(|x| x.kind == Kind::JoinKey);
        if !both {
            return Err(SandboxError::policy(format!(
                "关联键（{}）只能与另一个关联键做等值连接",
                names(if key(ls) { ls } else { rs })
            )));
        }
        return Ok(());
    }
    comparable(ls)?;
    comparable(rs)?;
    Ok(())
}

fn bare_column(e: &Expr) -> Option<&Column> {
    match e {
        Expr::Column(c) => Some(c),
        Expr::Alias(a) => bare_column(&a.expr),
        _ => None,
    }
}

/// A query may not name the sandbox's own columns (a `SELECT *` passing them through is fine).
fn reserved(e: &Expr) -> Result<(), SandboxError> {
    if let Expr::Alias(a) = e
        && a.name.starts_with(RESERVED_PREFIX)
    {
        return Err(SandboxError::policy("查询不能使用以 __yunshu 开头的名称"));
    }
    for c in e.column_refs() {
        if c.name.starts_with(RESERVED_PREFIX) && c.name != UNIT_COLUMN {
            return Err(SandboxError::policy("查询不能使用以 __yunshu 开头的名称"));
        }
    }
    Ok(())
}

fn no_subquery(e: &Expr) -> Result<(), SandboxError> {
    let mut found = false;
    let _ = e.apply(|x| {
        if matches!(
            x,
            Expr::Exists(_) | Expr::InSubquery(_) | Expr::ScalarSubquery(_) | Expr::SetComparison(_)
        ) {
            found = true;
        }
        Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
    });
    if found {
        return Err(SandboxError::policy("不支持子查询表达式，请改写为 JOIN"));
    }
    Ok(())
}

fn sql(e: datafusion::error::DataFusionError) -> SandboxError {
    SandboxError::Sql(crate::engine::planning_message(&e))
}

fn internal(e: datafusion::error::DataFusionError) -> SandboxError {
    SandboxError::Internal(e.to_string())
}
