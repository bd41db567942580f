use super::*;

#[test]
fn segments_into_words_not_characters() {
    let w = words("企业登记信息和社会保险缴费");
    assert!(w.contains(&"企业".to_owned()), "{w:?}");
    assert!(w.contains(&"登记".to_owned()), "{w:?}");
    assert!(w.contains(&"社会保险".to_owned()) || w.contains(&"保险".to_owned()), "{w:?}");
    assert!(!w.contains(&"和".to_owned()));
    // A word search for 公安 does not match 安全.
    assert!(!words("数据安全").contains(&"公安".to_owned()));
    assert!(!words("数据安全").contains(&"安".to_owned()));
}

#[test]
fn index_terms_keep_the_highest_weight() {
    let t = index_terms(&[("景区客流", 3), ("景区 每日 客流 统计", 1)]);
    let get = |k: &str| t.iter().find(|(w, _)| w == k).map(|(_, x)| *x);
    assert_eq!(get("景区"), Some(3));
    assert_eq!(get("统计"), Some(1));
    assert_eq!(words("USCC 代码"), vec!["uscc".to_owned(), "代码".to_owned()]);
}

#[test]
fn query_words_keep_compounds_whole() {
    assert_eq!(query_words("社会保险 缴费"), vec!["社会保险".to_owned(), "缴费".to_owned()]);
    assert!(index_terms(&[("社会保险缴费信息", 1)]).iter().any(|(w, _)| w == "社会保险"));
}
