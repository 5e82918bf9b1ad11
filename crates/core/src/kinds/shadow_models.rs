//! Track C: membership inference with shadow models, LiRA-lite (Shokri et al. 2017; Carlini et
//! al. 2022). The attacker knows a pool of records, half of which the target was trained on, and
//! the target's training recipe. It trains k shadow models of its own, each on a random part of
//! the pool, so that for every record it sees how the record's statistic (the loss, or the
//! confidence on the logit scale) is spread in models that trained on it (IN) and models that did
//! not (OUT). A record's score is how much better the target's statistic fits IN than OUT. The
//! grade is the share of members found while at most 1% of non-members are called members:
//! an attacker that must be sure about a few records, the metric Carlini et al. argue for.

use super::poisoning::{graded, Retraining};
use super::{ExerciseKind, Start};
use crate::detectors::{roc, tpr_at_fpr};
use crate::digits::{Digits, Images, TRAIN_ROWS};
use crate::exercise::{Artefact, Context, Details, Settings};
use crate::fields::{self, field, Field};
use crate::grade::{threshold, Figure, Grade, Unit};
use crate::mlp::Mlp;
use crate::resources::Resource;
use crate::train::{TrainConfig, Trainer};
use crate::{Error, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// The false-positive rate the grade reads the ROC at.
pub const LOW_FPR: f32 = 0.01;

/// The most shadow training one attack may ask for, in shadow models × epochs: what the grader
/// re-runs for a receipt, and about what a browser trains in five seconds on a 2-core machine
/// (the reference asks for 8 × 100).
pub const MAX_SHADOW_EPOCHS: u32 = 1_600;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShadowModels {
    /// How many records the attacker's pool holds; the target trains on half of them.
    pub pool: u32,
    /// Draws the pool from the training split, and the target's half of it.
    pub split_seed: u64,
    /// A workshop's other instances: further split seeds, each checked by the content check
    /// to let the lesson's reference pass (none: no per-learner variants).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variant_seeds: Vec<u64>,
    /// The share of members found at 1% false positives must reach this.
    pub min_tpr: f32,
    /// The target's recipe, which the attacker knows (its shadows copy all of it but the
    /// epochs, the seed and the data).
    pub recipe: TrainConfig,
}

/// The per-model statistic the attack compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Statistic {
    /// The cross-entropy loss on the record's label.
    Loss,
    /// The confidence in the label on the logit scale, log(p / (1 − p)).
    ScaledLogit,
}

/// How a record's score is read from its shadows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Test {
    /// How far the target's statistic lies above the OUT shadows' (needs no IN shadows).
    Offline,
    /// The likelihood ratio of the target's statistic under the IN and the OUT Gaussians.
    Online,
}

/// Where the Gaussians' spread comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Spread {
    /// Each record's own shadows (needs many shadows to be estimated well).
    PerRecord,
    /// One spread for all records, pooled over every record's shadows.
    Global,
}

/// What the learner chooses: the shadows and how their statistics become scores.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShadowAttack {
    pub shadows: u32,
    /// Each shadow's epochs (the rest of its recipe is the target's).
    pub epochs: u32,
    /// The share of the pool each shadow trains on.
    pub in_fraction: f32,
    pub statistic: Statistic,
    pub test: Test,
    pub spread: Spread,
    /// Draws each shadow's records and its initial weights.
    pub seed: u64,
}

/// One attack's ROC on the pool and the figures read from it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttackCurve {
    pub roc: Vec<(f32, f32)>,
    pub auc: f32,
    pub tpr_at_low_fpr: f32,
}

impl AttackCurve {
    pub(crate) fn of(scores: &[f64], truth: &[bool]) -> Self {
        let scores: Vec<f32> = scores.iter().map(|&s| s as f32).collect();
        let (roc, auc) = roc(&scores, truth);
        AttackCurve {
            tpr_at_low_fpr: tpr_at_fpr(&roc, LOW_FPR),
            roc,
            auc,
        }
    }
}

/// What a shadow-model grade was measured on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShadowReport {
    /// The learner's attack.
    pub attack: AttackCurve,
    /// Exercise 3's attack on the same target, for comparison: the target's loss alone.
    pub loss_threshold: AttackCurve,
    pub members: u32,
    pub non_members: u32,
    /// The shadows' mean accuracy on the test split beside the target's: shadows that learn
    /// like the target make good references.
    pub target_test_accuracy: f32,
    pub shadow_test_accuracy: f32,
}

