//! Contribution fingerprints of released values (sandbox.md layers 3 and 7): what each privacy unit
//! contributed to one value, in a form that shows when two values — or a value and a sum of values —
//! differ for fewer than k units.
//!
//! A released aggregate is a function of the vector `c` of per-unit contributions (a person's sum of
//! payments in the group, its row count, …). Two values whose vectors differ in only a few units
//! isolate those units: the total and the total without the one month only one person paid in, or a
//! table's margin minus its released cells when one cell was suppressed. Comparing *which* units took
//! part is not enough (both totals above involve the same people); comparing the contributions is.
//!
//! A [`Fingerprint`] is a *linear* sketch of `c` for k-sparse recovery: each unit `u` (keyed hash `f`)
//! adds `(c, c·f, c·f²)` modulo the Mersenne prime 2^61 − 1 to one cell in each of three sub-tables.
//! Linearity makes the fingerprint of `c₁ − c₂` (or of `c₁ − Σ cᵢ`) the difference of the fingerprints.
//! A cell holding exactly one unit satisfies `(c·f)² = c · (c·f²)` and gives `f` back, so peeling pure
//! cells recovers a difference of up to roughly 0.8 × cells units exactly ([`Fingerprint::decode`]);
//! a larger difference stalls and reports [`Decoded::Many`]. Cells are at least 4k, so "fewer than k
//! units" is always decided exactly (barring a 2-core among a handful of random hashes, and false pure
//! cells with probability about 2⁻⁶¹).
//!
//! Contributions are exact: every measured value is mapped to the integer `round(v × 2^32)` modulo
//! the prime ([`fixed`]), computed from the bits of the `f64` (no rounding depends on summation
//! order), so the same rows give the same fingerprint in every run and in every project of the same
//! developer (unit hashes come from a pseudonym keyed per developer organisation).

/// The prime modulus 2^61 − 1.
pub const P: u64 = (1 << 61) - 1;

/// Fixed-point scale of measured values: `v` counts as `round(v × 2^SCALE_BITS)`.
pub const SCALE_BITS: i32 = 32;

fn reduce(x: u128) -> u64 {
    // x mod (2^61 − 1) by folding: x = hi·2^61 + lo ≡ hi + lo.
    let lo = (x as u64) & P;
    let hi = (x >> 61) as u64;
    let mut r = lo + (hi & P) + ((x >> 122) as u64);
    while r >= P {
        r -= P;
    }
    r
}

pub fn mul(a: u64, b: u64) -> u64 {
    reduce(u128::from(a) * u128::from(b))
}

pub fn add(a: u64, b: u64) -> u64 {
    let s = a + b;
    if s >= P { s - P } else { s }
}

pub fn sub(a: u64, b: u64) -> u64 {
    if a >= b { a - b } else { a + P - b }
}

fn neg(a: u64) -> u64 {
    if a == 0 { 0 } else { P - a }
}

fn pow(mut b: u64, mut e: u64) -> u64 {
    let mut r = 1u64;
    while e > 0 {
        if e & 1 == 1 {
            r = mul(r, b);
        }
        b = mul(b, b);
        e >>= 1;
    }
    r
}

fn inverse(a: u64) -> u64 {
    pow(a, P - 2)
}

/// `round(v × 2^SCALE_BITS)` modulo [`P`], exactly, for every finite `v` (NaN and infinities map to
/// fixed constants). Because 2^61 ≡ 1, a power of two modulo P is a rotation of the exponent.
pub fn fixed(v: f64) -> u64 {
    if v == 0.0 {
        return 0;
    }
    if !v.is_finite() {
        return if v.is_nan() {
            P - 3
        } else if v > 0.0 {
            P - 5
        } else {
            P - 7
        };
    }
    let bits = v.to_bits();
    let negative = bits >> 63 == 1;
    let exp = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1u64 << 52) - 1);
    // v = m × 2^e with an integer mantissa m < 2^53.
    let (m, e) = if exp == 0 { (frac, -1074) } else { (frac | (1u64 << 52), exp - 1075) };
    let shift = e + SCALE_BITS;
    let r = if shift >= 0 {
        mul(m % P, 1u64 << (shift as u32 % 61))
    } else {
        let s = (-shift) as u32;
        if s > 60 { 0 } else { (m + (1u64 << (s - 1))) >> s }
    };
    if negative { neg(r) } else { r }
}

