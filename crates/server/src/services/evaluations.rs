//! Evaluations (Art. 26) and rectification, shared by the pages and the API: the data
//! authority evaluates a provider's data supply, the implementing agency evaluates the operator, the
//! operator evaluates a developer. The evaluator opens an evaluation, may ask the evaluated party for
//! materials by a due date, scores every indicator 0–100 with evidence and concludes (weighted total,
//! result by thresholds or a worse one with a reason). A 限期整改 orders a rectification due 30
//! calendar days later (rolled to the next working day); the evaluated party submits its plan and
//! reports completion; the evaluator re-evaluates with a new evaluation (复评). Overdue
//! rectifications are flagged by [`flag_overdue_rectifications`] from the scheduler tick.
//!
//! Indicators ([`criteria_for`]): the evaluation criteria (item 6) of the implementing agency's plan
//! in force where the relationship leads to one, else the documented default set of
//! [`default_criteria`] (always for data providers: no plan names them). The criteria in force are
//! copied into each evaluation, so a later plan change does not alter past scores.
//!
//! Authorization: an evaluation is checked as a party-scoped policy entity (the onboarding entity
//! kind: inside each party organisation); `evaluation.conduct` against the evaluator only,
//! `evaluation.respond` against the evaluated party only, `evaluation.view` against both. Opening an
//! evaluation in a relationship whose evaluator the caller's organisation is not is refused (403).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::json;
use sm3::{Digest, Sm3};
use yunshu_domain::authorization::evaluation::{
    Evaluation, EvaluationError, EvaluationRelation, EvaluationResult, EvaluationStanding, Evaluator,
    SanctionSuggestion, ScoreInput, suggest_sanction,
};
use yunshu_domain::authorization::material::{Material, MaterialKind};
use yunshu_domain::authorization::plan::PlanStatus;
use yunshu_domain::authorization::{EvaluationCriteria, Indicator};
use yunshu_domain::party::OrgType;
use yunshu_domain::regions::RegionCode;
use yunshu_store::StoreError;
use yunshu_store::calendar::PeriodUnit;
use yunshu_store::evaluations::EvaluationRecord;
use yunshu_store::tasks::{NewTask, Period};

use super::onboarding::SETTINGS;
use super::parse_date;
use crate::AppState;
use crate::authz::PolicyResource;
use crate::context::Ctx;
use crate::error::{AppError, AppResult};

/// Working days the evaluator gives itself to conclude an opened evaluation or a re-evaluation (a
/// service level of the platform; the measures name none).
pub const CONCLUDE_WORKING_DAYS: u32 = 20;

/// The default indicator set of a relationship (weights sum to 100), used when no plan in force
/// gives the criteria:
/// - 数据主管部门 → 数据提供单位: 数据供给及时性 30, 数据质量 30, 目录与元数据规范性 20, 数据安全管理 20;
/// - 实施机构 → 运营机构: 运营服务能力 25, 数据安全与合规 30, 收费与收益管理 20, 场景成效 25;
/// - 运营机构 → 开发主体: 协议履行 30, 数据安全 30, 成果合规使用 20, 场景成效 20.
pub fn default_criteria(relation: EvaluationRelation) -> AppResult<EvaluationCriteria> {
    let set: &[(&str, u32)] = match relation {
        EvaluationRelation::AuthorityToProvider => {
            &[("数据供给及时性", 30), ("数据质量", 30), ("目录与元数据规范性", 20), ("数据安全管理", 20)]
        }
        EvaluationRelation::AgencyToOperator => {
            &[("运营服务能力", 25), ("数据安全与合规", 30), ("收费与收益管理", 20), ("场景成效", 25)]
        }
        EvaluationRelation::OperatorToDeveloper => {
            &[("协议履行", 30), ("数据安全", 30), ("成果合规使用", 20), ("场景成效", 20)]
        }
    };
    EvaluationCriteria::new(
        set.iter().map(|(n, w)| Indicator { name: (*n).to_owned(), weight: *w }).collect(),
    )
    .map_err(AppError::internal)
}

