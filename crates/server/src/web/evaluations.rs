//! Pages of evaluations (监督管理 → 评价评估, Art. 26): the list of the caller's evaluations (the
//! evaluator's to-do, the evaluated party's requests for materials with their due dates, the standing
//! of each party), the evaluation page with its forms (request materials, submit materials, score
//! each indicator 0–100 with evidence and conclude, rectification plan and completion,
//! re-evaluation), and the printable 评估报告 with its 文号. Forms post to the same services as the
//! API; on a validation error the page is shown again with the error (422 / 409). Files are uploaded
//! through the API (`POST /api/v1/evaluation-materials`); the forms take their ids.

use std::collections::HashMap;

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use yunshu_domain::authorization::doc_number::DocNumber;
use yunshu_domain::authorization::evaluation::{EvaluationRelation, EvaluationStatus};
use yunshu_store::evaluations::EvaluationRecord;

use super::templates::{HistoryRow, Layout};
use super::{history, layout, page, zh_date};
use crate::AppState;
use crate::authz::PolicyResource;
use crate::context::Ctx;
use crate::error::{AppError, AppResult};
use crate::extract::{Form, Path};
use crate::services::evaluations::{
    self as svc, ConcludeInput, MaterialRequestInput, OpenEvaluationInput, RectStep, RectificationInput,
    ScoreItemInput, SubmitMaterialsInput,
};

pub struct EvaluationRow {
    pub id: i64,
    pub relation: &'static str,
    pub evaluator: String,
    pub evaluated: String,
    pub period: String,
    pub status: &'static str,
    pub result: String,
    /// Open requests for materials with their due dates (for the evaluated party).
    pub requests: String,
    pub rectification: String,
    pub overdue: bool,
    pub mine_to_act: bool,
}

#[derive(Template)]
#[template(path = "evaluations.html")]
pub struct EvaluationsPage {
    pub l: Layout,
    pub rows: Vec<EvaluationRow>,
    /// Relations the caller's organisation may open: (code, label).
    pub relations: Vec<(&'static str, &'static str)>,
    pub orgs: Vec<(i64, String)>,
    pub error: String,
}

fn rect_text(rec: &EvaluationRecord, today: chrono::NaiveDate) -> (String, bool) {
    match &rec.evaluation.rectification {
        Some(r) => {
            let overdue = r.is_overdue(today);
            let mut s = format!("{}，{} 前完成", r.status().label_zh(), zh_date(r.due));
            if overdue {
                s.push_str("（已逾期）");
            }
            (s, overdue)
        }
        None => (String::new(), false),
    }
}

async fn list_page(state: &AppState, ctx: &Ctx, error: Option<AppError>) -> AppResult<EvaluationsPage> {
    let l = layout(state, ctx, "/evaluations", vec![("监督管理", ""), ("评价评估", "")]).await?;
    let me = ctx.me()?;
    let today = ctx.today();
    let mut rows = Vec::new();
    for rec in svc::visible_evaluations(state, ctx).await? {
        let e = &rec.evaluation;
        let evaluator = e.evaluator.org == me.org.id;
        let requests = e
            .requests
            .iter()
            .filter(|r| r.submitted_on.is_none())
            .map(|r| format!("{}（{} 前）", r.what, zh_date(r.due)))
            .collect::<Vec<_>>()
            .join("；");
        let (rectification, overdue) = rect_text(&rec, today);
        let mine_to_act = if evaluator {
            e.status() == EvaluationStatus::Open
        } else {
            !requests.is_empty() || e.rectification.as_ref().is_some_and(|r| r.completed_on.is_none())
        };
        rows.push(EvaluationRow {
            id: rec.id,
            relation: e.relation.label_zh(),
            evaluator: state.store.org(e.evaluator.org).await?.name,
            evaluated: state.store.org(e.evaluated).await?.name,
            period: e.period.clone(),
            status: e.status().label_zh(),
            result: e
                .conclusion
                .as_ref()
                .map(|c| format!("{}（{} 分）", c.result.label_zh(), c.total_text()))
                .unwrap_or_default(),
            requests,
            rectification,
            overdue,
            mine_to_act,
        });
    }
    let own = PolicyResource::Onboarding { id: 0, parties: vec![(me.org.id, me.org.region)] };
    let mut relations = Vec::new();
    let mut orgs = Vec::new();
    if ctx.allowed(state, "evaluation.conduct", &own) {
        for rel in EvaluationRelation::ALL {
            if svc::evaluator_type(*rel) == me.org.org_type {
                relations.push((rel.code(), rel.label_zh()));
            }
        }
        if !relations.is_empty() {
            orgs = state
                .store
                .orgs_in_region("")
                .await?
                .into_iter()
                .filter(|o| {
                    o.id != me.org.id
                        && (o.org_type.is_data_provider()
                            || matches!(
                                o.org_type,
                                yunshu_domain::party::OrgType::Operator
                                    | yunshu_domain::party::OrgType::Developer
                            ))
                })
                .map(|o| (o.id, o.name))
                .collect();
        }
    }
    Ok(EvaluationsPage { l, rows, relations, orgs, error: error.map(|e| e.message).unwrap_or_default() })
}

