//! The lab's digits classifier: a 64-32-10 multilayer perceptron with ReLU. Its weights are
//! candle tensors (the model's format: safetensors in and out, and a candle-nn graph,
//! [`Mlp::forward`], that autograd differentiates); predictions, training and attacks run on the
//! fused kernels of [`crate::kernels`] over the same weights laid out flat.

use crate::digits::{Images, CLASSES, PIXELS};
use crate::kernels::{self, Pass};
use crate::{Error, Result};
use candle_core::{DType, Device, Module, Tensor, Var};
use candle_nn::Linear;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub const HIDDEN: usize = 32;
const NAMES: [&str; 4] = ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"];

pub struct Mlp {
    layers: Layers,
    /// The parameters, in `NAMES` order. Nothing changes them once the model is made (training
    /// works on a flat copy and makes a new `Mlp`), so `flat` stays their copy.
    vars: Vec<Var>,
    /// The same parameters in one vector, as the kernels read them ([`kernels::PARAMETERS`]).
    flat: Vec<f32>,
}

fn shapes() -> [(usize, usize); 4] {
    [
        (HIDDEN, PIXELS),
        (1, HIDDEN),
        (CLASSES, HIDDEN),
        (1, CLASSES),
    ]
}

impl Mlp {
    /// A freshly initialised model. Weights are drawn from U(-1/√fan_in, 1/√fan_in) (PyTorch's
    /// default for linear layers) with a seeded ChaCha generator, so the same seed gives the
    /// same starting model natively and in every browser.
    pub fn init(seed: u64) -> Result<Self> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut flat = Vec::with_capacity(kernels::PARAMETERS);
        for (i, &(rows, cols)) in shapes().iter().enumerate() {
            let fan_in = if i < 2 { PIXELS } else { HIDDEN } as f32;
            let bound = 1.0 / fan_in.sqrt();
            flat.extend((0..rows * cols).map(|_| rng.random_range(-bound..bound)));
        }
        Self::from_flat(&flat)
    }

    /// The model with the parameters `flat` ([`Mlp::flat`]'s layout), as training makes it.
    pub fn from_flat(flat: &[f32]) -> Result<Self> {
        if flat.len() != kernels::PARAMETERS {
            return Err(Error::Model(format!(
                "{} parameters, expected {}",
                flat.len(),
                kernels::PARAMETERS
            )));
        }
        let mut offset = 0;
        let vars = shapes()
            .iter()
            .map(|&(rows, cols)| {
                let values = &flat[offset..offset + rows * cols];
                offset += rows * cols;
                let tensor = if rows == 1 {
                    Tensor::from_slice(values, cols, &Device::Cpu)?
                } else {
                    Tensor::from_slice(values, (rows, cols), &Device::Cpu)?
                };
                Ok(Var::from_tensor(&tensor)?)
            })
            .collect::<Result<Vec<_>>>()?;
        let layers = Layers::new(vars.iter().map(|v| v.as_tensor().clone()).collect());
        Ok(Mlp {
            layers,
            vars,
            flat: flat.to_vec(),
        })
    }

    /// The candle Vars, for tests that differentiate [`Mlp::forward`] with autograd.
    #[cfg(test)]
    pub(crate) fn vars(&self) -> Vec<Var> {
        self.vars.clone()
    }

    /// All parameters in one vector: `fc1.weight` (32 × 64, row-major), `fc1.bias`,
    /// `fc2.weight` (10 × 32), `fc2.bias` ([`kernels::PARAMETERS`] numbers), what the kernels
    /// and closed-form gradients read.
    pub fn flat(&self) -> &[f32] {
        &self.flat
    }

    /// Logits for a batch `(n, 64)` through candle-nn's layers: a graph autograd can
    /// differentiate, the reference the kernels are tested against.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.layers.forward(x)
    }

    /// The forward pass over the whole images of `images` (`n × 64` pixels; a partial image at
    /// the end is left out).
    fn pass(&self, images: &[f32]) -> Pass {
        let n = images.len() / PIXELS;
        let mut pass = Pass::new();
        pass.forward(&self.flat, &images[..n * PIXELS]);
        pass
    }

    /// Predicted class of every image; refuses pixels that are not whole images.
    pub fn predict(&self, images: &[f32]) -> Result<Vec<u8>> {
        if !images.len().is_multiple_of(PIXELS) {
            return Err(Error::InvalidInput(format!(
                "{} pixels are not whole images of {PIXELS}",
                images.len()
            )));
        }
        Ok(self.pass(images).predictions().collect())
    }

    /// Class probabilities (softmax) for one image; refuses anything but one image's pixels.
    pub fn probabilities(&self, image: &[f32]) -> Result<Vec<f32>> {
        if image.len() != PIXELS {
            return Err(Error::InvalidInput(format!(
                "an image has {PIXELS} pixels, not {}",
                image.len()
            )));
        }
        Ok(softmax(self.pass(image).logits()))
    }

    /// The class probabilities of each of `images` (`n × 64` pixels), one row per image.
    pub fn probability_rows(&self, images: &[f32]) -> Result<Vec<Vec<f32>>> {
        Ok(self
            .pass(images)
            .logits()
            .chunks_exact(CLASSES)
            .map(softmax)
            .collect())
    }

    /// The hidden layer's activations (after the ReLU, the layer before the logits) for each of
    /// `images`, one row of [`HIDDEN`] values per image: what the poison detectors look at.
    pub fn activations(&self, images: &[f32]) -> Result<Vec<Vec<f32>>> {
        Ok(self
            .pass(images)
            .hidden()
            .chunks_exact(HIDDEN)
            .map(<[f32]>::to_vec)
            .collect())
    }

    /// Each image's logits, one row per image.
    fn logit_rows(&self, images: &Images) -> Result<Vec<Vec<f32>>> {
        Ok(self
            .pass(&images.pixels)
            .logits()
            .chunks_exact(CLASSES)
            .map(<[f32]>::to_vec)
            .collect())
    }

    /// Each image's cross-entropy loss on its label, from the logits in f64 (a member of an
    /// overfit model's training set can have a loss of 1e-9, far below what 1 − p in f32 holds).
    pub fn losses(&self, images: &Images) -> Result<Vec<f64>> {
        let pass = self.pass(&images.pixels);
        Ok(pass
            .logits()
            .chunks_exact(CLASSES)
            .zip(&images.labels)
            .map(|(row, &label)| log_sum_exp(row, None) - row[label as usize] as f64)
            .collect())
    }

    /// Each image's confidence in its label on the logit scale, log(p / (1 − p)), in f64: the
    /// statistic Carlini et al. (2022) model as a Gaussian. It is the label's logit minus the
    /// log-sum-exp of the other logits, so it stays exact where p rounds to 1.
    pub fn scaled_confidences(&self, images: &Images) -> Result<Vec<f64>> {
        Ok(self
            .logit_rows(images)?
            .iter()
            .zip(&images.labels)
            .map(|(row, &label)| {
                let label = label as usize;
                row[label] as f64 - log_sum_exp(row, Some(label))
            })
            .collect())
    }

    /// Fraction of `images` classified correctly.
    pub fn accuracy(&self, images: &Images) -> Result<f32> {
        let correct = self.pass(&images.pixels).correct(&images.labels);
        Ok(correct as f32 / images.len().max(1) as f32)
    }

    /// How far this model's weights lie from `other`'s: the L2 norm of the difference over all
    /// parameters, relative to `other`'s norm. Two runs of one training recipe on different
    /// float kernels stay near 0; different seeds or recipes land near 1 or beyond.
    pub fn relative_distance(&self, other: &Mlp) -> Result<f64> {
        let (mut diff, mut norm) = (0f64, 0f64);
        for (x, y) in self.flat.iter().zip(&other.flat) {
            diff += f64::from(x - y).powi(2);
            norm += f64::from(*y).powi(2);
        }
        Ok((diff / norm.max(f64::MIN_POSITIVE)).sqrt())
    }

    /// The model as a safetensors file (f32, fixed tensor names).
    pub fn to_safetensors(&self) -> Result<Vec<u8>> {
        let tensors: Vec<(&str, &Tensor)> = NAMES
            .iter()
            .copied()
            .zip(self.vars.iter().map(|v| v.as_tensor()))
            .collect();
        safetensors::serialize(tensors, None).map_err(|e| Error::Model(e.to_string()))
    }

    /// Loads a model written by [`Mlp::to_safetensors`]. Refuses a file with missing or
    /// misshapen tensors, another dtype, or non-finite weights, saying which.
    pub fn from_safetensors(bytes: &[u8]) -> Result<Self> {
        let mut tensors = candle_core::safetensors::load_buffer(bytes, &Device::Cpu)
            .map_err(|e| Error::Model(format!("not a readable safetensors file ({e})")))?;
        let mut flat = Vec::with_capacity(kernels::PARAMETERS);
        for (name, (rows, cols)) in NAMES.iter().zip(shapes()) {
            let t = tensors
                .remove(*name)
                .ok_or_else(|| Error::Model(format!("tensor '{name}' is missing")))?;
            let want: Vec<usize> = if rows == 1 {
                vec![cols]
            } else {
                vec![rows, cols]
            };
            if t.dims() != want.as_slice() || t.dtype() != DType::F32 {
                return Err(Error::Model(format!(
                    "tensor '{name}' is {:?} {:?}, expected F32 {want:?}",
                    t.dtype(),
                    t.dims()
                )));
            }
            let values = t.flatten_all()?.to_vec1::<f32>()?;
            if values.iter().any(|v| !v.is_finite()) {
                return Err(Error::Model(format!(
                    "tensor '{name}' holds NaN or infinite values"
                )));
            }
            flat.extend(values);
        }
        if let Some(extra) = tensors.keys().next() {
            return Err(Error::Model(format!("unexpected tensor '{extra}'")));
        }
        Self::from_flat(&flat)
    }
}

