//! The canonical record encoding: versioned, injective, and pinned byte for byte.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sm3::{Digest, Sm3};
use yunshu_audit::{AuditKey, AuditRecord, GENESIS, Hash, Tag, canonical_encoding, chain_hash};

fn base() -> AuditRecord {
    AuditRecord {
        seq: 1,
        at: "2026-11-27T08:00:00.123Z".to_owned(),
        operation_id: "op-1".to_owned(),
        user_id: Some("u1".to_owned()),
        org_id: None,
        role: Some("Operator".to_owned()),
        action: "user.create".to_owned(),
        object_type: "user".to_owned(),
        object_id: "u2".to_owned(),
        result: "ok".to_owned(),
        source_ip: None,
        summary: "{}".to_owned(),
    }
}

#[test]
fn none_and_empty_string_encode_differently() {
    let none = base();
    let mut empty = base();
    empty.org_id = Some(String::new());
    assert_ne!(canonical_encoding(&none), canonical_encoding(&empty));
    assert_ne!(chain_hash(&GENESIS, &none), chain_hash(&GENESIS, &empty));
}

#[test]
fn field_boundary_shift_encodes_differently() {
    let mut left = base();
    left.object_type = "ab".to_owned();
    left.object_id = "c".to_owned();
    let mut right = base();
    right.object_type = "a".to_owned();
    right.object_id = "bc".to_owned();
    assert_ne!(canonical_encoding(&left), canonical_encoding(&right));
}

#[test]
fn boundary_shift_between_optional_fields_encodes_differently() {
    let mut left = base();
    left.user_id = Some("ab".to_owned());
    left.org_id = Some("c".to_owned());
    let mut right = base();
    right.user_id = Some("a".to_owned());
    right.org_id = Some("bc".to_owned());
    assert_ne!(canonical_encoding(&left), canonical_encoding(&right));
    // The presence byte of a missing field cannot pass for data of a present one.
    let mut shifted = base();
    shifted.user_id = None;
    shifted.org_id = Some("u1".to_owned());
    assert_ne!(canonical_encoding(&base()), canonical_encoding(&shifted));
}

#[test]
fn every_field_changes_the_encoding() {
    let b = base();
    let edits: Vec<fn(&mut AuditRecord)> = vec![
        |r| r.seq = 2,
        |r| r.at.push('0'),
        |r| r.operation_id.push('x'),
        |r| r.user_id = None,
        |r| r.org_id = Some("o".to_owned()),
        |r| r.role = None,
        |r| r.action.push('x'),
        |r| r.object_type.push('x'),
        |r| r.object_id.push('x'),
        |r| r.result = "denied".to_owned(),
        |r| r.source_ip = Some("10.0.0.1".to_owned()),
        |r| r.summary = "{ }".to_owned(),
    ];
    for (i, edit) in edits.iter().enumerate() {
        let mut r = b.clone();
        edit(&mut r);
        assert_ne!(canonical_encoding(&r), canonical_encoding(&b), "edit {i}");
    }
}

#[test]
fn encoding_of_a_sample_record_is_pinned() {
    // Every stored hash depends on these bytes: changing them needs a new version tag.
    let expected = concat!(
        "5953415544495431", // "YSAUDIT1"
        "00000008",
        "0000000000000001", // seq
        "00000018",
        "323032362d31312d32375430383a30303a30302e3132335a", // at
        "00000004",
        "6f702d31", // operation_id
        "01",
        "00000002",
        "7531", // user_id Some("u1")
        "00",   // org_id None
        "01",
        "00000008",
        "4f70657261746f72", // role Some("Operator")
        "0000000b",
        "757365722e637265617465", // action
        "00000004",
        "75736572", // object_type
        "00000002",
        "7532", // object_id
        "00000002",
        "6f6b", // result
        "00",   // source_ip None
        "00000002",
        "7b7d", // summary
    );
    assert_eq!(hex::encode(canonical_encoding(&base())), expected);
}

#[test]
fn chain_hash_is_sm3_of_prev_hash_then_encoding() {
    let prev = Hash([0x5a; 32]);
    let mut h = Sm3::new();
    h.update(prev.0);
    h.update(canonical_encoding(&base()));
    let expected: [u8; 32] = h.finalize().into();
    assert_eq!(chain_hash(&prev, &base()), Hash(expected));
    let sealed = AuditKey::generate().unwrap().seal(&prev, base());
    assert_eq!(sealed.hash, Hash(expected));
    assert_eq!(sealed.prev_hash, prev);
}

#[test]
fn sm3_matches_the_standard_test_vector() {
    // GB/T 32905 example 1: SM3("abc").
    let digest: [u8; 32] = Sm3::digest(b"abc").into();
    assert_eq!(Hash(digest).to_hex(), "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
}

#[test]
fn hash_and_tag_hex_round_trip() {
    let h = Hash([0x12; 32]);
    assert_eq!(Hash::from_hex(&h.to_hex()).unwrap(), h);
    assert_eq!(Hash::from_hex(&h.to_hex().to_uppercase()).unwrap(), h);
    assert!(Hash::from_hex("12").is_err());
    assert_eq!(format!("{h:?}"), format!("Hash({})", "12".repeat(32)));
    let t = Tag([0xfe; 32]);
    assert_eq!(Tag::from_hex(&t.to_hex()).unwrap(), t);
}