/// The criteria of an evaluation: item (6) of the implementing agency's plan in force when the
/// relationship has one (the agency evaluating the operator; the operator evaluating developers under
/// its agreement with the agency), else the relationship's default set. A plan whose criteria do not
/// parse falls back to the defaults too (the plan's own submission refuses such criteria).
pub async fn criteria_for(
    state: &AppState,
    relation: EvaluationRelation,
    evaluator: i64,
) -> AppResult<EvaluationCriteria> {
    let agency = match relation {
        EvaluationRelation::AuthorityToProvider => None,
        EvaluationRelation::AgencyToOperator => Some(evaluator),
        EvaluationRelation::OperatorToDeveloper => {
            state.store.operation_agreement_of(evaluator).await?.map(|a| a.agency_org_id)
        }
    };
    if let Some(agency) = agency {
        let in_force = state
            .store
            .plans()
            .await?
            .into_iter()
            .find(|p| p.plan.agency == agency && p.plan.status == PlanStatus::Approved);
        if let Some(criteria) = in_force.and_then(|p| p.plan.criteria().ok()) {
            return Ok(criteria);
        }
    }
    default_criteria(relation)
}

/// The organisation type that evaluates in a relationship (third-party appointments by the
/// implementing agency are not offered yet).
pub fn evaluator_type(relation: EvaluationRelation) -> OrgType {
    match relation {
        EvaluationRelation::AuthorityToProvider => OrgType::DataAuthority,
        EvaluationRelation::AgencyToOperator => OrgType::ImplementingAgency,
        EvaluationRelation::OperatorToDeveloper => OrgType::Operator,
    }
}

async fn party_resource(state: &AppState, id: i64, orgs: &[i64]) -> AppResult<PolicyResource> {
    let mut parties: Vec<(i64, RegionCode)> = Vec::new();
    for org in orgs {
        if !parties.iter().any(|(o, _)| o == org) {
            parties.push((*org, state.store.org(*org).await?.region));
        }
    }
    Ok(PolicyResource::Onboarding { id, parties })
}

/// Loads an evaluation the caller may act on with `action`: `evaluation.view` (either party),
/// `evaluation.conduct` (the evaluator), `evaluation.respond` (the evaluated party).
pub async fn evaluation_for(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    action: &str,
) -> AppResult<EvaluationRecord> {
    let rec = state.store.evaluation(id).await?;
    let e = &rec.evaluation;
    let orgs = match action {
        "evaluation.conduct" => vec![e.evaluator.org],
        "evaluation.respond" => vec![e.evaluated],
        _ => vec![e.evaluator.org, e.evaluated],
    };
    let resource = party_resource(state, id, &orgs).await?;
    ctx.require(state, action, &resource)?;
    // The policy lets any member role of a party through; the party must also be the right one.
    let me = ctx.me()?;
    if !orgs.contains(&me.org.id) {
        return Err(AppError::forbidden());
    }
    Ok(rec)
}

/// Evaluations of the caller's organisation (as evaluator or evaluated party), newest first.
pub async fn visible_evaluations(state: &AppState, ctx: &Ctx) -> AppResult<Vec<EvaluationRecord>> {
    let me = ctx.me()?;
    let own = party_resource(state, 0, &[me.org.id]).await?;
    ctx.require(state, "evaluation.view", &own)?;
    Ok(state.store.evaluations_of_org(me.org.id).await?)
}

/// Standing of a party in a relationship (for renewal): the latest result and whether a 限期整改
/// awaits a passing re-evaluation.
pub async fn standing(
    state: &AppState,
    evaluated: i64,
    relation: EvaluationRelation,
) -> AppResult<EvaluationStanding> {
    let list: Vec<Evaluation> = state
        .store
        .evaluations_of_party(evaluated, relation)
        .await?
        .into_iter()
        .map(|r| r.evaluation)
        .collect();
    Ok(EvaluationStanding::of(&list))
}

/// The sanction the evaluations of a developer suggest to its operator (never applied).
pub async fn sanction_suggestion(
    state: &AppState,
    developer: i64,
    today: NaiveDate,
) -> AppResult<Option<SanctionSuggestion>> {
    let list: Vec<Evaluation> = state
        .store
        .evaluations_of_party(developer, EvaluationRelation::OperatorToDeveloper)
        .await?
        .into_iter()
        .map(|r| r.evaluation)
        .collect();
    Ok(suggest_sanction(&list, today))
}

