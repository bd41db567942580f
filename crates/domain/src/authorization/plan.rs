//! Implementation plans (实施方案, Art. 8–10).
//!
//! A plan is drafted by an implementing agency with the 12 items of Art. 8 and a feasibility
//! demonstration (Art. 9), decided by the agency's own "三重一大" procedure, then reviewed by the
//! same-level government (Art. 10). An approved plan is locked: changing it makes a new version.
//!
//! Change rule (Art. 10 "原则上不得随意变更，确需作较大变更的，应按照原流程重新报请审议同意"):
//! - a **major** change ([`ChangeKind::Major`]) goes through the whole path again: agency decision,
//!   then government review;
//! - a **minor** change ([`ChangeKind::Minor`]) is recorded with its description and re-approved by
//!   the agency's collective decision alone; the government review step is skipped.
//!
//! Either way the new version supersedes the old one when approved, and a prefecture or county
//! version opens a new filing with the provincial bureau (the bureau should hold the plan in force).
//!
//! ```text
//! draft ──submit──▶ agency_decision ──approved──▶ government_review ──approved──▶ approved ──▶ superseded
//!   ▲                   │ returned / rejected           │ returned / rejected      (minor change: agency
//!   └───────────────────┴──────────── draft / rejected ─┘                          approval → approved)
//! ```

use chrono::NaiveDate;
use thiserror::Error;

use super::{
    AuthorizationMode, CollectiveDecision, CriteriaError, DecisionOutcome, EvaluationCriteria, Filing,
    GovernmentReview, Indicator, Level, OrgId, ProductItem, ResourceRef, filled, product_list_complete,
};
use crate::calendar::WorkCalendar;

code_enum! {
    /// The 12 items of Art. 8, numbered as in the measures.
    pub enum PlanItem {
        Name => ("name", "授权运营名称"),
        NecessityFeasibility => ("necessity_feasibility", "授权运营的必要性和可行性论证"),
        OperatorConditions => ("operator_conditions", "运营机构的选择条件"),
        Mode => ("mode", "授权运营模式"),
        DataScope => ("data_scope", "数据资源范围、目录、更新频率及质量情况"),
        TermAndSchedule => ("term_schedule", "运营期限、建设内容、技术保障、实施进度、评价标准、退出机制、资产管理"),
        ProductList => ("product_list", "公共数据产品和服务清单"),
        CostRevenue => ("cost_revenue", "经营成本和收入核算机制、收益分配机制"),
        Security => ("security", "数据安全、个人信息保护措施和应急处置措施"),
        RightsDuties => ("rights_duties", "实施机构、运营机构及相关参与方权利义务"),
        Supervision => ("supervision", "监督管理及考核评价要求"),
        Other => ("other", "应当明确的其他事项"),
    }
}

impl PlanItem {
    /// Number in Art. 8 (1–12).
    pub fn number(self) -> usize {
        PlanItem::ALL.iter().position(|i| *i == self).map_or(0, |p| p + 1)
    }
}

code_enum! {
    /// Categories of operator selection conditions (Art. 8(3)).
    pub enum ConditionCategory {
        Capital => ("capital", "资金"),
        Management => ("management", "管理"),
        Technology => ("technology", "技术"),
        Service => ("service", "服务"),
        Security => ("security", "安全"),
    }
}

/// One operator selection condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorCondition {
    pub category: ConditionCategory,
    pub requirement: String,
}

/// A schedule milestone (实施进度).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Milestone {
    pub name: String,
    pub due: NaiveDate,
}

