//! Data-use requests (Art. 20), developer projects, security assessments (Art. 25(3)) and grants
//! (Art. 21, 28), shared by pages and API.
//!
//! The chain: the operator's 经办 drafts a request for one of its open scenarios over the registered
//! resources of ONE provider, field by field with the least-necessary justification, and submits it;
//! the data authority serving the provider's region ([`super::serving_org`]) and the provider each get
//! a to-do due in [`DECIDE_WORKING_DAYS`] working days and approve (the provider ticking its consent
//! for restricted fields) or refuse with a reason. A developer opens a project under a development
//! agreement that [`super::sanctions::developer_access`] allows; the operator records a security
//! assessment for (project, approved request) and grants fields at a usage class no wider than
//! requested, with row scope, *k*, optional ε and expiry. [`grant_chain`] rebuilds the whole chain
//! from the store for the sandbox, which calls it before every query. Every step moves the domain value
//! of `yunshu_domain::data_use`, opens or closes its to-dos and audits, in one transaction.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::json;
use yunshu_domain::authorization::developer::ScenarioStatus;
use yunshu_domain::authorization::sanction::AccessDecision;
use yunshu_domain::catalog::{DataItem, UsageClass};
use yunshu_domain::data_use::{
    AccessChain, Approver, ChainDenied, Conclusion, DEFAULT_K, DataUseError, DataUseRequest, FieldRef, Grant,
    GrantInput, GrantedField, KThreshold, Project, RequestStatus, RequestedField, ResourceFacts, ScenarioRef,
    SecurityAssessment, check_chain,
};
use yunshu_domain::party::OrgType;
use yunshu_store::StoreError;
use yunshu_store::calendar::PeriodUnit;
use yunshu_store::catalog::ResourceRecord;
use yunshu_store::data_use::{AssessmentRecord, GrantRecord, ProjectRecord, RequestRecord};
use yunshu_store::tasks::{NewTask, Period};

use super::parse_date;
use crate::AppState;
use crate::context::Ctx;
use crate::error::{AppError, AppResult};

/// Working days the data authority and the provider each have to decide a submitted request (a
/// service level of the platform; the measures name none).
pub const DECIDE_WORKING_DAYS: u32 = 10;

/// Subject types of the two decision to-dos of a request: one per side, so that each side's decision
/// closes its own to-do only.
pub const TASK_AUTHORITY: &str = "data_use_authority";
pub const TASK_PROVIDER: &str = "data_use_provider";

/// Longest free text accepted in one field.
const TEXT_MAX: usize = 4000;

/// Domain refusals: input faults are a 422 naming the field, a wrong moment a 409.
pub fn domain_err(e: DataUseError) -> AppError {
    use DataUseError as E;
    let field = match &e {
        E::Purpose => Some("purpose"),
        E::RowScope => Some("row_scope"),
        E::NoFields
        | E::DuplicateField(_)
        | E::Justification(_)
        | E::ResourceNotFound(_)
        | E::OtherProvider { .. }
        | E::ResourceUnusable { .. }
        | E::FieldNotFound(_)
        | E::FieldExcluded(_)
        | E::ClassNotAllowed { .. }
        | E::NotRequested(_)
        | E::WiderThanRequested { .. }
        | E::AggregationRisk { .. } => Some("fields"),
        E::ValidityInPast | E::ValidityTooLong { .. } | E::AssessmentValidity { .. } => Some("valid_until"),
        E::ConsentMissing(_) => Some("consented"),
        E::Reason => Some("reason"),
        E::AssessmentText => Some("risks"),
        E::Conditions => Some("conditions"),
        E::ProjectName => Some("name"),
        E::KTooLow(_) => Some("k"),
        E::Epsilon => Some("epsilon"),
        E::ExpiryInPast => Some("until"),
        _ => None,
    };
    match field {
        Some(f) => AppError::invalid(f, e.code(), e.message_zh()),
        None => AppError::conflict(e.code(), e.message_zh()),
    }
}

fn stale(e: StoreError) -> AppError {
    match e {
        StoreError::Conflict("data_use_request") => {
            AppError::conflict("data_use.stale", "该数据使用申请刚被他人处理，请刷新后重试")
        }
        StoreError::Conflict("grant") => AppError::conflict("data_use.already_revoked", "授权已撤销"),
        other => other.into(),
    }
}

