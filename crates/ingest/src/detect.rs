//! Detection of the source format (from magic bytes, then the file name), of a CSV file's text
//! encoding and of its delimiter, all from the first bytes of the file.

/// Kind of source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceFormat {
    /// Comma/tab/semicolon/pipe separated text with a header row.
    Csv,
    /// Office Open XML workbook.
    Xlsx,
    /// Apache Parquet.
    Parquet,
    /// One JSON object per line.
    JsonLines,
}

impl SourceFormat {
    /// Detects the format. Magic bytes win over the name (`PK\x03\x04` → XLSX, `PAR1` → Parquet,
    /// a first non-blank character `{` → JSON Lines); then the extension; CSV otherwise.
    pub fn detect(file_name: &str, first_bytes: &[u8]) -> SourceFormat {
        if first_bytes.starts_with(b"PK\x03\x04") {
            return SourceFormat::Xlsx;
        }
        if first_bytes.starts_with(b"PAR1") {
            return SourceFormat::Parquet;
        }
        let text = first_bytes.strip_prefix(UTF8_BOM).unwrap_or(first_bytes);
        if text.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
            return SourceFormat::JsonLines;
        }
        let lower = file_name.to_ascii_lowercase();
        if lower.ends_with(".xlsx") {
            SourceFormat::Xlsx
        } else if lower.ends_with(".parquet") {
            SourceFormat::Parquet
        } else if lower.ends_with(".jsonl") || lower.ends_with(".ndjson") {
            SourceFormat::JsonLines
        } else {
            SourceFormat::Csv
        }
    }

    /// Stable code, for the API.
    pub fn code(self) -> &'static str {
        match self {
            SourceFormat::Csv => "csv",
            SourceFormat::Xlsx => "xlsx",
            SourceFormat::Parquet => "parquet",
            SourceFormat::JsonLines => "jsonl",
        }
    }
}

/// The UTF-8 byte order mark.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Text encoding of a CSV or JSON Lines source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextEncoding {
    /// UTF-8 (with or without BOM).
    Utf8,
    /// GB18030, which includes GBK and GB2312.
    Gb18030,
}

impl TextEncoding {
    /// Detects the encoding of a file from its first bytes: valid UTF-8 (an incomplete sequence
    /// cut at the end of the sample is allowed) means UTF-8, anything else GB18030. Pure-ASCII
    /// samples are UTF-8; a later invalid byte is then reported as undecodable, not re-guessed.
    pub fn detect(first_bytes: &[u8]) -> TextEncoding {
        match std::str::from_utf8(first_bytes) {
            Ok(_) => TextEncoding::Utf8,
            // `error_len() == None`: the sample ends inside a character, which is fine.
            Err(e) if e.error_len().is_none() => TextEncoding::Utf8,
            Err(_) => TextEncoding::Gb18030,
        }
    }

    /// Stable code, for the API.
    pub fn code(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "utf-8",
            TextEncoding::Gb18030 => "gb18030",
        }
    }
}

/// Whether text is UTF-16: a UTF-16 byte order mark, or NUL bytes in at least a quarter of the
/// first bytes (ASCII in UTF-16 alternates with zeros; UTF-8 and GBK text has no NUL).
pub fn looks_utf16(first_bytes: &[u8]) -> bool {
    if first_bytes.starts_with(b"\xFF\xFE") || first_bytes.starts_with(b"\xFE\xFF") {
        return true;
    }
    let sample = &first_bytes[..first_bytes.len().min(1024)];
    sample.len() >= 4 && sample.iter().filter(|&&b| b == 0).count() * 4 >= sample.len()
}

/// Candidate delimiters, in order of preference on ties.
pub const DELIMITERS: [u8; 4] = [b',', b'\t', b';', b'|'];

/// Detects the delimiter from the first (up to 20) complete lines of a sample: the candidate that
/// occurs (outside double quotes) the same non-zero number of times on the most lines, preferring
/// more fields. Falls back to the comma.
pub fn detect_delimiter(sample: &[u8]) -> u8 {
    let lines: Vec<&[u8]> = sample.split(|&b| b == b'\n').take(21).collect();
    // The last piece may be a cut line unless the sample held fewer lines.
    let complete = if lines.len() > 1 { &lines[..lines.len() - 1] } else { &lines[..] };
    let mut best = (b',', 0usize, 0usize);
    for &candidate in &DELIMITERS {
        let counts: Vec<usize> =
            complete.iter().filter(|l| !l.is_empty()).map(|l| count_outside_quotes(l, candidate)).collect();
        let Some(&first) = counts.first() else { continue };
        if first == 0 {
            continue;
        }
        let consistent = counts.iter().filter(|&&c| c == first).count();
        if (consistent, first) > (best.1, best.2) {
            best = (candidate, consistent, first);
        }
    }
    best.0
}

fn count_outside_quotes(line: &[u8], delimiter: u8) -> usize {
    let mut quoted = false;
    let mut count = 0;
    for &b in line {
        if b == b'"' {
            quoted = !quoted;
        } else if b == delimiter && !quoted {
            count += 1;
        }
    }
    count
}

#[cfg(test)]
#[path = "detect_test.rs"]
mod tests;
