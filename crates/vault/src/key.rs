//! Master keys, the key-provider trait and envelope encryption of per-object data keys.
//!
//! Each object gets a fresh random 128-bit data key. The data key is stored in the object
//! header wrapped under a master key: `nonce(16) || SM4-CTR(kek_enc, nonce, data key)(16) ||
//! HMAC-SM3(kek_mac, "wrap" || key id || nonce || ct)[..16]`, with `kek_enc`/`kek_mac`
//! derived from the master key. Unwrapping with the wrong master key, or a header whose key id
//! was changed, fails the tag and yields [`VaultError::UnwrapFailed`] rather than a wrong key.
//!
//! [`KeyProvider`] hides where master keys live. [`LocalKeyFile`] reads them from a file; an
//! HSM-backed provider would return an error from [`KeyProvider::master_key`] and override
//! [`KeyProvider::wrap_data_key`]/[`KeyProvider::unwrap_data_key`] to wrap inside the HSM.

use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use sm3::{Digest, Sm3};

use crate::cipher::{DerivedKeys, SecretKey, TAG_LEN};
use crate::error::VaultError;

/// Length of a wrapped data key.
pub const WRAPPED_LEN: usize = 16 + 16 + TAG_LEN;
const KEK_DOMAIN: &str = "yunshu-vault/v1/kek";
const KEY_ID_DOMAIN: &[u8] = b"yunshu-vault/v1/key-id";

/// Identifier of a master key: 1 to 64 ASCII letters, digits, `.`, `_` or `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyId(String);

impl KeyId {
    /// Longest key id.
    pub const MAX_LEN: usize = 64;

    /// Parses a key id.
    pub fn parse(s: &str) -> Result<KeyId, VaultError> {
        let ok = !s.is_empty()
            && s.len() <= Self::MAX_LEN
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if ok { Ok(KeyId(s.to_string())) } else { Err(VaultError::Config(format!("invalid key id {s:?}"))) }
    }

    /// The id of a key held in a [`LocalKeyFile`]: `sm4-` and 16 hex digits of
    /// `SM3("yunshu-vault/v1/key-id" || key)`, so the id names the key without revealing it.
    pub fn fingerprint(key: &SecretKey) -> KeyId {
        let mut h = Sm3::new();
        h.update(KEY_ID_DOMAIN);
        h.update(key.as_bytes());
        KeyId(format!("sm4-{}", hex::encode(&h.finalize()[..8])))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A data key wrapped under a master key (see the module docs for the layout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKey([u8; WRAPPED_LEN]);

impl WrappedKey {
    /// Reads a wrapped key from exactly [`WRAPPED_LEN`] bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<WrappedKey> {
        bytes.try_into().ok().map(WrappedKey)
    }

    /// The encoded bytes.
    pub fn as_bytes(&self) -> &[u8; WRAPPED_LEN] {
        &self.0
    }
}

/// Wraps `data_key` under `master` (named `key_id`).
pub fn wrap_with(master: &SecretKey, key_id: &KeyId, data_key: &SecretKey) -> Result<WrappedKey, VaultError> {
    let kek = DerivedKeys::derive(master, KEK_DOMAIN);
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce).map_err(|e| VaultError::Randomness(e.to_string()))?;
    let mut ct = *data_key.as_bytes();
    kek.ctr_xor(&nonce, 0, &mut ct);
    let tag = kek.tag(&[b"wrap", key_id.as_str().as_bytes(), &nonce, &ct]);
    let mut out = [0u8; WRAPPED_LEN];
    out[..16].copy_from_slice(&nonce);
    out[16..32].copy_from_slice(&ct);
    out[32..].copy_from_slice(&tag);
    Ok(WrappedKey(out))
}

/// Unwraps a data key; `None` if the tag does not verify (wrong master key or tampering).
pub fn unwrap_with(master: &SecretKey, key_id: &KeyId, wrapped: &WrappedKey) -> Option<SecretKey> {
    let kek = DerivedKeys::derive(master, KEK_DOMAIN);
    let b = &wrapped.0;
    let nonce: [u8; 16] = b[..16].try_into().ok()?;
    let ct = &b[16..32];
    if !kek.verify(&[b"wrap", key_id.as_str().as_bytes(), &nonce, ct], &b[32..]) {
        return None;
    }
    let mut key = [0u8; 16];
    key.copy_from_slice(ct);
    kek.ctr_xor(&nonce, 0, &mut key);
    let out = SecretKey::from_bytes(key);
    zeroize::Zeroize::zeroize(&mut key);
    Some(out)
}

/// Source of master keys and wrapper of per-object data keys.
pub trait KeyProvider: Send + Sync + std::fmt::Debug {
    /// The key id new objects are encrypted under.
    fn current_key_id(&self) -> KeyId;

    /// The master key named `id`. Providers that never release keys (HSM) return an error and
    /// override the two wrapping methods.
    fn master_key(&self, id: &KeyId) -> Result<SecretKey, VaultError>;

