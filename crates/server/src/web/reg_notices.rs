//! Registration notices on the public site (Art. 18 公示): the list of registrations in notice with
//! their dates, one notice with its resource's description and data items (names only, never
//! values), and the objection form, without sign-in.

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{page, zh_date};
use crate::AppState;
use crate::context::Ctx;
use crate::error::{AppError, AppResult};
use crate::extract::{Form, Path, Query};
use crate::services::onboarding::ObjectionInput;
use crate::services::reg_notices::{self as svc, RegNotice};

/// One registration in notice, as the public reads it.
pub struct RegNoticeRow {
    pub id: i64,
    pub resource: String,
    pub provider: String,
    pub reg_type: String,
    pub start: String,
    pub end: String,
    pub days: String,
}

async fn row(state: &AppState, n: &RegNotice) -> AppResult<RegNoticeRow> {
    let cal = state.store.work_calendar().await?;
    let (start, end) = n.period().ok_or_else(AppError::not_found)?;
    Ok(RegNoticeRow {
        id: n.registration.id,
        resource: n.resource.meta.name.clone(),
        provider: state.store.org(n.resource.provider_org_id).await?.name,
        reg_type: n.registration.registration.reg_type.label_zh().to_owned(),
        start: zh_date(start),
        end: zh_date(end),
        days: cal.working_days_between(start, end).map(|d| d.to_string()).unwrap_or_else(|_| "—".into()),
    })
}

#[derive(Template)]
#[template(path = "public_registrations.html")]
pub struct PublicRegistrationsPage {
    pub rows: Vec<RegNoticeRow>,
}

pub async fn list(State(state): State<AppState>, Extension(ctx): Extension<Ctx>) -> AppResult<Response> {
    let mut rows = Vec::new();
    for n in svc::notices(&state, ctx.today()).await? {
        rows.push(row(&state, &n).await?);
    }
    Ok(page(&PublicRegistrationsPage { rows }).into_response())
}

#[derive(Template)]
#[template(path = "public_registration.html")]
pub struct PublicRegistrationPage {
    pub n: RegNoticeRow,
    pub abstract_text: String,
    pub classification: String,
    /// (name, kind) of the data items.
    pub items: Vec<(String, String)>,
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

async fn detail_page(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    error: Option<AppError>,
    form: Option<&ObjectionInput>,
    lodged: bool,
) -> AppResult<PublicRegistrationPage> {
    let n = svc::notice(state, id, ctx.today()).await?;
    Ok(PublicRegistrationPage {
        abstract_text: n.resource.meta.abstract_text.clone(),
        classification: format!(
            "{}（{}）",
            n.resource.meta.classification.class_label_zh(),
            n.resource.meta.classification.display()
        ),
        items: n.resource.items.iter().map(|i| (i.name.clone(), i.kind.label_zh().to_owned())).collect(),
        n: row(state, &n).await?,
        csrf: ctx.csrf.clone(),
        error: error.map(|e| e.message).unwrap_or_default(),
        lodged,
        name: form.map(|f| f.name.clone()).unwrap_or_default(),
        contact: form.map(|f| f.contact.clone()).unwrap_or_default(),
        content: form.map(|f| f.content.clone()).unwrap_or_default(),
    })
}

pub async fn detail(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Query(q): Query<LodgedQuery>,
) -> AppResult<Response> {
    Ok(page(&detail_page(&state, &ctx, id, None, None, q.lodged.is_some()).await?).into_response())
}

pub async fn lodge(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Form(f): Form<ObjectionInput>,
) -> AppResult<Response> {
    match svc::lodge_objection(&state, &ctx, id, &f).await {
        Ok(_) => Ok(Redirect::to(&format!("/public/registrations/{id}?lodged=1")).into_response()),
        Err(e) if e.is_form_error() => {
            let status = e.status;
            Ok((status, page(&detail_page(&state, &ctx, id, Some(e), Some(&f), false).await?))
                .into_response())
        }
        Err(e) => Err(e),
    }
}
