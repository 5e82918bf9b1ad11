//! Track A: adversarial training (Madry et al. 2018). The learner trains a model on PGD-attacked
//! batches; the grader attacks the result with its own PGD and measures robust and clean
//! accuracy.
//!
//! No per-learner variant in a workshop: as for plain training, the grader retrains the recorded
//! settings, and a copy shows as an identical artefact in the class view.

use super::{evasion, training, ExerciseKind, Start};
use crate::attacks::{pgd, PgdConfig};
use crate::exercise::{Artefact, Context, Details, Settings};
use crate::fields::{field, Field, Number, BATCH_SIZE, EPOCHS, LEARNING_RATE, SEED, U32};
use crate::grade::{threshold, Figure, Grade, Unit};
use crate::resources::Resource;
use crate::train::{Adversary, TrainConfig, Trainer};
use crate::Result;
use serde::{Deserialize, Serialize};

/// The grader's own attack on a defended model: PGD with this many steps (Madry step size).
pub const ROBUSTNESS_PGD_STEPS: u32 = 20;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdversarialTraining {
    /// The ε the grader attacks with.
    pub epsilon: f32,
    pub min_robust_accuracy: f32,
    pub min_clean_accuracy: f32,
}

/// The learner's adversarial-training settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdvTrainConfig {
    pub epochs: u32,
    pub learning_rate: f64,
    pub batch_size: u32,
    pub train_epsilon: f32,
    pub train_steps: u32,
    pub seed: u64,
}

impl AdvTrainConfig {
    fn split(&self) -> (TrainConfig, Adversary) {
        let config = TrainConfig {
            epochs: self.epochs,
            learning_rate: self.learning_rate,
            batch_size: self.batch_size,
            seed: self.seed,
        };
        (
            config,
            Adversary {
                epsilon: self.train_epsilon,
                steps: self.train_steps,
            },
        )
    }
}

impl AdversarialTraining {
    fn trainer(&self, config: &AdvTrainConfig, ctx: &Context) -> Result<Trainer> {
        let (config, adversary) = config.split();
        Trainer::new(ctx.digits()?, config, Some(adversary))
    }
}

impl ExerciseKind for AdversarialTraining {
    type Settings = AdvTrainConfig;

    fn wrap(settings: AdvTrainConfig) -> Settings {
        Settings::AdvTrain(settings)
    }
    fn unwrap(settings: &Settings) -> Option<&AdvTrainConfig> {
        match settings {
            Settings::AdvTrain(c) => Some(c),
            _ => None,
        }
    }

    const NEEDS: &'static [Resource] = &[Resource::Digits];

    fn validate(&self, _: &AdvTrainConfig, _: &AdvTrainConfig) -> std::result::Result<(), String> {
        super::unit("epsilon", self.epsilon)?;
        super::unit("min_robust_accuracy", self.min_robust_accuracy)?;
        super::unit("min_clean_accuracy", self.min_clean_accuracy)
    }

    fn fields(&self) -> Vec<Field> {
        vec![
            EPOCHS,
            LEARNING_RATE,
            BATCH_SIZE,
            field("train_epsilon", "Training ε", Number::Real32),
            field("train_steps", "Training PGD steps", U32),
            SEED,
        ]
    }

    fn start(&self, config: &AdvTrainConfig, ctx: &Context) -> Result<Start> {
        Ok(Start::Training(Box::new(self.trainer(config, ctx)?)))
    }

    fn grade(&self, ctx: &Context, artefact: &Artefact) -> Result<(Grade, Details)> {
        let test = &ctx.digits()?.test;
        let model = match artefact.model() {
            Ok(m) => m,
            Err(e) => return Ok((Grade::rejected(e), Details::None)),
        };
        let epsilon = self.epsilon;
        let clean = f64::from(model.accuracy(test)?);
        let config = PgdConfig::madry(epsilon, ROBUSTNESS_PGD_STEPS);
        let attacked = pgd(&model, &test.pixels, &test.labels, &config, None)?;
        let predicted = model.predict(&attacked)?;
        let robust_count = predicted
            .iter()
            .zip(&test.labels)
            .filter(|(p, l)| p == l)
            .count();
        let robust = evasion::fraction(robust_count, test.len());
        let grade = Grade::from_figures(
            vec![
                Figure::at_least(
                    &format!("robust accuracy under PGD-{ROBUSTNESS_PGD_STEPS} at ε = {epsilon}"),
                    robust,
                    threshold(self.min_robust_accuracy),
                    Unit::Percent,
                ),
                Figure::at_least(
                    "clean accuracy",
                    clean,
                    threshold(self.min_clean_accuracy),
                    Unit::Percent,
                ),
            ],
            &format!(
                "{robust_count} of {} test images survive the attack",
                test.len()
            ),
        );
        Ok((grade, Details::None))
    }

    fn reproduce(
        &self,
        config: &AdvTrainConfig,
        artefact: &Artefact,
        ctx: &Context,
    ) -> Result<std::result::Result<Artefact, String>> {
        training::reproduce(self.trainer(config, ctx), artefact)
    }

    fn seed(&self, config: &AdvTrainConfig) -> u64 {
        config.seed
    }
    fn epochs(config: &AdvTrainConfig) -> Option<u32> {
        Some(config.epochs)
    }
    fn ran_for(config: AdvTrainConfig, epochs: u32) -> AdvTrainConfig {
        AdvTrainConfig { epochs, ..config }
    }
}

#[cfg(test)]
mod tests {
    use crate::exercise::Settings;
    use crate::kinds::testing::check;
    use expect_test::expect;

    /// What a learner is told for typical edits of the reference settings (snapshots).
    #[test]
    fn what_a_learner_is_told() {
        check(
        "adv-train-robust",
        |s| {
            if let Settings::AdvTrain(c) = s {
                c.epochs = 2;
                c.train_steps = 1;
            }
        },
        expect!["Not yet: robust accuracy under PGD-20 at ε = 0.1 58.9% < 60.0%; clean accuracy 84.2% < 85.0%: 212 of 360 test images survive the attack."],
    );
    }
}
