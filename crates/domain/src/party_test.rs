//! Unit tests of `party`.
#![allow(clippy::unwrap_used)]
use super::*;

#[test]
fn codes_round_trip() {
    for t in OrgType::ALL {
        assert_eq!(OrgType::parse(t.code()).unwrap(), t);
    }
    for r in Role::ALL {
        assert_eq!(Role::parse(r.code()).unwrap(), r);
    }
    assert!(OrgType::parse("bank").is_err());
}

#[test]
fn public_utility_is_a_data_provider() {
    assert!(OrgType::PublicUtility.is_data_provider());
    assert!(OrgType::DataProvider.is_data_provider());
    assert!(!OrgType::Operator.is_data_provider());
}

#[test]
fn role_lists_parse_and_second_factor_rule() {
    let roles = RoleSet::parse_list("head, clerk").unwrap();
    assert_eq!(roles.to_list(), "clerk,head");
    assert!(!roles.requires_second_factor());
    assert!(RoleSet::parse_list("reviewer").unwrap().requires_second_factor());
    assert!(RoleSet::parse_list("admin").unwrap().requires_second_factor());
    assert!(RoleSet::parse_list("clerk,boss").is_err());
}
