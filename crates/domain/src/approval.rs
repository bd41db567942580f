//! Internal approval chains (内部审批链): a decision passes 经办 → 负责人 (→ 分管领导) inside an
//! organisation before it leaves it, with 会签 (all sign) or 或签 (any one signs) per step, and the
//! moves officials use most: 退回 (send back to the initiator), 撤回 (the initiator withdraws),
//! 转办 (hand a task to a colleague) and 催办 (remind the people the chain waits for).
//!
//! [`Approval`] is a value: the store loads it, a transition changes it or returns an error, and the
//! store writes it back in the same transaction as its audit record. Which users hold a role is a
//! question for the store, so transitions that enter a step take a resolver.

use crate::party::Role;

pub type UserId = i64;

/// How a step is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignMode {
    /// 会签: every assignee must approve.
    All,
    /// 或签: the first approval decides the step.
    Any,
}

impl SignMode {
    pub fn code(self) -> &'static str {
        match self {
            SignMode::All => "all",
            SignMode::Any => "any",
        }
    }
    pub fn parse(code: &str) -> Option<SignMode> {
        match code {
            "all" => Some(SignMode::All),
            "any" => Some(SignMode::Any),
            _ => None,
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            SignMode::All => "会签",
            SignMode::Any => "或签",
        }
    }
}

/// One step of a chain: who (by role in the organisation), how, and how long it may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepSpec {
    pub role: Role,
    pub mode: SignMode,
    /// Working days the step may take; shown in the to-do list, overdue after.
    pub due_working_days: u32,
}

/// A configured chain: at least one step, at most five (longer chains are a configuration error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainSpec {
    steps: Vec<StepSpec>,
}

impl ChainSpec {
    pub fn new(steps: Vec<StepSpec>) -> Result<ChainSpec, ApprovalError> {
        if steps.is_empty() || steps.len() > 5 {
            return Err(ApprovalError::BadChain);
        }
        Ok(ChainSpec { steps })
    }

    /// The default chain: the organisation's 负责人, 或签, 5 working days.
    pub fn head_only() -> ChainSpec {
        ChainSpec { steps: vec![StepSpec { role: Role::Head, mode: SignMode::Any, due_working_days: 5 }] }
    }

    pub fn steps(&self) -> &[StepSpec] {
        &self.steps
    }

    /// Compact stored form: `head:any:5;leader:all:3`.
    pub fn to_text(&self) -> String {
        self.steps
            .iter()
            .map(|s| format!("{}:{}:{}", s.role.code(), s.mode.code(), s.due_working_days))
            .collect::<Vec<_>>()
            .join(";")
    }

    pub fn parse_text(text: &str) -> Result<ChainSpec, ApprovalError> {
        let mut steps = Vec::new();
        for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let mut it = part.split(':');
            let role = it.next().and_then(|r| Role::parse(r).ok()).ok_or(ApprovalError::BadChain)?;
            let mode = it.next().and_then(SignMode::parse).ok_or(ApprovalError::BadChain)?;
            let due = it
                .next()
                .and_then(|d| d.parse::<u32>().ok())
                .filter(|d| (1..=60).contains(d))
                .ok_or(ApprovalError::BadChain)?;
            if it.next().is_some() {
                return Err(ApprovalError::BadChain);
            }
            steps.push(StepSpec { role, mode, due_working_days: due });
        }
        ChainSpec::new(steps)
    }
}

/// Where an approval stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalStatus {
    /// Waiting at step `step` (0-based).
    InProgress {
        step: usize,
    },
    Approved,
    /// 不予通过: final refusal.
    Rejected,
    /// 退回: back with the initiator, who may resubmit.
    Returned,
    /// 撤回: the initiator took it back; may resubmit.
    Withdrawn,
}

