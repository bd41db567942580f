//! Audit records, their canonical byte encoding and the SM3 hash chain.
//!
//! The encoding is the one thing that must never change silently: every stored hash was
//! computed over it. It therefore starts with a version tag (`YSAUDIT1`); a future format
//! gets a new tag and verification dispatches on it.
//!
//! Encoding (all integers big-endian):
//!
//! ```text
//! "YSAUDIT1"
//! field(seq as 8-byte i64)
//! field(at) field(operation_id) opt(user_id) opt(org_id) opt(role)
//! field(action) field(object_type) field(object_id) field(result)
//! opt(source_ip) field(summary)
//!
//! field(b) = len(b) as u32 || b             when len(b) <  0xFFFF_FFFF
//!          = 0xFFFF_FFFF || len(b) as u64 || b  otherwise (never in practice)
//! opt(None)    = 0x00
//! opt(Some(s)) = 0x01 || field(s)
//! ```
//!
//! Because every field carries its length and every optional field a presence byte, the
//! encoding can be parsed back unambiguously, so two different records never encode to the
//! same bytes (`None` differs from `Some("")`, and `"ab"+"c"` differs from `"a"+"bc"`).

use std::fmt;

use sm3::{Digest, Sm3};

use crate::AuditError;

/// Version tag at the start of every encoded record.
const ENCODING_VERSION: &[u8; 8] = b"YSAUDIT1";

/// One audit record as written by the platform (the fields that are hashed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Position in the log: 1-based and contiguous.
    pub seq: i64,
    /// RFC 3339 UTC with millisecond precision, e.g. `2026-11-27T08:00:00.123Z`.
    pub at: String,
    /// The operation (request) this record belongs to.
    pub operation_id: String,
    /// The acting user, if any.
    pub user_id: Option<String>,
    /// The acting user's organisation, if any.
    pub org_id: Option<String>,
    /// The role the user acted in, if any.
    pub role: Option<String>,
    /// What was done, e.g. `user.create`.
    pub action: String,
    /// Kind of the object acted on.
    pub object_type: String,
    /// Identifier of the object acted on.
    pub object_id: String,
    /// `ok`, `denied` or `error`.
    pub result: String,
    /// Client IP address, if known.
    pub source_ip: Option<String>,
    /// JSON text describing the change.
    pub summary: String,
}

/// A record as stored: the record plus its chain fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// The hashed content.
    pub record: AuditRecord,
    /// Hash of the previous record ([`GENESIS`] for record 1).
    pub prev_hash: Hash,
    /// `chain_hash(prev_hash, record)`.
    pub hash: Hash,
    /// HMAC-SM3 of `hash` under the audit key's MAC key.
    pub tag: Tag,
}

/// An SM3 digest in the hash chain.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Hash(pub [u8; 32]);

/// An HMAC-SM3 tag over a record hash.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Tag(pub [u8; 32]);

/// The `prev_hash` of record 1.
pub const GENESIS: Hash = Hash([0; 32]);

/// Decodes exactly 32 bytes of hex; `what` names the value in the error.
fn bytes32_from_hex(s: &str, what: &'static str) -> Result<[u8; 32], AuditError> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s.trim(), &mut out).map_err(|e| AuditError::InvalidEncoding {
        what,
        reason: format!("expected 64 hex characters: {e}"),
    })?;
    Ok(out)
}

impl Hash {
    /// Lower-case hex, 64 characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex characters (either case).
    pub fn from_hex(s: &str) -> Result<Hash, AuditError> {
        bytes32_from_hex(s, "hash").map(Hash)
    }
}

impl Tag {
    /// Lower-case hex, 64 characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex characters (either case).
    pub fn from_hex(s: &str) -> Result<Tag, AuditError> {
        bytes32_from_hex(s, "tag").map(Tag)
    }
}

// Hex rather than a byte array, so that logs and assertion failures are readable and can be
// compared with what the database and the CLI show.
impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tag({})", self.to_hex())
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// Appends a length-prefixed byte string.
pub(crate) fn put_field(out: &mut Vec<u8>, bytes: &[u8]) {
    match u32::try_from(bytes.len()) {
        Ok(len) if len != u32::MAX => out.extend_from_slice(&len.to_be_bytes()),
        // Longer than a u32 can say: escape to a u64 length rather than truncate, so the
        // encoding stays injective without any panicking path.
        _ => {
            out.extend_from_slice(&u32::MAX.to_be_bytes());
            out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(bytes);
}

/// Appends an optional string: presence byte, then the field if present.
fn put_opt(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            put_field(out, s.as_bytes());
        }
    }
}

/// Appends the canonical encoding of `r` to `out` (lets the verifier reuse one buffer).
pub(crate) fn encode_into(r: &AuditRecord, out: &mut Vec<u8>) {
    out.extend_from_slice(ENCODING_VERSION);
    put_field(out, &r.seq.to_be_bytes());
    put_field(out, r.at.as_bytes());
    put_field(out, r.operation_id.as_bytes());
    put_opt(out, r.user_id.as_deref());
    put_opt(out, r.org_id.as_deref());
    put_opt(out, r.role.as_deref());
    put_field(out, r.action.as_bytes());
    put_field(out, r.object_type.as_bytes());
    put_field(out, r.object_id.as_bytes());
    put_field(out, r.result.as_bytes());
    put_opt(out, r.source_ip.as_deref());
    put_field(out, r.summary.as_bytes());
}

/// The versioned, injective byte encoding of a record that the chain hash covers.
pub fn canonical_encoding(r: &AuditRecord) -> Vec<u8> {
    let mut out = Vec::with_capacity(encoded_len_hint(r));
    encode_into(r, &mut out);
    out
}

/// A capacity that avoids reallocation (exact except for the u64 length escape).
fn encoded_len_hint(r: &AuditRecord) -> usize {
    let opt = |o: &Option<String>| o.as_ref().map_or(1, |s| 5 + s.len());
    ENCODING_VERSION.len()
        + 4
        + 8
        + 4 * 7
        + r.at.len()
        + r.operation_id.len()
        + r.action.len()
        + r.object_type.len()
        + r.object_id.len()
        + r.result.len()
        + r.summary.len()
        + opt(&r.user_id)
        + opt(&r.org_id)
        + opt(&r.role)
        + opt(&r.source_ip)
}

/// SM3 over `prev || encoding`.
pub(crate) fn hash_encoded(prev: &Hash, encoding: &[u8]) -> Hash {
    let mut h = Sm3::new();
    h.update(prev.0);
    h.update(encoding);
    Hash(h.finalize().into())
}

/// The chain hash of a record: `SM3(prev || canonical_encoding(r))`.
pub fn chain_hash(prev: &Hash, r: &AuditRecord) -> Hash {
    hash_encoded(prev, &canonical_encoding(r))
}
