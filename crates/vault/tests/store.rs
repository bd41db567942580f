#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! End-to-end tests of `EncryptedStore` over a `LocalFileSystem` in a temporary directory.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use futures::TryStreamExt;
use futures::stream::BoxStream;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetRange, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload, PutResult,
};
use proptest::prelude::*;
use yunshu_vault::{EncryptedStore, KeyProvider, LocalKeyFile, VaultConfig, VaultError};

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let mut r = [0u8; 8];
        getrandom::fill(&mut r).unwrap();
        let dir = std::env::temp_dir().join(format!("yunshu-vault-{name}-{}", hex::encode(r)));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An inner store that counts the bytes it returns from `get_opts`.
#[derive(Debug)]
struct Counting {
    inner: Arc<dyn ObjectStore>,
    fetched: AtomicU64,
    requests: AtomicU64,
}

impl std::fmt::Display for Counting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Counting({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for Counting {
    async fn put_opts(&self, l: &Path, p: PutPayload, o: PutOptions) -> object_store::Result<PutResult> {
        self.inner.put_opts(l, p, o).await
    }
    async fn put_multipart_opts(
        &self,
        l: &Path,
        o: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(l, o).await
    }
    async fn get_opts(&self, l: &Path, o: GetOptions) -> object_store::Result<GetResult> {
        let head = o.head;
        let r = self.inner.get_opts(l, o).await?;
        self.requests.fetch_add(1, Ordering::Relaxed);
        if !head {
            self.fetched.fetch_add(r.range.end - r.range.start, Ordering::Relaxed);
        }
        Ok(r)
    }
    fn delete_stream(
        &self,
        l: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(l)
    }
    fn list(&self, p: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(p)
    }
    async fn list_with_delimiter(&self, p: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(p).await
    }
    async fn copy_opts(&self, f: &Path, t: &Path, o: CopyOptions) -> object_store::Result<()> {
        self.inner.copy_opts(f, t, o).await
    }
}

struct Fixture {
    dir: TempDir,
    local: Arc<dyn ObjectStore>,
    counting: Arc<Counting>,
    store: EncryptedStore,
}

const CHUNK: usize = 4096;

fn fixture(name: &str, chunk: usize) -> Fixture {
    let dir = TempDir::new(name);
    let data = dir.0.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let local: Arc<dyn ObjectStore> = Arc::new(LocalFileSystem::new_with_prefix(&data).unwrap());
    let counting =
        Arc::new(Counting { inner: local.clone(), fetched: AtomicU64::new(0), requests: AtomicU64::new(0) });
    let keys: Arc<dyn KeyProvider> =
        Arc::new(LocalKeyFile::open_or_create(&dir.0.join("master.key")).unwrap());
    let config = VaultConfig {
        chunk_size: chunk as u32,
        parallel_threshold: 64 * 1024,
        stream_threshold: 1024 * 1024,
        batch_bytes: 256 * 1024,
        ..VaultConfig::default()
    };
    let store = EncryptedStore::with_config(counting.clone(), keys, config).unwrap();
    Fixture { dir, local, counting, store }
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn vault_error(e: &object_store::Error) -> &VaultError {
    match e {
        object_store::Error::Generic { store: "EncryptedStore", source } => {
            source.downcast_ref::<VaultError>().expect("a VaultError source")
        }
        other => panic!("unexpected error {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roundtrip_edge_sizes() {
    let f = fixture("sizes", CHUNK);
    for len in [0, 1, 15, 16, CHUNK - 1, CHUNK, CHUNK + 1, 3 * 1024 * 1024 + 5] {
        let path = Path::from(format!("sizes/{len}.bin"));
        let data = pattern(len);
        f.store.put(&path, data.clone().into()).await.unwrap();
        assert_eq!(f.store.head(&path).await.unwrap().size, len as u64);
        let got = f.store.get(&path).await.unwrap().bytes().await.unwrap();
        assert_eq!(got.len(), len);
        assert!(got == data, "len {len}");
        // The inner object is the plaintext plus header and one tag per chunk.
        let inner = f.local.head(&path).await.unwrap().size;
        assert_eq!(inner, len as u64 + 98 + 20 + 16 * (len.div_ceil(CHUNK).max(1) as u64));
    }
    let listed: Vec<ObjectMeta> = f.store.list(Some(&Path::from("sizes"))).try_collect().await.unwrap();
    assert_eq!(listed.len(), 8);
    for m in listed {
        let expected: u64 = m.location.filename().unwrap().trim_end_matches(".bin").parse().unwrap();
        assert_eq!(m.size, expected);
    }
    let l = f.store.list_with_delimiter(Some(&Path::from("sizes"))).await.unwrap();
    assert!(l.objects.iter().any(|m| m.location.filename() == Some("1.bin") && m.size == 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_streamed_reads_and_suffix_offset_ranges() {
    let f = fixture("large", 64 * 1024);
    let data = pattern(5 * 1024 * 1024 + 333);
    let path = Path::from("large.bin");
    f.store.put(&path, data.clone().into()).await.unwrap();
    // Whole object (streamed in batches because it exceeds stream_threshold).
    let r = f.store.get(&path).await.unwrap();
    assert_eq!(r.meta.size, data.len() as u64);
    assert!(r.bytes().await.unwrap() == data);
    let n = data.len() as u64;
    let cases = [
        GetRange::Suffix(8),
        GetRange::Suffix(n + 10),
        GetRange::Offset(n - 1),
        GetRange::Offset(1_000_000),
        GetRange::Bounded(65_535..65_537),
        GetRange::Bounded(10..n + 100),
    ];
    for range in cases {
        let want = range.as_range(n).unwrap();
        let opts = GetOptions { range: Some(range.clone()), ..GetOptions::default() };
        let r = f.store.get_opts(&path, opts).await.unwrap();
        assert_eq!(r.range, want, "{range}");
        let got = r.bytes().await.unwrap();
        assert!(got == data[want.start as usize..want.end as usize], "{range}");
    }
    let bad = GetOptions { range: Some(GetRange::Offset(n)), ..GetOptions::default() };
    let err = f.store.get_opts(&path, bad).await.unwrap_err();
    assert_eq!(vault_error(&err).code(), "vault_invalid_range");
}

#[test]
fn ranged_reads_match_the_plaintext() {
    let rt = runtime();
    let f = fixture("ranges", 1024);
    let data = pattern(200_000);
    let path = Path::from("ranges.bin");
    rt.block_on(f.store.put(&path, data.clone().into())).unwrap();
    let fetched_before = f.counting.fetched.load(Ordering::Relaxed);
    proptest!(ProptestConfig::with_cases(64), |(start in 0usize..200_000, len in 1usize..20_000)| {
        let end = (start + len).min(200_000);
        prop_assume!(start < end);
        let got = rt.block_on(f.store.get_range(&path, start as u64..end as u64)).unwrap();
        prop_assert!(got == data[start..end]);
    });
    // Ranged reads fetch only covering chunks, never the whole object each time.
    let per_read = (f.counting.fetched.load(Ordering::Relaxed) - fetched_before) / 64;
    assert!(per_read < 40_000, "{per_read} bytes per read");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_plaintext_reaches_the_inner_store() {
    let f = fixture("marker", CHUNK);
    let marker = "云南省公共数据";
    let text = marker.repeat(50_000);
    let path = Path::from("secret/marker.txt");
    f.store.put(&path, text.clone().into()).await.unwrap();
    let mut upload = f.store.put_multipart(&Path::from("secret/streamed.txt")).await.unwrap();
    upload.put_part(text.clone().into()).await.unwrap();
    upload.complete().await.unwrap();
    let mut files = vec![f.dir.0.join("data/secret/marker.txt"), f.dir.0.join("data/secret/streamed.txt")];
    files.push(f.dir.0.join("master.key"));
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        let hit = bytes.windows(marker.len()).any(|w| w == marker.as_bytes());
        assert!(!hit, "plaintext marker found in {}", file.display());
    }
    assert_eq!(f.store.get(&path).await.unwrap().bytes().await.unwrap(), text.as_bytes());
}

async fn expect_integrity_failure(f: &Fixture, path: &Path, chunk: u64) {
    let err = match f.store.get(path).await {
        Ok(r) => r.bytes().await.unwrap_err(),
        Err(e) => e,
    };
    let msg = err.to_string();
    assert!(msg.contains(&format!("integrity check failed for chunk {chunk} of {path}")), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampering_is_detected() {
    let f = fixture("tamper", CHUNK);
    let data = pattern(3 * CHUNK + 100);
    let header = 98 + 20;
    let stride = CHUNK + 16;
    let file = |name: &str| f.dir.0.join("data").join(name);

    // One flipped byte in chunk 1.
    let path = Path::from("flip.bin");
    f.store.put(&path, data.clone().into()).await.unwrap();
    let mut bytes = std::fs::read(file("flip.bin")).unwrap();
    bytes[header + stride + 7] ^= 0x01;
    std::fs::write(file("flip.bin"), &bytes).unwrap();
    expect_integrity_failure(&f, &path, 1).await;
    // A range inside untouched chunk 3 still reads; one touching chunk 1 fails.
    let tail = f.store.get_range(&path, (3 * CHUNK) as u64..(3 * CHUNK + 50) as u64).await.unwrap();
    assert!(tail == data[3 * CHUNK..3 * CHUNK + 50]);
    let err = f.store.get_range(&path, (CHUNK + 1) as u64..(CHUNK + 2) as u64).await.unwrap_err();
    assert_eq!(vault_error(&err).code(), "vault_chunk_integrity");

    // Chunks 0 and 1 swapped.
    let path = Path::from("swap.bin");
    f.store.put(&path, data.clone().into()).await.unwrap();
    let mut bytes = std::fs::read(file("swap.bin")).unwrap();
    let (c0, c1) = bytes[header..header + 2 * stride].split_at_mut(stride);
    c0.swap_with_slice(c1);
    std::fs::write(file("swap.bin"), &bytes).unwrap();
    expect_integrity_failure(&f, &path, 0).await;

    // Last chunk dropped: the new last chunk lacks the last flag.
    let path = Path::from("trunc.bin");
    f.store.put_opts(&path, data.clone().into(), PutOptions::default()).await.unwrap();
    let bytes = std::fs::read(file("trunc.bin")).unwrap();
    std::fs::write(file("trunc.bin"), &bytes[..header + 3 * stride]).unwrap();
    let err = f.store.get(&path).await.unwrap_err();
    // The header records the length, so the size no longer matches it.
    assert_eq!(vault_error(&err).code(), "vault_bad_size");

    // Same with a streamed object (no length in the header): the MAC catches it.
    let path = Path::from("trunc2.bin");
    let mut up = f.store.put_multipart(&path).await.unwrap();
    up.put_part(data.clone().into()).await.unwrap();
    up.complete().await.unwrap();
    let bytes = std::fs::read(file("trunc2.bin")).unwrap();
    std::fs::write(file("trunc2.bin"), &bytes[..header + 3 * stride]).unwrap();
    expect_integrity_failure(&f, &path, 2).await;

    // An edited header fails its tag.
    let path = Path::from("header.bin");
    f.store.put(&path, data.clone().into()).await.unwrap();
    let mut bytes = std::fs::read(file("header.bin")).unwrap();
    bytes[header - 20] ^= 0x01; // inside the chunk-size field
    std::fs::write(file("header.bin"), &bytes).unwrap();
    let err = f.store.get(&path).await.unwrap_err();
    assert!(matches!(vault_error(&err).code(), "vault_header_invalid"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_odd_parts_roundtrip() {
    let f = fixture("multipart", 64 * 1024);
    let data = pattern(10 * 1024 * 1024 + 17);
    let path = Path::from("multi/ten.bin");
    let mut upload = f.store.put_multipart(&path).await.unwrap();
    let sizes = [1usize, 15, 65_537, 3_000_001, 999, 7_777_777];
    let mut at = 0;
    let mut parts = Vec::new();
    for size in sizes.iter().cycle() {
        if at >= data.len() {
            break;
        }
        let end = (at + size).min(data.len());
        parts.push(upload.put_part(Bytes::copy_from_slice(&data[at..end]).into()));
        at = end;
    }
    futures::future::try_join_all(parts).await.unwrap();
    upload.complete().await.unwrap();
    assert_eq!(f.store.head(&path).await.unwrap().size, data.len() as u64);
    assert!(f.store.get(&path).await.unwrap().bytes().await.unwrap() == data);
    let mid = f.store.get_range(&path, 5_000_000..5_100_000).await.unwrap();
    assert!(mid == data[5_000_000..5_100_000]);

    // An empty streamed object.
    let empty = Path::from("multi/empty.bin");
    let mut upload = f.store.put_multipart(&empty).await.unwrap();
    upload.complete().await.unwrap();
    assert_eq!(f.store.head(&empty).await.unwrap().size, 0);
    assert!(f.store.get(&empty).await.unwrap().bytes().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_key_file_is_a_clear_error() {
    let f = fixture("wrongkey", CHUNK);
    let path = Path::from("k.bin");
    f.store.put(&path, pattern(100).into()).await.unwrap();
    let other: Arc<dyn KeyProvider> =
        Arc::new(LocalKeyFile::open_or_create(&f.dir.0.join("other.key")).unwrap());
    let wrong = EncryptedStore::new(f.local.clone(), other);
    let err = wrong.get(&path).await.unwrap_err();
    let e = vault_error(&err);
    assert_eq!(e.code(), "vault_unknown_key");
    assert!(e.to_string().contains("is not available from this key provider"), "{e}");
    assert!(e.message_zh().contains("主密钥"));
    // Plain objects are refused, not "decrypted".
    f.local.put(&Path::from("plain.bin"), PutPayload::from_static(b"PAR1 plain parquet")).await.unwrap();
    let err = f.store.get(&Path::from("plain.bin")).await.unwrap_err();
    assert_eq!(vault_error(&err).code(), "vault_not_encrypted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overwrite_copy_rename_delete() {
    let f = fixture("ops", CHUNK);
    let a = Path::from("ops/a.bin");
    f.store.put(&a, pattern(10_000).into()).await.unwrap();
    assert_eq!(f.store.get_range(&a, 0..4).await.unwrap().len(), 4); // caches the header
    // Overwrite through a second store: the first one's cached header is stale and must not be used.
    let keys: Arc<dyn KeyProvider> = Arc::new(LocalKeyFile::open(&f.dir.0.join("master.key")).unwrap());
    let second = EncryptedStore::new(f.local.clone(), keys);
    let other = pattern(20_000).into_iter().rev().collect::<Vec<u8>>();
    second.put(&a, other.clone().into()).await.unwrap();
    assert!(f.store.get(&a).await.unwrap().bytes().await.unwrap() == other);
    let b = Path::from("ops/b.bin");
    f.store.copy(&a, &b).await.unwrap();
    assert!(f.store.get(&b).await.unwrap().bytes().await.unwrap() == other);
    let c = Path::from("ops/c.bin");
    f.store.rename(&b, &c).await.unwrap();
    assert!(f.store.get(&c).await.unwrap().bytes().await.unwrap() == other);
    f.store.delete(&c).await.unwrap();
    assert!(matches!(f.store.get(&c).await.unwrap_err(), object_store::Error::NotFound { .. }));
}

// `ParquetObjectReader` is deprecated in parquet 59.3 in favour of hand-written
// `AsyncFileReader`s, but it is what DataFusion 55 uses over an `ObjectStore`.
#[allow(deprecated)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parquet_single_column_scan_fetches_only_that_column() {
    use arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use object_store::buffered::BufWriter;
    use parquet::arrow::async_reader::{ParquetObjectReader, ParquetRecordBatchStreamBuilder};
    use parquet::arrow::{AsyncArrowWriter, ProjectionMask};

    let f = fixture("parquet", 64 * 1024);
    let store: Arc<dyn ObjectStore> = Arc::new(f.store.clone());
    let rows = 200_000i64;
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("value", DataType::Float64, false),
    ]));
    let ids = Int64Array::from_iter_values(0..rows);
    let names =
        StringArray::from_iter_values((0..rows).map(|i| format!("云南省公共数据-{}", i * 7919 % 100_003)));
    let values = Float64Array::from_iter_values((0..rows).map(|i| (i as f64).sqrt()));
    let batch =
        RecordBatch::try_new(schema.clone(), vec![Arc::new(ids), Arc::new(names), Arc::new(values)]).unwrap();
    let path = Path::from("tables/t.parquet");
    let mut writer =
        AsyncArrowWriter::try_new(BufWriter::new(store.clone(), path.clone()), schema, None).unwrap();
    writer.write(&batch).await.unwrap();
    writer.close().await.unwrap();

    let stored = f.local.head(&path).await.unwrap().size;
    let before = f.counting.fetched.load(Ordering::Relaxed);
    let reader = ParquetObjectReader::new(store.clone(), path.clone());
    let builder = ParquetRecordBatchStreamBuilder::new(reader).await.unwrap();
    let mask = ProjectionMask::roots(builder.parquet_schema(), [2]);
    let batches: Vec<RecordBatch> =
        builder.with_projection(mask).build().unwrap().try_collect().await.unwrap();
    let fetched = f.counting.fetched.load(Ordering::Relaxed) - before;
    let got: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(got, rows as usize);
    let col = batches[0].column(0).as_any().downcast_ref::<Float64Array>().unwrap();
    assert_eq!(col.value(4), 2.0);
    eprintln!("parquet: stored {stored} bytes, one-column scan fetched {fetched}");
    assert!(fetched * 2 < stored, "fetched {fetched} of {stored}");
}

/// Full-scan throughput of the encrypted store against raw SM4-CTR, over an in-memory inner
/// store. Run with `cargo test --release -p yunshu-vault -- --ignored --nocapture`.
#[test]
#[ignore]
fn measure_full_scan_throughput() {
    let rt = runtime();
    let dir = TempDir::new("bench");
    let keys: Arc<dyn KeyProvider> = Arc::new(LocalKeyFile::open_or_create(&dir.0.join("k")).unwrap());
    let store = EncryptedStore::new(Arc::new(object_store::memory::InMemory::new()), keys);
    let data = pattern(128 * 1024 * 1024);
    let path = Path::from("bench.bin");
    let start = std::time::Instant::now();
    rt.block_on(store.put(&path, data.clone().into())).unwrap();
    let put = data.len() as f64 / start.elapsed().as_secs_f64() / 1e6;
    let mut best = 0f64;
    for _ in 0..3 {
        let start = std::time::Instant::now();
        let got = rt
            .block_on(async {
                store
                    .get(&path)
                    .await?
                    .into_stream()
                    .try_fold(0usize, |n, b| async move { Ok(n + b.len()) })
                    .await
            })
            .unwrap();
        assert_eq!(got, data.len());
        best = best.max(data.len() as f64 / start.elapsed().as_secs_f64() / 1e6);
    }
    let sm4 = yunshu_vault::sm4_throughput(32 * 1024 * 1024, 0);
    println!(
        "put {put:.1} MB/s, full scan {best:.1} MB/s; raw SM4-CTR {:.1} MB/s/core, {:.1} MB/s on {} threads",
        sm4.per_core_bytes_per_s / 1e6,
        sm4.total_bytes_per_s / 1e6,
        sm4.cores
    );
}

/// A current-thread runtime cannot use `block_in_place`; large payloads must still work there.
#[tokio::test(flavor = "current_thread")]
async fn large_roundtrip_on_a_current_thread_runtime() {
    let f = fixture("current", 64 * 1024);
    let data = pattern(3 * 1024 * 1024 + 1);
    let path = Path::from("current.bin");
    f.store.put(&path, data.clone().into()).await.unwrap();
    assert!(f.store.get(&path).await.unwrap().bytes().await.unwrap() == data);
    let mut upload = f.store.put_multipart(&Path::from("current2.bin")).await.unwrap();
    upload.put_part(data.clone().into()).await.unwrap();
    upload.complete().await.unwrap();
    assert!(f.store.get(&Path::from("current2.bin")).await.unwrap().bytes().await.unwrap() == data);
}
