//! The sandbox workspace (沙箱工作台, sandbox.md): what a developer's project may query, on dummy or on
//! real data, and the way out of the platform (outbox, review, release, download).
//!
//! **The chain on every run.** Each run — dummy or real — first re-checks the caller (staff of the
//! project's developer, eligible for data access) and the whole access chain of every grant of the
//! project ([`super::data_use::grant_chain`], which includes [`super::sanctions::developer_access`]);
//! only grants whose chain holds today are in the session's catalog, so a sanction, a termination, a
//! negative-list entry, a revocation or an expiry stops access at the next query. Releases and
//! downloads check the developer's access again. Every run is recorded (`sandbox_query`, audited in
//! the same transaction with its text, plan fingerprint, datasets and outcome), refusals included.
//!
//! **Dummy runs** read nothing real at query time: the platform profiles the current version of each
//! granted dataset into coarsened statistics ([`yunshu_sandbox::dummy`]) and generates synthetic rows
//! with the same schema, cached per version and field set; the developer sees full results. The same
//! SQL is also checked against the real policy (planning only), so a refusal shows before submitting.
//!
//! **Real runs** are submitted, not awaited: the submission checks the query against the policy and
//! the ε budget from its plan alone (a refusal then is decided by the text, the grant and the
//! budget), records the query with its ε charge and a queued output, and starts a job. The job runs
//! on the sandbox's own runtime, apart from the threads that answer requests, at most
//! [`crate::Config::sandbox_concurrent_runs`] at a time; it re-checks the chain, runs the query
//! through the policy layer (hidden fields absent, join keys pseudonymised under a per-project key,
//! row scope inside the scan, the per-value gate), writes the result encrypted to the vault as
//! Parquet (`sandbox/{project}/{token}.parquet`, SM3 recorded) with the contribution fingerprints of
//! its values beside it, compares those with the developer organisation's earlier outputs over the
//! same data (differencing, held for review), and puts the output before the reviewers with the check
//! report — or, if it failed, with why. Before release the developer sees the same whatever the data:
//! "submitted for review" and the output's id, by which it can withdraw it.
//!
//! **The airlock.** Staff of the project's operator with the reviewer role release or reject an
//! output (two different reviewers from grade L3; never the requester; a failed check is never
//! released); each look at an output's values is audited. Released outputs are immutable; the
//! developer downloads them as CSV, Parquet or XLSX, the stored file's SM3 re-verified and every
//! download audited.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use axum::http::StatusCode;
use chrono::NaiveDate;
use object_store::ObjectStoreExt;
use object_store::path::Path as ObjectPath;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use yunshu_domain::catalog::{Grade, UsageClass};
use yunshu_domain::data_use::{
    CheckOutcome, DpBudget, Epsilon, OutputCheck, OutputReview, ReviewError, ReviewStatus,
};
use yunshu_sandbox::arrow::array::{Array, ArrayRef, RecordBatch};
use yunshu_sandbox::arrow::datatypes::{DataType, SchemaRef};
use yunshu_sandbox::checks::CheckConfig;
use yunshu_sandbox::differencing;
use yunshu_sandbox::dummy::{DummyColumn, Semantic};
use yunshu_sandbox::policy::DpPolicy;
use yunshu_sandbox::{
    Cancel, ColumnPolicy, Dataset, Limits, PseudonymKey, Sandbox, SandboxError, TablePolicy,
};
use yunshu_store::calendar::PeriodUnit;
use yunshu_store::data_use::{GrantRecord, ProjectRecord};
use yunshu_store::datasets::VersionRecord;
use yunshu_store::sandbox_runs::{
    FinishedRun, NewOutput, NewQuery, OutputRecord, QueryRecord, QueryRun, ReviewRecord,
};
use yunshu_store::tasks::{NewTask, Period};
use yunshu_store::{Change, StoreError};

use crate::AppState;
use crate::context::Ctx;
use crate::error::{AppError, AppResult};

/// How many earlier outputs of the developer organisation over the same data a new one is compared
/// with for differencing.
pub const HISTORY: i64 = 200;
/// Rows of a dummy table.
pub const DUMMY_ROWS: usize = 2_000;
/// Rows of the real version read to profile it for dummy data.
const PROFILE_ROWS: usize = 200_000;
/// Rows of a dummy result shown in the workspace (all rows go into the query record's count).
pub const SHOWN_ROWS: usize = 500;
/// Rows of an output a reviewer sees on the review page.
pub const REVIEW_ROWS: usize = 500;
/// Working days the operator's reviewers have to decide on an output.
pub const REVIEW_WORKING_DAYS: u32 = 3;

fn check_label(code: &str) -> &'static str {
    CheckOutcome::parse(code).map(|c| c.label_zh()).unwrap_or("")
}

/// The sandbox's own state in the running server: the secret its pseudonym keys derive from, the
/// per-query limits, the dummy tables already generated, the runs in progress (to cancel), and the
/// runtime the runs execute on.
///
/// Queries never run on the threads that answer requests: DataFusion work goes to a dedicated
/// multi-threaded runtime ([`Runtime::on_sandbox`]), so a CPU-bound join cannot stop the pages, the
/// API or the health check; real runs are jobs ([`spawn_job`]) limited to
/// [`crate::Config::sandbox_concurrent_runs`] at a time, each cancellable by its output's id.
pub struct Runtime {
    secret: [u8; 32],
    pub limits: Limits,
    dummy: Mutex<HashMap<(i64, Vec<String>), RecordBatch>>,
    /// Dummy runs in progress by (project, user): 取消 stops all of the caller's runs in the project.
    running: Mutex<HashMap<(i64, i64), Vec<DummyRun>>>,
    next_run: AtomicU64,
    /// Real runs in progress, by output id.
    jobs: Mutex<HashMap<i64, Cancel>>,
    /// One lock per project, held while a real run is submitted: from reading the ε spent to
    /// recording the charge, so two submissions cannot both fit the same remaining budget.
    real_runs: Mutex<HashMap<i64, std::sync::Arc<tokio::sync::Mutex<()>>>>,
    /// One lock per developer organisation, held by a finishing run from reading the history of its
    /// outputs to recording its own fingerprints, so two runs cannot miss each other as a pair.
    histories: Mutex<HashMap<i64, std::sync::Arc<tokio::sync::Mutex<()>>>>,
    real_slots: std::sync::Arc<tokio::sync::Semaphore>,
    dummy_slots: std::sync::Arc<tokio::sync::Semaphore>,
    exec: std::sync::OnceLock<Exec>,
    /// Jobs submitted in this process and not finished (queued or running).
    active: tokio::sync::watch::Sender<usize>,
    stopping: AtomicBool,
}

/// A dummy run in progress: its number and its cancel handle.
type DummyRun = (u64, Cancel);

/// The sandbox's tokio runtime, shut down without waiting when the server state goes away.
struct Exec(Option<tokio::runtime::Runtime>);

impl Drop for Exec {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// Dummy runs one server executes at once (they read at most [`DUMMY_ROWS`] rows a table).
const DUMMY_SLOTS: usize = 4;

impl Runtime {
    /// Opens the runtime with the secret in `data_dir/keys/sandbox.key`, created on first start
    /// (32 random bytes, hex). Losing the file only changes future pseudonyms; it is never shown.
    pub fn open(data_dir: &Path, limits: Limits, concurrent_runs: usize) -> Result<Runtime, String> {
        let path = data_dir.join("keys/sandbox.key");
        let secret = match std::fs::read_to_string(&path) {
            Ok(text) => {
                let bytes = hex::decode(text.trim())
                    .map_err(|_| format!("{} is not a sandbox key", path.display()))?;
                <[u8; 32]>::try_from(bytes.as_slice())
                    .map_err(|_| format!("{} is not a 32-byte sandbox key", path.display()))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut secret = [0u8; 32];
                getrandom::fill(&mut secret)
                    .map_err(|e| format!("no randomness for the sandbox key: {e}"))?;
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
                }
                std::fs::write(&path, hex::encode(secret))
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                restrict(&path);
                secret
            }
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        Ok(Runtime {
            secret,
            limits,
            dummy: Mutex::new(HashMap::new()),
            running: Mutex::new(HashMap::new()),
            next_run: AtomicU64::new(1),
            jobs: Mutex::new(HashMap::new()),
            real_runs: Mutex::new(HashMap::new()),
            histories: Mutex::new(HashMap::new()),
            real_slots: std::sync::Arc::new(tokio::sync::Semaphore::new(concurrent_runs.max(1))),
            dummy_slots: std::sync::Arc::new(tokio::sync::Semaphore::new(DUMMY_SLOTS)),
            exec: std::sync::OnceLock::new(),
            active: tokio::sync::watch::channel(0).0,
            stopping: AtomicBool::new(false),
        })
    }

    /// The pseudonym key of one project: pseudonyms differ between projects, so two projects'
    /// outputs cannot be linked through them.
    fn key(&self, project_id: i64) -> PseudonymKey {
        PseudonymKey::derive(&self.secret, &format!("project:{project_id}"))
    }

    /// The key of privacy-unit carriers for one developer organisation: never visible, the same in
    /// all its projects, so the contribution fingerprints of its outputs can be compared.
    fn unit_key(&self, developer_org_id: i64) -> PseudonymKey {
        PseudonymKey::derive(&self.secret, &format!("units:org:{developer_org_id}"))
    }

    fn lock_of(
        map: &Mutex<HashMap<i64, std::sync::Arc<tokio::sync::Mutex<()>>>>,
        key: i64,
    ) -> AppResult<std::sync::Arc<tokio::sync::Mutex<()>>> {
        let mut m = map.lock().map_err(|_| AppError::internal("sandbox lock poisoned"))?;
        Ok(m.entry(key).or_default().clone())
    }

