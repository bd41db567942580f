//! The encrypted object format (version 1) and its layout arithmetic.
//!
//! ```text
//! header:  "YSV1" | version u8 = 1 | key id length u8 | key id (ASCII)
//!          | wrapped data key (48 bytes) | object nonce (16) | plaintext length u64 BE
//!          | chunk size u32 BE | header tag (16)
//! chunks:  chunk i at header_len + i * (chunk_size + 16):
//!          SM4-CTR ciphertext of plaintext[i*C .. min((i+1)*C, P)] | tag (16)
//! ```
//!
//! * Every object has at least one chunk: an empty object is one empty chunk whose tag carries
//!   the last flag, so cutting an object back to its header is detected like any truncation.
//! * The chunk tag is the GCM-style MAC of `DerivedKeys::tag` over the context
//!   `nonce || chunk index u64 BE || is_last u8` and the ciphertext (GHASH masked with SM4 of the
//!   context's SM3): the index catches reordering, the last flag catches truncation at a chunk
//!   boundary, the MAC catches edits.
//! * The header tag is the same MAC over all header bytes before it, so the plaintext length and
//!   chunk size cannot be altered either.
//! * The plaintext length is [`STREAMED`] for objects written by a multipart upload (the header is
//!   uploaded before the length is known); it is then derived from the object size. Both are
//!   cross-checked when the length is known.
//! * The path is deliberately not bound into the MACs, so `copy`/`rename` stay server-side
//!   operations of the inner store without re-encryption.

use crate::cipher::{DerivedKeys, TAG_LEN};
use crate::error::VaultError;
use crate::key::{KeyId, WRAPPED_LEN, WrappedKey};

/// Magic bytes at offset 0.
pub const MAGIC: &[u8; 4] = b"YSV1";
/// Format version.
pub const VERSION: u8 = 1;
/// Plaintext length value meaning "derive from the object size".
pub const STREAMED: u64 = u64::MAX;
/// Header bytes without the key id.
const FIXED_LEN: usize = 4 + 1 + 1 + WRAPPED_LEN + 16 + 8 + 4 + TAG_LEN;
/// Longest possible header; one ranged read of this many bytes always covers the header.
pub const MAX_HEADER_LEN: usize = FIXED_LEN + KeyId::MAX_LEN;
/// Default plaintext chunk size (64 KiB).
pub const DEFAULT_CHUNK_SIZE: u32 = 64 * 1024;
/// Domain-separation label for the per-object keys.
pub(crate) const DATA_KEY_DOMAIN: &str = "yunshu-vault/v1/data";

/// The unauthenticated fields of a header, as read from the bytes.
#[derive(Debug, Clone)]
pub(crate) struct RawHeader {
    pub key_id: KeyId,
    pub wrapped: WrappedKey,
    pub nonce: [u8; 16],
    pub plaintext_len: u64,
    pub chunk_size: u32,
    /// Header bytes covered by the header tag.
    pub authenticated: Vec<u8>,
    pub tag: [u8; TAG_LEN],
}

impl RawHeader {
    /// Encoded length.
    pub fn len(&self) -> usize {
        self.authenticated.len() + TAG_LEN
    }

