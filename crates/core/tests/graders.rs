//! The graders: every shipped exercise's starter fails and its reference solution passes, and
//! each grader re-checks the artefact itself, refusing anything that breaks the rules.

mod common;

use common::*;
use mlsec_core::digits::PIXELS;
use mlsec_core::exercise::{Artefact, Base64, Settings};
use mlsec_core::grade::{Grade, Unit};
use mlsec_core::kinds::evasion::EPSILON_SLACK;
use mlsec_core::kinds::fgsm::FgsmSettings;
use mlsec_core::kinds::pixel_attack::{PixelEdit, PixelEdits};
use mlsec_core::kinds::Start;
use mlsec_core::kinds::Task;
use mlsec_core::train::TrainConfig;
use mlsec_core::Error;

fn grade(id: &str, artefact: &Artefact) -> Grade {
    exercise(id).task.engine().grade(&ctx(), artefact).unwrap()
}

fn assert_rejected(grade: &Grade, mentions: &str) {
    assert!(!grade.passed, "passed: {grade:?}");
    assert!(
        grade.figures.is_empty(),
        "a rejection carries no figures: {grade:?}"
    );
    assert!(grade.message.starts_with("Rejected: "), "{}", grade.message);
    assert!(
        grade.message.contains(mentions),
        "'{mentions}' not in: {}",
        grade.message
    );
}

fn assert_not_rejected(grade: &Grade) {
    assert!(!grade.message.starts_with("Rejected"), "{}", grade.message);
    assert!(!grade.figures.is_empty());
}

fn starter_fails_and_solution_passes(id: &str) {
    let ex = exercise(id);
    ex.task.validate().unwrap_or_else(|e| panic!("{id}: {e}"));
    let starter = grade(id, artefact(id, Which::Starter));
    assert!(
        !starter.passed,
        "{id}: the starter passes: {}",
        starter.message
    );
    assert!(
        starter.message.starts_with("Not yet"),
        "{id}: {}",
        starter.message
    );
    assert!(
        starter.figures.iter().any(|f| !f.met()),
        "{id}: every figure met, yet failed"
    );
    let solution = grade(id, artefact(id, Which::Solution));
    assert!(
        solution.passed,
        "{id}: the reference solution fails: {}",
        solution.message
    );
    assert!(
        solution.message.starts_with("Passed"),
        "{id}: {}",
        solution.message
    );
    assert!(
        solution.figures.iter().all(|f| f.met()),
        "{id}: {solution:?}"
    );
}

#[test]
fn every_exercise_starter_fails_and_solution_passes() {
    let all = exercises();
    assert!(all.len() >= 5, "only {} exercises loaded", all.len());
    for ex in all {
        starter_fails_and_solution_passes(&ex.id);
    }
}

// The same check per shipped exercise, so a failure names its exercise (and they run in
// parallel; the artefacts are shared with the test above).
#[test]
fn train_digits_starter_fails_solution_passes() {
    starter_fails_and_solution_passes("train-digits");
}
#[test]
fn pixel_attack_starter_fails_solution_passes() {
    starter_fails_and_solution_passes("pixel-attack-by-hand");
}
#[test]
fn fgsm_starter_fails_solution_passes() {
    starter_fails_and_solution_passes("fgsm-untargeted");
}
#[test]
fn pgd_starter_fails_solution_passes() {
    starter_fails_and_solution_passes("pgd-3-to-8");
}
#[test]
fn adversarial_training_starter_fails_solution_passes() {
    starter_fails_and_solution_passes("adv-train-robust");
}

#[test]
fn the_train_exercise_reference_is_the_lessons_reference_config() {
    assert_eq!(
        exercise("train-digits").task.solution(),
        Settings::Train(TrainConfig {
            epochs: 20,
            learning_rate: 0.01,
            batch_size: 32,
            seed: 2
        })
    );
}

// ---------------------------------------------------------------- FGSM grader

fn fgsm_budget() -> f32 {
    match &exercise("fgsm-untargeted").task {
        Task::Fgsm(p) => p.task.epsilon_budget,
        other => panic!("fgsm-untargeted is {other:?}"),
    }
}

