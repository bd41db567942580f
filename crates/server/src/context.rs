//! The request context and the one middleware every request passes.
//!
//! [`guard`]: operation id → authentication (bearer token or session cookie) → second factor →
//! CSRF on cookie-authenticated writes → route-level policy check → handler → security headers and
//! error rendering (JSON under `/api/`, Chinese HTML elsewhere, always with the operation id).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use yunshu_store::orgs::Organisation;
use yunshu_store::users::User;
use yunshu_store::{AuditCtx, Store};

use crate::AppState;
use crate::auth::{random_hex, same_secret};
use crate::authz::{PolicyPrincipal, PolicyResource};
use crate::error::{AppError, AppResult};
use crate::routes::{self, Kind};

pub const SESSION_COOKIE: &str = "ys_session";
pub const PRE_COOKIE: &str = "ys_pre";

/// How the caller proved who they are.
#[derive(Debug, Clone)]
pub enum Via {
    Session {
        secret: String,
        second_factor_ok: bool,
    },
    Token {
        id: i64,
    },
    /// A platform-side action in a user's name (demo seeding, administrator command line); audited
    /// with that user, never reachable over HTTP.
    Console,
}

/// A signed-in user with their organisation.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    pub org: Organisation,
    pub via: Via,
}

/// Per-request context, available to every handler as an extension.
#[derive(Clone)]
pub struct Ctx {
    pub operation_id: String,
    pub source_ip: Option<String>,
    pub now: DateTime<Utc>,
    pub principal: Option<Arc<Principal>>,
    /// The CSRF token forms must carry (session token, or the pre-session token on the login page).
    pub csrf: String,
    pub api: bool,
    pub path: String,
}

impl Ctx {
    pub fn audit(&self) -> AuditCtx {
        AuditCtx {
            operation_id: self.operation_id.clone(),
            user_id: self.principal.as_ref().map(|p| p.user.id),
            org_id: self.principal.as_ref().map(|p| p.org.id),
            role: self.principal.as_ref().map(|p| p.user.roles.to_list()),
            source_ip: self.source_ip.clone(),
        }
    }

    pub fn policy_principal(&self) -> PolicyPrincipal {
        match &self.principal {
            Some(p) => principal_of(&p.user, &p.org),
            None => PolicyPrincipal::anonymous(),
        }
    }

    /// The signed-in principal, or 401.
    pub fn me(&self) -> AppResult<&Principal> {
        self.principal.as_deref().ok_or_else(AppError::unauthenticated)
    }

    /// Object-level check: may the caller do `action` to `resource`?
    pub fn require(&self, state: &AppState, action: &str, resource: &PolicyResource) -> AppResult<()> {
        if state.authz.is_allowed(&self.policy_principal(), action, resource).map_err(AppError::internal)? {
            Ok(())
        } else {
            Err(AppError::forbidden())
        }
    }

    pub fn allowed(&self, state: &AppState, action: &str, resource: &PolicyResource) -> bool {
        state.authz.is_allowed(&self.policy_principal(), action, resource).unwrap_or(false)
    }

    /// Whether the caller may open the page a link leads to, as far as the route-level policy decides
    /// (the page may still refuse a particular object). To-dos and links are shown only where this
    /// holds: a to-do goes to someone who can act on it.
    pub fn may_open(&self, state: &AppState, link: &str) -> bool {
        let Some(p) = self.principal.as_deref() else { return false };
        may_open_as(state, &self.policy_principal(), &p.org, link)
    }

    /// Every path that touches data calls this first (Art. 25(1)): a user without a verified
    /// identity, an approved personnel filing and a current confidentiality agreement is refused,
    /// with the reasons.
    pub fn require_data_access(&self) -> AppResult<()> {
        let p = self.me()?;
        let gaps = yunshu_domain::personnel::data_access_gaps(&p.user.personnel(), self.today());
        if gaps.is_empty() {
            return Ok(());
        }
        let reasons = gaps.iter().map(|g| g.message_zh()).collect::<Vec<_>>().join("；");
        Err(AppError::new(
            StatusCode::FORBIDDEN,
            "personnel.not_eligible",
            format!("您尚不具备数据使用资格：{reasons}。请联系本单位负责人或管理员办理"),
        ))
    }