    /// Runs `work` on the sandbox's own runtime and waits for it.
    pub async fn on_sandbox<F, T>(&self, work: F) -> AppResult<T>
    where
        F: std::future::Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let exec = self.exec.get_or_init(|| {
            let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
            Exec(
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(threads)
                    .thread_name("yunshu-sandbox")
                    .enable_all()
                    .build()
                    .map_err(|e| tracing::error!(error = %e, "the sandbox runtime did not start"))
                    .ok(),
            )
        });
        let handle = exec.0.as_ref().ok_or_else(|| AppError::internal("sandbox runtime unavailable"))?;
        handle.spawn(work).await.map_err(|e| AppError::internal(format!("sandbox task: {e}")))
    }

    /// Cancels the caller's dummy runs in progress in a project.
    pub fn cancel(&self, project_id: i64, user_id: i64) -> bool {
        let running = self
            .running
            .lock()
            .map(|m| m.get(&(project_id, user_id)).cloned().unwrap_or_default())
            .unwrap_or_default();
        for (_, c) in &running {
            c.cancel();
        }
        !running.is_empty()
    }

    /// Cancels the run of an output if it is in progress in this process.
    pub(crate) fn cancel_job(&self, output_id: i64) {
        if let Some(c) = self.jobs.lock().ok().and_then(|m| m.get(&output_id).cloned()) {
            c.cancel();
        }
    }

    /// Stops every run in progress (shutdown): they stay queued and run again at the next start.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        if let Ok(m) = self.jobs.lock() {
            for c in m.values() {
                c.cancel();
            }
        }
        if let Ok(m) = self.running.lock() {
            for c in m.values().flatten() {
                c.1.cancel();
            }
        }
    }

    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Waits until every real run submitted in this process has finished (tests, the demo seed).
    pub async fn settle(&self) {
        let mut rx = self.active.subscribe();
        let _ = rx.wait_for(|n| *n == 0).await;
    }
}

#[cfg(unix)]
fn restrict(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
}

#[cfg(not(unix))]
fn restrict(_path: &Path) {}

/// Removes a dummy run's cancel handle when the run ends, however it ends; a run whose request went
/// away (the client disconnected) is cancelled.
struct RunGuard {
    runtime: std::sync::Arc<Runtime>,
    key: (i64, i64),
    id: u64,
    cancel: Cancel,
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        self.cancel.cancel();
        if let Ok(mut m) = self.runtime.running.lock()
            && let Some(v) = m.get_mut(&self.key)
        {
            v.retain(|(id, _)| *id != self.id);
            if v.is_empty() {
                m.remove(&self.key);
            }
        }
    }
}

/// Counts a job as active until it ends.
struct ActiveJob(std::sync::Arc<Runtime>);

impl ActiveJob {
    fn start(runtime: std::sync::Arc<Runtime>) -> ActiveJob {
        runtime.active.send_modify(|n| *n += 1);
        ActiveJob(runtime)
    }
}

impl Drop for ActiveJob {
    fn drop(&mut self) {
        self.0.active.send_modify(|n| *n = n.saturating_sub(1));
    }
}

// ---- the catalog of a project -------------------------------------------------------------------

/// One field of a granted table as the developer sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WorkspaceColumn {
    pub name: String,
    /// Usage class code (`open`, `dimension`, `aggregate`, `join_key`).
    pub class: String,
    pub class_label: String,
    /// Declared type (字符串, 整数, 日期 …).
    pub kind_label: String,
    pub grade: String,
    /// Personal information: comparisons with constants limited to =, <>, IN.
    pub sensitive: bool,
}

/// A granted dataset in a project's catalog.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WorkspaceTable {
    /// The name SQL uses: `ds{resource_id}`.
    pub name: String,
    pub resource_id: i64,
    pub resource_name: String,
    pub grant_id: i64,
    pub k: u32,
    /// ε budget of the grant (differential privacy), if any.
    pub epsilon: Option<f64>,
    /// ε spent so far on this grant.
    pub epsilon_spent: f64,
    /// Differential privacy applies (the grant has an ε budget): aggregates are noised and charged.
    pub dp: bool,
    /// Under DP: `字段 [下限, 上限]` of the fields that may be summed or averaged.
    pub dp_bounds: Vec<String>,
    pub row_scope: String,
    pub grade: String,
    pub columns: Vec<WorkspaceColumn>,
    /// Whether the dataset has a current version to query (else why not).
    pub available: bool,
    pub unavailable_reason: String,
    #[serde(skip)]
    spent_exact: Epsilon,
    #[serde(skip)]
    version: Option<VersionRecord>,
    #[serde(skip)]
    policy: Option<TablePolicy>,
    #[serde(skip)]
    grade_value: Grade,
}

/// A grant of the project whose chain does not hold today.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SuspendedGrant {
    pub grant_id: i64,
    pub code: String,
    pub message: String,
}

/// What a project may query today.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Catalog {
    pub tables: Vec<WorkspaceTable>,
    pub suspended: Vec<SuspendedGrant>,
    /// `(grant, newer grant)`: grants in force over a resource a newer grant of the project also
    /// covers. Only the newest is queryable: each grant's field combination was graded and assessed
    /// on its own (Art. 28), so two grants are never merged into one table.
    pub superseded: Vec<(i64, i64)>,
}

impl Catalog {
    fn queryable(&self) -> impl Iterator<Item = &WorkspaceTable> {
        self.tables.iter().filter(|t| t.available)
    }
}

/// The privacy unit of a resource: its first direct identifier (a person), else its first unified
/// social credit code (an enterprise), else none (no personal data: no threshold).
fn unit_of(items: &[yunshu_domain::catalog::DataItem], profile: &Value) -> Option<String> {
    if let Some(i) = items.iter().find(|i| i.pi.direct) {
        return Some(i.name.clone());
    }
    identifier_columns(profile)
        .into_iter()
        .find(|(_, code)| code == "uscc" || code == "resident_id")
        .map(|(name, _)| name)
}

