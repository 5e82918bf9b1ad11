//! DP-SGD's privatised gradient (Abadi et al. 2016) for the digits MLP: each example's gradient
//! in closed form, clipped to L2 norm C, summed, Gaussian noise of standard deviation σ·C added,
//! divided by the expected batch size. The per-example gradients come straight from the chain
//! rule for a 64-32-10 ReLU network with softmax cross-entropy, one pass over the batch, not from
//! a batch-1 backward pass per example ([`per_example_gradients`], checked against candle's
//! autograd). Training never holds them: [`clipped_gradient_sum`] gets each example's norm in
//! closed form and adds the clipped example straight into the sum (checked against clipping
//! [`per_example_gradients`] one by one).
//!
//! What the noise buys is counted by [`crate::accountant`].

use crate::accountant::{self, Spent};
use crate::digits::{CLASSES, PIXELS};
use crate::kernels::{self, dot, Pass, PARAMETERS};
use crate::mlp::HIDDEN;
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// How a DP-SGD step draws its examples.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sampling {
    /// Each example joins each step on its own with probability q (the batch size over the
    /// data set's size): what the accountant's analysis assumes.
    Poisson,
    /// Fixed-size batches from a shuffled order, as ordinary training does. Common in practice,
    /// but the Poisson analysis does not cover it (Chua et al. 2024 show the gap can be large),
    /// so the lab certifies no ε for it.
    Shuffled,
}

/// DP-SGD's own settings, beside a training recipe whose batch size is the expected batch.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DpSgd {
    /// C: each example's gradient is scaled down to at most this L2 norm.
    pub clip_norm: f32,
    /// σ: the noise's standard deviation is σ · C.
    pub noise_multiplier: f32,
    pub sampling: Sampling,
}

impl DpSgd {
    /// Why these settings cannot train, if they cannot (σ = 0 can: it is no privacy).
    pub fn validate(&self) -> Result<(), String> {
        let c = self.clip_norm;
        if !(c.is_finite() && c > 0.0) {
            return Err(format!(
                "the clipping norm C must be a number above 0, such as 1; got {c}"
            ));
        }
        let sigma = self.noise_multiplier;
        if !(sigma.is_finite() && sigma >= 0.0) {
            return Err(format!(
                "the noise multiplier σ must be a number of 0 or more, such as 1; got {sigma}"
            ));
        }
        Ok(())
    }

    /// Steps in one epoch over `examples` with expected batch `batch`: one pass in expectation.
    pub fn steps_per_epoch(examples: usize, batch: u32) -> u64 {
        (examples as u64).div_ceil(u64::from(batch).max(1)).max(1)
    }

    /// ε at `delta` after `epochs` epochs over `examples` with expected batch `batch`, by the
    /// Poisson-sampled Gaussian's RDP (ε = ∞ with σ = 0). Shuffled batches get no ε, with why.
    pub fn epsilon(
        &self,
        examples: usize,
        batch: u32,
        epochs: u32,
        delta: f64,
    ) -> Result<Spent, String> {
        if self.sampling == Sampling::Shuffled {
            return Err(
                "shuffled fixed-size batches are not what the accountant analyses: its ε \
                        holds for Poisson sampling only"
                    .into(),
            );
        }
        if !(delta > 0.0 && delta < 1.0 / examples as f64) {
            return Err(format!(
                "δ must be above 0 and below 1/N = 1/{examples}: a δ of 1/N or more allows a \
                 mechanism that publishes one whole record; got {delta}"
            ));
        }
        let q = (f64::from(batch) / examples as f64).min(1.0);
        let steps = u64::from(epochs) * Self::steps_per_epoch(examples, batch);
        accountant::epsilon(q, f64::from(self.noise_multiplier), steps, delta)
    }
}