/// The attacker's pool, in a fixed order, with which records the target trained on (what the
/// DP-SGD exercise defends, too).
pub(crate) struct Pool {
    pub records: Images,
    pub member: Vec<bool>,
}

impl Pool {
    /// Why a lesson's pool size cannot be drawn, if it cannot: half members, half not.
    pub fn check_size(size: u32) -> std::result::Result<(), String> {
        if (20..=TRAIN_ROWS as u32).contains(&size) && size.is_multiple_of(2) {
            Ok(())
        } else {
            Err(format!("pool must be an even number 20–{TRAIN_ROWS}"))
        }
    }

    /// `size` training images drawn by `split_seed`; the first half drawn are the members.
    pub fn draw(digits: &Digits, size: u32, split_seed: u64) -> Pool {
        let mut order: Vec<usize> = (0..digits.train.len()).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(split_seed));
        let pool = &order[..size as usize];
        // Listing the pool in the training split's order keeps the two halves mixed.
        let mut sorted: Vec<(usize, bool)> = pool
            .iter()
            .enumerate()
            .map(|(n, &i)| (i, n < pool.len() / 2))
            .collect();
        sorted.sort_unstable();
        let (indices, member): (Vec<usize>, Vec<bool>) = sorted.into_iter().unzip();
        Pool {
            records: digits.train.select(&indices),
            member,
        }
    }

    /// The records where `chosen` is true as training data, with the test split to report on.
    pub fn training(&self, chosen: &[bool], digits: &Digits) -> Digits {
        Digits {
            train: self.records.select(&chosen_indices(chosen)),
            test: digits.test.clone(),
        }
    }
}

/// The shadows' trainers: shadow `i` learns `halves[i]` of the pool with `recipe` and its own
/// seed, built by `make` (plain or DP-SGD training, as the target was).
pub(crate) fn shadow_runs(
    attack: &ShadowAttack,
    halves: &[Vec<bool>],
    pool: &Pool,
    digits: &Digits,
    recipe: &TrainConfig,
    make: impl Fn(&Digits, TrainConfig) -> Result<Trainer>,
) -> Result<Vec<(String, Trainer)>> {
    halves
        .iter()
        .enumerate()
        .map(|(i, half)| {
            let recipe = TrainConfig {
                seed: shadow_seed(attack.seed, i),
                ..recipe.clone()
            };
            let name = format!("shadow {} of {}", i + 1, attack.shadows);
            Ok((name, make(&pool.training(half, digits), recipe)?))
        })
        .collect()
}

impl ShadowModels {
    fn measure(&self, attack: &ShadowAttack, ctx: &Context) -> Result<Retraining> {
        check(attack).map_err(Error::InvalidInput)?;
        let digits = ctx.digits()?;
        let pool = Pool::draw(digits, self.pool, self.split_seed);
        let target = Trainer::new(
            &pool.training(&pool.member, digits),
            self.recipe.clone(),
            None,
        )?;
        let halves = shadow_halves(attack, pool.member.len());
        let recipe = TrainConfig {
            epochs: attack.epochs,
            ..self.recipe.clone()
        };
        let mut runs = vec![("the target".to_string(), target)];
        runs.extend(shadow_runs(
            attack,
            &halves,
            &pool,
            digits,
            &recipe,
            |d, r| Trainer::new(d, r, None),
        )?);
        let (attack, test, min_tpr) = (attack.clone(), digits.test.clone(), self.min_tpr);
        Ok(Retraining::from_runs(
            runs,
            Box::new(move |models: &[&Mlp]| {
                let (target, shadows) = models.split_first().expect("the target comes first");
                judge(&attack, min_tpr, target, shadows, &halves, &pool, &test)
            }),
        ))
    }
}

/// The positions where `chosen` is true.
fn chosen_indices(chosen: &[bool]) -> Vec<usize> {
    (0..chosen.len()).filter(|&i| chosen[i]).collect()
}

/// Which pool records each shadow trains on: a seeded random `in_fraction` of the pool per shadow.
pub(crate) fn shadow_halves(attack: &ShadowAttack, pool: usize) -> Vec<Vec<bool>> {
    let mut rng = ChaCha8Rng::seed_from_u64(attack.seed);
    let take = ((pool as f64 * f64::from(attack.in_fraction)).round() as usize).clamp(1, pool);
    (0..attack.shadows)
        .map(|_| {
            let mut order: Vec<usize> = (0..pool).collect();
            order.shuffle(&mut rng);
            let mut chosen = vec![false; pool];
            for &i in &order[..take] {
                chosen[i] = true;
            }
            chosen
        })
        .collect()
}