/// The 12 items. Draft content may be incomplete; [`PlanContent::missing_items`] says what is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PlanContent {
    /// (1)
    pub name: String,
    /// (2) necessity and feasibility summary (the demonstration itself is [`Feasibility`]).
    pub necessity: String,
    /// (3) at least one condition in each of the five categories.
    pub operator_conditions: Vec<OperatorCondition>,
    /// (4)
    pub mode: Option<AuthorizationMode>,
    /// (4) the co-organising industry department, required for 分领域授权.
    pub industry_department: Option<OrgId>,
    /// (5) catalog resources.
    pub data_resources: Vec<ResourceRef>,
    /// (5) e.g. `每日`.
    pub update_frequency: String,
    /// (5)
    pub data_quality: String,
    /// (6) operation term in years (the agreement's term follows it).
    pub term_years: Option<u32>,
    /// (6)
    pub construction: String,
    /// (6)
    pub technical_support: String,
    /// (6) at least one milestone.
    pub schedule: Vec<Milestone>,
    /// (6) weights must sum to 100.
    pub evaluation_criteria: Vec<Indicator>,
    /// (6) at least one exit condition.
    pub exit_conditions: Vec<String>,
    /// (6)
    pub asset_management: String,
    /// (7) both classes present.
    pub products: Vec<ProductItem>,
    /// (8)
    pub cost_accounting: String,
    /// (8)
    pub revenue_sharing: String,
    /// (9)
    pub data_security: String,
    /// (9)
    pub personal_information: String,
    /// (9)
    pub emergency_measures: String,
    /// (10)
    pub rights_duties: String,
    /// (11)
    pub supervision: String,
    /// (12) may say `无` but must be filled in.
    pub other: String,
}

impl PlanContent {
    /// Items not yet complete, in Art. 8 order.
    pub fn missing_items(&self) -> Vec<PlanItem> {
        let conditions_complete = self.operator_conditions.iter().all(|c| filled(&c.requirement))
            && ConditionCategory::ALL
                .iter()
                .all(|cat| self.operator_conditions.iter().any(|c| c.category == *cat));
        let mode_complete = match self.mode {
            Some(AuthorizationMode::Whole) => true,
            Some(AuthorizationMode::ByDomain) => self.industry_department.is_some(),
            None => false,
        };
        let term_complete = self.term_years.is_some_and(|y| y > 0)
            && filled(&self.construction)
            && filled(&self.technical_support)
            && !self.schedule.is_empty()
            && self.schedule.iter().all(|m| filled(&m.name))
            && !self.evaluation_criteria.is_empty()
            && !self.exit_conditions.is_empty()
            && self.exit_conditions.iter().all(|c| filled(c))
            && filled(&self.asset_management);
        let checks = [
            (PlanItem::Name, filled(&self.name)),
            (PlanItem::NecessityFeasibility, filled(&self.necessity)),
            (PlanItem::OperatorConditions, conditions_complete),
            (PlanItem::Mode, mode_complete),
            (
                PlanItem::DataScope,
                !self.data_resources.is_empty()
                    && self.data_resources.iter().all(|r| filled(&r.id))
                    && filled(&self.update_frequency)
                    && filled(&self.data_quality),
            ),
            (PlanItem::TermAndSchedule, term_complete),
            (PlanItem::ProductList, product_list_complete(&self.products)),
            (PlanItem::CostRevenue, filled(&self.cost_accounting) && filled(&self.revenue_sharing)),
            (
                PlanItem::Security,
                filled(&self.data_security)
                    && filled(&self.personal_information)
                    && filled(&self.emergency_measures),
            ),
            (PlanItem::RightsDuties, filled(&self.rights_duties)),
            (PlanItem::Supervision, filled(&self.supervision)),
            (PlanItem::Other, filled(&self.other)),
        ];
        checks.into_iter().filter(|(_, complete)| !complete).map(|(item, _)| item).collect()
    }
}

code_enum! {
    /// Aspects of the feasibility demonstration (Art. 9).
    pub enum FeasibilityAspect {
        Lifecycle => ("lifecycle", "数据全生命周期管理服务"),
        SocialDemand => ("social_demand", "社会需求"),
        Scenarios => ("scenarios", "应用场景"),
        MarketSize => ("market_size", "市场规模"),
        ExpectedEffect => ("expected_effect", "预期成效"),
        RiskControl => ("risk_control", "风险防控"),
    }
}

