//! Authorization management (授权管理, measures Chapter 2 plus Art. 21, 25(5) and 26): the
//! implementation plan, operator selection and the operation agreement, developer onboarding and the
//! development agreement, the blacklist, termination with deletion tracking, and evaluations.
//!
//! Everything here is a pure value: the store loads a record from its stored fields, a transition
//! changes it (or returns a typed error and leaves it untouched), and the store writes it back in the
//! same transaction as its audit record. Every transition takes `today` (and the [`WorkCalendar`] where
//! a deadline is computed); nothing reads the clock.
//!
//! Processes, one file each:
//! - [`plan`]: 实施方案 (Art. 8–10), its 12 items, feasibility, 三重一大 decision, government review,
//!   versions and the provincial filing;
//! - [`operator`]: 运营机构选择 and 运营协议 (Art. 11), its 14 clauses, term limit, signatures, renewal;
//! - [`developer`]: 应用场景, 开发主体申请, 资格审查, 公示, 异议, 开发利用协议 (Art. 12–13);
//! - [`sanction`]: 黑名单 measures (Art. 21) and the one-call [`sanction::decide_access`];
//! - [`termination`]: closing access and tracking deletion after an agreement ends (Art. 25(5));
//! - [`evaluation`]: 评价评估 and 限期整改 (Art. 26);
//! - shared: [`doc_number`] (文号), [`filing`] (备案 to the provincial bureau), [`material`]
//!   (uploaded files), and the types below.
//!
//! [`WorkCalendar`]: crate::calendar::WorkCalendar

use chrono::NaiveDate;
use thiserror::Error;

use crate::calendar::add_years;

pub mod developer;
pub mod doc_number;
pub mod evaluation;
pub mod filing;
pub mod material;
pub mod operator;
pub mod plan;
pub mod sanction;
pub mod termination;

pub use doc_number::DocNumber;
pub use filing::{Filing, FilingStatus, Level};

/// Store identifier of an organisation (`orgs.id`).
pub type OrgId = i64;
/// Store identifier of a scenario.
pub type ScenarioId = i64;
/// Store identifier of a development agreement.
pub type AgreementId = i64;

/// Longest operation agreement term in principle (Art. 11(2)): 5 years.
pub const OPERATION_TERM_MAX_YEARS: u32 = 5;
/// Longest development agreement term in principle (Art. 13(4)): 3 years.
pub const DEVELOPMENT_TERM_MAX_YEARS: u32 = 3;
/// Filing with the provincial data bureau (Art. 10, 11): 20 working days.
pub const FILING_WORKING_DAYS: u32 = 20;
/// Public notice of a selected developer (Art. 13(3)): at least 5 working days.
pub const NOTICE_MIN_WORKING_DAYS: u32 = 5;
/// Rectification (Art. 26): within 30 days (日, calendar days, rolled to the next working day).
pub const RECTIFICATION_DAYS: u32 = 30;

/// Numbers the measures leave open (domain.md: "*(configurable)*"), with their defaults. The
/// platform stores one value per province; the domain only reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Largest accepted uploaded material, in bytes. Default 20 MiB.
    pub material_max_bytes: u64,
    /// Working days an applicant gets to supplement materials (Art. 13(2) "规定时限"). Default 5.
    pub supplement_working_days: u32,
    /// Working days a developer gets to attest deletion after termination (Art. 25(5) "及时"). Default 10.
    pub attestation_working_days: u32,
    /// Weighted total (0–100) from which an evaluation passes. Default 60.
    pub pass_threshold: u32,
    /// Weighted total from which a failing evaluation is 限期整改 rather than 未通过. Default 40:
    /// `[0, 40)` 未通过, `[40, 60)` 限期整改, `[60, 100]` 通过.
    pub rectify_threshold: u32,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            material_max_bytes: 20 * 1024 * 1024,
            supplement_working_days: 5,
            attestation_working_days: 10,
            pass_threshold: 60,
            rectify_threshold: 40,
        }
    }
}

code_enum! {
    /// Operation mode (Art. 6).
    pub enum AuthorizationMode {
        /// 整体授权: by the implementing agency alone.
        Whole => ("whole", "整体授权"),
        /// 分领域授权: with the industry department (co-organiser, co-signatory).
        ByDomain => ("by_domain", "分领域授权"),
    }
}

