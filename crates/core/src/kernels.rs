//! The digits MLP's hot paths as fused kernels over plain `f32` slices: the forward pass, the
//! softmax-cross-entropy gradient, the backward pass to the parameters or to the input, and
//! Adam's update. Training, the attacks, inversion and DP-SGD all run on these; candle stays the
//! model's format ([`crate::mlp::Mlp`] holds candle tensors and reads and writes safetensors) and
//! its autograd is the reference the kernels are tested against.
//!
//! Why: through candle's autograd one PGD step on the 64-32-10 network is about 30 small tensor
//! ops, each allocating its output and recording a graph node; with matrices this small that
//! overhead, not arithmetic, was most of the time (`cargo xtask bench`). Here one step is four
//! loops over preallocated buffers ([`Pass`]), reused from step to step.
//!
//! Determinism: every sum runs in one fixed order, without fused multiply-add, and `exp`/`log`
//! come from `libm`, so the results are bit-identical natively and in WebAssembly. The compiler
//! still vectorises: the dot products keep eight running sums ([`dot`]), a layer's outputs are
//! summed side by side from its transposed weights in that same order ([`dense`]), and the
//! accumulations (`a[..] += s · b[..]`) are element-wise, so SIMD lanes never reorder a sum.

use crate::digits::{CLASSES, PIXELS};
use crate::mlp::HIDDEN;

/// How many numbers the parameters (and one gradient) hold, in the order
/// `fc1.weight` (HIDDEN × PIXELS, row-major), `fc1.bias`, `fc2.weight` (CLASSES × HIDDEN),
/// `fc2.bias`: [`crate::mlp::Mlp::flat`]'s layout.
pub const PARAMETERS: usize = HIDDEN * PIXELS + HIDDEN + CLASSES * HIDDEN + CLASSES;

/// The four parameter tensors of a flat parameter vector: (w1, b1, w2, b2).
pub fn split(params: &[f32]) -> (&[f32], &[f32], &[f32], &[f32]) {
    assert_eq!(params.len(), PARAMETERS, "a flat parameter vector");
    let (w1, rest) = params.split_at(HIDDEN * PIXELS);
    let (b1, rest) = rest.split_at(HIDDEN);
    let (w2, b2) = rest.split_at(CLASSES * HIDDEN);
    (w1, b1, w2, b2)
}

/// [`split`] for a gradient being accumulated.
fn split_mut(params: &mut [f32]) -> (&mut [f32], &mut [f32], &mut [f32], &mut [f32]) {
    assert_eq!(params.len(), PARAMETERS, "a flat parameter vector");
    let (w1, rest) = params.split_at_mut(HIDDEN * PIXELS);
    let (b1, rest) = rest.split_at_mut(HIDDEN);
    let (w2, b2) = rest.split_at_mut(CLASSES * HIDDEN);
    (w1, b1, w2, b2)
}

