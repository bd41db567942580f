//! The sandbox session: one per query run, holding only the tables granted to one project.
//!
//! [`Sandbox::run`] is the real-data path: parse (DDL, DML and statements disabled) → analyse → the plan
//! check and rewrite of [`crate::check`] → physical plan → a threshold gate installed right above each
//! gated aggregation → a final check that every granted table is read through its policy scan →
//! execution under memory and time caps, cancellable → gate columns stripped. Errors raised while data is
//! read are never shown (their text may hold values). A query over a table with differential privacy
//! first runs its per-unit pre-aggregation and releases noisy groups ([`crate::dp_query`]); the rest
//! of the query runs on those. [`Sandbox::run_open`] is the plain path for dummy
//! data and the benchmark baselines: the same statement restrictions, no policy.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use arrow::array::{Array, AsArray, BooleanArray};
use arrow::compute::filter_record_batch;
use arrow::datatypes::{Int64Type, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use datafusion::common::DataFusionError;
use datafusion::common::tree_node::TreeNode;
use datafusion::datasource::TableProvider;
use datafusion::execution::memory_pool::{GreedyMemoryPool, MemoryLimit, MemoryPool, MemoryReservation};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::{ExecutionPlan, execute_stream, replace_children_if_necessary};
use datafusion::prelude::{SQLOptions, SessionConfig, SessionContext};
use futures::StreamExt;
use tokio::sync::Notify;

use crate::check::{self, Gate};
use crate::differencing::{self, Finding};
use crate::dp::{Epsilon, OsRng, Rng};
use crate::dp_query;
use crate::gate::{GATE_EXEC, GateLog, GateNode, GatePlanner, GateRecord, ValuePrint};
use crate::policy::{Limits, RESERVED_PREFIX, SandboxError, TablePolicy};
use crate::table::{MapExec, POLICY_SCAN, PolicyTable, PseudonymKey};

/// The URL the platform's object store is registered under in a sandbox session.
pub const VAULT_URL: &str = "yunshu-vault://data/";

/// A granted dataset: its policy and where its rows come from.
pub struct Dataset {
    pub policy: TablePolicy,
    pub provider: Arc<dyn TableProvider>,
}

/// Cancels a running query (the workspace's 取消 button, a sanction arriving, shutdown).
#[derive(Clone, Default)]
pub struct Cancel(Arc<(AtomicBool, Notify)>);

impl Cancel {
    pub fn cancel(&self) {
        self.0.0.store(true, Ordering::SeqCst);
        self.0.1.notify_waiters();
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.0.load(Ordering::SeqCst)
    }

    async fn cancelled(&self) {
        loop {
            let notified = self.0.1.notified();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}

/// What a real-data query produced, before the output checks.
#[derive(Debug)]
pub struct Outcome {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
    /// Groups removed because they had fewer than k units (all gates; for the reviewers only).
    pub suppressed: u64,
    /// SM3 of the rewritten plan: the same query shape gives the same fingerprint.
    pub fingerprint: String,
    pub tables: Vec<String>,
    /// The ε the query spent on a table with differential privacy (`None`: it read none); the same
    /// as [`Sandbox::dp_cost`] said before it ran.
    pub epsilon: Option<Epsilon>,
    /// What each per-value gate did: suppressed cells by rule, flagged moments, and the
    /// contribution fingerprints of the values it released ([`crate::gate`]).
    pub gates: Vec<GateRecord>,
    /// Differencing pairs among this output's own values ([`crate::differencing::within`]), and how
    /// many there were in all.
    pub findings: Vec<Finding>,
    pub findings_total: usize,
}

impl Outcome {
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum()
    }

    /// Every released value's fingerprint (for the history of the developer's outputs).
    pub fn value_prints(&self) -> Vec<ValuePrint> {
        self.gates.iter().flat_map(|g| g.values.iter().cloned()).collect()
    }
}

/// One query session over a project's granted tables.
pub struct Sandbox {
    ctx: SessionContext,
    limits: Limits,
    pool: Arc<PeakPool>,
    /// The randomness of differential-privacy noise: the operating system's by default; tests inject
    /// a seeded one ([`Sandbox::with_rng`]).
    rng: Mutex<Box<dyn Rng + Send>>,
    /// The key of the privacy-unit carriers of datasets added from now on (default: the project's).
    unit_key: Option<PseudonymKey>,
}

/// The per-query memory cap (a greedy pool), recording its peak so a run can report the memory its
/// operators held (the benchmark compares it between the protected and the hand-written query).
#[derive(Debug)]
pub struct PeakPool {
    inner: GreedyMemoryPool,
    peak: AtomicUsize,
}

impl PeakPool {
    fn new(limit: usize) -> PeakPool {
        PeakPool { inner: GreedyMemoryPool::new(limit), peak: AtomicUsize::new(0) }
    }

    fn note(&self) {
        self.peak.fetch_max(self.inner.reserved(), Ordering::Relaxed);
    }
}

impl std::fmt::Display for PeakPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PeakPool({})", self.inner)
    }
}

