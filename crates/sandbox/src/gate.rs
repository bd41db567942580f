//! The per-value gate (sandbox.md layers 3 and 4): every released value aggregates at least k
//! contributing privacy units *after its own narrowing*, and no released value is dominated by one
//! or two units.
//!
//! A gated aggregation (one that reads a protected table without differential privacy) gets one hidden
//! aggregate, [`GateUdaf`], computed in the same pass as the query's own aggregates. For every group it
//! keeps, per privacy-unit class, each unit's contribution to each of the query's aggregates — counted
//! only on the rows that aggregate actually reads (its `FILTER (WHERE …)`, non-null arguments, and
//! through the argument itself any `CASE` or join narrowing). From these it reports per group:
//!
//! - the units of each class in the group (the row gate);
//! - per value, the units with a non-zero contribution (a unit whose rows add nothing to a SUM, or that
//!   no row of a filtered COUNT reaches, does not contribute);
//! - per magnitude value, the sum of absolute contributions and the two largest (dominance, p%),
//!   of the per-unit sums — a person with twelve monthly rows is one contributor, not twelve;
//! - per value, the [`Fingerprint`] of its per-unit contributions (differencing, layer 7).
//!
//! [`GateNode`] sits right above the aggregation in the logical plan (the optimiser keeps everything it
//! reads and pushes no predicate through it); its [`GateExec`] drops groups below k, nulls each value
//! that fails the threshold, dominance (n = 2, 90 %) or p% (10 %) rule, then suppresses further cells
//! of a column until the suppressed cells together cover at least k units, so a margin released
//! elsewhere minus the released cells never isolates fewer than k people (complementary suppression).
//! Everything above — HAVING, ORDER BY, LIMIT, joins of gated results — sees only gated values. What
//! it suppressed, and the fingerprints of what it let through, go to a [`GateLog`] for the reviewers
//! and the differencing check; none of it reaches the developer before release.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use arrow::array::{Array, ArrayRef, AsArray, BinaryArray, BinaryBuilder, BooleanArray};
use arrow::compute::{concat_batches, filter_record_batch, nullif};
use arrow::datatypes::{DataType, Field, FieldRef, Float64Type, Int64Type, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use datafusion::common::{DFSchema, DFSchemaRef, DataFusionError, Result, ScalarValue};
use datafusion::execution::memory_pool::MemoryConsumer;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, EmitTo, Expr, GroupsAccumulator, LogicalPlan, Signature,
    UserDefinedLogicalNode, UserDefinedLogicalNodeCore, Volatility,
};
use datafusion::physical_expr::{EquivalenceProperties, Partitioning, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, Distribution, ExecutionPlan, PlanProperties};
use futures::StreamExt;
use hashbrown::HashTable;
use hashbrown::hash_table::Entry;

use crate::fingerprint::{self, Fingerprint, add, fixed, mix, unit_key};

/// The hidden statistics column of gate `g` is named `{STATS_PREFIX}{g}`.
pub const STATS_PREFIX: &str = "__yunshu_g";

/// What an aggregate computes, which decides how a unit's rows contribute and which rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ValueKind {
    /// COUNT(*), COUNT(x), COUNT(DISTINCT x): each counted row contributes 1.
    Count,
    /// SUM(x), AVG(x): the row's x. Dominance and p% apply.
    Sum,
    /// VAR/STDDEV(x): the row's x², so dominance catches an outlier; small n is flagged.
    Moment,
    /// COVAR/CORR(x, y): the row's x·y.
    Product,
    /// Any other aggregate over the group (of open values): each row read contributes 1.
    Other,
}

impl ValueKind {
    pub fn is_magnitude(self) -> bool {
        matches!(self, ValueKind::Sum | ValueKind::Moment | ValueKind::Product)
    }
}

/// One aggregate of a gated aggregation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValueSpec {
    /// The aggregation's output column.
    pub name: String,
    pub kind: ValueKind,
    /// The unit class whose contributions the value's rules and fingerprint use (the class its
    /// measure comes from).
    pub class: usize,
}

/// A class of protected tables that share a privacy unit in this aggregation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClassSpec {
    pub tables: String,
    pub k: u32,
}

/// The disclosure rules a gate applies (ACRO's defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rules {
    /// Dominance: the two largest contributions may not exceed this share of the total.
    pub dominance_k: f64,
    /// p%: what remains after the two largest must be at least this share of the largest.
    pub p_ratio: f64,
    /// VAR/STDDEV over fewer contributing units than this many times k is flagged for review.
    pub moments_factor: u32,
}

impl Default for Rules {
    fn default() -> Self {
        Rules { dominance_k: 0.90, p_ratio: 0.10, moments_factor: 3 }
    }
}

/// Everything a gate needs to know.
#[derive(Debug, Clone, PartialEq)]
pub struct GateSpec {
    pub gate: usize,
    pub classes: Vec<ClassSpec>,
    pub values: Vec<ValueSpec>,
    pub rules: Rules,
}

