//! SM4-CTR, the GHASH-based tag, HMAC-SM3 key derivation and the throughput probe.
//!
//! CTR mode is written here (a dozen lines) rather than pulled from the `ctr` crate because
//! the counter layout is part of our object format: the counter block for byte offset `o` of
//! an object is `nonce + o / 16` (128-bit big-endian, wrapping), global across the object, so
//! any byte range maps to keystream blocks directly and a chunk can be decrypted alone.
//!
//! Keystream is produced in batches of [`KS_BLOCKS`] blocks through `encrypt_blocks`, which
//! lets the cipher use its parallel backend where one exists (RustCrypto `sm4` 0.6 has none
//! today, so it processes one block at a time; see the crate docs for the measurements).

use std::time::Instant;

use hmac::{Hmac, Mac};
use sm3::Sm3;
use sm4::Sm4;
use sm4::cipher::{Block, BlockCipherEncrypt, KeyInit};
use zeroize::{Zeroize, Zeroizing};

/// HMAC-SM3.
pub(crate) type HmacSm3 = Hmac<Sm3>;

/// Blocks of keystream generated per `encrypt_blocks` call (1 KiB).
const KS_BLOCKS: usize = 64;

/// Length of MAC tags (128 bits).
pub const TAG_LEN: usize = 16;

/// A 128-bit secret key (master or data key), wiped on drop.
#[derive(Clone)]
pub struct SecretKey([u8; 16]);

impl Drop for SecretKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl SecretKey {
    /// Wraps raw key bytes.
    pub fn from_bytes(bytes: [u8; 16]) -> SecretKey {
        SecretKey(bytes)
    }

    /// A fresh key from the OS random number generator.
    pub fn random() -> Result<SecretKey, crate::VaultError> {
        let mut key = [0u8; 16];
        getrandom::fill(&mut key).map_err(|e| crate::VaultError::Randomness(e.to_string()))?;
        Ok(SecretKey(key))
    }

