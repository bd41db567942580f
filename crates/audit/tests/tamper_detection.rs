//! Each kind of tampering with a 50-record log (checkpoints at 10, 20, 30, 40, 50) is found
//! and reported at the first bad record.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Log, build_log, idx, reseal_from};
use yunshu_audit::{AuditKey, TamperKind, Tampered, Verifier, VerifyMode, canonical_encoding, verify_all};

const N: i64 = 50;

fn sample() -> (AuditKey, Log) {
    let key = AuditKey::generate().unwrap();
    let log = build_log(&key, N, 10);
    (key, log)
}

fn tampered(seq: i64, kind: TamperKind) -> Result<yunshu_audit::VerifyReport, Tampered> {
    Err(Tampered { seq, kind })
}

#[test]
fn intact_log_verifies_with_counts_in_both_modes() {
    let (key, log) = sample();
    assert_eq!(log.checkpoints.len(), 5);
    let expected_bytes: u64 =
        log.records.iter().map(|r| 32 + canonical_encoding(&r.record).len() as u64).sum();
    let public = key.public_key();
    for mode in [VerifyMode::Full(&key), VerifyMode::PublicOnly(&public)] {
        let report = verify_all(mode, log.checkpoints.clone(), log.records.clone()).unwrap();
        assert_eq!(report.records, 50);
        assert_eq!(report.checkpoints_checked, 5);
        assert_eq!(report.head_seq, 50);
        assert_eq!(report.head, log.records[idx(50)].hash);
        assert_eq!(report.bytes_hashed, expected_bytes);
    }
}

#[test]
fn edited_field_of_record_17_is_hash_mismatch_at_17() {
    let (key, mut log) = sample();
    log.records[idx(17)].record.summary = r#"{"field":"name","old":"x","new":"y"}"#.to_owned();
    let err = verify_all(VerifyMode::Full(&key), log.checkpoints, log.records).unwrap_err();
    assert_eq!(err, Tampered { seq: 17, kind: TamperKind::HashMismatch });
    assert_eq!(err.to_string(), "audit record 17: content does not match its hash (record changed)");
}

#[test]
fn edited_optional_field_of_record_17_is_hash_mismatch_at_17_with_public_key_only() {
    let (key, mut log) = sample();
    // Some("") in place of None must not slip through as "the same".
    let r = &mut log.records[idx(17)].record;
    r.role = match r.role.take() {
        None => Some(String::new()),
        Some(_) => None,
    };
    let public = key.public_key();
    let result = verify_all(VerifyMode::PublicOnly(&public), log.checkpoints, log.records);
    assert_eq!(result, tampered(17, TamperKind::HashMismatch));
}

#[test]
fn deleted_record_23_is_missing_at_23() {
    let (key, mut log) = sample();
    log.records.remove(idx(23));
    let err = verify_all(VerifyMode::Full(&key), log.checkpoints, log.records).unwrap_err();
    assert_eq!(err, Tampered { seq: 23, kind: TamperKind::Missing });
    assert!(err.to_string().starts_with("audit record 23 missing"), "{err}");
}

#[test]
fn deleted_record_1_is_missing_at_1() {
    let (key, mut log) = sample();
    log.records.remove(0);
    let result = verify_all(VerifyMode::Full(&key), log.checkpoints, log.records);
    assert_eq!(result, tampered(1, TamperKind::Missing));
}

#[test]
fn swapped_contents_of_records_30_and_31_are_reported_at_30() {
    let (key, mut log) = sample();
    // Record contents exchanged, seq kept as the position; chain fields stay in their rows.
    let mut a = log.records[idx(30)].record.clone();
    let mut b = log.records[idx(31)].record.clone();
    std::mem::swap(&mut a.seq, &mut b.seq);
    log.records[idx(30)].record = b;
    log.records[idx(31)].record = a;
    let result = verify_all(VerifyMode::Full(&key), log.checkpoints, log.records);
    assert_eq!(result, tampered(30, TamperKind::HashMismatch));
}

#[test]
fn swapped_rows_of_records_30_and_31_with_chain_fields_are_reported_at_30() {
    let (key, mut log) = sample();
    // Whole rows exchanged (content, hashes and tags), then renumbered to hide the swap.
    log.records.swap(idx(30), idx(31));
    log.records[idx(30)].record.seq = 30;
    log.records[idx(31)].record.seq = 31;
    let result = verify_all(VerifyMode::Full(&key), log.checkpoints, log.records);
    assert_eq!(result, tampered(30, TamperKind::PrevHashMismatch));
}

#[test]
fn swapped_rows_without_renumbering_are_missing_at_30() {
    let (key, mut log) = sample();
    log.records.swap(idx(30), idx(31));
    // Record 31 arrives where 30 is expected: 30 is reported missing.
    let result = verify_all(VerifyMode::Full(&key), log.checkpoints, log.records);
    assert_eq!(result, tampered(30, TamperKind::Missing));
}

