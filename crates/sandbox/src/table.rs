//! The policy-wrapping table (sandbox.md layer 2): what a granted dataset looks like to a query.
//!
//! [`PolicyTable`] wraps the dataset's own `TableProvider` (the decrypted Parquet versions, or a memory
//! table in tests and benchmarks). Its schema holds only the fields the grant lists with a class other
//! than hidden, join keys pseudonymised under the project's key, and for a protected table the
//! privacy-unit carrier [`UNIT_COLUMN`]. Its scan applies the grant's row scope and the pseudonyms
//! *inside* the scan, so every operator above — WHERE, JOIN, GROUP BY — sees only what the grant shows.
//! It reports no column statistics and, when the grant has a row scope, no row count, so no estimate
//! carries a pre-policy size; without a row scope it reports the dataset's row count rounded to two
//! significant digits, for the optimiser's choice of join build side (plans are never shown to developers).

use std::fmt;
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, BooleanArray, Int64Array, StringArray};
use arrow::compute::{cast, filter_record_batch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::common::stats::Precision;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DFSchema, DataFusionError, Result, Statistics};
use datafusion::datasource::{TableProvider, TableType};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::Expr;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    ChildStats, DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, StatisticsArgs,
};
use futures::StreamExt;
use yunshu_domain::catalog::UsageClass;

use crate::policy::{TablePolicy, UNIT_COLUMN};

/// The project's pseudonymisation key: the same person gets the same pseudonym in every table of one
/// project (so join keys join) and different ones in different projects (so outputs of two projects
/// cannot be linked).
#[derive(Clone)]
pub struct PseudonymKey {
    k: [u64; 4],
}

impl fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PseudonymKey(…)")
    }
}

impl PseudonymKey {
    /// Derives the key from secret bytes (the platform's sandbox secret and the project id).
    pub fn derive(secret: &[u8], context: &str) -> PseudonymKey {
        use sm3::Digest;
        let mut h = sm3::Sm3::new();
        h.update(b"yunshu-sandbox-pseudonym\0");
        h.update(secret);
        h.update(b"\0");
        h.update(context.as_bytes());
        let d = h.finalize();
        let mut k = [0u64; 4];
        for (i, chunk) in d.chunks_exact(8).enumerate() {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            k[i] = u64::from_le_bytes(b);
        }
        PseudonymKey { k }
    }

    /// A keyed bijection of 64-bit integers that keeps each value's bit length: a value in
    /// [2^n, 2^(n+1)) stays there, its low n bits going through a keyed permutation of [0, 2^n);
    /// negative values are mapped through their complement. Joins and
    /// distinct counts keep equality and distinctness, and a dense range of ids stays dense, so
    /// DataFusion's perfect hash join (an array indexed by key) still applies — with an unstructured
    /// 64-bit pseudonym every join on integer ids fell back to hashing (P1: joins 1.4–1.6× slower).
    /// The pseudonym is never shown (a join key is never output); it reveals only the bit length of
    /// the value, and stops a developer from matching a known number should a key ever leak.
    pub fn int(&self, v: i64) -> i64 {
        if v < 0 {
            return !self.int(!v);
        }
        let x = v as u64;
        if x < 2 {
            return v;
        }
        let n = 63 - x.leading_zeros();
        let top = 1u64 << n;
        (top | self.permute_low(x & (top - 1), n)) as i64
    }

    /// A keyed permutation of [0, 2^n), at a few nanoseconds a value: steps that are each a bijection
    /// modulo 2^n — xor with a key, multiplication by an odd keyed factor, and xorshifts folding the
    /// well-mixed high bits of a product back into its low bits.
    fn permute_low(&self, x: u64, n: u32) -> u64 {
        let mask = (1u64 << n) - 1;
        let shift = n.div_ceil(2);
        let mut y = (x ^ self.k[0]) & mask;
        y = y.wrapping_mul(self.k[1] | 1) & mask;
        y ^= y >> shift;
        y = y.wrapping_mul(self.k[2] | 1) & mask;
        y ^= y >> shift;
        y = y.wrapping_add(self.k[3]).wrapping_mul(0x9E37_79B9_7F4A_7C15) & mask;
        y ^ (y >> shift)
    }

    /// A keyed 64-bit SipHash of a text value, as 16 hex digits.
    pub fn text(&self, v: &str) -> String {
        use std::hash::Hasher;
        let mut h = siphasher::sip::SipHasher24::new_with_keys(self.k[2], self.k[3]);
        h.write(v.as_bytes());
        format!("{:016x}", h.finish())
    }
}

/// Pseudonymises a join-key column: integers to Int64, everything else to text.
fn pseudonymise(col: &ArrayRef, key: &PseudonymKey) -> Result<ArrayRef> {
    match col.data_type() {
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => {
            let ints = cast(col, &DataType::Int64)?;
            let ints = ints.as_primitive::<arrow::datatypes::Int64Type>();
            let out: Int64Array = ints.unary(|v| key.int(v));
            Ok(Arc::new(out))
        }
        _ => {
            let text = cast(col, &DataType::Utf8)?;
            let text = text.as_string::<i32>();
            let out: StringArray = text.iter().map(|v| v.map(|s| key.text(s))).collect();
            Ok(Arc::new(out))
        }
    }
}