impl ApprovalStatus {
    pub fn code(self) -> &'static str {
        match self {
            ApprovalStatus::InProgress { .. } => "in_progress",
            ApprovalStatus::Approved => "approved",
            ApprovalStatus::Rejected => "rejected",
            ApprovalStatus::Returned => "returned",
            ApprovalStatus::Withdrawn => "withdrawn",
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            ApprovalStatus::InProgress { .. } => "审批中",
            ApprovalStatus::Approved => "已通过",
            ApprovalStatus::Rejected => "不予通过",
            ApprovalStatus::Returned => "已退回",
            ApprovalStatus::Withdrawn => "已撤回",
        }
    }
    pub fn from_parts(code: &str, step: usize) -> Option<ApprovalStatus> {
        Some(match code {
            "in_progress" => ApprovalStatus::InProgress { step },
            "approved" => ApprovalStatus::Approved,
            "rejected" => ApprovalStatus::Rejected,
            "returned" => ApprovalStatus::Returned,
            "withdrawn" => ApprovalStatus::Withdrawn,
            _ => return None,
        })
    }
}

/// State of one person's task at one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    Pending,
    Approved,
    Rejected,
    Returned,
    /// 转办: handed to another user, who got a new task.
    Transferred {
        to: UserId,
    },
    /// Closed without a decision (或签 decided by another, withdrawn, returned by another).
    Cancelled,
}

impl TaskState {
    pub fn code(self) -> &'static str {
        match self {
            TaskState::Pending => "pending",
            TaskState::Approved => "approved",
            TaskState::Rejected => "rejected",
            TaskState::Returned => "returned",
            TaskState::Transferred { .. } => "transferred",
            TaskState::Cancelled => "cancelled",
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            TaskState::Pending => "待处理",
            TaskState::Approved => "同意",
            TaskState::Rejected => "不同意",
            TaskState::Returned => "退回",
            TaskState::Transferred { .. } => "转办",
            TaskState::Cancelled => "已关闭",
        }
    }
    pub fn from_parts(code: &str, transferred_to: Option<UserId>) -> Option<TaskState> {
        Some(match (code, transferred_to) {
            ("pending", _) => TaskState::Pending,
            ("approved", _) => TaskState::Approved,
            ("rejected", _) => TaskState::Rejected,
            ("returned", _) => TaskState::Returned,
            ("transferred", Some(to)) => TaskState::Transferred { to },
            ("cancelled", _) => TaskState::Cancelled,
            _ => return None,
        })
    }
}

/// One task: a person asked to decide at a step, in a given round (each resubmission is a new round).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub round: u32,
    pub step: usize,
    pub assignee: UserId,
    pub state: TaskState,
    pub comment: Option<String>,
}

/// What a transition led to, so the caller can apply the decision to the subject and notify people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Still at the same step (会签 waiting for others; a transfer).
    Waiting,
    /// Moved to the next step; these users have new tasks.
    Advanced {
        step: usize,
        assignees: Vec<UserId>,
    },
    /// The whole chain approved.
    Approved,
    Rejected,
    Returned,
    Withdrawn,
    /// A (re)submission started the chain; these users have tasks.
    Started {
        assignees: Vec<UserId>,
    },
    /// 催办: remind these users.
    Reminded {
        assignees: Vec<UserId>,
    },
}

/// An approval in flight or decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub initiator: UserId,
    pub spec: ChainSpec,
    pub status: ApprovalStatus,
    pub round: u32,
    pub tasks: Vec<Task>,
}

impl Approval {
    /// Submits a new approval. `resolve(role)` lists the active users holding `role` in the
    /// organisation; the initiator never reviews their own submission.
    pub fn start(
        initiator: UserId,
        spec: ChainSpec,
        resolve: impl Fn(Role) -> Vec<UserId>,
    ) -> Result<(Approval, Outcome), ApprovalError> {
        let mut a = Approval {
            initiator,
            spec,
            status: ApprovalStatus::InProgress { step: 0 },
            round: 1,
            tasks: Vec::new(),
        };
        let assignees = a.enter_step(0, &resolve)?;
        Ok((a, Outcome::Started { assignees }))
    }

    /// Rehydrates a stored approval (the store is trusted to hand back what it wrote).
    pub fn restore(
        initiator: UserId,
        spec: ChainSpec,
        status: ApprovalStatus,
        round: u32,
        tasks: Vec<Task>,
    ) -> Approval {
        Approval { initiator, spec, status, round, tasks }
    }