code_enum! {
    /// The two classes of products a plan must list (Art. 8(7)); they are priced differently (Art. 23).
    pub enum ProductClass {
        /// 支持公共治理、公益事业: provided free of charge.
        PublicWelfare => ("public_welfare", "公共治理、公益事业"),
        /// 产业发展、行业发展: may carry an operation service fee.
        IndustryDevelopment => ("industry_development", "产业发展、行业发展"),
    }
}

code_enum! {
    /// Form of a data product or service.
    pub enum ProductForm {
        DesensitizedDataset => ("desensitized_dataset", "脱敏数据集"),
        DataApi => ("data_api", "数据接口"),
        Component => ("component", "数据组件"),
        Model => ("model", "数据模型"),
        Report => ("report", "数据报告"),
        /// Any other form; [`ProductItem::form_note`] says which.
        Other => ("other", "其他"),
    }
}

/// One entry of a product and service list (Art. 8(7), 11(3)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductItem {
    pub name: String,
    pub class: ProductClass,
    pub form: ProductForm,
    /// Required for [`ProductForm::Other`]: what the form is.
    pub form_note: String,
}

impl ProductItem {
    /// Named, and an "other" form is described.
    pub fn is_complete(&self) -> bool {
        filled(&self.name) && (self.form != ProductForm::Other || filled(&self.form_note))
    }
}

/// A list is complete when it is non-empty, every item is complete and both classes are present
/// (Art. 8(7) requires both "两大类").
pub(crate) fn product_list_complete(items: &[ProductItem]) -> bool {
    !items.is_empty()
        && items.iter().all(ProductItem::is_complete)
        && ProductClass::ALL.iter().all(|class| items.iter().any(|i| i.class == *class))
}

/// A catalog resource in a data scope, as the catalog knows it (ids are the catalog's business).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRef {
    /// Catalog resource id.
    pub id: String,
    /// Catalog code (资源代码), shown with the name.
    pub code: String,
    pub name: String,
}

/// An evaluation indicator (评价指标) with its weight in percent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Indicator {
    pub name: String,
    pub weight: u32,
}

/// Evaluation criteria: named indicators, unique names, positive weights summing to exactly 100.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvaluationCriteria(Vec<Indicator>);

impl EvaluationCriteria {
    pub fn new(indicators: Vec<Indicator>) -> Result<EvaluationCriteria, CriteriaError> {
        if indicators.is_empty() {
            return Err(CriteriaError::Empty);
        }
        for (i, indicator) in indicators.iter().enumerate() {
            if !filled(&indicator.name) {
                return Err(CriteriaError::UnnamedIndicator);
            }
            if indicator.weight == 0 {
                return Err(CriteriaError::ZeroWeight { name: indicator.name.clone() });
            }
            if indicators.iter().take(i).any(|other| other.name.trim() == indicator.name.trim()) {
                return Err(CriteriaError::DuplicateIndicator { name: indicator.name.clone() });
            }
        }
        let sum: u64 = indicators.iter().map(|i| u64::from(i.weight)).sum();
        if sum != 100 {
            return Err(CriteriaError::WeightsNot100 { sum });
        }
        Ok(EvaluationCriteria(indicators))
    }

    pub fn indicators(&self) -> &[Indicator] {
        &self.0
    }
}

/// Invalid evaluation criteria.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CriteriaError {
    #[error("no indicators")]
    Empty,
    #[error("an indicator has no name")]
    UnnamedIndicator,
    #[error("indicator {name} has weight 0")]
    ZeroWeight { name: String },
    #[error("indicator {name} is listed twice")]
    DuplicateIndicator { name: String },
    #[error("weights sum to {sum}, not 100")]
    WeightsNot100 { sum: u64 },
}

impl CriteriaError {
    pub fn code(&self) -> &'static str {
        match self {
            CriteriaError::Empty => "criteria.empty",
            CriteriaError::UnnamedIndicator => "criteria.unnamed_indicator",
            CriteriaError::ZeroWeight { .. } => "criteria.zero_weight",
            CriteriaError::DuplicateIndicator { .. } => "criteria.duplicate_indicator",
            CriteriaError::WeightsNot100 { .. } => "criteria.weights_not_100",
        }
    }

    pub fn message_zh(&self) -> String {
        match self {
            CriteriaError::Empty => "评价标准至少应包含一项指标".to_owned(),
            CriteriaError::UnnamedIndicator => "评价指标名称不能为空".to_owned(),
            CriteriaError::ZeroWeight { name } => format!("评价指标“{name}”的权重应大于 0"),
            CriteriaError::DuplicateIndicator { name } => format!("评价指标“{name}”重复"),
            CriteriaError::WeightsNot100 { sum } => format!("评价指标权重合计应为 100，当前为 {sum}"),
        }
    }
}

