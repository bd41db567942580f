#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Unit tests of key files and data-key wrapping.

use super::*;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("yunshu-vault-key-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn create_then_reopen_gives_the_same_key() {
    let dir = temp_dir("reopen");
    let path = dir.join("sub/master.key");
    let a = LocalKeyFile::open_or_create(&path).unwrap();
    let b = LocalKeyFile::open_or_create(&path).unwrap();
    assert_eq!(a.current_key_id(), b.current_key_id());
    assert!(a.current_key_id().as_str().starts_with("sm4-"));
    let id = a.current_key_id();
    assert_eq!(a.master_key(&id).unwrap().as_bytes(), b.master_key(&id).unwrap().as_bytes());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
    // The Debug output never shows key material.
    assert!(!format!("{a:?}").contains(&hex::encode(a.master_key(&id).unwrap().as_bytes())));
    std::fs::remove_dir_all(dir).unwrap();
}

fn write_key_file(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

#[test]
fn malformed_files_are_refused() {
    let dir = temp_dir("malformed");
    let path = dir.join("k");
    for bad in ["", "# only a comment\n", "0123\n", "zz23456789abcdef0123456789abcdef\n"] {
        write_key_file(&path, bad);
        let err = LocalKeyFile::open(&path).unwrap_err();
        assert_eq!(err.code(), "vault_key_file_malformed", "{bad:?}");
        assert!(err.message_zh().contains("格式错误"));
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[cfg(unix)]
#[test]
fn readable_by_others_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir("perm");
    let path = dir.join("k");
    write_key_file(&path, "0123456789abcdef0123456789abcdef\n");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = LocalKeyFile::open(&path).unwrap_err();
    assert_eq!(err.code(), "vault_key_file_permissions");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn rotation_keeps_old_keys_and_wrapping_is_authenticated() {
    let dir = temp_dir("rotate");
    let path = dir.join("k");
    write_key_file(&path, "# old\n0123456789abcdef0123456789abcdef\n\nfedcba9876543210fedcba9876543210\n");
    let file = LocalKeyFile::open(&path).unwrap();
    let ids = file.key_ids();
    assert_eq!(ids.len(), 2);
    assert_eq!(file.current_key_id(), ids[1]);

    let dk = SecretKey::from_bytes([42; 16]);
    let (id, wrapped) = file.wrap_data_key(&dk).unwrap();
    assert_eq!(id, ids[1]);
    assert_eq!(file.unwrap_data_key(&id, &wrapped, "p").unwrap().as_bytes(), dk.as_bytes());
    // Claiming the other (old) key id fails the tag.
    let err = file.unwrap_data_key(&ids[0], &wrapped, "p").unwrap_err();
    assert_eq!(err.code(), "vault_unwrap_failed");
    // A flipped bit fails the tag.
    let mut bytes = *wrapped.as_bytes();
    bytes[20] ^= 1;
    let err = file.unwrap_data_key(&id, &WrappedKey::from_slice(&bytes).unwrap(), "p").unwrap_err();
    assert_eq!(err.code(), "vault_unwrap_failed");
    // An unknown key id names the available ones.
    let err = file.unwrap_data_key(&KeyId::parse("sm4-nope").unwrap(), &wrapped, "p").unwrap_err();
    assert!(err.to_string().contains(ids[1].as_str()), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn key_ids_are_validated() {
    assert!(KeyId::parse("hsm-slot_1.v2").is_ok());
    assert!(KeyId::parse("").is_err());
    assert!(KeyId::parse("has space").is_err());
    assert!(KeyId::parse(&"x".repeat(65)).is_err());
}
