//! JSON API of implementation plans (Art. 8–10), operation agreements (Art. 11) and the bureau's
//! filing to-dos and agreement overview. Same services as the pages.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::{Value, json};
use yunshu_domain::authorization::{DocNumber, Filing, FilingStatus, OPERATION_TERM_MAX_YEARS, Term};
use yunshu_domain::calendar::WorkCalendar;
use yunshu_store::plans::{
    AgreementRecord, PlanRecord, agreement_content_json, feasibility_json, plan_content_json,
};

use super::Created;
use crate::AppState;
use crate::context::Ctx;
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Path};
use crate::services::plans::{
    self as svc, AgreementInput, AgreementMove, AgreementMoveInput, PlanInput, PlanMove, PlanMoveInput,
};

/// 文号 prefixes of the printable records.
pub const PLAN_DOC_PREFIX: &str = "云数授方";
pub const AGREEMENT_DOC_PREFIX: &str = "云数运协";

#[derive(Serialize, utoipa::ToSchema)]
pub struct FilingView {
    /// not_required | due | filed | filed_late
    pub status: String,
    pub status_label: String,
    pub trigger: Option<String>,
    pub due: Option<String>,
    /// The due date rests on days the published calendar does not cover yet.
    pub provisional: bool,
    pub filed_on: Option<String>,
    /// Working days left until the due date (negative when overdue), while the filing is open.
    pub working_days_left: Option<i64>,
    pub overdue: bool,
}