impl MemoryPool for PeakPool {
    fn name(&self) -> &str {
        "yunshu-peak"
    }

    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        self.inner.grow(reservation, additional);
        self.note();
    }

    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        self.inner.shrink(reservation, shrink);
    }

    fn try_grow(&self, reservation: &MemoryReservation, additional: usize) -> datafusion::common::Result<()> {
        self.inner.try_grow(reservation, additional)?;
        self.note();
        Ok(())
    }

    fn reserved(&self) -> usize {
        self.inner.reserved()
    }

    fn memory_limit(&self) -> MemoryLimit {
        self.inner.memory_limit()
    }
}

/// Plans the sandbox's own logical nodes (the per-value gate) besides DataFusion's.
#[derive(Debug)]
struct Planner;

#[async_trait::async_trait]
impl datafusion::execution::context::QueryPlanner for Planner {
    async fn create_physical_plan(
        &self,
        plan: &LogicalPlan,
        session: &dyn datafusion::catalog::Session,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        use datafusion::physical_planner::{DefaultPhysicalPlanner, PhysicalPlanner};
        DefaultPhysicalPlanner::with_extension_planners(vec![Arc::new(GatePlanner)])
            .create_physical_plan(plan, session)
            .await
    }
}

fn session(limits: &Limits) -> Result<(SessionContext, Arc<PeakPool>), SandboxError> {
    let config = SessionConfig::new()
        .with_target_partitions(std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2))
        .with_information_schema(false);
    let pool = Arc::new(PeakPool::new(limits.memory_bytes));
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_pool(pool.clone())
        .build_arc()
        .map_err(|e| SandboxError::Internal(e.to_string()))?;
    let state = datafusion::execution::SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(runtime)
        .with_default_features()
        .with_query_planner(Arc::new(Planner))
        .build();
    Ok((SessionContext::new_with_state(state), pool))
}

fn options() -> SQLOptions {
    SQLOptions::new().with_allow_ddl(false).with_allow_dml(false).with_allow_statements(false)
}

impl Sandbox {
    /// A session holding only these datasets, wrapped in their policies, pseudonymised under `key`.
    pub fn new(datasets: Vec<Dataset>, key: PseudonymKey, limits: Limits) -> Result<Sandbox, SandboxError> {
        let (ctx, pool) = session(&limits)?;
        let sb = Sandbox { ctx, limits, pool, rng: Mutex::new(Box::new(OsRng::new())), unit_key: None };
        for d in datasets {
            sb.add_dataset(d, &key)?;
        }
        Ok(sb)
    }

    /// A session over plain tables (dummy data, benchmark baselines): no policy, statements refused.
    pub fn open(
        tables: Vec<(String, Arc<dyn TableProvider>)>,
        limits: Limits,
    ) -> Result<Sandbox, SandboxError> {
        let (ctx, pool) = session(&limits)?;
        for (name, t) in tables {
            ctx.register_table(name.as_str(), t).map_err(|e| SandboxError::Internal(e.to_string()))?;
        }
        Ok(Sandbox { ctx, limits, pool, rng: Mutex::new(Box::new(OsRng::new())), unit_key: None })
    }

    /// Keys the privacy-unit carrier of datasets added from now on with `key` — the developer
    /// organisation's, so that the contribution fingerprints of its projects' outputs compare.
    pub fn with_unit_key(self, key: PseudonymKey) -> Sandbox {
        Sandbox { unit_key: Some(key), ..self }
    }

