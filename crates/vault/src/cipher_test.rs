#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Unit tests of the SM4-CTR and HMAC-SM3 primitives.

use super::*;

/// GB/T 32907-2016 example 1: key = plaintext = 0123456789abcdeffedcba9876543210.
const KEY: [u8; 16] =
    [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10];
const CIPHERTEXT: [u8; 16] =
    [0x68, 0x1e, 0xdf, 0x34, 0xd2, 0x06, 0x96, 0x5e, 0x86, 0xb3, 0xe9, 0x4f, 0x53, 0x6e, 0x42, 0x46];

#[test]
fn ctr_first_block_is_the_standard_vector() {
    // With zero data, CTR output is the encryption of the counter block (= nonce at block 0).
    let cipher = Sm4::new(&KEY.into());
    let mut data = [0u8; 16];
    ctr_xor(&cipher, &KEY, 0, &mut data);
    assert_eq!(data, CIPHERTEXT);
}

#[test]
fn ctr_is_seekable_and_involutive() {
    let cipher = Sm4::new(&[3u8; 16].into());
    let nonce = [0xffu8; 16]; // exercises the 128-bit wrap-around
    let plain: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
    let mut whole = plain.clone();
    ctr_xor(&cipher, &nonce, 0, &mut whole);
    // Decrypting a block-aligned slice on its own gives the same bytes.
    let mut part = whole[1600..3333].to_vec();
    ctr_xor(&cipher, &nonce, 100, &mut part);
    assert_eq!(part, plain[1600..3333]);
    ctr_xor(&cipher, &nonce, 0, &mut whole);
    assert_eq!(whole, plain);
}

#[test]
fn tags_bind_every_part() {
    let keys = DerivedKeys::derive(&SecretKey::from_bytes([1; 16]), "test");
    let tag = keys.tag(&[b"a", b"bc"]);
    assert!(keys.verify(&[b"a", b"bc"], &tag));
    assert!(!keys.verify(&[b"a", b"bd"], &tag));
    assert!(!keys.verify(&[b"a", b"bc"], &tag[..15]));
    let other = DerivedKeys::derive(&SecretKey::from_bytes([2; 16]), "test");
    assert!(!other.verify(&[b"a", b"bc"], &tag));
    let other_domain = DerivedKeys::derive(&SecretKey::from_bytes([1; 16]), "other");
    assert!(!other_domain.verify(&[b"a", b"bc"], &tag));
}

#[test]
fn throughput_probe_reports_positive_numbers() {
    let t = sm4_throughput(64 * 1024, 2);
    assert_eq!(t.cores, 2);
    assert!(t.per_core_bytes_per_s > 0.0 && t.total_bytes_per_s > 0.0);
}

/// Run with `cargo test --release -p yunshu-vault -- --ignored --nocapture`.
#[test]
#[ignore]
fn measure_sm4_and_hmac_throughput() {
    let t = sm4_throughput(64 * 1024 * 1024, 0);
    println!(
        "SM4-CTR: {:.1} MB/s per core, {:.1} MB/s on {} threads",
        t.per_core_bytes_per_s / 1e6,
        t.total_bytes_per_s / 1e6,
        t.cores
    );
    let keys = DerivedKeys::derive(&SecretKey::from_bytes([1; 16]), "bench");
    let data = vec![0u8; 64 * 1024 * 1024];
    let start = Instant::now();
    for chunk in data.chunks(64 * 1024) {
        std::hint::black_box(keys.tag(&[chunk]));
    }
    println!(
        "HMAC-SM3 (64 KiB chunks): {:.1} MB/s per core",
        data.len() as f64 / start.elapsed().as_secs_f64() / 1e6
    );
}
