//! `yunshu-vault`: Parquet and other objects encrypted at rest with SM4 (Art. 16 ingestion).
//!
//! [`EncryptedStore`] wraps any `object_store::ObjectStore` and implements it again: writes are
//! encrypted before they reach the inner store, reads fetch only the chunks a byte range
//! covers, authenticate them and decrypt them. No plaintext reaches the inner store, and a
//! Parquet scan of one column decrypts only (the chunks of) that column's bytes.
//!
//! * Envelope encryption: every object has a random 128-bit data key, stored in its header
//!   wrapped under a master key from a [`KeyProvider`] ([`LocalKeyFile`] by default).
//! * Object format ([`format`](mod@format)): header, then chunks of 64 KiB plaintext (configurable), each
//!   SM4-CTR ciphertext plus a 16-byte tag binding nonce, chunk index and last flag — SM4-GCM's
//!   construction (GHASH, CLMUL-accelerated, masked with an SM4 block under a separate key); the
//!   first version used HMAC-SM3, which cost a fifth of a scan's CPU.
//!   The CTR counter is global across the object, so chunk `i` sits at a computable offset and
//!   decrypts on its own; edits, reordering and truncation fail with
//!   "integrity check failed for chunk N of PATH".
//!
//! # SM4 implementation
//!
//! Candidates examined (`cargo info`, sources read):
//!
//! | crate | implementation | verdict |
//! |---|---|---|
//! | RustCrypto `sm4` 0.6.0 | byte S-box + rotations, one block at a time (`ParBlocksSize = U1`); no SIMD/bitsliced backend, only a `zeroize` feature | **chosen** |
//! | `libsm` 0.6.1 | same byte S-box approach, allocating API, pulls `num-bigint`, `rand`, `yasna` | slower API, heavy |
//! | `gmsm` 0.1.0 | T-tables, but ECB/CBC-with-PKCS7 only, allocates per call, unmaintained | unusable for CTR |
//! | `smcrypto` 0.3.1 | byte S-box, `Vec`-based API | no gain |
//! | `sm4-gcm` 0.1.2 | wrapper over RustCrypto `sm4` 0.5 | same core |
//!
//! No maintained crate offers a bitsliced or vector (AES-NI/GFNI-based) SM4 for Rust; those
//! exist in C (GmSSL, OpenSSL 3 with SM4 on ARMv8.2 / AVX2-GFNI, Linux kernel) only. We
//! therefore use RustCrypto `sm4` (well kept, `#![deny(unsafe_code)]`, zeroizes round keys)
//! and write CTR mode on top ([`format`](mod@format) fixes the counter layout). Our code has no `unsafe`.
//!
//! Measured on this machine (2 cores, release build; other agents' builds kept the load
//! average at 3–4, so the second core was mostly taken and 2-thread figures show no scaling;
//! rerun `cargo test --release -p yunshu-vault -- --ignored --nocapture` on an idle machine):
//!
//! * raw SM4-CTR ([`sm4_throughput`]): 68–95 MB/s per core across runs (92 MB/s typical);
//! * HMAC-SM3 over 64 KiB chunks: 230–370 MB/s per core, so authenticated decryption costs
//!   about 1/92 + 1/370 s per MB, i.e. ~74 MB/s per core at best (the MAC is ~20% of the work);
//! * [`EncryptedStore`] over an in-memory store, 128 MiB object, full scan as a stream:
//!   77–79 MB/s (put 74–79 MB/s) against raw SM4-CTR of 83–98 MB/s measured in the same run;
//! * a test-only T-table SM4 (four 1 KiB tables merging S-box and linear map; checked equal to
//!   `sm4` in `tests/sm4_ttable_probe.rs`): 148–154 MB/s against 97–101 MB/s for `sm4` in the
//!   same runs (+50%; +25% in a noisier run). Not adopted: it would be our own cipher code
//!   with a 4 KiB table (a larger cache-timing footprint than the 256-byte S-box), and the
//!   task asks for a well-kept crate. It is the obvious next step if the SM4 limit matters
//!   more than that; it would need review and the differential test kept.
//!
//! Consequence for the benchmark goal (scan ≥ 0.8 × min(plain scan, SM4 limit)): with
//! HMAC-SM3 per chunk the ceiling was ~0.8 × the raw SM4 limit (measured 0.77 on 10M rows), so the
//! chunk tag is now GHASH-based (see `format`), which leaves SM4 itself as nearly the whole cost.

mod cipher;
mod error;
pub mod format;
mod key;
mod store;
mod upload;

pub use cipher::{SecretKey, TAG_LEN, Throughput, sm4_throughput};
pub use error::{STORE_NAME, VaultError};
pub use key::{KeyId, KeyProvider, LocalKeyFile, WRAPPED_LEN, WrappedKey, unwrap_with, wrap_with};
pub use store::{EncryptedStore, VaultConfig};
