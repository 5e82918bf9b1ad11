//! Track B: a backdoor (BadNets, Gu et al. 2017). The learner paints a small trigger, picks a
//! target label and which training images to poison. The grader stamps the trigger on those
//! images, relabels them as the target, retrains the exercise's recipe on clean and on poisoned
//! data, and measures attack success (triggered test images of the other classes called the
//! target) and what the poisoning cost on clean test images.
//!
//! No per-learner variant in a workshop: the learner designs the trigger and picks the poisons; a
//! copied plan shows in the class view.

use super::pixel_attack::PixelEdit;
use super::poisoning::{
    check_images, check_trigger, graded, poisoned, stamp, triggered_test, Measured, ModelBars,
    Retraining,
};
#[cfg(test)]
use super::Task;
use super::{ExerciseKind, Start};
use crate::digits::{Digits, Images, CLASSES, TRAIN_ROWS};
use crate::exercise::{Artefact, Context, Details, Settings};
use crate::grade::{threshold, Figure, Grade, Unit};
use crate::mlp::Mlp;
use crate::resources::Resource;
use crate::train::TrainConfig;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backdoor {
    /// The most pixels the trigger may set.
    pub max_trigger_pixels: u32,
    /// The most training images the learner may poison.
    pub max_poisons: u32,
    /// Attack success on triggered test images of the other classes must reach this.
    pub min_success: f32,
    /// Clean test accuracy may fall at most this far below the clean model's.
    pub max_clean_drop: f32,
    /// The grader's training recipe (the learner does not choose it).
    pub recipe: TrainConfig,
}

/// What the learner plants: the trigger, the label it should force, and the training images
/// that carry it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackdoorPlan {
    pub target: u8,
    pub trigger: Vec<PixelEdit>,
    /// Indices into the training split, each once.
    pub poisons: Vec<u32>,
}

/// One test image of a class other than the target, clean and triggered, with the poisoned
/// model's answer for each (what the page shows side by side).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TriggerExample {
    pub pixels: Vec<f32>,
    pub triggered_pixels: Vec<f32>,
    pub label: u8,
    pub clean: u8,
    pub triggered: u8,
}

/// What a backdoor grade was measured on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BackdoorReport {
    /// The clean model, then the poisoned one.
    pub bars: Vec<ModelBars>,
    pub examples: Vec<TriggerExample>,
}

impl Backdoor {
    /// Why `plan` breaks the rules, if it does.
    pub fn check(&self, plan: &BackdoorPlan) -> std::result::Result<(), String> {
        if plan.target as usize >= CLASSES {
            return Err(format!("target label {} is not a digit 0–9", plan.target));
        }
        check_trigger(&plan.trigger, self.max_trigger_pixels)?;
        check_images(&plan.poisons, self.max_poisons, "poisoned images")
    }

    fn measure(&self, plan: &BackdoorPlan, ctx: &Context) -> Result<Retraining> {
        let digits = ctx.digits()?;
        self.check(plan).map_err(Error::InvalidInput)?;
        let (task, plan_, test) = (self.clone(), plan.clone(), digits.test.clone());
        Retraining::new(
            vec![
                ("the clean model", digits),
                (
                    "the poisoned model",
                    &poisoned(digits, &plan.poisons, &plan.trigger, plan.target),
                ),
            ],
            &self.recipe,
            Box::new(move |models: &[&Mlp]| task.judge(models[0], models[1], &plan_, &test)),
        )
    }

    fn judge(
        &self,
        clean: &Mlp,
        poisoned: &Mlp,
        plan: &BackdoorPlan,
        test: &Images,
    ) -> Result<(Grade, Details)> {
        let triggered = triggered_test(test, &plan.trigger, plan.target);
        let before = Measured::of(clean, test, &triggered, plan.target)?;
        let after = Measured::of(poisoned, test, &triggered, plan.target)?;
        let drop = before.accuracy() - after.accuracy();
        let grade = Grade::from_figures(
            vec![
                Figure::at_least(
                    "attack success",
                    after.success(),
                    threshold(self.min_success),
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
                "with {} poisons the retrained model calls {} of {} triggered test digits {} \
                 (the clean model: {}) and gets {} of {} clean test digits right (the clean \
                 model: {})",
                plan.poisons.len(),
                after.hits,
                after.triggered,
                plan.target,
                before.hits,
                after.clean_right,
                after.clean,
                before.clean_right
            ),
        );
        let examples = examples(poisoned, test, plan)?;
        Ok((
            grade,
            Details::Backdoor(BackdoorReport {
                bars: vec![before.bars("clean model"), after.bars("poisoned model")],
                examples,
            }),
        ))
    }
}

/// The first test image of each class but the target, clean and triggered.
fn examples(model: &Mlp, test: &Images, plan: &BackdoorPlan) -> Result<Vec<TriggerExample>> {
    let mut out = vec![];
    for class in (0..CLASSES as u8).filter(|&c| c != plan.target) {
        let Some(i) = test.labels.iter().position(|&l| l == class) else {
            continue;
        };
        let image = test.image(i);
        let triggered = stamp(image, &plan.trigger);
        let both: Vec<f32> = image.iter().chain(&triggered).copied().collect();
        let predicted = model.predict(&both)?;
        out.push(TriggerExample {
            pixels: image.to_vec(),
            triggered_pixels: triggered,
            label: class,
            clean: predicted[0],
            triggered: predicted[1],
        });
    }
    Ok(out)
}

impl ExerciseKind for Backdoor {
    type Settings = BackdoorPlan;