/// Shadow `i`'s initialisation seed: apart from the draws of its records and from the others'.
fn shadow_seed(seed: u64, i: usize) -> u64 {
    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(i as u64 + 1)
}

/// The statistic of `model` on `records`, oriented so that larger means "more like a member".
fn statistic(model: &Mlp, records: &Images, statistic: Statistic) -> Result<Vec<f64>> {
    Ok(match statistic {
        Statistic::Loss => model.losses(records)?.into_iter().map(|l| -l).collect(),
        Statistic::ScaledLogit => model.scaled_confidences(records)?,
    })
}

/// The smallest spread a Gaussian is given: an overfit model's losses can agree to 1e-12, and a
/// spread of 0 would make every score infinite.
const MIN_SPREAD: f64 = 1e-6;

/// A Gaussian fitted to the observations of one record (IN or OUT).
#[derive(Clone, Copy)]
struct Gaussian {
    mean: f64,
    spread: f64,
}

impl Gaussian {
    fn log_density(&self, x: f64) -> f64 {
        let z = (x - self.mean) / self.spread;
        -0.5 * z * z - libm::log(self.spread)
    }
}

/// Fits one Gaussian per record to `observations[record]`, with the spread per record or
/// pooled. A record with no observation takes the mean over all observations; one with fewer
/// than two takes the pooled spread.
fn fit(observations: &[Vec<f64>], spread: Spread) -> Vec<Gaussian> {
    let mean_of = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let all: Vec<f64> = observations.iter().flatten().copied().collect();
    let overall = if all.is_empty() { 0.0 } else { mean_of(&all) };
    let means: Vec<f64> = observations
        .iter()
        .map(|v| if v.is_empty() { overall } else { mean_of(v) })
        .collect();
    // Pooled: every observation's squared distance from its own record's mean.
    let (squares, count) = observations
        .iter()
        .zip(&means)
        .filter(|(v, _)| v.len() > 1)
        .fold((0.0, 0usize), |(s, n), (v, m)| {
            (
                s + v.iter().map(|x| (x - m) * (x - m)).sum::<f64>(),
                n + v.len() - 1,
            )
        });
    let pooled = if count > 0 {
        libm::sqrt(squares / count as f64)
    } else {
        1.0
    };
    observations
        .iter()
        .zip(&means)
        .map(|(v, &mean)| {
            let own = || {
                let s: f64 = v.iter().map(|x| (x - mean) * (x - mean)).sum();
                libm::sqrt(s / (v.len() - 1) as f64)
            };
            let spread = match spread {
                Spread::PerRecord if v.len() > 1 => own(),
                _ => pooled,
            };
            Gaussian {
                mean,
                spread: spread.max(MIN_SPREAD),
            }
        })
        .collect()
}

/// Each record's membership score from the target's statistic and the shadows'.
fn scores(
    attack: &ShadowAttack,
    target: &[f64],
    shadows: &[Vec<f64>],
    halves: &[Vec<bool>],
) -> Vec<f64> {
    let observed = |inside: bool| -> Vec<Vec<f64>> {
        (0..target.len())
            .map(|r| {
                shadows
                    .iter()
                    .zip(halves)
                    .filter(|(_, h)| h[r] == inside)
                    .map(|(s, _)| s[r])
                    .collect()
            })
            .collect()
    };
    let outs = fit(&observed(false), attack.spread);
    match attack.test {
        Test::Offline => target
            .iter()
            .zip(&outs)
            .map(|(&x, out)| (x - out.mean) / out.spread)
            .collect(),
        Test::Online => {
            let ins = fit(&observed(true), attack.spread);
            target
                .iter()
                .zip(ins.iter().zip(&outs))
                .map(|(&x, (i, o))| i.log_density(x) - o.log_density(x))
                .collect()
        }
    }
}