/// The feasibility demonstration record (可行性论证).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Feasibility {
    pub lifecycle: String,
    pub social_demand: String,
    pub scenarios: String,
    pub market_size: String,
    pub expected_effect: String,
    pub risk_control: String,
    /// When and how it was held (expert meeting …); informational.
    pub held_on: Option<NaiveDate>,
}

impl Feasibility {
    pub fn missing_aspects(&self) -> Vec<FeasibilityAspect> {
        [
            (FeasibilityAspect::Lifecycle, &self.lifecycle),
            (FeasibilityAspect::SocialDemand, &self.social_demand),
            (FeasibilityAspect::Scenarios, &self.scenarios),
            (FeasibilityAspect::MarketSize, &self.market_size),
            (FeasibilityAspect::ExpectedEffect, &self.expected_effect),
            (FeasibilityAspect::RiskControl, &self.risk_control),
        ]
        .into_iter()
        .filter(|(_, text)| !filled(text))
        .map(|(aspect, _)| aspect)
        .collect()
    }
}

code_enum! {
    /// Where a plan version stands.
    pub enum PlanStatus {
        Draft => ("draft", "草稿"),
        AgencyDecision => ("agency_decision", "待单位集体决策"),
        GovernmentReview => ("government_review", "待政府审议"),
        Approved => ("approved", "已生效"),
        Rejected => ("rejected", "未通过"),
        Superseded => ("superseded", "已被新版本替代"),
    }
}

code_enum! {
    /// Size of a change to an approved plan (see the module docs for the rule).
    pub enum ChangeKind {
        Major => ("major", "较大变更"),
        Minor => ("minor", "一般变更"),
    }
}

/// Why a version 2+ exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanChange {
    pub kind: ChangeKind,
    pub description: String,
}

/// One version of an implementation plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImplementationPlan {
    pub agency: OrgId,
    pub level: Level,
    /// 1 for the original plan.
    pub version: u32,
    /// `Some` exactly for versions after the first.
    pub change: Option<PlanChange>,
    pub content: PlanContent,
    pub feasibility: Feasibility,
    pub status: PlanStatus,
    pub submitted_on: Option<NaiveDate>,
    pub agency_decision: Option<CollectiveDecision>,
    pub government_review: Option<GovernmentReview>,
    pub approved_on: Option<NaiveDate>,
    pub superseded_on: Option<NaiveDate>,
    pub filing: Filing,
}

impl ImplementationPlan {
    /// A new, empty draft (version 1).
    pub fn draft(agency: OrgId, level: Level) -> ImplementationPlan {
        ImplementationPlan {
            agency,
            level,
            version: 1,
            change: None,
            content: PlanContent::default(),
            feasibility: Feasibility::default(),
            status: PlanStatus::Draft,
            submitted_on: None,
            agency_decision: None,
            government_review: None,
            approved_on: None,
            superseded_on: None,
            filing: Filing::NOT_REQUIRED,
        }
    }

    /// Replaces the content of a draft; anything else is locked.
    pub fn edit(&mut self, content: PlanContent, feasibility: Feasibility) -> Result<(), PlanError> {
        if self.status != PlanStatus::Draft {
            return Err(PlanError::Locked { status: self.status });
        }
        self.content = content;
        self.feasibility = feasibility;
        Ok(())
    }

    /// The parsed evaluation criteria of item (6), for evaluations under this plan.
    pub fn criteria(&self) -> Result<EvaluationCriteria, CriteriaError> {
        EvaluationCriteria::new(self.content.evaluation_criteria.clone())
    }

    /// Submits a draft for the agency's collective decision: all 12 items and the feasibility
    /// demonstration must be complete and the criteria weights must sum to 100.
    pub fn submit(&mut self, today: NaiveDate) -> Result<PlanStatus, PlanError> {
        if self.status != PlanStatus::Draft {
            return Err(PlanError::WrongStatus { status: self.status, action: "submit" });
        }
        let items = self.content.missing_items();
        let aspects = self.feasibility.missing_aspects();
        if !items.is_empty() || !aspects.is_empty() {
            return Err(PlanError::Incomplete { items, aspects });
        }
        self.criteria()?;
        if self.change.as_ref().is_some_and(|c| !filled(&c.description)) {
            return Err(PlanError::ChangeUndescribed);
        }
        self.status = PlanStatus::AgencyDecision;
        self.submitted_on = Some(today);
        self.agency_decision = None;
        self.government_review = None;
        Ok(self.status)
    }

