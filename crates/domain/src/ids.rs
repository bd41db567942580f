//! Identifier newtypes for the people and organisations the platform deals with: the
//! 统一社会信用代码 (GB 32100), the 居民身份证号码 (GB 11643) and mainland mobile numbers.
//!
//! Parse, don't validate: each type can only be obtained through `parse` (or `complete`, which
//! computes check characters), so holding a value is proof that it is well-formed. Inputs are
//! trimmed and upper-cased before checking, because people paste codes with stray spaces and
//! type the letters in lower case.
//!
//! Personal identifiers (`ResidentId`, `Mobile`) deliberately do not implement `Display`, and
//! their `Debug` output is masked, so that they do not end up in logs by accident (个人信息保护);
//! use `as_str()` when the full value is really needed.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use thiserror::Error;

/// Which characters were allowed at a position, so error messages can say what was expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CharClass {
    /// An ASCII digit 0–9.
    Digit,
    /// A digit or `X` (check character of 居民身份证 and of 组织机构代码).
    DigitOrX,
    /// The GB 32100 alphabet: digits and upper-case letters except I, O, Z, S, V.
    UsccAlphabet,
}

impl CharClass {
    /// Chinese description, used in [`IdError::message_zh`].
    pub fn describe_zh(self) -> &'static str {
        match self {
            CharClass::Digit => "数字",
            CharClass::DigitOrX => "数字或字母 X",
            CharClass::UsccAlphabet => "数字或大写字母（不含 I、O、Z、S、V）",
        }
    }
}

impl fmt::Display for CharClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CharClass::Digit => "a digit",
            CharClass::DigitOrX => "a digit or X",
            CharClass::UsccAlphabet => "a digit or an upper-case letter other than I, O, Z, S, V",
        })
    }
}

/// Why an identifier was rejected. Each variant carries enough detail to tell the user what to fix.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdError {
    /// The (trimmed) input has the wrong number of characters.
    #[error("wrong length: expected {expected} characters, found {found}")]
    WrongLength { expected: usize, found: usize },
    /// A character is not allowed at this position (1-based, counted in characters).
    #[error("invalid character {ch:?} at position {position}: expected {expected}")]
    InvalidCharacter { position: usize, ch: char, expected: CharClass },
    /// The final check character does not match the one computed from the other characters.
    #[error("bad check character: expected {expected}, found {found}")]
    BadCheckCharacter { expected: char, found: char },
    /// In a 统一社会信用代码, character 17 (the 组织机构代码 check, GB 11714) does not match.
    #[error("bad organisation code check character (position 17): expected {expected}, found {found}")]
    BadOrgCodeCheck { expected: char, found: char },
    /// The YYYYMMDD part of a 居民身份证号码 is not a real date from 1900 on.
    #[error("invalid birth date {digits}: must be a real date, year 1900 or later")]
    InvalidBirthDate { digits: String },
    /// A mobile number must start with 13–19.
    #[error("mobile number must start with 13 to 19, found {prefix}")]
    WrongPrefix { prefix: String },
}

impl IdError {
    /// Stable machine-readable code, for APIs and translations.
    pub fn code(&self) -> &'static str {
        match self {
            IdError::WrongLength { .. } => "id.wrong_length",
            IdError::InvalidCharacter { .. } => "id.invalid_char",
            IdError::BadCheckCharacter { .. } => "id.bad_check_char",
            IdError::BadOrgCodeCheck { .. } => "id.bad_org_code_check",
            IdError::InvalidBirthDate { .. } => "id.invalid_birth_date",
            IdError::WrongPrefix { .. } => "id.mobile_prefix",
        }
    }

    /// Message for Chinese-speaking users.
    pub fn message_zh(&self) -> String {
        match self {
            IdError::WrongLength { expected, found } => {
                format!("长度错误：应为 {expected} 位，实为 {found} 位")
            }
            IdError::InvalidCharacter { position, ch, expected } => {
                format!("第 {position} 位字符“{ch}”不合法：应为{}", expected.describe_zh())
            }
            IdError::BadCheckCharacter { expected, found } => {
                format!("校验位错误：应为 {expected}，实为 {found}（请核对各位是否录入有误）")
            }
            IdError::BadOrgCodeCheck { expected, found } => format!(
                "组织机构代码校验位（第 17 位）错误：应为 {expected}，实为 {found}（请核对第 9–17 位）"
            ),
            IdError::InvalidBirthDate { digits } => {
                format!("出生日期“{digits}”无效：须为 1900 年以后的真实日期")
            }
            IdError::WrongPrefix { prefix } => {
                format!("手机号码应以 13–19 开头，实为“{prefix}”")
            }
        }
    }
}

