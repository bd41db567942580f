//! Pages of the catalogue (数据管理 → 数据资源目录 / 资源登记 / 负面清单) and the public catalogue
//! (公共数据资源目录, no login). Forms post to the same services as the API; on a validation error
//! the page is shown again with the values kept and the error beside the form (422 / 409).

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use yunshu_domain::catalog::{
    DataFormat, FieldKind, Grade, OpenAttribute, RegistrationStatus, RegistrationType, ResourceCode,
    ResourceMeta, SharingType, UpdateCycle,
};
use yunshu_store::catalog::{RegistrationRecord, ResourceRecord, ResourceStatus};

use super::pages::{paginate, urlencode};
use super::templates::{HistoryRow, Layout, Pager};
use super::{history, layout, page, region_name, zh_date, zh_time};
use crate::AppState;
use crate::context::Ctx;
use crate::error::{AppError, AppResult};
use crate::extract::{Form, Path, Query};
use crate::services::catalog::{
    self as svc, ItemForm, NegativeInput, NegativeReviewInput, RegMove, RegMoveInput, RegistrationInput,
    ResourceForm,
};

type Options = Vec<(String, String)>;

/// A resource's catalogue record in words, for record pages and the certificate.
pub struct ResourceRecordView {
    pub code: String,
    pub classification: String,
    pub class_label: &'static str,
    pub name: String,
    pub abstract_text: String,
    pub format: &'static str,
    pub sharing: &'static str,
    pub sharing_conditions: String,
    pub open: &'static str,
    pub cycle: &'static str,
    pub release: String,
    pub related: String,
    pub grade: &'static str,
    pub reg_code: String,
    pub provisional: bool,
}

impl ResourceRecordView {
    fn of(
        code: &ResourceCode,
        m: &ResourceMeta,
        grade: Option<Grade>,
        reg_code: Option<&str>,
        provisional: bool,
    ) -> ResourceRecordView {
        ResourceRecordView {
            code: code.as_str().to_owned(),
            classification: m.classification.display(),
            class_label: m.classification.class_label_zh(),
            name: m.name.clone(),
            abstract_text: m.abstract_text.clone(),
            format: m.format.label_zh(),
            sharing: m.sharing_type.label_zh(),
            sharing_conditions: m.sharing_conditions.clone(),
            open: m.open_attribute.label_zh(),
            cycle: m.update_cycle.label_zh(),
            release: m.release_date.map(zh_date).unwrap_or_default(),
            related: m.related.iter().map(|c| c.as_str()).collect::<Vec<_>>().join("，"),
            grade: grade.map(|g| g.label_zh()).unwrap_or("未分级"),
            reg_code: reg_code.unwrap_or("").to_owned(),
            provisional,
        }
    }
}

fn options<T: Copy>(all: &[T], code: fn(T) -> &'static str, label: fn(T) -> &'static str) -> Options {
    all.iter().map(|v| (code(*v).to_owned(), label(*v).to_owned())).collect()
}

fn status_tag(r: &ResourceRecord) -> (&'static str, &'static str) {
    if r.on_negative_list {
        return ("负面清单", "bad");
    }
    match r.status {
        ResourceStatus::Draft => ("未登记", ""),
        ResourceStatus::Registered => ("已登记", "ok"),
        ResourceStatus::Cancelled => ("已注销", "warn"),
    }
}

fn reg_tag(s: RegistrationStatus) -> &'static str {
    match s {
        RegistrationStatus::Coded => "ok",
        RegistrationStatus::Rejected | RegistrationStatus::Withdrawn => "bad",
        RegistrationStatus::Returned => "warn",
        _ => "",
    }
}

pub struct ResourceRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub provider: String,
    pub grade: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub reg_code: String,
    pub updated: String,
}

async fn resource_row(state: &AppState, r: &ResourceRecord) -> ResourceRow {
    let (status, status_class) = status_tag(r);
    let provider = state.store.org(r.provider_org_id).await.map(|o| o.name).unwrap_or_default();
    ResourceRow {
        id: r.id,
        code: r.code.as_str().to_owned(),
        name: r.meta.name.clone(),
        provider,
        grade: r.grade.map(|g| g.label_zh()).unwrap_or("未分级").to_owned(),
        status,
        status_class,
        reg_code: r.reg_code.clone().unwrap_or_default(),
        updated: zh_time(r.updated_at),
    }
}