/// `(column, identifier code)` of the profile's identifier columns.
fn identifier_columns(profile: &Value) -> Vec<(String, String)> {
    profile["columns"]
        .as_array()
        .map(|cols| {
            cols.iter()
                .filter_map(|c| Some((c["name"].as_str()?.to_owned(), c["identifier"].as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether the profile shows exactly one row per unit (the engine then counts rows, not distinct units).
fn one_row_per_unit(profile: &Value, unit: &str) -> bool {
    let rows = profile["rows"].as_u64();
    let col = profile["columns"].as_array().and_then(|c| c.iter().find(|c| c["name"] == unit));
    let Some(col) = col else { return false };
    let distinct = col["distinct"].as_u64().or_else(|| col["distinct"].as_str().and_then(|s| s.parse().ok()));
    rows.is_some() && distinct == rows && col["nulls"].as_u64() == Some(0)
}

/// ε charged per grant, exactly, from the query records (`grant_id:num/den` lines). A line that does
/// not parse counts as the whole budget spent: a damaged record must not give budget back.
fn spent_by_grant(queries: &[QueryRecord]) -> HashMap<i64, Option<Epsilon>> {
    let mut spent: HashMap<i64, Option<Epsilon>> = HashMap::new();
    for q in queries {
        for line in q.dp_charges.lines().filter(|l| !l.trim().is_empty()) {
            let Some((g, e)) = line.split_once(':') else { continue };
            let Ok(g) = g.trim().parse::<i64>() else { continue };
            let entry = spent.entry(g).or_insert(Some(Epsilon::ZERO));
            *entry = match (*entry, Epsilon::parse(e)) {
                (Some(total), Ok(e)) => total.checked_add(e).ok(),
                _ => None,
            };
        }
    }
    spent
}

/// The stored form of one charge.
fn charge_line(grant_id: i64, e: Epsilon) -> String {
    format!("{grant_id}:{}/{}", e.numerator(), e.denominator())
}

/// The project's catalog today: for each resource, the newest grant whose whole chain holds.
pub async fn catalog(state: &AppState, project: &ProjectRecord, today: NaiveDate) -> AppResult<Catalog> {
    let mut grants: Vec<GrantRecord> = state.store.grants_of_project(project.id).await?;
    grants.sort_by_key(|g| std::cmp::Reverse(g.id));
    let history = state.store.sandbox_queries(project.id, i64::MAX).await?;
    let spent = spent_by_grant(&history);
    let mut tables: Vec<WorkspaceTable> = Vec::new();
    let mut suspended = Vec::new();
    let mut superseded = Vec::new();
    for g in &grants {
        if let Err(denied) = super::data_use::grant_chain(state, g.id, today).await? {
            suspended.push(SuspendedGrant {
                grant_id: g.id,
                code: denied.code().to_owned(),
                message: denied.message_zh(),
            });
            continue;
        }
        for rid in g.grant.resources() {
            if let Some(newer) = tables.iter().find(|t| t.resource_id == rid) {
                if !superseded.iter().any(|(old, _)| *old == g.id) {
                    superseded.push((g.id, newer.grant_id));
                }
                continue;
            }
            // The budget is the project's for this resource: what every grant of the project over it
            // has spent counts, so a newer grant does not start afresh. `None`: unreadable charges —
            // treat the budget as spent.
            let spent = grants
                .iter()
                .filter(|g2| g2.grant.resources().contains(&rid))
                .try_fold(Epsilon::ZERO, |acc, g2| {
                    spent.get(&g2.id).copied().unwrap_or(Some(Epsilon::ZERO))?.checked_add(acc).ok()
                });
            tables.push(table_of(state, g, rid, spent).await?);
        }
    }
    tables.sort_by_key(|t| t.resource_id);
    Ok(Catalog { tables, suspended, superseded })
}

async fn table_of(
    state: &AppState,
    g: &GrantRecord,
    rid: i64,
    spent: Option<Epsilon>,
) -> AppResult<WorkspaceTable> {
    let r = state.store.resource(rid).await?;
    let versions = state.store.versions_of(rid).await?;
    let version = super::datasets::current(&versions).cloned();
    let profile: Value =
        version.as_ref().and_then(|v| serde_json::from_str(&v.new.profile_json).ok()).unwrap_or(Value::Null);
    let name = format!("ds{rid}");
    let mut columns = Vec::new();
    let mut policies = Vec::new();
    let mut grade = Grade::L1;
    for f in g.grant.fields.iter().filter(|f| f.resource_id == rid && f.class != UsageClass::Hidden) {
        let Some(item) = r.items.iter().find(|i| i.name == f.item) else { continue };
        let sensitive = item.pi.is_personal();
        grade = grade.max(item.grade);
        columns.push(WorkspaceColumn {
            name: item.name.clone(),
            class: f.class.code().to_owned(),
            class_label: f.class.label_zh().to_owned(),
            kind_label: item.kind.label_zh().to_owned(),
            grade: item.grade.code().to_uppercase(),
            sensitive,
        });
        policies.push(ColumnPolicy::new(&item.name, f.class, sensitive));
    }
    grade = grade.max(g.grant.combined.grade);
    let personal = r.items.iter().any(|i| i.pi.is_personal());
    let unit = unit_of(&r.items, &profile);
    let (available, reason) = match (&version, &unit) {
        (None, _) => (false, "该资源尚无可用的数据版本".to_owned()),
        (Some(_), None) if personal => {
            (false, "该资源含个人信息但未登记直接标识符，无法确定隐私单元，不能查询".to_owned())
        }
        _ => (true, String::new()),
    };
    let unit_per_row = unit.as_deref().is_some_and(|u| one_row_per_unit(&profile, u));
    // The grant's row scope is a condition the operator wrote (the request's scope is the prose the
    // authorities approved, shown beside it); an unparsable condition refuses every real query.
    let scope = g.grant.row_scope.trim();
    let row_filter = (!scope.is_empty()).then(|| scope.to_owned());
    // A grant with an ε budget puts the table under differential privacy with the configured
    // settings; bounds only for the fields this grant exposes.
    let dp = g.grant.epsilon.map(|_| {
        let cfg = &state.config.dp;
        let mut p = DpPolicy::new(cfg.epsilon_per_aggregate);
        p.max_rows_per_group = cfg.max_rows_per_group;
        p.max_groups = cfg.max_groups;
        p.bounds = cfg
            .bounds
            .iter()
            .filter(|(n, _)| columns.iter().any(|c| &c.name == *n))
            .map(|(n, b)| (n.clone(), *b))
            .collect();
        p
    });
    let dp_bounds = dp
        .as_ref()
        .map(|p| p.bounds.iter().map(|(n, b)| format!("{n} [{}, {}]", b.lower, b.upper)).collect())
        .unwrap_or_default();
    let total = g.grant.epsilon.and_then(|e| Epsilon::from_decimal(e).ok());
    let spent_exact = spent.or(total).unwrap_or(Epsilon::ZERO);
    let policy = TablePolicy {
        name: name.clone(),
        unit,
        unit_per_row,
        k: g.grant.k.get(),
        columns: policies,
        row_filter,
        dp: dp.clone(),
    };
    Ok(WorkspaceTable {
        name,
        resource_id: rid,
        resource_name: r.meta.name.clone(),
        grant_id: g.id,
        k: g.grant.k.get(),
        epsilon: g.grant.epsilon,
        epsilon_spent: spent_exact.as_f64(),
        dp: dp.is_some(),
        dp_bounds,
        spent_exact,
        row_scope: g.grant.row_scope.clone(),
        grade: grade.code().to_uppercase(),
        columns,
        available,
        unavailable_reason: reason,
        version,
        policy: Some(policy),
        grade_value: grade,
    })
}

// ---- access -------------------------------------------------------------------------------------

/// A project the caller may run queries in: staff of its developer, eligible for data access.
pub async fn project_for_query(state: &AppState, ctx: &Ctx, project_id: i64) -> AppResult<ProjectRecord> {
    let p = super::data_use::project_for(state, ctx, project_id, "sandbox.query").await?;
    if ctx.me()?.org.id != p.project.developer {
        return Err(AppError::forbidden());
    }
    ctx.require_data_access()?;
    Ok(p)
}

/// An output with the project it belongs to, for `action` (`project.view`, `sandbox.review`,
/// `sandbox.download`).
pub async fn output_for(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    action: &str,
) -> AppResult<(OutputRecord, ProjectRecord)> {
    let out = state.store.sandbox_output(id).await?;
    let project = super::data_use::project_for(state, ctx, out.project_id, action).await?;
    Ok((out, project))
}

// ---- runs ---------------------------------------------------------------------------------------

/// Dummy or real data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Dummy,
    Real,
}

impl Mode {
    pub fn code(self) -> &'static str {
        match self {
            Mode::Dummy => "dummy",
            Mode::Real => "real",
        }
    }

    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "dummy" => Some(Mode::Dummy),
            "real" => Some(Mode::Real),
            _ => None,
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Mode::Dummy => "模拟数据",
            Mode::Real => "真实数据",
        }
    }
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct RunInput {
    /// The SQL (one SELECT over the granted tables `ds{resource_id}`).
    #[serde(default)]
    pub sql: String,
    /// `dummy` (default) or `real`.
    #[serde(default = "default_mode")]
    pub mode: Mode,
}

fn default_mode() -> Mode {
    Mode::Dummy
}

/// One reason of a check report.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReportLine {
    pub code: String,
    /// pass / review / fail.
    pub outcome: String,
    pub message: String,
}

/// What a run produced, as the developer may see it.
///
/// For a real run this is the same whatever the real values are (sandbox.md layer 5): "submitted
/// for review" with the output's id, or a refusal decided from the query text, the grant and the
/// budget alone. Results, sizes, suppressions, check outcomes, errors raised on real rows, run times
/// and checksums go to the operator's reviewers; the developer sees them once the output is released.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RunResult {
    pub query_id: i64,
    pub mode: Mode,
    /// `ok` (dummy run done), `submitted` (real run accepted for review), `refused` or `error`.
    pub outcome: String,
    pub error_code: String,
    pub error: String,
    /// Dummy runs: the result (first [`SHOWN_ROWS`] rows). Real runs: empty.
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Rows of the result: dummy runs only.
    pub total_rows: Option<i64>,
    /// Dummy runs: why the same SQL would be refused on real data, if it would.
    pub real_check: String,
    /// Real runs: the output in the outbox (its run can be withdrawn by this id).
    pub output_id: Option<i64>,
    /// Dummy runs: wall time in milliseconds (real runs: none — it would depend on the data).
    pub elapsed_ms: Option<i64>,
}

impl RunResult {
    /// Whether fewer rows are shown than the result has.
    pub fn truncated(&self) -> bool {
        self.total_rows.is_some_and(|t| i64::try_from(self.rows.len()).unwrap_or(i64::MAX) < t)
    }

    fn refused(mode: Mode, code: &str, message: String) -> RunResult {
        RunResult {
            query_id: 0,
            mode,
            outcome: "refused".into(),
            error_code: code.to_owned(),
            error: message,
            columns: Vec::new(),
            rows: Vec::new(),
            total_rows: None,
            real_check: String::new(),
            output_id: None,
            elapsed_ms: None,
        }
    }
}

fn sandbox_outcome(e: &SandboxError) -> &'static str {
    match e {
        SandboxError::Timeout
        | SandboxError::Memory
        | SandboxError::Cancelled
        | SandboxError::Execution
        | SandboxError::TooManyRows
        | SandboxError::Internal(_) => "error",
        _ => "refused",
    }
}

/// A refusal of the policy session or the plan, as `(code, message)`.
type SessionError = (String, String);

fn session_error(e: &SandboxError) -> SessionError {
    (e.code().to_owned(), e.message_zh())
}

/// Runs one query of a project, records it (audited) and answers what the caller may see. Dummy
/// runs answer with their result; real runs are submitted for review and run apart ([`spawn_job`]).
/// Refusals and errors are answers too (recorded, with their code), not HTTP errors; HTTP errors are
/// for requests that are not runs at all (no access, empty SQL).
pub async fn run(state: &AppState, ctx: &Ctx, project_id: i64, input: &RunInput) -> AppResult<RunResult> {
    let sql = input.sql.trim();
    if sql.is_empty() {
        return Err(AppError::invalid("sql", "sandbox.sql_empty", "请输入查询语句"));
    }
    if sql.len() > 64 * 1024 {
        return Err(AppError::invalid("sql", "sandbox.sql_too_long", "查询文本超过 64 KB"));
    }
    let project = project_for_query(state, ctx, project_id).await?;
    let me = ctx.me()?;
    let catalog = catalog(state, &project, ctx.today()).await?;
    let mut result = match input.mode {
        Mode::Dummy => {
            let cancel = Cancel::default();
            let id = state.sandbox.next_run.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut m) = state.sandbox.running.lock() {
                m.entry((project.id, me.user.id)).or_default().push((id, cancel.clone()));
            }
            let _guard = RunGuard {
                runtime: state.sandbox.clone(),
                key: (project.id, me.user.id),
                id,
                cancel: cancel.clone(),
            };
            let started = Instant::now();
            let permit =
                state.sandbox.dummy_slots.clone().acquire_owned().await.map_err(AppError::internal)?;
            let work = run_dummy(state.clone(), project.clone(), catalog.clone(), sql.to_owned(), cancel);
            let mut r = state.sandbox.on_sandbox(work).await??;
            drop(permit);
            r.elapsed_ms = Some(i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX));
            r
        }
        Mode::Real => submit(state, ctx, &project, &catalog, sql).await?,
    };
    if result.query_id == 0 {
        // Not yet recorded (dummy runs and refusals before submission): record it now.
        let q = NewQuery {
            project_id: project.id,
            user_id: me.user.id,
            mode: input.mode.code().into(),
            sql: sql.to_owned(),
            fingerprint: String::new(),
            tables: catalog.queryable().map(|t| t.name.clone()).collect::<Vec<_>>().join(","),
            outcome: result.outcome.clone(),
            error_code: result.error_code.clone(),
            rows: result.total_rows.unwrap_or(0),
            suppressed: 0,
            units_object: String::new(),
            differencing_with: None,
            dp_charges: String::new(),
            elapsed_ms: result.elapsed_ms.unwrap_or(0),
        };
        let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
        result.query_id = tx.insert_sandbox_query(&q).await?;
        tx.commit().await?;
    }
    Ok(result)
}