impl GateSpec {
    pub fn stats_column(&self) -> String {
        format!("{STATS_PREFIX}{}", self.gate)
    }

    fn cells(&self) -> usize {
        fingerprint::cells_for(self.classes.iter().map(|c| c.k).max().unwrap_or(crate::policy::DEFAULT_K))
    }

    fn k(&self, class: usize) -> u32 {
        self.classes.get(class).map(|c| c.k).unwrap_or(crate::policy::DEFAULT_K)
    }
}

// ---- per-group statistics ---------------------------------------------------------------------

/// One value's statistics in one group.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueStats {
    /// Units with a non-zero contribution, per class.
    pub contributing: Vec<u64>,
    /// Σ |contribution|, the largest and the second largest, over the value's class (magnitudes).
    pub total: f64,
    pub top1: f64,
    pub top2: f64,
    pub fingerprint: Fingerprint,
}

/// One group's statistics, as the hidden column carries them.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupStats {
    /// Units in the group, per class.
    pub units: Vec<u64>,
    pub values: Vec<ValueStats>,
}

impl GroupStats {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.units.len() as u32).to_le_bytes());
        for u in &self.units {
            out.extend_from_slice(&u.to_le_bytes());
        }
        out.extend_from_slice(&(self.values.len() as u32).to_le_bytes());
        for v in &self.values {
            for c in &v.contributing {
                out.extend_from_slice(&c.to_le_bytes());
            }
            for x in [v.total, v.top1, v.top2] {
                out.extend_from_slice(&x.to_le_bytes());
            }
            v.fingerprint.encode(out);
        }
    }

    fn decode(bytes: &[u8]) -> Option<GroupStats> {
        fn u32_at(b: &[u8]) -> Option<(u32, &[u8])> {
            let (x, r) = b.split_first_chunk::<4>()?;
            Some((u32::from_le_bytes(*x), r))
        }
        fn u64_at(b: &[u8]) -> Option<(u64, &[u8])> {
            let (x, r) = b.split_first_chunk::<8>()?;
            Some((u64::from_le_bytes(*x), r))
        }
        let (classes, mut rest) = u32_at(bytes)?;
        let mut units = Vec::with_capacity(classes as usize);
        for _ in 0..classes {
            let (u, r) = u64_at(rest)?;
            units.push(u);
            rest = r;
        }
        let (n, r) = u32_at(rest)?;
        rest = r;
        let mut values = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let mut contributing = Vec::with_capacity(classes as usize);
            for _ in 0..classes {
                let (c, r) = u64_at(rest)?;
                contributing.push(c);
                rest = r;
            }
            let mut f = [0f64; 3];
            for x in &mut f {
                let (v, r) = u64_at(rest)?;
                *x = f64::from_bits(v);
                rest = r;
            }
            let (fingerprint, r) = Fingerprint::decode_from(rest)?;
            rest = r;
            values.push(ValueStats { contributing, total: f[0], top1: f[1], top2: f[2], fingerprint });
        }
        rest.is_empty().then_some(GroupStats { units, values })
    }
}

// ---- the hidden aggregate ----------------------------------------------------------------------

/// How the words of one (group, unit) entry are laid out: per value its fixed-point contribution
/// modulo P, and for magnitudes also the `f64` sum (for dominance).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Layout {
    classes: usize,
    /// (kind, class, offset of the fixed-point word; the f64 word follows for magnitudes).
    values: Vec<(ValueKind, usize, usize)>,
    words: usize,
    cells: usize,
}

impl Layout {
    fn new(spec: &GateSpec) -> Layout {
        let mut values = Vec::new();
        let mut words = 0;
        for v in &spec.values {
            values.push((v.kind, v.class.min(spec.classes.len().saturating_sub(1)), words));
            words += if v.kind.is_magnitude() { 2 } else { 1 };
        }
        Layout { classes: spec.classes.len().max(1), values, words, cells: spec.cells() }
    }

    /// Arguments: the unit of each class, then `(measure, include, second factor)` per value.
    fn args(&self) -> usize {
        self.classes + 3 * self.values.len()
    }
}

/// `__yunshu_gate(unit…, (measure, include, y)…)`: the per-group statistics of a gated aggregation,
/// as one binary value per group ([`GroupStats`]).
#[derive(Debug)]
pub struct GateUdaf {
    layout: Arc<Layout>,
    signature: Signature,
    name: String,
}

impl PartialEq for GateUdaf {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.layout == other.layout
    }
}

impl Eq for GateUdaf {}

impl Hash for GateUdaf {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.layout.hash(state);
    }
}

impl GateUdaf {
    pub fn udaf(spec: &GateSpec) -> AggregateUDF {
        AggregateUDF::from(GateUdaf {
            layout: Arc::new(Layout::new(spec)),
            signature: Signature::user_defined(Volatility::Immutable),
            name: format!("__yunshu_gate{}", spec.gate),
        })
    }
}