fn text(field: &'static str, s: &str) -> AppResult<String> {
    let t = s.trim();
    if t.chars().count() > TEXT_MAX {
        return Err(AppError::invalid(
            field,
            "input.too_long",
            format!("内容过长（最多 {TEXT_MAX} 个字符）"),
        ));
    }
    Ok(t.to_owned())
}

fn parse_class(s: &str) -> AppResult<UsageClass> {
    UsageClass::parse(s.trim()).ok_or_else(|| {
        AppError::invalid(
            "fields",
            "data_use.class_unknown",
            "请为每个数据项选择使用方式（不可见、仅作关联键、仅聚合、维度、开放）",
        )
    })
}

// ---- loading with the policy -------------------------------------------------------------------

/// Loads a request the caller may act on with `action` (`data_use.view` for every party and the
/// readers of the area, `data_use.operate` for the operator, `data_use.decide` for the deciders).
pub async fn request_for(state: &AppState, ctx: &Ctx, id: i64, action: &str) -> AppResult<RequestRecord> {
    let rec = state.store.data_use_request(id).await?;
    let r = &rec.request;
    let orgs: Vec<i64> = match action {
        "data_use.operate" => vec![r.operator],
        _ => vec![r.operator, r.provider],
    };
    ctx.require(state, action, &super::onboarding::onboarding_resource(state, id, &orgs).await?)?;
    Ok(rec)
}

/// Requests the caller sees: its own organisation's (operator, provider, deciding authority) and, for
/// data authorities and supervisors, every request inside their area.
pub async fn visible_requests(state: &AppState, ctx: &Ctx) -> AppResult<Vec<RequestRecord>> {
    let me = ctx.me()?;
    ctx.require(
        state,
        "data_use.view",
        &super::onboarding::onboarding_resource(state, 0, &[me.org.id]).await?,
    )?;
    let all = match me.org.org_type {
        OrgType::DataAuthority | OrgType::Supervisor => state.store.all_data_use_requests().await?,
        _ => state.store.data_use_requests_of_org(me.org.id).await?,
    };
    let mut out = Vec::new();
    for rec in all {
        let res = super::onboarding::onboarding_resource(
            state,
            rec.id,
            &[rec.request.operator, rec.request.provider],
        )
        .await?;
        if ctx.allowed(state, "data_use.view", &res) {
            out.push(rec);
        }
    }
    Ok(out)
}

/// Loads a project the caller may act on with `action` (`project.view` for both parties and the
/// readers; `data_use.operate` for the operator's staff).
pub async fn project_for(state: &AppState, ctx: &Ctx, id: i64, action: &str) -> AppResult<ProjectRecord> {
    let rec = state.store.project(id).await?;
    let p = &rec.project;
    let orgs: Vec<i64> = match action {
        "data_use.operate" => vec![p.operator],
        "project.manage" => vec![p.developer],
        _ => vec![p.developer, p.operator],
    };
    ctx.require(state, action, &super::onboarding::onboarding_resource(state, id, &orgs).await?)?;
    Ok(rec)
}

/// Projects the caller sees: its own (developer or operator) and, for data authorities and
/// supervisors, those inside their area.
pub async fn visible_projects(state: &AppState, ctx: &Ctx) -> AppResult<Vec<ProjectRecord>> {
    let me = ctx.me()?;
    ctx.require(
        state,
        "project.view",
        &super::onboarding::onboarding_resource(state, 0, &[me.org.id]).await?,
    )?;
    let all = match me.org.org_type {
        OrgType::DataAuthority | OrgType::Supervisor => state.store.all_projects().await?,
        _ => state.store.projects_of_org(me.org.id).await?,
    };
    let mut out = Vec::new();
    for rec in all {
        let res = super::onboarding::onboarding_resource(
            state,
            rec.id,
            &[rec.project.developer, rec.project.operator],
        )
        .await?;
        if ctx.allowed(state, "project.view", &res) {
            out.push(rec);
        }
    }
    Ok(out)
}

/// Loads a grant through its project (same rules as [`project_for`]).
pub async fn grant_for(state: &AppState, ctx: &Ctx, id: i64, action: &str) -> AppResult<GrantRecord> {
    let g = state.store.grant(id).await?;
    project_for(state, ctx, g.grant.project, action).await?;
    Ok(g)
}

