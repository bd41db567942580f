//! Page handlers. Each one builds its page from the store and the services; forms post back, and on
//! a validation error the form is shown again with the values kept and the error beside it (422).

use std::collections::HashMap;

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Datelike, Duration, NaiveDate};
use serde::Deserialize;
use serde_json::json;
use yunshu_domain::approval::ApprovalStatus;
use yunshu_domain::party::{OrgType, Role};
use yunshu_domain::personnel::data_access_gaps;
use yunshu_store::Change;
use yunshu_store::users::User;

use super::templates::*;
use super::{
    history, history_with_seq, layout, left_words, page, region_name, region_path, zh_date, zh_time,
};
use crate::AppState;
use crate::auth::{self, verify_password};
use crate::authz::PolicyResource;
use crate::context::{Ctx, PRE_COOKIE, SESSION_COOKIE, Via, needs_second_factor, set_cookie};
use crate::error::{AppError, AppResult};
use crate::extract::{Form, Path, Query};
use crate::services::{self, Decision};

// ---- static files ------------------------------------------------------------------------------

const APP_CSS: &str = include_str!("../../static/app.css");
const APP_JS: &str = include_str!("../../static/app.js");

pub async fn static_file(Path(file): Path<String>) -> Response {
    let (body, ty) = match file.as_str() {
        "app.css" => (APP_CSS, "text/css; charset=utf-8"),
        "app.js" => (APP_JS, "text/javascript; charset=utf-8"),
        _ => return AppError::not_found().into_response(),
    };
    let mut h = HeaderMap::new();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ty));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    (h, body).into_response()
}

/// The identity verifier's name for people (the code stays in the record).
fn verifier_label(code: &str) -> &str {
    match code {
        "format-only" => "仅格式校验",
        other => other,
    }
}

// ---- login -------------------------------------------------------------------------------------

fn login_view(state: &AppState, ctx: &Ctx, error: &str, username: &str, totp: bool) -> LoginPage {
    LoginPage {
        csrf: ctx.csrf.clone(),
        error: error.to_owned(),
        username: username.to_owned(),
        totp,
        max_failures: state.config.lockout_failures,
        lock_minutes: state.config.lockout_minutes,
        idle_minutes: state.config.idle_minutes,
    }
}

pub async fn login_page(State(state): State<AppState>, Extension(ctx): Extension<Ctx>) -> Response {
    if ctx.principal.is_some() {
        return Redirect::to("/").into_response();
    }
    page(&login_view(&state, &ctx, "", "", false)).into_response()
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
}

/// One answer for a wrong name, a wrong password and a locked account, so that the login page does not
/// tell anyone which accounts exist.
const BAD_LOGIN: &str = "登录名或密码错误，或账号因连续输错已被临时锁定";

pub async fn login(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Form(f): Form<LoginForm>,
) -> AppResult<Response> {
    let username = f.username.trim().to_ascii_lowercase();
    let refuse = |msg: &str| {
        (StatusCode::UNAUTHORIZED, page(&login_view(&state, &ctx, msg, &username, false))).into_response()
    };
    let Some(user) = state.store.user_by_username(&username).await? else {
        // Spend the same time as a real check, so timing does not tell which names exist.
        let _ = auth::verify_password(
            &f.password,
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
        );
        return Ok(refuse(BAD_LOGIN));
    };
    if user.locked_until.is_some_and(|until| until > ctx.now) {
        return Ok(refuse(BAD_LOGIN));
    }
    // The guess is counted before it is checked, so parallel requests cannot check more than the
    // allowed number of passwords between two lockouts.
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    let attempt = tx.reserve_login_attempt(user.id, state.config.lockout_failures, ctx.now).await?;
    tx.commit().await?;
    let Some(attempt) = attempt else {
        return Ok(refuse(BAD_LOGIN));
    };
    if !verify_password(&f.password, &user.password_hash) {
        let lock_until = ctx.now + Duration::minutes(state.config.lockout_minutes);
        let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
        tx.login_failed(user.id, attempt, state.config.lockout_failures, lock_until).await?;
        tx.commit().await?;
        return Ok(refuse(BAD_LOGIN));
    }
    let org = state.store.org(user.org_id).await?;
    if !user.active || !org.active {
        // The right password: the guess is given back, and the refusal recorded.
        let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
        tx.login_succeeded(user.id).await?;
        tx.audit(yunshu_store::Change {
            action: "auth.login",
            object_type: "user",
            object_id: user.id.to_string(),
            result: "denied",
            summary: json!({"reason": "inactive"}),
        })
        .await?;
        tx.commit().await?;
        return Ok(refuse("账号已停用，请联系本单位管理员"));
    }
    let secret = auth::random_hex(32)?;
    let csrf = auth::random_hex(16)?;
    let needs = needs_second_factor(&state, &user);
    let mut audit = ctx.audit();
    audit.user_id = Some(user.id);
    audit.org_id = Some(org.id);
    audit.role = Some(user.roles.to_list());
    let mut tx = state.store.begin(ctx.now, &audit).await?;
    tx.login_succeeded(user.id).await?;
    tx.create_session(&secret, user.id, &csrf, !needs).await?;
    tx.commit().await?;
    let to = if needs && user.totp_enabled {
        "/login/totp"
    } else if needs {
        "/account"
    } else {
        "/"
    };
    let mut r = Redirect::to(to).into_response();
    r.headers_mut()
        .append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, &secret, state.config.production, None));
    r.headers_mut().append(header::SET_COOKIE, set_cookie(PRE_COOKIE, "", state.config.production, Some(0)));
    Ok(r)
}

fn session_secret(ctx: &Ctx) -> Option<String> {
    match &ctx.principal.as_ref()?.via {
        Via::Session { secret, .. } => Some(secret.clone()),
        Via::Token { .. } | Via::Console => None,
    }
}

pub async fn totp_page(State(state): State<AppState>, Extension(ctx): Extension<Ctx>) -> Response {
    if ctx.principal.is_none() {
        return Redirect::to("/login").into_response();
    }
    page(&login_view(&state, &ctx, "", "", true)).into_response()
}

#[derive(Deserialize)]
pub struct CodeForm {
    code: String,
}

