//! What free text people type may not hold: control characters (a NUL ends strings elsewhere),
//! bidirectional overrides and isolates (a name then reads differently from what it is), or nothing
//! but invisible characters (a name that looks empty). One rule for forms, JSON bodies, query
//! strings and the column names of imported files.

/// Why a text is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextProblem {
    /// A control character other than tab and line breaks.
    Control,
    /// A bidirectional override or isolate (U+202A–U+202E, U+2066–U+2069).
    Bidi,
    /// Only invisible characters (zero-width spaces and joiners, word joiners, BOM, soft hyphen),
    /// perhaps with spaces.
    Invisible,
}

impl TextProblem {
    /// Stable code, for the API.
    pub fn code(self) -> &'static str {
        match self {
            TextProblem::Control => "text.control",
            TextProblem::Bidi => "text.bidi",
            TextProblem::Invisible => "text.invisible",
        }
    }

    /// What is wrong, in Chinese (follows the field's name).
    pub fn message_zh(self) -> &'static str {
        match self {
            TextProblem::Control => "含有控制字符（如 NUL）",
            TextProblem::Bidi => "含有双向文字控制符，显示内容会与实际内容不同",
            TextProblem::Invisible => "只由不可见字符组成",
        }
    }
}

/// A bidirectional override or isolate.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A character that takes no visible space: zero-width space, joiners and marks, word joiner and
/// invisible operators, BOM, soft hyphen.
pub fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{00AD}')
}

/// Why free text (of a form or a JSON body) is refused, if it is. Tab and line breaks are allowed;
/// an empty or all-space value is left to the field's own rule.
pub fn problem(s: &str) -> Option<TextProblem> {
    if s.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) {
        return Some(TextProblem::Control);
    }
    if s.chars().any(is_bidi_control) {
        return Some(TextProblem::Bidi);
    }
    let blank = |c: char| c.is_whitespace() || is_invisible(c);
    if s.chars().all(blank) && s.chars().any(is_invisible) {
        return Some(TextProblem::Invisible);
    }
    None
}

/// Whether a name (a column name, an identifier-like label) holds a character that has no place in
/// it: any control, bidi or invisible character, not only a name made of them.
pub fn name_has_hidden_characters(s: &str) -> bool {
    s.chars().any(|c| c.is_control() || is_bidi_control(c) || is_invisible(c))
}

#[cfg(test)]
#[path = "text_test.rs"]
mod tests;