/// Σ aᵢbᵢ over eight running sums, which the compiler turns into SIMD lanes (one running sum
/// would have to add in order); the same fixed order on every platform.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (ca, cb) in a8.zip(b8) {
        for i in 0..8 {
            lanes[i] += ca[i] * cb[i];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// `out = b + W·x` for one input, each output's sum in [`dot`]'s order (eight running sums over
/// the inputs' positions mod 8, then added in order), but computed for every output at once from
/// the weights transposed (`wt`: IN rows of OUT), so that SIMD lanes run across the outputs and
/// no lanes are summed across (a horizontal sum per output cost as much as its products).
/// Bit for bit what `b[j] + dot(w[j], x)` gives.
fn dense<const IN: usize, const OUT: usize>(
    wt: &[f32],
    b: &[f32],
    x: &[f32; IN],
    out: &mut [f32; OUT],
) {
    const { assert!(IN % 8 == 0, "whole chunks of eight, as dot takes them") };
    let mut total = [0f32; OUT];
    for k in 0..8 {
        let mut lane = [0f32; OUT];
        for i in (k..IN).step_by(8) {
            let xi = x[i];
            let row: &[f32; OUT] = wt[i * OUT..(i + 1) * OUT].try_into().expect("OUT weights");
            for j in 0..OUT {
                lane[j] += row[j] * xi;
            }
        }
        if k == 0 {
            total = lane;
        } else {
            for j in 0..OUT {
                total[j] += lane[j];
            }
        }
    }
    for j in 0..OUT {
        out[j] = b[j] + total[j];
    }
}

/// `w` (rows of `cols` values) transposed into `wt` (rows of `w.len() / cols`).
fn transpose(w: &[f32], cols: usize, wt: &mut Vec<f32>) {
    let rows = w.len() / cols;
    wt.resize(w.len(), 0.0);
    for (r, row) in w.chunks_exact(cols).enumerate() {
        for (c, v) in row.iter().enumerate() {
            wt[c * rows + r] = *v;
        }
    }
}

/// `acc[..] += scale · v[..]`, element by element (vectorises without reordering any sum).
fn add_scaled(acc: &mut [f32], scale: f32, v: &[f32]) {
    acc.iter_mut().zip(v).for_each(|(a, x)| *a += scale * x);
}

/// One forward and backward pass over a batch, in buffers kept from call to call: after
/// [`Pass::forward`] it holds each image's hidden activations and logits; after
/// [`Pass::cross_entropy_gradient`] the loss's gradient at the logits and at the hidden layer.
#[derive(Default)]
pub struct Pass {
    n: usize,
    hidden: Vec<f32>,
    logits: Vec<f32>,
    d_logits: Vec<f32>,
    d_hidden: Vec<f32>,
    /// The forward pass's weights transposed (input-major), refreshed on every call.
    w1t: Vec<f32>,
    w2t: Vec<f32>,
}

impl Pass {
    pub fn new() -> Self {
        Self::default()
    }

    /// The hidden layer (after the ReLU) and the logits of every image of `x` (`n × PIXELS`).
    pub fn forward(&mut self, params: &[f32], x: &[f32]) {
        let (w1, b1, w2, b2) = split(params);
        let n = x.len() / PIXELS;
        self.n = n;
        self.hidden.resize(n * HIDDEN, 0.0);
        self.logits.resize(n * CLASSES, 0.0);
        transpose(w1, PIXELS, &mut self.w1t);
        transpose(w2, HIDDEN, &mut self.w2t);
        for ((image, hidden), logits) in x
            .chunks_exact(PIXELS)
            .zip(self.hidden.chunks_exact_mut(HIDDEN))
            .zip(self.logits.chunks_exact_mut(CLASSES))
        {
            let image: &[f32; PIXELS] = image.try_into().expect("PIXELS values");
            let hidden: &mut [f32; HIDDEN] = hidden.try_into().expect("HIDDEN values");
            dense(&self.w1t, b1, image, hidden);
            hidden.iter_mut().for_each(|h| *h = relu(*h));
            dense::<HIDDEN, CLASSES>(
                &self.w2t,
                b2,
                hidden,
                logits.try_into().expect("CLASSES values"),
            );
        }
    }

    /// Each image's logits, `CLASSES` per image.
    pub fn logits(&self) -> &[f32] {
        &self.logits[..self.n * CLASSES]
    }

    /// Each image's hidden activations (after the ReLU), `HIDDEN` per image.
    pub fn hidden(&self) -> &[f32] {
        &self.hidden[..self.n * HIDDEN]
    }

    /// Each image's predicted class (the first largest logit).
    pub fn predictions(&self) -> impl Iterator<Item = u8> + '_ {
        self.logits().chunks_exact(CLASSES).map(argmax)
    }

    /// How many images the model classes as their label in `labels`.
    pub fn correct(&self, labels: &[u8]) -> usize {
        self.predictions()
            .zip(labels)
            .filter(|(p, l)| p == *l)
            .count()
    }

    /// [`Pass::forward`], then [`Pass::cross_entropy_gradient`] at `scale`, then
    /// [`Pass::add_parameter_gradient`] into `grad`: one batch's share of a training step.
    /// Returns the batch's summed loss.
    pub fn add_batch_gradient(
        &mut self,
        params: &[f32],
        x: &[f32],
        labels: &[u8],
        scale: f32,
        grad: &mut [f32],
    ) -> f32 {
        self.forward(params, x);
        let loss = self.cross_entropy_gradient(params, labels, scale);
        self.add_parameter_gradient(x, None, grad);
        loss
    }

    /// The cross-entropy of each image's logits against its class in `labels`, summed (in f32,
    /// in order); leaves `scale` × (softmax − one-hot) as the gradient at the logits (`scale`
    /// 1/n for the mean loss) and takes it back through the second layer and the ReLU.
    pub fn cross_entropy_gradient(&mut self, params: &[f32], labels: &[u8], scale: f32) -> f32 {
        assert_eq!(labels.len(), self.n, "one label per image");
        let (_, _, w2, _) = split(params);
        self.d_logits.resize(self.n * CLASSES, 0.0);
        self.d_hidden.resize(self.n * HIDDEN, 0.0);
        let mut loss = 0f32;
        for (i, &label) in labels.iter().enumerate() {
            let logits = &self.logits[i * CLASSES..(i + 1) * CLASSES];
            let d_logits = &mut self.d_logits[i * CLASSES..(i + 1) * CLASSES];
            let top = largest(logits);
            let mut total = 0f32;
            for (d, z) in d_logits.iter_mut().zip(logits) {
                *d = libm::expf(z - top);
                total += *d;
            }
            let label = usize::from(label);
            loss += libm::logf(total) - (logits[label] - top);
            // softmax − one-hot; at the label that is −(the other classes' share), summed
            // directly rather than as p − 1, which rounds to 0 once p rounds to 1 and would
            // leave a confident image's gradient pointing wherever the other classes' tiny
            // shares happen to point.
            let others: f32 = d_logits
                .iter()
                .enumerate()
                .filter(|&(k, _)| k != label)
                .map(|(_, e)| *e)
                .sum();
            for (k, d) in d_logits.iter_mut().enumerate() {
                let share = if k == label { -others } else { *d };
                *d = share / total * scale;
            }
            // Back through fc2, then the ReLU.
            let hidden = &self.hidden[i * HIDDEN..(i + 1) * HIDDEN];
            let d_hidden = &mut self.d_hidden[i * HIDDEN..(i + 1) * HIDDEN];
            d_hidden.fill(0.0);
            for (k, &dz) in d_logits.iter().enumerate() {
                add_scaled(d_hidden, dz, &w2[k * HIDDEN..(k + 1) * HIDDEN]);
            }
            for (d, h) in d_hidden.iter_mut().zip(hidden) {
                *d = if *h <= 0.0 { 0.0 } else { *d };
            }
        }
        loss
    }

    /// Image `n`'s hidden activations, gradient at the hidden layer and gradient at the logits.
    pub fn example(&self, n: usize) -> (&[f32], &[f32], &[f32]) {
        (
            &self.hidden[n * HIDDEN..(n + 1) * HIDDEN],
            &self.d_hidden[n * HIDDEN..(n + 1) * HIDDEN],
            &self.d_logits[n * CLASSES..(n + 1) * CLASSES],
        )
    }

    /// Adds the loss's gradient with respect to the parameters to `grad` (flat, in the
    /// parameters' order); `x` is the batch of the forward pass. With `scales`, image `i`'s
    /// share is multiplied by `scales[i]` first (DP-SGD's clipping).
    ///
    /// Row by row rather than image by image: each weight row's sums stay in registers while
    /// every image adds its share, in the images' order, so every number is added in the same
    /// order (and rounds the same) as image by image.
    pub fn add_parameter_gradient(&self, x: &[f32], scales: Option<&[f32]>, grad: &mut [f32]) {
        const HALF: usize = PIXELS / 2;
        let (g_w1, g_b1, g_w2, g_b2) = split_mut(grad);
        let n = self.n;
        let scale = |i: usize| scales.map_or(1.0, |s| s[i]);
        for j in 0..HIDDEN {
            let share = |i: usize| scale(i) * self.d_hidden[i * HIDDEN + j];
            let row = &mut g_w1[j * PIXELS..(j + 1) * PIXELS];
            // The bias's sum rides along with the first half (a sum in memory, added to image
            // by image, was a third of this function's time).
            let mut bias = g_b1[j];
            for (half, row) in row.chunks_exact_mut(HALF).enumerate() {
                let mut sums: [f32; HALF] = (&*row).try_into().expect("HALF sums");
                for i in 0..n {
                    let dh = share(i);
                    if half == 0 {
                        bias += dh;
                    }
                    // A unit the ReLU shut passes nothing back: skip its zero products.
                    if dh != 0.0 {
                        let start = i * PIXELS + half * HALF;
                        add_scaled(&mut sums, dh, &x[start..start + HALF]);
                    }
                }
                row.copy_from_slice(&sums);
            }
            g_b1[j] = bias;
        }
        for k in 0..CLASSES {
            let mut sums: [f32; HIDDEN] = (&g_w2[k * HIDDEN..(k + 1) * HIDDEN])
                .try_into()
                .expect("HIDDEN sums");
            let mut bias = g_b2[k];
            for i in 0..n {
                let dz = scale(i) * self.d_logits[i * CLASSES + k];
                add_scaled(&mut sums, dz, &self.hidden[i * HIDDEN..(i + 1) * HIDDEN]);
                bias += dz;
            }
            g_b2[k] = bias;
            g_w2[k * HIDDEN..(k + 1) * HIDDEN].copy_from_slice(&sums);
        }
    }

    /// Writes the loss's gradient with respect to the input images into `dx` (`n × PIXELS`).
    pub fn input_gradient(&self, params: &[f32], dx: &mut [f32]) {
        const HALF: usize = PIXELS / 2;
        let (w1, _, _, _) = split(params);
        for (i, dx) in dx.chunks_exact_mut(PIXELS).take(self.n).enumerate() {
            let d_hidden = &self.d_hidden[i * HIDDEN..(i + 1) * HIDDEN];
            // Half an image at a time, so that its running sums stay in registers while every
            // hidden unit adds its share (in the units' order, as one pass would).
            for (half, dx) in dx.chunks_exact_mut(HALF).enumerate() {
                let mut sums = [0f32; HALF];
                for (j, &dh) in d_hidden.iter().enumerate() {
                    if dh != 0.0 {
                        let start = j * PIXELS + half * HALF;
                        add_scaled(&mut sums, dh, &w1[start..start + HALF]);
                    }
                }
                dx.copy_from_slice(&sums);
            }
        }
    }
}

