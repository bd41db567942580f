//! Pages of data verification requests and objections (数据校核与异议, Art. 17): the list for each
//! party, one request with its deadline in working days and the provider's answer form, and the raise
//! form on a resource's page.

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};

use super::templates::{HistoryRow, Layout};
use super::{history, layout, left_words, page, zh_date, zh_time};
use crate::AppState;
use crate::context::Ctx;
use crate::error::{AppError, AppResult};
use crate::extract::{Form, Path};
use crate::services::catalog::{resource_for, resource_policy};
use crate::services::verifications::{self as svc, AnswerInput, RaiseInput};

pub struct Row {
    pub id: i64,
    pub kind: &'static str,
    pub resource: String,
    pub fields: String,
    pub received: String,
    pub due: String,
    pub left: String,
    pub status: &'static str,
    pub status_class: &'static str,
}

#[derive(Template)]
#[template(path = "verifications.html")]
pub struct ListPage {
    pub l: Layout,
    pub rows: Vec<Row>,
}

pub async fn list(State(state): State<AppState>, Extension(ctx): Extension<Ctx>) -> AppResult<Response> {
    let l = layout(&state, &ctx, "/verifications", vec![("数据管理", ""), ("数据校核与异议", "")]).await?;
    let cal = state.store.work_calendar().await?;
    let today = ctx.today();
    let rows = svc::visible(&state, &ctx)
        .await?
        .into_iter()
        .map(|(rec, r)| {
            let (status, status_class) = svc::status_tag(&rec, today);
            let left = if rec.request.status == yunshu_domain::verification::RequestStatus::Answered {
                String::new()
            } else {
                let (n, p) = cal.working_days_left(today, rec.request.due.due);
                left_words(n, p || rec.request.due.provisional).0
            };
            Row {
                id: rec.id,
                kind: rec.request.kind.label_zh(),
                resource: r.meta.name,
                fields: rec.request.fields.join("、"),
                received: zh_date(rec.request.received),
                due: zh_date(rec.request.due.due),
                left,
                status,
                status_class,
            }
        })
        .collect();
    Ok(page(&ListPage { l, rows }).into_response())
}

#[derive(Template)]
#[template(path = "verification.html")]
pub struct DetailPage {
    pub l: Layout,
    pub id: i64,
    pub kind: &'static str,
    pub resource_id: i64,
    pub resource: String,
    pub fields: String,
    pub rows: String,
    pub question: String,
    pub raised_by: String,
    pub received: String,
    pub due: String,
    pub left: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub answer: String,
    pub corrected: String,
    pub answered_at: String,
    pub can_answer: bool,
    pub error: String,
    pub history: Vec<HistoryRow>,
}

async fn detail_page(state: &AppState, ctx: &Ctx, id: i64, error: Option<AppError>) -> AppResult<DetailPage> {
    let rec = state.store.verification(id).await?;
    let r = resource_for(state, ctx, rec.resource_id, "resource.view").await?;
    let me = ctx.me()?;
    if me.org.org_type == yunshu_domain::party::OrgType::Operator && rec.raised_by_org != me.org.id {
        return Err(AppError::forbidden());
    }
    let l = layout(
        state,
        ctx,
        "/verifications",
        vec![("数据管理", ""), ("数据校核与异议", "/verifications"), (r.meta.name.as_str(), "")],
    )
    .await?;
    let today = ctx.today();
    let cal = state.store.work_calendar().await?;
    let (status, status_class) = svc::status_tag(&rec, today);
    let answered = rec.request.status == yunshu_domain::verification::RequestStatus::Answered;
    let left = if answered {
        String::new()
    } else {
        let (n, p) = cal.working_days_left(today, rec.request.due.due);
        left_words(n, p || rec.request.due.provisional).0
    };
    let raised_by = match state.store.user(rec.raised_by_user).await {
        Ok(u) => format!("{}（{}）", u.display_name, state.store.org(rec.raised_by_org).await?.name),
        Err(_) => String::new(),
    };
    Ok(DetailPage {
        l,
        id,
        kind: rec.request.kind.label_zh(),
        resource_id: r.id,
        resource: r.meta.name.clone(),
        fields: rec.request.fields.join("、"),
        rows: rec.request.rows.clone(),
        question: rec.request.question.clone(),
        raised_by,
        received: zh_date(rec.request.received),
        due: format!(
            "{}{}",
            zh_date(rec.request.due.due),
            if rec.request.due.provisional { "（暂定）" } else { "" }
        ),
        left,
        status,
        status_class,
        answer: rec.answer.clone().unwrap_or_default(),
        corrected: match rec.corrected {
            Some(true) => "已更正".into(),
            Some(false) => "经核实无误，未更正".into(),
            None => String::new(),
        },
        answered_at: rec.answered_at.map(zh_time).unwrap_or_default(),
        can_answer: !answered && ctx.allowed(state, "resource.manage", &resource_policy(&r)),
        error: error.map(|e| e.message).unwrap_or_default(),
        history: history(state, "verification", &id.to_string()).await?,
    })
}

pub async fn detail(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    Ok(page(&detail_page(&state, &ctx, id, None).await?).into_response())
}

pub async fn answer(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Form(f): Form<AnswerInput>,
) -> AppResult<Response> {
    match svc::answer(&state, &ctx, id, &f).await {
        Ok(()) => Ok(Redirect::to(&format!("/verifications/{id}")).into_response()),
        Err(e) if e.is_form_error() => {
            let status = e.status;
            Ok((status, page(&detail_page(&state, &ctx, id, Some(e)).await?)).into_response())
        }
        Err(e) => Err(e),
    }
}

/// The raise form posts the fields as repeated `fields` values.
pub async fn raise(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let get = |k: &str| pairs.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let input = RaiseInput {
        kind: get("kind"),
        fields: pairs.iter().filter(|(k, _)| k == "fields").map(|(_, v)| v.clone()).collect(),
        rows: get("rows"),
        question: get("question"),
    };
    match svc::raise(&state, &ctx, id, &input).await {
        Ok(v) => Ok(Redirect::to(&format!("/verifications/{v}")).into_response()),
        Err(e) if e.is_form_error() => {
            let status = e.status;
            let url = format!("/catalog/{id}");
            Ok((
                status,
                page(&super::templates::ErrorPage {
                    status: status.as_u16(),
                    title: "发起数据校核未成功",
                    message: format!("{}（返回 {url} 修改后重试）", e.message),
                    operation_id: ctx.operation_id.clone(),
                }),
            )
                .into_response())
        }
        Err(e) => Err(e),
    }
}
