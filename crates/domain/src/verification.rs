//! Data verification requests (数据校核) and data objections (数据异议), Art. 17: the operator (or a
//! data authority) asks the provider about specific fields or rows; the provider verifies, corrects
//! where needed and answers within 10 working days of receipt. An unanswered request becomes overdue
//! the day after its due date and is escalated to the data authority; it can still be answered, and
//! the answer is then marked late.

use chrono::NaiveDate;

use crate::calendar::{Deadline, WorkCalendar};

/// Working days the provider has to answer (Art. 17).
pub const ANSWER_WORKING_DAYS: u32 = 10;

/// What is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// 数据校核: the operator found something to check.
    Verification,
    /// 数据异议: someone disputes the data's correctness.
    Objection,
}

impl RequestKind {
    pub fn code(self) -> &'static str {
        match self {
            RequestKind::Verification => "verification",
            RequestKind::Objection => "objection",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            RequestKind::Verification => "数据校核",
            RequestKind::Objection => "数据异议",
        }
    }

    pub fn parse(s: &str) -> Option<RequestKind> {
        match s.trim() {
            "verification" => Some(RequestKind::Verification),
            "objection" => Some(RequestKind::Objection),
            _ => None,
        }
    }
}

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestStatus {
    /// 待答复.
    Open,
    /// 已逾期并提请数据主管部门督办.
    Escalated,
    /// 已答复.
    Answered,
}

impl RequestStatus {
    pub fn code(self) -> &'static str {
        match self {
            RequestStatus::Open => "open",
            RequestStatus::Escalated => "escalated",
            RequestStatus::Answered => "answered",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            RequestStatus::Open => "待答复",
            RequestStatus::Escalated => "逾期督办中",
            RequestStatus::Answered => "已答复",
        }
    }

    pub fn parse(s: &str) -> Option<RequestStatus> {
        match s {
            "open" => Some(RequestStatus::Open),
            "escalated" => Some(RequestStatus::Escalated),
            "answered" => Some(RequestStatus::Answered),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("no fields")]
    NoFields,
    #[error("unknown field {0}")]
    UnknownField(String),
    #[error("question")]
    Question,
    #[error("answer")]
    Answer,
    #[error("already answered")]
    AlreadyAnswered,
    #[error("not overdue")]
    NotOverdue,
}

impl RequestError {
    pub fn code(&self) -> &'static str {
        match self {
            RequestError::NoFields => "verification.no_fields",
            RequestError::UnknownField(_) => "verification.unknown_field",
            RequestError::Question => "verification.question",
            RequestError::Answer => "verification.answer",
            RequestError::AlreadyAnswered => "verification.already_answered",
            RequestError::NotOverdue => "verification.not_overdue",
        }
    }

    pub fn message_zh(&self) -> String {
        match self {
            RequestError::NoFields => "请至少选择一个需要校核的数据项".into(),
            RequestError::UnknownField(f) => format!("数据项“{f}”不属于该资源"),
            RequestError::Question => "请说明需要校核的问题（10 至 2000 个字符）".into(),
            RequestError::Answer => "请填写核查结果（不少于 4 个字符）".into(),
            RequestError::AlreadyAnswered => "该请求已答复".into(),
            RequestError::NotOverdue => "尚未逾期，不能提请督办".into(),
        }
    }
}

/// A verification request or objection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationRequest {
    pub kind: RequestKind,
    /// The data items concerned.
    pub fields: Vec<String>,
    /// Which rows (free description: keys, line numbers of a version, a condition).
    pub rows: String,
    pub question: String,
    pub status: RequestStatus,
    pub received: NaiveDate,
    pub due: Deadline,
}

/// The outcome of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answered {
    /// Answered after the due date.
    pub late: bool,
}

impl VerificationRequest {
    /// Raises a request received on `today`; `items` are the resource's data item names.
    pub fn raise(
        kind: RequestKind,
        fields: Vec<String>,
        rows: &str,
        question: &str,
        items: &[String],
        today: NaiveDate,
        cal: &WorkCalendar,
    ) -> Result<VerificationRequest, RequestError> {
        let fields: Vec<String> =
            fields.into_iter().map(|f| f.trim().to_owned()).filter(|f| !f.is_empty()).collect();
        if fields.is_empty() {
            return Err(RequestError::NoFields);
        }
        if let Some(f) = fields.iter().find(|f| !items.contains(f)) {
            return Err(RequestError::UnknownField(f.clone()));
        }
        let question = question.trim();
        if !(10..=2000).contains(&question.chars().count()) {
            return Err(RequestError::Question);
        }
        Ok(VerificationRequest {
            kind,
            fields,
            rows: rows.trim().chars().take(1000).collect(),
            question: question.to_owned(),
            status: RequestStatus::Open,
            received: today,
            // Provisional when it reaches into a year without a published schedule.
            due: cal.deadline_working_days(today, ANSWER_WORKING_DAYS),
        })
    }

    /// Overdue from the day after the due date.
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        self.status != RequestStatus::Answered && today > self.due.due
    }

    /// The provider answers (also after escalation; the answer is then late).
    pub fn answer(&mut self, answer: &str, today: NaiveDate) -> Result<Answered, RequestError> {
        if self.status == RequestStatus::Answered {
            return Err(RequestError::AlreadyAnswered);
        }
        if answer.trim().chars().count() < 4 {
            return Err(RequestError::Answer);
        }
        self.status = RequestStatus::Answered;
        Ok(Answered { late: today > self.due.due })
    }

    /// The scheduler escalates an overdue request to the data authority.
    pub fn escalate(&mut self, today: NaiveDate) -> Result<(), RequestError> {
        if self.status != RequestStatus::Open || !self.is_overdue(today) {
            return Err(RequestError::NotOverdue);
        }
        self.status = RequestStatus::Escalated;
        Ok(())
    }
}

#[cfg(test)]
#[path = "verification_test.rs"]
mod tests;
