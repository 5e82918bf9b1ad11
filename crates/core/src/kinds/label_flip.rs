//! Track B: targeted label flipping (data poisoning). The learner picks which training labels
//! to flip, within a budget, so that the model the grader retrains (the exercise's own fixed
//! recipe) stops recognising one class while the others keep their accuracy. The artefact is
//! the set of flips; the grader trains a clean and a poisoned model epoch by epoch and compares
//! them. The selection helpers the page offers (by class, by the clean model's confidence, by
//! closeness to its decision boundary, at random) are answered here too ([`candidates`]).
//!
//! No per-learner variant in a workshop: the learner chooses the poisons, and the thresholds were
//! measured for the lesson's recipe; a copied set of flips shows in the class view.

use super::poisoning::{graded, Retraining};
#[cfg(test)]
use super::Task;
use super::{ExerciseKind, Start};
use crate::digits::{Digits, CLASSES, TRAIN_ROWS};
use crate::exercise::{Artefact, Context, Details, Settings};
use crate::grade::{threshold, Figure, Grade, Unit};
use crate::mlp::Mlp;
use crate::resources::Resource;
use crate::train::TrainConfig;
use crate::{Error, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelFlip {
    /// The class whose test recall the poisoning must bring down.
    pub target_class: u8,
    /// The most training labels the learner may flip.
    pub max_flips: u32,
    /// The target class's test recall must end at most this.
    pub max_recall: f32,
    /// The other classes' test accuracy may fall at most this far below the clean model's.
    pub max_other_drop: f32,
    /// The grader's training recipe (the learner does not choose it).
    pub recipe: TrainConfig,
}

/// One training label changed: image `index` of the training split is relabelled `label`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flip {
    pub index: u32,
    pub label: u8,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelFlips {
    pub flips: Vec<Flip>,
}

impl LabelFlip {
    /// Why `flips` break the rules, if they do: an index out of range, an index twice, a label
    /// outside 0–9 or equal to the image's own, more flips than the budget.
    pub fn check(&self, flips: &[Flip], digits: &Digits) -> std::result::Result<(), String> {
        self.within_budget(flips.len())?;
        let mut seen = BTreeMap::new();
        for (n, flip) in flips.iter().enumerate() {
            let index = flip.index as usize;
            if index >= digits.train.len() {
                return Err(format!(
                    "flip {}: there is no training image {} (they are numbered 0–{})",
                    n + 1,
                    flip.index,
                    digits.train.len() - 1
                ));
            }
            if flip.label as usize >= CLASSES {
                return Err(format!(
                    "flip {}: label {} is not a digit 0–9",
                    n + 1,
                    flip.label
                ));
            }
            if flip.label == digits.train.labels[index] {
                return Err(format!(
                    "flip {}: training image {} is already labelled {}, so this changes nothing",
                    n + 1,
                    flip.index,
                    flip.label
                ));
            }
            if let Some(first) = seen.insert(flip.index, n) {
                return Err(format!(
                    "training image {} is flipped twice (flips {} and {})",
                    flip.index,
                    first + 1,
                    n + 1
                ));
            }
        }
        Ok(())
    }

    /// Whether `count` flips fit the budget (the page checks it before anything travels to the
    /// worker; the grader checks it again).
    fn within_budget(&self, count: usize) -> std::result::Result<(), String> {
        match count.checked_sub(self.max_flips as usize) {
            Some(over) if over > 0 => Err(format!(
                "{count} flips is over the budget of {} ({over} too many)",
                self.max_flips
            )),
            _ => Ok(()),
        }
    }

    /// The training data with `flips` applied.
    fn poisoned(&self, digits: &Digits, flips: &[Flip]) -> Digits {
        let mut poisoned = digits.clone();
        for flip in flips {
            poisoned.train.labels[flip.index as usize] = flip.label;
        }
        poisoned
    }

    fn measure(&self, flips: &LabelFlips, ctx: &Context) -> Result<Retraining> {
        let digits = ctx.digits()?;
        self.check(&flips.flips, digits)
            .map_err(Error::InvalidInput)?;
        let (task, count, test) = (self.clone(), flips.flips.len(), digits.test.clone());
        Retraining::new(
            vec![
                ("the clean model", digits),
                ("the poisoned model", &self.poisoned(digits, &flips.flips)),
            ],
            &self.recipe,
            Box::new(move |models: &[&Mlp]| {
                Ok((
                    task.grade_models(models[0], models[1], count, &test)?,
                    Details::None,
                ))
            }),
        )
    }

    /// Test images of the target class the model gets right, and of the other classes.
    fn counts(&self, model: &Mlp, test: &crate::digits::Images) -> Result<Counts> {
        let predicted = model.predict(&test.pixels)?;
        let mut counts = Counts::default();
        for (p, &label) in predicted.iter().zip(&test.labels) {
            let right = usize::from(*p == label);
            if label == self.target_class {
                counts.target += 1;
                counts.target_right += right;
            } else {
                counts.others += 1;
                counts.others_right += right;
            }
        }
        Ok(counts)
    }

    fn grade_models(
        &self,
        clean: &Mlp,
        poisoned: &Mlp,
        flips: usize,
        test: &crate::digits::Images,
    ) -> Result<Grade> {
        let (clean, poisoned) = (self.counts(clean, test)?, self.counts(poisoned, test)?);
        let recall = poisoned.target_right as f64 / poisoned.target.max(1) as f64;
        let lost = clean.others_right.saturating_sub(poisoned.others_right);
        let drop = lost as f64 / poisoned.others.max(1) as f64;
        let class = self.target_class;
        Ok(Grade::from_figures(
            vec![
                Figure::at_most(
                    &format!("test {class}s still recognised"),
                    recall,
                    threshold(self.max_recall),
                    Unit::Percent,
                ),
                Figure::at_most(
                    "accuracy lost on the other digits",
                    drop,
                    threshold(self.max_other_drop),
                    Unit::Percent,
                ),
            ],
            &format!(
                "with {flips} flipped labels the retrained model recognises {} of {} test {class}s \
                 (clean: {}) and gets {} of {} other test digits right (clean: {})",
                poisoned.target_right,
                poisoned.target,
                clean.target_right,
                poisoned.others_right,
                poisoned.others,
                clean.others_right
            ),
        ))
    }
}

#[derive(Default)]
struct Counts {
    target: usize,
    target_right: usize,
    others: usize,
    others_right: usize,
}

impl ExerciseKind for LabelFlip {
    type Settings = LabelFlips;

    fn wrap(settings: LabelFlips) -> Settings {
        Settings::Flips(settings)
    }
    fn unwrap(settings: &Settings) -> Option<&LabelFlips> {
        match settings {
            Settings::Flips(f) => Some(f),
            _ => None,
        }
    }

    const NEEDS: &'static [Resource] = &[Resource::Digits];

    fn validate(&self, _: &LabelFlips, _: &LabelFlips) -> std::result::Result<(), String> {
        if self.target_class as usize >= CLASSES {
            return Err("target_class must be a digit 0–9".into());
        }
        if self.max_flips == 0 || self.max_flips as usize > TRAIN_ROWS {
            return Err(format!("max_flips must be 1–{TRAIN_ROWS}"));
        }
        super::unit("max_recall", self.max_recall)?;
        super::unit("max_other_drop", self.max_other_drop)?;
        self.recipe.validate().map_err(|e| e.to_string())
    }

    /// The flips in index order; the rules are checked where the data is (the worker).
    fn settings_from(
        &self,
        edited: &LabelFlips,
        _: &BTreeMap<String, String>,
    ) -> std::result::Result<LabelFlips, String> {
        self.within_budget(edited.flips.len())?;
        let mut flips = edited.flips.clone();
        flips.sort();
        Ok(LabelFlips { flips })
    }

    fn start(&self, flips: &LabelFlips, ctx: &Context) -> Result<Start> {
        let retraining = self.measure(flips, ctx)?;
        Ok(Start::Measuring(
            Artefact::Flips {
                flips: flips.flips.clone(),
            },
            Box::new(retraining),
        ))
    }

    fn grade(&self, ctx: &Context, artefact: &Artefact) -> Result<(Grade, Details)> {
        let Artefact::Flips { flips } = artefact else {
            return Ok((
                Grade::rejected("expected a set of flipped labels"),
                Details::None,
            ));
        };
        let flips = LabelFlips {
            flips: flips.clone(),
        };
        graded(self.measure(&flips, ctx), ctx)
    }

    fn reproduce(
        &self,
        flips: &LabelFlips,
        artefact: &Artefact,
        _: &Context,
    ) -> Result<std::result::Result<Artefact, String>> {
        Ok(match artefact {
            Artefact::Flips { flips: f } if *f == flips.flips => Ok(artefact.clone()),
            _ => Err("its flips are not the ones its settings record".into()),
        })
    }

    fn seed(&self, _: &LabelFlips) -> u64 {
        self.recipe.seed
    }
}

/// How the selection helpers order the training images of a class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Order {
    /// In training-split order (the gallery).
    Index,
    /// The clean model's confidence in the true label, highest first.
    MostConfident,
    /// Lowest first.
    LeastConfident,
    /// Closest to the clean model's decision boundary first: the smallest gap between the true
    /// label's probability and the strongest other class's.
    NearestBoundary,
    /// Shuffled with this seed.
    Random { seed: u64 },
}