/// Trims, upper-cases (ASCII only, so non-ASCII characters survive to be reported) and splits
/// into characters, checking the length.
fn normalise(input: &str, expected: usize) -> Result<Vec<char>, IdError> {
    let chars: Vec<char> = input.trim().to_ascii_uppercase().chars().collect();
    if chars.len() == expected {
        Ok(chars)
    } else {
        Err(IdError::WrongLength { expected, found: chars.len() })
    }
}

fn invalid(index: usize, ch: char, expected: CharClass) -> IdError {
    IdError::InvalidCharacter { position: index + 1, ch, expected }
}

fn digit_value(index: usize, ch: char) -> Result<u32, IdError> {
    // `char::to_digit` only accepts ASCII digits, so full-width digits are rejected here.
    ch.to_digit(10).ok_or_else(|| invalid(index, ch, CharClass::Digit))
}

// ---------------------------------------------------------------------------------------------
// 统一社会信用代码
// ---------------------------------------------------------------------------------------------

/// GB 32100 alphabet; the position of a character is its value.
const USCC_ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
/// GB 32100 weights for characters 1–17.
const USCC_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
/// GB 11714 weights for the eight body characters of a 组织机构代码 (USCC characters 9–16).
const ORG_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

fn uscc_value(ch: char) -> Option<u32> {
    USCC_ALPHABET.find(ch).and_then(|i| u32::try_from(i).ok())
}

fn uscc_char(value: u32) -> char {
    USCC_ALPHABET
        .chars()
        .nth(value as usize)
        // Callers pass values reduced mod 31, so this fallback is never used.
        .unwrap_or('0')
}

/// Value of a character in GB 11714 (组织机构代码): digits are 0–9 and letters count through the
/// full Latin alphabet, A = 10 … Z = 35. This is *not* the USCC alphabet index (which skips I and
/// O): e.g. real code 91310112MA1GBKRE47 only checks with the GB 11714 values.
fn org_value(ch: char) -> u32 {
    if let Some(d) = ch.to_digit(10) {
        d
    } else if ch.is_ascii_uppercase() {
        u32::from(ch) - u32::from('A') + 10
    } else {
        0
    }
}

/// 组织机构代码 check character: r = 11 − Σ mod 11; 10 → X, 11 → 0.
fn org_check_char(body: &[char]) -> char {
    let sum: u32 = body.iter().zip(ORG_WEIGHTS).map(|(&c, w)| org_value(c) * w).sum();
    match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        r => char::from_digit(r, 10).unwrap_or('0'),
    }
}

/// USCC check character over characters 1–17: alphabet[(31 − Σ mod 31) mod 31].
fn uscc_check_char(first17: &[char]) -> char {
    let sum: u32 = first17.iter().zip(USCC_WEIGHTS).map(|(&c, w)| uscc_value(c).unwrap_or(0) * w).sum();
    uscc_char((31 - sum % 31) % 31)
}

/// Checks the character class of each USCC position (0-based `index`): 1–2 and 9–16 and 18 are
/// alphabet characters, 3–8 the registering authority's region code (digits), 17 the 组织机构代码
/// check (digit or X).
fn check_uscc_chars(chars: &[char]) -> Result<(), IdError> {
    for (index, &ch) in chars.iter().enumerate() {
        match index {
            2..=7 => {
                digit_value(index, ch)?;
            }
            16 => {
                if !(ch.is_ascii_digit() || ch == 'X') {
                    return Err(invalid(index, ch, CharClass::DigitOrX));
                }
            }
            _ => {
                if uscc_value(ch).is_none() {
                    return Err(invalid(index, ch, CharClass::UsccAlphabet));
                }
            }
        }
    }
    Ok(())
}

