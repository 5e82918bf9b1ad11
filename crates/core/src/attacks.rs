//! Evasion attacks with real input gradients (the backward pass of [`crate::kernels`], tested
//! against candle's autograd): gradient saliency, FGSM (Goodfellow et al. 2015) and PGD (Madry
//! et al. 2018; Kurakin et al. 2017), untargeted or targeted, always projected onto the L∞ ball
//! of radius ε and onto the pixel range [0, 1].

use crate::digits::PIXELS;
use crate::kernels::{self, Pass};
use crate::mlp::Mlp;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// Gradient of the mean cross-entropy loss against `labels` with respect to the input images
/// (`labels.len() × 64`, flat).
pub fn input_gradient(model: &Mlp, images: &[f32], labels: &[u8]) -> Result<Vec<f32>> {
    let images = whole_images(images, labels)?;
    let mut pass = Pass::new();
    pass.forward(model.flat(), images);
    pass.cross_entropy_gradient(model.flat(), labels, 1.0 / labels.len().max(1) as f32);
    let mut dx = vec![0f32; images.len()];
    pass.input_gradient(model.flat(), &mut dx);
    Ok(dx)
}

/// The images for `labels`, refused unless there is exactly one image per label.
fn whole_images<'a>(images: &'a [f32], labels: &[u8]) -> Result<&'a [f32]> {
    if images.len() != labels.len() * PIXELS {
        return Err(Error::InvalidInput(format!(
            "{} labels but {} pixels: one image of {PIXELS} pixels per label",
            labels.len(),
            images.len()
        )));
    }
    Ok(images)
}

/// |∂loss/∂pixel| for one image and its label, scaled so the largest is 1: which pixels the
/// model's decision is most sensitive to.
pub fn saliency(model: &Mlp, image: &[f32], label: u8) -> Result<Vec<f32>> {
    let g: Vec<f32> = input_gradient(model, image, &[label])?
        .iter()
        .map(|v| v.abs())
        .collect();
    let max = g.iter().copied().fold(0f32, f32::max);
    Ok(g.into_iter()
        .map(|v| if max > 0.0 { v / max } else { 0.0 })
        .collect())
}

fn check_epsilon(epsilon: f32) -> Result<()> {
    if !epsilon.is_finite() || !(0.0..=1.0).contains(&epsilon) {
        return Err(Error::InvalidInput(format!(
            "ε must be a number in [0, 1], got {epsilon}"
        )));
    }
    Ok(())
}

/// Untargeted FGSM: x' = clip(x + ε·sign(∇ₓ L(f(x), y)), 0, 1).
pub fn fgsm(model: &Mlp, images: &[f32], labels: &[u8], epsilon: f32) -> Result<Vec<f32>> {
    check_epsilon(epsilon)?;
    let gradient = input_gradient(model, images, labels)?;
    Ok(images
        .iter()
        .zip(&gradient)
        .map(|(x, g)| (x + (kernels::sign(*g) * epsilon + 0.0)).clamp(0.0, 1.0))
        .collect())
}

/// PGD settings a learner chooses.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PgdConfig {
    pub epsilon: f32,
    pub step_size: f32,
    pub steps: u32,
}

impl PgdConfig {
    /// Madry et al.'s recipe: step size 2.5·ε/steps.
    pub fn madry(epsilon: f32, steps: u32) -> Self {
        PgdConfig {
            epsilon,
            step_size: 2.5 * epsilon / steps.max(1) as f32,
            steps,
        }
    }

    pub fn validate(&self) -> Result<()> {
        check_epsilon(self.epsilon)?;
        if !self.step_size.is_finite() || !(0.0..=1.0).contains(&self.step_size) {
            return Err(Error::InvalidInput(format!(
                "step size must be in [0, 1], got {}",
                self.step_size
            )));
        }
        if !(1..=500).contains(&self.steps) {
            return Err(Error::InvalidInput(format!(
                "steps must be 1–500, got {}",
                self.steps
            )));
        }
        Ok(())
    }
}

/// Projected gradient descent. Untargeted (`target = None`) climbs the loss of the true label;
/// targeted descends the loss of `target`. Every step is projected back onto
/// {x' : ‖x' − x‖∞ ≤ ε} ∩ [0, 1]⁶⁴.
pub fn pgd(
    model: &Mlp,
    images: &[f32],
    labels: &[u8],
    config: &PgdConfig,
    target: Option<u8>,
) -> Result<Vec<f32>> {
    config.validate()?;
    let images = whole_images(images, labels)?;
    Ok(pgd_flat(
        model.flat(),
        images,
        labels,
        config,
        target,
        &mut Pass::new(),
    ))
}

/// [`pgd`] on flat parameters (as training holds them mid-epoch), the settings already
/// validated, the forward and backward buffers lent by the caller.
pub(crate) fn pgd_flat(
    params: &[f32],
    images: &[f32],
    labels: &[u8],
    config: &PgdConfig,
    target: Option<u8>,
    pass: &mut Pass,
) -> Vec<f32> {
    // The feasible box {‖x' − x‖∞ ≤ ε} ∩ [0, 1]⁶⁴, clipped once so each step projects with
    // two comparisons.
    let eps = config.epsilon;
    let low: Vec<f32> = images.iter().map(|x| (x - eps).clamp(0.0, 1.0)).collect();
    let high: Vec<f32> = images.iter().map(|x| (x + eps).clamp(0.0, 1.0)).collect();
    let (goal, direction) = match target {
        Some(t) => (vec![t; labels.len()], -1.0),
        None => (labels.to_vec(), 1.0),
    };
    let mut adv = images.to_vec();
    kernels::sign_steps(
        params,
        &mut adv,
        &goal,
        &low,
        &high,
        direction * config.step_size,
        config.steps,
        pass,
    );
    adv
}

/// Untargeted FGSM success rate (on originally-correct images) at each ε: the curve the FGSM
/// exercise draws so the learner can pick ε.
pub fn fgsm_curve(
    model: &Mlp,
    images: &crate::digits::Images,
    epsilons: &[f32],
) -> Result<Vec<(f32, f32)>> {
    let before = model.predict(&images.pixels)?;
    let correct: Vec<usize> = (0..images.len())
        .filter(|&i| before[i] == images.labels[i])
        .collect();
    epsilons
        .iter()
        .map(|&eps| {
            let after = model.predict(&fgsm(model, &images.pixels, &images.labels, eps)?)?;
            let fooled = correct
                .iter()
                .filter(|&&i| after[i] != images.labels[i])
                .count();
            Ok((eps, fooled as f32 / correct.len().max(1) as f32))
        })
        .collect()
}