/// Domain refusals: bad input is a 422 naming the field, a wrong moment a 409.
fn domain_err(e: EvaluationError) -> AppError {
    let field = match &e {
        EvaluationError::PartiesMismatch { .. } => Some("evaluated_org_id"),
        EvaluationError::PeriodMissing => Some("period"),
        EvaluationError::RequestUndescribed => Some("what"),
        EvaluationError::BadDueDate => Some("due"),
        EvaluationError::NoSuchRequest => Some("request"),
        EvaluationError::NoEvidence => Some("evidence"),
        EvaluationError::ScoreMissing { .. }
        | EvaluationError::UnknownIndicator { .. }
        | EvaluationError::ScoreOutOfRange { .. } => Some("scores"),
        EvaluationError::BetterThanBand { .. } => Some("result"),
        EvaluationError::ReasonRequired => Some("reason"),
        _ => None,
    };
    match field {
        Some(f) => AppError::invalid(f, e.code(), e.message_zh()),
        None => AppError::conflict(e.code(), e.message_zh()),
    }
}

fn stale(e: StoreError) -> AppError {
    match e {
        StoreError::Conflict("evaluation") => {
            AppError::conflict("evaluation.stale", "该评估刚被他人处理，请刷新后重试")
        }
        other => other.into(),
    }
}

fn text(field: &'static str, s: &str, max: usize) -> AppResult<String> {
    let t = s.trim();
    if t.chars().count() > max {
        return Err(AppError::invalid(field, "input.too_long", format!("内容过长（最多 {max} 个字符）")));
    }
    Ok(t.to_owned())
}

/// Evidence ids must be materials the caller's organisation uploaded.
async fn own_materials(
    state: &AppState,
    ctx: &Ctx,
    field: &'static str,
    ids: &[i64],
) -> AppResult<Vec<String>> {
    let me = ctx.me()?;
    let mut out = Vec::new();
    for id in ids {
        let ok = match state.store.material(*id).await {
            Ok(m) => m.org_id == me.org.id,
            Err(StoreError::NotFound) => false,
            Err(e) => return Err(e.into()),
        };
        if !ok {
            return Err(AppError::invalid(field, "material.unavailable", "材料不存在或不属于本单位"));
        }
        out.push(id.to_string());
    }
    Ok(out)
}

