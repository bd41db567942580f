//! Data-use requests, projects, security assessments, grants, the per-query access chain, the output
//! airlock and the differential-privacy budget (measures Art. 20, 21, 25(3), 28; sandbox.md).
//!
//! The chain that gives a developer raw fields is built here, one value per link:
//!
//! 1. [`DataUseRequest`] (数据使用申请, Art. 20): the operator asks one providing organisation for
//!    specific fields for one scenario, each with a least-necessary justification; the data authority
//!    and the provider decide independently, in any order; both must approve, either may refuse; the
//!    approval expires.
//! 2. [`Project`] (开发项目): a developer's project under a signed, unsanctioned development agreement.
//! 3. [`SecurityAssessment`] (安全评估, Art. 25(3)): the operator's recorded assessment of giving the
//!    approved fields to the project.
//! 4. [`Grant`] (授权): the fields, usage classes, row scope, *k* and expiry the project gets. Its grade
//!    is computed over the combination of its fields ([`combined_grade`], 关联汇聚, Art. 28).
//! 5. [`check_chain`]: run before every query, so that a sanction, a termination, a negative-list entry,
//!    a revocation or an expiry stops access at once.
//!
//! Then the way out: [`OutputReview`] (the airlock, 输出审核) and [`DpBudget`] (the ε budget).
//!
//! Like the authorization module, everything is a pure value: the store loads it, a transition changes
//! it or returns a typed error and leaves it untouched, and `today` is always a parameter.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use thiserror::Error;

use crate::approval::UserId;
use crate::authorization::developer::DevelopmentAgreement;
use crate::authorization::sanction::{AccessDecision, DenyReason};
use crate::authorization::{AgreementId, OrgId, ScenarioId};
use crate::calendar::add_years;
use crate::catalog::{
    DataItem, Grade, GradePolicy, PiFlags, ScenarioRuleKind, UsageClass, UseFacts, UseRefusal, usability,
};
use crate::party::OrgType;

/// Store identifier of a catalogue resource.
pub type ResourceId = i64;
/// Store identifier of a data-use request.
pub type RequestId = i64;
/// Store identifier of a developer project.
pub type ProjectId = i64;
/// Store identifier of a security assessment.
pub type AssessmentId = i64;

/// Shortest least-necessary justification of a requested field, in characters (trimmed).
pub const JUSTIFICATION_MIN_CHARS: usize = 10;
/// Shortest purpose of a request or project, in characters (trimmed).
pub const PURPOSE_MIN_CHARS: usize = 10;
/// Shortest refusal or rejection reason, in characters (trimmed).
pub const REASON_MIN_CHARS: usize = 5;
/// Shortest risk analysis and measures text of an assessment, in characters (trimmed).
pub const ASSESSMENT_TEXT_MIN_CHARS: usize = 10;
/// Longest validity of a data-use request from its submission: 1 year (Art. 20 "grants expire").
pub const REQUEST_MAX_VALIDITY_YEARS: u32 = 1;
/// Default aggregation threshold *k* (sandbox.md layer 3).
pub const DEFAULT_K: u32 = 10;
/// Lowest aggregation threshold *k* any configuration may set.
pub const MIN_K: u32 = 5;

fn chars(text: &str) -> usize {
    text.trim().chars().count()
}

/// Rank of a usage class by how much of a value it discloses, least first. Spelled out rather than
/// read off the enum's declaration order, so that reordering [`UsageClass`] cannot widen a grant.
pub fn disclosure(class: UsageClass) -> u8 {
    match class {
        UsageClass::Hidden => 0,
        UsageClass::JoinKey => 1,
        UsageClass::Aggregate => 2,
        UsageClass::Dimension => 3,
        UsageClass::Open => 4,
    }
}

/// A field of a resource (资源 + 数据项), as messages and consent lists name it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldRef {
    pub resource_id: ResourceId,
    pub item: String,
}

impl FieldRef {
    pub fn new(resource_id: ResourceId, item: &str) -> FieldRef {
        FieldRef { resource_id, item: item.trim().to_owned() }
    }

    /// `资源 12 的“出生日期”`.
    pub fn label_zh(&self) -> String {
        format!("资源 {} 的“{}”", self.resource_id, self.item)
    }
}

fn list_zh(fields: &[FieldRef]) -> String {
    fields.iter().map(FieldRef::label_zh).collect::<Vec<_>>().join("、")
}

// ---- errors ---------------------------------------------------------------------------------------

/// Errors of requests, assessments, projects and grants. Each has a stable `data_use.*` code and a
/// Chinese message naming the fault.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DataUseError {
    #[error("purpose too short")]
    Purpose,
    #[error("row scope missing")]
    RowScope,
    #[error("no fields")]
    NoFields,
    #[error("field {0:?} listed twice")]
    DuplicateField(FieldRef),
    #[error("justification of {0:?} too short")]
    Justification(FieldRef),
    #[error("resource {0} unknown")]
    ResourceNotFound(ResourceId),
    #[error("resource {resource} belongs to provider {provider}, not the request's")]
    OtherProvider { resource: ResourceId, provider: OrgId },
    #[error("resource {resource} unusable: {refusal:?}")]
    ResourceUnusable { resource: ResourceId, refusal: UseRefusal },
    #[error("field {0:?} does not exist")]
    FieldNotFound(FieldRef),
    #[error("field {0:?} excluded for this scenario")]
    FieldExcluded(FieldRef),
    #[error("class {class:?} not allowed for {field:?} of grade {grade:?}")]
    ClassNotAllowed { field: FieldRef, class: UsageClass, grade: Grade },
    #[error("validity must end after today")]
    ValidityInPast,
    #[error("validity beyond {max}")]
    ValidityTooLong { max: NaiveDate },
    #[error("cannot {action} from {from:?}")]
    IllegalMove { action: &'static str, from: RequestStatus },
    #[error("{0:?} is not the actor for this step")]
    WrongActor(Approver),
    #[error("{0:?} has already decided")]
    AlreadyDecided(Approver),
    #[error("provider consent missing for {0:?}")]
    ConsentMissing(Vec<FieldRef>),
    #[error("reason too short")]
    Reason,
    #[error("request not in force")]
    RequestNotInForce,
    #[error("request belongs to another operator or scenario")]
    RequestMismatch,
    #[error("assessment text too short")]
    AssessmentText,
    #[error("conditions missing")]
    Conditions,
    #[error("assessment validity invalid (latest {latest})")]
    AssessmentValidity { latest: NaiveDate },
    #[error("assessment does not allow a grant")]
    AssessmentNotPassed,
    #[error("assessment is for another project or request, or has lapsed")]
    AssessmentMismatch,
    #[error("project name")]
    ProjectName,
    #[error("development agreement denies access: {0:?}")]
    AgreementDenied(DenyReason),
    #[error("agreement belongs to another developer or scenario")]
    AgreementMismatch,
    #[error("project is closed")]
    ProjectClosed,
    #[error("field {0:?} not covered by the request")]
    NotRequested(FieldRef),
    #[error("class {granted:?} of {field:?} wider than requested {requested:?}")]
    WiderThanRequested { field: FieldRef, granted: UsageClass, requested: UsageClass },
    #[error("k = {0} below the minimum")]
    KTooLow(u32),
    #[error("epsilon must be finite and positive")]
    Epsilon,
    #[error("grant would end before it starts")]
    ExpiryInPast,
    #[error("quasi-identifiers {fields:?} together identify people; not allowed at grade {grade:?}")]
    AggregationRisk { fields: Vec<FieldRef>, grade: Grade },
    #[error("grant already revoked")]
    AlreadyRevoked,
}

