use super::*;

#[test]
fn free_text_rules() {
    assert_eq!(problem("云南某某有限公司"), None);
    assert_eq!(problem("第一行\n第二行\t制表"), None);
    assert_eq!(problem(""), None);
    assert_eq!(problem("   "), None);
    assert_eq!(problem("企业\u{0}信息"), Some(TextProblem::Control));
    assert_eq!(problem("\u{202E}息信业企"), Some(TextProblem::Bidi));
    assert_eq!(problem("坏\u{2067}名"), Some(TextProblem::Bidi));
    assert_eq!(problem("\u{200B}\u{200C}\u{FEFF}"), Some(TextProblem::Invisible));
    assert_eq!(problem(" \u{2060} "), Some(TextProblem::Invisible));
    // An invisible character inside visible text is free text's business, not a refusal.
    assert_eq!(problem("企\u{200B}业"), None);
}

#[test]
fn names_refuse_any_hidden_character() {
    assert!(!name_has_hidden_characters("缴费基数"));
    assert!(name_has_hidden_characters("企\u{200B}业"));
    assert!(name_has_hidden_characters("\u{202E}名称"));
    assert!(name_has_hidden_characters("名\u{0}称"));
}
