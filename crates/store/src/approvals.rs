//! Approval chains and their tasks, persisted. The domain's [`Approval`] value is loaded, changed by a
//! transition, and saved back; each task carries a deadline from the working-day calendar.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;
use yunshu_domain::approval::{Approval, ApprovalStatus, ChainSpec, Task, TaskState};
use yunshu_domain::calendar::WorkCalendar;

use crate::calendar::DeadlineRow;
use crate::{Change, Result, Store, StoreError, Tx, parse_ts, ts};

/// A stored approval with its context.
#[derive(Debug, Clone)]
pub struct ApprovalRecord {
    pub id: i64,
    pub org_id: i64,
    pub action: String,
    pub subject_type: String,
    pub subject_id: String,
    pub title: String,
    pub approval: Approval,
    pub tasks: Vec<TaskRow>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped by every save; a save from a stale read is refused (two people deciding at once).
    pub version: i64,
}

/// A task as stored, with when it was created/decided and its deadline.
#[derive(Debug, Clone)]
pub struct TaskRow {
    pub idx: i64,
    pub task: Task,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub deadline: Option<DeadlineRow>,
}

/// A to-do item (待办) or a done item (已办) for one user.
#[derive(Debug, Clone)]
pub struct WorkItem {
    pub approval_id: i64,
    pub title: String,
    pub action: String,
    pub step: i64,
    pub state: String,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub due: Option<NaiveDate>,
    pub provisional: bool,
}

impl Store {
    /// The organisation's configured chain for an action, if any.
    pub async fn chain_spec(&self, org_id: i64, action: &str) -> Result<Option<ChainSpec>> {
        let spec: Option<String> =
            sqlx::query_scalar("SELECT spec FROM approval_chain WHERE org_id = $1 AND action = $2")
                .bind(org_id)
                .bind(action)
                .fetch_optional(self.pool())
                .await?;
        spec.map(|s| ChainSpec::parse_text(&s).map_err(|e| StoreError::Corrupt(e.to_string()))).transpose()
    }

