//! Operator selection and operation agreements (运营机构选择、运营协议, Art. 11).
//!
//! The implementing agency selects the operator competitively ([`OperatorSelection`]), decides by its
//! "三重一大" procedure, then signs the agreement with its 14 clauses with the operator — jointly with
//! the industry department for 分领域授权 (every required signature is needed). The term is at most 5
//! years in principle (`start + 5 years` per [`Term::max_end`]); a longer term needs a recorded
//! justification and approval. Prefecture and county agreements are filed within 20 working days of
//! signing.
//!
//! ```text
//! draft ──(all signatures)──▶ signed ──(start date)──▶ in_force ──renew──▶ renewed (still in force)
//!                                                         │                  │
//!                                                         ├── after end ─────┴──▶ expired
//!                                                         └── terminate ────────▶ terminated
//! ```
//!
//! Renewal (clause 9) is driven by the operator's evaluations: refused while the latest evaluation
//! is 未通过 or a 限期整改 is unresolved ([`EvaluationStanding`]).

use chrono::NaiveDate;
use thiserror::Error;

use super::evaluation::{EvaluationResult, EvaluationStanding};
use super::plan::chinese_number;
use super::{
    AuthorizationMode, CollectiveDecision, DecisionOutcome, Filing, Level, LongTermApproval,
    OPERATION_TERM_MAX_YEARS, OrgId, ProductItem, ResourceRef, Term, TermError, filled,
    product_list_complete,
};
use crate::calendar::WorkCalendar;

code_enum! {
    /// How the operator was selected (Art. 11).
    pub enum SelectionMethod {
        PublicTender => ("public_tender", "公开招标"),
        InvitedTender => ("invited_tender", "邀请招标"),
        Negotiation => ("negotiation", "谈判"),
        /// Another competitive method; [`OperatorSelection::method_note`] names it.
        OtherCompetitive => ("other_competitive", "其他竞争性方式"),
    }
}

/// The selection record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorSelection {
    pub method: SelectionMethod,
    pub method_note: String,
    /// Names of participating organisations (投标人、谈判对象).
    pub participants: Vec<String>,
    /// The selected participant's name; must be one of `participants`.
    pub winner: String,
    /// The winner's organisation on the platform.
    pub winner_org: OrgId,
    pub decided_on: NaiveDate,
}

impl OperatorSelection {
    pub fn validate(&self, today: NaiveDate) -> Result<(), OperatorError> {
        if self.method == SelectionMethod::OtherCompetitive && !filled(&self.method_note) {
            return Err(OperatorError::MethodUnnamed);
        }
        if self.participants.is_empty() || self.participants.iter().any(|p| !filled(p)) {
            return Err(OperatorError::NoParticipants);
        }
        if !self.participants.iter().any(|p| p.trim() == self.winner.trim()) {
            return Err(OperatorError::WinnerNotParticipant);
        }
        if self.decided_on > today {
            return Err(OperatorError::FutureDate);
        }
        Ok(())
    }
}

code_enum! {
    /// The 14 clauses of Art. 11, numbered as in the measures.
    pub enum AgreementClause {
        DataScope => ("data_scope", "公共数据资源范围及数据资源目录"),
        Term => ("term", "运营期限"),
        Products => ("products", "产品和服务清单及技术标准、安全审核要求、业务规范性审核要求"),
        Platform => ("platform", "技术支撑平台"),
        AssetOwnership => ("asset_ownership", "资产权属"),
        Disclosure => ("disclosure", "信息披露要求及不得参与再开发要求"),
        CostRevenue => ("cost_revenue", "经营成本和收入核算要求、收益分配机制"),
        Security => ("security", "数据安全、个人信息保护要求和风险监测、应急处置措施"),
        EvaluationRenewal => ("evaluation_renewal", "运营成效评价，续约或退出机制"),
        Liability => ("liability", "违约责任"),
        Disputes => ("disputes", "争议解决方式"),
        ChangeTermination => ("change_termination", "协议变更、终止条件"),
        Confidentiality => ("confidentiality", "保密责任与义务"),
        Other => ("other", "需要明确的其他事项"),
    }
}

impl AgreementClause {
    /// Number in Art. 11 (1–14).
    pub fn number(self) -> usize {
        AgreementClause::ALL.iter().position(|c| *c == self).map_or(0, |p| p + 1)
    }
}

