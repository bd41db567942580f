//! The role × route matrix: every route of `ROUTES` has one hand-written row of expected outcomes per
//! persona, written from `policy/yunshu.cedar` (not generated from the code), and every cell is
//! checked against the running server.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use std::collections::HashSet;

use serde_json::json;

/// The personas, in the column order of `EXPECTED`. `None` is the anonymous visitor.
const PERSONAS: &[Option<&str>] = &[
    None,
    Some("bureau.admin"),   // 省数据局 admin (data authority, province)
    Some("bureau.clerk"),   // 省数据局 clerk
    Some("km.admin"),       // 昆明市数据局 admin (data authority, prefecture)
    Some("platform.admin"), // platform operator admin
    Some("agency.clerk"),   // implementing agency
    Some("op.reviewer1"),   // operator reviewer (approval 1 lives in this org)
    Some("op.head"),        // operator 负责人
    Some("fintech.clerk"),  // developer
    Some("amr.clerk"),      // data provider
    Some("water.clerk"),    // public utility
    Some("reg.clerk"),      // registration body
    Some("cac.clerk"),      // supervisor
];

// Column legend:        anon, bureau.admin, bureau.clerk, km.admin, platform.admin, agency.clerk,
//                       op.reviewer1, op.head, fintech.clerk, amr.clerk, water.clerk, reg.clerk, cac.clerk
const ALL: &str = "AAAAAAAAAAAAA";
/// Every signed-in active user (desk.view, account.manage, region.view, calendar.view; and org.view /
/// approval routes at route level, which are checked against the caller's own organisation).
const SIGNED: &str = "DAAAAAAAAAAAA";
/// Administrators of a data authority or of the platform operator (org.create, user.create,
/// user.deactivate).
const ADMINS: &str = "DADAADDDDDDDD";
/// ADMINS plus the 负责人/admin inside their own organisation (user.view, user.manage,
/// chain.configure on the caller's own organisation / own record).
const ADMINS_HEADS: &str = "DADAADDADDDDD";
/// approval.view of approval 1 (a filing in 云数运营): members of that org, and the bureau / platform
/// administrators whose region contains it; not 昆明 (a sibling area), not other organisations.
const APPROVAL1_VIEW: &str = "DADDADAADDDDD";
/// approval.act on approval 1: only members of its organisation (administrators may look, not act).
const APPROVAL1_ACT: &str = "DDDDDDAADDDDD";
/// calendar.load: province-level administrators of the bureau or the platform operator.
const CAL_LOAD: &str = "DADDADDDDDDDD";
/// audit.view: data authorities (any role), supervisors, platform administrators.
const AUDIT: &str = "DAAAADDDDDDDA";
/// resource.view: providers (own resources), authorities, the implementing agency, the operator, the
/// registration body and supervisors; not developers, not the platform's own administrators.
const RES_VIEW: &str = "DAAADAAADAAAA";
/// resource.manage: the 经办/负责人 of data providers and public utilities.
const RES_MANAGE: &str = "DDDDDDDDDAADD";
/// verification.raise: the 经办/负责人 of the operator and of data authorities.
const VERIFY_RAISE: &str = "DDADDDDADDDDD";
/// backflow.request: the 经办/负责人 of prefecture data authorities (none among the personas: km.admin
/// is an administrator).
const BACKFLOW: &str = "DDDDDDDDDDDDD";
/// negative_list.manage: the 经办/负责人 of data authorities (not their system administrators).
const NEG_MANAGE: &str = "DDADDDDDDDDDD";
/// application.view: the 经办/负责人 of operators and developers (the parties of onboarding).
const ONBOARD_VIEW: &str = "DDDDDDDAADDDD";
/// scenario.manage, application.review: the operator's 经办/负责人 (not its reviewers).
const ONBOARD_OPERATOR: &str = "DDDDDDDADDDDD";
/// application.apply: the developer's 经办/负责人.
const ONBOARD_APPLY: &str = "DDDDDDDDADDDD";
/// sanction.view: the 经办/负责人 of operators and developers (own measures), of data authorities and
/// of supervisors (read-only, their area); not administrators, not reviewers.
const SANCTION_VIEW: &str = "DDADDDDAADDDA";
/// sanction.manage (impose, lift, terminate, verify): the operator's 经办/负责人.
const SANCTION_MANAGE: &str = "DDDDDDDADDDDD";
/// termination.attest: the developer's 经办/负责人.
const TERMINATION_ATTEST: &str = "DDDDDDDDADDDD";