#[derive(Template)]
#[template(path = "catalog.html")]
pub struct CatalogPage {
    pub l: Layout,
    pub q: String,
    pub status: String,
    pub statuses: Vec<String>,
    pub rows: Vec<ResourceRow>,
    pub pager: Pager,
    pub can_create: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct CatalogQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    page: Option<usize>,
}

pub async fn catalog(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<CatalogQuery>,
) -> AppResult<Response> {
    let l = layout(&state, &ctx, "/catalog", vec![("数据管理", ""), ("数据资源目录", "")]).await?;
    let needle = q.q.trim().to_owned();
    let mut rows = Vec::new();
    for r in svc::visible_resources(&state, &ctx).await? {
        if !needle.is_empty() && !r.meta.name.contains(&needle) && !r.code.as_str().contains(&needle) {
            continue;
        }
        let row = resource_row(&state, &r).await;
        if !q.status.is_empty() && row.status != q.status {
            continue;
        }
        rows.push(row);
    }
    let base = format!("/catalog?q={}&status={}&", urlencode(&needle), urlencode(&q.status));
    let (rows, pager) = paginate(rows, q.page, &base);
    let me = ctx.me()?;
    let own = crate::authz::PolicyResource::Resource { id: 0, org_id: me.org.id, region: me.org.region };
    Ok(page(&CatalogPage {
        l,
        q: q.q,
        status: q.status,
        statuses: ["未登记", "已登记", "已注销", "负面清单"].iter().map(|s| (*s).to_owned()).collect(),
        rows,
        pager,
        can_create: ctx.allowed(&state, "resource.manage", &own),
    })
    .into_response())
}

#[derive(Template)]
#[template(path = "resource_new.html")]
pub struct ResourceNewPage {
    pub l: Layout,
    pub f: ResourceForm,
    pub formats: Options,
    pub sharing: Options,
    pub open: Options,
    pub cycles: Options,
    pub error: String,
    pub error_field: String,
}

async fn new_page(
    state: &AppState,
    ctx: &Ctx,
    f: ResourceForm,
    error: Option<AppError>,
) -> AppResult<ResourceNewPage> {
    let l = layout(
        state,
        ctx,
        "/catalog",
        vec![("数据管理", ""), ("数据资源目录", "/catalog"), ("新增资源", "")],
    )
    .await?;
    let (error, error_field) = match error {
        Some(e) => (e.message, e.field.unwrap_or("").to_owned()),
        None => (String::new(), String::new()),
    };
    Ok(ResourceNewPage {
        l,
        f,
        formats: options(DataFormat::ALL, DataFormat::code, DataFormat::label_zh),
        sharing: options(SharingType::ALL, SharingType::code, SharingType::label_zh),
        open: options(OpenAttribute::ALL, OpenAttribute::code, OpenAttribute::label_zh),
        cycles: options(UpdateCycle::ALL, UpdateCycle::code, UpdateCycle::label_zh),
        error,
        error_field,
    })
}

pub async fn new_resource(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
) -> AppResult<Response> {
    let me = ctx.me()?;
    let own = crate::authz::PolicyResource::Resource { id: 0, org_id: me.org.id, region: me.org.region };
    ctx.require(&state, "resource.manage", &own)?;
    let f = ResourceForm {
        sharing_type: "conditional".into(),
        update_cycle: "monthly".into(),
        ..Default::default()
    };
    Ok(page(&new_page(&state, &ctx, f, None).await?).into_response())
}

pub async fn create_resource(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Form(f): Form<ResourceForm>,
) -> AppResult<Response> {
    match svc::create_resource(&state, &ctx, &f).await {
        Ok((id, _)) => Ok(Redirect::to(&format!("/catalog/{id}")).into_response()),
        Err(e) if e.is_form_error() => {
            let status = e.status;
            Ok((status, page(&new_page(&state, &ctx, f, Some(e)).await?)).into_response())
        }
        Err(e) => Err(e),
    }
}

pub struct ItemRow {
    pub i: usize,
    pub name: String,
    pub kind: String,
    pub kind_label: String,
    pub description: String,
    pub grade: String,
    pub grade_label: String,
    pub direct: bool,
    pub quasi: bool,
    pub sensitive: bool,
    pub pi_labels: String,
    pub rules: String,
}

