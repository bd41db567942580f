#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Unit tests of the header cache (the store itself is tested in `tests/`).

use super::*;

fn header() -> Arc<ObjectHeader> {
    let keys = DerivedKeys::derive(&SecretKey::from_bytes([1; 16]), DATA_KEY_DOMAIN);
    Arc::new(ObjectHeader {
        keys,
        nonce: [0; 16],
        layout: Layout { header_len: 100, chunk_size: 16, plaintext_len: 0 },
    })
}

#[test]
fn cache_is_bounded_and_checks_etag_and_size() {
    let cache = HeaderCache { capacity: 2, state: Mutex::default() };
    for name in ["a", "b", "c"] {
        let entry = CacheEntry { e_tag: format!("e-{name}"), size: 116, header: header() };
        cache.insert(&Path::from(name), entry);
    }
    assert!(cache.get(&Path::from("a")).is_none(), "oldest entry evicted");
    assert!(cache.get_valid(&Path::from("b"), Some("e-b"), 116).is_some());
    assert!(cache.get_valid(&Path::from("b"), Some("e-x"), 116).is_none());
    assert!(cache.get_valid(&Path::from("b"), Some("e-b"), 117).is_none());
    assert!(cache.get_valid(&Path::from("b"), None, 116).is_none());
    cache.remove(&Path::from("b"));
    assert!(cache.get(&Path::from("b")).is_none());
    assert!(cache.get(&Path::from("c")).is_some());
}
