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
use arrow::datatypes::{DataType, Field, FieldRef, Float64Type, Int64Type, SchemaRef};
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

use crate::fingerprint::{self, Fingerprint, UnitCells, fixed_i128, mix, reduce_i128, unit_key};

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
    /// `COUNT(DISTINCT unit)` of the value's class: the gate computes it from its own table (the
    /// contributing units), and the aggregation does not count the units a second time.
    pub computed: bool,
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

/// How the words of one (group, unit) entry are laid out: per counted value its row count (one word),
/// per magnitude its exact fixed-point sum as an `i128` (two words, low then high) — from which both
/// the fingerprint's contribution (modulo P) and the dominance figure (as `f64`) follow.
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

/// The (group, unit) entries of one class: a hash table of (unit, group, entry) — probing and growing
/// never leave the table — and an arena of each entry's words.
#[derive(Debug)]
struct Table {
    index: HashTable<(u64, u32, u32)>,
    arena: Vec<u64>,
    /// Words per entry.
    stride: usize,
}

fn key_hash(group: u32, unit: u64) -> u64 {
    mix(unit ^ u64::from(group).rotate_left(40))
}

impl Table {
    fn new(words: usize) -> Table {
        Table { index: HashTable::new(), arena: Vec::new(), stride: words }
    }

    /// Every entry: (group, unit, words).
    fn entries(&self) -> impl Iterator<Item = (u32, u64, &[u64])> + '_ {
        let s = self.stride;
        self.index.iter().map(move |(u, g, i)| (*g, *u, &self.arena[*i as usize * s..(*i as usize + 1) * s]))
    }

    /// The words of the entry for (group, unit), created with zeros if new.
    fn slot(&mut self, group: u32, unit: u64) -> Result<&mut [u64]> {
        let h = key_hash(group, unit);
        let entry = self.index.entry(h, |(u, g, _)| *u == unit && *g == group, |(u, g, _)| key_hash(*g, *u));
        let i = match entry {
            Entry::Occupied(o) => o.get().2 as usize,
            Entry::Vacant(v) => {
                let i = self.arena.len() / self.stride.max(1);
                let id = u32::try_from(i)
                    .map_err(|_| DataFusionError::ResourcesExhausted("gate entries".into()))?;
                v.insert((unit, group, id));
                self.arena.resize(self.arena.len() + self.stride, 0);
                i
            }
        };
        Ok(&mut self.arena[i * self.stride..(i + 1) * self.stride])
    }

    fn size(&self) -> usize {
        self.index.allocation_size() + self.arena.capacity() * 8
    }

    /// Keeps the entries of groups ≥ n, renumbered from 0.
    fn retain_after(&mut self, n: usize) -> Result<()> {
        let old = std::mem::replace(self, Table::new(self.stride));
        for (g, u, words) in old.entries() {
            if (g as usize) < n {
                continue;
            }
            self.slot(g - n as u32, u)?.copy_from_slice(words);
        }
        Ok(())
    }
}

/// A unit column as the gate reads it: integers as they are, text pseudonyms (16 hex digits of a keyed
/// hash) parsed, any other text hashed.
enum Units<'a> {
    Ints(&'a arrow::array::PrimitiveArray<Int64Type>),
    Texts(&'a arrow::array::StringArray),
}

impl<'a> Units<'a> {
    fn of(array: &'a ArrayRef) -> Result<Units<'a>> {
        if let Some(ints) = array.as_primitive_opt::<Int64Type>() {
            return Ok(Units::Ints(ints));
        }
        array
            .as_string_opt::<i32>()
            .map(Units::Texts)
            .ok_or_else(|| DataFusionError::Internal("gate unit type".into()))
    }

    fn get(&self, row: usize) -> Option<u64> {
        match self {
            Units::Ints(a) => (!a.is_null(row)).then(|| a.value(row) as u64),
            Units::Texts(a) => {
                if a.is_null(row) {
                    return None;
                }
                let v = a.value(row);
                Some(u64::from_str_radix(v.get(..16).unwrap_or(v), 16).unwrap_or_else(|_| {
                    v.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
                    })
                }))
            }
        }
    }
}

/// An `i128` from its two words (low, high).
fn wide(lo: u64, hi: u64) -> i128 {
    ((u128::from(hi) << 64) | u128::from(lo)) as i128
}

