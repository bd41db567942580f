//! Developer onboarding (开发主体选择, Art. 12–13) and the development agreement (开发利用协议).
//!
//! A scenario is published by the operator (应用场景开发利用公告) or proposed by an organisation; a
//! proposed scenario must pass the operator's assessment of 需求合理性 / 场景合规性 / 安全风险性
//! before applications on it proceed (the proposer's own application may be lodged with the
//! proposal, but its review waits for the assessment).
//!
//! ```text
//! submit ─▶ under_review ─request_supplement─▶ awaiting_supplement ─supplement─▶ under_review
//!              │                                   └─(day after the deadline)─▶ lapsed
//!              ├─complete_review─▶ qualified ─publish_notice─▶ in_notice ─sign─▶ contracted
//!              └─────────────────▶ rejected       objection upheld: ─▶ under_review | rejected
//! ```
//!
//! The notice runs at least 5 working days (start day not counted: the end is the 5th working day
//! after the start, or later if the operator chooses); objections are lodged from its start to its
//! end; signing needs the notice ended and every objection decided. The development agreement's term
//! is at most 3 years in principle and never beyond the operator's own agreement.

use chrono::NaiveDate;
use thiserror::Error;

use super::material::{Material, MaterialKind, missing_required};
use super::operator::OperationAgreement;
use super::sanction::{Sanction, SanctionError, applications_allowed};
use super::{
    DEVELOPMENT_TERM_MAX_YEARS, LongTermApproval, NOTICE_MIN_WORKING_DAYS, OrgId, ScenarioId, Settings, Term,
    TermError, filled,
};
use crate::calendar::WorkCalendar;
use crate::party::OrgType;

code_enum! {
    /// Where a scenario comes from (Art. 13).
    pub enum ScenarioOrigin {
        Published => ("published", "运营机构发布"),
        SelfProposed => ("self_proposed", "主动提出"),
    }
}

code_enum! {
    /// Where a scenario stands.
    pub enum ScenarioStatus {
        /// Accepting applications.
        Open => ("open", "征集中"),
        /// Self-proposed, awaiting the operator's assessment.
        Proposed => ("proposed", "待评估"),
        /// Self-proposed and not accepted.
        Refused => ("refused", "评估未通过"),
        Closed => ("closed", "已关闭"),
    }
}

/// One aspect of the assessment of a proposed scenario: pass or fail, with reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssessmentItem {
    pub passed: bool,
    pub reason: String,
}

/// The operator's assessment of a self-proposed scenario (Art. 13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioAssessment {
    /// 需求合理性
    pub need: AssessmentItem,
    /// 场景合规性
    pub compliance: AssessmentItem,
    /// 安全风险性
    pub security_risk: AssessmentItem,
    pub assessed_on: NaiveDate,
}

impl ScenarioAssessment {
    pub fn passed(&self) -> bool {
        self.need.passed && self.compliance.passed && self.security_risk.passed
    }
}

/// An application scenario (应用场景).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    pub operator: OrgId,
    pub title: String,
    pub description: String,
    pub origin: ScenarioOrigin,
    /// The proposing organisation of a self-proposed scenario.
    pub proposer: Option<OrgId>,
    pub status: ScenarioStatus,
    pub assessment: Option<ScenarioAssessment>,
    pub created_on: NaiveDate,
}

impl Scenario {
    /// The operator publishes a scenario notice.
    pub fn publish(
        operator: OrgId,
        operator_type: OrgType,
        title: &str,
        description: &str,
        today: NaiveDate,
    ) -> Result<Scenario, DeveloperError> {
        if operator_type != OrgType::Operator {
            return Err(DeveloperError::NotOperator);
        }
        Scenario::new(
            operator,
            None,
            ScenarioOrigin::Published,
            ScenarioStatus::Open,
            title,
            description,
            today,
        )
    }

    /// An organisation proposes its own scenario to an operator.
    pub fn propose(
        proposer: OrgId,
        operator: OrgId,
        title: &str,
        description: &str,
        today: NaiveDate,
    ) -> Result<Scenario, DeveloperError> {
        Scenario::new(
            operator,
            Some(proposer),
            ScenarioOrigin::SelfProposed,
            ScenarioStatus::Proposed,
            title,
            description,
            today,
        )
    }