impl AggregateUDFImpl for GateUdaf {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if arg_types.len() != self.layout.args() {
            return Err(DataFusionError::Internal("gate arguments".into()));
        }
        let mut out = Vec::with_capacity(arg_types.len());
        for (i, t) in arg_types.iter().enumerate() {
            out.push(if i < self.layout.classes {
                if t.is_integer() { DataType::Int64 } else { DataType::Utf8 }
            } else {
                match (i - self.layout.classes) % 3 {
                    1 => DataType::Boolean,
                    _ => DataType::Float64,
                }
            });
        }
        Ok(out)
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Binary)
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(GateAcc(GateGroups::new(self.layout.clone()))))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(format!("{}[units]", args.name), DataType::Binary, true))])
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(GateGroups::new(self.layout.clone())))
    }
}

/// The (group, unit) entries of one class.
#[derive(Debug, Default)]
struct Table {
    index: HashTable<u32>,
    keys: Vec<(u32, u64)>,
    words: Vec<u64>,
}

fn key_hash(group: u32, unit: u64) -> u64 {
    mix(unit ^ u64::from(group).rotate_left(40))
}

impl Table {
    fn slot(&mut self, group: u32, unit: u64, w: usize) -> Result<usize> {
        let h = key_hash(group, unit);
        let keys = &self.keys;
        let entry = self.index.entry(
            h,
            |i| keys[*i as usize] == (group, unit),
            |i| {
                let (g, u) = keys[*i as usize];
                key_hash(g, u)
            },
        );
        match entry {
            Entry::Occupied(o) => Ok(*o.get() as usize),
            Entry::Vacant(v) => {
                let i = u32::try_from(self.keys.len())
                    .map_err(|_| DataFusionError::ResourcesExhausted("gate entries".into()))?;
                v.insert(i);
                self.keys.push((group, unit));
                self.words.resize(self.words.len() + w, 0);
                Ok(i as usize)
            }
        }
    }

    fn size(&self) -> usize {
        self.index.allocation_size() + self.keys.capacity() * 16 + self.words.capacity() * 8
    }

    /// Keeps the entries of groups ≥ n, renumbered from 0.
    fn retain_after(&mut self, n: usize, w: usize) -> Result<()> {
        let old_keys = std::mem::take(&mut self.keys);
        let old_words = std::mem::take(&mut self.words);
        self.index.clear();
        for (i, (g, u)) in old_keys.into_iter().enumerate() {
            if (g as usize) < n {
                continue;
            }
            let s = self.slot(g - n as u32, u, w)?;
            self.words[s * w..(s + 1) * w].copy_from_slice(&old_words[i * w..(i + 1) * w]);
        }
        Ok(())
    }
}

/// A unit value as the 64 bits the gate keys on: integers as they are, text pseudonyms (16 hex digits
/// of a keyed hash) parsed, any other text hashed.
fn unit_bits(array: &ArrayRef, row: usize) -> Option<u64> {
    if array.is_null(row) {
        return None;
    }
    if let Some(ints) = array.as_primitive_opt::<Int64Type>() {
        return Some(ints.value(row) as u64);
    }
    let text = array.as_string_opt::<i32>()?;
    let v = text.value(row);
    Some(u64::from_str_radix(v.get(..16).unwrap_or(v), 16).unwrap_or_else(|_| {
        v.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
    }))
}

/// The contribution a row makes to a value of `kind`, as `f64`.
fn measure(kind: ValueKind, m: f64, y: f64) -> f64 {
    match kind {
        ValueKind::Count | ValueKind::Other => 1.0,
        ValueKind::Sum => m,
        ValueKind::Moment => m * m,
        ValueKind::Product => m * y,
    }
}

/// The per-group accumulator of [`GateUdaf`].
#[derive(Debug)]
pub struct GateGroups {
    layout: Arc<Layout>,
    tables: Vec<Table>,
    groups: usize,
}

impl GateGroups {
    fn new(layout: Arc<Layout>) -> GateGroups {
        let tables = (0..layout.classes).map(|_| Table::default()).collect();
        GateGroups { layout, tables, groups: 0 }
    }