/// Loads an assessment through its project (same rules as [`project_for`]).
pub async fn assessment_for(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    action: &str,
) -> AppResult<AssessmentRecord> {
    let a = state.store.assessment(id).await?;
    project_for(state, ctx, a.assessment.project, action).await?;
    Ok(a)
}

// ---- requests -------------------------------------------------------------------------------------

/// One requested field.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct FieldInput {
    pub resource_id: i64,
    /// The data item's name (数据项).
    pub item: String,
    /// hidden | join_key | aggregate | dimension | open
    #[serde(default)]
    pub class: String,
    /// Why this field is needed (最小必要理由); ignored in grants.
    #[serde(default)]
    pub justification: String,
}

/// A new data-use request (draft).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct RequestInput {
    /// One of the operator's open scenarios.
    pub scenario_id: i64,
    /// The one providing organisation whose registered resources are requested.
    pub provider_org_id: i64,
    /// 用途.
    #[serde(default)]
    pub purpose: String,
    /// Which rows, in words (数据范围).
    #[serde(default)]
    pub row_scope: String,
    /// Last day in force, YYYY-MM-DD (at most one year after submission).
    #[serde(default)]
    pub valid_until: String,
    #[serde(default)]
    pub fields: Vec<FieldInput>,
}

/// The operator's clerk drafts a request (nothing is checked against the catalogue until submission,
/// so a draft may be saved half done). Returns its id.
pub async fn create_request(state: &AppState, ctx: &Ctx, input: &RequestInput) -> AppResult<i64> {
    let me = ctx.me()?;
    ctx.require(
        state,
        "data_use.operate",
        &super::onboarding::onboarding_resource(state, 0, &[me.org.id]).await?,
    )?;
    let scenario = match state.store.scenario(input.scenario_id).await {
        Ok(s) if s.scenario.operator == me.org.id && s.scenario.status == ScenarioStatus::Open => s,
        Ok(_) | Err(StoreError::NotFound) => {
            return Err(AppError::invalid(
                "scenario_id",
                "data_use.scenario",
                "请选择本运营机构已发布、征集中的应用场景",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let provider = match state.store.org(input.provider_org_id).await {
        Ok(o) if o.active && o.org_type.is_data_provider() => o,
        Ok(_) | Err(StoreError::NotFound) => {
            return Err(AppError::invalid("provider_org_id", "data_use.provider", "请选择数据提供单位"));
        }
        Err(e) => return Err(e.into()),
    };
    let valid_until = parse_date("valid_until", &input.valid_until)?;
    let mut fields = Vec::new();
    for f in &input.fields {
        fields.push(RequestedField {
            resource_id: f.resource_id,
            item: text("fields", &f.item)?,
            class: parse_class(&f.class)?,
            justification: text("fields", &f.justification)?,
        });
    }
    let r = DataUseRequest::draft(
        me.org.id,
        provider.id,
        scenario.id,
        &text("purpose", &input.purpose)?,
        &text("row_scope", &input.row_scope)?,
        fields,
        valid_until,
    );
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    let id = tx.insert_data_use_request(&r, me.user.id).await?;
    tx.commit().await?;
    Ok(id)
}

/// A move on a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestMove {
    Submit,
    Withdraw,
    Approve,
    Refuse,
}

impl RequestMove {
    pub fn parse(s: &str) -> Option<RequestMove> {
        Some(match s {
            "submit" => RequestMove::Submit,
            "withdraw" => RequestMove::Withdraw,
            "approve" => RequestMove::Approve,
            "refuse" => RequestMove::Refuse,
            _ => return None,
        })
    }
}

/// One field named in a consent list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct FieldRefInput {
    pub resource_id: i64,
    pub item: String,
}

/// The body of a move: a refusal's reason; the provider's consent to restricted fields.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct RequestMoveInput {
    /// Reason (required to refuse).
    #[serde(default)]
    pub reason: String,
    /// Restricted fields the provider consents to, each one (逐项同意).
    #[serde(default)]
    pub consented: Vec<FieldRefInput>,
}

/// The catalogue facts of every resource a request names (unknown ones are left out: the domain
/// names them).
async fn resources_of(
    state: &AppState,
    ids: impl IntoIterator<Item = i64>,
) -> AppResult<Vec<ResourceRecord>> {
    let ids: BTreeSet<i64> = ids.into_iter().collect();
    let mut out = Vec::new();
    for id in ids {
        match state.store.resource(id).await {
            Ok(r) => out.push(r),
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

async fn scenario_title(state: &AppState, id: i64) -> AppResult<String> {
    Ok(state.store.scenario(id).await?.scenario.title)
}

pub async fn move_request(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    mv: RequestMove,
    input: &RequestMoveInput,
) -> AppResult<RequestRecord> {
    match mv {
        RequestMove::Submit => submit(state, ctx, id).await?,
        RequestMove::Withdraw => withdraw(state, ctx, id).await?,
        RequestMove::Approve | RequestMove::Refuse => decide(state, ctx, id, mv, input).await?,
    }
    Ok(state.store.data_use_request(id).await?)
}

async fn submit(state: &AppState, ctx: &Ctx, id: i64) -> AppResult<()> {
    let rec = request_for(state, ctx, id, "data_use.operate").await?;
    let me = ctx.me()?;
    if rec.request.operator != me.org.id {
        return Err(AppError::forbidden());
    }
    let scenario = state.store.scenario(rec.request.scenario).await?.scenario;
    // Scenarios carry no separate category: a provider's rule (Art. 5) names the scenario by its title.
    let sref = ScenarioRef { id: rec.request.scenario, category: &scenario.title, name: &scenario.title };
    let resources = resources_of(state, rec.request.fields.iter().map(|f| f.resource_id)).await?;
    let facts: Vec<ResourceFacts<'_>> = resources
        .iter()
        .map(|r| ResourceFacts {
            resource_id: r.id,
            provider: r.provider_org_id,
            use_facts: r.use_facts(),
            items: &r.items,
        })
        .collect();
    let mut r = rec.request.clone();
    r.submit(&sref, &facts, &state.config.grade_policy, ctx.today()).map_err(domain_err)?;
    let provider = state.store.org(r.provider).await?;
    let authority =
        super::serving_org(state, OrgType::DataAuthority, &provider.region).await?.ok_or_else(|| {
            AppError::conflict(
                "data_use.no_authority",
                "该数据提供单位所在地区没有数据主管部门，无法提交审批",
            )
        })?;
    let cal = state.store.work_calendar().await?;
    let period =
        Period { start: ctx.today(), unit: PeriodUnit::WorkingDays, amount: DECIDE_WORKING_DAYS, cal: &cal };
    let link = format!("/data-use/requests/{id}");
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    tx.save_data_use_request(
        &rec,
        &r,
        Some(authority.id),
        "data_use.submit",
        json!({"authority_org_id": authority.id, "consent_required": r.consent_required.len(),
               "valid_until": r.valid_until.to_string()}),
    )
    .await
    .map_err(stale)?;
    for (org, subject, who) in
        [(authority.id, TASK_AUTHORITY, "主管部门审核"), (provider.id, TASK_PROVIDER, "提供单位审核")]
    {
        tx.open_task(
            &NewTask {
                org_id: org,
                role: None,
                kind: if subject == TASK_AUTHORITY {
                    "data_use.authority_decide"
                } else {
                    "data_use.provider_decide"
                },
                subject_type: subject,
                subject_id: id.to_string(),
                title: format!("待{who}数据使用申请：{}（{}）", scenario.title, me.org.name),
                link: link.clone(),
            },
            Some(period),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn withdraw(state: &AppState, ctx: &Ctx, id: i64) -> AppResult<()> {
    let rec = request_for(state, ctx, id, "data_use.operate").await?;
    let me = ctx.me()?;
    let mut r = rec.request.clone();
    r.withdraw(me.org.id).map_err(domain_err)?;
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    tx.close_tasks(TASK_AUTHORITY, &id.to_string()).await?;
    tx.close_tasks(TASK_PROVIDER, &id.to_string()).await?;
    tx.save_data_use_request(&rec, &r, rec.authority_org_id, "data_use.withdraw", json!({}))
        .await
        .map_err(stale)?;
    tx.commit().await?;
    Ok(())
}

async fn decide(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    mv: RequestMove,
    input: &RequestMoveInput,
) -> AppResult<()> {
    let rec = request_for(state, ctx, id, "data_use.decide").await?;
    let me = ctx.me()?;
    let side = if me.org.id == rec.request.provider {
        Approver::Provider
    } else if me.org.org_type == OrgType::DataAuthority {
        // Only the authority serving the provider's region, fixed on submission, decides.
        if rec.authority_org_id != Some(me.org.id) {
            return Err(AppError::forbidden());
        }
        Approver::Authority
    } else {
        return Err(AppError::forbidden());
    };
    let mut r = rec.request.clone();
    let today = ctx.today();
    let status = match mv {
        RequestMove::Approve => {
            let consented: Vec<FieldRef> =
                input.consented.iter().map(|f| FieldRef::new(f.resource_id, &f.item)).collect();
            r.approve(side, me.org.id, me.org.org_type, me.user.id, &consented, today)
        }
        _ => r.refuse(side, me.org.id, me.org.org_type, me.user.id, &text("reason", &input.reason)?, today),
    }
    .map_err(domain_err)?;
    let subject = if side == Approver::Authority { TASK_AUTHORITY } else { TASK_PROVIDER };
    let action = if mv == RequestMove::Approve { "data_use.approve" } else { "data_use.refuse" };
    let title = scenario_title(state, r.scenario).await?;
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    tx.close_tasks(subject, &id.to_string()).await?;
    if status == RequestStatus::Refused {
        // A refusal ends the request: the other side's to-do has nothing left to decide.
        tx.close_tasks(TASK_AUTHORITY, &id.to_string()).await?;
        tx.close_tasks(TASK_PROVIDER, &id.to_string()).await?;
    }
    tx.save_data_use_request(
        &rec,
        &r,
        rec.authority_org_id,
        action,
        json!({"side": side.code(), "status": status.code(), "reason": input.reason.trim(),
               "consented": r.provider_decision.as_ref().map(|d| d.consented.len()).unwrap_or(0)}),
    )
    .await
    .map_err(stale)?;
    if matches!(status, RequestStatus::Approved | RequestStatus::Refused) {
        tx.notify(
            rec.created_by,
            &format!("数据使用申请{}：{title}", status.label_zh()),
            Some(&format!("/data-use/requests/{id}")),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The scheduler's step: approved requests past their validity expire (idempotent: only approved
/// ones are read), each in its own transaction audited as the system.
pub async fn expire_lapsed(state: &AppState, now: DateTime<Utc>) -> AppResult<usize> {
    let today = crate::web::beijing_date(now);
    let mut n = 0;
    for rec in state.store.data_use_requests_lapsed(today).await? {
        let mut r = rec.request.clone();
        if r.advance(today) != RequestStatus::Expired {
            continue;
        }
        let mut tx = state.store.begin(now, &yunshu_store::AuditCtx::system("scheduler")).await?;
        match tx
            .save_data_use_request(
                &rec,
                &r,
                rec.authority_org_id,
                "data_use.expire",
                json!({"valid_until": r.valid_until.to_string(), "detail": "有效期届满，申请失效"}),
            )
            .await
        {
            Ok(()) => {
                tx.commit().await?;
                n += 1;
            }
            // Someone else moved it meanwhile: the next tick reads it afresh.
            Err(StoreError::Conflict(_)) => tx.rollback().await?,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(n)
}

// ---- projects -------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct ProjectInput {
    /// A scenario the developer holds a signed development agreement for.
    pub scenario_id: i64,
    /// 项目名称.
    #[serde(default)]
    pub name: String,
    /// 项目用途.
    #[serde(default)]
    pub purpose: String,
}

/// The developer's clerk opens a project under its development agreement for the scenario.
pub async fn open_project(state: &AppState, ctx: &Ctx, input: &ProjectInput) -> AppResult<i64> {
    let me = ctx.me()?;
    ctx.require(
        state,
        "project.manage",
        &super::onboarding::onboarding_resource(state, 0, &[me.org.id]).await?,
    )?;
    let today = ctx.today();
    let access = super::sanctions::developer_access(state, me.org.id, input.scenario_id, today).await?;
    let mut agreements: Vec<_> = state
        .store
        .dev_agreements_of(me.org.id)
        .await?
        .into_iter()
        .filter(|d| d.agreement.scenario == input.scenario_id)
        .collect();
    // The agreement in force (a renewal may sit beside an old one), else the newest.
    agreements.sort_by_key(|d| (d.agreement.grants_access(today) && !d.agreement.is_terminated(), d.id));
    let Some(d) = agreements.last() else {
        let reason = match access {
            AccessDecision::Denied(r) => r,
            AccessDecision::Allowed => yunshu_domain::authorization::sanction::DenyReason::NoAgreement,
        };
        return Err(domain_err(DataUseError::AgreementDenied(reason)));
    };
    let p = Project::open(
        me.org.id,
        (d.id, &d.agreement),
        access,
        &text("name", &input.name)?,
        &text("purpose", &input.purpose)?,
        today,
    )
    .map_err(domain_err)?;
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    let id = tx.insert_project(&p).await?;
    tx.commit().await?;
    Ok(id)
}

// ---- assessments ----------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct SecurityAssessmentInput {
    pub project_id: i64,
    /// The approved request of the project's operator and scenario.
    pub request_id: i64,
    /// 风险分析.
    #[serde(default)]
    pub risks: String,
    /// 防护措施.
    #[serde(default)]
    pub measures: String,
    /// pass (通过) | conditional (有条件通过) | fail (不通过)
    #[serde(default)]
    pub conclusion: String,
    /// The conditions of a conditional pass.
    #[serde(default)]
    pub conditions: String,
    /// Last day the assessment holds, YYYY-MM-DD; empty: the request's validity.
    #[serde(default)]
    pub valid_until: String,
}

/// The operator records a security assessment of giving the approved request's fields to the project.
pub async fn record_assessment(
    state: &AppState,
    ctx: &Ctx,
    input: &SecurityAssessmentInput,
) -> AppResult<i64> {
    let me = ctx.me()?;
    let project = project_for(state, ctx, input.project_id, "data_use.operate").await?;
    if project.project.operator != me.org.id {
        return Err(AppError::forbidden());
    }
    let request = match state.store.data_use_request(input.request_id).await {
        Ok(r) if r.request.operator == me.org.id => r,
        Ok(_) | Err(StoreError::NotFound) => {
            return Err(AppError::invalid(
                "request_id",
                "data_use.request_unknown",
                "请选择本运营机构的数据使用申请",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let conclusion = match input.conclusion.trim() {
        "pass" => Conclusion::Pass,
        "conditional" => Conclusion::Conditional(text("conditions", &input.conditions)?),
        "fail" => Conclusion::Fail,
        _ => return Err(AppError::invalid("conclusion", "data_use.conclusion", "请选择评估结论")),
    };
    let valid_until = match input.valid_until.trim() {
        "" => None,
        s => Some(parse_date("valid_until", s)?),
    };
    let a = SecurityAssessment::record(
        (project.id, &project.project),
        (request.id, &request.request),
        &text("risks", &input.risks)?,
        &text("measures", &input.measures)?,
        conclusion,
        me.user.id,
        valid_until,
        ctx.today(),
    )
    .map_err(domain_err)?;
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    let id = tx.insert_assessment(&a).await?;
    tx.commit().await?;
    Ok(id)
}

// ---- grants -----------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct GrantForm {
    pub project_id: i64,
    /// A passing assessment of this project (it names the request).
    pub assessment_id: i64,
    /// Granted fields with their usage class (justification ignored).
    #[serde(default)]
    pub fields: Vec<FieldInput>,
    /// Optional SQL predicate over the dataset's field names (the engine validates it); empty: the
    /// request's row scope in words.
    #[serde(default)]
    pub row_scope: String,
    /// Aggregation threshold k (default 10, at least 5).
    #[serde(default)]
    pub k: Option<u32>,
    /// Differential-privacy budget ε for the project, if used.
    #[serde(default)]
    pub epsilon: Option<f64>,
    /// An earlier end, YYYY-MM-DD (optional).
    #[serde(default)]
    pub until: String,
}

/// The operator grants fields of an approved, assessed request to the project.
pub async fn create_grant(state: &AppState, ctx: &Ctx, input: &GrantForm) -> AppResult<i64> {
    let g = build_grant(state, ctx, input).await?;
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    let id = tx.insert_grant(&g, ctx.me()?.user.id).await?;
    tx.commit().await?;
    Ok(id)
}

/// Every check of [`create_grant`] without storing anything: the grant as it would be, with its
/// combined grade (关联汇聚), so that the operator sees the grade before granting.
pub async fn preview_grant(state: &AppState, ctx: &Ctx, input: &GrantForm) -> AppResult<Grant> {
    build_grant(state, ctx, input).await
}

async fn build_grant(state: &AppState, ctx: &Ctx, input: &GrantForm) -> AppResult<Grant> {
    let me = ctx.me()?;
    let project = project_for(state, ctx, input.project_id, "data_use.operate").await?;
    if project.project.operator != me.org.id {
        return Err(AppError::forbidden());
    }
    let assessment = match state.store.assessment(input.assessment_id).await {
        Ok(a) if a.assessment.project == project.id => a,
        Ok(_) | Err(StoreError::NotFound) => {
            return Err(AppError::invalid(
                "assessment_id",
                "data_use.assessment_unknown",
                "请选择该项目的安全评估",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let request = state.store.data_use_request(assessment.assessment.request).await?;
    let agreement = state.store.dev_agreement(project.project.agreement).await?;
    let mut fields = Vec::new();
    for f in &input.fields {
        fields.push(GrantedField {
            resource_id: f.resource_id,
            item: text("fields", &f.item)?,
            class: parse_class(&f.class)?,
        });
    }
    let resources = resources_of(state, fields.iter().map(|f| f.resource_id)).await?;
    // The negative list and the other catalogue refusals bind grants as they bind requests.
    for r in &resources {
        super::catalog::require_usable(r)?;
    }
    let items: Vec<(i64, &DataItem)> =
        resources.iter().flat_map(|r| r.items.iter().map(move |i| (r.id, i))).collect();
    let k = KThreshold::new(input.k.unwrap_or(DEFAULT_K)).map_err(domain_err)?;
    let row_scope = text("row_scope", &input.row_scope)?;
    if row_scope.contains(';') {
        return Err(AppError::invalid(
            "row_scope",
            "data_use.row_scope_sql",
            "数据范围条件只能是一个筛选条件，不能包含分号",
        ));
    }
    let until = match input.until.trim() {
        "" => None,
        s => Some(parse_date("until", s)?),
    };
    let g = Grant::build(
        (project.id, &project.project),
        &agreement.agreement,
        (request.id, &request.request),
        (assessment.id, &assessment.assessment),
        &items,
        &state.config.grade_policy,
        GrantInput { fields, row_scope, k, epsilon: input.epsilon, until },
        ctx.today(),
    )
    .map_err(domain_err)?;
    Ok(g)
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct RevokeInput {
    /// 撤销理由.
    #[serde(default)]
    pub reason: String,
}

/// The operator revokes a grant, with a reason; queries stop at once ([`grant_chain`]).
pub async fn revoke_grant(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    input: &RevokeInput,
) -> AppResult<GrantRecord> {
    let me = ctx.me()?;
    let g = grant_for(state, ctx, id, "data_use.operate").await?;
    let project = state.store.project(g.grant.project).await?;
    if project.project.operator != me.org.id {
        return Err(AppError::forbidden());
    }
    let mut grant = g.grant.clone();
    grant.revoke(me.user.id, &text("reason", &input.reason)?, ctx.today()).map_err(domain_err)?;
    let rev = grant.revoked.clone().ok_or_else(|| AppError::internal("revocation missing"))?;
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    tx.revoke_grant(id, project.id, &rev).await.map_err(stale)?;
    tx.commit().await?;
    Ok(state.store.grant(id).await?)
}

/// The whole access chain of a grant, loaded fresh from the store and checked for `today`: the
/// development agreement (sanctions, termination, term), the project, the grant, its request and
/// assessment, and each resource's catalogue facts (negative list first). The sandbox calls this
/// before every query, before a queued job starts and before an output is released.
pub async fn grant_chain(
    state: &AppState,
    grant_id: i64,
    today: NaiveDate,
) -> AppResult<Result<(), ChainDenied>> {
    let g = state.store.grant(grant_id).await?;
    let project = state.store.project(g.grant.project).await?;
    let request = state.store.data_use_request(g.grant.request).await?;
    let assessment = state.store.assessment(g.grant.assessment).await?;
    let agreement =
        super::sanctions::developer_access(state, project.project.developer, project.project.scenario, today)
            .await?;
    let resources: Vec<(i64, yunshu_domain::catalog::UseFacts)> =
        resources_of(state, g.grant.resources()).await?.iter().map(|r| (r.id, r.use_facts())).collect();
    let chain = AccessChain {
        agreement,
        project: (project.id, &project.project),
        grant: &g.grant,
        request: (request.id, &request.request),
        assessment: (assessment.id, &assessment.assessment),
        resources: &resources,
    };
    Ok(check_chain(&chain, today))
}