/// 统一社会信用代码 (unified social credit code, GB 32100-2015): 18 characters identifying a
/// legal person or other organisation.
///
/// Layout: 1 登记管理部门代码, 2 机构类别代码, 3–8 登记管理机关行政区划码, 9–17 主体标识码
/// (组织机构代码, with its own check at 17), 18 校验码.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uscc(String);

impl Uscc {
    /// Parses a code, accepting surrounding whitespace and lower-case letters.
    pub fn parse(input: &str) -> Result<Uscc, IdError> {
        let chars = normalise(input, 18)?;
        check_uscc_chars(&chars)?;
        // `normalise` guarantees 18 characters, so the fallback is never taken.
        let (&found, first17) = chars.split_last().unwrap_or((&' ', &[]));
        let expected = uscc_check_char(first17);
        // The overall check is reported first: a typo anywhere breaks it, whereas the
        // 组织机构代码 check only covers characters 9–17.
        if expected != found {
            return Err(IdError::BadCheckCharacter { expected, found });
        }
        let org = chars.get(8..16).unwrap_or(&[]);
        let org_expected = org_check_char(org);
        let org_found = chars.get(16).copied().unwrap_or(' ');
        if org_expected != org_found {
            return Err(IdError::BadOrgCodeCheck { expected: org_expected, found: org_found });
        }
        Ok(Uscc(chars.into_iter().collect()))
    }

    /// Completes the first 16 characters into a valid code by computing the 组织机构代码 check
    /// (character 17) and the final check (character 18). Used to generate demo data.
    pub fn complete(first16: &str) -> Result<Uscc, IdError> {
        let mut chars = normalise(first16, 16)?;
        check_uscc_chars(&chars)?;
        let org_check = org_check_char(chars.get(8..16).unwrap_or(&[]));
        chars.push(org_check);
        let check = uscc_check_char(&chars);
        chars.push(check);
        Uscc::parse(&chars.into_iter().collect::<String>())
    }

    /// The full 18-character code.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// 登记管理部门代码 (character 1), e.g. `9` for market regulation (工商), `1` for 机构编制.
    pub fn registration_authority(&self) -> char {
        self.0.chars().next().unwrap_or('0')
    }

    /// 机构类别代码 (character 2).
    pub fn category(&self) -> char {
        self.0.chars().nth(1).unwrap_or('0')
    }

    /// 登记管理机关行政区划码 (characters 3–8, GB/T 2260).
    pub fn region_code(&self) -> &str {
        self.0.get(2..8).unwrap_or("")
    }

    /// 组织机构代码 (characters 9–17, including its check character).
    pub fn org_code(&self) -> &str {
        self.0.get(8..17).unwrap_or("")
    }
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Uscc {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uscc::parse(s)
    }
}

// ---------------------------------------------------------------------------------------------
// 居民身份证号码
// ---------------------------------------------------------------------------------------------

/// GB 11643 weights for characters 1–17.
const RESIDENT_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character indexed by Σ mod 11.
const RESIDENT_CHECK: &str = "10X98765432";

fn resident_check_char(digits: &[u32]) -> char {
    let sum: u32 = digits.iter().zip(RESIDENT_WEIGHTS).map(|(&d, w)| d * w).sum();
    RESIDENT_CHECK.chars().nth((sum % 11) as usize).unwrap_or('0')
}

/// Checks that characters 1–17 are digits and returns their values.
fn resident_digits(first17: &[char]) -> Result<Vec<u32>, IdError> {
    first17.iter().enumerate().map(|(i, &c)| digit_value(i, c)).collect()
}

/// Reads the YYYYMMDD birth date from the digit values (characters 7–14).
fn resident_birth_date(digits: &[u32]) -> Result<NaiveDate, IdError> {
    let part = digits.get(6..14).unwrap_or(&[]);
    let number = |range: std::ops::Range<usize>| -> u32 {
        part.get(range).unwrap_or(&[]).iter().fold(0, |acc, d| acc * 10 + d)
    };
    let (year, month, day) = (number(0..4), number(4..6), number(6..8));
    let date =
        i32::try_from(year).ok().filter(|&y| y >= 1900).and_then(|y| NaiveDate::from_ymd_opt(y, month, day));
    date.ok_or_else(|| IdError::InvalidBirthDate {
        digits: part.iter().filter_map(|&d| char::from_digit(d, 10)).collect(),
    })
}