    /// Adds the rows of one batch: `row_group` gives each row's group.
    fn add_rows(&mut self, values: &[ArrayRef], row_group: impl Fn(usize) -> usize) -> Result<()> {
        let layout = self.layout.clone();
        if values.len() != layout.args() {
            return Err(DataFusionError::Internal("gate arguments".into()));
        }
        let rows = values.first().map(|a| a.len()).unwrap_or(0);
        let units = &values[..layout.classes];
        let mut parts = Vec::with_capacity(layout.values.len());
        for j in 0..layout.values.len() {
            let base = layout.classes + 3 * j;
            let m = values[base]
                .as_primitive_opt::<Float64Type>()
                .ok_or_else(|| DataFusionError::Internal("gate measure type".into()))?;
            let f = values[base + 1]
                .as_boolean_opt()
                .ok_or_else(|| DataFusionError::Internal("gate include type".into()))?;
            let y = values[base + 2]
                .as_primitive_opt::<Float64Type>()
                .ok_or_else(|| DataFusionError::Internal("gate factor type".into()))?;
            parts.push((m, f, y));
        }
        let w = layout.words;
        for r in 0..rows {
            let group = u32::try_from(row_group(r))
                .map_err(|_| DataFusionError::ResourcesExhausted("gate groups".into()))?;
            for (c, unit) in units.iter().enumerate() {
                let Some(u) = unit_bits(unit, r) else { continue };
                let s = self.tables[c].slot(group, u, w)?;
                let words = &mut self.tables[c].words[s * w..(s + 1) * w];
                for (j, (kind, _, off)) in layout.values.iter().enumerate() {
                    let (m, f, y) = parts[j];
                    if f.is_null(r) || !f.value(r) || m.is_null(r) || y.is_null(r) {
                        continue;
                    }
                    let v = measure(*kind, m.value(r), y.value(r));
                    words[*off] = add(words[*off], fixed(v));
                    if kind.is_magnitude() {
                        words[off + 1] = (f64::from_bits(words[off + 1]) + v).to_bits();
                    }
                }
            }
        }
        Ok(())
    }

    /// Merges serialised states (one per row) into groups.
    fn merge_states(&mut self, states: &BinaryArray, row_group: impl Fn(usize) -> usize) -> Result<()> {
        let w = self.layout.words;
        let bad = || DataFusionError::Internal("gate state".into());
        for r in 0..states.len() {
            if states.is_null(r) {
                continue;
            }
            let group = u32::try_from(row_group(r)).map_err(|_| bad())?;
            let mut rest = states.value(r);
            for c in 0..self.layout.classes {
                let (n, r2) = rest.split_first_chunk::<4>().ok_or_else(bad)?;
                rest = r2;
                for _ in 0..u32::from_le_bytes(*n) {
                    let (u, r3) = rest.split_first_chunk::<8>().ok_or_else(bad)?;
                    rest = r3;
                    let s = self.tables[c].slot(group, u64::from_le_bytes(*u), w)?;
                    for (i, word) in (0..w).zip(s * w..) {
                        let (x, r4) = rest.split_first_chunk::<8>().ok_or_else(bad)?;
                        rest = r4;
                        let x = u64::from_le_bytes(*x);
                        let cur = self.tables[c].words[word];
                        self.tables[c].words[word] = if self.is_float_word(i) {
                            (f64::from_bits(cur) + f64::from_bits(x)).to_bits()
                        } else {
                            add(cur, x % fingerprint::P)
                        };
                    }
                }
            }
        }
        Ok(())
    }

    fn is_float_word(&self, i: usize) -> bool {
        self.layout.values.iter().any(|(k, _, off)| k.is_magnitude() && *off + 1 == i)
    }

    fn emit_count(&self, emit_to: EmitTo) -> usize {
        match emit_to {
            EmitTo::All => self.groups,
            EmitTo::First(n) => n.min(self.groups),
        }
    }

    fn forget(&mut self, emit_to: EmitTo, n: usize) -> Result<()> {
        let w = self.layout.words;
        match emit_to {
            EmitTo::All => {
                for t in &mut self.tables {
                    *t = Table::default();
                }
                self.groups = 0;
            }
            EmitTo::First(_) => {
                for t in &mut self.tables {
                    t.retain_after(n, w)?;
                }
                self.groups -= n;
            }
        }
        Ok(())
    }

    /// The statistics of the first `n` groups.
    fn stats(&self, n: usize) -> Vec<GroupStats> {
        let layout = &self.layout;
        let w = layout.words;
        let classes = layout.classes;
        let mut out: Vec<GroupStats> = (0..n)
            .map(|_| GroupStats {
                units: vec![0; classes],
                values: layout
                    .values
                    .iter()
                    .map(|_| ValueStats {
                        contributing: vec![0; classes],
                        total: 0.0,
                        top1: 0.0,
                        top2: 0.0,
                        fingerprint: Fingerprint::new(3),
                    })
                    .collect(),
            })
            .collect();
        for (c, t) in self.tables.iter().enumerate() {
            // Entries of this class by group (a counting sort), for the per-group fingerprints.
            let mut starts = vec![0usize; n + 1];
            for (g, _) in &t.keys {
                if (*g as usize) < n {
                    starts[*g as usize + 1] += 1;
                }
            }
            for g in 0..n {
                starts[g + 1] += starts[g];
            }
            let mut order = vec![0u32; starts[n]];
            let mut next = starts.clone();
            for (i, (g, _)) in t.keys.iter().enumerate() {
                let g = *g as usize;
                if g < n {
                    order[next[g]] = i as u32;
                    next[g] += 1;
                }
            }
            for (g, stats) in out.iter_mut().enumerate() {
                let entries = &order[starts[g]..starts[g + 1]];
                stats.units[c] = entries.len() as u64;
                for (j, (kind, class, off)) in layout.values.iter().enumerate() {
                    let v = &mut stats.values[j];
                    let mine = *class == c;
                    let mut fp = if mine { Some(Fingerprint::new(layout.cells)) } else { None };
                    for i in entries {
                        let i = *i as usize;
                        let word = t.words[i * w + off];
                        if word == 0 {
                            continue;
                        }
                        v.contributing[c] += 1;
                        if let Some(fp) = fp.as_mut() {
                            fp.insert(unit_key(t.keys[i].1), word);
                        }
                        if mine && kind.is_magnitude() {
                            let a = f64::from_bits(t.words[i * w + off + 1]).abs();
                            v.total += a;
                            if a.is_nan() || a > v.top1 {
                                v.top2 = v.top1;
                                v.top1 = a;
                            } else if a > v.top2 {
                                v.top2 = a;
                            }
                        }
                    }
                    if let Some(fp) = fp {
                        v.fingerprint = fp;
                    }
                }
            }
        }
        out
    }

