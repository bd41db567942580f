//! Unit tests of `dp`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

/// Variance of the discrete Laplace distribution with scale τ: 2e^{−1/τ}/(1 − e^{−1/τ})².
fn expected_variance(scale: f64) -> f64 {
    let q = (-1.0 / scale).exp();
    2.0 * q / (1.0 - q).powi(2)
}

fn samples(seed: u64, s: u64, t: u64, n: usize) -> Vec<i64> {
    let mut rng = SeededRng::new(seed);
    (0..n).map(|_| sample_discrete_laplace(&mut rng, s, t).unwrap()).collect()
}

fn mean_and_variance(xs: &[i64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().map(|&x| x as f64).sum::<f64>() / n;
    let var = xs.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var)
}

#[test]
fn discrete_laplace_integer_scale_has_mean_zero_and_expected_variance() {
    // Scale 3 (s = 1, t = 3): variance ≈ 17.8, so the mean's standard error is ≈ 0.03 and the
    // variance's ≈ 1.6 % over 20 000 samples.
    let xs = samples(7, 1, 3, 20_000);
    let (mean, var) = mean_and_variance(&xs);
    let expected = expected_variance(3.0);
    assert!(mean.abs() < 0.15, "mean {mean}");
    assert!((var - expected).abs() / expected < 0.06, "variance {var}, expected {expected}");
}

#[test]
fn discrete_laplace_rational_scale_has_expected_variance() {
    // Scale 5/2 exercises ⌊X/s⌋ with s > 1.
    let xs = samples(11, 2, 5, 20_000);
    let (mean, var) = mean_and_variance(&xs);
    let expected = expected_variance(2.5);
    assert!(mean.abs() < 0.15, "mean {mean}");
    assert!((var - expected).abs() / expected < 0.06, "variance {var}, expected {expected}");
}

#[test]
fn discrete_laplace_small_scale_is_mostly_zero() {
    // Scale 1/4: P[0] = (e^4 − 1)/(e^4 + 1) ≈ 0.964.
    let xs = samples(3, 4, 1, 20_000);
    let zeros = xs.iter().filter(|&&x| x == 0).count() as f64 / xs.len() as f64;
    let expected = (4f64.exp() - 1.0) / (4f64.exp() + 1.0);
    assert!((zeros - expected).abs() < 0.01, "P[0] {zeros}, expected {expected}");
}

#[test]
fn discrete_laplace_is_symmetric_and_geometric() {
    let xs = samples(5, 1, 2, 40_000);
    let count = |v: i64| xs.iter().filter(|&&x| x == v).count() as f64;
    let positives = xs.iter().filter(|&&x| x > 0).count() as f64;
    let negatives = xs.iter().filter(|&&x| x < 0).count() as f64;
    assert!((positives - negatives).abs() / (positives + negatives) < 0.03);
    for k in 1..=3 {
        let (p, m) = (count(k), count(-k));
        assert!((p - m).abs() / (p + m) < 0.08, "k = {k}: {p} vs {m}");
    }
    // P[z]/P[z+1] = e^{s/t} = e^{1/2}.
    let ratio = count(0) / ((count(1) + count(-1)) / 2.0);
    assert!((ratio - 0.5f64.exp()).abs() < 0.06, "ratio {ratio}");
}

#[test]
fn bernoulli_exp_frequencies_match_exp_minus_gamma() {
    for (num, den) in [(0u64, 1u64), (1, 2), (1, 1), (5, 2), (7, 3)] {
        let mut rng = SeededRng::new(num * 100 + den);
        let n = 20_000;
        let hits = (0..n).filter(|_| sample_bernoulli_exp(&mut rng, num, den).unwrap()).count();
        let freq = hits as f64 / n as f64;
        let expected = (-(num as f64) / den as f64).exp();
        assert!((freq - expected).abs() < 0.015, "γ = {num}/{den}: {freq} vs {expected}");
    }
}

#[test]
fn seeded_rng_is_deterministic_and_os_rng_works() {
    assert_eq!(samples(42, 1, 10, 50), samples(42, 1, 10, 50));
    assert_ne!(samples(42, 1, 10, 50), samples(43, 1, 10, 50));
    let mut os = OsRng::new();
    let words: Vec<u64> = (0..100).map(|_| os.next_u64().unwrap()).collect();
    assert!(words.windows(2).any(|w| w[0] != w[1]));
    assert!(sample_discrete_laplace(&mut os, 1, 5).is_ok());
}