fn split(x: i128) -> (u64, u64) {
    let x = x as u128;
    (x as u64, (x >> 64) as u64)
}

/// Adds one entry's words into another's.
fn merge_words(layout: &Layout, into: &mut [u64], from: &[u64]) {
    for (kind, _, off) in &layout.values {
        if kind.is_magnitude() {
            let sum = wide(into[*off], into[off + 1]).wrapping_add(wide(from[*off], from[off + 1]));
            (into[*off], into[off + 1]) = split(sum);
        } else {
            into[*off] = into[*off].wrapping_add(from[*off]);
        }
    }
}

/// A value's contribution from its words: the fingerprint's (modulo P) and its magnitude.
fn contribution(kind: ValueKind, words: &[u64], off: usize) -> (u64, f64) {
    if kind.is_magnitude() {
        let x = wide(words[off], words[off + 1]);
        (reduce_i128(x), (x as f64 / 2f64.powi(fingerprint::SCALE_BITS)).abs())
    } else {
        let n = words[off];
        (fingerprint::mul(n % fingerprint::P, fingerprint::one()), n as f64)
    }
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
        let tables = (0..layout.classes).map(|_| Table::new(layout.words)).collect();
        GateGroups { layout, tables, groups: 0 }
    }

    /// Adds the rows of one batch: `row_group` gives each row's group.
    fn add_rows(&mut self, values: &[ArrayRef], row_group: impl Fn(usize) -> usize) -> Result<()> {
        let layout = self.layout.clone();
        if values.len() != layout.args() {
            return Err(DataFusionError::Internal("gate arguments".into()));
        }
        let rows = values.first().map(|a| a.len()).unwrap_or(0);
        let units: Vec<Units> = values[..layout.classes].iter().map(Units::of).collect::<Result<_>>()?;
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
        for r in 0..rows {
            let group = u32::try_from(row_group(r))
                .map_err(|_| DataFusionError::ResourcesExhausted("gate groups".into()))?;
            for (c, unit) in units.iter().enumerate() {
                let Some(u) = unit.get(r) else { continue };
                let words = self.tables[c].slot(group, u)?;
                for (j, (kind, _, off)) in layout.values.iter().enumerate() {
                    let (m, f, y) = parts[j];
                    if !f.is_valid(r) || !f.value(r) || m.is_null(r) || y.is_null(r) {
                        continue;
                    }
                    match kind {
                        ValueKind::Count | ValueKind::Other => words[*off] = words[*off].wrapping_add(1),
                        _ => {
                            let x = fixed_i128(measure(*kind, m.value(r), y.value(r)));
                            let sum = wide(words[*off], words[off + 1]).wrapping_add(x);
                            (words[*off], words[off + 1]) = split(sum);
                        }
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
        let layout = self.layout.clone();
        let mut incoming = vec![0u64; w];
        for r in 0..states.len() {
            if states.is_null(r) {
                continue;
            }
            let group = u32::try_from(row_group(r)).map_err(|_| bad())?;
            let mut rest = states.value(r);
            for c in 0..layout.classes {
                let (n, r2) = rest.split_first_chunk::<4>().ok_or_else(bad)?;
                rest = r2;
                for _ in 0..u32::from_le_bytes(*n) {
                    let (u, r3) = rest.split_first_chunk::<8>().ok_or_else(bad)?;
                    rest = r3;
                    for x in incoming.iter_mut() {
                        let (v, r4) = rest.split_first_chunk::<8>().ok_or_else(bad)?;
                        rest = r4;
                        *x = u64::from_le_bytes(*v);
                    }
                    let words = self.tables[c].slot(group, u64::from_le_bytes(*u))?;
                    merge_words(&layout, words, &incoming);
                }
            }
        }
        Ok(())
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
                    *t = Table::new(w);
                }
                self.groups = 0;
            }
            EmitTo::First(_) => {
                for t in &mut self.tables {
                    t.retain_after(n)?;
                }
                self.groups -= n;
            }
        }
        Ok(())
    }

    /// The statistics of the first `n` groups.
    fn stats(&self, n: usize) -> Vec<GroupStats> {
        let layout = &self.layout;
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
            // Entries of this class by group, for the per-group fingerprints.
            let (entries, starts, order) = by_group(t, n);
            // A unit's cells are the same in every fingerprint of this size: found once per entry.
            let template = Fingerprint::new(layout.cells);
            for (g, stats) in out.iter_mut().enumerate() {
                let members = &order[starts[g]..starts[g + 1]];
                stats.units[c] = members.len() as u64;
                let mut fps: Vec<Option<Fingerprint>> = layout
                    .values
                    .iter()
                    .map(|(_, class, _)| (*class == c).then(|| template.clone()))
                    .collect();
                for i in members {
                    let (_, unit, words) = entries[*i];
                    let cells = UnitCells::new(&template, unit_key(unit));
                    for (j, (kind, class, off)) in layout.values.iter().enumerate() {
                        let (word, a) = contribution(*kind, words, *off);
                        if word == 0 {
                            continue;
                        }
                        let v = &mut stats.values[j];
                        v.contributing[c] += 1;
                        if let Some(fp) = fps[j].as_mut() {
                            fp.insert_unit(&cells, word);
                        }
                        if *class == c && kind.is_magnitude() {
                            v.total += a;
                            if a.is_nan() || a > v.top1 {
                                v.top2 = v.top1;
                                v.top1 = a;
                            } else if a > v.top2 {
                                v.top2 = a;
                            }
                        }
                    }
                }
                for (j, fp) in fps.into_iter().enumerate() {
                    if let Some(fp) = fp {
                        stats.values[j].fingerprint = fp;
                    }
                }
            }
        }
        out
    }

    /// Serialised entries of the first `n` groups (the partial aggregation's state), one binary value
    /// per group written straight into one array.
    fn state_array(&self, n: usize) -> ArrayRef {
        let w = self.layout.words;
        // Per class, the entries of each group (a counting sort).
        let mut sorted = Vec::with_capacity(self.tables.len());
        let mut bytes = 0usize;
        for t in &self.tables {
            let (entries, starts, order) = by_group(t, n);
            bytes += entries.len() * 8 * (w + 1) + 4 * n;
            sorted.push((entries, starts, order));
        }
        let mut b = BinaryBuilder::with_capacity(n, bytes);
        let mut buf: Vec<u8> = Vec::new();
        for g in 0..n {
            buf.clear();
            for (entries, starts, order) in &sorted {
                let members = &order[starts[g]..starts[g + 1]];
                buf.extend_from_slice(&(members.len() as u32).to_le_bytes());
                for i in members {
                    let (_, u, words) = entries[*i];
                    buf.extend_from_slice(&u.to_le_bytes());
                    for x in words {
                        buf.extend_from_slice(&x.to_le_bytes());
                    }
                }
            }
            b.append_value(&buf);
        }
        Arc::new(b.finish())
    }
}