    /// Serialised entries of the first `n` groups (the partial aggregation's state).
    fn state_bytes(&self, n: usize) -> Vec<Vec<u8>> {
        let w = self.layout.words;
        let mut per_class: Vec<Vec<Vec<usize>>> = Vec::with_capacity(self.tables.len());
        for t in &self.tables {
            let mut groups: Vec<Vec<usize>> = vec![Vec::new(); n];
            for (i, (g, _)) in t.keys.iter().enumerate() {
                if let Some(v) = groups.get_mut(*g as usize) {
                    v.push(i);
                }
            }
            per_class.push(groups);
        }
        (0..n)
            .map(|g| {
                let mut out = Vec::new();
                for (c, t) in self.tables.iter().enumerate() {
                    let entries = &per_class[c][g];
                    out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
                    for i in entries {
                        out.extend_from_slice(&t.keys[*i].1.to_le_bytes());
                        for x in &t.words[i * w..(i + 1) * w] {
                            out.extend_from_slice(&x.to_le_bytes());
                        }
                    }
                }
                out
            })
            .collect()
    }
}

fn binary(values: Vec<Vec<u8>>) -> ArrayRef {
    let mut b = BinaryBuilder::with_capacity(values.len(), values.iter().map(Vec::len).sum());
    for v in values {
        b.append_value(v);
    }
    Arc::new(b.finish())
}

fn stats_array(stats: Vec<GroupStats>) -> ArrayRef {
    binary(
        stats
            .into_iter()
            .map(|s| {
                let mut v = Vec::new();
                s.encode(&mut v);
                v
            })
            .collect(),
    )
}

impl GroupsAccumulator for GateGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        if opt_filter.is_some() {
            return Err(DataFusionError::Internal("the gate takes no FILTER".into()));
        }
        self.groups = self.groups.max(total_num_groups);
        self.add_rows(values, |r| group_indices[r])
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let n = self.emit_count(emit_to);
        let stats = self.stats(n);
        self.forget(emit_to, n)?;
        Ok(stats_array(stats))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let n = self.emit_count(emit_to);
        let bytes = self.state_bytes(n);
        self.forget(emit_to, n)?;
        Ok(vec![binary(bytes)])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.groups = self.groups.max(total_num_groups);
        let states = values
            .first()
            .and_then(|a| a.as_binary_opt::<i32>())
            .ok_or_else(|| DataFusionError::Internal("gate state type".into()))?;
        self.merge_states(states, |r| group_indices[r])
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        if opt_filter.is_some() {
            return Err(DataFusionError::Internal("the gate takes no FILTER".into()));
        }
        // Each row is its own group.
        let rows = values.first().map(|a| a.len()).unwrap_or(0);
        let mut one = GateGroups::new(self.layout.clone());
        one.groups = rows;
        one.add_rows(values, |r| r)?;
        Ok(vec![binary(one.state_bytes(rows))])
    }

    fn size(&self) -> usize {
        self.tables.iter().map(Table::size).sum::<usize>() + std::mem::size_of::<Self>()
    }
}

/// The same statistics for an aggregation without GROUP BY (one group).
#[derive(Debug)]
struct GateAcc(GateGroups);

impl Accumulator for GateAcc {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.0.groups = 1;
        self.0.add_rows(values, |_| 0)
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        self.0.groups = 1;
        let mut v = Vec::new();
        if let Some(s) = self.0.stats(1).into_iter().next() {
            s.encode(&mut v);
        }
        Ok(ScalarValue::Binary(Some(v)))
    }

    fn size(&self) -> usize {
        self.0.size()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        self.0.groups = 1;
        let v = self.0.state_bytes(1).into_iter().next().unwrap_or_default();
        Ok(vec![ScalarValue::Binary(Some(v))])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.0.groups = 1;
        let states = states
            .first()
            .and_then(|a| a.as_binary_opt::<i32>())
            .ok_or_else(|| DataFusionError::Internal("gate state type".into()))?;
        self.0.merge_states(states, |_| 0)
    }
}

