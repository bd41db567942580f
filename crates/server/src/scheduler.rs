//! The scheduler: jobs that turn the passing of time into state — overdue verification requests are
//! escalated to the data authority, applications whose supplement deadline passed lapse, rectifications
//! past their due date are flagged overdue, deletion attestations overdue after a termination are
//! flagged to the operator and the bureau — run every
//! few minutes by the server (and on demand in tests, with the
//! test clock). Each job is idempotent: it acts only on what is due and not yet handled, in its own
//! audited transaction.
//!
//! Notifications go into the platform (the 通知 of each user) and through a pluggable [`Notifier`]
//! for email or SMS; the default writes them to the log.

use yunshu_store::users::User;

use crate::AppState;
use crate::error::AppResult;

/// An outside channel for notifications (email, SMS). Implementations must not block for long: the
/// scheduler calls them inside its job.
pub trait Notifier: Send + Sync {
    fn send(&self, to: &User, title: &str, link: &str);
}

/// The default: one log line per notification, the mobile number masked.
pub struct LogNotifier;

impl Notifier for LogNotifier {
    fn send(&self, to: &User, title: &str, link: &str) {
        tracing::info!(user = %to.username, mobile = %to.mobile.masked(), title, link, "notification");
    }
}

/// What one tick did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TickReport {
    pub verifications_escalated: usize,
    pub applications_lapsed: usize,
    pub rectifications_overdue: usize,
    pub attestations_flagged: usize,
    /// Operation agreements whose term started (in force) or ended (expired).
    pub agreements_advanced: usize,
}

/// Runs every job once at the state's "now".
pub async fn tick(state: &AppState) -> AppResult<TickReport> {
    let now = state.now();
    Ok(TickReport {
        verifications_escalated: crate::services::verifications::escalate_overdue(state, now).await?,
        applications_lapsed: crate::services::onboarding::expire_overdue(state, now).await?,
        rectifications_overdue: crate::services::evaluations::flag_overdue_rectifications(state, now).await?,
        attestations_flagged: crate::services::sanctions::flag_overdue(state, now).await?,
        agreements_advanced: crate::services::plans::advance_agreements(state, now).await?,
    })
}
