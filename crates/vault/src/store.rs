//! [`EncryptedStore`]: an `object_store::ObjectStore` that encrypts everything it writes into
//! an inner store and decrypts on read, fetching only the chunks a ranged read covers.
//!
//! Reads and headers: a read needs the object's header (data key, nonce, layout). Parsed
//! headers are cached per path together with the inner ETag and stored size they were read
//! from. A cached read is one inner request: the covering chunks are fetched with
//! `If-Match: <cached etag>`; if the object changed meanwhile the precondition fails, the
//! entry is dropped and the read starts over with a fresh header (two requests). Stores
//! without ETags are never cached.
//!
//! Sizes: `head`, `get` and `list` report PLAINTEXT sizes, because Parquet readers (and
//! DataFusion's listing) locate the footer from the size. The plaintext size is derived from
//! the stored size and the header (header length and chunk size vary per object), so `list`
//! reads the header of every listed object it has not cached, [`VaultConfig::list_concurrency`]
//! at a time. Listing a prefix that holds unencrypted objects therefore fails on them.
//!
//! CPU work: sealing and opening run on up to [`VaultConfig::threads`] threads when the payload
//! exceeds [`VaultConfig::parallel_threshold`], inside `tokio::task::block_in_place` on a
//! multi-threaded runtime so other tasks move off the worker meanwhile. Large reads are
//! fetched and decrypted as a stream of batches of [`VaultConfig::batch_bytes`] (one ranged
//! inner request each, so no re-buffering copy), the next batch being fetched while the
//! previous one is decrypted.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetRange, GetResult, GetResultPayload, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions,
};

use crate::cipher::{DerivedKeys, SecretKey, TAG_LEN, available_threads};
use crate::error::VaultError;
use crate::format::{
    DATA_KEY_DOMAIN, DEFAULT_CHUNK_SIZE, Layout, MAX_HEADER_LEN, RawHeader, STREAMED, check_chunk_size,
    encode_header_body, open_chunks, seal_chunks,
};
use crate::key::KeyProvider;
use crate::upload::EncryptedUpload;

/// Tunables of an [`EncryptedStore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultConfig {
    /// Plaintext bytes per chunk for new objects (multiple of 16). Default 64 KiB.
    pub chunk_size: u32,
    /// Minimum inner part size of multipart uploads (S3 needs 5 MiB). Default 8 MiB.
    pub multipart_part_size: usize,
    /// Threads for sealing/opening large payloads. Default: available cores.
    pub threads: usize,
    /// Payloads at least this large are processed on several threads. Default 256 KiB.
    pub parallel_threshold: usize,
    /// Reads of more stored bytes than this are fetched and decrypted as a stream of batches
    /// (one inner request each). Default 16 MiB.
    pub stream_threshold: u64,
    /// Stored bytes per batch of a streamed read. Default 4 MiB.
    pub batch_bytes: usize,
    /// Parsed headers kept in the cache. Default 1024.
    pub header_cache_entries: usize,
    /// Concurrent header reads while listing. Default 8.
    pub list_concurrency: usize,
}

impl Default for VaultConfig {
    fn default() -> Self {
        VaultConfig {
            chunk_size: DEFAULT_CHUNK_SIZE,
            multipart_part_size: 8 * 1024 * 1024,
            threads: available_threads(),
            parallel_threshold: 256 * 1024,
            stream_threshold: 16 * 1024 * 1024,
            batch_bytes: 4 * 1024 * 1024,
            header_cache_entries: 1024,
            list_concurrency: 8,
        }
    }
}

/// An authenticated, parsed object header.
pub(crate) struct ObjectHeader {
    pub keys: DerivedKeys,
    pub nonce: [u8; 16],
    pub layout: Layout,
}

#[derive(Clone)]
struct CacheEntry {
    e_tag: String,
    size: u64,
    header: Arc<ObjectHeader>,
}

/// A bounded map of parsed headers, evicting the oldest insertion first.
struct HeaderCache {
    capacity: usize,
    state: Mutex<(HashMap<Path, CacheEntry>, VecDeque<Path>)>,
}