/// `round(v × 2^SCALE_BITS)` as an exact integer, saturating at the bounds of `i128` (values beyond
/// 10^28 or so); NaN and infinities map to a huge value, so they dominate any group they enter (fail
/// closed). Sums of these are exact and do not depend on order, and [`reduce_i128`] of a sum is the
/// sum of [`fixed`] values (within range).
pub fn fixed_i128(v: f64) -> i128 {
    if !v.is_finite() {
        return 1 << 100;
    }
    (v * 2f64.powi(SCALE_BITS)).round() as i128
}

/// An exact fixed-point sum modulo [`P`].
pub fn reduce_i128(x: i128) -> u64 {
    let m = x.rem_euclid(i128::from(P));
    m as u64
}

/// The fixed-point image of one counted row (a count contributes 1 per row).
pub fn one() -> u64 {
    fixed(1.0)
}

/// A 64-bit mix (SplitMix64's finaliser).
pub fn mix(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The field element of a unit: a hash of its (already keyed) pseudonym, in [1, P).
pub fn unit_key(pseudonym: u64) -> u64 {
    let h = mix(pseudonym ^ 0x5953_4b45_5448_4f4e) & P;
    if h == 0 { 1 } else { h }
}

/// Cells of a fingerprint for threshold `k`: at least 6k (and 36), a multiple of 3. Decoding needs
/// only about 1.25 cells per unit; the rest make the cells useful as an index: two values that
/// differ in fewer than k units agree on every cell those units do not touch, so pairs are found by
/// looking up identical cells instead of comparing every two values ([`Fingerprint::index_keys`]).
pub fn cells_for(k: u32) -> usize {
    let n = (6 * k as usize).max(36);
    n.div_ceil(3) * 3
}

/// What a fingerprint (or a difference of fingerprints) holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded {
    /// Nothing: every unit's contributions cancel.
    Zero,
    /// Exactly this many units with a non-zero (net) contribution.
    Units(usize),
    /// More units than the fingerprint can list (at least `limit`, or the decoding stalled).
    Many,
}

/// A unit's field element, its square and its three cells in fingerprints of one size.
#[derive(Debug, Clone, Copy)]
pub struct UnitCells {
    f: u64,
    ff: u64,
    positions: [usize; 3],
}

impl UnitCells {
    pub fn new(fp: &Fingerprint, f: u64) -> UnitCells {
        UnitCells { f, ff: mul(f, f), positions: fp.positions(f) }
    }
}

/// A linear sketch of per-unit contributions (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    cells: Vec<[u64; 3]>,
}

impl Fingerprint {
    /// An empty fingerprint with `cells` cells (a multiple of 3).
    pub fn new(cells: usize) -> Fingerprint {
        Fingerprint { cells: vec![[0; 3]; cells.max(3).div_ceil(3) * 3] }
    }