pub async fn totp(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Form(f): Form<CodeForm>,
) -> AppResult<Response> {
    let p = ctx.me()?;
    let secret = session_secret(&ctx).ok_or_else(AppError::unauthenticated)?;
    // A locked account gets no more guesses: the half-signed-in session ends.
    if p.user.locked_until.is_some_and(|until| until > ctx.now) {
        let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
        tx.end_session(&secret, p.user.id).await?;
        tx.commit().await?;
        return Ok(Redirect::to("/login").into_response());
    }
    // As for passwords: the guess is counted before the code is checked.
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    let attempt = tx.reserve_login_attempt(p.user.id, state.config.lockout_failures, ctx.now).await?;
    let Some(attempt) = attempt else {
        tx.end_session(&secret, p.user.id).await?;
        tx.commit().await?;
        return Ok(Redirect::to("/login").into_response());
    };
    tx.commit().await?;
    let ok = p.user.totp_secret.as_deref().is_some_and(|s| auth::totp_check(s, ctx.now.timestamp(), &f.code));
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    if ok {
        tx.login_succeeded(p.user.id).await?;
        tx.mark_second_factor(&secret, p.user.id).await?;
        tx.commit().await?;
        return Ok(Redirect::to("/").into_response());
    }
    let lock_until = ctx.now + Duration::minutes(state.config.lockout_minutes);
    if tx.login_failed(p.user.id, attempt, state.config.lockout_failures, lock_until).await? {
        tx.end_session(&secret, p.user.id).await?;
        tx.commit().await?;
        return Ok(Redirect::to("/login").into_response());
    }
    tx.commit().await?;
    Ok((StatusCode::UNAUTHORIZED, page(&login_view(&state, &ctx, "动态口令错误", "", true))).into_response())
}

pub async fn logout(State(state): State<AppState>, Extension(ctx): Extension<Ctx>) -> AppResult<Response> {
    let p = ctx.me()?;
    if let Some(secret) = session_secret(&ctx) {
        let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
        tx.end_session(&secret, p.user.id).await?;
        tx.commit().await?;
    }
    let mut r = Redirect::to("/login").into_response();
    r.headers_mut()
        .append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", state.config.production, Some(0)));
    Ok(r)
}

// ---- work desk -----------------------------------------------------------------------------------

pub async fn desk(State(state): State<AppState>, Extension(ctx): Extension<Ctx>) -> AppResult<Response> {
    let p = ctx.me()?;
    let l = layout(&state, &ctx, "/", vec![("工作台", "")]).await?;
    let today = ctx.today();
    let mut todo = Vec::new();
    let mut overdue = 0;
    for (i, created, due) in crate::api::todo_items(&state, &ctx).await? {
        let (left, late) = match i.working_days_left {
            Some(n) => left_words(n, i.provisional),
            None => (String::new(), false),
        };
        if late {
            overdue += 1;
        }
        todo.push(TodoRow {
            link: i.link,
            title: i.title,
            received: zh_time(created),
            due: due.map(zh_date).unwrap_or_default(),
            left,
            overdue: late,
        });
    }
    let done = state
        .store
        .done_of_user(p.user.id)
        .await?
        .into_iter()
        .map(|d| DoneRow {
            approval_id: d.approval_id,
            title: d.title,
            state: task_state_label(&d.state).to_owned(),
            decided: d.decided_at.map(zh_time).unwrap_or_default(),
        })
        .collect();
    let notices = state
        .store
        .notifications_of_user(p.user.id)
        .await?
        .into_iter()
        .map(|n| (n.title, zh_time(n.created_at), n.link.unwrap_or_default()))
        .collect();
    let gaps =
        data_access_gaps(&p.user.personnel(), today).into_iter().map(|g| g.message_zh().to_owned()).collect();
    // A few figures, by what the role is for.
    let mut figures = Vec::new();
    let own = services::org_resource(&p.org);
    if ctx.allowed(&state, "org.create", &own) {
        let orgs = crate::api::visible_orgs(&state, &ctx).await?;
        let users = crate::api::visible_users(&state, &ctx).await?;
        let eligible = users.iter().filter(|u| data_access_gaps(&u.personnel(), today).is_empty()).count();
        figures.push(("辖区机构".to_owned(), orgs.len().to_string(), "/admin/orgs".to_owned()));
        figures.push(("辖区用户".to_owned(), users.len().to_string(), "/admin/users".to_owned()));
        figures.push((
            "具备用数资格".to_owned(),
            format!("{eligible} / {}", users.len()),
            "/admin/users".to_owned(),
        ));
    } else if ctx.allowed(&state, "user.manage", &own) {
        let users = state.store.users_of_org(p.org.id).await?;
        let eligible = users.iter().filter(|u| data_access_gaps(&u.personnel(), today).is_empty()).count();
        figures.push((
            "本单位人员（具备用数资格 / 全部）".to_owned(),
            format!("{eligible} / {}", users.len()),
            format!("/admin/orgs/{}", p.org.id),
        ));
    }
    if ctx.allowed(&state, "audit.view", &own) {
        let n = crate::api::visible_audit(&state, &ctx, &crate::api::AuditQuery::default(), 200).await?.len();
        figures.push(("近期审计记录".to_owned(), n.to_string(), "/audit".to_owned()));
    }
    let mine = state.store.running_approvals_of_initiator(p.user.id).await?;
    Ok(page(&DeskPage {
        l,
        org_name: p.org.name.clone(),
        org_type: p.org.org_type.label_zh().to_owned(),
        region_path: region_path(&state, &p.org.region),
        region_code: p.org.region.as_str().to_owned(),
        todo,
        overdue,
        done,
        mine,
        notices,
        gaps,
        figures,
    })
    .into_response())
}

fn task_state_label(code: &str) -> &'static str {
    match code {
        "pending" => "待处理",
        "approved" => "同意",
        "rejected" => "不同意",
        "returned" => "退回",
        "transferred" => "转办",
        _ => "已关闭",
    }
}

// ---- account ----------------------------------------------------------------------------------------