/// Uploads an evidence file or requested material (either party): stored with its SM3 digest in
/// the material store, referenced by id afterwards.
pub async fn upload_evidence(
    state: &AppState,
    ctx: &Ctx,
    file_name: &str,
    media_type: &str,
    bytes: &[u8],
) -> AppResult<(i64, String)> {
    let me = ctx.me()?;
    ctx.require(state, "evaluation.view", &party_resource(state, 0, &[me.org.id]).await?)?;
    let digest = hex::encode(Sm3::digest(bytes));
    let size = u64::try_from(bytes.len()).map_err(AppError::internal)?;
    let material =
        Material::new(MaterialKind::Other, file_name, media_type, size, &digest, SETTINGS.material_max_bytes)
            .map_err(|e| AppError::invalid("file", e.code(), e.message_zh()))?;
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    let id = tx.insert_material(me.org.id, &material, bytes).await?;
    tx.commit().await?;
    Ok((id, digest))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct OpenEvaluationInput {
    /// authority_to_provider | agency_to_operator | operator_to_developer
    pub relation: String,
    pub evaluated_org_id: i64,
    /// 评估期间, e.g. `2026 年度`.
    pub period: String,
}

fn parse_relation(s: &str) -> AppResult<EvaluationRelation> {
    EvaluationRelation::parse(s.trim())
        .ok_or_else(|| AppError::invalid("relation", "evaluation.relation", "请选择评估关系"))
}

async fn open_task_for_evaluator(
    tx: &mut yunshu_store::Tx,
    cal: &yunshu_domain::calendar::WorkCalendar,
    e: &Evaluation,
    id: i64,
    evaluated_name: &str,
    today: NaiveDate,
) -> AppResult<()> {
    tx.open_task(
        &NewTask {
            org_id: e.evaluator.org,
            role: None,
            kind: "evaluation.conduct",
            subject_type: "evaluation",
            subject_id: id.to_string(),
            title: format!("待评估：{}（{}，{}）", evaluated_name, e.relation.label_zh(), e.period),
            link: format!("/evaluations/{id}"),
        },
        Some(Period { start: today, unit: PeriodUnit::WorkingDays, amount: CONCLUDE_WORKING_DAYS, cal }),
    )
    .await?;
    Ok(())
}

/// The evaluator opens an evaluation of a party with the relationship's indicators.
pub async fn open_evaluation(state: &AppState, ctx: &Ctx, input: &OpenEvaluationInput) -> AppResult<i64> {
    let me = ctx.me()?;
    ctx.require(state, "evaluation.conduct", &party_resource(state, 0, &[me.org.id]).await?)?;
    let relation = parse_relation(&input.relation)?;
    if me.org.org_type != evaluator_type(relation) {
        return Err(AppError::forbidden());
    }
    let evaluated = match state.store.org(input.evaluated_org_id).await {
        Ok(o) => o,
        Err(StoreError::NotFound) => {
            return Err(AppError::invalid("evaluated_org_id", "org.not_found", "被评估单位不存在"));
        }
        Err(e) => return Err(e.into()),
    };
    let e = Evaluation::open(
        relation,
        Evaluator { org: me.org.id, org_type: me.org.org_type, appointment: String::new() },
        evaluated.id,
        evaluated.org_type,
        &text("period", &input.period, 50)?,
        criteria_for(state, relation, me.org.id).await?,
        ctx.today(),
    )
    .map_err(domain_err)?;
    let cal = state.store.work_calendar().await?;
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    let id = tx.insert_evaluation(&e, None).await?;
    open_task_for_evaluator(&mut tx, &cal, &e, id, &evaluated.name, ctx.today()).await?;
    tx.commit().await?;
    Ok(id)
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct MaterialRequestInput {
    /// 需提供的资料.
    pub what: String,
    /// Last day to submit, `YYYY-MM-DD`, after today.
    pub due: String,
}

/// The evaluator asks the evaluated party for materials by a due date (a to-do for the party).
pub async fn request_materials(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    input: &MaterialRequestInput,
) -> AppResult<EvaluationRecord> {
    let rec = evaluation_for(state, ctx, id, "evaluation.conduct").await?;
    let due = parse_date("due", &input.due)?;
    let mut e = rec.evaluation.clone();
    let what = text("what", &input.what, 2000)?;
    let idx = e.request_materials(&what, due, ctx.today()).map_err(domain_err)?;
    let evaluator = state.store.org(e.evaluator.org).await?;
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    tx.save_evaluation(
        &rec,
        &e,
        "evaluation.request_materials",
        json!({"request": idx, "what": what, "due": due.to_string()}),
    )
    .await
    .map_err(stale)?;
    tx.open_task(
        &NewTask {
            org_id: e.evaluated,
            role: None,
            kind: "evaluation.materials",
            subject_type: "evaluation_request",
            subject_id: format!("{id}.{idx}"),
            title: format!("{}要求提供评估资料：{}（{} 前）", evaluator.name, what, due),
            link: format!("/evaluations/{id}"),
        },
        None,
    )
    .await?;
    tx.commit().await?;
    state.store.evaluation(id).await.map_err(Into::into)
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct SubmitMaterialsInput {
    /// Index of the request answered (0-based, as listed).
    pub request: usize,
    /// Materials uploaded before by the evaluated party.
    pub material_ids: Vec<i64>,
}

/// The evaluated party answers a request for materials (late answers are accepted and flagged).
pub async fn submit_materials(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    input: &SubmitMaterialsInput,
) -> AppResult<EvaluationRecord> {
    let rec = evaluation_for(state, ctx, id, "evaluation.respond").await?;
    let materials = own_materials(state, ctx, "material_ids", &input.material_ids).await?;
    let mut e = rec.evaluation.clone();
    e.submit_materials(input.request, materials.clone(), ctx.today()).map_err(|err| match err {
        EvaluationError::NoEvidence => AppError::invalid("material_ids", err.code(), err.message_zh()),
        other => domain_err(other),
    })?;
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    tx.save_evaluation(
        &rec,
        &e,
        "evaluation.submit_materials",
        json!({"request": input.request, "materials": materials}),
    )
    .await
    .map_err(stale)?;
    tx.close_tasks("evaluation_request", &format!("{id}.{}", input.request)).await?;
    tx.commit().await?;
    state.store.evaluation(id).await.map_err(Into::into)
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct ScoreItemInput {
    pub indicator: String,
    /// 0–100.
    pub score: u32,
    /// Evidence materials uploaded by the evaluator.
    #[serde(default)]
    pub evidence: Vec<i64>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct ConcludeInput {
    /// One score per indicator of the evaluation.
    pub scores: Vec<ScoreItemInput>,
    /// Optional explicit result (pass | rectify | fail), no better than the thresholds give.
    #[serde(default)]
    pub result: Option<String>,
    /// Required when `result` differs from the thresholds' result.
    #[serde(default)]
    pub reason: String,
}

/// The evaluator scores every indicator and concludes; a 限期整改 orders the rectification (a to-do
/// for the evaluated party, due 30 calendar days later rolled to the next working day).
pub async fn conclude(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    input: &ConcludeInput,
) -> AppResult<EvaluationRecord> {
    let rec = evaluation_for(state, ctx, id, "evaluation.conduct").await?;
    let mut scores = Vec::new();
    for s in &input.scores {
        scores.push(ScoreInput {
            indicator: s.indicator.clone(),
            score: s.score,
            evidence: own_materials(state, ctx, "evidence", &s.evidence).await?,
        });
    }
    let chosen = match input.result.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(code) => Some(
            EvaluationResult::parse(code)
                .ok_or_else(|| AppError::invalid("result", "evaluation.result", "请选择评估结果"))?,
        ),
        None => None,
    };
    let reason = text("reason", &input.reason, 2000)?;
    let cal = state.store.work_calendar().await?;
    let mut e = rec.evaluation.clone();
    let result = e
        .conclude(scores, chosen.map(|r| (r, reason.as_str())), &SETTINGS, ctx.today(), &cal)
        .map_err(domain_err)?;
    let total = e.conclusion.as_ref().map(|c| c.total_text());
    let evaluator = state.store.org(e.evaluator.org).await?;
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    tx.save_evaluation(&rec, &e, "evaluation.conclude", json!({"total": total, "reason": reason}))
        .await
        .map_err(stale)?;
    tx.close_tasks("evaluation", &id.to_string()).await?;
    if result == EvaluationResult::Rectify {
        tx.open_task(
            &NewTask {
                org_id: e.evaluated,
                role: None,
                kind: "rectification",
                subject_type: "evaluation",
                subject_id: id.to_string(),
                title: format!("限期整改：{}评估（{}），请提交整改方案并按期完成", evaluator.name, e.period),
                link: format!("/evaluations/{id}"),
            },
            Some(Period {
                start: ctx.today(),
                unit: PeriodUnit::CalendarDays,
                amount: yunshu_domain::authorization::RECTIFICATION_DAYS,
                cal: &cal,
            }),
        )
        .await?;
    }
    tx.commit().await?;
    state.store.evaluation(id).await.map_err(Into::into)
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct RectificationInput {
    /// 整改方案 (plan) or 整改完成情况 (completion report).
    pub text: String,
}

/// Rectification steps of the evaluated party.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RectStep {
    Plan,
    Completion,
}

impl RectStep {
    pub fn parse(s: &str) -> Option<RectStep> {
        match s {
            "plan" => Some(RectStep::Plan),
            "completion" => Some(RectStep::Completion),
            _ => None,
        }
    }
}

/// The evaluated party submits its rectification plan or reports completion (late completion is
/// accepted and flagged); completion leaves the evaluator a to-do to re-evaluate.
pub async fn rectify(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    step: RectStep,
    input: &RectificationInput,
) -> AppResult<EvaluationRecord> {
    let rec = evaluation_for(state, ctx, id, "evaluation.respond").await?;
    let body = text("text", &input.text, 4000)?;
    let mut e = rec.evaluation.clone();
    let field_err = |err: EvaluationError| match err {
        EvaluationError::ReasonRequired => AppError::invalid("text", err.code(), err.message_zh()),
        other => domain_err(other),
    };
    let action = match step {
        RectStep::Plan => {
            e.submit_rectification_plan(&body, ctx.today()).map_err(field_err)?;
            "rectification.plan"
        }
        RectStep::Completion => {
            e.complete_rectification(&body, ctx.today()).map_err(field_err)?;
            "rectification.complete"
        }
    };
    let evaluated = state.store.org(e.evaluated).await?;
    let cal = state.store.work_calendar().await?;
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    tx.save_evaluation(&rec, &e, action, json!({"text": body})).await.map_err(stale)?;
    if step == RectStep::Completion {
        tx.close_tasks("evaluation", &id.to_string()).await?;
        tx.open_task(
            &NewTask {
                org_id: e.evaluator.org,
                role: None,
                kind: "evaluation.reevaluate",
                subject_type: "evaluation",
                subject_id: id.to_string(),
                title: format!("待复评：{} 已报告整改完成（{}）", evaluated.name, e.period),
                link: format!("/evaluations/{id}"),
            },
            Some(Period {
                start: ctx.today(),
                unit: PeriodUnit::WorkingDays,
                amount: CONCLUDE_WORKING_DAYS,
                cal: &cal,
            }),
        )
        .await?;
    }
    tx.commit().await?;
    state.store.evaluation(id).await.map_err(Into::into)
}

/// The evaluator re-evaluates (复评) after a 限期整改: a new evaluation of the same party, relation
/// and period, linked to the one it follows up.
pub async fn reevaluate(state: &AppState, ctx: &Ctx, id: i64) -> AppResult<i64> {
    let rec = evaluation_for(state, ctx, id, "evaluation.conduct").await?;
    let prev = &rec.evaluation;
    if prev.result() != Some(EvaluationResult::Rectify) {
        return Err(AppError::conflict("evaluation.no_rectification", "该评估未要求限期整改，无需复评"));
    }
    let me = ctx.me()?;
    let e = Evaluation::open(
        prev.relation,
        prev.evaluator.clone(),
        prev.evaluated,
        prev.evaluated_type,
        &prev.period,
        criteria_for(state, prev.relation, prev.evaluator.org).await?,
        ctx.today(),
    )
    .map_err(domain_err)?;
    let evaluated = state.store.org(e.evaluated).await?;
    let cal = state.store.work_calendar().await?;
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    tx.close_tasks("evaluation", &id.to_string()).await?;
    let new_id = tx.insert_evaluation(&e, Some(id)).await?;
    open_task_for_evaluator(&mut tx, &cal, &e, new_id, &evaluated.name, ctx.today()).await?;
    tx.commit().await?;
    tracing::debug!(by = me.org.id, from = id, to = new_id, "re-evaluation opened");
    Ok(new_id)
}

/// The scheduler job: flags rectifications past their due date and not completed, once each, and
/// leaves the evaluator a to-do (overdue rectification may suggest a sanction).
pub async fn flag_overdue_rectifications(state: &AppState, now: DateTime<Utc>) -> AppResult<usize> {
    let today = crate::web::beijing_date(now);
    let mut n = 0;
    for rec in state.store.rectifications_overdue(today).await? {
        let overdue = rec.evaluation.rectification.as_ref().is_some_and(|r| r.is_overdue(today));
        if !overdue {
            continue;
        }
        let evaluated = state.store.org(rec.evaluation.evaluated).await?;
        let mut tx = state.store.begin(now, &yunshu_store::AuditCtx::system("scheduler")).await?;
        if !tx.flag_rectification_overdue(&rec, today).await? {
            tx.rollback().await?;
            continue;
        }
        let due = rec.evaluation.rectification.as_ref().map(|r| r.due.to_string()).unwrap_or_default();
        tx.open_task(
            &NewTask {
                org_id: rec.evaluation.evaluator.org,
                role: None,
                kind: "rectification.overdue",
                subject_type: "evaluation_overdue",
                subject_id: rec.id.to_string(),
                title: format!("整改逾期：{} 未在 {} 前完成整改", evaluated.name, due),
                link: format!("/evaluations/{}", rec.id),
            },
            None,
        )
        .await?;
        tx.commit().await?;
        n += 1;
    }
    Ok(n)
}
