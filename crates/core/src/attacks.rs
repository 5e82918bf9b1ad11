//! Evasion attacks with real input gradients from candle's autograd: gradient saliency, FGSM
//! (Goodfellow et al. 2015) and PGD (Madry et al. 2018; Kurakin et al. 2017), untargeted or
//! targeted, always projected onto the L∞ ball of radius ε and onto the pixel range [0, 1].

use crate::digits::PIXELS;
use crate::mlp::{Layers, Mlp};
use crate::train::labels_tensor;
use crate::{Error, Result};
use candle_core::{Device, Tensor, Var};
use serde::{Deserialize, Serialize};

/// Gradient of the mean cross-entropy loss against `labels` with respect to the input images.
pub fn input_gradient(model: &Mlp, images: &[f32], labels: &[u8]) -> Result<Tensor> {
    let x = Tensor::from_slice(images, (labels.len(), PIXELS), &Device::Cpu)?;
    gradient_wrt(&model.frozen(), &x, &labels_tensor(labels)?)
}

/// ∂ cross-entropy(model(x), targets) / ∂x, for a batch already in tensor form.
pub(crate) fn gradient_wrt(model: &Layers, x: &Tensor, targets: &Tensor) -> Result<Tensor> {
    let x = Var::from_tensor(x)?;
    let loss = candle_nn::loss::cross_entropy(&model.forward(x.as_tensor())?, targets)?;
    let grads = loss.backward()?;
    grads
        .get(x.as_tensor())
        .cloned()
        .ok_or_else(|| Error::InvalidInput("the loss does not depend on the input".into()))
}

/// |∂loss/∂pixel| for one image and its label, scaled so the largest is 1: which pixels the
/// model's decision is most sensitive to.
pub fn saliency(model: &Mlp, image: &[f32], label: u8) -> Result<Vec<f32>> {
    let g = input_gradient(model, image, &[label])?
        .abs()?
        .flatten_all()?
        .to_vec1::<f32>()?;
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
    let x = Tensor::from_slice(images, (labels.len(), PIXELS), &Device::Cpu)?;
    let step = (input_gradient(model, images, labels)?.sign()? * f64::from(epsilon))?;
    Ok((x + step)?
        .clamp(0f32, 1f32)?
        .flatten_all()?
        .to_vec1::<f32>()?)
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
    let n = labels.len();
    let x = Tensor::from_slice(images, (n, PIXELS), &Device::Cpu)?;
    // The feasible box {‖x' − x‖∞ ≤ ε} ∩ [0, 1]⁶⁴, clipped once so each step projects with
    // two element-wise ops.
    let low = (&x - f64::from(config.epsilon))?.clamp(0f32, 1f32)?;
    let high = (&x + f64::from(config.epsilon))?.clamp(0f32, 1f32)?;
    let (goal, direction) = match target {
        Some(t) => (vec![t; n], -1.0),
        None => (labels.to_vec(), 1.0),
    };
    let (frozen, goal) = (model.frozen(), labels_tensor(&goal)?);
    let mut adv = x.clone();
    for _ in 0..config.steps {
        let grad = gradient_wrt(&frozen, &adv, &goal)?;
        let step = (grad.sign()? * (direction * f64::from(config.step_size)))?;
        adv = (adv + step)?.minimum(&high)?.maximum(&low)?;
    }
    Ok(adv.flatten_all()?.to_vec1::<f32>()?)
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