pub async fn list(State(state): State<AppState>, Extension(ctx): Extension<Ctx>) -> AppResult<Response> {
    Ok(page(&list_page(&state, &ctx, None).await?).into_response())
}

fn field<'a>(f: &'a HashMap<String, String>, k: &str) -> &'a str {
    f.get(k).map(String::as_str).unwrap_or_default()
}

fn id_list(field_name: &'static str, s: &str) -> AppResult<Vec<i64>> {
    s.split([',', '，', ' '])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            t.parse()
                .map_err(|_| AppError::invalid(field_name, "input.ids", "请填写材料编号，多个以逗号分隔"))
        })
        .collect()
}

pub async fn open(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Form(f): Form<HashMap<String, String>>,
) -> AppResult<Response> {
    let result = async {
        let evaluated_org_id = field(&f, "evaluated_org_id")
            .trim()
            .parse()
            .map_err(|_| AppError::invalid("evaluated_org_id", "input.required", "请选择被评估单位"))?;
        let input = OpenEvaluationInput {
            relation: field(&f, "relation").to_owned(),
            evaluated_org_id,
            period: field(&f, "period").to_owned(),
        };
        svc::open_evaluation(&state, &ctx, &input).await
    }
    .await;
    match result {
        Ok(id) => Ok(Redirect::to(&format!("/evaluations/{id}")).into_response()),
        Err(e) if e.is_form_error() => {
            let status = e.status;
            Ok((status, page(&list_page(&state, &ctx, Some(e)).await?)).into_response())
        }
        Err(e) => Err(e),
    }
}

pub struct RequestRow {
    pub idx: usize,
    pub what: String,
    pub due: String,
    pub submitted: String,
    pub materials: String,
    pub overdue: bool,
}

pub struct ScoreRow {
    pub idx: usize,
    pub indicator: String,
    pub weight: u32,
    pub score: String,
    pub evidence: String,
}

#[derive(Template)]
#[template(path = "evaluation.html")]
pub struct EvaluationPage {
    pub l: Layout,
    pub id: i64,
    pub relation: &'static str,
    pub evaluator: String,
    pub evaluated: String,
    pub period: String,
    pub opened: String,
    pub status: &'static str,
    pub concluded: bool,
    pub requests: Vec<RequestRow>,
    pub scores: Vec<ScoreRow>,
    pub total: String,
    pub band: String,
    pub result: String,
    pub reason: String,
    pub decided: String,
    pub has_rect: bool,
    pub rect_status: String,
    pub rect_due: String,
    pub rect_provisional: bool,
    pub rect_plan: String,
    pub rect_report: String,
    pub rect_overdue: bool,
    pub rect_flagged: String,
    pub rect_step: String,
    pub reevaluates: Option<i64>,
    pub standing: String,
    pub suggestion: String,
    pub is_evaluator: bool,
    pub is_evaluated: bool,
    pub error: String,
    pub history: Vec<HistoryRow>,
}

