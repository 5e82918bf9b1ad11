//! Track B's defence: find the poisons. The exercise hides a backdoor in the training split
//! (a trigger, a target label and which images carry it, all drawn from `poison_seed`; the
//! learner never sees them). The worker trains the recipe on that poisoned set and scores every
//! training image with a detector over the model's hidden activations ([`crate::detectors`]);
//! the learner picks which images to remove. The grader retrains on what is left and checks that
//! the poisons went, few clean images went with them, and the backdoor no longer works.
//!
//! A workshop's instances are other hidden poisons of the same target and trigger, which the
//! lesson lists with the removal its reference rule makes on each (`instances`).

use super::backdoor::BackdoorPlan;
use super::pixel_attack::PixelEdit;
use super::poisoning::{
    check_images, graded, poisoned, triggered_test, Measured, ModelBars, Retraining,
};
#[cfg(test)]
use super::Task;
use super::{ExerciseKind, Start};
use crate::detectors::{roc, Detector};
use crate::digits::{Digits, Images, CLASSES, PIXELS, TRAIN_ROWS};
use crate::exercise::{Artefact, Context, Details, Settings};
use crate::grade::{threshold, Figure, Grade, Unit};
use crate::mlp::Mlp;
use crate::resources::Resource;
use crate::train::{TrainConfig, Trainer};
use crate::{Error, Result};
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindPoisons {
    /// Draws the hidden backdoor: its target, its trigger (a 2×2 corner) and its poisons.
    pub poison_seed: u64,
    /// How many training images carry the hidden trigger.
    pub poisons: u32,
    /// At least this share of the poisons must be removed.
    pub min_found: f32,
    /// At most this share of the clean training images may be removed.
    pub max_clean_removed: f32,
    /// The model retrained on what is left may call at most this share of triggered test
    /// images the hidden target.
    pub max_success: f32,
    /// Its clean test accuracy may fall at most this far below the unpoisoned model's.
    pub max_clean_drop: f32,
    /// The grader's training recipe (the learner does not choose it).
    pub recipe: TrainConfig,
    /// A workshop's other instances: other hidden poisons (of the same target and trigger, so
    /// the lesson's text stays true), each with its reference removal.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instances: Vec<HiddenInstance>,
}

/// One more instance of the hidden backdoor, and the removal that passes it (what the
/// lesson's reference rule, the distance to the class centre above 0.95 in the target class,
/// removes there; `find_poisons::tests::instances` prints them).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HiddenInstance {
    pub poison_seed: u64,
    pub reference: Vec<u32>,
}

/// What the learner removes from the training split, and which detector guided them (its ROC
/// is shown with the grade).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Removal {
    pub detector: Detector,
    /// Indices into the training split, each once.
    pub removed: Vec<u32>,
}

/// What a detection grade was measured on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DetectionReport {
    /// The unpoisoned, the poisoned and the cleaned model.
    pub bars: Vec<ModelBars>,
    pub detector: Detector,
    /// The detector's ROC over the training split (false-positive rate, true-positive rate).
    pub roc: Vec<(f32, f32)>,
    pub auc: f32,
    pub removed_poisons: u32,
    pub poisons: u32,
    pub removed_clean: u32,
    pub clean: u32,
}

/// The training images' scores under one detector, with the labels they carry in the poisoned
/// set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    pub detector: Detector,
    pub scores: Vec<f32>,
    pub labels: Vec<u8>,
}