    fn new(
        operator: OrgId,
        proposer: Option<OrgId>,
        origin: ScenarioOrigin,
        status: ScenarioStatus,
        title: &str,
        description: &str,
        today: NaiveDate,
    ) -> Result<Scenario, DeveloperError> {
        if !filled(title) || !filled(description) {
            return Err(DeveloperError::ScenarioUndescribed);
        }
        Ok(Scenario {
            operator,
            title: title.trim().to_owned(),
            description: description.trim().to_owned(),
            origin,
            proposer,
            status,
            assessment: None,
            created_on: today,
        })
    }

    /// The operator assesses a proposed scenario; every aspect needs its reasons. All passed →
    /// open, otherwise refused.
    pub fn assess(
        &mut self,
        by: OrgId,
        assessment: ScenarioAssessment,
    ) -> Result<ScenarioStatus, DeveloperError> {
        if by != self.operator {
            return Err(DeveloperError::NotOperator);
        }
        if self.status != ScenarioStatus::Proposed {
            return Err(DeveloperError::ScenarioNotProposed);
        }
        if [&assessment.need, &assessment.compliance, &assessment.security_risk]
            .iter()
            .any(|i| !filled(&i.reason))
        {
            return Err(DeveloperError::ReasonRequired);
        }
        self.status = if assessment.passed() { ScenarioStatus::Open } else { ScenarioStatus::Refused };
        self.assessment = Some(assessment);
        Ok(self.status)
    }

    /// The operator closes the scenario to new applications.
    pub fn close(&mut self, by: OrgId) -> Result<ScenarioStatus, DeveloperError> {
        if by != self.operator {
            return Err(DeveloperError::NotOperator);
        }
        self.status = ScenarioStatus::Closed;
        Ok(self.status)
    }
}

code_enum! {
    /// Where an application stands.
    pub enum ApplicationStatus {
        UnderReview => ("under_review", "审核中"),
        AwaitingSupplement => ("awaiting_supplement", "待补正"),
        Lapsed => ("lapsed", "已失效"),
        Qualified => ("qualified", "审查通过"),
        InNotice => ("in_notice", "公示中"),
        Rejected => ("rejected", "未通过"),
        Contracted => ("contracted", "已签约"),
        Withdrawn => ("withdrawn", "已撤回"),
    }
}

code_enum! {
    /// The qualification conditions of Art. 12.
    pub enum QualificationCondition {
        BusinessCredit => ("business_credit", "经营状况和信用状况良好"),
        TechnicalCapability => ("technical_capability", "具备数据资源开发利用所需的技术服务能力"),
        DataManagement => ("data_management", "具备成熟的数据管理能力"),
        DataSecurity => ("data_security", "具备成熟的数据安全保障能力"),
        OtherRules => ("other_rules", "符合公共数据资源开发利用的其他规定要求"),
    }
}

/// The finding on one condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionCheck {
    pub condition: QualificationCondition,
    pub met: bool,
    /// Required when not met.
    pub note: String,
}

code_enum! {
    /// Ways of qualification review (Art. 13(2)).
    pub enum ReviewMethod {
        DocumentReview => ("document_review", "资料审阅"),
        Defence => ("defence", "现场答辩"),
        ExpertPanel => ("expert_panel", "专家论证"),
    }
}

/// A review record: document review, defence or expert opinion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewRecord {
    pub method: ReviewMethod,
    pub date: NaiveDate,
    pub summary: String,
}

/// A request to supplement or correct materials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupplementRequest {
    pub what: String,
    pub requested_on: NaiveDate,
    /// Last day to supplement; the application lapses the day after.
    pub due: NaiveDate,
    pub provisional: bool,
    pub answered_on: Option<NaiveDate>,
}

code_enum! {
    /// The operator's decision on an objection.
    pub enum ObjectionOutcome {
        Dismissed => ("dismissed", "异议不成立"),
        /// Upheld: the application goes back to qualification review.
        UpheldReview => ("upheld_review", "异议成立，重新审查"),
        /// Upheld: the application is rejected.
        UpheldReject => ("upheld_reject", "异议成立，不予选定"),
    }
}

/// A decided objection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectionDecision {
    pub outcome: ObjectionOutcome,
    pub reason: String,
    pub decided_on: NaiveDate,
}

/// An objection lodged during a notice (by anyone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Objection {
    pub lodged_on: NaiveDate,
    /// Who objects (name and contact as given).
    pub by: String,
    pub content: String,
    pub decision: Option<ObjectionDecision>,
}

