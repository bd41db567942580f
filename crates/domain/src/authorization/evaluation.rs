//! Evaluations (评价评估, Art. 26) and rectification (限期整改).
//!
//! Three relationships: the data authority evaluates providers' data supply; the implementing agency
//! (or a third party it appoints) evaluates the operator; the operator evaluates developers. Each
//! evaluation scores the plan's indicators (0–100 each) with evidence, computes the weighted total
//! and concludes 通过 / 限期整改 / 未通过.
//!
//! Result rule (thresholds in [`Settings`], defaults documented there): the weighted total gives a
//! band — `≥ pass_threshold` 通过, `≥ rectify_threshold` 限期整改, below 未通过. The evaluator may
//! conclude a *worse* result than the band (e.g. 限期整改 despite a passing score, for a specific
//! defect) with a written reason, never a better one.
//!
//! A 限期整改 result orders rectification: a plan, then completion within 30 days (日: calendar
//! days, rolled to the next working day), then re-evaluation — a new evaluation of the same party.
//! The results feed renewal ([`EvaluationStanding`], used by the operation agreement) and sanctions
//! ([`suggest_sanction`]: a suggestion only; the operator decides).

use chrono::NaiveDate;
use thiserror::Error;

use super::sanction::SanctionKind;
use super::{EvaluationCriteria, OrgId, RECTIFICATION_DAYS, Settings, filled};
use crate::calendar::WorkCalendar;
use crate::party::OrgType;

code_enum! {
    /// Who evaluates whom (Art. 26).
    pub enum EvaluationRelation {
        AuthorityToProvider => ("authority_to_provider", "数据主管部门评估数据供给"),
        AgencyToOperator => ("agency_to_operator", "实施机构评估运营机构"),
        OperatorToDeveloper => ("operator_to_developer", "运营机构评估开发主体"),
    }
}

code_enum! {
    /// The result of an evaluation (Art. 26).
    pub enum EvaluationResult {
        Pass => ("pass", "通过"),
        Rectify => ("rectify", "限期整改"),
        Fail => ("fail", "未通过"),
    }
}

impl EvaluationResult {
    /// Higher is better.
    fn rank(self) -> u8 {
        match self {
            EvaluationResult::Pass => 2,
            EvaluationResult::Rectify => 1,
            EvaluationResult::Fail => 0,
        }
    }

    /// The band of a weighted total given in hundredths (0–10000).
    pub fn band(total_x100: u32, settings: &Settings) -> EvaluationResult {
        if total_x100 >= settings.pass_threshold.saturating_mul(100) {
            EvaluationResult::Pass
        } else if total_x100 >= settings.rectify_threshold.saturating_mul(100) {
            EvaluationResult::Rectify
        } else {
            EvaluationResult::Fail
        }
    }
}

code_enum! {
    /// Where an evaluation stands.
    pub enum EvaluationStatus {
        Open => ("open", "评估中"),
        Concluded => ("concluded", "已出结果"),
    }
}

/// The evaluating organisation; a third party evaluating an operator carries its appointment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluator {
    pub org: OrgId,
    pub org_type: OrgType,
    /// The implementing agency's appointment (委托) of a third party; empty when the evaluator is
    /// the party the measures name.
    pub appointment: String,
}

/// A request for materials the evaluated party must answer (Art. 26 "如实提供相关资料").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaterialRequest {
    pub what: String,
    pub requested_on: NaiveDate,
    pub due: NaiveDate,
    pub submitted_on: Option<NaiveDate>,
    /// Material ids submitted.
    pub materials: Vec<String>,
}

impl MaterialRequest {
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        self.submitted_on.is_none() && today > self.due
    }

    pub fn submitted_late(&self) -> bool {
        self.submitted_on.is_some_and(|s| s > self.due)
    }
}

/// A score given for one indicator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoreInput {
    pub indicator: String,
    /// 0–100.
    pub score: u32,
    /// Evidence material ids.
    pub evidence: Vec<String>,
}

/// A recorded indicator score, with the indicator's weight at the time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndicatorScore {
    pub indicator: String,
    pub weight: u32,
    pub score: u32,
    pub evidence: Vec<String>,
}

