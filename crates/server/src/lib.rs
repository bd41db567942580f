//! The Yunshu web server: the JSON API under `/api/v1` and the server-rendered web UI (zh-CN).
//! This is the only crate that knows HTTP.
//!
//! Every request passes one middleware ([`context::guard`]) that gives it an operation id, finds who is
//! asking (session cookie or bearer token), checks CSRF on cookie-authenticated writes, checks the route
//! against the policy, and adds security headers. Handlers then check the object itself.

pub mod api;
pub mod auth;
pub mod authz;
pub mod context;
pub mod demo;
pub mod error;
pub mod extract;
pub mod openapi;
pub mod routes;
pub mod scheduler;
pub mod search;
pub mod services;
pub mod web;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use chrono::{DateTime, Utc};
use yunshu_audit::CheckpointLog;
use yunshu_domain::regions::RegionTree;
use yunshu_store::Store;

pub use context::Ctx;

/// Server settings. Defaults suit the demo; `production = true` tightens them.
#[derive(Debug, Clone)]
pub struct Config {
    /// Production mode: TOTP required for administrators and reviewers, `Secure` cookies, HSTS.
    pub production: bool,
    /// Failed logins before the account is locked.
    pub lockout_failures: i64,
    /// How long a locked account stays locked.
    pub lockout_minutes: i64,
    /// Idle time after which a web session ends.
    pub idle_minutes: i64,
    /// Largest request body accepted (bytes).
    pub body_limit: usize,
    /// Lifetime of new API tokens unless the caller asks for less.
    pub token_max_days: i64,
    /// Registration periods in working days (受理 / 形式审核 / 公示).
    pub registration_periods: yunshu_domain::catalog::RegistrationPeriods,
    /// Format of registration codes made by the platform.
    pub registration_code_format: yunshu_domain::catalog::CodeFormat,
    /// Codes are provisional until the national registry is connected (then `false`).
    pub registration_code_provisional: bool,
    /// Grade → allowed sandbox usage classes.
    pub grade_policy: yunshu_domain::catalog::GradePolicy,
    /// Largest data file accepted for import (bytes), enforced while streaming.
    pub upload_limit: u64,
    /// Per-query memory and time caps of the sandbox, and the largest result it keeps.
    pub sandbox_limits: yunshu_sandbox::Limits,
    /// Real-data runs executed at once (more wait in the queue); they run on the sandbox's own
    /// runtime, never on the threads that answer requests.
    pub sandbox_concurrent_runs: usize,
    /// Differential privacy of grants that carry an ε budget: ε per aggregate, contribution limits,
    /// clamping bounds per field (configuration, never read off the data).
    pub dp: DpSettings,
}

/// Differential-privacy settings (sandbox.md layer 6). A grant with an ε budget puts its table under
/// DP with these settings; the budget is charged per query with what the query's aggregates cost.
#[derive(Debug, Clone)]
pub struct DpSettings {
    pub epsilon_per_aggregate: yunshu_domain::data_use::Epsilon,
    /// Rows one privacy unit contributes to one group at most.
    pub max_rows_per_group: u32,
    /// Groups one privacy unit contributes to at most.
    pub max_groups: u32,
    /// Clamping bounds per field name; a field without bounds cannot be summed on a DP table.
    pub bounds: std::collections::BTreeMap<String, yunshu_sandbox::policy::DpBounds>,
}

impl DpSettings {
    /// Parses bounds, one per line: `缴费金额 = 0..5000` (integers; lower ≤ upper).
    pub fn parse_bounds(
        text: &str,
    ) -> Result<std::collections::BTreeMap<String, yunshu_sandbox::policy::DpBounds>, String> {
        let mut out = std::collections::BTreeMap::new();
        for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let bad = || format!("dp_bounds 第 {} 行应为“字段名 = 下限..上限”（整数）", n + 1);
            let (name, range) = line.split_once('=').ok_or_else(bad)?;
            let (lo, hi) = range.split_once("..").ok_or_else(bad)?;
            let lower: i64 = lo.trim().parse().map_err(|_| bad())?;
            let upper: i64 = hi.trim().parse().map_err(|_| bad())?;
            if lower > upper || name.trim().is_empty() {
                return Err(bad());
            }
            out.insert(name.trim().to_owned(), yunshu_sandbox::policy::DpBounds { lower, upper });
        }
        Ok(out)
    }
}

impl Default for DpSettings {
    fn default() -> DpSettings {
        DpSettings {
            // ε = 0.1 per released aggregate (and for the noisy count that selects groups).
            epsilon_per_aggregate: yunshu_domain::data_use::Epsilon::new(1, 10)
                .unwrap_or(yunshu_domain::data_use::Epsilon::ZERO),
            max_rows_per_group: 1,
            max_groups: 5,
            bounds: std::collections::BTreeMap::new(),
        }
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            production: false,
            lockout_failures: 5,
            lockout_minutes: 15,
            idle_minutes: 30,
            body_limit: 2 * 1024 * 1024,
            token_max_days: 365,
            registration_periods: Default::default(),
            registration_code_format: Default::default(),
            registration_code_provisional: true,
            grade_policy: Default::default(),
            upload_limit: 2 * 1024 * 1024 * 1024,
            sandbox_limits: yunshu_sandbox::Limits {
                memory_bytes: 1 << 30,
                timeout: std::time::Duration::from_secs(120),
                max_output_rows: 100_000,
            },
            sandbox_concurrent_runs: 2,
            dp: DpSettings::default(),
        }
    }
}

