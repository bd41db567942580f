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
//! **Real runs** open the current version of each dataset from the vault through the policy layer
//! (hidden fields absent, join keys pseudonymised under a per-project key, row scope inside the scan,
//! k threshold). Results never go back to the developer directly: they are written, encrypted, to the
//! vault as Parquet (`sandbox/{project}/{token}.parquet`, SM3 recorded) and land in the outbox with
//! the automatic check report. The privacy units each query aggregated are kept as a sketch and
//! compared with the project's last [`HISTORY`] real queries: a differencing pair (fewer than k units
//! apart) is refused and recorded with the query it pairs with.
//!
//! **The airlock.** Staff of the project's operator with the reviewer role release or reject an
//! output (two different reviewers from grade L3; never the requester; a failed check is never
//! released); each look at an output's values is audited. Released outputs are immutable; the
//! developer downloads them as CSV, Parquet or XLSX, the stored file's SM3 re-verified and every
//! download audited.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Mutex;
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
use yunshu_sandbox::dummy::{DummyColumn, Semantic};
use yunshu_sandbox::policy::DpPolicy;
use yunshu_sandbox::sketch::UnitSketch;
use yunshu_sandbox::{
    Cancel, ColumnPolicy, Dataset, Limits, PseudonymKey, Sandbox, SandboxError, TablePolicy,
};
use yunshu_store::calendar::PeriodUnit;
use yunshu_store::data_use::{GrantRecord, ProjectRecord};
use yunshu_store::datasets::VersionRecord;
use yunshu_store::sandbox_runs::{NewOutput, NewQuery, OutputRecord, QueryRecord, ReviewRecord};
use yunshu_store::tasks::{NewTask, Period};
use yunshu_store::{Change, StoreError};

use crate::AppState;
use crate::context::Ctx;
use crate::error::{AppError, AppResult};

/// How many earlier real queries of the project a new one is compared with for differencing.
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
/// per-query limits, the dummy tables already generated, and the runs in progress (to cancel).
pub struct Runtime {
    secret: [u8; 32],
    pub limits: Limits,
    dummy: Mutex<HashMap<(i64, Vec<String>), RecordBatch>>,
    running: Mutex<HashMap<(i64, i64), Cancel>>,
    /// One lock per project, held by a real run from reading the ε spent and the history to
    /// recording its own charge and unit sketch: two concurrent runs could otherwise both fit the
    /// same remaining budget (and together exceed it), or miss each other as a differencing pair.
    real_runs: Mutex<HashMap<i64, std::sync::Arc<tokio::sync::Mutex<()>>>>,
}

impl Runtime {
    /// Opens the runtime with the secret in `data_dir/keys/sandbox.key`, created on first start
    /// (32 random bytes, hex). Losing the file only changes future pseudonyms; it is never shown.
    pub fn open(data_dir: &Path, limits: Limits) -> Result<Runtime, String> {
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
            real_runs: Mutex::new(HashMap::new()),
        })
    }

    /// The pseudonym key of one project: pseudonyms differ between projects, so two projects'
    /// outputs cannot be linked through them.
    fn key(&self, project_id: i64) -> PseudonymKey {
        PseudonymKey::derive(&self.secret, &format!("project:{project_id}"))
    }

    /// The lock serialising a project's real runs (see [`Runtime::real_runs`]).
    fn real_run_lock(&self, project_id: i64) -> AppResult<std::sync::Arc<tokio::sync::Mutex<()>>> {
        let mut m = self.real_runs.lock().map_err(|_| AppError::internal("sandbox run lock poisoned"))?;
        Ok(m.entry(project_id).or_default().clone())
    }

    /// Cancels the caller's run in progress in a project, if any.
    pub fn cancel(&self, project_id: i64, user_id: i64) -> bool {
        let running = self.running.lock().map(|m| m.get(&(project_id, user_id)).cloned()).ok().flatten();
        running.map(|c| c.cancel()).is_some()
    }
}

#[cfg(unix)]
fn restrict(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
}

#[cfg(not(unix))]
fn restrict(_path: &Path) {}

/// Clears a run's cancel handle when the run ends, however it ends.
struct RunGuard<'a> {
    runtime: &'a Runtime,
    key: (i64, i64),
}