pub struct RegRow {
    pub id: i64,
    pub reg_type: &'static str,
    pub status: &'static str,
    pub status_class: &'static str,
    pub applied: String,
    pub notice: String,
}

fn reg_row(g: &RegistrationRecord) -> RegRow {
    RegRow {
        id: g.id,
        reg_type: g.registration.reg_type.label_zh(),
        status: g.registration.status.label_zh(),
        status_class: reg_tag(g.registration.status),
        applied: zh_time(g.created_at),
        notice: g
            .registration
            .notice
            .map(|(a, b)| format!("{} 至 {}", zh_date(a), zh_date(b)))
            .unwrap_or_default(),
    }
}

#[derive(Template)]
#[template(path = "resource.html")]
pub struct ResourcePage {
    pub l: Layout,
    pub id: i64,
    pub r: ResourceRecordView,
    pub status: &'static str,
    pub status_class: &'static str,
    pub provider: String,
    pub region: String,
    pub items: Vec<ItemRow>,
    pub blank_rows: Vec<usize>,
    pub kinds: Options,
    pub grades: Options,
    pub reg_types: Options,
    pub regs: Vec<RegRow>,
    pub negatives: Vec<(String, String, String, String)>,
    pub can_manage: bool,
    pub can_exclude: bool,
    pub can_raise: bool,
    pub usable: String,
    pub error: String,
    pub error_field: String,
    pub history: Vec<HistoryRow>,
}

fn item_rows(items: &[ItemForm]) -> Vec<ItemRow> {
    items
        .iter()
        .enumerate()
        .map(|(i, it)| {
            let kind = FieldKind::parse(&it.kind).unwrap_or(FieldKind::Text);
            let grade = Grade::parse(&it.grade);
            let mut pi = Vec::new();
            if it.direct {
                pi.push("直接标识符");
            }
            if it.quasi {
                pi.push("准标识符");
            }
            if it.sensitive {
                pi.push("敏感个人信息");
            }
            ItemRow {
                i,
                name: it.name.clone(),
                kind: kind.code().to_owned(),
                kind_label: kind.label_zh().to_owned(),
                description: it.description.clone(),
                grade: grade.map(|g| g.code()).unwrap_or("").to_owned(),
                grade_label: grade.map(|g| g.label_zh()).unwrap_or("未分级").to_owned(),
                direct: it.direct,
                quasi: it.quasi,
                sensitive: it.sensitive,
                pi_labels: pi.join("、"),
                rules: it.scenario_rules.clone(),
            }
        })
        .collect()
}

fn items_of(r: &ResourceRecord) -> Vec<ItemForm> {
    r.items
        .iter()
        .map(|i| ItemForm {
            name: i.name.clone(),
            kind: i.kind.code().to_owned(),
            description: i.description.clone(),
            grade: i.grade.code().to_owned(),
            direct: i.pi.direct,
            quasi: i.pi.quasi,
            sensitive: i.pi.sensitive,
            scenario_rules: i.scenario_rules_text(),
        })
        .collect()
}