pub fn filing_view(f: &Filing, cal: &WorkCalendar, today: chrono::NaiveDate) -> FilingView {
    let overdue = f.is_overdue(today);
    FilingView {
        status: f.status.code().to_owned(),
        status_label: if overdue { "逾期未备案".to_owned() } else { f.status.label_zh().to_owned() },
        trigger: f.trigger.map(|d| d.to_string()),
        due: f.due.map(|d| d.to_string()),
        provisional: f.provisional,
        filed_on: f.filed_on.map(|d| d.to_string()),
        working_days_left: svc::filing_days_left(cal, f, today),
        overdue,
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DecisionView {
    /// 会议名称 (agency decision) or 审议会议及文号 (government review).
    pub meeting: String,
    pub date: String,
    /// approved | rejected | returned
    pub outcome: String,
    pub outcome_label: String,
    pub minutes_ref: String,
}

fn decision_view(d: &yunshu_domain::authorization::CollectiveDecision) -> DecisionView {
    DecisionView {
        meeting: d.meeting.clone(),
        date: d.date.to_string(),
        outcome: d.outcome.code().to_owned(),
        outcome_label: d.outcome.label_zh().to_owned(),
        minutes_ref: d.minutes_ref.clone(),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ItemView {
    /// Number in the measures' list (1–12 items, 1–14 clauses).
    pub number: usize,
    pub code: String,
    pub label: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PlanView {
    pub id: i64,
    /// The first version's id, shared by every version.
    pub plan_no: i64,
    pub version: u32,
    pub agency_org_id: i64,
    pub agency_name: String,
    /// 授权运营名称 (item 1).
    pub name: String,
    /// province | prefecture | county
    pub level: String,
    /// draft | agency_decision | government_review | approved | rejected | superseded
    pub status: String,
    pub status_label: String,
    /// Editable only as a draft; an approved plan changes through a new version.
    pub locked: bool,
    /// The twelve items: name, necessity, operator_conditions [{category, requirement}], mode,
    /// industry_department, data_resources [{id, code, name}], update_frequency, data_quality,
    /// term_years, construction, technical_support, schedule [{name, due}], evaluation_criteria
    /// [{name, weight}], exit_conditions [text], asset_management, products [{name, class, form,
    /// form_note}], cost_accounting, revenue_sharing, data_security, personal_information,
    /// emergency_measures, rights_duties, supervision, other.
    #[schema(value_type = Object)]
    pub content: Value,
    #[schema(value_type = Object)]
    pub feasibility: Value,
    pub missing_items: Vec<ItemView>,
    pub missing_aspects: Vec<String>,
    /// major | minor, for a version after the first.
    pub change_kind: Option<String>,
    pub change_description: Option<String>,
    pub submitted_on: Option<String>,
    pub agency_decision: Option<DecisionView>,
    pub government_review: Option<DecisionView>,
    pub approved_on: Option<String>,
    pub superseded_on: Option<String>,
    pub filing: FilingView,
    /// 文号 of the plan record, once approved.
    pub doc_number: Option<String>,
}

fn doc_number(prefix: &str, on: Option<chrono::NaiveDate>, serial: Option<i64>) -> Option<String> {
    use chrono::Datelike;
    let (on, serial) = (on?, serial?);
    DocNumber::new(prefix, on.year(), u32::try_from(serial).ok()?).ok().map(|d| d.to_string())
}

pub async fn plan_view(state: &AppState, rec: &PlanRecord, today: chrono::NaiveDate) -> AppResult<PlanView> {
    let p = &rec.plan;
    let cal = state.store.work_calendar().await?;
    Ok(PlanView {
        id: rec.id,
        plan_no: rec.plan_no,
        version: p.version,
        agency_org_id: p.agency,
        agency_name: state.store.org(p.agency).await?.name,
        name: p.content.name.clone(),
        level: p.level.code().to_owned(),
        status: p.status.code().to_owned(),
        status_label: p.status.label_zh().to_owned(),
        locked: p.status != yunshu_domain::authorization::plan::PlanStatus::Draft,
        content: plan_content_json(&p.content),
        feasibility: feasibility_json(&p.feasibility),
        missing_items: p
            .content
            .missing_items()
            .into_iter()
            .map(|i| ItemView {
                number: i.number(),
                code: i.code().to_owned(),
                label: i.label_zh().to_owned(),
            })
            .collect(),
        missing_aspects: p
            .feasibility
            .missing_aspects()
            .into_iter()
            .map(|a| a.label_zh().to_owned())
            .collect(),
        change_kind: p.change.as_ref().map(|c| c.kind.code().to_owned()),
        change_description: p.change.as_ref().map(|c| c.description.clone()),
        submitted_on: p.submitted_on.map(|d| d.to_string()),
        agency_decision: p.agency_decision.as_ref().map(decision_view),
        government_review: p.government_review.as_ref().map(|r| DecisionView {
            meeting: r.meeting_ref.clone(),
            date: r.date.to_string(),
            outcome: r.outcome.code().to_owned(),
            outcome_label: r.outcome.label_zh().to_owned(),
            minutes_ref: String::new(),
        }),
        approved_on: p.approved_on.map(|d| d.to_string()),
        superseded_on: p.superseded_on.map(|d| d.to_string()),
        filing: filing_view(&p.filing, &cal, today),
        doc_number: doc_number(PLAN_DOC_PREFIX, p.approved_on, rec.doc_serial),
    })
}

pub async fn list_plans(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
) -> AppResult<axum::Json<Vec<PlanView>>> {
    let mut out = Vec::new();
    for p in svc::visible_plans(&state, &ctx).await? {
        out.push(plan_view(&state, &p, ctx.today()).await?);
    }
    Ok(axum::Json(out))
}

pub async fn create_plan(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Json(input): Json<PlanInput>,
) -> AppResult<(StatusCode, axum::Json<Created>)> {
    let id = svc::create_plan(&state, &ctx, &input).await?;
    Ok((StatusCode::CREATED, axum::Json(Created { id })))
}

pub async fn get_plan(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<PlanView>> {
    let rec = svc::plan_for(&state, &ctx, id, "plan.view").await?;
    Ok(axum::Json(plan_view(&state, &rec, ctx.today()).await?))
}

pub async fn move_plan(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path((id, mv)): Path<(i64, String)>,
    Json(input): Json<PlanMoveInput>,
) -> AppResult<axum::Json<PlanView>> {
    let mv = PlanMove::parse(&mv).ok_or_else(AppError::not_found)?;
    let next = svc::move_plan(&state, &ctx, id, mv, &input).await?;
    let rec = svc::plan_for(&state, &ctx, next, "plan.view").await?;
    Ok(axum::Json(plan_view(&state, &rec, ctx.today()).await?))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct FilingTodo {
    /// plan | agreement
    pub subject: String,
    pub id: i64,
    pub title: String,
    pub agency_name: String,
    pub filing: FilingView,
    pub link: String,
}

/// The open filings (plans and agreements) of the caller's area, soonest due first.
pub async fn filing_todos(state: &AppState, ctx: &Ctx) -> AppResult<Vec<FilingTodo>> {
    let today = ctx.today();
    let cal = state.store.work_calendar().await?;
    let mut out = Vec::new();
    for p in svc::visible_plans(state, ctx).await? {
        if p.plan.filing.status == FilingStatus::Due {
            out.push(FilingTodo {
                subject: "plan".to_owned(),
                id: p.id,
                title: format!("实施方案：{}（第 {} 版）", p.plan.content.name, p.plan.version),
                agency_name: state.store.org(p.plan.agency).await?.name,
                filing: filing_view(&p.plan.filing, &cal, today),
                link: format!("/authorization/plans/{}", p.id),
            });
        }
    }
    for a in svc::visible_agreements(state, ctx).await? {
        if a.agreement.filing.status == FilingStatus::Due {
            out.push(FilingTodo {
                subject: "agreement".to_owned(),
                id: a.id,
                title: format!("运营协议：{}", state.store.org(a.operator_org_id).await?.name),
                agency_name: state.store.org(a.agreement.agency).await?.name,
                filing: filing_view(&a.agreement.filing, &cal, today),
                link: format!("/authorization/agreements/{}", a.id),
            });
        }
    }
    out.sort_by(|a, b| a.filing.due.cmp(&b.filing.due));
    Ok(out)
}

pub async fn list_filings(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
) -> AppResult<axum::Json<Vec<FilingTodo>>> {
    Ok(axum::Json(filing_todos(&state, &ctx).await?))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AgreementView {
    pub id: i64,
    pub doc_number: Option<String>,
    pub agency_org_id: i64,
    pub agency_name: String,
    pub operator_org_id: i64,
    pub operator_name: String,
    pub level: String,
    /// whole | by_domain
    pub mode: String,
    pub mode_label: String,
    pub industry_department: Option<i64>,
    /// draft | signed | in_force | renewed | expired | terminated
    pub status: String,
    pub status_label: String,
    pub term_start: String,
    pub term_end: String,
    /// The term runs beyond 5 years (needs a recorded justification and approval).
    pub term_beyond_limit: bool,
    #[schema(value_type = Object)]
    pub selection: Option<Value>,
    /// The selection in words: method, participants, winner, date.
    pub selection_summary: String,
    pub agency_decision: Option<DecisionView>,
    /// The 14 clauses (data_resources, term_start/term_end, long_term, products, technical_standards,
    /// security_review, compliance_review, platform, asset_ownership, disclosure,
    /// no_redevelopment_undertaking, cost_revenue, security, evaluation_renewal, liability, disputes,
    /// change_termination, confidentiality, other).
    #[schema(value_type = Object)]
    pub content: Value,
    pub missing_clauses: Vec<ItemView>,
    /// Parties that have not signed yet.
    pub missing_signatures: Vec<String>,
    pub signed_by_agency: Option<String>,
    pub signed_by_industry_department: Option<String>,
    pub signed_by_operator: Option<String>,
    pub signed_on: Option<String>,
    pub filing: FilingView,
    /// Open to-dos about this agreement (its filing).
    pub open_tasks: usize,
    /// Evaluations of the operator ("—" when the evaluation records are not available).
    pub evaluations: String,
    /// Sanctions the operator imposed on its developers ("—" when not available).
    pub sanctions: String,
}

pub async fn agreement_view(
    state: &AppState,
    rec: &AgreementRecord,
    today: chrono::NaiveDate,
) -> AppResult<AgreementView> {
    let a = &rec.agreement;
    let cal = state.store.work_calendar().await?;
    let term = a.content.term;
    let open_tasks = state
        .store
        .tasks_of_subject("agreement.filing", &rec.id.to_string())
        .await?
        .iter()
        .filter(|t| t.done_at.is_none())
        .count();
    let (evaluations, sanctions) = state.store.operator_record_counts(rec.operator_org_id).await?;
    Ok(AgreementView {
        id: rec.id,
        doc_number: doc_number(AGREEMENT_DOC_PREFIX, a.signed_on, rec.doc_serial),
        agency_org_id: a.agency,
        agency_name: state.store.org(a.agency).await?.name,
        operator_org_id: rec.operator_org_id,
        operator_name: state.store.org(rec.operator_org_id).await?.name,
        level: a.level.code().to_owned(),
        mode: a.mode.code().to_owned(),
        mode_label: a.mode.label_zh().to_owned(),
        industry_department: a.industry_department,
        status: a.status.code().to_owned(),
        status_label: a.status.label_zh().to_owned(),
        term_start: term.map(|t| t.start.to_string()).unwrap_or_default(),
        term_end: term.map(|t| t.end.to_string()).unwrap_or_default(),
        term_beyond_limit: term.is_some_and(|t| t.end > Term::max_end(t.start, OPERATION_TERM_MAX_YEARS)),
        selection: a.selection.as_ref().map(|s| {
            json!({"method": s.method.code(), "method_label": s.method.label_zh(), "method_note": s.method_note,
                   "participants": s.participants, "winner": s.winner, "decided_on": s.decided_on.to_string()})
        }),
        selection_summary: a
            .selection
            .as_ref()
            .map(|s| {
                format!(
                    "{}；参与单位：{}；中选：{}；{}",
                    s.method.label_zh(),
                    s.participants.join("、"),
                    s.winner,
                    s.decided_on
                )
            })
            .unwrap_or_default(),
        agency_decision: a.agency_decision.as_ref().map(decision_view),
        content: agreement_content_json(&a.content),
        missing_clauses: a
            .content
            .missing_clauses()
            .into_iter()
            .map(|c| ItemView { number: c.number(), code: c.code().to_owned(), label: c.label_zh().to_owned() })
            .collect(),
        missing_signatures: a.missing_signatures().into_iter().map(|s| s.code().to_owned()).collect(),
        signed_by_agency: a.signed_by_agency.map(|d| d.to_string()),
        signed_by_industry_department: a.signed_by_industry_department.map(|d| d.to_string()),
        signed_by_operator: a.signed_by_operator.map(|d| d.to_string()),
        signed_on: a.signed_on.map(|d| d.to_string()),
        filing: filing_view(&a.filing, &cal, today),
        open_tasks,
        evaluations: evaluations.map_or_else(|| "—".to_owned(), |n| n.to_string()),
        sanctions: sanctions.map_or_else(|| "—".to_owned(), |n| n.to_string()),
    })
}

pub async fn list_agreements(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
) -> AppResult<axum::Json<Vec<AgreementView>>> {
    let mut out = Vec::new();
    for a in svc::visible_agreements(&state, &ctx).await? {
        out.push(agreement_view(&state, &a, ctx.today()).await?);
    }
    Ok(axum::Json(out))
}

pub async fn create_agreement(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Json(input): Json<AgreementInput>,
) -> AppResult<(StatusCode, axum::Json<Created>)> {
    let id = svc::create_agreement(&state, &ctx, &input).await?;
    Ok((StatusCode::CREATED, axum::Json(Created { id })))
}

pub async fn get_agreement(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<AgreementView>> {
    let rec = svc::agreement_for(&state, &ctx, id, "plan.view").await?;
    Ok(axum::Json(agreement_view(&state, &rec, ctx.today()).await?))
}

pub async fn move_agreement(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path((id, mv)): Path<(i64, String)>,
    Json(input): Json<AgreementMoveInput>,
) -> AppResult<axum::Json<AgreementView>> {
    let mv = AgreementMove::parse(&mv).ok_or_else(AppError::not_found)?;
    svc::move_agreement(&state, &ctx, id, mv, &input).await?;
    let rec = svc::agreement_for(&state, &ctx, id, "plan.view").await?;
    Ok(axum::Json(agreement_view(&state, &rec, ctx.today()).await?))
}