impl HeaderCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, (HashMap<Path, CacheEntry>, VecDeque<Path>)> {
        // The map stays consistent even if a holder panicked, so a poisoned lock is usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn get(&self, path: &Path) -> Option<CacheEntry> {
        self.lock().0.get(path).cloned()
    }

    fn get_valid(&self, path: &Path, e_tag: Option<&str>, size: u64) -> Option<Arc<ObjectHeader>> {
        let e_tag = e_tag?;
        self.get(path).filter(|e| e.e_tag == e_tag && e.size == size).map(|e| e.header)
    }

    fn insert(&self, path: &Path, entry: CacheEntry) {
        if self.capacity == 0 {
            return;
        }
        let mut guard = self.lock();
        let (map, order) = &mut *guard;
        if map.insert(path.clone(), entry).is_none() {
            order.push_back(path.clone());
        }
        while map.len() > self.capacity {
            match order.pop_front() {
                Some(old) => {
                    map.remove(&old);
                }
                None => break,
            }
        }
    }

    fn remove(&self, path: &Path) {
        let mut guard = self.lock();
        let (map, order) = &mut *guard;
        if map.remove(path).is_some() {
            order.retain(|p| p != path);
        }
    }
}

pub(crate) struct Shared {
    inner: Arc<dyn ObjectStore>,
    keys: Arc<dyn KeyProvider>,
    config: VaultConfig,
    cache: HeaderCache,
}

/// An object store that encrypts with SM4 into an inner object store.
///
/// Cheap to clone (all state is behind an `Arc`).
#[derive(Clone)]
pub struct EncryptedStore {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for EncryptedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncryptedStore")
            .field("inner", &self.shared.inner)
            .field("keys", &self.shared.keys)
            .field("config", &self.shared.config)
            .finish()
    }
}

impl std::fmt::Display for EncryptedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EncryptedStore({})", self.shared.inner)
    }
}

impl EncryptedStore {
    /// Wraps `inner` with the default configuration.
    pub fn new(inner: Arc<dyn ObjectStore>, keys: Arc<dyn KeyProvider>) -> EncryptedStore {
        let config = VaultConfig::default();
        let cache = HeaderCache { capacity: config.header_cache_entries, state: Mutex::default() };
        EncryptedStore { shared: Arc::new(Shared { inner, keys, config, cache }) }
    }

    /// Wraps `inner` with `config` (refused if the chunk size is not a multiple of 16).
    pub fn with_config(
        inner: Arc<dyn ObjectStore>,
        keys: Arc<dyn KeyProvider>,
        config: VaultConfig,
    ) -> Result<EncryptedStore, VaultError> {
        check_chunk_size(config.chunk_size)?;
        let mut config = config;
        config.threads = config.threads.max(1);
        config.batch_bytes = config.batch_bytes.max(1);
        config.list_concurrency = config.list_concurrency.max(1);
        let cache = HeaderCache { capacity: config.header_cache_entries, state: Mutex::default() };
        Ok(EncryptedStore { shared: Arc::new(Shared { inner, keys, config, cache }) })
    }

    /// The inner (ciphertext) store.
    pub fn inner(&self) -> &Arc<dyn ObjectStore> {
        &self.shared.inner
    }

    /// The configuration in use.
    pub fn config(&self) -> &VaultConfig {
        &self.shared.config
    }
}

/// A fresh data key, its wrapping and nonce, and the encoded, tagged header.
pub(crate) struct NewObject {
    pub keys: DerivedKeys,
    pub nonce: [u8; 16],
    pub header: Vec<u8>,
}

impl Shared {
    pub(crate) fn config(&self) -> &VaultConfig {
        &self.config
    }