/// The 14 clauses; draft content may be incomplete.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AgreementContent {
    /// (1)
    pub data_resources: Vec<ResourceRef>,
    /// (2)
    pub term: Option<Term>,
    /// (2) needed when the term exceeds 5 years.
    pub long_term: Option<LongTermApproval>,
    /// (3) both classes present.
    pub products: Vec<ProductItem>,
    /// (3)
    pub technical_standards: String,
    /// (3)
    pub security_review: String,
    /// (3)
    pub compliance_review: String,
    /// (4)
    pub platform: String,
    /// (5)
    pub asset_ownership: String,
    /// (6) disclosure duties.
    pub disclosure: String,
    /// (6) the operator's undertaking not to take part in re-development (Art. 21).
    pub no_redevelopment_undertaking: bool,
    /// (7)
    pub cost_revenue: String,
    /// (8)
    pub security: String,
    /// (9)
    pub evaluation_renewal: String,
    /// (10)
    pub liability: String,
    /// (11)
    pub disputes: String,
    /// (12)
    pub change_termination: String,
    /// (13)
    pub confidentiality: String,
    /// (14) may say `无` but must be filled in.
    pub other: String,
}

impl AgreementContent {
    /// Clauses not yet complete, in Art. 11 order.
    pub fn missing_clauses(&self) -> Vec<AgreementClause> {
        use AgreementClause as C;
        let checks = [
            (
                C::DataScope,
                !self.data_resources.is_empty() && self.data_resources.iter().all(|r| filled(&r.id)),
            ),
            (C::Term, self.term.is_some()),
            (
                C::Products,
                product_list_complete(&self.products)
                    && filled(&self.technical_standards)
                    && filled(&self.security_review)
                    && filled(&self.compliance_review),
            ),
            (C::Platform, filled(&self.platform)),
            (C::AssetOwnership, filled(&self.asset_ownership)),
            (C::Disclosure, filled(&self.disclosure) && self.no_redevelopment_undertaking),
            (C::CostRevenue, filled(&self.cost_revenue)),
            (C::Security, filled(&self.security)),
            (C::EvaluationRenewal, filled(&self.evaluation_renewal)),
            (C::Liability, filled(&self.liability)),
            (C::Disputes, filled(&self.disputes)),
            (C::ChangeTermination, filled(&self.change_termination)),
            (C::Confidentiality, filled(&self.confidentiality)),
            (C::Other, filled(&self.other)),
        ];
        checks.into_iter().filter(|(_, complete)| !complete).map(|(clause, _)| clause).collect()
    }
}

code_enum! {
    /// Who signs.
    pub enum Signatory {
        Agency => ("agency", "实施机构"),
        IndustryDepartment => ("industry_department", "行业主管部门"),
        Operator => ("operator", "运营机构"),
    }
}

code_enum! {
    /// Where an operation agreement stands.
    pub enum AgreementStatus {
        Draft => ("draft", "草稿"),
        Signed => ("signed", "已签订"),
        InForce => ("in_force", "已生效"),
        /// Renewed and still in force, with the extended end.
        Renewed => ("renewed", "已续约"),
        Expired => ("expired", "已到期"),
        Terminated => ("terminated", "已终止"),
    }
}

impl AgreementStatus {
    /// Signed and not ended (it may not have started yet).
    pub fn is_live(self) -> bool {
        matches!(self, AgreementStatus::Signed | AgreementStatus::InForce | AgreementStatus::Renewed)
    }
}

/// One renewal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renewal {
    pub decided_on: NaiveDate,
    pub previous_end: NaiveDate,
    pub new_end: NaiveDate,
    pub long_term: Option<LongTermApproval>,
}

/// An operation agreement (运营协议).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationAgreement {
    pub agency: OrgId,
    pub level: Level,
    pub mode: AuthorizationMode,
    /// Co-signatory for 分领域授权.
    pub industry_department: Option<OrgId>,
    pub selection: Option<OperatorSelection>,
    pub agency_decision: Option<CollectiveDecision>,
    pub content: AgreementContent,
    /// Date each party signed.
    pub signed_by_agency: Option<NaiveDate>,
    pub signed_by_industry_department: Option<NaiveDate>,
    pub signed_by_operator: Option<NaiveDate>,
    pub status: AgreementStatus,
    /// The day the last required signature was made.
    pub signed_on: Option<NaiveDate>,
    pub filing: Filing,
    pub renewals: Vec<Renewal>,
    pub terminated_on: Option<NaiveDate>,
    pub termination_reason: String,
}

