//! Implementation plans (Art. 8–10) and operation agreements (Art. 11), shared by pages and API. An
//! implementing agency drafts a plan with its twelve items and the feasibility record, submits it
//! (the missing items are named by number), records its own 三重一大 decision and then the
//! government's review; the approved plan is locked, a change makes a new version (a major change
//! goes through the same path again, a minor one needs only the agency's decision), and a prefecture
//! or county plan opens a filing to-do for the provincial data bureau, due 20 working days after the
//! approval. An agreement records the operator selection, the agency's decision, the 14 clauses and
//! the signatures; a term beyond 5 years needs a recorded justification and approval; prefecture and
//! county agreements are filed within 20 working days of signing. Every move closes and opens the
//! to-dos it causes and audits, in one transaction.

use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::Value;
use yunshu_domain::authorization::filing::FilingError;
use yunshu_domain::authorization::operator::{
    AgreementStatus, OperationAgreement, OperatorError, OperatorSelection, SelectionMethod, Signatory,
};
use yunshu_domain::authorization::plan::{ChangeKind, ImplementationPlan, PlanError, PlanStatus};
use yunshu_domain::authorization::{
    AuthorizationMode, CollectiveDecision, DecisionOutcome, FILING_WORKING_DAYS, Filing, GovernmentReview,
    Level, TermError,
};
use yunshu_domain::party::OrgType;
use yunshu_domain::regions::{RegionCode, RegionLevel};
use yunshu_store::StoreError;
use yunshu_store::calendar::PeriodUnit;
use yunshu_store::orgs::Organisation;
use yunshu_store::plans::{
    AgreementRecord, BadField, PlanRecord, agreement_content_from, feasibility_from, plan_content_from,
};
use yunshu_store::tasks::{NewTask, Period};

use super::{org_resource, parse_date};
use crate::AppState;
use crate::context::Ctx;
use crate::error::{AppError, AppResult};

/// The level of an implementing agency, from its region's code.
pub fn level_of(region: &RegionCode) -> Level {
    match region.level() {
        RegionLevel::Province => Level::Province,
        RegionLevel::Prefecture => Level::Prefecture,
        RegionLevel::County => Level::County,
    }
}

fn bad_field(b: BadField) -> AppError {
    AppError::invalid(b.0, "input.invalid", format!("字段 {} 的内容无法识别", b.0))
}

/// A plan refusal: missing content is a 422 (naming the items), a wrong moment a 409.
fn plan_err(e: PlanError) -> AppError {
    let field = match &e {
        PlanError::Incomplete { .. } | PlanError::Criteria(_) => Some("content"),
        PlanError::MeetingMissing => Some("meeting"),
        PlanError::BadDecisionDate => Some("date"),
        PlanError::ChangeUndescribed => Some("description"),
        _ => None,
    };
    match field {
        Some(f) => AppError::invalid(f, e.code(), e.message_zh()),
        None => AppError::conflict(e.code(), e.message_zh()),
    }
}

fn agreement_err(e: OperatorError) -> AppError {
    let field = match &e {
        OperatorError::Term(TermError::TooLong { .. } | TermError::EndNotAfterStart) => Some("term_end"),
        OperatorError::Incomplete { .. } => Some("content"),
        OperatorError::MeetingMissing => Some("meeting"),
        OperatorError::FutureDate => Some("date"),
        OperatorError::NoParticipants | OperatorError::WinnerNotParticipant => Some("participants"),
        OperatorError::MethodUnnamed => Some("method_note"),
        OperatorError::IndustryDepartmentMissing => Some("industry_department"),
        OperatorError::ReasonRequired => Some("reason"),
        _ => None,
    };
    match field {
        Some(f) => AppError::invalid(f, e.code(), e.message_zh()),
        None => AppError::conflict(e.code(), e.message_zh()),
    }
}

fn filing_err(e: FilingError) -> AppError {
    match e {
        FilingError::BadDate => AppError::invalid("filed_on", e.code(), e.message_zh()),
        _ => AppError::conflict(e.code(), e.message_zh()),
    }
}

fn opt_date(field: &'static str, s: &str) -> AppResult<Option<NaiveDate>> {
    if s.trim().is_empty() { Ok(None) } else { parse_date(field, s).map(Some) }
}

