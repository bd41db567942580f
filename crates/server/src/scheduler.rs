//! The scheduler: jobs that turn the passing of time into state — overdue verification requests are
//! escalated to the data authority, applications whose supplement deadline passed lapse, rectifications
//! past their due date are flagged overdue, deletion attestations overdue after a termination are
//! flagged to the operator and the bureau, approved data-use requests past their validity expire — run every
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
    /// Approved data-use requests past their validity, now expired (Art. 20).
    pub data_use_expired: usize,
    /// Organisation to-dos (filings, registrations, reviews …) that passed their deadline: their
    /// people were told, once.
    pub tasks_overdue_notified: usize,
    /// Staging and part files interrupted imports left in the object store, deleted.
    pub staging_swept: usize,
}

/// Tells the people of each organisation whose to-do passed its deadline (in the platform and through
/// the notifier), once per task; the desk already shows it in red.
async fn notify_overdue_tasks(state: &AppState, now: chrono::DateTime<chrono::Utc>) -> AppResult<usize> {
    let today = crate::web::beijing_date(now);
    let mut n = 0;
    for task in state.store.overdue_unnotified_tasks(today).await? {
        let org = state.store.org(task.org_id).await?;
        let people: Vec<User> = state
            .store
            .users_of_org(task.org_id)
            .await?
            .into_iter()
            .filter(|u| u.active)
            .filter(|u| task.role.as_deref().is_none_or(|r| u.roles.iter().any(|x| x.code() == r)))
            .filter(|u| {
                crate::context::may_open_as(state, &crate::context::principal_of(u, &org), &org, &task.link)
            })
            .collect();
        let title = format!("已逾期：{}", task.title);
        let mut tx = state.store.begin(now, &yunshu_store::AuditCtx::system("scheduler")).await?;
        if !tx.mark_task_overdue(&task).await? {
            tx.rollback().await?;
            continue;
        }
        for u in &people {
            tx.notify(u.id, &title, Some(&task.link)).await?;
        }
        tx.commit().await?;
        for u in &people {
            state.notifier.send(u, &title, &task.link);
        }
        n += 1;
    }
    Ok(n)
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
        data_use_expired: crate::services::data_use::expire_lapsed(state, now).await?,
        // Last: the jobs above close the tasks they settle (a lapsed application's supplement).
        tasks_overdue_notified: notify_overdue_tasks(state, now).await?,
        staging_swept: crate::services::sweep::sweep_staging(state).await?,
    })
}
