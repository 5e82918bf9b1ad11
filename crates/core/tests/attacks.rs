//! Saliency, FGSM and PGD against the shipped target, and adversarial training.

mod common;

use common::*;
use mlsec_core::attacks::{fgsm, input_gradient, pgd, saliency, PgdConfig};
use mlsec_core::digits::PIXELS;
use mlsec_core::kinds::Task;
use mlsec_core::mlp::Mlp;
use mlsec_core::train::{train, Adversary, TrainConfig};
use mlsec_core::Error;

const TOL: f32 = 1e-6;

fn assert_in_budget(clean: &[f32], attacked: &[f32], epsilon: f32, what: &str) {
    assert_eq!(clean.len(), attacked.len(), "{what}: length changed");
    assert!(
        attacked.iter().all(|p| (0.0..=1.0).contains(p)),
        "{what}: a pixel left [0, 1]"
    );
    let d = linf(clean, attacked);
    assert!(
        d <= epsilon + TOL,
        "{what}: L∞ distance {d} > ε = {epsilon}"
    );
}

/// Accuracy of `model` on the test split after untargeted PGD at `epsilon` (Madry step size).
fn robust_accuracy(model: &Mlp, epsilon: f32, steps: u32) -> f64 {
    let test = &digits().test;
    let attacked = pgd(
        model,
        &test.pixels,
        &test.labels,
        &PgdConfig::madry(epsilon, steps),
        None,
    )
    .unwrap();
    let predicted = model.predict(&attacked).unwrap();
    let right = predicted
        .iter()
        .zip(&test.labels)
        .filter(|(p, l)| p == l)
        .count();
    right as f64 / test.len() as f64
}

#[test]
fn fgsm_stays_within_epsilon_and_pixel_range() {
    let test = &digits().test;
    for epsilon in [0.0, 0.01, 0.05, 0.1, 0.2, 0.5, 1.0] {
        let attacked = fgsm(target(), &test.pixels, &test.labels, epsilon).unwrap();
        assert_in_budget(
            &test.pixels,
            &attacked,
            epsilon,
            &format!("FGSM ε={epsilon}"),
        );
    }
}

#[test]
fn fgsm_at_zero_epsilon_changes_nothing() {
    let test = &digits().test;
    assert_eq!(
        fgsm(target(), &test.pixels, &test.labels, 0.0).unwrap(),
        test.pixels
    );
}

#[test]
fn fgsm_moves_pixels_by_exactly_epsilon_unless_clipped() {
    let test = &digits().test;
    let epsilon = 0.1;
    let attacked = fgsm(target(), &test.pixels, &test.labels, epsilon).unwrap();
    let mut full = 0;
    for (&o, &a) in test.pixels.iter().zip(&attacked) {
        let moved = (a - o).abs();
        let clipped = a == 0.0 || a == 1.0;
        assert!(
            (moved - epsilon).abs() <= TOL || clipped || moved == 0.0,
            "pixel {o} became {a}: FGSM takes a signed step of exactly ε"
        );
        full += usize::from((moved - epsilon).abs() <= TOL);
    }
    // Most pixels are neither at the edge of the range nor without gradient.
    assert!(
        full > test.pixels.len() / 4,
        "only {full} pixels moved by ε"
    );
}

#[test]
fn fgsm_of_one_image_matches_the_batch() {
    let test = &digits().test;
    let batch = fgsm(target(), &test.pixels, &test.labels, 0.2).unwrap();
    for i in [0, 17, 123, 359] {
        let single = fgsm(target(), test.image(i), &test.labels[i..=i], 0.2).unwrap();
        assert_eq!(
            single.as_slice(),
            &batch[i * PIXELS..(i + 1) * PIXELS],
            "image {i}"
        );
    }
}

#[test]
fn fgsm_at_0_2_fools_90_percent_of_the_target() {
    let test = &digits().test;
    let attacked = fgsm(target(), &test.pixels, &test.labels, 0.2).unwrap();
    let rate = fooled_fraction(target(), &test.pixels, &test.labels, &attacked, None);
    assert!(rate >= 0.9, "FGSM ε=0.2 fooled only {rate:.3}");
    // A tenth of the budget does much less: success comes from ε, not from the call.
    let weak = fgsm(target(), &test.pixels, &test.labels, 0.02).unwrap();
    let weak_rate = fooled_fraction(target(), &test.pixels, &test.labels, &weak, None);
    assert!(
        weak_rate < rate - 0.3,
        "ε=0.02 fooled {weak_rate:.3}, ε=0.2 {rate:.3}"
    );
}