async fn account_page(state: &AppState, ctx: &Ctx, error: &str, new_token: &str) -> AppResult<AccountPage> {
    let p = ctx.me()?;
    let l = layout(state, ctx, "/account", vec![("个人设置", "")]).await?;
    // The enrolment secret is shown until enrolled; it is bound to the session by being posted back
    // with a code that proves the app holds it.
    let totp_secret = auth::new_totp_secret()?;
    let totp_uri = format!(
        "otpauth://totp/Yunshu:{}?secret={}&issuer=Yunshu&algorithm=SHA1&digits=6&period=30",
        p.user.username, totp_secret
    );
    let tokens = state
        .store
        .api_tokens_of_user(p.user.id)
        .await?
        .into_iter()
        .map(|t| {
            let expired = t.expires_at <= ctx.now;
            TokenRow {
                id: t.id,
                name: t.name,
                created: zh_time(t.created_at),
                expires: zh_time(t.expires_at),
                status: if t.revoked_at.is_some() {
                    "已吊销".into()
                } else if expired {
                    "已过期".into()
                } else {
                    "有效".into()
                },
                revocable: t.revoked_at.is_none() && !expired,
            }
        })
        .collect();
    let today = ctx.today();
    Ok(AccountPage {
        l,
        me: user_row(&p.user, &p.org.name, today),
        gaps: data_access_gaps(&p.user.personnel(), today)
            .into_iter()
            .map(|g| g.message_zh().to_owned())
            .collect(),
        error: error.to_owned(),
        totp_enabled: p.user.totp_enabled,
        totp_required: state.config.production && p.user.roles.requires_second_factor(),
        totp_secret,
        totp_uri,
        tokens,
        new_token: new_token.to_owned(),
    })
}

pub async fn account(State(state): State<AppState>, Extension(ctx): Extension<Ctx>) -> AppResult<Response> {
    Ok(page(&account_page(&state, &ctx, "", "").await?).into_response())
}

#[derive(Deserialize)]
pub struct PasswordForm {
    current: String,
    new_password: String,
}

pub async fn change_password(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Form(f): Form<PasswordForm>,
) -> AppResult<Response> {
    let p = ctx.me()?;
    let problem = if !verify_password(&f.current, &p.user.password_hash) {
        Some("当前密码不正确".to_owned())
    } else {
        yunshu_domain::personnel::check_password_policy(&f.new_password, &p.user.username)
            .err()
            .map(|e| e.message_zh().to_owned())
    };
    if let Some(msg) = problem {
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page(&account_page(&state, &ctx, &msg, "").await?))
            .into_response());
    }
    let hash = auth::hash_password(&f.new_password)?;
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    tx.set_password(p.user.id, &hash, session_secret(&ctx).as_deref()).await?;
    tx.commit().await?;
    Ok(Redirect::to("/account").into_response())
}

#[derive(Deserialize)]
pub struct TotpForm {
    secret: String,
    code: String,
    /// The current password: enrolling a second factor is as sensitive as changing the password.
    password: String,
}

pub async fn enroll_totp(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Form(f): Form<TotpForm>,
) -> AppResult<Response> {
    let p = ctx.me()?;
    if p.user.totp_enabled {
        return Err(AppError::conflict("totp.already", "动态口令已启用；如需更换验证器，请联系管理员重置"));
    }
    if !verify_password(&f.password, &p.user.password_hash) {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            page(&account_page(&state, &ctx, "当前密码不正确", "").await?),
        )
            .into_response());
    }
    if auth::base32_decode(&f.secret).is_none_or(|k| k.len() < 16) {
        return Err(AppError::invalid("secret", "totp.secret", "密钥格式有误"));
    }
    if !auth::totp_check(&f.secret, ctx.now.timestamp(), &f.code) {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            page(&account_page(&state, &ctx, "动态口令不正确，请确认验证器中的密钥与时间", "").await?),
        )
            .into_response());
    }
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    tx.set_totp(p.user.id, Some(&f.secret), true).await?;
    if let Some(secret) = session_secret(&ctx) {
        tx.mark_second_factor(&secret, p.user.id).await?;
    }
    tx.audit(Change::ok("user.totp_enable", "user", p.user.id, json!({}))).await?;
    tx.commit().await?;
    Ok(Redirect::to("/account").into_response())
}

#[derive(Deserialize)]
pub struct TokenForm {
    name: String,
    days: i64,
}

pub async fn create_token(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Form(f): Form<TokenForm>,
) -> AppResult<Response> {
    let t =
        crate::api::issue_token(&state, &ctx, &crate::api::TokenInput { name: f.name, days: f.days }).await?;
    Ok(page(&account_page(&state, &ctx, "", &t.token).await?).into_response())
}

pub async fn revoke_token(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    crate::api::revoke(&state, &ctx, id).await?;
    Ok(Redirect::to("/account").into_response())
}

// ---- calendar -----------------------------------------------------------------------------------

#[derive(Deserialize)]
pub struct CalendarQuery {
    start: Option<String>,
    days: Option<u32>,
    unit: Option<String>,
}

pub async fn calendar(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<CalendarQuery>,
) -> AppResult<Response> {
    let l = layout(&state, &ctx, "/calendar", vec![("工作日历", "")]).await?;
    let cal = state.store.work_calendar().await?;
    let today = ctx.today();
    let unit = q.unit.unwrap_or_else(|| "working".into());
    let days = q.days.unwrap_or(20);
    let start =
        q.start.as_deref().and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()).unwrap_or(today);
    let (mut answer, mut error) = (String::new(), String::new());
    if q.start.is_some() {
        let r = if unit == "calendar" {
            cal.add_calendar_days(start, days)
        } else {
            cal.add_working_days(start, days)
        };
        match r {
            Ok(d) => {
                answer = format!(
                    "自 {} 起 {} 个{}后为 {}",
                    zh_date(start),
                    days,
                    if unit == "calendar" { "自然日（末日逢节假日顺延）" } else { "工作日" },
                    zh_date(d)
                )
            }
            Err(e) => error = e.message_zh(),
        }
    }
    // The month of the start date, as a grid.
    let first = start.with_day(1).unwrap_or(start);
    let mut weeks = Vec::new();
    let mut week: Vec<(String, String, String)> = Vec::new();
    for _ in 0..first.weekday().num_days_from_monday() {
        week.push((String::new(), "blank".into(), String::new()));
    }
    let mut d = first;
    while d.month() == first.month() {
        let (class, title) = match cal.day_kind(d) {
            Ok(k) => {
                let entry = cal.entry(d).map(|e| e.name.clone()).unwrap_or_default();
                let weekend = d.weekday().num_days_from_monday() >= 5;
                match k {
                    yunshu_domain::calendar::DayKind::Off => ("off".to_owned(), entry),
                    yunshu_domain::calendar::DayKind::Work if weekend => {
                        ("work-adj".to_owned(), format!("{entry} 调休上班"))
                    }
                    yunshu_domain::calendar::DayKind::Work => ("work".to_owned(), entry),
                }
            }
            Err(_) => ("unknown".to_owned(), "未载入官方安排".to_owned()),
        };
        week.push((d.day().to_string(), class, title));
        if week.len() == 7 {
            weeks.push(std::mem::take(&mut week));
        }
        d = match d.succ_opt() {
            Some(n) => n,
            None => break,
        };
    }
    if !week.is_empty() {
        weeks.push(week);
    }
    let own = services::org_resource(&ctx.me()?.org);
    Ok(page(&CalendarPage {
        l,
        years: cal.years().iter().map(|y| y.to_string()).collect::<Vec<_>>().join("、"),
        start: start.to_string(),
        days,
        unit,
        answer,
        error,
        month_title: format!("{}年{}月", first.year(), first.month()),
        weeks,
        can_load: ctx.allowed(&state, "calendar.load", &own),
    })
    .into_response())
}

