//! Pages of developer onboarding (授权管理 → 应用场景 / 开发主体申请) and the public notices with their
//! objection form (开发主体公示, no login). Forms post to the same services as the API; on a
//! validation error the page is shown again with the error beside the form (422 / 409). Materials
//! are uploaded with the application form on the scenario page (or through `POST /api/v1/materials`);
//! the pages list them with their SM3 digest.

use std::collections::HashMap;

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use yunshu_domain::authorization::developer::{ApplicationStatus, QualificationCondition, ScenarioStatus};
use yunshu_store::onboarding::ApplicationRecord;

use super::templates::{HistoryRow, Layout};
use super::{history, layout, page, zh_date};
use crate::AppState;
use crate::context::Ctx;
use crate::error::{AppError, AppResult};
use crate::extract::{Form, Path, Query};
use crate::services::onboarding::{
    self as svc, AppMove, AppMoveInput, AssessmentInput, CheckInput, ObjectionDecisionInput, ObjectionInput,
    ScenarioInput,
};

async fn org_name(state: &AppState, id: i64) -> AppResult<String> {
    Ok(state.store.org(id).await?.name)
}

pub struct ScenarioRow {
    pub id: i64,
    pub title: String,
    pub origin: &'static str,
    pub status: &'static str,
    pub operator: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "onboarding_scenarios.html")]
pub struct ScenariosPage {
    pub l: Layout,
    pub rows: Vec<ScenarioRow>,
    pub can_publish: bool,
    /// A developer may propose its own scenario to one of these operators (id, name).
    pub operators: Vec<(i64, String)>,
    pub error: String,
    pub title: String,
    pub description: String,
}

async fn scenarios_page(
    state: &AppState,
    ctx: &Ctx,
    error: Option<AppError>,
    form: Option<&ScenarioInput>,
) -> AppResult<ScenariosPage> {
    let l = layout(state, ctx, "/onboarding/scenarios", vec![("授权管理", ""), ("应用场景", "")]).await?;
    let me = ctx.me()?;
    let own = crate::authz::PolicyResource::Onboarding { id: 0, parties: vec![(me.org.id, me.org.region)] };
    let mut rows = Vec::new();
    for s in svc::visible_scenarios(state, ctx).await? {
        rows.push(ScenarioRow {
            id: s.id,
            title: s.scenario.title.clone(),
            origin: s.scenario.origin.label_zh(),
            status: s.scenario.status.label_zh(),
            operator: org_name(state, s.scenario.operator).await?,
            created: zh_date(s.scenario.created_on),
        });
    }
    let operators = if ctx.allowed(state, "application.apply", &own) {
        state
            .store
            .orgs_in_region("")
            .await?
            .into_iter()
            .filter(|o| o.active && o.org_type == yunshu_domain::party::OrgType::Operator)
            .map(|o| (o.id, o.name))
            .collect()
    } else {
        Vec::new()
    };
    Ok(ScenariosPage {
        l,
        rows,
        operators,
        can_publish: ctx.allowed(state, "scenario.manage", &own),
        error: error.map(|e| e.message).unwrap_or_default(),
        title: form.map(|f| f.title.clone()).unwrap_or_default(),
        description: form.map(|f| f.description.clone()).unwrap_or_default(),
    })
}

pub async fn scenarios(State(state): State<AppState>, Extension(ctx): Extension<Ctx>) -> AppResult<Response> {
    Ok(page(&scenarios_page(&state, &ctx, None, None).await?).into_response())
}

