//! Unit tests of `personnel`.
#![allow(clippy::unwrap_used)]
use super::*;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn complete() -> PersonnelRecord {
    PersonnelRecord {
        active: true,
        identity: IdentityStatus::Verified,
        filing: FilingStatus::Approved,
        agreement: Some(ConfidentialityAgreement::new(d("2026-01-05"), Some(d("2027-01-04"))).unwrap()),
    }
}

#[test]
fn complete_personnel_may_access_data() {
    assert!(data_access_gaps(&complete(), d("2026-11-27")).is_empty());
}

#[test]
fn each_missing_requirement_is_named() {
    let today = d("2026-11-27");
    type Case = (fn(&mut PersonnelRecord), AccessGap);
    let cases: Vec<Case> = vec![
        (|p| p.active = false, AccessGap::Deactivated),
        (|p| p.identity = IdentityStatus::Unverified, AccessGap::IdentityNotVerified),
        (|p| p.identity = IdentityStatus::Failed, AccessGap::IdentityNotVerified),
        (|p| p.filing = FilingStatus::Pending, AccessGap::FilingNotApproved),
        (|p| p.filing = FilingStatus::Returned, AccessGap::FilingNotApproved),
        (|p| p.agreement = None, AccessGap::NoCurrentAgreement),
    ];
    for (change, gap) in cases {
        let mut p = complete();
        change(&mut p);
        assert_eq!(data_access_gaps(&p, today), vec![gap]);
    }
}

#[test]
fn agreement_currency_is_inclusive_and_expiry_checked() {
    let a = ConfidentialityAgreement::new(d("2026-01-05"), Some(d("2027-01-04"))).unwrap();
    assert!(!a.is_current(d("2026-01-04")), "not yet signed");
    assert!(a.is_current(d("2026-01-05")));
    assert!(a.is_current(d("2027-01-04")), "last day still valid");
    assert!(!a.is_current(d("2027-01-05")), "expired");
    assert!(ConfidentialityAgreement::new(d("2026-01-05"), Some(d("2026-01-05"))).is_err());
}

#[test]
fn password_policy() {
    assert_eq!(check_password_policy("Ab1!", "x"), Err(PersonnelError::PasswordTooShort));
    assert_eq!(check_password_policy("abcdefghijk", "x"), Err(PersonnelError::PasswordTooSimple));
    assert_eq!(
        check_password_policy("Zhangsan2026!", "zhangsan"),
        Err(PersonnelError::PasswordContainsUsername)
    );
    assert_eq!(check_password_policy("Yunnan-2026-pw", "zhangsan"), Ok(()));
}

#[test]
fn names_and_usernames() {
    assert!(PersonName::parse("张三").is_ok());
    assert!(PersonName::parse("张").is_err());
    assert!(PersonName::parse("张3").is_err());
    assert!(PersonName::parse("<b>张三</b>").is_err());
    assert_eq!(Username::parse(" Km.Clerk ").unwrap().as_str(), "km.clerk");
    assert!(Username::parse("1abc").is_err());
    assert!(Username::parse("ab").is_err());
    assert!(Username::parse("张三").is_err());
}