/// A public notice (公示) of the selected developer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicNotice {
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// The minimum end rests on an unloaded holiday schedule.
    pub provisional: bool,
    pub objections: Vec<Objection>,
}

impl PublicNotice {
    /// The earliest end: the 5th working day after `start` (start day not counted).
    pub fn min_end(start: NaiveDate, calendar: &WorkCalendar) -> (NaiveDate, bool) {
        let d = calendar.deadline_working_days(start, NOTICE_MIN_WORKING_DAYS);
        (d.due, d.provisional)
    }

    /// A notice from `start` to `end` (default: the earliest end; never earlier).
    pub fn new(
        start: NaiveDate,
        end: Option<NaiveDate>,
        calendar: &WorkCalendar,
    ) -> Result<PublicNotice, DeveloperError> {
        let (min_end, provisional) = PublicNotice::min_end(start, calendar);
        let end = end.unwrap_or(min_end);
        if end < min_end {
            return Err(DeveloperError::NoticeTooShort { min_end });
        }
        Ok(PublicNotice { start, end, provisional, objections: Vec::new() })
    }

    /// Objections may be lodged from the start to the end day, inclusive.
    pub fn is_running(&self, today: NaiveDate) -> bool {
        self.start <= today && today <= self.end
    }

    pub fn has_ended(&self, today: NaiveDate) -> bool {
        today > self.end
    }

    pub fn open_objections(&self) -> usize {
        self.objections.iter().filter(|o| o.decision.is_none()).count()
    }
}

/// An application to develop a scenario (开发利用申请).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    pub scenario: ScenarioId,
    pub operator: OrgId,
    pub applicant: OrgId,
    pub submitted_on: NaiveDate,
    pub materials: Vec<Material>,
    pub status: ApplicationStatus,
    pub supplements: Vec<SupplementRequest>,
    pub reviews: Vec<ReviewRecord>,
    pub checks: Vec<ConditionCheck>,
    pub reviewed_on: Option<NaiveDate>,
    /// Notices in order; the last is current (an upheld objection may lead to a new one).
    pub notices: Vec<PublicNotice>,
    pub rejection_reason: String,
}

impl Application {
    /// Submits an application. The scenario must be open (or be the applicant's own proposal); the
    /// four required materials must be present; a restricted organisation is refused (pass all its
    /// sanctions, province-wide).
    pub fn submit(
        scenario_id: ScenarioId,
        scenario: &Scenario,
        applicant: OrgId,
        applicant_type: OrgType,
        materials: Vec<Material>,
        sanctions: &[Sanction],
        today: NaiveDate,
    ) -> Result<Application, DeveloperError> {
        if applicant_type != OrgType::Developer {
            return Err(DeveloperError::NotADeveloper);
        }
        applications_allowed(sanctions, today)?;
        let own_proposal =
            scenario.status == ScenarioStatus::Proposed && scenario.proposer == Some(applicant);
        if scenario.status != ScenarioStatus::Open && !own_proposal {
            return Err(DeveloperError::ScenarioNotOpen { status: scenario.status });
        }
        let missing = missing_required(&materials);
        if !missing.is_empty() {
            return Err(DeveloperError::MaterialsMissing { kinds: missing });
        }
        Ok(Application {
            scenario: scenario_id,
            operator: scenario.operator,
            applicant,
            submitted_on: today,
            materials,
            status: ApplicationStatus::UnderReview,
            supplements: Vec::new(),
            reviews: Vec::new(),
            checks: Vec::new(),
            reviewed_on: None,
            notices: Vec::new(),
            rejection_reason: String::new(),
        })
    }

    fn require(&self, status: ApplicationStatus, action: &'static str) -> Result<(), DeveloperError> {
        if self.status != status {
            return Err(DeveloperError::WrongStatus { status: self.status, action });
        }
        Ok(())
    }

    /// Asks the applicant to supplement or correct materials within `working_days` (default from
    /// settings). Returns the last day.
    pub fn request_supplement(
        &mut self,
        what: &str,
        working_days: Option<u32>,
        settings: &Settings,
        today: NaiveDate,
        calendar: &WorkCalendar,
    ) -> Result<NaiveDate, DeveloperError> {
        self.require(ApplicationStatus::UnderReview, "request_supplement")?;
        if !filled(what) {
            return Err(DeveloperError::ReasonRequired);
        }
        let days = working_days.unwrap_or(settings.supplement_working_days).max(1);
        let deadline = calendar.deadline_working_days(today, days);
        self.supplements.push(SupplementRequest {
            what: what.trim().to_owned(),
            requested_on: today,
            due: deadline.due,
            provisional: deadline.provisional,
            answered_on: None,
        });
        self.status = ApplicationStatus::AwaitingSupplement;
        Ok(deadline.due)
    }

