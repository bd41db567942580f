//! The blacklist (黑名单, Art. 21) and the access decision.
//!
//! An operator may impose, depending on the violation: a reminder interview (提醒约谈, recorded, no
//! effect on access), a suspension (暂停: access under that development agreement paused until lifted
//! or until its end date), a cancellation (取消: access under that agreement revoked for good — it
//! cannot be lifted; the operator should also terminate the agreement, Art. 25(5)), or a restriction
//! of future participation until a date (限制参与). A restriction binds every operator and
//! prefecture of the province: [`applications_allowed`] refuses applications and signatures of a
//! restricted organisation whoever runs the scenario, so the store must pass *all* sanctions of the
//! organisation, not only the current operator's.
//!
//! Only an operator lifts a sanction, with a reason, and only the operator that imposed it.
//!
//! [`decide_access`] combines the development agreement, the sanctions and a termination into the
//! one answer the server needs: may this developer organisation act on this scenario today?

use chrono::NaiveDate;
use thiserror::Error;

use super::developer::DevelopmentAgreement;
use super::termination::Termination;
use super::{AgreementId, OrgId, ScenarioId, filled};
use crate::party::OrgType;

code_enum! {
    /// Blacklist measures (Art. 21).
    pub enum SanctionKind {
        ReminderInterview => ("reminder_interview", "提醒约谈"),
        Suspension => ("suspension", "暂停开发利用资格"),
        Cancellation => ("cancellation", "取消开发利用资格"),
        Restriction => ("restriction", "限制未来参与资格"),
    }
}

code_enum! {
    /// Where a sanction stands on a given day.
    pub enum SanctionState {
        Active => ("active", "生效中"),
        Lifted => ("lifted", "已解除"),
        Expired => ("expired", "已到期"),
    }
}

/// The lifting of a sanction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lifting {
    pub on: NaiveDate,
    pub by: OrgId,
    pub reason: String,
}

/// One measure against a developer organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sanction {
    pub developer: OrgId,
    /// The imposing operator.
    pub imposed_by: OrgId,
    pub kind: SanctionKind,
    /// The development agreement concerned (suspension, cancellation).
    pub agreement: Option<AgreementId>,
    pub reason: String,
    pub imposed_on: NaiveDate,
    /// Last day in effect: required for a restriction, optional for a suspension (else until lifted).
    pub until: Option<NaiveDate>,
    pub lifted: Option<Lifting>,
}

impl Sanction {
    /// Imposes a measure. The actor must be an operator; suspension and cancellation name the
    /// agreement; a restriction has an end date after today.
    #[allow(clippy::too_many_arguments)]
    pub fn impose(
        kind: SanctionKind,
        developer: OrgId,
        operator: OrgId,
        operator_type: OrgType,
        agreement: Option<AgreementId>,
        until: Option<NaiveDate>,
        reason: &str,
        today: NaiveDate,
    ) -> Result<Sanction, SanctionError> {
        if operator_type != OrgType::Operator {
            return Err(SanctionError::NotAnOperator);
        }
        if !filled(reason) {
            return Err(SanctionError::ReasonRequired);
        }
        match kind {
            SanctionKind::Suspension | SanctionKind::Cancellation if agreement.is_none() => {
                return Err(SanctionError::AgreementRequired);
            }
            SanctionKind::Restriction if until.is_none() => return Err(SanctionError::UntilRequired),
            _ => {}
        }
        if until.is_some_and(|u| u <= today) {
            return Err(SanctionError::UntilInPast);
        }
        let until = match kind {
            SanctionKind::ReminderInterview | SanctionKind::Cancellation => None,
            _ => until,
        };
        Ok(Sanction {
            developer,
            imposed_by: operator,
            kind,
            agreement,
            reason: reason.trim().to_owned(),
            imposed_on: today,
            until,
            lifted: None,
        })
    }

    pub fn state(&self, today: NaiveDate) -> SanctionState {
        if self.lifted.as_ref().is_some_and(|l| l.on <= today) {
            SanctionState::Lifted
        } else if self.until.is_some_and(|u| today > u) {
            SanctionState::Expired
        } else {
            SanctionState::Active
        }
    }

    /// In effect on `today` (imposed, not lifted, not past its end date).
    pub fn is_active(&self, today: NaiveDate) -> bool {
        self.imposed_on <= today && self.state(today) == SanctionState::Active
    }

    /// Lifts the measure: only the imposing operator, with a reason. A cancellation is permanent
    /// and a reminder interview has nothing to lift.
    pub fn lift(
        &mut self,
        by: OrgId,
        by_type: OrgType,
        reason: &str,
        today: NaiveDate,
    ) -> Result<SanctionState, SanctionError> {
        if by_type != OrgType::Operator {
            return Err(SanctionError::NotAnOperator);
        }
        if by != self.imposed_by {
            return Err(SanctionError::NotImposingOperator);
        }
        match self.kind {
            SanctionKind::Cancellation => return Err(SanctionError::Permanent),
            SanctionKind::ReminderInterview => return Err(SanctionError::NothingToLift),
            SanctionKind::Suspension | SanctionKind::Restriction => {}
        }
        if self.state(today) != SanctionState::Active {
            return Err(SanctionError::NothingToLift);
        }
        if !filled(reason) {
            return Err(SanctionError::ReasonRequired);
        }
        self.lifted = Some(Lifting { on: today, by, reason: reason.trim().to_owned() });
        Ok(SanctionState::Lifted)
    }
}