/// The ROC of `attack` on the pool: the target's statistic against the shadows', per record.
pub(crate) fn attack_curve(
    attack: &ShadowAttack,
    target: &Mlp,
    shadows: &[&Mlp],
    halves: &[Vec<bool>],
    pool: &Pool,
) -> Result<AttackCurve> {
    let observed = statistic(target, &pool.records, attack.statistic)?;
    let shadow_stats = shadows
        .iter()
        .map(|m| statistic(m, &pool.records, attack.statistic))
        .collect::<Result<Vec<_>>>()?;
    Ok(AttackCurve::of(
        &scores(attack, &observed, &shadow_stats, halves),
        &pool.member,
    ))
}

fn judge(
    attack: &ShadowAttack,
    min_tpr: f32,
    target: &Mlp,
    shadows: &[&Mlp],
    halves: &[Vec<bool>],
    pool: &Pool,
    test: &Images,
) -> Result<(Grade, Details)> {
    let curve = attack_curve(attack, target, shadows, halves, pool)?;
    let baseline = statistic(target, &pool.records, Statistic::Loss)?;
    let loss_threshold = AttackCurve::of(&baseline, &pool.member);
    let members = pool.member.iter().filter(|&&m| m).count() as u32;
    let non_members = pool.member.len() as u32 - members;
    let target_test_accuracy = target.accuracy(test)?;
    let mut shadow_sum = 0.0;
    for m in shadows {
        shadow_sum += m.accuracy(test)?;
    }
    let shadow_test_accuracy = shadow_sum / shadows.len().max(1) as f32;
    let allowed = (LOW_FPR * non_members as f32).floor() as u32;
    let grade = Grade::from_figures(
        vec![Figure::at_least(
            "members found at 1% false positives",
            f64::from(curve.tpr_at_low_fpr),
            threshold(min_tpr),
            Unit::Percent,
        )],
        &format!(
            "calling at most {allowed} of the {non_members} non-members members, your attack finds \
             {:.1}% of the {members} members (area under its ROC {:.2}); the target's loss alone \
             finds {:.1}% (area {:.2}). The shadows score {:.1}% on the test split, the target {:.1}%",
            curve.tpr_at_low_fpr * 100.0,
            curve.auc,
            loss_threshold.tpr_at_low_fpr * 100.0,
            loss_threshold.auc,
            shadow_test_accuracy * 100.0,
            target_test_accuracy * 100.0,
        ),
    );
    Ok((
        grade,
        Details::Shadow(ShadowReport {
            attack: curve,
            loss_threshold,
            members,
            non_members,
            target_test_accuracy,
            shadow_test_accuracy,
        }),
    ))
}

/// Why `attack` cannot run, if it cannot: no shadows, more shadow training than the lab runs
/// for one attack, epochs or a share of the pool out of range.
pub(crate) fn check(attack: &ShadowAttack) -> std::result::Result<(), String> {
    if attack.shadows == 0 {
        return Err(
            "0 shadow models: the attack needs at least 1 to compare the target with \
                    (the reference trains 8)"
                .into(),
        );
    }
    if !(1..=TrainConfig::MAX_EPOCHS).contains(&attack.epochs) {
        return Err(format!(
            "each shadow's epochs must be 1–{}, got {}",
            TrainConfig::MAX_EPOCHS,
            attack.epochs
        ));
    }
    let work = u64::from(attack.shadows) * u64::from(attack.epochs);
    if work > u64::from(MAX_SHADOW_EPOCHS) {
        return Err(format!(
            "{} shadows × {} epochs is {work} epochs of shadow training; the lab runs at most \
             {MAX_SHADOW_EPOCHS} for one attack (about five seconds in a browser): use fewer \
             shadows or fewer epochs",
            attack.shadows, attack.epochs
        ));
    }
    let f = attack.in_fraction;
    if !(f.is_finite() && (0.05..=0.95).contains(&f)) {
        return Err(format!(
            "the share of the pool each shadow trains on must be between 0.05 and 0.95, got {f}"
        ));
    }
    Ok(())
}

const SHADOWS: Field = field("shadows", "Shadow models (k)", fields::U32);
const EPOCHS: Field = field("epochs", "Epochs per shadow", fields::U32);
const IN_FRACTION: Field = field(
    "in_fraction",
    "Share of the pool each shadow trains on",
    fields::Number::Real32,
);

impl ExerciseKind for ShadowModels {
    type Settings = ShadowAttack;

    fn wrap(settings: ShadowAttack) -> Settings {
        Settings::ShadowAttack(settings)
    }
    fn unwrap(settings: &Settings) -> Option<&ShadowAttack> {
        match settings {
            Settings::ShadowAttack(s) => Some(s),
            _ => None,
        }
    }

