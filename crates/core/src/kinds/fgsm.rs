//! Track A: FGSM (Goodfellow et al. 2015), untargeted, over the whole test split. The learner
//! chooses ε within the lesson's budget; the grader measures how many originally-correct test
//! images the attack turns. A workshop gives each learner their own 300 test images, so a
//! neighbour's attacked images are not an attack on one's own.

use super::{evasion, ExerciseKind, Start};
use crate::attacks::fgsm;
use crate::digits::Images;
use crate::exercise::{Artefact, Context, Details, Settings};
use crate::fields::{Field, EPSILON};
use crate::grade::Grade;
use crate::resources::Resource;
use crate::Result;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fgsm {
    pub epsilon_budget: f32,
    pub min_success: f32,
    /// 0 (the lesson's task): the whole test split; n > 0: a workshop learner's instance, the
    /// [`VARIANT_IMAGES`] test images drawn with seed n.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub variant: u32,
}

/// How many test images a workshop learner's instance attacks.
pub const VARIANT_IMAGES: usize = 300;

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Fgsm {
    /// The test images this instance attacks, in the order its artefact holds them.
    fn images(&self, ctx: &Context) -> Result<Images> {
        let test = &ctx.digits()?.test;
        if self.variant == 0 {
            return Ok(test.clone());
        }
        let mut order: Vec<usize> = (0..test.len()).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(u64::from(self.variant)));
        order.truncate(VARIANT_IMAGES);
        order.sort_unstable();
        Ok(test.select(&order))
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FgsmSettings {
    pub epsilon: f32,
}

impl ExerciseKind for Fgsm {
    type Settings = FgsmSettings;

    fn wrap(settings: FgsmSettings) -> Settings {
        Settings::Fgsm(settings)
    }
    fn unwrap(settings: &Settings) -> Option<&FgsmSettings> {
        match settings {
            Settings::Fgsm(s) => Some(s),
            _ => None,
        }
    }

    const NEEDS: &'static [Resource] = &[Resource::Digits, Resource::TargetModel];

    fn validate(&self, _: &FgsmSettings, _: &FgsmSettings) -> std::result::Result<(), String> {
        super::unit("epsilon_budget", self.epsilon_budget)?;
        super::unit("min_success", self.min_success)
    }

    fn fields(&self) -> Vec<Field> {
        vec![EPSILON]
    }

    /// Per-learner variants: 300 of the 360 test images, drawn per instance. The reference is
    /// an ε, so it passes every instance; the artefact is the attacked images, so a copy fails.
    fn variants(&self) -> u32 {
        16
    }
    fn variant(&self, index: u32) -> Self {
        Fgsm {
            variant: index,
            ..self.clone()
        }
    }

    fn start(&self, settings: &FgsmSettings, ctx: &Context) -> Result<Start> {
        let (test, target) = (&self.images(ctx)?, ctx.target()?);
        Ok(Start::Made(Artefact::images(&fgsm(
            target,
            &test.pixels,
            &test.labels,
            settings.epsilon,
        )?)))
    }

    fn grade(&self, ctx: &Context, artefact: &Artefact) -> Result<(Grade, Details)> {
        let test = &self.images(ctx)?;
        let attacked = match artefact.pixels() {
            Ok(p) => p,
            Err(e) => return Ok((Grade::rejected(e), Details::None)),
        };
        if let Some(reason) =
            evasion::check_perturbation(&test.pixels, &attacked, self.epsilon_budget)
        {
            return Ok((Grade::rejected(reason), Details::None));
        }
        let (turned, correct) = evasion::attack_success(ctx.target()?, test, &attacked, None)?;
        let grade = evasion::success_grade(
            "attack success",
            turned,
            correct,
            self.min_success,
            "classified correctly",
        );
        Ok((grade, Details::None))
    }

    fn reproduce(
        &self,
        settings: &FgsmSettings,
        artefact: &Artefact,
        ctx: &Context,
    ) -> Result<std::result::Result<Artefact, String>> {
        let original = &self.images(ctx)?.pixels;
        Ok(evasion::within_recorded_epsilon(
            artefact,
            original,
            settings.epsilon,
        ))
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
        "fgsm-untargeted",
        |s| {
            if let Settings::Fgsm(f) = s {
                f.epsilon = 0.05;
            }
        },
        expect!["Not yet: attack success 21.0% < 90.0%: 260 of 329 originally-correct images are still classified correctly."],
    );
        check(
            "fgsm-untargeted",
            |s| {
                if let Settings::Fgsm(f) = s {
                    f.epsilon = 0.4;
                }
            },
            expect!["Rejected: image 0, pixel 0 moved by 0.4000, more than the budget ε = 0.2"],
        );
    }
}