/// Which training images the page asks for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Query {
    /// Only this class (all classes when `None`).
    pub class: Option<u8>,
    /// Only these training images (all when `None`): the page showing a set it holds.
    #[serde(default)]
    pub only: Option<Vec<u32>>,
    pub order: Order,
    /// At most this many (the gallery shows at most 400 at once).
    pub count: u32,
}

/// A training image as the gallery shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub index: u32,
    pub label: u8,
    pub pixels: Vec<f32>,
    /// The clean model's probability of the true label.
    pub confidence: f32,
    /// The class the clean model likes best after the true one (where a flip is most
    /// believable).
    pub runner_up: u8,
    /// The true label's probability less the runner-up's.
    pub margin: f32,
}

/// The most candidates one answer holds.
pub const MAX_CANDIDATES: u32 = 400;

/// The training images `query` asks for, with the clean model's view of each.
pub fn candidates(digits: &Digits, clean: &Mlp, query: &Query) -> Result<Vec<Candidate>> {
    if let Some(class) = query.class {
        if class as usize >= CLASSES {
            return Err(Error::InvalidInput(format!(
                "class {class} is not a digit 0–9"
            )));
        }
    }
    let train = &digits.train;
    let only: Option<std::collections::BTreeSet<u32>> =
        query.only.as_ref().map(|o| o.iter().copied().collect());
    let indices: Vec<usize> = (0..train.len())
        .filter(|&i| query.class.is_none_or(|c| train.labels[i] == c))
        .filter(|&i| only.as_ref().is_none_or(|o| o.contains(&(i as u32))))
        .collect();
    let probabilities = clean.probability_rows(&train.select(&indices).pixels)?;
    let mut all: Vec<Candidate> = indices
        .iter()
        .zip(probabilities)
        .map(|(&i, p)| {
            let label = train.labels[i];
            let (runner_up, second) = p
                .iter()
                .enumerate()
                .filter(|(c, _)| *c != label as usize)
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(c, v)| (c as u8, *v))
                .unwrap_or((0, 0.0));
            Candidate {
                index: i as u32,
                label,
                pixels: train.image(i).to_vec(),
                confidence: p[label as usize],
                runner_up,
                margin: p[label as usize] - second,
            }
        })
        .collect();
    match query.order {
        Order::Index => {}
        Order::MostConfident => all.sort_by(|a, b| b.confidence.total_cmp(&a.confidence)),
        Order::LeastConfident => all.sort_by(|a, b| a.confidence.total_cmp(&b.confidence)),
        Order::NearestBoundary => all.sort_by(|a, b| a.margin.total_cmp(&b.margin)),
        Order::Random { seed } => {
            all.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
        }
    }
    all.truncate(query.count.min(MAX_CANDIDATES) as usize);
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::testing::{check, exercise, session};
    use expect_test::expect;

    fn edit(change: impl FnOnce(&mut Vec<Flip>)) -> impl FnOnce(&mut Settings) {
        move |s| {
            if let Settings::Flips(f) = s {
                change(&mut f.flips)
            }
        }
    }

    /// What a learner is told for typical edits of the reference settings (snapshots), and for
    /// each kind of bad flip set.
    #[test]
    fn what_a_learner_is_told() {
        check(
            "flip-the-sevens",
            edit(|f| f.truncate(35)),
            expect!["Not yet: test 7s still recognised 69.4% > 50.0%; accuracy lost on the other digits 0.3% ≤ 4.0%: with 35 flipped labels the retrained model recognises 25 of 36 test 7s (clean: 35) and gets 293 of 324 other test digits right (clean: 294)."],
        );
        check(
            "flip-the-sevens",
            edit(|f| f.push(Flip { index: 0, label: 1 })),
            expect!["refused: invalid setting: 72 flips is over the budget of 71 (1 too many)"],
        );
        check(
            "flip-the-sevens",
            edit(|f| f[3].index = 1437),
            expect!["refused: invalid setting: flip 4: there is no training image 1437 (they are numbered 0–1436)"],
        );
        check(
            "flip-the-sevens",
            edit(|f| f[3] = f[2]),
            expect!["refused: invalid setting: training image 61 is flipped twice (flips 3 and 4)"],
        );
        check(
            "flip-the-sevens",
            edit(|f| f[0].label = 10),
            expect!["refused: invalid setting: flip 1: label 10 is not a digit 0–9"],
        );
        check(
            "flip-the-sevens",
            edit(|f| f[0].label = 7),
            expect!["refused: invalid setting: flip 1: training image 44 is already labelled 7, so this changes nothing"],
        );
    }

    /// A receipt-sized artefact graded directly rejects what the run refuses.
    #[test]
    fn the_grader_rejects_what_the_run_refuses() {
        let Task::LabelFlip(posed) = &exercise("flip-the-sevens").task else {
            panic!("flip-the-sevens is a label-flip exercise")
        };
        let mut flips = posed.solution.flips.clone();
        flips.push(Flip { index: 1, label: 3 });
        let (grade, _) = posed
            .task
            .grade(&session().context(), &Artefact::Flips { flips })
            .unwrap();
        assert_eq!(
            grade.message,
            "Rejected: 72 flips is over the budget of 71 (1 too many)"
        );
    }

    #[test]
    fn the_helpers_order_the_class_as_asked() {
        let ctx = session().context();
        let (digits, clean) = (ctx.digits().unwrap(), ctx.target().unwrap());
        let ask = |order, count| {
            candidates(
                digits,
                clean,
                &Query {
                    class: Some(7),
                    only: None,
                    order,
                    count,
                },
            )
            .unwrap()
        };
        let all = ask(Order::Index, 1000);
        assert_eq!(all.len(), 143);
        assert!(all.iter().all(|c| c.label == 7));
        assert!(all.windows(2).all(|w| w[0].index < w[1].index));
        let sure = ask(Order::MostConfident, 10);
        assert!(sure.windows(2).all(|w| w[0].confidence >= w[1].confidence));
        let near = ask(Order::NearestBoundary, 10);
        assert!(near.windows(2).all(|w| w[0].margin <= w[1].margin));
        assert!(near[0].margin < sure[9].margin);
        assert!(all.iter().all(|c| c.runner_up != 7));
        let random = ask(Order::Random { seed: 1 }, 143);
        assert_eq!(random, ask(Order::Random { seed: 1 }, 143));
        assert_ne!(random, ask(Order::Random { seed: 2 }, 143));
        assert!(candidates(
            digits,
            clean,
            &Query {
                class: Some(10),
                only: None,
                order: Order::Index,
                count: 1
            }
        )
        .is_err());
        let many = candidates(
            digits,
            clean,
            &Query {
                class: None,
                only: None,
                order: Order::Index,
                count: 5000,
            },
        )
        .unwrap();
        assert_eq!(many.len(), MAX_CANDIDATES as usize);
    }
}