pub async fn publish_scenario(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Form(f): Form<ScenarioInput>,
) -> AppResult<Response> {
    match svc::publish_scenario(&state, &ctx, &f).await {
        Ok(id) => Ok(Redirect::to(&format!("/onboarding/scenarios/{id}")).into_response()),
        Err(e) if e.is_form_error() => {
            let status = e.status;
            Ok((status, page(&scenarios_page(&state, &ctx, Some(e), Some(&f)).await?)).into_response())
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "onboarding_scenario.html")]
pub struct ScenarioPage {
    pub l: Layout,
    pub id: i64,
    pub title: String,
    pub description: String,
    pub origin: &'static str,
    pub status: &'static str,
    pub operator: String,
    pub proposer: String,
    /// (aspect, passed, reason)
    pub assessment: Vec<(&'static str, bool, String)>,
    pub can_assess: bool,
    /// A developer may apply here: (material kind code, label, required).
    pub apply_kinds: Vec<(&'static str, &'static str, bool)>,
    pub error: String,
    pub history: Vec<HistoryRow>,
}

async fn scenario_page(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    error: Option<AppError>,
) -> AppResult<ScenarioPage> {
    let s = svc::visible_scenarios(state, ctx)
        .await?
        .into_iter()
        .find(|s| s.id == id)
        .ok_or_else(AppError::not_found)?;
    let l = layout(
        state,
        ctx,
        "/onboarding/scenarios",
        vec![("授权管理", ""), ("应用场景", "/onboarding/scenarios"), (s.scenario.title.as_str(), "")],
    )
    .await?;
    let sc = &s.scenario;
    let assessment = sc
        .assessment
        .as_ref()
        .map(|a| {
            vec![
                ("需求合理性", a.need.passed, a.need.reason.clone()),
                ("场景合规性", a.compliance.passed, a.compliance.reason.clone()),
                ("安全风险性", a.security_risk.passed, a.security_risk.reason.clone()),
            ]
        })
        .unwrap_or_default();
    let proposer = match sc.proposer {
        Some(p) => org_name(state, p).await?,
        None => String::new(),
    };
    let can_assess =
        sc.status == ScenarioStatus::Proposed && svc::scenario_for_manage(state, ctx, id).await.is_ok();
    let me = ctx.me()?;
    let may_apply = me.org.org_type == yunshu_domain::party::OrgType::Developer
        && ctx.allowed(state, "application.apply", &crate::services::org_resource(&me.org))
        && (sc.status == ScenarioStatus::Open
            || (sc.status == ScenarioStatus::Proposed && sc.proposer == Some(me.org.id)));
    let apply_kinds = if may_apply {
        use yunshu_domain::authorization::material::MaterialKind;
        MaterialKind::ALL
            .iter()
            .map(|k| (k.code(), k.label_zh(), MaterialKind::REQUIRED.contains(k)))
            .collect()
    } else {
        Vec::new()
    };
    Ok(ScenarioPage {
        id,
        title: sc.title.clone(),
        description: sc.description.clone(),
        origin: sc.origin.label_zh(),
        status: sc.status.label_zh(),
        operator: org_name(state, sc.operator).await?,
        proposer,
        assessment,
        can_assess,
        apply_kinds,
        error: error.map(|e| e.message).unwrap_or_default(),
        history: history(state, "scenario", &id.to_string()).await?,
        l,
    })
}

pub async fn scenario(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    Ok(page(&scenario_page(&state, &ctx, id, None).await?).into_response())
}

/// The assessment form: checkboxes `need_passed` etc. are present only when ticked.
#[derive(Debug, Default, Deserialize)]
pub struct AssessmentForm {
    #[serde(default)]
    pub need_passed: Option<String>,
    #[serde(default)]
    pub need_reason: String,
    #[serde(default)]
    pub compliance_passed: Option<String>,
    #[serde(default)]
    pub compliance_reason: String,
    #[serde(default)]
    pub security_passed: Option<String>,
    #[serde(default)]
    pub security_reason: String,
}

pub async fn assess_scenario(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Form(f): Form<AssessmentForm>,
) -> AppResult<Response> {
    let input = AssessmentInput {
        need_passed: f.need_passed.is_some(),
        need_reason: f.need_reason,
        compliance_passed: f.compliance_passed.is_some(),
        compliance_reason: f.compliance_reason,
        security_passed: f.security_passed.is_some(),
        security_reason: f.security_reason,
    };
    match svc::assess_scenario(&state, &ctx, id, &input).await {
        Ok(()) => Ok(Redirect::to(&format!("/onboarding/scenarios/{id}")).into_response()),
        Err(e) if e.is_form_error() => {
            let status = e.status;
            Ok((status, page(&scenario_page(&state, &ctx, id, Some(e)).await?)).into_response())
        }
        Err(e) => Err(e),
    }
}

pub struct ApplicationRow {
    pub id: i64,
    pub scenario: String,
    pub applicant: String,
    pub status: &'static str,
    pub submitted: String,
}

#[derive(Template)]
#[template(path = "onboarding_applications.html")]
pub struct ApplicationsPage {
    pub l: Layout,
    pub rows: Vec<ApplicationRow>,
}

pub async fn applications(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
) -> AppResult<Response> {
    let l = layout(&state, &ctx, "/onboarding/applications", vec![("授权管理", ""), ("开发主体申请", "")])
        .await?;
    let mut rows = Vec::new();
    for rec in svc::visible_applications(&state, &ctx).await? {
        rows.push(ApplicationRow {
            id: rec.id,
            scenario: state.store.scenario(rec.application.scenario).await?.scenario.title,
            applicant: org_name(&state, rec.application.applicant).await?,
            status: rec.application.status.label_zh(),
            submitted: zh_date(rec.application.submitted_on),
        });
    }
    Ok(page(&ApplicationsPage { l, rows }).into_response())
}

pub struct ObjectionRow {
    pub id: i64,
    pub lodged: String,
    pub name: String,
    pub content: String,
    /// Empty while undecided.
    pub decision: String,
}

#[derive(Template)]
#[template(path = "onboarding_application.html")]
pub struct ApplicationPage {
    pub l: Layout,
    pub id: i64,
    pub scenario_id: i64,
    pub scenario: String,
    pub applicant: String,
    pub status: &'static str,
    pub submitted: String,
    /// (kind, file name, size in bytes, SM3)
    pub materials: Vec<(&'static str, String, u64, String)>,
    /// (what, requested, due, answered)
    pub supplements: Vec<(String, String, String, String)>,
    /// (method, date, summary)
    pub reviews: Vec<(&'static str, String, String)>,
    /// (condition, met, note)
    pub checks: Vec<(&'static str, bool, String)>,
    pub notice: String,
    pub objections: Vec<ObjectionRow>,
    pub rejection_reason: String,
    pub agreement: String,
    /// Open to-dos: (title, due, left).
    pub due: Vec<(String, String, String)>,
    /// The operator may review (under review), publish the notice (qualified), sign (in notice).
    pub reviewing: bool,
    pub qualified: bool,
    pub in_notice: bool,
    /// The applicant may supplement / withdraw.
    pub supplementing: bool,
    pub can_withdraw: bool,
    pub conditions: Vec<(&'static str, &'static str)>,
    pub error: String,
    pub history: Vec<HistoryRow>,
}

async fn application_page(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    error: Option<AppError>,
) -> AppResult<ApplicationPage> {
    let rec: ApplicationRecord = svc::application_for(state, ctx, id, "application.view").await?;
    let a = &rec.application;
    let scenario = state.store.scenario(a.scenario).await?.scenario.title;
    let l = layout(
        state,
        ctx,
        "/onboarding/applications",
        vec![("授权管理", ""), ("开发主体申请", "/onboarding/applications"), (scenario.as_str(), "")],
    )
    .await?;
    let me = ctx.me()?.org.id;
    let operator =
        me == a.operator && svc::application_for(state, ctx, id, "application.review").await.is_ok();
    let applicant =
        me == a.applicant && svc::application_for(state, ctx, id, "application.apply").await.is_ok();
    let cal = state.store.work_calendar().await?;
    let today = ctx.today();
    let notice = a
        .notices
        .last()
        .map(|n| {
            let days = cal
                .working_days_between(n.start, n.end)
                .map(|d| format!("，{d} 个工作日"))
                .unwrap_or_default();
            format!("{} 至 {}{days}", zh_date(n.start), zh_date(n.end))
        })
        .unwrap_or_else(|| "尚未公示".to_owned());
    let current = a.notices.len().saturating_sub(1);
    let objections = rec
        .objections
        .iter()
        .filter(|o| o.notice_idx == current)
        .map(|o| ObjectionRow {
            id: o.id,
            lodged: zh_date(o.objection.lodged_on),
            name: o.name.clone(),
            content: o.objection.content.clone(),
            decision: o
                .objection
                .decision
                .as_ref()
                .map(|d| format!("{}（{}）：{}", d.outcome.label_zh(), zh_date(d.decided_on), d.reason))
                .unwrap_or_default(),
        })
        .collect();
    let agreement = state
        .store
        .dev_agreement_of_application(id)
        .await?
        .map(|d| {
            format!(
                "{}，期限 {} 至 {}",
                d.agreement.status.label_zh(),
                zh_date(d.agreement.term.start),
                zh_date(d.agreement.term.end)
            )
        })
        .unwrap_or_default();
    let due = state
        .store
        .tasks_of_subject("application", &id.to_string())
        .await?
        .into_iter()
        .filter(|t| t.done_at.is_none())
        .map(|t| {
            let left = t
                .due
                .map(|d| {
                    let (n, p) = cal.working_days_left(today, d);
                    super::left_words(n, p || t.provisional).0
                })
                .unwrap_or_default();
            (t.title, t.due.map(zh_date).unwrap_or_default(), left)
        })
        .collect();
    Ok(ApplicationPage {
        id,
        scenario_id: a.scenario,
        applicant: org_name(state, a.applicant).await?,
        status: a.status.label_zh(),
        submitted: zh_date(a.submitted_on),
        materials: rec
            .materials
            .iter()
            .map(|m| {
                (
                    m.material.kind().label_zh(),
                    m.material.file_name().to_owned(),
                    m.material.size(),
                    m.material.sm3_hex().to_owned(),
                )
            })
            .collect(),
        supplements: a
            .supplements
            .iter()
            .map(|s| {
                (
                    s.what.clone(),
                    zh_date(s.requested_on),
                    zh_date(s.due),
                    s.answered_on.map(zh_date).unwrap_or_default(),
                )
            })
            .collect(),
        reviews: a
            .reviews
            .iter()
            .map(|r| (r.method.label_zh(), zh_date(r.date), r.summary.clone()))
            .collect(),
        checks: a.checks.iter().map(|c| (c.condition.label_zh(), c.met, c.note.clone())).collect(),
        notice,
        objections,
        rejection_reason: a.rejection_reason.clone(),
        agreement,
        due,
        reviewing: operator && a.status == ApplicationStatus::UnderReview,
        qualified: operator && a.status == ApplicationStatus::Qualified,
        in_notice: operator && a.status == ApplicationStatus::InNotice,
        supplementing: applicant && a.status == ApplicationStatus::AwaitingSupplement,
        can_withdraw: applicant
            && !matches!(
                a.status,
                ApplicationStatus::Contracted
                    | ApplicationStatus::Rejected
                    | ApplicationStatus::Lapsed
                    | ApplicationStatus::Withdrawn
            ),
        conditions: QualificationCondition::ALL.iter().map(|c| (c.code(), c.label_zh())).collect(),
        error: error.map(|e| e.message).unwrap_or_default(),
        history: history(state, "application", &id.to_string()).await?,
        scenario,
        l,
    })
}

pub async fn application(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    Ok(page(&application_page(&state, &ctx, id, None).await?).into_response())
}

/// A move's form fields as posted: the plain fields of [`AppMoveInput`], `material_ids` as a comma
/// list, and per condition `met_<code>` (checkbox) and `note_<code>`.
fn move_input(f: &HashMap<String, String>) -> AppResult<AppMoveInput> {
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let working_days = match get("working_days").trim() {
        "" => None,
        s => Some(
            s.parse::<u32>()
                .map_err(|_| AppError::invalid("working_days", "input.number", "补正期限应为工作日天数"))?,
        ),
    };
    let mut material_ids = Vec::new();
    for part in get("material_ids").split([',', '，', ' ']).filter(|s| !s.is_empty()) {
        material_ids.push(part.parse::<i64>().map_err(|_| {
            AppError::invalid("material_ids", "input.number", "材料编号应为数字，以逗号分隔")
        })?);
    }
    let checks = if f.keys().any(|k| k.starts_with("note_") || k.starts_with("met_")) {
        QualificationCondition::ALL
            .iter()
            .map(|c| CheckInput {
                condition: c.code().to_owned(),
                met: f.contains_key(&format!("met_{}", c.code())),
                note: get(&format!("note_{}", c.code())),
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(AppMoveInput {
        what: get("what"),
        working_days,
        material_ids,
        method: get("method"),
        date: get("date"),
        summary: get("summary"),
        checks,
        start: get("start"),
        end: get("end"),
        justification: get("justification"),
        approved_by: get("approved_by"),
    })
}

pub async fn move_application(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path((id, mv)): Path<(i64, String)>,
    Form(f): Form<HashMap<String, String>>,
) -> AppResult<Response> {
    let mv = AppMove::parse(&mv).ok_or_else(AppError::not_found)?;
    let result = match move_input(&f) {
        Ok(input) => svc::move_application(&state, &ctx, id, mv, &input).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/onboarding/applications/{id}")).into_response()),
        Err(e) if e.is_form_error() => {
            let status = e.status;
            Ok((status, page(&application_page(&state, &ctx, id, Some(e)).await?)).into_response())
        }
        Err(e) => Err(e),
    }
}

pub async fn decide_objection(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path((id, oid)): Path<(i64, i64)>,
    Form(f): Form<ObjectionDecisionInput>,
) -> AppResult<Response> {
    match svc::decide_objection(&state, &ctx, id, oid, &f).await {
        Ok(_) => Ok(Redirect::to(&format!("/onboarding/applications/{id}")).into_response()),
        Err(e) if e.is_form_error() => {
            let status = e.status;
            Ok((status, page(&application_page(&state, &ctx, id, Some(e)).await?)).into_response())
        }
        Err(e) => Err(e),
    }
}

pub struct NoticeRow {
    pub id: i64,
    pub scenario: String,
    pub applicant: String,
    pub start: String,
    pub end: String,
    pub days: String,
}

#[derive(Template)]
#[template(path = "public_notices.html")]
pub struct PublicNoticesPage {
    pub rows: Vec<NoticeRow>,
}

async fn notice_row(state: &AppState, rec: &ApplicationRecord) -> AppResult<NoticeRow> {
    let cal = state.store.work_calendar().await?;
    let n = rec.application.notices.last().ok_or_else(AppError::not_found)?;
    Ok(NoticeRow {
        id: rec.id,
        scenario: state.store.scenario(rec.application.scenario).await?.scenario.title,
        applicant: org_name(state, rec.application.applicant).await?,
        start: zh_date(n.start),
        end: zh_date(n.end),
        days: cal.working_days_between(n.start, n.end).map(|d| d.to_string()).unwrap_or_else(|_| "—".into()),
    })
}

pub async fn public_notices(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
) -> AppResult<Response> {
    let mut rows = Vec::new();
    for rec in svc::public_notices(&state, ctx.today()).await? {
        rows.push(notice_row(&state, &rec).await?);
    }
    Ok(page(&PublicNoticesPage { rows }).into_response())
}

#[derive(Template)]
#[template(path = "public_notice.html")]
pub struct PublicNoticePage {
    pub n: NoticeRow,
    /// 文号 of the notice, e.g. 云数公〔2026〕12号 (the application's id as serial).
    pub doc_no: String,
    /// The operator that publishes it, and the first day, for the signature line.
    pub operator: String,
    pub issued: String,
    pub description: String,
    pub csrf: String,
    pub error: String,
    pub lodged: bool,
    pub name: String,
    pub contact: String,
    pub content: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct LodgedQuery {
    #[serde(default)]
    pub lodged: Option<String>,
}

async fn public_notice_page(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    error: Option<AppError>,
    form: Option<&ObjectionInput>,
    lodged: bool,
) -> AppResult<PublicNoticePage> {
    let rec = svc::public_notice(state, id, ctx.today()).await?;
    let scenario = state.store.scenario(rec.application.scenario).await?.scenario;
    let description = scenario.description.clone();
    let start = rec.application.notices.last().map(|n| n.start).unwrap_or_else(|| ctx.today());
    let doc_no = yunshu_domain::authorization::doc_number::DocNumber::new(
        "云数公",
        chrono::Datelike::year(&start),
        u32::try_from(rec.id).unwrap_or(0),
    )
    .map(|d| d.to_string())
    .unwrap_or_default();
    Ok(PublicNoticePage {
        n: notice_row(state, &rec).await?,
        doc_no,
        operator: org_name(state, scenario.operator).await?,
        issued: super::zh_date(start),
        description,
        csrf: ctx.csrf.clone(),
        error: error.map(|e| e.message).unwrap_or_default(),
        lodged,
        name: form.map(|f| f.name.clone()).unwrap_or_default(),
        contact: form.map(|f| f.contact.clone()).unwrap_or_default(),
        content: form.map(|f| f.content.clone()).unwrap_or_default(),
    })
}

pub async fn public_notice(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Query(q): Query<LodgedQuery>,
) -> AppResult<Response> {
    Ok(page(&public_notice_page(&state, &ctx, id, None, None, q.lodged.is_some()).await?).into_response())
}

pub async fn lodge_objection(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Form(f): Form<ObjectionInput>,
) -> AppResult<Response> {
    match svc::lodge_objection(&state, &ctx, id, &f).await {
        Ok(_) => Ok(Redirect::to(&format!("/public/notices/{id}?lodged=1")).into_response()),
        Err(e) if e.is_form_error() => {
            let status = e.status;
            Ok((status, page(&public_notice_page(&state, &ctx, id, Some(e), Some(&f), false).await?))
                .into_response())
        }
        Err(e) => Err(e),
    }
}

/// Reads the `file_{kind}` parts of a multipart form (a part without a chosen file is skipped) and
/// uploads each as a material of the caller's organisation; returns their ids.
async fn upload_parts(
    state: &AppState,
    ctx: &Ctx,
    multipart: &mut axum::extract::Multipart,
) -> AppResult<Vec<i64>> {
    let malformed = |e: axum::extract::multipart::MultipartError| {
        AppError::invalid("file", "upload.malformed", format!("上传内容不完整：{e}"))
    };
    let mut ids = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(malformed)? {
        let Some(kind) = field.name().and_then(|n| n.strip_prefix("file_")).map(str::to_owned) else {
            continue;
        };
        let name = field.file_name().unwrap_or("").to_owned();
        if name.is_empty() {
            continue;
        }
        let media = field.content_type().unwrap_or("application/octet-stream").to_owned();
        let bytes = field.bytes().await.map_err(malformed)?;
        ids.push(svc::upload_material(state, ctx, &kind, &name, &media, &bytes).await?.0);
    }
    Ok(ids)
}

/// The web application: one file per material kind (`file_{kind}`), uploaded and submitted in one
/// multipart post (the CSRF token is in the action URL). A refused file or a missing required material
/// shows the scenario page again with the reason; files uploaded before the refusal stay with the
/// organisation, unused.
pub async fn apply_with_files(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    mut multipart: axum::extract::Multipart,
) -> AppResult<Response> {
    let result = match upload_parts(&state, &ctx, &mut multipart).await {
        Ok(ids) => svc::apply(&state, &ctx, id, &svc::MaterialsInput { material_ids: ids }).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(aid) => Ok(Redirect::to(&format!("/onboarding/applications/{aid}")).into_response()),
        Err(e) if e.is_form_error() => {
            let status = e.status;
            Ok((status, page(&scenario_page(&state, &ctx, id, Some(e)).await?)).into_response())
        }
        Err(e) => Err(e),
    }
}

/// The supplement with files, the same way: the corrected or missing materials in one post.
pub async fn supplement_with_files(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    mut multipart: axum::extract::Multipart,
) -> AppResult<Response> {
    let result = match upload_parts(&state, &ctx, &mut multipart).await {
        Ok(ids) => {
            let input = svc::AppMoveInput { material_ids: ids, ..Default::default() };
            svc::move_application(&state, &ctx, id, AppMove::Supplement, &input).await.map(|_| ())
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/onboarding/applications/{id}")).into_response()),
        Err(e) if e.is_form_error() => {
            let status = e.status;
            Ok((status, page(&application_page(&state, &ctx, id, Some(e)).await?)).into_response())
        }
        Err(e) => Err(e),
    }
}

/// A developer proposes its own scenario to an operator (主动提出); the operator then assesses it.
pub async fn propose_scenario(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Form(f): Form<ScenarioInput>,
) -> AppResult<Response> {
    match svc::propose_scenario(&state, &ctx, &f).await {
        Ok(id) => Ok(Redirect::to(&format!("/onboarding/scenarios/{id}")).into_response()),
        Err(e) if e.is_form_error() => {
            let status = e.status;
            Ok((status, page(&scenarios_page(&state, &ctx, Some(e), Some(&f)).await?)).into_response())
        }
        Err(e) => Err(e),
    }
}
