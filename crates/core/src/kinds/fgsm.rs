//! Track A: FGSM (Goodfellow et al. 2015), untargeted, over the whole test split. The learner
//! chooses ε within the lesson's budget; the grader measures how many originally-correct test
//! images the attack turns.

use super::{evasion, ExerciseKind, Start};
use crate::attacks::fgsm;
use crate::exercise::{Artefact, Context, Details, Settings};
use crate::fields::{Field, EPSILON};
use crate::grade::Grade;
use crate::resources::Resource;
use crate::Result;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fgsm {
    pub epsilon_budget: f32,
    pub min_success: f32,
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

    fn needs(&self) -> &'static [Resource] {
        &[Resource::Digits, Resource::TargetModel]
    }

    fn validate(&self, _: &FgsmSettings, _: &FgsmSettings) -> std::result::Result<(), String> {
        super::unit("epsilon_budget", self.epsilon_budget)?;
        super::unit("min_success", self.min_success)
    }

    fn fields(&self) -> Vec<Field> {
        vec![EPSILON]
    }

    fn start(&self, settings: &FgsmSettings, ctx: &Context) -> Result<Start> {
        let (test, target) = (&ctx.digits()?.test, ctx.target()?);
        Ok(Start::Made(Artefact::images(&fgsm(
            target,
            &test.pixels,
            &test.labels,
            settings.epsilon,
        )?)))
    }

    fn grade(&self, ctx: &Context, artefact: &Artefact) -> Result<(Grade, Details)> {
        let test = &ctx.digits()?.test;
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
        let original = &ctx.digits()?.test.pixels;
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