    /// Wraps a fresh data key under the current master key.
    fn wrap_data_key(&self, data_key: &SecretKey) -> Result<(KeyId, WrappedKey), VaultError> {
        let id = self.current_key_id();
        let master = self.master_key(&id)?;
        Ok((id.clone(), wrap_with(&master, &id, data_key)?))
    }

    /// Unwraps the data key of the object at `path` (used in error messages).
    fn unwrap_data_key(&self, id: &KeyId, wrapped: &WrappedKey, path: &str) -> Result<SecretKey, VaultError> {
        let master = self.master_key(id)?;
        unwrap_with(&master, id, wrapped)
            .ok_or_else(|| VaultError::UnwrapFailed { path: path.to_string(), key_id: id.to_string() })
    }
}

/// Master keys read from a local key file.
///
/// The file holds one SM4 key per line as 32 hex digits; blank lines and lines starting with
/// `#` are ignored. The last key is the current one (append a line to rotate; keep the old
/// lines so existing objects stay readable). Key ids are [`KeyId::fingerprint`]s.
/// On unix the file must not be accessible to group or others.
pub struct LocalKeyFile {
    path: PathBuf,
    keys: Vec<(KeyId, SecretKey)>,
}

impl std::fmt::Debug for LocalKeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("LocalKeyFile").field("path", &self.path).field("key_ids", &ids).finish()
    }
}

impl LocalKeyFile {
    /// Opens the key file at `path`, creating it (mode 0600, parent directories included) with
    /// one fresh random key if it does not exist.
    pub fn open_or_create(path: &Path) -> Result<LocalKeyFile, VaultError> {
        match Self::open(path) {
            Err(VaultError::KeyFileIo { source, .. }) if source.kind() == ErrorKind::NotFound => {
                Self::create(path)?;
                Self::open(path)
            }
            other => other,
        }
    }

    /// Opens an existing key file.
    pub fn open(path: &Path) -> Result<LocalKeyFile, VaultError> {
        let io = |action, source| VaultError::KeyFileIo { action, path: path.to_path_buf(), source };
        let text = std::fs::read_to_string(path).map_err(|e| io("read", e))?;
        check_permissions(path)?;
        let malformed = |reason: String| VaultError::KeyFileMalformed { path: path.to_path_buf(), reason };
        let mut keys = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut bytes = [0u8; 16];
            hex::decode_to_slice(line, &mut bytes)
                .map_err(|_| malformed(format!("line {} is not a 128-bit key in 32 hex digits", n + 1)))?;
            let key = SecretKey::from_bytes(bytes);
            zeroize::Zeroize::zeroize(&mut bytes);
            keys.push((KeyId::fingerprint(&key), key));
        }
        if keys.is_empty() {
            return Err(malformed("no key found".to_string()));
        }
        Ok(LocalKeyFile { path: path.to_path_buf(), keys })
    }

    fn create(path: &Path) -> Result<(), VaultError> {
        let io = |action, source| VaultError::KeyFileIo { action, path: path.to_path_buf(), source };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| io("create the directory of", e))?;
        }
        let key = SecretKey::random()?;
        let mut text = zeroize::Zeroizing::new(String::from(
            "# yunshu-vault master keys: SM4, 32 hex digits per line; the last line is the current key.\n",
        ));
        text.push_str(&hex::encode(key.as_bytes()));
        text.push('\n');
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(|e| io("create", e))?;
        file.write_all(text.as_bytes()).map_err(|e| io("write", e))?;
        file.sync_all().map_err(|e| io("sync", e))
    }

    /// The key file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Ids of all keys in the file, oldest first.
    pub fn key_ids(&self) -> Vec<KeyId> {
        self.keys.iter().map(|(id, _)| id.clone()).collect()
    }
}

#[cfg(unix)]
fn check_permissions(path: &Path) -> Result<(), VaultError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|source| VaultError::KeyFileIo {
        action: "inspect",
        path: path.to_path_buf(),
        source,
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(VaultError::KeyFilePermissions { path: path.to_path_buf(), mode });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_path: &Path) -> Result<(), VaultError> {
    Ok(())
}

impl KeyProvider for LocalKeyFile {
    fn current_key_id(&self) -> KeyId {
        // `open` refuses files without keys, so `last` always exists.
        self.keys.last().map(|(id, _)| id.clone()).unwrap_or_else(|| KeyId(String::from("none")))
    }

    fn master_key(&self, id: &KeyId) -> Result<SecretKey, VaultError> {
        self.keys.iter().find(|(k, _)| k == id).map(|(_, key)| key.clone()).ok_or_else(|| {
            VaultError::UnknownKey {
                key_id: id.to_string(),
                available: self.keys.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(", "),
            }
        })
    }
}

#[cfg(test)]
#[path = "key_test.rs"]
mod tests;