impl DataUseError {
    pub fn code(&self) -> &'static str {
        match self {
            DataUseError::Purpose => "data_use.purpose",
            DataUseError::RowScope => "data_use.row_scope",
            DataUseError::NoFields => "data_use.no_fields",
            DataUseError::DuplicateField(_) => "data_use.duplicate_field",
            DataUseError::Justification(_) => "data_use.justification",
            DataUseError::ResourceNotFound(_) => "data_use.resource_not_found",
            DataUseError::OtherProvider { .. } => "data_use.other_provider",
            DataUseError::ResourceUnusable { .. } => "data_use.resource_unusable",
            DataUseError::FieldNotFound(_) => "data_use.field_not_found",
            DataUseError::FieldExcluded(_) => "data_use.field_excluded",
            DataUseError::ClassNotAllowed { .. } => "data_use.class_not_allowed",
            DataUseError::ValidityInPast => "data_use.validity_in_past",
            DataUseError::ValidityTooLong { .. } => "data_use.validity_too_long",
            DataUseError::IllegalMove { .. } => "data_use.illegal_move",
            DataUseError::WrongActor(_) => "data_use.wrong_actor",
            DataUseError::AlreadyDecided(_) => "data_use.already_decided",
            DataUseError::ConsentMissing(_) => "data_use.consent_missing",
            DataUseError::Reason => "data_use.reason",
            DataUseError::RequestNotInForce => "data_use.request_not_in_force",
            DataUseError::RequestMismatch => "data_use.request_mismatch",
            DataUseError::AssessmentText => "data_use.assessment_text",
            DataUseError::Conditions => "data_use.conditions",
            DataUseError::AssessmentValidity { .. } => "data_use.assessment_validity",
            DataUseError::AssessmentNotPassed => "data_use.assessment_not_passed",
            DataUseError::AssessmentMismatch => "data_use.assessment_mismatch",
            DataUseError::ProjectName => "data_use.project_name",
            DataUseError::AgreementDenied(_) => "data_use.agreement_denied",
            DataUseError::AgreementMismatch => "data_use.agreement_mismatch",
            DataUseError::ProjectClosed => "data_use.project_closed",
            DataUseError::NotRequested(_) => "data_use.not_requested",
            DataUseError::WiderThanRequested { .. } => "data_use.wider_than_requested",
            DataUseError::KTooLow(_) => "data_use.k_too_low",
            DataUseError::Epsilon => "data_use.epsilon",
            DataUseError::ExpiryInPast => "data_use.expiry_in_past",
            DataUseError::AggregationRisk { .. } => "data_use.aggregation_risk",
            DataUseError::AlreadyRevoked => "data_use.already_revoked",
        }
    }

    pub fn message_zh(&self) -> String {
        match self {
            DataUseError::Purpose => format!("请填写用途，不少于 {PURPOSE_MIN_CHARS} 个字符"),
            DataUseError::RowScope => "请填写数据范围（如“昆明市范围内 2024 年以后的记录”）".into(),
            DataUseError::NoFields => "至少应申请一个数据项".into(),
            DataUseError::DuplicateField(f) => format!("{}重复申请", f.label_zh()),
            DataUseError::Justification(f) => {
                format!("请说明{}的最小必要理由，不少于 {JUSTIFICATION_MIN_CHARS} 个字符", f.label_zh())
            }
            DataUseError::ResourceNotFound(r) => format!("资源 {r} 不存在"),
            DataUseError::OtherProvider { resource, .. } => {
                format!("资源 {resource} 属于其他数据提供单位；一份申请只能针对一个数据提供单位的资源")
            }
            DataUseError::ResourceUnusable { resource, refusal } => {
                format!("资源 {resource} 不可使用：{}", refusal.label_zh())
            }
            DataUseError::FieldNotFound(f) => format!("{}不存在", f.label_zh()),
            DataUseError::FieldExcluded(f) => {
                format!("数据提供单位已禁止在该场景中使用{}（第五条）", f.label_zh())
            }
            DataUseError::ClassNotAllowed { field, class, grade } => format!(
                "{}分级为 {}，不得以“{}”方式使用",
                field.label_zh(),
                grade.label_zh(),
                class.label_zh()
            ),
            DataUseError::ValidityInPast => "有效期截止日期应晚于今天".into(),
            DataUseError::ValidityTooLong { max } => {
                format!(
                    "数据使用申请有效期自提交之日起不超过 {REQUEST_MAX_VALIDITY_YEARS} 年（最迟至 {max}）"
                )
            }
            DataUseError::IllegalMove { action, from } => {
                format!("当前状态为“{}”，不能{action}", from.label_zh())
            }
            DataUseError::WrongActor(side) => format!("只有{}可以办理此环节", side.label_zh()),
            DataUseError::AlreadyDecided(side) => format!("{}已作出决定", side.label_zh()),
            DataUseError::ConsentMissing(fields) => {
                format!("以下数据项在该场景中限制使用，须经数据提供单位逐项同意：{}", list_zh(fields))
            }
            DataUseError::Reason => format!("请填写理由，不少于 {REASON_MIN_CHARS} 个字符"),
            DataUseError::RequestNotInForce => "数据使用申请未获批准或已失效".into(),
            DataUseError::RequestMismatch => "数据使用申请与该项目的运营机构或应用场景不一致".into(),
            DataUseError::AssessmentText => {
                format!("风险分析和防护措施均不少于 {ASSESSMENT_TEXT_MIN_CHARS} 个字符")
            }
            DataUseError::Conditions => format!("有条件通过须写明条件，不少于 {REASON_MIN_CHARS} 个字符"),
            DataUseError::AssessmentValidity { latest } => {
                format!("安全评估有效期应不早于今天，且不晚于数据使用申请的有效期（{latest}）")
            }
            DataUseError::AssessmentNotPassed => "安全评估未通过，不得授权".into(),
            DataUseError::AssessmentMismatch => "安全评估不属于该项目和数据使用申请，或已过有效期".into(),
            DataUseError::ProjectName => "项目名称应为 2 至 100 个字符".into(),
            DataUseError::AgreementDenied(reason) => {
                format!("开发利用协议不允许开展开发：{}", reason.label_zh())
            }
            DataUseError::AgreementMismatch => "开发利用协议与该项目的开发主体或应用场景不一致".into(),
            DataUseError::ProjectClosed => "项目已关闭".into(),
            DataUseError::NotRequested(f) => format!("{}不在已批准的数据使用申请范围内", f.label_zh()),
            DataUseError::WiderThanRequested { field, granted, requested } => format!(
                "{}的使用方式“{}”超出申请的“{}”",
                field.label_zh(),
                granted.label_zh(),
                requested.label_zh()
            ),
            DataUseError::KTooLow(k) => format!("聚合阈值 k 不得低于 {MIN_K}（当前为 {k}）"),
            DataUseError::Epsilon => "差分隐私预算 ε 应为大于 0 的有限数".into(),
            DataUseError::ExpiryInPast => "授权到期日不得早于今天".into(),
            DataUseError::AggregationRisk { fields, grade } => format!(
                "准标识符{}同时以维度或开放方式提供，可组合识别个人（关联汇聚，第二十八条），按 {} 从严，\
                 不得以该方式授权",
                list_zh(fields),
                grade.label_zh()
            ),
            DataUseError::AlreadyRevoked => "授权已撤销".into(),
        }
    }
}

// ---- 1. data-use requests (Art. 20) ---------------------------------------------------------------

code_enum! {
    /// Where a data-use request stands.
    pub enum RequestStatus {
        Draft => ("draft", "草稿"),
        Submitted => ("submitted", "审批中"),
        Approved => ("approved", "已批准"),
        Refused => ("refused", "未批准"),
        Expired => ("expired", "已到期"),
        Withdrawn => ("withdrawn", "已撤回"),
    }
}

code_enum! {
    /// The two parties that must both approve a request (Art. 20).
    pub enum Approver {
        Authority => ("authority", "数据主管部门"),
        Provider => ("provider", "数据提供单位"),
    }
}

/// One requested field with its least-necessary justification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestedField {
    pub resource_id: ResourceId,
    pub item: String,
    pub class: UsageClass,
    /// Why this field is needed (最小必要理由).
    pub justification: String,
}

impl RequestedField {
    pub fn field_ref(&self) -> FieldRef {
        FieldRef::new(self.resource_id, &self.item)
    }
}