fn pseudonym_type(t: &DataType) -> DataType {
    if t.is_integer() { DataType::Int64 } else { DataType::Utf8 }
}

/// How one exposed column is produced from the dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Produce {
    Plain,
    /// A join key, under the project's key.
    Pseudonym,
    /// The privacy-unit carrier, under the unit key (per developer organisation).
    Carrier,
}

#[derive(Debug, Clone)]
struct Exposed {
    inner: usize,
    produce: Produce,
}

/// A granted dataset as the sandbox shows it.
#[derive(Debug)]
pub struct PolicyTable {
    policy: TablePolicy,
    inner: Arc<dyn TableProvider>,
    schema: SchemaRef,
    exposed: Vec<Exposed>,
    row_filter: Option<Expr>,
    key: PseudonymKey,
    unit_key: PseudonymKey,
}

impl PolicyTable {
    /// Builds the table; `parse_filter` turns the grant's row scope into an expression over the
    /// dataset's schema (the engine passes its SQL expression parser). Join keys are pseudonymised
    /// under `key` (the project's), the unit carrier under `unit_key` (the developer organisation's:
    /// the carrier is never visible, and a stable unit lets contribution fingerprints be compared
    /// across the organisation's projects).
    pub fn new(
        policy: TablePolicy,
        inner: Arc<dyn TableProvider>,
        key: PseudonymKey,
        unit_key: PseudonymKey,
        parse_filter: impl Fn(&str, &DFSchema) -> Result<Expr>,
    ) -> Result<PolicyTable> {
        let inner_schema = inner.schema();
        let mut fields = Vec::new();
        let mut exposed = Vec::new();
        for (i, f) in inner_schema.fields().iter().enumerate() {
            let Some(cp) = policy.column(f.name()) else { continue };
            match cp.class {
                UsageClass::Hidden => {}
                UsageClass::JoinKey => {
                    fields.push(Field::new(f.name(), pseudonym_type(f.data_type()), true));
                    exposed.push(Exposed { inner: i, produce: Produce::Pseudonym });
                }
                _ => {
                    fields.push(Field::new(f.name(), f.data_type().clone(), true));
                    exposed.push(Exposed { inner: i, produce: Produce::Plain });
                }
            }
        }
        for c in &policy.columns {
            if inner_schema.index_of(&c.name).is_err() {
                return Err(DataFusionError::Plan(format!(
                    "grant names field {} that dataset {} does not have",
                    c.name, policy.name
                )));
            }
        }
        if let Some(unit) = &policy.unit {
            let i = inner_schema.index_of(unit).map_err(|_| {
                DataFusionError::Plan(format!("privacy unit {unit} not in dataset {}", policy.name))
            })?;
            fields.push(Field::new(UNIT_COLUMN, pseudonym_type(inner_schema.field(i).data_type()), true));
            exposed.push(Exposed { inner: i, produce: Produce::Carrier });
        }
        let row_filter = match &policy.row_filter {
            Some(sql) if !sql.trim().is_empty() => {
                let df = DFSchema::try_from(inner_schema.as_ref().clone())?;
                Some(parse_filter(sql, &df)?)
            }
            _ => None,
        };
        Ok(PolicyTable {
            policy,
            inner,
            schema: Arc::new(Schema::new(fields)),
            exposed,
            row_filter,
            key,
            unit_key,
        })
    }

    pub fn policy(&self) -> &TablePolicy {
        &self.policy
    }
}