#[derive(Deserialize)]
pub struct ScheduleForm {
    source: String,
    schedule: String,
}

pub async fn load_schedule(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Form(f): Form<ScheduleForm>,
) -> AppResult<Response> {
    let schedule = crate::api::calendar::parse_schedule_json(&f.schedule)?;
    let year = schedule.year;
    services::load_schedule(&state, &ctx, schedule, f.source.trim()).await?;
    Ok(Redirect::to(&format!("/calendar?start={year}-01-01&days=0")).into_response())
}

// ---- organisations ------------------------------------------------------------------------------

fn org_row(state: &AppState, o: &yunshu_store::orgs::Organisation) -> OrgRow {
    OrgRow {
        id: o.id,
        name: o.name.clone(),
        uscc: o.uscc.as_str().to_owned(),
        org_type_label: o.org_type.label_zh().to_owned(),
        region: o.region.as_str().to_owned(),
        region_name: region_path(state, &o.region),
        active: o.active,
    }
}

fn type_options() -> Vec<(String, String)> {
    OrgType::ALL.iter().map(|t| (t.code().to_owned(), t.label_zh().to_owned())).collect()
}

/// Regions the caller may place organisations in.
fn region_options(state: &AppState, ctx: &Ctx) -> AppResult<Vec<(String, String)>> {
    let p = ctx.me()?;
    Ok(state
        .regions
        .all()
        .filter(|r| state.regions.contains(&p.org.region, &r.code()))
        .map(|r| (r.code().as_str().to_owned(), region_path(state, &r.code())))
        .collect())
}

#[derive(Deserialize, Default)]
pub struct OrgQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    org_type: String,
    #[serde(default)]
    page: Option<usize>,
}

async fn orgs_page(
    state: &AppState,
    ctx: &Ctx,
    q: OrgQuery,
    form: OrgForm,
    error: Option<AppError>,
) -> AppResult<OrgsPage> {
    let l = layout(state, ctx, "/admin/orgs", vec![("系统管理", ""), ("机构管理", "")]).await?;
    let needle = q.q.trim().to_owned();
    let orgs = crate::api::visible_orgs(state, ctx)
        .await?
        .into_iter()
        .filter(|o| {
            needle.is_empty() || o.name.contains(&needle) || o.uscc.as_str().contains(&needle.to_uppercase())
        })
        .filter(|o| q.org_type.is_empty() || o.org_type.code() == q.org_type)
        .map(|o| org_row(state, &o))
        .collect::<Vec<_>>();
    let base = format!("/admin/orgs?q={}&org_type={}&", urlencode(&needle), urlencode(&q.org_type));
    let (orgs, pager) = paginate(orgs, q.page, &base);
    let own = services::org_resource(&ctx.me()?.org);
    let (error, error_field) = match error {
        Some(e) => (e.message, e.field.unwrap_or("").to_owned()),
        None => (String::new(), String::new()),
    };
    Ok(OrgsPage {
        l,
        q: q.q,
        org_type: q.org_type,
        orgs,
        pager,
        types: type_options(),
        regions: region_options(state, ctx)?,
        can_create: ctx.allowed(state, "org.create", &own),
        form,
        error,
        error_field,
    })
}

pub async fn orgs(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<OrgQuery>,
) -> AppResult<Response> {
    Ok(page(&orgs_page(&state, &ctx, q, OrgForm::default(), None).await?).into_response())
}

pub async fn create_org(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Form(f): Form<HashMap<String, String>>,
) -> AppResult<Response> {
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let input = services::OrgInput {
        name: get("name"),
        uscc: get("uscc"),
        org_type: get("org_type"),
        region: get("region"),
    };
    match services::create_org(&state, &ctx, &input).await {
        Ok(id) => Ok(Redirect::to(&format!("/admin/orgs/{id}")).into_response()),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY || e.status == StatusCode::CONFLICT => {
            let status = e.status;
            let form = OrgForm {
                name: input.name,
                uscc: input.uscc,
                org_type: input.org_type,
                region: input.region,
            };
            Ok((status, page(&orgs_page(&state, &ctx, OrgQuery::default(), form, Some(e)).await?))
                .into_response())
        }
        Err(e) => Err(e),
    }
}

fn user_row(u: &User, org_name: &str, today: NaiveDate) -> UserRow {
    UserRow {
        id: u.id,
        name: u.display_name.clone(),
        username: u.username.clone(),
        org: org_name.to_owned(),
        roles: u.roles.labels_zh(),
        resident_id: u.resident_id.masked(),
        mobile: u.mobile.masked(),
        identity: match &u.identity_verifier {
            Some(v) => format!("{}（{}）", u.identity.label_zh(), verifier_label(v)),
            None => u.identity.label_zh().to_owned(),
        },
        identity_detail: u.identity_detail.clone().unwrap_or_default(),
        filing: u.filing.label_zh().to_owned(),
        filing_link: u.filing_approval_id.unwrap_or(0),
        agreement: match &u.agreement {
            Some(a) => {
                let until = a.expires_on.map(zh_date).unwrap_or_else(|| "长期".into());
                let state = if a.is_current(today) { "有效" } else { "已失效" };
                format!("{} 签署，至 {}（{}）", zh_date(a.signed_on), until, state)
            }
            None => "未登记".into(),
        },
        status: if u.active { "正常".into() } else { "已停用".into() },
        active: u.active,
        eligible: data_access_gaps(&u.personnel(), today).is_empty(),
    }
}