/// What the catalogue knows about a resource named in a request or grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceFacts<'a> {
    pub resource_id: ResourceId,
    /// The providing organisation (数据提供单位).
    pub provider: OrgId,
    pub use_facts: UseFacts,
    pub items: &'a [DataItem],
}

impl ResourceFacts<'_> {
    fn item(&self, name: &str) -> Option<&DataItem> {
        self.items.iter().find(|i| i.name == name.trim())
    }
}

/// The scenario a request is for: provider rules (Art. 5) name a scenario by category or by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScenarioRef<'a> {
    pub id: ScenarioId,
    pub category: &'a str,
    pub name: &'a str,
}

impl ScenarioRef<'_> {
    fn matches(&self, rule_scenario: &str) -> bool {
        let r = rule_scenario.trim();
        !r.is_empty() && (r == self.category.trim() || r == self.name.trim())
    }
}

/// A recorded decision of one approving party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub org: OrgId,
    pub user: UserId,
    pub on: NaiveDate,
    pub approved: bool,
    /// The refusal reason (empty for an approval).
    pub reason: String,
    /// Restricted fields the provider explicitly consented to (provider approvals only).
    pub consented: Vec<FieldRef>,
}

/// 数据使用申请 (Art. 20): least necessary fields of one provider's resources for one scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataUseRequest {
    /// The requesting operator (运营机构).
    pub operator: OrgId,
    /// The one providing organisation whose resources are requested.
    pub provider: OrgId,
    pub scenario: ScenarioId,
    pub purpose: String,
    /// Which rows, in words (e.g. `昆明市范围内 2024 年以后的记录`); the grant turns it into a filter.
    pub row_scope: String,
    pub fields: Vec<RequestedField>,
    /// Last day the approval is in force.
    pub valid_until: NaiveDate,
    pub status: RequestStatus,
    pub submitted_on: Option<NaiveDate>,
    /// Fields under a provider's `restricted` rule for this scenario: the provider's approval must
    /// list each of them (Art. 5 "逐项同意"). Computed on submission.
    pub consent_required: Vec<FieldRef>,
    pub authority_decision: Option<Decision>,
    pub provider_decision: Option<Decision>,
}

impl DataUseRequest {
    /// A draft; nothing is checked until [`DataUseRequest::submit`], so a draft may be saved half done.
    pub fn draft(
        operator: OrgId,
        provider: OrgId,
        scenario: ScenarioId,
        purpose: &str,
        row_scope: &str,
        fields: Vec<RequestedField>,
        valid_until: NaiveDate,
    ) -> DataUseRequest {
        DataUseRequest {
            operator,
            provider,
            scenario,
            purpose: purpose.trim().to_owned(),
            row_scope: row_scope.trim().to_owned(),
            fields,
            valid_until,
            status: RequestStatus::Draft,
            submitted_on: None,
            consent_required: Vec::new(),
            authority_decision: None,
            provider_decision: None,
        }
    }

    fn require(&self, from: RequestStatus, action: &'static str) -> Result<(), DataUseError> {
        if self.status == from {
            Ok(())
        } else {
            Err(DataUseError::IllegalMove { action, from: self.status })
        }
    }

    /// Checks every line against the catalogue and the scenario and submits. `resources` holds the
    /// facts of (at least) every requested resource. Refusals, in order: form (purpose, row scope,
    /// fields, justifications, duplicates), then per field: resource known, same provider, usable
    /// ([`usability`]: negative list first), field exists, not excluded for the scenario, class allowed
    /// for its grade; then the validity (after today, at most a year).
    pub fn submit(
        &mut self,
        scenario: &ScenarioRef<'_>,
        resources: &[ResourceFacts<'_>],
        policy: &GradePolicy,
        today: NaiveDate,
    ) -> Result<(), DataUseError> {
        self.require(RequestStatus::Draft, "提交")?;
        if scenario.id != self.scenario {
            return Err(DataUseError::RequestMismatch);
        }
        if chars(&self.purpose) < PURPOSE_MIN_CHARS {
            return Err(DataUseError::Purpose);
        }
        if chars(&self.row_scope) < 2 {
            return Err(DataUseError::RowScope);
        }
        if self.fields.is_empty() {
            return Err(DataUseError::NoFields);
        }
        let mut seen = BTreeSet::new();
        let mut consent = Vec::new();
        for line in &self.fields {
            let field = line.field_ref();
            if !seen.insert(field.clone()) {
                return Err(DataUseError::DuplicateField(field));
            }
            if chars(&line.justification) < JUSTIFICATION_MIN_CHARS {
                return Err(DataUseError::Justification(field));
            }
            let facts = resources
                .iter()
                .find(|r| r.resource_id == line.resource_id)
                .ok_or(DataUseError::ResourceNotFound(line.resource_id))?;
            if facts.provider != self.provider {
                return Err(DataUseError::OtherProvider {
                    resource: line.resource_id,
                    provider: facts.provider,
                });
            }
            usability(&facts.use_facts)
                .map_err(|refusal| DataUseError::ResourceUnusable { resource: line.resource_id, refusal })?;
            let item = facts.item(&line.item).ok_or_else(|| DataUseError::FieldNotFound(field.clone()))?;
            let rules = item.scenario_rules.iter().filter(|r| scenario.matches(&r.scenario));
            let mut restricted = false;
            for rule in rules {
                match rule.kind {
                    ScenarioRuleKind::Excluded => return Err(DataUseError::FieldExcluded(field)),
                    ScenarioRuleKind::Restricted => restricted = true,
                }
            }
            if !policy.allowed(item.grade).contains(&line.class) {
                return Err(DataUseError::ClassNotAllowed { field, class: line.class, grade: item.grade });
            }
            if restricted {
                consent.push(field);
            }
        }
        if self.valid_until <= today {
            return Err(DataUseError::ValidityInPast);
        }
        let max = add_years(today, REQUEST_MAX_VALIDITY_YEARS);
        if self.valid_until > max {
            return Err(DataUseError::ValidityTooLong { max });
        }
        for line in &mut self.fields {
            line.item = line.item.trim().to_owned();
            line.justification = line.justification.trim().to_owned();
        }
        self.consent_required = consent;
        self.submitted_on = Some(today);
        self.status = RequestStatus::Submitted;
        Ok(())
    }

    fn decision_slot(&mut self, side: Approver) -> &mut Option<Decision> {
        match side {
            Approver::Authority => &mut self.authority_decision,
            Approver::Provider => &mut self.provider_decision,
        }
    }

    /// Checks that `org` may decide for `side`: the authority side needs a data authority, the
    /// provider side the request's own provider.
    fn check_actor(&self, side: Approver, org: OrgId, org_type: OrgType) -> Result<(), DataUseError> {
        let ok = match side {
            Approver::Authority => org_type == OrgType::DataAuthority,
            Approver::Provider => org == self.provider,
        };
        if !ok {
            return Err(DataUseError::WrongActor(side));
        }
        let decided = match side {
            Approver::Authority => self.authority_decision.is_some(),
            Approver::Provider => self.provider_decision.is_some(),
        };
        if decided {
            return Err(DataUseError::AlreadyDecided(side));
        }
        Ok(())
    }

    /// Records one party's approval (after its internal approval chain). The provider's approval must
    /// list every field in [`DataUseRequest::consent_required`]; the authority's `consented` is ignored.
    /// When both have approved the request is approved.
    pub fn approve(
        &mut self,
        side: Approver,
        org: OrgId,
        org_type: OrgType,
        user: UserId,
        consented: &[FieldRef],
        today: NaiveDate,
    ) -> Result<RequestStatus, DataUseError> {
        self.require(RequestStatus::Submitted, "审批")?;
        self.check_actor(side, org, org_type)?;
        if today > self.valid_until {
            return Err(DataUseError::ValidityInPast);
        }
        let consented: Vec<FieldRef> = match side {
            Approver::Authority => Vec::new(),
            Approver::Provider => {
                let given: BTreeSet<FieldRef> =
                    consented.iter().map(|f| FieldRef::new(f.resource_id, &f.item)).collect();
                let missing: Vec<FieldRef> =
                    self.consent_required.iter().filter(|f| !given.contains(*f)).cloned().collect();
                if !missing.is_empty() {
                    return Err(DataUseError::ConsentMissing(missing));
                }
                self.consent_required.clone()
            }
        };
        *self.decision_slot(side) =
            Some(Decision { org, user, on: today, approved: true, reason: String::new(), consented });
        let both = self.authority_decision.as_ref().is_some_and(|d| d.approved)
            && self.provider_decision.as_ref().is_some_and(|d| d.approved);
        if both {
            self.status = RequestStatus::Approved;
        }
        Ok(self.status)
    }

    /// Records one party's refusal, with a reason: the request is refused at once, whatever the other
    /// party has decided or would decide.
    pub fn refuse(
        &mut self,
        side: Approver,
        org: OrgId,
        org_type: OrgType,
        user: UserId,
        reason: &str,
        today: NaiveDate,
    ) -> Result<RequestStatus, DataUseError> {
        self.require(RequestStatus::Submitted, "审批")?;
        self.check_actor(side, org, org_type)?;
        if chars(reason) < REASON_MIN_CHARS {
            return Err(DataUseError::Reason);
        }
        *self.decision_slot(side) = Some(Decision {
            org,
            user,
            on: today,
            approved: false,
            reason: reason.trim().to_owned(),
            consented: Vec::new(),
        });
        self.status = RequestStatus::Refused;
        Ok(self.status)
    }

    /// The operator withdraws its request before it is decided (a partial approval does not bind it).
    pub fn withdraw(&mut self, by: OrgId) -> Result<RequestStatus, DataUseError> {
        if by != self.operator {
            return Err(DataUseError::RequestMismatch);
        }
        if !matches!(self.status, RequestStatus::Draft | RequestStatus::Submitted) {
            return Err(DataUseError::IllegalMove { action: "撤回", from: self.status });
        }
        self.status = RequestStatus::Withdrawn;
        Ok(self.status)
    }

    /// For the scheduler: approved → expired the day after `valid_until`.
    pub fn advance(&mut self, today: NaiveDate) -> RequestStatus {
        if self.status == RequestStatus::Approved && today > self.valid_until {
            self.status = RequestStatus::Expired;
        }
        self.status
    }

    /// Approved and not past its validity on `today` (whether or not the scheduler has run).
    pub fn is_in_force(&self, today: NaiveDate) -> bool {
        self.status == RequestStatus::Approved && today <= self.valid_until
    }

    /// The requested class of a field, if the request covers it.
    pub fn requested_class(&self, resource_id: ResourceId, item: &str) -> Option<UsageClass> {
        self.fields.iter().find(|f| f.resource_id == resource_id && f.item == item.trim()).map(|f| f.class)
    }
}

// ---- 3. projects ----------------------------------------------------------------------------------

code_enum! {
    /// Where a developer project stands.
    pub enum ProjectStatus {
        Active => ("active", "进行中"),
        Closed => ("closed", "已关闭"),
    }
}

/// 开发项目: a developer's work under one development agreement, for its scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub developer: OrgId,
    /// The operator of the agreement: the one that requests, assesses, grants and reviews.
    pub operator: OrgId,
    pub agreement: AgreementId,
    pub scenario: ScenarioId,
    pub name: String,
    pub purpose: String,
    pub status: ProjectStatus,
    pub opened_on: NaiveDate,
    pub closed_on: Option<NaiveDate>,
}