    fn check_decision_date(&self, date: NaiveDate, today: NaiveDate) -> Result<(), PlanError> {
        let after = self.agency_decision.as_ref().map(|d| d.date).or(self.submitted_on);
        if date > today || after.is_some_and(|a| date < a) {
            return Err(PlanError::BadDecisionDate);
        }
        Ok(())
    }

    /// Records the agency's "三重一大" decision. Approved → government review (or approved at once
    /// for a minor change); returned → draft; rejected → rejected.
    pub fn record_agency_decision(
        &mut self,
        decision: CollectiveDecision,
        today: NaiveDate,
        calendar: &WorkCalendar,
    ) -> Result<PlanStatus, PlanError> {
        if self.status != PlanStatus::AgencyDecision {
            return Err(PlanError::WrongStatus { status: self.status, action: "agency_decision" });
        }
        if !filled(&decision.meeting) {
            return Err(PlanError::MeetingMissing);
        }
        self.check_decision_date(decision.date, today)?;
        let minor = self.change.as_ref().is_some_and(|c| c.kind == ChangeKind::Minor);
        let date = decision.date;
        self.status = match decision.outcome {
            DecisionOutcome::Approved if minor => PlanStatus::Approved,
            DecisionOutcome::Approved => PlanStatus::GovernmentReview,
            DecisionOutcome::Returned => PlanStatus::Draft,
            DecisionOutcome::Rejected => PlanStatus::Rejected,
        };
        self.agency_decision = Some(decision);
        if self.status == PlanStatus::Approved {
            self.approve(date, calendar);
        }
        Ok(self.status)
    }

    /// Records the government's review. Approved → approved (locked; filing opened for prefecture
    /// and county plans); returned → draft; rejected → rejected.
    pub fn record_government_review(
        &mut self,
        review: GovernmentReview,
        today: NaiveDate,
        calendar: &WorkCalendar,
    ) -> Result<PlanStatus, PlanError> {
        if self.status != PlanStatus::GovernmentReview {
            return Err(PlanError::WrongStatus { status: self.status, action: "government_review" });
        }
        if !filled(&review.meeting_ref) {
            return Err(PlanError::MeetingMissing);
        }
        self.check_decision_date(review.date, today)?;
        let date = review.date;
        self.status = match review.outcome {
            DecisionOutcome::Approved => PlanStatus::Approved,
            DecisionOutcome::Returned => PlanStatus::Draft,
            DecisionOutcome::Rejected => PlanStatus::Rejected,
        };
        self.government_review = Some(review);
        if self.status == PlanStatus::Approved {
            self.approve(date, calendar);
        }
        Ok(self.status)
    }

    fn approve(&mut self, date: NaiveDate, calendar: &WorkCalendar) {
        self.approved_on = Some(date);
        self.filing = Filing::open(self.level, date, calendar);
    }

    /// Starts a new version of an approved plan: a draft with this version's content.
    pub fn new_version(&self, kind: ChangeKind, description: &str) -> Result<ImplementationPlan, PlanError> {
        if self.status != PlanStatus::Approved {
            return Err(PlanError::WrongStatus { status: self.status, action: "new_version" });
        }
        if !filled(description) {
            return Err(PlanError::ChangeUndescribed);
        }
        Ok(ImplementationPlan {
            version: self.version.saturating_add(1),
            change: Some(PlanChange { kind, description: description.trim().to_owned() }),
            content: self.content.clone(),
            feasibility: self.feasibility.clone(),
            ..ImplementationPlan::draft(self.agency, self.level)
        })
    }

