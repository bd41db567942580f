//! `yunshu`: the one binary of the platform — `demo`, `serve`, `audit verify`, `calendar`, `bench`.
//!
//! Errors are printed once, as a chain, and the process exits non-zero; `audit verify` exits 1 and names
//! the first bad record when the log has been tampered with.

mod bench;
mod bench_ingest;
mod import;
mod sandbox;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use chrono::NaiveDate;
use clap::{Parser, Subcommand};
use yunshu_audit::{AuditKey, CheckpointLog, Verifier, VerifyMode};
use yunshu_domain::calendar::WorkCalendar;
use yunshu_server::{AppState, Config};
use yunshu_store::Store;

#[derive(Parser)]
#[command(name = "yunshu", version, about = "云数 — 云南省公共数据资源授权运营平台")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct Storage {
    /// Data directory: the SQLite database, the audit signing key, the checkpoint file.
    #[arg(long, default_value = "./yunshu-data")]
    data_dir: PathBuf,
    /// Database URL (sqlite:… or postgres://…); default: SQLite in the data directory.
    #[arg(long, env = "YUNSHU_DATABASE_URL")]
    database_url: Option<String>,
}

#[derive(Subcommand)]
enum SandboxCommand {
    /// Runs SQL in a project's sandbox exactly as USER would, and prints what USER would see: the
    /// result on dummy data, or with --real the check report of the output that lands in the outbox.
    /// Recorded in the audit log as run from the administration console on USER's behalf.
    Run {
        /// The user whose access applies (a developer of the project).
        #[arg(long = "as")]
        as_user: String,
        /// Project number.
        #[arg(long)]
        project: i64,
        /// One SELECT over the granted tables (ds{resource_id}).
        #[arg(long)]
        sql: String,
        /// Run on real data (the result goes to the outbox for review, as in the workspace).
        #[arg(long)]
        real: bool,
        /// The platform's TOML configuration (sandbox caps, DP settings); default: the built-in
        /// defaults, with the demo's DP bounds.
        #[arg(long)]
        config: Option<PathBuf>,
        #[command(flatten)]
        storage: Storage,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Start the whole platform on embedded storage with the demo organisations, users and regions.
    Demo {
        #[arg(long, default_value_t = 8080)]
        port: u16,
        #[arg(long, default_value = "127.0.0.1")]
        bind: String,
        #[command(flatten)]
        storage: Storage,
    },
    /// Start the platform (no demo data).
    Serve {
        /// TOML configuration file (keys: port, bind, data_dir, database_url, production,
        /// lockout_failures, lockout_minutes, idle_minutes, body_limit).
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        port: Option<u16>,
        #[command(flatten)]
        storage: Storage,
    },
    /// The tamper-evident audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Official working-day calendar (法定节假日与调休).
    Calendar {
        #[command(subcommand)]
        command: CalendarCommand,
    },
    /// Platform administration from the command line.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Import a data file (CSV UTF-8/GBK, XLSX, Parquet, JSON Lines) as a new encrypted version of a
    /// resource, with a progress bar.
    Import {
        /// The file to import.
        file: PathBuf,
        /// Resource code (e.g. 301001001/…-0001) or registration code.
        #[arg(long)]
        resource: String,
        /// Import in this user's name (their permissions apply); default: the platform console.
        #[arg(long = "as")]
        as_user: Option<String>,
        /// XLSX sheet (default: the first).
        #[arg(long)]
        sheet: Option<String>,
        #[command(flatten)]
        storage: Storage,
    },
    /// The secure sandbox, for platform administrators (local administration and testing).
    Sandbox {
        #[command(subcommand)]
        command: SandboxCommand,
    },
    /// Benchmarks (prints each figure with its baseline).
    Bench {
        #[command(subcommand)]
        command: bench::BenchCommand,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Verify the whole chain, every record tag and every signed checkpoint. Exit 1 names the first
    /// bad record.
    Verify {
        #[command(flatten)]
        storage: Storage,
    },
    /// Sign the current head now (the server also does this every few seconds and at shutdown).
    Checkpoint {
        #[command(flatten)]
        storage: Storage,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// First start of a production platform: the first organisation (data authority or platform
    /// operator) and its administrator. The password is read from YUNSHU_BOOTSTRAP_PASSWORD.
    Bootstrap {
        /// 机构名称, e.g. 云南省数据局.
        #[arg(long)]
        org_name: String,
        /// 统一社会信用代码.
        #[arg(long)]
        uscc: String,
        /// data_authority or platform_operator.
        #[arg(long, default_value = "data_authority")]
        org_type: String,
        /// GB/T 2260 region code.
        #[arg(long, default_value = "530000")]
        region: String,
        /// Login name of the administrator.
        #[arg(long)]
        username: String,
        /// Real name of the administrator.
        #[arg(long)]
        name: String,
        /// 居民身份证号码 of the administrator.
        #[arg(long)]
        resident_id: String,
        /// Mobile number of the administrator.
        #[arg(long)]
        mobile: String,
        #[command(flatten)]
        storage: Storage,
    },
}

#[derive(Subcommand)]
enum CalendarCommand {
    /// The date N official working days after DATE (DATE itself not counted).
    AddWorkingDays {
        date: String,
        days: u32,
        /// Also use the schedules administrators loaded into this platform's database.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// The last day of an N-day period from DATE (Civil Code: a last day on a holiday moves to the
    /// next working day).
    AddDays {
        date: String,
        days: u32,
        /// Also use the schedules administrators loaded into this platform's database.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error("{0}")]
    Msg(String),
    #[error("audit log verification FAILED: {0}")]
    Tampered(yunshu_audit::Tampered),
}

fn msg(e: impl std::fmt::Display) -> CliError {
    CliError::Msg(e.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Demo { port, bind, storage } => demo(port, &bind, storage).await,
        Command::Serve { config, port, storage } => serve(config, port, storage).await,
        Command::Audit { command: AuditCommand::Verify { storage } } => verify(storage).await,
        Command::Audit { command: AuditCommand::Checkpoint { storage } } => {
            let (store, key_dir) = open(&storage).await?;
            let state = state(store, Config::default(), &key_dir)?;
            state.checkpoint().await.map_err(msg)?;
            println!("checkpointed");
            Ok(())
        }
        Command::Calendar { command } => calendar(command).await,
        Command::Admin {
            command:
                AdminCommand::Bootstrap {
                    org_name,
                    uscc,
                    org_type,
                    region,
                    username,
                    name,
                    resident_id,
                    mobile,
                    storage,
                },
        } => {
            let password = std::env::var("YUNSHU_BOOTSTRAP_PASSWORD")
                .map_err(|_| msg("set YUNSHU_BOOTSTRAP_PASSWORD to the administrator's initial password"))?;
            let (store, dir) = open(&storage).await?;
            let state = state(store, Config::default(), &dir)?;
            let org = yunshu_server::services::OrgInput { name: org_name, uscc, org_type, region };
            let admin = yunshu_server::services::UserInput {
                org_id: 0,
                username,
                display_name: name,
                resident_id,
                mobile,
                roles: vec!["admin".into()],
                password,
            };
            let (org_id, user_id) =
                yunshu_server::services::bootstrap(&state, chrono::Utc::now(), &org, &admin).await.map_err(
                    |e| {
                        msg(format!(
                            "{} ({}{})",
                            e.message,
                            e.code,
                            e.field.map(|f| format!(", field {f}")).unwrap_or_default()
                        ))
                    },
                )?;
            state.checkpoint().await.map_err(msg)?;
            println!("created organisation #{org_id} and administrator #{user_id}");
            Ok(())
        }
        Command::Bench { command } => bench::run(command).await.map_err(msg),
        Command::Sandbox {
            command: SandboxCommand::Run { as_user, project, sql, real, config, mut storage },
        } => {
            let cfg = match &config {
                Some(_) => load_config(&config, &mut storage)?.1,
                None => demo_config(),
            };
            let (store, dir) = open(&storage).await?;
            let state = state(store, cfg, &dir)?;
            let r = sandbox::run(&state, &as_user, project, &sql, real).await;
            state.checkpoint().await.map_err(msg)?;
            r.map_err(msg)
        }
        Command::Import { file, resource, as_user, sheet, storage } => {
            let (store, dir) = open(&storage).await?;
            let state = state(store, Config::default(), &dir)?;
            let r = import::run(&state, &file, &resource, as_user.as_deref(), sheet).await;
            state.checkpoint().await.map_err(msg)?;
            r.map_err(msg)
        }
    }
}

fn database_url(storage: &Storage) -> Result<String, CliError> {
    match &storage.database_url {
        Some(u) if !u.is_empty() => Ok(u.clone()),
        _ => {
            std::fs::create_dir_all(&storage.data_dir)
                .map_err(|e| msg(format!("cannot create {}: {e}", storage.data_dir.display())))?;
            Ok(format!("sqlite://{}?mode=rwc", storage.data_dir.join("yunshu.db").display()))
        }
    }
}

fn key_path(dir: &Path) -> PathBuf {
    dir.join("keys").join("audit-signing.key")
}

fn checkpoint_path(dir: &Path) -> PathBuf {
    dir.join("audit").join("checkpoints.log")
}

async fn open(storage: &Storage) -> Result<(Store, PathBuf), CliError> {
    let url = database_url(storage)?;
    let key = AuditKey::load_or_create(&key_path(&storage.data_dir)).map_err(msg)?;
    let store = Store::open(&url, Arc::new(key)).await.map_err(msg)?;
    Ok((store, storage.data_dir.clone()))
}

fn state(store: Store, config: Config, dir: &Path) -> Result<AppState, CliError> {
    if let Some(parent) = checkpoint_path(dir).parent() {
        std::fs::create_dir_all(parent).map_err(msg)?;
    }
    AppState::new(store, config, yunshu_server::system_clock(), checkpoint_path(dir), dir).map_err(msg)
}

async fn demo(port: u16, bind: &str, storage: Storage) -> Result<(), CliError> {
    let (store, dir) = open(&storage).await?;
    let now = chrono::Utc::now();
    let accounts = yunshu_server::demo::seed(&store, now).await.map_err(msg)?;
    let state = state(store, demo_config(), &dir)?;
    yunshu_server::demo::seed_catalog(&state, now).await.map_err(msg)?;
    yunshu_server::demo::seed_onboarding(&state, now).await.map_err(msg)?;
    yunshu_server::demo::seed_evaluations(&state, now).await.map_err(msg)?;
    yunshu_server::demo::seed_plans(&state, now).await.map_err(msg)?;
    yunshu_server::demo::seed_sanctions(&state, now).await.map_err(msg)?;
    yunshu_server::demo::seed_data_use(&state, now).await.map_err(msg)?;
    state.checkpoint().await.map_err(msg)?;
    let addr: SocketAddr = format!("{bind}:{port}").parse().map_err(msg)?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| msg(format!("cannot listen on {addr}: {e}")))?;
    println!("云数 Yunshu — 云南省公共数据资源授权运营平台 (demo)");
    println!("  URL:       http://{addr}/");
    println!("  data dir:  {}", dir.display());
    println!("  password of every demo account: {}", yunshu_server::demo::DEMO_PASSWORD);
    println!("  accounts:");
    for a in accounts {
        println!("    {:<18} {:<6} {}（{}）", a.username, a.name, a.org, a.roles);
    }
    println!("Press Ctrl-C to stop.");
    yunshu_server::serve_on(state, listener, yunshu_server::shutdown_signal()).await.map_err(msg)
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    port: Option<u16>,
    bind: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    production: Option<bool>,
    lockout_failures: Option<i64>,
    lockout_minutes: Option<i64>,
    idle_minutes: Option<i64>,
    body_limit: Option<usize>,
    /// Registration periods in working days: acceptance, formal review, public notice.
    registration_accept_days: Option<u32>,
    registration_review_days: Option<u32>,
    registration_notice_days: Option<u32>,
    /// e.g. "YNGS-{region}-{year}-{seq:6}".
    registration_code_format: Option<String>,
    /// false once codes come from the national registry.
    registration_code_provisional: Option<bool>,
    /// Grade → usage classes, one line per grade: "l3 = hidden, join_key, aggregate".
    grade_policy: Option<String>,
    /// Largest data file accepted for import, in bytes.
    upload_limit: Option<u64>,
    /// Sandbox: memory cap of one query (MiB), time cap (seconds), largest result (rows).
    sandbox_memory_mb: Option<usize>,
    sandbox_timeout_seconds: Option<u64>,
    sandbox_max_output_rows: Option<usize>,
    /// Real-data sandbox runs executed at once (the rest wait in the queue).
    sandbox_concurrent_runs: Option<usize>,
    /// Differential privacy of grants with an ε budget: ε per aggregate ("0.1" or "1/10"), rows per
    /// unit and group, groups per unit, clamping bounds ("缴费金额 = 0..5000" lines).
    dp_epsilon_per_aggregate: Option<String>,
    dp_max_rows_per_group: Option<u32>,
    dp_max_groups: Option<u32>,
    dp_bounds: Option<String>,
}

fn dp_settings(file: &FileConfig) -> Result<yunshu_server::DpSettings, CliError> {
    let d = yunshu_server::DpSettings::default();
    Ok(yunshu_server::DpSettings {
        epsilon_per_aggregate: match &file.dp_epsilon_per_aggregate {
            Some(t) => yunshu_domain::data_use::Epsilon::parse(t)
                .ok()
                .filter(|e| !e.is_zero())
                .ok_or_else(|| msg("dp_epsilon_per_aggregate: 应为大于 0 的小数或分数"))?,
            None => d.epsilon_per_aggregate,
        },
        max_rows_per_group: file.dp_max_rows_per_group.unwrap_or(d.max_rows_per_group).max(1),
        max_groups: file.dp_max_groups.unwrap_or(d.max_groups).max(1),
        bounds: match &file.dp_bounds {
            Some(t) => yunshu_server::DpSettings::parse_bounds(t).map_err(msg)?,
            None => d.bounds,
        },
    })
}

/// The demo's DP bounds for its sample datasets (a real platform sets them in its configuration file).
fn demo_config() -> Config {
    let mut cfg = Config::default();
    cfg.dp.bounds = yunshu_server::DpSettings::parse_bounds(
        "缴费金额 = 0..5000\n缴费基数 = 0..30000\n注册资本 = 0..100000000",
    )
    .unwrap_or_default();
    cfg
}

fn yunshu_sandbox_limits(file: &FileConfig, d: yunshu_sandbox::Limits) -> yunshu_sandbox::Limits {
    yunshu_sandbox::Limits {
        memory_bytes: file.sandbox_memory_mb.map(|m| m.saturating_mul(1 << 20)).unwrap_or(d.memory_bytes),
        timeout: file.sandbox_timeout_seconds.map(std::time::Duration::from_secs).unwrap_or(d.timeout),
        max_output_rows: file.sandbox_max_output_rows.unwrap_or(d.max_output_rows),
    }
}

/// Reads the TOML configuration file (or the defaults) and the server settings it gives.
fn load_config(config: &Option<PathBuf>, storage: &mut Storage) -> Result<(FileConfig, Config), CliError> {
    let file: FileConfig = match config {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).map_err(|e| msg(format!("cannot read {}: {e}", p.display())))?;
            toml::from_str(&text).map_err(|e| msg(format!("{}: {e}", p.display())))?
        }
        None => FileConfig::default(),
    };
    if let Some(d) = file.data_dir.clone() {
        storage.data_dir = d;
    }
    if storage.database_url.is_none() {
        storage.database_url = file.database_url.clone();
    }
    let defaults = Config::default();
    let cfg = Config {
        production: file.production.unwrap_or(false),
        lockout_failures: file.lockout_failures.unwrap_or(defaults.lockout_failures),
        lockout_minutes: file.lockout_minutes.unwrap_or(defaults.lockout_minutes),
        idle_minutes: file.idle_minutes.unwrap_or(defaults.idle_minutes),
        body_limit: file.body_limit.unwrap_or(defaults.body_limit),
        token_max_days: defaults.token_max_days,
        registration_periods: yunshu_domain::catalog::RegistrationPeriods {
            accept: file.registration_accept_days.unwrap_or(defaults.registration_periods.accept),
            review: file.registration_review_days.unwrap_or(defaults.registration_periods.review),
            notice: file.registration_notice_days.unwrap_or(defaults.registration_periods.notice).max(1),
        },
        registration_code_format: match &file.registration_code_format {
            Some(t) => yunshu_domain::catalog::CodeFormat::parse(t)
                .map_err(|e| msg(format!("registration_code_format: {}", e.message_zh())))?,
            None => defaults.registration_code_format,
        },
        registration_code_provisional: file.registration_code_provisional.unwrap_or(true),
        upload_limit: file.upload_limit.unwrap_or(defaults.upload_limit),
        grade_policy: match &file.grade_policy {
            Some(t) => yunshu_domain::catalog::GradePolicy::parse(t)
                .map_err(|e| msg(format!("grade_policy: {}", e.message_zh())))?,
            None => defaults.grade_policy,
        },
        sandbox_limits: yunshu_sandbox_limits(&file, defaults.sandbox_limits),
        sandbox_concurrent_runs: file
            .sandbox_concurrent_runs
            .unwrap_or(defaults.sandbox_concurrent_runs)
            .clamp(1, 64),
        dp: dp_settings(&file)?,
    };
    Ok((file, cfg))
}

async fn serve(config: Option<PathBuf>, port: Option<u16>, mut storage: Storage) -> Result<(), CliError> {
    let (file, cfg) = load_config(&config, &mut storage)?;
    let (store, dir) = open(&storage).await?;
    let state = state(store, cfg, &dir)?;
    let port = port.or(file.port).unwrap_or(8080);
    let addr: SocketAddr =
        format!("{}:{port}", file.bind.as_deref().unwrap_or("127.0.0.1")).parse().map_err(msg)?;
    println!("云数 Yunshu listening on http://{addr}/");
    yunshu_server::serve(state, addr).await.map_err(msg)
}

async fn verify(storage: Storage) -> Result<(), CliError> {
    let url = database_url(&storage)?;
    // Verification needs the existing key: never create one here.
    let key = AuditKey::load(&key_path(&storage.data_dir)).map_err(msg)?;
    let checkpoints = CheckpointLog::new(checkpoint_path(&storage.data_dir)).read_all().map_err(msg)?;
    let store = Store::open(&url, Arc::new(key.clone())).await.map_err(msg)?;
    let started = std::time::Instant::now();
    let mut verifier = Verifier::new(VerifyMode::Full(&key), checkpoints);
    let mut after = 0;
    loop {
        let batch = store.audit_batch(after, 5_000).await.map_err(msg)?;
        let Some(last) = batch.last() else { break };
        after = last.record.seq;
        for r in &batch {
            verifier.push(r).map_err(CliError::Tampered)?;
        }
    }
    let report = verifier.finish().map_err(CliError::Tampered)?;
    // The chain is whole; now the data behind it: every created object has its record.
    let missing = store.unaudited_objects(20).await.map_err(msg)?;
    if !missing.is_empty() {
        return Err(msg(format!(
            "audit log incomplete: objects without the record of their creation: {}",
            missing.join(", ")
        )));
    }
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    println!(
        "audit log intact: {} records, {} signed checkpoints checked, head #{} {}",
        report.records,
        report.checkpoints_checked,
        report.head_seq,
        report.head.to_hex()
    );
    println!(
        "verified in {:.3} s ({:.0} records/s, {:.1} MB/s)",
        secs,
        report.records as f64 / secs,
        report.bytes_hashed as f64 / secs / 1e6
    );
    Ok(())
}

fn parse_date(s: &str) -> Result<NaiveDate, CliError> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| msg(format!("`{s}` is not a date of the form YYYY-MM-DD")))
}

async fn calendar(command: CalendarCommand) -> Result<(), CliError> {
    let (date, days, data_dir, working) = match command {
        CalendarCommand::AddWorkingDays { date, days, data_dir } => (date, days, data_dir, true),
        CalendarCommand::AddDays { date, days, data_dir } => (date, days, data_dir, false),
    };
    let start = parse_date(&date)?;
    // Without a data directory: the official schedules built into this binary (2024–2026).
    let cal = match data_dir {
        Some(dir) => {
            let database_url = std::env::var("YUNSHU_DATABASE_URL").ok();
            if database_url.is_none() && !dir.join("yunshu.db").exists() {
                return Err(msg(format!("{} holds no Yunshu database", dir.display())));
            }
            let storage = Storage { data_dir: dir, database_url };
            let (store, _) = open(&storage).await?;
            store.work_calendar().await.map_err(msg)?
        }
        None => WorkCalendar::official().map_err(msg)?,
    };
    let result = if working { cal.add_working_days(start, days) } else { cal.add_calendar_days(start, days) };
    match result {
        Ok(d) => {
            println!("{d}");
            Ok(())
        }
        Err(e) => Err(msg(format!("{e} ({})", e.message_zh()))),
    }
}
