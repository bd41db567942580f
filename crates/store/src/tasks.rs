//! Organisation work queues (机构待办): a task that an organisation — or the holders of one role in
//! it — must act on, with a deadline on the working-day calendar. Approval steps are personal tasks
//! (see [`crate::approvals`]); these are the steps of a process that wait for "the registration body"
//! or "the provider", whoever in it picks them up. Opening and closing a task is part of the step that
//! causes it and is audited with that step.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;
use yunshu_domain::calendar::WorkCalendar;

use crate::approvals::parse_date;
use crate::calendar::PeriodUnit;
use crate::{Result, Store, Tx, parse_ts, ts};

/// A task to open.
#[derive(Debug, Clone)]
pub struct NewTask<'a> {
    pub org_id: i64,
    /// The role that acts (`None`: anyone in the organisation).
    pub role: Option<&'a str>,
    /// Stable kind, e.g. `registration.accept`.
    pub kind: &'a str,
    pub subject_type: &'a str,
    pub subject_id: String,
    pub title: String,
    pub link: String,
}

/// The period of a task: `amount` units after `start`.
#[derive(Debug, Clone, Copy)]
pub struct Period<'a> {
    pub start: NaiveDate,
    pub unit: PeriodUnit,
    pub amount: u32,
    pub cal: &'a WorkCalendar,
}

/// A stored task with its due date.
#[derive(Debug, Clone)]
pub struct OrgTask {
    pub id: i64,
    pub org_id: i64,
    pub role: Option<String>,
    pub kind: String,
    pub subject_type: String,
    pub subject_id: String,
    pub title: String,
    pub link: String,
    pub created_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
    pub due: Option<NaiveDate>,
    pub provisional: bool,
}

const SELECT: &str = "SELECT t.id, t.org_id, t.role, t.kind, t.subject_type, t.subject_id, t.title, t.link, \
     t.created_at, t.done_at, d.due_date, d.provisional FROM org_task t LEFT JOIN deadline d ON d.id = t.deadline_id";

fn task_from_row(r: &AnyRow) -> Result<OrgTask> {
    let created: String = r.try_get("created_at")?;
    let done: Option<String> = r.try_get("done_at")?;
    let due: Option<String> = r.try_get("due_date")?;
    let provisional: Option<i64> = r.try_get("provisional")?;
    Ok(OrgTask {
        id: r.try_get("id")?,
        org_id: r.try_get("org_id")?,
        role: r.try_get("role")?,
        kind: r.try_get("kind")?,
        subject_type: r.try_get("subject_type")?,
        subject_id: r.try_get("subject_id")?,
        title: r.try_get("title")?,
        link: r.try_get("link")?,
        created_at: parse_ts(&created)?,
        done_at: done.as_deref().map(parse_ts).transpose()?,
        due: due.as_deref().map(parse_date).transpose()?,
        provisional: provisional.unwrap_or(0) != 0,
    })
}

impl Store {
    /// Open tasks of an organisation that a holder of `roles` may pick up, soonest due first.
    pub async fn open_tasks_for(&self, org_id: i64, roles: &[&str]) -> Result<Vec<OrgTask>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE t.org_id = $1 AND t.done_at IS NULL ORDER BY d.due_date, t.id"
        )))
        .bind(org_id)
        .fetch_all(self.pool())
        .await?;
        let tasks = rows.iter().map(task_from_row).collect::<Result<Vec<_>>>()?;
        Ok(tasks.into_iter().filter(|t| t.role.as_deref().is_none_or(|r| roles.contains(&r))).collect())
    }

    /// Every task (open or done) about one subject, oldest first.
    pub async fn tasks_of_subject(&self, subject_type: &str, subject_id: &str) -> Result<Vec<OrgTask>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE t.subject_type = $1 AND t.subject_id = $2 ORDER BY t.id"
        )))
        .bind(subject_type)
        .bind(subject_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(task_from_row).collect()
    }
}

impl Store {
    /// Open tasks whose due date is before `today` and whose organisation has not been told yet.
    pub async fn overdue_unnotified_tasks(&self, today: NaiveDate) -> Result<Vec<OrgTask>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE t.done_at IS NULL AND t.overdue_notified_at IS NULL AND d.due_date < $1 \
             ORDER BY d.due_date, t.id"
        )))
        .bind(today.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(task_from_row).collect()
    }
}

impl Tx {
    /// Records that a task's organisation was told it is overdue (once), audited as the scheduler's act.
    pub async fn mark_task_overdue(&mut self, task: &OrgTask) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE org_task SET overdue_notified_at = $1 WHERE id = $2 AND overdue_notified_at IS NULL",
        )
        .bind(ts(self.now()))
        .bind(task.id)
        .execute(self.conn())
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        self.audit(crate::Change::ok(
            "task.overdue",
            task.subject_type.as_str(),
            task.subject_id.clone(),
            serde_json::json!({"task": task.id, "kind": task.kind, "due": task.due.map(|d| d.to_string()),
                               "detail": format!("逾期：{}", task.title)}),
        ))
        .await?;
        Ok(true)
    }

    /// Opens a task, with a deadline when a period is given.
    pub async fn open_task(&mut self, task: &NewTask<'_>, period: Option<Period<'_>>) -> Result<i64> {
        let deadline_id = match period {
            Some(p) => Some(
                self.insert_deadline(task.subject_type, &task.subject_id, p.start, p.unit, p.amount, p.cal)
                    .await?,
            ),
            None => None,
        };
        Ok(sqlx::query_scalar(
            "INSERT INTO org_task (org_id, role, kind, subject_type, subject_id, title, link, deadline_id, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(task.org_id)
        .bind(task.role)
        .bind(task.kind)
        .bind(task.subject_type)
        .bind(&task.subject_id)
        .bind(&task.title)
        .bind(&task.link)
        .bind(deadline_id)
        .bind(ts(self.now()))
        .fetch_one(self.conn())
        .await?)
    }

    /// Closes the open tasks about a subject (and their deadlines). Returns how many were closed.
    pub async fn close_tasks(&mut self, subject_type: &str, subject_id: &str) -> Result<u64> {
        let now = ts(self.now());
        let user = self.ctx().user_id;
        sqlx::query(
            "UPDATE deadline SET closed_at = $1 WHERE closed_at IS NULL AND id IN \
             (SELECT deadline_id FROM org_task WHERE subject_type = $2 AND subject_id = $3 AND done_at IS NULL)",
        )
        .bind(&now)
        .bind(subject_type)
        .bind(subject_id)
        .execute(self.conn())
        .await?;
        let done = sqlx::query(
            "UPDATE org_task SET done_at = $1, done_by = $2 \
             WHERE subject_type = $3 AND subject_id = $4 AND done_at IS NULL",
        )
        .bind(&now)
        .bind(user)
        .bind(subject_type)
        .bind(subject_id)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected())
    }
}
