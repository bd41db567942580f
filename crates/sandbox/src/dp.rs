//! Differential privacy (sandbox.md layer 6): exact discrete noise from trusted Rust code.
//!
//! Floating-point Laplace samplers leak through the gaps and rounding of the floating-point
//! grid (Mironov 2012), so this module never touches floats when sampling. It implements the
//! discrete Laplace (two-sided geometric) sampler of Canonne, Kamath & Steinke 2020, "The
//! Discrete Gaussian for Differential Privacy", Algorithm 2, on top of their exact
//! Bernoulli(exp(−γ)) sampler (Algorithm 1), using only integer arithmetic on rational
//! parameters and unbiased uniform integers drawn from an [`Rng`].
//!
//! Privacy parameters come from configuration: [`Epsilon`] is an exact rational (so budgets add up
//! without rounding) and [`DpConfig`] holds clamping bounds and contribution limits. Nothing here
//! reads a bound off the data, which would itself leak (sandbox.md: "never read off the data").

use thiserror::Error;

/// Why a noise or budget operation failed. Messages never contain data values.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DpError {
    /// The operating system's random source failed.
    #[error("the operating system random source failed")]
    Random,
    /// An ε that is not a positive rational (or could not be parsed from configuration).
    #[error("invalid epsilon: {0}")]
    InvalidEpsilon(&'static str),
    /// A DP configuration that is inconsistent.
    #[error("invalid differential privacy configuration: {0}")]
    InvalidConfig(&'static str),
    /// The noise scale or a budget does not fit the exact integer arithmetic.
    #[error("value too large for exact integer arithmetic")]
    Overflow,
}

impl DpError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            DpError::Random => "dp.random",
            DpError::InvalidEpsilon(_) => "dp.invalid_epsilon",
            DpError::InvalidConfig(_) => "dp.invalid_config",
            DpError::Overflow => "dp.overflow",
        }
    }

    /// Message for Chinese-speaking users.
    pub fn message_zh(&self) -> String {
        match self {
            DpError::Random => "系统随机数源不可用，无法添加差分隐私噪声".to_owned(),
            DpError::InvalidEpsilon(why) => format!("隐私预算 ε 无效（{why}）"),
            DpError::InvalidConfig(why) => format!("差分隐私配置无效（{why}）"),
            DpError::Overflow => "数值超出精确整数运算范围".to_owned(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Random sources
// ---------------------------------------------------------------------------------------------

/// A source of uniformly random 64-bit words.
///
/// Fallible because the operating-system source can fail; a sampler must then refuse to release
/// rather than release an un-noised value.
pub trait Rng {
    /// The next uniformly random word.
    fn next_u64(&mut self) -> Result<u64, DpError>;
}

/// Cryptographically secure randomness from the operating system (`getrandom`), for noise on
/// real data. Bytes are fetched in blocks to save system calls; the buffer never leaves the
/// process.
pub struct OsRng {
    buf: [u8; 256],
    pos: usize,
}

impl OsRng {
    /// A new source; the first call fills the buffer.
    pub fn new() -> OsRng {
        OsRng { buf: [0; 256], pos: 256 }
    }
}

impl Default for OsRng {
    fn default() -> Self {
        OsRng::new()
    }
}

impl Rng for OsRng {
    fn next_u64(&mut self) -> Result<u64, DpError> {
        if self.pos + 8 > self.buf.len() {
            getrandom::fill(&mut self.buf).map_err(|_| DpError::Random)?;
            self.pos = 0;
        }
        let mut word = [0u8; 8];
        word.copy_from_slice(self.buf.get(self.pos..self.pos + 8).ok_or(DpError::Random)?);
        // Used bytes are wiped so a later memory disclosure cannot reconstruct past noise.
        if let Some(used) = self.buf.get_mut(self.pos..self.pos + 8) {
            used.fill(0);
        }
        self.pos += 8;
        Ok(u64::from_le_bytes(word))
    }
}

/// A deterministic generator (xoshiro256**, seeded through SplitMix64) for tests and for dummy
/// data, where reproducibility matters. It is predictable: never use it for noise on real data.
#[derive(Debug, Clone)]
pub struct SeededRng {
    s: [u64; 4],
}

impl SeededRng {
    /// A generator whose whole output is determined by `seed`.
    pub fn new(seed: u64) -> SeededRng {
        let mut x = seed;
        let mut splitmix = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        SeededRng { s: [splitmix(), splitmix(), splitmix(), splitmix()] }
    }

    /// The next word; infallible, unlike [`Rng::next_u64`].
    pub fn gen_u64(&mut self) -> u64 {
        let [s0, s1, s2, s3] = &mut self.s;
        let result = s1.wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = *s1 << 17;
        *s2 ^= *s0;
        *s3 ^= *s1;
        *s1 ^= *s2;
        *s0 ^= *s3;
        *s2 ^= t;
        *s3 = s3.rotate_left(45);
        result
    }

    /// A uniform integer in `0..n` (`0` when `n == 0`), without modulo bias.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let reject_below = n.wrapping_neg() % n;
        loop {
            let x = self.gen_u64();
            if x >= reject_below {
                return x % n;
            }
        }
    }

    /// A uniform float in `[0, 1)` (53 random bits). Only for dummy data, never for noise.
    pub fn unit_f64(&mut self) -> f64 {
        (self.gen_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

impl Rng for SeededRng {
    fn next_u64(&mut self) -> Result<u64, DpError> {
        Ok(self.gen_u64())
    }
}

// ---------------------------------------------------------------------------------------------
// Exact samplers
// ---------------------------------------------------------------------------------------------

/// A uniform integer in `0..n` for `n >= 1`, by rejection: the accepted range is a multiple of `n`,
/// so there is no modulo bias.
fn uniform_below<R: Rng + ?Sized>(rng: &mut R, n: u128) -> Result<u128, DpError> {
    if n <= 1 {
        return Ok(0);
    }
    if let Ok(n64) = u64::try_from(n) {
        // Reject the 2^64 mod n lowest words.
        let reject_below = n64.wrapping_neg() % n64;
        loop {
            let x = rng.next_u64()?;
            if x >= reject_below {
                return Ok(u128::from(x % n64));
            }
        }
    }
    let reject_below = n.wrapping_neg() % n;
    loop {
        let x = (u128::from(rng.next_u64()?) << 64) | u128::from(rng.next_u64()?);
        if x >= reject_below {
            return Ok(x % n);
        }
    }
}

/// Bernoulli(num/den) exactly, for `num <= den`, `den >= 1`.
fn bernoulli_ratio<R: Rng + ?Sized>(rng: &mut R, num: u128, den: u128) -> Result<bool, DpError> {
    Ok(uniform_below(rng, den)? < num)
}

/// Bernoulli(exp(−num/den)) for `0 <= num/den <= 1` (CKS 2020, Algorithm 1, first branch):
/// draw A_k ~ Bernoulli(γ/k) for k = 1, 2, … until one is 0; the result is 1 iff that k is odd.
fn bernoulli_exp_minus_at_most_one<R: Rng + ?Sized>(
    rng: &mut R,
    num: u64,
    den: u64,
) -> Result<bool, DpError> {
    let mut k: u64 = 1;
    loop {
        // den ≤ 2^64 − 1 and k ≤ 2^64 − 1, so the product fits in u128.
        let draw = bernoulli_ratio(rng, u128::from(num), u128::from(den) * u128::from(k))?;
        if !draw {
            return Ok(k % 2 == 1);
        }
        k = k.saturating_add(1);
    }
}

/// Bernoulli(exp(−γ)) for a rational `γ = num/den >= 0`, exactly (CKS 2020, Algorithm 1): exp(−γ)
/// is split into ⌊γ⌋ factors of exp(−1) and one factor exp(−(γ − ⌊γ⌋)).
pub fn sample_bernoulli_exp<R: Rng + ?Sized>(rng: &mut R, num: u64, den: u64) -> Result<bool, DpError> {
    if den == 0 {
        return Err(DpError::InvalidConfig("γ denominator is zero"));
    }
    let whole = num / den;
    let mut i = 0;
    while i < whole {
        if !bernoulli_exp_minus_at_most_one(rng, 1, 1)? {
            return Ok(false);
        }
        i += 1;
    }
    bernoulli_exp_minus_at_most_one(rng, num % den, den)
}

/// The discrete Laplace distribution with scale `t/s`, exactly (CKS 2020, Algorithm 2):
/// `P[Z = z] = (e^{s/t} − 1)/(e^{s/t} + 1) · e^{−|z|·s/t}`.
///
/// X = U + t·V is geometric with parameter 1 − e^{−1/t} (U uniform on 0..t accepted with
/// probability e^{−U/t}, V geometric from Bernoulli(e^{−1}) trials); ⌊X/s⌋ gives the magnitude
/// and a fair coin the sign, rejecting "−0" so zero is not counted twice.
pub fn sample_discrete_laplace<R: Rng + ?Sized>(rng: &mut R, s: u64, t: u64) -> Result<i64, DpError> {
    if s == 0 || t == 0 {
        return Err(DpError::InvalidConfig("discrete Laplace scale must be a positive rational"));
    }
    loop {
        let u = uniform_below(rng, u128::from(t))?;
        let u_word = u64::try_from(u).map_err(|_| DpError::Overflow)?;
        if !sample_bernoulli_exp(rng, u_word, t)? {
            continue;
        }
        let mut v: u128 = 0;
        while sample_bernoulli_exp(rng, 1, 1)? {
            v += 1;
        }
        let x = u + u128::from(t) * v;
        let y = x / u128::from(s);
        let negative = rng.next_u64()? & 1 == 1;
        if negative && y == 0 {
            continue;
        }
        let y = i64::try_from(y).map_err(|_| DpError::Overflow)?;
        return Ok(if negative { -y } else { y });
    }
}

// ---------------------------------------------------------------------------------------------
// Privacy parameters
// ---------------------------------------------------------------------------------------------

/// The platform's one exact ε type lives in the domain (budgets are domain values); the sandbox
/// spends it.
pub use yunshu_domain::data_use::{DpBudget, Epsilon};

impl From<yunshu_domain::data_use::DpError> for DpError {
    fn from(e: yunshu_domain::data_use::DpError) -> DpError {
        match e {
            yunshu_domain::data_use::DpError::Overflow => DpError::Overflow,
            yunshu_domain::data_use::DpError::InvalidAmount => {
                DpError::InvalidEpsilon("expected a positive decimal or fraction")
            }
            yunshu_domain::data_use::DpError::Exceeded { .. } => DpError::InvalidEpsilon("budget exceeded"),
        }
    }
}

/// The ε a query costs: each released aggregate is one ε-DP measurement, and measurements compose
/// sequentially, so the cost is `aggregates × eps_per_aggregate`. The caller checks this against the
/// remaining budget *before* running the query.
pub fn cost_of(aggregates: usize, eps_per_aggregate: Epsilon) -> Result<Epsilon, DpError> {
    Ok(eps_per_aggregate.checked_mul(u64::try_from(aggregates).map_err(|_| DpError::Overflow)?)?)
}

/// Per-dataset DP settings, read from configuration (never off the data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DpConfig {
    /// Each unit's value is clamped to `[clamp_lower, clamp_upper]` before summing.
    pub clamp_lower: i64,
    /// Upper clamping bound.
    pub clamp_upper: i64,
    /// How many rows one privacy unit may contribute to one aggregate (excess rows are dropped by
    /// the engine).
    pub max_contributions: u32,
}

impl DpConfig {
    /// Checks that the bounds are ordered and the contribution limit is at least 1.
    pub fn validate(&self) -> Result<(), DpError> {
        if self.clamp_lower > self.clamp_upper {
            return Err(DpError::InvalidConfig("clamp_lower is greater than clamp_upper"));
        }
        if self.max_contributions == 0 {
            return Err(DpError::InvalidConfig("max_contributions must be at least 1"));
        }
        Ok(())
    }

    /// `value` clamped to the configured bounds.
    pub fn clamp(&self, value: i64) -> i64 {
        value.max(self.clamp_lower).min(self.clamp_upper)
    }

    /// L1 sensitivity of a count: adding or removing one unit changes it by at most its
    /// contribution limit.
    pub fn count_sensitivity(&self) -> u64 {
        u64::from(self.max_contributions)
    }

    /// L1 sensitivity of a clamped sum: the largest |bound| times the contribution limit.
    pub fn sum_sensitivity(&self) -> Result<u64, DpError> {
        let bound = self.clamp_lower.unsigned_abs().max(self.clamp_upper.unsigned_abs()).max(1);
        bound.checked_mul(u64::from(self.max_contributions)).ok_or(DpError::Overflow)
    }
}

/// `value` plus discrete Laplace noise of scale `sensitivity/ε`, which is ε-DP for a query of that
/// L1 sensitivity. The result saturates at the `i64` range.
pub fn add_discrete_laplace<R: Rng + ?Sized>(
    value: i64,
    sensitivity: u64,
    epsilon: Epsilon,
    rng: &mut R,
) -> Result<i64, DpError> {
    if epsilon.is_zero() {
        return Err(DpError::InvalidEpsilon("ε must be positive to add noise"));
    }
    if sensitivity == 0 {
        return Err(DpError::InvalidConfig("sensitivity must be positive"));
    }
    // scale = Δ/ε = Δ·den/num, i.e. t = Δ·den and s = num in CKS's notation.
    let t = sensitivity.checked_mul(epsilon.denominator()).ok_or(DpError::Overflow)?;
    let noise = sample_discrete_laplace(rng, epsilon.numerator(), t)?;
    Ok(value.saturating_add(noise))
}

/// An ε-DP count: sensitivity is the contribution limit. The noisy value may be negative; clamping
/// it at zero for display is post-processing and does not cost budget.
pub fn noisy_count<R: Rng + ?Sized>(
    true_count: i64,
    epsilon: Epsilon,
    config: &DpConfig,
    rng: &mut R,
) -> Result<i64, DpError> {
    config.validate()?;
    add_discrete_laplace(true_count, config.count_sensitivity(), epsilon, rng)
}

/// An ε-DP sum of values the engine already clamped with [`DpConfig::clamp`] and limited to
/// `max_contributions` rows per unit; the sensitivity comes from the configured bounds.
pub fn noisy_sum<R: Rng + ?Sized>(
    true_sum_clamped: i64,
    epsilon: Epsilon,
    config: &DpConfig,
    rng: &mut R,
) -> Result<i64, DpError> {
    config.validate()?;
    add_discrete_laplace(true_sum_clamped, config.sum_sensitivity()?, epsilon, rng)
}

#[cfg(test)]
#[path = "dp_test.rs"]
mod tests;