impl OperationAgreement {
    /// A new draft agreement for the agency at `level`.
    pub fn draft(
        agency: OrgId,
        level: Level,
        mode: AuthorizationMode,
        industry_department: Option<OrgId>,
    ) -> Result<OperationAgreement, OperatorError> {
        if mode == AuthorizationMode::ByDomain && industry_department.is_none() {
            return Err(OperatorError::IndustryDepartmentMissing);
        }
        Ok(OperationAgreement {
            agency,
            level,
            mode,
            industry_department,
            selection: None,
            agency_decision: None,
            content: AgreementContent::default(),
            signed_by_agency: None,
            signed_by_industry_department: None,
            signed_by_operator: None,
            status: AgreementStatus::Draft,
            signed_on: None,
            filing: Filing::NOT_REQUIRED,
            renewals: Vec::new(),
            terminated_on: None,
            termination_reason: String::new(),
        })
    }

    /// The operator: the selection's winner.
    pub fn operator(&self) -> Option<OrgId> {
        self.selection.as_ref().map(|s| s.winner_org)
    }

    fn require(&self, status: AgreementStatus, action: &'static str) -> Result<(), OperatorError> {
        if self.status != status {
            return Err(OperatorError::WrongStatus { status: self.status, action });
        }
        Ok(())
    }

    /// Records the selection result (draft only).
    pub fn record_selection(
        &mut self,
        selection: OperatorSelection,
        today: NaiveDate,
    ) -> Result<(), OperatorError> {
        self.require(AgreementStatus::Draft, "record_selection")?;
        selection.validate(today)?;
        self.selection = Some(selection);
        Ok(())
    }

    /// Records the agency's "三重一大" decision on signing (after the selection).
    pub fn record_agency_decision(
        &mut self,
        decision: CollectiveDecision,
        today: NaiveDate,
    ) -> Result<(), OperatorError> {
        self.require(AgreementStatus::Draft, "agency_decision")?;
        let selection = self.selection.as_ref().ok_or(OperatorError::NoSelection)?;
        if !filled(&decision.meeting) {
            return Err(OperatorError::MeetingMissing);
        }
        if decision.date > today || decision.date < selection.decided_on {
            return Err(OperatorError::FutureDate);
        }
        self.agency_decision = Some(decision);
        Ok(())
    }

    /// Replaces the clauses of a draft (signed agreements are changed by a new agreement).
    pub fn edit(&mut self, content: AgreementContent) -> Result<(), OperatorError> {
        if self.status != AgreementStatus::Draft || self.any_signature() {
            return Err(OperatorError::WrongStatus { status: self.status, action: "edit" });
        }
        self.content = content;
        Ok(())
    }

    fn any_signature(&self) -> bool {
        self.signed_by_agency.is_some()
            || self.signed_by_industry_department.is_some()
            || self.signed_by_operator.is_some()
    }

    /// Everything needed before anyone signs: selection, an approving decision, all 14 clauses,
    /// a term within the limit or with its exception.
    pub fn check_ready(&self) -> Result<Term, OperatorError> {
        if self.selection.is_none() {
            return Err(OperatorError::NoSelection);
        }
        match &self.agency_decision {
            Some(d) if d.outcome == DecisionOutcome::Approved => {}
            _ => return Err(OperatorError::NoAgencyDecision),
        }
        let clauses = self.content.missing_clauses();
        let Some(term) = self.content.term.filter(|_| clauses.is_empty()) else {
            return Err(OperatorError::Incomplete { clauses });
        };
        Term::new(term.start, term.end)?;
        term.check_limit(OPERATION_TERM_MAX_YEARS, self.content.long_term.as_ref())?;
        Ok(term)
    }

    /// One party signs on `today`. When every required party has signed (agency and operator, plus
    /// the industry department for 分领域授权) the agreement is signed — in force at once if its
    /// term has started — and a prefecture or county filing is opened.
    pub fn sign(
        &mut self,
        party: Signatory,
        today: NaiveDate,
        calendar: &WorkCalendar,
    ) -> Result<AgreementStatus, OperatorError> {
        self.require(AgreementStatus::Draft, "sign")?;
        self.check_ready()?;
        let slot = match party {
            Signatory::Agency => &mut self.signed_by_agency,
            Signatory::Operator => &mut self.signed_by_operator,
            Signatory::IndustryDepartment if self.mode == AuthorizationMode::ByDomain => {
                &mut self.signed_by_industry_department
            }
            Signatory::IndustryDepartment => return Err(OperatorError::NotASignatory),
        };
        if slot.is_some() {
            return Err(OperatorError::AlreadySigned);
        }
        *slot = Some(today);
        if self.missing_signatures().is_empty() {
            self.status = AgreementStatus::Signed;
            self.signed_on = Some(today);
            self.filing = Filing::open(self.level, today, calendar);
            self.advance(today);
        }
        Ok(self.status)
    }