/// Records that a platform administrator runs a query from the command line with `ctx`'s access
/// (`yunshu sandbox run`), before the run and in its own transaction, so the log shows it whatever
/// the run does.
pub async fn record_admin_run(
    state: &AppState,
    ctx: &Ctx,
    project_id: i64,
    mode: Mode,
    sql: &str,
) -> AppResult<()> {
    let me = ctx.me()?;
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    tx.audit(Change::ok(
        "sandbox.admin_run",
        "sandbox_project",
        project_id,
        json!({"as_user": me.user.username, "mode": mode.code(), "sql": sql, "via": "yunshu sandbox run"}),
    ))
    .await?;
    tx.commit().await?;
    Ok(())
}

fn no_tables(mode: Mode, catalog: &Catalog) -> RunResult {
    let why = catalog
        .suspended
        .first()
        .map(|s| format!("本项目当前没有可查询的授权数据：{}", s.message))
        .unwrap_or_else(|| "本项目当前没有可查询的授权数据".to_owned());
    let code = catalog.suspended.first().map(|s| s.code.as_str()).unwrap_or("sandbox.no_grant");
    RunResult::refused(mode, code, why)
}

/// Opens a policy session over the catalog's queryable tables, reading from the vault.
async fn policy_session(
    state: &AppState,
    project: &ProjectRecord,
    catalog: &Catalog,
) -> Result<Sandbox, SessionError> {
    let key = state.sandbox.key(project.id);
    let sb = Sandbox::new(Vec::new(), key.clone(), state.sandbox.limits)
        .map_err(|e| session_error(&e))?
        .with_unit_key(state.sandbox.unit_key(project.project.developer));
    sb.register_store(state.objects.clone()).map_err(|e| session_error(&e))?;
    for t in catalog.queryable() {
        let (Some(v), Some(policy)) = (&t.version, &t.policy) else { continue };
        let provider = sb.parquet_table(&v.new.object_path).await.map_err(|e| session_error(&e))?;
        sb.add_dataset(Dataset { policy: policy.clone(), provider }, &key).map_err(|e| {
            if policy.row_filter.is_some() {
                (
                    "sandbox.row_scope_invalid".to_owned(),
                    format!(
                        "授权 {} 的数据范围条件无法在数据集 {} 上执行，已拒绝查询；请运营机构修正授权（{}）",
                        t.grant_id,
                        t.name,
                        e.message_zh()
                    ),
                )
            } else {
                session_error(&e)
            }
        })?;
    }
    Ok(sb)
}

/// A dummy run, on the sandbox runtime: the full result on synthetic data, and whether the real
/// policy would accept the same SQL (planning only).
async fn run_dummy(
    state: AppState,
    project: ProjectRecord,
    catalog: Catalog,
    sql: String,
    cancel: Cancel,
) -> AppResult<RunResult> {
    if catalog.queryable().next().is_none() {
        return Ok(no_tables(Mode::Dummy, &catalog));
    }
    let mut tables = Vec::new();
    for t in catalog.queryable() {
        tables.push((t.name.clone(), dummy_table(&state, t).await?));
    }
    let limits = Limits { timeout: state.sandbox.limits.timeout.min(DUMMY_TIMEOUT), ..state.sandbox.limits };
    let sb = Sandbox::open_batches(tables, limits).map_err(sandbox_internal)?;
    let mut result = RunResult::refused(Mode::Dummy, "", String::new());
    match sb.run_open(&sql, &cancel).await {
        Ok(batches) => {
            let (columns, rows, total) = render(&batches, SHOWN_ROWS);
            result.outcome = "ok".into();
            result.columns = columns;
            result.rows = rows;
            result.total_rows = Some(total);
        }
        Err(e) => {
            result.outcome = sandbox_outcome(&e).into();
            result.error_code = e.code().into();
            result.error = e.message_zh();
            return Ok(result);
        }
    }
    // The same SQL against the real policy, planning only (no data is read beyond Parquet footers).
    match policy_session(&state, &project, &catalog).await {
        Ok(sb) => {
            if let Err(e) = sb.check_sql(&sql).await {
                result.real_check = format!("{}（{}）", e.message_zh(), e.code());
            }
        }
        Err((code, message)) => result.real_check = format!("{message}（{code}）"),
    }
    Ok(result)
}

/// The time cap of a dummy run (the developer waits for it).
const DUMMY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

fn sandbox_internal(e: SandboxError) -> AppError {
    AppError::internal(format!("sandbox: {e}"))
}

/// The dummy table of a granted dataset: generated once per version and field set, from coarsened
/// statistics of the real version (read by the platform, never shown).
async fn dummy_table(state: &AppState, t: &WorkspaceTable) -> AppResult<RecordBatch> {
    let Some(v) = &t.version else {
        return Err(AppError::internal("dummy table without a version"));
    };
    let cols: Vec<String> = t.columns.iter().map(|c| c.name.clone()).collect();
    let key = (v.id, cols.clone());
    if let Some(b) = state.sandbox.dummy.lock().ok().and_then(|m| m.get(&key).cloned()) {
        return Ok(b);
    }
    let sb = Sandbox::open(Vec::new(), state.sandbox.limits).map_err(sandbox_internal)?;
    sb.register_store(state.objects.clone()).map_err(sandbox_internal)?;
    let src = sb.parquet_table(&v.new.object_path).await.map_err(sandbox_internal)?;
    sb.add_open_table("src", src).map_err(sandbox_internal)?;
    let list = cols.iter().map(|c| quote_ident(c)).collect::<Vec<_>>().join(", ");
    let batches = sb
        .run_open(&format!("SELECT {list} FROM src LIMIT {PROFILE_ROWS}"), &Cancel::default())
        .await
        .map_err(sandbox_internal)?;
    let schema: SchemaRef = match batches.first() {
        Some(b) => b.schema(),
        None => return Err(AppError::internal("empty dataset version")),
    };
    let profile: Value = serde_json::from_str(&v.new.profile_json).unwrap_or(Value::Null);
    let idents: HashMap<String, String> = identifier_columns(&profile).into_iter().collect();
    let mut dummy_cols = Vec::new();
    for (i, field) in schema.fields().iter().enumerate() {
        let parts: Vec<&dyn Array> = batches.iter().map(|b| b.column(i).as_ref()).collect();
        let array: ArrayRef =
            yunshu_sandbox::arrow::compute::concat(&parts).map_err(|e| AppError::internal(e.to_string()))?;
        let kind =
            Semantic::infer(field.name(), field.data_type(), idents.get(field.name()).map(String::as_str));
        dummy_cols.push(DummyColumn::profile(field, kind, &array));
    }
    let seed = u64::try_from(v.id).unwrap_or(0);
    let batch = yunshu_sandbox::dummy::generate(&dummy_cols, DUMMY_ROWS, seed)
        .map_err(|e| AppError::internal(e.to_string()))?;
    if let Ok(mut m) = state.sandbox.dummy.lock() {
        m.insert(key, batch.clone());
    }
    Ok(batch)
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Column names and up to `limit` rows as display strings, and the total row count.
pub fn render(batches: &[RecordBatch], limit: usize) -> (Vec<String>, Vec<Vec<String>>, i64) {
    use yunshu_sandbox::arrow::util::display::{ArrayFormatter, FormatOptions};
    let columns = batches
        .first()
        .map(|b| b.schema().fields().iter().map(|f| f.name().clone()).collect())
        .unwrap_or_default();
    let total: usize = batches.iter().map(|b| b.num_rows()).sum();
    let options = FormatOptions::default().with_null("");
    let mut rows = Vec::new();
    'outer: for b in batches {
        let formatters: Vec<_> =
            b.columns().iter().filter_map(|c| ArrayFormatter::try_new(c.as_ref(), &options).ok()).collect();
        let floats: Vec<Option<&yunshu_sandbox::arrow::array::Float64Array>> =
            b.columns().iter().map(|c| c.as_any().downcast_ref()).collect();
        for r in 0..b.num_rows() {
            if rows.len() >= limit {
                break 'outer;
            }
            rows.push(
                formatters
                    .iter()
                    .zip(&floats)
                    .map(|(f, float)| match float {
                        Some(a) if !yunshu_sandbox::arrow::array::Array::is_null(*a, r) => fen(a.value(r)),
                        _ => f.value(r).to_string(),
                    })
                    .collect(),
            );
        }
    }
    (columns, rows, i64::try_from(total).unwrap_or(i64::MAX))
}

/// A decimal for people: rounded to two places (amounts to the fen), trailing zeros dropped, so
/// binary floating point never shows as 500567.7499999999.
fn fen(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    let text = format!("{v:.2}");
    let text = if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.') } else { &text };
    if text == "-0" { "0".to_owned() } else { text.to_owned() }
}