#[test]
fn fgsm_grader_measures_what_the_images_do() {
    let test = &digits().test;
    let solution = artefact("fgsm-untargeted", Which::Solution);
    let g = grade("fgsm-untargeted", solution);
    assert_eq!(g.figures.len(), 1);
    assert_eq!(g.figures[0].unit, Unit::Percent);
    let expected = fooled_fraction(
        target(),
        &test.pixels,
        &test.labels,
        &pixels_of(solution),
        None,
    );
    assert!(
        (g.figures[0].value - expected).abs() < 1e-9,
        "{} vs {expected}",
        g.figures[0].value
    );
    // The untouched test images fool nothing.
    let clean = grade("fgsm-untargeted", &Artefact::images(&test.pixels));
    assert_not_rejected(&clean);
    assert!(!clean.passed);
    assert_eq!(clean.figures[0].value, 0.0);
}

#[test]
fn fgsm_grader_rejects_a_pixel_moved_past_the_budget() {
    let eps = fgsm_budget();
    let test = &digits().test;
    // One pixel of one image, on the clean images and on the passing solution.
    let p = 10 * PIXELS + test.image(10).iter().position(|v| *v <= 0.5).unwrap();
    let mut moved = test.pixels.clone();
    moved[p] += eps + 0.01;
    let g = grade("fgsm-untargeted", &Artefact::images(&moved));
    assert_rejected(&g, "budget");
    assert!(g.message.contains("image 10"), "{}", g.message);

    let mut solution = pixels_of(artefact("fgsm-untargeted", Which::Solution));
    let q = solution.iter().position(|v| *v <= 0.5).unwrap();
    solution[q] = test.pixels[q] + eps + 0.01;
    assert_rejected(
        &grade("fgsm-untargeted", &Artefact::images(&solution)),
        "budget",
    );
    // Downwards counts too.
    let mut down = test.pixels.clone();
    let r = down.iter().position(|v| *v >= 0.5).unwrap();
    down[r] -= eps + 0.01;
    assert_rejected(
        &grade("fgsm-untargeted", &Artefact::images(&down)),
        "budget",
    );
}

#[test]
fn fgsm_grader_accepts_moves_of_exactly_the_budget() {
    let eps = fgsm_budget();
    let moved: Vec<f32> = digits()
        .test
        .pixels
        .iter()
        .map(|&v| if v + eps <= 1.0 { v + eps } else { v - eps })
        .collect();
    assert_not_rejected(&grade("fgsm-untargeted", &Artefact::images(&moved)));
    // The slack is for rounding only: half of it over the budget is fine, twice it is not.
    let mut over = digits().test.pixels.clone();
    let p = over.iter().position(|v| *v == 0.0).unwrap();
    over[p] = eps + EPSILON_SLACK / 2.0;
    assert_not_rejected(&grade("fgsm-untargeted", &Artefact::images(&over)));
    over[p] = eps + 2.0 * EPSILON_SLACK;
    assert_rejected(
        &grade("fgsm-untargeted", &Artefact::images(&over)),
        "budget",
    );
}

#[test]
fn fgsm_grader_rejects_pixels_outside_the_range() {
    let solution = pixels_of(artefact("fgsm-untargeted", Which::Solution));
    for bad in [1.5, -0.1, f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let mut images = solution.clone();
        images[200] = bad;
        let g = grade("fgsm-untargeted", &Artefact::images(&images));
        assert_rejected(&g, "outside");
        assert!(g.message.contains("pixel"), "{}", g.message);
    }
}