    fn wrap(settings: BackdoorPlan) -> Settings {
        Settings::Backdoor(settings)
    }
    fn unwrap(settings: &Settings) -> Option<&BackdoorPlan> {
        match settings {
            Settings::Backdoor(b) => Some(b),
            _ => None,
        }
    }

    const NEEDS: &'static [Resource] = &[Resource::Digits];

    fn validate(&self, _: &BackdoorPlan, _: &BackdoorPlan) -> std::result::Result<(), String> {
        if !(1..=64).contains(&self.max_trigger_pixels) {
            return Err("max_trigger_pixels must be 1–64".into());
        }
        if self.max_poisons == 0 || self.max_poisons as usize > TRAIN_ROWS {
            return Err(format!("max_poisons must be 1–{TRAIN_ROWS}"));
        }
        super::unit("min_success", self.min_success)?;
        super::unit("max_clean_drop", self.max_clean_drop)?;
        self.recipe.validate().map_err(|e| e.to_string())
    }

    /// The plan with its trigger in pixel order and its poisons in index order, checked (the
    /// page checks before anything travels to the worker; the grader checks again).
    fn settings_from(
        &self,
        edited: &BackdoorPlan,
        _: &BTreeMap<String, String>,
    ) -> std::result::Result<BackdoorPlan, String> {
        let mut plan = edited.clone();
        plan.trigger.sort_by_key(|p| p.pixel);
        plan.poisons.sort();
        self.check(&plan)?;
        Ok(plan)
    }

    fn start(&self, plan: &BackdoorPlan, ctx: &Context) -> Result<Start> {
        let retraining = self.measure(plan, ctx)?;
        Ok(Start::Measuring(
            Artefact::Backdoor { plan: plan.clone() },
            Box::new(retraining),
        ))
    }

    fn grade(&self, ctx: &Context, artefact: &Artefact) -> Result<(Grade, Details)> {
        let Artefact::Backdoor { plan } = artefact else {
            return Ok((Grade::rejected("expected a backdoor plan"), Details::None));
        };
        graded(self.measure(plan, ctx), ctx)
    }

    fn reproduce(
        &self,
        plan: &BackdoorPlan,
        artefact: &Artefact,
        _: &Context,
    ) -> Result<std::result::Result<Artefact, String>> {
        Ok(match artefact {
            Artefact::Backdoor { plan: p } if p == plan => Ok(artefact.clone()),
            _ => Err("its trigger, target or poisons are not the ones its settings record".into()),
        })
    }