    pub async fn chain_specs_of_org(&self, org_id: i64) -> Result<Vec<(String, ChainSpec)>> {
        let rows = sqlx::query("SELECT action, spec FROM approval_chain WHERE org_id = $1 ORDER BY action")
            .bind(org_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                let action: String = r.try_get("action")?;
                let spec: String = r.try_get("spec")?;
                let spec = ChainSpec::parse_text(&spec).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                Ok((action, spec))
            })
            .collect()
    }

    pub async fn approval(&self, id: i64) -> Result<ApprovalRecord> {
        let row = sqlx::query(
            "SELECT id, org_id, action, subject_type, subject_id, title, initiator_id, spec, status, \
             current_step, round, version, created_at, updated_at FROM approval WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        let task_rows = sqlx::query(
            "SELECT t.idx, t.round, t.step, t.assignee_id, t.state, t.transferred_to, t.comment, \
             t.created_at, t.decided_at, d.id AS d_id, d.due_date, d.provisional, d.start_date, d.unit, \
             d.amount, d.closed_at, d.subject_type AS d_subject_type, d.subject_id AS d_subject_id \
             FROM approval_task t LEFT JOIN deadline d ON d.id = t.deadline_id \
             WHERE t.approval_id = $1 ORDER BY t.idx",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        let mut tasks = Vec::with_capacity(task_rows.len());
        for r in &task_rows {
            tasks.push(task_from_row(r)?);
        }
        approval_from_row(&row, tasks)
    }

    /// Approvals about one subject, newest first.
    pub async fn approvals_for_subject(&self, subject_type: &str, subject_id: &str) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM approval WHERE subject_type = $1 AND subject_id = $2 ORDER BY id DESC",
        )
        .bind(subject_type)
        .bind(subject_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// 待办: pending tasks of the user, soonest deadline first.
    pub async fn todo_of_user(&self, user_id: i64) -> Result<Vec<WorkItem>> {
        self.work_items(user_id, true).await
    }

    /// 已办: tasks the user decided, newest first.
    pub async fn done_of_user(&self, user_id: i64) -> Result<Vec<WorkItem>> {
        self.work_items(user_id, false).await
    }

    async fn work_items(&self, user_id: i64, pending: bool) -> Result<Vec<WorkItem>> {
        let sql = if pending {
            "SELECT a.id, a.title, a.action, t.step, t.state, t.created_at, t.decided_at, d.due_date, \
             d.provisional FROM approval_task t JOIN approval a ON a.id = t.approval_id \
             LEFT JOIN deadline d ON d.id = t.deadline_id \
             WHERE t.assignee_id = $1 AND t.state = 'pending' ORDER BY d.due_date, t.created_at"
        } else {
            "SELECT a.id, a.title, a.action, t.step, t.state, t.created_at, t.decided_at, d.due_date, \
             d.provisional FROM approval_task t JOIN approval a ON a.id = t.approval_id \
             LEFT JOIN deadline d ON d.id = t.deadline_id \
             WHERE t.assignee_id = $1 AND t.state NOT IN ('pending', 'cancelled') \
             ORDER BY t.decided_at DESC LIMIT 50"
        };
        let rows = sqlx::query(sql).bind(user_id).fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                let created: String = r.try_get("created_at")?;
                let decided: Option<String> = r.try_get("decided_at")?;
                let due: Option<String> = r.try_get("due_date")?;
                let provisional: Option<i64> = r.try_get("provisional")?;
                Ok(WorkItem {
                    approval_id: r.try_get("id")?,
                    title: r.try_get("title")?,
                    action: r.try_get("action")?,
                    step: r.try_get("step")?,
                    state: r.try_get("state")?,
                    created_at: parse_ts(&created)?,
                    decided_at: decided.as_deref().map(parse_ts).transpose()?,
                    due: due.as_deref().map(parse_date).transpose()?,
                    provisional: provisional.unwrap_or(0) != 0,
                })
            })
            .collect()
    }

    /// Running approvals waiting for this user: (approval id, initiator, title).
    pub async fn approvals_waiting_for(&self, user_id: i64) -> Result<Vec<(i64, i64, String)>> {
        let rows = sqlx::query(
            "SELECT DISTINCT a.id, a.initiator_id, a.title FROM approval a \
             JOIN approval_task t ON t.approval_id = a.id \
             WHERE t.assignee_id = $1 AND t.state = 'pending' AND a.status = 'in_progress' ORDER BY a.id",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("initiator_id")?, r.try_get("title")?))).collect()
    }

    /// Approvals the user started that are still running (for 撤回 and 催办).
    pub async fn running_approvals_of_initiator(&self, user_id: i64) -> Result<Vec<(i64, String)>> {
        let rows = sqlx::query(
            "SELECT id, title FROM approval WHERE initiator_id = $1 AND status = 'in_progress' ORDER BY id DESC",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("title")?))).collect()
    }
}

pub(crate) fn parse_date(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| StoreError::Corrupt(format!("date {s}")))
}

fn task_from_row(r: &AnyRow) -> Result<TaskRow> {
    let state: String = r.try_get("state")?;
    let to: Option<i64> = r.try_get("transferred_to")?;
    let created: String = r.try_get("created_at")?;
    let decided: Option<String> = r.try_get("decided_at")?;
    let round: i64 = r.try_get("round")?;
    let step: i64 = r.try_get("step")?;
    let d_id: Option<i64> = r.try_get("d_id")?;
    let deadline = match d_id {
        Some(id) => Some(crate::calendar::deadline_from_parts(
            id,
            r.try_get("d_subject_type")?,
            r.try_get("d_subject_id")?,
            &r.try_get::<String, _>("start_date")?,
            r.try_get("unit")?,
            r.try_get("amount")?,
            &r.try_get::<String, _>("due_date")?,
            r.try_get("provisional")?,
            r.try_get("closed_at")?,
        )?),
        None => None,
    };
    Ok(TaskRow {
        idx: r.try_get("idx")?,
        task: Task {
            round: u32::try_from(round).map_err(|_| StoreError::Corrupt("round".into()))?,
            step: usize::try_from(step).map_err(|_| StoreError::Corrupt("step".into()))?,
            assignee: r.try_get("assignee_id")?,
            state: TaskState::from_parts(&state, to)
                .ok_or_else(|| StoreError::Corrupt(format!("task state {state}")))?,
            comment: r.try_get("comment")?,
        },
        created_at: parse_ts(&created)?,
        decided_at: decided.as_deref().map(parse_ts).transpose()?,
        deadline,
    })
}