    /// Makes the platform's object store (the SM4-encrypted vault) readable by this session under
    /// [`VAULT_URL`]; dataset versions are then opened with [`Sandbox::parquet_table`].
    pub fn register_store(&self, store: Arc<dyn object_store::ObjectStore>) -> Result<(), SandboxError> {
        let url = datafusion::execution::object_store::ObjectStoreUrl::parse(VAULT_URL)
            .map_err(|e| SandboxError::Internal(e.to_string()))?;
        self.ctx.register_object_store(url.as_ref(), store);
        Ok(())
    }

    /// A Parquet object of the registered store as a table (Parquet's own projection and row-group
    /// pruning apply; the vault decrypts only the ranges read).
    pub async fn parquet_table(&self, path: &str) -> Result<Arc<dyn TableProvider>, SandboxError> {
        use datafusion::datasource::file_format::parquet::ParquetFormat;
        use datafusion::datasource::listing::{
            ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
        };
        let url = ListingTableUrl::parse(format!("{VAULT_URL}{}", path.trim_start_matches('/')))
            .map_err(|e| SandboxError::Internal(e.to_string()))?;
        let options = ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
        let config = ListingTableConfig::new(url)
            .with_listing_options(options)
            .infer_schema(&self.ctx.state())
            .await
            .map_err(|e| SandboxError::Internal(e.to_string()))?;
        let table = ListingTable::try_new(config).map_err(|e| SandboxError::Internal(e.to_string()))?;
        Ok(Arc::new(table))
    }

    /// Adds a granted dataset to the session (after [`Sandbox::parquet_table`] opened its rows).
    pub fn add_dataset(&self, d: Dataset, key: &PseudonymKey) -> Result<(), SandboxError> {
        validate_dp(&d.policy)?;
        let name = d.policy.name.clone();
        let parse = |sql: &str, schema: &datafusion::common::DFSchema| self.ctx.parse_sql_expr(sql, schema);
        let unit_key = self.unit_key.clone().unwrap_or_else(|| key.clone());
        let table = PolicyTable::new(d.policy, d.provider, key.clone(), unit_key, parse)
            .map_err(|e| SandboxError::Sql(planning_message(&e)))?;
        self.ctx
            .register_table(name.as_str(), Arc::new(table))
            .map_err(|e| SandboxError::Internal(e.to_string()))?;
        Ok(())
    }

    /// Adds a plain table (dummy data).
    pub fn add_open_table(&self, name: &str, table: Arc<dyn TableProvider>) -> Result<(), SandboxError> {
        self.ctx.register_table(name, table).map_err(|e| SandboxError::Internal(e.to_string()))?;
        Ok(())
    }

    /// Replaces the source of differential-privacy noise (tests: a seeded generator, so noisy
    /// outputs are reproducible). Real data keeps the default, the operating system's randomness.
    pub fn with_rng(self, rng: Box<dyn Rng + Send>) -> Sandbox {
        Sandbox { rng: Mutex::new(rng), ..self }
    }

    /// The most memory the session's operators held since the last [`Sandbox::reset_peak`].
    pub fn peak_memory(&self) -> usize {
        self.pool.peak.load(Ordering::Relaxed)
    }

    pub fn reset_peak(&self) {
        self.pool.peak.store(self.pool.reserved(), Ordering::Relaxed);
    }

    async fn plan(&self, sql: &str) -> Result<LogicalPlan, SandboxError> {
        if sql.len() > 64 * 1024 {
            return Err(SandboxError::Sql("查询文本超过 64 KB".into()));
        }
        let state = self.ctx.state();
        let plan =
            state.create_logical_plan(sql).await.map_err(|e| SandboxError::Sql(planning_message(&e)))?;
        if matches!(plan, LogicalPlan::Explain(_) | LogicalPlan::Analyze(_)) {
            return Err(SandboxError::Explain);
        }
        options().verify_plan(&plan).map_err(|_| SandboxError::Statement)?;
        Ok(plan)
    }

    /// Checks a query against the policy without running it (the workspace shows this beside dummy
    /// results: "on real data this would be refused because …").
    pub async fn check_sql(&self, sql: &str) -> Result<Vec<String>, SandboxError> {
        let checked = self.checked(sql, &Arc::new(GateLog::default())).await?;
        dp_query::analyse(&checked.plan)?;
        Ok(checked.tables.into_iter().collect())
    }

    /// The SM3 of a query's checked and rewritten plan: the same query shape gives the same
    /// fingerprint. Decided from the text and the grant alone (recorded when a real run is submitted).
    pub async fn fingerprint(&self, sql: &str) -> Result<String, SandboxError> {
        let checked = self.checked(sql, &Arc::new(GateLog::default())).await?;
        Ok(plan_fingerprint(&checked.plan))
    }