#[test]
fn pgd_stays_within_epsilon_and_pixel_range() {
    let test = &digits().test;
    let configs = [
        PgdConfig {
            epsilon: 0.1,
            step_size: 0.01,
            steps: 20,
        },
        PgdConfig {
            epsilon: 0.1,
            step_size: 0.5,
            steps: 3,
        },
        PgdConfig {
            epsilon: 0.2,
            step_size: 0.02,
            steps: 40,
        },
        PgdConfig {
            epsilon: 0.0,
            step_size: 0.1,
            steps: 5,
        },
        PgdConfig::madry(0.3, 10),
    ];
    for config in configs {
        for target_class in [None, Some(8)] {
            let attacked =
                pgd(target(), &test.pixels, &test.labels, &config, target_class).unwrap();
            assert_in_budget(
                &test.pixels,
                &attacked,
                config.epsilon,
                &format!("PGD {config:?} {target_class:?}"),
            );
        }
    }
    // Attacking never touches the model's weights.
    assert_eq!(target().to_safetensors().unwrap(), target_bytes());
}

#[test]
fn pgd_with_zero_step_size_changes_nothing() {
    let test = &digits().test;
    let config = PgdConfig {
        epsilon: 0.2,
        step_size: 0.0,
        steps: 5,
    };
    assert_eq!(
        pgd(target(), &test.pixels, &test.labels, &config, None).unwrap(),
        test.pixels
    );
}

#[test]
fn untargeted_pgd_is_at_least_as_strong_as_fgsm() {
    let test = &digits().test;
    let epsilon = 0.1;
    let f = fgsm(target(), &test.pixels, &test.labels, epsilon).unwrap();
    let p = pgd(
        target(),
        &test.pixels,
        &test.labels,
        &PgdConfig::madry(epsilon, 20),
        None,
    )
    .unwrap();
    let f_rate = fooled_fraction(target(), &test.pixels, &test.labels, &f, None);
    let p_rate = fooled_fraction(target(), &test.pixels, &test.labels, &p, None);
    assert!(
        p_rate >= f_rate,
        "PGD-20 fooled {p_rate:.3}, FGSM {f_rate:.3}"
    );
    assert!(p_rate > 0.5, "PGD-20 at ε=0.1 fooled only {p_rate:.3}");
}

#[test]
fn targeted_pgd_turns_3s_into_8s() {
    let (_, threes) = digits().test.of_class(3);
    let config = PgdConfig {
        epsilon: 0.2,
        step_size: 0.02,
        steps: 40,
    };
    let attacked = pgd(target(), &threes.pixels, &threes.labels, &config, Some(8)).unwrap();
    assert_in_budget(&threes.pixels, &attacked, 0.2, "PGD 3→8");
    let rate = fooled_fraction(target(), &threes.pixels, &threes.labels, &attacked, Some(8));
    assert!(rate >= 0.8, "targeted PGD 3→8 succeeded on only {rate:.3}");
    // Untargeted PGD with the same budget rarely lands on 8 by chance: the target steers.
    let untargeted = pgd(target(), &threes.pixels, &threes.labels, &config, None).unwrap();
    let by_chance = fooled_fraction(
        target(),
        &threes.pixels,
        &threes.labels,
        &untargeted,
        Some(8),
    );
    assert!(
        by_chance < rate,
        "untargeted reached 8 on {by_chance:.3}, targeted {rate:.3}"
    );
}

#[test]
fn saliency_is_64_values_in_unit_range_with_max_one() {
    let test = &digits().test;
    for i in [0, 5, 200, 359] {
        let s = saliency(target(), test.image(i), test.labels[i]).unwrap();
        assert_eq!(s.len(), PIXELS);
        assert!(
            s.iter().all(|v| (0.0..=1.0).contains(v)),
            "image {i}: {s:?}"
        );
        assert_eq!(s.iter().copied().fold(f32::MIN, f32::max), 1.0, "image {i}");
        assert!(
            s.iter().filter(|v| **v > 0.0).count() > 1,
            "image {i}: a single salient pixel"
        );
        // It is |∂L/∂x| scaled so the largest is 1.
        let g = input_gradient(target(), test.image(i), &test.labels[i..=i]).unwrap();
        let max = g.iter().fold(0f32, |m, v| m.max(v.abs()));
        for (p, (sv, gv)) in s.iter().zip(&g).enumerate() {
            assert!((sv - gv.abs() / max).abs() < 1e-6, "image {i}, pixel {p}");
        }
    }
    // Saliency depends on the label it explains.
    let i = 0;
    let other = (test.labels[i] + 1) % 10;
    assert_ne!(
        saliency(target(), test.image(i), test.labels[i]).unwrap(),
        saliency(target(), test.image(i), other).unwrap()
    );
}