fn approval_from_row(row: &AnyRow, tasks: Vec<TaskRow>) -> Result<ApprovalRecord> {
    let spec: String = row.try_get("spec")?;
    let spec = ChainSpec::parse_text(&spec).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let status: String = row.try_get("status")?;
    let step: i64 = row.try_get("current_step")?;
    // Finished approvals are stored with current_step = -1 (see `step_code`); only an approval in
    // progress has a meaningful step.
    let step = if step < 0 && status != "in_progress" { 0 } else { step };
    let step = usize::try_from(step).map_err(|_| StoreError::Corrupt("step".into()))?;
    let status = ApprovalStatus::from_parts(&status, step)
        .ok_or_else(|| StoreError::Corrupt(format!("approval status {status}")))?;
    let round: i64 = row.try_get("round")?;
    let round = u32::try_from(round).map_err(|_| StoreError::Corrupt("round".into()))?;
    let created: String = row.try_get("created_at")?;
    let updated: String = row.try_get("updated_at")?;
    let approval = Approval::restore(
        row.try_get("initiator_id")?,
        spec,
        status,
        round,
        tasks.iter().map(|t| t.task.clone()).collect(),
    );
    Ok(ApprovalRecord {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        action: row.try_get("action")?,
        subject_type: row.try_get("subject_type")?,
        subject_id: row.try_get("subject_id")?,
        title: row.try_get("title")?,
        approval,
        tasks,
        created_at: parse_ts(&created)?,
        updated_at: parse_ts(&updated)?,
        version: row.try_get("version")?,
    })
}

/// What an approval is about, for a new approval.
pub struct ApprovalSubject<'a> {
    pub org_id: i64,
    pub action: &'a str,
    pub subject_type: &'a str,
    pub subject_id: String,
    pub title: String,
}

fn step_code(status: ApprovalStatus) -> i64 {
    match status {
        ApprovalStatus::InProgress { step } => i64::try_from(step).unwrap_or(i64::MAX),
        _ => -1,
    }
}

impl Tx {
    pub async fn set_chain_spec(&mut self, org_id: i64, action: &str, spec: &ChainSpec) -> Result<()> {
        let now = ts(self.now());
        sqlx::query(
            "INSERT INTO approval_chain (org_id, action, spec, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (org_id, action) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at",
        )
        .bind(org_id)
        .bind(action)
        .bind(spec.to_text())
        .bind(&now)
        .execute(self.conn())
        .await?;
        self.audit(Change::ok(
            "approval_chain.configure",
            "org",
            org_id,
            json!({"action": action, "spec": spec.to_text()}),
        ))
        .await?;
        Ok(())
    }

    /// Stores a freshly started approval and its first tasks (not audited here: the caller audits
    /// the submission it belongs to).
    pub async fn insert_approval(
        &mut self,
        subject: &ApprovalSubject<'_>,
        a: &Approval,
        cal: &WorkCalendar,
        today: NaiveDate,
    ) -> Result<i64> {
        let now = ts(self.now());
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO approval (org_id, action, subject_type, subject_id, title, initiator_id, spec, \
             status, current_step, round, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id",
        )
        .bind(subject.org_id)
        .bind(subject.action)
        .bind(subject.subject_type)
        .bind(&subject.subject_id)
        .bind(&subject.title)
        .bind(a.initiator)
        .bind(a.spec.to_text())
        .bind(a.status.code())
        .bind(step_code(a.status))
        .bind(i64::from(a.round))
        .bind(&now)
        .fetch_one(self.conn())
        .await?;
        self.save_tasks(id, a, 0, cal, today).await?;
        Ok(id)
    }