impl Project {
    /// Opens a project under `agreement`, which must belong to `developer` and give access today
    /// (`access` is [`crate::authorization::sanction::decide_access`] for it: signed, in term,
    /// not suspended, cancelled or terminated).
    pub fn open(
        developer: OrgId,
        agreement: (AgreementId, &DevelopmentAgreement),
        access: AccessDecision,
        name: &str,
        purpose: &str,
        today: NaiveDate,
    ) -> Result<Project, DataUseError> {
        let (agreement_id, agreement) = agreement;
        if agreement.developer != developer {
            return Err(DataUseError::AgreementMismatch);
        }
        if let AccessDecision::Denied(reason) = access {
            return Err(DataUseError::AgreementDenied(reason));
        }
        if !(2..=100).contains(&chars(name)) {
            return Err(DataUseError::ProjectName);
        }
        if chars(purpose) < PURPOSE_MIN_CHARS {
            return Err(DataUseError::Purpose);
        }
        Ok(Project {
            developer,
            operator: agreement.operator,
            agreement: agreement_id,
            scenario: agreement.scenario,
            name: name.trim().to_owned(),
            purpose: purpose.trim().to_owned(),
            status: ProjectStatus::Active,
            opened_on: today,
            closed_on: None,
        })
    }

    pub fn close(&mut self, today: NaiveDate) -> Result<ProjectStatus, DataUseError> {
        if self.status == ProjectStatus::Closed {
            return Err(DataUseError::ProjectClosed);
        }
        self.status = ProjectStatus::Closed;
        self.closed_on = Some(today);
        Ok(self.status)
    }

    pub fn is_active(&self) -> bool {
        self.status == ProjectStatus::Active
    }
}

// ---- 2. security assessments (Art. 25(3)) -------------------------------------------------------

/// The conclusion of a security assessment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conclusion {
    Pass,
    /// Passed on the stated conditions (e.g. "仅限聚合输出，双人审核").
    Conditional(String),
    Fail,
}

impl Conclusion {
    pub fn code(&self) -> &'static str {
        match self {
            Conclusion::Pass => "pass",
            Conclusion::Conditional(_) => "conditional",
            Conclusion::Fail => "fail",
        }
    }

    pub fn label_zh(&self) -> &'static str {
        match self {
            Conclusion::Pass => "通过",
            Conclusion::Conditional(_) => "有条件通过",
            Conclusion::Fail => "不通过",
        }
    }

    /// Pass or conditional pass: a grant may rest on it.
    pub fn allows_grant(&self) -> bool {
        !matches!(self, Conclusion::Fail)
    }
}

/// 安全评估 (Art. 25(3)): the operator's recorded assessment before raw fields reach a project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityAssessment {
    pub operator: OrgId,
    pub project: ProjectId,
    pub request: RequestId,
    pub risks: String,
    pub measures: String,
    pub conclusion: Conclusion,
    pub assessor: UserId,
    pub assessed_on: NaiveDate,
    /// Last day the assessment holds; never after the request's validity.
    pub valid_until: NaiveDate,
}

impl SecurityAssessment {
    /// Records an assessment by the operator of `project` for its approved, in-force `request` of the
    /// same scenario. `valid_until` defaults to the request's validity and may not exceed it.
    #[allow(clippy::too_many_arguments)]
    pub fn record(
        project: (ProjectId, &Project),
        request: (RequestId, &DataUseRequest),
        risks: &str,
        measures: &str,
        conclusion: Conclusion,
        assessor: UserId,
        valid_until: Option<NaiveDate>,
        today: NaiveDate,
    ) -> Result<SecurityAssessment, DataUseError> {
        let (project_id, project) = project;
        let (request_id, request) = request;
        if !project.is_active() {
            return Err(DataUseError::ProjectClosed);
        }
        if !request.is_in_force(today) {
            return Err(DataUseError::RequestNotInForce);
        }
        if request.operator != project.operator || request.scenario != project.scenario {
            return Err(DataUseError::RequestMismatch);
        }
        if chars(risks) < ASSESSMENT_TEXT_MIN_CHARS || chars(measures) < ASSESSMENT_TEXT_MIN_CHARS {
            return Err(DataUseError::AssessmentText);
        }
        let conclusion = match conclusion {
            Conclusion::Conditional(c) if chars(&c) < REASON_MIN_CHARS => {
                return Err(DataUseError::Conditions);
            }
            Conclusion::Conditional(c) => Conclusion::Conditional(c.trim().to_owned()),
            other => other,
        };
        let latest = request.valid_until;
        let valid_until = valid_until.unwrap_or(latest);
        if valid_until < today || valid_until > latest {
            return Err(DataUseError::AssessmentValidity { latest });
        }
        Ok(SecurityAssessment {
            operator: project.operator,
            project: project_id,
            request: request_id,
            risks: risks.trim().to_owned(),
            measures: measures.trim().to_owned(),
            conclusion,
            assessor,
            assessed_on: today,
            valid_until,
        })
    }