/// evaluation.view (and .respond): the 经办/负责人 of data authorities, the implementing agency, the
/// operator, developers, data providers and public utilities (the parties of evaluations).
const EVAL_VIEW: &str = "DDADDADAAAADD";
/// evaluation.conduct: the 经办/负责人 of the evaluating kinds (data authority, implementing agency,
/// operator).
const EVAL_CONDUCT: &str = "DDADDADADDDDD";
/// plan.view: the 经办/负责人 of implementing agencies (own plans) and data authorities (their area).
const PLAN_VIEW: &str = "DDADDADDDDDDD";
/// plan.manage: the implementing agency's 经办/负责人.
const PLAN_MANAGE: &str = "DDDDDADDDDDDD";
/// filing.record: the provincial data bureau's 经办/负责人.
const FILING_RECORD: &str = "DDADDDDDDDDDD";

/// data_use.view: the 经办/负责人 of the operator and of providers and public utilities (their own
/// requests), of data authorities and supervisors (their area); not administrators, not reviewers.
const DATA_USE_VIEW: &str = "DDADDDDADAADA";
/// data_use.operate (draft, submit, withdraw, assess, grant, revoke): the operator's 经办/负责人.
const DATA_USE_OPERATE: &str = "DDDDDDDADDDDD";
/// project.view: the 经办/负责人 of operators and developers (own projects), of data authorities and
/// supervisors (their area).
const PROJECT_VIEW: &str = "DDADDDDAADDDA";
/// project.manage: the developer's 经办/负责人.
const PROJECT_MANAGE: &str = "DDDDDDDDADDDD";
/// sandbox.query and sandbox.download: the developer's 经办/负责人.
const SANDBOX_DEV: &str = "DDDDDDDDADDDD";
/// sandbox.review: the operator's reviewers only (not its 负责人, not the developer).
const SANDBOX_REVIEW: &str = "DDDDDDADDDDDD";
/// sandbox.output_view: the parties' staff including the operator's reviewers, and the 经办/负责人 of
/// data authorities and supervisors of the area.
const SANDBOX_OUTPUTS: &str = "DDADDDAAADDDA";

