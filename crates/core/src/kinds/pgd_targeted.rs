//! Track A: targeted PGD (Madry et al. 2018). The learner tunes ε, step size and steps to turn
//! every test image of `source_class` into `target_class` within the lesson's ε budget.
//!
//! No per-learner variant in a workshop: the task is a pair of classes, which the lesson's text is
//! about; a copy of the attacked images shows in the class view.

use super::{evasion, ExerciseKind, Start};
use crate::attacks::{pgd, PgdConfig};
use crate::exercise::{Artefact, Context, Details, Settings};
use crate::fields::{field, Field, Number, EPSILON, U32};
use crate::grade::Grade;
use crate::resources::Resource;
use crate::Result;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PgdTargeted {
    pub source_class: u8,
    pub target_class: u8,
    pub epsilon_budget: f32,
    pub min_success: f32,
}

impl ExerciseKind for PgdTargeted {
    type Settings = PgdConfig;

    fn wrap(settings: PgdConfig) -> Settings {
        Settings::Pgd(settings)
    }
    fn unwrap(settings: &Settings) -> Option<&PgdConfig> {
        match settings {
            Settings::Pgd(c) => Some(c),
            _ => None,
        }
    }

    const NEEDS: &'static [Resource] = &[Resource::Digits, Resource::TargetModel];

    fn validate(&self, _: &PgdConfig, _: &PgdConfig) -> std::result::Result<(), String> {
        if self.source_class > 9 || self.target_class > 9 || self.source_class == self.target_class
        {
            return Err("source_class and target_class must be two different digits 0–9".into());
        }
        super::unit("epsilon_budget", self.epsilon_budget)?;
        super::unit("min_success", self.min_success)
    }

    fn fields(&self) -> Vec<Field> {
        vec![
            EPSILON,
            field("step_size", "Step size α", Number::Real32),
            field("steps", "Steps", U32),
        ]
    }

    fn start(&self, config: &PgdConfig, ctx: &Context) -> Result<Start> {
        let (test, target) = (&ctx.digits()?.test, ctx.target()?);
        let (_, source) = test.of_class(self.source_class);
        Ok(Start::Made(Artefact::images(&pgd(
            target,
            &source.pixels,
            &source.labels,
            config,
            Some(self.target_class),
        )?)))
    }

    fn grade(&self, ctx: &Context, artefact: &Artefact) -> Result<(Grade, Details)> {
        let (_, source) = ctx.digits()?.test.of_class(self.source_class);
        let attacked = match artefact.pixels() {
            Ok(p) => p,
            Err(e) => return Ok((Grade::rejected(e), Details::None)),
        };
        if let Some(reason) =
            evasion::check_perturbation(&source.pixels, &attacked, self.epsilon_budget)
        {
            return Ok((Grade::rejected(reason), Details::None));
        }
        let (source_class, target_class) = (self.source_class, self.target_class);
        let (turned, correct) =
            evasion::attack_success(ctx.target()?, &source, &attacked, Some(target_class))?;
        let grade = evasion::success_grade(
            &format!("targeted success ({source_class}→{target_class})"),
            turned,
            correct,
            self.min_success,
            &format!("read as something other than {target_class}"),
        );
        Ok((grade, Details::None))
    }

    fn reproduce(
        &self,
        config: &PgdConfig,
        artefact: &Artefact,
        ctx: &Context,
    ) -> Result<std::result::Result<Artefact, String>> {
        let (_, source) = ctx.digits()?.test.of_class(self.source_class);
        Ok(evasion::within_recorded_epsilon(
            artefact,
            &source.pixels,
            config.epsilon,
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
        "pgd-3-to-8",
        |s| {
            if let Settings::Pgd(c) = s {
                c.steps = 1;
                c.step_size = 0.01;
            }
        },
        expect!["Not yet: targeted success (3→8) 3.7% < 80.0%: 26 of 27 originally-correct images are still read as something other than 8."],
    );
        check(
            "pgd-3-to-8",
            |s| {
                if let Settings::Pgd(c) = s {
                    c.steps = 0;
                }
            },
            expect!["refused: invalid setting: steps must be 1–500, got 0"],
        );
    }
}