#[test]
fn duplicated_record_is_out_of_order() {
    let (key, mut log) = sample();
    let dup = log.records[idx(12)].clone();
    log.records.insert(idx(13), dup);
    let result = verify_all(VerifyMode::Full(&key), log.checkpoints, log.records);
    assert_eq!(result, tampered(12, TamperKind::OutOfOrder));
}

#[test]
fn cut_off_newest_5_records_is_truncated_naming_46() {
    let (key, mut log) = sample();
    log.records.truncate(45);
    let err = verify_all(VerifyMode::Full(&key), log.checkpoints, log.records).unwrap_err();
    assert_eq!(err, Tampered { seq: 46, kind: TamperKind::Truncated { checkpoint_seq: 50, last_seq: 45 } });
    assert_eq!(
        err.to_string(),
        "audit record 46 missing: a signed checkpoint covers 50 records but the log ends at 45 (newest records cut off)"
    );
}

#[test]
fn whole_log_deleted_is_truncated_naming_1() {
    let (key, log) = sample();
    let public = key.public_key();
    let result = verify_all(VerifyMode::PublicOnly(&public), log.checkpoints, Vec::new());
    assert_eq!(result, tampered(1, TamperKind::Truncated { checkpoint_seq: 50, last_seq: 0 }));
}

/// Record 12 edited, then hashes, links and tags recomputed from 12 on with the attacker's
/// own key; the checkpoint file is untouched.
fn recomputed_from_12() -> (AuditKey, Log) {
    let (key, mut log) = sample();
    let attacker = AuditKey::generate().unwrap();
    log.records[idx(12)].record.result = "ok".to_owned();
    log.records[idx(12)].record.object_id = "someone-else".to_owned();
    reseal_from(&mut log.records, idx(12), &attacker);
    (key, log)
}

#[test]
fn chain_recomputed_from_12_with_attackers_key_is_tag_mismatch_at_12_in_full_mode() {
    let (key, log) = recomputed_from_12();
    let err = verify_all(VerifyMode::Full(&key), log.checkpoints, log.records).unwrap_err();
    assert_eq!(err, Tampered { seq: 12, kind: TamperKind::TagMismatch });
    assert!(err.to_string().starts_with("audit record 12:"), "{err}");
}

#[test]
fn chain_recomputed_from_12_with_attackers_key_is_checkpoint_mismatch_at_20_with_public_key_only() {
    let (key, log) = recomputed_from_12();
    let public = key.public_key();
    let err = verify_all(VerifyMode::PublicOnly(&public), log.checkpoints, log.records).unwrap_err();
    assert_eq!(err, Tampered { seq: 20, kind: TamperKind::CheckpointMismatch { checkpoint_seq: 20 } });
}

#[test]
fn streaming_in_batches_gives_the_same_report_as_verify_all() {
    let (key, log) = sample();
    let mut verifier = Verifier::new(VerifyMode::Full(&key), log.checkpoints.clone());
    for batch in log.records.chunks(7) {
        for rec in batch {
            verifier.push(rec).unwrap();
        }
    }
    let streamed = verifier.finish().unwrap();
    let whole = verify_all(VerifyMode::Full(&key), log.checkpoints, log.records).unwrap();
    assert_eq!(streamed, whole);
}

#[test]
fn verifier_keeps_reporting_the_first_problem() {
    let (key, mut log) = sample();
    log.records[idx(5)].record.action = "user.delete".to_owned();
    let mut verifier = Verifier::new(VerifyMode::Full(&key), log.checkpoints);
    let mut first = None;
    for rec in &log.records {
        if let Err(t) = verifier.push(rec) {
            first.get_or_insert(t.clone());
            assert_eq!(Some(&t), first.as_ref());
        }
    }
    let expected = Tampered { seq: 5, kind: TamperKind::HashMismatch };
    assert_eq!(first, Some(expected.clone()));
    assert_eq!(verifier.finish(), Err(expected));
}

#[test]
fn checkpoints_out_of_file_order_are_checked_in_seq_order() {
    let (key, mut log) = sample();
    log.checkpoints.reverse();
    let report = verify_all(VerifyMode::Full(&key), log.checkpoints, log.records).unwrap();
    assert_eq!(report.checkpoints_checked, 5);
}

#[test]
fn empty_log_without_checkpoints_is_intact() {
    let key = AuditKey::generate().unwrap();
    let report = verify_all(VerifyMode::Full(&key), Vec::new(), Vec::new()).unwrap();
    assert_eq!(report.records, 0);
    assert_eq!(report.head_seq, 0);
    assert_eq!(report.head, yunshu_audit::GENESIS);
}