#[async_trait]
impl TableProvider for PolicyTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        // Neither filters nor a limit are pushed into the dataset: both would act before the row scope.
        let wanted: Vec<usize> = match projection {
            Some(p) => p.clone(),
            None => (0..self.exposed.len()).collect(),
        };
        let mut inner_cols: Vec<usize> = Vec::new();
        let slot = |i: usize, cols: &mut Vec<usize>| match cols.iter().position(|c| *c == i) {
            Some(p) => p,
            None => {
                cols.push(i);
                cols.len() - 1
            }
        };
        let mut outputs = Vec::with_capacity(wanted.len());
        for w in &wanted {
            let e = self
                .exposed
                .get(*w)
                .ok_or_else(|| DataFusionError::Internal("projection out of range".into()))?;
            outputs.push((slot(e.inner, &mut inner_cols), e.produce));
        }
        let inner_schema = self.inner.schema();
        if let Some(f) = &self.row_filter {
            for c in f.column_refs() {
                let i = inner_schema.index_of(&c.name)?;
                slot(i, &mut inner_cols);
            }
        }
        let input = self.inner.scan(state, Some(&inner_cols), &[], None).await?;
        let predicate = match &self.row_filter {
            Some(f) => {
                let df = DFSchema::try_from(input.schema().as_ref().clone())?;
                Some(state.create_physical_expr(f.clone(), &df)?)
            }
            None => None,
        };
        let out_fields: Vec<Field> = wanted.iter().map(|w| self.schema.field(*w).clone()).collect();
        let out_schema = Arc::new(Schema::new(out_fields));
        let key = self.key.clone();
        let unit_key = self.unit_key.clone();
        let schema = out_schema.clone();
        let f = move |batch: RecordBatch| -> Result<RecordBatch> {
            let batch = match &predicate {
                Some(p) => {
                    let mask = p.evaluate(&batch)?.into_array(batch.num_rows())?;
                    let mask = mask
                        .as_any()
                        .downcast_ref::<BooleanArray>()
                        .ok_or_else(|| DataFusionError::Internal("row scope is not a predicate".into()))?;
                    filter_record_batch(&batch, mask)?
                }
                None => batch,
            };
            let mut cols = Vec::with_capacity(outputs.len());
            for (i, produce) in &outputs {
                let c = batch.column(*i);
                cols.push(match produce {
                    Produce::Plain => c.clone(),
                    Produce::Pseudonym => pseudonymise(c, &key)?,
                    Produce::Carrier => pseudonymise(c, &unit_key)?,
                });
            }
            Ok(RecordBatch::try_new(schema.clone(), cols)?)
        };
        let scan = MapExec::new(POLICY_SCAN, input, out_schema, Arc::new(f));
        // Without a row scope the dataset's row count is not a pre-policy size: the optimiser may use it
        // (rounded, inexact) to put the smaller table on the build side of a join. Never shown.
        Ok(Arc::new(if self.row_filter.is_none() { scan.with_row_stats() } else { scan }))
    }
}

/// Rounds to two significant digits (12 345 → 12 000).
fn round2(n: usize) -> usize {
    let mut scale = 1usize;
    while n / scale >= 100 {
        scale = scale.saturating_mul(10);
    }
    (n / scale) * scale
}

/// The name of the node every protected scan goes through; the final plan check looks for it.
pub const POLICY_SCAN: &str = "YunshuPolicyScan";

/// The function a [`MapExec`] applies to each batch.
pub type BatchFn = Arc<dyn Fn(RecordBatch) -> Result<RecordBatch> + Send + Sync>;

/// A node that maps each batch of its input through a function (the policy scan and the k gate).
pub struct MapExec {
    name: &'static str,
    input: Arc<dyn ExecutionPlan>,
    schema: SchemaRef,
    props: Arc<PlanProperties>,
    f: BatchFn,
    /// Report the input's row count (rounded to two significant digits, inexact) and nothing else.
    row_stats: bool,
}

impl fmt::Debug for MapExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name)
    }
}

impl MapExec {
    pub fn new(name: &'static str, input: Arc<dyn ExecutionPlan>, schema: SchemaRef, f: BatchFn) -> MapExec {
        let props = if schema == input.schema() {
            input.properties().clone()
        } else {
            Arc::new(PlanProperties::new(
                EquivalenceProperties::new(schema.clone()),
                input.properties().output_partitioning().clone(),
                EmissionType::Incremental,
                Boundedness::Bounded,
            ))
        };
        MapExec { name, input, schema, props, f, row_stats: false }
    }

    pub fn with_row_stats(mut self) -> MapExec {
        self.row_stats = true;
        self
    }

    pub fn node_name(&self) -> &'static str {
        self.name
    }
}

impl DisplayAs for MapExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}", self.name)
    }
}

impl ExecutionPlan for MapExec {
    fn name(&self) -> &'static str {
        self.name
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.props
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if children.len() != 1 {
            return Err(DataFusionError::Internal("MapExec has one child".into()));
        }
        let input = children.swap_remove(0);
        let mut node = MapExec::new(self.name, input, self.schema.clone(), self.f.clone());
        node.row_stats = self.row_stats;
        Ok(Arc::new(node))
    }

    fn child_stats_requests(&self, partition: Option<usize>) -> Vec<ChildStats> {
        vec![if self.row_stats { ChildStats::At(partition) } else { ChildStats::Skip }]
    }

    fn statistics_from_inputs(
        &self,
        input_stats: &[Arc<Statistics>],
        _args: &StatisticsArgs,
    ) -> Result<Arc<Statistics>> {
        let mut out = Statistics::new_unknown(&self.schema);
        if self.row_stats
            && let Some(n) = input_stats.first().and_then(|s| s.num_rows.get_value().copied())
        {
            out.num_rows = Precision::Inexact(round2(n));
        }
        Ok(Arc::new(out))
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        let stream = self.input.execute(partition, context)?;
        let f = self.f.clone();
        let mapped = stream.map(move |b| b.and_then(|b| f(b)));
        Ok(Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), mapped)))
    }
}

#[cfg(test)]
#[path = "table_test.rs"]
mod tests;