/// The conclusion of an evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conclusion {
    /// Weighted total in hundredths: 8750 is 87.50.
    pub total_x100: u32,
    /// The result the thresholds give.
    pub band: EvaluationResult,
    /// The result concluded (no better than `band`).
    pub result: EvaluationResult,
    /// Required when `result` differs from `band`.
    pub reason: String,
    pub decided_on: NaiveDate,
}

impl Conclusion {
    /// `87.50`.
    pub fn total_text(&self) -> String {
        format!("{}.{:02}", self.total_x100 / 100, self.total_x100 % 100)
    }
}

code_enum! {
    /// Where a rectification stands; overdue is [`Rectification::is_overdue`].
    pub enum RectificationStatus {
        AwaitingPlan => ("awaiting_plan", "待提交整改方案"),
        InProgress => ("in_progress", "整改中"),
        Completed => ("completed", "已完成整改，待复评"),
    }
}

/// A rectification ordered by a 限期整改 result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rectification {
    pub ordered_on: NaiveDate,
    /// `ordered_on + 30 days`, rolled to the next working day.
    pub due: NaiveDate,
    pub provisional: bool,
    pub plan: String,
    pub plan_submitted_on: Option<NaiveDate>,
    pub report: String,
    pub completed_on: Option<NaiveDate>,
}

impl Rectification {
    pub fn order(ordered_on: NaiveDate, calendar: &WorkCalendar) -> Rectification {
        let deadline = calendar.deadline_calendar_days(ordered_on, RECTIFICATION_DAYS);
        Rectification {
            ordered_on,
            due: deadline.due,
            provisional: deadline.provisional,
            plan: String::new(),
            plan_submitted_on: None,
            report: String::new(),
            completed_on: None,
        }
    }

    pub fn status(&self) -> RectificationStatus {
        match (self.plan_submitted_on, self.completed_on) {
            (_, Some(_)) => RectificationStatus::Completed,
            (Some(_), None) => RectificationStatus::InProgress,
            (None, None) => RectificationStatus::AwaitingPlan,
        }
    }

    /// Not completed and past its due date (the due day itself is not overdue).
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        self.completed_on.is_none() && today > self.due
    }

    pub fn completed_late(&self) -> bool {
        self.completed_on.is_some_and(|c| c > self.due)
    }
}

/// One evaluation of one party for one period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    pub relation: EvaluationRelation,
    pub evaluator: Evaluator,
    pub evaluated: OrgId,
    pub evaluated_type: OrgType,
    /// e.g. `2026 年度`.
    pub period: String,
    pub opened_on: NaiveDate,
    pub criteria: EvaluationCriteria,
    pub requests: Vec<MaterialRequest>,
    pub scores: Vec<IndicatorScore>,
    pub conclusion: Option<Conclusion>,
    pub rectification: Option<Rectification>,
}

impl Evaluation {
    /// Opens an evaluation, checking the parties fit the relation.
    pub fn open(
        relation: EvaluationRelation,
        evaluator: Evaluator,
        evaluated: OrgId,
        evaluated_type: OrgType,
        period: &str,
        criteria: EvaluationCriteria,
        today: NaiveDate,
    ) -> Result<Evaluation, EvaluationError> {
        let third_party = filled(&evaluator.appointment);
        let parties_fit = evaluator.org != evaluated
            && match relation {
                EvaluationRelation::AuthorityToProvider => {
                    evaluator.org_type == OrgType::DataAuthority && evaluated_type.is_data_provider()
                }
                EvaluationRelation::AgencyToOperator => {
                    evaluated_type == OrgType::Operator
                        && (evaluator.org_type == OrgType::ImplementingAgency
                            || (third_party
                                && !matches!(evaluator.org_type, OrgType::Operator | OrgType::Developer)))
                }
                EvaluationRelation::OperatorToDeveloper => {
                    evaluator.org_type == OrgType::Operator && evaluated_type == OrgType::Developer
                }
            };
        if !parties_fit {
            return Err(EvaluationError::PartiesMismatch { relation });
        }
        if !filled(period) {
            return Err(EvaluationError::PeriodMissing);
        }
        Ok(Evaluation {
            relation,
            evaluator,
            evaluated,
            evaluated_type,
            period: period.trim().to_owned(),
            opened_on: today,
            criteria,
            requests: Vec::new(),
            scores: Vec::new(),
            conclusion: None,
            rectification: None,
        })
    }

    pub fn status(&self) -> EvaluationStatus {
        if self.conclusion.is_some() { EvaluationStatus::Concluded } else { EvaluationStatus::Open }
    }

