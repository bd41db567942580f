//! Parsing of cell text into typed values, and type inference over a sample.
//!
//! The parsers are hand-written for the common forms (no allocation per cell): integers and
//! decimals as Rust parses them (surrounding spaces ignored), dates as `YYYY-MM-DD`,
//! `YYYY/MM/DD`, `YYYYMMDD` or `YYYY年M月D日`, date-times as a date followed by `T` or a space
//! and `HH:MM[:SS[.fff]]`, booleans as true/false, 是/否, Y/N, 1/0.

use chrono::{Datelike, NaiveDate};

use crate::schema::{ColumnKind, IdentifierKind};

/// Days from 0001-01-01 (chrono's CE day 1) to 1970-01-01.
const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// Days since 1970-01-01 (Arrow `Date32`) of a date.
pub fn date_to_days(date: NaiveDate) -> i32 {
    date.num_days_from_ce() - UNIX_EPOCH_DAYS_FROM_CE
}

/// The date of an Arrow `Date32` value.
pub fn days_to_date(days: i32) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(days.checked_add(UNIX_EPOCH_DAYS_FROM_CE)?)
}

/// Parses an integer.
pub fn parse_integer(text: &str) -> Option<i64> {
    text.trim().parse().ok()
}

/// Parses a decimal (finite only).
pub fn parse_decimal(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Parses a boolean.
pub fn parse_boolean(text: &str) -> Option<bool> {
    match text.trim() {
        "true" | "TRUE" | "True" | "是" | "Y" | "y" | "1" => Some(true),
        "false" | "FALSE" | "False" | "否" | "N" | "n" | "0" => Some(false),
        _ => None,
    }
}

fn digits(bytes: &[u8]) -> Option<u32> {
    if bytes.is_empty() || bytes.len() > 4 {
        return None;
    }
    bytes.iter().try_fold(0u32, |acc, &b| b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0')))
}

/// Parses a date (see the module docs for the forms).
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    let b = text.as_bytes();
    let (y, m, d) = if b.len() == 8 && b.iter().all(u8::is_ascii_digit) {
        (digits(&b[0..4])?, digits(&b[4..6])?, digits(&b[6..8])?)
    } else if let Some(rest) = text.strip_suffix('日') {
        let (y, rest) = rest.split_once('年')?;
        let (m, d) = rest.split_once('月')?;
        (digits(y.as_bytes())?, digits(m.as_bytes())?, digits(d.as_bytes())?)
    } else {
        let sep = *b.get(4)?;
        if sep != b'-' && sep != b'/' {
            return None;
        }
        let mut parts = text.split(sep as char);
        let y = digits(parts.next()?.as_bytes())?;
        let m = digits(parts.next()?.as_bytes())?;
        let d = digits(parts.next()?.as_bytes())?;
        if parts.next().is_some() {
            return None;
        }
        (y, m, d)
    };
    if y < 1000 || m > 12 || d > 31 {
        return None;
    }
    NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)
}

/// Parses a date-time to milliseconds since 1970-01-01 00:00 (wall clock, no zone). A bare date
/// is midnight.
pub fn parse_datetime(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date_part, time_part) = match text.find(['T', ' ']) {
        Some(i) => (&text[..i], Some(text[i + 1..].trim())),
        None => (text, None),
    };
    let date = parse_date(date_part)?;
    let mut millis = i64::from(date_to_days(date)) * 86_400_000;
    if let Some(time) = time_part {
        let time = time.strip_suffix('Z').unwrap_or(time);
        let (hms, fraction) = match time.split_once('.') {
            Some((hms, f)) => (hms, Some(f)),
            None => (time, None),
        };
        let mut parts = hms.split(':');
        let h = digits(parts.next()?.as_bytes())?;
        let m = digits(parts.next()?.as_bytes())?;
        let s = match parts.next() {
            Some(s) => digits(s.as_bytes())?,
            None => 0,
        };
        if parts.next().is_some() || h > 23 || m > 59 || s > 60 {
            return None;
        }
        let ms = match fraction {
            Some(f) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => {
                let f3: String = f.chars().chain("00".chars()).take(3).collect();
                f3.parse::<i64>().ok()?
            }
            Some(_) => return None,
            None => 0,
        };
        millis += i64::from(h * 3600 + m * 60 + s) * 1000 + ms;
    }
    Some(millis)
}