    /// The applicant supplements (on or before the last day); back to review.
    pub fn supplement(&mut self, materials: Vec<Material>, today: NaiveDate) -> Result<(), DeveloperError> {
        self.require(ApplicationStatus::AwaitingSupplement, "supplement")?;
        if materials.is_empty() {
            return Err(DeveloperError::MaterialsMissing { kinds: vec![] });
        }
        let Some(request) = self.supplements.last_mut() else {
            return Err(DeveloperError::WrongStatus { status: self.status, action: "supplement" });
        };
        if today > request.due {
            return Err(DeveloperError::SupplementOverdue { due: request.due });
        }
        request.answered_on = Some(today);
        // Newer files of a kind come after older ones; all are kept for the record.
        self.materials.extend(materials);
        self.status = ApplicationStatus::UnderReview;
        Ok(())
    }

    /// For the scheduler: an application awaiting supplement lapses the day after its last day.
    /// Returns whether it lapsed now.
    pub fn expire_if_overdue(&mut self, today: NaiveDate) -> bool {
        let overdue = self.status == ApplicationStatus::AwaitingSupplement
            && self.supplements.last().is_some_and(|r| today > r.due);
        if overdue {
            self.status = ApplicationStatus::Lapsed;
        }
        overdue
    }

    /// Records a document review, defence or expert opinion.
    pub fn add_review(&mut self, record: ReviewRecord, today: NaiveDate) -> Result<(), DeveloperError> {
        self.require(ApplicationStatus::UnderReview, "add_review")?;
        if !filled(&record.summary) {
            return Err(DeveloperError::ReasonRequired);
        }
        if record.date > today || record.date < self.submitted_on {
            return Err(DeveloperError::BadDate);
        }
        self.reviews.push(record);
        Ok(())
    }

    /// Concludes the qualification review with a finding on each of the five conditions (a note
    /// where not met), after at least one review record. All met → qualified; else rejected.
    /// The scenario must be open (a proposed scenario is assessed first).
    pub fn complete_review(
        &mut self,
        scenario: &Scenario,
        checks: Vec<ConditionCheck>,
        today: NaiveDate,
    ) -> Result<ApplicationStatus, DeveloperError> {
        self.require(ApplicationStatus::UnderReview, "complete_review")?;
        if scenario.status != ScenarioStatus::Open {
            return Err(DeveloperError::ScenarioNotOpen { status: scenario.status });
        }
        if self.reviews.is_empty() {
            return Err(DeveloperError::NoReviewRecord);
        }
        for condition in QualificationCondition::ALL {
            if checks.iter().filter(|c| c.condition == *condition).count() != 1 {
                return Err(DeveloperError::ConditionUnchecked { condition: *condition });
            }
        }
        if checks.iter().any(|c| !c.met && !filled(&c.note)) {
            return Err(DeveloperError::ReasonRequired);
        }
        let all_met = checks.iter().all(|c| c.met);
        if !all_met {
            let failed: Vec<&str> =
                checks.iter().filter(|c| !c.met).map(|c| c.condition.label_zh()).collect();
            self.rejection_reason = format!("资格审查未通过：{}", failed.join("、"));
        }
        self.checks = checks;
        self.reviewed_on = Some(today);
        self.status = if all_met { ApplicationStatus::Qualified } else { ApplicationStatus::Rejected };
        Ok(self.status)
    }

    /// Publishes the notice from `start` (today or later) to `end` (default and minimum: 5 working
    /// days after the start).
    pub fn publish_notice(
        &mut self,
        start: NaiveDate,
        end: Option<NaiveDate>,
        today: NaiveDate,
        calendar: &WorkCalendar,
    ) -> Result<&PublicNotice, DeveloperError> {
        self.require(ApplicationStatus::Qualified, "publish_notice")?;
        if start < today {
            return Err(DeveloperError::BadDate);
        }
        let notice = PublicNotice::new(start, end, calendar)?;
        self.notices.push(notice);
        self.status = ApplicationStatus::InNotice;
        self.notices.last().ok_or(DeveloperError::NoNotice)
    }

