//! Model inversion of class prototypes (Fredrikson, Jha, Ristenpart 2015): gradient ascent on
//! the input of a trained classifier, from a start image towards the input the model is most
//! sure belongs to each class, with the regularisers that keep the result looking like data
//! rather than adversarial noise (an L2 penalty, total variation, an occasional blur, random
//! jitter). All 10 classes are inverted at once, as one batch.

use crate::digits::{CLASSES, PIXELS, SIDE};
use crate::kernels::{sign, Pass};
use crate::mlp::Mlp;
use crate::{Error, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Where every reconstruction starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StartImage {
    /// A black image.
    Zeros,
    /// Every pixel at 0.5.
    Grey,
    /// Seeded uniform noise.
    Noise,
    /// The average of all training digits, whatever their class: what an attacker who has seen
    /// handwritten digits, but none of this model's classes in particular, could start from.
    Average,
}

/// What the learner chooses for an inversion.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InversionSettings {
    pub steps: u32,
    pub step_size: f32,
    /// Weight of the penalty on the squared L2 distance from the start image (pulls the image
    /// back towards where it started; from a black start, towards 0).
    pub l2: f32,
    /// Weight of the total-variation penalty (pulls neighbouring pixels together).
    pub total_variation: f32,
    /// Blur every this many steps (0: never).
    pub blur_every: u32,
    /// Shift each step's image by up to this many pixels before taking the gradient (0: never).
    pub jitter: u32,
    pub start: StartImage,
    pub seed: u64,
}

/// The most steps one inversion runs (the reference runs 500).
pub const MAX_STEPS: u32 = 2_000;
/// How many snapshots a run's preview holds.
pub const FRAMES: u32 = 10;

impl InversionSettings {
    /// Why these settings cannot run, if they cannot.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if !(1..=MAX_STEPS).contains(&self.steps) {
            return Err(format!("steps must be 1–{MAX_STEPS}, got {}", self.steps));
        }
        let real = |name: &str, v: f32, max: f32| {
            if v.is_finite() && (0.0..=max).contains(&v) {
                Ok(())
            } else {
                Err(format!("{name} must be a number from 0 to {max}, got {v}"))
            }
        };
        real("the step size", self.step_size, 10.0)?;
        if self.step_size == 0.0 {
            return Err("the step size must be above 0: with 0 nothing moves".into());
        }
        real("the L2 weight", self.l2, 10.0)?;
        real("the total-variation weight", self.total_variation, 10.0)?;
        if self.jitter > 2 {
            return Err(format!(
                "jitter must be 0, 1 or 2 pixels on an 8×8 image, got {}",
                self.jitter
            ));
        }
        Ok(())
    }
}

/// A snapshot of a run: the 10 images after `step` steps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Frame {
    pub step: u32,
    pub images: Vec<f32>,
}

/// The run's [`FRAMES`] snapshots, the last one the result (the view plays them back).
pub fn frames(model: &Mlp, average: &[f32], settings: &InversionSettings) -> Result<Vec<Frame>> {
    let mut frames = Vec::new();
    invert(model, average, settings, |step, images| {
        frames.push(Frame {
            step,
            images: images.to_vec(),
        })
    })?;
    Ok(frames)
}

/// Inverts `model` for every class at once: returns the 10 reconstructions (class 0 first, 64
/// pixels each, in [0, 1]) and calls `frame(step, images)` at [`FRAMES`] evenly spaced steps,
/// the last one included. `average` is the average training digit (64 pixels).
pub fn invert(
    model: &Mlp,
    average: &[f32],
    settings: &InversionSettings,
    mut frame: impl FnMut(u32, &[f32]),
) -> Result<Vec<f32>> {
    settings.validate().map_err(Error::InvalidInput)?;
    let n = CLASSES * PIXELS;
    let mut rng = ChaCha8Rng::seed_from_u64(settings.seed);
    let mut x: Vec<f32> = match settings.start {
        StartImage::Zeros => vec![0.0; n],
        StartImage::Grey => vec![0.5; n],
        StartImage::Noise => (0..n).map(|_| rng.random::<f32>()).collect(),
        StartImage::Average => average.repeat(CLASSES),
    };
    let start = x.clone();
    let classes: Vec<u8> = (0..CLASSES as u8).collect();
    let (mut pass, mut loss_gradient) = (Pass::new(), vec![0f32; n]);
    let every = settings.steps.div_ceil(FRAMES).max(1);
    let j = settings.jitter as i32;
    for step in 1..=settings.steps {
        let (dx, dy) = if j > 0 {
            (rng.random_range(-j..=j), rng.random_range(-j..=j))
        } else {
            (0, 0)
        };
        // Jitter moves only what the model sees; the gradient is moved back before the step.
        let mut shifted = x.clone();
        roll(&mut shifted, dx, dy);
        // The gradient of the batch's mean cross-entropy; times the batch size it is each
        // image's own gradient of −log p(class). Descending it climbs log p(class).
        pass.forward(model.flat(), &shifted);
        pass.cross_entropy_gradient(model.flat(), &classes, 1.0 / CLASSES as f32);
        pass.input_gradient(model.flat(), &mut loss_gradient);
        roll(&mut loss_gradient, -dx, -dy);
        let tv = tv_gradient(&x);
        let (a, l2, w) = (settings.step_size, settings.l2, settings.total_variation);
        for (i, p) in x.iter_mut().enumerate() {
            let g = CLASSES as f32 * loss_gradient[i] + 2.0 * l2 * (*p - start[i]) + w * tv[i];
            *p -= a * g;
        }
        if settings.blur_every > 0 && step % settings.blur_every == 0 {
            blur(&mut x);
        }
        x.iter_mut().for_each(|p| *p = p.clamp(0.0, 1.0));
        if step % every == 0 || step == settings.steps {
            frame(step, &x);
        }
    }
    Ok(x)
}

