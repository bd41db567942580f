//! The catalogue end to end through the API (Art. 5, 15, 18): a provider catalogues and grades a
//! resource, the registration body accepts, announces and codes it on the working-day calendar, the
//! public finds it by Chinese words without logging in, and a data authority's negative-list entry
//! makes every later use refuse it. Plus the demo's catalogue states and role boundaries.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use serde_json::{Value, json};

async fn put(app: &common::TestApp, token: &str, path: &str, body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .put(format!("{}{path}", app.url))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn resource_body(name: &str) -> Value {
    json!({
        "classification": "3-01-001-009",
        "name": name,
        "abstract_text": "全省高原特色农产品生产经营主体的溯源批次信息，含主体、品类、产地和检测结果",
        "format": "table",
        "sharing_type": "conditional",
        "sharing_conditions": "授权运营场景内使用",
        "open_attribute": "not_open",
        "update_cycle": "monthly",
        "release_date": "2026-03-01",
        "related": ""
    })
}

#[tokio::test]
async fn register_grade_announce_code_search_and_exclude() {
    let app = common::TestApp::spawn().await;
    let amr = app.token("amr.clerk").await;
    let reg = app.token("reg.clerk").await;
    let bureau = app.token("bureau.clerk").await;

    // Bad input is answered with the field and a Chinese message; nothing is written.
    let mut bad = resource_body("农产品溯源批次");
    bad["classification"] = json!("4010010");
    let r = app.api_post(&amr, "/api/v1/resources", Some(bad)).await;
    assert_eq!(r.status(), 422);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["code"], "catalog.classification");
    assert_eq!(e["field"], "classification");
    let before = app.api_get(&amr, "/api/v1/resources").await.as_array().unwrap().len();

    let r = app.api_post(&amr, "/api/v1/resources", Some(resource_body("高原特色农产品溯源批次信息"))).await;
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let list = app.api_get(&amr, "/api/v1/resources").await;
    assert_eq!(list.as_array().unwrap().len(), before + 1);
    let res = app.api_get(&amr, &format!("/api/v1/resources/{id}")).await;
    assert!(res["resource_code"].as_str().unwrap().starts_with("301001009/"), "{res}");
    assert_eq!(res["status"], "draft");
    assert_eq!(res["refusal"], "resource.not_registered");

    // 就高从严: a direct identifier graded L3 is refused; correctly graded, the resource takes L4.
    let low = json!({"items": [{"name": "经营者身份证号", "kind": "text", "grade": "l3", "direct": true}]});
    let r = put(&app, &amr, &format!("/api/v1/resources/{id}/items"), low).await;
    assert_eq!(r.status(), 422);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "catalog.grade_too_low");
    // Registration needs items first.
    let apply = json!({"reg_type": "initial", "note": "首次登记"});
    let r = app.api_post(&amr, &format!("/api/v1/resources/{id}/registrations"), Some(apply.clone())).await;
    assert_eq!(r.status(), 409);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "resource.no_items");
    let items = json!({"items": [
        {"name": "经营者身份证号", "kind": "text", "grade": "l4", "direct": true, "scenario_rules": "精准营销:excluded"},
        {"name": "农产品品类", "kind": "text", "grade": "l1", "description": "茶叶、咖啡、花卉、核桃"},
        {"name": "产地区县", "kind": "text", "grade": "l3", "quasi": true},
        {"name": "检测结果", "kind": "text", "grade": "l2"}
    ]});
    let r = put(&app, &amr, &format!("/api/v1/resources/{id}/items"), items).await;
    assert_eq!(r.status(), 200);
    let res: Value = r.json().await.unwrap();
    assert_eq!(res["grade"], "l4");
    assert_eq!(res["items"][0]["scenario_rules"], "精准营销:excluded");

    // Another provider may not touch it; a developer may not even list the catalogue.
    let hrss = app.token("hrss.clerk").await;
    let r = reqwest::Client::new()
        .get(format!("{}/api/v1/resources/{id}", app.url))
        .bearer_auth(&hrss)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let dev = app.token("fintech.clerk").await;
    let r = reqwest::Client::new()
        .get(format!("{}/api/v1/resources", app.url))
        .bearer_auth(&dev)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // The operator does not see drafts.
    let op = app.token("op.clerk").await;
    let op_list = app.api_get(&op, "/api/v1/resources").await;
    assert!(op_list.as_array().unwrap().iter().all(|r| r["status"] != "draft"), "{op_list}");

    // Apply (Fri 2026-11-27); a second application while one is open is refused.
    let r = app.api_post(&amr, &format!("/api/v1/resources/{id}/registrations"), Some(apply.clone())).await;
    assert_eq!(r.status(), 201);
    let reg_id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let r = app.api_post(&amr, &format!("/api/v1/resources/{id}/registrations"), Some(apply)).await;
    assert_eq!(r.status(), 409);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "registration.open_application");
    // Items are frozen while the registration body reviews them.
    let r = put(
        &app,
        &amr,
        &format!("/api/v1/resources/{id}/items"),
        json!({"items": [{"name": "x", "grade": "l1"}]}),
    )
    .await;
    assert_eq!(r.status(), 409);

    // The registration body's to-do, due 5 working days later: Fri 11-27 → Fri 12-04.
    let todo = app.api_get(&reg, "/api/v1/todo").await;
    let item = todo
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["link"] == format!("/registrations/{reg_id}"))
        .unwrap_or_else(|| panic!("{todo}"));
    assert_eq!(item["action"], "registration.accept");
    assert_eq!(item["due_date"], "2026-12-04");
    assert_eq!(item["working_days_left"], 5);

    // The provider cannot accept its own application; illegal moves are refused with the state named.
    let mv = |who: String, what: &'static str, body: Value| {
        let app = &app;
        async move { app.api_post(&who, &format!("/api/v1/registrations/{reg_id}/{what}"), Some(body)).await }
    };
    assert_eq!(mv(amr.clone(), "accept", json!({})).await.status(), 403);
    let r = mv(reg.clone(), "code", json!({})).await;
    assert_eq!(r.status(), 409);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "registration.illegal_move");
    let r = mv(reg.clone(), "reject", json!({"reason": "短"})).await;
    assert_eq!(r.status(), 422);
    assert_eq!(mv(reg.clone(), "accept", json!({})).await.status(), 200);
    let r = mv(reg.clone(), "notice", json!({})).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "in_notice");
    assert_eq!(v["notice_start"], "2026-11-27");
    assert_eq!(v["notice_end"], "2026-12-04");
    let r = mv(reg.clone(), "code", json!({})).await;
    assert_eq!(r.status(), 409);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["code"], "registration.notice_not_ended");
    assert!(e["message"].as_str().unwrap().contains("2026-12-04"));

    // The last day of the notice is still too early; the day after, the code is given.
    app.advance(chrono::Duration::days(7)); // Fri 12-04
    assert_eq!(mv(reg.clone(), "code", json!({})).await.status(), 409);
    app.advance(chrono::Duration::days(1)); // Sat 12-05
    let r = mv(reg.clone(), "code", json!({})).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    let code = v["reg_code"].as_str().unwrap().to_owned();
    assert!(code.starts_with("YNGS-530000-2026-"), "{code}");
    let res = app.api_get(&amr, &format!("/api/v1/resources/{id}")).await;
    assert_eq!(res["status"], "registered");
    assert_eq!(res["reg_code_provisional"], true);
    assert_eq!(res["refusal"], Value::Null);

    // The public catalogue: word search, no login, metadata only.
    let anon = reqwest::Client::new();
    let hits: Value = anon
        .get(format!("{}/api/v1/public/catalog?q=农产品 溯源", app.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = hits.as_array().unwrap().iter().map(|h| h["name"].as_str().unwrap()).collect();
    assert_eq!(names.first(), Some(&"高原特色农产品溯源批次信息"), "{names:?}");
    let none: Value = anon
        .get(format!("{}/api/v1/public/catalog?q=公安", app.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(none.as_array().unwrap().is_empty(), "公安 must not match 安全 or other words: {none}");
    let page = anon.get(format!("{}/public/catalog/{code}", app.url)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("高原特色农产品溯源批次信息") && html.contains("经营者身份证号"));
    let html =
        anon.get(format!("{}/public/catalog?q=溯源", app.url)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains(&code));

    // The negative list: a prefecture authority cannot list a provincial resource; the bureau can, with
    // the government's review; from then on the resource is refused for use.
    let km = app.token("km.clerk").await;
    let neg = json!({
        "reasons": "涉及食品安全抽检未公开信息，经评估暂不纳入授权运营",
        "decision": "同意列入",
        "decided_on": "2026-12-01",
        "reference": "云政审〔2026〕31号"
    });
    let r = app.api_post(&km, &format!("/api/v1/resources/{id}/negative-list"), Some(neg.clone())).await;
    assert_eq!(r.status(), 403);
    let mut no_review = neg.clone();
    no_review["reference"] = json!("");
    let r = app.api_post(&bureau, &format!("/api/v1/resources/{id}/negative-list"), Some(no_review)).await;
    assert_eq!(r.status(), 422);
    let r = app.api_post(&bureau, &format!("/api/v1/resources/{id}/negative-list"), Some(neg.clone())).await;
    assert_eq!(r.status(), 201);
    let res = app.api_get(&amr, &format!("/api/v1/resources/{id}")).await;
    assert_eq!(res["on_negative_list"], true);
    assert_eq!(res["refusal"], "resource.negative_list");
    let r = app.api_post(&bureau, &format!("/api/v1/resources/{id}/negative-list"), Some(neg)).await;
    assert_eq!(r.status(), 409);
    // The yearly review is on the bureau's to-do, due a year on.
    let todo = app.api_get(&bureau, "/api/v1/todo").await;
    assert!(
        todo.as_array()
            .unwrap()
            .iter()
            .any(|t| t["action"] == "negative_list.review" && t["due_date"] == "2027-12-06"),
        "{todo}"
    );

    // Every step is in the audit log, in order.
    let recs = app.state.store.audit_recent(Some(("registration", &reg_id.to_string())), 20).await.unwrap();
    let actions: Vec<&str> = recs.iter().rev().map(|r| r.record.action.as_str()).collect();
    assert_eq!(
        actions,
        ["registration.apply", "registration.accept", "registration.notice", "registration.code"],
        "{actions:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn demo_catalogue_has_every_state_and_pages_render() {
    let app = common::TestApp::spawn().await;
    let regs = app.state.store.registrations().await.unwrap();
    let states: std::collections::HashSet<&str> = regs.iter().map(|g| g.registration.status.code()).collect();
    for s in ["applied", "accepted", "in_notice", "coded"] {
        assert!(states.contains(s), "demo lacks a registration {s}: {states:?}");
    }
    let negative = app.state.store.negative_list(true).await.unwrap();
    assert_eq!(negative.len(), 1);

    // The pages a provider, the registration body and the bureau use.
    for (user, paths) in [
        ("amr.clerk", vec!["/catalog", "/catalog/new", "/registrations", "/negative-list"]),
        ("reg.clerk", vec!["/catalog", "/registrations"]),
        ("bureau.clerk", vec!["/catalog", "/negative-list"]),
    ] {
        let (c, _) = app.login(user).await;
        for p in paths {
            let r = c.get(format!("{}{p}", app.url)).send().await.unwrap();
            assert_eq!(r.status(), 200, "{user} {p}");
        }
    }
    let (c, _) = app.login("amr.clerk").await;
    let ids: Vec<i64> =
        app.state.store.resources(&Default::default()).await.unwrap().iter().map(|r| r.id).collect();
    let mut seen_own = 0;
    for id in &ids {
        let r = c.get(format!("{}/catalog/{id}", app.url)).send().await.unwrap();
        if r.status() == 200 {
            seen_own += 1;
        } else {
            assert_eq!(r.status(), 403, "amr.clerk on resource {id}");
        }
    }
    assert_eq!(seen_own, 3, "市场监管局 owns three demo resources");
    // Sample data: two registered resources have an imported version with a profile and a score.
    let all = app.state.store.resources(&Default::default()).await.unwrap();
    for (name, format, rows) in [("市场主体登记信息", "csv", 2_000), ("社会保险缴费信息", "xlsx", 6_000)]
    {
        let r = all.iter().find(|r| r.meta.name == name).unwrap();
        let vs = app.state.store.versions_of(r.id).await.unwrap();
        assert_eq!(vs.len(), 1, "{name}");
        assert_eq!(vs[0].new.source_format, format);
        assert_eq!(vs[0].new.row_count, rows, "{name}");
        assert!(
            vs[0].new.quality_score.is_some_and(|s| s > 9_000 && s <= 10_000),
            "{name}: {:?}",
            vs[0].new.quality_score
        );
        let html = c.get(format!("{}/catalog/{}/data", app.url, r.id)).send().await.unwrap();
        if name == "市场主体登记信息" {
            let html = html.text().await.unwrap();
            assert!(
                html.contains("gb18030") && html.contains("数据画像") && html.contains("法定代表人身份证号"),
                "{html}"
            );
        }
    }
    // The certificate of a coded registration prints with a document number.
    let coded = regs.iter().find(|g| g.registration.status.code() == "coded").unwrap();
    let (reg, _) = app.login("reg.clerk").await;
    let html = reg
        .get(format!("{}/registrations/{}/certificate", app.url, coded.id))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("公共数据资源登记证书") && html.contains("云数登〔2026〕"), "{html}");
    // The registration body's desk lists the waiting applications.
    let desk = reg.get(format!("{}/", app.url)).send().await.unwrap().text().await.unwrap();
    assert!(desk.contains("待受理"), "registration body desk lacks its to-do");
    app.stop().await;
}

#[tokio::test]
async fn item_grid_form_keeps_values_on_error() {
    let app = common::TestApp::spawn().await;
    let (c, csrf) = app.login("water.clerk").await;
    let id = app
        .state
        .store
        .resources(&Default::default())
        .await
        .unwrap()
        .iter()
        .find(|r| r.meta.name == "居民户用水量")
        .unwrap()
        .id;
    let r = c
        .post(format!("{}/catalog/{id}/items", app.url))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("name_0", "户主身份证号"),
            ("kind_0", "text"),
            ("grade_0", "l2"),
            ("direct_0", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("就高从严") && html.contains("户主身份证号"), "{html}");
    let r = c
        .post(format!("{}/catalog/{id}/items", app.url))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("name_0", "户主身份证号"),
            ("kind_0", "text"),
            ("grade_0", "l4"),
            ("direct_0", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let rec = app.state.store.resource(id).await.unwrap();
    assert_eq!(rec.items.len(), 1);
    assert_eq!(rec.grade.unwrap().code(), "l4");
    app.stop().await;
}

#[tokio::test]
async fn registration_notices_are_public_and_objections_reach_the_registration_body() {
    let app = common::TestApp::spawn().await;
    let regs = app.state.store.registrations().await.unwrap();
    let in_notice = regs.iter().find(|g| g.registration.status.code() == "in_notice").unwrap();
    let other = regs.iter().find(|g| g.registration.status.code() == "applied").unwrap();
    let id = in_notice.id;
    let name = app.state.store.resource(in_notice.resource_id).await.unwrap().meta.name;

    // Without sign-in: the list, the notice with its dates, the API.
    let c = app.client();
    let list = c.get(format!("{}/public/registrations", app.url)).send().await.unwrap();
    assert_eq!(list.status(), 200);
    let list = list.text().await.unwrap();
    assert!(list.contains(&name) && list.contains(&format!("/public/registrations/{id}")), "{list}");
    let api: Value =
        c.get(format!("{}/api/v1/public/registrations", app.url)).send().await.unwrap().json().await.unwrap();
    assert!(
        api.as_array().unwrap().iter().any(|n| n["registration_id"] == id && n["start"].is_string()),
        "{api}"
    );
    assert_eq!(
        c.get(format!("{}/public/registrations/{}", app.url, other.id)).send().await.unwrap().status(),
        404
    );
    let notice =
        c.get(format!("{}/public/registrations/{id}", app.url)).send().await.unwrap().text().await.unwrap();
    assert!(notice.contains("公示期") && notice.contains("个工作日"), "{notice}");
    let csrf = common::csrf_of(&notice);

    // Too short: a Chinese refusal with the values kept; then lodged anonymously.
    let post = |content: &'static str| {
        c.post(format!("{}/public/registrations/{id}/objections", app.url))
            .form(&[("_csrf", csrf.as_str()), ("name", ""), ("contact", "13987000001"), ("content", content)])
            .send()
    };
    let r = post("太短").await.unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("至少 5 个字"));
    let r = post("该资源的数据项与本单位登记的内容重复，请核实").await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], format!("/public/registrations/{id}?lodged=1"));

    // The registration body has a to-do and sees the objection on the registration.
    let reg = app.token("reg.clerk").await;
    let todo = app.api_get(&reg, "/api/v1/todo").await;
    let item = todo.as_array().unwrap().iter().find(|t| t["action"] == "registration.objection");
    let item = item.unwrap_or_else(|| panic!("no objection to-do: {todo}"));
    assert_eq!(item["link"], format!("/registrations/{id}"));
    let (body, _) = app.login("reg.clerk").await;
    let page =
        body.get(format!("{}/registrations/{id}", app.url)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("公示异议") && page.contains("匿名") && page.contains("登记的内容重复"), "{page}");
    let history = app.state.store.audit_recent(Some(("registration", &id.to_string())), 5).await.unwrap();
    assert_eq!(history[0].record.action, "registration.objection");

    // Upheld: returned for correction with reasons; the objection's to-do ends with it.
    let r = app
        .api_post(
            &reg,
            &format!("/api/v1/registrations/{id}/return"),
            Some(json!({"reason": "公示异议成立，请核实数据项"})),
        )
        .await;
    assert_eq!(r.status(), 200);
    let todo = app.api_get(&reg, "/api/v1/todo").await;
    assert!(!todo.as_array().unwrap().iter().any(|t| t["action"] == "registration.objection"), "{todo}");
    // No longer in notice: gone from the public site, and objections are refused as not found.
    assert_eq!(c.get(format!("{}/public/registrations/{id}", app.url)).send().await.unwrap().status(), 404);
    let r = post("公示已结束后再提出的异议内容").await.unwrap();
    assert_eq!(r.status(), 404);
}