    fn notice_mut(&mut self) -> Result<&mut PublicNotice, DeveloperError> {
        self.notices.last_mut().ok_or(DeveloperError::NoNotice)
    }

    /// Anyone lodges an objection while the notice runs. Returns its index.
    pub fn lodge_objection(
        &mut self,
        by: &str,
        content: &str,
        today: NaiveDate,
    ) -> Result<usize, DeveloperError> {
        self.require(ApplicationStatus::InNotice, "lodge_objection")?;
        if !filled(by) || !filled(content) {
            return Err(DeveloperError::ReasonRequired);
        }
        let notice = self.notice_mut()?;
        if !notice.is_running(today) {
            return Err(DeveloperError::NoticeNotRunning);
        }
        notice.objections.push(Objection {
            lodged_on: today,
            by: by.trim().to_owned(),
            content: content.trim().to_owned(),
            decision: None,
        });
        Ok(notice.objections.len() - 1)
    }

    /// The operator decides an objection with reasons. Upheld → back to review, or rejected.
    pub fn decide_objection(
        &mut self,
        index: usize,
        outcome: ObjectionOutcome,
        reason: &str,
        today: NaiveDate,
    ) -> Result<ApplicationStatus, DeveloperError> {
        self.require(ApplicationStatus::InNotice, "decide_objection")?;
        if !filled(reason) {
            return Err(DeveloperError::ReasonRequired);
        }
        let notice = self.notice_mut()?;
        let objection = notice.objections.get_mut(index).ok_or(DeveloperError::NoSuchObjection)?;
        if objection.decision.is_some() {
            return Err(DeveloperError::ObjectionDecided);
        }
        objection.decision =
            Some(ObjectionDecision { outcome, reason: reason.trim().to_owned(), decided_on: today });
        self.status = match outcome {
            ObjectionOutcome::Dismissed => ApplicationStatus::InNotice,
            ObjectionOutcome::UpheldReview => ApplicationStatus::UnderReview,
            ObjectionOutcome::UpheldReject => {
                self.rejection_reason = format!("公示期间异议成立：{}", reason.trim());
                ApplicationStatus::Rejected
            }
        };
        Ok(self.status)
    }

    /// The applicant withdraws (before signing).
    pub fn withdraw(&mut self) -> Result<ApplicationStatus, DeveloperError> {
        if matches!(
            self.status,
            ApplicationStatus::Contracted | ApplicationStatus::Rejected | ApplicationStatus::Lapsed
        ) {
            return Err(DeveloperError::WrongStatus { status: self.status, action: "withdraw" });
        }
        self.status = ApplicationStatus::Withdrawn;
        Ok(self.status)
    }

    /// Signs the development agreement after the notice has ended with every objection decided
    /// (none upheld, or the application would have left the notice). The term is at most 3 years
    /// unless justified and approved, and never beyond the operator's live agreement.
    pub fn sign_agreement(
        &mut self,
        term: Term,
        long_term: Option<LongTermApproval>,
        operator_agreement: &OperationAgreement,
        sanctions: &[Sanction],
        today: NaiveDate,
    ) -> Result<DevelopmentAgreement, DeveloperError> {
        self.require(ApplicationStatus::InNotice, "sign")?;
        let notice = self.notices.last().ok_or(DeveloperError::NoNotice)?;
        if !notice.has_ended(today) {
            return Err(DeveloperError::NoticeNotEnded { end: notice.end });
        }
        let open = notice.open_objections();
        if open > 0 {
            return Err(DeveloperError::ObjectionsOpen { count: open });
        }
        applications_allowed(sanctions, today)?;
        if operator_agreement.operator() != Some(self.operator) || !operator_agreement.status.is_live() {
            return Err(DeveloperError::OperatorAgreementNotLive);
        }
        let term = Term::new(term.start, term.end)?;
        let operator_end = operator_agreement.end().ok_or(DeveloperError::OperatorAgreementNotLive)?;
        if term.end > operator_end {
            return Err(TermError::BeyondOperatorAgreement { operator_end }.into());
        }
        term.check_limit(DEVELOPMENT_TERM_MAX_YEARS, long_term.as_ref())?;
        self.status = ApplicationStatus::Contracted;
        Ok(DevelopmentAgreement {
            operator: self.operator,
            developer: self.applicant,
            scenario: self.scenario,
            term,
            long_term,
            signed_on: today,
            status: DevAgreementStatus::Signed,
            ended_on: None,
        })
    }
}