#[test]
fn fgsm_grader_rejects_the_wrong_number_of_images() {
    let solution = pixels_of(artefact("fgsm-untargeted", Which::Solution));
    let fewer = &solution[..solution.len() - PIXELS];
    let g = grade("fgsm-untargeted", &Artefact::images(fewer));
    assert_rejected(&g, "expected 360 images");
    let mut more = solution.clone();
    more.extend_from_slice(&solution[..PIXELS]);
    assert_rejected(
        &grade("fgsm-untargeted", &Artefact::images(&more)),
        "expected 360 images",
    );
    assert_rejected(
        &grade("fgsm-untargeted", &Artefact::images(&[])),
        "expected 360 images",
    );
    // A byte count that is not whole floats, and a model where images belong.
    let mut bytes: Vec<u8> = solution.iter().flat_map(|v| v.to_le_bytes()).collect();
    bytes.pop();
    let g = grade(
        "fgsm-untargeted",
        &Artefact::Images {
            pixels: Base64(bytes),
        },
    );
    assert!(
        !g.passed && g.message.starts_with("Rejected"),
        "{}",
        g.message
    );
    let weights = artefact("train-digits", Which::Solution);
    assert_rejected(
        &grade("fgsm-untargeted", weights),
        "expected perturbed images",
    );
}

// ---------------------------------------------------------------- PGD grader

#[test]
fn pgd_grader_checks_count_budget_and_target() {
    let solution = pixels_of(artefact("pgd-3-to-8", Which::Solution));
    let (_, threes) = digits().test.of_class(3);
    assert_eq!(solution.len(), threes.pixels.len());
    // The whole test set is not the 3s.
    let g = grade("pgd-3-to-8", &Artefact::images(&digits().test.pixels));
    assert_rejected(&g, &format!("expected {} images", threes.len()));
    let mut moved = solution.clone();
    let p = threes.pixels.iter().position(|v| *v == 0.0).unwrap();
    moved[p] = 0.2 + 0.01;
    assert_rejected(&grade("pgd-3-to-8", &Artefact::images(&moved)), "budget");
    // The untouched 3s are not 8s.
    let clean = grade("pgd-3-to-8", &Artefact::images(&threes.pixels));
    assert_not_rejected(&clean);
    assert_eq!(clean.figures[0].value, 0.0);
    // Untargeted FGSM on the 3s fools the model, but mostly not into 8s: the grader counts 8s.
    let fgsm3 = mlsec_core::attacks::fgsm(target(), &threes.pixels, &threes.labels, 0.2).unwrap();
    let g = grade("pgd-3-to-8", &Artefact::images(&fgsm3));
    let to8 = fooled_fraction(target(), &threes.pixels, &threes.labels, &fgsm3, Some(8));
    assert!((g.figures[0].value - to8).abs() < 1e-9);
}

// ---------------------------------------------------------------- pixel grader

fn pixel_task() -> (usize, u32) {
    match &exercise("pixel-attack-by-hand").task {
        Task::PixelAttack(p) => (p.task.image_index as usize, p.task.max_pixels),
        other => panic!("pixel-attack-by-hand is {other:?}"),
    }
}

/// The reference edits plus `extra` further changed pixels that keep the image misclassified.
fn solution_plus(extra: usize) -> Vec<f32> {
    let (index, _) = pixel_task();
    let label = digits().test.labels[index];
    let original = digits().test.image(index);
    let mut image = pixels_of(artefact("pixel-attack-by-hand", Which::Solution));
    let mut added = 0;
    for p in 0..PIXELS {
        if added == extra {
            break;
        }
        if image[p] != original[p] {
            continue;
        }
        let mut tried = image.clone();
        tried[p] = if original[p] > 0.5 { 0.0 } else { 1.0 };
        if target().predict(&tried).unwrap()[0] != label {
            image = tried;
            added += 1;
        }
    }
    assert_eq!(added, extra, "could not find {extra} harmless extra edits");
    image
}

fn changed(image: &[f32]) -> usize {
    let (index, _) = pixel_task();
    let original = digits().test.image(index);
    original.iter().zip(image).filter(|(o, a)| o != a).count()
}