// ---- what the gate did: for the reviewers and the differencing check ----------------------------

/// Why a cell was suppressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Suppression {
    /// Fewer than k contributing units.
    Threshold,
    /// The two largest contributions exceed the dominance share.
    Dominance,
    /// The rest is less than p% of the largest.
    PRatio,
    /// Complementary: to keep suppressed cells from being recovered from a margin.
    Secondary,
}

/// A released value's fingerprint, kept for the differencing check.
#[derive(Debug, Clone, PartialEq)]
pub struct ValuePrint {
    pub gate: usize,
    /// The group it belongs to, as `column=value` pairs (for reviewers only).
    pub group: String,
    /// The aggregate's output column.
    pub column: String,
    /// Contributing units of the value's class.
    pub units: u64,
    /// The threshold of the value's class.
    pub k: u32,
    pub fingerprint: Fingerprint,
}

/// What one gate did in one run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GateRecord {
    pub gate: usize,
    /// Groups the aggregation produced, and those dropped for having fewer than k units.
    pub groups: u64,
    pub dropped: u64,
    /// Cells nulled, per (column, reason).
    pub suppressed: Vec<(String, Suppression, u64)>,
    /// VAR/STDDEV cells over few contributing units (review).
    pub moments: Vec<(String, u64)>,
    /// Released values (not suppressed), with their fingerprints.
    pub values: Vec<ValuePrint>,
}

/// The gates' records of one run.
#[derive(Debug, Default)]
pub struct GateLog {
    records: Mutex<Vec<GateRecord>>,
}

impl GateLog {
    pub fn take(&self) -> Vec<GateRecord> {
        self.records.lock().map(|mut r| std::mem::take(&mut *r)).unwrap_or_default()
    }

    fn push(&self, r: GateRecord) {
        if let Ok(mut v) = self.records.lock() {
            v.push(r);
        }
    }
}

// ---- the logical node ---------------------------------------------------------------------------

/// The gate above a gated aggregation: its output is the aggregation's without the statistics
/// column, every value column nullable.
#[derive(Debug, Clone)]
pub struct GateNode {
    pub input: LogicalPlan,
    pub spec: Arc<GateSpec>,
    pub log: Arc<GateLog>,
    schema: DFSchemaRef,
}

impl GateNode {
    pub fn try_new(input: LogicalPlan, spec: Arc<GateSpec>, log: Arc<GateLog>) -> Result<GateNode> {
        let stats = spec.stats_column();
        let values: Vec<&str> = spec.values.iter().map(|v| v.name.as_str()).collect();
        let src = input.schema();
        let mut fields = Vec::new();
        for (q, f) in src.iter() {
            if f.name() == &stats {
                continue;
            }
            let f = if values.contains(&f.name().as_str()) {
                Arc::new(f.as_ref().clone().with_nullable(true))
            } else {
                f.clone()
            };
            fields.push((q.cloned(), f));
        }
        let schema = Arc::new(DFSchema::new_with_metadata(fields, src.metadata().clone())?);
        Ok(GateNode { input, spec, log, schema })
    }
}

impl PartialEq for GateNode {
    fn eq(&self, other: &Self) -> bool {
        self.spec.gate == other.spec.gate && self.input == other.input && Arc::ptr_eq(&self.log, &other.log)
    }
}

impl Eq for GateNode {}

impl PartialOrd for GateNode {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        if self == other { Some(std::cmp::Ordering::Equal) } else { None }
    }
}

impl Hash for GateNode {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.spec.gate.hash(state);
        self.input.hash(state);
    }
}

impl UserDefinedLogicalNodeCore for GateNode {
    fn name(&self) -> &str {
        "YunshuGate"
    }

    fn inputs(&self) -> Vec<&LogicalPlan> {
        vec![&self.input]
    }

    fn schema(&self) -> &DFSchemaRef {
        &self.schema
    }

    fn expressions(&self) -> Vec<Expr> {
        Vec::new()
    }

    fn fmt_for_explain(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "YunshuGate: gate={}", self.spec.gate)
    }

    fn with_exprs_and_inputs(&self, _exprs: Vec<Expr>, mut inputs: Vec<LogicalPlan>) -> Result<Self> {
        if inputs.len() != 1 {
            return Err(DataFusionError::Internal("the gate has one input".into()));
        }
        GateNode::try_new(inputs.swap_remove(0), self.spec.clone(), self.log.clone())
    }
}

// ---- the physical node --------------------------------------------------------------------------

/// Plans [`GateNode`]s.
#[derive(Debug, Default)]
pub struct GatePlanner;

