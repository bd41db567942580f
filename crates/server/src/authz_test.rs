//! Unit tests of `authz`.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;

fn rc(s: &str) -> RegionCode {
    RegionCode::parse(s).unwrap()
}

fn authz() -> Authz {
    Authz::new(std::sync::Arc::new(RegionTree::yunnan().unwrap())).unwrap()
}

fn admin(org_type: &str, org_id: i64, region: &str) -> PolicyPrincipal {
    PolicyPrincipal {
        user_id: Some(100 + org_id),
        org_id: Some(org_id),
        org_type: org_type.into(),
        roles: vec!["admin".into()],
        region: Some(rc(region)),
        active: true,
    }
}

#[test]
fn the_policy_parses() {
    authz();
}

#[test]
fn a_prefecture_authority_sees_its_counties_but_never_a_sibling_prefecture() {
    let a = authz();
    let kunming = admin("data_authority", 1, "530100");
    let in_wuhua = PolicyResource::Org { id: 7, region: rc("530102") };
    let in_dali = PolicyResource::Org { id: 8, region: rc("532900") };
    let in_dali_county = PolicyResource::Org { id: 9, region: rc("532901") };
    assert!(a.is_allowed(&kunming, "org.view", &in_wuhua).unwrap());
    assert!(!a.is_allowed(&kunming, "org.view", &in_dali).unwrap());
    assert!(!a.is_allowed(&kunming, "org.view", &in_dali_county).unwrap());
    let province = PolicyResource::Org { id: 10, region: rc("530000") };
    assert!(!a.is_allowed(&kunming, "org.view", &province).unwrap(), "not upwards either");
    let bureau = admin("data_authority", 2, "530000");
    assert!(a.is_allowed(&bureau, "org.view", &in_dali_county).unwrap());
}

#[test]
fn deactivated_and_anonymous_get_nothing_but_public_pages() {
    let a = authz();
    let mut bureau = admin("data_authority", 2, "530000");
    bureau.active = false;
    let r = PolicyResource::Org { id: 2, region: rc("530000") };
    assert!(!a.is_allowed(&bureau, "org.view", &r).unwrap());
    assert!(!a.is_allowed(&bureau, "desk.view", &r).unwrap());
    assert!(a.is_allowed(&bureau, "public.view", &PolicyResource::Platform).unwrap());
    let anon = PolicyPrincipal::anonymous();
    assert!(!a.is_allowed(&anon, "desk.view", &PolicyResource::Platform).unwrap());
    assert!(a.is_allowed(&anon, "public.view", &PolicyResource::Platform).unwrap());
}

#[test]
fn unknown_actions_are_denied() {
    let a = authz();
    let bureau = admin("data_authority", 2, "530000");
    let r = PolicyResource::Org { id: 2, region: rc("530000") };
    assert!(!a.is_allowed(&bureau, "org.destroy_everything", &r).unwrap());
}
