#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Unit tests of the layout arithmetic and header parsing.

use super::*;
use crate::cipher::SecretKey;
use crate::key::{KeyId, wrap_with};

#[test]
fn stored_length_inverts_for_all_small_lengths() {
    for chunk in [16u64, 32, 64 * 1024] {
        for p in (0..600u64).chain([chunk - 1, chunk, chunk + 1, 5 * chunk, 5 * chunk + 7]) {
            let l = Layout { header_len: 110, chunk_size: chunk, plaintext_len: p };
            assert_eq!(Layout::from_stored_len(110, chunk, l.stored_len()), Some(l), "p={p} c={chunk}");
        }
    }
}

#[test]
fn impossible_stored_lengths_are_refused() {
    // Header only, or a last chunk shorter than its tag.
    assert_eq!(Layout::from_stored_len(100, 16, 100), None);
    assert_eq!(Layout::from_stored_len(100, 16, 99), None);
    assert_eq!(Layout::from_stored_len(100, 16, 100 + 32 + 15), None);
}

#[test]
fn covering_chunks_and_ranges() {
    let l = Layout { header_len: 100, chunk_size: 32, plaintext_len: 100 };
    assert_eq!(l.chunks(), 4);
    assert_eq!(l.covering(&(0..1)), (0, 0));
    assert_eq!(l.covering(&(31..33)), (0, 1));
    assert_eq!(l.covering(&(96..100)), (3, 3));
    assert_eq!(l.stored_range(3, 3), 100 + 3 * 48..l.stored_len());
    assert_eq!(l.stored_range(0, 1), 100..100 + 96);
}

#[test]
fn header_roundtrip_and_bad_inputs() {
    let id = KeyId::parse("sm4-test").unwrap();
    let wrapped = wrap_with(&SecretKey::from_bytes([5; 16]), &id, &SecretKey::from_bytes([6; 16])).unwrap();
    let mut bytes = encode_header_body(&id, &wrapped, &[7; 16], 12345, 4096);
    bytes.extend_from_slice(&[0xaa; TAG_LEN]);
    bytes.extend_from_slice(b"body bytes follow");
    let raw = RawHeader::parse("p", &bytes).unwrap();
    assert_eq!(raw.key_id, id);
    assert_eq!(raw.wrapped, wrapped);
    assert_eq!((raw.nonce, raw.plaintext_len, raw.chunk_size), ([7; 16], 12345, 4096));
    assert_eq!(raw.len(), bytes.len() - 17);
    assert!(raw.len() <= MAX_HEADER_LEN);

    assert!(matches!(RawHeader::parse("p", b"PAR1...."), Err(VaultError::NotEncrypted { .. })));
    let mut v2 = bytes.clone();
    v2[4] = 2;
    assert!(matches!(RawHeader::parse("p", &v2), Err(VaultError::UnsupportedVersion { version: 2, .. })));
    assert!(matches!(RawHeader::parse("p", &bytes[..40]), Err(VaultError::HeaderInvalid { .. })));
    let mut odd = bytes.clone();
    let at = raw.len() - TAG_LEN - 4;
    odd[at..at + 4].copy_from_slice(&17u32.to_be_bytes());
    assert!(matches!(RawHeader::parse("p", &odd), Err(VaultError::HeaderInvalid { .. })));
}

#[test]
fn chunks_seal_and_open() {
    let keys = DerivedKeys::derive(&SecretKey::from_bytes([1; 16]), DATA_KEY_DOMAIN);
    let nonce = [9u8; 16];
    let plain: Vec<u8> = (0..100u8).collect();
    let layout = Layout { header_len: 0, chunk_size: 32, plaintext_len: 100 };
    let mut sealed = vec![0u8; layout.stored_len() as usize];
    seal_chunks(&keys, &nonce, 32, 0, 3, &plain, &mut sealed);
    let mut out = vec![0u8; 100];
    open_chunks(&keys, &nonce, &layout, 0, &sealed, &mut out, "p").unwrap();
    assert_eq!(out, plain);
    // Chunks 1..=2 alone.
    let r = layout.stored_range(1, 2);
    let mut mid = vec![0u8; 64];
    open_chunks(&keys, &nonce, &layout, 1, &sealed[r.start as usize..r.end as usize], &mut mid, "p").unwrap();
    assert_eq!(mid, plain[32..96]);
    // Presenting chunk 1 as chunk 2 fails.
    let err = open_chunks(&keys, &nonce, &layout, 2, &sealed[48..96], &mut [0u8; 32], "p").unwrap_err();
    assert_eq!(err.to_string(), "vault: integrity check failed for chunk 2 of p");
}
