//! Streaming (multipart) encrypted uploads.
//!
//! Plaintext parts of any size are buffered up to chunk boundaries; once more than
//! [`crate::VaultConfig::multipart_part_size`] is buffered, all whole chunks except the one
//! holding the newest byte are sealed and sent as one inner part (the first part carries the
//! header). The newest chunk is held back because only `complete` knows which chunk is the
//! last, and the last flag is part of its MAC. Memory use is thus bounded by about one inner
//! part plus one chunk, whatever the object size.
//!
//! The header is uploaded first, before the length is known, so it records
//! [`crate::format::STREAMED`] and readers derive the length from the stored size.

use std::sync::Arc;

use async_trait::async_trait;
use object_store::{MultipartUpload, PutPayload, PutResult, UploadPart};

use crate::cipher::TAG_LEN;
use crate::error::VaultError;
use crate::store::{NewObject, Shared};

/// A multipart upload that encrypts into an inner multipart upload.
pub(crate) struct EncryptedUpload {
    shared: Arc<Shared>,
    inner: Box<dyn MultipartUpload>,
    object: NewObject,
    /// Header bytes not yet sent (sent with the first inner part).
    header_pending: bool,
    /// Plaintext not yet sealed.
    buf: Vec<u8>,
    /// Index of the next chunk to seal.
    next_chunk: u64,
}

impl std::fmt::Debug for EncryptedUpload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncryptedUpload")
            .field("inner", &self.inner)
            .field("buffered", &self.buf.len())
            .field("next_chunk", &self.next_chunk)
            .finish()
    }
}

impl EncryptedUpload {
    pub(crate) fn new(shared: Arc<Shared>, inner: Box<dyn MultipartUpload>, object: NewObject) -> Self {
        EncryptedUpload { shared, inner, object, header_pending: true, buf: Vec::new(), next_chunk: 0 }
    }

    fn chunk_size(&self) -> usize {
        self.shared.config().chunk_size as usize
    }

    /// Seals the first `plain_len` buffered bytes (whole chunks unless `last`) into one inner
    /// part payload, prefixed by the header if it has not been sent.
    fn seal_front(&mut self, plain_len: usize, last: bool) -> Result<PutPayload, VaultError> {
        let chunk = self.chunk_size();
        let chunks = plain_len.div_ceil(chunk).max(1);
        let header_len = if self.header_pending { self.object.header.len() } else { 0 };
        let mut out = vec![0u8; header_len + plain_len + chunks * TAG_LEN];
        out[..header_len].copy_from_slice(&self.object.header[..header_len]);
        let last_index = if last { self.next_chunk + chunks as u64 - 1 } else { u64::MAX };
        let (shared, object, buf) = (&self.shared, &self.object, &self.buf);
        let body = &mut out[header_len..];
        shared.seal(&object.keys, &object.nonce, self.next_chunk, last_index, &buf[..plain_len], body)?;
        self.buf.drain(..plain_len);
        self.next_chunk += chunks as u64;
        self.header_pending = false;
        Ok(PutPayload::from(out))
    }
}

#[async_trait]
impl MultipartUpload for EncryptedUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        for piece in &data {
            self.buf.extend_from_slice(piece);
        }
        let chunk = self.chunk_size();
        let threshold = self.shared.config().multipart_part_size.max(chunk);
        if self.buf.len() <= threshold {
            return Box::pin(futures::future::ready(Ok(())));
        }
        // Keep the chunk holding the newest byte: it may turn out to be the last one.
        let flush = (self.buf.len() - 1) / chunk * chunk;
        match self.seal_front(flush, false) {
            Ok(payload) => self.inner.put_part(payload),
            Err(e) => Box::pin(futures::future::ready(Err(e.into()))),
        }
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        let remaining = self.buf.len();
        let payload = self.seal_front(remaining, true)?;
        self.inner.put_part(payload).await?;
        self.inner.complete().await
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        self.buf.clear();
        self.inner.abort().await
    }
}