async fn resource_page(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    items_override: Option<Vec<ItemForm>>,
    error: Option<AppError>,
) -> AppResult<ResourcePage> {
    let r = svc::resource_for(state, ctx, id, "resource.view").await?;
    let l = layout(
        state,
        ctx,
        "/catalog",
        vec![("数据管理", ""), ("数据资源目录", "/catalog"), (r.meta.name.as_str(), "")],
    )
    .await?;
    let (status, status_class) = status_tag(&r);
    let provider = state.store.org(r.provider_org_id).await?.name;
    let items = item_rows(&items_override.unwrap_or_else(|| items_of(&r)));
    let blank_rows = (items.len()..items.len() + 3).collect();
    let regs = state.store.registrations_of_resource(r.id).await?.iter().map(reg_row).collect();
    let mut negatives = Vec::new();
    for n in state.store.negative_entries_of(r.id).await? {
        let state_words = match n.lifted_on {
            Some(d) => format!("已于 {} 移出：{}", zh_date(d), n.lift_reasons.unwrap_or_default()),
            None => format!("在列，下次年度评估 {}", zh_date(n.next_review)),
        };
        negatives.push((
            zh_date(n.listed_on),
            n.reasons,
            format!("{}（{}，{}）", n.review_decision, zh_date(n.review_date), n.review_ref),
            state_words,
        ));
    }
    let policy = svc::resource_policy(&r);
    let usable = match svc::require_usable(&r) {
        Ok(()) => "可纳入授权运营".to_owned(),
        Err(e) => format!("不可使用：{}", e.message),
    };
    let (error, error_field) = match error {
        Some(e) => (e.message, e.field.unwrap_or("").to_owned()),
        None => (String::new(), String::new()),
    };
    Ok(ResourcePage {
        l,
        id: r.id,
        status,
        status_class,
        provider,
        region: region_name(state, &r.region),
        items,
        blank_rows,
        kinds: options(FieldKind::ALL, FieldKind::code, FieldKind::label_zh),
        grades: options(Grade::ALL, Grade::code, Grade::label_zh),
        reg_types: options(RegistrationType::ALL, RegistrationType::code, RegistrationType::label_zh),
        regs,
        negatives,
        can_manage: ctx.allowed(state, "resource.manage", &policy),
        can_exclude: ctx.allowed(state, "negative_list.manage", &policy) && !r.on_negative_list,
        can_raise: ctx.allowed(state, "verification.raise", &policy) && !r.items.is_empty(),
        usable,
        error,
        error_field,
        history: history(state, "resource", &r.id.to_string()).await?,
        r: ResourceRecordView::of(&r.code, &r.meta, r.grade, r.reg_code.as_deref(), r.reg_code_provisional),
    })
}

pub async fn resource(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    Ok(page(&resource_page(&state, &ctx, id, None, None).await?).into_response())
}

/// Reads the item grid of the form: `name_0`, `kind_0`, … ; rows with an empty name are ignored.
fn items_from_form(pairs: &[(String, String)]) -> Vec<ItemForm> {
    let get = |k: String| pairs.iter().find(|(a, _)| *a == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let mut rows = Vec::new();
    for i in 0..520 {
        if !pairs.iter().any(|(k, _)| *k == format!("name_{i}")) {
            continue;
        }
        let name = get(format!("name_{i}"));
        if name.trim().is_empty() {
            continue;
        }
        rows.push(ItemForm {
            name,
            kind: get(format!("kind_{i}")),
            description: get(format!("desc_{i}")),
            grade: get(format!("grade_{i}")),
            direct: !get(format!("direct_{i}")).is_empty(),
            quasi: !get(format!("quasi_{i}")).is_empty(),
            sensitive: !get(format!("sensitive_{i}")).is_empty(),
            scenario_rules: get(format!("rules_{i}")),
        });
    }
    rows
}

pub async fn save_items(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let items = items_from_form(&pairs);
    match svc::set_items(&state, &ctx, id, &items).await {
        Ok(()) => Ok(Redirect::to(&format!("/catalog/{id}#items")).into_response()),
        Err(e) if e.is_form_error() => {
            let status = e.status;
            Ok((status, page(&resource_page(&state, &ctx, id, Some(items), Some(e)).await?)).into_response())
        }
        Err(e) => Err(e),
    }
}

pub async fn apply_registration(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Form(f): Form<RegistrationInput>,
) -> AppResult<Response> {
    match svc::apply_registration(&state, &ctx, id, &f).await {
        Ok(reg) => Ok(Redirect::to(&format!("/registrations/{reg}")).into_response()),
        Err(e) if e.is_form_error() => {
            let status = e.status;
            Ok((status, page(&resource_page(&state, &ctx, id, None, Some(e)).await?)).into_response())
        }
        Err(e) => Err(e),
    }
}

pub async fn exclude(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Form(f): Form<NegativeInput>,
) -> AppResult<Response> {
    match svc::exclude_resource(&state, &ctx, id, &f).await {
        Ok(_) => Ok(Redirect::to(&format!("/catalog/{id}")).into_response()),
        Err(e) if e.is_form_error() => {
            let status = e.status;
            Ok((status, page(&resource_page(&state, &ctx, id, None, Some(e)).await?)).into_response())
        }
        Err(e) => Err(e),
    }
}

// ---- registrations -------------------------------------------------------------------------------

pub struct RegListRow {
    pub id: i64,
    pub resource_id: i64,
    pub resource: String,
    pub provider: String,
    pub reg_type: &'static str,
    pub status: &'static str,
    pub status_class: &'static str,
    pub applied: String,
}

#[derive(Template)]
#[template(path = "registrations.html")]
pub struct RegistrationsPage {
    pub l: Layout,
    pub status: String,
    pub statuses: Options,
    pub rows: Vec<RegListRow>,
    pub pager: Pager,
}

#[derive(Debug, Default, Deserialize)]
pub struct RegQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    page: Option<usize>,
}

