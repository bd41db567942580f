//! The audit key: an SM2 key pair that signs checkpoints, and an HMAC-SM3 key derived
//! from it that tags every record.
//!
//! Two mechanisms because they catch different attackers. The per-record tag catches anyone
//! who can write the database but does not hold the key file (they can recompute SM3 hashes
//! but not tags), and pinpoints the first forged record. The SM2-signed checkpoints, kept
//! outside the database, can be checked by a supervisor holding only the public key, who
//! must not be able to forge tags.
//!
//! The MAC key is derived rather than stored separately so that a single secret (the SM2
//! scalar) is the whole key file and there is nothing to keep in sync:
//! `mac_key = SM3("yunshu-audit/v1/record-tag-key" || 0x00 || secret scalar, 32 bytes BE)`.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use hmac::{Hmac, KeyInit, Mac};
use sm2::dsa::signature::{Signer, Verifier};
use sm2::dsa::{Signature, SigningKey, VerifyingKey};
use sm2::elliptic_curve::sec1::ToSec1Point;
use sm2::elliptic_curve::zeroize::Zeroizing;
use sm3::{Digest, Sm3};

use crate::checkpoint::{Checkpoint, checkpoint_message, validate_checkpoint_fields};
use crate::record::{Hash, StoredRecord, Tag, encode_into, hash_encoded};
use crate::{AuditError, AuditRecord};

/// The default SM2 distinguishing identifier of GB/T 32918 / GM/T 0009 ("1234567812345678").
/// Interoperable verifiers (e.g. GmSSL) assume it when none is agreed.
const DEFAULT_DISTID: &str = "1234567812345678";

/// Domain separation for the MAC key derivation, so the derived key can never equal a
/// hash computed for any other purpose from the same secret.
const MAC_KEY_DOMAIN: &[u8] = b"yunshu-audit/v1/record-tag-key\0";

type HmacSm3 = Hmac<Sm3>;

/// The secret audit key: SM2 signing key plus the derived record-tag MAC key.
#[derive(Clone)]
pub struct AuditKey {
    signing: SigningKey,
    // Keyed HMAC state built once: tagging runs for every record, and building it here
    // keeps `tag` infallible.
    mac: HmacSm3,
}

/// The public half of an [`AuditKey`]: verifies checkpoint signatures.
#[derive(Clone)]
pub struct PublicKey {
    verifying: VerifyingKey,
}

// By curve point: every key of this crate uses the same distinguishing identifier.
impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.verifying.as_affine() == other.verifying.as_affine()
    }
}

impl Eq for PublicKey {}

// Never print key material, even in debug output.
impl fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditKey").field("public_key", &self.public_key().to_hex()).finish_non_exhaustive()
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_hex())
    }
}

impl AuditKey {
    /// A fresh key from OS randomness.
    pub fn generate() -> Result<AuditKey, AuditError> {
        // A random 32-byte string is a valid scalar unless it is zero or ≥ the group order,
        // which happens with probability below 2^-32; retry a few times rather than bias it.
        for _ in 0..16 {
            let mut secret = Zeroizing::new([0u8; 32]);
            getrandom::fill(secret.as_mut_slice()).map_err(|e| AuditError::Randomness(e.to_string()))?;
            if let Ok(key) = Self::from_secret_bytes(secret.as_slice()) {
                return Ok(key);
            }
        }
        Err(AuditError::Randomness("no valid SM2 scalar after 16 draws".to_owned()))
    }

    /// Builds the key from the 32-byte big-endian secret scalar.
    fn from_secret_bytes(secret: &[u8]) -> Result<AuditKey, String> {
        let signing = SigningKey::from_slice(DEFAULT_DISTID, secret)
            .map_err(|_| "not a valid SM2 secret scalar (zero or not below the group order)")?;
        let mut derive = Sm3::new();
        derive.update(MAC_KEY_DOMAIN);
        derive.update(signing.to_bytes());
        let mac_key = Zeroizing::new(derive.finalize());
        let mac =
            HmacSm3::new_from_slice(mac_key.as_slice()).map_err(|_| "HMAC-SM3 rejected the derived key")?;
        Ok(AuditKey { signing, mac })
    }

    /// Loads the key at `path`, or creates it if the file does not exist.
    ///
    /// The key file holds the secret scalar as 64 hex characters and is created with mode
    /// 0600 on unix (parent directories are created). `<path>.pub` receives the public key
    /// (SEC1 uncompressed, hex) whenever it is missing, so auditors can be handed it.
    pub fn load_or_create(path: &Path) -> Result<AuditKey, AuditError> {
        let key = match Self::load(path) {
            Ok(key) => key,
            Err(AuditError::Io { source, .. }) if source.kind() == ErrorKind::NotFound => Self::create(path)?,
            Err(e) => return Err(e),
        };
        key.write_public_key_if_missing(path)?;
        Ok(key)
    }

    /// Loads an existing key file.
    pub fn load(path: &Path) -> Result<AuditKey, AuditError> {
        let text = Zeroizing::new(fs::read_to_string(path).map_err(|source| AuditError::Io {
            action: "read audit key file",
            path: path.to_owned(),
            source,
        })?);
        let mut secret = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(text.trim(), secret.as_mut_slice()).map_err(|_| AuditError::KeyFile {
            path: path.to_owned(),
            reason: "expected 64 hex characters (the SM2 secret scalar)".to_owned(),
        })?;
        Self::from_secret_bytes(secret.as_slice())
            .map_err(|reason| AuditError::KeyFile { path: path.to_owned(), reason })
    }