    fn seed(&self, _: &BackdoorPlan) -> u64 {
        self.recipe.seed
    }
}

/// The first `count` training images of classes other than `target` in the training split
/// shuffled with `seed`, in index order: the page's "pick at random" (which filters the
/// gallery's random order, [`super::label_flip::Order::Random`], the same way).
pub fn random_poisons(digits: &Digits, target: u8, count: u32, seed: u64) -> Vec<u32> {
    use rand::seq::SliceRandom;
    use rand::SeedableRng;
    let mut all: Vec<u32> = (0..digits.train.len() as u32).collect();
    all.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
    let mut picked: Vec<u32> = all
        .into_iter()
        .filter(|&i| digits.train.labels[i as usize] != target)
        .take(count as usize)
        .collect();
    picked.sort();
    picked
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::testing::{check, exercise, session};
    use expect_test::expect;

    fn edit(change: impl FnOnce(&mut BackdoorPlan)) -> impl FnOnce(&mut Settings) {
        move |s| {
            if let Settings::Backdoor(b) = s {
                change(b)
            }
        }
    }

    #[test]
    fn what_a_learner_is_told() {
        check(
            "plant-a-backdoor",
            edit(|b| b.poisons.truncate(8)),
            expect!["Not yet: attack success 81.5% < 90.0%; clean accuracy lost 0.0% ≤ 2.0%: with 8 poisons the retrained model calls 265 of 325 triggered test digits 0 (the clean model: 0) and gets 329 of 360 clean test digits right (the clean model: 329)."],
        );
        check(
            "plant-a-backdoor",
            edit(|b| b.trigger.clear()),
            expect!["refused: invalid setting: the trigger is empty: paint at least one pixel"],
        );
        check(
            "plant-a-backdoor",
            edit(|b| b.trigger[0].value = f32::NAN),
            expect![
                "refused: invalid setting: trigger pixel 0 has value NaN; values must be in [0, 1]"
            ],
        );
        check(
            "plant-a-backdoor",
            edit(|b| b.trigger[0].value = 1.5),
            expect![
                "refused: invalid setting: trigger pixel 0 has value 1.5; values must be in [0, 1]"
            ],
        );
        check(
            "plant-a-backdoor",
            edit(|b| {
                b.trigger.push(PixelEdit {
                    pixel: 30,
                    value: 1.0,
                })
            }),
            expect!["refused: invalid setting: the trigger has 5 pixels; at most 4 are allowed"],
        );
        check(
            "plant-a-backdoor",
            edit(|b| b.poisons.extend(1000..1036)),
            expect!["refused: invalid setting: 72 poisoned images is over the budget of 71 (1 too many)"],
        );
        check(
            "plant-a-backdoor",
            edit(|b| b.poisons[1] = b.poisons[0]),
            expect![
                "refused: invalid setting: training image 40 is listed twice (entries 1 and 2)"
            ],
        );
        check(
            "plant-a-backdoor",
            edit(|b| b.poisons[0] = 1437),
            expect!["refused: invalid setting: there is no training image 1437 (they are numbered 0–1436)"],
        );
        check(
            "plant-a-backdoor",
            edit(|b| b.target = 10),
            expect!["refused: invalid setting: target label 10 is not a digit 0–9"],
        );
    }

    #[test]
    fn the_grader_rejects_what_the_run_refuses() {
        let Task::Backdoor(posed) = &exercise("plant-a-backdoor").task else {
            panic!("plant-a-backdoor is a backdoor exercise")
        };
        let mut plan = posed.solution.clone();
        plan.trigger[0].value = -0.5;
        let (grade, details) = posed
            .task
            .grade(&session().context(), &Artefact::Backdoor { plan })
            .unwrap();
        assert!(
            grade.message.starts_with("Rejected: trigger pixel"),
            "{}",
            grade.message
        );
        assert_eq!(details, Details::None);
    }

    /// The page's random pick is the gallery's random order with the target's images left out,
    /// so the lesson's "36 at random, seed 1" is what the learner's button picks; and the
    /// gallery shows exactly a set it is given.
    #[test]
    fn random_picks_are_the_gallery_random_order() {
        use crate::kinds::label_flip::{candidates, Order, Query, MAX_CANDIDATES};
        let ctx = session().context();
        let (digits, clean) = (ctx.digits().unwrap(), ctx.target().unwrap());
        let query = |only, order| Query {
            class: None,
            only,
            order,
            count: MAX_CANDIDATES,
        };
        let gallery = candidates(digits, clean, &query(None, Order::Random { seed: 1 })).unwrap();
        let mut picked: Vec<u32> = gallery
            .iter()
            .filter(|c| c.label != 0)
            .take(36)
            .map(|c| c.index)
            .collect();
        picked.sort();
        assert_eq!(picked, random_poisons(digits, 0, 36, 1));
        let shown = candidates(digits, clean, &query(Some(picked.clone()), Order::Index)).unwrap();
        assert_eq!(shown.iter().map(|c| c.index).collect::<Vec<_>>(), picked);
    }

    /// Measures candidate plans (run by hand when choosing the lesson's thresholds:
    /// `cargo test --release -p mlsec-core backdoor::tests::survey -- --ignored --nocapture`).
    #[test]
    #[ignore]
    fn survey() {
        let ctx = session().context();
        let digits = ctx.digits().unwrap();
        let Task::Backdoor(posed) = &exercise("plant-a-backdoor").task else {
            panic!()
        };
        let corner = |pixels: &[u32]| -> Vec<PixelEdit> {
            pixels
                .iter()
                .map(|&pixel| PixelEdit { pixel, value: 1.0 })
                .collect()
        };
        for (name, trigger) in [
            ("corner 2x2 top-left", corner(&[0, 1, 8, 9])),
            ("corner 2x2 bottom-right", corner(&[54, 55, 62, 63])),
            ("one pixel 63", corner(&[63])),
            ("centre 2x2", corner(&[27, 28, 35, 36])),
        ] {
            for count in [14, 36, 71] {
                for target in [0u8, 6] {
                    let plan = BackdoorPlan {
                        target,
                        trigger: trigger.clone(),
                        poisons: random_poisons(digits, target, count, 1),
                    };
                    let (grade, _) = posed
                        .task
                        .grade(&ctx, &Artefact::Backdoor { plan })
                        .unwrap();
                    println!(
                        "{name}, {count} poisons, target {target}: {}",
                        grade.message
                    );
                }
            }
        }
    }
}