pub async fn registrations(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<RegQuery>,
) -> AppResult<Response> {
    let l = layout(&state, &ctx, "/registrations", vec![("数据管理", ""), ("资源登记", "")]).await?;
    let visible = svc::visible_resources(&state, &ctx).await?;
    let mut rows = Vec::new();
    for g in state.store.registrations().await? {
        let Some(r) = visible.iter().find(|r| r.id == g.resource_id) else { continue };
        if !q.status.is_empty() && g.registration.status.code() != q.status {
            continue;
        }
        rows.push(RegListRow {
            id: g.id,
            resource_id: r.id,
            resource: r.meta.name.clone(),
            provider: state.store.org(r.provider_org_id).await?.name,
            reg_type: g.registration.reg_type.label_zh(),
            status: g.registration.status.label_zh(),
            status_class: reg_tag(g.registration.status),
            applied: zh_time(g.created_at),
        });
    }
    let base = format!("/registrations?status={}&", urlencode(&q.status));
    let (rows, pager) = paginate(rows, q.page, &base);
    Ok(page(&RegistrationsPage {
        l,
        status: q.status,
        statuses: options(RegistrationStatus::ALL, RegistrationStatus::code, RegistrationStatus::label_zh),
        rows,
        pager,
    })
    .into_response())
}

#[derive(Template)]
#[template(path = "registration.html")]
pub struct RegistrationPage {
    pub l: Layout,
    pub id: i64,
    pub resource_id: i64,
    pub resource: String,
    pub resource_code: String,
    pub provider: String,
    pub reg_type: &'static str,
    pub status: &'static str,
    pub status_class: &'static str,
    pub note: String,
    pub started_before: String,
    pub notice: String,
    pub reg_code: String,
    pub last_reason: String,
    pub due: Vec<(String, String, String)>,
    /// (move code, button label, needs a reason)
    pub moves: Vec<(&'static str, &'static str, bool)>,
    pub coded: bool,
    pub error: String,
    pub history: Vec<HistoryRow>,
    /// Objections raised on the public site: (lodged on, by, contact, content).
    pub objections: Vec<(String, String, String, String)>,
}

async fn registration_page(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    error: Option<AppError>,
) -> AppResult<RegistrationPage> {
    let g = state.store.registration(id).await?;
    let r = svc::resource_for(state, ctx, g.resource_id, "resource.view").await?;
    let policy = svc::resource_policy(&r);
    let l = layout(
        state,
        ctx,
        "/registrations",
        vec![("数据管理", ""), ("资源登记", "/registrations"), (r.meta.name.as_str(), "")],
    )
    .await?;
    let process = ctx.allowed(state, "registration.process", &policy);
    let manage = ctx.allowed(state, "resource.manage", &policy);
    let mut moves = Vec::new();
    match g.registration.status {
        RegistrationStatus::Applied if process => {
            moves.push(("accept", "受理", false));
            moves.push(("reject", "不予受理", true));
        }
        RegistrationStatus::Accepted if process => {
            moves.push(("notice", "形式审核通过，开始公示", false));
            moves.push(("return", "退回补正", true));
            moves.push(("reject", "审核不通过", true));
        }
        RegistrationStatus::InNotice if process => {
            moves.push(("code", "公示期满，赋码", false));
            moves.push(("return", "公示有异议，退回补正", true));
        }
        _ => {}
    }
    if manage {
        if g.registration.status == RegistrationStatus::Returned {
            moves.push(("resubmit", "补正后重新提交", false));
        }
        if matches!(
            g.registration.status,
            RegistrationStatus::Applied | RegistrationStatus::Accepted | RegistrationStatus::Returned
        ) {
            moves.push(("withdraw", "撤回申请", false));
        }
    }
    let cal = state.store.work_calendar().await?;
    let today = ctx.today();
    let due = state
        .store
        .tasks_of_subject("registration", &id.to_string())
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
    let objections = crate::services::reg_notices::objections(state, id)
        .await?
        .into_iter()
        .map(|o| (zh_date(o.lodged_on), o.name, o.contact, o.content))
        .collect();
    Ok(RegistrationPage {
        objections,
        l,
        id,
        resource_id: r.id,
        resource: r.meta.name.clone(),
        resource_code: r.code.as_str().to_owned(),
        provider: state.store.org(r.provider_org_id).await?.name,
        reg_type: g.registration.reg_type.label_zh(),
        status: g.registration.status.label_zh(),
        status_class: reg_tag(g.registration.status),
        note: g.note.clone(),
        started_before: g.started_before.map(zh_date).unwrap_or_default(),
        notice: g
            .registration
            .notice
            .map(|(a, b)| {
                format!(
                    "{} 至 {}（{} 个工作日）",
                    zh_date(a),
                    zh_date(b),
                    state.config.registration_periods.notice
                )
            })
            .unwrap_or_default(),
        reg_code: g.reg_code.clone().or(r.reg_code.clone()).unwrap_or_default(),
        last_reason: g.last_reason.clone().unwrap_or_default(),
        due,
        moves,
        coded: g.registration.status == RegistrationStatus::Coded,
        error: error.map(|e| e.message).unwrap_or_default(),
        history: history(state, "registration", &id.to_string()).await?,
    })
}