/// A table's entries of groups below `n`, ordered by group with a counting sort: the entries,
/// where each group starts in `order` (`n + 1` offsets) and the entry indices in group order.
type ByGroup<'a> = (Vec<(u32, u64, &'a [u64])>, Vec<usize>, Vec<usize>);

fn by_group(t: &Table, n: usize) -> ByGroup<'_> {
    let entries: Vec<(u32, u64, &[u64])> = t.entries().filter(|(g, _, _)| (*g as usize) < n).collect();
    let mut starts = vec![0usize; n + 1];
    for (g, _, _) in &entries {
        starts[*g as usize + 1] += 1;
    }
    for g in 0..n {
        starts[g + 1] += starts[g];
    }
    let mut order = vec![0usize; entries.len()];
    let mut next = starts.clone();
    for (i, (g, _, _)) in entries.iter().enumerate() {
        order[next[*g as usize]] = i;
        next[*g as usize] += 1;
    }
    (entries, starts, order)
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
        let state = self.state_array(n);
        self.forget(emit_to, n)?;
        Ok(vec![state])
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
        Ok(vec![one.state_array(rows)])
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
        let state = self.0.state_array(1);
        let v = state.as_binary_opt::<i32>().filter(|a| !a.is_empty()).map(|a| a.value(0).to_vec());
        Ok(vec![ScalarValue::Binary(Some(v.unwrap_or_default()))])
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
    full: DFSchemaRef,
}

