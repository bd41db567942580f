//! JSON API of the catalogue: resources, their items and grades, registrations, the negative list, and
//! the public catalogue search. Same services as the pages.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use yunshu_store::catalog::{RegistrationRecord, ResourceRecord};

use super::Created;
use crate::AppState;
use crate::context::Ctx;
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Path, Query};
use crate::services::catalog::{
    self as svc, ItemsInput, NegativeInput, NegativeReviewInput, RegMove, RegMoveInput, RegistrationInput,
    ResourceForm,
};

#[derive(Serialize, utoipa::ToSchema)]
pub struct ItemView {
    pub name: String,
    pub kind: String,
    pub description: String,
    pub grade: String,
    pub direct_identifier: bool,
    pub quasi_identifier: bool,
    pub sensitive: bool,
    pub scenario_rules: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ResourceView {
    pub id: i64,
    pub resource_code: String,
    pub classification: String,
    pub name: String,
    pub provider_org_id: i64,
    pub region: String,
    pub abstract_text: String,
    pub format: String,
    pub sharing_type: String,
    pub sharing_conditions: String,
    pub open_attribute: String,
    pub update_cycle: String,
    pub release_date: Option<String>,
    pub related: Vec<String>,
    /// The highest grade of the items (就高从严); `None` before items are catalogued.
    pub grade: Option<String>,
    /// draft | registered | cancelled
    pub status: String,
    pub reg_code: Option<String>,
    pub reg_code_provisional: bool,
    pub on_negative_list: bool,
    /// `None` when usable in authorized operation, else the refusal code (e.g. resource.negative_list).
    pub refusal: Option<String>,
    pub items: Vec<ItemView>,
}

pub fn resource_view(r: &ResourceRecord) -> ResourceView {
    let m = &r.meta;
    ResourceView {
        id: r.id,
        resource_code: r.code.as_str().to_owned(),
        classification: m.classification.code(),
        name: m.name.clone(),
        provider_org_id: r.provider_org_id,
        region: r.region.as_str().to_owned(),
        abstract_text: m.abstract_text.clone(),
        format: m.format.code().to_owned(),
        sharing_type: m.sharing_type.code().to_owned(),
        sharing_conditions: m.sharing_conditions.clone(),
        open_attribute: m.open_attribute.code().to_owned(),
        update_cycle: m.update_cycle.code().to_owned(),
        release_date: m.release_date.map(|d| d.to_string()),
        related: m.related.iter().map(|c| c.as_str().to_owned()).collect(),
        grade: r.grade.map(|g| g.code().to_owned()),
        status: r.status.code().to_owned(),
        reg_code: r.reg_code.clone(),
        reg_code_provisional: r.reg_code_provisional,
        on_negative_list: r.on_negative_list,
        refusal: svc::require_usable(r).err().map(|e| e.code.to_owned()),
        items: r
            .items
            .iter()
            .map(|i| ItemView {
                name: i.name.clone(),
                kind: i.kind.code().to_owned(),
                description: i.description.clone(),
                grade: i.grade.code().to_owned(),
                direct_identifier: i.pi.direct,
                quasi_identifier: i.pi.quasi,
                sensitive: i.pi.sensitive,
                scenario_rules: i.scenario_rules_text(),
            })
            .collect(),
    }
}

pub async fn list(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
) -> AppResult<axum::Json<Vec<ResourceView>>> {
    Ok(axum::Json(svc::visible_resources(&state, &ctx).await?.iter().map(resource_view).collect()))
}

pub async fn create(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Json(f): Json<ResourceForm>,
) -> AppResult<(StatusCode, axum::Json<Created>)> {
    let (id, _) = svc::create_resource(&state, &ctx, &f).await?;
    Ok((StatusCode::CREATED, axum::Json(Created { id })))
}

pub async fn get(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<ResourceView>> {
    Ok(axum::Json(resource_view(&svc::resource_for(&state, &ctx, id, "resource.view").await?)))
}

pub async fn set_items(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Json(input): Json<ItemsInput>,
) -> AppResult<axum::Json<ResourceView>> {
    svc::set_items(&state, &ctx, id, &input.items).await?;
    Ok(axum::Json(resource_view(&state.store.resource(id).await?)))
}

pub async fn apply(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Json(input): Json<RegistrationInput>,
) -> AppResult<(StatusCode, axum::Json<Created>)> {
    let id = svc::apply_registration(&state, &ctx, id, &input).await?;
    Ok((StatusCode::CREATED, axum::Json(Created { id })))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RegistrationView {
    pub id: i64,
    pub resource_id: i64,
    /// initial | change | correction | cancellation | supplementary
    pub reg_type: String,
    /// applied | accepted | returned | in_notice | coded | rejected | withdrawn
    pub status: String,
    pub notice_start: Option<String>,
    pub notice_end: Option<String>,
    pub reg_code: Option<String>,
    pub last_reason: Option<String>,
}

fn registration_view(g: &RegistrationRecord) -> RegistrationView {
    RegistrationView {
        id: g.id,
        resource_id: g.resource_id,
        reg_type: g.registration.reg_type.code().to_owned(),
        status: g.registration.status.code().to_owned(),
        notice_start: g.registration.notice.map(|(a, _)| a.to_string()),
        notice_end: g.registration.notice.map(|(_, b)| b.to_string()),
        reg_code: g.reg_code.clone(),
        last_reason: g.last_reason.clone(),
    }
}

pub async fn get_registration(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<RegistrationView>> {
    let g = state.store.registration(id).await?;
    svc::resource_for(&state, &ctx, g.resource_id, "resource.view").await?;
    Ok(axum::Json(registration_view(&g)))
}

pub async fn move_registration(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path((id, mv)): Path<(i64, String)>,
    Json(input): Json<RegMoveInput>,
) -> AppResult<axum::Json<RegistrationView>> {
    let mv = RegMove::parse(&mv).ok_or_else(|| {
        AppError::invalid(
            "move",
            "registration.move",
            "未知的登记办理动作（accept/reject/return/notice/code/resubmit/withdraw）",
        )
    })?;
    svc::move_registration(&state, &ctx, id, mv, &input).await?;
    Ok(axum::Json(registration_view(&state.store.registration(id).await?)))
}

pub async fn exclude(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Json(input): Json<NegativeInput>,
) -> AppResult<(StatusCode, axum::Json<Created>)> {
    let id = svc::exclude_resource(&state, &ctx, id, &input).await?;
    Ok((StatusCode::CREATED, axum::Json(Created { id })))
}

pub async fn review_negative(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Json(input): Json<NegativeReviewInput>,
) -> AppResult<StatusCode> {
    svc::review_negative(&state, &ctx, id, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PublicResourceView {
    pub reg_code: Option<String>,
    pub name: String,
    pub provider: String,
    pub abstract_text: String,
    pub sharing_type: String,
    pub update_cycle: String,
    /// Names and types of the data items (metadata only, never data).
    pub items: Vec<(String, String)>,
}

pub async fn public_search(
    State(state): State<AppState>,
    Query(q): Query<SearchQuery>,
) -> AppResult<axum::Json<Vec<PublicResourceView>>> {
    let q: String = q.q.trim().chars().take(100).collect();
    let mut out = Vec::new();
    for r in svc::public_search(&state, &q).await? {
        let full = state.store.resource(r.id).await?;
        out.push(PublicResourceView {
            reg_code: r.reg_code.clone(),
            name: r.meta.name.clone(),
            provider: state.store.org(r.provider_org_id).await?.name,
            abstract_text: r.meta.abstract_text.clone(),
            sharing_type: r.meta.sharing_type.code().to_owned(),
            update_cycle: r.meta.update_cycle.code().to_owned(),
            items: full.items.iter().map(|i| (i.name.clone(), i.kind.code().to_owned())).collect(),
        });
    }
    Ok(axum::Json(out))
}

/// A registration in public notice (Art. 18), as anyone reads it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PublicRegistrationNoticeView {
    pub registration_id: i64,
    pub resource_name: String,
    pub provider_name: String,
    /// initial | change | correction | cancellation | supplementary
    pub reg_type: String,
    pub reg_type_label: String,
    /// First and last day of the notice, YYYY-MM-DD.
    pub start: String,
    pub end: String,
    /// Data item names (never values).
    pub items: Vec<String>,
}

pub async fn public_registration_notices(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
) -> AppResult<axum::Json<Vec<PublicRegistrationNoticeView>>> {
    let mut out = Vec::new();
    for n in crate::services::reg_notices::notices(&state, ctx.today()).await? {
        let Some((start, end)) = n.period() else { continue };
        out.push(PublicRegistrationNoticeView {
            registration_id: n.registration.id,
            resource_name: n.resource.meta.name.clone(),
            provider_name: state.store.org(n.resource.provider_org_id).await?.name,
            reg_type: n.registration.registration.reg_type.code().to_owned(),
            reg_type_label: n.registration.registration.reg_type.label_zh().to_owned(),
            start: start.to_string(),
            end: end.to_string(),
            items: n.resource.items.iter().map(|i| i.name.clone()).collect(),
        });
    }
    Ok(axum::Json(out))
}

pub async fn lodge_registration_objection(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Json(input): Json<crate::services::onboarding::ObjectionInput>,
) -> AppResult<(StatusCode, axum::Json<super::Created>)> {
    let id = crate::services::reg_notices::lodge_objection(&state, &ctx, id, &input).await?;
    Ok((StatusCode::CREATED, axum::Json(super::Created { id })))
}
