//! Streaming verification of a stored log against the key and the signed checkpoints.
//!
//! Records are pushed in ascending `seq` order (the store reads them in batches, so the whole
//! log never has to be in memory). Verification stops at the first problem and reports the
//! first bad record, because everything after a broken link is unverifiable anyway.
//!
//! Order of checks per record: sequence (gap → `Missing`, going back → `OutOfOrder`), link to
//! the previous record, content against its hash, tag (Full mode), then every checkpoint at
//! that sequence number (signature first, so a forged checkpoint is never taken as evidence
//! about the records, then the head). At the end, checkpoints beyond the last record have
//! their signatures checked and then mean the log was cut off.

use std::fmt;

use crate::checkpoint::Checkpoint;
use crate::key::{AuditKey, PublicKey};
use crate::record::{GENESIS, Hash, StoredRecord, encode_into, hash_encoded};

/// What the verifier may use.
#[derive(Debug, Clone, Copy)]
pub enum VerifyMode<'a> {
    /// The secret key: also checks every record's tag, so a chain recomputed without the key
    /// is caught at the first forged record.
    Full(&'a AuditKey),
    /// Only the public key (a supervisor's view): a recomputed chain is caught at the first
    /// checkpoint after the change.
    PublicOnly(&'a PublicKey),
}

/// Summary of an intact log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Records verified.
    pub records: u64,
    /// Bytes fed to SM3 for the chain hashes (previous hash + record encoding, per record).
    pub bytes_hashed: u64,
    /// Checkpoints whose signature and head were both verified.
    pub checkpoints_checked: u64,
    /// Sequence number of the newest record (0 for an empty log).
    pub head_seq: i64,
    /// Chain hash of the newest record ([`GENESIS`] for an empty log).
    pub head: Hash,
}

/// The first problem found in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tampered {
    /// The first bad record (for a cut-off log, the first missing one; for a checkpoint
    /// problem, the checkpoint's record).
    pub seq: i64,
    /// What is wrong.
    pub kind: TamperKind,
}

/// Kinds of tampering the verifier detects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TamperKind {
    /// The expected record is not present (deleted): the log skips over it.
    Missing,
    /// A record's seq is not greater than the previous one (duplicated or reordered).
    OutOfOrder,
    /// A record's `prev_hash` is not the previous record's hash.
    PrevHashMismatch,
    /// A record's content does not match its hash (content changed).
    HashMismatch,
    /// A record's tag is not the key's tag of its hash (chain recomputed without the key).
    TagMismatch,
    /// The chain hash at a checkpoint's seq differs from the signed head.
    CheckpointMismatch {
        /// The checkpoint's seq.
        checkpoint_seq: i64,
    },
    /// A checkpoint's signature does not verify with the audit public key.
    BadCheckpointSignature {
        /// The checkpoint's seq.
        checkpoint_seq: i64,
    },
    /// A signed checkpoint covers records beyond the end of the log.
    Truncated {
        /// The highest validly signed checkpoint beyond the end.
        checkpoint_seq: i64,
        /// The last record present (0 for an empty log).
        last_seq: i64,
    },
}

impl fmt::Display for Tampered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seq = self.seq;
        match &self.kind {
            TamperKind::Missing => write!(
                f,
                "audit record {seq} missing: the log skips from record {} to a later one (record deleted)",
                seq.saturating_sub(1)
            ),
            TamperKind::OutOfOrder => write!(
                f,
                "audit record {seq} out of order: a record with this or a higher number came before it (records duplicated or reordered)"
            ),
            TamperKind::PrevHashMismatch => write!(
                f,
                "audit record {seq}: its link to record {} is broken (records changed, removed or reordered)",
                seq.saturating_sub(1)
            ),
            TamperKind::HashMismatch => {
                write!(f, "audit record {seq}: content does not match its hash (record changed)")
            }
            TamperKind::TagMismatch => write!(
                f,
                "audit record {seq}: its tag was not made with the audit key (chain recomputed without the key)"
            ),
            TamperKind::CheckpointMismatch { checkpoint_seq } => write!(
                f,
                "audit record {seq}: the hash chain does not match the signed checkpoint at record {checkpoint_seq} (records up to {checkpoint_seq} changed and the chain recomputed)"
            ),
            TamperKind::BadCheckpointSignature { checkpoint_seq } => write!(
                f,
                "audit checkpoint at record {checkpoint_seq}: signature does not verify with the audit public key (checkpoint forged or altered)"
            ),
            TamperKind::Truncated { checkpoint_seq, last_seq } => write!(
                f,
                "audit record {seq} missing: a signed checkpoint covers {checkpoint_seq} records but the log ends at {last_seq} (newest records cut off)"
            ),
        }
    }
}

impl std::error::Error for Tampered {}

/// Streaming verifier: push records in ascending seq order, then [`Verifier::finish`].
#[derive(Debug)]
pub struct Verifier<'a> {
    mode: VerifyMode<'a>,
    public: PublicKey,
    /// Sorted by seq; `next_checkpoint` indexes the first not yet checked.
    checkpoints: Vec<Checkpoint>,
    next_checkpoint: usize,
    /// The seq the next record must have.
    expected_seq: i64,
    prev: Hash,
    records: u64,
    bytes_hashed: u64,
    checkpoints_checked: u64,
    /// Once a problem is found it is returned again by every later call.
    failed: Option<Tampered>,
    /// Reused encoding buffer, so a long log does not allocate per record.
    buf: Vec<u8>,
}

