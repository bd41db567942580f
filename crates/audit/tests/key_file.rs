//! The audit key file: creation, reloading, permissions and the public key file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use yunshu_audit::{AuditError, AuditKey, GENESIS, Hash, PublicKey};

fn scratch(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "audit-key-{name}-{}-{}",
        std::process::id(),
        getrandom::u64().unwrap()
    ))
}

#[test]
fn load_or_create_twice_gives_the_same_key() {
    let dir = scratch("twice");
    let path = dir.join("keys").join("audit.key");
    let first = AuditKey::load_or_create(&path).unwrap();
    let second = AuditKey::load_or_create(&path).unwrap();
    let loaded = AuditKey::load(&path).unwrap();
    assert_eq!(first.public_key(), second.public_key());
    assert_eq!(first.public_key(), loaded.public_key());
    // Same MAC key too: tags made before a restart still verify after it.
    let h = Hash([9; 32]);
    assert_eq!(first.tag(&h), loaded.tag(&h));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn public_key_file_holds_the_uncompressed_sec1_key_in_hex() {
    let dir = scratch("pub");
    let path = dir.join("audit.key");
    let key = AuditKey::load_or_create(&path).unwrap();
    let text = std::fs::read_to_string(dir.join("audit.key.pub")).unwrap();
    let hex = text.trim();
    assert_eq!(hex.len(), 130);
    assert!(hex.starts_with("04"));
    assert_eq!(PublicKey::from_hex(hex).unwrap(), key.public_key());
    assert_eq!(key.public_key().to_hex(), hex);
    // The secret file is 64 hex characters and nothing else.
    let secret = std::fs::read_to_string(&path).unwrap();
    assert_eq!(secret.trim().len(), 64);
    assert!(!secret.contains(hex));
    std::fs::remove_dir_all(dir).unwrap();
}

#[cfg(unix)]
#[test]
fn key_file_is_created_readable_by_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("mode");
    let path = dir.join("audit.key");
    AuditKey::load_or_create(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn loading_a_missing_key_file_is_an_io_error() {
    let path = scratch("missing").join("audit.key");
    assert!(matches!(AuditKey::load(&path), Err(AuditError::Io { .. })));
}

#[test]
fn loading_a_corrupt_key_file_is_a_key_file_error_and_is_not_overwritten() {
    let dir = scratch("corrupt");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("audit.key");
    for bad in ["not hex\n", "abcd\n", &"00".repeat(32), &"ff".repeat(32)] {
        std::fs::write(&path, bad).unwrap();
        assert!(
            matches!(AuditKey::load_or_create(&path), Err(AuditError::KeyFile { .. })),
            "accepted {bad:?}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), bad);
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn generated_keys_differ_and_tag_differently() {
    let a = AuditKey::generate().unwrap();
    let b = AuditKey::generate().unwrap();
    assert_ne!(a.public_key(), b.public_key());
    assert_ne!(a.tag(&GENESIS), b.tag(&GENESIS));
    assert_eq!(a.tag(&GENESIS), a.tag(&GENESIS));
}

#[test]
fn public_key_hex_round_trips_and_rejects_garbage() {
    let key = AuditKey::generate().unwrap();
    let hex = key.public_key().to_hex();
    assert_eq!(PublicKey::from_hex(&hex).unwrap(), key.public_key());
    assert!(PublicKey::from_hex("04abcd").is_err());
    assert!(PublicKey::from_hex("zz").is_err());
}

#[test]
fn debug_output_of_a_key_shows_no_secret() {
    let dir = scratch("debug");
    let path = dir.join("audit.key");
    let key = AuditKey::load_or_create(&path).unwrap();
    let secret = std::fs::read_to_string(&path).unwrap();
    let debug = format!("{key:?}");
    assert!(!debug.contains(secret.trim()), "{debug}");
    std::fs::remove_dir_all(dir).unwrap();
}