    pub(crate) fn new_object(&self, plaintext_len: u64) -> Result<NewObject, VaultError> {
        let data_key = SecretKey::random()?;
        let (key_id, wrapped) = self.keys.wrap_data_key(&data_key)?;
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).map_err(|e| VaultError::Randomness(e.to_string()))?;
        let keys = DerivedKeys::derive(&data_key, DATA_KEY_DOMAIN);
        let mut header = encode_header_body(&key_id, &wrapped, &nonce, plaintext_len, self.config.chunk_size);
        let tag = keys.tag(&[&header]);
        header.extend_from_slice(&tag);
        Ok(NewObject { keys, nonce, header })
    }

    /// Parses and authenticates the header at the start of `bytes` of an object of `size`
    /// stored bytes.
    fn open_header(&self, path: &str, bytes: &[u8], size: u64) -> Result<ObjectHeader, VaultError> {
        let raw = RawHeader::parse(path, bytes)?;
        let data_key = self.keys.unwrap_data_key(&raw.key_id, &raw.wrapped, path)?;
        let keys = DerivedKeys::derive(&data_key, DATA_KEY_DOMAIN);
        if !keys.verify(&[&raw.authenticated], &raw.tag) {
            return Err(VaultError::HeaderInvalid {
                path: path.to_string(),
                reason: "header tag does not verify".into(),
            });
        }
        let layout = Layout::from_stored_len(raw.len() as u64, u64::from(raw.chunk_size), size)
            .filter(|l| raw.plaintext_len == STREAMED || raw.plaintext_len == l.plaintext_len)
            .ok_or_else(|| VaultError::BadSize { path: path.to_string(), size })?;
        Ok(ObjectHeader { keys, nonce: raw.nonce, layout })
    }

    /// Reads the header of `location` (honouring the preconditions in `options`).
    async fn fetch_header(
        &self,
        location: &Path,
        mut options: GetOptions,
    ) -> object_store::Result<(Arc<ObjectHeader>, ObjectMeta, object_store::Attributes)> {
        options.head = false;
        options.range = Some(GetRange::Bounded(0..MAX_HEADER_LEN as u64));
        let result = self.inner.get_opts(location, options).await?;
        let meta = result.meta.clone();
        let attributes = result.attributes.clone();
        if let Some(h) = self.cache.get_valid(location, meta.e_tag.as_deref(), meta.size) {
            return Ok((h, meta, attributes));
        }
        let bytes = result.bytes().await?;
        let header = Arc::new(self.open_header(location.as_ref(), &bytes, meta.size)?);
        if let Some(e_tag) = &meta.e_tag {
            let entry = CacheEntry { e_tag: e_tag.clone(), size: meta.size, header: header.clone() };
            self.cache.insert(location, entry);
        }
        Ok((header, meta, attributes))
    }

    /// Maps a listed (ciphertext) object to its plaintext metadata.
    async fn plain_meta(&self, mut meta: ObjectMeta) -> object_store::Result<ObjectMeta> {
        let header = match self.cache.get_valid(&meta.location, meta.e_tag.as_deref(), meta.size) {
            Some(h) => h,
            None => {
                let options = GetOptions { if_match: meta.e_tag.clone(), ..GetOptions::default() };
                self.fetch_header(&meta.location, options).await?.0
            }
        };
        meta.size = header.layout.plaintext_len;
        Ok(meta)
    }

    /// Fetches and decrypts the chunks covering `range` of the object whose header is known.
    async fn read_body(
        self: &Arc<Self>,
        location: &Path,
        header: Arc<ObjectHeader>,
        range: Option<GetRange>,
        mut options: GetOptions,
    ) -> object_store::Result<GetResult> {
        let layout = header.layout;
        let size = layout.plaintext_len;
        let plain = match &range {
            None => 0..size,
            Some(r) => r.as_range(size).map_err(|e| VaultError::InvalidRange {
                path: location.to_string(),
                range: format!("{r} ({e})"),
                size,
            })?,
        };
        // An empty result still fetches (and authenticates) the last chunk, so that an empty
        // object is checked like any other.
        let (first, last) = if plain.is_empty() {
            (layout.chunks() - 1, layout.chunks() - 1)
        } else {
            layout.covering(&plain)
        };
        // Small reads are one inner request; large ones are split into batches of whole
        // chunks, each its own ranged request, decrypted one after another while the next
        // batch is already being fetched (`buffered(2)`).
        let stride = layout.stride();
        let per_batch = if (last - first + 1) * stride <= self.config.stream_threshold {
            last - first + 1
        } else {
            (self.config.batch_bytes as u64 / stride).max(1)
        };
        let batches: Vec<(u64, u64)> =
            (first..=last).step_by(per_batch as usize).map(|a| (a, (a + per_batch - 1).min(last))).collect();
        options.head = false;
        let mut first_options = options.clone();
        first_options.range = Some(GetRange::Bounded(layout.stored_range(batches[0].0, batches[0].1)));
        let result = self.inner.get_opts(location, first_options).await?;
        let mut meta = result.meta.clone();
        let attributes = result.attributes.clone();
        if meta.size != layout.stored_len() {
            return Err(VaultError::BadSize { path: location.to_string(), size: meta.size }.into());
        }
        meta.size = size;
        let mut first_result = Some(result);
        let (owner, location_owned, range_owned) = (self.clone(), location.clone(), plain.clone());
        let fetches = batches.into_iter().map(move |(a, b)| {
            let (shared, header, path) = (owner.clone(), header.clone(), location_owned.clone());
            let first_result = first_result.take();
            let mut options = options.clone();
            let plain = range_owned.clone();
            async move {
                let stored = layout.stored_range(a, b);
                let result = match first_result {
                    Some(r) => r,
                    None => {
                        options.range = Some(GetRange::Bounded(stored.clone()));
                        shared.inner.get_opts(&path, options).await?
                    }
                };
                let bytes = result.bytes().await?;
                let expected = stored.end - stored.start;
                if bytes.len() as u64 != expected {
                    let got = bytes.len() as u64;
                    return Err(VaultError::ShortRead { path: path.to_string(), expected, got }.into());
                }
                let opened = shared.open(&header, a, &bytes, path.as_ref())?;
                // The part of the requested plaintext range this batch holds.
                let batch_start = a * layout.chunk_size;
                let from = plain.start.max(batch_start) - batch_start;
                let to =
                    plain.end.min(batch_start + opened.len() as u64).saturating_sub(batch_start).max(from);
                Ok::<Bytes, object_store::Error>(Bytes::from(opened).slice(from as usize..to as usize))
            }
        });
        let payload = stream::iter(fetches).buffered(2).try_filter(|b| futures::future::ready(!b.is_empty()));
        Ok(GetResult { payload: GetResultPayload::Stream(payload.boxed()), meta, range: plain, attributes })
    }

    /// Verifies and decrypts stored chunks `first..` (in parallel when large).
    fn open(
        &self,
        header: &ObjectHeader,
        first: u64,
        stored: &[u8],
        path: &str,
    ) -> Result<Vec<u8>, VaultError> {
        let layout = &header.layout;
        let stride = layout.stride() as usize;
        let n = stored.len().div_ceil(stride) as u64;
        let plain_len: u64 = (first..first + n).map(|i| layout.chunk_plain_len(i)).sum();
        let mut out = vec![0u8; plain_len as usize];
        let open = |index: u64, input: &[u8], output: &mut [u8]| {
            open_chunks(&header.keys, &header.nonce, layout, first + index, input, output, path)
        };
        self.par_chunks(stored, stride, &mut out, layout.chunk_size as usize, &open)?;
        Ok(out)
    }

    /// Seals plaintext chunks `first..` into `out` (in parallel when large).
    pub(crate) fn seal(
        &self,
        keys: &DerivedKeys,
        nonce: &[u8; 16],
        first: u64,
        last_index: u64,
        plain: &[u8],
        out: &mut [u8],
    ) -> Result<(), VaultError> {
        let chunk = self.config.chunk_size as usize;
        let seal = |index: u64, input: &[u8], output: &mut [u8]| {
            seal_chunks(keys, nonce, chunk, first + index, last_index, input, output);
            Ok(())
        };
        self.par_chunks(plain, chunk, out, chunk + TAG_LEN, &seal)
    }

    /// Splits `input`/`output` (made of whole chunks of the given strides) into one group per
    /// thread and runs `f(first chunk offset, input, output)` on each group.
    fn par_chunks<F>(
        &self,
        input: &[u8],
        in_stride: usize,
        output: &mut [u8],
        out_stride: usize,
        f: &F,
    ) -> Result<(), VaultError>
    where
        F: Fn(u64, &[u8], &mut [u8]) -> Result<(), VaultError> + Sync,
    {
        let threads = self.config.threads;
        if input.len().max(output.len()) < self.config.parallel_threshold {
            return f(0, input, output);
        }
        if threads <= 1 {
            return run_blocking(|| f(0, input, output));
        }
        let chunks = input.len().div_ceil(in_stride).max(output.len().div_ceil(out_stride));
        let per_group = chunks.div_ceil(threads).max(1);
        let mut groups = Vec::with_capacity(threads);
        let (mut input, mut output, mut offset) = (input, output, 0u64);
        loop {
            let (a, rest_in) = input.split_at((per_group * in_stride).min(input.len()));
            let (b, rest_out) = output.split_at_mut((per_group * out_stride).min(output.len()));
            groups.push((offset, a, b));
            (input, output, offset) = (rest_in, rest_out, offset + per_group as u64);
            if input.is_empty() && output.is_empty() {
                break;
            }
        }
        run_blocking(|| {
            std::thread::scope(|s| {
                let handles: Vec<_> =
                    groups.into_iter().map(|(offset, a, b)| s.spawn(move || f(offset, a, b))).collect();
                handles.into_iter().try_for_each(|h| {
                    h.join().unwrap_or_else(|_| Err(VaultError::Config("a worker thread panicked".into())))
                })
            })
        })
    }
}