impl<'a> Verifier<'a> {
    /// A verifier for a log starting at record 1.
    pub fn new(mode: VerifyMode<'a>, mut checkpoints: Vec<Checkpoint>) -> Self {
        // Stable sort: checkpoints with equal seq keep file order.
        checkpoints.sort_by_key(|c| c.seq);
        let public = match mode {
            VerifyMode::Full(key) => key.public_key(),
            VerifyMode::PublicOnly(public) => public.clone(),
        };
        Verifier {
            mode,
            public,
            checkpoints,
            next_checkpoint: 0,
            expected_seq: 1,
            prev: GENESIS,
            records: 0,
            bytes_hashed: 0,
            checkpoints_checked: 0,
            failed: None,
            buf: Vec::new(),
        }
    }

    /// Checks the next record. After the first problem every call returns that problem.
    pub fn push(&mut self, rec: &StoredRecord) -> Result<(), Tampered> {
        if let Some(t) = &self.failed {
            return Err(t.clone());
        }
        let result = self.check(rec);
        if let Err(t) = &result {
            self.failed = Some(t.clone());
        }
        result
    }

    fn check(&mut self, rec: &StoredRecord) -> Result<(), Tampered> {
        let seq = rec.record.seq;
        let fail = |seq, kind| Err(Tampered { seq, kind });
        if seq > self.expected_seq {
            return fail(self.expected_seq, TamperKind::Missing);
        }
        if seq < self.expected_seq {
            return fail(seq, TamperKind::OutOfOrder);
        }
        if seq == 1 {
            // Checkpoints at seq 0 (signed over an empty log) can only be checked here.
            self.check_checkpoints_up_to(0, &GENESIS)?;
        }
        if rec.prev_hash != self.prev {
            return fail(seq, TamperKind::PrevHashMismatch);
        }
        self.buf.clear();
        encode_into(&rec.record, &mut self.buf);
        let hash = hash_encoded(&self.prev, &self.buf);
        if hash != rec.hash {
            return fail(seq, TamperKind::HashMismatch);
        }
        if let VerifyMode::Full(key) = self.mode
            && !key.tag_matches(&hash, &rec.tag)
        {
            return fail(seq, TamperKind::TagMismatch);
        }
        self.check_checkpoints_up_to(seq, &hash)?;

        self.bytes_hashed = self.bytes_hashed.saturating_add(32).saturating_add(self.buf.len() as u64);
        self.records = self.records.saturating_add(1);
        self.prev = hash;
        self.expected_seq = seq.saturating_add(1);
        Ok(())
    }

    /// Checks every pending checkpoint with `seq <= up_to` against `head` (the chain hash at
    /// `up_to`). Pending checkpoints below `up_to` can only be ones with a negative seq, which
    /// no honest signer produces; they are reported as not matching.
    fn check_checkpoints_up_to(&mut self, up_to: i64, head: &Hash) -> Result<(), Tampered> {
        while let Some(cp) = self.checkpoints.get(self.next_checkpoint) {
            if cp.seq > up_to {
                break;
            }
            let checkpoint_seq = cp.seq;
            if !self.public.verify_checkpoint(cp) {
                return Err(Tampered {
                    seq: checkpoint_seq,
                    kind: TamperKind::BadCheckpointSignature { checkpoint_seq },
                });
            }
            if checkpoint_seq != up_to || cp.head != *head {
                return Err(Tampered {
                    seq: checkpoint_seq,
                    kind: TamperKind::CheckpointMismatch { checkpoint_seq },
                });
            }
            self.checkpoints_checked = self.checkpoints_checked.saturating_add(1);
            self.next_checkpoint = self.next_checkpoint.saturating_add(1);
        }
        Ok(())
    }

    /// End-of-log checks: checkpoints beyond the last record must be validly signed, and if
    /// any remain the log was cut off after them.
    pub fn finish(mut self) -> Result<VerifyReport, Tampered> {
        if let Some(t) = self.failed.take() {
            return Err(t);
        }
        let last_seq = self.expected_seq.saturating_sub(1);
        if self.records == 0 {
            self.check_checkpoints_up_to(0, &GENESIS)?;
        }
        let beyond = self.checkpoints.get(self.next_checkpoint..).unwrap_or(&[]);
        let mut highest: Option<i64> = None;
        for cp in beyond {
            if !self.public.verify_checkpoint(cp) {
                return Err(Tampered {
                    seq: cp.seq,
                    kind: TamperKind::BadCheckpointSignature { checkpoint_seq: cp.seq },
                });
            }
            highest = Some(cp.seq);
        }
        if let Some(checkpoint_seq) = highest {
            return Err(Tampered {
                seq: last_seq.saturating_add(1),
                kind: TamperKind::Truncated { checkpoint_seq, last_seq },
            });
        }
        Ok(VerifyReport {
            records: self.records,
            bytes_hashed: self.bytes_hashed,
            checkpoints_checked: self.checkpoints_checked,
            head_seq: last_seq,
            head: self.prev,
        })
    }
}

/// Verifies a whole log (records in ascending seq order) in one call.
pub fn verify_all(
    mode: VerifyMode<'_>,
    checkpoints: Vec<Checkpoint>,
    records: impl IntoIterator<Item = StoredRecord>,
) -> Result<VerifyReport, Tampered> {
    let mut verifier = Verifier::new(mode, checkpoints);
    for rec in records {
        verifier.push(&rec)?;
    }
    verifier.finish()
}