/// A random name for an object of the project's results.
fn token() -> AppResult<String> {
    let mut b = [0u8; 12];
    getrandom::fill(&mut b).map_err(AppError::internal)?;
    Ok(hex::encode(b))
}

fn sm3_hex(bytes: &[u8]) -> String {
    use sm3::Digest;
    hex::encode(sm3::Sm3::digest(bytes))
}

fn parquet_bytes(schema: SchemaRef, batches: &[RecordBatch]) -> AppResult<Vec<u8>> {
    let mut out = Vec::new();
    let mut w = yunshu_sandbox::parquet::arrow::ArrowWriter::try_new(&mut out, schema, None)
        .map_err(AppError::internal)?;
    for b in batches {
        w.write(b).map_err(AppError::internal)?;
    }
    w.close().map_err(AppError::internal)?;
    Ok(out)
}

/// What planning a real query on the sandbox runtime found: the tables it reads, the ε it costs and
/// its plan fingerprint.
type Planned = Result<(Vec<String>, Option<Epsilon>, String), SessionError>;

/// Submits a real run: checks it against the policy and the ε budget from the plan alone, records
/// the query (with its ε charge) and its output (queued) in one transaction, and starts the job.
async fn submit(
    state: &AppState,
    ctx: &Ctx,
    project: &ProjectRecord,
    catalog: &Catalog,
    sql: &str,
) -> AppResult<RunResult> {
    if catalog.queryable().next().is_none() {
        return Ok(no_tables(Mode::Real, catalog));
    }
    let me = ctx.me()?;
    // Submissions of a project one at a time, from the budget they read to the charge they record.
    let lock = Runtime::lock_of(&state.sandbox.real_runs, project.id)?;
    let _serial = lock.lock().await;
    let planned: Planned = {
        let (st, p, c, q) = (state.clone(), project.clone(), catalog.clone(), sql.to_owned());
        state
            .sandbox
            .on_sandbox(async move {
                let sb = policy_session(&st, &p, &c).await?;
                let tables = sb.check_sql(&q).await.map_err(|e| session_error(&e))?;
                let cost = sb.dp_cost(&q).await.map_err(|e| session_error(&e))?;
                let fingerprint = sb.fingerprint(&q).await.map_err(|e| session_error(&e))?;
                Ok((tables, cost, fingerprint))
            })
            .await?
    };
    let (read, cost, fingerprint) = match planned {
        Ok(p) => p,
        Err((code, message)) => return Ok(RunResult::refused(Mode::Real, &code, message)),
    };
    let used: Vec<&WorkspaceTable> = catalog.queryable().filter(|t| read.contains(&t.name)).collect();
    // Differential privacy: the cost against every DP grant the query reads, charged now — what a
    // run costs must not depend on how it ends.
    let mut charges = Vec::new();
    if let Some(cost) = cost {
        for t in used.iter().filter(|t| t.dp) {
            let Some(total) = t.epsilon.and_then(|e| Epsilon::from_decimal(e).ok()) else { continue };
            let budget = DpBudget { total, spent: t.spent_exact };
            if let Err(e) = budget.charge(cost) {
                return Ok(RunResult::refused(
                    Mode::Real,
                    e.code(),
                    format!("{}（数据集 {}）", e.message_zh(), t.name),
                ));
            }
            charges.push(charge_line(t.grant_id, cost));
        }
    }
    let grade = used.iter().map(|t| t.grade_value).max().unwrap_or(Grade::L1);
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    let query_id = tx
        .insert_sandbox_query(&NewQuery {
            project_id: project.id,
            user_id: me.user.id,
            mode: Mode::Real.code().into(),
            sql: sql.to_owned(),
            fingerprint,
            tables: read.join(","),
            outcome: "submitted".into(),
            dp_charges: charges.join("\n"),
            ..NewQuery::default()
        })
        .await?;
    let output_id = tx
        .insert_sandbox_output(&NewOutput {
            query_id,
            project_id: project.id,
            operator_org_id: project.project.operator,
            requester_id: me.user.id,
            grade: grade.code().into(),
            check_outcome: CheckOutcome::Review.code().into(),
            check_report: String::new(),
            object_path: String::new(),
            sm3: String::new(),
            rows: 0,
        })
        .await?;
    tx.commit().await?;
    spawn_job(state, output_id);
    Ok(RunResult {
        query_id,
        mode: Mode::Real,
        outcome: "submitted".into(),
        error_code: String::new(),
        error: String::new(),
        columns: Vec::new(),
        rows: Vec::new(),
        total_rows: None,
        real_check: String::new(),
        output_id: Some(output_id),
        elapsed_ms: None,
    })
}

/// Starts the job of a submitted output: it waits for a free slot, runs on the sandbox runtime and
/// records its outcome for the reviewers.
pub fn spawn_job(state: &AppState, output_id: i64) {
    let st = state.clone();
    let active = ActiveJob::start(state.sandbox.clone());
    tokio::spawn(async move {
        let _active = active;
        let Ok(_slot) = st.sandbox.real_slots.clone().acquire_owned().await else { return };
        if let Err(e) = execute(&st, output_id).await {
            tracing::error!(output = output_id, error = %e.message, "sandbox run failed to record");
        }
    });
}

/// Puts the runs a stopped server left unfinished back in the queue and starts them.
pub async fn resume(state: &AppState) -> AppResult<()> {
    let mut tx = state.store.begin(state.now(), &yunshu_store::AuditCtx::system("sandbox-resume")).await?;
    tx.requeue_sandbox_runs().await?;
    tx.commit().await?;
    for o in state.store.sandbox_unfinished_runs().await? {
        spawn_job(state, o.id);
    }
    Ok(())
}

/// What a real run gave, before it is recorded.
struct Ran {
    outcome: yunshu_sandbox::Outcome,
    report: yunshu_sandbox::checks::CheckReport,
    parquet: Vec<u8>,
}

/// Runs a queued output's query and records the result, or the failure, for the reviewers.
async fn execute(state: &AppState, output_id: i64) -> AppResult<()> {
    if state.sandbox.stopping() {
        return Ok(());
    }
    let audit = yunshu_store::AuditCtx::system(format!("sandbox-run:{output_id}"));
    let mut tx = state.store.begin(state.now(), &audit).await?;
    if !tx.claim_sandbox_run(output_id).await? {
        return Ok(());
    }
    tx.commit().await?;
    let out = state.store.sandbox_output(output_id).await?;
    let query = state.store.sandbox_query(out.query_id).await?;
    let project = state.store.project(out.project_id).await?;
    let today = crate::web::beijing_date(state.now());
    // The chain is checked again when the run starts: a sanction or an expiry since submission stops it.
    let catalog = catalog(state, &project, today).await?;
    let wanted: Vec<&str> = query.tables.split(',').filter(|t| !t.is_empty()).collect();
    let missing = wanted.iter().any(|w| !catalog.queryable().any(|t| t.name == *w));
    let cancel = Cancel::default();
    if let Ok(mut m) = state.sandbox.jobs.lock() {
        m.insert(output_id, cancel.clone());
    }
    let started = Instant::now();
    let ran: Result<Ran, SessionError> = if missing {
        let r = no_tables(Mode::Real, &catalog);
        Err((r.error_code, r.error))
    } else {
        let (st, p, c, q, k) =
            (state.clone(), project.clone(), catalog.clone(), query.sql.clone(), cancel.clone());
        state
            .sandbox
            .on_sandbox(async move {
                let sb = policy_session(&st, &p, &c).await?;
                let outcome = sb.run(&q, &k).await.map_err(|e| session_error(&e))?;
                let report = yunshu_sandbox::release::outcome_checks(
                    &outcome,
                    &CheckConfig::default(),
                    &HashSet::new(),
                );
                let parquet = parquet_bytes(outcome.schema.clone(), &outcome.batches)
                    .map_err(|e| ("sandbox.internal".to_owned(), e.message))?;
                Ok(Ran { outcome, report, parquet })
            })
            .await?
    };
    if let Ok(mut m) = state.sandbox.jobs.lock() {
        m.remove(&output_id);
    }
    let elapsed_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    if state.sandbox.stopping() && cancel.is_cancelled() {
        // Stopped by shutdown: it runs again at the next start.
        return Ok(());
    }
    match ran {
        Err((code, message)) => fail_run(state, &out, &query, &code, &message, elapsed_ms).await,
        Ok(ran) => finish_run(state, &out, &query, &project, ran, elapsed_ms).await,
    }
}

