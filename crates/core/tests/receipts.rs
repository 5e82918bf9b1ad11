//! Receipts: an honest receipt re-grades to what it claims; anything edited, swapped or
//! mismatched is caught as forged; the parser refuses what is not a receipt.

mod common;

use common::*;
use mlsec_core::digits::DIGITS_SHA256;
use mlsec_core::exercise::Artefact;
use mlsec_core::grade::GRADER_VERSION;
use mlsec_core::receipt::{regrade, Receipt, Verdict, FORMAT, MAX_RECEIPT_BYTES};
use mlsec_core::Error;
use serde_json::Value;

/// A receipt for running the starter or the solution, graded honestly.
fn receipt(id: &str, which: Which) -> Receipt {
    let ex = exercise(id);
    let settings = match which {
        Which::Starter => ex.task.starter(),
        Which::Solution => ex.task.solution(),
    };
    let artefact = artefact(id, which).clone();
    let grade = ex.task.grade(&ctx(), &artefact).unwrap();
    Receipt::new(ex, target_sha256(), settings, artefact, grade)
}

/// Re-grades receipt JSON the way `mlsec grade` does.
fn verdict(json: &str) -> Verdict {
    let r = Receipt::parse(json).expect("parses");
    regrade(&r, exercise(&r.exercise_id), &ctx(), target_sha256()).unwrap()
}

/// The receipt's JSON with `edit` applied to it.
fn edited(r: &Receipt, edit: impl FnOnce(&mut Value)) -> String {
    let mut v: Value = serde_json::from_str(&r.to_json()).unwrap();
    edit(&mut v);
    serde_json::to_string(&v).unwrap()
}

fn assert_forged(v: &Verdict, mentions: &str) {
    match v {
        Verdict::Forged(why) => assert!(why.contains(mentions), "'{mentions}' not in: {why}"),
        other => panic!("not caught as forged: {other:?}"),
    }
    assert!(!v.passed());
}

fn parse_error(text: &str) -> String {
    match Receipt::parse(text) {
        Err(Error::Receipt(msg)) => msg,
        Err(other) => panic!("expected Error::Receipt, got {other:?}"),
        Ok(_) => panic!("accepted as a receipt: {:.80}", text),
    }
}

#[test]
fn reference_solution_receipts_regrade_as_pass_after_json() {
    for ex in exercises() {
        let r = receipt(&ex.id, Which::Solution);
        assert!(
            r.claimed.passed,
            "{}: the solution's own grade fails",
            ex.id
        );
        match verdict(&r.to_json()) {
            Verdict::Pass(g) => {
                assert_eq!(g, r.claimed, "{}: re-grade differs from the claim", ex.id)
            }
            other => panic!("{}: {other:?}", ex.id),
        }
    }
}

#[test]
fn receipt_json_round_trip_is_exact() {
    for ex in exercises() {
        let r = receipt(&ex.id, Which::Solution);
        let back = Receipt::parse(&r.to_json()).unwrap();
        assert_eq!(
            back.artefact, r.artefact,
            "{}: artefact changed in JSON",
            ex.id
        );
        assert_eq!(back.settings, r.settings, "{}", ex.id);
        assert_eq!(
            back.claimed, r.claimed,
            "{}: claimed grade changed in a JSON round trip",
            ex.id
        );
        assert!(back == r, "{}: receipt changed in a JSON round trip", ex.id);
    }
}

#[test]
fn receipt_records_what_was_graded() {
    let r = receipt("fgsm-untargeted", Which::Solution);
    assert_eq!(r.format, FORMAT);
    assert_eq!(r.exercise_id, "fgsm-untargeted");
    assert_eq!(r.grader_version, GRADER_VERSION);
    assert_eq!(r.data_sha256, DIGITS_SHA256);
    assert_eq!(
        r.model_sha256,
        target_sha256(),
        "images are graded against the target"
    );
    let t = receipt("train-digits", Which::Solution);
    assert_eq!(t.seed, 2);
    let Artefact::Weights { safetensors } = &t.artefact else {
        panic!("not weights")
    };
    assert_eq!(t.model_sha256, mlsec_core::sha256_hex(&safetensors.0));
    // A weights receipt names its own model, whichever model that is.
    let s = receipt("train-digits", Which::Starter);
    assert_ne!(s.model_sha256, t.model_sha256);
    assert_ne!(s.model_sha256, target_sha256());
}

#[test]
fn honest_starter_receipt_is_a_fail_not_a_forgery() {
    for id in ["fgsm-untargeted", "train-digits", "pixel-attack-by-hand"] {
        match verdict(&receipt(id, Which::Starter).to_json()) {
            Verdict::Fail(g) => assert!(!g.passed),
            other => panic!("{id}: {other:?}"),
        }
    }
}

#[test]
fn starter_receipt_edited_to_claim_a_pass_is_forged() {
    for id in [
        "fgsm-untargeted",
        "train-digits",
        "pixel-attack-by-hand",
        "pgd-3-to-8",
    ] {
        let r = receipt(id, Which::Starter);
        let json = edited(&r, |v| {
            v["claimed"]["passed"] = Value::Bool(true);
            v["claimed"]["message"] = Value::String("Passed: trust me.".into());
        });
        assert_forged(&verdict(&json), "claims a pass");
    }
}

