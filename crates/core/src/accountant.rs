//! The privacy accountant of DP-SGD: Rényi differential privacy (Mironov 2017) of the sampled
//! Gaussian mechanism (Mironov, Talwar and Zhang 2019), composed over the training steps and
//! turned into (ε, δ)-differential privacy.
//!
//! Each step samples every training example independently with probability `q` (Poisson
//! sampling), clips each sampled example's gradient to norm C and adds Gaussian noise of standard
//! deviation σ·C to their sum. For an order α the step is (α, ρ(α))-RDP, where ρ comes from the
//! integer-order sum or the fractional-order series of Mironov, Talwar and Zhang §3.3; RDP adds up
//! over steps. The conversion to ε at a given δ is Proposition 12 of Canonne, Kamath and Steinke
//! (2020), also equation 20 of Asoodeh et al. (2020):
//! ε = ρ + ln(1 − 1/α) − ln(δ·α)/(α − 1), minimised over the orders. It is tighter than the
//! ε = ρ − ln δ/(α − 1) of Mironov 2017 that older tutorials used, which is why they quote ε ≈ 3
//! where this gives 2.60 for the classic MNIST setting.
//!
//! This is the computation of Google's `dp-accounting` package (0.6.0, `RdpAccountant`), with the
//! same orders and the same rules for orders whose series does not converge; the tests match a
//! table of ε the package made (`tests/golden/privacy/`) to 1%. Every function comes from `libm`,
//! so ε is the same bits natively and in the browser.

use serde::{Deserialize, Serialize};

/// The RDP orders tried: 1.1 … 10.9 in tenths, 11 … 63, then 128, 256, 512 and 1024 (the
/// package's defaults).
pub fn orders() -> Vec<f64> {
    (1..100)
        .map(|x| 1.0 + f64::from(x) / 10.0)
        .chain((11..64).map(f64::from))
        .chain([128.0, 256.0, 512.0, 1024.0])
        .collect()
}

/// What a DP-SGD run spent: ε at the δ asked for, and the RDP order that gave it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Spent {
    /// `f64::INFINITY` when nothing is private (no noise).
    pub epsilon: f64,
    pub order: f64,
}

/// ε of `steps` steps of the Poisson-sampled Gaussian mechanism with sampling rate `q` and noise
/// multiplier `sigma`, at `delta`. Says what is wrong with inputs outside the mechanism's range
/// (σ = 0 is not wrong: it is no privacy, ε = ∞).
pub fn epsilon(q: f64, sigma: f64, steps: u64, delta: f64) -> Result<Spent, String> {
    if !(q.is_finite() && (0.0..=1.0).contains(&q)) {
        return Err(format!("the sampling rate must be in [0, 1], got {q}"));
    }
    if sigma.is_nan() || sigma < 0.0 {
        return Err(format!(
            "the noise multiplier must be 0 or more, got {sigma}"
        ));
    }
    if !(delta.is_finite() && delta > 0.0 && delta < 1.0) {
        return Err(format!("δ must be in (0, 1), got {delta}"));
    }
    let orders = orders();
    let rdp: Vec<f64> = orders
        .iter()
        .map(|&alpha| steps as f64 * rdp_one_step(q, sigma, alpha))
        .collect();
    Ok(to_epsilon(&orders, &rdp, delta))
}

/// ε at `delta` from the RDP `rdp[i]` at each order `orders[i]`: the smallest bound over orders.
fn to_epsilon(orders: &[f64], rdp: &[f64], delta: f64) -> Spent {
    let mut best = Spent {
        epsilon: f64::INFINITY,
        order: orders[0],
    };
    for (&alpha, &r) in orders.iter().zip(rdp) {
        let epsilon = if r < 0.0 {
            0.0
        } else if delta * delta + libm::expm1(-r) > 0.0 {
            // The KL bound δ ≤ √(1 − e^−ρ) already gives δ at ε = 0.
            0.0
        } else if alpha > 1.01 {
            r + libm::log1p(-1.0 / alpha) - libm::log(delta * alpha) / (alpha - 1.0)
        } else {
            f64::INFINITY
        };
        if epsilon < best.epsilon {
            best = Spent {
                epsilon,
                order: alpha,
            };
        }
    }
    best.epsilon = best.epsilon.max(0.0);
    best
}