pub async fn registration(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    Ok(page(&registration_page(&state, &ctx, id, None).await?).into_response())
}

pub async fn move_registration(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path((id, mv)): Path<(i64, String)>,
    Form(f): Form<RegMoveInput>,
) -> AppResult<Response> {
    let mv = RegMove::parse(&mv).ok_or_else(AppError::not_found)?;
    match svc::move_registration(&state, &ctx, id, mv, &f).await {
        Ok(()) => Ok(Redirect::to(&format!("/registrations/{id}")).into_response()),
        Err(e) if e.is_form_error() => {
            let status = e.status;
            Ok((status, page(&registration_page(&state, &ctx, id, Some(e)).await?)).into_response())
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "certificate.html")]
pub struct CertificatePage {
    pub doc_no: String,
    pub reg_code: String,
    pub provisional: bool,
    pub query_code: String,
    pub r: ResourceRecordView,
    pub provider: String,
    pub reg_type: &'static str,
    pub issued: String,
    pub body: String,
    pub items: usize,
}

/// 登记证书: the printable record of a coded registration.
pub async fn certificate(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let g = state.store.registration(id).await?;
    let r = svc::resource_for(&state, &ctx, g.resource_id, "resource.view").await?;
    if g.registration.status != RegistrationStatus::Coded {
        return Err(AppError::conflict("registration.not_coded", "该登记申请尚未赋码，无登记证书"));
    }
    let issued = super::beijing_date(g.updated_at);
    let body =
        crate::services::serving_org(&state, yunshu_domain::party::OrgType::RegistrationBody, &r.region)
            .await?
            .map(|o| o.name)
            .unwrap_or_default();
    Ok(page(&CertificatePage {
        doc_no: format!("云数登〔{}〕{}号", chrono::Datelike::year(&issued), g.id),
        reg_code: g.reg_code.clone().or(r.reg_code.clone()).unwrap_or_default(),
        provisional: r.reg_code_provisional,
        query_code: r.query_code.clone().unwrap_or_default(),
        provider: state.store.org(r.provider_org_id).await?.name,
        reg_type: g.registration.reg_type.label_zh(),
        issued: zh_date(issued),
        body,
        items: r.items.len(),
        r: ResourceRecordView::of(&r.code, &r.meta, r.grade, r.reg_code.as_deref(), r.reg_code_provisional),
    })
    .into_response())
}

// ---- negative list --------------------------------------------------------------------------------

pub struct NegativeRow {
    pub id: i64,
    pub resource_id: i64,
    pub resource: String,
    pub reasons: String,
    pub review: String,
    pub listed: String,
    pub next_review: String,
    pub lifted: String,
    pub can_review: bool,
}

#[derive(Template)]
#[template(path = "negative_list.html")]
pub struct NegativeListPage {
    pub l: Layout,
    pub rows: Vec<NegativeRow>,
    pub error: String,
}

async fn negative_page(state: &AppState, ctx: &Ctx, error: Option<AppError>) -> AppResult<NegativeListPage> {
    let l = layout(state, ctx, "/negative-list", vec![("数据管理", ""), ("负面清单", "")]).await?;
    let visible = svc::visible_resources(state, ctx).await?;
    let mut rows = Vec::new();
    for n in state.store.negative_list(false).await? {
        let Some(r) = visible.iter().find(|r| r.id == n.resource_id) else { continue };
        rows.push(NegativeRow {
            id: n.id,
            resource_id: r.id,
            resource: r.meta.name.clone(),
            reasons: n.reasons,
            review: format!("{}（{}，{}）", n.review_decision, zh_date(n.review_date), n.review_ref),
            listed: zh_date(n.listed_on),
            next_review: zh_date(n.next_review),
            lifted: n
                .lifted_on
                .map(|d| format!("{} 移出：{}", zh_date(d), n.lift_reasons.unwrap_or_default()))
                .unwrap_or_default(),
            can_review: n.lifted_on.is_none()
                && ctx.allowed(state, "negative_list.manage", &svc::resource_policy(r)),
        });
    }
    Ok(NegativeListPage { l, rows, error: error.map(|e| e.message).unwrap_or_default() })
}

pub async fn negative_list(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
) -> AppResult<Response> {
    Ok(page(&negative_page(&state, &ctx, None).await?).into_response())
}

pub async fn review_negative(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Form(f): Form<NegativeReviewInput>,
) -> AppResult<Response> {
    match svc::review_negative(&state, &ctx, id, &f).await {
        Ok(()) => Ok(Redirect::to("/negative-list").into_response()),
        Err(e) if e.is_form_error() => {
            let status = e.status;
            Ok((status, page(&negative_page(&state, &ctx, Some(e)).await?)).into_response())
        }
        Err(e) => Err(e),
    }
}

// ---- the public catalogue (no login) ----------------------------------------------------------------

pub struct PublicRow {
    pub reg_code: String,
    pub name: String,
    pub provider: String,
    pub abstract_text: String,
    pub sharing: &'static str,
    pub cycle: &'static str,
}

#[derive(Template)]
#[template(path = "public_catalog.html")]
pub struct PublicCatalogPage {
    pub q: String,
    pub rows: Vec<PublicRow>,
    pub pager: Pager,
}

#[derive(Debug, Default, Deserialize)]
pub struct PublicQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: Option<usize>,
}

