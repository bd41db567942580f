//! Which privacy units a query aggregated (sandbox.md layer 7, differencing).
//!
//! Two queries whose sets of contributing units differ by fewer than k units are a differencing pair:
//! subtracting their answers isolates those few people, whatever the SQL looks like. The engine records
//! every unit that enters a gated aggregation in a [`UnitSketch`] — a bitmap of 2^25 bits indexed by a
//! keyed hash of the unit's pseudonym — through a volatile pass-through function placed right below the
//! aggregation, so filters and joins have already acted. The popcount of two sketches' XOR is the size of
//! the symmetric difference, less hash collisions (about 6 % of bits are set at 2M units), so a pair
//! differing by fewer than k units is always found, and rarely a pair that differs by more.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow::array::AsArray;
use arrow::datatypes::{DataType, Int64Type};
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature, Volatility,
};

const BITS_LOG2: u32 = 25;
const WORDS: usize = 1 << (BITS_LOG2 - 6);

/// The set of units a query aggregated, as a bitmap.
#[derive(Debug)]
pub struct UnitSketch {
    words: Vec<AtomicU64>,
}

impl Default for UnitSketch {
    fn default() -> Self {
        UnitSketch { words: (0..WORDS).map(|_| AtomicU64::new(0)).collect() }
    }
}

impl Clone for UnitSketch {
    fn clone(&self) -> Self {
        UnitSketch { words: self.words.iter().map(|w| AtomicU64::new(w.load(Ordering::Relaxed))).collect() }
    }
}

fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

impl UnitSketch {
    fn set(&self, h: u64) {
        let bit = (mix(h) >> (64 - BITS_LOG2)) as usize;
        let w = &self.words[bit >> 6];
        let m = 1u64 << (bit & 63);
        // Most units repeat (several rows each): read before the atomic write.
        if w.load(Ordering::Relaxed) & m == 0 {
            w.fetch_or(m, Ordering::Relaxed);
        }
    }

    /// Units recorded (less collisions).
    pub fn count(&self) -> u64 {
        self.words.iter().map(|w| u64::from(w.load(Ordering::Relaxed).count_ones())).sum()
    }

    /// The size of the symmetric difference of the two sets (less collisions).
    pub fn difference(&self, other: &UnitSketch) -> u64 {
        self.words
            .iter()
            .zip(&other.words)
            .map(|(a, b)| u64::from((a.load(Ordering::Relaxed) ^ b.load(Ordering::Relaxed)).count_ones()))
            .sum()
    }

    /// The two queries' units differ, but by fewer than `k`: subtracting them isolates fewer than k people.
    pub fn differencing_pair(&self, other: &UnitSketch, k: u32) -> bool {
        let d = self.difference(other);
        d > 0 && d < u64::from(k)
    }

    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|w| w.load(Ordering::Relaxed) == 0)
    }

    /// A compact encoding for the query history: the set bit positions, delta-encoded as LEB128.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut last = 0u64;
        for (i, w) in self.words.iter().enumerate() {
            let mut v = w.load(Ordering::Relaxed);
            while v != 0 {
                let bit = (i as u64) * 64 + u64::from(v.trailing_zeros());
                let mut d = bit - last;
                last = bit;
                loop {
                    let byte = (d & 0x7f) as u8;
                    d >>= 7;
                    if d == 0 {
                        out.push(byte);
                        break;
                    }
                    out.push(byte | 0x80);
                }
                v &= v - 1;
            }
        }
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<UnitSketch> {
        let s = UnitSketch::default();
        let mut pos = 0u64;
        let mut d = 0u64;
        let mut shift = 0u32;
        for b in bytes {
            if shift > 56 {
                return None;
            }
            d |= u64::from(b & 0x7f) << shift;
            if b & 0x80 != 0 {
                shift += 7;
                continue;
            }
            pos = pos.checked_add(d)?;
            let bit = pos as usize;
            if bit >= WORDS * 64 {
                return None;
            }
            s.words[bit >> 6].fetch_or(1u64 << (bit & 63), Ordering::Relaxed);
            d = 0;
            shift = 0;
        }
        Some(s)
    }
}

/// `__yunshu_observe(unit)`: returns its argument unchanged and records every value in the sketch.
/// Volatile, so the optimiser neither folds nor moves it.
#[derive(Debug)]
pub struct Observe {
    sketch: Arc<UnitSketch>,
    signature: Signature,
}

impl PartialEq for Observe {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.sketch, &other.sketch)
    }
}

impl Eq for Observe {}

impl Hash for Observe {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (Arc::as_ptr(&self.sketch) as usize).hash(state);
    }
}

impl Observe {
    pub fn udf(sketch: Arc<UnitSketch>) -> ScalarUDF {
        ScalarUDF::from(Observe {
            sketch,
            signature: Signature::new(
                TypeSignature::Uniform(1, vec![DataType::Int64, DataType::Utf8]),
                Volatility::Volatile,
            ),
        })
    }
}

impl ScalarUDFImpl for Observe {
    fn name(&self) -> &str {
        "__yunshu_observe"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(arg_types.first().cloned().unwrap_or(DataType::Int64))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let Some(arg) = args.args.into_iter().next() else {
            return Err(datafusion::error::DataFusionError::Internal("observe takes one argument".into()));
        };
        let array = arg.into_array(args.number_rows)?;
        if let Some(ints) = array.as_primitive_opt::<Int64Type>() {
            // A unit's rows often come together (one person's monthly payments): skip the repeat
            // before hashing and touching the bitmap.
            let mut last = None;
            for v in ints.iter().flatten() {
                if last != Some(v) {
                    self.sketch.set(v as u64);
                    last = Some(v);
                }
            }
        } else if let Some(text) = array.as_string_opt::<i32>() {
            for v in text.iter().flatten() {
                // Text pseudonyms are already 16 hex digits of a keyed hash.
                let h = u64::from_str_radix(v.get(..16).unwrap_or(v), 16).unwrap_or_else(|_| {
                    v.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
                    })
                });
                self.sketch.set(h);
            }
        }
        Ok(ColumnarValue::Array(array))
    }
}