/// max(v, 0) by a comparison. `f32::max` can be a call to libm's `fmaxf` in WebAssembly (no
/// instruction there has Rust's rule for NaN, that the other operand wins), and a call in a
/// loop stops it vectorising. The same value for every input but −0, which becomes +0 (which
/// no sum or product downstream tells apart); NaN gives 0, as `max` does.
pub fn relu(v: f32) -> f32 {
    if v > 0.0 {
        v
    } else {
        0.0
    }
}

/// The largest of `values` (−∞ for none), by comparisons (see [`relu`]); NaN is passed over,
/// as `f32::max` passes it over.
pub fn largest(values: &[f32]) -> f32 {
    values
        .iter()
        .fold(f32::NEG_INFINITY, |top, &v| if v > top { v } else { top })
}

/// The index of the first largest value.
pub fn argmax(values: &[f32]) -> u8 {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best as u8
}

/// Adam (Kingma & Ba 2015) with decoupled weight decay, computed exactly as candle-nn's `AdamW`
/// computes it, operation for operation in f32 (tested bit for bit against it), over a flat
/// parameter vector.
pub struct Adam {
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    step: i32,
    m: Vec<f32>,
    v: Vec<f32>,
}

impl Adam {
    /// Adam with PyTorch's and candle's defaults (β = 0.9, 0.999, ε = 1e-8) at learning rate
    /// `lr`, without weight decay, for `len` parameters.
    pub fn new(len: usize, lr: f64) -> Self {
        Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            step: 0,
            m: vec![0.0; len],
            v: vec![0.0; len],
        }
    }

    /// One update of `params` along `grad`.
    pub fn step(&mut self, params: &mut [f32], grad: &[f32]) {
        self.step += 1;
        let scale_m = 1f64 / (1f64 - self.beta1.powi(self.step));
        let scale_v = 1f64 / (1f64 - self.beta2.powi(self.step));
        // candle multiplies by a scalar as x · a + 0 and adds one as x · 1 + b, with the f64
        // constants cast to f32: the same here, so the result is the same to the bit.
        let c = |v: f64| v as f32;
        let (b1, one_b1, b2, one_b2) = (
            c(self.beta1),
            c(1.0 - self.beta1),
            c(self.beta2),
            c(1.0 - self.beta2),
        );
        let (sm, sv, eps, lr) = (c(scale_m), c(scale_v), c(self.eps), c(self.lr));
        let decay = c(1.0 - self.lr * self.weight_decay);
        for (((theta, g), m), v) in params
            .iter_mut()
            .zip(grad)
            .zip(self.m.iter_mut())
            .zip(self.v.iter_mut())
        {
            let next_m = (*m * b1 + 0.0) + (g * one_b1 + 0.0);
            let next_v = (*v * b2 + 0.0) + ((g * g) * one_b2 + 0.0);
            let m_hat = next_m * sm + 0.0;
            let v_hat = next_v * sv + 0.0;
            let adjusted = m_hat / (v_hat.sqrt() * 1.0 + eps);
            *theta = (*theta * decay + 0.0) - (adjusted * lr + 0.0);
            *m = next_m;
            *v = next_v;
        }
    }
}

