//! Word-level Chinese search of the public catalogue. Texts are segmented with jieba (search mode, so
//! that 企业登记信息 also yields 企业 and 登记); the words are stored as index terms with a weight by
//! where they come from, and a query is segmented the same way. Substring search would find 安 in
//! 安全 and 公安; word search finds what people mean.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use jieba_rs::Jieba;

static JIEBA: LazyLock<Jieba> = LazyLock::new(Jieba::new);

/// Words that carry no meaning for search.
const STOP: &[&str] = &["的", "和", "与", "及", "或", "等", "了", "在", "是", "对", "为", "中", "含", "其"];

/// The search words of a text: lower-cased, punctuation and stop words dropped, no duplicates.
pub fn words(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in JIEBA.cut_for_search(text, true) {
        let w = w.word.trim().to_lowercase();
        if w.is_empty() || !w.chars().any(char::is_alphanumeric) || STOP.contains(&w.as_str()) {
            continue;
        }
        if !out.contains(&w) {
            out.push(w);
        }
    }
    out
}

/// The words of a query, segmented in precise mode (社会保险 stays one word, while the index also
/// holds its parts): a result must contain all of them to rank first.
pub fn query_words(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in JIEBA.cut(text, true) {
        let w = w.word.trim().to_lowercase();
        if w.is_empty() || !w.chars().any(char::is_alphanumeric) || STOP.contains(&w.as_str()) {
            continue;
        }
        if !out.contains(&w) {
            out.push(w);
        }
    }
    out
}

/// Index terms with weights: each `(text, weight)` contributes its words; a word found in several
/// texts keeps the highest weight.
pub fn index_terms(texts: &[(&str, i64)]) -> Vec<(String, i64)> {
    let mut terms: BTreeMap<String, i64> = BTreeMap::new();
    for (text, weight) in texts {
        for w in words(text) {
            let e = terms.entry(w).or_insert(*weight);
            *e = (*e).max(*weight);
        }
    }
    terms.into_iter().collect()
}

#[cfg(test)]
#[path = "search_test.rs"]
mod tests;