    /// Parses the header at the start of `bytes` (which may extend past the header).
    pub fn parse(path: &str, bytes: &[u8]) -> Result<RawHeader, VaultError> {
        let invalid =
            |reason: &str| VaultError::HeaderInvalid { path: path.to_string(), reason: reason.into() };
        if bytes.len() < 6 || &bytes[..4] != MAGIC {
            return Err(VaultError::NotEncrypted { path: path.to_string() });
        }
        if bytes[4] != VERSION {
            return Err(VaultError::UnsupportedVersion { path: path.to_string(), version: bytes[4] });
        }
        let id_len = usize::from(bytes[5]);
        let total = FIXED_LEN + id_len;
        if bytes.len() < total {
            return Err(invalid("header is cut short"));
        }
        let key_id = std::str::from_utf8(&bytes[6..6 + id_len])
            .ok()
            .and_then(|s| KeyId::parse(s).ok())
            .ok_or_else(|| invalid("key id is not valid"))?;
        let mut at = 6 + id_len;
        let mut take = |n: usize| {
            let s = &bytes[at..at + n];
            at += n;
            s
        };
        let wrapped = WrappedKey::from_slice(take(WRAPPED_LEN)).ok_or_else(|| invalid("wrapped key"))?;
        let nonce: [u8; 16] = take(16).try_into().map_err(|_| invalid("nonce"))?;
        let plaintext_len = u64::from_be_bytes(take(8).try_into().map_err(|_| invalid("length"))?);
        let chunk_size = u32::from_be_bytes(take(4).try_into().map_err(|_| invalid("chunk size"))?);
        let tag: [u8; TAG_LEN] = take(TAG_LEN).try_into().map_err(|_| invalid("tag"))?;
        check_chunk_size(chunk_size).map_err(|_| invalid("chunk size is not a positive multiple of 16"))?;
        Ok(RawHeader {
            key_id,
            wrapped,
            nonce,
            plaintext_len,
            chunk_size,
            authenticated: bytes[..total - TAG_LEN].to_vec(),
            tag,
        })
    }
}