/// The RDP at order `alpha` of one step (may be infinite).
pub fn rdp_one_step(q: f64, sigma: f64, alpha: f64) -> f64 {
    if q == 0.0 {
        return 0.0;
    }
    if alpha.is_infinite() || sigma == 0.0 {
        return f64::INFINITY;
    }
    if q == 1.0 {
        return alpha / (2.0 * sigma * sigma);
    }
    let log_a = if alpha.fract() == 0.0 {
        log_a_int(q, sigma, alpha as u64)
    } else {
        log_a_frac(q, sigma, alpha)
    };
    log_a / (alpha - 1.0)
}

/// ln(e^x + e^y).
fn log_add(x: f64, y: f64) -> f64 {
    let (a, b) = (x.min(y), x.max(y));
    if a == f64::NEG_INFINITY {
        return b;
    }
    libm::log1p(libm::exp(a - b)) + b
}

/// ln of the binomial coefficient (n choose k), for real n.
fn log_comb(n: f64, k: f64) -> f64 {
    libm::lgamma(n + 1.0) - libm::lgamma(k + 1.0) - libm::lgamma(n - k + 1.0)
}

/// ln A_α for an integer order (Mironov, Talwar, Zhang 2019, §3.2).
fn log_a_int(q: f64, sigma: f64, alpha: u64) -> f64 {
    let (log_q, log_1mq) = (libm::log(q), libm::log1p(-q));
    (0..=alpha).fold(f64::NEG_INFINITY, |log_a, i| {
        let i_f = i as f64;
        let coef = log_comb(alpha as f64, i_f) + i_f * log_q + (alpha - i) as f64 * log_1mq;
        log_add(log_a, coef + (i_f * i_f - i_f) / (2.0 * sigma * sigma))
    })
}

/// The series of [`log_a_frac`] is cut off here; an order whose series has not converged by then
/// is left out (its RDP is taken as infinite), as the package does.
const MAX_TERMS: u32 = 1000;

/// ln A_α for a fractional order (Mironov, Talwar, Zhang 2019, §3.3): the two halves of the
/// integral, split at z0, each summed as a series until both terms shrink below e^−30 of the total.
fn log_a_frac(q: f64, sigma: f64, alpha: f64) -> f64 {
    let (mut log_a0, mut log_a1) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
    let z0 = sigma * sigma * libm::log(1.0 / q - 1.0) + 0.5;
    let (log_q, log_1mq) = (libm::log(q), libm::log1p(-q));
    let (mut last_s0, mut last_s1) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
    let half = libm::log(0.5);
    let root2_sigma = libm::sqrt(2.0) * sigma;
    for i in 0..MAX_TERMS {
        let i = f64::from(i);
        let coef = log_comb(alpha, i);
        let j = alpha - i;
        let log_t0 = coef + i * log_q + j * log_1mq;
        let log_t1 = coef + j * log_q + i * log_1mq;
        let log_e0 = half + log_erfc((i - z0) / root2_sigma);
        let log_e1 = half + log_erfc((z0 - j) / root2_sigma);
        let log_s0 = log_t0 + (i * i - i) / (2.0 * sigma * sigma) + log_e0;
        let log_s1 = log_t1 + (j * j - j) / (2.0 * sigma * sigma) + log_e1;
        log_a0 = log_add(log_a0, log_s0);
        log_a1 = log_add(log_a1, log_s1);
        let total = log_add(log_a0, log_a1);
        if log_s0 < last_s0 && log_s1 < last_s1 && log_s0.max(log_s1) < total - 30.0 {
            return total;
        }
        last_s0 = log_s0;
        last_s1 = log_s1;
    }
    f64::INFINITY
}

