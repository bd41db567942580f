//! The secure sandbox (沙箱): "原始数据不出域、数据可用不可见" (sandbox.md).
//!
//! A developer's SQL runs on Apache DataFusion over only the tables granted to its project:
//!
//! - [`policy`]: what a grant shows — usage class per field, privacy unit, k, row scope — and the errors;
//! - [`table`]: the policy-wrapping table (row scope and pseudonyms inside the scan, no statistics);
//! - [`check`]: the plan check and rewrite (usage classes, restricted comparisons, blending aggregates
//!   only, a gate at every aggregation of protected rows);
//! - [`gate`]: the per-value gate — every released value aggregates at least k contributing units after
//!   its own narrowing, dominance and p% on per-unit sums, complementary suppression;
//! - [`fingerprint`]: linear sketches of per-unit contributions (k-sparse recovery);
//! - [`differencing`]: pairs of values, and margins minus cells, that isolate fewer than k units;
//! - [`engine`]: the session — statements refused, gates installed, caps on memory and time,
//!   cancellation, errors without data values;
//! - [`checks`]: output checks before release (threshold, dominance, p-ratio, zeros, identifiers);
//! - [`dp`]: differential privacy with discrete samplers;
//! - [`dp_query`]: differential privacy in query execution (contribution bounds, noise, noisy group
//!   selection, the ε a query costs);
//! - [`dummy`]: synthetic dummy data from coarsened statistics;
//! - [`bench`]: the sandbox benchmark (P1).

pub mod bench;
pub mod check;
pub mod checks;
pub mod differencing;
pub mod dp;
pub mod dp_query;
pub mod dummy;
pub mod engine;
pub mod fingerprint;
pub mod gate;
pub mod policy;
pub mod release;
pub mod table;

// The platform writes results as Parquet and reads them back for CSV/XLSX downloads with the same
// Arrow and Parquet the engine uses.
pub use arrow;
pub use parquet;

pub use dp::{DpBudget, Epsilon};
pub use engine::{Cancel, Dataset, Outcome, Sandbox};
pub use policy::{ColumnPolicy, DpBounds, DpPolicy, Limits, SandboxError, TablePolicy};
pub use table::PseudonymKey;