/// Encodes a header (without its tag) for writing.
pub(crate) fn encode_header_body(
    key_id: &KeyId,
    wrapped: &WrappedKey,
    nonce: &[u8; 16],
    plaintext_len: u64,
    chunk_size: u32,
) -> Vec<u8> {
    let id = key_id.as_str().as_bytes();
    let mut out = Vec::with_capacity(FIXED_LEN + id.len());
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    // `KeyId` guarantees at most `KeyId::MAX_LEN` (< 256) bytes.
    out.push(u8::try_from(id.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(id);
    out.extend_from_slice(wrapped.as_bytes());
    out.extend_from_slice(nonce);
    out.extend_from_slice(&plaintext_len.to_be_bytes());
    out.extend_from_slice(&chunk_size.to_be_bytes());
    out
}

/// Chunk sizes must be whole SM4 blocks so that every chunk starts on a keystream block.
pub(crate) fn check_chunk_size(chunk_size: u32) -> Result<(), VaultError> {
    if chunk_size == 0 || !chunk_size.is_multiple_of(16) || chunk_size > 64 * 1024 * 1024 {
        return Err(VaultError::Config(format!(
            "chunk size {chunk_size} must be a positive multiple of 16 of at most 64 MiB"
        )));
    }
    Ok(())
}

/// The chunk layout of one object, fully determined by header length, chunk size and
/// plaintext length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Header bytes.
    pub header_len: u64,
    /// Plaintext bytes per chunk (the last chunk may be shorter).
    pub chunk_size: u64,
    /// Plaintext length.
    pub plaintext_len: u64,
}

impl Layout {
    /// Stored bytes per full chunk.
    pub fn stride(&self) -> u64 {
        self.chunk_size + TAG_LEN as u64
    }

    /// Number of chunks (at least 1).
    pub fn chunks(&self) -> u64 {
        self.plaintext_len.div_ceil(self.chunk_size).max(1)
    }

    /// Total stored size.
    pub fn stored_len(&self) -> u64 {
        self.header_len + self.plaintext_len + self.chunks() * TAG_LEN as u64
    }

    /// Derives the plaintext length from the stored size; `None` if no plaintext length fits.
    pub fn from_stored_len(header_len: u64, chunk_size: u64, stored: u64) -> Option<Layout> {
        let body = stored.checked_sub(header_len)?;
        let stride = chunk_size + TAG_LEN as u64;
        let chunks = body.div_ceil(stride).max(1);
        let plaintext_len = body.checked_sub(chunks * TAG_LEN as u64)?;
        let layout = Layout { header_len, chunk_size, plaintext_len };
        (layout.chunks() == chunks && layout.stored_len() == stored).then_some(layout)
    }

    /// Plaintext length of chunk `i`.
    pub fn chunk_plain_len(&self, i: u64) -> u64 {
        let start = i * self.chunk_size;
        self.plaintext_len.saturating_sub(start).min(self.chunk_size)
    }

    /// Stored byte range of chunks `first..=last`.
    pub fn stored_range(&self, first: u64, last: u64) -> std::ops::Range<u64> {
        let start = self.header_len + first * self.stride();
        let end = self.header_len + last * self.stride() + self.chunk_plain_len(last) + TAG_LEN as u64;
        start..end
    }

    /// Chunks covering the non-empty plaintext range `range`.
    pub fn covering(&self, range: &std::ops::Range<u64>) -> (u64, u64) {
        (range.start / self.chunk_size, range.end.saturating_sub(1) / self.chunk_size)
    }
}

/// Seals consecutive plaintext chunks `first..` into `out` (ciphertext || tag per chunk;
/// exactly `plain.len() + chunks * TAG_LEN` bytes). `last_index` is the index of the object's
/// final chunk; an empty `plain` seals one empty chunk.
pub(crate) fn seal_chunks(
    keys: &DerivedKeys,
    nonce: &[u8; 16],
    chunk_size: usize,
    first: u64,
    last_index: u64,
    plain: &[u8],
    out: &mut [u8],
) {
    let empty: [&[u8]; 1] = [&[]];
    let pieces: Box<dyn Iterator<Item = &[u8]>> =
        if plain.is_empty() { Box::new(empty.into_iter()) } else { Box::new(plain.chunks(chunk_size)) };
    let mut at = 0usize;
    for (index, piece) in (first..).zip(pieces) {
        let Some(dst) = out.get_mut(at..at + piece.len() + TAG_LEN) else { return };
        let (ct, tag) = dst.split_at_mut(piece.len());
        ct.copy_from_slice(piece);
        keys.ctr_xor(nonce, index * (chunk_size as u64 / 16), ct);
        tag.copy_from_slice(&keys.tag(&[nonce, &index.to_be_bytes(), &[u8::from(index == last_index)], ct]));
        at += piece.len() + TAG_LEN;
    }
}

/// Verifies and decrypts consecutive stored chunks `first..` from `stored` into `out`
/// (which must be exactly the plaintext length of those chunks).
pub(crate) fn open_chunks(
    keys: &DerivedKeys,
    nonce: &[u8; 16],
    layout: &Layout,
    first: u64,
    stored: &[u8],
    out: &mut [u8],
    path: &str,
) -> Result<(), VaultError> {
    let last_index = layout.chunks() - 1;
    let stride = layout.stride() as usize;
    let mut out_at = 0usize;
    for (index, piece) in (first..).zip(stored.chunks(stride)) {
        let bad = || VaultError::ChunkIntegrity { path: path.to_string(), chunk: index };
        let plain_len = layout.chunk_plain_len(index) as usize;
        if index > last_index || piece.len() != plain_len + TAG_LEN || out.len() < out_at + plain_len {
            return Err(bad());
        }
        let (ct, tag) = piece.split_at(plain_len);
        if !keys.verify(&[nonce, &index.to_be_bytes(), &[u8::from(index == last_index)], ct], tag) {
            return Err(bad());
        }
        let dst = &mut out[out_at..out_at + plain_len];
        dst.copy_from_slice(ct);
        keys.ctr_xor(nonce, index * (layout.chunk_size / 16), dst);
        out_at += plain_len;
    }
    if out_at != out.len() {
        return Err(VaultError::ShortRead {
            path: path.to_string(),
            expected: out.len() as u64,
            got: out_at as u64,
        });
    }
    Ok(())
}

#[cfg(test)]
#[path = "format_test.rs"]
mod tests;