    /// The context of acting as `username` at `now` outside HTTP (seeding, the command line).
    pub async fn console(
        store: &Store,
        username: &str,
        now: DateTime<Utc>,
        operation_id: &str,
    ) -> AppResult<Ctx> {
        let user = store.user_by_username(username).await?.ok_or_else(AppError::not_found)?;
        let principal =
            load_principal(store, user.id, Via::Console).await?.ok_or_else(AppError::not_found)?;
        Ok(Ctx {
            operation_id: operation_id.to_owned(),
            source_ip: None,
            now,
            principal: Some(Arc::new(principal)),
            csrf: String::new(),
            api: true,
            path: String::new(),
        })
    }

    pub fn today(&self) -> chrono::NaiveDate {
        crate::web::beijing_date(self.now)
    }
}

/// Marker carried by error responses so the middleware can render them with the request's context.
#[derive(Clone)]
pub(crate) struct PendingError(pub Arc<std::sync::Mutex<Option<AppError>>>);

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

pub fn set_cookie(name: &str, value: &str, secure: bool, max_age: Option<i64>) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
    if secure {
        c.push_str("; Secure");
    }
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(|s| s.trim().to_owned())
}

async fn load_principal(store: &Store, user_id: i64, via: Via) -> AppResult<Option<Principal>> {
    let user = match store.user(user_id).await {
        Ok(u) => u,
        Err(yunshu_store::StoreError::NotFound) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let org = store.org(user.org_id).await?;
    Ok(Some(Principal { user, org, via }))
}

/// [`Ctx::may_open`] for someone who is not the caller (the scheduler choosing whom to tell).
pub fn may_open_as(state: &AppState, principal: &PolicyPrincipal, org: &Organisation, link: &str) -> bool {
    let resource = PolicyResource::Org { id: org.id, region: org.region };
    crate::routes::page_for(link)
        .is_some_and(|spec| state.authz.is_allowed(principal, spec.action, &resource).unwrap_or(false))
}

/// The policy principal of a user of `org`.
pub fn principal_of(user: &User, org: &Organisation) -> PolicyPrincipal {
    PolicyPrincipal {
        user_id: Some(user.id),
        org_id: Some(org.id),
        org_type: org.org_type.code().to_owned(),
        roles: user.roles.iter().map(|r| r.code().to_owned()).collect(),
        region: Some(org.region),
        active: user.active && org.active,
    }
}

/// Does this user have to pass a second factor before working?
pub fn needs_second_factor(state: &AppState, user: &User) -> bool {
    user.totp_enabled || (state.config.production && user.roles.requires_second_factor())
}

/// The middleware. See the module doc for the order of checks.
pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let operation_id = random_hex(8).unwrap_or_else(|_| "0000000000000000".into());
    let path = req.uri().path().to_owned();
    let api = path.starts_with("/api/") || path == "/healthz" || path == "/readyz";
    let source_ip = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string());
    let ctx = Ctx {
        operation_id: operation_id.clone(),
        source_ip,
        now: state.now(),
        principal: None,
        csrf: String::new(),
        api,
        path,
    };
    let secure = state.config.production;
    let mut set_pre: Option<String> = None;
    let mut caller: Option<(AuditCtx, &'static str, String)> = None;
    let mut response = match run(&state, ctx, req, next, &mut set_pre, &mut caller).await {
        Ok(r) => r,
        Err(e) => render_error(e, &operation_id, api),
    };
    // Errors raised inside handlers come back as markers; render them with the context now.
    let pending =
        response.extensions().get::<PendingError>().and_then(|p| p.0.lock().ok().and_then(|mut g| g.take()));
    if let Some(e) = pending {
        response = render_error(e, &operation_id, api);
    }
    // A signed-in caller refused by the policy (route or object) or by the CSRF check is recorded:
    // supervisors look for attempts to reach what one may not (越权访问).
    if response.status() == StatusCode::FORBIDDEN
        && let Some((audit, action, route)) = caller
        && let Err(e) = audit_denial(&state, &audit, action, &route).await
    {
        tracing::error!(error = %e.message, "could not audit a denied request");
    }
    let h = response.headers_mut();
    if let Some(pre) = set_pre {
        h.append(header::SET_COOKIE, set_cookie(PRE_COOKIE, &pre, secure, None));
    }
    security_headers(h, &operation_id, secure);
    response
}