    pub fn len(&self) -> usize {
        self.cells.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    fn positions(&self, f: u64) -> [usize; 3] {
        let third = self.cells.len() / 3;
        // One 64-bit mix, three 21-bit slices of it, each mapped onto a third by multiply-shift.
        let h = mix(f ^ 0x5955_4e53_4855);
        let pick = |bits: u64| (((bits & 0x1f_ffff) * third as u64) >> 21) as usize;
        [pick(h), third + pick(h >> 21), 2 * third + pick(h >> 42)]
    }

    /// Adds `c` (a fixed-point contribution modulo P) for the unit with field element `f`.
    pub fn insert(&mut self, f: u64, c: u64) {
        self.insert_unit(&UnitCells::new(self, f), c);
    }

    /// Adds `c` for a unit whose cells were found once ([`UnitCells`]) — the same for every value
    /// the unit contributes to.
    pub fn insert_unit(&mut self, u: &UnitCells, c: u64) {
        if c == 0 {
            return;
        }
        let cf = mul(c, u.f);
        let cff = mul(c, u.ff);
        for p in u.positions {
            let cell = &mut self.cells[p];
            cell[0] = add(cell[0], c);
            cell[1] = add(cell[1], cf);
            cell[2] = add(cell[2], cff);
        }
    }

    /// `self += other` (same size; a fingerprint of another size is ignored).
    pub fn add_assign(&mut self, other: &Fingerprint) {
        if other.cells.len() != self.cells.len() {
            return;
        }
        for (a, b) in self.cells.iter_mut().zip(&other.cells) {
            for i in 0..3 {
                a[i] = add(a[i], b[i]);
            }
        }
    }

    /// `self − other`, or `None` when the two have different sizes (not comparable).
    pub fn minus(&self, other: &Fingerprint) -> Option<Fingerprint> {
        if other.cells.len() != self.cells.len() {
            return None;
        }
        let cells = self
            .cells
            .iter()
            .zip(&other.cells)
            .map(|(a, b)| [sub(a[0], b[0]), sub(a[1], b[1]), sub(a[2], b[2])])
            .collect();
        Some(Fingerprint { cells })
    }

    /// One key per non-zero cell (its position and content): two values that differ in fewer than k
    /// units share the keys of the cells only their common units fill.
    pub fn index_keys(&self) -> impl Iterator<Item = u64> + '_ {
        self.cells
            .iter()
            .enumerate()
            .filter(|(_, c)| **c != [0, 0, 0])
            .map(|(i, c)| mix(c[0] ^ mix(c[1] ^ mix(c[2] ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)))))
    }

    pub fn is_zero(&self) -> bool {
        self.cells.iter().all(|c| *c == [0, 0, 0])
    }

    /// How many units have a non-zero contribution, when fewer than `limit` (by peeling pure cells).
    pub fn decode(&self, limit: usize) -> Decoded {
        if self.is_zero() {
            return Decoded::Zero;
        }
        let mut cells = self.cells.clone();
        let mut found = 0usize;
        let mut progress = true;
        while progress {
            progress = false;
            for i in 0..cells.len() {
                let [a, b, c] = cells[i];
                if a == 0 {
                    continue;
                }
                // A pure cell: b² = a·c, f = b / a, and f hashes to this cell.
                if mul(b, b) != mul(a, c) {
                    continue;
                }
                let f = mul(b, inverse(a));
                if f == 0 || !self.positions(f).contains(&i) {
                    continue;
                }
                let af = mul(a, f);
                let aff = mul(af, f);
                for p in self.positions(f) {
                    let cell = &mut cells[p];
                    cell[0] = sub(cell[0], a);
                    cell[1] = sub(cell[1], af);
                    cell[2] = sub(cell[2], aff);
                }
                found += 1;
                if found >= limit {
                    return Decoded::Many;
                }
                progress = true;
            }
        }
        if cells.iter().all(|c| *c == [0, 0, 0]) { Decoded::Units(found) } else { Decoded::Many }
    }

    /// Whether this difference isolates between 1 and `k − 1` units (a differencing pair).
    pub fn isolates_fewer_than(&self, k: u32) -> Option<usize> {
        match self.decode(k as usize) {
            Decoded::Units(n) if n > 0 && n < k as usize => Some(n),
            _ => None,
        }
    }

    /// A compact encoding: cell count (u16), a bitmap of non-zero cells, then those cells.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let n = self.cells.len();
        out.extend_from_slice(&(n as u16).to_le_bytes());
        let mut bitmap = vec![0u8; n.div_ceil(8)];
        for (i, c) in self.cells.iter().enumerate() {
            if *c != [0, 0, 0] {
                bitmap[i / 8] |= 1 << (i % 8);
            }
        }
        out.extend_from_slice(&bitmap);
        for c in self.cells.iter().filter(|c| **c != [0, 0, 0]) {
            for w in c {
                out.extend_from_slice(&w.to_le_bytes());
            }
        }
    }

    /// Reads one encoded fingerprint from the front of `bytes`, returning it and the rest.
    pub fn decode_from(bytes: &[u8]) -> Option<(Fingerprint, &[u8])> {
        let (n, rest) = bytes.split_first_chunk::<2>()?;
        let n = u16::from_le_bytes(*n) as usize;
        if n == 0 || !n.is_multiple_of(3) {
            return None;
        }
        let (bitmap, mut rest) = rest.split_at_checked(n.div_ceil(8))?;
        let mut cells = vec![[0u64; 3]; n];
        for (i, cell) in cells.iter_mut().enumerate() {
            if bitmap[i / 8] & (1 << (i % 8)) == 0 {
                continue;
            }
            for w in cell.iter_mut() {
                let (v, r) = rest.split_first_chunk::<8>()?;
                *w = u64::from_le_bytes(*v);
                if *w >= P {
                    return None;
                }
                rest = r;
            }
        }
        Some((Fingerprint { cells }, rest))
    }
}

#[cfg(test)]
#[path = "fingerprint_test.rs"]
mod tests;