pub async fn public_catalog(
    State(state): State<AppState>,
    Query(q): Query<PublicQuery>,
) -> AppResult<Response> {
    let q_text: String = q.q.trim().chars().take(100).collect();
    let mut rows = Vec::new();
    for r in svc::public_search(&state, &q_text).await? {
        rows.push(PublicRow {
            reg_code: r.reg_code.clone().unwrap_or_default(),
            name: r.meta.name.clone(),
            provider: state.store.org(r.provider_org_id).await?.name,
            abstract_text: r.meta.abstract_text.chars().take(80).collect(),
            sharing: r.meta.sharing_type.label_zh(),
            cycle: r.meta.update_cycle.label_zh(),
        });
    }
    let base = format!("/public/catalog?q={}&", urlencode(&q_text));
    let (rows, pager) = paginate(rows, q.page, &base);
    Ok(page(&PublicCatalogPage { q: q_text, rows, pager }).into_response())
}

#[derive(Template)]
#[template(path = "public_resource.html")]
pub struct PublicResourcePage {
    pub r: ResourceRecordView,
    pub provider: String,
    pub items: Vec<(String, &'static str, String)>,
    pub registered: String,
    pub on_negative_list: bool,
}

/// One registered resource by its registration code or query code: metadata only, never data.
pub async fn public_resource(State(state): State<AppState>, Path(code): Path<String>) -> AppResult<Response> {
    let r = state.store.resource_by_public_code(&code).await?;
    Ok(page(&PublicResourcePage {
        provider: state.store.org(r.provider_org_id).await?.name,
        items: r.items.iter().map(|i| (i.name.clone(), i.kind.label_zh(), i.description.clone())).collect(),
        registered: r.registered_at.map(|t| zh_date(super::beijing_date(t))).unwrap_or_default(),
        on_negative_list: r.on_negative_list,
        r: ResourceRecordView::of(&r.code, &r.meta, r.grade, r.reg_code.as_deref(), r.reg_code_provisional),
    })
    .into_response())
}
