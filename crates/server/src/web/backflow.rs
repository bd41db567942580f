//! The 数据回流 page: a prefecture data authority requests province-level resources and follows its
//! requests; a provider consents or refuses the requests on its resources; the provincial bureau sees
//! them all.

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use yunshu_domain::party::OrgType;
use yunshu_domain::regions::RegionLevel;
use yunshu_store::catalog::ResourceFilter;

use super::templates::Layout;
use super::{layout, page, zh_time};
use crate::AppState;
use crate::context::Ctx;
use crate::error::{AppError, AppResult};
use crate::extract::{Form, Path};
use crate::services::backflow::{self as svc, BackflowInput, DecideInput};

pub struct RequestRow {
    pub id: i64,
    pub resource: String,
    pub org: String,
    pub purpose: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub reason: String,
    pub copy_id: i64,
    pub at: String,
    pub can_decide: bool,
}

#[derive(Template)]
#[template(path = "backflow.html")]
pub struct BackflowPage {
    pub l: Layout,
    pub can_request: bool,
    /// (id, name, provider)
    pub available: Vec<(i64, String, String)>,
    pub rows: Vec<RequestRow>,
    pub error: String,
}

async fn backflow_page(state: &AppState, ctx: &Ctx, error: Option<AppError>) -> AppResult<BackflowPage> {
    let l = layout(state, ctx, "/backflow", vec![("数据管理", ""), ("数据回流", "")]).await?;
    let me = ctx.me()?;
    let can_request =
        me.org.org_type == OrgType::DataAuthority && me.org.region.level() != RegionLevel::Province;
    let mut available = Vec::new();
    if can_request {
        for r in
            state.store.resources(&ResourceFilter { registered_only: true, ..Default::default() }).await?
        {
            if r.region.level() == RegionLevel::Province && !r.on_negative_list {
                available.push((r.id, r.meta.name.clone(), state.store.org(r.provider_org_id).await?.name));
            }
        }
    }
    let mut rows = Vec::new();
    let province =
        me.org.region.level() == RegionLevel::Province && me.org.org_type == OrgType::DataAuthority;
    for b in state.store.backflows().await? {
        let r = state.store.resource(b.resource_id).await?;
        let own_request = b.requesting_org == me.org.id;
        let provider = r.provider_org_id == me.org.id;
        if !(own_request || provider || province) {
            continue;
        }
        let (status, status_class) = match b.status.as_str() {
            "consented" => ("已同意", "ok"),
            "refused" => ("不同意", "bad"),
            _ => ("待提供单位处理", ""),
        };
        rows.push(RequestRow {
            id: b.id,
            resource: r.meta.name.clone(),
            org: state.store.org(b.requesting_org).await?.name,
            purpose: b.purpose.clone(),
            status,
            status_class,
            reason: b.reason.clone().unwrap_or_default(),
            copy_id: b.copy_resource_id.unwrap_or(0),
            at: zh_time(b.created_at),
            can_decide: provider
                && b.status == "requested"
                && ctx.allowed(state, "resource.manage", &crate::services::catalog::resource_policy(&r)),
        });
    }
    Ok(BackflowPage { l, can_request, available, rows, error: error.map(|e| e.message).unwrap_or_default() })
}

pub async fn list(State(state): State<AppState>, Extension(ctx): Extension<Ctx>) -> AppResult<Response> {
    Ok(page(&backflow_page(&state, &ctx, None).await?).into_response())
}

async fn done(state: &AppState, ctx: &Ctx, r: AppResult<()>) -> AppResult<Response> {
    match r {
        Ok(()) => Ok(Redirect::to("/backflow").into_response()),
        Err(e) if e.is_form_error() => {
            let status = e.status;
            Ok((status, page(&backflow_page(state, ctx, Some(e)).await?)).into_response())
        }
        Err(e) => Err(e),
    }
}

pub async fn request(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Form(f): Form<BackflowInput>,
) -> AppResult<Response> {
    let r = svc::request(&state, &ctx, &f).await.map(|_| ());
    done(&state, &ctx, r).await
}

pub async fn decide(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path((id, decision)): Path<(i64, String)>,
    Form(f): Form<DecideInput>,
) -> AppResult<Response> {
    let consent = match decision.as_str() {
        "consent" => true,
        "refuse" => false,
        _ => return Err(AppError::not_found()),
    };
    let r = svc::decide(&state, &ctx, id, consent, &f).await;
    done(&state, &ctx, r).await
}