    /// Writes back an approval after a transition: status, changed tasks, new tasks with deadlines.
    pub async fn save_approval(
        &mut self,
        rec: &ApprovalRecord,
        a: &Approval,
        cal: &WorkCalendar,
        today: NaiveDate,
    ) -> Result<()> {
        let now = ts(self.now());
        let n = sqlx::query(
            "UPDATE approval SET status = $1, current_step = $2, round = $3, updated_at = $4, \
             version = version + 1 WHERE id = $5 AND version = $6",
        )
        .bind(a.status.code())
        .bind(step_code(a.status))
        .bind(i64::from(a.round))
        .bind(&now)
        .bind(rec.id)
        .bind(rec.version)
        .execute(self.conn())
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::Conflict("approval"));
        }
        // Existing tasks: update those whose state changed, and close their deadline.
        for old in &rec.tasks {
            let Some(new) = usize::try_from(old.idx).ok().and_then(|i| a.tasks.get(i)) else {
                continue;
            };
            if new.state != old.task.state || new.comment != old.task.comment {
                let to = match new.state {
                    TaskState::Transferred { to } => Some(to),
                    _ => None,
                };
                sqlx::query(
                    "UPDATE approval_task SET state = $1, transferred_to = $2, comment = $3, decided_at = $4 \
                     WHERE approval_id = $5 AND idx = $6",
                )
                .bind(new.state.code())
                .bind(to)
                .bind(&new.comment)
                .bind(&now)
                .bind(rec.id)
                .bind(old.idx)
                .execute(self.conn())
                .await?;
                if new.state != TaskState::Pending
                    && let Some(d) = &old.deadline
                {
                    sqlx::query("UPDATE deadline SET closed_at = $1 WHERE id = $2")
                        .bind(&now)
                        .bind(d.id)
                        .execute(self.conn())
                        .await?;
                }
            }
        }
        self.save_tasks(rec.id, a, rec.tasks.len(), cal, today).await
    }

    async fn save_tasks(
        &mut self,
        approval_id: i64,
        a: &Approval,
        from: usize,
        cal: &WorkCalendar,
        today: NaiveDate,
    ) -> Result<()> {
        let now = ts(self.now());
        for (i, t) in a.tasks.iter().enumerate().skip(from) {
            let days = a.spec.steps().get(t.step).map(|s| s.due_working_days).unwrap_or(5);
            let idx = i64::try_from(i).map_err(|_| StoreError::Corrupt("idx".into()))?;
            let deadline_id = if t.state == TaskState::Pending {
                Some(
                    self.insert_deadline(
                        "approval_task",
                        &format!("{approval_id}:{idx}"),
                        today,
                        crate::calendar::PeriodUnit::WorkingDays,
                        days,
                        cal,
                    )
                    .await?,
                )
            } else {
                None
            };
            sqlx::query(
                "INSERT INTO approval_task (approval_id, idx, round, step, assignee_id, state, comment, \
                 created_at, deadline_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(approval_id)
            .bind(idx)
            .bind(i64::from(t.round))
            .bind(i64::try_from(t.step).map_err(|_| StoreError::Corrupt("step".into()))?)
            .bind(t.assignee)
            .bind(t.state.code())
            .bind(&t.comment)
            .bind(&now)
            .bind(deadline_id)
            .execute(self.conn())
            .await?;
        }
        Ok(())
    }

    /// A notification for a user (催办, decisions).
    pub async fn notify(&mut self, user_id: i64, title: &str, link: Option<&str>) -> Result<()> {
        sqlx::query("INSERT INTO notification (user_id, title, link, created_at) VALUES ($1, $2, $3, $4)")
            .bind(user_id)
            .bind(title)
            .bind(link)
            .bind(ts(self.now()))
            .execute(self.conn())
            .await?;
        Ok(())
    }
}

/// A notification as shown on the work desk.
#[derive(Debug, Clone)]
pub struct Notification {
    pub id: i64,
    pub title: String,
    pub link: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Store {
    pub async fn notifications_of_user(&self, user_id: i64) -> Result<Vec<Notification>> {
        let rows = sqlx::query(
            "SELECT id, title, link, created_at FROM notification WHERE user_id = $1 ORDER BY id DESC LIMIT 20",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let created: String = r.try_get("created_at")?;
                Ok(Notification {
                    id: r.try_get("id")?,
                    title: r.try_get("title")?,
                    link: r.try_get("link")?,
                    created_at: parse_ts(&created)?,
                })
            })
            .collect()
    }
}