/// Whether an organisation may apply (or sign) anywhere in the province today: refused while any
/// restriction against it is active, whoever imposed it. Pass all sanctions of the organisation.
pub fn applications_allowed(sanctions: &[Sanction], today: NaiveDate) -> Result<(), SanctionError> {
    match sanctions.iter().find(|s| s.kind == SanctionKind::Restriction && s.is_active(today)) {
        Some(s) => {
            Err(SanctionError::Restricted { until: s.until.unwrap_or(NaiveDate::MAX), by: s.imposed_by })
        }
        None => Ok(()),
    }
}

code_enum! {
    /// Why access is denied.
    pub enum DenyReason {
        NoAgreement => ("no_agreement", "未签订该场景的开发利用协议"),
        NotStarted => ("not_started", "开发利用协议尚未开始"),
        Expired => ("expired", "开发利用协议已到期"),
        Terminated => ("terminated", "开发利用协议已终止"),
        Cancelled => ("cancelled", "开发利用资格已取消"),
        Suspended => ("suspended", "开发利用资格已暂停"),
    }
}

/// The answer to "may this developer organisation act on this scenario today?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessDecision {
    Allowed,
    Denied(DenyReason),
}

impl AccessDecision {
    pub fn is_allowed(self) -> bool {
        self == AccessDecision::Allowed
    }

    pub fn code(self) -> &'static str {
        match self {
            AccessDecision::Allowed => "allowed",
            AccessDecision::Denied(reason) => reason.code(),
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            AccessDecision::Allowed => "可访问",
            AccessDecision::Denied(reason) => reason.label_zh(),
        }
    }
}

/// Decides access of `developer` to `scenario` on `today` from its development agreement (with its
/// store id), the organisation's sanctions and the agreement's termination record, if any.
/// Precedence: termination, cancellation, suspension, then the agreement's own state and term.
pub fn decide_access(
    developer: OrgId,
    scenario: ScenarioId,
    agreement: Option<(AgreementId, &DevelopmentAgreement)>,
    sanctions: &[Sanction],
    termination: Option<&Termination>,
    today: NaiveDate,
) -> AccessDecision {
    let Some((id, agreement)) = agreement.filter(|(_, a)| a.developer == developer && a.scenario == scenario)
    else {
        return AccessDecision::Denied(DenyReason::NoAgreement);
    };
    if termination.is_some_and(|t| t.agreement == id) || agreement.is_terminated() {
        return AccessDecision::Denied(DenyReason::Terminated);
    }
    let against_this = |kind: SanctionKind| {
        sanctions.iter().any(|s| {
            s.kind == kind && s.developer == developer && s.agreement == Some(id) && s.imposed_on <= today
        })
    };
    // A cancellation counts whatever its state: it cannot be lifted.
    if against_this(SanctionKind::Cancellation) {
        return AccessDecision::Denied(DenyReason::Cancelled);
    }
    let suspended = sanctions.iter().any(|s| {
        s.kind == SanctionKind::Suspension
            && s.developer == developer
            && s.agreement == Some(id)
            && s.is_active(today)
    });
    if suspended {
        return AccessDecision::Denied(DenyReason::Suspended);
    }
    if today < agreement.term.start {
        return AccessDecision::Denied(DenyReason::NotStarted);
    }
    if !agreement.grants_access(today) {
        return AccessDecision::Denied(DenyReason::Expired);
    }
    AccessDecision::Allowed
}

/// Sanction errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum SanctionError {
    #[error("only an operator may impose or lift blacklist measures")]
    NotAnOperator,
    #[error("only the operator that imposed the measure may lift it")]
    NotImposingOperator,
    #[error("a reason is required")]
    ReasonRequired,
    #[error("suspension and cancellation name the development agreement")]
    AgreementRequired,
    #[error("a restriction needs an end date")]
    UntilRequired,
    #[error("the end date must be after today")]
    UntilInPast,
    #[error("a cancellation is permanent")]
    Permanent,
    #[error("nothing to lift")]
    NothingToLift,
    #[error("the organisation is restricted until {until} (imposed by {by})")]
    Restricted { until: NaiveDate, by: OrgId },
}

impl SanctionError {
    pub fn code(&self) -> &'static str {
        match self {
            SanctionError::NotAnOperator => "sanction.not_an_operator",
            SanctionError::NotImposingOperator => "sanction.not_imposing_operator",
            SanctionError::ReasonRequired => "sanction.reason_required",
            SanctionError::AgreementRequired => "sanction.agreement_required",
            SanctionError::UntilRequired => "sanction.until_required",
            SanctionError::UntilInPast => "sanction.until_in_past",
            SanctionError::Permanent => "sanction.permanent",
            SanctionError::NothingToLift => "sanction.nothing_to_lift",
            SanctionError::Restricted { .. } => "sanction.restricted",
        }
    }

    pub fn message_zh(&self) -> String {
        match self {
            SanctionError::NotAnOperator => "只有运营机构可以采取或解除黑名单措施".to_owned(),
            SanctionError::NotImposingOperator => "只有采取该措施的运营机构可以解除".to_owned(),
            SanctionError::ReasonRequired => "请填写理由".to_owned(),
            SanctionError::AgreementRequired => "暂停或取消开发利用资格须指明开发利用协议".to_owned(),
            SanctionError::UntilRequired => "限制参与资格须明确截止日期".to_owned(),
            SanctionError::UntilInPast => "截止日期应晚于今天".to_owned(),
            SanctionError::Permanent => "取消开发利用资格不可解除".to_owned(),
            SanctionError::NothingToLift => "该措施当前无需解除".to_owned(),
            SanctionError::Restricted { until, .. } => {
                format!("该单位已被列入黑名单，{until} 前在全省范围内不得参与公共数据资源开发利用")
            }
        }
    }
}

#[cfg(test)]
#[path = "sanction_test.rs"]
mod tests;