    pub fn result(&self) -> Option<EvaluationResult> {
        self.conclusion.as_ref().map(|c| c.result)
    }

    fn require_open(&self) -> Result<(), EvaluationError> {
        if self.conclusion.is_some() {
            return Err(EvaluationError::AlreadyConcluded);
        }
        Ok(())
    }

    /// Asks the evaluated party for materials by `due` (after today). Returns the request's index.
    pub fn request_materials(
        &mut self,
        what: &str,
        due: NaiveDate,
        today: NaiveDate,
    ) -> Result<usize, EvaluationError> {
        self.require_open()?;
        if !filled(what) {
            return Err(EvaluationError::RequestUndescribed);
        }
        if due <= today {
            return Err(EvaluationError::BadDueDate);
        }
        self.requests.push(MaterialRequest {
            what: what.trim().to_owned(),
            requested_on: today,
            due,
            submitted_on: None,
            materials: Vec::new(),
        });
        Ok(self.requests.len() - 1)
    }

    /// The evaluated party answers a request (late answers are accepted and flagged).
    pub fn submit_materials(
        &mut self,
        request: usize,
        materials: Vec<String>,
        today: NaiveDate,
    ) -> Result<(), EvaluationError> {
        self.require_open()?;
        let req = self.requests.get_mut(request).ok_or(EvaluationError::NoSuchRequest)?;
        if req.submitted_on.is_some() {
            return Err(EvaluationError::AlreadySubmitted);
        }
        if materials.is_empty() || materials.iter().any(|m| !filled(m)) {
            return Err(EvaluationError::NoEvidence);
        }
        req.submitted_on = Some(today);
        req.materials = materials;
        Ok(())
    }

    /// Scores every indicator once (0–100), computes the weighted total and concludes. `chosen`
    /// is an explicit result no better than the band, with its reason. A 限期整改 result orders
    /// rectification due 30 days later.
    pub fn conclude(
        &mut self,
        scores: Vec<ScoreInput>,
        chosen: Option<(EvaluationResult, &str)>,
        settings: &Settings,
        today: NaiveDate,
        calendar: &WorkCalendar,
    ) -> Result<EvaluationResult, EvaluationError> {
        self.require_open()?;
        let mut recorded = Vec::new();
        for indicator in self.criteria.indicators() {
            let mut matching = scores.iter().filter(|s| s.indicator.trim() == indicator.name.trim());
            let (Some(input), None) = (matching.next(), matching.next()) else {
                return Err(EvaluationError::ScoreMissing { indicator: indicator.name.clone() });
            };
            if input.score > 100 {
                return Err(EvaluationError::ScoreOutOfRange { indicator: indicator.name.clone() });
            }
            recorded.push(IndicatorScore {
                indicator: indicator.name.clone(),
                weight: indicator.weight,
                score: input.score,
                evidence: input.evidence.clone(),
            });
        }
        if let Some(unknown) = scores
            .iter()
            .find(|s| !self.criteria.indicators().iter().any(|i| i.name.trim() == s.indicator.trim()))
        {
            return Err(EvaluationError::UnknownIndicator { indicator: unknown.indicator.clone() });
        }
        if recorded.iter().all(|s| s.evidence.is_empty()) {
            return Err(EvaluationError::NoEvidence);
        }
        // Weights sum to 100 and scores are ≤ 100, so the sum of weight × score is the total in hundredths.
        let total_x100: u32 = recorded.iter().map(|s| s.weight.saturating_mul(s.score)).sum();
        let band = EvaluationResult::band(total_x100, settings);
        let (result, reason) = match chosen {
            None => (band, String::new()),
            Some((result, _)) if result.rank() > band.rank() => {
                return Err(EvaluationError::BetterThanBand { band });
            }
            Some((result, reason)) if result != band && !filled(reason) => {
                return Err(EvaluationError::ReasonRequired);
            }
            Some((result, reason)) => (result, reason.trim().to_owned()),
        };
        self.scores = recorded;
        self.conclusion = Some(Conclusion { total_x100, band, result, reason, decided_on: today });
        if result == EvaluationResult::Rectify {
            self.rectification = Some(Rectification::order(today, calendar));
        }
        Ok(result)
    }