    /// Per-learner variants: another split seed draws another pool and another target half.
    fn variants(&self) -> u32 {
        1 + self.variant_seeds.len() as u32
    }
    fn variant(&self, index: u32) -> Self {
        ShadowModels {
            split_seed: super::split_seed_of(self.split_seed, &self.variant_seeds, index),
            ..self.clone()
        }
    }

    const NEEDS: &'static [Resource] = &[Resource::Digits];

    fn validate(
        &self,
        starter: &ShadowAttack,
        solution: &ShadowAttack,
    ) -> std::result::Result<(), String> {
        Pool::check_size(self.pool)?;
        super::unit("min_tpr", self.min_tpr)?;
        self.recipe.validate().map_err(|e| e.to_string())?;
        check(starter).map_err(|e| format!("starter: {e}"))?;
        check(solution).map_err(|e| format!("solution: {e}"))
    }

    fn fields(&self) -> Vec<Field> {
        vec![SHADOWS, EPOCHS, IN_FRACTION, fields::SEED]
    }

    /// The number fields, with the statistic, test and spread the view's choices set.
    fn settings_from(
        &self,
        edited: &ShadowAttack,
        drafts: &std::collections::BTreeMap<String, String>,
    ) -> std::result::Result<ShadowAttack, String> {
        let attack = fields::filled(edited, &self.fields(), drafts)?;
        check(&attack)?;
        Ok(attack)
    }

    fn start(&self, settings: &ShadowAttack, ctx: &Context) -> Result<Start> {
        let retraining = self.measure(settings, ctx)?;
        Ok(Start::Measuring(
            Artefact::ShadowAttack {
                attack: settings.clone(),
            },
            Box::new(retraining),
        ))
    }

    fn grade(&self, ctx: &Context, artefact: &Artefact) -> Result<(Grade, Details)> {
        let Artefact::ShadowAttack { attack } = artefact else {
            return Ok((
                Grade::rejected("expected a shadow-model attack"),
                Details::None,
            ));
        };
        graded(self.measure(attack, ctx), ctx)
    }

    fn reproduce(
        &self,
        settings: &ShadowAttack,
        artefact: &Artefact,
        _: &Context,
    ) -> Result<std::result::Result<Artefact, String>> {
        Ok(match artefact {
            Artefact::ShadowAttack { attack } if attack == settings => Ok(artefact.clone()),
            _ => Err("its attack is not the one its settings record".into()),
        })
    }

