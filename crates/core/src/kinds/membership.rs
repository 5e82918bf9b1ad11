//! Track C: membership inference by a loss threshold (Yeom et al. 2018). The grader trains a
//! deliberately overfit target (few training images, many epochs) with the exercise's recipe.
//! The attacker knows some of its members and some non-members (the "known" records, whose
//! losses the page shows as two histograms) and picks one loss threshold: a record whose loss is
//! at most the threshold is called a member. The grade is the membership advantage (true-positive
//! rate minus false-positive rate) on a balanced challenge set the attacker never saw.

use super::poisoning::{graded, Retraining};
#[cfg(test)]
use super::Task;
use super::{ExerciseKind, Start};
use crate::detectors::roc;
#[cfg(test)]
use crate::digits::PIXELS;
use crate::digits::{Digits, Images, TRAIN_ROWS};
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
pub struct MembershipThreshold {
    /// How many training images the target learns from (half of them are known to the
    /// attacker, half are challenge records), and as many non-members beside them.
    pub members: u32,
    /// Draws which training images are members and which are not.
    pub split_seed: u64,
    /// A workshop's other instances: further split seeds, each checked by the content check
    /// to let the lesson's reference pass (none: no per-learner variants).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variant_seeds: Vec<u64>,
    /// The membership advantage on the challenge records must reach this.
    pub min_advantage: f32,
    /// The grader's recipe for the target (the learner does not choose it).
    pub recipe: TrainConfig,
}

/// What the learner chooses: the loss at or below which a record is called a member.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LossThreshold {
    pub threshold: f64,
}

/// The target's loss on each known record: what the attacker calibrates on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct KnownLosses {
    pub members: Vec<f64>,
    pub non_members: Vec<f64>,
}

/// What a membership grade was measured on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MembershipReport {
    pub threshold: f64,
    pub known: KnownLosses,
    /// The challenge records' losses, members and non-members.
    pub challenge: KnownLosses,
    pub true_positive_rate: f32,
    pub false_positive_rate: f32,
    /// The ROC of the loss as a membership score on the challenge records, and its area.
    pub roc: Vec<(f32, f32)>,
    pub auc: f32,
    /// The target's accuracy on its own training images and on the test split: the gap is
    /// what the attack feeds on.
    pub train_accuracy: f32,
    pub test_accuracy: f32,
}

/// The records of one exercise: the target's training images, and the four sets the attacker
/// and the grader see.
struct Split {
    members: Images,
    known: [Images; 2],
    challenge: [Images; 2],
}