#[test]
fn bad_epsilon_and_pgd_settings_are_refused() {
    let test = &digits().test;
    for epsilon in [f32::NAN, f32::INFINITY, -0.1, 1.5] {
        match fgsm(target(), &test.pixels, &test.labels, epsilon) {
            Err(Error::InvalidInput(msg)) => assert!(msg.contains('ε'), "{msg}"),
            other => panic!("FGSM ε={epsilon} not refused: {:?}", other.map(|v| v.len())),
        }
        let config = PgdConfig {
            epsilon,
            step_size: 0.01,
            steps: 5,
        };
        assert!(
            matches!(
                pgd(target(), &test.pixels, &test.labels, &config, None),
                Err(Error::InvalidInput(_))
            ),
            "PGD ε={epsilon} not refused"
        );
    }
    for config in [
        PgdConfig {
            epsilon: 0.1,
            step_size: f32::NAN,
            steps: 5,
        },
        PgdConfig {
            epsilon: 0.1,
            step_size: -0.01,
            steps: 5,
        },
        PgdConfig {
            epsilon: 0.1,
            step_size: 1.5,
            steps: 5,
        },
        PgdConfig {
            epsilon: 0.1,
            step_size: 0.01,
            steps: 0,
        },
        PgdConfig {
            epsilon: 0.1,
            step_size: 0.01,
            steps: 501,
        },
    ] {
        assert!(config.validate().is_err(), "{config:?} accepted");
        assert!(
            matches!(
                pgd(target(), &test.pixels, &test.labels, &config, Some(3)),
                Err(Error::InvalidInput(_))
            ),
            "{config:?} accepted by pgd"
        );
    }
    assert!(PgdConfig::madry(0.1, 20).validate().is_ok());
    assert!((PgdConfig::madry(0.1, 20).step_size - 0.0125).abs() < 1e-7);
}

#[test]
fn inactive_adversary_is_plain_training() {
    let config = TrainConfig {
        epochs: 2,
        learning_rate: 0.01,
        batch_size: 32,
        seed: 5,
    };
    let plain = train(digits(), config.clone(), None, |_| true)
        .unwrap()
        .0
        .to_safetensors()
        .unwrap();
    for adversary in [
        Adversary {
            epsilon: 0.0,
            steps: 5,
        },
        Adversary {
            epsilon: 0.1,
            steps: 0,
        },
    ] {
        let m = train(digits(), config.clone(), Some(adversary), |_| true)
            .unwrap()
            .0;
        assert!(
            m.to_safetensors().unwrap() == plain,
            "{adversary:?} changed training"
        );
    }
    let active = train(
        digits(),
        config,
        Some(Adversary {
            epsilon: 0.1,
            steps: 2,
        }),
        |_| true,
    )
    .unwrap()
    .0;
    assert!(
        active.to_safetensors().unwrap() != plain,
        "an active adversary changed nothing"
    );
}

#[test]
fn adversarial_training_beats_plain_training_in_robust_accuracy() {
    let ex = exercise("adv-train-robust");
    let Task::AdversarialTraining(posed) = &ex.task else {
        panic!("adv-train-robust is not an adversarial-training exercise");
    };
    let (epsilon, min_clean_accuracy) = (&posed.task.epsilon, &posed.task.min_clean_accuracy);
    let (solution, starter) = (&posed.solution, &posed.starter);
    // The lesson's comparison: same recipe, attack switched off in the starter.
    assert!(solution.train_epsilon > 0.0 && solution.train_steps > 0);
    assert!(starter.train_epsilon == 0.0 || starter.train_steps == 0);

    let robust_model = model_of(artefact("adv-train-robust", Which::Solution));
    let plain_model = model_of(artefact("adv-train-robust", Which::Starter));
    let robust = robust_accuracy(&robust_model, *epsilon, 20);
    let plain = robust_accuracy(&plain_model, *epsilon, 20);
    assert!(
        robust > plain + 0.2,
        "adversarial training: robust accuracy {robust:.3}, plain {plain:.3}"
    );
    let clean = robust_model.accuracy(&digits().test).unwrap();
    assert!(
        clean >= *min_clean_accuracy,
        "adversarially trained clean accuracy {clean}"
    );
    // The shipped (plain) target is no more robust than the plain starter model suggests.
    assert!(robust_accuracy(target(), *epsilon, 20) < robust);
}
