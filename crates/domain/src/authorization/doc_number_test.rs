//! Unit tests of `doc_number`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

#[test]
fn formats_and_parses() {
    let n = DocNumber::new("云数运", 2026, 12).unwrap();
    assert_eq!(n.to_string(), "云数运〔2026〕12号");
    assert_eq!(DocNumber::parse("云数运〔2026〕12号").unwrap(), n);
    for typed in ["云数运[2026]12号", "云数运［2026］12号", "云数运（2026）12号", " 云数运〔2026〕12号 "]
    {
        assert_eq!(DocNumber::parse(typed).unwrap(), n, "{typed}");
    }
    assert_eq!((n.prefix(), n.year(), n.serial()), ("云数运", 2026, 12));
}

#[test]
fn rejects_malformed_numbers() {
    let cases = [
        ("云数运2026 12号", DocNumberError::Malformed),
        ("云数运〔2026〕12", DocNumberError::Malformed),
        ("〔2026〕12号", DocNumberError::BadPrefix),
        ("云数运〔26〕12号", DocNumberError::BadYear),
        ("云数运〔2026〕012号", DocNumberError::BadSerial),
        ("云数运〔2026〕0号", DocNumberError::BadSerial),
        ("云数运〔2026〕号", DocNumberError::BadSerial),
    ];
    for (text, expected) in cases {
        let err = DocNumber::parse(text).unwrap_err();
        assert_eq!(err, expected, "{text}");
        assert!(err.code().starts_with("doc_number."));
        assert!(!err.message_zh().is_empty());
    }
}
