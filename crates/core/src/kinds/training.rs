//! What the two training kinds (Track 0's first model, adversarial training) share: how a
//! receipt's trained weights are checked against a re-run of its settings.

use crate::exercise::Artefact;
use crate::train::Trainer;
use crate::{Error, Result};

/// How far (relative L2 over all parameters, [`Mlp::relative_distance`]) a receipt's trained
/// weights may lie from the grader's own re-run of the receipt's settings. The re-run, not the
/// upload, is graded; this only catches weights that another recipe made. Measured: the same
/// settings trained in Chromium and natively lie 4e-7 apart for plain training and 2.1% apart
/// for adversarial training (PGD's sign steps amplify the rounding differences of fused
/// multiply-adds); another seed lands at 139–147%, another exercise's model at 113%, a 10% change
/// of learning rate at 28–38%, of the training ε at 26%.
///
/// [`Mlp::relative_distance`]: crate::mlp::Mlp::relative_distance
pub const RETRAIN_TOLERANCE: f64 = 0.15;

/// Re-trains a receipt's settings (deterministic, seconds) and returns that model to be graded,
/// never the uploaded weights, which must still be the same model up to rounding. `trainer` is
/// the kind's trainer for the recorded settings.
pub(crate) fn reproduce(
    trainer: Result<Trainer>,
    artefact: &Artefact,
) -> Result<std::result::Result<Artefact, String>> {
    let cannot_run = |why: String| Ok(Err(format!("its settings cannot be run: {why}")));
    let mut trainer = match trainer {
        Ok(t) => t,
        Err(Error::InvalidInput(why)) => return cannot_run(why),
        Err(e) => return Err(e),
    };
    let uploaded = match artefact.model() {
        Ok(m) => m,
        Err(why) => return Ok(Err(why)),
    };
    while !trainer.finished() {
        match trainer.run_epoch() {
            Ok(_) => {}
            Err(Error::InvalidInput(why)) => return cannot_run(why),
            Err(e) => return Err(e),
        }
    }
    let distance = uploaded.relative_distance(trainer.model())?;
    if !(distance <= RETRAIN_TOLERANCE) {
        return Ok(Err(format!(
            "its weights were not trained with its settings: they lie {:.0}% away from \
             the model those settings train (at most {:.0}% is rounding)",
            distance * 100.0,
            RETRAIN_TOLERANCE * 100.0
        )));
    }
    Ok(Ok(Artefact::weights(trainer.model())?))
}