/// 居民身份证号码 (citizen identity number, GB 11643-1999): 6-digit region of first
/// registration, YYYYMMDD birth date, 3-digit sequence (odd for men) and a check character.
///
/// `Debug` is masked and there is no `Display`: see the module documentation.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResidentId {
    value: String,
    birth_date: NaiveDate,
}

impl ResidentId {
    /// Parses a number, accepting surrounding whitespace and a lower-case `x`.
    pub fn parse(input: &str) -> Result<ResidentId, IdError> {
        let chars = normalise(input, 18)?;
        // `normalise` guarantees 18 characters, so the fallback is never taken.
        let (&found, first17) = chars.split_last().unwrap_or((&' ', &[]));
        let digits = resident_digits(first17)?;
        if !(found.is_ascii_digit() || found == 'X') {
            return Err(invalid(17, found, CharClass::DigitOrX));
        }
        // The birth date is checked before the check character: "this date does not exist" is
        // more useful to the user than a check mismatch.
        let birth_date = resident_birth_date(&digits)?;
        let expected = resident_check_char(&digits);
        if expected != found {
            return Err(IdError::BadCheckCharacter { expected, found });
        }
        Ok(ResidentId { value: chars.into_iter().collect(), birth_date })
    }

    /// Completes the first 17 digits into a valid number by computing the check character.
    pub fn complete(first17: &str) -> Result<ResidentId, IdError> {
        let chars = normalise(first17, 17)?;
        let digits = resident_digits(&chars)?;
        resident_birth_date(&digits)?;
        let mut full: String = chars.into_iter().collect();
        full.push(resident_check_char(&digits));
        ResidentId::parse(&full)
    }

    /// The full 18-character number (personal information: handle with care).
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// Date of birth (characters 7–14).
    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }

    /// Region code of first registration (characters 1–6, GB/T 2260).
    pub fn region_code(&self) -> &str {
        self.value.get(0..6).unwrap_or("")
    }

    /// GB 11643: an odd sequence number (character 17) is assigned to men.
    pub fn is_male(&self) -> bool {
        self.value.chars().nth(16).and_then(|c| c.to_digit(10)).is_some_and(|d| d % 2 == 1)
    }

    /// Masked form for display: first 4, ten `*`, last 4, e.g. `5301**********1234`.
    pub fn masked(&self) -> String {
        let head: String = self.value.chars().take(4).collect();
        let tail: String = self.value.chars().skip(14).collect();
        format!("{head}**********{tail}")
    }
}

impl fmt::Debug for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ResidentId").field(&self.masked()).finish()
    }
}

impl FromStr for ResidentId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ResidentId::parse(s)
    }
}

// ---------------------------------------------------------------------------------------------
// 手机号码
// ---------------------------------------------------------------------------------------------

/// Mainland China mobile number: 11 digits matching `^1[3-9]\d{9}$`.
///
/// `Debug` is masked and there is no `Display`: see the module documentation.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mobile(String);

impl Mobile {
    /// Parses a number, accepting surrounding whitespace.
    pub fn parse(input: &str) -> Result<Mobile, IdError> {
        let chars = normalise(input, 11)?;
        for (index, &ch) in chars.iter().enumerate() {
            digit_value(index, ch)?;
        }
        let prefix: String = chars.iter().take(2).collect();
        let ok = matches!(chars.as_slice(), ['1', '3'..='9', ..]);
        if !ok {
            return Err(IdError::WrongPrefix { prefix });
        }
        Ok(Mobile(chars.into_iter().collect()))
    }

    /// The full 11-digit number (personal information: handle with care).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Masked form for display: `138****5678`.
    pub fn masked(&self) -> String {
        let head: String = self.0.chars().take(3).collect();
        let tail: String = self.0.chars().skip(7).collect();
        format!("{head}****{tail}")
    }
}

impl fmt::Debug for Mobile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Mobile").field(&self.masked()).finish()
    }
}

impl FromStr for Mobile {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Mobile::parse(s)
    }
}