const EXPECTED: &[(&str, &str, &str)] = &[
    ("GET", "/login", ALL),
    // Public; a signed-in user with an empty form gets a validation error, still not refused.
    ("POST", "/login", ALL),
    // Public route, but the page sends a visitor without a pending login back to /login.
    ("GET", "/login/totp", SIGNED),
    ("POST", "/login/totp", ALL),
    ("GET", "/static/{file}", ALL),
    ("GET", "/healthz", ALL),
    ("GET", "/readyz", ALL),
    ("GET", "/api/v1/openapi.json", ALL),
    ("GET", "/", SIGNED),
    ("POST", "/logout", SIGNED),
    ("GET", "/account", SIGNED),
    ("POST", "/account/password", SIGNED),
    ("POST", "/account/totp", SIGNED),
    ("POST", "/account/tokens", SIGNED),
    ("POST", "/account/tokens/{id}/revoke", SIGNED),
    ("GET", "/calendar", SIGNED),
    ("GET", "/api/v1/me", SIGNED),
    ("GET", "/api/v1/todo", SIGNED),
    ("GET", "/api/v1/regions", SIGNED),
    ("GET", "/api/v1/calendar/add-working-days", SIGNED),
    ("GET", "/api/v1/calendar/add-days", SIGNED),
    ("GET", "/api/v1/tokens", SIGNED),
    ("POST", "/api/v1/tokens", SIGNED),
    ("POST", "/api/v1/tokens/{id}/revoke", SIGNED),
    ("GET", "/admin/orgs", SIGNED),
    ("POST", "/admin/orgs", ADMINS),
    ("GET", "/admin/orgs/export.csv", SIGNED),
    ("GET", "/admin/orgs/{id}", SIGNED),
    ("POST", "/admin/orgs/{id}/chains", ADMINS_HEADS),
    ("GET", "/admin/users", ADMINS_HEADS),
    ("GET", "/admin/users/export.csv", ADMINS_HEADS),
    ("POST", "/admin/users", ADMINS),
    ("GET", "/admin/users/{id}", ADMINS_HEADS),
    ("POST", "/admin/users/{id}/verify-identity", ADMINS_HEADS),
    ("POST", "/admin/users/{id}/agreement", ADMINS_HEADS),
    ("POST", "/admin/users/{id}/filing", ADMINS_HEADS),
    ("POST", "/admin/users/{id}/deactivate", ADMINS),
    ("GET", "/api/v1/orgs", SIGNED),
    ("POST", "/api/v1/orgs", ADMINS),
    ("GET", "/api/v1/orgs/{id}", SIGNED),
    ("PUT", "/api/v1/orgs/{id}/chains/{action}", ADMINS_HEADS),
    ("GET", "/api/v1/users", ADMINS_HEADS),
    ("POST", "/api/v1/users", ADMINS),
    ("GET", "/api/v1/users/{id}", ADMINS_HEADS),
    ("POST", "/api/v1/users/{id}/verify-identity", ADMINS_HEADS),
    ("POST", "/api/v1/users/{id}/agreement", ADMINS_HEADS),
    ("POST", "/api/v1/users/{id}/filing", ADMINS_HEADS),
    ("POST", "/api/v1/users/{id}/deactivate", ADMINS),
    ("GET", "/approvals/{id}", APPROVAL1_VIEW),
    ("POST", "/approvals/{id}/{decision}", APPROVAL1_ACT),
    ("GET", "/api/v1/approvals/{id}", APPROVAL1_VIEW),
    ("POST", "/api/v1/approvals/{id}/{decision}", APPROVAL1_ACT),
    ("POST", "/calendar/schedules", CAL_LOAD),
    ("POST", "/api/v1/calendar/schedules", CAL_LOAD),
    ("GET", "/audit", AUDIT),
    ("GET", "/audit/export", AUDIT),
    ("GET", "/audit/{seq}", AUDIT),
    ("GET", "/api/v1/audit", AUDIT),
    ("GET", "/catalog", RES_VIEW),
    ("POST", "/catalog", RES_MANAGE),
    ("GET", "/catalog/new", RES_MANAGE),
    ("GET", "/catalog/{id}", RES_VIEW),
    ("POST", "/catalog/{id}/items", RES_MANAGE),
    ("POST", "/catalog/{id}/registrations", RES_MANAGE),
    ("POST", "/catalog/{id}/exclude", NEG_MANAGE),
    ("GET", "/registrations", RES_VIEW),
    ("GET", "/registrations/{id}", RES_VIEW),
    ("GET", "/registrations/{id}/certificate", RES_VIEW),
    ("POST", "/registrations/{id}/{move}", RES_VIEW),
    ("GET", "/negative-list", RES_VIEW),
    ("POST", "/negative-list/{id}/review", NEG_MANAGE),
    ("GET", "/catalog/{id}/data", RES_VIEW),
    ("POST", "/catalog/{id}/versions", RES_MANAGE),
    ("POST", "/catalog/{id}/versions/{vid}/{decision}", RES_MANAGE),
    ("POST", "/catalog/{id}/rules", RES_MANAGE),
    ("POST", "/catalog/{id}/rules/{rule}/delete", RES_MANAGE),
    ("POST", "/api/v1/resources/{id}/versions", RES_MANAGE),
    ("GET", "/api/v1/resources/{id}/versions", RES_VIEW),
    ("POST", "/api/v1/versions/{id}/{decision}", RES_MANAGE),
    ("POST", "/api/v1/resources/{id}/rules", RES_MANAGE),
    ("POST", "/catalog/{id}/verifications", VERIFY_RAISE),
    ("GET", "/verifications", RES_VIEW),
    ("GET", "/verifications/{id}", RES_VIEW),
    ("POST", "/verifications/{id}/answer", RES_MANAGE),
    ("POST", "/api/v1/resources/{id}/verifications", VERIFY_RAISE),
    ("GET", "/api/v1/verifications", RES_VIEW),
    ("GET", "/api/v1/verifications/{id}", RES_VIEW),
    ("POST", "/api/v1/verifications/{id}/answer", RES_MANAGE),
    ("GET", "/backflow", RES_VIEW),
    ("POST", "/backflow", BACKFLOW),
    ("POST", "/backflow/{id}/{decision}", RES_MANAGE),
    ("POST", "/api/v1/backflow", BACKFLOW),
    ("POST", "/api/v1/backflow/{id}/{decision}", RES_MANAGE),
    ("GET", "/public/catalog", ALL),
    ("GET", "/public/catalog/{code}", ALL),
    ("GET", "/api/v1/resources", RES_VIEW),
    ("POST", "/api/v1/resources", RES_MANAGE),
    ("GET", "/api/v1/resources/{id}", RES_VIEW),
    ("PUT", "/api/v1/resources/{id}/items", RES_MANAGE),
    ("POST", "/api/v1/resources/{id}/registrations", RES_MANAGE),
    ("POST", "/api/v1/resources/{id}/negative-list", NEG_MANAGE),
    ("GET", "/api/v1/registrations/{id}", RES_VIEW),
    ("POST", "/api/v1/registrations/{id}/{move}", RES_VIEW),
    ("POST", "/api/v1/negative-list/{id}/review", NEG_MANAGE),
    ("GET", "/api/v1/public/catalog", ALL),
    ("GET", "/onboarding/scenarios", ONBOARD_VIEW),
    ("POST", "/onboarding/scenarios", ONBOARD_OPERATOR),
    ("GET", "/onboarding/scenarios/{id}", ONBOARD_VIEW),
    ("POST", "/onboarding/scenarios/{id}/assessment", ONBOARD_OPERATOR),
    ("POST", "/onboarding/scenarios/{id}/apply", ONBOARD_APPLY),
    ("POST", "/onboarding/scenarios/proposals", ONBOARD_APPLY),
    ("POST", "/onboarding/applications/{id}/supplement-files", ONBOARD_APPLY),
    ("GET", "/onboarding/applications", ONBOARD_VIEW),
    ("GET", "/onboarding/applications/{id}", ONBOARD_VIEW),
    // Route level: both parties; the handler checks application.review or application.apply.
    ("POST", "/onboarding/applications/{id}/{move}", ONBOARD_VIEW),
    ("POST", "/onboarding/applications/{id}/objections/{oid}/decision", ONBOARD_OPERATOR),
    // The public notices and their objection form need no login.
    ("GET", "/public/notices", ALL),
    ("GET", "/public/notices/{id}", ALL),
    ("POST", "/public/notices/{id}/objections", ALL),
    ("GET", "/public/registrations", ALL),
    ("GET", "/public/registrations/{id}", ALL),
    ("POST", "/public/registrations/{id}/objections", ALL),
    ("GET", "/sanctions", SANCTION_VIEW),
    ("POST", "/sanctions", SANCTION_MANAGE),
    ("POST", "/sanctions/{id}/lift", SANCTION_MANAGE),
    ("GET", "/dev-agreements/{id}/termination", SANCTION_VIEW),
    ("POST", "/dev-agreements/{id}/termination", SANCTION_MANAGE),
    ("GET", "/dev-agreements/{id}/termination/print", SANCTION_VIEW),
    ("POST", "/terminations/{id}/attestation", TERMINATION_ATTEST),
    ("POST", "/terminations/{id}/verification", SANCTION_MANAGE),
    ("GET", "/api/v1/sanctions", SANCTION_VIEW),
    ("POST", "/api/v1/sanctions", SANCTION_MANAGE),
    ("POST", "/api/v1/sanctions/{id}/lift", SANCTION_MANAGE),
    ("GET", "/api/v1/scenarios/{id}/access", ONBOARD_VIEW),
    ("GET", "/api/v1/dev-agreements/{id}/termination", SANCTION_VIEW),
    ("POST", "/api/v1/dev-agreements/{id}/termination", SANCTION_MANAGE),
    ("POST", "/api/v1/terminations/{id}/attestation", TERMINATION_ATTEST),
    ("POST", "/api/v1/terminations/{id}/verification", SANCTION_MANAGE),
    ("GET", "/api/v1/scenarios", ONBOARD_VIEW),
    ("POST", "/api/v1/scenarios", ONBOARD_OPERATOR),
    ("POST", "/api/v1/scenarios/proposals", ONBOARD_APPLY),
    ("GET", "/api/v1/scenarios/{id}", ONBOARD_VIEW),
    ("POST", "/api/v1/scenarios/{id}/assessment", ONBOARD_OPERATOR),
    ("POST", "/api/v1/scenarios/{id}/applications", ONBOARD_APPLY),
    ("POST", "/api/v1/materials", ONBOARD_APPLY),
    ("GET", "/api/v1/applications", ONBOARD_VIEW),
    ("GET", "/api/v1/applications/{id}", ONBOARD_VIEW),
    ("POST", "/api/v1/applications/{id}/{move}", ONBOARD_VIEW),
    ("POST", "/api/v1/applications/{id}/objections/{oid}/decision", ONBOARD_OPERATOR),
    // Evaluations (Art. 26). Route level: the parties; handlers check conduct / respond per object.
    ("GET", "/evaluations", EVAL_VIEW),
    ("POST", "/evaluations", EVAL_CONDUCT),
    ("GET", "/evaluations/{id}", EVAL_VIEW),
    ("GET", "/evaluations/{id}/report", EVAL_VIEW),
    ("POST", "/evaluations/{id}/{move}", EVAL_VIEW),
    ("GET", "/api/v1/evaluations", EVAL_VIEW),
    ("POST", "/api/v1/evaluations", EVAL_CONDUCT),
    ("GET", "/api/v1/evaluations/{id}", EVAL_VIEW),
    ("POST", "/api/v1/evaluations/{id}/requests", EVAL_VIEW),
    ("POST", "/api/v1/evaluations/{id}/materials", EVAL_VIEW),
    ("POST", "/api/v1/evaluations/{id}/conclusion", EVAL_VIEW),
    ("POST", "/api/v1/evaluations/{id}/rectification/{move}", EVAL_VIEW),
    ("POST", "/api/v1/evaluations/{id}/reevaluation", EVAL_VIEW),
    ("POST", "/api/v1/evaluation-materials", EVAL_VIEW),
    ("GET", "/api/v1/public/notices", ALL),
    ("POST", "/api/v1/public/notices/{id}/objections", ALL),
    ("GET", "/api/v1/public/registrations", ALL),
    ("POST", "/api/v1/public/registrations/{id}/objections", ALL),
    ("GET", "/authorization/plans", PLAN_VIEW),
    ("POST", "/authorization/plans", PLAN_MANAGE),
    ("GET", "/authorization/plans/{id}", PLAN_VIEW),
    ("POST", "/authorization/plans/{id}/{move}", PLAN_VIEW),
    ("GET", "/authorization/plans/{id}/print", PLAN_VIEW),
    ("GET", "/authorization/filings", FILING_RECORD),
    ("GET", "/authorization/agreements", PLAN_VIEW),
    ("POST", "/authorization/agreements", PLAN_MANAGE),
    ("GET", "/authorization/agreements/{id}", PLAN_VIEW),
    ("POST", "/authorization/agreements/{id}/{move}", PLAN_VIEW),
    ("GET", "/authorization/agreements/{id}/print", PLAN_VIEW),
    ("GET", "/api/v1/plans", PLAN_VIEW),
    ("POST", "/api/v1/plans", PLAN_MANAGE),
    ("GET", "/api/v1/plans/{id}", PLAN_VIEW),
    ("POST", "/api/v1/plans/{id}/{move}", PLAN_VIEW),
    ("GET", "/api/v1/filings", FILING_RECORD),
    ("GET", "/api/v1/agreements", PLAN_VIEW),
    ("POST", "/api/v1/agreements", PLAN_MANAGE),
    ("GET", "/api/v1/agreements/{id}", PLAN_VIEW),
    ("POST", "/api/v1/agreements/{id}/{move}", PLAN_VIEW),
    // Data use (Art. 20, 21, 25(3), 28). Route level: parties and readers; handlers check the object.
    ("GET", "/data-use/requests", DATA_USE_VIEW),
    ("POST", "/data-use/requests", DATA_USE_OPERATE),
    ("GET", "/data-use/requests/new", DATA_USE_OPERATE),
    ("GET", "/data-use/requests/{id}", DATA_USE_VIEW),
    ("GET", "/data-use/requests/{id}/print", DATA_USE_VIEW),
    ("POST", "/data-use/requests/{id}/{move}", DATA_USE_VIEW),
    ("GET", "/projects", PROJECT_VIEW),
    ("POST", "/projects", PROJECT_MANAGE),
    ("GET", "/projects/{id}", PROJECT_VIEW),
    ("POST", "/projects/{id}/assessments", DATA_USE_OPERATE),
    ("POST", "/projects/{id}/grants", DATA_USE_OPERATE),
    ("POST", "/grants/{id}/revoke", DATA_USE_OPERATE),
    ("GET", "/projects/{id}/workspace", PROJECT_VIEW),
    ("POST", "/projects/{id}/workspace", SANDBOX_DEV),
    ("GET", "/outputs", SANDBOX_OUTPUTS),
    ("GET", "/outputs/{id}", SANDBOX_OUTPUTS),
    ("POST", "/outputs/{id}/review", SANDBOX_REVIEW),
    ("POST", "/outputs/{id}/withdraw", SANDBOX_DEV),
    ("GET", "/outputs/{id}/download/{format}", SANDBOX_DEV),
    ("GET", "/api/v1/projects/{id}/sandbox", PROJECT_VIEW),
    ("GET", "/api/v1/projects/{id}/sandbox/queries", PROJECT_VIEW),
    ("POST", "/api/v1/projects/{id}/sandbox/queries", SANDBOX_DEV),
    ("POST", "/api/v1/projects/{id}/sandbox/cancel", SANDBOX_DEV),
    ("GET", "/api/v1/projects/{id}/outputs", PROJECT_VIEW),
    ("GET", "/api/v1/outputs/pending", SANDBOX_REVIEW),
    ("GET", "/api/v1/outputs/{id}", SANDBOX_OUTPUTS),
    ("GET", "/api/v1/outputs/{id}/data", SANDBOX_REVIEW),
    ("POST", "/api/v1/outputs/{id}/review", SANDBOX_REVIEW),
    ("POST", "/api/v1/outputs/{id}/withdraw", SANDBOX_DEV),
    ("GET", "/api/v1/outputs/{id}/download/{format}", SANDBOX_DEV),
    ("GET", "/api/v1/data-use-requests", DATA_USE_VIEW),
    ("POST", "/api/v1/data-use-requests", DATA_USE_OPERATE),
    ("GET", "/api/v1/data-use-requests/{id}", DATA_USE_VIEW),
    ("POST", "/api/v1/data-use-requests/{id}/{move}", DATA_USE_VIEW),
    ("GET", "/api/v1/projects", PROJECT_VIEW),
    ("POST", "/api/v1/projects", PROJECT_MANAGE),
    ("GET", "/api/v1/projects/{id}", PROJECT_VIEW),
    ("POST", "/api/v1/assessments", DATA_USE_OPERATE),
    ("GET", "/api/v1/assessments/{id}", PROJECT_VIEW),
    ("POST", "/api/v1/grants", DATA_USE_OPERATE),
    ("GET", "/api/v1/grants/{id}", PROJECT_VIEW),
    ("POST", "/api/v1/grants/{id}/revoke", DATA_USE_OPERATE),
    ("GET", "/api/v1/grants/{id}/chain", PROJECT_VIEW),
];