fn outcome(s: &str) -> AppResult<DecisionOutcome> {
    DecisionOutcome::parse(s.trim()).ok_or_else(|| {
        AppError::invalid("outcome", "decision.outcome", "请选择决策结果（同意/不同意/退回修改）")
    })
}

/// The provincial data bureau, which receives the filings of prefecture and county plans and
/// agreements.
pub async fn provincial_bureau(state: &AppState) -> AppResult<Organisation> {
    state
        .store
        .orgs_in_region("53")
        .await?
        .into_iter()
        .find(|o| {
            o.org_type == OrgType::DataAuthority && o.region.level() == RegionLevel::Province && o.active
        })
        .ok_or_else(|| AppError::conflict("filing.no_bureau", "未找到省级数据主管部门，无法登记备案待办"))
}

/// Loads a plan the caller may act on with `action` (`plan.view`, `plan.manage`, `filing.record`).
pub async fn plan_for(state: &AppState, ctx: &Ctx, id: i64, action: &str) -> AppResult<PlanRecord> {
    let rec = match state.store.plan(id).await {
        Ok(r) => r,
        Err(StoreError::NotFound) => return Err(AppError::not_found()),
        Err(e) => return Err(e.into()),
    };
    let agency = state.store.org(rec.plan.agency).await?;
    ctx.require(state, action, &org_resource(&agency))?;
    Ok(rec)
}

/// Plans the caller sees (the agency its own, the data authorities those in their area).
pub async fn visible_plans(state: &AppState, ctx: &Ctx) -> AppResult<Vec<PlanRecord>> {
    let mut out = Vec::new();
    for p in state.store.plans().await? {
        let agency = state.store.org(p.plan.agency).await?;
        if ctx.allowed(state, "plan.view", &org_resource(&agency)) {
            out.push(p);
        }
    }
    Ok(out)
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct PlanInput {
    /// The twelve items (see the API description of `PlanView.content`).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub content: Value,
    /// 可行性论证记录: lifecycle, social_demand, scenarios, market_size, expected_effect, risk_control,
    /// held_on.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub feasibility: Value,
}

/// The agency drafts a plan (its level from its region).
pub async fn create_plan(state: &AppState, ctx: &Ctx, input: &PlanInput) -> AppResult<i64> {
    let me = ctx.me()?;
    ctx.require(state, "plan.manage", &org_resource(&me.org))?;
    if me.org.org_type != OrgType::ImplementingAgency {
        return Err(AppError::forbidden());
    }
    let mut plan = ImplementationPlan::draft(me.org.id, level_of(&me.org.region));
    plan.edit(
        plan_content_from(&input.content).map_err(bad_field)?,
        feasibility_from(&input.feasibility).map_err(bad_field)?,
    )
    .map_err(plan_err)?;
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    let id = tx.insert_plan(None, &plan).await?;
    tx.commit().await?;
    Ok(id)
}

/// One input for every move of a plan; each move reads its own fields.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct PlanMoveInput {
    /// edit: the twelve items.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub content: Value,
    /// edit: the feasibility record.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub feasibility: Value,
    /// decision: 会议名称; review: unused.
    #[serde(default)]
    pub meeting: String,
    /// review: 政府审议会议及文号.
    #[serde(default)]
    pub meeting_ref: String,
    /// decision / review: YYYY-MM-DD.
    #[serde(default)]
    pub date: String,
    /// decision / review: approved | rejected | returned.
    #[serde(default)]
    pub outcome: String,
    /// decision: 会议纪要编号.
    #[serde(default)]
    pub minutes_ref: String,
    /// version: major | minor.
    #[serde(default)]
    pub kind: String,
    /// version: what changes.
    #[serde(default)]
    pub description: String,
    /// file: the filing date (default today).
    #[serde(default)]
    pub filed_on: String,
}

/// The moves of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanMove {
    Edit,
    Submit,
    Decision,
    Review,
    Version,
    File,
}

impl PlanMove {
    pub fn parse(s: &str) -> Option<PlanMove> {
        Some(match s {
            "edit" => PlanMove::Edit,
            "submit" => PlanMove::Submit,
            "decision" => PlanMove::Decision,
            "review" => PlanMove::Review,
            "version" => PlanMove::Version,
            "file" => PlanMove::File,
            _ => return None,
        })
    }
}