impl MembershipThreshold {
    fn split(&self, digits: &Digits) -> Split {
        use rand::seq::SliceRandom;
        use rand::SeedableRng;
        let mut order: Vec<usize> = (0..digits.train.len()).collect();
        order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(self.split_seed));
        let n = self.members as usize;
        let (members, rest) = order.split_at(n);
        let non_members = &rest[..n];
        let known = n / 2;
        Split {
            members: digits.train.select(members),
            known: [
                digits.train.select(&members[..known]),
                digits.train.select(&non_members[..known]),
            ],
            challenge: [
                digits.train.select(&members[known..]),
                digits.train.select(&non_members[known..]),
            ],
        }
    }

    /// The target's training data: the members, with the test split to report on.
    fn target_data(&self, digits: &Digits, split: &Split) -> Digits {
        Digits {
            train: split.members.clone(),
            test: digits.test.clone(),
        }
    }

    /// Trains the target and measures the known records' losses (the page's histograms).
    pub fn known_losses(&self, digits: &Digits) -> Result<KnownLosses> {
        let split = self.split(digits);
        let (target, _) = crate::train::train(
            &self.target_data(digits, &split),
            self.recipe.clone(),
            None,
            |_| true,
        )?;
        losses(&target, &split.known)
    }

    fn measure(&self, settings: &LossThreshold, ctx: &Context) -> Result<Retraining> {
        let digits = ctx.digits()?;
        check(settings).map_err(Error::InvalidInput)?;
        let split = self.split(digits);
        let data = self.target_data(digits, &split);
        let (task, t, judged) = (self.clone(), settings.threshold, data.clone());
        Retraining::new(
            vec![("the target", &data)],
            &self.recipe,
            Box::new(move |models: &[&Mlp]| task.judge(models[0], t, &split, &judged)),
        )
    }

    fn judge(
        &self,
        target: &Mlp,
        t: f64,
        split: &Split,
        data: &Digits,
    ) -> Result<(Grade, Details)> {
        let known = losses(target, &split.known)?;
        let all_known = known.members.iter().chain(&known.non_members);
        let lowest = all_known.clone().copied().fold(f64::INFINITY, f64::min);
        let highest = all_known.copied().fold(0.0, f64::max);
        // A threshold outside the losses the attacker could see is not a choice from them.
        let outside = if t < lowest {
            Some(("below", "smallest", lowest, "no record"))
        } else if t > highest {
            Some(("above", "largest", highest, "every record"))
        } else {
            None
        };
        if let Some((side, end, loss, called)) = outside {
            return Ok((
                Grade::rejected(format!(
                    "the threshold {} is {side} every loss of the known records (the {end} is \
                     {loss:.3e}): it would call {called} a member. Pick it from the histograms",
                    show(t)
                )),
                Details::None,
            ));
        }
        let challenge = losses(target, &split.challenge)?;
        let called = |l: &[f64]| l.iter().filter(|&&x| x <= t).count();
        let (tp, fp) = (called(&challenge.members), called(&challenge.non_members));
        let (n_m, n_n) = (challenge.members.len(), challenge.non_members.len());
        let tpr = tp as f64 / n_m.max(1) as f64;
        let fpr = fp as f64 / n_n.max(1) as f64;
        // A lower loss means "more likely a member".
        let scores: Vec<f32> = challenge
            .members
            .iter()
            .chain(&challenge.non_members)
            .map(|&l| -(l as f32))
            .collect();
        let truth: Vec<bool> = (0..n_m + n_n).map(|i| i < n_m).collect();
        let (points, auc) = roc(&scores, &truth);
        let (train_accuracy, test_accuracy) =
            (target.accuracy(&data.train)?, target.accuracy(&data.test)?);
        let grade = Grade::from_figures(
            vec![Figure::at_least(
                "membership advantage",
                tpr - fpr,
                threshold(self.min_advantage),
                Unit::Percent,
            )],
            &format!(
                "with the threshold {}, {tp} of the {n_m} challenge members are called members \
                 (true-positive rate {:.1}%) and so are {fp} of the {n_n} non-members (false-positive \
                 rate {:.1}%); the target gets {:.1}% of its training images right and {:.1}% of \
                 the test split",
                show(t),
                tpr * 100.0,
                fpr * 100.0,
                train_accuracy * 100.0,
                test_accuracy * 100.0
            ),
        );
        Ok((
            grade,
            Details::Membership(MembershipReport {
                threshold: t,
                known,
                challenge,
                true_positive_rate: tpr as f32,
                false_positive_rate: fpr as f32,
                roc: points,
                auc,
                train_accuracy,
                test_accuracy,
            }),
        ))
    }
}

fn losses(target: &Mlp, [members, non_members]: &[Images; 2]) -> Result<KnownLosses> {
    Ok(KnownLosses {
        members: target.losses(members)?,
        non_members: target.losses(non_members)?,
    })
}

/// A threshold as the learner reads it: 0.01, or 1e-12 for the very small.
pub fn show(t: f64) -> String {
    if t != 0.0 && !(1e-3..1e4).contains(&t.abs()) {
        format!("{t:e}")
    } else {
        format!("{t}")
    }
}

/// Why `settings` are not a threshold, if they are not.
fn check(settings: &LossThreshold) -> std::result::Result<(), String> {
    let t = settings.threshold;
    if t.is_nan() {
        return Err("the threshold is not a number: type a loss above 0, such as 0.01".into());
    }
    if !(t.is_finite() && t > 0.0) {
        return Err(format!(
            "the threshold is a loss, a number above 0; got {t}"
        ));
    }
    Ok(())
}

impl ExerciseKind for MembershipThreshold {
    type Settings = LossThreshold;

    fn wrap(settings: LossThreshold) -> Settings {
        Settings::LossThreshold(settings)
    }
    fn unwrap(settings: &Settings) -> Option<&LossThreshold> {
        match settings {
            Settings::LossThreshold(s) => Some(s),
            _ => None,
        }
    }

    /// Per-learner variants: another split seed draws other members, known records and
    /// challenge records. A learner's threshold is read off their own known losses.
    fn variants(&self) -> u32 {
        1 + self.variant_seeds.len() as u32
    }
    fn variant(&self, index: u32) -> Self {
        MembershipThreshold {
            split_seed: super::split_seed_of(self.split_seed, &self.variant_seeds, index),
            ..self.clone()
        }
    }

    const NEEDS: &'static [Resource] = &[Resource::Digits];

    fn validate(&self, _: &LossThreshold, _: &LossThreshold) -> std::result::Result<(), String> {
        if !(10..=(TRAIN_ROWS / 2) as u32).contains(&self.members) {
            return Err(format!("members must be 10–{}", TRAIN_ROWS / 2));
        }
        super::unit("min_advantage", self.min_advantage)?;
        self.recipe.validate().map_err(|e| e.to_string())
    }