    /// A passing assessment within its validity on `today`.
    pub fn holds(&self, today: NaiveDate) -> bool {
        self.conclusion.allows_grant() && self.assessed_on <= today && today <= self.valid_until
    }
}

// ---- 4. grants and the combined grade (Art. 28) ---------------------------------------------------

/// The aggregation threshold *k*: at least [`MIN_K`], [`DEFAULT_K`] unless configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct KThreshold(u32);

impl KThreshold {
    pub fn new(k: u32) -> Result<KThreshold, DataUseError> {
        if k < MIN_K { Err(DataUseError::KTooLow(k)) } else { Ok(KThreshold(k)) }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl Default for KThreshold {
    fn default() -> KThreshold {
        KThreshold(DEFAULT_K)
    }
}

/// One granted field with its usage class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantedField {
    pub resource_id: ResourceId,
    pub item: String,
    pub class: UsageClass,
}

impl GrantedField {
    pub fn field_ref(&self) -> FieldRef {
        FieldRef::new(self.resource_id, &self.item)
    }
}

/// The grade of a combination of fields and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CombinedGrade {
    pub grade: Grade,
    /// Why, in Chinese, for the grant page.
    pub reasons: Vec<String>,
    /// Quasi-identifiers exposed together at dimension or open class (empty when fewer than two).
    pub linked_quasi: Vec<FieldRef>,
}

/// Classes that let a value be seen or used to single out rows (group, filter, output).
fn exposes_value(class: UsageClass) -> bool {
    matches!(class, UsageClass::Dimension | UsageClass::Open)
}

/// 关联汇聚 (Art. 28): the grade of a combination of fields is the highest field grade, and if two or
/// more quasi-identifiers are exposed at dimension or open class they can single out people together,
/// so they count as a direct identifier: the combination is at least the direct identifier's minimum
/// grade (L4). Fields at hidden, join-key or aggregate class cannot be combined by value, so they do
/// not count.
pub fn combined_grade(fields: &[(&GrantedField, &DataItem)]) -> CombinedGrade {
    let mut grade = Grade::L1;
    let mut top: Vec<&str> = Vec::new();
    for (_, item) in fields {
        if item.grade > grade {
            grade = item.grade;
            top.clear();
        }
        if item.grade == grade {
            top.push(&item.name);
        }
    }
    let mut reasons = Vec::new();
    if !fields.is_empty() {
        reasons.push(format!("字段最高分级为 {}（{}）", grade.label_zh(), top.join("、")));
    }
    let linked_quasi: Vec<FieldRef> = fields
        .iter()
        .filter(|(f, item)| item.pi.quasi && exposes_value(f.class))
        .map(|(f, _)| f.field_ref())
        .collect();
    let linked_quasi = if linked_quasi.len() >= 2 {
        let direct = PiFlags { direct: true, ..PiFlags::default() }.minimum_grade();
        reasons.push(format!(
            "准标识符{}同时以维度或开放方式提供，可组合识别个人，视同直接标识符，不低于 {}",
            list_zh(&linked_quasi),
            direct.label_zh()
        ));
        grade = grade.max(direct);
        linked_quasi
    } else {
        Vec::new()
    };
    CombinedGrade { grade, reasons, linked_quasi }
}

/// [`combined_grade`] plus the re-check it calls for: the linked quasi-identifiers' classes must be
/// allowed by `policy` for the combined grade, else an error naming them.
pub fn check_combination(
    fields: &[(&GrantedField, &DataItem)],
    policy: &GradePolicy,
) -> Result<CombinedGrade, DataUseError> {
    let combined = combined_grade(fields);
    let allowed = policy.allowed(combined.grade);
    let offending: Vec<FieldRef> = fields
        .iter()
        .filter(|(f, _)| combined.linked_quasi.contains(&f.field_ref()) && !allowed.contains(&f.class))
        .map(|(f, _)| f.field_ref())
        .collect();
    if offending.is_empty() {
        Ok(combined)
    } else {
        Err(DataUseError::AggregationRisk { fields: offending, grade: combined.grade })
    }
}

/// What the operator chooses when granting.
#[derive(Debug, Clone, PartialEq)]
pub struct GrantInput {
    pub fields: Vec<GrantedField>,
    /// The row filter the sandbox enforces, as a condition over the dataset's fields (SQL); blank: none.
    pub row_scope: String,
    pub k: KThreshold,
    /// Differential-privacy budget ε for the project, if the datasets use DP.
    pub epsilon: Option<f64>,
    /// An earlier end than the request and agreement give, if wanted.
    pub until: Option<NaiveDate>,
}

/// A revocation of a grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    pub by: UserId,
    pub on: NaiveDate,
    pub reason: String,
}

/// 授权: the fields, classes, row scope, *k*, ε and expiry a project may use.
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    pub project: ProjectId,
    pub request: RequestId,
    pub assessment: AssessmentId,
    pub fields: Vec<GrantedField>,
    pub row_scope: String,
    pub k: KThreshold,
    pub epsilon: Option<f64>,
    pub granted_on: NaiveDate,
    /// Last day in force: the earliest of the request's validity, the assessment's validity, the
    /// development agreement's end and the explicit date.
    pub expires_on: NaiveDate,
    pub combined: CombinedGrade,
    pub revoked: Option<Revocation>,
}

impl Grant {
    /// Builds a grant. Checks: project active and its agreement matching; request in force for the
    /// project's operator and scenario; assessment for this project and request, passed or
    /// conditional, within its validity; each field covered by the request at a class no wider than
    /// requested, existing in `items` and allowed for its own grade; the combination (Art. 28); ε
    /// finite and positive; expiry not before today.
    #[allow(clippy::too_many_arguments)]
    pub fn build(
        project: (ProjectId, &Project),
        agreement: &DevelopmentAgreement,
        request: (RequestId, &DataUseRequest),
        assessment: (AssessmentId, &SecurityAssessment),
        items: &[(ResourceId, &DataItem)],
        policy: &GradePolicy,
        input: GrantInput,
        today: NaiveDate,
    ) -> Result<Grant, DataUseError> {
        let (project_id, project) = project;
        let (request_id, request) = request;
        let (assessment_id, assessment) = assessment;
        if !project.is_active() {
            return Err(DataUseError::ProjectClosed);
        }
        if agreement.developer != project.developer
            || agreement.scenario != project.scenario
            || agreement.operator != project.operator
        {
            return Err(DataUseError::AgreementMismatch);
        }
        if !request.is_in_force(today) {
            return Err(DataUseError::RequestNotInForce);
        }
        if request.operator != project.operator || request.scenario != project.scenario {
            return Err(DataUseError::RequestMismatch);
        }
        if assessment.project != project_id || assessment.request != request_id {
            return Err(DataUseError::AssessmentMismatch);
        }
        if !assessment.conclusion.allows_grant() {
            return Err(DataUseError::AssessmentNotPassed);
        }
        if !assessment.holds(today) {
            return Err(DataUseError::AssessmentMismatch);
        }
        if input.fields.is_empty() {
            return Err(DataUseError::NoFields);
        }
        let mut seen = BTreeSet::new();
        let mut pairs: Vec<(&GrantedField, &DataItem)> = Vec::new();
        for f in &input.fields {
            let field = f.field_ref();
            if !seen.insert(field.clone()) {
                return Err(DataUseError::DuplicateField(field));
            }
            let requested = request
                .requested_class(f.resource_id, &f.item)
                .ok_or_else(|| DataUseError::NotRequested(field.clone()))?;
            if disclosure(f.class) > disclosure(requested) {
                return Err(DataUseError::WiderThanRequested { field, granted: f.class, requested });
            }
            let item = items
                .iter()
                .find(|(r, i)| *r == f.resource_id && i.name == field.item)
                .map(|(_, i)| *i)
                .ok_or_else(|| DataUseError::FieldNotFound(field.clone()))?;
            // The policy may have tightened since the request was submitted.
            if !policy.allowed(item.grade).contains(&f.class) {
                return Err(DataUseError::ClassNotAllowed { field, class: f.class, grade: item.grade });
            }
            pairs.push((f, item));
        }
        let combined = check_combination(&pairs, policy)?;
        // The store keeps ε as a decimal; only values with an exact reading are accepted.
        if input.epsilon.is_some_and(|e| Epsilon::from_decimal(e).is_err()) {
            return Err(DataUseError::Epsilon);
        }
        let mut expires_on = request.valid_until.min(assessment.valid_until).min(agreement.term.end);
        if let Some(until) = input.until {
            expires_on = expires_on.min(until);
        }
        if expires_on < today {
            return Err(DataUseError::ExpiryInPast);
        }
        // Not inherited from the request: the request's scope is prose the authorities approved; the
        // grant's is the condition the sandbox enforces (empty: no row filter).
        let row_scope = input.row_scope.trim().to_owned();
        let fields = input
            .fields
            .into_iter()
            .map(|f| GrantedField { item: f.item.trim().to_owned(), ..f })
            .collect::<Vec<_>>();
        Ok(Grant {
            project: project_id,
            request: request_id,
            assessment: assessment_id,
            fields,
            row_scope,
            k: input.k,
            epsilon: input.epsilon,
            granted_on: today,
            expires_on,
            combined,
            revoked: None,
        })
    }

