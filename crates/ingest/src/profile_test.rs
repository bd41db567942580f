use super::*;

#[test]
fn distinct_is_exact_then_estimated() {
    let mut d = Distinct::default();
    for i in 0..1000u64 {
        d.insert(mix(i % 500));
    }
    assert_eq!(d.count(), (500, true));
    let mut d = Distinct::default();
    for i in 0..300_000u64 {
        d.insert(hash_bytes(format!("v{i}").as_bytes()));
    }
    let (n, exact) = d.count();
    assert!(!exact);
    let error = (n as f64 - 300_000.0).abs() / 300_000.0;
    assert!(error < 0.05, "estimate {n}");
}

#[test]
fn hashes_differ_by_length_and_content() {
    assert_ne!(hash_bytes(b"abc"), hash_bytes(b"abc\0"));
    assert_ne!(hash_bytes(b"12345678a"), hash_bytes(b"12345678b"));
    assert_ne!(hash_bytes(b""), hash_bytes(b"\0"));
}