pub async fn org(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let o = state.store.org(id).await?;
    let res = services::org_resource(&o);
    ctx.require(&state, "org.view", &res)?;
    let mut l =
        layout(&state, &ctx, "/admin/orgs", vec![("机构管理", "/admin/orgs"), (o.name.as_str(), "")]).await?;
    l.flash = String::new();
    let today = ctx.today();
    let users = state
        .store
        .users_of_org(o.id)
        .await?
        .iter()
        .filter(|u| {
            ctx.allowed(
                &state,
                "user.view",
                &PolicyResource::User { id: u.id, org_id: o.id, region: o.region },
            )
        })
        .map(|u| user_row(u, &o.name, today))
        .collect();
    let spec = state
        .store
        .chain_spec(o.id, services::FILING_ACTION)
        .await?
        .unwrap_or_else(yunshu_domain::approval::ChainSpec::head_only);
    let chain = spec
        .steps()
        .iter()
        .map(|s| format!("{}（{}，{} 个工作日）", s.role.label_zh(), s.mode.label_zh(), s.due_working_days))
        .collect::<Vec<_>>()
        .join(" → ");
    Ok(page(&OrgPage {
        l,
        org: org_row(&state, &o),
        users,
        chain,
        chain_steps: (0..3)
            .map(|i| match spec.steps().get(i) {
                Some(s) => {
                    (s.role.code().to_owned(), s.mode.code().to_owned(), s.due_working_days.to_string())
                }
                None => (String::new(), "any".to_owned(), "5".to_owned()),
            })
            .collect(),
        role_options: [Role::Head, Role::Leader, Role::Clerk, Role::Admin, Role::Reviewer]
            .iter()
            .map(|r| (r.code().to_owned(), r.label_zh().to_owned()))
            .collect(),
        can_configure: ctx.allowed(&state, "chain.configure", &res),
        history: history(&state, "org", &o.id.to_string()).await?,
    })
    .into_response())
}

