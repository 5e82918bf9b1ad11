//! What Track B's kinds share: the grader's own retraining of several training sets with the
//! exercise's recipe, epoch by epoch in the worker ([`Retraining`]), and backdoor triggers (how
//! one is checked, stamped onto an image and measured).

use super::pixel_attack::PixelEdit;
use super::Measurement;
use crate::digits::{Digits, Images, PIXELS, TRAIN_ROWS};
use crate::exercise::{Context, Details};
use crate::grade::Grade;
use crate::mlp::Mlp;
use crate::train::{TrainConfig, Trainer};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// What judges the trained models, in the order they were given to [`Retraining::new`].
pub(crate) type Judge = Box<dyn FnOnce(&[&Mlp]) -> Result<(Grade, Details)> + Send>;

/// The grade's measurement: the recipe trained on each training set in turn (the clean data, the
/// poisoned data, …), one epoch per part, then judged.
pub(crate) struct Retraining {
    runs: Vec<(String, Trainer)>,
    judge: Judge,
}

impl Retraining {
    /// `sets` are (what the progress line calls the model, its training data).
    pub fn new(
        sets: Vec<(&'static str, &Digits)>,
        recipe: &TrainConfig,
        judge: Judge,
    ) -> Result<Self> {
        let runs = sets
            .into_iter()
            .map(|(name, data)| Ok((name.to_string(), Trainer::new(data, recipe.clone(), None)?)))
            .collect::<Result<_>>()?;
        Ok(Self::from_runs(runs, judge))
    }

    /// Trainers built by the caller (each with its own recipe, plain or DP-SGD), trained in
    /// turn and judged in this order.
    pub fn from_runs(runs: Vec<(String, Trainer)>, judge: Judge) -> Self {
        Retraining { runs, judge }
    }
}

impl Measurement for Retraining {
    fn progress(&self) -> (u32, u32, String) {
        let done = self.runs.iter().map(|(_, t)| t.epochs_done()).sum();
        let total = self
            .runs
            .iter()
            .map(|(_, t)| t.epochs_done() + t.epochs_left())
            .sum();
        let label = self
            .runs
            .iter()
            .find(|(_, t)| !t.finished())
            .map(|(name, t)| format!("{name}, epoch {}", t.epochs_done() + 1))
            .unwrap_or_default();
        (done, total, label)
    }
    fn step(&mut self, _: &Context) -> Result<bool> {
        if let Some((_, t)) = self.runs.iter_mut().find(|(_, t)| !t.finished()) {
            t.run_epoch()?;
        }
        Ok(self.runs.iter().any(|(_, t)| !t.finished()))
    }
    fn grade(self: Box<Self>) -> (Grade, Details) {
        let models: Vec<&Mlp> = self.runs.iter().map(|(_, t)| t.model()).collect();
        (self.judge)(&models).unwrap_or_else(|e| (Grade::rejected(e.to_string()), Details::None))
    }
}

/// A grade from scratch for a kind whose measurement is a [`Retraining`] (the CLI, receipts):
/// every part measured in one go, then judged the way the worker's job judges it. Rules the
/// measurement refuses become a rejected grade (an artefact is judged, not refused).
pub(crate) fn graded(measure: Result<Retraining>, ctx: &Context) -> Result<(Grade, Details)> {
    let mut retraining = match measure {
        Ok(r) => Box::new(r),
        Err(Error::InvalidInput(why)) => return Ok((Grade::rejected(why), Details::None)),
        Err(e) => return Err(e),
    };
    while retraining.step(ctx)? {}
    Ok(retraining.grade())
}

/// Why `indices` are not a set of at most `max` training images, if they are not: too many, one
/// out of range, one listed twice. `what` names them in the messages ("poisoned images").
pub(crate) fn check_images(
    indices: &[u32],
    max: u32,
    what: &str,
) -> std::result::Result<(), String> {
    if indices.len() > max as usize {
        return Err(format!(
            "{} {what} is over the budget of {max} ({} too many)",
            indices.len(),
            indices.len() - max as usize
        ));
    }
    let mut seen = std::collections::BTreeMap::new();
    for (n, &index) in indices.iter().enumerate() {
        if index as usize >= TRAIN_ROWS {
            return Err(format!(
                "there is no training image {index} (they are numbered 0–{})",
                TRAIN_ROWS - 1
            ));
        }
        if let Some(first) = seen.insert(index, n) {
            return Err(format!(
                "training image {index} is listed twice (entries {} and {})",
                first + 1,
                n + 1
            ));
        }
    }
    Ok(())
}

/// Why `trigger` is not a trigger of at most `max_pixels` pixels, if it is not: empty, too many
/// pixels, a pixel outside the 8×8 grid or given twice, a value that is NaN or outside [0, 1].
pub fn check_trigger(trigger: &[PixelEdit], max_pixels: u32) -> std::result::Result<(), String> {
    if trigger.is_empty() {
        return Err("the trigger is empty: paint at least one pixel".into());
    }
    if trigger.len() > max_pixels as usize {
        return Err(format!(
            "the trigger has {} pixels; at most {max_pixels} are allowed",
            trigger.len()
        ));
    }
    let mut seen = BTreeSet::new();
    for p in trigger {
        if p.pixel as usize >= PIXELS {
            return Err(format!("trigger pixel {} does not exist (0–63)", p.pixel));
        }
        if !(p.value.is_finite() && (0.0..=1.0).contains(&p.value)) {
            return Err(format!(
                "trigger pixel {} has value {}; values must be in [0, 1]",
                p.pixel, p.value
            ));
        }
        if !seen.insert(p.pixel) {
            return Err(format!("trigger pixel {} is given twice", p.pixel));
        }
    }
    Ok(())
}

/// `image` with `trigger` painted over it (a checked trigger).
pub fn stamp(image: &[f32], trigger: &[PixelEdit]) -> Vec<f32> {
    let mut image = image.to_vec();
    for p in trigger {
        image[p.pixel as usize] = p.value;
    }
    image
}

/// The training data with `poisons` stamped with `trigger` and relabelled `target`.
pub(crate) fn poisoned(
    digits: &Digits,
    poisons: &[u32],
    trigger: &[PixelEdit],
    target: u8,
) -> Digits {
    let mut out = digits.clone();
    for &i in poisons {
        let i = i as usize;
        let stamped = stamp(digits.train.image(i), trigger);
        out.train.pixels[i * PIXELS..(i + 1) * PIXELS].copy_from_slice(&stamped);
        out.train.labels[i] = target;
    }
    out
}

/// The test images of every class but `target`, stamped with `trigger`, with their true labels.
pub(crate) fn triggered_test(test: &Images, trigger: &[PixelEdit], target: u8) -> Images {
    let mut out = Images {
        pixels: vec![],
        labels: vec![],
    };
    for i in (0..test.len()).filter(|&i| test.labels[i] != target) {
        out.pixels.extend(stamp(test.image(i), trigger));
        out.labels.push(test.labels[i]);
    }
    out
}

/// How one model fares: its accuracy on the clean test split, and its attack success (the
/// share of triggered test images of the other classes it calls `target`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelBars {
    pub model: String,
    pub clean_accuracy: f32,
    pub attack_success: f32,
}

/// Clean test images the model gets right, and triggered ones it calls `target`.
pub(crate) struct Measured {
    pub clean_right: usize,
    pub clean: usize,
    pub hits: usize,
    pub triggered: usize,
}

impl Measured {
    pub fn of(model: &Mlp, test: &Images, triggered: &Images, target: u8) -> Result<Self> {
        let clean_right = model
            .predict(&test.pixels)?
            .iter()
            .zip(&test.labels)
            .filter(|(p, l)| p == l)
            .count();
        let hits = model
            .predict(&triggered.pixels)?
            .iter()
            .filter(|&&p| p == target)
            .count();
        Ok(Measured {
            clean_right,
            clean: test.len(),
            hits,
            triggered: triggered.len(),
        })
    }
    pub fn accuracy(&self) -> f64 {
        self.clean_right as f64 / self.clean.max(1) as f64
    }
    pub fn success(&self) -> f64 {
        self.hits as f64 / self.triggered.max(1) as f64
    }
    pub fn bars(&self, model: &str) -> ModelBars {
        ModelBars {
            model: model.into(),
            clean_accuracy: self.accuracy() as f32,
            attack_success: self.success() as f32,
        }
    }
}