code_enum! {
    /// Outcome of a collective decision or a review.
    pub enum DecisionOutcome {
        Approved => ("approved", "同意"),
        /// Final refusal.
        Rejected => ("rejected", "不同意"),
        /// Back to the drafter for changes.
        Returned => ("returned", "退回修改"),
    }
}

/// A "三重一大" collective decision of an organisation (meeting, date, outcome).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectiveDecision {
    /// The meeting, e.g. `2026 年第 12 次党组会`.
    pub meeting: String,
    pub date: NaiveDate,
    pub outcome: DecisionOutcome,
    /// 会议纪要 reference, if any.
    pub minutes_ref: String,
}

/// A government review (本级人民政府审议) of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GovernmentReview {
    pub outcome: DecisionOutcome,
    pub date: NaiveDate,
    /// The meeting or reply (批复) reference, e.g. `州人民政府第 8 次常务会议`.
    pub meeting_ref: String,
}

/// An agreement term: from `start` to `end`, both inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Term {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

/// The recorded justification and approval that allow a term beyond the limit "in principle".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LongTermApproval {
    pub justification: String,
    /// Who approved (organisation and decision), e.g. `省数据局`.
    pub approved_by: String,
    pub approved_on: NaiveDate,
    /// Approval document, if numbered.
    pub doc_number: Option<DocNumber>,
}

impl Term {
    pub fn new(start: NaiveDate, end: NaiveDate) -> Result<Term, TermError> {
        if end <= start {
            return Err(TermError::EndNotAfterStart);
        }
        Ok(Term { start, end })
    }

    /// Whether `day` lies in the term.
    pub fn contains(&self, day: NaiveDate) -> bool {
        self.start <= day && day <= self.end
    }

    /// The latest end "in principle": `start + years` (Civil Code Art. 202 — corresponding date).
    pub fn max_end(start: NaiveDate, years: u32) -> NaiveDate {
        add_years(start, years)
    }

    /// A term up to `years` is fine; a longer one needs a complete [`LongTermApproval`].
    pub fn check_limit(&self, years: u32, exception: Option<&LongTermApproval>) -> Result<(), TermError> {
        let max_end = Term::max_end(self.start, years);
        if self.end <= max_end {
            return Ok(());
        }
        match exception {
            Some(e) if filled(&e.justification) && filled(&e.approved_by) => Ok(()),
            _ => Err(TermError::TooLong { max_years: years, max_end }),
        }
    }
}

/// Invalid term.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TermError {
    #[error("the term must end after it starts")]
    EndNotAfterStart,
    #[error("term beyond {max_years} years (latest end {max_end}) without justification and approval")]
    TooLong { max_years: u32, max_end: NaiveDate },
    #[error("the term ends after the operator's own agreement ({operator_end})")]
    BeyondOperatorAgreement { operator_end: NaiveDate },
}

impl TermError {
    pub fn code(&self) -> &'static str {
        match self {
            TermError::EndNotAfterStart => "term.end_not_after_start",
            TermError::TooLong { .. } => "term.too_long",
            TermError::BeyondOperatorAgreement { .. } => "term.beyond_operator_agreement",
        }
    }

    pub fn message_zh(&self) -> String {
        match self {
            TermError::EndNotAfterStart => "期限的结束日期应晚于开始日期".to_owned(),
            TermError::TooLong { max_years, max_end } => {
                format!("期限原则上不超过 {max_years} 年（最迟至 {max_end}）；超过的须载明理由并经批准")
            }
            TermError::BeyondOperatorAgreement { operator_end } => {
                format!("开发利用协议期限不得超出运营机构的运营协议期限（至 {operator_end}）")
            }
        }
    }
}

/// Non-blank text.
pub(crate) fn filled(text: &str) -> bool {
    !text.trim().is_empty()
}

#[cfg(test)]
#[path = "mod_test.rs"]
mod tests;

/// Records shared by the unit tests of the processes.
#[cfg(test)]
#[path = "fixtures_test.rs"]
mod fixtures;
