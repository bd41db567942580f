//! `yunshu-domain`: the pure types and rules of the Yunshu platform (云数, 云南省公共数据资源授权运营平台).
//!
//! No IO, no async, no serialisation: everything here is deterministic and testable in isolation.
//! Reference data (administrative divisions, the official holiday schedules) is compiled in.
//!
//! - [`ids`]: identifiers validated at the edge (统一社会信用代码, 居民身份证号码, mobile numbers);
//! - [`regions`]: the 云南省 administrative division tree (GB/T 2260);
//! - [`calendar`]: the official working-day calendar and period arithmetic (期间计算);
//! - [`party`]: organisation types and roles of the measures' parties;
//! - [`personnel`]: real-name personnel rules (Art. 25(1)) and the password policy;
//! - [`catalog`]: the resource catalogue, grading, registration and the negative list (Art. 5, 15, 18);
//! - [`verification`]: data verification requests and objections (Art. 17, 10 working days);
//! - [`approval`]: internal approval chains (经办 → 负责人 → 分管领导, 会签/或签, 退回/撤回/转办/催办);
//! - [`authorization`]: authorization management (Art. 6–13, 21, 25(5), 26): plans, operation and
//!   development agreements, onboarding, blacklist, termination, evaluations;
//! - [`data_use`]: data-use requests (Art. 20), projects, security assessments (Art. 25(3)), grants and
//!   their combined grade (关联汇聚, Art. 28), the per-query access chain, the airlock and the ε budget.

#[macro_use]
mod macros;

pub mod approval;
pub mod authorization;
pub mod calendar;
pub mod catalog;
pub mod data_use;
pub mod ids;
pub mod party;
pub mod personnel;
pub mod regions;
pub mod text;
pub mod verification;