    /// The view's own threshold box sets the settings (beside the histograms it is read
    /// against); a run checks them first.
    fn settings_from(
        &self,
        edited: &LossThreshold,
        _: &BTreeMap<String, String>,
    ) -> std::result::Result<LossThreshold, String> {
        check(edited)?;
        Ok(edited.clone())
    }

    fn start(&self, settings: &LossThreshold, ctx: &Context) -> Result<Start> {
        let retraining = self.measure(settings, ctx)?;
        Ok(Start::Measuring(
            Artefact::Threshold {
                threshold: settings.threshold,
            },
            Box::new(retraining),
        ))
    }

    fn grade(&self, ctx: &Context, artefact: &Artefact) -> Result<(Grade, Details)> {
        let Artefact::Threshold { threshold } = artefact else {
            return Ok((Grade::rejected("expected a loss threshold"), Details::None));
        };
        let settings = LossThreshold {
            threshold: *threshold,
        };
        graded(self.measure(&settings, ctx), ctx)
    }

    fn reproduce(
        &self,
        settings: &LossThreshold,
        artefact: &Artefact,
        _: &Context,
    ) -> Result<std::result::Result<Artefact, String>> {
        Ok(match artefact {
            Artefact::Threshold { threshold } if *threshold == settings.threshold => {
                Ok(artefact.clone())
            }
            _ => Err("its threshold is not the one its settings record".into()),
        })
    }

    fn seed(&self, _: &LossThreshold) -> u64 {
        self.recipe.seed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::testing::{check, exercise, session};
    use expect_test::expect;

    fn threshold_of(t: f64) -> impl FnOnce(&mut Settings) {
        move |s| {
            if let Settings::LossThreshold(l) = s {
                l.threshold = t
            }
        }
    }

    fn posed() -> &'static super::super::Posed<MembershipThreshold> {
        let Task::MembershipThreshold(posed) = &exercise("loss-threshold").task else {
            panic!("loss-threshold is a membership-threshold exercise")
        };
        posed
    }

    #[test]
    fn what_a_learner_is_told() {
        check("loss-threshold", threshold_of(1e-12), expect!["Rejected: the threshold 1e-12 is below every loss of the known records (the smallest is 1.324e-7): it would call no record a member. Pick it from the histograms"]);
        check("loss-threshold", threshold_of(1e6), expect!["Rejected: the threshold 1e6 is above every loss of the known records (the largest is 7.176e0): it would call every record a member. Pick it from the histograms"]);
        check(
            "loss-threshold",
            threshold_of(-1.0),
            expect!["refused: invalid setting: the threshold is a loss, a number above 0; got -1"],
        );
        check("loss-threshold", threshold_of(f64::NAN), expect!["refused: invalid setting: the threshold is not a number: type a loss above 0, such as 0.01"]);
    }

    /// Members and non-members never overlap, and the known and challenge halves are apart.
    #[test]
    fn the_split_keeps_members_and_non_members_apart() {
        let digits = session().context().digits().unwrap();
        let split = posed().task.split(digits);
        let n = posed().task.members as usize;
        assert_eq!(split.members.len(), n);
        let all = |i: &Images| -> Vec<Vec<u32>> {
            (0..i.len())
                .map(|k| i.image(k).iter().map(|p| p.to_bits()).collect())
                .collect()
        };
        let members = all(&split.members);
        for non in split.known[1..].iter().chain(&split.challenge[1..]) {
            assert!(all(non).iter().all(|image| !members.contains(image)));
        }
        assert_eq!(split.known[0].len() + split.challenge[0].len(), n);
        assert_eq!(split.known[0].pixels.len(), (n / 2) * PIXELS);
    }

    /// Measures candidate thresholds (run by hand when choosing the lesson's numbers:
    /// `cargo test --release -p mlsec-core membership::tests::survey -- --ignored --nocapture`).
    #[test]
    #[ignore]
    fn survey() {
        let ctx = session().context();
        let digits = ctx.digits().unwrap();
        let known = posed().task.known_losses(digits).unwrap();
        let quantiles = |v: &[f64]| {
            let mut v = v.to_vec();
            v.sort_by(f64::total_cmp);
            [0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0]
                .map(|q| format!("{:.2e}", v[((v.len() - 1) as f64 * q) as usize]))
        };
        println!("known members {:?}", quantiles(&known.members));
        println!("known non-members {:?}", quantiles(&known.non_members));
        for t in [1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0] {
            let (grade, _) = posed()
                .task
                .grade(&ctx, &Artefact::Threshold { threshold: t })
                .unwrap();
            println!("{t}: {}", grade.message);
        }
    }
}