/// The gradient of each example's cross-entropy loss with respect to the parameters
/// (`params` as [`crate::mlp::Mlp::flat`] gives them), one flat vector per example in the
/// same order. Written out step by step from the chain rule, apart from the kernels: the
/// reference the fused [`clipped_gradient_sum`] is tested against.
pub fn per_example_gradients(params: &[f32], images: &[f32], labels: &[u8]) -> Vec<Vec<f32>> {
    let (w1, b1, w2, b2) = kernels::split(params);
    labels
        .iter()
        .enumerate()
        .map(|(n, &label)| {
            let x = &images[n * PIXELS..(n + 1) * PIXELS];
            let hidden: Vec<f32> = (0..HIDDEN)
                .map(|j| {
                    let row = &w1[j * PIXELS..(j + 1) * PIXELS];
                    (b1[j] + row.iter().zip(x).map(|(w, v)| w * v).sum::<f32>()).max(0.0)
                })
                .collect();
            let logits: Vec<f32> = (0..CLASSES)
                .map(|k| {
                    let row = &w2[k * HIDDEN..(k + 1) * HIDDEN];
                    b2[k] + row.iter().zip(&hidden).map(|(w, h)| w * h).sum::<f32>()
                })
                .collect();
            let top = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let exps: Vec<f32> = logits.iter().map(|z| libm::expf(z - top)).collect();
            let total: f32 = exps.iter().sum();
            // d loss / d logits = softmax − one-hot.
            let d_logits: Vec<f32> = exps
                .iter()
                .enumerate()
                .map(|(k, e)| e / total - if k == label as usize { 1.0 } else { 0.0 })
                .collect();
            // Back through fc2 and the ReLU.
            let d_hidden: Vec<f32> = (0..HIDDEN)
                .map(|j| {
                    if hidden[j] > 0.0 {
                        (0..CLASSES).map(|k| w2[k * HIDDEN + j] * d_logits[k]).sum()
                    } else {
                        0.0
                    }
                })
                .collect();
            let mut g = Vec::with_capacity(PARAMETERS);
            for &dh in &d_hidden {
                g.extend(x.iter().map(|v| dh * v));
            }
            g.extend(&d_hidden);
            for &dz in &d_logits {
                g.extend(hidden.iter().map(|h| dz * h));
            }
            g.extend(&d_logits);
            g
        })
        .collect()
}

/// Scales `gradient` down to L2 norm `clip` if it is longer; returns its norm before.
pub fn clip(gradient: &mut [f32], clip: f32) -> f32 {
    let norm = gradient.iter().map(|g| g * g).sum::<f32>().sqrt();
    if norm > clip {
        let scale = clip / norm;
        gradient.iter_mut().for_each(|g| *g *= scale);
    }
    norm
}

/// A Poisson sample of `0..n`: each index joins on its own with probability `q`. Drawn by
/// skipping ahead geometric gaps (the number of misses before the next hit), which is the same
/// distribution for one logarithm per chosen index instead of a draw for every index.
pub fn poisson_sample(n: usize, q: f64, rng: &mut impl Rng) -> Vec<usize> {
    if q >= 1.0 {
        return (0..n).collect();
    }
    // q of 0, below 0 or not a number: nobody joins (and the gaps below would not be numbers).
    if q.is_nan() || q <= 0.0 {
        return Vec::new();
    }
    let log_miss = libm::log1p(-q);
    let mut chosen = Vec::new();
    // An f64 position, so a huge gap (q near 0) cannot overflow.
    let mut next = 0f64;
    loop {
        // 1 − u lies in (0, 1], so the logarithm is finite.
        next += libm::floor(libm::log(1.0 - rng.random::<f64>()) / log_miss);
        if next >= n as f64 {
            return chosen;
        }
        chosen.push(next as usize);
        next += 1.0;
    }
}

/// The sum of the clipped per-example gradients of a batch, without holding any of them: each
/// example's gradient is a pair of outer products (δhidden ⊗ x, δlogits ⊗ hidden) plus the two
/// bias gradients, so its squared norm is ‖δh‖²(‖x‖² + 1) + ‖δz‖²(‖h‖² + 1) in closed form (the
/// "ghost clipping" identity), and the scaled example goes straight into the sum. The same
/// numbers as clipping [`per_example_gradients`] one by one (tested), in a fraction of the time
/// and memory. Also returns the batch's summed loss; `pass` keeps its predictions.
pub fn clipped_gradient_sum(
    params: &[f32],
    images: &[f32],
    labels: &[u8],
    clip_norm: f32,
    pass: &mut Pass,
) -> (Vec<f32>, f32) {
    let mut sum = vec![0f32; PARAMETERS];
    // The batch's forward pass and each example's gradient at the logits and the hidden layer
    // (scale 1: each example's own loss, not the mean).
    pass.forward(params, images);
    let loss = pass.cross_entropy_gradient(params, labels, 1.0);
    let squares = |v: &[f32]| dot(v, v);
    // Each example's clipping factor from its norm in closed form, then its gradient added
    // into the sum at that scale.
    let scales: Vec<f32> = (0..labels.len())
        .map(|n| {
            let x = &images[n * PIXELS..(n + 1) * PIXELS];
            let (hidden, d_hidden, d_logits) = pass.example(n);
            let norm = (squares(d_hidden) * (squares(x) + 1.0)
                + squares(d_logits) * (squares(hidden) + 1.0))
                .sqrt();
            if norm > clip_norm {
                clip_norm / norm
            } else {
                1.0
            }
        })
        .collect();
    pass.add_parameter_gradient(images, Some(&scales), &mut sum);
    (sum, loss)
}

