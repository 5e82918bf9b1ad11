//! Track A: the pixel attack by hand. The learner paints at most `max_pixels` pixels of one test
//! image so that the shipped target model misreads it.
//!
//! No per-learner variant in a workshop: the reference is a list of pixel edits made for this one
//! image, so another image would need its own reference; a copy shows in the class view.

use super::{ExerciseKind, Start};
use crate::digits::{PIXELS, TEST_ROWS};
use crate::exercise::{Artefact, Context, Details, Settings};
use crate::grade::{threshold, Figure, Grade, Unit};
use crate::resources::Resource;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PixelAttack {
    pub image_index: u32,
    pub max_pixels: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PixelEdit {
    pub pixel: u32,
    pub value: f32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PixelEdits {
    pub edits: Vec<PixelEdit>,
}

/// `image` with the learner's pixel edits applied (values clamped to [0, 1]).
pub fn apply_edits(image: &[f32], edits: &[PixelEdit]) -> Result<Vec<f32>> {
    let mut image = image.to_vec();
    for edit in edits {
        let slot = image.get_mut(edit.pixel as usize).ok_or_else(|| {
            Error::InvalidInput(format!("pixel {} does not exist (0–63)", edit.pixel))
        })?;
        if !edit.value.is_finite() {
            return Err(Error::InvalidInput(format!(
                "pixel {} was given {}",
                edit.pixel, edit.value
            )));
        }
        *slot = edit.value.clamp(0.0, 1.0);
    }
    Ok(image)
}

/// Which pixels of `image` differ from `original`: what the grader counts against
/// `max_pixels`, and what the page outlines and counts.
pub fn changed(original: &[f32], image: &[f32]) -> Vec<bool> {
    original
        .iter()
        .zip(image)
        .map(|(o, a)| (o - a).abs() > 1e-6)
        .collect()
}

impl ExerciseKind for PixelAttack {
    type Settings = PixelEdits;

    fn wrap(settings: PixelEdits) -> Settings {
        Settings::Pixels(settings)
    }
    fn unwrap(settings: &Settings) -> Option<&PixelEdits> {
        match settings {
            Settings::Pixels(p) => Some(p),
            _ => None,
        }
    }

    const NEEDS: &'static [Resource] = &[Resource::Digits, Resource::TargetModel];

    fn validate(&self, _: &PixelEdits, _: &PixelEdits) -> std::result::Result<(), String> {
        if self.image_index as usize >= TEST_ROWS {
            return Err(format!("image_index must be below {TEST_ROWS}"));
        }
        if self.max_pixels == 0 || self.max_pixels as usize > PIXELS {
            return Err("max_pixels must be 1–64".into());
        }
        Ok(())
    }

    /// The painter's edits in pixel order, one per pixel (a later edit of a pixel wins).
    fn settings_from(
        &self,
        edited: &PixelEdits,
        _: &BTreeMap<String, String>,
    ) -> std::result::Result<PixelEdits, String> {
        let by_pixel: BTreeMap<u32, f32> =
            edited.edits.iter().map(|e| (e.pixel, e.value)).collect();
        Ok(PixelEdits {
            edits: by_pixel
                .into_iter()
                .map(|(pixel, value)| PixelEdit { pixel, value })
                .collect(),
        })
    }

    fn start(&self, edits: &PixelEdits, ctx: &Context) -> Result<Start> {
        let original = ctx.digits()?.test.image(self.image_index as usize);
        Ok(Start::Made(Artefact::images(&apply_edits(
            original,
            &edits.edits,
        )?)))
    }

    fn grade(&self, ctx: &Context, artefact: &Artefact) -> Result<(Grade, Details)> {
        let rejected = |why: String| Ok((Grade::rejected(why), Details::None));
        let test = &ctx.digits()?.test;
        let original = test.image(self.image_index as usize);
        let label = test.labels[self.image_index as usize];
        let image = match artefact.pixels() {
            Ok(p) if p.len() == PIXELS => p,
            Ok(p) => return rejected(format!("expected one 8×8 image, got {} values", p.len())),
            Err(e) => return rejected(e),
        };
        if let Some(bad) = image
            .iter()
            .position(|v| !v.is_finite() || !(0.0..=1.0).contains(v))
        {
            return rejected(format!("pixel {bad} is {}, outside [0, 1]", image[bad]));
        }
        let changed = changed(original, &image).into_iter().filter(|c| *c).count();
        let predicted = ctx.target()?.predict(&image)?[0];
        let detail = if predicted == label {
            format!("the model still reads this {label} as a {predicted}")
        } else {
            format!("the model now reads this {label} as a {predicted}")
        };
        let grade = Grade::from_figures(
            vec![
                Figure::at_least(
                    "misclassified",
                    f64::from(u8::from(predicted != label)),
                    1.0,
                    Unit::Count,
                ),
                Figure::at_most(
                    "pixels changed",
                    changed as f64,
                    threshold(self.max_pixels as f32),
                    Unit::Count,
                ),
            ],
            &detail,
        );
        Ok((grade, Details::None))
    }

    fn reproduce(
        &self,
        edits: &PixelEdits,
        artefact: &Artefact,
        ctx: &Context,
    ) -> Result<std::result::Result<Artefact, String>> {
        let original = ctx.digits()?.test.image(self.image_index as usize);
        Ok(match apply_edits(original, &edits.edits) {
            Ok(image) if Artefact::images(&image) == *artefact => Ok(artefact.clone()),
            Ok(_) => Err("its image is not the test image with its recorded pixel edits".into()),
            Err(e) => Err(format!("its settings cannot be run: {e}")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exercise::Settings;
    use crate::kinds::testing::check;
    use expect_test::expect;

    /// What a learner is told for typical edits of the reference settings (snapshots).
    #[test]
    fn what_a_learner_is_told() {
        check(
        "pixel-attack-by-hand",
        |s| {
            if let Settings::Pixels(p) = s {
                p.edits.clear();
            }
        },
        expect!["Not yet: misclassified 0 < 1; pixels changed 0 ≤ 4: the model still reads this 2 as a 2."],
    );
        check(
            "pixel-attack-by-hand",
            |s| {
                if let Settings::Pixels(p) = s {
                    p.edits[0].pixel = 64;
                }
            },
            expect!["refused: invalid setting: pixel 64 does not exist (0–63)"],
        );
    }

    /// The painter's edits reach the worker in pixel order, one per pixel, the last one winning,
    /// and the page's outline counts what the grader counts.
    #[test]
    fn edits_are_put_in_pixel_order_and_counted_as_the_grader_counts() {
        let task = PixelAttack {
            image_index: 0,
            max_pixels: 4,
        };
        let edit = |pixel, value| PixelEdit { pixel, value };
        let typed = PixelEdits {
            edits: vec![edit(9, 1.0), edit(3, 0.5), edit(9, 0.0)],
        };
        let sent = task.settings_from(&typed, &BTreeMap::new()).unwrap();
        assert_eq!(sent.edits, vec![edit(3, 0.5), edit(9, 0.0)]);
        let original = [0.0, 0.5, 1.0];
        assert_eq!(
            changed(&original, &[0.0, 0.5 + 1e-7, 0.0]),
            [false, false, true]
        );
    }
}