/// PGD's steps on `adv` in place, without allocating per step: each step takes the sign of the
/// input gradient of the mean cross-entropy against `goal`, times `direction × step_size` (+1
/// climbs the loss, −1 descends it), then projects onto the box [`low`, `high`].
#[allow(clippy::too_many_arguments)]
pub fn sign_steps(
    params: &[f32],
    adv: &mut [f32],
    goal: &[u8],
    low: &[f32],
    high: &[f32],
    step: f32,
    steps: u32,
    pass: &mut Pass,
) {
    let mut grad = vec![0f32; adv.len()];
    let scale = 1.0 / goal.len().max(1) as f32;
    for _ in 0..steps {
        pass.forward(params, adv);
        pass.cross_entropy_gradient(params, goal, scale);
        pass.input_gradient(params, &mut grad);
        for (((a, g), lo), hi) in adv.iter_mut().zip(grad.iter()).zip(low).zip(high) {
            *a = step_in_box(*a, *g, step, *lo, *hi);
        }
    }
}

/// `a` moved by `step` along the sign of `g`, then put back into [`lo`, `hi`]:
/// `(a + sign(g) · step).min(hi).max(lo)` to the bit (tested), the box as two selects instead
/// of branches. A gradient's signs are a coin toss: mispredicted branches made this loop
/// ~10 ns a pixel in Chromium, over half of PGD's time.
#[inline]
fn step_in_box(a: f32, g: f32, step: f32, lo: f32, hi: f32) -> f32 {
    let moved = a + sign(g) * step;
    let below_high = if moved > hi { hi } else { moved };
    if below_high < lo {
        lo
    } else {
        below_high
    }
}

