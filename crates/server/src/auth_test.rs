//! Unit tests of `auth`.
#![allow(clippy::unwrap_used)]
use super::*;

#[test]
fn totp_matches_rfc6238_test_vector() {
    // RFC 6238 appendix B, SHA-1, secret "12345678901234567890", T = 59 s → 94287082 (8 digits).
    let secret = base32_encode(b"12345678901234567890");
    assert_eq!(totp_code(&secret, 59 / 30), Some(94287082 % 1_000_000));
    assert_eq!(totp_code(&secret, 1111111109 / 30), Some(7081804 % 1_000_000));
    assert!(totp_check(&secret, 59, "287082"));
    assert!(!totp_check(&secret, 59 + 120, "287082"));
}

#[test]
fn base32_round_trip() {
    let data = b"yunshu-secret-\x00\xff";
    assert_eq!(base32_decode(&base32_encode(data)).unwrap(), data.to_vec());
}

#[test]
fn passwords_hash_and_verify() {
    let h = hash_password("Yunnan-2026-pw").unwrap();
    assert!(h.starts_with("$argon2id$"));
    assert!(verify_password("Yunnan-2026-pw", &h));
    assert!(!verify_password("Yunnan-2026-px", &h));
    assert!(!verify_password("x", "not a hash"));
}
