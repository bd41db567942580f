//! Developer onboarding (Art. 12–13), shared by pages and API: the operator publishes a scenario or
//! assesses a proposed one; a developer uploads its materials and applies; the operator reviews
//! (supplement with a deadline, review records, the five conditions), publishes the public notice of
//! at least 5 working days, decides the objections the public lodges, and signs the development
//! agreement, after which the developer has access for that scenario. Each step moves the domain state
//! machine, closes and opens the to-dos it causes (with their working-day deadlines) and audits, in
//! one transaction. A supplement deadline that passes lapses the application: [`expire_overdue`] runs
//! from the server's scheduler tick, and the domain refuses a late supplement anyway.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::json;
use sm3::{Digest, Sm3};
use yunshu_domain::authorization::developer::{
    Application, ApplicationStatus, AssessmentItem, ConditionCheck, DeveloperError, ObjectionOutcome,
    QualificationCondition, ReviewMethod, ReviewRecord, Scenario, ScenarioAssessment,
};
use yunshu_domain::authorization::material::{Material, MaterialKind};
use yunshu_domain::authorization::{LongTermApproval, Settings, Term, TermError};
use yunshu_domain::party::OrgType;
use yunshu_domain::regions::RegionCode;
use yunshu_store::StoreError;
use yunshu_store::calendar::PeriodUnit;
use yunshu_store::onboarding::{ApplicationRecord, ScenarioRecord};
use yunshu_store::tasks::{NewTask, Period};

use super::parse_date;
use crate::AppState;
use crate::authz::PolicyResource;
use crate::context::Ctx;
use crate::error::{AppError, AppResult};

/// The onboarding numbers the measures leave open. The platform has one province; until they are
/// stored per province the defaults apply (20 MiB materials, 5 working days to supplement).
pub const SETTINGS: Settings = Settings {
    material_max_bytes: 20 * 1024 * 1024,
    supplement_working_days: 5,
    attestation_working_days: 10,
    pass_threshold: 60,
    rectify_threshold: 40,
};
/// Working days the operator gives itself to assess a proposal or review an application (a service
/// level of the platform; the measures name none).
pub const REVIEW_WORKING_DAYS: u32 = 20;
/// Working days to decide an objection or to publish the notice of a qualified applicant.
pub const DECIDE_WORKING_DAYS: u32 = 5;
/// Working days after the notice ends to sign the agreement.
pub const SIGN_WORKING_DAYS: u32 = 10;

/// The policy entity of a scenario or an application: inside each party organisation.
/// The policy resource of an object shared by several organisations (each with its region).
pub(crate) async fn onboarding_resource(
    state: &AppState,
    id: i64,
    orgs: &[i64],
) -> AppResult<PolicyResource> {
    let mut parties: Vec<(i64, RegionCode)> = Vec::new();
    for org in orgs {
        if !parties.iter().any(|(o, _)| o == org) {
            parties.push((*org, state.store.org(*org).await?.region));
        }
    }
    Ok(PolicyResource::Onboarding { id, parties })
}

/// Loads a scenario the caller may manage (its operator's clerk or head).
pub async fn scenario_for_manage(state: &AppState, ctx: &Ctx, id: i64) -> AppResult<ScenarioRecord> {
    let s = state.store.scenario(id).await?;
    ctx.require(state, "scenario.manage", &onboarding_resource(state, id, &[s.scenario.operator]).await?)?;
    Ok(s)
}

/// Loads an application the caller may act on with `action` (`application.view` for both parties,
/// `application.apply` for the applicant, `application.review` for the operator).
pub async fn application_for(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    action: &str,
) -> AppResult<ApplicationRecord> {
    let rec = state.store.application(id).await?;
    let a = &rec.application;
    let orgs: Vec<i64> = match action {
        "application.review" => vec![a.operator],
        "application.apply" => vec![a.applicant],
        _ => vec![a.applicant, a.operator],
    };
    ctx.require(state, action, &onboarding_resource(state, id, &orgs).await?)?;
    Ok(rec)
}

/// Scenarios the caller sees: open ones (they are public), plus every scenario of which its
/// organisation is the operator or the proposer.
pub async fn visible_scenarios(state: &AppState, ctx: &Ctx) -> AppResult<Vec<ScenarioRecord>> {
    let me = ctx.me()?;
    Ok(state
        .store
        .scenarios()
        .await?
        .into_iter()
        .filter(|s| {
            s.scenario.status == yunshu_domain::authorization::developer::ScenarioStatus::Open
                || s.scenario.operator == me.org.id
                || s.scenario.proposer == Some(me.org.id)
        })
        .collect())
}

