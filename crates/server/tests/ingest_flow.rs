//! Ingestion and quality through the server (Art. 16–17): a provider imports a GBK CSV through the
//! API and an XLSX through the upload form; each becomes an SM4-encrypted version with its SM3
//! digest, profile and quality score; schema differences wait for acceptance; every bad-file class is
//! refused with line and column and writes nothing; profiles are hidden from those who may not see
//! real values; no plaintext reaches the disk.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use serde_json::{Value, json};
use yunshu_domain::ids::{ResidentId, Uscc};

const HEADER: &str = "统一社会信用代码,企业名称,注册资本,成立日期,法定代表人身份证号";

fn uscc(n: u32) -> String {
    Uscc::complete(&format!("915301{n:010}")).unwrap().to_string()
}

fn rid(n: u32) -> String {
    ResidentId::complete(&format!("53010219800101{:03}", n % 1000)).unwrap().as_str().to_owned()
}

/// A resource of amr.clerk with five catalogued items; returns its id.
async fn resource(app: &common::TestApp, token: &str) -> i64 {
    let r = app
        .api_post(
            token,
            "/api/v1/resources",
            Some(json!({
                "classification": "301001020",
                "name": "企业基本信息（导入测试）",
                "abstract_text": "用于检验导入、画像和质量评分的企业基本信息",
                "sharing_type": "conditional",
                "sharing_conditions": "授权运营场景内使用",
                "update_cycle": "monthly"
            })),
        )
        .await;
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let items = json!({"items": [
        {"name": "统一社会信用代码", "kind": "text", "grade": "l2"},
        {"name": "企业名称", "kind": "text", "grade": "l1"},
        {"name": "注册资本", "kind": "decimal", "grade": "l2"},
        {"name": "成立日期", "kind": "date", "grade": "l1"},
        {"name": "法定代表人身份证号", "kind": "text", "grade": "l4", "direct": true}
    ]});
    let r = reqwest::Client::new()
        .put(format!("{}/api/v1/resources/{id}/items", app.url))
        .bearer_auth(token)
        .json(&items)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    id
}

async fn upload(app: &common::TestApp, token: &str, id: i64, name: &str, body: Vec<u8>) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/api/v1/resources/{id}/versions?name={name}", app.url))
        .bearer_auth(token)
        .body(body)
        .send()
        .await
        .unwrap()
}

fn gbk(text: &str) -> Vec<u8> {
    let (bytes, _, bad) = encoding_rs::GBK.encode(text);
    assert!(!bad);
    bytes.into_owned()
}