/// ln erfc(x), accurate where erfc(x) underflows (the asymptotic series at infinity).
fn log_erfc(x: f64) -> f64 {
    let r = libm::erfc(x);
    if r > f64::MIN_POSITIVE {
        return libm::log(r);
    }
    let x2 = x * x;
    -libm::log(std::f64::consts::PI) / 2.0 - libm::log(x) - x2 - 0.5 / x2 + 0.625 / (x2 * x2)
        - 37.0 / 24.0 / (x2 * x2 * x2)
        + 353.0 / 64.0 / (x2 * x2 * x2 * x2)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// DP-SGD as the tests and lessons describe it: n examples, batches of `batch` expected
    /// examples, `epochs` passes.
    fn dp_sgd(n: f64, batch: f64, sigma: f64, epochs: f64, delta: f64) -> Spent {
        let steps = (epochs * n / batch).ceil() as u64;
        epsilon(batch / n, sigma, steps, delta).unwrap()
    }

    /// The two settings the issue quotes from dp-accounting 0.6.0.
    #[test]
    fn published_values() {
        let mnist = dp_sgd(60000.0, 256.0, 1.1, 60.0, 1e-5);
        assert!((mnist.epsilon - 2.60).abs() < 0.01, "{mnist:?}");
        let digits = dp_sgd(1437.0, 64.0, 1.0, 20.0, 1e-5);
        assert!((digits.epsilon - 6.95).abs() < 0.01, "{digits:?}");
    }

    #[test]
    fn no_noise_is_no_privacy_and_endless_noise_is_perfect_privacy() {
        let none = epsilon(0.05, 0.0, 100, 1e-5).unwrap();
        assert_eq!(none.epsilon, f64::INFINITY);
        let mut last = f64::INFINITY;
        for sigma in [1.0, 10.0, 100.0, 1e4, 1e6] {
            let e = epsilon(0.05, sigma, 100, 1e-5).unwrap().epsilon;
            assert!(e < last, "ε must fall as σ grows: {e} after {last}");
            last = e;
        }
        assert!(last < 1e-3, "{last}");
        // Nothing sampled, nothing spent; no steps, nothing spent.
        assert_eq!(epsilon(0.0, 1.0, 100, 1e-5).unwrap().epsilon, 0.0);
        assert_eq!(epsilon(0.05, 1.0, 0, 1e-5).unwrap().epsilon, 0.0);
    }

    /// With q = 1 every step is the plain Gaussian mechanism, whose RDP is α/(2σ²) exactly.
    #[test]
    fn sampling_everything_is_the_gaussian_mechanism() {
        assert_eq!(rdp_one_step(1.0, 2.0, 8.0), 1.0);
        let one = epsilon(1.0, 1.0, 1, 1e-5).unwrap();
        let orders = orders();
        let rdp: Vec<f64> = orders.iter().map(|a| a / 2.0).collect();
        assert_eq!(one, to_epsilon(&orders, &rdp, 1e-5));
        // More steps never cost less.
        assert!(epsilon(1.0, 1.0, 2, 1e-5).unwrap().epsilon > one.epsilon);
    }

    /// Integer and fractional orders agree where they meet: the series at α = 3 + 1e-9 is
    /// the sum at α = 3.
    #[test]
    fn the_fractional_series_meets_the_integer_sum() {
        for (q, sigma) in [(0.01, 1.0), (0.1, 0.8), (0.3, 2.0)] {
            let int = log_a_int(q, sigma, 3);
            let frac = log_a_frac(q, sigma, 3.0 + 1e-9);
            assert!(
                (int - frac).abs() < 1e-6,
                "q {q}, σ {sigma}: {int} vs {frac}"
            );
        }
    }

    #[test]
    fn bad_inputs_are_named() {
        assert_eq!(
            epsilon(f64::NAN, 1.0, 1, 1e-5).unwrap_err(),
            "the sampling rate must be in [0, 1], got NaN"
        );
        assert_eq!(
            epsilon(0.1, -1.0, 1, 1e-5).unwrap_err(),
            "the noise multiplier must be 0 or more, got -1"
        );
        assert_eq!(
            epsilon(0.1, f64::NAN, 1, 1e-5).unwrap_err(),
            "the noise multiplier must be 0 or more, got NaN"
        );
        assert_eq!(
            epsilon(0.1, 1.0, 1, 0.0).unwrap_err(),
            "δ must be in (0, 1), got 0"
        );
    }
}