    /// The ε a query would spend on tables with differential privacy, from its checked plan, without
    /// running it (`None`: it reads no such table). The server compares it with the project's
    /// remaining budget before calling [`Sandbox::run`], and refuses the query if it does not fit.
    pub async fn dp_cost(&self, sql: &str) -> Result<Option<Epsilon>, SandboxError> {
        let checked = self.checked(sql, &Arc::new(GateLog::default())).await?;
        Ok(dp_query::analyse(&checked.plan)?.map(|q| q.cost))
    }

    /// [`Sandbox::run`] within a remaining budget: a query whose [`Sandbox::dp_cost`] exceeds
    /// `remaining` is refused before it reads anything ([`SandboxError::DpBudget`]). A query on
    /// tables without differential privacy runs as usual.
    pub async fn run_within(
        &self,
        sql: &str,
        remaining: Epsilon,
        cancel: &Cancel,
    ) -> Result<Outcome, SandboxError> {
        self.run_inner(sql, Some(remaining), cancel).await
    }

    async fn checked(&self, sql: &str, log: &Arc<GateLog>) -> Result<check::Checked, SandboxError> {
        let plan = self.plan(sql).await?;
        let state = self.ctx.state();
        let analyzed = state
            .analyzer()
            .execute_and_check(plan, state.config_options(), |_, _| {})
            .map_err(|e| SandboxError::Sql(planning_message(&e)))?;
        check::check(&analyzed, log)
    }

    /// Runs a query on real data through the whole policy layer. On a table with differential
    /// privacy it adds the noise and reports the ε spent in [`Outcome::epsilon`]; the budget check is
    /// the caller's ([`Sandbox::dp_cost`] before, or [`Sandbox::run_within`]).
    pub async fn run(&self, sql: &str, cancel: &Cancel) -> Result<Outcome, SandboxError> {
        self.run_inner(sql, None, cancel).await
    }

    async fn run_inner(
        &self,
        sql: &str,
        remaining: Option<Epsilon>,
        cancel: &Cancel,
    ) -> Result<Outcome, SandboxError> {
        let deadline = Instant::now() + self.limits.timeout;
        let log = Arc::new(GateLog::default());
        let checked = self.checked(sql, &log).await?;
        let fingerprint = plan_fingerprint(&checked.plan);
        let suppressed = Arc::new(AtomicU64::new(0));
        let dp = dp_query::analyse(&checked.plan)?;
        if let (Some(q), Some(remaining)) = (&dp, remaining)
            && q.cost > remaining
        {
            return Err(SandboxError::DpBudget { cost: q.cost, remaining });
        }
        let (plan, epsilon) = match dp {
            None => (checked.plan.clone(), None),
            Some(q) => {
                let released = self.release_dp(&q, cancel, deadline).await?;
                (dp_query::substitute(checked.plan.clone(), &released)?, Some(q.cost))
            }
        };
        let physical = self.physical(&plan, &checked.gates, &suppressed).await?;
        let batches = self.collect(physical, cancel, deadline).await?;
        // Strip the count gates' columns (differential privacy) from the output.
        let mut out = Vec::with_capacity(batches.len());
        let mut schema: Option<SchemaRef> = None;
        for b in batches {
            let s = b.schema();
            let keep: Vec<usize> =
                (0..s.fields().len()).filter(|i| !s.field(*i).name().starts_with(RESERVED_PREFIX)).collect();
            let projected = b.project(&keep).map_err(|e| SandboxError::Internal(e.to_string()))?;
            schema.get_or_insert_with(|| projected.schema());
            out.push(projected);
        }
        let schema = match schema {
            Some(s) => s,
            None => {
                let s = checked.plan.schema().as_arrow();
                let fields: Vec<_> =
                    s.fields().iter().filter(|f| !f.name().starts_with(RESERVED_PREFIX)).cloned().collect();
                Arc::new(Schema::new(fields))
            }
        };
        let gates = log.take();
        let dropped: u64 = gates.iter().map(|g| g.dropped).sum();
        let values: Vec<ValuePrint> = gates.iter().flat_map(|g| g.values.iter().cloned()).collect();
        let (findings, findings_total) = differencing::within(&values);
        Ok(Outcome {
            schema,
            batches: out,
            suppressed: suppressed.load(Ordering::SeqCst) + dropped,
            fingerprint,
            tables: checked.tables.into_iter().collect(),
            epsilon,
            gates,
            findings,
            findings_total,
        })
    }