/// Shifts every 8×8 image by (dx, dy) pixels, wrapping around the edges.
fn roll(images: &mut [f32], dx: i32, dy: i32) {
    if dx == 0 && dy == 0 {
        return;
    }
    let side = SIDE as i32;
    for image in images.chunks_mut(PIXELS) {
        let old = image.to_vec();
        for r in 0..side {
            for c in 0..side {
                let (r2, c2) = ((r + dy).rem_euclid(side), (c + dx).rem_euclid(side));
                image[(r2 * side + c2) as usize] = old[(r * side + c) as usize];
            }
        }
    }
}

/// The (sub)gradient of the anisotropic total variation Σ |x(r, c) − x(r, c+1)| +
/// |x(r, c) − x(r+1, c)| of each image.
fn tv_gradient(images: &[f32]) -> Vec<f32> {
    let mut g = vec![0f32; images.len()];
    for (image, g) in images.chunks(PIXELS).zip(g.chunks_mut(PIXELS)) {
        for r in 0..SIDE {
            for c in 0..SIDE {
                let i = r * SIDE + c;
                for j in [
                    (c + 1 < SIDE).then(|| i + 1),
                    (r + 1 < SIDE).then(|| i + SIDE),
                ]
                .into_iter()
                .flatten()
                {
                    let s = sign(image[i] - image[j]);
                    g[i] += s;
                    g[j] -= s;
                }
            }
        }
    }
    g
}

/// A 3×3 blur ([1, 2, 1] / 4 each way, edges repeated) of every 8×8 image.
fn blur(images: &mut [f32]) {
    let side = SIDE as i32;
    let at = |image: &[f32], r: i32, c: i32| {
        image[(r.clamp(0, side - 1) * side + c.clamp(0, side - 1)) as usize]
    };
    for image in images.chunks_mut(PIXELS) {
        let old = image.to_vec();
        for r in 0..side {
            for c in 0..side {
                let mut sum = 0.0;
                for (dr, wr) in [(-1, 1.0), (0, 2.0), (1, 1.0)] {
                    for (dc, wc) in [(-1, 1.0), (0, 2.0), (1, 1.0)] {
                        sum += wr * wc * at(&old, r + dr, c + dc);
                    }
                }
                image[(r * side + c) as usize] = sum / 16.0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roll_wraps_and_undoes() {
        let mut x: Vec<f32> = (0..PIXELS).map(|v| v as f32).collect();
        let original = x.clone();
        roll(&mut x, 1, 0);
        assert_eq!(x[1], 0.0);
        assert_eq!(x[0], 7.0);
        roll(&mut x, -1, 0);
        assert_eq!(x, original);
        roll(&mut x, 0, 2);
        assert_eq!(x[2 * SIDE], 0.0);
    }

    #[test]
    fn blur_keeps_a_flat_image_and_spreads_a_dot() {
        let mut flat = vec![0.5f32; PIXELS];
        blur(&mut flat);
        assert!(flat.iter().all(|&p| (p - 0.5).abs() < 1e-6));
        let mut dot = vec![0f32; PIXELS];
        dot[3 * SIDE + 3] = 1.0;
        blur(&mut dot);
        assert_eq!(dot[3 * SIDE + 3], 0.25);
        assert_eq!(dot[3 * SIDE + 4], 0.125);
        assert_eq!(dot[4 * SIDE + 4], 0.0625);
        assert!((dot.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }

    /// Total variation's gradient points from a lone bright pixel towards its neighbours.
    #[test]
    fn total_variation_flattens_a_spike() {
        let mut x = vec![0f32; PIXELS];
        x[3 * SIDE + 3] = 1.0;
        let g = tv_gradient(&x);
        assert_eq!(g[3 * SIDE + 3], 4.0);
        assert_eq!(g[3 * SIDE + 2], -1.0);
        assert_eq!(g[0], 0.0);
    }
}