#[test]
fn tampered_hashes_are_forged() {
    for id in ["fgsm-untargeted", "train-digits"] {
        let r = receipt(id, Which::Solution);
        let other_hash = "0".repeat(64);
        let json = edited(&r, |v| {
            v["model_sha256"] = Value::String(other_hash.clone())
        });
        assert_forged(&verdict(&json), "model hash");
        let json = edited(&r, |v| v["data_sha256"] = Value::String(other_hash.clone()));
        assert_forged(&verdict(&json), "data hash");
        // Uppercase is a different string: hashes are compared exactly.
        let upper = r.data_sha256.to_uppercase();
        let json = edited(&r, |v| v["data_sha256"] = Value::String(upper));
        assert_forged(&verdict(&json), "data hash");
    }
}

#[test]
fn a_receipt_graded_against_another_target_is_forged() {
    // The lab now ships a different target than the one the images were made against.
    let r = receipt("fgsm-untargeted", Which::Solution);
    let v = regrade(&r, exercise("fgsm-untargeted"), &ctx(), &"f".repeat(64)).unwrap();
    assert_forged(&v, "model hash");
}

#[test]
fn wrong_grader_version_is_forged() {
    let r = receipt("fgsm-untargeted", Which::Solution);
    for version in [0, GRADER_VERSION + 1] {
        let json = edited(&r, |v| v["grader_version"] = Value::from(version));
        assert_forged(&verdict(&json), "grader version");
    }
}

#[test]
fn swapping_in_the_unperturbed_images_is_forged() {
    let r = receipt("fgsm-untargeted", Which::Solution);
    let clean = Artefact::images(&digits().test.pixels);
    let json = edited(&r, |v| {
        v["artefact"] = serde_json::to_value(&clean).unwrap()
    });
    assert_forged(&verdict(&json), "claims a pass");

    let r = receipt("pgd-3-to-8", Which::Solution);
    let (_, threes) = digits().test.of_class(3);
    let json = edited(&r, |v| {
        v["artefact"] = serde_json::to_value(Artefact::images(&threes.pixels)).unwrap()
    });
    assert_forged(&verdict(&json), "claims a pass");
}

#[test]
fn swapping_in_other_weights_is_forged() {
    let r = receipt("train-digits", Which::Solution);
    let starter = artefact("train-digits", Which::Starter);
    // Weights swapped, hash left: the hash no longer names the weights.
    let json = edited(&r, |v| {
        v["artefact"] = serde_json::to_value(starter).unwrap()
    });
    assert_forged(&verdict(&json), "model hash");
    // Weights and hash swapped consistently: re-grading the weights finds the lie.
    let json = edited(&r, |v| {
        v["artefact"] = serde_json::to_value(starter).unwrap();
        v["model_sha256"] = Value::String(starter.model_sha256().unwrap());
    });
    assert_forged(&verdict(&json), "claims a pass");
}

#[test]
fn a_receipt_for_another_exercise_is_an_error() {
    let r = receipt("fgsm-untargeted", Which::Solution);
    match regrade(&r, exercise("pgd-3-to-8"), &ctx(), target_sha256()) {
        Err(Error::Receipt(msg)) => assert!(msg.contains("fgsm-untargeted"), "{msg}"),
        other => panic!("{other:?}"),
    }
    // Relabelled as the other exercise, its images do not fit that exercise's grader.
    let json = edited(&r, |v| {
        v["exercise_id"] = Value::String("pgd-3-to-8".into())
    });
    assert_forged(&verdict(&json), "claims a pass");
}

#[test]
fn parse_refuses_what_is_not_a_receipt() {
    assert!(parse_error("not json at all").contains("not a MLSec Lab receipt"));
    parse_error("");
    parse_error("[]");
    parse_error("{}");
    let r = receipt("fgsm-untargeted", Which::Solution);
    let msg = parse_error(&edited(&r, |v| {
        v["format"] = Value::String("mlsec-receipt/2".into())
    }));
    assert!(msg.contains("mlsec-receipt/2"), "{msg}");
    parse_error(&edited(&r, |v| {
        v["format"] = Value::String("mlsec-progress/1".into())
    }));
    parse_error(&edited(&r, |v| v["extra"] = Value::Bool(true)));
    parse_error(&edited(&r, |v| {
        v["artefact"]["pixels"] = Value::String("***".into())
    }));
    parse_error(&edited(&r, |v| {
        v["artefact"]["type"] = Value::String("shell".into())
    }));
    parse_error(&edited(&r, |v| v["grader_version"] = Value::from(-1)));
}

#[test]
fn parse_refuses_oversized_receipts() {
    let json = receipt("fgsm-untargeted", Which::Solution).to_json();
    assert!(json.len() < MAX_RECEIPT_BYTES);
    // A valid receipt padded with whitespace past the limit is refused for its size alone.
    let padded = format!("{json}{}", " ".repeat(MAX_RECEIPT_BYTES + 1 - json.len()));
    assert!(serde_json::from_str::<Value>(&padded).is_ok());
    let msg = parse_error(&padded);
    assert!(msg.contains("too large"), "{msg}");
    // Exactly at the limit is still parsed.
    let at_limit = format!("{json}{}", " ".repeat(MAX_RECEIPT_BYTES - json.len()));
    assert!(Receipt::parse(&at_limit).is_ok());
}
