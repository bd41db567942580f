//! The administrator's web forms: organisations and users are created through the pages, bad input
//! is shown next to the form with the values kept (422), and the personnel steps work from the user page.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use yunshu_domain::ids::{ResidentId, Uscc};

#[tokio::test]
async fn an_administrator_creates_an_organisation_and_a_user_through_the_pages() {
    let app = common::TestApp::spawn().await;
    let (c, csrf) = app.login("bureau.admin").await;
    let post = |path: &str, form: Vec<(&'static str, String)>| {
        let c = c.clone();
        let url = format!("{}{path}", app.url);
        async move { c.post(url).form(&form).send().await.unwrap() }
    };
    // A USCC with a wrong check character: 422, the error beside the form, the values kept.
    let good = Uscc::complete("91530112MA6N3K2B").unwrap();
    let mut bad = good.as_str().to_owned();
    let last = bad.pop().unwrap();
    bad.push(if last == '0' { '1' } else { '0' });
    let orgs_before = app.state.store.count_orgs().await.unwrap();
    let r = post(
        "/admin/orgs",
        vec![
            ("_csrf", csrf.clone()),
            ("name", "昆明高原农业合作社联合社".into()),
            ("uscc", bad.clone()),
            ("org_type", "developer".into()),
            ("region", "530112".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("校验位"), "the check-character error is shown");
    assert!(page.contains("data-field=\"uscc\""));
    assert!(page.contains(&bad), "the typed value is kept");
    assert_eq!(app.state.store.count_orgs().await.unwrap(), orgs_before);

    let r = post(
        "/admin/orgs",
        vec![
            ("_csrf", csrf.clone()),
            ("name", "昆明高原农业合作社联合社".into()),
            ("uscc", good.as_str().into()),
            ("org_type", "developer".into()),
            ("region", "530112".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let org_path = r.headers()["location"].to_str().unwrap().to_owned();
    let org_id: i64 = org_path.rsplit('/').next().unwrap().parse().unwrap();

    // A user with an impossible birth date, then a valid one.
    let rid = ResidentId::complete("53011219880808123").unwrap();
    let user_form = |rid: &str| {
        vec![
            ("_csrf", csrf.clone()),
            ("org_id", org_id.to_string()),
            ("username", "coop.head".into()),
            ("display_name", "李春华".into()),
            ("resident_id", rid.to_owned()),
            ("mobile", "13887654321".into()),
            ("roles", "head".into()),
            ("roles", "clerk".into()),
            ("password", "Gaoyuan-2026!".into()),
        ]
    };
    let r = post("/admin/users", user_form("53011219880231123X")).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("data-field=\"resident_id\""));
    let r = post("/admin/users", user_form(rid.as_str())).await;
    assert_eq!(r.status(), 303, "{:?}", r.text().await);
    let user_id = app.user_id("coop.head").await;

    // The personnel steps from the user page.
    let page =
        c.get(format!("{}/admin/users/{user_id}", app.url)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("未核验") && page.contains("未备案") && page.contains("未登记"));
    let r = post(&format!("/admin/users/{user_id}/verify-identity"), vec![("_csrf", csrf.clone())]).await;
    assert_eq!(r.status(), 303);
    let r = post(
        &format!("/admin/users/{user_id}/agreement"),
        vec![
            ("_csrf", csrf.clone()),
            ("signed_on", "2026-11-20".into()),
            ("expires_on", "".into()),
            ("reference", "保密〔2026〕201号".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let page =
        c.get(format!("{}/admin/users/{user_id}", app.url)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("已核验（仅格式校验）"));
    assert!(!page.contains("format-only"), "the verifier code shown to people");
    assert!(page.contains("未连接公安实名核验服务"), "the default verifier says what it did not check");
    assert!(page.contains("2026年11月20日 签署"));
    assert!(page.contains("登记保密协议") && page.contains("实名核验"), "history timeline in words");
    // The organisation has no other 负责人: the filing cannot be reviewed, and says why.
    let r = post(&format!("/admin/users/{user_id}/filing"), vec![("_csrf", csrf.clone())]).await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("负责人"));
    app.stop().await;
}

#[tokio::test]
async fn lists_export_to_excel_with_identifiers_masked_and_the_export_audited() {
    let app = common::TestApp::spawn().await;
    let (c, _) = app.login("km.admin").await;
    let r = c.get(format!("{}/admin/users/export.csv", app.url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(r.headers()["content-disposition"].to_str().unwrap().contains("users.csv"));
    let body = r.text().await.unwrap();
    assert!(body.starts_with('\u{feff}'), "a byte-order mark, so that Excel reads UTF-8");
    assert!(body.contains("刘春生") && body.contains("昆明市数据局"));
    assert!(!body.contains("大理"), "a prefecture exports only its own area");
    // Every resident ID is masked: no 18-character identifier survives.
    for field in body.split([',', '\r', '\n']) {
        assert!(yunshu_domain::ids::ResidentId::parse(field).is_err(), "unmasked ID {field}");
    }
    let recs = app.state.store.audit_recent(None, 1).await.unwrap();
    assert_eq!(recs[0].record.action, "user.export");
    // A clerk may not export the users of the organisation.
    let (clerk, _) = app.login("km.clerk").await;
    assert_eq!(clerk.get(format!("{}/admin/users/export.csv", app.url)).send().await.unwrap().status(), 403);
    app.stop().await;
}

#[tokio::test]
async fn the_user_list_searches_by_name_login_and_organisation() {
    let app = common::TestApp::spawn().await;
    let (c, _) = app.login("bureau.admin").await;
    let page = c
        .get(format!("{}/admin/users?q=%E6%98%86%E6%98%8E", app.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("刘春生"), "昆明市数据局's administrator matches 昆明");
    assert!(!page.contains("赵明远"), "the bureau's clerk does not");
    assert!(page.contains("第 1 / 1 页"));
    app.stop().await;
}
