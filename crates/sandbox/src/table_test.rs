#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::collections::HashSet;

use super::PseudonymKey;

#[test]
fn integer_pseudonyms_permute_each_bit_length_class() {
    let key = PseudonymKey::derive(b"secret", "project:1");
    // A dense range maps onto itself: a permutation, so joins stay exact and ids stay dense.
    let image: HashSet<i64> = (0..1 << 16).map(|v| key.int(v)).collect();
    assert_eq!(image, (0..1 << 16).collect::<HashSet<i64>>());
    // Values keep their bit length, and are moved (almost all of them).
    let moved = (1i64 << 20..(1 << 20) + 10_000).filter(|v| key.int(*v) != *v).count();
    assert!(moved > 9_900, "{moved}");
    for v in [2i64, 3, 1_000_003, 530_102_198_001_011_239, i64::MAX, -1, -77, i64::MIN] {
        let p = key.int(v);
        assert_eq!(p < 0, v < 0, "{v}");
        let bits = |x: i64| if x < 0 { 64 - (!x).leading_zeros() } else { 64 - x.leading_zeros() };
        assert_eq!(bits(p), bits(v), "{v} → {p}");
    }
    // Another project's key gives other pseudonyms.
    let other = PseudonymKey::derive(b"secret", "project:2");
    let same = (1i64 << 20..(1 << 20) + 1_000).filter(|v| key.int(*v) == other.int(*v)).count();
    assert!(same < 10, "{same}");
    // Negative values are a bijection too.
    let neg: HashSet<i64> = (-5_000..0).map(|v| key.int(v)).collect();
    assert_eq!(neg.len(), 5_000);
    assert!(neg.iter().all(|p| *p < 0));
}