fn fill(path: &str, org_id: i64, user_id: i64) -> String {
    let id = if path.starts_with("/admin/orgs/") || path.starts_with("/api/v1/orgs/") {
        org_id.to_string()
    } else if path.starts_with("/admin/users/") || path.starts_with("/api/v1/users/") {
        user_id.to_string()
    } else if path.starts_with("/approvals/") || path.starts_with("/api/v1/approvals/") {
        "1".to_owned()
    } else {
        "999999".to_owned() // tokens
    };
    path.replace("{id}", &id)
        .replace("{decision}", "remind")
        .replace("{file}", "app.css")
        .replace("{action}", "user.filing")
        .replace("{move}", "accept")
        .replace("{vid}", "999999")
        .replace("{rule}", "999999")
        .replace("{code}", "NO-SUCH-CODE")
        .replace("{oid}", "999999")
        .replace("{format}", "csv")
        .replace("{seq}", "1")
}

#[tokio::test]
async fn every_route_has_a_row_and_every_persona_gets_what_the_policy_says() {
    // (a) The table and the route list match one to one.
    let routes: HashSet<(String, &str)> =
        yunshu_server::routes::ROUTES.iter().map(|r| (r.method.as_str().to_owned(), r.path)).collect();
    let mut problems = Vec::new();
    let mut seen = HashSet::new();
    for (m, p, e) in EXPECTED {
        assert_eq!(e.len(), PERSONAS.len(), "row {m} {p} has the wrong number of columns");
        if !seen.insert((m.to_string(), *p)) {
            problems.push(format!("duplicate row {m} {p}"));
        }
        if !routes.contains(&(m.to_string(), *p)) {
            problems.push(format!("row {m} {p} has no route in ROUTES"));
        }
    }
    for (m, p) in &routes {
        if !seen.contains(&(m.clone(), *p)) {
            problems.push(format!("route {m} {p} has no row in EXPECTED"));
        }
    }
    assert!(problems.is_empty(), "route table mismatch:\n{}", problems.join("\n"));

    // (b) Every cell against the running server. /logout runs last for each persona.
    let app = common::TestApp::spawn().await;
    let mut rows: Vec<&(&str, &str, &str)> = EXPECTED.iter().collect();
    rows.sort_by_key(|(_, p, _)| *p == "/logout");
    let mut mismatches = Vec::new();
    for (col, persona) in PERSONAS.iter().enumerate() {
        let (client, csrf, org_id, user_id) = match persona {
            None => {
                let c = app.client();
                let csrf = app.csrf(&c, "/login").await;
                (c, csrf, 1, 1)
            }
            Some(name) => {
                let (c, csrf) = app.login(name).await;
                let u = app.state.store.user_by_username(name).await.unwrap().unwrap();
                (c, csrf, u.org_id, u.id)
            }
        };
        let who = persona.unwrap_or("anonymous");
        for (method, pattern, expected) in &rows {
            let path = fill(pattern, org_id, user_id);
            let url = format!("{}{path}", app.url);
            let api = path.starts_with("/api/") || path == "/healthz" || path == "/readyz";
            let req = match *method {
                "GET" => client.get(&url),
                "POST" | "PUT" => {
                    let b = if *method == "POST" { client.post(&url) } else { client.put(&url) };
                    if api {
                        b.header("x-csrf-token", &csrf).json(&json!({}))
                    } else {
                        b.form(&[("_csrf", csrf.as_str())])
                    }
                }
                other => panic!("unexpected method {other}"),
            };
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            let location = r.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
            // A successful logout also lands on /login, but it ends the session cookie; a refused one
            // does not touch it.
            let ends_session = r
                .headers()
                .get_all("set-cookie")
                .iter()
                .any(|v| v.to_str().is_ok_and(|v| v.starts_with("ys_session=")));
            let denied = status == 401
                || status == 403
                || (status == 303 && location == "/login" && !(path == "/logout" && ends_session));
            let want = expected.as_bytes()[col];
            let got = if denied { b'D' } else { b'A' };
            if want != got {
                mismatches.push(format!(
                    "{method} {pattern} ({path}) as {who}: expected {}, got {} (status {status}{})",
                    want as char,
                    got as char,
                    if location.is_empty() { String::new() } else { format!(" → {location}") }
                ));
            }
        }
    }
    app.stop().await;
    assert!(mismatches.is_empty(), "{} mismatches:\n{}", mismatches.len(), mismatches.join("\n"));
}