    /// Generates a key and writes it to `path` without ever overwriting an existing file.
    fn create(path: &Path) -> Result<AuditKey, AuditError> {
        let io = |action: &'static str, p: &Path| {
            let p = p.to_owned();
            move |source| AuditError::Io { action, path: p, source }
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(io("create directory for", dir))?;
        }
        let key = Self::generate()?;
        let secret_hex = Zeroizing::new(format!("{}\n", hex::encode(key.signing.to_bytes())));

        // Written to a temporary file first and then hard-linked into place: a crash never
        // leaves a half-written key file behind, and if another process created the key
        // meanwhile, linking fails and we use theirs instead of replacing it.
        let tmp = sibling(path, &format!(".tmp-{}-{}", std::process::id(), random_suffix()?));
        let written = write_private_file(&tmp, secret_hex.as_bytes());
        let linked = written.and_then(|()| fs::hard_link(&tmp, path));
        // Best effort: the temporary name is unique and the key it holds is either in
        // place under `path` or unused.
        let _ = fs::remove_file(&tmp);
        match linked {
            Ok(()) => {
                sync_parent_dir(path);
                Ok(key)
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Self::load(path),
            Err(source) => {
                Err(AuditError::Io { action: "create audit key file", path: path.to_owned(), source })
            }
        }
    }

    fn write_public_key_if_missing(&self, path: &Path) -> Result<(), AuditError> {
        let pub_path = sibling(path, ".pub");
        let result = OpenOptions::new().write(true).create_new(true).open(&pub_path).and_then(|mut f| {
            f.write_all(format!("{}\n", self.public_key().to_hex()).as_bytes())?;
            f.sync_all()
        });
        match result {
            // An existing .pub is left alone: replacing it silently would hide a mismatch
            // that an auditor should see.
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
            other => other.map_err(|source| AuditError::Io {
                action: "write audit public key file",
                path: pub_path,
                source,
            }),
        }
    }

    /// HMAC-SM3 of a record hash under the derived MAC key.
    pub fn tag(&self, hash: &Hash) -> Tag {
        let mut mac = self.mac.clone();
        mac.update(&hash.0);
        Tag(mac.finalize().into_bytes().into())
    }

    /// Constant-time check of a record tag, so verification leaks nothing about the key.
    pub(crate) fn tag_matches(&self, hash: &Hash, tag: &Tag) -> bool {
        let mut mac = self.mac.clone();
        mac.update(&hash.0);
        mac.verify_slice(&tag.0).is_ok()
    }

    /// Seals a record as the successor of `prev`: computes its chain hash and tag.
    pub fn seal(&self, prev: &Hash, record: AuditRecord) -> StoredRecord {
        let mut encoding = Vec::new();
        encode_into(&record, &mut encoding);
        let hash = hash_encoded(prev, &encoding);
        StoredRecord { record, prev_hash: *prev, hash, tag: self.tag(&hash) }
    }

    /// Signs a checkpoint stating that the log's record `seq` has chain hash `head`.
    ///
    /// `at` is the signing time (RFC 3339); it must not contain whitespace because the
    /// checkpoint file is whitespace-separated. `seq` must not be negative.
    pub fn sign_checkpoint(&self, seq: i64, head: Hash, at: String) -> Result<Checkpoint, AuditError> {
        validate_checkpoint_fields(seq, &at).map_err(AuditError::InvalidCheckpoint)?;
        let message = checkpoint_message(seq, &head, &at);
        let signature: Signature = self.signing.try_sign(&message).map_err(|_| AuditError::Signing)?;
        Ok(Checkpoint { seq, head, at, signature: signature.to_vec() })
    }

    /// The public key that verifies this key's checkpoints.
    pub fn public_key(&self) -> PublicKey {
        PublicKey { verifying: self.signing.verifying_key().clone() }
    }
}

impl PublicKey {
    /// Parses a SEC1-encoded SM2 public key in hex (uncompressed or compressed).
    pub fn from_hex(s: &str) -> Result<PublicKey, AuditError> {
        let invalid = |reason: String| AuditError::InvalidEncoding { what: "SM2 public key", reason };
        let bytes = hex::decode(s.trim()).map_err(|e| invalid(e.to_string()))?;
        let verifying = VerifyingKey::from_sec1_bytes(DEFAULT_DISTID, &bytes)
            .map_err(|_| invalid("not a point on the SM2 curve".to_owned()))?;
        Ok(PublicKey { verifying })
    }

    /// SEC1 uncompressed encoding (`04 || x || y`, 65 bytes) in lower-case hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.verifying.to_sec1_point(false).as_bytes())
    }

    /// Whether the checkpoint's signature is valid for this key over its (seq, head, at).
    pub fn verify_checkpoint(&self, checkpoint: &Checkpoint) -> bool {
        let Ok(signature) = Signature::from_slice(&checkpoint.signature) else {
            return false;
        };
        let message = checkpoint_message(checkpoint.seq, &checkpoint.head, &checkpoint.at);
        self.verifying.verify(&message, &signature).is_ok()
    }
}

/// `path` with `suffix` appended to its file name (`audit.key` → `audit.key.pub`).
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn random_suffix() -> Result<String, AuditError> {
    getrandom::u64().map(|n| format!("{n:016x}")).map_err(|e| AuditError::Randomness(e.to_string()))
}

/// Creates a new file readable only by the owner (on unix), writes it and flushes it to disk.
fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Makes a newly created directory entry durable; failure only weakens crash safety.
fn sync_parent_dir(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}
