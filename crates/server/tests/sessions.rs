//! Sessions, tokens and the second factor: idle timeout, token expiry, TOTP required for
//! administrators and reviewers in production, security headers and cookie attributes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use std::collections::BTreeMap;

use chrono::Duration;
use reqwest::header::{COOKIE, SET_COOKIE};

/// A hand-held cookie jar: production cookies are `Secure`, which a client rightly refuses to send
/// over the plain-HTTP test connection, so the test carries them itself.
#[derive(Default)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    fn take(&mut self, r: &reqwest::Response) {
        for v in r.headers().get_all(SET_COOKIE) {
            let v = v.to_str().unwrap();
            let (kv, _) = v.split_once(';').unwrap_or((v, ""));
            let (k, val) = kv.split_once('=').unwrap();
            if val.is_empty() {
                self.0.remove(k);
            } else {
                self.0.insert(k.to_owned(), val.to_owned());
            }
        }
    }
    fn header(&self) -> String {
        self.0.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }
}

struct Browser {
    http: reqwest::Client,
    jar: Jar,
    base: String,
}

impl Browser {
    fn new(base: &str) -> Browser {
        Browser {
            http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
            jar: Jar::default(),
            base: base.to_owned(),
        }
    }
    async fn get(&mut self, path: &str) -> (u16, String, String) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header(COOKIE, self.jar.header())
            .send()
            .await
            .unwrap();
        self.jar.take(&r);
        let status = r.status().as_u16();
        let loc = r.headers().get("location").map(|l| l.to_str().unwrap().to_owned()).unwrap_or_default();
        (status, loc, r.text().await.unwrap())
    }
    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> (u16, String, String) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, self.jar.header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.jar.take(&r);
        let status = r.status().as_u16();
        let loc = r.headers().get("location").map(|l| l.to_str().unwrap().to_owned()).unwrap_or_default();
        (status, loc, r.text().await.unwrap())
    }
    async fn login(&mut self, user: &str) -> (u16, String) {
        let (_, _, page) = self.get("/login").await;
        let csrf = common::csrf_of(&page);
        let (s, loc, _) = self
            .post(
                "/login",
                &[("_csrf", &csrf), ("username", user), ("password", yunshu_server::demo::DEMO_PASSWORD)],
            )
            .await;
        (s, loc)
    }
}

#[tokio::test]
async fn an_idle_session_ends_after_30_minutes() {
    let app = common::TestApp::spawn().await;
    let (c, _) = app.login("amr.clerk").await;
    let get = |c: &reqwest::Client| {
        let url = format!("{}/", app.url);
        let c = c.clone();
        async move { c.get(url).send().await.unwrap() }
    };
    assert_eq!(get(&c).await.status(), 200);
    app.advance(Duration::minutes(29));
    assert_eq!(get(&c).await.status(), 200, "activity slides the idle window");
    app.advance(Duration::minutes(29));
    assert_eq!(get(&c).await.status(), 200);
    app.advance(Duration::minutes(31));
    let r = get(&c).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/login");
    app.stop().await;
}