impl FindPoisons {
    /// The target and trigger `poison_seed` draws, and the generator left to draw the poisons.
    fn shape(poison_seed: u64) -> (u8, Vec<PixelEdit>, rand_chacha::ChaCha8Rng) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(poison_seed);
        let target = rng.random_range(0..CLASSES as u8);
        let (left, top) = match rng.random_range(0..4u8) {
            0 => (0, 0),
            1 => (6, 0),
            2 => (0, 6),
            _ => (6, 6),
        };
        let trigger = [(0, 0), (1, 0), (0, 1), (1, 1)]
            .iter()
            .map(|(x, y)| PixelEdit {
                pixel: (top + y) * 8 + left + x,
                value: 1.0,
            })
            .collect();
        (target, trigger, rng)
    }

    /// The backdoor hidden in the training split.
    fn hidden(&self, digits: &Digits) -> BackdoorPlan {
        let (target, trigger, mut rng) = Self::shape(self.poison_seed);
        let poisons = super::backdoor::random_poisons(digits, target, self.poisons, rng.random());
        BackdoorPlan {
            target,
            trigger,
            poisons,
        }
    }

    /// The training split as the exercise ships it: the hidden backdoor planted.
    fn poisoned(&self, digits: &Digits, hidden: &BackdoorPlan) -> Digits {
        poisoned(digits, &hidden.poisons, &hidden.trigger, hidden.target)
    }

    /// The recipe trained once on the poisoned training split, and every training image's score
    /// under each detector (what the page's histogram shows; switching detectors then needs no
    /// new training).
    pub fn scores(&self, digits: &Digits) -> Result<Vec<Scores>> {
        let data = self.poisoned(digits, &self.hidden(digits));
        let mut trainer = Trainer::new(&data, self.recipe.clone(), None)?;
        while !trainer.finished() {
            trainer.run_epoch()?;
        }
        let activations = trainer.model().activations(&data.train.pixels)?;
        Ok(Detector::ALL
            .iter()
            .map(|&d| score(&activations, &data, d))
            .collect())
    }

    pub fn check(&self, removal: &Removal) -> std::result::Result<(), String> {
        check_images(&removal.removed, TRAIN_ROWS as u32, "removed images")
    }

    fn measure(&self, removal: &Removal, ctx: &Context) -> Result<Retraining> {
        let digits = ctx.digits()?;
        self.check(removal).map_err(Error::InvalidInput)?;
        let hidden = self.hidden(digits);
        let data = self.poisoned(digits, &hidden);
        let cleaned = without(&data, &removal.removed);
        let (task, removal_, test, data_) = (
            self.clone(),
            removal.clone(),
            digits.test.clone(),
            data.clone(),
        );
        Retraining::new(
            vec![
                ("the unpoisoned model", digits),
                ("the poisoned model", &data),
                ("the model retrained on what you kept", &cleaned),
            ],
            &self.recipe,
            Box::new(move |models: &[&Mlp]| task.judge(models, &removal_, &hidden, &data_, &test)),
        )
    }

    fn judge(
        &self,
        models: &[&Mlp],
        removal: &Removal,
        hidden: &BackdoorPlan,
        data: &Digits,
        test: &Images,
    ) -> Result<(Grade, Details)> {
        let triggered = triggered_test(test, &hidden.trigger, hidden.target);
        let measured = models
            .iter()
            .map(|m| Measured::of(m, test, &triggered, hidden.target))
            .collect::<Result<Vec<_>>>()?;
        let (unpoisoned, cleaned) = (&measured[0], &measured[2]);
        let poisons: BTreeSet<u32> = hidden.poisons.iter().copied().collect();
        let removed_poisons = removal
            .removed
            .iter()
            .filter(|i| poisons.contains(i))
            .count();
        let removed_clean = removal.removed.len() - removed_poisons;
        let clean = TRAIN_ROWS - poisons.len();
        let found = removed_poisons as f64 / poisons.len().max(1) as f64;
        let clean_share = removed_clean as f64 / clean.max(1) as f64;
        let drop = unpoisoned.accuracy() - cleaned.accuracy();
        let grade = Grade::from_figures(
            vec![
                Figure::at_least("poisons removed", found, threshold(self.min_found), Unit::Percent),
                Figure::at_most(
                    "clean images removed",
                    clean_share,
                    threshold(self.max_clean_removed),
                    Unit::Percent,
                ),
                Figure::at_most(
                    "attack success after cleaning",
                    cleaned.success(),
                    threshold(self.max_success),
                    Unit::Percent,
                ),
                Figure::at_most(
                    "clean accuracy lost",
                    drop,
                    threshold(self.max_clean_drop),
                    Unit::Percent,
                ),
            ],
            &format!(
                "you removed {removed_poisons} of the {} poisons and {removed_clean} of the {clean} \
                 clean images; the model retrained on the rest calls {} of {} triggered test \
                 digits {} (the poisoned model: {}) and gets {} of {} clean test digits right \
                 (the unpoisoned model: {})",
                poisons.len(),
                cleaned.hits,
                cleaned.triggered,
                hidden.target,
                measured[1].hits,
                cleaned.clean_right,
                cleaned.clean,
                unpoisoned.clean_right
            ),
        );
        let activations = models[1].activations(&data.train.pixels)?;
        let scores = score(&activations, data, removal.detector);
        let truth: Vec<bool> = (0..data.train.len() as u32)
            .map(|i| poisons.contains(&i))
            .collect();
        let (roc, auc) = roc(&scores.scores, &truth);
        let names = ["unpoisoned model", "poisoned model", "cleaned model"];
        Ok((
            grade,
            Details::Detection(DetectionReport {
                bars: measured.iter().zip(names).map(|(m, n)| m.bars(n)).collect(),
                detector: removal.detector,
                roc,
                auc,
                removed_poisons: removed_poisons as u32,
                poisons: poisons.len() as u32,
                removed_clean: removed_clean as u32,
                clean: clean as u32,
            }),
        ))
    }
}