/// The chain form: up to three steps, each a role, a signing mode and a time limit.
pub async fn set_chain(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Form(f): Form<HashMap<String, String>>,
) -> AppResult<Response> {
    let get = |k: String| f.get(&k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let steps: Vec<String> = (1..=3)
        .filter(|i| !get(format!("role{i}")).is_empty())
        .map(|i| {
            format!("{}:{}:{}", get(format!("role{i}")), get(format!("mode{i}")), get(format!("days{i}")))
        })
        .collect();
    services::configure_chain(&state, &ctx, id, &get("action".into()), &steps.join(";")).await?;
    Ok(Redirect::to(&format!("/admin/orgs/{id}")).into_response())
}

// ---- users ----------------------------------------------------------------------------------------

/// Rows per list page.
const PAGE_SIZE: usize = 50;

#[derive(Deserialize, Default)]
pub struct UserQuery {
    /// Name, login name or organisation contains.
    #[serde(default)]
    q: String,
    /// 1-based page.
    #[serde(default)]
    page: Option<usize>,
}

/// One page of `rows` and the pager's words and links.
pub(crate) fn paginate<T>(rows: Vec<T>, page: Option<usize>, base: &str) -> (Vec<T>, Pager) {
    let total = rows.len();
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let page = page.unwrap_or(1).clamp(1, pages);
    let rows = rows.into_iter().skip((page - 1) * PAGE_SIZE).take(PAGE_SIZE).collect();
    let link = |p: usize| format!("{base}page={p}");
    let pager = Pager {
        total,
        page,
        pages,
        prev: if page > 1 { link(page - 1) } else { String::new() },
        next: if page < pages { link(page + 1) } else { String::new() },
    };
    (rows, pager)
}

async fn users_page(
    state: &AppState,
    ctx: &Ctx,
    query: UserQuery,
    form: UserForm,
    error: Option<AppError>,
) -> AppResult<UsersPage> {
    let l = layout(state, ctx, "/admin/users", vec![("系统管理", ""), ("用户管理", "")]).await?;
    let orgs = crate::api::visible_orgs(state, ctx).await?;
    let today = ctx.today();
    let needle = query.q.trim().to_owned();
    let rows: Vec<UserRow> = crate::api::visible_users(state, ctx)
        .await?
        .iter()
        .map(|u| {
            let org = orgs.iter().find(|o| o.id == u.org_id).map(|o| o.name.as_str()).unwrap_or("");
            user_row(u, org, today)
        })
        .filter(|r| {
            needle.is_empty()
                || r.name.contains(&needle)
                || r.username.contains(&needle.to_ascii_lowercase())
                || r.org.contains(&needle)
        })
        .collect();
    let base = format!("/admin/users?q={}&", urlencode(&needle));
    let (users, pager) = paginate(rows, query.page, &base);
    let creatable: Vec<(String, String)> = orgs
        .iter()
        .filter(|o| ctx.allowed(state, "user.create", &services::org_resource(o)))
        .map(|o| (o.id.to_string(), format!("{}（{}）", o.name, region_name(state, &o.region))))
        .collect();
    let (error, error_field) = match error {
        Some(e) => (e.message, e.field.unwrap_or("").to_owned()),
        None => (String::new(), String::new()),
    };
    Ok(UsersPage {
        l,
        users,
        q: query.q,
        pager,
        can_create: !creatable.is_empty(),
        orgs: creatable,
        roles: Role::ALL.iter().map(|r| (r.code().to_owned(), r.label_zh().to_owned())).collect(),
        form,
        error,
        error_field,
    })
}

pub async fn users(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<UserQuery>,
) -> AppResult<Response> {
    Ok(page(&users_page(&state, &ctx, q, UserForm::default(), None).await?).into_response())
}

/// Percent-encoding for a query value (search words are Chinese).
pub(crate) fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub async fn create_user(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let get = |k: &str| pairs.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let roles: Vec<String> = pairs.iter().filter(|(k, _)| k == "roles").map(|(_, v)| v.clone()).collect();
    let form = UserForm {
        org_id: get("org_id"),
        username: get("username"),
        display_name: get("display_name"),
        resident_id: get("resident_id"),
        mobile: get("mobile"),
        roles: roles.clone(),
    };
    let result = match form.org_id.trim().parse::<i64>() {
        Ok(org_id) => {
            let input = services::UserInput {
                org_id,
                username: form.username.clone(),
                display_name: form.display_name.clone(),
                resident_id: form.resident_id.clone(),
                mobile: form.mobile.clone(),
                roles,
                password: get("password"),
            };
            services::create_user(&state, &ctx, &input).await
        }
        Err(_) => Err(AppError::invalid("org_id", "org.unknown", "请选择所属机构")),
    };
    match result {
        Ok(id) => Ok(Redirect::to(&format!("/admin/users/{id}")).into_response()),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY || e.status == StatusCode::CONFLICT => {
            let status = e.status;
            Ok((status, page(&users_page(&state, &ctx, UserQuery::default(), form, Some(e)).await?))
                .into_response())
        }
        Err(e) => Err(e),
    }
}

pub async fn user(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let u = services::user_for(&state, &ctx, id, "user.view").await?;
    let org = state.store.org(u.org_id).await?;
    let res = PolicyResource::User { id: u.id, org_id: org.id, region: org.region };
    let l = layout(
        &state,
        &ctx,
        "/admin/users",
        vec![("用户管理", "/admin/users"), (u.display_name.as_str(), "")],
    )
    .await?;
    let today = ctx.today();
    Ok(page(&UserPage {
        l,
        u: user_row(&u, &org.name, today),
        gaps: data_access_gaps(&u.personnel(), today)
            .into_iter()
            .map(|g| g.message_zh().to_owned())
            .collect(),
        can_manage: ctx.allowed(&state, "user.manage", &res),
        can_deactivate: ctx.allowed(&state, "user.deactivate", &res) && ctx.me()?.user.id != u.id,
        history: history(&state, "user", &u.id.to_string()).await?,
    })
    .into_response())
}

fn back_to_user(id: i64) -> Response {
    Redirect::to(&format!("/admin/users/{id}")).into_response()
}

pub async fn verify_identity(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    services::verify_identity(&state, &ctx, id).await?;
    Ok(back_to_user(id))
}

pub async fn record_agreement(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Form(f): Form<services::AgreementInput>,
) -> AppResult<Response> {
    services::record_agreement(&state, &ctx, id, &f).await?;
    Ok(back_to_user(id))
}

pub async fn submit_filing(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let approval = services::submit_filing(&state, &ctx, id).await?;
    Ok(Redirect::to(&format!("/approvals/{approval}")).into_response())
}

pub async fn deactivate(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    services::deactivate_user(&state, &ctx, id).await?;
    Ok(back_to_user(id))
}

// ---- approvals --------------------------------------------------------------------------------------

async fn user_name(state: &AppState, id: i64) -> String {
    match state.store.user(id).await {
        Ok(u) if u.active => u.display_name,
        Ok(u) => format!("{}（已停用）", u.display_name),
        Err(_) => format!("用户 {id}"),
    }
}

pub async fn approval(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let rec = services::approval_for(&state, &ctx, id, "approval.view").await?;
    let me = ctx.me()?.user.id;
    let l = layout(&state, &ctx, "/", vec![("审批", ""), (rec.title.as_str(), "")]).await?;
    let cal = state.store.work_calendar().await?;
    let today = ctx.today();
    let mut tasks = Vec::new();
    for t in &rec.tasks {
        let step = rec
            .approval
            .spec
            .steps()
            .get(t.task.step)
            .map(|s| format!("{}（{}）", s.role.label_zh(), s.mode.label_zh()))
            .unwrap_or_default();
        let (due, overdue) = match (&t.deadline, t.task.state) {
            (Some(d), yunshu_domain::approval::TaskState::Pending) => {
                let (n, prov) = cal.working_days_left(today, d.due);
                let (w, late) = left_words(n, prov || d.provisional);
                (format!("{}，{}", zh_date(d.due), w), late)
            }
            (Some(d), _) => (zh_date(d.due), false),
            (None, _) => (String::new(), false),
        };
        tasks.push(TaskRow {
            round: t.task.round,
            step,
            assignee: user_name(&state, t.task.assignee).await,
            comment: t.task.comment.clone().unwrap_or_default(),
            state: t.task.state.label_zh().to_owned(),
            due,
            overdue,
        });
    }
    let pending_mine = rec.approval.pending_assignees().contains(&me);
    let step_role = match rec.approval.status {
        ApprovalStatus::InProgress { step } => rec.approval.spec.steps().get(step).map(|s| s.role),
        _ => None,
    };
    let colleagues = if pending_mine {
        state
            .store
            .users_of_org(rec.org_id)
            .await?
            .into_iter()
            .filter(|u| {
                u.active
                    && u.id != me
                    && u.id != rec.approval.initiator
                    && u.id.to_string() != rec.subject_id
                    && step_role.is_some_and(|r| u.roles.contains(r))
            })
            .map(|u| (u.id, u.display_name))
            .collect()
    } else {
        Vec::new()
    };
    let status = rec.approval.status;
    let status_class = match status {
        ApprovalStatus::Approved => "ok",
        ApprovalStatus::Rejected => "bad",
        ApprovalStatus::InProgress { .. } => "warn",
        _ => "",
    };
    Ok(page(&ApprovalPage {
        l,
        id,
        title: rec.title.clone(),
        action: if rec.action == services::FILING_ACTION {
            "人员备案".into()
        } else {
            rec.action.clone()
        },
        initiator: user_name(&state, rec.approval.initiator).await,
        chain: rec.approval.spec.steps().iter().map(|s| s.role.label_zh()).collect::<Vec<_>>().join(" → "),
        status: status.label_zh().to_owned(),
        status_class: status_class.to_owned(),
        round: rec.approval.round,
        tasks,
        can_decide: pending_mine,
        colleagues,
        is_initiator: rec.approval.initiator == me,
        running: matches!(status, ApprovalStatus::InProgress { .. }),
        resubmittable: matches!(status, ApprovalStatus::Returned | ApprovalStatus::Withdrawn),
        history: approval_history(&state, &rec).await?,
    })
    .into_response())
}

/// The approval's own records plus its submission, which is recorded on the subject.
async fn approval_history(
    state: &AppState,
    rec: &yunshu_store::approvals::ApprovalRecord,
) -> AppResult<Vec<HistoryRow>> {
    let mut rows = history(state, "approval", &rec.id.to_string()).await?;
    let submitted = state
        .store
        .audit_recent(Some((rec.subject_type.as_str(), rec.subject_id.as_str())), 100)
        .await?
        .into_iter()
        .filter(|r| {
            serde_json::from_str::<serde_json::Value>(&r.record.summary)
                .is_ok_and(|v| v.get("approval_id").and_then(|a| a.as_i64()) == Some(rec.id))
        })
        .map(|r| r.record.seq)
        .collect::<Vec<_>>();
    if !submitted.is_empty() {
        let all = history_with_seq(state, rec.subject_type.as_str(), rec.subject_id.as_str()).await?;
        rows.extend(all.into_iter().filter(|(seq, _)| submitted.contains(seq)).map(|(_, row)| row));
    }
    Ok(rows)
}

#[derive(Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    comment: Option<String>,
    #[serde(default)]
    to_user: Option<i64>,
}

