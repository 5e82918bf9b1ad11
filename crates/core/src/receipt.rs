//! Receipts: what a learner did, in a form anyone can re-grade without trusting the learner's
//! own verdict — the exercise, the grader version, hashes of the model and data it was graded
//! against, the settings and seed, and the artefact itself.

use crate::digits::DIGITS_SHA256;
use crate::exercise::{Artefact, Context, Exercise, Settings};
use crate::grade::Grade;
use crate::kinds::AnyEngine;
use crate::workshop::Instance;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

pub const FORMAT: &str = "mlsec-receipt/1";
/// A receipt holds at most the 360 test images as f32 (≈120 KB) or a tiny model; anything far
/// larger is not one.
pub const MAX_RECEIPT_BYTES: usize = 4 << 20;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    pub format: String,
    pub exercise_id: String,
    pub grader_version: u32,
    /// The model the artefact was graded against (the shipped digits target, or the assistant
    /// for Track E), or the artefact's own weights for exercises whose artefact is a trained
    /// model.
    pub model_sha256: String,
    pub data_sha256: String,
    pub seed: u64,
    pub settings: Settings,
    pub artefact: Artefact,
    /// What the learner's lab said. Shown beside the re-grade, never trusted.
    pub claimed: Grade,
    /// In a workshop: whose instance of the exercise the artefact answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<Instance>,
}

impl Receipt {
    pub fn new(
        exercise: &Exercise,
        target_sha256: &str,
        settings: Settings,
        artefact: Artefact,
        grade: Grade,
    ) -> Self {
        Receipt {
            format: FORMAT.into(),
            exercise_id: exercise.id.clone(),
            grader_version: exercise.task.grader_version(),
            model_sha256: graded_model(exercise, &artefact, target_sha256),
            data_sha256: graded_data(exercise).into(),
            seed: exercise.task.seed(&settings),
            settings,
            artefact,
            claimed: grade,
            variant: exercise.instance.clone(),
        }
    }