    fn rectification_mut(&mut self) -> Result<&mut Rectification, EvaluationError> {
        self.rectification.as_mut().ok_or(EvaluationError::NoRectification)
    }

    /// The evaluated party submits its rectification plan.
    pub fn submit_rectification_plan(&mut self, plan: &str, today: NaiveDate) -> Result<(), EvaluationError> {
        let r = self.rectification_mut()?;
        if r.status() != RectificationStatus::AwaitingPlan {
            return Err(EvaluationError::RectificationWrongStep);
        }
        if !filled(plan) {
            return Err(EvaluationError::ReasonRequired);
        }
        r.plan = plan.trim().to_owned();
        r.plan_submitted_on = Some(today);
        Ok(())
    }

    /// The evaluated party reports completion (late completion is accepted and flagged); the
    /// evaluator then re-evaluates with a new [`Evaluation`].
    pub fn complete_rectification(
        &mut self,
        report: &str,
        today: NaiveDate,
    ) -> Result<bool, EvaluationError> {
        let r = self.rectification_mut()?;
        if r.status() != RectificationStatus::InProgress {
            return Err(EvaluationError::RectificationWrongStep);
        }
        if !filled(report) {
            return Err(EvaluationError::ReasonRequired);
        }
        r.report = report.trim().to_owned();
        r.completed_on = Some(today);
        Ok(!r.completed_late())
    }
}

/// What a party's evaluations mean for renewal: the latest result, and whether a 限期整改 has not
/// yet been followed by a passing evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EvaluationStanding {
    pub latest: Option<EvaluationResult>,
    pub open_rectification: bool,
}

/// Concluded evaluations in decision order (stable for equal dates).
fn concluded(evaluations: &[Evaluation]) -> Vec<(&Evaluation, &Conclusion)> {
    let mut list: Vec<_> = evaluations.iter().filter_map(|e| e.conclusion.as_ref().map(|c| (e, c))).collect();
    list.sort_by_key(|(_, c)| c.decided_on);
    list
}

impl EvaluationStanding {
    /// Standing from all evaluations of one party in one relationship.
    pub fn of(evaluations: &[Evaluation]) -> EvaluationStanding {
        let list = concluded(evaluations);
        let latest = list.last().map(|(_, c)| c.result);
        let last_rectify = list.iter().rposition(|(_, c)| c.result == EvaluationResult::Rectify);
        let open_rectification = last_rectify
            .is_some_and(|i| !list.iter().skip(i + 1).any(|(_, c)| c.result == EvaluationResult::Pass));
        EvaluationStanding { latest, open_rectification }
    }
}

code_enum! {
    /// Why a sanction is suggested.
    pub enum SuggestionReason {
        FailedTwice => ("failed_twice", "连续两次评估未通过"),
        Failed => ("failed", "评估未通过"),
        RectificationOverdue => ("rectification_overdue", "限期整改逾期未完成"),
    }
}

/// A sanction the evaluations suggest to the operator (Art. 21); never applied automatically.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SanctionSuggestion {
    pub kind: SanctionKind,
    pub reason: SuggestionReason,
}

/// Suggestion from a developer's evaluations (operator → developer): the last two concluded
/// evaluations 未通过 → cancellation; an overdue rectification → suspension; the latest 未通过 →
/// reminder interview.
pub fn suggest_sanction(evaluations: &[Evaluation], today: NaiveDate) -> Option<SanctionSuggestion> {
    let relevant: Vec<Evaluation> = evaluations
        .iter()
        .filter(|e| e.relation == EvaluationRelation::OperatorToDeveloper)
        .cloned()
        .collect();
    let list = concluded(&relevant);
    let results: Vec<EvaluationResult> = list.iter().map(|(_, c)| c.result).collect();
    if results.len() >= 2 && results.iter().rev().take(2).all(|r| *r == EvaluationResult::Fail) {
        return Some(SanctionSuggestion {
            kind: SanctionKind::Cancellation,
            reason: SuggestionReason::FailedTwice,
        });
    }
    if relevant.iter().filter_map(|e| e.rectification.as_ref()).any(|r| r.is_overdue(today)) {
        return Some(SanctionSuggestion {
            kind: SanctionKind::Suspension,
            reason: SuggestionReason::RectificationOverdue,
        });
    }
    if results.last() == Some(&EvaluationResult::Fail) {
        return Some(SanctionSuggestion {
            kind: SanctionKind::ReminderInterview,
            reason: SuggestionReason::Failed,
        });
    }
    None
}