pub async fn decide(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path((id, decision)): Path<(i64, String)>,
    Form(f): Form<DecisionForm>,
) -> AppResult<Response> {
    let decision = Decision::parse(&decision).ok_or_else(AppError::not_found)?;
    services::decide(
        &state,
        &ctx,
        id,
        decision,
        &services::DecisionInput { comment: f.comment, to_user: f.to_user },
    )
    .await?;
    Ok(Redirect::to(&format!("/approvals/{id}")).into_response())
}

// ---- audit ---------------------------------------------------------------------------------------------

/// Labels of the summary keys an audit record commonly carries.
const SUMMARY_KEYS: &[(&str, &str)] = &[
    ("detail", "说明"),
    ("name", "名称"),
    ("title", "标题"),
    ("reason", "理由"),
    ("status", "状态"),
    ("outcome", "结论"),
    ("version", "版本"),
    ("rows", "行数"),
    ("bytes", "字节数"),
    ("code", "编码"),
    ("username", "登录名"),
    ("roles", "角色"),
    ("attempt", "第几次尝试"),
    ("failures", "连续失败次数"),
    ("locked", "已锁定"),
    ("active", "启用"),
    ("policy_action", "所需权限"),
    ("objector", "异议人"),
    ("source", "来源"),
    ("note", "备注"),
];

/// A record's summary in words: its `detail` when it has one, else the labelled keys it carries
/// (the JSON itself is on the record's page and in the export).
fn summary_words(summary: &str) -> String {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(summary) else {
        return String::new();
    };
    if let Some(detail) = map.get("detail").and_then(|v| v.as_str()) {
        return detail.to_owned();
    }
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.chars().take(60).collect(),
        serde_json::Value::Bool(true) => "是".to_owned(),
        serde_json::Value::Bool(false) => "否".to_owned(),
        serde_json::Value::Null => "无".to_owned(),
        other => other.to_string().chars().take(60).collect(),
    };
    SUMMARY_KEYS
        .iter()
        .filter_map(|(key, label)| map.get(*key).map(|v| format!("{label}：{}", text(v))))
        .collect::<Vec<_>>()
        .join("；")
}

/// Who acted: the person's name, else their id; "系统" for the platform itself.
fn audit_user(v: &crate::api::AuditView) -> String {
    match (&v.user_name, &v.user_id) {
        (Some(name), _) => name.clone(),
        (None, Some(id)) => id.clone(),
        (None, None) => "系统".to_owned(),
    }
}

fn audit_org(v: &crate::api::AuditView) -> String {
    v.org_name.clone().or_else(|| v.org_id.clone()).unwrap_or_default()
}

/// The object in words: its kind and its name (or its id where it has no name).
fn audit_object(v: &crate::api::AuditView) -> String {
    let label = super::object_label(&v.object_type);
    match &v.object_name {
        Some(name) => format!("{label}「{name}」"),
        None => format!("{label} {}", v.object_id),
    }
}

fn result_words(result: &str) -> String {
    match result {
        "ok" => "成功".into(),
        "denied" => "拒绝".into(),
        "attempt" => "尝试".into(),
        "error" => "出错".into(),
        other => other.to_owned(),
    }
}

fn audit_time(at: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(at)
        .map(|t| zh_time(t.with_timezone(&chrono::Utc)))
        .unwrap_or(at.to_owned())
}

/// The query string of the page's filters (for the next page and the export).
fn audit_filters(q: &crate::api::AuditQuery) -> String {
    let pairs = [
        ("action", q.action.as_deref()),
        ("result", q.result.as_deref()),
        ("person", q.person.as_deref()),
        ("object_type", q.object_type.as_deref()),
        ("object_id", q.object_id.as_deref()),
    ];
    serde_urlencoded::to_string(pairs.iter().filter_map(|(k, v)| v.map(|v| (*k, v))).collect::<Vec<_>>())
        .unwrap_or_default()
}

pub async fn audit(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<crate::api::AuditQuery>,
) -> AppResult<Response> {
    let l = layout(&state, &ctx, "/audit", vec![("监督管理", ""), ("审计日志", "")]).await?;
    const PAGE: i64 = 50;
    let views = crate::api::visible_audit(&state, &ctx, &q, PAGE).await?;
    let next = if views.len() as i64 == PAGE { views.last().map(|v| v.seq) } else { None };
    let records = views
        .iter()
        .map(|r| AuditRow {
            seq: r.seq,
            at: audit_time(&r.at),
            action: super::action_label(&r.action).to_owned(),
            object: audit_object(r),
            result: result_words(&r.result),
            user: audit_user(r),
            org: audit_org(r),
            ip: r.source_ip.clone().unwrap_or_default(),
            summary: summary_words(&r.summary),
        })
        .collect();
    let filters = audit_filters(&q);
    let next_link = next.map(|seq| format!("/audit?{filters}&before={seq}")).unwrap_or_default();
    Ok(page(&AuditPage {
        l,
        records,
        action: q.action.clone().unwrap_or_default(),
        result: q.result.clone().unwrap_or_default(),
        person: q.person.clone().unwrap_or_default(),
        object_type: q.object_type.clone().unwrap_or_default(),
        object_id: q.object_id.clone().unwrap_or_default(),
        actions: super::ACTION_LABELS,
        objects: super::OBJECT_LABELS,
        export_link: format!("/audit/export?{filters}"),
        next_link,
    })
    .into_response())
}

