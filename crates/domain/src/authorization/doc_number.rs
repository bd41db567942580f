//! Document numbers (发文字号, GB/T 9704): `云数运〔2026〕12号` — issuer prefix, year in 六角括号,
//! serial without leading zeros ("不编虚位").

use std::fmt;

use thiserror::Error;

/// A document number: prefix (机关代字), year, serial.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocNumber {
    prefix: String,
    year: i32,
    serial: u32,
}

impl DocNumber {
    /// Builds a number; the prefix must be non-blank without brackets or digits, the year four
    /// digits, the serial positive.
    pub fn new(prefix: &str, year: i32, serial: u32) -> Result<DocNumber, DocNumberError> {
        let prefix = prefix.trim();
        if prefix.is_empty()
            || prefix.chars().any(|c| c.is_ascii_digit() || c.is_whitespace() || is_bracket(c) || c == '号')
        {
            return Err(DocNumberError::BadPrefix);
        }
        if !(1000..=9999).contains(&year) {
            return Err(DocNumberError::BadYear);
        }
        if serial == 0 {
            return Err(DocNumberError::BadSerial);
        }
        Ok(DocNumber { prefix: prefix.to_owned(), year, serial })
    }

    /// Parses `云数运〔2026〕12号`. Also accepts the brackets people type instead of 〔〕 (`[]`,
    /// `［］`, `（）`, `()`); display always uses 〔〕.
    pub fn parse(text: &str) -> Result<DocNumber, DocNumberError> {
        let text = text.trim();
        let open = text.find(is_open).ok_or(DocNumberError::Malformed)?;
        let prefix = text.get(..open).ok_or(DocNumberError::Malformed)?;
        let rest = text.get(open..).ok_or(DocNumberError::Malformed)?;
        let mut chars = rest.chars();
        chars.next(); // the opening bracket
        let rest = chars.as_str();
        let close = rest.find(is_close).ok_or(DocNumberError::Malformed)?;
        let year_text = rest.get(..close).ok_or(DocNumberError::Malformed)?;
        let mut after = rest.get(close..).ok_or(DocNumberError::Malformed)?.chars();
        after.next(); // the closing bracket
        let serial_text = after.as_str().strip_suffix('号').ok_or(DocNumberError::Malformed)?;
        if year_text.len() != 4 || !year_text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DocNumberError::BadYear);
        }
        if serial_text.is_empty()
            || serial_text.starts_with('0')
            || !serial_text.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(DocNumberError::BadSerial);
        }
        let year = year_text.parse().map_err(|_| DocNumberError::BadYear)?;
        let serial = serial_text.parse().map_err(|_| DocNumberError::BadSerial)?;
        DocNumber::new(prefix, year, serial)
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn year(&self) -> i32 {
        self.year
    }

    pub fn serial(&self) -> u32 {
        self.serial
    }
}

fn is_open(c: char) -> bool {
    matches!(c, '〔' | '[' | '［' | '（' | '(')
}

fn is_close(c: char) -> bool {
    matches!(c, '〕' | ']' | '］' | '）' | ')')
}

fn is_bracket(c: char) -> bool {
    is_open(c) || is_close(c)
}

impl fmt::Display for DocNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}〔{}〕{}号", self.prefix, self.year, self.serial)
    }
}

/// A text that is not a document number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum DocNumberError {
    #[error("expected PREFIX〔YEAR〕SERIAL号")]
    Malformed,
    #[error("the issuer prefix must be non-blank, without digits or brackets")]
    BadPrefix,
    #[error("the year must have four digits")]
    BadYear,
    #[error("the serial must be a positive number without leading zeros")]
    BadSerial,
}

impl DocNumberError {
    pub fn code(&self) -> &'static str {
        match self {
            DocNumberError::Malformed => "doc_number.malformed",
            DocNumberError::BadPrefix => "doc_number.bad_prefix",
            DocNumberError::BadYear => "doc_number.bad_year",
            DocNumberError::BadSerial => "doc_number.bad_serial",
        }
    }

    pub fn message_zh(&self) -> String {
        match self {
            DocNumberError::Malformed => {
                "文号格式应为“机关代字〔年份〕序号号”，如 云数运〔2026〕12号".to_owned()
            }
            DocNumberError::BadPrefix => "文号的机关代字不能为空，且不能含数字或括号".to_owned(),
            DocNumberError::BadYear => "文号年份应为四位数字".to_owned(),
            DocNumberError::BadSerial => "文号序号应为正整数，且不编虚位（不加前导 0）".to_owned(),
        }
    }
}

#[cfg(test)]
#[path = "doc_number_test.rs"]
mod tests;