    /// The operator revokes the grant, with a reason; queries stop at once.
    pub fn revoke(&mut self, by: UserId, reason: &str, today: NaiveDate) -> Result<(), DataUseError> {
        if self.revoked.is_some() {
            return Err(DataUseError::AlreadyRevoked);
        }
        if chars(reason) < REASON_MIN_CHARS {
            return Err(DataUseError::Reason);
        }
        self.revoked = Some(Revocation { by, on: today, reason: reason.trim().to_owned() });
        Ok(())
    }

    /// Distinct resources of the grant, ascending.
    pub fn resources(&self) -> Vec<ResourceId> {
        self.fields.iter().map(|f| f.resource_id).collect::<BTreeSet<_>>().into_iter().collect()
    }

    /// The project's ε budget as an exact [`Epsilon`] (the grant stores a decimal; this is the one
    /// place it is converted). `None` when the grant sets no ε.
    pub fn epsilon_budget(&self) -> Result<Option<Epsilon>, DpError> {
        self.epsilon.map(Epsilon::from_decimal).transpose()
    }

    /// The granted class of a field, if granted.
    pub fn class_of(&self, resource_id: ResourceId, item: &str) -> Option<UsageClass> {
        self.fields.iter().find(|f| f.resource_id == resource_id && f.item == item.trim()).map(|f| f.class)
    }
}

// ---- 5. the access chain, checked on every query --------------------------------------------------

/// Why a query may not run. Each has a stable `sandbox.*` code and a Chinese message; none carries a
/// data value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ChainDenied {
    #[error("development agreement denies access: {0:?}")]
    Agreement(DenyReason),
    #[error("project closed")]
    ProjectClosed,
    #[error("grant, request and assessment do not belong together")]
    Mismatch,
    #[error("grant revoked")]
    GrantRevoked,
    #[error("grant not yet in force")]
    GrantNotStarted,
    #[error("grant expired")]
    GrantExpired,
    #[error("request not in force: {0:?}")]
    RequestNotInForce(RequestStatus),
    #[error("assessment failed")]
    AssessmentFailed,
    #[error("assessment expired")]
    AssessmentExpired,
    #[error("resource {0} has no catalogue facts")]
    ResourceUnknown(ResourceId),
    #[error("resource {resource} unusable: {refusal:?}")]
    ResourceUnusable { resource: ResourceId, refusal: UseRefusal },
}

impl ChainDenied {
    pub fn code(&self) -> &'static str {
        match self {
            ChainDenied::Agreement(_) => "sandbox.agreement_denied",
            ChainDenied::ProjectClosed => "sandbox.project_closed",
            ChainDenied::Mismatch => "sandbox.chain_mismatch",
            ChainDenied::GrantRevoked => "sandbox.grant_revoked",
            ChainDenied::GrantNotStarted => "sandbox.grant_not_started",
            ChainDenied::GrantExpired => "sandbox.grant_expired",
            ChainDenied::RequestNotInForce(_) => "sandbox.request_not_in_force",
            ChainDenied::AssessmentFailed => "sandbox.assessment_failed",
            ChainDenied::AssessmentExpired => "sandbox.assessment_expired",
            ChainDenied::ResourceUnknown(_) => "sandbox.resource_unknown",
            ChainDenied::ResourceUnusable { .. } => "sandbox.resource_unusable",
        }
    }

    pub fn message_zh(&self) -> String {
        match self {
            ChainDenied::Agreement(reason) => format!("无权访问：{}", reason.label_zh()),
            ChainDenied::ProjectClosed => "项目已关闭，不能再查询".into(),
            ChainDenied::Mismatch => "授权、数据使用申请与安全评估不一致，已拒绝查询".into(),
            ChainDenied::GrantRevoked => "授权已撤销".into(),
            ChainDenied::GrantNotStarted => "授权尚未生效".into(),
            ChainDenied::GrantExpired => "授权已到期".into(),
            ChainDenied::RequestNotInForce(status) => {
                format!("所依据的数据使用申请已失效（{}）", status.label_zh())
            }
            ChainDenied::AssessmentFailed => "安全评估未通过".into(),
            ChainDenied::AssessmentExpired => "安全评估已过有效期".into(),
            ChainDenied::ResourceUnknown(r) => format!("资源 {r} 的目录信息缺失，已拒绝查询"),
            ChainDenied::ResourceUnusable { resource, refusal } => {
                format!("资源 {resource} 不可使用：{}", refusal.label_zh())
            }
        }
    }
}

/// Everything a query's access rests on, loaded fresh for each query.
#[derive(Debug, Clone, Copy)]
pub struct AccessChain<'a> {
    /// [`crate::authorization::sanction::decide_access`] for the project's agreement, today.
    pub agreement: AccessDecision,
    pub project: (ProjectId, &'a Project),
    pub grant: &'a Grant,
    pub request: (RequestId, &'a DataUseRequest),
    pub assessment: (AssessmentId, &'a SecurityAssessment),
    /// Catalogue facts of (at least) every resource of the grant; a missing one denies.
    pub resources: &'a [(ResourceId, UseFacts)],
}

/// May a query under this chain run today? Precedence: agreement (sanction, termination, expiry),
/// project, links, grant (revoked, dates), request, assessment, then each resource (negative list
/// first, through [`usability`]).
pub fn check_chain(chain: &AccessChain<'_>, today: NaiveDate) -> Result<(), ChainDenied> {
    if let AccessDecision::Denied(reason) = chain.agreement {
        return Err(ChainDenied::Agreement(reason));
    }
    let (project_id, project) = chain.project;
    let (request_id, request) = chain.request;
    let (assessment_id, assessment) = chain.assessment;
    let grant = chain.grant;
    if !project.is_active() {
        return Err(ChainDenied::ProjectClosed);
    }
    if grant.project != project_id
        || grant.request != request_id
        || grant.assessment != assessment_id
        || assessment.project != project_id
        || assessment.request != request_id
        || request.operator != project.operator
        || request.scenario != project.scenario
    {
        return Err(ChainDenied::Mismatch);
    }
    if grant.revoked.as_ref().is_some_and(|r| r.on <= today) {
        return Err(ChainDenied::GrantRevoked);
    }
    if today < grant.granted_on {
        return Err(ChainDenied::GrantNotStarted);
    }
    if today > grant.expires_on {
        return Err(ChainDenied::GrantExpired);
    }
    if !request.is_in_force(today) {
        let status =
            if request.status == RequestStatus::Approved { RequestStatus::Expired } else { request.status };
        return Err(ChainDenied::RequestNotInForce(status));
    }
    if !assessment.conclusion.allows_grant() {
        return Err(ChainDenied::AssessmentFailed);
    }
    if !assessment.holds(today) {
        return Err(ChainDenied::AssessmentExpired);
    }
    for resource in grant.resources() {
        let facts = chain
            .resources
            .iter()
            .find(|(id, _)| *id == resource)
            .map(|(_, f)| f)
            .ok_or(ChainDenied::ResourceUnknown(resource))?;
        usability(facts).map_err(|refusal| ChainDenied::ResourceUnusable { resource, refusal })?;
    }
    Ok(())
}

// ---- 6. the airlock (输出审核) --------------------------------------------------------------------

code_enum! {
    /// The automatic output check's verdict (sandbox.md layer 4).
    pub enum CheckOutcome {
        Pass => ("pass", "通过"),
        Review => ("review", "需人工审核"),
        Fail => ("fail", "未通过"),
    }
}

code_enum! {
    /// Where an output stands in the airlock.
    pub enum ReviewStatus {
        Pending => ("pending", "待审核"),
        Released => ("released", "已放行"),
        Rejected => ("rejected", "已驳回"),
        /// The developer took it back before a decision (its run cancelled if unfinished).
        Withdrawn => ("withdrawn", "已撤回"),
    }
}

/// The automatic check report of an output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputCheck {
    pub outcome: CheckOutcome,
    /// Why, one line per finding (never containing data values).
    pub reasons: Vec<String>,
}

/// A reviewer's approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewApproval {
    pub reviewer: UserId,
    pub on: NaiveDate,
    pub note: String,
}