/// Every training image of `data` scored by `detector` over its hidden `activations`.
fn score(activations: &[Vec<f32>], data: &Digits, detector: Detector) -> Scores {
    Scores {
        detector,
        scores: detector.scores(activations, &data.train.labels),
        labels: data.train.labels.clone(),
    }
}

/// `data` without the training images `removed`.
fn without(data: &Digits, removed: &[u32]) -> Digits {
    let removed: BTreeSet<u32> = removed.iter().copied().collect();
    let mut out = data.clone();
    out.train = Images {
        pixels: vec![],
        labels: vec![],
    };
    for i in (0..data.train.len()).filter(|&i| !removed.contains(&(i as u32))) {
        out.train
            .pixels
            .extend_from_slice(&data.train.pixels[i * PIXELS..(i + 1) * PIXELS]);
        out.train.labels.push(data.train.labels[i]);
    }
    out
}

impl ExerciseKind for FindPoisons {
    type Settings = Removal;

    fn wrap(settings: Removal) -> Settings {
        Settings::Removal(settings)
    }
    fn unwrap(settings: &Settings) -> Option<&Removal> {
        match settings {
            Settings::Removal(r) => Some(r),
            _ => None,
        }
    }

    const NEEDS: &'static [Resource] = &[Resource::Digits];

    /// Per-learner variants: the instances the lesson lists, each another set of poisoned
    /// images with the same target and trigger, and its own reference removal.
    fn variants(&self) -> u32 {
        1 + self.instances.len() as u32
    }
    fn variant(&self, index: u32) -> Self {
        match index
            .checked_sub(1)
            .and_then(|i| self.instances.get(i as usize))
        {
            Some(instance) => FindPoisons {
                poison_seed: instance.poison_seed,
                ..self.clone()
            },
            None => self.clone(),
        }
    }
    fn variant_solution(&self, solution: &Removal, index: u32) -> Removal {
        match index
            .checked_sub(1)
            .and_then(|i| self.instances.get(i as usize))
        {
            Some(instance) => Removal {
                detector: solution.detector,
                removed: instance.reference.clone(),
            },
            None => solution.clone(),
        }
    }