/// Applications of the caller's organisation (as applicant or operator).
pub async fn visible_applications(state: &AppState, ctx: &Ctx) -> AppResult<Vec<ApplicationRecord>> {
    let me = ctx.me()?;
    Ok(state.store.applications_of_org(me.org.id).await?)
}

/// Whether the organisation may act on the scenario today: a development agreement in force, not
/// terminated, not suspended or cancelled ([`super::sanctions::developer_access`], read afresh on
/// every request so a sanction bites at once for sessions and tokens alike).
pub async fn has_scenario_access(
    state: &AppState,
    org_id: i64,
    scenario_id: i64,
    today: NaiveDate,
) -> AppResult<bool> {
    Ok(super::sanctions::developer_access(state, org_id, scenario_id, today).await?.is_allowed())
}

/// Domain refusals: missing input is a 422 naming the field, a wrong moment a 409.
fn domain_err(e: DeveloperError) -> AppError {
    let field = match &e {
        DeveloperError::ScenarioUndescribed => Some("title"),
        DeveloperError::ReasonRequired => Some("reason"),
        DeveloperError::MaterialsMissing { .. } => Some("material_ids"),
        DeveloperError::BadDate => Some("date"),
        DeveloperError::ConditionUnchecked { .. } => Some("checks"),
        DeveloperError::NoticeTooShort { .. } => Some("end"),
        DeveloperError::Term(TermError::EndNotAfterStart | TermError::TooLong { .. }) => Some("end"),
        DeveloperError::Term(TermError::BeyondOperatorAgreement { .. }) => Some("end"),
        _ => None,
    };
    match field {
        Some(f) => AppError::invalid(f, e.code(), e.message_zh()),
        None => AppError::conflict(e.code(), e.message_zh()),
    }
}