#[tokio::test]
async fn api_tokens_expire_and_act_for_their_organisation() {
    let app = common::TestApp::spawn().await;
    let (c, csrf) = app.login("hrss.clerk").await;
    let r = c
        .post(format!("{}/api/v1/tokens", app.url))
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({"name": "社保数据同步", "days": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let token = r.json::<serde_json::Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let http = reqwest::Client::new();
    let me = http.get(format!("{}/api/v1/me", app.url)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(me.status(), 200);
    let me: serde_json::Value = me.json().await.unwrap();
    assert_eq!(me["org"]["name"], "云南省人力资源和社会保障厅");
    // Longer than allowed is refused.
    let r = c
        .post(format!("{}/api/v1/tokens", app.url))
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({"name": "x", "days": 366}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    app.advance(Duration::hours(25));
    let r = http.get(format!("{}/api/v1/me", app.url)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "auth.bad_token");
    app.stop().await;
}

#[tokio::test]
async fn security_headers_and_cookie_attributes() {
    let app = common::TestApp::spawn().await;
    let r = reqwest::get(format!("{}/login", app.url)).await.unwrap();
    let h = r.headers();
    assert!(h["content-security-policy"].to_str().unwrap().contains("default-src 'none'"));
    assert!(h["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(h.contains_key("x-operation-id"));
    let mut b = Browser::new(&app.url);
    let page = b.http.get(format!("{}/login", app.url)).send().await.unwrap();
    b.jar.take(&page);
    let csrf = common::csrf_of(&page.text().await.unwrap());
    let r = b
        .http
        .post(format!("{}/login", app.url))
        .header(COOKIE, b.jar.header())
        .form(&[
            ("_csrf", csrf.as_str()),
            ("username", "amr.clerk"),
            ("password", yunshu_server::demo::DEMO_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    let session = r
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("ys_session="))
        .unwrap();
    assert!(session.contains("HttpOnly"));
    assert!(session.contains("SameSite=Strict"));
    assert!(!session.contains("Secure"), "demo mode serves plain HTTP on localhost");
    app.stop().await;
}

fn code_now(app: &common::TestApp, secret: &str) -> String {
    let t = app.state.now().timestamp();
    format!("{:06}", yunshu_server::auth::totp_code(secret, (t / 30) as u64).unwrap())
}

#[tokio::test]
async fn production_requires_a_second_factor_for_administrators_and_reviewers() {
    let config = yunshu_server::Config { production: true, ..yunshu_server::Config::default() };
    let app = common::TestApp::spawn_with(config, common::test_now()).await;

    // A clerk needs no second factor.
    let mut clerk = Browser::new(&app.url);
    assert_eq!(clerk.login("fintech.clerk").await, (303, "/".to_owned()));
    assert_eq!(clerk.get("/").await.0, 200);

    // An administrator without TOTP is sent to enrol, and can do nothing else meanwhile.
    let mut admin = Browser::new(&app.url);
    assert_eq!(admin.login("bureau.admin").await, (303, "/account".to_owned()));
    let (s, loc, _) = admin.get("/admin/orgs").await;
    assert_eq!((s, loc.as_str()), (303, "/account"));
    let (s, _, page) = admin.get("/account").await;
    assert_eq!(s, 200);
    let marker = "id=\"totp-secret\">";
    let i = page.find(marker).unwrap() + marker.len();
    let secret = page[i..].split('<').next().unwrap().to_owned();
    let csrf = common::csrf_of(&page);
    let pw = yunshu_server::demo::DEMO_PASSWORD;
    let (s, _, _) = admin
        .post("/account/totp", &[("_csrf", &csrf), ("secret", &secret), ("code", "000000"), ("password", pw)])
        .await;
    assert_eq!(s, 422, "a wrong code does not enrol");
    let code = code_now(&app, &secret);
    let (s, _, _) = admin
        .post(
            "/account/totp",
            &[("_csrf", &csrf), ("secret", &secret), ("code", &code), ("password", "wrong")],
        )
        .await;
    assert_eq!(s, 422, "enrolling needs the current password");
    let (s, loc, _) = admin
        .post("/account/totp", &[("_csrf", &csrf), ("secret", &secret), ("code", &code), ("password", pw)])
        .await;
    assert_eq!((s, loc.as_str()), (303, "/account"));
    assert_eq!(admin.get("/admin/orgs").await.0, 200);

    // Next login asks for the code.
    let mut again = Browser::new(&app.url);
    assert_eq!(again.login("bureau.admin").await, (303, "/login/totp".to_owned()));
    assert_eq!(again.get("/admin/orgs").await.1, "/login/totp");
    let (_, _, page) = again.get("/login/totp").await;
    let csrf = common::csrf_of(&page);
    let (s, _, _) = again.post("/login/totp", &[("_csrf", &csrf), ("code", "123456")]).await;
    assert_eq!(s, 401);
    app.advance(Duration::seconds(90));
    let code = code_now(&app, &secret);
    let (s, loc, _) = again.post("/login/totp", &[("_csrf", &csrf), ("code", &code)]).await;
    assert_eq!((s, loc.as_str()), (303, "/"));
    assert_eq!(again.get("/admin/orgs").await.0, 200);

    // Guessing the code locks the account and ends the half-signed-in session.
    let mut guesser = Browser::new(&app.url);
    assert_eq!(guesser.login("bureau.admin").await, (303, "/login/totp".to_owned()));
    let (_, _, page) = guesser.get("/login/totp").await;
    let csrf = common::csrf_of(&page);
    let mut last = (0, String::new());
    for _ in 0..5 {
        let (s, loc, _) = guesser.post("/login/totp", &[("_csrf", &csrf), ("code", "000001")]).await;
        last = (s, loc);
    }
    assert_eq!((last.0, last.1.as_str()), (303, "/login"), "the fifth wrong code ends the session");
    assert_eq!(guesser.get("/login/totp").await.1, "/login");
    // While locked, even the right password is refused.
    let mut again = Browser::new(&app.url);
    assert_eq!(again.login("bureau.admin").await.0, 401);

    // Reviewers too.
    let mut reviewer = Browser::new(&app.url);
    assert_eq!(reviewer.login("op.reviewer1").await, (303, "/account".to_owned()));
    app.stop().await;
}

#[tokio::test]
async fn a_deactivated_user_cannot_log_in() {
    let app = common::TestApp::spawn().await;
    let admin = app.token("bureau.admin").await;
    let id = app.user_id("tour.clerk").await;
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/users/{id}/deactivate", app.url))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let mut b = Browser::new(&app.url);
    let (_, _, page) = b.get("/login").await;
    let csrf = common::csrf_of(&page);
    let (s, _, body) = b
        .post(
            "/login",
            &[("_csrf", &csrf), ("username", "tour.clerk"), ("password", yunshu_server::demo::DEMO_PASSWORD)],
        )
        .await;
    assert_eq!(s, 401);
    assert!(body.contains("已停用"));
    // The deactivation is in the user's history.
    let recs = app.state.store.audit_recent(Some(("user", &id.to_string())), 5).await.unwrap();
    assert!(recs.iter().any(|r| r.record.action == "user.deactivate"), "no deactivation in the history");
    // And the refused sign-in (after the guess was counted).
    assert_eq!(recs[0].record.action, "auth.login");
    assert_eq!(recs[0].record.result, "denied");
    app.stop().await;
}

#[tokio::test]
async fn changing_the_password_signs_out_every_other_session() {
    let app = common::TestApp::spawn().await;
    let (first, csrf) = app.login("fund.clerk").await;
    let (second, _) = app.login("fund.clerk").await;
    // The policy is enforced on the new password.
    let r = first
        .post(format!("{}/account/password", app.url))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("current", yunshu_server::demo::DEMO_PASSWORD),
            ("new_password", "short"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let r = first
        .post(format!("{}/account/password", app.url))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("current", yunshu_server::demo::DEMO_PASSWORD),
            ("new_password", "Gongjijin-2026!"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(first.get(format!("{}/", app.url)).send().await.unwrap().status(), 200);
    let r = second.get(format!("{}/", app.url)).send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.headers()["location"].to_str().unwrap()), (303, "/login"));
    app.stop().await;
}