    /// Runs the per-unit pre-aggregation of a DP query and releases its noisy groups.
    async fn release_dp(
        &self,
        q: &dp_query::DpQuery,
        cancel: &Cancel,
        deadline: Instant,
    ) -> Result<LogicalPlan, SandboxError> {
        let physical = self
            .ctx
            .state()
            .create_physical_plan(&q.pre)
            .await
            .map_err(|e| SandboxError::Sql(planning_message(&e)))?;
        verify_scans(&physical, checked_scans(&q.pre)?)?;
        let mut gatherer = {
            let mut rng = self.rng.lock().map_err(|_| SandboxError::Internal("rng lock".into()))?;
            q.gatherer(rng.as_mut(), self.limits.memory_bytes)?
        };
        self.drive(physical, cancel, deadline, |b| gatherer.add(&b)).await?;
        let mut rng = self.rng.lock().map_err(|_| SandboxError::Internal("rng lock".into()))?;
        gatherer.release(rng.as_mut())
    }

    /// The physical plan of a checked query with its gates installed and its scans verified.
    async fn physical(
        &self,
        plan: &LogicalPlan,
        gates: &[Gate],
        suppressed: &Arc<AtomicU64>,
    ) -> Result<Arc<dyn ExecutionPlan>, SandboxError> {
        let mut physical = self
            .ctx
            .state()
            .create_physical_plan(plan)
            .await
            .map_err(|e| SandboxError::Sql(planning_message(&e)))?;
        for gate in gates {
            let (p, found) = install_gate(physical, gate, suppressed)?;
            if !found {
                return Err(SandboxError::Internal("threshold gate not placed".into()));
            }
            physical = p;
        }
        verify_scans(&physical, checked_scans(plan)?)?;
        verify_gates(&physical, value_gates(plan))?;
        Ok(physical)
    }

    /// The physical plan of a real-data query as the platform runs it (gates installed), for the
    /// platform's own staff and benchmarks — never shown to a developer (it would carry sizes).
    pub async fn plan_for_platform(&self, sql: &str) -> Result<String, SandboxError> {
        let checked = self.checked(sql, &Arc::new(GateLog::default())).await?;
        let physical = self.physical(&checked.plan, &checked.gates, &Arc::new(AtomicU64::new(0))).await?;
        Ok(datafusion::physical_plan::displayable(physical.as_ref()).indent(true).to_string())
    }

    /// The physical plan of a query with no policy (baselines; for the platform's engineers).
    pub async fn plan_open_for_platform(&self, sql: &str) -> Result<String, SandboxError> {
        let plan = self.plan(sql).await?;
        let physical = self
            .ctx
            .state()
            .create_physical_plan(&plan)
            .await
            .map_err(|e| SandboxError::Sql(planning_message(&e)))?;
        Ok(datafusion::physical_plan::displayable(physical.as_ref()).indent(true).to_string())
    }

    /// Runs a query with no policy (dummy data, baselines); statements and EXPLAIN are still refused.
    pub async fn run_open(&self, sql: &str, cancel: &Cancel) -> Result<Vec<RecordBatch>, SandboxError> {
        let plan = self.plan(sql).await?;
        let state = self.ctx.state();
        let physical =
            state.create_physical_plan(&plan).await.map_err(|e| SandboxError::Sql(planning_message(&e)))?;
        self.collect(physical, cancel, Instant::now() + self.limits.timeout).await
    }

