//! Unit tests of `filing`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::authorization::fixtures::*;

#[test]
fn provincial_level_needs_no_filing() {
    assert_eq!(Filing::open(Level::Province, d(2026, 9, 15), &cal()), Filing::NOT_REQUIRED);
    assert!(!Filing::NOT_REQUIRED.is_overdue(d(2030, 1, 1)));
}

#[test]
fn filing_dates_must_be_plausible() {
    let mut f = Filing::open(Level::Prefecture, d(2026, 9, 15), &cal());
    assert_eq!(f.record_filed(d(2026, 9, 14), d(2026, 9, 20)), Err(FilingError::BadDate));
    assert_eq!(f.record_filed(d(2026, 9, 21), d(2026, 9, 20)), Err(FilingError::BadDate));
    f.record_filed(d(2026, 9, 16), d(2026, 9, 20)).unwrap();
    assert_eq!(f.record_filed(d(2026, 9, 16), d(2026, 9, 20)), Err(FilingError::NotDue));
}

#[test]
fn deadline_into_an_unpublished_year_is_provisional_and_recomputed() {
    let f = Filing::open(Level::Prefecture, d(2026, 12, 15), &cal());
    assert!(f.provisional);
    assert_eq!(f.recompute(&cal()), f);
}

#[test]
fn restore_checks_consistency() {
    let f = Filing::open(Level::County, d(2026, 9, 15), &cal());
    assert_eq!(Filing::restore(f.status, f.trigger, f.due, f.provisional, f.filed_on), Ok(f));
    assert_eq!(
        Filing::restore(FilingStatus::Filed, f.trigger, f.due, false, None),
        Err(FilingError::Inconsistent)
    );
    for s in FilingStatus::ALL {
        assert_eq!(FilingStatus::parse(s.code()), Some(*s));
    }
}
