//! Shared fixtures: a sample log of sealed records with signed checkpoints.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use yunshu_audit::{AuditKey, AuditRecord, Checkpoint, GENESIS, Hash, StoredRecord};

/// A record whose fields vary with `seq`, with optional fields both present and absent.
pub fn record(seq: i64) -> AuditRecord {
    AuditRecord {
        seq,
        at: format!("2026-11-27T08:{:02}:{:02}.{:03}Z", seq / 60 % 60, seq % 60, seq % 1000),
        operation_id: format!("op-{seq:08}"),
        user_id: (seq % 3 != 0).then(|| format!("user-{}", seq % 7)),
        org_id: Some(format!("org-{}", seq % 5)),
        role: (seq % 2 == 0).then(|| "Operator".to_owned()),
        action: if seq % 4 == 0 { "user.create" } else { "dataset.read" }.to_owned(),
        object_type: "user".to_owned(),
        object_id: format!("obj-{seq}"),
        result: if seq % 11 == 0 { "denied" } else { "ok" }.to_owned(),
        source_ip: (seq % 5 != 0).then(|| format!("10.0.0.{}", seq % 250)),
        summary: format!(r#"{{"field":"name","old":"a{seq}","new":"b{seq}"}}"#),
    }
}

/// Checkpoint time for a given seq (no whitespace, RFC 3339).
pub fn checkpoint_at(seq: i64) -> String {
    format!("2026-11-27T09:00:{:02}.000Z", seq % 60)
}

pub struct Log {
    pub records: Vec<StoredRecord>,
    pub checkpoints: Vec<Checkpoint>,
}

/// Seals records 1..=n with `key`, signing a checkpoint every `every` records and at the end.
pub fn build_log(key: &AuditKey, n: i64, every: i64) -> Log {
    let mut records = Vec::new();
    let mut checkpoints = Vec::new();
    let mut prev = GENESIS;
    for seq in 1..=n {
        let stored = key.seal(&prev, record(seq));
        prev = stored.hash;
        records.push(stored);
        if seq % every == 0 || seq == n {
            checkpoints.push(key.sign_checkpoint(seq, prev, checkpoint_at(seq)).unwrap());
        }
    }
    Log { records, checkpoints }
}

/// Recomputes hashes, links and tags of `records[from_index..]` with `key`, as an attacker
/// with database access (and their own key) would after editing a record.
pub fn reseal_from(records: &mut [StoredRecord], from_index: usize, key: &AuditKey) {
    let mut prev: Hash = if from_index == 0 { GENESIS } else { records[from_index - 1].hash };
    for stored in &mut records[from_index..] {
        *stored = key.seal(&prev, stored.record.clone());
        prev = stored.hash;
    }
}

/// Index in the records vector of the record with this seq (the sample log is 1-based).
pub fn idx(seq: i64) -> usize {
    usize::try_from(seq - 1).unwrap()
}
