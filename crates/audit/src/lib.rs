//! The tamper-evident audit log of Yunshu (审计日志, Ch. 5 of the measures).
//!
//! Every audit record is chained to its predecessor with SM3 (`hash = SM3(prev_hash ||
//! encoding)`), tagged with HMAC-SM3 under a key derived from the audit key, and the chain
//! head is periodically signed with SM2 into a checkpoint file kept outside the database.
//! Together these detect edited, deleted, reordered, recomputed and cut-off records:
//!
//! | attack | caught by |
//! |---|---|
//! | a record's content edited | its hash ([`TamperKind::HashMismatch`]) |
//! | a record deleted | the seq gap ([`TamperKind::Missing`]) or the broken link |
//! | chain recomputed after an edit, without the key | the tags ([`TamperKind::TagMismatch`]) or, with only the public key, the next checkpoint ([`TamperKind::CheckpointMismatch`]) |
//! | newest records cut off | the last checkpoint ([`TamperKind::Truncated`]) |
//! | checkpoint file forged | its SM2 signature ([`TamperKind::BadCheckpointSignature`]) |
//!
//! This crate only computes, signs and verifies. It has deliberately no API to update or
//! delete records, and no database code: the store crate writes each sealed record in the
//! same transaction as the change it records. The only files it touches are the key file
//! and the checkpoint file.

mod checkpoint;
mod error;
mod key;
mod record;
mod verify;

pub use checkpoint::{Checkpoint, CheckpointLog};
pub use error::AuditError;
pub use key::{AuditKey, PublicKey};
pub use record::{AuditRecord, GENESIS, Hash, StoredRecord, Tag, canonical_encoding, chain_hash};
pub use verify::{TamperKind, Tampered, Verifier, VerifyMode, VerifyReport, verify_all};
