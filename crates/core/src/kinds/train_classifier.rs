//! Track 0: train the digits classifier. The learner chooses the training settings; the lab
//! trains in the worker, epoch by epoch; the grader measures test accuracy.
//!
//! No per-learner variant in a workshop: the artefact is a model the grader retrains from its
//! settings, and the data set is the lesson; a copied model shows as an identical artefact in the
//! class view.

use super::{training, ExerciseKind, Start};
use crate::exercise::{Artefact, Context, Details, Settings};
use crate::fields::{Field, BATCH_SIZE, EPOCHS, LEARNING_RATE, SEED};
use crate::grade::{self, Figure, Grade, Unit};
use crate::resources::Resource;
use crate::train::{TrainConfig, Trainer};
use crate::Result;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainClassifier {
    pub min_test_accuracy: f32,
}

impl TrainClassifier {
    fn trainer(&self, config: &TrainConfig, ctx: &Context) -> Result<Trainer> {
        Trainer::new(ctx.digits()?, config.clone(), None)
    }
}

impl ExerciseKind for TrainClassifier {
    type Settings = TrainConfig;

    fn wrap(settings: TrainConfig) -> Settings {
        Settings::Train(settings)
    }
    fn unwrap(settings: &Settings) -> Option<&TrainConfig> {
        match settings {
            Settings::Train(c) => Some(c),
            _ => None,
        }
    }

    const NEEDS: &'static [Resource] = &[Resource::Digits];

    fn validate(&self, _: &TrainConfig, _: &TrainConfig) -> std::result::Result<(), String> {
        super::unit("min_test_accuracy", self.min_test_accuracy)
    }

    fn fields(&self) -> Vec<Field> {
        vec![EPOCHS, LEARNING_RATE, BATCH_SIZE, SEED]
    }

    fn start(&self, config: &TrainConfig, ctx: &Context) -> Result<Start> {
        Ok(Start::Training(Box::new(self.trainer(config, ctx)?)))
    }

    fn grade(&self, ctx: &Context, artefact: &Artefact) -> Result<(Grade, Details)> {
        let test = &ctx.digits()?.test;
        let model = match artefact.model() {
            Ok(model) => model,
            Err(e) => return Ok((Grade::rejected(e), Details::None)),
        };
        let accuracy = f64::from(model.accuracy(test)?);
        let threshold = grade::threshold(self.min_test_accuracy);
        let wrong = ((1.0 - accuracy) * test.len() as f64).round() as usize;
        let needed = ((threshold - accuracy) * test.len() as f64).ceil().max(0.0) as usize;
        let detail = if accuracy >= threshold {
            String::new()
        } else {
            format!(
                "{wrong} of {} test images are wrong; {needed} more must be right",
                test.len()
            )
        };
        let grade = Grade::from_figures(
            vec![Figure::at_least(
                "test accuracy",
                accuracy,
                threshold,
                Unit::Percent,
            )],
            &detail,
        );
        Ok((grade, Details::None))
    }

    fn reproduce(
        &self,
        config: &TrainConfig,
        artefact: &Artefact,
        ctx: &Context,
    ) -> Result<std::result::Result<Artefact, String>> {
        training::reproduce(self.trainer(config, ctx), artefact)
    }

    fn seed(&self, config: &TrainConfig) -> u64 {
        config.seed
    }
    fn epochs(config: &TrainConfig) -> Option<u32> {
        Some(config.epochs)
    }
    fn ran_for(config: TrainConfig, epochs: u32) -> TrainConfig {
        TrainConfig { epochs, ..config }
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
        "train-digits",
        |s| {
            if let Settings::Train(c) = s {
                c.epochs = 1;
            }
        },
        expect!["Not yet: test accuracy 81.1% < 89.0%: 68 of 360 test images are wrong; 29 more must be right."],
    );
        check(
            "train-digits",
            |s| {
                if let Settings::Train(c) = s {
                    c.learning_rate = 2.0;
                }
            },
            expect!["refused: invalid setting: learning rate must be a number in (0, 1], got 2"],
        );
    }
}