/// The network as candle-nn layers: two linear layers with a ReLU between, over the model's Vars
/// in `NAMES` order (the graph [`Mlp::forward`] builds).
struct Layers {
    fc1: Linear,
    fc2: Linear,
}

impl Layers {
    fn new(w: Vec<Tensor>) -> Self {
        Layers {
            fc1: Linear::new(w[0].clone(), Some(w[1].clone())),
            fc2: Linear::new(w[2].clone(), Some(w[3].clone())),
        }
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.fc2.forward(&self.fc1.forward(x)?.relu()?)?)
    }
}

/// The softmax of one image's logits (libm's exp, so the same in every browser and natively).
fn softmax(logits: &[f32]) -> Vec<f32> {
    let top = kernels::largest(logits);
    let exps: Vec<f32> = logits.iter().map(|z| libm::expf(z - top)).collect();
    let total: f32 = exps.iter().sum();
    exps.into_iter().map(|e| e / total).collect()
}

/// log Σ exp(z) over `row` in f64, leaving out the entry `except`.
fn log_sum_exp(row: &[f32], except: Option<usize>) -> f64 {
    let kept = || {
        row.iter()
            .enumerate()
            .filter(move |(j, _)| Some(*j) != except)
            .map(|(_, &z)| z as f64)
    };
    let top = kept().fold(f64::NEG_INFINITY, f64::max);
    top + libm::log(kept().map(|z| libm::exp(z - top)).sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Flat parameters, tensors and safetensors are one model: through a file and back, the
    /// same numbers to the bit.
    #[test]
    fn flat_parameters_round_trip_through_safetensors() {
        let model = Mlp::init(9).unwrap();
        let again = Mlp::from_safetensors(&model.to_safetensors().unwrap()).unwrap();
        assert_eq!(again.flat(), model.flat());
        let rebuilt = Mlp::from_flat(model.flat()).unwrap();
        assert_eq!(
            rebuilt.to_safetensors().unwrap(),
            model.to_safetensors().unwrap()
        );
    }

    /// Pixels that are not whole images, or a parameter vector of the wrong length, are refused
    /// with what was wrong.
    #[test]
    fn misshapen_input_is_refused_with_the_reason() {
        let model = Mlp::init(9).unwrap();
        let err = model.predict(&[0.5; PIXELS + 3]).unwrap_err().to_string();
        assert!(
            err.contains("67 pixels are not whole images of 64"),
            "{err}"
        );
        let err = model.probabilities(&[0.5; 10]).unwrap_err().to_string();
        assert!(err.contains("64 pixels, not 10"), "{err}");
        assert_eq!(model.probabilities(&[0.5; PIXELS]).unwrap().len(), CLASSES);
        let err = Mlp::from_flat(&[0.0; 5]).err().unwrap().to_string();
        assert!(err.contains("5 parameters, expected 2410"), "{err}");
        let err = crate::attacks::input_gradient(&model, &[0.5; PIXELS], &[1, 2])
            .unwrap_err()
            .to_string();
        assert!(err.contains("2 labels but 64 pixels"), "{err}");
    }
}