/// A reviewer's rejection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewRejection {
    pub reviewer: UserId,
    pub on: NaiveDate,
    pub reason: String,
}

/// Airlock errors, `sandbox.review_*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ReviewError {
    #[error("the reviewer is not staff of the project's operator")]
    NotOperatorStaff,
    #[error("the requester cannot review its own output")]
    OwnOutput,
    #[error("this reviewer has already approved")]
    SameReviewer,
    #[error("a failed output cannot be released")]
    CheckFailed,
    #[error("a note is required for an output flagged for review")]
    NoteRequired,
    #[error("reason too short")]
    Reason,
    #[error("already {0:?}")]
    Decided(ReviewStatus),
}

impl ReviewError {
    pub fn code(&self) -> &'static str {
        match self {
            ReviewError::NotOperatorStaff => "sandbox.review_not_operator_staff",
            ReviewError::OwnOutput => "sandbox.review_own_output",
            ReviewError::SameReviewer => "sandbox.review_same_reviewer",
            ReviewError::CheckFailed => "sandbox.review_check_failed",
            ReviewError::NoteRequired => "sandbox.review_note_required",
            ReviewError::Reason => "sandbox.review_reason",
            ReviewError::Decided(_) => "sandbox.review_decided",
        }
    }

    pub fn message_zh(&self) -> String {
        match self {
            ReviewError::NotOperatorStaff => "只有该项目运营机构的审核人员可以审核输出".into(),
            ReviewError::OwnOutput => "申请人不得审核自己的输出".into(),
            ReviewError::SameReviewer => "同一审核人不能重复同意；L3 及以上须由两名不同审核人同意".into(),
            ReviewError::CheckFailed => "输出检查未通过，不得放行".into(),
            ReviewError::NoteRequired => {
                format!("该输出被标记为需人工审核，请填写审核意见，不少于 {REASON_MIN_CHARS} 个字符")
            }
            ReviewError::Reason => format!("请填写驳回理由，不少于 {REASON_MIN_CHARS} 个字符"),
            ReviewError::Decided(status) => format!("该输出{}，不能再审核", status.label_zh()),
        }
    }
}

/// One output in the airlock: its check report and its review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputReview {
    pub project: ProjectId,
    /// The operator whose staff review.
    pub operator: OrgId,
    /// The developer user who ran the query.
    pub requester: UserId,
    /// The grant's combined grade: L3 and above need two reviewers.
    pub grade: Grade,
    pub check: OutputCheck,
    pub approvals: Vec<ReviewApproval>,
    pub rejection: Option<ReviewRejection>,
    pub status: ReviewStatus,
    pub released_on: Option<NaiveDate>,
}

impl OutputReview {
    /// A new output lands in the outbox, pending.
    pub fn new(
        project: ProjectId,
        operator: OrgId,
        requester: UserId,
        grade: Grade,
        check: OutputCheck,
    ) -> OutputReview {
        OutputReview {
            project,
            operator,
            requester,
            grade,
            check,
            approvals: Vec::new(),
            rejection: None,
            status: ReviewStatus::Pending,
            released_on: None,
        }
    }

    /// Two different reviewers for grade L3 and above, else one.
    pub fn required_approvals(&self) -> usize {
        if self.grade >= Grade::L3 { 2 } else { 1 }
    }

    fn check_reviewer(&self, reviewer: UserId, reviewer_org: OrgId) -> Result<(), ReviewError> {
        if self.status != ReviewStatus::Pending {
            return Err(ReviewError::Decided(self.status));
        }
        if reviewer == self.requester {
            return Err(ReviewError::OwnOutput);
        }
        if reviewer_org != self.operator {
            return Err(ReviewError::NotOperatorStaff);
        }
        Ok(())
    }

    /// A reviewer approves; released once enough different reviewers have. A failed output cannot be
    /// approved; one flagged for review needs the reviewer's note on why it is safe.
    pub fn approve(
        &mut self,
        reviewer: UserId,
        reviewer_org: OrgId,
        note: &str,
        today: NaiveDate,
    ) -> Result<ReviewStatus, ReviewError> {
        self.check_reviewer(reviewer, reviewer_org)?;
        if self.check.outcome == CheckOutcome::Fail {
            return Err(ReviewError::CheckFailed);
        }
        if self.check.outcome == CheckOutcome::Review && chars(note) < REASON_MIN_CHARS {
            return Err(ReviewError::NoteRequired);
        }
        if self.approvals.iter().any(|a| a.reviewer == reviewer) {
            return Err(ReviewError::SameReviewer);
        }
        self.approvals.push(ReviewApproval { reviewer, on: today, note: note.trim().to_owned() });
        if self.approvals.len() >= self.required_approvals() {
            self.status = ReviewStatus::Released;
            self.released_on = Some(today);
        }
        Ok(self.status)
    }

    /// A reviewer rejects, with a reason: one rejection rejects the output.
    pub fn reject(
        &mut self,
        reviewer: UserId,
        reviewer_org: OrgId,
        reason: &str,
        today: NaiveDate,
    ) -> Result<ReviewStatus, ReviewError> {
        self.check_reviewer(reviewer, reviewer_org)?;
        if chars(reason) < REASON_MIN_CHARS {
            return Err(ReviewError::Reason);
        }
        self.rejection = Some(ReviewRejection { reviewer, on: today, reason: reason.trim().to_owned() });
        self.status = ReviewStatus::Rejected;
        Ok(self.status)
    }

    /// Released outputs are final and immutable; only they may be downloaded.
    pub fn is_released(&self) -> bool {
        self.status == ReviewStatus::Released
    }
}

// ---- 7. the differential-privacy budget -----------------------------------------------------------

/// Budget errors, `sandbox.dp_*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum DpError {
    /// Not a positive rational ε (zero, negative, not finite, or text that is not a decimal or a fraction).
    #[error("epsilon must be finite and positive")]
    InvalidAmount,
    /// Too large (or too finely divided) for exact integer arithmetic.
    #[error("epsilon too large for exact arithmetic")]
    Overflow,
    #[error("budget exceeded: cost {cost}, remaining {remaining}")]
    Exceeded { cost: Epsilon, remaining: Epsilon },
}