/// Records a run that did not produce a result; the reviewers see why and reject it.
async fn fail_run(
    state: &AppState,
    out: &OutputRecord,
    query: &QueryRecord,
    code: &str,
    message: &str,
    elapsed_ms: i64,
) -> AppResult<()> {
    let audit = yunshu_store::AuditCtx::system(format!("sandbox-run:{}", out.id));
    let mut tx = state.store.begin(state.now(), &audit).await?;
    let finished = tx
        .finish_sandbox_run(
            out.id,
            &FinishedRun {
                run_state: "failed".into(),
                run_error: format!("{code}\t{}", message.replace(['\t', '\n'], " ")),
                check_outcome: CheckOutcome::Fail.code().into(),
                check_report: String::new(),
                object_path: String::new(),
                sm3: String::new(),
                rows: 0,
                elapsed_ms,
            },
        )
        .await;
    match finished {
        Ok(()) => {}
        // Withdrawn while it ran: nothing to record.
        Err(StoreError::Conflict(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    }
    tx.finish_sandbox_query(
        query.id,
        &QueryRun {
            fingerprint: query.fingerprint.clone(),
            outcome: "error".into(),
            error_code: code.to_owned(),
            rows: 0,
            suppressed: 0,
            units_object: String::new(),
            elapsed_ms,
        },
    )
    .await?;
    open_review_task(state, &mut tx, out, "执行失败，请驳回").await?;
    tx.commit().await?;
    Ok(())
}

async fn open_review_task(
    state: &AppState,
    tx: &mut yunshu_store::Tx,
    out: &OutputRecord,
    what: &str,
) -> AppResult<()> {
    let project = state.store.project(out.project_id).await?;
    let cal = state.store.work_calendar().await?;
    let today = crate::web::beijing_date(tx.now());
    tx.open_task(
        &NewTask {
            org_id: out.operator_org_id,
            role: Some("reviewer"),
            kind: "sandbox.review",
            subject_type: "sandbox_output",
            subject_id: out.id.to_string(),
            title: format!("输出审核：{} 第 {} 号输出（{what}）", project.project.name, out.id),
            link: format!("/outputs/{}", out.id),
        },
        Some(Period { start: today, unit: PeriodUnit::WorkingDays, amount: REVIEW_WORKING_DAYS, cal: &cal }),
    )
    .await?;
    Ok(())
}

/// Records a run's result: compared with the developer organisation's earlier outputs over the same
/// data (differencing), written encrypted to the vault with its fingerprints, and put before the
/// reviewers with the check report.
async fn finish_run(
    state: &AppState,
    out: &OutputRecord,
    query: &QueryRecord,
    project: &ProjectRecord,
    ran: Ran,
    elapsed_ms: i64,
) -> AppResult<()> {
    // Access may have ended while it ran (a termination, a sanction): nothing is written for it then.
    if developer_may_receive(state, project, crate::web::beijing_date(state.now()), StatusCode::CONFLICT)
        .await
        .is_err()
    {
        return fail_run(
            state,
            out,
            query,
            "sandbox.access_ended",
            "运行期间开发主体的访问已终止或被暂停，结果未保存",
            elapsed_ms,
        )
        .await;
    }
    let Ran { outcome, report, parquet } = ran;
    let prints = outcome.value_prints();
    // One finishing run per developer organisation at a time, from reading the history to recording.
    let lock = Runtime::lock_of(&state.sandbox.histories, project.project.developer)?;
    let _serial = lock.lock().await;
    let mut lines: Vec<ReportLine> = report
        .reasons
        .iter()
        .map(|r| ReportLine {
            code: r.code.to_owned(),
            outcome: r.outcome.code().to_owned(),
            message: r.message_zh.clone(),
        })
        .collect();
    let mut check = report.outcome;
    // Layer 7: against every earlier output of the organisation's projects over the same data. A DP
    // output is not compared (its noise protects it; it has no fingerprints).
    if !prints.is_empty() {
        let tables: Vec<String> = outcome.tables.clone();
        let history =
            state.store.sandbox_history(project.project.developer, &tables, out.id, HISTORY).await?;
        let mut earlier = Vec::new();
        let mut unreadable = 0usize;
        for (id, path) in history {
            let bytes = match state.objects.get(&ObjectPath::from(path.as_str())).await {
                Ok(r) => r.bytes().await.map_err(AppError::internal)?,
                // Deleted with the developer's copies (termination): nothing to compare.
                Err(object_store::Error::NotFound { .. }) => continue,
                Err(e) => return Err(AppError::internal(e)),
            };
            match differencing::decode(&bytes) {
                Some(values) => earlier.push(differencing::Earlier { output: id, values }),
                None => unreadable += 1,
            }
        }
        let new = prints.clone();
        let (found, total) =
            state.sandbox.on_sandbox(async move { differencing::against(&new, &earlier) }).await?;
        for f in &found {
            lines.push(ReportLine {
                code: "differencing.history".into(),
                outcome: CheckOutcome::Review.code().into(),
                message: f.message_zh(),
            });
        }
        if total > found.len() {
            lines.push(ReportLine {
                code: "differencing.history".into(),
                outcome: CheckOutcome::Review.code().into(),
                message: format!("另有 {} 组与历史输出的差分配对未逐一列出", total - found.len()),
            });
        }
        if unreadable > 0 {
            lines.push(ReportLine {
                code: "differencing.unreadable".into(),
                outcome: CheckOutcome::Review.code().into(),
                message: format!("{unreadable} 个历史输出的贡献指纹无法读取，差分核查不完整，需人工审核"),
            });
        }
        if total > 0 || unreadable > 0 {
            check = check.max(yunshu_sandbox::checks::Outcome::Review);
        }
    }
    // The files first (encrypted in the vault), then the records in one transaction; a failed
    // transaction removes the files again, so nothing is half-written.
    let stem = format!("sandbox/{}/{}", project.id, token()?);
    let sm3 = sm3_hex(&parquet);
    let result_path = ObjectPath::from(format!("{stem}.parquet"));
    let prints_path = ObjectPath::from(format!("{stem}.prints"));
    state.objects.put(&result_path, parquet.into()).await.map_err(AppError::internal)?;
    if let Err(e) = state.objects.put(&prints_path, differencing::encode(&prints).into()).await {
        let _ = state.objects.delete(&result_path).await;
        return Err(AppError::internal(e));
    }
    let rows = i64::try_from(outcome.num_rows()).unwrap_or(i64::MAX);
    let committed: AppResult<bool> = async {
        let audit = yunshu_store::AuditCtx::system(format!("sandbox-run:{}", out.id));
        let mut tx = state.store.begin(state.now(), &audit).await?;
        let finished = tx
            .finish_sandbox_run(
                out.id,
                &FinishedRun {
                    run_state: "done".into(),
                    run_error: String::new(),
                    check_outcome: check.code().into(),
                    check_report: lines.iter().map(report_line_text).collect::<Vec<_>>().join("\n"),
                    object_path: result_path.to_string(),
                    sm3: sm3.clone(),
                    rows,
                    elapsed_ms,
                },
            )
            .await;
        match finished {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Ok(false),
            Err(e) => return Err(e.into()),
        }
        tx.finish_sandbox_query(
            query.id,
            &QueryRun {
                fingerprint: query.fingerprint.clone(),
                outcome: "ok".into(),
                error_code: String::new(),
                rows,
                suppressed: i64::try_from(outcome.suppressed).unwrap_or(i64::MAX),
                units_object: prints_path.to_string(),
                elapsed_ms,
            },
        )
        .await?;
        open_review_task(state, &mut tx, out, &format!("自动检查：{}", check_label(check.code()))).await?;
        tx.commit().await?;
        Ok(true)
    }
    .await;
    match committed {
        Ok(true) => Ok(()),
        // Withdrawn while it ran, or the records failed: the files go again.
        other => {
            let _ = state.objects.delete(&result_path).await;
            let _ = state.objects.delete(&prints_path).await;
            other.map(|_| ())
        }
    }
}

/// The developer withdraws a submitted output (its run is cancelled if it has not finished). The
/// answer is the same whatever state the run was in.
pub async fn withdraw(state: &AppState, ctx: &Ctx, output_id: i64) -> AppResult<OutputRecord> {
    let me = ctx.me()?;
    let (out, project) = output_for(state, ctx, output_id, "sandbox.query").await?;
    if me.org.id != project.project.developer {
        return Err(AppError::forbidden());
    }
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    tx.withdraw_sandbox_output(out.id).await.map_err(|e| match e {
        StoreError::Conflict(_) => {
            AppError::conflict("sandbox.output_decided", "该输出已审核或已撤回，不能撤回")
        }
        other => other.into(),
    })?;
    tx.close_tasks("sandbox_output", &out.id.to_string()).await?;
    tx.commit().await?;
    state.sandbox.cancel_job(out.id);
    Ok(state.store.sandbox_output(out.id).await?)
}

/// The stored form of a report line: `outcome\tcode\tmessage`.
fn report_line_text(l: &ReportLine) -> String {
    format!("{}\t{}\t{}", l.outcome, l.code, l.message.replace(['\n', '\t'], " "))
}

/// Whether the caller sees an output's report, size, run state and checksum: the operator's and the
/// authorities' staff always, the developer once it is released.
pub fn sees_counts(ctx: &Ctx, project: &ProjectRecord, out: Option<&OutputRecord>) -> bool {
    let developer = ctx.me().map(|p| p.org.id == project.project.developer).unwrap_or(true);
    !developer || out.is_some_and(|o| o.status == ReviewStatus::Released.code())
}

/// The report lines of a stored output.
pub fn report_lines(out: &OutputRecord) -> Vec<ReportLine> {
    out.check_report
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let mut parts = l.splitn(3, '\t');
            let outcome = parts.next().unwrap_or_default().to_owned();
            let code = parts.next().unwrap_or_default().to_owned();
            let message = parts.next().unwrap_or_default().to_owned();
            ReportLine { code, outcome, message }
        })
        .collect()
}

// ---- the airlock --------------------------------------------------------------------------------