/// Evaluation errors.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EvaluationError {
    #[error("the parties do not fit the relation {relation:?}")]
    PartiesMismatch { relation: EvaluationRelation },
    #[error("the evaluation period is missing")]
    PeriodMissing,
    #[error("the evaluation is already concluded")]
    AlreadyConcluded,
    #[error("describe the requested materials")]
    RequestUndescribed,
    #[error("the due date must be after today")]
    BadDueDate,
    #[error("no such material request")]
    NoSuchRequest,
    #[error("the request was already answered")]
    AlreadySubmitted,
    #[error("evidence is required")]
    NoEvidence,
    #[error("indicator {indicator} needs exactly one score")]
    ScoreMissing { indicator: String },
    #[error("indicator {indicator} is not in the criteria")]
    UnknownIndicator { indicator: String },
    #[error("the score of {indicator} must be 0..=100")]
    ScoreOutOfRange { indicator: String },
    #[error("the chosen result is better than the band {band:?}")]
    BetterThanBand { band: EvaluationResult },
    #[error("a reason is required")]
    ReasonRequired,
    #[error("no rectification was ordered")]
    NoRectification,
    #[error("the rectification is not at that step")]
    RectificationWrongStep,
}

impl EvaluationError {
    pub fn code(&self) -> &'static str {
        match self {
            EvaluationError::PartiesMismatch { .. } => "evaluation.parties_mismatch",
            EvaluationError::PeriodMissing => "evaluation.period_missing",
            EvaluationError::AlreadyConcluded => "evaluation.already_concluded",
            EvaluationError::RequestUndescribed => "evaluation.request_undescribed",
            EvaluationError::BadDueDate => "evaluation.bad_due_date",
            EvaluationError::NoSuchRequest => "evaluation.no_such_request",
            EvaluationError::AlreadySubmitted => "evaluation.already_submitted",
            EvaluationError::NoEvidence => "evaluation.no_evidence",
            EvaluationError::ScoreMissing { .. } => "evaluation.score_missing",
            EvaluationError::UnknownIndicator { .. } => "evaluation.unknown_indicator",
            EvaluationError::ScoreOutOfRange { .. } => "evaluation.score_out_of_range",
            EvaluationError::BetterThanBand { .. } => "evaluation.better_than_band",
            EvaluationError::ReasonRequired => "evaluation.reason_required",
            EvaluationError::NoRectification => "evaluation.no_rectification",
            EvaluationError::RectificationWrongStep => "evaluation.rectification_wrong_step",
        }
    }

    pub fn message_zh(&self) -> String {
        match self {
            EvaluationError::PartiesMismatch { relation } => {
                format!("评估单位与被评估单位不符合“{}”的要求", relation.label_zh())
            }
            EvaluationError::PeriodMissing => "请填写评估期间".to_owned(),
            EvaluationError::AlreadyConcluded => "该评估已出结果，不能再修改".to_owned(),
            EvaluationError::RequestUndescribed => "请说明需提供的资料".to_owned(),
            EvaluationError::BadDueDate => "资料提交期限应晚于今天".to_owned(),
            EvaluationError::NoSuchRequest => "资料提供要求不存在".to_owned(),
            EvaluationError::AlreadySubmitted => "该资料要求已答复".to_owned(),
            EvaluationError::NoEvidence => "请上传佐证材料".to_owned(),
            EvaluationError::ScoreMissing { indicator } => format!("指标“{indicator}”须评分且只能评分一次"),
            EvaluationError::UnknownIndicator { indicator } => format!("“{indicator}”不是评价标准中的指标"),
            EvaluationError::ScoreOutOfRange { indicator } => {
                format!("指标“{indicator}”的得分应在 0 至 100 之间")
            }
            EvaluationError::BetterThanBand { band } => {
                format!("按得分评估结果为“{}”，不能认定为更好的结果", band.label_zh())
            }
            EvaluationError::ReasonRequired => "请填写理由或内容".to_owned(),
            EvaluationError::NoRectification => "该评估未要求限期整改".to_owned(),
            EvaluationError::RectificationWrongStep => "整改不处于该环节".to_owned(),
        }
    }
}

#[cfg(test)]
#[path = "evaluation_test.rs"]
mod tests;