fn stale(e: StoreError) -> AppError {
    match e {
        StoreError::Conflict("application") => {
            AppError::conflict("application.stale", "该申请刚被他人处理，请刷新后重试")
        }
        StoreError::Conflict("material") => {
            AppError::invalid("material_ids", "material.unavailable", "材料不存在、不属于本单位或已被使用")
        }
        StoreError::Conflict("agreement") => {
            AppError::conflict("agreement.exists", "该申请已签订开发利用协议")
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

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct ScenarioInput {
    /// 应用场景名称.
    pub title: String,
    /// 场景说明：需求、数据范围、预期成果.
    pub description: String,
    /// For a proposal (主动提出): the operator it is proposed to. Ignored when the operator publishes.
    #[serde(default)]
    pub operator_org_id: Option<i64>,
}

/// The operator publishes a scenario notice (应用场景开发利用公告).
pub async fn publish_scenario(state: &AppState, ctx: &Ctx, input: &ScenarioInput) -> AppResult<i64> {
    let me = ctx.me()?;
    ctx.require(state, "scenario.manage", &onboarding_resource(state, 0, &[me.org.id]).await?)?;
    let s = Scenario::publish(
        me.org.id,
        me.org.org_type,
        &text("title", &input.title, 100)?,
        &text("description", &input.description, 4000)?,
        ctx.today(),
    )
    .map_err(domain_err)?;
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    let id = tx.insert_scenario(&s, "scenario.publish").await?;
    tx.commit().await?;
    Ok(id)
}

/// A developer proposes its own scenario to an operator, which must assess it.
pub async fn propose_scenario(state: &AppState, ctx: &Ctx, input: &ScenarioInput) -> AppResult<i64> {
    let me = ctx.me()?;
    ctx.require(state, "application.apply", &onboarding_resource(state, 0, &[me.org.id]).await?)?;
    let operator_id = input
        .operator_org_id
        .ok_or_else(|| AppError::invalid("operator_org_id", "scenario.operator", "请选择运营机构"))?;
    let operator = match state.store.org(operator_id).await {
        Ok(o) if o.org_type == OrgType::Operator && o.active => o,
        Ok(_) | Err(StoreError::NotFound) => {
            return Err(AppError::invalid("operator_org_id", "scenario.operator", "所选机构不是运营机构"));
        }
        Err(e) => return Err(e.into()),
    };
    let s = Scenario::propose(
        me.org.id,
        operator.id,
        &text("title", &input.title, 100)?,
        &text("description", &input.description, 4000)?,
        ctx.today(),
    )
    .map_err(domain_err)?;
    let cal = state.store.work_calendar().await?;
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    let id = tx.insert_scenario(&s, "scenario.propose").await?;
    tx.open_task(
        &NewTask {
            org_id: operator.id,
            role: None,
            kind: "scenario.assess",
            subject_type: "scenario",
            subject_id: id.to_string(),
            title: format!("待评估主动提出的应用场景：{}（{}）", s.title, me.org.name),
            link: format!("/onboarding/scenarios/{id}"),
        },
        Some(Period {
            start: ctx.today(),
            unit: PeriodUnit::WorkingDays,
            amount: REVIEW_WORKING_DAYS,
            cal: &cal,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct AssessmentInput {
    /// 需求合理性.
    #[serde(default)]
    pub need_passed: bool,
    #[serde(default)]
    pub need_reason: String,
    /// 场景合规性.
    #[serde(default)]
    pub compliance_passed: bool,
    #[serde(default)]
    pub compliance_reason: String,
    /// 安全风险性.
    #[serde(default)]
    pub security_passed: bool,
    #[serde(default)]
    pub security_reason: String,
}

/// The operator assesses a proposed scenario (need, compliance, security risk, each with reasons).
pub async fn assess_scenario(state: &AppState, ctx: &Ctx, id: i64, input: &AssessmentInput) -> AppResult<()> {
    let mut rec = scenario_for_manage(state, ctx, id).await?;
    let me = ctx.me()?;
    let item = |passed: bool, reason: &str| AssessmentItem { passed, reason: reason.trim().to_owned() };
    let assessment = ScenarioAssessment {
        need: item(input.need_passed, &input.need_reason),
        compliance: item(input.compliance_passed, &input.compliance_reason),
        security_risk: item(input.security_passed, &input.security_reason),
        assessed_on: ctx.today(),
    };
    rec.scenario.assess(me.org.id, assessment).map_err(domain_err)?;
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    tx.close_tasks("scenario", &id.to_string()).await?;
    tx.save_scenario(id, &rec.scenario, "scenario.assess").await?;
    tx.commit().await?;
    Ok(())
}

/// The operator closes a scenario to new applications.
pub async fn close_scenario(state: &AppState, ctx: &Ctx, id: i64) -> AppResult<()> {
    let mut rec = scenario_for_manage(state, ctx, id).await?;
    rec.scenario.close(ctx.me()?.org.id).map_err(domain_err)?;
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    tx.save_scenario(id, &rec.scenario, "scenario.close").await?;
    tx.commit().await?;
    Ok(())
}

/// The caller's organisation uploads a material: type, media type and size are checked by the
/// domain, the SM3 digest is computed here over the bytes received. Returns (id, SM3 hex).
pub async fn upload_material(
    state: &AppState,
    ctx: &Ctx,
    kind: &str,
    file_name: &str,
    media_type: &str,
    bytes: &[u8],
) -> AppResult<(i64, String)> {
    let me = ctx.me()?;
    ctx.require(state, "application.apply", &onboarding_resource(state, 0, &[me.org.id]).await?)?;
    let kind = MaterialKind::parse(kind.trim())
        .ok_or_else(|| AppError::invalid("kind", "material.kind", "请选择材料类别"))?;
    let digest = hex::encode(Sm3::digest(bytes));
    let size = u64::try_from(bytes.len()).map_err(AppError::internal)?;
    let material = Material::new(kind, file_name, media_type, size, &digest, SETTINGS.material_max_bytes)
        .map_err(|e| AppError::invalid("file", e.code(), e.message_zh()))?;
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    let id = tx.insert_material(me.org.id, &material, bytes).await?;
    tx.commit().await?;
    Ok((id, digest))
}

/// Materials uploaded by the caller's organisation and not yet used.
async fn own_materials(state: &AppState, ctx: &Ctx, ids: &[i64]) -> AppResult<Vec<Material>> {
    let me = ctx.me()?;
    let mut out = Vec::new();
    for id in ids {
        let m = match state.store.material(*id).await {
            Ok(m) => m,
            Err(StoreError::NotFound) => return Err(stale(StoreError::Conflict("material"))),
            Err(e) => return Err(e.into()),
        };
        if m.org_id != me.org.id || m.application_id.is_some() {
            return Err(stale(StoreError::Conflict("material")));
        }
        out.push(m.material);
    }
    Ok(out)
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct MaterialsInput {
    /// Ids of materials uploaded before (`POST /api/v1/materials`).
    #[serde(default)]
    pub material_ids: Vec<i64>,
}

/// A developer applies for a scenario with its uploaded materials (the four required kinds).
pub async fn apply(state: &AppState, ctx: &Ctx, scenario_id: i64, input: &MaterialsInput) -> AppResult<i64> {
    let me = ctx.me()?;
    ctx.require(state, "application.apply", &onboarding_resource(state, 0, &[me.org.id]).await?)?;
    let s = state.store.scenario(scenario_id).await?;
    let materials = own_materials(state, ctx, &input.material_ids).await?;
    // Every sanction against the organisation, whoever imposed it: a restriction binds the province.
    let sanctions = super::sanctions::sanctions_of_org(state, me.org.id).await?;
    let a = Application::submit(
        scenario_id,
        &s.scenario,
        me.org.id,
        me.org.org_type,
        materials,
        &sanctions,
        ctx.today(),
    )
    .map_err(domain_err)?;
    let cal = state.store.work_calendar().await?;
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    let id = tx.insert_application(&a, &input.material_ids).await.map_err(stale)?;
    tx.open_task(
        &NewTask {
            org_id: a.operator,
            role: None,
            kind: "application.review",
            subject_type: "application",
            subject_id: id.to_string(),
            title: format!("待资格审查：{}（{}）", s.scenario.title, me.org.name),
            link: format!("/onboarding/applications/{id}"),
        },
        Some(Period {
            start: ctx.today(),
            unit: PeriodUnit::WorkingDays,
            amount: REVIEW_WORKING_DAYS,
            cal: &cal,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// A move on an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppMove {
    RequestSupplement,
    Supplement,
    Review,
    Complete,
    Notice,
    Sign,
    Withdraw,
}

impl AppMove {
    pub fn parse(s: &str) -> Option<AppMove> {
        Some(match s {
            "request-supplement" => AppMove::RequestSupplement,
            "supplement" => AppMove::Supplement,
            "review" => AppMove::Review,
            "complete" => AppMove::Complete,
            "notice" => AppMove::Notice,
            "sign" => AppMove::Sign,
            "withdraw" => AppMove::Withdraw,
            _ => return None,
        })
    }

    fn audit_action(self) -> &'static str {
        match self {
            AppMove::RequestSupplement => "application.request_supplement",
            AppMove::Supplement => "application.supplement",
            AppMove::Review => "application.add_review",
            AppMove::Complete => "application.complete_review",
            AppMove::Notice => "application.notice",
            AppMove::Sign => "application.sign",
            AppMove::Withdraw => "application.withdraw",
        }
    }

    /// The applicant's moves; the others are the operator's.
    fn by_applicant(self) -> bool {
        matches!(self, AppMove::Supplement | AppMove::Withdraw)
    }
}

/// One condition finding.
#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
pub struct CheckInput {
    /// business_credit | technical_capability | data_management | data_security | other_rules
    pub condition: String,
    #[serde(default)]
    pub met: bool,
    /// Required when not met.
    #[serde(default)]
    pub note: String,
}

/// Input of any move (each move reads the fields it needs).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct AppMoveInput {
    /// request-supplement: what to supplement or correct.
    #[serde(default)]
    pub what: String,
    /// request-supplement: working days given (default 5).
    #[serde(default)]
    pub working_days: Option<u32>,
    /// supplement: ids of newly uploaded materials.
    #[serde(default)]
    pub material_ids: Vec<i64>,
    /// review: document_review | defence | expert_panel.
    #[serde(default)]
    pub method: String,
    /// review: the date of the review (YYYY-MM-DD, default today).
    #[serde(default)]
    pub date: String,
    /// review: summary of what was found.
    #[serde(default)]
    pub summary: String,
    /// complete: one finding per condition.
    #[serde(default)]
    pub checks: Vec<CheckInput>,
    /// notice / sign: first day (YYYY-MM-DD, default today).
    #[serde(default)]
    pub start: String,
    /// notice: last day (default: the 5th working day after the start); sign: the term's end.
    #[serde(default)]
    pub end: String,
    /// sign beyond 3 years: the justification…
    #[serde(default)]
    pub justification: String,
    /// …and who approved it.
    #[serde(default)]
    pub approved_by: String,
}

fn date_or(field: &'static str, s: &str, default: NaiveDate) -> AppResult<NaiveDate> {
    if s.trim().is_empty() { Ok(default) } else { parse_date(field, s) }
}

/// Acts on an application: the operator's request-supplement / review / complete / notice / sign,
/// the applicant's supplement / withdraw. Returns the new status and the new agreement, if signed.
pub async fn move_application(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    mv: AppMove,
    input: &AppMoveInput,
) -> AppResult<(ApplicationStatus, Option<i64>)> {
    let action = if mv.by_applicant() { "application.apply" } else { "application.review" };
    let rec = application_for(state, ctx, id, action).await?;
    let today = ctx.today();
    let cal = state.store.work_calendar().await?;
    let scenario = state.store.scenario(rec.application.scenario).await?;
    let applicant = state.store.org(rec.application.applicant).await?;
    let mut a = rec.application.clone();
    // The next to-do: (org, kind, title, period start, working days).
    let mut next: Option<(i64, &'static str, String, NaiveDate, u32)> = None;
    let mut new_materials: Vec<i64> = Vec::new();
    let mut signed = None;
    let mut summary = json!({});
    let title = &scenario.scenario.title;
    match mv {
        AppMove::RequestSupplement => {
            let what = text("what", &input.what, 2000)?;
            let due = a
                .request_supplement(&what, input.working_days, &SETTINGS, today, &cal)
                .map_err(domain_err)?;
            let days = input.working_days.unwrap_or(SETTINGS.supplement_working_days).max(1);
            next = Some((
                a.applicant,
                "application.supplement",
                format!("请补正申请材料：{title}"),
                today,
                days,
            ));
            summary = json!({"what": what, "due": due.to_string()});
        }
        AppMove::Supplement => {
            let materials = own_materials(state, ctx, &input.material_ids).await?;
            a.supplement(materials, today).map_err(domain_err)?;
            new_materials.clone_from(&input.material_ids);
            next = Some((
                a.operator,
                "application.review",
                format!("补正材料已提交，待资格审查：{title}（{}）", applicant.name),
                today,
                REVIEW_WORKING_DAYS,
            ));
            summary = json!({"materials": input.material_ids});
        }
        AppMove::Review => {
            let method = ReviewMethod::parse(input.method.trim())
                .ok_or_else(|| AppError::invalid("method", "review.method", "请选择审查方式"))?;
            let date = date_or("date", &input.date, today)?;
            let summary_text = text("summary", &input.summary, 4000)?;
            a.add_review(ReviewRecord { method, date, summary: summary_text.clone() }, today)
                .map_err(domain_err)?;
            summary = json!({"method": method.code(), "date": date.to_string(), "summary": summary_text});
        }
        AppMove::Complete => {
            let mut checks = Vec::new();
            for c in &input.checks {
                let condition = QualificationCondition::parse(c.condition.trim())
                    .ok_or_else(|| AppError::invalid("checks", "review.condition", "未知的资格条件"))?;
                checks.push(ConditionCheck { condition, met: c.met, note: c.note.trim().to_owned() });
            }
            let status = a.complete_review(&scenario.scenario, checks, today).map_err(domain_err)?;
            if status == ApplicationStatus::Qualified {
                next = Some((
                    a.operator,
                    "application.notice",
                    format!("资格审查通过，待公示：{title}（{}）", applicant.name),
                    today,
                    DECIDE_WORKING_DAYS,
                ));
            }
            summary = json!({"reason": a.rejection_reason});
        }
        AppMove::Notice => {
            let start = date_or("start", &input.start, today)?;
            let end = if input.end.trim().is_empty() { None } else { Some(parse_date("end", &input.end)?) };
            let notice = a.publish_notice(start, end, today, &cal).map_err(domain_err)?;
            let (start, end) = (notice.start, notice.end);
            next = Some((
                a.operator,
                "application.sign",
                format!("公示期满后签订开发利用协议：{title}（{}）", applicant.name),
                end,
                SIGN_WORKING_DAYS,
            ));
            summary = json!({"start": start.to_string(), "end": end.to_string()});
        }
        AppMove::Sign => {
            let start = date_or("start", &input.start, today)?;
            let end = parse_date("end", &input.end)?;
            let long_term = if input.justification.trim().is_empty() {
                None
            } else {
                Some(LongTermApproval {
                    justification: text("justification", &input.justification, 2000)?,
                    approved_by: text("approved_by", &input.approved_by, 200)?,
                    approved_on: today,
                    doc_number: None,
                })
            };
            let op = state.store.operation_agreement_of(a.operator).await?.ok_or_else(|| {
                AppError::conflict(
                    "onboarding.operator_agreement_not_live",
                    "运营机构的运营协议未登记，不能签订开发利用协议",
                )
            })?;
            let term = Term { start, end };
            let sanctions = super::sanctions::sanctions_of_org(state, a.applicant).await?;
            let agreement =
                a.sign_agreement(term, long_term, &op.to_domain(), &sanctions, today).map_err(domain_err)?;
            signed = Some(agreement);
            summary = json!({"start": start.to_string(), "end": end.to_string()});
        }
        AppMove::Withdraw => {
            a.withdraw().map_err(domain_err)?;
        }
    }
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    // Recording a review keeps the review to-do open; every other move settles it.
    if mv != AppMove::Review {
        tx.close_tasks("application", &id.to_string()).await?;
    }
    if let Some((org, kind, title, start, amount)) = next {
        tx.open_task(
            &NewTask {
                org_id: org,
                role: None,
                kind,
                subject_type: "application",
                subject_id: id.to_string(),
                title,
                link: format!("/onboarding/applications/{id}"),
            },
            Some(Period { start, unit: PeriodUnit::WorkingDays, amount, cal: &cal }),
        )
        .await?;
    }
    tx.save_application(&rec, &a, &new_materials, mv.audit_action(), summary).await.map_err(stale)?;
    let agreement_id = match &signed {
        Some(d) => Some(tx.insert_dev_agreement(id, d).await.map_err(stale)?),
        None => None,
    };
    tx.commit().await?;
    Ok((a.status, agreement_id))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct ObjectionInput {
    /// 异议人姓名或单位 (empty: anonymous).
    #[serde(default)]
    pub name: String,
    /// 联系方式 (optional).
    #[serde(default)]
    pub contact: String,
    /// 异议内容及理由.
    #[serde(default)]
    pub content: String,
}

impl ObjectionInput {
    /// The objector ("匿名" when not given), the contact and the content, trimmed and bounded; the
    /// content must say something (at least 5 characters). Shared by every kind of public notice.
    pub fn checked(&self) -> AppResult<(String, String, String)> {
        let name = text("name", &self.name, 100)?;
        let name = if name.is_empty() { "匿名".to_owned() } else { name };
        let contact = text("contact", &self.contact, 100)?;
        let content = text("content", &self.content, 4000)?;
        if content.chars().count() < 5 {
            return Err(AppError::invalid(
                "content",
                "objection.content",
                "请填写异议内容及理由（至少 5 个字）",
            ));
        }
        Ok((name, contact, content))
    }
}

/// Anyone, signed in or not, lodges an objection to an application in public notice.
pub async fn lodge_objection(state: &AppState, ctx: &Ctx, id: i64, input: &ObjectionInput) -> AppResult<i64> {
    ctx.require(state, "public.view", &PolicyResource::Platform)?;
    let rec = state.store.application(id).await?;
    // Only a notice that has started is public; anything else does not exist for the public.
    let started = rec.application.notices.last().is_some_and(|n| n.start <= ctx.today());
    if rec.application.status != ApplicationStatus::InNotice || !started {
        return Err(AppError::not_found());
    }
    let (name, contact, content) = input.checked()?;
    let mut a = rec.application.clone();
    let idx = a.lodge_objection(&name, &content, ctx.today()).map_err(domain_err)?;
    let notice_idx = a.notices.len().saturating_sub(1);
    let objection = a
        .notices
        .last()
        .and_then(|n| n.objections.get(idx))
        .cloned()
        .ok_or_else(|| AppError::internal("objection not recorded by the domain"))?;
    let scenario = state.store.scenario(a.scenario).await?;
    let cal = state.store.work_calendar().await?;
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    let oid = tx.insert_objection(id, notice_idx, idx, &name, &contact, &objection).await.map_err(stale)?;
    tx.open_task(
        &NewTask {
            org_id: a.operator,
            role: None,
            kind: "objection.decide",
            subject_type: "objection",
            subject_id: oid.to_string(),
            title: format!("公示异议待处理：{}", scenario.scenario.title),
            link: format!("/onboarding/applications/{id}"),
        },
        Some(Period {
            start: ctx.today(),
            unit: PeriodUnit::WorkingDays,
            amount: DECIDE_WORKING_DAYS,
            cal: &cal,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(oid)
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct ObjectionDecisionInput {
    /// dismissed | upheld_review | upheld_reject
    #[serde(default)]
    pub outcome: String,
    /// 处理理由.
    #[serde(default)]
    pub reason: String,
}

/// The operator decides an objection with reasons.
pub async fn decide_objection(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    objection_id: i64,
    input: &ObjectionDecisionInput,
) -> AppResult<ApplicationStatus> {
    let rec = application_for(state, ctx, id, "application.review").await?;
    let o = rec.objections.iter().find(|o| o.id == objection_id).ok_or_else(AppError::not_found)?;
    if o.notice_idx + 1 != rec.application.notices.len() {
        return Err(AppError::conflict("onboarding.objection_decided", "该异议属于以往的公示"));
    }
    let outcome = ObjectionOutcome::parse(input.outcome.trim())
        .ok_or_else(|| AppError::invalid("outcome", "objection.outcome", "请选择处理结论"))?;
    let reason = text("reason", &input.reason, 2000)?;
    let mut a = rec.application.clone();
    let status = a.decide_objection(o.idx, outcome, &reason, ctx.today()).map_err(domain_err)?;
    let scenario = state.store.scenario(a.scenario).await?;
    let cal = state.store.work_calendar().await?;
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    tx.close_tasks("objection", &objection_id.to_string()).await?;
    if status != ApplicationStatus::InNotice {
        tx.close_tasks("application", &id.to_string()).await?;
    }
    if status == ApplicationStatus::UnderReview {
        tx.open_task(
            &NewTask {
                org_id: a.operator,
                role: None,
                kind: "application.review",
                subject_type: "application",
                subject_id: id.to_string(),
                title: format!("异议成立，重新审查：{}", scenario.scenario.title),
                link: format!("/onboarding/applications/{id}"),
            },
            Some(Period {
                start: ctx.today(),
                unit: PeriodUnit::WorkingDays,
                amount: REVIEW_WORKING_DAYS,
                cal: &cal,
            }),
        )
        .await?;
    }
    tx.save_application(
        &rec,
        &a,
        &[],
        "objection.decide",
        json!({"objection_id": objection_id, "outcome": outcome.code(), "reason": reason}),
    )
    .await
    .map_err(stale)?;
    tx.commit().await?;
    Ok(status)
}

/// Applications in public notice today, for the public portal.
pub async fn public_notices(state: &AppState, today: NaiveDate) -> AppResult<Vec<ApplicationRecord>> {
    Ok(state
        .store
        .applications_in_notice(today)
        .await?
        .into_iter()
        .filter(|r| r.application.notices.last().is_some_and(|n| n.start <= today))
        .collect())
}

/// One application in public notice (404 for anything else: nothing else is public).
pub async fn public_notice(state: &AppState, id: i64, today: NaiveDate) -> AppResult<ApplicationRecord> {
    let rec = state.store.application(id).await?;
    let public = rec.application.status == ApplicationStatus::InNotice
        && rec.application.notices.last().is_some_and(|n| n.start <= today);
    if !public {
        return Err(AppError::not_found());
    }
    Ok(rec)
}

/// The scheduler's step: lapses every application whose supplement deadline passed before `now`'s
/// day (Beijing time), each in its own audited transaction. Returns how many lapsed.
pub async fn expire_overdue(state: &AppState, now: DateTime<Utc>) -> AppResult<usize> {
    let today = crate::web::beijing_date(now);
    let mut n = 0;
    for rec in state.store.applications_overdue(today).await? {
        let mut a = rec.application.clone();
        if !a.expire_if_overdue(today) {
            continue;
        }
        let due = a.supplements.last().map(|s| s.due.to_string());
        let mut tx = state.store.begin(now, &yunshu_store::AuditCtx::system("scheduler")).await?;
        tx.close_tasks("application", &rec.id.to_string()).await?;
        match tx.save_application(&rec, &a, &[], "application.lapse", json!({"due": due})).await {
            Ok(()) => {
                tx.commit().await?;
                n += 1;
            }
            // Someone acted on it meanwhile: their move wins, the next tick looks again.
            Err(StoreError::Conflict(_)) => tx.rollback().await?,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(n)
}