    /// The raw key bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

/// HMAC-SM3 of `parts` under `key`, full 32 bytes.
pub(crate) fn hmac_sm3(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail; the fallback only
    // exists because the workspace forbids `expect`.
    let mut mac = match <HmacSm3 as hmac::KeyInit>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => HmacSm3::new(&Default::default()),
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// The keys one object (or one key-wrapping operation) uses, derived from a 128-bit secret:
/// `enc = HMAC-SM3(secret, "<domain>/enc")[..16]`, `mac = HMAC-SM3(secret, "<domain>/mac")` split into
/// the GHASH key's SM4 key (first half; `H = SM4(0¹²⁸)` as in GCM) and the mask key (second half).
/// No key is used in two roles.
pub(crate) struct DerivedKeys {
    cipher: Sm4,
    /// GHASH key H.
    hash_key: [u8; 16],
    /// SM4 key of the per-message mask.
    mask: Sm4,
}

impl Drop for DerivedKeys {
    fn drop(&mut self) {
        self.hash_key.zeroize();
    }
}

impl DerivedKeys {
    pub(crate) fn derive(secret: &SecretKey, domain: &str) -> DerivedKeys {
        let enc = Zeroizing::new(hmac_sm3(secret.as_bytes(), &[domain.as_bytes(), b"/enc"]));
        let mac_key = Zeroizing::new(hmac_sm3(secret.as_bytes(), &[domain.as_bytes(), b"/mac"]));
        let mut key = Zeroizing::new([0u8; 16]);
        key.copy_from_slice(&enc[..16]);
        let cipher = Sm4::new(&(*key).into());
        let mut half = Zeroizing::new([0u8; 16]);
        half.copy_from_slice(&mac_key[..16]);
        let mut h = Block::<Sm4>::default();
        Sm4::new(&(*half).into()).encrypt_block(&mut h);
        let mut hash_key = [0u8; 16];
        hash_key.copy_from_slice(&h);
        h.zeroize();
        half.copy_from_slice(&mac_key[16..32]);
        let mask = Sm4::new(&(*half).into());
        DerivedKeys { cipher, hash_key, mask }
    }

    /// XORs the SM4-CTR keystream into `data`, starting at keystream block `first_block`.
    pub(crate) fn ctr_xor(&self, nonce: &[u8; 16], first_block: u64, data: &mut [u8]) {
        ctr_xor(&self.cipher, nonce, first_block, data);
    }

    /// The tag of `parts`: the last part is the message (a chunk's ciphertext), the ones before it
    /// its context (object nonce, chunk index, last flag; or the wrap nonce), which every caller makes
    /// unique per message under one key. GCM's construction with SM4:
    /// `GHASH_H(pad(context) ‖ pad(message) ‖ len(context) ‖ len(message)) ⊕ SM4_mask(SM3(context)[..16])`
    /// — a Carter–Wegman MAC whose mask never repeats for a key because the context does not.
    pub(crate) fn tag(&self, parts: &[&[u8]]) -> [u8; TAG_LEN] {
        use ghash::universal_hash::UniversalHash;
        let (message, context) = parts.split_last().map(|(m, c)| (*m, c)).unwrap_or((&[][..], &[][..]));
        let mut ctx_bytes = Vec::with_capacity(context.iter().map(|p| p.len()).sum());
        for p in context {
            ctx_bytes.extend_from_slice(p);
        }
        let mut g = ghash::GHash::new(&self.hash_key.into());
        g.update_padded(&ctx_bytes);
        g.update_padded(message);
        let mut lengths = [0u8; 16];
        lengths[..8].copy_from_slice(&((ctx_bytes.len() as u64) * 8).to_be_bytes());
        lengths[8..].copy_from_slice(&((message.len() as u64) * 8).to_be_bytes());
        g.update_padded(&lengths);
        let hashed = g.finalize();
        let digest: [u8; 32] = <Sm3 as sm3::Digest>::digest(&ctx_bytes).into();
        let mut mask = Block::<Sm4>::default();
        mask.copy_from_slice(&digest[..16]);
        self.mask.encrypt_block(&mut mask);
        let mut tag = [0u8; TAG_LEN];
        for (t, (a, b)) in tag.iter_mut().zip(hashed.iter().zip(mask.iter())) {
            *t = a ^ b;
        }
        tag
    }

    /// Constant-time comparison of a computed tag with a stored one.
    pub(crate) fn verify(&self, parts: &[&[u8]], stored: &[u8]) -> bool {
        let expected = self.tag(parts);
        stored.len() == TAG_LEN && expected.iter().zip(stored).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

/// SM4-CTR: XORs the keystream for blocks `first_block..` (counter `nonce + block`) into `data`.
fn ctr_xor(cipher: &Sm4, nonce: &[u8; 16], first_block: u64, data: &mut [u8]) {
    let base = u128::from_be_bytes(*nonce);
    let mut ks = [Block::<Sm4>::default(); KS_BLOCKS];
    let mut block = first_block;
    for piece in data.chunks_mut(KS_BLOCKS * 16) {
        let n = piece.len().div_ceil(16);
        for (i, b) in ks[..n].iter_mut().enumerate() {
            let ctr = base.wrapping_add(u128::from(block) + i as u128);
            *b = ctr.to_be_bytes().into();
        }
        cipher.encrypt_blocks(&mut ks[..n]);
        for (d, k) in piece.chunks_mut(16).zip(ks.iter()) {
            for (x, y) in d.iter_mut().zip(k.iter()) {
                *x ^= y;
            }
        }
        block += n as u64;
    }
}

/// Result of [`sm4_throughput`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throughput {
    /// SM4-CTR bytes per second on one core.
    pub per_core_bytes_per_s: f64,
    /// Threads used for the total.
    pub cores: usize,
    /// SM4-CTR bytes per second with `cores` threads working on disjoint buffers.
    pub total_bytes_per_s: f64,
}

/// Measures raw SM4-CTR (keystream + XOR, no MAC) on this machine: `bytes` per thread, first
/// on one thread, then on `threads` threads at once (0 means all available cores).
///
/// This is the "SM4 limit" of benchmarks.md P2/P3; build in release mode for meaningful numbers.
pub fn sm4_throughput(bytes: usize, threads: usize) -> Throughput {
    let threads = if threads == 0 { available_threads() } else { threads };
    let cipher = Sm4::new(&[7u8; 16].into());
    let nonce = [9u8; 16];
    let run = |buf: &mut Vec<u8>| {
        ctr_xor(&cipher, &nonce, 0, buf);
        std::hint::black_box(&buf);
    };
    let mut one = vec![0u8; bytes];
    let start = Instant::now();
    run(&mut one);
    let per_core = bytes as f64 / start.elapsed().as_secs_f64().max(1e-9);

    let mut bufs: Vec<Vec<u8>> = (0..threads).map(|_| vec![0u8; bytes]).collect();
    let start = Instant::now();
    std::thread::scope(|s| {
        for buf in bufs.iter_mut() {
            s.spawn(|| run(buf));
        }
    });
    let total = (bytes * threads) as f64 / start.elapsed().as_secs_f64().max(1e-9);
    Throughput { per_core_bytes_per_s: per_core, cores: threads, total_bytes_per_s: total }
}

/// Number of threads the machine offers (at least 1).
pub(crate) fn available_threads() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

#[cfg(test)]
#[path = "cipher_test.rs"]
mod tests;