/// Runs CPU-heavy work, telling a multi-threaded tokio runtime to move other tasks off this
/// worker meanwhile. Outside tokio (or on a current-thread runtime) it simply runs `f`.
pub(crate) fn run_blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

impl EncryptedStore {
    async fn head_opts(&self, location: &Path, options: GetOptions) -> object_store::Result<GetResult> {
        let (header, mut meta, attributes) = self.shared.fetch_header(location, options).await?;
        let size = header.layout.plaintext_len;
        meta.size = size;
        Ok(GetResult {
            payload: GetResultPayload::Stream(stream::empty().boxed()),
            meta,
            range: 0..size,
            attributes,
        })
    }
}

fn is_precondition(e: &object_store::Error) -> bool {
    matches!(e, object_store::Error::Precondition { .. })
}

#[async_trait]
impl ObjectStore for EncryptedStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        let plain = Bytes::from(payload);
        let shared = &self.shared;
        let object = shared.new_object(plain.len() as u64)?;
        let layout = Layout {
            header_len: object.header.len() as u64,
            chunk_size: u64::from(shared.config.chunk_size),
            plaintext_len: plain.len() as u64,
        };
        let mut out = vec![0u8; layout.stored_len() as usize];
        out[..object.header.len()].copy_from_slice(&object.header);
        let body = &mut out[object.header.len()..];
        shared.seal(&object.keys, &object.nonce, 0, layout.chunks() - 1, &plain, body)?;
        shared.cache.remove(location);
        shared.inner.put_opts(location, PutPayload::from(out), opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        let object = self.shared.new_object(STREAMED)?;
        let inner = self.shared.inner.put_multipart_opts(location, opts).await?;
        self.shared.cache.remove(location);
        Ok(Box::new(EncryptedUpload::new(self.shared.clone(), inner, object)))
    }

    async fn get_opts(&self, location: &Path, mut options: GetOptions) -> object_store::Result<GetResult> {
        if options.head {
            return self.head_opts(location, options).await;
        }
        let range = options.range.take();
        let shared = &self.shared;
        if let Some(entry) = shared.cache.get(location)
            && options.if_match.as_ref().is_none_or(|m| *m == entry.e_tag)
        {
            let mut optimistic = options.clone();
            optimistic.if_match = Some(entry.e_tag.clone());
            match shared.read_body(location, entry.header, range.clone(), optimistic).await {
                Err(e) if is_precondition(&e) => shared.cache.remove(location),
                other => return other,
            }
        }
        let (header, meta, _) = shared.fetch_header(location, options.clone()).await?;
        if meta.e_tag.is_some() {
            options.if_match = meta.e_tag;
        }
        shared.read_body(location, header, range, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        let shared = self.shared.clone();
        self.shared.inner.delete_stream(locations).inspect_ok(move |p| shared.cache.remove(p)).boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        let shared = self.shared.clone();
        let n = shared.config.list_concurrency;
        self.shared
            .inner
            .list(prefix)
            .map(move |meta| {
                let shared = shared.clone();
                async move { shared.plain_meta(meta?).await }
            })
            .buffered(n)
            .boxed()
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        let shared = self.shared.clone();
        let n = shared.config.list_concurrency;
        self.shared
            .inner
            .list_with_offset(prefix, offset)
            .map(move |meta| {
                let shared = shared.clone();
                async move { shared.plain_meta(meta?).await }
            })
            .buffered(n)
            .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        let listed = self.shared.inner.list_with_delimiter(prefix).await?;
        let shared = &self.shared;
        let objects = stream::iter(listed.objects)
            .map(|meta| shared.plain_meta(meta))
            .buffered(shared.config.list_concurrency)
            .try_collect()
            .await?;
        Ok(ListResult { common_prefixes: listed.common_prefixes, objects })
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> object_store::Result<()> {
        self.shared.cache.remove(to);
        self.shared.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> object_store::Result<()> {
        self.shared.cache.remove(from);
        self.shared.cache.remove(to);
        self.shared.inner.rename_opts(from, to, options).await
    }
}

#[cfg(test)]
#[path = "store_test.rs"]
mod tests;
