//! Pages of the sandbox (沙箱): the developer's SQL workspace of a project (granted datasets with each
//! field's usage class, run on dummy data, submit on real data, the check report, the query history,
//! the outbox and the ε gauge), the outputs list (the reviewers' to-do), one output with its check
//! report, reviews, the values for its reviewers (each look audited) and the downloads once released.

use std::collections::HashMap;

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};

use super::templates::Layout;
use super::{layout, page};
use crate::AppState;
use crate::context::Ctx;
use crate::error::{AppError, AppResult};
use crate::extract::{Form, Path};
use crate::services::sandbox::{
    self as svc, Catalog, Mode, OutputView, QueryView, ReviewInput, RunInput, RunResult,
};

type Fields = HashMap<String, String>;

fn get<'a>(f: &'a Fields, k: &str) -> &'a str {
    f.get(k).map(String::as_str).unwrap_or("")
}

/// One ε gauge of the workspace.
pub struct Gauge {
    pub table: String,
    pub total: String,
    pub spent: String,
    pub remaining: String,
    /// Share left, 0–100, for the bar.
    pub percent: u32,
}

#[derive(Template)]
#[template(path = "workspace.html")]
pub struct WorkspacePage {
    pub l: Layout,
    pub project_id: i64,
    pub project_name: String,
    pub catalog: Catalog,
    pub gauges: Vec<Gauge>,
    pub sql: String,
    pub result: Option<RunResult>,
    pub queries: Vec<QueryView>,
    pub outputs: Vec<OutputView>,
    pub can_query: bool,
    pub error: String,
}

fn gauges(catalog: &Catalog) -> Vec<Gauge> {
    catalog
        .tables
        .iter()
        .filter_map(|t| {
            let total = t.epsilon?;
            let remaining = (total - t.epsilon_spent).max(0.0);
            let percent =
                if total > 0.0 { ((remaining / total) * 100.0).round().clamp(0.0, 100.0) as u32 } else { 0 };
            Some(Gauge {
                table: t.name.clone(),
                total: format!("{total:.3}"),
                spent: format!("{:.3}", t.epsilon_spent),
                remaining: format!("{remaining:.3}"),
                percent,
            })
        })
        .collect()
}

async fn workspace_page(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    sql: String,
    result: Option<RunResult>,
    error: Option<AppError>,
) -> AppResult<WorkspacePage> {
    let rec = crate::services::data_use::project_for(state, ctx, id, "project.view").await?;
    let me = ctx.me()?;
    let l = layout(
        state,
        ctx,
        "/projects",
        vec![("数据使用", ""), ("开发项目", "/projects"), ("沙箱工作台", "")],
    )
    .await?;
    let catalog = svc::catalog(state, &rec, ctx.today()).await?;
    let mut outputs = Vec::new();
    for o in state.store.sandbox_outputs(id).await?.iter().take(50) {
        outputs.push(svc::output_view(state, ctx, o).await?);
    }
    let can_query = me.org.id == rec.project.developer;
    Ok(WorkspacePage {
        l,
        project_id: id,
        project_name: rec.project.name.clone(),
        gauges: gauges(&catalog),
        catalog,
        sql,
        result,
        queries: svc::query_views(state, ctx, id, 50).await?,
        outputs,
        can_query,
        error: error.map(|e| e.message).unwrap_or_default(),
    })
}

pub async fn workspace(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    Ok(page(&workspace_page(&state, &ctx, id, String::new(), None, None).await?).into_response())
}