/// Where "now" comes from: the system clock in production, a fixed or stepping clock in tests.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

/// Shared state of the running server.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<Config>,
    pub authz: Arc<authz::Authz>,
    pub regions: Arc<RegionTree>,
    pub clock: Clock,
    pub verifier: Arc<dyn auth::IdentityVerifier>,
    pub checkpoints: Arc<CheckpointLog>,
    /// The object store holding dataset versions, SM4-encrypted at rest.
    pub objects: Arc<dyn object_store::ObjectStore>,
    /// The directory under `objects` (for the sweep of staging files, which the store hides).
    pub objects_dir: PathBuf,
    /// Email/SMS channel for notifications (default: the log).
    pub notifier: Arc<dyn scheduler::Notifier>,
    /// The sandbox: pseudonym secret (`data_dir/keys/sandbox.key`), limits, dummy tables, runs.
    pub sandbox: Arc<services::sandbox::Runtime>,
}

impl AppState {
    /// `data_dir` holds the object store (`objects/`), its master key (`keys/data-master.key`) and the
    /// sandbox's pseudonym secret (`keys/sandbox.key`).
    pub fn new(
        store: Store,
        config: Config,
        clock: Clock,
        checkpoint_file: PathBuf,
        data_dir: &std::path::Path,
    ) -> Result<AppState, String> {
        let regions = Arc::new(RegionTree::yunnan().map_err(|e| e.to_string())?);
        let authz = Arc::new(authz::Authz::new(regions.clone()).map_err(|e| e.to_string())?);
        let sandbox = Arc::new(services::sandbox::Runtime::open(
            data_dir,
            config.sandbox_limits,
            config.sandbox_concurrent_runs,
        )?);
        Ok(AppState {
            store,
            config: Arc::new(config),
            authz,
            regions,
            clock,
            verifier: Arc::new(auth::FormatOnlyVerifier),
            checkpoints: Arc::new(CheckpointLog::new(checkpoint_file)),
            objects: services::datasets::open_objects(data_dir)?,
            objects_dir: data_dir.join("objects"),
            notifier: Arc::new(scheduler::LogNotifier),
            sandbox,
        })
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// Signs the audit head if it moved, into the database and the file outside it.
    pub async fn checkpoint(&self) -> Result<(), String> {
        if let Some(cp) = self.store.checkpoint_head(self.now()).await.map_err(|e| e.to_string())? {
            self.checkpoints.append(&cp).map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

/// The whole application router.
pub fn app(state: AppState) -> Router {
    let limit = state.config.body_limit;
    Router::new()
        .merge(web::router())
        .merge(api::router())
        .fallback(context::not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), context::guard))
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// Longest time the audit head stays unsigned after it moved.
const CHECKPOINT_SECONDS: u64 = 1;

/// Period of the scheduler tick (date-driven state changes).
const SCHEDULER_SECONDS: u64 = 300;

/// Serves until Ctrl-C, checkpointing the audit head every few seconds when it moved and at exit.
pub async fn serve(state: AppState, addr: SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    serve_on(state, listener, shutdown_signal()).await
}

pub async fn serve_on(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // The head is signed at every start: records a crash left unsigned are signed before anything
    // else is written.
    if let Err(e) = state.checkpoint().await {
        tracing::error!(error = %e, "start-up audit checkpoint failed");
    }
    match services::sweep::sweep_all(&state).await {
        Ok(r) if r == services::sweep::SweepReport::default() => {}
        Ok(r) => tracing::info!(?r, "swept objects interrupted imports left"),
        Err(e) => tracing::error!(error = %e.message, "sweeping the object store failed"),
    }
    let cp_state = state.clone();
    let mut head = state.store.watch_head();
    let checkpointer = tokio::spawn(async move {
        loop {
            if head.changed().await.is_err() {
                break;
            }
            // Coalesce bursts, but keep the unsigned tail short: one signature per second at most,
            // so a crash leaves at most about a second of records unsigned.
            tokio::time::sleep(std::time::Duration::from_secs(CHECKPOINT_SECONDS)).await;
            if let Err(e) = cp_state.checkpoint().await {
                tracing::error!(error = %e, "audit checkpoint failed");
            }
        }
    });
    // Date-driven moves (a missed supplement deadline lapses an application, an unanswered verification
    // request is escalated) every few minutes; the first run waits one period so a starting server
    // answers first.
    let tick_state = state.clone();
    let scheduler = tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(SCHEDULER_SECONDS)).await;
            match scheduler::tick(&tick_state).await {
                Ok(r) if r == scheduler::TickReport::default() => {}
                Ok(r) => tracing::info!(?r, "scheduler moved overdue items"),
                Err(e) => tracing::error!(error = %e.message, "scheduler tick failed"),
            }
        }
    });
    // Real sandbox runs a stopped server left unfinished run again.
    if let Err(e) = services::sandbox::resume(&state).await {
        tracing::error!(error = %e.message, "resuming sandbox runs failed");
    }
    let app = app(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let result = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    // Runs in progress stop at their next batch and stay queued for the next start.
    state.sandbox.stop();
    checkpointer.abort();
    scheduler.abort();
    if let Err(e) = state.checkpoint().await {
        tracing::error!(error = %e, "final audit checkpoint failed");
    }
    result
}

/// Ctrl-C, or SIGTERM (how service managers stop a process): both end with a final checkpoint.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