code_enum! {
    /// Where a development agreement stands.
    pub enum DevAgreementStatus {
        Signed => ("signed", "已签约"),
        Expired => ("expired", "已到期"),
        Terminated => ("terminated", "已终止"),
    }
}

/// A development agreement (开发利用协议): the record the access check rests on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevelopmentAgreement {
    pub operator: OrgId,
    pub developer: OrgId,
    pub scenario: ScenarioId,
    pub term: Term,
    pub long_term: Option<LongTermApproval>,
    pub signed_on: NaiveDate,
    pub status: DevAgreementStatus,
    /// Termination or expiry date.
    pub ended_on: Option<NaiveDate>,
}

impl DevelopmentAgreement {
    /// Whether the agreement itself gives the developer access on `today` (signed, within the
    /// term). Sanctions and terminations are combined in [`super::sanction::decide_access`].
    pub fn grants_access(&self, today: NaiveDate) -> bool {
        self.status == DevAgreementStatus::Signed && self.term.contains(today)
    }

    pub fn is_terminated(&self) -> bool {
        self.status == DevAgreementStatus::Terminated
    }

    /// For the scheduler: signed → expired after the end date.
    pub fn advance(&mut self, today: NaiveDate) -> DevAgreementStatus {
        if self.status == DevAgreementStatus::Signed && today > self.term.end {
            self.status = DevAgreementStatus::Expired;
            self.ended_on = self.term.end.succ_opt();
        }
        self.status
    }

    /// Ends the agreement at once (Art. 25(5)); see [`super::termination::Termination::start`].
    pub(crate) fn terminate(&mut self, today: NaiveDate) -> Result<(), DeveloperError> {
        if self.status != DevAgreementStatus::Signed {
            return Err(DeveloperError::AgreementNotSigned { status: self.status });
        }
        self.status = DevAgreementStatus::Terminated;
        self.ended_on = Some(today);
        Ok(())
    }
}

