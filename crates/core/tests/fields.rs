//! The settings fields: what a learner types becomes settings, or a message that echoes it and
//! states the real limit.

mod common;

use common::exercise;
use mlsec_core::exercise::Settings;
use std::collections::BTreeMap;

fn drafts_with(id: &str, key: &str, text: &str) -> BTreeMap<String, String> {
    let task = &exercise(id).task;
    let mut drafts = task.drafts(&task.starter());
    drafts.insert(key.into(), text.into());
    drafts
}

fn refused(id: &str, key: &str, text: &str) -> String {
    let task = &exercise(id).task;
    match task.settings_from(&task.starter(), &drafts_with(id, key, text)) {
        Err(message) => message,
        Ok(s) => panic!("{key} = {text:?} was accepted: {s:?}"),
    }
}

#[test]
fn every_fielded_exercise_round_trips_its_starter_and_solution() {
    for ex in common::exercises() {
        if ex.task.fields().is_empty() {
            continue;
        }
        for settings in [ex.task.starter(), ex.task.solution()] {
            let back = ex
                .task
                .settings_from(&settings, &ex.task.drafts(&settings))
                .unwrap();
            assert_eq!(back, settings, "{}", ex.id);
        }
    }
}

#[test]
fn f32_numbers_are_shown_as_written() {
    let task = &exercise("pgd-3-to-8").task;
    let drafts = task.drafts(&task.solution());
    for key in ["epsilon", "step_size"] {
        assert!(drafts[key].len() < 8, "{key} shown as {}", drafts[key]);
    }
}

#[test]
fn a_seed_above_u32_is_a_seed() {
    let big = "4294967296";
    match train_digits(&drafts_with("train-digits", "seed", big)) {
        Ok(Settings::Train(c)) => assert_eq!(c.seed, 4_294_967_296),
        other => panic!("{other:?}"),
    }
    let max = u64::MAX.to_string();
    assert!(train_digits(&drafts_with("train-digits", "seed", &max)).is_ok());
    // One past the largest seed states the real limit.
    let msg = refused("train-digits", "seed", "18446744073709551616");
    assert!(msg.contains("from 0 to 18446744073709551615"), "{msg}");
}

#[test]
fn whole_number_fields_state_their_real_limit() {
    let msg = refused("train-digits", "epochs", "4294967296");
    assert!(
        msg.starts_with("Epochs: '4294967296'") && msg.contains("from 0 to 4294967295"),
        "{msg}"
    );
    for text in ["-1", "2.5"] {
        let msg = refused("train-digits", "epochs", text);
        assert!(
            msg.contains(&format!("'{text}'")) && msg.contains("whole number"),
            "{msg}"
        );
    }
    // 1e2 is a whole number, written another way.
    match train_digits(&drafts_with("train-digits", "epochs", "1e2")) {
        Ok(Settings::Train(c)) => assert_eq!(c.epochs, 100),
        other => panic!("{other:?}"),
    }
}

#[test]
fn what_was_typed_is_echoed() {
    for text in ["NaN", "inf", "-Infinity"] {
        let msg = refused("train-digits", "learning_rate", text);
        assert_eq!(
            msg,
            format!("Learning rate: '{text}' is not a finite number")
        );
    }
    let msg = refused("train-digits", "learning_rate", "1,5");
    assert_eq!(msg, "Learning rate: '1,5' is not a number");
    let msg = refused("pgd-3-to-8", "epsilon", "");
    assert!(msg.contains("type a number"), "{msg}");
    // A 10 MB paste is echoed short.
    let msg = refused("train-digits", "learning_rate", &"9x".repeat(5_000_000));
    assert!(
        msg.len() < 120 && msg.contains("(10000000 characters)"),
        "{msg}"
    );
}

#[test]
fn the_defend_detector_fields_parse() {
    let task = &exercise("defend-the-inbox").task;
    let Settings::Defences(solution) = task.solution() else {
        panic!("defend-the-inbox is a defend exercise")
    };
    let drafts = task.drafts(&task.solution());
    let parsed = task.settings_from(&task.solution(), &drafts).unwrap();
    assert_eq!(parsed, Settings::Defences(solution.clone()));
    let mut bad = drafts.clone();
    bad.insert("threshold".into(), "NaN".into());
    let msg = task.settings_from(&task.solution(), &bad).unwrap_err();
    assert_eq!(msg, "Detector: threshold: 'NaN' is not a finite number");
}

fn train_digits(drafts: &BTreeMap<String, String>) -> Result<Settings, String> {
    let task = &exercise("train-digits").task;
    task.settings_from(&task.starter(), drafts)
}

/// A view's own controls (the poisoning galleries' count and seed, the trigger's brightness, the
/// detector threshold) parse by the same rules, echo what was typed, and state their range.
#[test]
fn a_views_own_numbers_parse_with_the_fields_messages() {
    use mlsec_core::fields::{parse_real, parse_whole};
    assert_eq!(parse_whole("Seed", " 7 ", 0..=u64::MAX), Ok(7));
    assert_eq!(
        parse_whole("Seed", "x", 0..=u64::MAX),
        Err("Seed: 'x' is not a whole number".into())
    );
    assert_eq!(
        parse_whole("Show", "0", 1..=400),
        Err("Show: '0' must be a whole number from 1 to 400".into())
    );
    assert_eq!(
        parse_whole("Poisons to pick", "72", 0..=71),
        Err("Poisons to pick: '72' must be a whole number from 0 to 71".into())
    );
    assert_eq!(parse_real("Brightness", "0.5", 0.0..=1.0), Ok(0.5));
    assert_eq!(
        parse_real("Brightness", "1.5", 0.0..=1.0),
        Err("Brightness: '1.5' must be a number from 0 to 1".into())
    );
    assert_eq!(
        parse_real("Threshold", "high", f64::MIN..=f64::MAX),
        Err("Threshold: 'high' is not a number".into())
    );
    assert_eq!(
        parse_real("Threshold", "NaN", f64::MIN..=f64::MAX),
        Err("Threshold: 'NaN' is not a finite number".into())
    );
    // A 10 MB paste is echoed by its head and length, not whole.
    let paste = "9".repeat(10_000_000);
    let told = parse_whole("Seed", &paste, 0..=u64::MAX).unwrap_err();
    assert!(
        told.len() < 200 && told.contains("(10000000 characters)"),
        "{told}"
    );
}