#[test]
fn pixel_grader_rejects_more_pixels_than_allowed() {
    let (_, max) = pixel_task();
    assert_eq!(max, 4);
    let five = solution_plus(5 - changed(&solution_plus(0)));
    assert_eq!(changed(&five), 5);
    let g = grade("pixel-attack-by-hand", &Artefact::images(&five));
    assert!(!g.passed, "5 changed pixels passed: {}", g.message);
    let misclassified = g
        .figures
        .iter()
        .find(|f| f.label == "misclassified")
        .unwrap();
    let count = g
        .figures
        .iter()
        .find(|f| f.label == "pixels changed")
        .unwrap();
    assert!(misclassified.met(), "{g:?}");
    assert_eq!(count.value, 5.0);
    assert!(!count.met());
    // Exactly the maximum passes.
    let four = solution_plus(4 - changed(&solution_plus(0)));
    assert_eq!(changed(&four), 4);
    assert!(grade("pixel-attack-by-hand", &Artefact::images(&four)).passed);
}

#[test]
fn pixel_grader_counts_small_changes() {
    // Any change counts, however small: a faint 1/16 step is a changed pixel.
    let (index, _) = pixel_task();
    let mut image = digits().test.image(index).to_vec();
    let mut expected = 0;
    for p in [0, 9, 20] {
        image[p] = if image[p] >= 0.5 {
            image[p] - 1.0 / 16.0
        } else {
            image[p] + 1.0 / 16.0
        };
        expected += 1;
    }
    let g = grade("pixel-attack-by-hand", &Artefact::images(&image));
    let count = g
        .figures
        .iter()
        .find(|f| f.label == "pixels changed")
        .unwrap();
    assert_eq!(count.value, expected as f64, "{}", g.message);
}

#[test]
fn pixel_grader_rejects_bad_images() {
    let (index, _) = pixel_task();
    let mut image = digits().test.image(index).to_vec();
    image[3] = 1.5;
    assert_rejected(
        &grade("pixel-attack-by-hand", &Artefact::images(&image)),
        "outside",
    );
    image[3] = f32::NAN;
    assert_rejected(
        &grade("pixel-attack-by-hand", &Artefact::images(&image)),
        "outside",
    );
    let two = [digits().test.image(index), digits().test.image(index)].concat();
    assert_rejected(
        &grade("pixel-attack-by-hand", &Artefact::images(&two)),
        "128",
    );
    // The unedited image is not misclassified and changes nothing.
    let g = grade(
        "pixel-attack-by-hand",
        &Artefact::images(digits().test.image(index)),
    );
    assert!(!g.passed);
    assert_eq!(
        g.figures
            .iter()
            .find(|f| f.label == "pixels changed")
            .unwrap()
            .value,
        0.0
    );
}