impl Drop for RunGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut m) = self.runtime.running.lock() {
            m.remove(&self.key);
        }
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
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RunResult {
    pub query_id: i64,
    pub mode: Mode,
    /// `ok`, `refused` or `error`.
    pub outcome: String,
    pub error_code: String,
    pub error: String,
    /// Dummy runs: the result (first [`SHOWN_ROWS`] rows). Real runs: empty (the result waits in the
    /// outbox until released).
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Rows of the result: dummy runs only. A real result's size is not shown to the developer
    /// before release (with HAVING it would answer yes/no questions about aggregates).
    pub total_rows: Option<i64>,
    /// Groups removed by the threshold (real runs).
    pub suppressed: i64,
    /// Dummy runs: why the same SQL would be refused on real data, if it would.
    pub real_check: String,
    /// Real runs: the output in the outbox and its automatic check.
    pub output_id: Option<i64>,
    pub check_outcome: String,
    pub check_report: Vec<ReportLine>,
    pub elapsed_ms: i64,
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
            suppressed: 0,
            real_check: String::new(),
            output_id: None,
            check_outcome: String::new(),
            check_report: Vec::new(),
            elapsed_ms: 0,
        }
    }
}

fn sandbox_outcome(e: &SandboxError) -> &'static str {
    match e {
        SandboxError::Timeout
        | SandboxError::Memory
        | SandboxError::Cancelled
        | SandboxError::Execution
        | SandboxError::Internal(_) => "error",
        _ => "refused",
    }
}