#[tokio::test]
async fn prefecture_never_sees_a_sibling_prefecture() {
    use yunshu_domain::ids::Uscc;
    let app = common::TestApp::spawn().await;
    let store = &app.state.store;
    let dali_org = store.user_by_username("dali.admin").await.unwrap().unwrap().org_id;
    let (km, csrf) = app.login("km.admin").await;

    let orgs: serde_json::Value =
        km.get(format!("{}/api/v1/orgs", app.url)).send().await.unwrap().json().await.unwrap();
    let names: Vec<&str> = orgs.as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap()).collect();
    for n in ["昆明市数据局", "春城供水集团有限公司", "滇金普惠金融科技有限公司"]
    {
        assert!(names.contains(&n), "昆明 should see {n}: {names:?}");
    }
    for n in ["大理白族自治州数据局", "彩云文旅数据科技有限公司"] {
        assert!(!names.contains(&n), "昆明 must not see {n}: {names:?}");
    }

    let r = km.get(format!("{}/api/v1/orgs/{dali_org}", app.url)).send().await.unwrap();
    assert_eq!(r.status(), 403);

    let create = |region: &str, uscc: String, name: &str| {
        km.post(format!("{}/api/v1/orgs", app.url))
            .header("x-csrf-token", &csrf)
            .json(&json!({"name": name, "uscc": uscc, "org_type": "developer", "region": region}))
            .send()
    };
    let dali_uscc = Uscc::complete("9153290100000017").unwrap().to_string();
    let r = create("532901", dali_uscc, "大理测试科技有限公司").await.unwrap();
    assert_eq!(r.status(), 403, "昆明 must not create an org in 大理");
    let km_uscc = Uscc::complete("9153011200000025").unwrap().to_string();
    let r = create("530112", km_uscc, "西山测试科技有限公司").await.unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());

    let km_clerk = app.user_id("km.clerk").await;
    let (dali, _) = app.login("dali.admin").await;
    let r = dali.get(format!("{}/api/v1/users/{km_clerk}", app.url)).send().await.unwrap();
    assert_eq!(r.status(), 403);
    app.stop().await;
}
