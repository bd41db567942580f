//! What a grant lets a project see: tables, the usage class of every field, the privacy unit, the
//! threshold *k* and the row scope — and the errors the sandbox answers with.
//!
//! The server builds a [`TablePolicy`] per granted dataset from the grant (fields, usage classes,
//! row scope, k) and the catalogue (grades, personal-information flags). Fields a grant does not list
//! are hidden: they are not in the table the developer's SQL sees at all.

use std::collections::BTreeMap;

use yunshu_domain::catalog::UsageClass;

use crate::dp::{DpError, Epsilon};

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
    /// Differential privacy on this table (sandbox.md layer 6); `None`: no DP, the exact threshold
    /// applies. See [`crate::dp_query`] for the mechanism.
    pub dp: Option<DpPolicy>,
}

/// Clamping bounds of one column, from configuration (never read off the data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DpBounds {
    pub lower: i64,
    pub upper: i64,
}

/// A table's differential-privacy settings, all from configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpPolicy {
    /// ε of each released aggregate, and of the noisy unit count that decides which groups are
    /// released; a query costs `epsilon × (1 + aggregates)` (see [`crate::dp_query`]).
    pub epsilon: Epsilon,
    /// Per-row clamping bounds of the columns that may be summed or averaged; a column not listed
    /// cannot be.
    pub bounds: BTreeMap<String, DpBounds>,
    /// Rows one privacy unit may contribute to one group: its count in a group is capped at this,
    /// its sum at this many rows' worth of the bounds.
    pub max_rows_per_group: u32,
    /// Groups one privacy unit may contribute to; beyond that, a keyed random choice of its groups
    /// is kept.
    pub max_groups: u32,
    /// τ: the noisy distinct-unit count a group needs to be released, raised to the table's k
    /// (0: k).
    pub threshold: u32,
}

impl DpPolicy {
    /// A policy with one row per unit and group and one group per unit; the threshold is k.
    pub fn new(epsilon: Epsilon) -> DpPolicy {
        DpPolicy { epsilon, bounds: BTreeMap::new(), max_rows_per_group: 1, max_groups: 1, threshold: 0 }
    }

    /// Adds the bounds of a column.
    pub fn bound(mut self, column: &str, lower: i64, upper: i64) -> DpPolicy {
        self.bounds.insert(column.to_owned(), DpBounds { lower, upper });
        self
    }

    /// Checks the settings: ε positive, limits at least 1, bounds ordered.
    pub fn validate(&self) -> Result<(), DpError> {
        if self.epsilon.is_zero() {
            return Err(DpError::InvalidEpsilon("ε per aggregate must be positive"));
        }
        if self.max_rows_per_group == 0 || self.max_groups == 0 {
            return Err(DpError::InvalidConfig("contribution limits must be at least 1"));
        }
        if self.bounds.values().any(|b| b.lower > b.upper) {
            return Err(DpError::InvalidConfig("a lower bound is greater than its upper bound"));
        }
        Ok(())
    }

    /// The release threshold τ actually applied for a table of threshold `k`.
    pub fn tau(&self, k: u32) -> u32 {
        self.threshold.max(k).max(MIN_K)
    }

    /// δ of the group selection, for display: a group only one unit makes up is released with
    /// probability P[Z ≥ τ − 1] = e^{−a(τ−2)}/(e^a + 1) for discrete Laplace noise Z with a = ε/G,
    /// and a unit makes up at most G groups.
    pub fn selection_delta(&self, k: u32) -> f64 {
        let g = f64::from(self.max_groups.max(1));
        let a = self.epsilon.as_f64() / g;
        let tau = f64::from(self.tau(k));
        g * (-a * (tau - 2.0)).exp() / (a.exp() + 1.0)
    }
}

impl TablePolicy {
    pub fn is_protected(&self) -> bool {
        self.unit.is_some()
    }

    pub fn column(&self, name: &str) -> Option<&ColumnPolicy> {
        self.columns.iter().find(|c| c.name == name)
    }

    pub fn is_dp(&self) -> bool {
        self.dp.is_some()
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
    /// A query shape differential privacy does not support on a DP table (the reason in Chinese).
    #[error("dp shape: {0}")]
    DpShape(String),
    /// SUM/AVG of a column without configured clamping bounds on a DP table (the query's own column
    /// name).
    #[error("dp unbounded column: {0}")]
    DpUnboundedColumn(String),
    /// The query would spend more ε than the project has left; it did not run.
    #[error("dp budget exceeded: cost {cost}, remaining {remaining}")]
    DpBudget { cost: Epsilon, remaining: Epsilon },
    /// A DP configuration error or a failed random source: nothing is released without its noise.
    #[error("dp: {0}")]
    Dp(DpError),
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
            SandboxError::DpShape(_) => "dp.shape",
            SandboxError::DpUnboundedColumn(_) => "dp.unbounded_column",
            SandboxError::DpBudget { .. } => "dp.budget_exceeded",
            SandboxError::Dp(e) => e.code(),
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
            SandboxError::DpShape(m) => format!("该数据集启用了差分隐私，查询形式不受支持：{m}"),
            SandboxError::DpUnboundedColumn(c) => {
                format!("该数据集启用了差分隐私，字段“{c}”没有配置取值范围（裁剪上下限），不能求和或求平均")
            }
            SandboxError::DpBudget { cost, remaining } => {
                format!("隐私预算不足：本次查询需 ε = {cost}，剩余 ε = {remaining}，查询未执行")
            }
            SandboxError::Dp(e) => e.message_zh(),
            SandboxError::Internal(_) => "沙箱内部错误，查询已拒绝（已记录）".into(),
        }
    }

    pub(crate) fn policy(msg: impl Into<String>) -> SandboxError {
        SandboxError::Policy(msg.into())
    }
}
