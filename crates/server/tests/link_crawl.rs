//! Every demo account, every to-do and every link on its pages (issue 12, item 10): a to-do goes
//! only to someone who can act on it, and a link is shown only where the viewer may follow it. The
//! crawl signs in as each account, opens its desk, and follows the links of every page it reaches
//! (breadth first, up to a bound per account); any 403 or 5xx fails, naming the account, the page
//! and the link.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use std::collections::{HashSet, VecDeque};

/// Pages opened per account at most (the demo's pages are reached well within it).
const PAGES_PER_ACCOUNT: usize = 150;
/// Pages of one shape (`/catalog/N`) opened per account at most.
const PER_SHAPE: usize = 3;

/// The internal links (`href="/…"`) of a page, unescaped; static files and anchors left out.
fn links(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|href| href.replace("&amp;", "&"))
        .filter(|href| href.starts_with('/') && !href.starts_with("//"))
        .filter(|href| !href.starts_with("/static/"))
        .map(|href| href.split('#').next().unwrap_or_default().to_owned())
        .filter(|href| !href.is_empty())
        .collect()
}

/// Pages of a list that differ only in their paging or filter parameters count once.
fn shape(link: &str) -> String {
    let path = link.split('?').next().unwrap_or(link);
    path.split('/')
        .map(|s| if s.chars().all(|c| c.is_ascii_digit()) && !s.is_empty() { "N" } else { s })
        .collect::<Vec<_>>()
        .join("/")
        + if link.contains('?') { "?" } else { "" }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_account_follows_every_todo_and_link_without_a_403_or_5xx() {
    let app = common::TestApp::spawn().await;
    let mut failures = Vec::new();
    let mut opened = 0;
    for account in yunshu_server::demo::accounts() {
        let (client, _) = app.login(&account.username).await;
        // To-dos first: each must open.
        let todo = client.get(format!("{}/api/v1/todo", app.url)).send().await.unwrap();
        assert_eq!(todo.status(), 200, "{}: to-do list", account.username);
        let todo: serde_json::Value = todo.json().await.unwrap();
        let mut queue: VecDeque<(String, String)> = VecDeque::new();
        for item in todo.as_array().into_iter().flatten() {
            if let Some(link) = item["link"].as_str() {
                queue.push_back(("待办".to_owned(), link.to_owned()));
            }
        }
        queue.push_back(("登录".to_owned(), "/".to_owned()));
        let mut seen: HashSet<String> = HashSet::new();
        let mut shapes: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        let mut pages = 0;
        while let Some((from, link)) = queue.pop_front() {
            if !seen.insert(link.clone()) || pages >= PAGES_PER_ACCOUNT {
                continue;
            }
            // A few pages per shape beyond the to-dos (the tenth resource page shows nothing new).
            let n = shapes.entry(shape(&link)).or_default();
            *n += 1;
            if from != "待办" && *n > PER_SHAPE {
                continue;
            }
            pages += 1;
            let r = client.get(format!("{}{link}", app.url)).send().await.unwrap();
            let status = r.status();
            if status == 403 || status.is_server_error() {
                failures.push(format!("{}: {status} at {link} (linked from {from})", account.username));
                continue;
            }
            let html = if status == 200
                && r.headers()
                    .get("content-type")
                    .is_some_and(|v| v.to_str().is_ok_and(|v| v.starts_with("text/html")))
            {
                r.text().await.unwrap()
            } else {
                continue;
            };
            for next in links(&html) {
                if !seen.contains(&next) {
                    queue.push_back((link.clone(), next));
                }
            }
        }
        opened += pages;
    }
    eprintln!("crawled {opened} pages");
    assert!(opened > 100, "the crawl opened only {opened} pages");
    assert!(
        failures.is_empty(),
        "{} links lead to a refusal or an error:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