// ---------------------------------------------------------------------------------------------
// Fast validity checks for data profiling
// ---------------------------------------------------------------------------------------------
//
// Profiling checks millions of cells; `parse` allocates and reports *why* a value is wrong, which
// a profile does not need. These answer the same yes/no (a property test holds them equal to
// `parse(..).is_ok()`) on bytes, without allocating.

/// USCC alphabet value of an ASCII byte (upper or lower case), or 255.
const USCC_VALUE: [u8; 128] = {
    let mut t = [255u8; 128];
    let alphabet = USCC_ALPHABET.as_bytes();
    let mut i = 0;
    while i < alphabet.len() {
        t[alphabet[i] as usize] = i as u8;
        if alphabet[i].is_ascii_uppercase() {
            t[alphabet[i].to_ascii_lowercase() as usize] = i as u8;
        }
        i += 1;
    }
    t
};

fn trimmed_upper<const N: usize>(input: &str) -> Option<[u8; N]> {
    let b = input.trim().as_bytes();
    if b.len() != N {
        return None;
    }
    let mut out = [0u8; N];
    for (o, c) in out.iter_mut().zip(b) {
        *o = c.to_ascii_uppercase();
    }
    Some(out)
}

impl Uscc {
    /// Whether `input` is a valid code (same answer as `parse(input).is_ok()`, without allocating).
    pub fn is_valid(input: &str) -> bool {
        let Some(b) = trimmed_upper::<18>(input) else { return false };
        let mut sum = 0u32;
        for (i, &c) in b.iter().enumerate() {
            let ok = match i {
                2..=7 => c.is_ascii_digit(),
                16 => c.is_ascii_digit() || c == b'X',
                _ => c < 128 && USCC_VALUE[c as usize] != 255,
            };
            if !ok {
                return false;
            }
            if let Some(w) = USCC_WEIGHTS.get(i) {
                let v = if c < 128 { USCC_VALUE[c as usize] } else { 255 };
                // Position 17 may be 'X', which is not in the USCC alphabet: parse counts it as 0.
                sum += if v == 255 { 0 } else { u32::from(v) } * w;
            }
        }
        let expected = (31 - sum % 31) % 31;
        if u32::from(USCC_VALUE[b[17] as usize & 127]) != expected || b[17] >= 128 {
            return false;
        }
        let mut org = 0u32;
        for (c, w) in b[8..16].iter().zip(ORG_WEIGHTS) {
            let v = if c.is_ascii_digit() {
                u32::from(c - b'0')
            } else if c.is_ascii_uppercase() {
                u32::from(c - b'A') + 10
            } else {
                0
            };
            org += v * w;
        }
        let org_check = match 11 - org % 11 {
            10 => b'X',
            11 => b'0',
            r => b'0' + r as u8,
        };
        b[16] == org_check
    }
}

impl ResidentId {
    /// Whether `input` is a valid number (same answer as `parse(input).is_ok()`, without allocating).
    pub fn is_valid(input: &str) -> bool {
        let Some(b) = trimmed_upper::<18>(input) else { return false };
        let mut sum = 0u32;
        for (c, w) in b[..17].iter().zip(RESIDENT_WEIGHTS) {
            if !c.is_ascii_digit() {
                return false;
            }
            sum += u32::from(c - b'0') * w;
        }
        let check = RESIDENT_CHECK.as_bytes()[(sum % 11) as usize];
        if b[17] != check {
            return false;
        }
        let num = |r: std::ops::Range<usize>| b[r].iter().fold(0u32, |a, c| a * 10 + u32::from(c - b'0'));
        let (year, month, day) = (num(6..10), num(10..12), num(12..14));
        year >= 1900 && NaiveDate::from_ymd_opt(year as i32, month, day).is_some()
    }
}

impl Mobile {
    /// Whether `input` is a valid number (same answer as `parse(input).is_ok()`, without allocating).
    pub fn is_valid(input: &str) -> bool {
        let Some(b) = trimmed_upper::<11>(input) else { return false };
        b.iter().all(u8::is_ascii_digit) && b[0] == b'1' && (b'3'..=b'9').contains(&b[1])
    }
}

#[cfg(test)]
#[path = "ids_test.rs"]
mod tests;
