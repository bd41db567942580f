#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use super::*;

fn units(n: usize, start: u64, c: f64) -> Fingerprint {
    let mut fp = Fingerprint::new(cells_for(10));
    for u in start..start + n as u64 {
        fp.insert(unit_key(u), fixed(c + u as f64));
    }
    fp
}

#[test]
fn fixed_point_is_exact_and_linear() {
    assert_eq!(fixed(1.0), 1u64 << 32);
    assert_eq!(fixed(0.5), 1u64 << 31);
    assert_eq!(fixed(-1.0), P - (1u64 << 32));
    assert_eq!(add(fixed(2.5), fixed(-2.5)), 0);
    // Big values wrap modulo P, consistently.
    assert_eq!(add(fixed(1e300), fixed(-1e300)), 0);
    assert_eq!(fixed(2.0f64.powi(40)), mul(1 << 40, 1 << 32));
    // Values below the scale count as zero (they contribute nothing).
    assert_eq!(fixed(1e-12), 0);
    assert_ne!(fixed(f64::NAN), 0);
    // The exact integer form agrees with the modular one.
    for x in [0.0, 1.0, -2.5, 123.45, 98_765.43, 1e12, -7e15] {
        assert_eq!(reduce_i128(fixed_i128(x)), fixed(x), "{x}");
    }
    assert_eq!(reduce_i128(fixed_i128(1.5) + fixed_i128(-1.5)), 0);
    // Sums of fixed points do not depend on order.
    let xs = [0.1, 123.45, 1e-3, 77.7, 98_765.43];
    let a = xs.iter().fold(0, |s, x| add(s, fixed(*x)));
    let b = xs.iter().rev().fold(0, |s, x| add(s, fixed(*x)));
    assert_eq!(a, b);
}

#[test]
fn a_difference_of_one_unit_is_found_and_a_large_one_is_not() {
    let all = units(1_000, 1, 3.0);
    let mut without = units(999, 1, 3.0);
    assert_eq!(all.minus(&without).unwrap().decode(10), Decoded::Units(1));
    assert_eq!(all.minus(&without).unwrap().isolates_fewer_than(10), Some(1));
    // One unit's contribution changed (its June payment left out): still one unit.
    without.insert(unit_key(1_000), fixed(3.0 + 1_000.0 - 17.5));
    assert_eq!(all.minus(&without).unwrap().decode(10), Decoded::Units(1));
    // The same contributions: nothing isolated.
    assert_eq!(all.minus(&units(1_000, 1, 3.0)).unwrap().decode(10), Decoded::Zero);
    // Half the units differ: many.
    assert_eq!(all.minus(&units(500, 1, 3.0)).unwrap().decode(10), Decoded::Many);
    // Nine units apart: found exactly; twelve: not fewer than ten.
    assert_eq!(all.minus(&units(991, 1, 3.0)).unwrap().isolates_fewer_than(10), Some(9));
    assert_eq!(all.minus(&units(988, 1, 3.0)).unwrap().isolates_fewer_than(10), None);
}

#[test]
fn sums_of_fingerprints_find_a_margin_minus_its_cells() {
    // Twelve monthly cells partition the rows; June holds one unit. The total minus the eleven
    // released months isolates June's unit.
    let mut total = Fingerprint::new(cells_for(10));
    let mut months: Vec<Fingerprint> = (0..12).map(|_| Fingerprint::new(cells_for(10))).collect();
    for u in 0..300u64 {
        for (m, month) in months.iter_mut().enumerate() {
            if m == 5 && u != 42 {
                continue;
            }
            let v = fixed(100.0 + (u * 12 + m as u64) as f64 * 0.37);
            total.insert(unit_key(u), v);
            month.insert(unit_key(u), v);
        }
    }
    let mut released = Fingerprint::new(cells_for(10));
    for (m, fp) in months.iter().enumerate() {
        if m != 5 {
            released.add_assign(fp);
        }
    }
    assert_eq!(total.minus(&released).unwrap().decode(10), Decoded::Units(1));
}

#[test]
fn encoding_round_trips() {
    let fp = units(5, 7, 1.0);
    let mut bytes = vec![];
    fp.encode(&mut bytes);
    Fingerprint::new(36).encode(&mut bytes);
    let (a, rest) = Fingerprint::decode_from(&bytes).unwrap();
    let (b, rest) = Fingerprint::decode_from(rest).unwrap();
    assert_eq!(a, fp);
    assert!(b.is_zero());
    assert!(rest.is_empty());
    assert!(Fingerprint::decode_from(&[1, 0]).is_none());
}