/// The privatised gradient of one step from the clipped sum: Gaussian noise of standard deviation
/// `sigma · clip_norm` added to every coordinate, divided by `expected_batch` (the sampling rate
/// times the data set's size, so the divisor reveals nothing about how many examples were drawn).
pub fn noisy_mean(
    clipped_sum: &[f32],
    clip_norm: f32,
    sigma: f32,
    expected_batch: f32,
    rng: &mut impl Rng,
) -> Vec<f32> {
    let std = f64::from(sigma) * f64::from(clip_norm);
    clipped_sum
        .iter()
        .map(|s| ((f64::from(*s) + std * standard_normal(rng)) / f64::from(expected_batch)) as f32)
        .collect()
}

/// The ziggurat's layers: 128 strips of equal area under the bell, the bottom one with the tail.
const LAYERS: usize = 128;
/// Where the bottom strip's tail begins, and each strip's area (Marsaglia and Tsang 2000's
/// constants for 128 layers).
const TAIL_START: f64 = 3.442_619_855_899;
const STRIP_AREA: f64 = 9.912_563_035_262_17e-3;

/// Each strip's right edge (`edge[0]` is the bottom strip's width as a rectangle of the strip's
/// area; `edge[LAYERS]` is 0, the top) and the share of each strip that lies wholly under the
/// bell (`edge[i + 1] / edge[i]`).
struct Ziggurat {
    edge: [f64; LAYERS + 1],
    inner: [f64; LAYERS],
}

fn ziggurat() -> &'static Ziggurat {
    static TABLES: OnceLock<Ziggurat> = OnceLock::new();
    TABLES.get_or_init(|| {
        let density = |x: f64| libm::exp(-0.5 * x * x);
        let mut edge = [0f64; LAYERS + 1];
        let mut f = density(TAIL_START);
        edge[0] = STRIP_AREA / f;
        edge[1] = TAIL_START;
        for i in 2..LAYERS {
            edge[i] = libm::sqrt(-2.0 * libm::log(STRIP_AREA / edge[i - 1] + f));
            f = density(edge[i]);
        }
        let inner = std::array::from_fn(|i| edge[i + 1] / edge[i]);
        Ziggurat { edge, inner }
    })
}

/// One draw from N(0, 1) by the ziggurat method (Marsaglia and Tsang 2000, in Doornik 2005's
/// form, which takes the strip and the point from separate bits). About 99% of draws cost one
/// 32-bit number, a multiply and a compare; the rest evaluate the bell with `libm`, so the same
/// seed gives the same noise natively and in the browser. Box–Muller (a logarithm and a sine
/// for every two draws) was a third of DP-SGD's time.
pub fn standard_normal(rng: &mut impl Rng) -> f64 {
    let z = ziggurat();
    loop {
        // One 32-bit word a draw: the generator is most of the noise's cost in the browser
        // (ChaCha8 without a SIMD backend there). The draws then lie on a grid of about
        // 2·10⁻⁷ σC (2²⁵ points across a strip), about one f32 step of the clipped sums they
        // are added to: as with any floating-point noise, not the exact bell that the
        // accountant's proof assumes (Mironov 2012), which a lab's ε can live with and a
        // production release should not. The low 7 bits pick the strip; the other 25 make a
        // uniform point in [-1, 1).
        let bits = rng.next_u32();
        let strip = (bits & (LAYERS as u32 - 1)) as usize;
        let u = f64::from(bits >> 7) * (2.0 / f64::from(1u32 << 25)) - 1.0;
        if u.abs() < z.inner[strip] {
            return u * z.edge[strip];
        }
        if strip == 0 {
            return tail(rng, u < 0.0);
        }
        // The point lies in the strip's ragged right end: keep it if a uniform height there
        // falls under the bell.
        let x = u * z.edge[strip];
        let squared = x * x;
        let below = libm::exp(-0.5 * (z.edge[strip] * z.edge[strip] - squared));
        let above = libm::exp(-0.5 * (z.edge[strip + 1] * z.edge[strip + 1] - squared));
        if above + rng.random::<f64>() * (below - above) < 1.0 {
            return x;
        }
    }
}