fn plan_task(agency: i64, kind: &'static str, id: i64, title: String) -> NewTask<'static> {
    NewTask {
        org_id: agency,
        role: None,
        kind,
        subject_type: "impl_plan",
        subject_id: id.to_string(),
        title,
        link: format!("/authorization/plans/{id}"),
    }
}

/// Acts on a plan. Returns the id of the plan version the caller should look at next (a new version
/// for `version`).
pub async fn move_plan(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    mv: PlanMove,
    input: &PlanMoveInput,
) -> AppResult<i64> {
    let action = if mv == PlanMove::File { "filing.record" } else { "plan.manage" };
    let mut rec = plan_for(state, ctx, id, action).await?;
    let today = ctx.today();
    let cal = state.store.work_calendar().await?;
    let name = rec.plan.content.name.clone();
    let sid = id.to_string();
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    let mut next = id;
    match mv {
        PlanMove::Edit => {
            let content = plan_content_from(&input.content).map_err(bad_field)?;
            let feasibility = feasibility_from(&input.feasibility).map_err(bad_field)?;
            rec.plan.edit(content, feasibility).map_err(plan_err)?;
            tx.save_plan(id, &rec.plan, "plan.edit").await?;
        }
        PlanMove::Submit => {
            rec.plan.submit(today).map_err(plan_err)?;
            tx.close_tasks("impl_plan", &sid).await?;
            tx.save_plan(id, &rec.plan, "plan.submit").await?;
            let task = plan_task(
                rec.plan.agency,
                "plan.decide",
                id,
                format!("实施方案待单位集体决策（三重一大）：{name}"),
            );
            tx.open_task(&task, None).await?;
        }
        PlanMove::Decision => {
            let decision = CollectiveDecision {
                meeting: input.meeting.trim().to_owned(),
                date: parse_date("date", &input.date)?,
                outcome: outcome(&input.outcome)?,
                minutes_ref: input.minutes_ref.trim().to_owned(),
            };
            rec.plan.record_agency_decision(decision, today, &cal).map_err(plan_err)?;
            tx.close_tasks("impl_plan", &sid).await?;
            tx.save_plan(id, &rec.plan, "plan.decision").await?;
            if rec.plan.status == PlanStatus::GovernmentReview {
                let task = plan_task(
                    rec.plan.agency,
                    "plan.review",
                    id,
                    format!("实施方案待政府审议，请登记审议结果：{name}"),
                );
                tx.open_task(&task, None).await?;
            }
        }
        PlanMove::Review => {
            let review = GovernmentReview {
                meeting_ref: input.meeting_ref.trim().to_owned(),
                date: parse_date("date", &input.date)?,
                outcome: outcome(&input.outcome)?,
            };
            rec.plan.record_government_review(review, today, &cal).map_err(plan_err)?;
            tx.close_tasks("impl_plan", &sid).await?;
            tx.save_plan(id, &rec.plan, "plan.review").await?;
        }
        PlanMove::Version => {
            let kind = ChangeKind::parse(input.kind.trim()).ok_or_else(|| {
                AppError::invalid("kind", "plan.change_kind", "请选择变更类型（较大变更/一般变更）")
            })?;
            let successor = rec.plan.new_version(kind, &input.description).map_err(plan_err)?;
            if state
                .store
                .plan_versions(rec.plan_no)
                .await?
                .iter()
                .any(|v| v.plan.version >= successor.version)
            {
                return Err(AppError::conflict("plan.version_exists", "该方案已有更新的版本在办理中"));
            }
            next = tx.insert_plan(Some(rec.plan_no), &successor).await?;
        }
        PlanMove::File => {
            let filed_on = opt_date("filed_on", &input.filed_on)?.unwrap_or(today);
            rec.plan.filing.record_filed(filed_on, today).map_err(filing_err)?;
            tx.close_tasks("impl_plan.filing", &sid).await?;
            tx.save_plan(id, &rec.plan, "plan.file").await?;
        }
    }
    if matches!(mv, PlanMove::Decision | PlanMove::Review) && rec.plan.status == PlanStatus::Approved {
        // The approved version replaces the one before it; the filing to-do goes to the bureau.
        for mut older in state.store.plan_versions(rec.plan_no).await? {
            if older.id != id
                && older.plan.status == PlanStatus::Approved
                && older.plan.version < rec.plan.version
            {
                older.plan.supersede(&rec.plan).map_err(plan_err)?;
                tx.save_plan(older.id, &older.plan, "plan.supersede").await?;
            }
        }
        if let (Some(trigger), true) = (rec.plan.filing.trigger, rec.plan.level.requires_filing()) {
            let bureau = provincial_bureau(state).await?;
            let agency = state.store.org(rec.plan.agency).await?;
            tx.open_task(
                &NewTask {
                    org_id: bureau.id,
                    role: None,
                    kind: "plan.filing",
                    subject_type: "impl_plan.filing",
                    subject_id: sid.clone(),
                    title: format!("实施方案待备案：{name}（{}）", agency.name),
                    link: format!("/authorization/plans/{id}"),
                },
                Some(Period {
                    start: trigger,
                    unit: PeriodUnit::WorkingDays,
                    amount: FILING_WORKING_DAYS,
                    cal: &cal,
                }),
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(next)
}

/// Loads an agreement the caller may act on with `action` (checked on the implementing agency).
pub async fn agreement_for(state: &AppState, ctx: &Ctx, id: i64, action: &str) -> AppResult<AgreementRecord> {
    let rec = match state.store.agreement(id).await {
        Ok(r) => r,
        Err(StoreError::NotFound) => return Err(AppError::not_found()),
        Err(e) => return Err(e.into()),
    };
    let agency = state.store.org(rec.agreement.agency).await?;
    ctx.require(state, action, &org_resource(&agency))?;
    Ok(rec)
}

/// Agreements the caller sees (the agency its own, data authorities those in their area).
pub async fn visible_agreements(state: &AppState, ctx: &Ctx) -> AppResult<Vec<AgreementRecord>> {
    let mut out = Vec::new();
    for a in state.store.agreements().await? {
        let agency = state.store.org(a.agreement.agency).await?;
        if ctx.allowed(state, "plan.view", &org_resource(&agency)) {
            out.push(a);
        }
    }
    Ok(out)
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct AgreementInput {
    /// whole | by_domain
    #[serde(default)]
    pub mode: String,
    /// 分领域授权: the co-organising industry department (an organisation id).
    #[serde(default)]
    pub industry_department: Option<i64>,
    /// Selection: public_tender | invited_tender | negotiation | other_competitive.
    #[serde(default)]
    pub method: String,
    #[serde(default)]
    pub method_note: String,
    /// Names of the participants.
    #[serde(default)]
    pub participants: Vec<String>,
    /// The winner's name (one of the participants) and organisation.
    #[serde(default)]
    pub winner: String,
    #[serde(default)]
    pub winner_org_id: Option<i64>,
    /// YYYY-MM-DD of the selection result.
    #[serde(default)]
    pub decided_on: String,
    /// Proposed term (YYYY-MM-DD); the clauses may change it until signing.
    #[serde(default)]
    pub term_start: String,
    #[serde(default)]
    pub term_end: String,
}

/// The agency records the operator selection and opens the agreement draft.
pub async fn create_agreement(state: &AppState, ctx: &Ctx, input: &AgreementInput) -> AppResult<i64> {
    let me = ctx.me()?;
    ctx.require(state, "plan.manage", &org_resource(&me.org))?;
    if me.org.org_type != OrgType::ImplementingAgency {
        return Err(AppError::forbidden());
    }
    let mode = AuthorizationMode::parse(input.mode.trim())
        .ok_or_else(|| AppError::invalid("mode", "agreement.mode", "请选择授权模式"))?;
    let method = SelectionMethod::parse(input.method.trim())
        .ok_or_else(|| AppError::invalid("method", "selection.method", "请选择运营机构选择方式"))?;
    let winner_org = input
        .winner_org_id
        .ok_or_else(|| AppError::invalid("winner_org_id", "selection.winner", "请选择中选运营机构"))?;
    match state.store.org(winner_org).await {
        Ok(o) if o.org_type == OrgType::Operator => {}
        Ok(_) | Err(StoreError::NotFound) => {
            return Err(AppError::invalid("winner_org_id", "selection.winner", "所选机构不是运营机构"));
        }
        Err(e) => return Err(e.into()),
    }
    let term = yunshu_domain::authorization::Term::new(
        parse_date("term_start", &input.term_start)?,
        parse_date("term_end", &input.term_end)?,
    )
    .map_err(|e| AppError::invalid("term_end", e.code(), e.message_zh()))?;
    let mut a =
        OperationAgreement::draft(me.org.id, level_of(&me.org.region), mode, input.industry_department)
            .map_err(agreement_err)?;
    a.record_selection(
        OperatorSelection {
            method,
            method_note: input.method_note.trim().to_owned(),
            participants: input.participants.iter().map(|p| p.trim().to_owned()).collect(),
            winner: input.winner.trim().to_owned(),
            winner_org,
            decided_on: parse_date("decided_on", &input.decided_on)?,
        },
        ctx.today(),
    )
    .map_err(agreement_err)?;
    a.content.term = Some(term);
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    let id = tx.insert_agreement(&a, term).await?;
    tx.commit().await?;
    Ok(id)
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct AgreementMoveInput {
    /// content: the 14 clauses, with term_start, term_end and long_term {justification, approved_by,
    /// approved_on} for a term beyond 5 years.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub content: Value,
    /// decision: 会议名称, date, outcome, minutes_ref.
    #[serde(default)]
    pub meeting: String,
    #[serde(default)]
    pub date: String,
    #[serde(default)]
    pub outcome: String,
    #[serde(default)]
    pub minutes_ref: String,
    /// sign: the parties that sign today (agency | industry_department | operator); empty: every
    /// missing party (a joint signing).
    #[serde(default)]
    pub parties: Vec<String>,
    /// file: the filing date (default today).
    #[serde(default)]
    pub filed_on: String,
    /// renew: the new end date.
    #[serde(default)]
    pub new_end: String,
    /// renew: justification and approver when the renewal period exceeds 5 years.
    #[serde(default)]
    pub justification: String,
    #[serde(default)]
    pub approved_by: String,
    /// terminate: the reason.
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgreementMove {
    Content,
    Decision,
    Sign,
    File,
    /// Clause 9: renewal for a new end date, refused while the operator's latest evaluation failed or a
    /// rectification is open.
    Renew,
    /// Clause 12: termination with a reason.
    Terminate,
}

impl AgreementMove {
    pub fn parse(s: &str) -> Option<AgreementMove> {
        Some(match s {
            "content" => AgreementMove::Content,
            "decision" => AgreementMove::Decision,
            "sign" => AgreementMove::Sign,
            "file" => AgreementMove::File,
            "renew" => AgreementMove::Renew,
            "terminate" => AgreementMove::Terminate,
            _ => return None,
        })
    }
}

/// Acts on an agreement.
pub async fn move_agreement(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    mv: AgreementMove,
    input: &AgreementMoveInput,
) -> AppResult<()> {
    let action = if mv == AgreementMove::File { "filing.record" } else { "plan.manage" };
    let mut rec = agreement_for(state, ctx, id, action).await?;
    let today = ctx.today();
    let sid = id.to_string();
    // The operator's evaluations decide whether it may be renewed (read before the write transaction).
    let standing = if mv == AgreementMove::Renew {
        Some(
            super::evaluations::standing(
                state,
                rec.operator_org_id,
                yunshu_domain::authorization::evaluation::EvaluationRelation::AgencyToOperator,
            )
            .await?,
        )
    } else {
        None
    };
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    match mv {
        AgreementMove::Content => {
            let content = agreement_content_from(&input.content).map_err(bad_field)?;
            rec.agreement.edit(content).map_err(agreement_err)?;
            tx.save_agreement(id, &rec.agreement, "op_agreement.content").await?;
        }
        AgreementMove::Decision => {
            let decision = CollectiveDecision {
                meeting: input.meeting.trim().to_owned(),
                date: parse_date("date", &input.date)?,
                outcome: outcome(&input.outcome)?,
                minutes_ref: input.minutes_ref.trim().to_owned(),
            };
            rec.agreement.record_agency_decision(decision, today).map_err(agreement_err)?;
            tx.save_agreement(id, &rec.agreement, "op_agreement.decision").await?;
        }
        AgreementMove::Sign => {
            let cal = state.store.work_calendar().await?;
            let parties = if input.parties.is_empty() {
                rec.agreement.missing_signatures()
            } else {
                input
                    .parties
                    .iter()
                    .map(|p| {
                        Signatory::parse(p.trim())
                            .ok_or_else(|| AppError::invalid("parties", "agreement.party", "签约方无法识别"))
                    })
                    .collect::<AppResult<Vec<_>>>()?
            };
            for party in parties {
                rec.agreement.sign(party, today, &cal).map_err(agreement_err)?;
            }
            tx.save_agreement(id, &rec.agreement, "op_agreement.sign").await?;
            if rec.agreement.status != AgreementStatus::Draft
                && let (Some(trigger), true) =
                    (rec.agreement.filing.trigger, rec.agreement.level.requires_filing())
            {
                let bureau = provincial_bureau(state).await?;
                let agency = state.store.org(rec.agreement.agency).await?;
                tx.open_task(
                    &NewTask {
                        org_id: bureau.id,
                        role: None,
                        kind: "agreement.filing",
                        subject_type: "agreement.filing",
                        subject_id: sid.clone(),
                        title: format!("运营协议待备案（{}）", agency.name),
                        link: format!("/authorization/agreements/{id}"),
                    },
                    Some(Period {
                        start: trigger,
                        unit: PeriodUnit::WorkingDays,
                        amount: FILING_WORKING_DAYS,
                        cal: &cal,
                    }),
                )
                .await?;
            }
        }
        AgreementMove::Renew => {
            let new_end = parse_date("new_end", &input.new_end)?;
            let long_term = if input.justification.trim().is_empty() {
                None
            } else {
                Some(yunshu_domain::authorization::LongTermApproval {
                    justification: input.justification.trim().to_owned(),
                    approved_by: input.approved_by.trim().to_owned(),
                    approved_on: today,
                    doc_number: None,
                })
            };
            let standing = standing.unwrap_or_default();
            rec.agreement.renew(new_end, long_term, &standing, today).map_err(agreement_err)?;
            tx.save_agreement(id, &rec.agreement, "op_agreement.renew").await?;
        }
        AgreementMove::Terminate => {
            rec.agreement.terminate(&input.reason, today).map_err(agreement_err)?;
            tx.close_tasks("agreement.filing", &sid).await?;
            tx.save_agreement(id, &rec.agreement, "op_agreement.terminate").await?;
        }
        AgreementMove::File => {
            let filed_on = opt_date("filed_on", &input.filed_on)?.unwrap_or(today);
            rec.agreement.filing.record_filed(filed_on, today).map_err(filing_err)?;
            tx.close_tasks("agreement.filing", &sid).await?;
            tx.save_agreement(id, &rec.agreement, "op_agreement.file").await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Working days left until a filing is due (negative when overdue), if one is open.
pub fn filing_days_left(
    state_cal: &yunshu_domain::calendar::WorkCalendar,
    f: &Filing,
    today: NaiveDate,
) -> Option<i64> {
    match (f.status, f.due) {
        (yunshu_domain::authorization::FilingStatus::Due, Some(due)) => {
            Some(state_cal.working_days_left(today, due).0)
        }
        _ => None,
    }
}

/// Date-driven job: agreements whose term has started or ended change status (signed → in force →
/// expired). Returns how many changed.
pub async fn advance_agreements(state: &AppState, now: chrono::DateTime<chrono::Utc>) -> AppResult<usize> {
    let today = crate::web::beijing_date(now);
    let mut changed = 0;
    for mut rec in state.store.agreements().await? {
        let before = rec.agreement.status;
        if rec.agreement.advance(today) != before {
            let mut tx = state.store.begin(now, &yunshu_store::AuditCtx::system("scheduler")).await?;
            tx.save_agreement(rec.id, &rec.agreement, "op_agreement.advance").await?;
            tx.commit().await?;
            changed += 1;
        }
    }
    Ok(changed)
}