fn review_err(e: ReviewError) -> AppError {
    let status = match e {
        ReviewError::Decided(_) => StatusCode::CONFLICT,
        ReviewError::NotOperatorStaff | ReviewError::OwnOutput => StatusCode::FORBIDDEN,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    AppError::new(status, e.code(), e.message_zh())
}

/// The domain's airlock value of a stored output and its reviews.
fn airlock_of(out: &OutputRecord, reviews: &[ReviewRecord]) -> AppResult<OutputReview> {
    let grade = Grade::parse(&out.grade).ok_or_else(|| AppError::internal("output grade"))?;
    let outcome =
        CheckOutcome::parse(&out.check_outcome).ok_or_else(|| AppError::internal("check outcome"))?;
    let check = OutputCheck { outcome, reasons: report_lines(out).into_iter().map(|l| l.message).collect() };
    let mut review = OutputReview::new(out.project_id, out.operator_org_id, out.requester_id, grade, check);
    for r in reviews {
        match r.decision.as_str() {
            "approve" => review.approvals.push(yunshu_domain::data_use::ReviewApproval {
                reviewer: r.reviewer_id,
                on: r.on,
                note: r.note.clone(),
            }),
            _ => {
                review.rejection = Some(yunshu_domain::data_use::ReviewRejection {
                    reviewer: r.reviewer_id,
                    on: r.on,
                    reason: r.note.clone(),
                })
            }
        }
    }
    review.status = ReviewStatus::parse(&out.status).ok_or_else(|| AppError::internal("output status"))?;
    review.released_on = out.released_on;
    Ok(review)
}

#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
pub struct ReviewInput {
    /// `approve` (同意放行) or `reject` (驳回).
    #[serde(default)]
    pub decision: String,
    /// 审核意见 (required to reject, and to approve an output flagged for review).
    #[serde(default)]
    pub note: String,
}

/// A reviewer of the project's operator approves or rejects an output. The decision is taken inside
/// the transaction from the locked output and the reviews it already has, and a reviewer reviews an
/// output once (a unique index): parallel approvals by one reviewer cannot count twice.
pub async fn review(
    state: &AppState,
    ctx: &Ctx,
    output_id: i64,
    input: &ReviewInput,
) -> AppResult<OutputRecord> {
    let me = ctx.me()?;
    let (_, project) = output_for(state, ctx, output_id, "sandbox.review").await?;
    let today = ctx.today();
    let approve = match input.decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return Err(AppError::invalid("decision", "sandbox.review_decision", "请选择同意放行或驳回")),
    };
    if approve {
        // The developer's access is checked again before anything leaves the platform.
        developer_may_receive(state, &project, today, StatusCode::CONFLICT).await?;
    }
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    let out = tx.lock_sandbox_output(output_id).await?;
    if approve && out.run_state != "done" {
        return Err(AppError::conflict(
            "sandbox.review_not_ready",
            "该输出尚未运行完成或执行失败，不能放行（执行失败的输出请驳回）",
        ));
    }
    let reviews = tx.sandbox_reviews_locked(output_id).await?;
    let mut airlock = airlock_of(&out, &reviews)?;
    let status = if approve {
        airlock.approve(me.user.id, me.org.id, &input.note, today).map_err(review_err)?
    } else {
        airlock.reject(me.user.id, me.org.id, &input.note, today).map_err(review_err)?
    };
    tx.review_sandbox_output(
        &ReviewRecord {
            output_id,
            reviewer_id: me.user.id,
            decision: input.decision.clone(),
            note: input.note.trim().to_owned(),
            on: today,
        },
        status.code(),
    )
    .await
    .map_err(|e| match e {
        StoreError::Conflict("sandbox_output_review") => {
            AppError::conflict("sandbox.review_same_reviewer", "您已审核过该输出，不能重复审核")
        }
        StoreError::Conflict(_) => {
            AppError::conflict("sandbox.review_decided", "该输出已被他人审核，请刷新后查看")
        }
        other => other.into(),
    })?;
    if status == ReviewStatus::Released || status == ReviewStatus::Rejected {
        tx.close_tasks("sandbox_output", &output_id.to_string()).await?;
        tx.notify(
            out.requester_id,
            &format!("输出 {} {}", output_id, status.label_zh()),
            Some(&format!("/outputs/{output_id}")),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(state.store.sandbox_output(output_id).await?)
}

/// Refuses (with `status`) when the project's developer may not act on its scenario today (a
/// sanction, a termination, an ended agreement): nothing is released to it or downloaded by it then.
async fn developer_may_receive(
    state: &AppState,
    project: &ProjectRecord,
    today: NaiveDate,
    status: StatusCode,
) -> AppResult<()> {
    let access =
        super::sanctions::developer_access(state, project.project.developer, project.project.scenario, today)
            .await?;
    match access {
        yunshu_domain::authorization::sanction::AccessDecision::Denied(reason) => Err(AppError::new(
            status,
            "sandbox.agreement_denied",
            format!("开发主体当前无权获取输出：{}", reason.label_zh()),
        )),
        yunshu_domain::authorization::sanction::AccessDecision::Allowed => Ok(()),
    }
}

/// Reads an output's result file, verifying its SM3 against the record.
async fn output_batches(state: &AppState, out: &OutputRecord) -> AppResult<(Vec<u8>, Vec<RecordBatch>)> {
    let bytes = state
        .objects
        .get(&ObjectPath::from(out.object_path.as_str()))
        .await
        .map_err(|e| match e {
            object_store::Error::NotFound { .. } => {
                AppError::conflict("sandbox.output_deleted", "该输出的文件已按规定删除")
            }
            other => AppError::internal(other),
        })?
        .bytes()
        .await
        .map_err(AppError::internal)?;
    if sm3_hex(&bytes) != out.sm3 {
        return Err(AppError::internal(format!("sandbox output {} fails its SM3 check", out.id)));
    }
    let reader =
        yunshu_sandbox::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes.clone())
            .map_err(AppError::internal)?
            .build()
            .map_err(AppError::internal)?;
    let batches = reader.collect::<Result<Vec<_>, _>>().map_err(AppError::internal)?;
    Ok((bytes.to_vec(), batches))
}

/// The values of an output for its reviewer (a look at real data, audited as such).
pub async fn look(
    state: &AppState,
    ctx: &Ctx,
    out: &OutputRecord,
) -> AppResult<(Vec<String>, Vec<Vec<String>>)> {
    let (_, batches) = output_batches(state, out).await?;
    let (columns, rows, _) = render(&batches, REVIEW_ROWS);
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    tx.audit(Change::ok("sandbox.look", "sandbox_output", out.id, json!({"rows_shown": rows.len()}))).await?;
    tx.commit().await?;
    Ok((columns, rows))
}

/// A download format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Parquet,
    Xlsx,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "csv" => Some(Format::Csv),
            "parquet" => Some(Format::Parquet),
            "xlsx" => Some(Format::Xlsx),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Parquet => "parquet",
            Format::Xlsx => "xlsx",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Parquet => "application/vnd.apache.parquet",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

/// A file to send.
pub struct Download {
    pub filename: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

impl axum::response::IntoResponse for Download {
    fn into_response(self) -> axum::response::Response {
        use axum::http::header;
        (
            [
                (header::CONTENT_TYPE, self.content_type.to_owned()),
                // Always an ASCII name (`output-12.csv`), so no RFC 5987 encoding is needed.
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}\"", self.filename)),
            ],
            self.bytes,
        )
            .into_response()
    }
}

/// An output the caller may see, its project, and whether the caller is one of the operator's
/// reviewers (who also see its values): the project's parties and readers (`project.view`) or the
/// operator's reviewers (`sandbox.review`); anyone else is refused.
pub async fn output_access(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
) -> AppResult<(OutputRecord, ProjectRecord, bool)> {
    let me = ctx.me()?;
    let out = state.store.sandbox_output(id).await?;
    let project = state.store.project(out.project_id).await?;
    let res = super::onboarding::onboarding_resource(
        state,
        project.id,
        &[project.project.developer, project.project.operator],
    )
    .await?;
    let reviewer = me.org.id == project.project.operator && ctx.allowed(state, "sandbox.review", &res);
    if !reviewer && !ctx.allowed(state, "project.view", &res) {
        return Err(AppError::forbidden());
    }
    Ok((out, project, reviewer))
}

/// A text cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, carriage return first)
/// gets a leading apostrophe, so opening a downloaded CSV never executes anything (CSV injection).
fn defuse(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}") } else { s.to_owned() }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_owned() }
}

/// The developer downloads a released output (audited before the bytes leave).
pub async fn download(state: &AppState, ctx: &Ctx, output_id: i64, format: &str) -> AppResult<Download> {
    let format = Format::parse(format).ok_or_else(|| {
        AppError::invalid("format", "sandbox.format", "下载格式只能是 csv、parquet 或 xlsx")
    })?;
    let me = ctx.me()?;
    let (out, project) = output_for(state, ctx, output_id, "sandbox.download").await?;
    if me.org.id != project.project.developer {
        return Err(AppError::forbidden());
    }
    if out.status != ReviewStatus::Released.code() {
        return Err(AppError::conflict("sandbox.not_released", "该输出尚未放行，不能下载"));
    }
    developer_may_receive(state, &project, ctx.today(), StatusCode::FORBIDDEN).await?;
    let (raw, batches) = output_batches(state, &out).await?;
    let bytes = match format {
        Format::Parquet => raw,
        Format::Csv => {
            let (columns, rows, _) = render(&batches, usize::MAX);
            let numeric: Vec<bool> = batches
                .first()
                .map(|b| b.schema().fields().iter().map(|f| f.data_type().is_numeric()).collect())
                .unwrap_or_default();
            // A BOM so that Excel on Chinese Windows opens UTF-8 correctly.
            let mut s = String::from("\u{feff}");
            s.push_str(&columns.iter().map(|c| csv_field(&defuse(c))).collect::<Vec<_>>().join(","));
            s.push_str("\r\n");
            for r in rows {
                let cells = r.iter().enumerate().map(|(i, c)| {
                    if numeric.get(i).copied().unwrap_or(false) {
                        csv_field(c)
                    } else {
                        csv_field(&defuse(c))
                    }
                });
                s.push_str(&cells.collect::<Vec<_>>().join(","));
                s.push_str("\r\n");
            }
            s.into_bytes()
        }
        Format::Xlsx => xlsx(&batches)?,
    };
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    tx.insert_sandbox_download(output_id, me.user.id, format.code(), &sm3_hex(&bytes)).await?;
    tx.commit().await?;
    Ok(Download {
        filename: format!("output-{output_id}.{}", format.code()),
        content_type: format.content_type(),
        bytes,
    })
}