    /// Marks this approved version superseded by an approved later version of the same agency's plan.
    pub fn supersede(&mut self, successor: &ImplementationPlan) -> Result<PlanStatus, PlanError> {
        if self.status != PlanStatus::Approved {
            return Err(PlanError::WrongStatus { status: self.status, action: "supersede" });
        }
        if successor.status != PlanStatus::Approved
            || successor.version <= self.version
            || successor.agency != self.agency
        {
            return Err(PlanError::NotASuccessor);
        }
        self.status = PlanStatus::Superseded;
        self.superseded_on = successor.approved_on;
        Ok(self.status)
    }
}

/// Plan errors.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PlanError {
    #[error("the plan is incomplete: items {items:?}, feasibility {aspects:?}")]
    Incomplete { items: Vec<PlanItem>, aspects: Vec<FeasibilityAspect> },
    #[error(transparent)]
    Criteria(#[from] CriteriaError),
    #[error("the plan is {status:?} and cannot be edited")]
    Locked { status: PlanStatus },
    #[error("cannot {action} a plan that is {status:?}")]
    WrongStatus { status: PlanStatus, action: &'static str },
    #[error("the meeting or reference is missing")]
    MeetingMissing,
    #[error("the decision date must lie between the submission and today")]
    BadDecisionDate,
    #[error("a change must be described")]
    ChangeUndescribed,
    #[error("the successor is not an approved later version of this plan")]
    NotASuccessor,
}

impl PlanError {
    pub fn code(&self) -> &'static str {
        match self {
            PlanError::Incomplete { .. } => "plan.incomplete",
            PlanError::Criteria(e) => e.code(),
            PlanError::Locked { .. } => "plan.locked",
            PlanError::WrongStatus { .. } => "plan.wrong_status",
            PlanError::MeetingMissing => "plan.meeting_missing",
            PlanError::BadDecisionDate => "plan.bad_decision_date",
            PlanError::ChangeUndescribed => "plan.change_undescribed",
            PlanError::NotASuccessor => "plan.not_a_successor",
        }
    }

    pub fn message_zh(&self) -> String {
        match self {
            PlanError::Incomplete { items, aspects } => {
                let mut parts = Vec::new();
                if !items.is_empty() {
                    let list: Vec<String> = items
                        .iter()
                        .map(|i| format!("（{}）{}", chinese_number(i.number()), i.label_zh()))
                        .collect();
                    parts.push(format!("实施方案缺少以下内容：{}", list.join("；")));
                }
                if !aspects.is_empty() {
                    let list: Vec<&str> = aspects.iter().map(|a| a.label_zh()).collect();
                    parts.push(format!("可行性论证缺少：{}", list.join("、")));
                }
                parts.join("。")
            }
            PlanError::Criteria(e) => e.message_zh(),
            PlanError::Locked { status } => {
                format!("实施方案{}，不能修改；如需变更请创建新版本", status.label_zh())
            }
            PlanError::WrongStatus { status, .. } => {
                format!("实施方案当前状态为“{}”，不能执行此操作", status.label_zh())
            }
            PlanError::MeetingMissing => "请填写会议名称或审议文件".to_owned(),
            PlanError::BadDecisionDate => "决策（审议）日期应在提交之后，且不晚于今天".to_owned(),
            PlanError::ChangeUndescribed => "请说明变更内容".to_owned(),
            PlanError::NotASuccessor => "替代版本须为本方案已生效的更高版本".to_owned(),
        }
    }
}

/// 1–12 as 一 … 十二, the numbering of the measures' items.
pub(crate) fn chinese_number(n: usize) -> String {
    const DIGITS: [&str; 10] = ["", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    let digit = |d: usize| DIGITS.get(d).copied().unwrap_or("");
    match n {
        0..=9 => digit(n).to_owned(),
        10 => "十".to_owned(),
        11..=19 => format!("十{}", digit(n - 10)),
        _ => n.to_string(),
    }
}

#[cfg(test)]
#[path = "plan_test.rs"]
mod tests;