impl GateNode {
    /// `full`: the aggregation's schema as if it computed every value itself (group keys, then the
    /// query's aggregates in order) — what the gate outputs, each value nullable, followed by any
    /// further columns of `input` (carried counts of a differential-privacy gate below).
    pub fn try_new(
        input: LogicalPlan,
        spec: Arc<GateSpec>,
        log: Arc<GateLog>,
        full: DFSchemaRef,
    ) -> Result<GateNode> {
        let stats = spec.stats_column();
        let values: Vec<&str> = spec.values.iter().map(|v| v.name.as_str()).collect();
        let mut fields = Vec::new();
        for (q, f) in full.iter() {
            let f = if values.contains(&f.name().as_str()) {
                Arc::new(f.as_ref().clone().with_nullable(true))
            } else {
                f.clone()
            };
            fields.push((q.cloned(), f));
        }
        for (q, f) in input.schema().iter() {
            if f.name() != &stats && !full.fields().iter().any(|x| x.name() == f.name()) {
                fields.push((q.cloned(), f.clone()));
            }
        }
        let schema = Arc::new(DFSchema::new_with_metadata(fields, input.schema().metadata().clone())?);
        Ok(GateNode { input, spec, log, schema, full })
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
        GateNode::try_new(inputs.swap_remove(0), self.spec.clone(), self.log.clone(), self.full.clone())
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
        let output = Arc::new(gate.schema.as_arrow().clone());
        Ok(Some(Arc::new(GateExec::try_new(input.clone(), gate.spec.clone(), gate.log.clone(), output)?)))
    }
}

/// The name the final plan check looks for.
pub const GATE_EXEC: &str = "YunshuValueGate";

/// Where an output column of the gate comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Input(usize),
    /// A value the gate computes (its index in the spec).
    Computed(usize),
}

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
    sources: Vec<Source>,
    /// The output column of each value.
    values: Vec<usize>,
}

impl GateExec {
    pub fn try_new(
        input: Arc<dyn ExecutionPlan>,
        spec: Arc<GateSpec>,
        log: Arc<GateLog>,
        output: SchemaRef,
    ) -> Result<GateExec> {
        let src = input.schema();
        let stats = src.index_of(&spec.stats_column())?;
        let mut sources = Vec::with_capacity(output.fields().len());
        for f in output.fields() {
            match spec.values.iter().position(|v| v.computed && &v.name == f.name()) {
                Some(j) => sources.push(Source::Computed(j)),
                None => sources.push(Source::Input(src.index_of(f.name())?)),
            }
        }
        let mut values = Vec::with_capacity(spec.values.len());
        for v in &spec.values {
            values.push(output.index_of(&v.name)?);
        }
        let props = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(output.clone()),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Final,
            Boundedness::Bounded,
        ));
        Ok(GateExec { input, spec, log, schema: output, props, stats, sources, values })
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
        Ok(Arc::new(GateExec::try_new(
            children.swap_remove(0),
            self.spec.clone(),
            self.log.clone(),
            self.schema.clone(),
        )?))
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
            sources: self.sources.clone(),
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
    sources: Vec<Source>,
    /// The output column of each value.
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
        // The group keys: input columns that are not values.
        let key_cols: Vec<usize> = self
            .sources
            .iter()
            .enumerate()
            .filter(|(o, _)| !self.values.contains(o))
            .filter_map(|(_, s)| match s {
                Source::Input(i) => Some(*i),
                Source::Computed(_) => None,
            })
            .collect();
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
        // The output: kept rows, suppressed values nulled, computed values filled in, no statistics.
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.sources.len());
        for (o, source) in self.sources.iter().enumerate() {
            let array: ArrayRef = match source {
                Source::Input(i) => batch.column(*i).clone(),
                Source::Computed(j) => {
                    let class = spec.values[*j].class.min(spec.classes.len().saturating_sub(1));
                    let counts: Vec<i64> = stats
                        .iter()
                        .map(|s| {
                            i64::try_from(s.values[*j].contributing.get(class).copied().unwrap_or(0))
                                .unwrap_or(i64::MAX)
                        })
                        .collect();
                    Arc::new(arrow::array::Int64Array::from(counts))
                }
            };
            match self.values.iter().position(|v| *v == o) {
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