async fn detail_page(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    error: Option<AppError>,
) -> AppResult<EvaluationPage> {
    let rec = svc::evaluation_for(state, ctx, id, "evaluation.view").await?;
    let l = layout(
        state,
        ctx,
        "/evaluations",
        vec![("监督管理", ""), ("评价评估", "/evaluations"), ("评估详情", "")],
    )
    .await?;
    let me = ctx.me()?;
    let today = ctx.today();
    let e = &rec.evaluation;
    let c = e.conclusion.as_ref();
    let scores = if e.scores.is_empty() {
        e.criteria
            .indicators()
            .iter()
            .enumerate()
            .map(|(idx, i)| ScoreRow {
                idx,
                indicator: i.name.clone(),
                weight: i.weight,
                score: String::new(),
                evidence: String::new(),
            })
            .collect()
    } else {
        e.scores
            .iter()
            .enumerate()
            .map(|(idx, s)| ScoreRow {
                idx,
                indicator: s.indicator.clone(),
                weight: s.weight,
                score: s.score.to_string(),
                evidence: s.evidence.join("、"),
            })
            .collect()
    };
    let standing = svc::standing(state, e.evaluated, e.relation).await?;
    let standing = match standing.latest {
        None => "尚无评估结果".to_owned(),
        Some(r) if standing.open_rectification => format!("最近一次：{}；限期整改尚待复评通过", r.label_zh()),
        Some(r) => format!("最近一次：{}", r.label_zh()),
    };
    let suggestion = if e.relation == EvaluationRelation::OperatorToDeveloper && me.org.id == e.evaluator.org
    {
        svc::sanction_suggestion(state, e.evaluated, today)
            .await?
            .map(|s| {
                format!(
                    "建议{}（{}）。仅为建议，是否采取措施由运营机构决定。",
                    s.kind.label_zh(),
                    s.reason.label_zh()
                )
            })
            .unwrap_or_default()
    } else {
        String::new()
    };
    let r = e.rectification.as_ref();
    Ok(EvaluationPage {
        l,
        id: rec.id,
        relation: e.relation.label_zh(),
        evaluator: state.store.org(e.evaluator.org).await?.name,
        evaluated: state.store.org(e.evaluated).await?.name,
        period: e.period.clone(),
        opened: zh_date(e.opened_on),
        status: e.status().label_zh(),
        concluded: c.is_some(),
        requests: e
            .requests
            .iter()
            .enumerate()
            .map(|(idx, q)| RequestRow {
                idx,
                what: q.what.clone(),
                due: zh_date(q.due),
                submitted: q.submitted_on.map(zh_date).unwrap_or_default(),
                materials: q.materials.join("、"),
                overdue: q.is_overdue(today),
            })
            .collect(),
        scores,
        total: c.map(|c| c.total_text()).unwrap_or_default(),
        band: c.map(|c| c.band.label_zh().to_owned()).unwrap_or_default(),
        result: c.map(|c| c.result.label_zh().to_owned()).unwrap_or_default(),
        reason: c.map(|c| c.reason.clone()).unwrap_or_default(),
        decided: c.map(|c| zh_date(c.decided_on)).unwrap_or_default(),
        has_rect: r.is_some(),
        rect_status: r.map(|r| r.status().label_zh().to_owned()).unwrap_or_default(),
        rect_due: r.map(|r| zh_date(r.due)).unwrap_or_default(),
        rect_provisional: r.is_some_and(|r| r.provisional),
        rect_plan: r.map(|r| r.plan.clone()).unwrap_or_default(),
        rect_report: r.map(|r| r.report.clone()).unwrap_or_default(),
        rect_overdue: r.is_some_and(|r| r.is_overdue(today)),
        rect_flagged: rec.overdue_flagged_on.map(zh_date).unwrap_or_default(),
        rect_step: r.map(|r| r.status().code().to_owned()).unwrap_or_default(),
        reevaluates: rec.reevaluates,
        standing,
        suggestion,
        is_evaluator: me.org.id == e.evaluator.org,
        is_evaluated: me.org.id == e.evaluated,
        error: error.map(|e| e.message).unwrap_or_default(),
        history: history(state, "evaluation", &rec.id.to_string()).await?,
    })
}

pub async fn detail(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    Ok(page(&detail_page(&state, &ctx, id, None).await?).into_response())
}