/// Every file under the object store directory, concatenated.
fn stored_bytes(app: &common::TestApp) -> Vec<u8> {
    fn walk(dir: &std::path::Path, out: &mut Vec<u8>) {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else {
                    out.extend(std::fs::read(&p).unwrap_or_default());
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(&app.dir.join("objects"), &mut out);
    out
}

fn object_count(app: &common::TestApp) -> usize {
    fn walk(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir)
            .map(|es| es.flatten().map(|e| if e.path().is_dir() { walk(&e.path()) } else { 1 }).sum())
            .unwrap_or(0)
    }
    walk(&app.dir.join("objects"))
}

#[tokio::test]
async fn gbk_csv_and_xlsx_become_encrypted_versions_with_profile_and_score() {
    let app = common::TestApp::spawn().await;
    let amr = app.token("amr.clerk").await;
    let id = resource(&app, &amr).await;
    // Quality rules: capital not negative (high), name not empty (medium).
    for rule in [
        json!({"column": "注册资本", "check": "range", "params": "0,", "severity": "high"}),
        json!({"column": "企业名称", "check": "not_null", "severity": "medium"}),
    ] {
        let r = app.api_post(&amr, &format!("/api/v1/resources/{id}/rules"), Some(rule)).await;
        assert_eq!(r.status(), 201);
    }
    let r = app
        .api_post(
            &amr,
            &format!("/api/v1/resources/{id}/rules"),
            Some(json!({"column": "无此列", "check": "not_null"})),
        )
        .await;
    assert_eq!(r.status(), 422);

    // A GBK CSV with a semicolon delimiter, one invalid ID number, one negative capital, one empty name.
    let mut csv = HEADER.replace(',', ";") + "\n";
    csv += &format!("{};昆明高原茶业有限公司;500.5;2015-03-02;{}\n", uscc(1), rid(1));
    csv += &format!("{};大理洱海文旅有限公司;-20;2018-07-15;{}\n", uscc(2), rid(2));
    csv += &format!("{};;80;2020-01-09;530102198001019999\n", uscc(3));
    let r = upload(&app, &amr, id, "企业.csv", gbk(&csv)).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["version_no"], 1);
    assert_eq!(v["status"], "active");
    assert_eq!(v["encoding"], "gb18030");
    assert_eq!(v["delimiter"], ";");
    assert_eq!(v["row_count"], 3);
    assert_eq!(v["sm3"].as_str().unwrap().len(), 64);
    let cols = v["profile"]["columns"].as_array().unwrap();
    let idcol = cols.iter().find(|c| c["name"] == "法定代表人身份证号").unwrap();
    assert_eq!(idcol["invalid"], 1, "{idcol}");
    assert_eq!(idcol["invalid_lines"], json!([4]));
    let name = cols.iter().find(|c| c["name"] == "企业名称").unwrap();
    assert_eq!(name["nulls"], 1);
    // Score: range 2/3 passed (weight 3), not-null 2/3 (weight 2) → 66.7.
    let score = v["quality_score"].as_f64().unwrap();
    assert!((score - 66.67).abs() < 0.1, "{score}");

    // An XLSX through the upload form, as a browser sends it.
    let (c, csrf) = app.login("amr.clerk").await;
    let book = yunshu_ingest::xlsx::build_xlsx(&[(
        "企业",
        vec![
            HEADER.split(',').map(|h| yunshu_ingest::xlsx::Cell::Text(h.into())).collect(),
            vec![
                yunshu_ingest::xlsx::Cell::Text(uscc(4)),
                yunshu_ingest::xlsx::Cell::Text("西双版纳普洱茶有限公司".into()),
                yunshu_ingest::xlsx::Cell::Number(300.0),
                yunshu_ingest::xlsx::Cell::DateSerial(43831), // 2020-01-01
                yunshu_ingest::xlsx::Cell::Text(rid(4)),
            ],
        ],
    )])
    .unwrap();
    let form = reqwest::multipart::Form::new()
        .text("sheet", "企业")
        .part("file", reqwest::multipart::Part::bytes(book).file_name("企业名录.xlsx"));
    let r = c
        .post(format!("{}/catalog/{id}/versions?_csrf={csrf}", app.url))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("已导入第 2 版，共 1 行"), "{html}");
    assert!(html.contains("质量分趋势") && html.contains("数据画像（第 2 版）"));
    // Without the CSRF token the upload is refused.
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(b"a".to_vec()).file_name("x.csv"));
    let r = c.post(format!("{}/catalog/{id}/versions", app.url)).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), 403);

    // No plaintext on disk: neither names nor ID numbers appear in the stored objects.
    let stored = stored_bytes(&app);
    assert!(!stored.is_empty());
    for needle in ["昆明高原茶业有限公司".as_bytes(), rid(1).as_bytes(), "西双版纳".as_bytes(), b"PAR1"]
    {
        assert!(!stored.windows(needle.len()).any(|w| w == needle), "plaintext found on disk");
    }

    // Profiles show real values: the bureau sees them, the registration body does not.
    let bureau = app.token("bureau.clerk").await;
    let vs = app.api_get(&bureau, &format!("/api/v1/resources/{id}/versions")).await;
    assert!(vs[0]["profile"].is_object());
    let reg = app.token("reg.clerk").await;
    let vs = app.api_get(&reg, &format!("/api/v1/resources/{id}/versions")).await;
    assert!(vs[0]["profile"].is_null());
    assert_eq!(vs.as_array().unwrap().len(), 2);

    // A file lacking a registered column waits for acceptance.
    let short = format!("统一社会信用代码,企业名称\n{},某某公司\n", uscc(5));
    let r = upload(&app, &amr, id, "short.csv", short.into_bytes()).await;
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "pending_acceptance");
    assert!(v["differences"].to_string().contains("注册资本"), "{v}");
    let r = app.api_post(&amr, &format!("/api/v1/versions/{}/accept", v["id"]), None).await;
    assert_eq!(r.status(), 204);
    let r = app.api_post(&amr, &format!("/api/v1/versions/{}/accept", v["id"]), None).await;
    assert_eq!(r.status(), 409);

    // Every import is in the audit log with its digest.
    let recs = app.state.store.audit_recent(Some(("resource", &id.to_string())), 50).await.unwrap();
    assert_eq!(recs.iter().filter(|r| r.record.action == "dataset.import").count(), 3);
    app.stop().await;
}