    fn enter_step(
        &mut self,
        step: usize,
        resolve: &impl Fn(Role) -> Vec<UserId>,
    ) -> Result<Vec<UserId>, ApprovalError> {
        let spec = self.spec.steps.get(step).ok_or(ApprovalError::BadChain)?;
        let mut assignees: Vec<UserId> =
            resolve(spec.role).into_iter().filter(|u| *u != self.initiator).collect();
        assignees.sort_unstable();
        assignees.dedup();
        if assignees.is_empty() {
            return Err(ApprovalError::NoAssignee { role: spec.role });
        }
        for u in &assignees {
            self.tasks.push(Task {
                round: self.round,
                step,
                assignee: *u,
                state: TaskState::Pending,
                comment: None,
            });
        }
        self.status = ApprovalStatus::InProgress { step };
        Ok(assignees)
    }

    fn current_step(&self) -> Result<usize, ApprovalError> {
        match self.status {
            ApprovalStatus::InProgress { step } => Ok(step),
            _ => Err(ApprovalError::NotInProgress),
        }
    }

    fn pending_index(&self, actor: UserId) -> Result<usize, ApprovalError> {
        let step = self.current_step()?;
        self.tasks
            .iter()
            .position(|t| {
                t.round == self.round
                    && t.step == step
                    && t.assignee == actor
                    && t.state == TaskState::Pending
            })
            .ok_or(ApprovalError::NotYourTask)
    }

    fn close_pending(&mut self) {
        for t in self.tasks.iter_mut() {
            if t.state == TaskState::Pending {
                t.state = TaskState::Cancelled;
            }
        }
    }

    /// Users who have a pending task now.
    pub fn pending_assignees(&self) -> Vec<UserId> {
        self.tasks.iter().filter(|t| t.state == TaskState::Pending).map(|t| t.assignee).collect()
    }

    /// 同意.
    pub fn approve(
        &mut self,
        actor: UserId,
        comment: Option<String>,
        resolve: impl Fn(Role) -> Vec<UserId>,
    ) -> Result<Outcome, ApprovalError> {
        let step = self.current_step()?;
        let i = self.pending_index(actor)?;
        if let Some(t) = self.tasks.get_mut(i) {
            t.state = TaskState::Approved;
            t.comment = comment;
        }
        let mode = self.spec.steps.get(step).map(|s| s.mode).ok_or(ApprovalError::BadChain)?;
        let step_done = match mode {
            SignMode::Any => true,
            SignMode::All => !self
                .tasks
                .iter()
                .any(|t| t.round == self.round && t.step == step && t.state == TaskState::Pending),
        };
        if !step_done {
            return Ok(Outcome::Waiting);
        }
        self.close_pending();
        if step + 1 < self.spec.steps.len() {
            let assignees = self.enter_step(step + 1, &resolve)?;
            Ok(Outcome::Advanced { step: step + 1, assignees })
        } else {
            self.status = ApprovalStatus::Approved;
            Ok(Outcome::Approved)
        }
    }

    /// 不予通过: a final refusal. A comment (the reason) is required.
    pub fn reject(&mut self, actor: UserId, comment: String) -> Result<Outcome, ApprovalError> {
        let i = self.pending_index(actor)?;
        if comment.trim().is_empty() {
            return Err(ApprovalError::ReasonRequired);
        }
        if let Some(t) = self.tasks.get_mut(i) {
            t.state = TaskState::Rejected;
            t.comment = Some(comment);
        }
        self.close_pending();
        self.status = ApprovalStatus::Rejected;
        Ok(Outcome::Rejected)
    }

    /// 退回: back to the initiator for changes. A comment (what to change) is required.
    pub fn send_back(&mut self, actor: UserId, comment: String) -> Result<Outcome, ApprovalError> {
        let i = self.pending_index(actor)?;
        if comment.trim().is_empty() {
            return Err(ApprovalError::ReasonRequired);
        }
        if let Some(t) = self.tasks.get_mut(i) {
            t.state = TaskState::Returned;
            t.comment = Some(comment);
        }
        self.close_pending();
        self.status = ApprovalStatus::Returned;
        Ok(Outcome::Returned)
    }

    /// 撤回: only the initiator, only while the chain is still running.
    pub fn withdraw(&mut self, actor: UserId) -> Result<Outcome, ApprovalError> {
        self.current_step()?;
        if actor != self.initiator {
            return Err(ApprovalError::NotInitiator);
        }
        self.close_pending();
        self.status = ApprovalStatus::Withdrawn;
        Ok(Outcome::Withdrawn)
    }