/// Whether a value parses as `kind`.
pub fn parses_as(kind: ColumnKind, text: &str) -> bool {
    match kind {
        ColumnKind::Text => true,
        ColumnKind::Integer => parse_integer(text).is_some(),
        ColumnKind::Decimal => parse_decimal(text).is_some(),
        ColumnKind::Date => parse_date(text).is_some(),
        ColumnKind::DateTime => parse_datetime(text).is_some(),
        ColumnKind::Boolean => parse_boolean(text).is_some(),
    }
}

/// Infers the kind of one column from its non-empty sample values, and whether it looks like an
/// identifier column.
///
/// Preference: integer, decimal, date, date-time, boolean (only words, not 1/0), text. Values
/// with a leading zero, more than 15 digits, or the shape of an identifier keep the column text
/// (codes are not numbers).
#[derive(Debug, Clone)]
pub struct KindInference {
    integer: bool,
    decimal: bool,
    date: bool,
    datetime: bool,
    boolean: bool,
    non_null: usize,
    shapes: [usize; 3],
}

impl Default for KindInference {
    fn default() -> Self {
        KindInference {
            integer: true,
            decimal: true,
            date: true,
            datetime: true,
            boolean: true,
            non_null: 0,
            shapes: [0; 3],
        }
    }
}

impl KindInference {
    /// Observes one non-empty value.
    pub fn observe(&mut self, text: &str) {
        self.non_null += 1;
        let trimmed = text.trim();
        let code_like = (trimmed.len() > 1 && trimmed.starts_with('0') && !trimmed.starts_with("0."))
            || trimmed.bytes().filter(u8::is_ascii_digit).count() > 15;
        if let Some(shape) = IdentifierKind::from_shape(trimmed) {
            self.shapes[shape_index(shape)] += 1;
        }
        if self.integer && (code_like || parse_integer(trimmed).is_none()) {
            self.integer = false;
        }
        if self.decimal && (code_like || parse_decimal(trimmed).is_none()) {
            self.decimal = false;
        }
        if self.date && parse_date(trimmed).is_none() {
            self.date = false;
        }
        if self.datetime && parse_datetime(trimmed).is_none() {
            self.datetime = false;
        }
        if self.boolean && (parse_boolean(trimmed).is_none() || matches!(trimmed, "1" | "0")) {
            self.boolean = false;
        }
    }

    /// The identifier kind most values are shaped like (≥ 90 % of non-empty values), if any.
    pub fn identifier(&self) -> Option<IdentifierKind> {
        let kinds = [IdentifierKind::ResidentId, IdentifierKind::Uscc, IdentifierKind::Mobile];
        kinds
            .into_iter()
            .find(|&k| self.non_null > 0 && self.shapes[shape_index(k)] * 10 >= self.non_null * 9)
    }

    /// The inferred kind, `None` when no value was observed.
    pub fn observed_kind(&self) -> Option<ColumnKind> {
        (self.non_null > 0).then(|| self.kind())
    }

    /// The inferred kind (text when no value was observed).
    pub fn kind(&self) -> ColumnKind {
        if self.non_null == 0 || self.identifier().is_some() {
            ColumnKind::Text
        } else if self.integer {
            ColumnKind::Integer
        } else if self.decimal {
            ColumnKind::Decimal
        } else if self.date {
            ColumnKind::Date
        } else if self.datetime {
            ColumnKind::DateTime
        } else if self.boolean {
            ColumnKind::Boolean
        } else {
            ColumnKind::Text
        }
    }
}

fn shape_index(kind: IdentifierKind) -> usize {
    match kind {
        IdentifierKind::ResidentId => 0,
        IdentifierKind::Uscc => 1,
        IdentifierKind::Mobile => 2,
    }
}

#[cfg(test)]
#[path = "values_test.rs"]
mod tests;
