//! The bad-input corpus (issue 12): files and requests generated here (no committed blobs), each
//! answered with a 4xx whose message is Chinese, the server still answering, and nothing written
//! (no audit record, no object, no version).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use serde_json::{Value, json};

/// One bad input: what it is, the request, the status class expected (4xx).
struct Case {
    what: String,
    request: reqwest::RequestBuilder,
}

fn has_chinese(s: &str) -> bool {
    s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

fn utf16(text: &str, little: bool, bom: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if bom {
        out.extend_from_slice(if little { &[0xFF, 0xFE] } else { &[0xFE, 0xFF] });
    }
    for unit in text.encode_utf16() {
        out.extend_from_slice(&if little { unit.to_le_bytes() } else { unit.to_be_bytes() });
    }
    out
}

fn object_count(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|es| es.flatten().map(|e| if e.path().is_dir() { object_count(&e.path()) } else { 1 }).sum())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_bad_input_gets_a_chinese_4xx_and_writes_nothing() {
    let config = yunshu_server::Config { upload_limit: 2 * 1024 * 1024, ..Default::default() };
    let app = common::TestApp::spawn_with(config, common::test_now()).await;
    let amr = app.token("amr.clerk").await;
    let admin = app.token("bureau.admin").await;
    let http = reqwest::Client::new();

    // A resource with two catalogued items to upload into.
    let r = app
        .api_post(
            &amr,
            "/api/v1/resources",
            Some(json!({
                "classification": "301001020",
                "name": "坏输入测试资源",
                "abstract_text": "用于检验坏输入的企业信息",
                "sharing_type": "conditional",
                "sharing_conditions": "授权运营场景内使用",
                "update_cycle": "monthly"
            })),
        )
        .await;
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let items = json!({"items": [
        {"name": "企业名称", "kind": "text", "grade": "l1"},
        {"name": "注册资本", "kind": "decimal", "grade": "l2"},
        {"name": "成立日期", "kind": "date", "grade": "l1"}
    ]});
    let r =
        http.put(format!("{}/api/v1/resources/{id}/items", app.url)).bearer_auth(&amr).json(&items).send();
    assert_eq!(r.await.unwrap().status(), 200);

    let header = "企业名称,注册资本,成立日期\n";
    let good = "云南某某有限公司,100.5,2020-01-01\n";
    let mut files: Vec<(&str, String, Vec<u8>)> = vec![
        ("empty file", "a.csv".into(), Vec::new()),
        ("only a byte order mark", "a.csv".into(), b"\xEF\xBB\xBF".to_vec()),
        ("only blank lines", "a.csv".into(), b"\n\n\n".to_vec()),
        ("duplicate column", "a.csv".into(), format!("企业名称,企业名称\n{good}").into_bytes()),
        ("empty column name", "a.csv".into(), format!("企业名称,,成立日期\n{good}").into_bytes()),
        ("100 000 columns", "a.csv".into(), (0..100_000).map(|i| format!("c{i}")).collect::<Vec<_>>().join(",").into_bytes()),
        ("1 025 columns", "a.csv".into(), (0..1025).map(|i| format!("c{i}")).collect::<Vec<_>>().join(",").into_bytes()),
        ("a 1 MB single line", "a.csv".into(), vec![b'y'; 1024 * 1024]),
        ("a 101-character name", "a.csv".into(), format!("{}\n1\n", "名".repeat(101)).into_bytes()),
        ("UTF-16LE with BOM", "a.csv".into(), utf16(&format!("{header}{good}"), true, true)),
        ("UTF-16BE with BOM", "a.csv".into(), utf16(&format!("{header}{good}"), false, true)),
        ("UTF-16LE without BOM", "a.csv".into(), utf16(&format!("{header}{good}"), true, false)),
        ("NUL in a name", "a.csv".into(), format!("企业\u{0}名称,注册资本,成立日期\n{good}").into_bytes()),
        ("bidi override in a name", "a.csv".into(), format!("\u{202E}企业名称,注册资本,成立日期\n{good}").into_bytes()),
        ("zero-width name", "a.csv".into(), format!("\u{200B},注册资本,成立日期\n{good}").into_bytes()),
        ("row with too few fields", "a.csv".into(), format!("{header}{good}云南,1\n").into_bytes()),
        ("row with too many fields", "a.csv".into(), format!("{header}{good}云南,1,2020-01-01,x\n").into_bytes()),
        ("text in a decimal column", "a.csv".into(), format!("{header}云南,一百,2020-01-01\n").into_bytes()),
        ("impossible date", "a.csv".into(), format!("{header}云南,1,2020-02-30\n").into_bytes()),
        ("month 13", "a.csv".into(), format!("{header}云南,1,2020-13-01\n").into_bytes()),
        ("decimal overflow", "a.csv".into(), format!("{header}云南,1e400,2020-01-01\n").into_bytes()),
        ("unterminated quote", "a.csv".into(), format!("{header}\"云南,1,2020-01-01\n").into_bytes()),
        (
            "invalid UTF-8 after a long ASCII start",
            "a.csv".into(),
            {
                let mut b = header.as_bytes().to_vec();
                for _ in 0..3000 {
                    b.extend_from_slice(b"abcdefghijklmnopqrstuvwxyz,1,2020-01-01\n");
                }
                b.extend_from_slice(&[0xFF, 0xFE, 0x00, b',', b'1', b',', b'\n']);
                b
            },
        ),
        ("undecodable GBK", "a.csv".into(), {
            let text = format!("{header}{good}");
            let mut b = encoding_rs::GBK.encode(&text).0.into_owned();
            b.extend_from_slice(&[0x81, 0x20, b',', b'1', b',', b'\n']);
            b
        }),
        ("random bytes as xlsx", "a.xlsx".into(), (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect()),
        ("truncated zip", "a.xlsx".into(), b"PK\x03\x04\x14\x00\x00\x00\x08\x00".to_vec()),
        ("zip without a workbook", "a.xlsx".into(), {
            use std::io::Write;
            let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
            z.start_file("hello.txt", zip::write::SimpleFileOptions::default()).unwrap();
            z.write_all(b"not a workbook").unwrap();
            z.finish().unwrap().into_inner()
        }),
        ("zip bomb", "a.xlsx".into(), {
            use std::io::Write;
            let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
            let o = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
            z.start_file("xl/worksheets/sheet1.xml", o).unwrap();
            let zeros = vec![b'0'; 1024 * 1024];
            for _ in 0..64 {
                z.write_all(&zeros).unwrap();
            }
            z.finish().unwrap().into_inner()
        }),
        ("garbage parquet", "a.parquet".into(), b"PAR1 not really parquet PAR1".to_vec()),
        ("parquet magic only", "a.parquet".into(), b"PAR1".to_vec()),
        ("JSON Lines with a broken line", "a.jsonl".into(), "{\"企业名称\":\"云南\",\"注册资本\":1,\"成立日期\":\"2020-01-01\"}\n{\"企业名称\":\n".as_bytes().to_vec()),
        ("JSON Lines with an unknown key", "a.jsonl".into(), "{\"企业名称\":\"云南\",\"注册资本\":1,\"成立日期\":\"2020-01-01\"}\n{\"企业名称\":\"云南\",\"x\":1}\n".as_bytes().to_vec()),
        ("JSON Lines array", "a.jsonl".into(), b"{\"a\":1}\n[1,2,3]\n".to_vec()),
        ("over the size limit", "a.csv".into(), {
            let mut s = String::from(header);
            while s.len() < 2 * 1024 * 1024 + 10 {
                s += good;
            }
            s.into_bytes()
        }),
    ];
    // Binary noise under a CSV name.
    files.push((
        "binary noise",
        "a.csv".into(),
        (0..8192u32).map(|i| (i.wrapping_mul(40_503) >> 7) as u8).collect(),
    ));

    let mut cases: Vec<Case> = files
        .into_iter()
        .map(|(what, name, body)| Case {
            what: format!("file: {what}"),
            request: http
                .post(format!("{}/api/v1/resources/{id}/versions?name={name}", app.url))
                .bearer_auth(&amr)
                .body(body),
        })
        .collect();

    // Requests.
    let resource = |patch: Value| {
        let mut body = json!({
            "classification": "301001020",
            "name": "坏请求测试",
            "abstract_text": "坏请求",
            "sharing_type": "conditional",
            "sharing_conditions": "授权运营场景内使用",
            "update_cycle": "monthly"
        });
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                body.as_object_mut().unwrap().remove(k);
            } else {
                body[k] = v.clone();
            }
        }
        body
    };
    let resource_cases: Vec<(&str, Value)> = vec![
        ("missing name", json!({"name": null})),
        ("name with NUL", json!({"name": "坏\u{0}名"})),
        ("name with bidi isolate", json!({"name": "坏\u{2067}名"})),
        ("name of zero-width spaces", json!({"name": "\u{200B}\u{200C}\u{200D}"})),
        ("name of a number", json!({"name": 42})),
        ("classification of letters", json!({"classification": "abcdefghi"})),
        ("classification too short", json!({"classification": "3010"})),
        ("unknown sharing type", json!({"sharing_type": "everyone"})),
        ("unknown update cycle", json!({"update_cycle": "hourly"})),
        ("update cycle as number", json!({"update_cycle": 12})),
        ("sharing conditions as array", json!({"sharing_conditions": ["a"]})),
        ("abstract with a control character", json!({"abstract_text": "摘要\u{7}"})),
    ];
    for (what, patch) in resource_cases {
        cases.push(Case {
            what: format!("resource: {what}"),
            request: http
                .post(format!("{}/api/v1/resources", app.url))
                .bearer_auth(&amr)
                .json(&resource(patch)),
        });
    }
    let org = |uscc: &str, org_type: &str, region: &str, name: &str| json!({"name": name, "uscc": uscc, "org_type": org_type, "region": region});
    let org_cases = vec![
        ("bad USCC check character", org("91530100MA6N00000X", "developer", "530100", "测试企业")),
        ("USCC too short", org("9153010", "developer", "530100", "测试企业")),
        ("USCC with lowercase and symbols", org("91530100ma6n0000-!", "developer", "530100", "测试企业")),
        ("unknown organisation type", org("", "bank", "530100", "测试企业")),
        ("region outside Yunnan", org("", "developer", "110000", "测试企业")),
        ("region not a code", org("", "developer", "昆明", "测试企业")),
        ("empty name", org("", "developer", "530100", "")),
        ("name of invisible characters", org("", "developer", "530100", "\u{FEFF}\u{2060}")),
    ];
    for (what, body) in org_cases {
        cases.push(Case {
            what: format!("org: {what}"),
            request: http.post(format!("{}/api/v1/orgs", app.url)).bearer_auth(&admin).json(&body),
        });
    }
    let user = |patch: Value| {
        let mut body = json!({
            "org_id": 1, "username": "bad.input", "display_name": "测试人", "resident_id": "530102198001010011",
            "mobile": "13987000000", "roles": ["clerk"], "password": "Yunnan-2026-strong"
        });
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let user_cases = vec![
        ("bad resident id check character", json!({"resident_id": "530102198001010012"})),
        ("resident id with impossible birth date", json!({"resident_id": "530102198002300011"})),
        ("bad mobile", json!({"mobile": "1398700"})),
        ("unknown role", json!({"roles": ["king"]})),
        ("roles as string", json!({"roles": "clerk"})),
        ("weak password", json!({"password": "123"})),
        ("org id as text", json!({"org_id": "one"})),
        ("username with NUL", json!({"username": "bad\u{0}name"})),
        ("display name with bidi override", json!({"display_name": "\u{202D}测试"})),
    ];
    for (what, patch) in user_cases {
        cases.push(Case {
            what: format!("user: {what}"),
            request: http.post(format!("{}/api/v1/users", app.url)).bearer_auth(&admin).json(&user(patch)),
        });
    }
    let raw = |what: &str, body: &'static str, content_type: &'static str| Case {
        what: what.to_owned(),
        request: http
            .post(format!("{}/api/v1/resources", app.url))
            .bearer_auth(&amr)
            .header("content-type", content_type)
            .body(body),
    };
    cases.push(raw("malformed JSON", "{\"name\": ", "application/json"));
    cases.push(raw("JSON array instead of object", "[1,2,3]", "application/json"));
    cases.push(raw("JSON null", "null", "application/json"));
    cases.push(raw("JSON with a lone surrogate", "{\"name\": \"\\ud800\"}", "application/json"));
    cases.push(raw("form body on a JSON route", "name=x", "application/x-www-form-urlencoded"));
    cases.push(raw("no content type", "{}", "text/plain"));
    for (what, query) in [
        ("start not a date", "start=2026-13-01&days=5"),
        ("days not a number", "start=2026-12-01&days=abc"),
        ("days negative", "start=2026-12-01&days=-1"),
        ("days missing", "start=2026-12-01"),
        ("start with NUL", "start=2026%0012&days=1"),
        ("year far outside the calendar", "start=9999-12-31&days=5"),
    ] {
        cases.push(Case {
            what: format!("calendar: {what}"),
            request: http
                .get(format!("{}/api/v1/calendar/add-working-days?{query}", app.url))
                .bearer_auth(&amr),
        });
    }
    for (what, path) in [
        ("resource id not a number", "/api/v1/resources/abc"),
        ("resource id negative", "/api/v1/resources/-1"),
        ("resource id overflowing", "/api/v1/resources/99999999999999999999999"),
        ("resource that does not exist", "/api/v1/resources/987654321"),
    ] {
        cases.push(Case {
            what: format!("path: {what}"),
            request: http.get(format!("{}{path}", app.url)).bearer_auth(&amr),
        });
    }
    // A developer asking about a scenario that does not exist (a 404, not "no access").
    let fintech = app.token("fintech.clerk").await;
    cases.push(Case {
        what: "path: scenario that does not exist".to_owned(),
        request: http.get(format!("{}/api/v1/scenarios/987654321/access", app.url)).bearer_auth(&fintech),
    });
    assert!(cases.len() >= 60, "the corpus has only {} cases", cases.len());

    let objects = app.dir.join("objects");
    let mut failures = Vec::new();
    for case in cases {
        let (audit_before, objects_before) =
            (app.state.store.audit_count().await.unwrap(), object_count(&objects));
        let r = case.request.send().await.unwrap();
        let status = r.status();
        let body = r.text().await.unwrap_or_default();
        let message = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_owned))
            .unwrap_or_default();
        if !status.is_client_error() {
            failures.push(format!("{}: {status} {body:.200}", case.what));
        } else if !has_chinese(&message) {
            failures.push(format!("{}: {status} without a Chinese message: {body:.200}", case.what));
        }
        let alive = http.get(format!("{}/healthz", app.url)).send().await.is_ok_and(|r| r.status() == 200);
        assert!(alive, "{}: the server stopped answering", case.what);
        if app.state.store.audit_count().await.unwrap() != audit_before {
            failures.push(format!("{}: an audit record was written", case.what));
        }
        if object_count(&objects) != objects_before {
            failures.push(format!("{}: an object was left behind", case.what));
        }
    }
    assert!(app.state.store.versions_of(id).await.unwrap().is_empty(), "a version was recorded");
    assert!(
        failures.is_empty(),
        "{} bad inputs were not answered as they should be:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