/// A draw from the bell beyond ±[`TAIL_START`] (Marsaglia 1964's exponential rejection).
fn tail(rng: &mut impl Rng, negative: bool) -> f64 {
    loop {
        // 1 − u lies in (0, 1], so the logarithms are finite.
        let x = libm::log(1.0 - rng.random::<f64>()) / TAIL_START;
        let y = libm::log(1.0 - rng.random::<f64>());
        if -2.0 * y >= x * x {
            return if negative {
                x - TAIL_START
            } else {
                TAIL_START - x
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mlp::Mlp;
    use candle_core::{Device, Tensor};
    use rand::SeedableRng;

    /// ε for the settings a lesson or a learner gives: ∞ without noise, refused for shuffled
    /// batches and for δ of 1/N or more, each with the reason.
    #[test]
    fn epsilon_of_a_run_says_when_there_is_none() {
        let dp = |sigma: f32, sampling| DpSgd {
            clip_norm: 1.0,
            noise_multiplier: sigma,
            sampling,
        };
        // The steps the trainer runs: 23 a pass over 1,437 records in expected batches of 64
        // (the published 6.94 counts 449 steps in all, not 460).
        let spent = dp(1.0, Sampling::Poisson)
            .epsilon(1437, 64, 20, 1e-5)
            .unwrap();
        let counted = accountant::epsilon(64.0 / 1437.0, 1.0, 20 * 23, 1e-5).unwrap();
        assert_eq!(spent, counted);
        assert!(spent.epsilon > 6.94 && spent.epsilon < 7.1, "{spent:?}");
        assert_eq!(
            dp(0.0, Sampling::Poisson)
                .epsilon(500, 100, 30, 1e-5)
                .unwrap()
                .epsilon,
            f64::INFINITY
        );
        let shuffled = dp(1.0, Sampling::Shuffled)
            .epsilon(500, 100, 30, 1e-5)
            .unwrap_err();
        assert!(shuffled.contains("Poisson sampling only"), "{shuffled}");
        let delta = dp(1.0, Sampling::Poisson)
            .epsilon(500, 100, 30, 0.002)
            .unwrap_err();
        assert!(delta.contains("below 1/N = 1/500"), "{delta}");
        assert!(dp(f32::NAN, Sampling::Poisson).validate().is_err());
        assert!(DpSgd {
            clip_norm: 0.0,
            ..dp(1.0, Sampling::Poisson)
        }
        .validate()
        .is_err());
    }

    /// A few digits-like inputs: seeded values in [0, 1].
    fn batch(n: usize) -> (Vec<f32>, Vec<u8>) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let images = (0..n * PIXELS).map(|_| rng.random::<f32>()).collect();
        let labels = (0..n).map(|i| (i * 3 % CLASSES) as u8).collect();
        (images, labels)
    }

    /// The gradient candle's autograd computes for the mean loss over `images`.
    fn autograd(model: &Mlp, images: &[f32], labels: &[u8]) -> Vec<f32> {
        let n = labels.len();
        let x = Tensor::from_slice(images, (n, PIXELS), &Device::Cpu).unwrap();
        let y = Tensor::from_iter(labels.iter().map(|&l| u32::from(l)), &Device::Cpu).unwrap();
        let loss = candle_nn::loss::cross_entropy(&model.forward(&x).unwrap(), &y).unwrap();
        let grads = loss.backward().unwrap();
        model
            .vars()
            .iter()
            .flat_map(|v| {
                grads
                    .get(v)
                    .unwrap()
                    .flatten_all()
                    .unwrap()
                    .to_vec1::<f32>()
                    .unwrap()
            })
            .collect()
    }

    fn max_difference(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    /// Each closed-form per-example gradient is the gradient autograd gives for that example
    /// alone, and their mean is the batch gradient.
    #[test]
    fn per_example_gradients_match_autograd() {
        let model = Mlp::init(4).unwrap();
        let (images, labels) = batch(8);
        let per_example = per_example_gradients(model.flat(), &images, &labels);
        assert_eq!(per_example.len(), 8);
        for (n, g) in per_example.iter().enumerate() {
            assert_eq!(g.len(), PARAMETERS);
            let one = autograd(
                &model,
                &images[n * PIXELS..(n + 1) * PIXELS],
                &labels[n..n + 1],
            );
            assert!(max_difference(g, &one) < 1e-5, "example {n}");
        }
        let mean: Vec<f32> = (0..PARAMETERS)
            .map(|i| per_example.iter().map(|g| g[i]).sum::<f32>() / 8.0)
            .collect();
        assert!(max_difference(&mean, &autograd(&model, &images, &labels)) < 1e-5);
    }

    #[test]
    fn clipping_bounds_every_example_and_leaves_short_ones_alone() {
        let mut long = vec![3.0, 4.0];
        assert_eq!(clip(&mut long, 1.0), 5.0);
        assert!((long[0] - 0.6).abs() < 1e-6 && (long[1] - 0.8).abs() < 1e-6);
        let mut short = vec![0.3, 0.4];
        clip(&mut short, 1.0);
        assert_eq!(short, [0.3, 0.4]);
    }

    /// The clipped sum without per-example vectors is the sum of the per-example gradients
    /// clipped one by one, for a bound that clips some examples and leaves others alone.
    #[test]
    fn the_clipped_sum_equals_clipping_each_example() {
        let model = Mlp::init(4).unwrap();
        let (images, labels) = batch(16);
        let params = model.flat();
        let per_example = per_example_gradients(params, &images, &labels);
        let norms: Vec<f32> = per_example
            .iter()
            .map(|g| clip(&mut g.clone(), f32::MAX))
            .collect();
        let bound = {
            let mut sorted = norms.clone();
            sorted.sort_by(f32::total_cmp);
            sorted[8]
        };
        let mut sum = vec![0f32; PARAMETERS];
        for mut g in per_example {
            clip(&mut g, bound);
            sum.iter_mut().zip(&g).for_each(|(s, v)| *s += v);
        }
        let (fused, _) = clipped_gradient_sum(params, &images, &labels, bound, &mut Pass::new());
        assert!(max_difference(&fused, &sum) < 1e-5);
        assert!(norms.iter().any(|&n| n > bound) && norms.iter().any(|&n| n < bound));
    }

    /// Every index joins a Poisson sample at rate q, on its own: over 4,000 samples of 50
    /// indices at q = 0.2, each index's rate, the mean size and its spread are Binomial's.
    #[test]
    fn poisson_samples_take_each_index_at_the_rate() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let (n, q, rounds) = (50, 0.2, 4000);
        let mut hits = vec![0usize; n];
        let sizes: Vec<f64> = (0..rounds)
            .map(|_| {
                let chosen = poisson_sample(n, q, &mut rng);
                assert!(chosen.windows(2).all(|w| w[0] < w[1]) && chosen.iter().all(|&i| i < n));
                chosen.iter().for_each(|&i| hits[i] += 1);
                chosen.len() as f64
            })
            .collect();
        // Each rate's standard error is 0.0063; the size's mean 10 ± 0.045, its variance 8.
        for (i, &h) in hits.iter().enumerate() {
            let rate = h as f64 / rounds as f64;
            assert!((rate - q).abs() < 0.03, "index {i} joined at {rate}");
        }
        let mean = sizes.iter().sum::<f64>() / rounds as f64;
        let variance = sizes.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / rounds as f64;
        assert!((mean - 10.0).abs() < 0.25, "mean size {mean}");
        assert!((variance - 8.0).abs() < 1.0, "size variance {variance}");
        assert_eq!(poisson_sample(7, 1.0, &mut rng), (0..7).collect::<Vec<_>>());
        assert!(poisson_sample(7, 1e-300, &mut rng).is_empty());
        for nobody in [0.0, -0.5, f64::NAN] {
            assert!(
                poisson_sample(7, nobody, &mut rng).is_empty(),
                "q = {nobody}"
            );
        }
    }

    /// Noise too large for f32 (σC = 1e48 passes `validate`: both are numbers above 0) makes
    /// the privatised gradient infinite and Adam's step NaN within the epoch: the epoch says
    /// training diverged instead of reporting figures.
    #[test]
    fn a_private_epoch_that_blows_up_says_so() {
        let digits = crate::kinds::testing::session().context().digits().unwrap();
        let config = crate::train::TrainConfig {
            epochs: 1,
            learning_rate: 0.01,
            batch_size: 64,
            seed: 1,
        };
        let dp = DpSgd {
            clip_norm: 1e38,
            noise_multiplier: 1e10,
            sampling: Sampling::Poisson,
        };
        let mut trainer = crate::train::Trainer::private(digits, config, dp).unwrap();
        let error = trainer.run_epoch().unwrap_err().to_string();
        assert!(error.contains("training diverged in epoch 1"), "{error}");
    }

    /// The ziggurat draws N(0, 1): on a million seeded draws its moments, its share beyond the
    /// tail's start and its distribution function (the Kolmogorov–Smirnov distance, at the 1%
    /// level) are the bell's.
    #[test]
    fn standard_normal_draws_follow_the_bell() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let mut draws: Vec<f64> = (0..1_000_000).map(|_| standard_normal(&mut rng)).collect();
        let n = draws.len() as f64;
        let mean = draws.iter().sum::<f64>() / n;
        let moment = |k: i32| draws.iter().map(|x| (x - mean).powi(k)).sum::<f64>() / n;
        let (variance, kurtosis) = (moment(2), moment(4) / moment(2).powi(2));
        // Standard errors: 0.001, 0.0014 and 0.005.
        assert!(mean.abs() < 0.005, "mean {mean}");
        assert!((variance - 1.0).abs() < 0.007, "variance {variance}");
        assert!((kurtosis - 3.0).abs() < 0.025, "kurtosis {kurtosis}");
        // 2(1 − Φ(3.4426)) = 5.76e-4 of the draws, about 576 ± 24, come from the tail.
        let tail = draws.iter().filter(|x| x.abs() > TAIL_START).count();
        assert!(
            (480..680).contains(&tail),
            "{tail} draws beyond the tail's start"
        );
        draws.sort_by(f64::total_cmp);
        let distance = draws
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                let cdf = 0.5 * (1.0 + libm::erf(x / std::f64::consts::SQRT_2));
                (cdf - i as f64 / n)
                    .abs()
                    .max((cdf - (i + 1) as f64 / n).abs())
            })
            .fold(0.0, f64::max);
        assert!(
            distance < 1.63 / n.sqrt(),
            "Kolmogorov–Smirnov distance {distance}"
        );
    }

    /// Without noise the privatised gradient is the clipped sum over the expected batch; with
    /// noise, the same seed gives the same gradient, and the noise has the stated spread.
    #[test]
    fn noise_is_seeded_and_has_the_stated_spread() {
        let model = Mlp::init(4).unwrap();
        let (images, labels) = batch(16);
        let (sum, _) = clipped_gradient_sum(model.flat(), &images, &labels, 0.5, &mut Pass::new());
        let rng = |seed| rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let quiet = noisy_mean(&sum, 0.5, 0.0, 16.0, &mut rng(1));
        assert!(max_difference(&quiet, &sum.iter().map(|s| s / 16.0).collect::<Vec<_>>()) < 1e-6);
        let noisy = noisy_mean(&sum, 0.5, 2.0, 16.0, &mut rng(9));
        assert_eq!(noisy, noisy_mean(&sum, 0.5, 2.0, 16.0, &mut rng(9)));
        // The noise per coordinate is N(0, (σC / B)²) = N(0, 0.0625²); over 2,410 coordinates
        // the sample spread lies well within 5% of it.
        let noise: Vec<f64> = noisy
            .iter()
            .zip(&quiet)
            .map(|(a, b)| f64::from(a - b))
            .collect();
        let spread = (noise.iter().map(|v| v * v).sum::<f64>() / noise.len() as f64).sqrt();
        assert!((spread / 0.0625 - 1.0).abs() < 0.05, "spread {spread}");
    }
}