impl DpError {
    pub fn code(&self) -> &'static str {
        match self {
            DpError::InvalidAmount => "sandbox.dp_invalid_amount",
            DpError::Overflow => "sandbox.dp_overflow",
            DpError::Exceeded { .. } => "sandbox.dp_budget_exceeded",
        }
    }

    pub fn message_zh(&self) -> String {
        match self {
            DpError::InvalidAmount => "隐私预算 ε 应为大于 0 的有限数（小数最多 9 位，或分数）".into(),
            DpError::Overflow => "隐私预算 ε 超出精确运算范围".into(),
            DpError::Exceeded { cost, remaining } => {
                format!("隐私预算不足：本次查询需 ε = {cost}，剩余 ε = {remaining}，查询未执行")
            }
        }
    }
}

fn gcd128(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// A privacy parameter ε ≥ 0 as an exact reduced fraction, so that budgets compose (add up) without
/// floating-point drift: ten charges of 0.1 spend exactly 1. Noise needs ε > 0; zero is allowed for
/// budget arithmetic. The one type for ε across the platform (the sandbox re-exports it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Epsilon {
    num: u64,
    den: u64,
}

impl Epsilon {
    /// No budget.
    pub const ZERO: Epsilon = Epsilon { num: 0, den: 1 };

    /// ε = num/den.
    pub fn new(num: u64, den: u64) -> Result<Epsilon, DpError> {
        if den == 0 {
            return Err(DpError::InvalidAmount);
        }
        Epsilon::reduce(u128::from(num), u128::from(den))
    }

    /// Parses configuration text: a decimal (`0.5`, `1`, at most 9 decimals) or a fraction (`1/3`).
    pub fn parse(text: &str) -> Result<Epsilon, DpError> {
        let text = text.trim();
        let digits = |s: &str| -> Result<u64, DpError> {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(DpError::InvalidAmount);
            }
            s.parse::<u64>().map_err(|_| DpError::Overflow)
        };
        if let Some((n, d)) = text.split_once('/') {
            return Epsilon::new(digits(n.trim())?, digits(d.trim())?);
        }
        let (int_part, frac_part) = text.split_once('.').unwrap_or((text, ""));
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(DpError::InvalidAmount);
        }
        if frac_part.len() > 9 {
            return Err(DpError::InvalidAmount);
        }
        let int_value = if int_part.is_empty() { 0 } else { digits(int_part)? };
        let frac_value = if frac_part.is_empty() { 0 } else { digits(frac_part)? };
        let den = 10u64.pow(frac_part.len() as u32);
        let num =
            int_value.checked_mul(den).and_then(|n| n.checked_add(frac_value)).ok_or(DpError::Overflow)?;
        Epsilon::new(num, den)
    }

    /// The one conversion from the ε a grant stores as a decimal number (`Grant::epsilon`): the
    /// shortest decimal that reads back as the same `f64` (what the store writes), parsed exactly.
    /// Must be positive and have at most 9 decimals.
    pub fn from_decimal(value: f64) -> Result<Epsilon, DpError> {
        if !value.is_finite() || value <= 0.0 {
            return Err(DpError::InvalidAmount);
        }
        let e = Epsilon::parse(&value.to_string())?;
        if e.is_zero() {
            return Err(DpError::InvalidAmount);
        }
        Ok(e)
    }

    /// Numerator of the reduced fraction.
    pub fn numerator(&self) -> u64 {
        self.num
    }

    /// Denominator of the reduced fraction.
    pub fn denominator(&self) -> u64 {
        self.den
    }

    /// Whether ε = 0.
    pub fn is_zero(&self) -> bool {
        self.num == 0
    }

    /// Approximate value, for display (the gauge) only.
    pub fn as_f64(&self) -> f64 {
        self.num as f64 / self.den as f64
    }

    /// ε₁ + ε₂ (sequential composition).
    pub fn checked_add(self, other: Epsilon) -> Result<Epsilon, DpError> {
        let num = u128::from(self.num) * u128::from(other.den) + u128::from(other.num) * u128::from(self.den);
        let den = u128::from(self.den) * u128::from(other.den);
        Epsilon::reduce(num, den)
    }

    /// ε₁ − ε₂, or `None` when it would be negative (remaining budget).
    pub fn checked_sub(self, other: Epsilon) -> Option<Epsilon> {
        let a = u128::from(self.num) * u128::from(other.den);
        let b = u128::from(other.num) * u128::from(self.den);
        let den = u128::from(self.den) * u128::from(other.den);
        a.checked_sub(b).and_then(|num| Epsilon::reduce(num, den).ok())
    }

    /// k · ε.
    pub fn checked_mul(self, k: u64) -> Result<Epsilon, DpError> {
        Epsilon::reduce(u128::from(self.num) * u128::from(k), u128::from(self.den))
    }

    /// ε / k (k ≥ 1), e.g. the halves of a mean's ε.
    pub fn checked_div(self, k: u64) -> Result<Epsilon, DpError> {
        if k == 0 {
            return Err(DpError::InvalidAmount);
        }
        Epsilon::reduce(u128::from(self.num), u128::from(self.den) * u128::from(k))
    }

    fn reduce(num: u128, den: u128) -> Result<Epsilon, DpError> {
        if den == 0 {
            return Err(DpError::InvalidAmount);
        }
        let g = gcd128(num, den).max(1);
        let num = u64::try_from(num / g).map_err(|_| DpError::Overflow)?;
        let den = u64::try_from(den / g).map_err(|_| DpError::Overflow)?;
        Ok(Epsilon { num, den })
    }
}

impl PartialOrd for Epsilon {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Epsilon {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (u128::from(self.num) * u128::from(other.den)).cmp(&(u128::from(other.num) * u128::from(self.den)))
    }
}

/// A decimal when the denominator divides 10⁹ (`0.25`, `1`), else the fraction (`1/3`): exact, and
/// what [`Epsilon::parse`] reads back.
impl std::fmt::Display for Epsilon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let whole = self.num / self.den;
        let rest = self.num % self.den;
        if rest == 0 {
            return write!(f, "{whole}");
        }
        let mut scale = 10u64;
        for places in 1..=9usize {
            if scale.is_multiple_of(self.den) {
                let frac = u128::from(rest) * u128::from(scale / self.den);
                let text = format!("{frac:0places$}");
                return write!(f, "{whole}.{}", text.trim_end_matches('0'));
            }
            scale = scale.saturating_mul(10);
        }
        write!(f, "{}/{}", self.num, self.den)
    }
}

/// A project's ε budget (sandbox.md layer 6), in exact fractions: an exact fit is allowed and
/// nothing overspends by rounding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DpBudget {
    pub total: Epsilon,
    pub spent: Epsilon,
}

impl DpBudget {
    pub fn new(total: Epsilon) -> Result<DpBudget, DpError> {
        if total.is_zero() {
            return Err(DpError::InvalidAmount);
        }
        Ok(DpBudget { total, spent: Epsilon::ZERO })
    }

    /// A budget with `spent` already charged (as loaded from the store); `spent` may not exceed
    /// `total`.
    pub fn with_spent(total: Epsilon, spent: Epsilon) -> Result<DpBudget, DpError> {
        let b = DpBudget::new(total)?;
        if spent > total {
            return Err(DpError::Exceeded { cost: spent, remaining: total });
        }
        Ok(DpBudget { spent, ..b })
    }

    /// What is left, never negative.
    pub fn remaining(&self) -> Epsilon {
        self.total.checked_sub(self.spent).unwrap_or(Epsilon::ZERO)
    }

    /// Whether `cost` fits in what is left (the check made before a query runs).
    pub fn allows(&self, cost: Epsilon) -> bool {
        cost <= self.remaining()
    }

    /// The budget after charging `cost`, or an error before anything is spent if it would exceed it.
    pub fn charge(&self, cost: Epsilon) -> Result<DpBudget, DpError> {
        if cost.is_zero() {
            return Err(DpError::InvalidAmount);
        }
        if !self.allows(cost) {
            return Err(DpError::Exceeded { cost, remaining: self.remaining() });
        }
        Ok(DpBudget { total: self.total, spent: self.spent.checked_add(cost)? })
    }
}

#[cfg(test)]
#[path = "data_use_test.rs"]
mod tests;