/// Onboarding errors.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DeveloperError {
    #[error("only the scenario's operator may do this")]
    NotOperator,
    #[error("only a developer organisation may apply")]
    NotADeveloper,
    #[error("title and description are required")]
    ScenarioUndescribed,
    #[error("the scenario is not awaiting assessment")]
    ScenarioNotProposed,
    #[error("the scenario is {status:?}")]
    ScenarioNotOpen { status: ScenarioStatus },
    #[error("a reason or content is required")]
    ReasonRequired,
    #[error("required materials missing: {kinds:?}")]
    MaterialsMissing { kinds: Vec<MaterialKind> },
    #[error(transparent)]
    Sanction(#[from] SanctionError),
    #[error("cannot {action} an application that is {status:?}")]
    WrongStatus { status: ApplicationStatus, action: &'static str },
    #[error("the supplement deadline {due} has passed")]
    SupplementOverdue { due: NaiveDate },
    #[error("the date lies in the future or before the submission")]
    BadDate,
    #[error("no review record")]
    NoReviewRecord,
    #[error("condition {condition:?} needs exactly one finding")]
    ConditionUnchecked { condition: QualificationCondition },
    #[error("the notice must end on or after {min_end}")]
    NoticeTooShort { min_end: NaiveDate },
    #[error("no notice")]
    NoNotice,
    #[error("the notice is not running")]
    NoticeNotRunning,
    #[error("no such objection")]
    NoSuchObjection,
    #[error("the objection is already decided")]
    ObjectionDecided,
    #[error("the notice runs until {end}")]
    NoticeNotEnded { end: NaiveDate },
    #[error("{count} objections are undecided")]
    ObjectionsOpen { count: usize },
    #[error("the operator's agreement is not live")]
    OperatorAgreementNotLive,
    #[error(transparent)]
    Term(#[from] TermError),
    #[error("the agreement is {status:?}")]
    AgreementNotSigned { status: DevAgreementStatus },
}

impl DeveloperError {
    pub fn code(&self) -> &'static str {
        match self {
            DeveloperError::NotOperator => "onboarding.not_operator",
            DeveloperError::NotADeveloper => "onboarding.not_a_developer",
            DeveloperError::ScenarioUndescribed => "onboarding.scenario_undescribed",
            DeveloperError::ScenarioNotProposed => "onboarding.scenario_not_proposed",
            DeveloperError::ScenarioNotOpen { .. } => "onboarding.scenario_not_open",
            DeveloperError::ReasonRequired => "onboarding.reason_required",
            DeveloperError::MaterialsMissing { .. } => "onboarding.materials_missing",
            DeveloperError::Sanction(e) => e.code(),
            DeveloperError::WrongStatus { .. } => "onboarding.wrong_status",
            DeveloperError::SupplementOverdue { .. } => "onboarding.supplement_overdue",
            DeveloperError::BadDate => "onboarding.bad_date",
            DeveloperError::NoReviewRecord => "onboarding.no_review_record",
            DeveloperError::ConditionUnchecked { .. } => "onboarding.condition_unchecked",
            DeveloperError::NoticeTooShort { .. } => "onboarding.notice_too_short",
            DeveloperError::NoNotice => "onboarding.no_notice",
            DeveloperError::NoticeNotRunning => "onboarding.notice_not_running",
            DeveloperError::NoSuchObjection => "onboarding.no_such_objection",
            DeveloperError::ObjectionDecided => "onboarding.objection_decided",
            DeveloperError::NoticeNotEnded { .. } => "onboarding.notice_not_ended",
            DeveloperError::ObjectionsOpen { .. } => "onboarding.objections_open",
            DeveloperError::OperatorAgreementNotLive => "onboarding.operator_agreement_not_live",
            DeveloperError::Term(e) => e.code(),
            DeveloperError::AgreementNotSigned { .. } => "onboarding.agreement_not_signed",
        }
    }

    pub fn message_zh(&self) -> String {
        match self {
            DeveloperError::NotOperator => "只有该场景的运营机构可以执行此操作".to_owned(),
            DeveloperError::NotADeveloper => "只有开发主体单位可以提出开发利用申请".to_owned(),
            DeveloperError::ScenarioUndescribed => "请填写应用场景名称和说明".to_owned(),
            DeveloperError::ScenarioNotProposed => "该应用场景不处于待评估状态".to_owned(),
            DeveloperError::ScenarioNotOpen { status } => {
                format!("该应用场景当前为“{}”，暂不受理或推进开发利用申请", status.label_zh())
            }
            DeveloperError::ReasonRequired => "请填写理由或说明".to_owned(),
            DeveloperError::MaterialsMissing { kinds } if kinds.is_empty() => "请上传补充材料".to_owned(),
            DeveloperError::MaterialsMissing { kinds } => {
                let list: Vec<&str> = kinds.iter().map(|k| k.label_zh()).collect();
                format!("缺少申请材料：{}", list.join("、"))
            }
            DeveloperError::Sanction(e) => e.message_zh(),
            DeveloperError::WrongStatus { status, .. } => {
                format!("申请当前状态为“{}”，不能执行此操作", status.label_zh())
            }
            DeveloperError::SupplementOverdue { due } => format!("补正期限（{due}）已过，申请已失效"),
            DeveloperError::BadDate => "日期不能晚于今天，也不能早于申请日期".to_owned(),
            DeveloperError::NoReviewRecord => "请先记录资料审阅、现场答辩或专家论证情况".to_owned(),
            DeveloperError::ConditionUnchecked { condition } => {
                format!("请对资格条件“{}”作出且只作出一项审查结论", condition.label_zh())
            }
            DeveloperError::NoticeTooShort { min_end } => {
                format!("公示期不得少于 5 个工作日，最早于 {min_end} 结束")
            }
            DeveloperError::NoNotice => "尚未公示".to_owned(),
            DeveloperError::NoticeNotRunning => "不在公示期内，不能提出异议".to_owned(),
            DeveloperError::NoSuchObjection => "异议不存在".to_owned(),
            DeveloperError::ObjectionDecided => "该异议已处理".to_owned(),
            DeveloperError::NoticeNotEnded { end } => format!("公示期至 {end} 结束，公示期满后方可签订协议"),
            DeveloperError::ObjectionsOpen { count } => format!("尚有 {count} 项异议未处理，不能签订协议"),
            DeveloperError::OperatorAgreementNotLive => "运营机构的运营协议未生效或已终止".to_owned(),
            DeveloperError::Term(e) => e.message_zh(),
            DeveloperError::AgreementNotSigned { status } => {
                format!("开发利用协议当前为“{}”", status.label_zh())
            }
        }
    }
}

#[cfg(test)]
#[path = "developer_test.rs"]
mod tests;