#[test]
fn uniform_below_is_unbiased_for_small_ranges() {
    let mut rng = SeededRng::new(9);
    let mut counts = [0u32; 3];
    for _ in 0..30_000 {
        counts[uniform_below(&mut rng, 3).unwrap() as usize] += 1;
    }
    for c in counts {
        assert!((f64::from(c) - 10_000.0).abs() < 400.0, "{counts:?}");
    }
    // The 128-bit path.
    let big = u128::from(u64::MAX) * 3;
    assert!(uniform_below(&mut rng, big).unwrap() < big);
}

#[test]
fn epsilon_parses_and_composes_exactly() {
    assert_eq!(Epsilon::parse("0.1").unwrap(), Epsilon::new(1, 10).unwrap());
    assert_eq!(Epsilon::parse("1").unwrap(), Epsilon::new(1, 1).unwrap());
    assert_eq!(Epsilon::parse(" 2/6 ").unwrap(), Epsilon::new(1, 3).unwrap());
    assert_eq!(Epsilon::parse(".5").unwrap(), Epsilon::new(1, 2).unwrap());
    for bad in ["", ".", "-1", "abc", "1/0", "0.1234567891", "1e-3"] {
        assert!(Epsilon::parse(bad).is_err(), "{bad}");
    }
    let tenth = Epsilon::parse("0.1").unwrap();
    // Ten times 0.1 is exactly 1: no floating-point drift in budgets.
    let mut total = Epsilon::ZERO;
    for _ in 0..10 {
        total = total.checked_add(tenth).unwrap();
    }
    assert_eq!(total, Epsilon::new(1, 1).unwrap());
    assert_eq!(cost_of(10, tenth).unwrap(), total);
    assert_eq!(cost_of(0, tenth).unwrap(), Epsilon::ZERO);
    assert!(Epsilon::new(1, 3).unwrap() < Epsilon::new(1, 2).unwrap());
    assert_eq!(total.checked_sub(tenth).unwrap(), Epsilon::parse("0.9").unwrap());
    assert!(tenth.checked_sub(total).is_none());
    assert!(Epsilon::new(u64::MAX, 1).unwrap().checked_mul(2).is_err());
}

#[test]
fn noisy_aggregates_use_configured_sensitivity() {
    let config = DpConfig { clamp_lower: -10, clamp_upper: 100, max_contributions: 2 };
    assert_eq!(config.clamp(500), 100);
    assert_eq!(config.clamp(-500), -10);
    assert_eq!(config.count_sensitivity(), 2);
    assert_eq!(config.sum_sensitivity().unwrap(), 200);
    let eps = Epsilon::parse("1").unwrap();
    let mut rng = SeededRng::new(1);
    let n = 20_000;
    let counts: Vec<i64> =
        (0..n).map(|_| noisy_count(1_000, eps, &config, &mut rng).unwrap() - 1_000).collect();
    let (mean, var) = mean_and_variance(&counts);
    assert!(mean.abs() < 0.1);
    assert!((var - expected_variance(2.0)).abs() / expected_variance(2.0) < 0.06, "variance {var}");
    let sums: Vec<i64> = (0..n).map(|_| noisy_sum(0, eps, &config, &mut rng).unwrap()).collect();
    let (_, var) = mean_and_variance(&sums);
    assert!((var - expected_variance(200.0)).abs() / expected_variance(200.0) < 0.06, "variance {var}");
}

#[test]
fn invalid_parameters_are_refused() {
    let mut rng = SeededRng::new(1);
    let ok = DpConfig { clamp_lower: 0, clamp_upper: 1, max_contributions: 1 };
    assert!(noisy_count(1, Epsilon::ZERO, &ok, &mut rng).is_err());
    let bad = DpConfig { clamp_lower: 2, clamp_upper: 1, max_contributions: 1 };
    assert_eq!(bad.validate().unwrap_err().code(), "dp.invalid_config");
    let none = DpConfig { clamp_lower: 0, clamp_upper: 1, max_contributions: 0 };
    assert!(noisy_sum(1, Epsilon::new(1, 1).unwrap(), &none, &mut rng).is_err());
    assert!(sample_discrete_laplace(&mut rng, 0, 1).is_err());
    assert!(!DpError::Random.message_zh().is_empty());
}

/// A source that always fails: noise must then be refused, never skipped.
struct Broken;
impl Rng for Broken {
    fn next_u64(&mut self) -> Result<u64, DpError> {
        Err(DpError::Random)
    }
}

#[test]
fn a_failing_random_source_refuses_to_release() {
    let config = DpConfig { clamp_lower: 0, clamp_upper: 1, max_contributions: 1 };
    assert_eq!(noisy_count(5, Epsilon::new(1, 1).unwrap(), &config, &mut Broken), Err(DpError::Random));
}