#[tokio::test]
async fn every_bad_file_class_is_refused_with_line_and_column_and_writes_nothing() {
    // 1 MiB: above the demo's sample files (seeded at start), below the oversized case.
    let config = yunshu_server::Config { upload_limit: 1024 * 1024, ..Default::default() };
    let app = common::TestApp::spawn_with(config, common::test_now()).await;
    let amr = app.token("amr.clerk").await;
    let id = resource(&app, &amr).await;
    let good_row = |n: u32| format!("{},企业{n},100,2020-01-01,{}\n", uscc(n), rid(n));
    let objects_before = object_count(&app);

    let zip_bomb = {
        use std::io::Write;
        let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let o = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        z.start_file("xl/worksheets/sheet1.xml", o).unwrap();
        let zeros = vec![b'0'; 1024 * 1024];
        for _ in 0..64 {
            z.write_all(&zeros).unwrap();
        }
        z.finish().unwrap().into_inner()
    };
    // (what, file name, bytes, expected code, words the message must contain)
    type Case = (&'static str, &'static str, Vec<u8>, &'static str, Vec<&'static str>);
    let cases: Vec<Case> = vec![
        (
            "malformed row",
            "a.csv",
            format!("{HEADER}\n{}{},企业2,100\n", good_row(1), uscc(2)).into_bytes(),
            "ingest.malformed_row",
            vec!["第 3 行"],
        ),
        (
            "wrong type",
            "b.csv",
            format!("{HEADER}\n{}{},企业2,一百万,2020-01-01,{}\n", good_row(1), uscc(2), rid(2)).into_bytes(),
            "ingest.bad_value",
            vec!["第 3 行", "注册资本"],
        ),
        (
            "undecodable text",
            "c.csv",
            {
                let mut b = gbk(&format!("{HEADER}\n{}", good_row(1)));
                b.extend_from_slice(&[0x81, 0x20, b',', b'\n']);
                b
            },
            "ingest.undecodable_text",
            vec!["第 3 行"],
        ),
        (
            "over the size limit",
            "d.csv",
            {
                let mut s = format!("{HEADER}\n");
                let mut n = 1;
                while s.len() < 1200 * 1024 {
                    s += &good_row(n);
                    n += 1;
                }
                s.into_bytes()
            },
            "ingest.too_large",
            vec![],
        ),
        ("zip bomb", "e.xlsx", zip_bomb, "ingest.zip_bomb", vec![]),
        ("not parquet", "f.parquet", b"PAR1 this is not parquet".to_vec(), "ingest.not_parquet", vec![]),
        ("empty", "g.csv", Vec::new(), "ingest.empty", vec![]),
        (
            // 690 KB with 100 000 columns: refused before anything is allocated for its rows.
            "100 000 columns",
            "h.csv",
            (0..100_000).map(|i| format!("c{i}")).collect::<Vec<_>>().join(",").into_bytes(),
            "ingest.too_many_columns",
            vec!["100000 列", "1024"],
        ),
        (
            "one 900 KB column name",
            "i.csv",
            vec![b'x'; 900 * 1024],
            "ingest.column_name_too_long",
            vec!["100 个字符"],
        ),
        (
            "UTF-16",
            "j.csv",
            {
                let mut b = vec![0xFF, 0xFE];
                for unit in format!("{HEADER}\n{}", good_row(1)).encode_utf16() {
                    b.extend_from_slice(&unit.to_le_bytes());
                }
                b
            },
            "ingest.utf16",
            vec!["UTF-16", "UTF-8"],
        ),
        (
            "NUL in a column name",
            "k.csv",
            format!("{}\u{0}x\n{}", HEADER, good_row(1)).into_bytes(),
            "ingest.bad_header",
            vec!["表头"],
        ),
    ];
    for (what, name, body, code, words) in cases {
        let r = upload(&app, &amr, id, name, body).await;
        assert_eq!(r.status(), 422, "{what}");
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["code"], code, "{what}: {e}");
        let msg = e["message"].as_str().unwrap();
        assert!(msg.contains("未写入任何数据"), "{what}: {msg}");
        for w in words {
            assert!(msg.contains(w), "{what}: message lacks {w}: {msg}");
        }
        assert!(app.state.store.versions_of(id).await.unwrap().is_empty(), "{what}: a version was recorded");
        assert_eq!(object_count(&app), objects_before, "{what}: an object was left behind");
    }
    // Other providers cannot import into it; after all that, a good file still imports.
    let hrss = app.token("hrss.clerk").await;
    assert_eq!(
        upload(&app, &hrss, id, "a.csv", format!("{HEADER}\n{}", good_row(1)).into_bytes()).await.status(),
        403
    );
    let r = upload(&app, &amr, id, "ok.csv", format!("{HEADER}\n{}", good_row(1)).into_bytes()).await;
    assert_eq!(r.status(), 201);
    app.stop().await;
}