#[test]
fn pixel_run_validates_and_clamps_edits() {
    let ex = exercise("pixel-attack-by-hand");
    let (index, _) = pixel_task();
    let run = |edits: Vec<PixelEdit>| {
        ex.task
            .engine()
            .start(&Settings::Pixels(PixelEdits { edits }), &ctx())
            .and_then(Start::artefact)
    };
    assert!(matches!(
        run(vec![PixelEdit {
            pixel: 64,
            value: 1.0
        }]),
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(
        run(vec![PixelEdit {
            pixel: 0,
            value: f32::NAN
        }]),
        Err(Error::InvalidInput(_))
    ));
    let a = run(vec![
        PixelEdit {
            pixel: 5,
            value: 7.0,
        },
        PixelEdit {
            pixel: 6,
            value: -3.0,
        },
    ])
    .unwrap();
    let image = pixels_of(&a);
    assert_eq!((image[5], image[6]), (1.0, 0.0));
    // Painting a pixel with the value it already has is not a change.
    let same = digits().test.image(index)[9];
    let a = run(vec![PixelEdit {
        pixel: 9,
        value: same,
    }])
    .unwrap();
    let g = grade("pixel-attack-by-hand", &a);
    assert_eq!(
        g.figures
            .iter()
            .find(|f| f.label == "pixels changed")
            .unwrap()
            .value,
        0.0
    );
}

// ---------------------------------------------------------------- training graders

#[test]
fn train_graders_reject_garbage_weights() {
    let garbage = Artefact::Weights {
        safetensors: Base64(b"definitely not safetensors".to_vec()),
    };
    for id in ["train-digits", "adv-train-robust"] {
        let g = grade(id, &garbage);
        assert_rejected(&g, "safetensors");
        assert_eq!(
            g,
            Grade::rejected(g.message.trim_start_matches("Rejected: ").to_string())
        );
        let images = Artefact::images(&digits().test.pixels);
        assert_rejected(&grade(id, &images), "expected trained model weights");
    }
}

#[test]
fn train_grader_measures_the_submitted_model() {
    // The shipped target, submitted as weights, is an ordinary passing model.
    let shipped = Artefact::Weights {
        safetensors: Base64(target_bytes().to_vec()),
    };
    let g = grade("train-digits", &shipped);
    assert!(g.passed, "{}", g.message);
    let accuracy = target().accuracy(&digits().test).unwrap();
    assert_eq!(g.figures[0].value, f64::from(accuracy));

    // The starter's message counts mistakes and what is missing, in whole images.
    let starter = artefact("train-digits", Which::Starter);
    let g = grade("train-digits", starter);
    let model = model_of(starter);
    let predicted = model.predict(&digits().test.pixels).unwrap();
    let right = predicted
        .iter()
        .zip(&digits().test.labels)
        .filter(|(p, l)| p == l)
        .count();
    let threshold = g.figures[0].threshold;
    let needed = (0..=360usize)
        .find(|k| f64::from((right + k) as f32 / 360.0) >= threshold)
        .unwrap();
    let expected = format!(
        "{} of 360 test images are wrong; {needed} more must be right",
        360 - right
    );
    assert!(
        g.message.contains(&expected),
        "'{expected}' not in: {}",
        g.message
    );
}

#[test]
fn settings_of_another_kind_are_refused() {
    let train = exercise("train-digits");
    let fgsm_settings = Settings::Fgsm(FgsmSettings { epsilon: 0.2 });
    match train
        .task
        .engine()
        .start(&fgsm_settings, &ctx())
        .and_then(Start::artefact)
    {
        Err(Error::InvalidInput(msg)) => assert!(msg.contains("another kind"), "{msg}"),
        other => panic!("ran FGSM settings as training: {:?}", other.map(|_| ())),
    }
    let fgsm = exercise("fgsm-untargeted");
    assert!(fgsm
        .task
        .engine()
        .start(&train.task.solution(), &ctx())
        .and_then(Start::artefact)
        .is_err());
    // And a bad setting inside the right kind is refused by the run, not graded.
    let nan = Settings::Fgsm(FgsmSettings { epsilon: f32::NAN });
    assert!(matches!(
        fgsm.task
            .engine()
            .start(&nan, &ctx())
            .and_then(Start::artefact),
        Err(Error::InvalidInput(_))
    ));
}

#[test]
fn a_stopped_training_run_is_graded_as_what_it_is() {
    let ex = exercise("train-digits");
    let mut job = common::session().start(ex, ex.task.solution()).unwrap();
    job.step().unwrap();
    let a = job.stop().unwrap().artefact;
    let g = grade("train-digits", &a);
    assert_not_rejected(&g);
    assert_ne!(&a, artefact("train-digits", Which::Solution));
}

#[test]
fn grading_is_deterministic() {
    for id in [
        "train-digits",
        "pixel-attack-by-hand",
        "fgsm-untargeted",
        "pgd-3-to-8",
        "adv-train-robust",
    ] {
        for which in [Which::Starter, Which::Solution] {
            let a = artefact(id, which);
            assert_eq!(grade(id, a), grade(id, a), "{id} {which:?}");
            // A copy through JSON (as in a receipt) grades the same.
            let copy: Artefact = serde_json::from_str(&serde_json::to_string(a).unwrap()).unwrap();
            assert_eq!(&copy, a);
            assert_eq!(grade(id, &copy), grade(id, a), "{id} {which:?} after JSON");
        }
    }
    // Running the same settings again produces the same artefact.
    let ex = exercise("train-digits");
    let again = common::session()
        .run_to_end(ex, ex.task.solution())
        .unwrap()
        .artefact;
    assert_eq!(&again, artefact("train-digits", Which::Solution));
}
