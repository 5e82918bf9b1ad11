//! What the evasion kinds that perturb whole test sets (FGSM, targeted PGD) share: the ε-budget
//! rule for submitted images, the success count, and its grade.

use crate::digits::{Images, PIXELS};
use crate::exercise::Artefact;
use crate::grade::{threshold, Figure, Grade, Unit};
use crate::mlp::Mlp;
use crate::Result;

/// L∞ slack the graders allow on top of ε, for float rounding in the projection.
pub const EPSILON_SLACK: f32 = 1e-4;

/// How an ε-budgeted set of images fails the rules, if it does.
pub(crate) fn check_perturbation(
    original: &[f32],
    attacked: &[f32],
    epsilon: f32,
) -> Option<String> {
    if original.len() != attacked.len() {
        return Some(format!(
            "expected {} images, got {}",
            original.len() / PIXELS,
            attacked.len() as f32 / PIXELS as f32
        ));
    }
    for (i, (o, a)) in original
        .chunks(PIXELS)
        .zip(attacked.chunks(PIXELS))
        .enumerate()
    {
        for (p, (&o, &a)) in o.iter().zip(a).enumerate() {
            if !a.is_finite() || !(0.0..=1.0).contains(&a) {
                return Some(format!(
                    "image {i}, pixel {p} is {a}, outside the pixel range [0, 1]"
                ));
            }
            if (a - o).abs() > epsilon + EPSILON_SLACK {
                return Some(format!(
                    "image {i}, pixel {p} moved by {:.4}, more than the budget ε = {epsilon}",
                    (a - o).abs()
                ));
            }
        }
    }
    None
}

/// For a receipt: whether its images stay within the ε its settings name (the grader itself
/// says what else is wrong with them).
pub(crate) fn within_recorded_epsilon(
    artefact: &Artefact,
    original: &[f32],
    epsilon: f32,
) -> std::result::Result<Artefact, String> {
    match artefact.pixels() {
        Ok(pixels) if pixels.len() == original.len() => {
            let moved = pixels
                .iter()
                .zip(original)
                .map(|(a, o)| (a - o).abs())
                .fold(0f32, f32::max);
            if moved <= epsilon + EPSILON_SLACK {
                Ok(artefact.clone())
            } else {
                Err(format!(
                    "its images moved by up to {moved:.4}, more than the ε = {epsilon} its settings name"
                ))
            }
        }
        _ => Ok(artefact.clone()),
    }
}

/// Among images the model got right originally, how many the attack turned (to anything else,
/// or to `target`). Returns (turned, originally correct).
pub(crate) fn attack_success(
    model: &Mlp,
    clean: &Images,
    attacked: &[f32],
    target: Option<u8>,
) -> Result<(usize, usize)> {
    let before = model.predict(&clean.pixels)?;
    let after = model.predict(attacked)?;
    let mut turned = 0;
    let mut correct = 0;
    for i in 0..clean.len() {
        if before[i] != clean.labels[i] {
            continue;
        }
        correct += 1;
        let fooled = match target {
            Some(t) => after[i] == t,
            None => after[i] != clean.labels[i],
        };
        turned += usize::from(fooled);
    }
    Ok((turned, correct))
}

/// The grade of an attack that must turn at least `min_success` of the originally correct
/// images.
pub(crate) fn success_grade(
    label: &str,
    turned: usize,
    correct: usize,
    min_success: f32,
    still: &str,
) -> Grade {
    let rate = fraction(turned, correct);
    let needed = threshold(min_success);
    let detail = if rate >= needed {
        format!("{turned} of {correct} originally-correct images fooled")
    } else {
        format!(
            "{} of {correct} originally-correct images are still {still}",
            correct - turned
        )
    };
    Grade::from_figures(
        vec![Figure::at_least(label, rate, needed, Unit::Percent)],
        &detail,
    )
}

pub(crate) fn fraction(part: usize, whole: usize) -> f64 {
    part as f64 / whole.max(1) as f64
}
