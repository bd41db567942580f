#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Probe: how much faster would a T-table SM4 (S-box and linear map merged into four 1 KiB
//! tables, the classic software speed-up) be than RustCrypto `sm4` 0.6 on this machine?
//!
//! Test-only on purpose: production uses the RustCrypto crate (see the crate docs). The probe
//! is checked against `sm4` so its figure is for a correct cipher.

use std::time::Instant;

use sm4::Sm4;
use sm4::cipher::{Block, BlockCipherEncrypt, KeyInit};

const SBOX: [u8; 256] = [
    0xd6, 0x90, 0xe9, 0xfe, 0xcc, 0xe1, 0x3d, 0xb7, 0x16, 0xb6, 0x14, 0xc2, 0x28, 0xfb, 0x2c, 0x05, 0x2b,
    0x67, 0x9a, 0x76, 0x2a, 0xbe, 0x04, 0xc3, 0xaa, 0x44, 0x13, 0x26, 0x49, 0x86, 0x06, 0x99, 0x9c, 0x42,
    0x50, 0xf4, 0x91, 0xef, 0x98, 0x7a, 0x33, 0x54, 0x0b, 0x43, 0xed, 0xcf, 0xac, 0x62, 0xe4, 0xb3, 0x1c,
    0xa9, 0xc9, 0x08, 0xe8, 0x95, 0x80, 0xdf, 0x94, 0xfa, 0x75, 0x8f, 0x3f, 0xa6, 0x47, 0x07, 0xa7, 0xfc,
    0xf3, 0x73, 0x17, 0xba, 0x83, 0x59, 0x3c, 0x19, 0xe6, 0x85, 0x4f, 0xa8, 0x68, 0x6b, 0x81, 0xb2, 0x71,
    0x64, 0xda, 0x8b, 0xf8, 0xeb, 0x0f, 0x4b, 0x70, 0x56, 0x9d, 0x35, 0x1e, 0x24, 0x0e, 0x5e, 0x63, 0x58,
    0xd1, 0xa2, 0x25, 0x22, 0x7c, 0x3b, 0x01, 0x21, 0x78, 0x87, 0xd4, 0x00, 0x46, 0x57, 0x9f, 0xd3, 0x27,
    0x52, 0x4c, 0x36, 0x02, 0xe7, 0xa0, 0xc4, 0xc8, 0x9e, 0xea, 0xbf, 0x8a, 0xd2, 0x40, 0xc7, 0x38, 0xb5,
    0xa3, 0xf7, 0xf2, 0xce, 0xf9, 0x61, 0x15, 0xa1, 0xe0, 0xae, 0x5d, 0xa4, 0x9b, 0x34, 0x1a, 0x55, 0xad,
    0x93, 0x32, 0x30, 0xf5, 0x8c, 0xb1, 0xe3, 0x1d, 0xf6, 0xe2, 0x2e, 0x82, 0x66, 0xca, 0x60, 0xc0, 0x29,
    0x23, 0xab, 0x0d, 0x53, 0x4e, 0x6f, 0xd5, 0xdb, 0x37, 0x45, 0xde, 0xfd, 0x8e, 0x2f, 0x03, 0xff, 0x6a,
    0x72, 0x6d, 0x6c, 0x5b, 0x51, 0x8d, 0x1b, 0xaf, 0x92, 0xbb, 0xdd, 0xbc, 0x7f, 0x11, 0xd9, 0x5c, 0x41,
    0x1f, 0x10, 0x5a, 0xd8, 0x0a, 0xc1, 0x31, 0x88, 0xa5, 0xcd, 0x7b, 0xbd, 0x2d, 0x74, 0xd0, 0x12, 0xb8,
    0xe5, 0xb4, 0xb0, 0x89, 0x69, 0x97, 0x4a, 0x0c, 0x96, 0x77, 0x7e, 0x65, 0xb9, 0xf1, 0x09, 0xc5, 0x6e,
    0xc6, 0x84, 0x18, 0xf0, 0x7d, 0xec, 0x3a, 0xdc, 0x4d, 0x20, 0x79, 0xee, 0x5f, 0x3e, 0xd7, 0xcb, 0x39,
    0x48,
];

const FK: [u32; 4] = [0xa3b1bac6, 0x56aa3350, 0x677d9197, 0xb27022dc];

fn ck(i: usize) -> u32 {
    let b = |j: usize| (((4 * i + j) * 7) % 256) as u32;
    (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3)
}