    /// Parties whose signature is still needed.
    pub fn missing_signatures(&self) -> Vec<Signatory> {
        let mut missing = Vec::new();
        if self.signed_by_agency.is_none() {
            missing.push(Signatory::Agency);
        }
        if self.mode == AuthorizationMode::ByDomain && self.signed_by_industry_department.is_none() {
            missing.push(Signatory::IndustryDepartment);
        }
        if self.signed_by_operator.is_none() {
            missing.push(Signatory::Operator);
        }
        missing
    }

    /// Date-driven moves, for the scheduler and after loading: signed → in force on the start date,
    /// in force/renewed → expired after the end date. Returns the (possibly unchanged) status.
    pub fn advance(&mut self, today: NaiveDate) -> AgreementStatus {
        let Some(term) = self.content.term else { return self.status };
        self.status = match self.status {
            AgreementStatus::Signed | AgreementStatus::InForce | AgreementStatus::Renewed
                if today > term.end =>
            {
                AgreementStatus::Expired
            }
            AgreementStatus::Signed if today >= term.start => AgreementStatus::InForce,
            other => other,
        };
        self.status
    }

    /// In force on `today`: signed, not ended, and `today` within the term.
    pub fn is_in_force(&self, today: NaiveDate) -> bool {
        self.status.is_live() && self.content.term.is_some_and(|t| t.contains(today))
    }

    /// The end date developers' agreements may not exceed.
    pub fn end(&self) -> Option<NaiveDate> {
        self.content.term.map(|t| t.end)
    }

    /// Renews for a new end date (at most 5 years after the current end, unless approved), when the
    /// operator's evaluations allow it.
    pub fn renew(
        &mut self,
        new_end: NaiveDate,
        long_term: Option<LongTermApproval>,
        standing: &EvaluationStanding,
        today: NaiveDate,
    ) -> Result<AgreementStatus, OperatorError> {
        if !matches!(self.status, AgreementStatus::InForce | AgreementStatus::Renewed) {
            return Err(OperatorError::WrongStatus { status: self.status, action: "renew" });
        }
        renewal_allowed(standing)?;
        let Some(term) = self.content.term else { return Err(OperatorError::Incomplete { clauses: vec![] }) };
        if today > term.end {
            return Err(OperatorError::WrongStatus { status: AgreementStatus::Expired, action: "renew" });
        }
        // The renewal period runs from the current end; it is limited like a first term.
        let period = Term::new(term.end, new_end)?;
        period.check_limit(OPERATION_TERM_MAX_YEARS, long_term.as_ref())?;
        self.renewals.push(Renewal { decided_on: today, previous_end: term.end, new_end, long_term });
        self.content.term = Some(Term { start: term.start, end: new_end });
        self.status = AgreementStatus::Renewed;
        Ok(self.status)
    }

    /// Terminates a signed agreement (Art. 11(12) conditions) with a reason.
    pub fn terminate(&mut self, reason: &str, today: NaiveDate) -> Result<AgreementStatus, OperatorError> {
        if !self.status.is_live() {
            return Err(OperatorError::WrongStatus { status: self.status, action: "terminate" });
        }
        if !filled(reason) {
            return Err(OperatorError::ReasonRequired);
        }
        self.status = AgreementStatus::Terminated;
        self.terminated_on = Some(today);
        self.termination_reason = reason.trim().to_owned();
        Ok(self.status)
    }
}

/// Clause 9: renewal is refused while the latest evaluation is 未通过 or a 限期整改 is unresolved.
pub fn renewal_allowed(standing: &EvaluationStanding) -> Result<(), OperatorError> {
    if standing.latest == Some(EvaluationResult::Fail) {
        return Err(OperatorError::RenewalRefused { reason: RenewalBlock::LatestFailed });
    }
    if standing.open_rectification {
        return Err(OperatorError::RenewalRefused { reason: RenewalBlock::OpenRectification });
    }
    Ok(())
}