/// One form post: `request`, `materials`, `conclude`, `plan`, `completion` or `reevaluate`.
pub async fn act(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path((id, mv)): Path<(i64, String)>,
    Form(f): Form<HashMap<String, String>>,
) -> AppResult<Response> {
    let result: AppResult<i64> = async {
        match mv.as_str() {
            "request" => {
                let input = MaterialRequestInput {
                    what: field(&f, "what").to_owned(),
                    due: field(&f, "due").to_owned(),
                };
                svc::request_materials(&state, &ctx, id, &input).await.map(|_| id)
            }
            "materials" => {
                let request = field(&f, "request")
                    .trim()
                    .parse()
                    .map_err(|_| AppError::invalid("request", "input.required", "请选择要答复的资料要求"))?;
                let input = SubmitMaterialsInput {
                    request,
                    material_ids: id_list("material_ids", field(&f, "material_ids"))?,
                };
                svc::submit_materials(&state, &ctx, id, &input).await.map(|_| id)
            }
            "conclude" => {
                let rec = state.store.evaluation(id).await?;
                let mut scores = Vec::new();
                for (i, ind) in rec.evaluation.criteria.indicators().iter().enumerate() {
                    let score = field(&f, &format!("score_{i}")).trim().parse().map_err(|_| {
                        AppError::invalid("scores", "input.score", format!("请为“{}”评分（0–100）", ind.name))
                    })?;
                    scores.push(ScoreItemInput {
                        indicator: ind.name.clone(),
                        score,
                        evidence: id_list("evidence", field(&f, &format!("evidence_{i}")))?,
                    });
                }
                let result = Some(field(&f, "result").to_owned()).filter(|s| !s.trim().is_empty());
                let input = ConcludeInput { scores, result, reason: field(&f, "reason").to_owned() };
                svc::conclude(&state, &ctx, id, &input).await.map(|_| id)
            }
            "plan" | "completion" => {
                let step = RectStep::parse(&mv).ok_or_else(AppError::not_found)?;
                let input = RectificationInput { text: field(&f, "text").to_owned() };
                svc::rectify(&state, &ctx, id, step, &input).await.map(|_| id)
            }
            "reevaluate" => svc::reevaluate(&state, &ctx, id).await,
            _ => Err(AppError::not_found()),
        }
    }
    .await;
    match result {
        Ok(target) => Ok(Redirect::to(&format!("/evaluations/{target}")).into_response()),
        Err(e) if e.is_form_error() => {
            let status = e.status;
            Ok((status, page(&detail_page(&state, &ctx, id, Some(e)).await?)).into_response())
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "evaluation_report.html")]
pub struct ReportPage {
    pub doc_no: String,
    pub relation: &'static str,
    pub evaluator: String,
    pub evaluated: String,
    pub period: String,
    pub scores: Vec<ScoreRow>,
    pub total: String,
    pub band: String,
    pub result: String,
    pub reason: String,
    pub rectification: String,
    pub decided: String,
}

/// The printable 评估报告 (A4) of a concluded evaluation, numbered `云数评〔年〕序号号`.
pub async fn report(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let rec = svc::evaluation_for(&state, &ctx, id, "evaluation.view").await?;
    let e = &rec.evaluation;
    let Some(c) = e.conclusion.as_ref() else {
        return Err(AppError::conflict("evaluation.not_concluded", "该评估尚未出结果，无评估报告"));
    };
    let serial = u32::try_from(rec.id).map_err(AppError::internal)?;
    let doc_no = DocNumber::new("云数评", chrono::Datelike::year(&c.decided_on), serial)
        .map_err(|err| AppError::internal(err.code()))?;
    Ok(page(&ReportPage {
        doc_no: doc_no.to_string(),
        relation: e.relation.label_zh(),
        evaluator: state.store.org(e.evaluator.org).await?.name,
        evaluated: state.store.org(e.evaluated).await?.name,
        period: e.period.clone(),
        scores: e
            .scores
            .iter()
            .enumerate()
            .map(|(idx, s)| ScoreRow {
                idx,
                indicator: s.indicator.clone(),
                weight: s.weight,
                score: s.score.to_string(),
                evidence: s.evidence.join("、"),
            })
            .collect(),
        total: c.total_text(),
        band: c.band.label_zh().to_owned(),
        result: c.result.label_zh().to_owned(),
        reason: c.reason.clone(),
        rectification: e
            .rectification
            .as_ref()
            .map(|r| format!("请于 {} 前完成整改并报送整改情况，逾期未完成的将依规处理。", zh_date(r.due)))
            .unwrap_or_default(),
        decided: zh_date(c.decided_on),
    })
    .into_response())
}