/// Runs one query of a project, records it (audited) and answers what the caller may see. Refusals
/// and errors are answers too (recorded, with their code), not HTTP errors; HTTP errors are for
/// requests that are not runs at all (no access, empty SQL).
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
    // Real runs of a project one at a time, from the budget and history they read to the records
    // they write (the guard lives until this function returns).
    let lock = match input.mode {
        Mode::Real => Some(state.sandbox.real_run_lock(project.id)?),
        Mode::Dummy => None,
    };
    let _serial = match &lock {
        Some(l) => Some(l.lock().await),
        None => None,
    };
    let catalog = catalog(state, &project, ctx.today()).await?;
    let cancel = Cancel::default();
    let runtime = &state.sandbox;
    if let Ok(mut m) = runtime.running.lock() {
        m.insert((project.id, me.user.id), cancel.clone());
    }
    let _guard = RunGuard { runtime, key: (project.id, me.user.id) };
    let started = Instant::now();
    let mut result = match input.mode {
        Mode::Dummy => run_dummy(state, &project, &catalog, sql, &cancel).await?,
        Mode::Real => run_real(state, ctx, &project, &catalog, sql, &cancel).await?,
    };
    result.elapsed_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    if result.query_id == 0 {
        // Not yet recorded (dummy runs and refusals before a real run): record it now.
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
            suppressed: result.suppressed,
            units_object: String::new(),
            differencing_with: None,
            dp_charges: String::new(),
            elapsed_ms: result.elapsed_ms,
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

/// Why a policy session could not open: `(code, message)`.
type SessionError = (String, String);

fn session_error(e: &SandboxError) -> SessionError {
    (e.code().to_owned(), e.message_zh())
}

/// Opens a policy session over the catalog's queryable tables, reading from the vault.
async fn policy_session(
    state: &AppState,
    project: &ProjectRecord,
    catalog: &Catalog,
) -> Result<Sandbox, SessionError> {
    let key = state.sandbox.key(project.id);
    let sb = Sandbox::new(Vec::new(), key.clone(), state.sandbox.limits).map_err(|e| session_error(&e))?;
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

async fn run_dummy(
    state: &AppState,
    project: &ProjectRecord,
    catalog: &Catalog,
    sql: &str,
    cancel: &Cancel,
) -> AppResult<RunResult> {
    if catalog.queryable().next().is_none() {
        return Ok(no_tables(Mode::Dummy, catalog));
    }
    let mut tables = Vec::new();
    for t in catalog.queryable() {
        tables.push((t.name.clone(), dummy_table(state, t).await?));
    }
    let sb = Sandbox::open_batches(tables, state.sandbox.limits).map_err(sandbox_internal)?;
    let mut result = RunResult::refused(Mode::Dummy, "", String::new());
    match sb.run_open(sql, cancel).await {
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
    match policy_session(state, project, catalog).await {
        Ok(sb) => {
            if let Err(e) = sb.check_sql(sql).await {
                result.real_check = format!("{}（{}）", e.message_zh(), e.code());
            }
        }
        Err((code, message)) => result.real_check = format!("{message}（{code}）"),
    }
    Ok(result)
}

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
        for r in 0..b.num_rows() {
            if rows.len() >= limit {
                break 'outer;
            }
            rows.push(formatters.iter().map(|f| f.value(r).to_string()).collect());
        }
    }
    (columns, rows, i64::try_from(total).unwrap_or(i64::MAX))
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

/// The project's earlier real query this one forms a differencing pair with, if any.
async fn differencing_partner(
    state: &AppState,
    project_id: i64,
    units: &UnitSketch,
    k: u32,
) -> AppResult<Option<i64>> {
    let earlier = state.store.sandbox_sketched_queries(project_id, HISTORY).await?;
    for q in &earlier {
        let bytes = match state.objects.get(&ObjectPath::from(q.units_object.as_str())).await {
            Ok(r) => r.bytes().await.map_err(AppError::internal)?,
            // A sketch deleted with the project's copies (termination) has nothing to compare.
            Err(object_store::Error::NotFound { .. }) => continue,
            Err(e) => return Err(AppError::internal(e)),
        };
        let Some(other) = UnitSketch::from_bytes(&bytes) else { continue };
        if units.differencing_pair(&other, k) {
            return Ok(Some(q.id));
        }
    }
    Ok(None)
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

async fn run_real(
    state: &AppState,
    ctx: &Ctx,
    project: &ProjectRecord,
    catalog: &Catalog,
    sql: &str,
    cancel: &Cancel,
) -> AppResult<RunResult> {
    if catalog.queryable().next().is_none() {
        return Ok(no_tables(Mode::Real, catalog));
    }
    let started = Instant::now();
    let me = ctx.me()?;
    let mut result = RunResult::refused(Mode::Real, "", String::new());
    let sb = match policy_session(state, project, catalog).await {
        Ok(sb) => sb,
        Err((code, message)) => {
            result.outcome = "refused".into();
            result.error_code = code;
            result.error = message;
            return Ok(result);
        }
    };
    // Differential privacy: the query's cost against every DP grant it reads, refused before it runs
    // if any budget would be exceeded (nothing is spent then).
    let dp_grants = match dp_grants_read(&sb, catalog, sql).await {
        Ok(g) => g,
        Err(e) => {
            result.outcome = sandbox_outcome(&e).into();
            result.error_code = e.code().into();
            result.error = e.message_zh();
            return Ok(result);
        }
    };
    let mut remaining: Option<Epsilon> = None;
    if let Some((cost, tables)) = &dp_grants {
        for t in tables {
            let Some(total) = t.epsilon.and_then(|e| Epsilon::from_decimal(e).ok()) else { continue };
            let budget = DpBudget { total, spent: t.spent_exact };
            if let Err(e) = budget.charge(*cost) {
                result.outcome = "refused".into();
                result.error_code = e.code().into();
                result.error = format!("{}（数据集 {}）", e.message_zh(), t.name);
                return Ok(result);
            }
            let left = budget.remaining();
            remaining =
                Some(remaining.map_or(left, |r: Epsilon| if left.as_f64() < r.as_f64() { left } else { r }));
        }
    }
    let run = match remaining {
        Some(left) => sb.run_within(sql, left, cancel).await,
        None => sb.run(sql, cancel).await,
    };
    let outcome = match run {
        Ok(o) => o,
        Err(e) => {
            result.outcome = sandbox_outcome(&e).into();
            result.error_code = e.code().into();
            result.error = e.message_zh();
            // A DP query that failed after it started reading (time, memory, rows, cancel, an
            // execution error above the noisy groups) still spends its ε: whether and when it fails
            // can depend on the released noisy values, and a free retry would draw fresh noise.
            if let Some((cost, tables)) = &dp_grants
                && !refused_before_reading(&e)
            {
                let q = NewQuery {
                    project_id: project.id,
                    user_id: me.user.id,
                    mode: "real".into(),
                    sql: sql.to_owned(),
                    tables: tables.iter().map(|t| t.name.clone()).collect::<Vec<_>>().join(","),
                    outcome: result.outcome.clone(),
                    error_code: result.error_code.clone(),
                    dp_charges: tables
                        .iter()
                        .map(|t| charge_line(t.grant_id, *cost))
                        .collect::<Vec<_>>()
                        .join("\n"),
                    ..NewQuery::default()
                };
                let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
                result.query_id = tx.insert_sandbox_query(&q).await?;
                tx.commit().await?;
            }
            return Ok(result);
        }
    };
    let dp_charges = match (&dp_grants, outcome.epsilon) {
        (Some((_, tables)), Some(spent)) => {
            tables.iter().map(|t| charge_line(t.grant_id, spent)).collect::<Vec<_>>().join("\n")
        }
        _ => String::new(),
    };
    let used: Vec<&WorkspaceTable> =
        catalog.queryable().filter(|t| outcome.tables.contains(&t.name)).collect();
    let k = used.iter().map(|t| t.k).max().unwrap_or(yunshu_sandbox::policy::MIN_K);
    let base = NewQuery {
        project_id: project.id,
        user_id: me.user.id,
        mode: "real".into(),
        sql: sql.to_owned(),
        fingerprint: outcome.fingerprint.clone(),
        tables: outcome.tables.join(","),
        outcome: "ok".into(),
        error_code: String::new(),
        rows: i64::try_from(outcome.num_rows()).unwrap_or(i64::MAX),
        suppressed: i64::try_from(outcome.suppressed).unwrap_or(i64::MAX),
        units_object: String::new(),
        differencing_with: None,
        dp_charges,
        elapsed_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
    };
    result.suppressed = base.suppressed;
    // Layer 7: a query whose units differ from an earlier one's by fewer than k is refused. A query
    // under differential privacy is not checked: its noise is the protection, and a refusal decided
    // on its exact units would itself reveal them.
    if outcome.epsilon.is_none()
        && !outcome.units.is_empty()
        && let Some(partner) = differencing_partner(state, project.id, &outcome.units, k).await?
    {
        let q = NewQuery {
            outcome: "refused".into(),
            error_code: "sandbox.differencing".into(),
            rows: 0,
            differencing_with: Some(partner),
            ..base
        };
        let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
        result.query_id = tx.insert_sandbox_query(&q).await?;
        tx.commit().await?;
        result.outcome = "refused".into();
        result.error_code = "sandbox.differencing".into();
        result.error = format!(
            "本查询与第 {partner} 号查询涉及的个体相差不足 {k} 个（差分攻击风险），已拒绝；结果未保存"
        );
        result.suppressed = 0;
        return Ok(result);
    }
    let report = yunshu_sandbox::release::outcome_checks(&outcome, &CheckConfig::default(), &HashSet::new());
    let lines: Vec<ReportLine> = report
        .reasons
        .iter()
        .map(|r| ReportLine {
            code: r.code.to_owned(),
            outcome: r.outcome.code().to_owned(),
            message: r.message_zh.clone(),
        })
        .collect();
    let grade = used.iter().map(|t| t.grade_value).max().unwrap_or(Grade::L1);
    // The files first (encrypted in the vault), then the records in one transaction; a failed
    // transaction removes the files again, so nothing is half-written.
    let stem = format!("sandbox/{}/{}", project.id, token()?);
    let parquet = parquet_bytes(outcome.schema.clone(), &outcome.batches)?;
    let sm3 = sm3_hex(&parquet);
    let result_path = ObjectPath::from(format!("{stem}.parquet"));
    let units_path = ObjectPath::from(format!("{stem}.units"));
    state.objects.put(&result_path, parquet.into()).await.map_err(AppError::internal)?;
    if let Err(e) = state.objects.put(&units_path, outcome.units.to_bytes().into()).await {
        let _ = state.objects.delete(&result_path).await;
        return Err(AppError::internal(e));
    }
    let cal = state.store.work_calendar().await?;
    let committed: AppResult<(i64, i64)> = async {
        let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
        let q = NewQuery { units_object: units_path.to_string(), ..base.clone() };
        let query_id = tx.insert_sandbox_query(&q).await?;
        let output_id = tx
            .insert_sandbox_output(&NewOutput {
                query_id,
                project_id: project.id,
                operator_org_id: project.project.operator,
                requester_id: me.user.id,
                grade: grade.code().into(),
                check_outcome: report.outcome.code().into(),
                check_report: lines.iter().map(report_line_text).collect::<Vec<_>>().join("\n"),
                object_path: result_path.to_string(),
                sm3: sm3.clone(),
                rows: base.rows,
            })
            .await?;
        // The operator's reviewers get a to-do, due in REVIEW_WORKING_DAYS working days.
        tx.open_task(
            &NewTask {
                org_id: project.project.operator,
                role: Some("reviewer"),
                kind: "sandbox.review",
                subject_type: "sandbox_output",
                subject_id: output_id.to_string(),
                title: format!(
                    "输出审核：{} 第 {output_id} 号输出（自动检查：{}）",
                    project.project.name,
                    check_label(report.outcome.code())
                ),
                link: format!("/outputs/{output_id}"),
            },
            Some(Period {
                start: ctx.today(),
                unit: PeriodUnit::WorkingDays,
                amount: REVIEW_WORKING_DAYS,
                cal: &cal,
            }),
        )
        .await?;
        tx.commit().await?;
        Ok((query_id, output_id))
    }
    .await;
    let (query_id, output_id) = match committed {
        Ok(ids) => ids,
        Err(e) => {
            let _ = state.objects.delete(&result_path).await;
            let _ = state.objects.delete(&units_path).await;
            return Err(e);
        }
    };
    result.query_id = query_id;
    result.outcome = "ok".into();
    result.total_rows = None;
    result.output_id = Some(output_id);
    result.check_outcome = report.outcome.code().into();
    result.check_report = developer_lines(&lines);
    Ok(result)
}

/// Refusals decided on the plan, before any data is read: a DP query refused so spends nothing.
fn refused_before_reading(e: &SandboxError) -> bool {
    matches!(
        e,
        SandboxError::Sql(_)
            | SandboxError::Statement
            | SandboxError::Explain
            | SandboxError::Policy(_)
            | SandboxError::DpShape(_)
            | SandboxError::DpUnboundedColumn(_)
            | SandboxError::DpBudget { .. }
    )
}

/// The ε a query costs and the DP tables it reads (`None`: it reads none).
async fn dp_grants_read<'a>(
    sb: &Sandbox,
    catalog: &'a Catalog,
    sql: &str,
) -> Result<Option<(Epsilon, Vec<&'a WorkspaceTable>)>, SandboxError> {
    let Some(cost) = sb.dp_cost(sql).await? else { return Ok(None) };
    let read = sb.check_sql(sql).await?;
    let tables = catalog.queryable().filter(|t| t.dp && read.contains(&t.name)).collect();
    Ok(Some((cost, tables)))
}

/// The stored form of a report line: `outcome\tcode\tmessage`.
fn report_line_text(l: &ReportLine) -> String {
    format!("{}\t{}\t{}", l.outcome, l.code, l.message.replace(['\n', '\t'], " "))
}

/// The check report as the developer sees it before release: which rules fired, without counts of
/// rows or cells (those, with HAVING, would answer yes/no questions about the real aggregates). The
/// operator's reviewers see the full report.
pub fn developer_lines(lines: &[ReportLine]) -> Vec<ReportLine> {
    let mut out: Vec<ReportLine> = Vec::new();
    for l in lines {
        let message = match l.code.as_str() {
            "cell.threshold" | "cell.stats_missing" => "有单元格的个体数低于阈值或无法核实",
            "cell.dominance" => "有单元格不满足优势规则（少数个体的贡献占比过高）",
            "cell.p_ratio" => "有单元格不满足 p% 规则",
            "cell.zero" => "有零值单元格，需人工审核",
            "cell.contributions_pending" => "金额类结果的优势规则与 p% 规则需人工复核",
            "identifier.legal_uscc" => "输出含法人统一社会信用代码，需审核是否属于授权用途",
            "identifier.unscannable" => "有列无法自动扫描直接标识符，需人工审核",
            "model.residual_df" => "模型残差自由度不足",
            c if c.starts_with("identifier.") => "输出中检出疑似个人直接标识符，不得导出",
            _ => "输出检查规则未通过",
        };
        if !out.iter().any(|o| o.code == l.code) {
            out.push(ReportLine {
                code: l.code.clone(),
                outcome: l.outcome.clone(),
                message: message.to_owned(),
            });
        }
    }
    out
}

/// Whether the caller sees an output's counts and full report: the operator's and the authorities'
/// staff always, the developer once it is released.
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
async fn airlock(state: &AppState, out: &OutputRecord) -> AppResult<OutputReview> {
    let grade = Grade::parse(&out.grade).ok_or_else(|| AppError::internal("output grade"))?;
    let outcome =
        CheckOutcome::parse(&out.check_outcome).ok_or_else(|| AppError::internal("check outcome"))?;
    let check = OutputCheck { outcome, reasons: report_lines(out).into_iter().map(|l| l.message).collect() };
    let mut review = OutputReview::new(out.project_id, out.operator_org_id, out.requester_id, grade, check);
    for r in state.store.sandbox_reviews(out.id).await? {
        match r.decision.as_str() {
            "approve" => review.approvals.push(yunshu_domain::data_use::ReviewApproval {
                reviewer: r.reviewer_id,
                on: r.on,
                note: r.note,
            }),
            _ => {
                review.rejection = Some(yunshu_domain::data_use::ReviewRejection {
                    reviewer: r.reviewer_id,
                    on: r.on,
                    reason: r.note,
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

/// A reviewer of the project's operator approves or rejects an output.
pub async fn review(
    state: &AppState,
    ctx: &Ctx,
    output_id: i64,
    input: &ReviewInput,
) -> AppResult<OutputRecord> {
    let me = ctx.me()?;
    let (out, project) = output_for(state, ctx, output_id, "sandbox.review").await?;
    let mut airlock = airlock(state, &out).await?;
    let today = ctx.today();
    let status = match input.decision.as_str() {
        "approve" => {
            // The developer's access is checked again before anything leaves the platform.
            developer_may_receive(state, &project, today, StatusCode::CONFLICT).await?;
            airlock.approve(me.user.id, me.org.id, &input.note, today).map_err(review_err)?
        }
        "reject" => airlock.reject(me.user.id, me.org.id, &input.note, today).map_err(review_err)?,
        _ => return Err(AppError::invalid("decision", "sandbox.review_decision", "请选择同意放行或驳回")),
    };
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
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

/// An output as listed and shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OutputView {
    pub id: i64,
    pub project_id: i64,
    pub query_id: i64,
    pub sql: String,
    pub requester: String,
    pub grade: String,
    pub check_outcome: String,
    pub check_label: String,
    pub check_report: Vec<ReportLine>,
    /// Rows of the output; `None` for the developer before release.
    pub rows: Option<i64>,
    pub suppressed: i64,
    pub status: String,
    pub status_label: String,
    pub required_approvals: usize,
    pub reviews: Vec<ReviewView>,
    pub released_on: Option<String>,
    pub sm3: String,
    pub created_at: String,
    pub downloads: Vec<DownloadView>,
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
    let mut names = BTreeMap::new();
    let q = state.store.sandbox_query(out.query_id).await?;
    let mut reviews = Vec::new();
    for r in state.store.sandbox_reviews(out.id).await? {
        reviews.push(ReviewView {
            reviewer: user_name(state, &mut names, r.reviewer_id).await,
            decision_label: if r.decision == "approve" { "同意放行" } else { "驳回" }.into(),
            decision: r.decision,
            note: r.note,
            on: r.on.to_string(),
        });
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
    Ok(OutputView {
        id: out.id,
        project_id: out.project_id,
        query_id: out.query_id,
        sql: q.sql,
        requester: user_name(state, &mut names, out.requester_id).await,
        grade: out.grade.to_uppercase(),
        check_label: check_label(&out.check_outcome).into(),
        check_outcome: out.check_outcome.clone(),
        check_report: if full { report_lines(out) } else { developer_lines(&report_lines(out)) },
        rows: full.then_some(out.rows),
        suppressed: q.suppressed,
        status_label: ReviewStatus::parse(&out.status).map(|s| s.label_zh()).unwrap_or("").into(),
        status: out.status.clone(),
        required_approvals: if grade >= Grade::L3 { 2 } else { 1 },
        reviews,
        released_on: out.released_on.map(|d| d.to_string()),
        sm3: out.sm3.clone(),
        created_at: crate::web::zh_time(out.created_at),
        downloads,
    })
}

/// A query of the history as listed.
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
    pub suppressed: i64,
    pub differencing_with: Option<i64>,
    pub elapsed_ms: i64,
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
        out.push(QueryView {
            id: q.id,
            user: user_name(state, &mut names, q.user_id).await,
            mode: q.mode.clone(),
            mode_label: mode.label_zh().into(),
            outcome_label: match q.outcome.as_str() {
                "ok" => "完成",
                "refused" => "已拒绝",
                _ => "出错",
            }
            .into(),
            sql: q.sql,
            fingerprint: q.fingerprint,
            tables: q.tables,
            outcome: q.outcome,
            error_code: q.error_code,
            rows: (full || q.mode != "real").then_some(q.rows),
            suppressed: q.suppressed,
            differencing_with: q.differencing_with,
            elapsed_ms: q.elapsed_ms,
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

/// Deletes one output's files (result and, for its query, the unit sketch) from the vault.
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
