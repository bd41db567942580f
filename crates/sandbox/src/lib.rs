//! The secure sandbox (沙箱): "原始数据不出域、数据可用不可见" (sandbox.md).
//!
//! A developer's SQL runs on Apache DataFusion over only the tables granted to its project:
//!
//! - [`policy`]: what a grant shows — usage class per field, privacy unit, k, row scope — and the errors;
//! - [`table`]: the policy-wrapping table (row scope and pseudonyms inside the scan, no statistics);
//! - [`check`]: the plan check and rewrite (usage classes, restricted comparisons, blending aggregates
//!   only, a distinct-unit count per protected table at every gated aggregation);
//! - [`engine`]: the session — statements refused, gates installed, caps on memory and time,
//!   cancellation, errors without data values;
//! - [`sketch`]: the units each query aggregated, for differencing pairs;
//! - [`checks`]: output checks before release (threshold, dominance, p-ratio, zeros, identifiers);
//! - [`dp`]: differential privacy with discrete samplers;
//! - [`dummy`]: synthetic dummy data from coarsened statistics;
//! - [`bench`]: the sandbox benchmark (P1).

pub mod bench;
pub mod check;
pub mod checks;
pub mod dp;
pub mod dummy;
pub mod engine;
pub mod policy;
pub mod release;
pub mod sketch;
pub mod table;

pub use engine::{Cancel, Dataset, Outcome, Sandbox};
pub use policy::{ColumnPolicy, Limits, SandboxError, TablePolicy};
pub use table::PseudonymKey;