async fn audit_denial(state: &AppState, audit: &AuditCtx, action: &str, route: &str) -> AppResult<()> {
    let mut tx = state.store.begin(state.now(), audit).await?;
    tx.audit(yunshu_store::Change {
        action: "auth.denied",
        object_type: "route",
        object_id: route.to_owned(),
        result: "denied",
        summary: serde_json::json!({ "policy_action": action }),
    })
    .await?;
    tx.commit().await?;
    Ok(())
}

fn render_error(mut e: AppError, operation_id: &str, api: bool) -> Response {
    e.operation_id = operation_id.to_owned();
    e.api = api;
    // A page without a session goes to the login page; one with a bad bearer token is told so
    // (the browser would send the same header to /login again, and be redirected forever).
    if e.status == StatusCode::UNAUTHORIZED && !api && e.code != "auth.bad_token" {
        return Redirect::to("/login").into_response();
    }
    e.render()
}

fn security_headers(h: &mut HeaderMap, operation_id: &str, production: bool) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    h.insert("permissions-policy", HeaderValue::from_static("camera=(), microphone=(), geolocation=()"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if production {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    if let Ok(v) = HeaderValue::from_str(operation_id) {
        h.insert("x-operation-id", v);
    }
}

/// Paths a user who still owes a second factor may use.
fn second_factor_exempt(path: &str, enrolled: bool) -> bool {
    if enrolled {
        matches!(path, "/login/totp" | "/logout" | "/static/{file}")
    } else {
        matches!(path, "/account" | "/account/totp" | "/logout" | "/static/{file}")
    }
}

async fn run(
    state: &AppState,
    mut ctx: Ctx,
    req: Request,
    next: Next,
    set_pre: &mut Option<String>,
    caller: &mut Option<(AuditCtx, &'static str, String)>,
) -> AppResult<Response> {
    let matched = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned());
    let Some(matched) = matched else {
        // No route matched: 404 in the right format (JSON under /api/, a page elsewhere).
        return Err(AppError::not_found());
    };
    let method = req.method().clone();
    // Deny by default: a route without a row in the table is refused for everyone.
    let spec = routes::find(&method, &matched).ok_or_else(AppError::forbidden)?;
    ctx.api = spec.kind == Kind::Api;

    // Authentication.
    let headers = req.headers().clone();
    let mut session_csrf = None;
    if let Some(secret) = bearer(&headers) {
        let token = state.store.valid_api_token(&secret, ctx.now).await?.ok_or_else(|| {
            AppError::new(StatusCode::UNAUTHORIZED, "auth.bad_token", "接口令牌无效、已过期或已吊销")
        })?;
        let p = load_principal(&state.store, token.user_id, Via::Token { id: token.id })
            .await?
            .ok_or_else(AppError::unauthenticated)?;
        // A token is scoped to the organisation it was issued for.
        if p.org.id != token.org_id {
            return Err(AppError::unauthenticated());
        }
        ctx.principal = Some(Arc::new(p));
    } else if let Some(secret) = cookie(&headers, SESSION_COOKIE) {
        let idle = chrono::Duration::minutes(state.config.idle_minutes);
        if let Some(s) = state.store.touch_session(&secret, ctx.now, idle).await? {
            session_csrf = Some(s.csrf_token.clone());
            ctx.principal = load_principal(
                &state.store,
                s.user_id,
                Via::Session { secret, second_factor_ok: s.second_factor_ok },
            )
            .await?
            .map(Arc::new);
        }
    }

    if ctx.principal.is_some() {
        *caller = Some((ctx.audit(), spec.action, format!("{method} {matched}")));
    }

    // Second factor still owed: only the TOTP step (or enrolment) and logout.
    if let Some(p) = &ctx.principal
        && let Via::Session { second_factor_ok: false, .. } = p.via
        && needs_second_factor(state, &p.user)
        && !second_factor_exempt(&matched, p.user.totp_enabled)
    {
        if spec.kind == Kind::Api {
            return Err(AppError::new(
                StatusCode::UNAUTHORIZED,
                "auth.second_factor_required",
                "请先完成动态口令验证",
            ));
        }
        let to = if p.user.totp_enabled { "/login/totp" } else { "/account" };
        return Ok(Redirect::to(to).into_response());
    }

    // CSRF: every cookie-authenticated or anonymous write carries the token.
    // Pages without a session get a pre-session token (the login form); API calls without a session
    // carry no ambient credential, so there is nothing to forge and no token to hand out.
    ctx.csrf = match &session_csrf {
        Some(c) => c.clone(),
        None if spec.kind == Kind::Page => match cookie(&headers, PRE_COOKIE) {
            Some(c) if c.len() == 32 => c,
            _ => {
                let fresh = random_hex(16)?;
                *set_pre = Some(fresh.clone());
                fresh
            }
        },
        None => String::new(),
    };
    let via_token = matches!(ctx.principal.as_deref(), Some(Principal { via: Via::Token { .. }, .. }));
    let safe = matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
    let needs_csrf = !via_token && (session_csrf.is_some() || spec.kind == Kind::Page);
    let req = if !safe && needs_csrf { check_csrf(state, &ctx, req).await? } else { req };

    // Route-level policy check, against the caller's own organisation.
    let resource = match ctx.principal.as_deref() {
        Some(p) => PolicyResource::Org { id: p.org.id, region: p.org.region },
        None => PolicyResource::Platform,
    };
    if !ctx.allowed(state, spec.action, &resource) {
        return Err(if ctx.principal.is_none() {
            AppError::unauthenticated()
        } else {
            AppError::forbidden()
        });
    }

    let mut req = req;
    req.extensions_mut().insert(ctx);
    Ok(next.run(req).await)
}

#[derive(serde::Deserialize)]
struct CsrfField {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
}

/// Compares the header `x-csrf-token`, or the form field `_csrf`, with the expected token. The body
/// is buffered (already bounded by the body limit) and handed on unchanged.
async fn check_csrf(state: &AppState, ctx: &Ctx, req: Request) -> AppResult<Request> {
    let bad =
        || AppError::new(StatusCode::FORBIDDEN, "auth.csrf", "页面已过期或请求来源不明，请刷新页面后重试");
    if let Some(h) = req.headers().get("x-csrf-token") {
        return if h.to_str().is_ok_and(|v| same_secret(v, &ctx.csrf)) { Ok(req) } else { Err(bad()) };
    }
    // A file upload form carries the token in its action URL: its body is streamed to the importer
    // and must not be buffered here.
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if multipart {
        let field: CsrfField =
            serde_urlencoded::from_str(req.uri().query().unwrap_or("")).unwrap_or(CsrfField { csrf: None });
        return match field.csrf {
            Some(ref t) if same_secret(t, &ctx.csrf) => Ok(req),
            _ => Err(bad()),
        };
    }
    let (parts, body) = req.into_parts();
    let bytes: Bytes = axum::body::to_bytes(body, state.config.body_limit).await.map_err(|_| {
        AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "request.too_large", "提交的内容超过大小限制")
    })?;
    let field: CsrfField = serde_urlencoded::from_bytes(&bytes).unwrap_or(CsrfField { csrf: None });
    match field.csrf {
        Some(ref t) if same_secret(t, &ctx.csrf) => Ok(Request::from_parts(parts, Body::from(bytes))),
        _ => Err(bad()),
    }
}

/// The fallback (the middleware answers unmatched paths before this runs; kept as a safe default).
pub async fn not_found() -> AppError {
    AppError::not_found()
}
