//! What a grant lets a project see: tables, the usage class of every field, the privacy unit, the
//! threshold *k* and the row scope — and the errors the sandbox answers with.
//!
//! The server builds a [`TablePolicy`] per granted dataset from the grant (fields, usage classes,
//! row scope, k) and the catalogue (grades, personal-information flags). Fields a grant does not list
//! are hidden: they are not in the table the developer's SQL sees at all.

use yunshu_domain::catalog::UsageClass;

/// The name of the column a protected table carries its (pseudonymised) privacy unit in. It may only be
/// passed through; any other use by a query is refused.
pub const UNIT_COLUMN: &str = "__yunshu_unit";

/// Names the sandbox adds to plans start with this; a query may not use them.
pub const RESERVED_PREFIX: &str = "__yunshu";

/// The smallest k a dataset may set and the default (sandbox.md: default 10, never below 5) — the
/// domain's grant rule.
pub use yunshu_domain::data_use::{DEFAULT_K, MIN_K};

/// One field of a granted table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnPolicy {
    pub name: String,
    pub class: UsageClass,
    /// A personal-information field (direct, quasi-identifier or sensitive): comparisons with
    /// literals are restricted to equality, so it cannot be bisected by ranges or LIKE.
    pub sensitive: bool,
}

impl ColumnPolicy {
    pub fn new(name: &str, class: UsageClass, sensitive: bool) -> ColumnPolicy {
        ColumnPolicy { name: name.into(), class, sensitive }
    }
}

/// One granted table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TablePolicy {
    /// The name the developer's SQL uses.
    pub name: String,
    /// The privacy-unit column (e.g. person_id). `None`: the table holds no personal data (a register
    /// of legal persons, say) and needs no threshold.
    pub unit: Option<String>,
    /// Each unit has exactly one row (a person register): counting rows counts units, unless a join
    /// may repeat them.
    pub unit_per_row: bool,
    /// Threshold of distinct units per output group; never below [`MIN_K`].
    pub k: u32,
    /// Fields the grant lists; every other field of the dataset is hidden.
    pub columns: Vec<ColumnPolicy>,
    /// The grant's row scope as a SQL predicate over the dataset's own fields (applied inside the scan,
    /// below every other operator), e.g. `region LIKE '5301%'`.
    pub row_filter: Option<String>,
}

impl TablePolicy {
    pub fn is_protected(&self) -> bool {
        self.unit.is_some()
    }

    pub fn column(&self, name: &str) -> Option<&ColumnPolicy> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The threshold actually applied: the configured k, raised to [`MIN_K`].
    pub fn effective_k(&self) -> u32 {
        self.k.max(MIN_K)
    }
}

/// Per-query limits (side channels and resource exhaustion, sandbox.md layer 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub memory_bytes: usize,
    pub timeout: std::time::Duration,
    /// Rows a result may have; more is refused (an output is for people to review).
    pub max_output_rows: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 2 << 30,
            timeout: std::time::Duration::from_secs(300),
            max_output_rows: 100_000,
        }
    }
}

/// Why the sandbox refused or failed a query. Every variant has a stable code and a Chinese message;
/// none carries a data value (a refusal may name the query's own columns and functions).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SandboxError {
    /// SQL that does not parse or plan (unknown column, type error…): the planner's text, which sees
    /// only the granted schema, never data.
    #[error("sql: {0}")]
    Sql(String),
    /// DDL, DML, SET and other statements.
    #[error("statement not allowed")]
    Statement,
    /// EXPLAIN and EXPLAIN ANALYZE would show plans and pre-policy sizes.
    #[error("explain not allowed")]
    Explain,
    /// A construct the policy does not allow, with the reason in Chinese.
    #[error("policy: {0}")]
    Policy(String),
    /// Out of the per-query memory.
    #[error("memory limit")]
    Memory,
    /// Over the per-query time.
    #[error("time limit")]
    Timeout,
    #[error("cancelled")]
    Cancelled,
    #[error("too many rows")]
    TooManyRows,
    /// Anything that failed while reading data: the engine's text may contain values, so it is not
    /// shown (it is logged for the platform's own staff).
    #[error("execution failed")]
    Execution,
    /// A broken invariant of the sandbox itself (fail closed).
    #[error("internal: {0}")]
    Internal(String),
}

impl SandboxError {
    pub fn code(&self) -> &'static str {
        match self {
            SandboxError::Sql(_) => "sandbox.sql",
            SandboxError::Statement => "sandbox.statement",
            SandboxError::Explain => "sandbox.explain",
            SandboxError::Policy(_) => "sandbox.policy",
            SandboxError::Memory => "sandbox.memory_limit",
            SandboxError::Timeout => "sandbox.time_limit",
            SandboxError::Cancelled => "sandbox.cancelled",
            SandboxError::TooManyRows => "sandbox.too_many_rows",
            SandboxError::Execution => "sandbox.execution",
            SandboxError::Internal(_) => "sandbox.internal",
        }
    }

    pub fn message_zh(&self) -> String {
        match self {
            SandboxError::Sql(m) => format!("SQL 有误：{m}"),
            SandboxError::Statement => "沙箱只接受查询语句（SELECT），不允许建表、写入、SET 等语句".into(),
            SandboxError::Explain => "沙箱不提供 EXPLAIN / EXPLAIN ANALYZE（执行计划会暴露数据规模）".into(),
            SandboxError::Policy(m) => format!("该查询不符合数据使用策略：{m}"),
            SandboxError::Memory => "查询超出单次查询的内存上限，请缩小范围或减少分组".into(),
            SandboxError::Timeout => "查询超出单次查询的时间上限，已终止".into(),
            SandboxError::Cancelled => "查询已取消".into(),
            SandboxError::TooManyRows => "结果行数超出上限，请增加聚合或筛选".into(),
            SandboxError::Execution => "查询执行出错（为保护数据，不显示包含数据内容的错误详情）".into(),
            SandboxError::Internal(_) => "沙箱内部错误，查询已拒绝（已记录）".into(),
        }
    }

    pub(crate) fn policy(msg: impl Into<String>) -> SandboxError {
        SandboxError::Policy(msg.into())
    }
}