    /// Resubmits after 退回 or 撤回: a new round from the first step.
    pub fn resubmit(
        &mut self,
        actor: UserId,
        resolve: impl Fn(Role) -> Vec<UserId>,
    ) -> Result<Outcome, ApprovalError> {
        if actor != self.initiator {
            return Err(ApprovalError::NotInitiator);
        }
        if !matches!(self.status, ApprovalStatus::Returned | ApprovalStatus::Withdrawn) {
            return Err(ApprovalError::NotResubmittable);
        }
        self.round += 1;
        let assignees = self.enter_step(0, &resolve)?;
        Ok(Outcome::Started { assignees })
    }

    /// 转办: the actor hands their pending task to `to`, who must be allowed to take it (the caller
    /// checks organisation and role; here: not the initiator, not self, not already waiting).
    pub fn transfer(&mut self, actor: UserId, to: UserId) -> Result<Outcome, ApprovalError> {
        let step = self.current_step()?;
        let i = self.pending_index(actor)?;
        if to == actor || to == self.initiator {
            return Err(ApprovalError::BadTransferTarget);
        }
        if self.pending_assignees().contains(&to) {
            return Err(ApprovalError::BadTransferTarget);
        }
        if let Some(t) = self.tasks.get_mut(i) {
            t.state = TaskState::Transferred { to };
        }
        self.tasks.push(Task {
            round: self.round,
            step,
            assignee: to,
            state: TaskState::Pending,
            comment: None,
        });
        Ok(Outcome::Waiting)
    }

    /// 催办: the initiator reminds whoever the chain waits for.
    pub fn remind(&self, actor: UserId) -> Result<Outcome, ApprovalError> {
        self.current_step()?;
        if actor != self.initiator {
            return Err(ApprovalError::NotInitiator);
        }
        Ok(Outcome::Reminded { assignees: self.pending_assignees() })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalError {
    #[error("a chain has one to five steps of the form role:mode:days")]
    BadChain,
    #[error("nobody in the organisation holds the role {role:?} needed by this step")]
    NoAssignee { role: Role },
    #[error("the approval is no longer in progress")]
    NotInProgress,
    #[error("you have no pending task in this approval")]
    NotYourTask,
    #[error("only the initiator may do this")]
    NotInitiator,
    #[error("only a returned or withdrawn approval can be resubmitted")]
    NotResubmittable,
    #[error("a reason is required")]
    ReasonRequired,
    #[error("the task cannot be transferred to that user")]
    BadTransferTarget,
}

impl ApprovalError {
    pub fn code(&self) -> &'static str {
        match self {
            ApprovalError::BadChain => "approval.bad_chain",
            ApprovalError::NoAssignee { .. } => "approval.no_assignee",
            ApprovalError::NotInProgress => "approval.not_in_progress",
            ApprovalError::NotYourTask => "approval.not_your_task",
            ApprovalError::NotInitiator => "approval.not_initiator",
            ApprovalError::NotResubmittable => "approval.not_resubmittable",
            ApprovalError::ReasonRequired => "approval.reason_required",
            ApprovalError::BadTransferTarget => "approval.bad_transfer_target",
        }
    }
    pub fn message_zh(&self) -> String {
        match self {
            ApprovalError::BadChain => "审批链配置有误：应为 1 至 5 个环节".to_owned(),
            ApprovalError::NoAssignee { role } => {
                format!("本单位没有可办理该环节的{}，请先设置人员", role.label_zh())
            }
            ApprovalError::NotInProgress => "该审批已办结，不能再操作".to_owned(),
            ApprovalError::NotYourTask => "您在该审批中没有待办事项".to_owned(),
            ApprovalError::NotInitiator => "只有发起人可以执行此操作".to_owned(),
            ApprovalError::NotResubmittable => "只有已退回或已撤回的审批可以重新提交".to_owned(),
            ApprovalError::ReasonRequired => "请填写理由".to_owned(),
            ApprovalError::BadTransferTarget => "不能转办给该人员".to_owned(),
        }
    }
}

#[cfg(test)]
#[path = "approval_test.rs"]
mod tests;