/// One record in full: who, what, which object, from where, and the JSON summary as stored.
pub async fn audit_record(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(seq): Path<i64>,
) -> AppResult<Response> {
    // The record through the same visibility filter as the list: the one just before `seq + 1`.
    let q = crate::api::AuditQuery { before: seq.checked_add(1), ..Default::default() };
    let views = crate::api::visible_audit(&state, &ctx, &q, 1).await?;
    let v = views.into_iter().find(|v| v.seq == seq).ok_or_else(AppError::not_found)?;
    let l = layout(&state, &ctx, "/audit", vec![("监督管理", ""), ("审计日志", "/audit"), ("记录详情", "")])
        .await?;
    let json = serde_json::from_str::<serde_json::Value>(&v.summary)
        .and_then(|j| serde_json::to_string_pretty(&j))
        .unwrap_or_else(|_| v.summary.clone());
    Ok(page(&AuditRecordPage {
        l,
        seq: v.seq,
        at: audit_time(&v.at),
        action: format!("{}（{}）", super::action_label(&v.action), v.action),
        object: format!("{}（{} {}）", audit_object(&v), v.object_type, v.object_id),
        result: result_words(&v.result),
        user: audit_user(&v),
        org: audit_org(&v),
        role: v.role.clone().unwrap_or_default(),
        ip: v.source_ip.clone().unwrap_or_default(),
        operation_id: v.operation_id.clone(),
        summary: summary_words(&v.summary),
        json,
    })
    .into_response())
}

/// The records matching the page's filters (up to 10 000, newest first) as CSV, with the JSON.
pub async fn export_audit(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<crate::api::AuditQuery>,
) -> AppResult<Response> {
    let views = crate::api::visible_audit(&state, &ctx, &q, 10_000).await?;
    let rows = views
        .iter()
        .map(|v| {
            vec![
                v.seq.to_string(),
                audit_time(&v.at),
                super::action_label(&v.action).to_owned(),
                v.action.clone(),
                audit_object(v),
                result_words(&v.result),
                audit_user(v),
                audit_org(v),
                v.source_ip.clone().unwrap_or_default(),
                summary_words(&v.summary),
                v.summary.clone(),
            ]
        })
        .collect();
    csv_export(
        &state,
        &ctx,
        "audit.export",
        "audit.csv",
        &[
            "序号",
            "时间",
            "操作",
            "操作代码",
            "对象",
            "结果",
            "操作人",
            "机构",
            "来源 IP",
            "摘要",
            "原始记录（JSON）",
        ],
        rows,
    )
    .await
}

// ---- exports ------------------------------------------------------------------------------------------

/// One CSV field, quoted when needed. A leading `=`, `+`, `-` or `@` is neutralised so that a
/// spreadsheet never evaluates a name as a formula (CSV injection).
fn csv_field(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@']) { format!("'{v}") } else { v.to_owned() };
    if v.contains([',', '"', '\n', '\r']) { format!("\"{}\"", v.replace('"', "\"\"")) } else { v }
}

/// A CSV file Excel opens correctly (UTF-8 with a byte-order mark, CRLF line ends), recorded in the
/// audit log: exports carry personal information out of the platform's pages.
async fn csv_export(
    state: &AppState,
    ctx: &Ctx,
    action: &'static str,
    file: &str,
    header: &[&str],
    rows: Vec<Vec<String>>,
) -> AppResult<Response> {
    let mut out = String::from("\u{feff}");
    out.push_str(&header.iter().map(|h| csv_field(h)).collect::<Vec<_>>().join(","));
    out.push_str("\r\n");
    for r in &rows {
        out.push_str(&r.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    tx.audit(Change::ok(action, "export", file, json!({"rows": rows.len()}))).await?;
    tx.commit().await?;
    let mut h = HeaderMap::new();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    let disposition = format!("attachment; filename=\"{file}\"");
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok((h, out).into_response())
}

pub async fn export_orgs(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
) -> AppResult<Response> {
    let rows = crate::api::visible_orgs(&state, &ctx)
        .await?
        .iter()
        .map(|o| {
            vec![
                o.name.clone(),
                o.uscc.as_str().to_owned(),
                o.org_type.label_zh().to_owned(),
                o.region.as_str().to_owned(),
                region_path(&state, &o.region),
                if o.active { "正常".into() } else { "已停用".into() },
            ]
        })
        .collect();
    csv_export(
        &state,
        &ctx,
        "org.export",
        "orgs.csv",
        &["机构名称", "统一社会信用代码", "类型", "行政区划代码", "地区", "状态"],
        rows,
    )
    .await
}

pub async fn export_users(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
) -> AppResult<Response> {
    let orgs = crate::api::visible_orgs(&state, &ctx).await?;
    let today = ctx.today();
    let rows = crate::api::visible_users(&state, &ctx)
        .await?
        .iter()
        .map(|u| {
            let org = orgs.iter().find(|o| o.id == u.org_id).map(|o| o.name.as_str()).unwrap_or("");
            let r = user_row(u, org, today);
            vec![
                r.name,
                r.username,
                r.org,
                r.roles,
                r.resident_id,
                r.mobile,
                r.identity,
                r.filing,
                r.agreement,
                if r.eligible { "具备".into() } else { "未具备".into() },
                r.status,
            ]
        })
        .collect();
    csv_export(
        &state,
        &ctx,
        "user.export",
        "users.csv",
        &[
            "姓名",
            "登录名",
            "单位",
            "岗位",
            "身份证号（脱敏）",
            "手机（脱敏）",
            "实名核验",
            "人员备案",
            "保密协议",
            "用数资格",
            "状态",
        ],
        rows,
    )
    .await
}

#[cfg(test)]
#[path = "pages_test.rs"]
mod tests;