#[async_trait]
impl datafusion::physical_planner::ExtensionPlanner for GatePlanner {
    async fn plan_extension(
        &self,
        _planner: &dyn datafusion::physical_planner::PhysicalPlanner,
        node: &dyn UserDefinedLogicalNode,
        _logical_inputs: &[&LogicalPlan],
        physical_inputs: &[Arc<dyn ExecutionPlan>],
        _session: &dyn datafusion::catalog::Session,
        _planning_ctx: &datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext,
    ) -> Result<Option<Arc<dyn ExecutionPlan>>> {
        let Some(gate) = node.as_any().downcast_ref::<GateNode>() else { return Ok(None) };
        let [input] = physical_inputs else {
            return Err(DataFusionError::Internal("the gate has one input".into()));
        };
        Ok(Some(Arc::new(GateExec::try_new(input.clone(), gate.spec.clone(), gate.log.clone())?)))
    }
}

/// The name the final plan check looks for.
pub const GATE_EXEC: &str = "YunshuValueGate";

/// Applies a gate's rules to the whole output of its aggregation (blocking: complementary
/// suppression needs every cell of a column).
#[derive(Debug)]
pub struct GateExec {
    input: Arc<dyn ExecutionPlan>,
    spec: Arc<GateSpec>,
    log: Arc<GateLog>,
    schema: SchemaRef,
    props: Arc<PlanProperties>,
    stats: usize,
    /// Input columns kept (all but the statistics).
    keep: Vec<usize>,
    /// Input column of each value.
    values: Vec<usize>,
}

impl GateExec {
    pub fn try_new(
        input: Arc<dyn ExecutionPlan>,
        spec: Arc<GateSpec>,
        log: Arc<GateLog>,
    ) -> Result<GateExec> {
        let src = input.schema();
        let stats = src.index_of(&spec.stats_column())?;
        let mut values = Vec::with_capacity(spec.values.len());
        for v in &spec.values {
            values.push(src.index_of(&v.name)?);
        }
        let keep: Vec<usize> = (0..src.fields().len()).filter(|i| *i != stats).collect();
        let fields: Vec<Field> = keep
            .iter()
            .map(|i| {
                let f = src.field(*i).clone();
                if values.contains(i) { f.with_nullable(true) } else { f }
            })
            .collect();
        let schema = Arc::new(Schema::new(fields));
        let props = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Final,
            Boundedness::Bounded,
        ));
        Ok(GateExec { input, spec, log, schema, props, stats, keep, values })
    }
}

impl DisplayAs for GateExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{GATE_EXEC}: gate={}", self.spec.gate)
    }
}

impl ExecutionPlan for GateExec {
    fn name(&self) -> &'static str {
        GATE_EXEC
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.props
    }

    fn required_input_distribution(&self) -> Vec<Distribution> {
        vec![Distribution::SinglePartition]
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        vec![false]
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(
            &Arc<dyn PhysicalExpr>,
        ) -> Result<datafusion::common::tree_node::TreeNodeRecursion>,
    ) -> Result<datafusion::common::tree_node::TreeNodeRecursion> {
        Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if children.len() != 1 {
            return Err(DataFusionError::Internal("the gate has one input".into()));
        }
        Ok(Arc::new(GateExec::try_new(children.swap_remove(0), self.spec.clone(), self.log.clone())?))
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        if partition != 0 {
            return Err(DataFusionError::Internal("the gate has one partition".into()));
        }
        let mut input = self.input.execute(0, context.clone())?;
        let reservation = MemoryConsumer::new("YunshuValueGate").register(context.memory_pool());
        let in_schema = self.input.schema();
        let work = Work {
            spec: self.spec.clone(),
            log: self.log.clone(),
            schema: self.schema.clone(),
            stats: self.stats,
            keep: self.keep.clone(),
            values: self.values.clone(),
        };
        let out = futures::stream::once(async move {
            let mut batches = Vec::new();
            while let Some(b) = input.next().await {
                let b = b?;
                reservation.try_grow(b.get_array_memory_size())?;
                batches.push(b);
            }
            let all = concat_batches(&in_schema, &batches)?;
            drop(batches);
            work.apply(&all)
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), out)))
    }
}

struct Work {
    spec: Arc<GateSpec>,
    log: Arc<GateLog>,
    schema: SchemaRef,
    stats: usize,
    keep: Vec<usize>,
    values: Vec<usize>,
}

fn group_label(batch: &RecordBatch, row: usize, key_cols: &[usize]) -> String {
    use arrow::util::display::{ArrayFormatter, FormatOptions};
    let options = FormatOptions::default().with_null("∅");
    let schema = batch.schema();
    let parts: Vec<String> = key_cols
        .iter()
        .map(|c| {
            let v = ArrayFormatter::try_new(batch.column(*c).as_ref(), &options)
                .map(|f| f.value(row).to_string())
                .unwrap_or_default();
            format!("{}={}", schema.field(*c).name(), v)
        })
        .collect();
    if parts.is_empty() { "全部".to_owned() } else { parts.join("，") }
}