fn tau(a: u32) -> u32 {
    u32::from_be_bytes(a.to_be_bytes().map(|b| SBOX[b as usize]))
}

struct TTable {
    t: [[u32; 256]; 4],
    rk: [u32; 32],
}

impl TTable {
    fn new(key: [u8; 16]) -> TTable {
        let l = |b: u32| b ^ b.rotate_left(2) ^ b.rotate_left(10) ^ b.rotate_left(18) ^ b.rotate_left(24);
        let mut t = [[0u32; 256]; 4];
        for x in 0..256 {
            let s = u32::from(SBOX[x]);
            for (k, table) in t.iter_mut().enumerate() {
                table[x] = l(s << (24 - 8 * k));
            }
        }
        let mut k: [u32; 4] =
            std::array::from_fn(|i| u32::from_be_bytes(key[4 * i..4 * i + 4].try_into().unwrap()) ^ FK[i]);
        let mut rk = [0u32; 32];
        for (i, r) in rk.iter_mut().enumerate() {
            let b = tau(k[1] ^ k[2] ^ k[3] ^ ck(i));
            let next = k[0] ^ b ^ b.rotate_left(13) ^ b.rotate_left(23);
            k = [k[1], k[2], k[3], next];
            *r = next;
        }
        TTable { t, rk }
    }

    #[inline]
    fn f(&self, b: u32) -> u32 {
        self.t[0][(b >> 24) as usize]
            ^ self.t[1][((b >> 16) & 0xff) as usize]
            ^ self.t[2][((b >> 8) & 0xff) as usize]
            ^ self.t[3][(b & 0xff) as usize]
    }

    fn encrypt(&self, block: &mut [u8; 16]) {
        let mut x: [u32; 4] =
            std::array::from_fn(|i| u32::from_be_bytes(block[4 * i..4 * i + 4].try_into().unwrap()));
        for r in self.rk.chunks_exact(4) {
            x[0] ^= self.f(x[1] ^ x[2] ^ x[3] ^ r[0]);
            x[1] ^= self.f(x[2] ^ x[3] ^ x[0] ^ r[1]);
            x[2] ^= self.f(x[3] ^ x[0] ^ x[1] ^ r[2]);
            x[3] ^= self.f(x[0] ^ x[1] ^ x[2] ^ r[3]);
        }
        for (i, w) in [x[3], x[2], x[1], x[0]].iter().enumerate() {
            block[4 * i..4 * i + 4].copy_from_slice(&w.to_be_bytes());
        }
    }
}

#[test]
fn ttable_matches_rustcrypto_sm4() {
    for seed in 0u8..20 {
        let key: [u8; 16] = std::array::from_fn(|i| seed.wrapping_mul(31).wrapping_add(i as u8 * 17));
        let fast = TTable::new(key);
        let reference = Sm4::new(&key.into());
        let mut a: [u8; 16] = std::array::from_fn(|i| seed ^ (i as u8 * 3));
        let mut b = Block::<Sm4>::from(a);
        fast.encrypt(&mut a);
        reference.encrypt_block(&mut b);
        assert_eq!(a.as_slice(), b.as_slice());
    }
}

/// `cargo test --release -p yunshu-vault --test sm4_ttable_probe -- --ignored --nocapture`
#[test]
#[ignore]
fn measure_ttable_against_rustcrypto() {
    const BLOCKS: usize = 2 * 1024 * 1024; // 32 MiB
    let key = [7u8; 16];
    let fast = TTable::new(key);
    let start = Instant::now();
    let mut acc = 0u8;
    for i in 0..BLOCKS {
        let mut b = (i as u128).to_be_bytes();
        fast.encrypt(&mut b);
        acc ^= b[0];
    }
    let t_table = (BLOCKS * 16) as f64 / start.elapsed().as_secs_f64() / 1e6;
    let reference = Sm4::new(&key.into());
    let start = Instant::now();
    let mut blocks = vec![Block::<Sm4>::default(); 64];
    for i in (0..BLOCKS).step_by(64) {
        for (j, b) in blocks.iter_mut().enumerate() {
            *b = ((i + j) as u128).to_be_bytes().into();
        }
        reference.encrypt_blocks(&mut blocks);
        acc ^= blocks[0][0];
    }
    let rc = (BLOCKS * 16) as f64 / start.elapsed().as_secs_f64() / 1e6;
    println!(
        "SM4 block encryption, one core: RustCrypto sm4 0.6 {rc:.1} MB/s, T-table {t_table:.1} MB/s ({acc})"
    );
}