    fn validate(&self, _: &Removal, _: &Removal) -> std::result::Result<(), String> {
        if self.poisons == 0 || self.poisons as usize >= TRAIN_ROWS / 2 {
            return Err(format!("poisons must be 1–{}", TRAIN_ROWS / 2 - 1));
        }
        super::unit("min_found", self.min_found)?;
        super::unit("max_clean_removed", self.max_clean_removed)?;
        super::unit("max_success", self.max_success)?;
        super::unit("max_clean_drop", self.max_clean_drop)?;
        let (target, trigger, _) = Self::shape(self.poison_seed);
        for (n, instance) in self.instances.iter().enumerate() {
            check_images(&instance.reference, TRAIN_ROWS as u32, "removed images")
                .map_err(|e| format!("instance {}: {e}", n + 1))?;
            let (t, tr, _) = Self::shape(instance.poison_seed);
            if (t, tr) != (target, trigger.clone()) {
                return Err(format!(
                    "instance {}: poison_seed {} hides another target or trigger than the \
                     lesson's, so its text and hints would not fit",
                    n + 1,
                    instance.poison_seed
                ));
            }
        }
        self.recipe.validate().map_err(|e| e.to_string())
    }

    /// The removal in index order, checked.
    fn settings_from(
        &self,
        edited: &Removal,
        _: &BTreeMap<String, String>,
    ) -> std::result::Result<Removal, String> {
        let mut removal = edited.clone();
        removal.removed.sort();
        self.check(&removal)?;
        Ok(removal)
    }

    fn start(&self, removal: &Removal, ctx: &Context) -> Result<Start> {
        let retraining = self.measure(removal, ctx)?;
        Ok(Start::Measuring(
            Artefact::Removal {
                removal: removal.clone(),
            },
            Box::new(retraining),
        ))
    }

    fn grade(&self, ctx: &Context, artefact: &Artefact) -> Result<(Grade, Details)> {
        let Artefact::Removal { removal } = artefact else {
            return Ok((
                Grade::rejected("expected a set of removed training images"),
                Details::None,
            ));
        };
        graded(self.measure(removal, ctx), ctx)
    }

    fn reproduce(
        &self,
        removal: &Removal,
        artefact: &Artefact,
        _: &Context,
    ) -> Result<std::result::Result<Artefact, String>> {
        Ok(match artefact {
            Artefact::Removal { removal: r } if r == removal => Ok(artefact.clone()),
            _ => Err("its removed images are not the ones its settings record".into()),
        })
    }

    fn seed(&self, _: &Removal) -> u64 {
        self.recipe.seed
    }
}