fn xlsx(batches: &[RecordBatch]) -> AppResult<Vec<u8>> {
    use yunshu_ingest::xlsx::{Cell, build_xlsx};
    use yunshu_sandbox::arrow::array::AsArray;
    use yunshu_sandbox::arrow::datatypes::Float64Type;
    let (columns, text_rows, _) = render(batches, usize::MAX);
    let mut rows: Vec<Vec<Cell>> = vec![columns.iter().map(|c| Cell::Text(c.clone())).collect()];
    // Numbers stay numbers in the sheet; everything else is text as rendered.
    let mut numeric: Vec<Vec<Option<f64>>> = Vec::new();
    for b in batches {
        for r in 0..b.num_rows() {
            let mut line = Vec::new();
            for c in b.columns() {
                let v = if c.data_type().is_numeric() && !c.is_null(r) {
                    yunshu_sandbox::arrow::compute::cast(c, &DataType::Float64)
                        .ok()
                        .map(|a| a.as_primitive::<Float64Type>().value(r))
                } else {
                    None
                };
                line.push(v);
            }
            numeric.push(line);
        }
    }
    for (text, nums) in text_rows.into_iter().zip(numeric) {
        rows.push(
            text.into_iter()
                .zip(nums)
                .map(|(t, n)| match n {
                    Some(x) if x.is_finite() => Cell::Number(x),
                    _ => Cell::Text(t),
                })
                .collect(),
        );
    }
    build_xlsx(&[("结果", rows)]).map_err(AppError::internal)
}

// ---- what pages and the API show ----------------------------------------------------------------

/// An output as listed and shown. Before release the developer sees only that it exists, its query
/// and its status: everything else depends on the real values (sandbox.md layer 5).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OutputView {
    pub id: i64,
    pub project_id: i64,
    pub query_id: i64,
    pub sql: String,
    pub requester: String,
    pub grade: String,
    /// Whether this view carries the report, size, run and checksum ([`sees_counts`]).
    pub full: bool,
    pub check_outcome: Option<String>,
    pub check_label: Option<String>,
    pub check_report: Vec<ReportLine>,
    pub rows: Option<i64>,
    /// Groups suppressed for having fewer than k units.
    pub suppressed: Option<i64>,
    /// queued / running / done / failed / cancelled.
    pub run_state: Option<String>,
    pub run_state_label: Option<String>,
    /// Why the run failed.
    pub run_error: Option<String>,
    pub elapsed_ms: Option<i64>,
    pub status: String,
    pub status_label: String,
    pub required_approvals: usize,
    pub reviews: Vec<ReviewView>,
    pub released_on: Option<String>,
    pub sm3: Option<String>,
    pub created_at: String,
    pub downloads: Vec<DownloadView>,
    /// The developer may still withdraw it (pending, caller of the developer's organisation).
    pub withdrawable: bool,
}

fn run_state_label(code: &str) -> &'static str {
    match code {
        "queued" => "排队中",
        "running" => "运行中",
        "done" => "已完成",
        "failed" => "执行失败",
        "cancelled" => "已取消",
        _ => "",
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReviewView {
    pub reviewer: String,
    pub decision: String,
    pub decision_label: String,
    pub note: String,
    pub on: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DownloadView {
    pub user: String,
    pub format: String,
    pub at: String,
}

async fn user_name(state: &AppState, names: &mut BTreeMap<i64, String>, id: i64) -> String {
    if let Some(n) = names.get(&id) {
        return n.clone();
    }
    let n = state.store.user(id).await.map(|u| u.display_name).unwrap_or_else(|_| format!("用户 {id}"));
    names.insert(id, n.clone());
    n
}

/// An output as `ctx` may see it ([`sees_counts`]).
pub async fn output_view(state: &AppState, ctx: &Ctx, out: &OutputRecord) -> AppResult<OutputView> {
    let project = state.store.project(out.project_id).await?;
    let full = sees_counts(ctx, &project, Some(out));
    let developer = ctx.me().map(|p| p.org.id == project.project.developer).unwrap_or(false);
    let decided = out.status != ReviewStatus::Pending.code();
    let mut names = BTreeMap::new();
    let q = state.store.sandbox_query(out.query_id).await?;
    let mut reviews = Vec::new();
    // A reviewer's first approval of two says something about the values: the developer sees the
    // reviews once the output is decided.
    if full || decided {
        for r in state.store.sandbox_reviews(out.id).await? {
            reviews.push(ReviewView {
                reviewer: user_name(state, &mut names, r.reviewer_id).await,
                decision_label: if r.decision == "approve" { "同意放行" } else { "驳回" }.into(),
                decision: r.decision,
                note: r.note,
                on: r.on.to_string(),
            });
        }
    }
    let mut downloads = Vec::new();
    for d in state.store.sandbox_downloads(out.id).await? {
        downloads.push(DownloadView {
            user: user_name(state, &mut names, d.user_id).await,
            format: d.format,
            at: crate::web::zh_time(d.at),
        });
    }
    let grade = Grade::parse(&out.grade).unwrap_or(Grade::L4);
    let run_error = out.run_error.split_once('\t').map(|(c, m)| format!("{m}（{c}）"));
    Ok(OutputView {
        id: out.id,
        project_id: out.project_id,
        query_id: out.query_id,
        sql: q.sql,
        requester: user_name(state, &mut names, out.requester_id).await,
        grade: out.grade.to_uppercase(),
        full,
        check_label: full.then(|| check_label(&out.check_outcome).into()),
        check_outcome: full.then(|| out.check_outcome.clone()),
        check_report: if full { report_lines(out) } else { Vec::new() },
        rows: full.then_some(out.rows),
        suppressed: full.then_some(q.suppressed),
        run_state_label: full.then(|| run_state_label(&out.run_state).into()),
        run_state: full.then(|| out.run_state.clone()),
        run_error: if full { run_error } else { None },
        elapsed_ms: full.then_some(out.elapsed_ms),
        status_label: ReviewStatus::parse(&out.status).map(|s| s.label_zh()).unwrap_or("").into(),
        status: out.status.clone(),
        required_approvals: if grade >= Grade::L3 { 2 } else { 1 },
        reviews,
        released_on: out.released_on.map(|d| d.to_string()),
        sm3: full.then(|| out.sm3.clone()),
        created_at: crate::web::zh_time(out.created_at),
        downloads,
        withdrawable: developer && !decided,
    })
}

/// A query of the history as listed. For the developer a real query shows only that it was submitted
/// (or refused, from its text and the grant alone); what happened on the real rows is the reviewers'.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QueryView {
    pub id: i64,
    pub user: String,
    pub mode: String,
    pub mode_label: String,
    pub sql: String,
    pub fingerprint: String,
    pub tables: String,
    pub outcome: String,
    pub outcome_label: String,
    pub error_code: String,
    /// Rows of the result; for real queries `None` when the caller is the developer.
    pub rows: Option<i64>,
    pub suppressed: Option<i64>,
    pub elapsed_ms: Option<i64>,
    pub at: String,
}

pub async fn query_views(
    state: &AppState,
    ctx: &Ctx,
    project_id: i64,
    limit: i64,
) -> AppResult<Vec<QueryView>> {
    let project = state.store.project(project_id).await?;
    let full = sees_counts(ctx, &project, None);
    let mut names = BTreeMap::new();
    let mut out = Vec::new();
    for q in state.store.sandbox_queries(project_id, limit).await? {
        let mode = Mode::parse(&q.mode).unwrap_or(Mode::Dummy);
        let real = q.mode == Mode::Real.code();
        // What the developer may see of a real query: submitted, or refused before it ran.
        let (outcome, error_code) = if real && !full && q.outcome != "refused" {
            ("submitted".to_owned(), String::new())
        } else {
            (q.outcome.clone(), q.error_code.clone())
        };
        out.push(QueryView {
            id: q.id,
            user: user_name(state, &mut names, q.user_id).await,
            mode: q.mode.clone(),
            mode_label: mode.label_zh().into(),
            outcome_label: match outcome.as_str() {
                "ok" => "完成",
                "submitted" => "已提交审核",
                "refused" => "已拒绝",
                _ => "出错",
            }
            .into(),
            sql: q.sql,
            fingerprint: q.fingerprint,
            tables: q.tables,
            outcome,
            error_code,
            rows: (full || !real).then_some(q.rows),
            suppressed: (full && real).then_some(q.suppressed),
            elapsed_ms: (full || !real).then_some(q.elapsed_ms),
            at: crate::web::zh_time(q.created_at),
        });
    }
    Ok(out)
}

// ---- termination (Art. 25(5)): the platform's copies and the developer's downloads ---------------

/// Result files held for the developer under an agreement that are still on the platform.
pub async fn copies_of_agreement(state: &AppState, agreement_id: i64) -> AppResult<Vec<OutputRecord>> {
    Ok(state.store.sandbox_outputs_of_agreement(agreement_id).await?)
}

/// Deletes one output's files (result and, for its query, the value fingerprints) from the vault.
pub async fn delete_output_files(state: &AppState, out: &OutputRecord) -> AppResult<()> {
    let mut paths = vec![out.object_path.clone()];
    if let Ok(q) = state.store.sandbox_query(out.query_id).await
        && !q.units_object.is_empty()
    {
        paths.push(q.units_object);
    }
    for p in paths {
        match state.objects.delete(&ObjectPath::from(p.as_str())).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(AppError::internal(e)),
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "sandbox_test.rs"]
mod tests;
