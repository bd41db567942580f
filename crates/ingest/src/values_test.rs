#![allow(clippy::unwrap_used)]
use super::*;

#[test]
fn dates_and_datetimes() {
    let d = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
    for text in ["2024-02-29", "2024/2/29", "20240229", "2024年2月29日", " 2024-02-29 "] {
        assert_eq!(parse_date(text), Some(d), "{text}");
    }
    assert_eq!(parse_date("2023-02-29"), None);
    assert_eq!(parse_date("abc"), None);
    assert_eq!(days_to_date(date_to_days(d)), Some(d));
    assert_eq!(date_to_days(NaiveDate::from_ymd_opt(1970, 1, 2).unwrap()), 1);
    assert_eq!(parse_datetime("1970-01-01 00:00:01"), Some(1000));
    assert_eq!(parse_datetime("1970-01-01T00:01:00.5"), Some(60_500));
    assert_eq!(parse_datetime("1970-01-02"), Some(86_400_000));
    assert_eq!(parse_datetime("1970-01-01 25:00"), None);
}

#[test]
fn inference() {
    let infer = |values: &[&str]| {
        let mut inf = KindInference::default();
        values.iter().for_each(|v| inf.observe(v));
        (inf.kind(), inf.identifier())
    };
    assert_eq!(infer(&["1", "-2", "30"]).0, ColumnKind::Integer);
    assert_eq!(infer(&["1", "2.5"]).0, ColumnKind::Decimal);
    assert_eq!(infer(&["007", "12"]).0, ColumnKind::Text);
    assert_eq!(infer(&["2024-01-01", "2024/1/2"]).0, ColumnKind::Date);
    assert_eq!(infer(&["2024-01-01 10:00:00"]).0, ColumnKind::DateTime);
    assert_eq!(infer(&["是", "否"]).0, ColumnKind::Boolean);
    assert_eq!(infer(&["1", "0"]).0, ColumnKind::Integer);
    assert_eq!(infer(&["13800138000", "13900139000"]), (ColumnKind::Text, Some(IdentifierKind::Mobile)));
    assert_eq!(
        infer(&["11010519491231002X", "110105194912310029"]),
        (ColumnKind::Text, Some(IdentifierKind::ResidentId))
    );
    assert_eq!(infer(&[]).0, ColumnKind::Text);
}