impl Work {
    fn apply(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        let spec = &self.spec;
        let rules = spec.rules;
        let rows = batch.num_rows();
        let col = batch
            .column(self.stats)
            .as_binary_opt::<i32>()
            .ok_or_else(|| DataFusionError::Internal("gate statistics type".into()))?;
        let mut stats = Vec::with_capacity(rows);
        for r in 0..rows {
            let s = if col.is_null(r) { None } else { GroupStats::decode(col.value(r)) };
            let s = s.ok_or_else(|| DataFusionError::Internal("gate statistics".into()))?;
            if s.units.len() != spec.classes.len().max(1) || s.values.len() != spec.values.len() {
                return Err(DataFusionError::Internal("gate statistics shape".into()));
            }
            stats.push(s);
        }
        // The row gate: every class of the group has at least k units.
        let keep: Vec<bool> = stats
            .iter()
            .map(|s| s.units.iter().enumerate().all(|(c, n)| *n >= u64::from(spec.k(c))))
            .collect();
        let mut record = GateRecord {
            gate: spec.gate,
            groups: rows as u64,
            dropped: keep.iter().filter(|k| !**k).count() as u64,
            ..GateRecord::default()
        };
        let key_cols: Vec<usize> = self.keep.iter().copied().filter(|c| !self.values.contains(c)).collect();
        let mut suppressed_masks: Vec<Vec<bool>> = Vec::with_capacity(spec.values.len());
        for (j, v) in spec.values.iter().enumerate() {
            let class = v.class.min(spec.classes.len().saturating_sub(1));
            let k = spec.k(class);
            let mut out: Vec<bool> = keep.iter().map(|k| !k).collect();
            let mut counts = [0u64; 4];
            let mut moments = 0u64;
            for r in 0..rows {
                if !keep[r] {
                    continue;
                }
                let s = &stats[r].values[j];
                let reason = if s.contributing.iter().enumerate().any(|(c, n)| *n < u64::from(spec.k(c))) {
                    Some(Suppression::Threshold)
                } else if v.kind.is_magnitude()
                    && (!s.total.is_finite() || s.top1 + s.top2 > rules.dominance_k * s.total)
                {
                    Some(Suppression::Dominance)
                } else if v.kind.is_magnitude() && s.total - s.top1 - s.top2 < rules.p_ratio * s.top1 {
                    Some(Suppression::PRatio)
                } else {
                    None
                };
                if let Some(reason) = reason {
                    out[r] = true;
                    counts[reason as usize] += 1;
                } else if v.kind == ValueKind::Moment
                    && s.contributing.get(class).copied().unwrap_or(0)
                        < u64::from(k.saturating_mul(rules.moments_factor))
                {
                    moments += 1;
                }
            }
            // Complementary suppression: the suppressed cells of the column together must cover at
            // least k units, else a margin minus the released cells gives them away.
            let mut union = Fingerprint::new(spec.cells());
            for r in 0..rows {
                if out[r] {
                    union.add_assign(&stats[r].values[j].fingerprint);
                }
            }
            while union.isolates_fewer_than(k).is_some() {
                let next = (0..rows)
                    .filter(|r| !out[*r])
                    .min_by_key(|r| stats[*r].values[j].contributing.get(class).copied().unwrap_or(0));
                let Some(r) = next else { break };
                out[r] = true;
                counts[Suppression::Secondary as usize] += 1;
                union.add_assign(&stats[r].values[j].fingerprint);
            }
            for (reason, n) in [
                (Suppression::Threshold, counts[0]),
                (Suppression::Dominance, counts[1]),
                (Suppression::PRatio, counts[2]),
                (Suppression::Secondary, counts[3]),
            ] {
                if n > 0 {
                    record.suppressed.push((v.name.clone(), reason, n));
                }
            }
            if moments > 0 {
                record.moments.push((v.name.clone(), moments));
            }
            for r in 0..rows {
                if !out[r] {
                    let s = &stats[r].values[j];
                    record.values.push(ValuePrint {
                        gate: spec.gate,
                        group: group_label(batch, r, &key_cols),
                        column: v.name.clone(),
                        units: s.contributing.get(class).copied().unwrap_or(0),
                        k,
                        fingerprint: s.fingerprint.clone(),
                    });
                }
            }
            suppressed_masks.push(out);
        }
        // The output: kept rows, suppressed values nulled, no statistics column.
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.keep.len());
        for c in &self.keep {
            let array = batch.column(*c).clone();
            match self.values.iter().position(|v| v == c) {
                Some(j) => {
                    let mask = BooleanArray::from(suppressed_masks[j].clone());
                    columns.push(nullif(array.as_ref(), &mask)?);
                }
                None => columns.push(array),
            }
        }
        let out = RecordBatch::try_new(self.schema.clone(), columns)?;
        let out = filter_record_batch(&out, &BooleanArray::from(keep))?;
        self.log.push(record);
        Ok(out)
    }
}

/// A Float64 literal 1 (the measure of counted rows, the factor of single-argument values).
pub fn one() -> Expr {
    datafusion::logical_expr::lit(ScalarValue::Float64(Some(1.0)))
}

#[cfg(test)]
#[path = "gate_test.rs"]
mod tests;