/// Runs the editor's SQL: `mode=dummy` (运行于模拟数据) or `mode=real` (提交真实数据).
pub async fn run(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Form(f): Form<Fields>,
) -> AppResult<Response> {
    let sql = get(&f, "sql").to_owned();
    let mode = Mode::parse(get(&f, "mode")).unwrap_or(Mode::Dummy);
    match svc::run(&state, &ctx, id, &RunInput { sql: sql.clone(), mode }).await {
        Ok(r) => Ok(page(&workspace_page(&state, &ctx, id, sql, Some(r), None).await?).into_response()),
        Err(e) if e.is_form_error() => {
            let status = e.status;
            Ok((status, page(&workspace_page(&state, &ctx, id, sql, None, Some(e)).await?)).into_response())
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "outputs.html")]
pub struct OutputsPage {
    pub l: Layout,
    pub pending: Vec<OutputView>,
    pub mine: Vec<OutputView>,
}

/// The reviewers' to-do (outputs of their operator awaiting review) and the outputs of the caller's
/// projects.
pub async fn outputs(State(state): State<AppState>, Extension(ctx): Extension<Ctx>) -> AppResult<Response> {
    let me = ctx.me()?;
    let l = layout(&state, &ctx, "/outputs", vec![("数据使用", ""), ("成果输出", "")]).await?;
    let mut pending = Vec::new();
    if me.user.roles.contains(yunshu_domain::party::Role::Reviewer) {
        for o in state.store.sandbox_outputs_pending(me.org.id).await? {
            pending.push(svc::output_view(&state, &ctx, &o).await?);
        }
    }
    let mut mine = Vec::new();
    for p in state.store.projects_of_org(me.org.id).await? {
        if !ctx.allowed(
            &state,
            "project.view",
            &crate::services::onboarding::onboarding_resource(
                &state,
                p.id,
                &[p.project.developer, p.project.operator],
            )
            .await?,
        ) {
            continue;
        }
        for o in state.store.sandbox_outputs(p.id).await? {
            mine.push(svc::output_view(&state, &ctx, &o).await?);
        }
    }
    mine.sort_by_key(|o| std::cmp::Reverse(o.id));
    mine.truncate(100);
    Ok(page(&OutputsPage { l, pending, mine }).into_response())
}

#[derive(Template)]
#[template(path = "output.html")]
pub struct OutputPage {
    pub l: Layout,
    pub o: OutputView,
    pub project_name: String,
    /// The viewer may open the project's page (its parties; not the operator's reviewers).
    pub project_link: bool,
    /// The reviewer may act (pending, staff of the operator with the reviewer role, not the requester).
    pub can_review: bool,
    /// The values, shown to the operator's reviewers only (each look audited).
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub can_download: bool,
    pub error: String,
}

async fn output_page(state: &AppState, ctx: &Ctx, id: i64, error: Option<AppError>) -> AppResult<OutputPage> {
    let me = ctx.me()?;
    let (out, project, reviewer) = svc::output_access(state, ctx, id).await?;
    let res = crate::services::onboarding::onboarding_resource(
        state,
        project.id,
        &[project.project.developer, project.project.operator],
    )
    .await?;
    let l =
        layout(state, ctx, "/outputs", vec![("数据使用", ""), ("成果输出", "/outputs"), ("输出详情", "")])
            .await?;
    // The values for the reviewers; none once termination deleted the files (the record stays).
    let (columns, rows) = if reviewer {
        match svc::look(state, ctx, &out).await {
            Ok(v) => v,
            Err(e) if e.code == "sandbox.output_deleted" => (Vec::new(), Vec::new()),
            Err(e) => return Err(e),
        }
    } else {
        (Vec::new(), Vec::new())
    };
    let o = svc::output_view(state, ctx, &out).await?;
    Ok(OutputPage {
        l,
        can_review: reviewer && out.status == "pending" && out.requester_id != me.user.id,
        can_download: out.status == "released"
            && me.org.id == project.project.developer
            && ctx.allowed(state, "sandbox.download", &res),
        project_name: project.project.name.clone(),
        project_link: crate::services::data_use::project_for(state, ctx, project.id, "project.view")
            .await
            .is_ok(),
        o,
        columns,
        rows,
        error: error.map(|e| e.message).unwrap_or_default(),
    })
}

pub async fn output(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    Ok(page(&output_page(&state, &ctx, id, None).await?).into_response())
}

/// The developer withdraws an output from review.
pub async fn withdraw(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    match svc::withdraw(&state, &ctx, id).await {
        Ok(_) => Ok(Redirect::to(&format!("/outputs/{id}")).into_response()),
        Err(e) if e.is_form_error() => {
            let status = e.status;
            Ok((status, page(&output_page(&state, &ctx, id, Some(e)).await?)).into_response())
        }
        Err(e) => Err(e),
    }
}

pub async fn review(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Form(f): Form<Fields>,
) -> AppResult<Response> {
    let input = ReviewInput { decision: get(&f, "decision").to_owned(), note: get(&f, "note").to_owned() };
    match svc::review(&state, &ctx, id, &input).await {
        Ok(_) => Ok(Redirect::to(&format!("/outputs/{id}")).into_response()),
        Err(e) if e.is_form_error() => {
            let status = e.status;
            Ok((status, page(&output_page(&state, &ctx, id, Some(e)).await?)).into_response())
        }
        Err(e) => Err(e),
    }
}