/// −1, 0 or 1 as candle's `sign` gives them (0 stays 0, NaN gives 0), as 1 − 0, 0 − 1 or
/// 0 − 0 rather than by branches, which mispredict on a gradient's coin-toss signs.
#[inline]
pub fn sign(v: f32) -> f32 {
    f32::from(u8::from(v > 0.0)) - f32::from(u8::from(v < 0.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mlp::Mlp;
    use candle_core::{Device, Tensor, Var};
    use rand::{Rng, SeedableRng};

    /// Digits-like inputs: seeded values in [0, 1], and labels.
    fn batch(n: usize) -> (Vec<f32>, Vec<u8>) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let images = (0..n * PIXELS).map(|_| rng.random::<f32>()).collect();
        let labels = (0..n).map(|i| (i * 7 % CLASSES) as u8).collect();
        (images, labels)
    }

    fn close(a: &[f32], b: &[f32], tolerance: f32) {
        assert_eq!(a.len(), b.len());
        let worst = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max);
        assert!(worst <= tolerance, "differs by {worst}");
    }

    /// candle-nn's graph, differentiated by candle's autograd: the mean cross-entropy, the
    /// logits, and the gradients with respect to the parameters and to the input.
    fn autograd(model: &Mlp, images: &[f32], labels: &[u8]) -> (f32, Vec<f32>, Vec<f32>, Vec<f32>) {
        let n = labels.len();
        let x = Var::from_tensor(&Tensor::from_slice(images, (n, PIXELS), &Device::Cpu).unwrap())
            .unwrap();
        let y = Tensor::from_iter(labels.iter().map(|&l| u32::from(l)), &Device::Cpu).unwrap();
        let logits = model.forward(x.as_tensor()).unwrap();
        let loss = candle_nn::loss::cross_entropy(&logits, &y).unwrap();
        let grads = loss.backward().unwrap();
        let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let params = model
            .vars()
            .iter()
            .flat_map(|v| flat(grads.get(v).unwrap()))
            .collect();
        (
            loss.to_scalar().unwrap(),
            flat(&logits),
            params,
            flat(grads.get(x.as_tensor()).unwrap()),
        )
    }

    /// The fused passes compute what candle's autograd computes on candle-nn's layers: the same
    /// logits, loss and gradients, to rounding.
    #[test]
    fn fused_passes_match_candle_autograd() {
        let model = Mlp::init(3).unwrap();
        let (images, labels) = batch(37);
        let (loss, logits, params, input) = autograd(&model, &images, &labels);
        let mut pass = Pass::new();
        pass.forward(model.flat(), &images);
        close(pass.logits(), &logits, 1e-5);
        let n = labels.len() as f32;
        let sum = pass.cross_entropy_gradient(model.flat(), &labels, 1.0 / n);
        assert!((sum / n - loss).abs() < 1e-5, "{} vs {loss}", sum / n);
        let mut gradient = vec![0f32; PARAMETERS];
        pass.add_parameter_gradient(&images, None, &mut gradient);
        close(&gradient, &params, 1e-6);
        let mut dx = vec![0f32; images.len()];
        pass.input_gradient(model.flat(), &mut dx);
        close(&dx, &input, 1e-6);
        assert!(dx.iter().any(|g| *g != 0.0));
        // Predictions are the argmax of the logits.
        let expected: Vec<u8> = logits.chunks(CLASSES).map(argmax).collect();
        assert_eq!(pass.predictions().collect::<Vec<_>>(), expected);
    }

    /// Adam gives candle-nn's AdamW's parameters to the bit, step after step.
    #[test]
    fn adam_is_candles_adamw_to_the_bit() {
        use candle_nn::{AdamW, Optimizer, ParamsAdamW};
        let model = Mlp::init(5).unwrap();
        let mut optimizer = AdamW::new(
            model.vars(),
            ParamsAdamW {
                lr: 0.01,
                weight_decay: 0.0,
                ..Default::default()
            },
        )
        .unwrap();
        let mut params = model.flat().to_vec();
        let mut adam = Adam::new(PARAMETERS, 0.01);
        let (images, labels) = batch(16);
        for step in 0..4 {
            // The same gradient for both: candle's autograd at candle's current weights.
            let (_, _, gradient, _) = autograd(&model, &images, &labels);
            let mut grads = candle_core::backprop::GradStore::default();
            let mut offset = 0;
            for var in model.vars() {
                let len = var.elem_count();
                let g =
                    Tensor::from_slice(&gradient[offset..offset + len], var.shape(), &Device::Cpu)
                        .unwrap();
                grads.insert(var.as_tensor(), g);
                offset += len;
            }
            optimizer.step(&grads).unwrap();
            adam.step(&mut params, &gradient);
            let candle: Vec<f32> = model
                .vars()
                .iter()
                .flat_map(|v| {
                    v.as_tensor()
                        .flatten_all()
                        .unwrap()
                        .to_vec1::<f32>()
                        .unwrap()
                })
                .collect();
            let same = candle
                .iter()
                .zip(&params)
                .all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same, "step {step}");
        }
    }

    /// The layer kernel adds in `dot`'s order, so its outputs are `b + dot(w, x)` to the bit
    /// (signed zeros included), and the input gradient is the row-by-row accumulation's.
    #[test]
    fn dense_layer_and_input_gradient_match_the_plain_loops_to_the_bit() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let mut draw = |n: usize| -> Vec<f32> {
            (0..n)
                .map(|i| match i % 13 {
                    0 => 0.0,
                    1 => -0.0,
                    _ => rng.random::<f32>() * 2.0 - 1.0,
                })
                .collect()
        };
        let (w, b, x) = (draw(HIDDEN * PIXELS), draw(HIDDEN), draw(PIXELS));
        let mut wt = Vec::new();
        transpose(&w, PIXELS, &mut wt);
        let mut out = [0f32; HIDDEN];
        dense::<PIXELS, HIDDEN>(&wt, &b, x.as_slice().try_into().unwrap(), &mut out);
        for j in 0..HIDDEN {
            let expected = b[j] + dot(&w[j * PIXELS..(j + 1) * PIXELS], &x);
            assert_eq!(out[j].to_bits(), expected.to_bits(), "output {j}");
        }

        let (images, labels) = batch(3);
        let model = Mlp::init(5).unwrap();
        let params = model.flat();
        let mut pass = Pass::new();
        pass.forward(&params, &images);
        pass.cross_entropy_gradient(&params, &labels, 1.0);
        let mut dx = vec![0f32; images.len()];
        pass.input_gradient(&params, &mut dx);
        let (w1, _, _, _) = split(&params);
        for i in 0..3 {
            let mut expected = vec![0f32; PIXELS];
            for (j, &dh) in pass.example(i).1.iter().enumerate() {
                if dh != 0.0 {
                    add_scaled(&mut expected, dh, &w1[j * PIXELS..(j + 1) * PIXELS]);
                }
            }
            let got: Vec<u32> = dx[i * PIXELS..(i + 1) * PIXELS]
                .iter()
                .map(|v| v.to_bits())
                .collect();
            let expected: Vec<u32> = expected.iter().map(|v| v.to_bits()).collect();
            assert_eq!(got, expected, "image {i}");
        }
    }

    /// The comparisons that replace `f32::max`, `sign` and `min`/`max` give the same bits on
    /// the values they meet (and NaN as `max` treats it; −0 through the ReLU is +0).
    #[test]
    fn comparisons_give_what_max_sign_and_min_give() {
        let values = [
            -1.5f32,
            -1e-40,
            -0.0,
            0.0,
            1e-40,
            0.25,
            0.95,
            1.0,
            7.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ];
        for v in values.into_iter().chain([f32::NAN]) {
            if v != 0.0 {
                assert_eq!(relu(v).to_bits(), v.max(0.0).to_bits(), "relu({v})");
            }
        }
        assert_eq!(relu(-0.0).to_bits(), 0f32.to_bits());
        assert_eq!(relu(f32::NAN), 0.0);
        let row = [0.5f32, f32::NAN, 3.0, -2.0, 3.0];
        assert_eq!(
            largest(&row),
            row.iter().copied().fold(f32::NEG_INFINITY, f32::max)
        );
        assert_eq!(largest(&[]), f32::NEG_INFINITY);
        for v in values.into_iter().chain([f32::NAN]) {
            let branchy = if v > 0.0 {
                1f32
            } else if v < 0.0 {
                -1.0
            } else {
                0.0
            };
            assert_eq!(sign(v).to_bits(), branchy.to_bits(), "sign({v})");
        }
        for a in [0.0f32, 0.05, 0.5, 0.95, 1.0] {
            for g in values.into_iter().chain([f32::NAN]) {
                for step in [0.01f32, -0.01] {
                    let (lo, hi) = ((a - 0.1).clamp(0.0, 1.0), (a + 0.1).clamp(0.0, 1.0));
                    for start in [lo, a, hi] {
                        let want = (start + sign(g) * step).min(hi).max(lo);
                        let got = step_in_box(start, g, step, lo, hi);
                        assert_eq!(got.to_bits(), want.to_bits(), "a {start} g {g} step {step}");
                    }
                }
            }
        }
    }

    /// A sign step climbs (or descends) the loss and never leaves its box.
    #[test]
    fn sign_steps_stay_in_the_box_and_climb_the_loss() {
        let model = Mlp::init(2).unwrap();
        let (images, labels) = batch(12);
        let low: Vec<f32> = images.iter().map(|x| (x - 0.1).max(0.0)).collect();
        let high: Vec<f32> = images.iter().map(|x| (x + 0.1).min(1.0)).collect();
        let loss = |x: &[f32]| {
            let mut pass = Pass::new();
            pass.forward(model.flat(), x);
            pass.cross_entropy_gradient(model.flat(), &labels, 1.0)
        };
        for direction in [1.0, -1.0] {
            let mut adv = images.clone();
            sign_steps(
                model.flat(),
                &mut adv,
                &labels,
                &low,
                &high,
                direction * 0.02,
                10,
                &mut Pass::new(),
            );
            assert!(adv
                .iter()
                .zip(low.iter().zip(&high))
                .all(|(a, (lo, hi))| lo <= a && a <= hi));
            let change = loss(&adv) - loss(&images);
            assert!(change * direction > 0.0, "direction {direction}: {change}");
        }
    }
}