    async fn collect(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        cancel: &Cancel,
        deadline: Instant,
    ) -> Result<Vec<RecordBatch>, SandboxError> {
        let max_rows = self.limits.max_output_rows;
        let mut out = Vec::new();
        let mut rows = 0usize;
        self.drive(plan, cancel, deadline, |b| {
            rows += b.num_rows();
            if rows > max_rows {
                return Err(SandboxError::TooManyRows);
            }
            out.push(b);
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// Executes a plan until `deadline`, cancellable, handing each batch to `each`.
    async fn drive(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        cancel: &Cancel,
        deadline: Instant,
        mut each: impl FnMut(RecordBatch) -> Result<(), SandboxError>,
    ) -> Result<(), SandboxError> {
        // A CPU-bound operator may run long between two points where the runtime could stop it: every
        // leaf also checks the deadline and the cancel flag on each batch it passes up.
        let plan = watch(plan, deadline, cancel)?;
        let task = self.ctx.task_ctx();
        let run = async move {
            let mut stream = execute_stream(plan, task).map_err(execution)?;
            while let Some(b) = stream.next().await {
                each(b.map_err(execution)?)?;
            }
            Ok(())
        };
        let left = deadline.saturating_duration_since(Instant::now());
        tokio::select! {
            r = tokio::time::timeout(left, run) => match r {
                Ok(r) => r,
                Err(_) => Err(SandboxError::Timeout),
            },
            _ = cancel.cancelled() => Err(SandboxError::Cancelled),
        }
    }
}

/// Why the watchdog stopped a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Timeout,
    Cancelled,
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for Stop {}

/// Wraps every node of the plan in a check of the deadline and the cancel flag, so a CPU-bound
/// operator (a join producing billions of rows from one input batch) is stopped at its next output
/// batch, not only when a scan is polled again.
fn watch(
    plan: Arc<dyn ExecutionPlan>,
    deadline: std::time::Instant,
    cancel: &Cancel,
) -> Result<Arc<dyn ExecutionPlan>, SandboxError> {
    let children = plan.children();
    let plan = if children.is_empty() {
        plan
    } else {
        let new: Vec<Arc<dyn ExecutionPlan>> =
            children.into_iter().map(|c| watch(c.clone(), deadline, cancel)).collect::<Result<_, _>>()?;
        replace_children_if_necessary(plan, new).map_err(|e| SandboxError::Internal(e.to_string()))?
    };
    let cancel = cancel.clone();
    let schema = plan.schema();
    let f = move |b: RecordBatch| -> datafusion::common::Result<RecordBatch> {
        if cancel.is_cancelled() {
            return Err(DataFusionError::External(Box::new(Stop::Cancelled)));
        }
        if std::time::Instant::now() > deadline {
            return Err(DataFusionError::External(Box::new(Stop::Timeout)));
        }
        Ok(b)
    };
    Ok(Arc::new(MapExec::new("YunshuWatchdog", plan, schema, Arc::new(f))))
}

/// Maps an error raised while data was read: memory exhaustion is named, anything else is not shown.
fn execution(e: DataFusionError) -> SandboxError {
    match e.find_root() {
        DataFusionError::ResourcesExhausted(_) => SandboxError::Memory,
        DataFusionError::External(x) => match x.downcast_ref::<Stop>() {
            Some(Stop::Timeout) => SandboxError::Timeout,
            Some(Stop::Cancelled) => SandboxError::Cancelled,
            None => SandboxError::Execution,
        },
        _ => SandboxError::Execution,
    }
}

/// A planning error's text, shortened; planning sees only the granted schema and the query's own text.
pub(crate) fn planning_message(e: &DataFusionError) -> String {
    let text = e.find_root().to_string();
    let text = text
        .trim_start_matches("Error during planning: ")
        .trim_start_matches("SQL error: ")
        .trim_start_matches("Schema error: ")
        .to_string();
    let mut short: String = text.chars().take(300).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

/// Wraps the deepest node carrying all of a gate's count columns (the aggregation itself, or the
/// projection renaming its outputs) in a filter that drops groups below k and counts them.
fn install_gate(
    plan: Arc<dyn ExecutionPlan>,
    gate: &Gate,
    suppressed: &Arc<AtomicU64>,
) -> Result<(Arc<dyn ExecutionPlan>, bool), SandboxError> {
    let mut found = false;
    let mut children = Vec::new();
    for c in plan.children() {
        let (c, f) = install_gate(c.clone(), gate, suppressed)?;
        found |= f;
        children.push(c);
    }
    if found {
        let p = replace_children_if_necessary(plan, children)
            .map_err(|e| SandboxError::Internal(e.to_string()))?;
        return Ok((p, true));
    }
    let schema = plan.schema();
    let mut idx = Vec::new();
    for g in &gate.columns {
        match schema.index_of(&g.name) {
            Ok(i) => idx.push((i, i64::from(g.k))),
            Err(_) => return Ok((plan, false)),
        }
    }
    let counter = suppressed.clone();
    let f = move |b: RecordBatch| -> datafusion::common::Result<RecordBatch> {
        let mut keep = vec![true; b.num_rows()];
        for (i, k) in &idx {
            let c = b
                .column(*i)
                .as_primitive_opt::<Int64Type>()
                .ok_or_else(|| DataFusionError::Internal("gate column type".into()))?;
            for (r, slot) in keep.iter_mut().enumerate() {
                if c.is_null(r) || c.value(r) < *k {
                    *slot = false;
                }
            }
        }
        let dropped = keep.iter().filter(|x| !**x).count() as u64;
        counter.fetch_add(dropped, Ordering::SeqCst);
        if dropped == 0 {
            return Ok(b);
        }
        Ok(filter_record_batch(&b, &BooleanArray::from(keep))?)
    };
    let gated = MapExec::new("YunshuThresholdGate", plan.clone(), schema, Arc::new(f));
    Ok((Arc::new(gated), true))
}

/// The policy scans a plan has. Any other scan must be the released groups of a DP query (the plan
/// check refused every other table before).
fn checked_scans(plan: &LogicalPlan) -> Result<usize, SandboxError> {
    let mut n = 0;
    let mut other = false;
    let _ = plan.apply(|p| {
        if let LogicalPlan::TableScan(ts) = p {
            let policy = datafusion::datasource::source_as_provider(&ts.source)
                .ok()
                .is_some_and(|t| (t.as_ref() as &dyn std::any::Any).is::<PolicyTable>());
            if policy {
                n += 1;
            } else if ts.table_name.table() != dp_query::RELEASED_TABLE {
                other = true;
            }
        }
        Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
    });
    if other {
        return Err(SandboxError::Internal("scan of a table without policy".into()));
    }
    Ok(n)
}

/// A DP setting must be consistent and sit on a protected table (it bounds each unit).
fn validate_dp(policy: &TablePolicy) -> Result<(), SandboxError> {
    if let Some(dp) = &policy.dp {
        dp.validate().map_err(SandboxError::Dp)?;
        if !policy.is_protected() {
            return Err(SandboxError::Dp(crate::dp::DpError::InvalidConfig(
                "differential privacy needs the table's privacy unit",
            )));
        }
    }
    Ok(())
}

/// The final plan check: every table the checked plan scans is read through a policy scan.
fn verify_scans(plan: &Arc<dyn ExecutionPlan>, scans: usize) -> Result<(), SandboxError> {
    fn count(p: &Arc<dyn ExecutionPlan>) -> usize {
        let own = usize::from(p.name() == POLICY_SCAN);
        own + p.children().into_iter().map(count).sum::<usize>()
    }
    let found = count(plan);
    if found != scans {
        return Err(SandboxError::Internal(format!("{scans} scans but {found} policy scans")));
    }
    Ok(())
}

fn plan_fingerprint(plan: &LogicalPlan) -> String {
    use sm3::Digest;
    hex::encode(sm3::Sm3::digest(plan.display_indent().to_string().as_bytes()))
}

/// The per-value gates a logical plan has.
fn value_gates(plan: &LogicalPlan) -> usize {
    let mut n = 0;
    let _ = plan.apply(|p| {
        if let LogicalPlan::Extension(e) = p
            && e.node.as_any().is::<GateNode>()
        {
            n += 1;
        }
        Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
    });
    n
}

/// The final plan check for gates: every gate of the logical plan is a gate of the physical plan.
fn verify_gates(plan: &Arc<dyn ExecutionPlan>, gates: usize) -> Result<(), SandboxError> {
    fn count(p: &Arc<dyn ExecutionPlan>) -> usize {
        let own = usize::from(p.name() == GATE_EXEC);
        own + p.children().into_iter().map(count).sum::<usize>()
    }
    let found = count(plan);
    if found != gates {
        return Err(SandboxError::Internal(format!("{gates} gates but {found} gate nodes")));
    }
    Ok(())
}

impl Sandbox {
    /// A session over in-memory tables (the workspace's dummy data): no policy, statements refused.
    pub fn open_batches(tables: Vec<(String, RecordBatch)>, limits: Limits) -> Result<Sandbox, SandboxError> {
        let mut providers: Vec<(String, Arc<dyn TableProvider>)> = Vec::new();
        for (name, batch) in tables {
            let mem = datafusion::datasource::MemTable::try_new(batch.schema(), vec![vec![batch]])
                .map_err(|e| SandboxError::Internal(e.to_string()))?;
            providers.push((name, Arc::new(mem)));
        }
        Sandbox::open(providers, limits)
    }
}