    pub fn parse(text: &str) -> Result<Self> {
        if text.len() > MAX_RECEIPT_BYTES {
            return Err(Error::Receipt(format!(
                "{} bytes is too large for a receipt",
                text.len()
            )));
        }
        let receipt: Receipt = crate::from_json(text)
            .map_err(|e| Error::Receipt(format!("not a MLSec Lab receipt ({e})")))?;
        if receipt.format != FORMAT {
            return Err(Error::Receipt(format!(
                "format '{}' is not '{FORMAT}'",
                receipt.format
            )));
        }
        Ok(receipt)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("receipts always serialise")
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Re-graded and passed; the claim agrees.
    Pass(Grade),
    /// Re-graded and failed (whatever the claim said, it is not a pass).
    Fail(Grade),
    /// The receipt contradicts itself or the lab: a claimed pass that does not re-grade as one,
    /// or hashes that do not match what the lab ships.
    Forged(String),
}

impl Verdict {
    pub fn passed(&self) -> bool {
        matches!(self, Verdict::Pass(_))
    }
}

/// Re-grades a receipt against the lab's own exercise, data and target model. `target_sha256`
/// is the hash of the shipped target model bytes. A receipt whose artefact is a trained model is
/// graded on the model its recorded settings train here ([`Task::reproduce`]), so handing in
/// weights the learner did not train (the lab's own target, another exercise's model) fails.
///
/// [`Task::reproduce`]: crate::kinds::ExerciseKind::reproduce
pub fn regrade(
    receipt: &Receipt,
    exercise: &Exercise,
    ctx: &Context,
    target_sha256: &str,
) -> Result<Verdict> {
    regrade_by(
        exercise.task.engine(),
        receipt,
        exercise,
        ctx,
        target_sha256,
    )
}

/// [`regrade`] with the exercise's engine as a session that serves it hands it out
/// ([`crate::kinds::Task::engine_in`]), so that a Web Worker links only its own kinds.
pub(crate) fn regrade_by(
    engine: &dyn AnyEngine,
    receipt: &Receipt,
    exercise: &Exercise,
    ctx: &Context,
    target_sha256: &str,
) -> Result<Verdict> {
    if receipt.exercise_id != exercise.id {
        return Err(Error::Receipt(format!(
            "receipt is for '{}', not '{}'",
            receipt.exercise_id, exercise.id
        )));
    }
    // Rules that changed cannot re-judge a grade made by the old ones, in either direction:
    // the receipt is neither a pass nor a forgery here, and its learner should run it again.
    let version = exercise.task.grader_version();
    if receipt.grader_version != version {
        return Err(Error::Receipt(format!(
            "graded by grader version {}, and this lab grades '{}' by version {version}, so it \
             cannot be re-graded here; run the exercise again to get a receipt for this version",
            receipt.grader_version, exercise.id
        )));
    }
    if receipt.variant != exercise.instance {
        return Ok(Verdict::Forged(instance_mismatch(
            receipt.variant.as_ref(),
            exercise.instance.as_ref(),
        )));
    }
    if receipt.data_sha256 != graded_data(exercise) {
        return Ok(Verdict::Forged(
            "the data hash is not the hash of the data set the exercise is graded on".into(),
        ));
    }
    let expected_model = graded_model(exercise, &receipt.artefact, target_sha256);
    if receipt.model_sha256 != expected_model {
        return Ok(Verdict::Forged(format!(
            "the model hash {} does not match the model graded ({}): the receipt was made \
             against another version of the lab's model (retrained since), or altered; run the \
             exercise again to get a receipt for this version",
            short(&receipt.model_sha256),
            short(&expected_model)
        )));
    }
    let graded = match engine.reproduce(&receipt.settings, &receipt.artefact, ctx)? {
        Ok(artefact) => artefact,
        Err(why) => return Ok(Verdict::Forged(why)),
    };
    let mut grade = engine.grade(ctx, &graded)?;
    Ok(match (grade.passed, receipt.claimed.passed) {
        (true, _) => Verdict::Pass(grade),
        // A model re-trained here differs from the browser's in rounding, so a claim that
        // really passed, with figures within rounding of the re-grade, is a borderline result,
        // not a forgery.
        (false, true) if exercise.task.trains() && within_rounding(&receipt.claimed, &grade) => {
            grade.message.push_str(
                " (The learner's browser measured a pass within rounding of this: a borderline \
                 result, not a forgery.)",
            );
            Verdict::Fail(grade)
        }
        (false, true) => Verdict::Forged(format!(
            "claims a pass, but re-grading says: {}",
            grade.message
        )),
        (false, false) => Verdict::Fail(grade),
    })
}

/// How far a claimed figure of a trained model may lie from the re-grade's and still be the
/// same training run measured on other float kernels: a few test images.
pub const CLAIM_ROUNDING: f64 = 0.03;

/// Whether `claimed` is a real pass whose figures lie within [`CLAIM_ROUNDING`] of `regraded`'s.
fn within_rounding(claimed: &Grade, regraded: &Grade) -> bool {
    claimed.figures.len() == regraded.figures.len()
        && claimed.figures.iter().all(|f| f.met())
        && claimed
            .figures
            .iter()
            .zip(&regraded.figures)
            .all(|(c, r)| c.label == r.label && (c.value - r.value).abs() <= CLAIM_ROUNDING)
}

/// The hash of the model an artefact is graded as or against: the artefact's own weights, the
/// task's assistant model (Track E), or the shipped digits target.
fn graded_model(exercise: &Exercise, artefact: &Artefact, target_sha256: &str) -> String {
    artefact
        .model_sha256()
        .or_else(|| exercise.task.graded_model_sha256())
        .unwrap_or_else(|| target_sha256.to_string())
}

/// The hash of the data set an exercise is graded on: the first data set its kind needs (Track
/// E's kinds need none, and their receipts have always named the digits).
fn graded_data(exercise: &Exercise) -> &'static str {
    exercise
        .task
        .needs()
        .iter()
        .find(|r| r.is_data_set())
        .map_or(DIGITS_SHA256, |r| r.sha256())
}

/// Why a receipt made for one instance cannot count for another: another learner's, another
/// workshop's, or one made outside any workshop.
pub(crate) fn instance_mismatch(made: Option<&Instance>, graded: Option<&Instance>) -> String {
    // Names hold no control characters (`workshop::learner_name`), and are shown as text.
    let name = |i: &Instance| i.learner.clone();
    match (made, graded) {
        (None, Some(g)) => format!(
            "it was made outside the workshop, not in {}'s instance of the exercise",
            name(g)
        ),
        (Some(m), None) => format!(
            "it was made in workshop {} for {}, and is graded here outside any workshop",
            m.workshop,
            name(m)
        ),
        (Some(m), Some(g)) if m.workshop != g.workshop => format!(
            "it was made in another workshop ({}), not this one ({})",
            m.workshop, g.workshop
        ),
        (Some(m), Some(g)) if m.learner != g.learner => format!(
            "it was made for {}'s instance of the exercise, not {}'s",
            name(m),
            name(g)
        ),
        (Some(m), Some(g)) => format!(
            "it names variant {} of the exercise, but {}'s variant is {}",
            m.index,
            name(g),
            g.index
        ),
        (None, None) => unreachable!("only called when the two differ"),
    }
}

fn short(hash: &str) -> String {
    hash.chars().take(12).collect()
}