    fn seed(&self, settings: &ShadowAttack) -> u64 {
        settings.seed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::testing::check;
    use expect_test::expect;

    fn edit(change: impl FnOnce(&mut ShadowAttack)) -> impl FnOnce(&mut Settings) {
        move |s| {
            if let Settings::ShadowAttack(a) = s {
                change(a)
            }
        }
    }

    #[test]
    fn what_a_learner_is_told() {
        check("shadow-lira", edit(|a| a.shadows = 0), expect!["refused: invalid setting: 0 shadow models: the attack needs at least 1 to compare the target with (the reference trains 8)"]);
        check("shadow-lira", edit(|a| a.shadows = 17), expect!["refused: invalid setting: 17 shadows × 100 epochs is 1700 epochs of shadow training; the lab runs at most 1600 for one attack (about five seconds in a browser): use fewer shadows or fewer epochs"]);
        check(
            "shadow-lira",
            edit(|a| a.epochs = 0),
            expect!["refused: invalid setting: each shadow's epochs must be 1–200, got 0"],
        );
        check("shadow-lira", edit(|a| a.in_fraction = f32::NAN), expect!["refused: invalid setting: the share of the pool each shadow trains on must be between 0.05 and 0.95, got NaN"]);
        check("shadow-lira", edit(|a| a.in_fraction = 1.0), expect!["refused: invalid setting: the share of the pool each shadow trains on must be between 0.05 and 0.95, got 1"]);
    }

    /// Scores on hand-built statistics: a record whose target statistic sits at its IN mean
    /// scores above one at its OUT mean, offline and online, with either spread.
    #[test]
    fn a_record_like_its_in_shadows_scores_higher() {
        // Two records, four shadows: each record is IN for shadows 0 and 1, OUT for 2 and 3.
        let halves = vec![
            vec![true, true],
            vec![true, true],
            vec![false, false],
            vec![false, false],
        ];
        let shadows = vec![
            vec![5.0, 4.0],
            vec![5.2, 4.2],
            vec![1.0, 0.0],
            vec![1.2, 0.2],
        ];
        // Record 0 looks IN (5.1), record 1 looks OUT (0.1).
        let target = [5.1, 0.1];
        for test in [Test::Offline, Test::Online] {
            for spread in [Spread::PerRecord, Spread::Global] {
                let attack = ShadowAttack {
                    shadows: 4,
                    epochs: 1,
                    in_fraction: 0.5,
                    statistic: Statistic::ScaledLogit,
                    test,
                    spread,
                    seed: 0,
                };
                let s = scores(&attack, &target, &shadows, &halves);
                assert!(s[0] > s[1], "{test:?} {spread:?}: {s:?}");
                assert!(s.iter().all(|x| x.is_finite()));
            }
        }
    }

    /// The pooled spread is the spread of every observation about its own record's mean, and a
    /// record without observations takes the overall mean.
    #[test]
    fn fitting_pools_the_spread_and_fills_empty_records() {
        let g = fit(&[vec![1.0, 3.0], vec![10.0, 12.0], vec![]], Spread::Global);
        assert_eq!(g[0].mean, 2.0);
        assert!((g[0].spread - libm::sqrt(2.0)).abs() < 1e-12);
        assert_eq!(g[1].spread, g[0].spread);
        assert_eq!(g[2].mean, 6.5);
        let own = fit(&[vec![1.0, 1.0], vec![0.0, 4.0]], Spread::PerRecord);
        assert_eq!(own[0].spread, MIN_SPREAD);
        assert!((own[1].spread - libm::sqrt(8.0)).abs() < 1e-12);
    }

    /// Each shadow trains on its share of the pool, and different shadows on different records.
    #[test]
    fn shadows_draw_their_share_of_the_pool() {
        let attack = ShadowAttack {
            shadows: 3,
            epochs: 1,
            in_fraction: 0.25,
            statistic: Statistic::Loss,
            test: Test::Online,
            spread: Spread::Global,
            seed: 9,
        };
        let halves = shadow_halves(&attack, 200);
        assert_eq!(halves.len(), 3);
        assert!(halves
            .iter()
            .all(|h| h.iter().filter(|&&c| c).count() == 50));
        assert_ne!(halves[0], halves[1]);
        assert_eq!(halves, shadow_halves(&attack, 200));
    }

    /// Measures attacks on candidate tasks (run by hand when choosing the lesson's numbers:
    /// `cargo test --release -p mlsec-core shadow_models::tests::survey -- --ignored --nocapture`).
    #[test]
    #[ignore]
    fn survey() {
        let env = |k: &str, d: &str| std::env::var(k).unwrap_or(d.into());
        let ctx = crate::kinds::testing::session().context();
        let task = ShadowModels {
            pool: env("POOL", "500").parse().unwrap(),
            split_seed: 1,
            variant_seeds: vec![],
            min_tpr: 0.0,
            recipe: TrainConfig {
                epochs: env("EPOCHS", "100").parse().unwrap(),
                learning_rate: 0.01,
                batch_size: 32,
                seed: 3,
            },
        };
        for shadows in env("K", "8").split(',').map(|k| k.parse().unwrap()) {
            for statistic in [Statistic::Loss, Statistic::ScaledLogit] {
                for test in [Test::Offline, Test::Online] {
                    for spread in [Spread::PerRecord, Spread::Global] {
                        let attack = ShadowAttack {
                            shadows,
                            epochs: task.recipe.epochs,
                            in_fraction: 0.5,
                            statistic,
                            test,
                            spread,
                            seed: 1,
                        };
                        let start = std::time::Instant::now();
                        let (grade, details) = graded(task.measure(&attack, &ctx), &ctx).unwrap();
                        let Details::Shadow(r) = details else {
                            panic!("{}", grade.message)
                        };
                        println!(
                            "k={shadows} {statistic:?} {test:?} {spread:?}: tpr@1% {:.3} auc {:.3} | loss {:.3} auc {:.3} | acc {:.3}/{:.3} ({:.1}s)",
                            r.attack.tpr_at_low_fpr, r.attack.auc, r.loss_threshold.tpr_at_low_fpr,
                            r.loss_threshold.auc, r.target_test_accuracy, r.shadow_test_accuracy,
                            start.elapsed().as_secs_f32()
                        );
                    }
                }
            }
        }
    }
}