code_enum! {
    /// Why renewal is refused.
    pub enum RenewalBlock {
        LatestFailed => ("latest_failed", "最近一次评估结果为未通过"),
        OpenRectification => ("open_rectification", "限期整改尚未完成并通过复评"),
    }
}

/// Operation agreement errors.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OperatorError {
    #[error("name the other competitive method")]
    MethodUnnamed,
    #[error("list the participants")]
    NoParticipants,
    #[error("the winner is not among the participants")]
    WinnerNotParticipant,
    #[error("the date lies in the future or before the step it follows")]
    FutureDate,
    #[error("no selection recorded")]
    NoSelection,
    #[error("no approving collective decision recorded")]
    NoAgencyDecision,
    #[error("the meeting is missing")]
    MeetingMissing,
    #[error("分领域授权 needs the industry department")]
    IndustryDepartmentMissing,
    #[error("clauses missing: {clauses:?}")]
    Incomplete { clauses: Vec<AgreementClause> },
    #[error(transparent)]
    Term(#[from] TermError),
    #[error("this party does not sign this agreement")]
    NotASignatory,
    #[error("this party has already signed")]
    AlreadySigned,
    #[error("cannot {action} an agreement that is {status:?}")]
    WrongStatus { status: AgreementStatus, action: &'static str },
    #[error("renewal refused: {reason:?}")]
    RenewalRefused { reason: RenewalBlock },
    #[error("a reason is required")]
    ReasonRequired,
}

impl OperatorError {
    pub fn code(&self) -> &'static str {
        match self {
            OperatorError::MethodUnnamed => "operation_agreement.method_unnamed",
            OperatorError::NoParticipants => "operation_agreement.no_participants",
            OperatorError::WinnerNotParticipant => "operation_agreement.winner_not_participant",
            OperatorError::FutureDate => "operation_agreement.bad_date",
            OperatorError::NoSelection => "operation_agreement.no_selection",
            OperatorError::NoAgencyDecision => "operation_agreement.no_agency_decision",
            OperatorError::MeetingMissing => "operation_agreement.meeting_missing",
            OperatorError::IndustryDepartmentMissing => "operation_agreement.industry_department_missing",
            OperatorError::Incomplete { .. } => "operation_agreement.incomplete",
            OperatorError::Term(e) => e.code(),
            OperatorError::NotASignatory => "operation_agreement.not_a_signatory",
            OperatorError::AlreadySigned => "operation_agreement.already_signed",
            OperatorError::WrongStatus { .. } => "operation_agreement.wrong_status",
            OperatorError::RenewalRefused { .. } => "operation_agreement.renewal_refused",
            OperatorError::ReasonRequired => "operation_agreement.reason_required",
        }
    }

    pub fn message_zh(&self) -> String {
        match self {
            OperatorError::MethodUnnamed => "请说明采用的其他竞争性方式".to_owned(),
            OperatorError::NoParticipants => "请填写参与单位".to_owned(),
            OperatorError::WinnerNotParticipant => "选定的运营机构须为参与单位之一".to_owned(),
            OperatorError::FutureDate => "日期不能晚于今天，也不能早于前一环节".to_owned(),
            OperatorError::NoSelection => "尚未记录运营机构选择结果".to_owned(),
            OperatorError::NoAgencyDecision => "尚未经实施机构“三重一大”决策审议通过".to_owned(),
            OperatorError::MeetingMissing => "请填写决策会议".to_owned(),
            OperatorError::IndustryDepartmentMissing => "分领域授权须明确会同的行业主管部门".to_owned(),
            OperatorError::Incomplete { clauses } => {
                let list: Vec<String> = clauses
                    .iter()
                    .map(|c| format!("（{}）{}", chinese_number(c.number()), c.label_zh()))
                    .collect();
                format!("运营协议缺少以下条款：{}", list.join("；"))
            }
            OperatorError::Term(e) => e.message_zh(),
            OperatorError::NotASignatory => "该单位不是本协议的签约方".to_owned(),
            OperatorError::AlreadySigned => "该签约方已签署".to_owned(),
            OperatorError::WrongStatus { status, .. } => {
                format!("运营协议当前状态为“{}”，不能执行此操作", status.label_zh())
            }
            OperatorError::RenewalRefused { reason } => format!("不予续约：{}", reason.label_zh()),
            OperatorError::ReasonRequired => "请填写理由".to_owned(),
        }
    }
}

#[cfg(test)]
#[path = "operator_test.rs"]
mod tests;