/// The training images (of `class`, or of every class) whose score is above `threshold`, in
/// index order: what the page's "remove above the threshold" picks.
pub fn above(scores: &Scores, class: Option<u8>, threshold: f32) -> Vec<u32> {
    (0..scores.scores.len())
        .filter(|&i| class.is_none_or(|c| scores.labels[i] == c) && scores.scores[i] > threshold)
        .map(|i| i as u32)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::testing::{check, exercise, session};
    use expect_test::expect;

    fn task() -> &'static super::super::Posed<FindPoisons> {
        match &exercise("find-the-poisons").task {
            Task::FindPoisons(posed) => posed,
            _ => panic!("find-the-poisons is a find-poisons exercise"),
        }
    }

    fn edit(change: impl FnOnce(&mut Removal)) -> impl FnOnce(&mut Settings) {
        move |s| {
            if let Settings::Removal(r) = s {
                change(r)
            }
        }
    }

    #[test]
    fn what_a_learner_is_told() {
        check("find-the-poisons", edit(|r| r.removed.truncate(20)), expect!["Not yet: poisons removed 15.3% < 90.0%; clean images removed 0.7% ≤ 5.0%; attack success after cleaning 96.3% > 10.0%; clean accuracy lost 0.3% ≤ 3.0%: you removed 11 of the 72 poisons and 9 of the 1365 clean images; the model retrained on the rest calls 311 of 323 triggered test digits 5 (the poisoned model: 311) and gets 328 of 360 clean test digits right (the unpoisoned model: 329)."]);
        check("find-the-poisons", edit(|r| r.removed.push(5000)), expect!["refused: invalid setting: there is no training image 5000 (they are numbered 0–1436)"]);
        check(
            "find-the-poisons",
            edit(|r| {
                let first = r.removed[0];
                r.removed.push(first)
            }),
            expect![
                "refused: invalid setting: training image 3 is listed twice (entries 1 and 120)"
            ],
        );
    }

    /// Finds other hidden backdoors with the lesson's target and trigger on which the lesson's
    /// reference rule (distance to the class centre, the target class, above 0.95) passes with
    /// a margin, and prints them as the lesson's `instances` (run by hand:
    /// `cargo test --release -p mlsec-core find_poisons::tests::instances -- --ignored --nocapture`).
    #[test]
    #[ignore]
    fn instances() {
        let ctx = session().context();
        let digits = ctx.digits().unwrap();
        let base = task().task.clone();
        let shape = base.hidden(digits);
        let mut found = 0;
        for seed in 2..20_000u64 {
            let candidate = FindPoisons {
                poison_seed: seed,
                instances: vec![],
                ..base.clone()
            };
            let hidden = candidate.hidden(digits);
            if hidden.target != shape.target || hidden.trigger != shape.trigger {
                continue;
            }
            let centroid = candidate
                .scores(digits)
                .unwrap()
                .into_iter()
                .find(|s| s.detector == Detector::CentroidDistance)
                .unwrap();
            let removal = Removal {
                detector: Detector::CentroidDistance,
                removed: above(&centroid, Some(hidden.target), 0.95),
            };
            let (grade, _) = candidate
                .grade(
                    &ctx,
                    &Artefact::Removal {
                        removal: removal.clone(),
                    },
                )
                .unwrap();
            let margin = grade.figures.iter().all(|f| {
                let room = (f.value - f.threshold).abs();
                f.met() && room >= 0.01
            });
            println!("seed {seed}: {}", grade.message);
            if margin {
                println!(
                    "[[exercise.task.instances]]\npoison_seed = {seed}\nreference = {:?}\n",
                    removal.removed
                );
                found += 1;
                if found == 7 {
                    break;
                }
            }
        }
    }

    /// Measures both detectors at several thresholds (run by hand when choosing the lesson's
    /// thresholds: `cargo test --release -p mlsec-core find_poisons::tests::survey -- --ignored
    /// --nocapture`).
    #[test]
    #[ignore]
    fn survey() {
        let ctx = session().context();
        let digits = ctx.digits().unwrap();
        let task = &task().task;
        let hidden = task.hidden(digits);
        let truth: Vec<bool> = (0..digits.train.len() as u32)
            .map(|i| hidden.poisons.contains(&i))
            .collect();
        println!("target {} trigger {:?}", hidden.target, hidden.trigger);
        for scores in task.scores(digits).unwrap() {
            let detector = scores.detector;
            println!("{detector:?}: AUC {:.3}", roc(&scores.scores, &truth).1);
            let in_target: Vec<usize> = (0..truth.len())
                .filter(|&i| scores.labels[i] == hidden.target)
                .collect();
            let pick = |v: &[usize]| v.iter().map(|&i| scores.scores[i]).collect::<Vec<_>>();
            let truth_in: Vec<bool> = in_target.iter().map(|&i| truth[i]).collect();
            println!(
                "  within the target class: AUC {:.3}",
                roc(&pick(&in_target), &truth_in).1
            );
            for (class, threshold) in [
                (None, 3.0f32),
                (None, 1.5),
                (Some(hidden.target), 1.1),
                (Some(hidden.target), 0.95),
                (Some(hidden.target), 0.9),
            ] {
                let removal = Removal {
                    detector,
                    removed: above(&scores, class, threshold),
                };
                if detector == Detector::CentroidDistance && threshold == 0.95 {
                    println!("REFERENCE {:?}", removal.removed);
                }
                let (grade, _) = task.grade(&ctx, &Artefact::Removal { removal }).unwrap();
                println!("  class {class:?} above {threshold}: {}", grade.message);
            }
        }
    }
}
