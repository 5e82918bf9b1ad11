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
    let grade = ex.task.engine().grade(&ctx(), &artefact).unwrap();
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

/// A receipt graded by other rules is not re-judged by these, in either direction: the re-grade
/// says why instead of a verdict (`mlsec grade` shows it as INVALID).
fn assert_other_rules(json: &str, mentions: &str) {
    let r = Receipt::parse(json).expect("parses");
    match regrade(&r, exercise(&r.exercise_id), &ctx(), target_sha256()) {
        Err(Error::Receipt(why)) => {
            assert!(why.contains(mentions), "'{mentions}' not in: {why}");
            assert!(why.contains("run the exercise again"), "{why}");
        }
        other => panic!("re-judged by other rules: {other:?}"),
    }
}

#[test]
fn a_receipt_of_other_grading_rules_is_not_regraded() {
    let r = receipt("fgsm-untargeted", Which::Solution);
    for version in [0, GRADER_VERSION + 1] {
        let json = edited(&r, |v| v["grader_version"] = Value::from(version));
        assert_other_rules(&json, "grader version");
    }
}

/// DP-SGD's rules changed (its sampler, issue 14) and no other kind's did: a DP-SGD receipt of
/// version 1 is not re-graded, with why, while the other kinds' version-1 receipts stay valid.
#[test]
fn a_kind_whose_rules_changed_refuses_its_older_receipts() {
    let r = receipt("dp-sgd-defence", Which::Starter);
    assert_eq!(r.grader_version, 2);
    let json = edited(&r, |v| v["grader_version"] = Value::from(GRADER_VERSION));
    assert_other_rules(
        &json,
        "graded by grader version 1, and this lab grades 'dp-sgd-defence' by version 2",
    );
    assert_eq!(
        receipt("fgsm-untargeted", Which::Solution).grader_version,
        GRADER_VERSION
    );
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
    // Weights and hash swapped consistently: the weights are not what the settings train.
    let json = edited(&r, |v| {
        v["artefact"] = serde_json::to_value(starter).unwrap();
        v["model_sha256"] = Value::String(starter.model_sha256().unwrap());
    });
    assert_forged(&verdict(&json), "not trained with its settings");
}

/// `r` with its artefact replaced by `artefact` and the model hash made to match it.
fn with_weights(r: &Receipt, artefact: &Artefact) -> String {
    edited(r, |v| {
        v["artefact"] = serde_json::to_value(artefact).unwrap();
        v["model_sha256"] = Value::String(artefact.model_sha256().unwrap());
    })
}

#[test]
fn handing_in_the_labs_own_target_model_is_forged() {
    // The shipped target is accurate enough to pass train-digits, but it is not the model a
    // learner's own settings train.
    let shipped = Artefact::Weights {
        safetensors: mlsec_core::exercise::Base64(target_bytes().to_vec()),
    };
    let r = receipt("train-digits", Which::Starter);
    assert_forged(
        &verdict(&with_weights(&r, &shipped)),
        "not trained with its settings",
    );
    let r = receipt("train-digits", Which::Solution);
    let json = edited(&Receipt::parse(&with_weights(&r, &shipped)).unwrap(), |v| {
        v["settings"]["train"]["seed"] = Value::from(5)
    });
    assert_forged(&verdict(&json), "not trained with its settings");
    // The target was trained with train-digits' reference settings (it is the model the learner
    // goes on to attack), by the lab's earlier candle-graph training; the fused kernels train
    // those settings to within rounding of it (not to the bit: they sum in another order). So
    // with those settings it is the reference solution's receipt, graded on the model the
    // settings train here: a pass, as running the reference settings is.
    let Artefact::Weights { safetensors } = artefact("train-digits", Which::Solution) else {
        unreachable!()
    };
    let trained = mlsec_core::mlp::Mlp::from_safetensors(&safetensors.0).unwrap();
    let target = mlsec_core::mlp::Mlp::from_safetensors(target_bytes()).unwrap();
    let distance = trained.relative_distance(&target).unwrap();
    assert!(distance < 1e-3, "{distance}");
    match verdict(&with_weights(&r, &shipped)) {
        Verdict::Pass(g) => assert_eq!(g, r.claimed, "graded on the re-trained model"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn adversarially_trained_weights_under_another_exercise_id_are_forged() {
    let r = receipt("adv-train-robust", Which::Solution);
    let json = edited(&r, |v| {
        v["exercise_id"] = Value::String("train-digits".into())
    });
    assert_forged(&verdict(&json), "another kind of exercise");
    // Settings rewritten to train-digits' own kind too: the weights still are not the model
    // those settings train.
    let train = receipt("train-digits", Which::Solution);
    let json = with_weights(&train, artefact("adv-train-robust", Which::Solution));
    assert_forged(&verdict(&json), "not trained with its settings");
}

#[test]
fn a_training_receipt_is_graded_on_the_model_its_settings_train() {
    // Honest weights, settings edited to another seed: the re-run lands elsewhere.
    let r = receipt("train-digits", Which::Solution);
    let json = edited(&r, |v| v["settings"]["train"]["seed"] = Value::from(3));
    assert_forged(&verdict(&json), "not trained with its settings");
    // Settings that cannot run are said so.
    let json = edited(&r, |v| v["settings"]["train"]["epochs"] = Value::from(0));
    assert_forged(&verdict(&json), "cannot be run");
    // Weights off by rounding only (what another platform's float kernels give) still pass.
    let Artefact::Weights { safetensors } = &r.artefact else {
        unreachable!()
    };
    let model = mlsec_core::mlp::Mlp::from_safetensors(&safetensors.0).unwrap();
    let nudged: Vec<f32> = model.flat().iter().map(|w| w * 1.0001).collect();
    let bytes = mlsec_core::mlp::Mlp::from_flat(&nudged)
        .unwrap()
        .to_safetensors()
        .unwrap();
    let nudged = Artefact::Weights {
        safetensors: mlsec_core::exercise::Base64(bytes),
    };
    match verdict(&with_weights(&r, &nudged)) {
        Verdict::Pass(g) => assert_eq!(g, r.claimed, "graded on the re-trained model"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_stopped_training_run_records_the_epochs_it_ran_and_regrades() {
    let session = session();
    let ex = exercise("train-digits");
    let mut settings = ex.task.solution();
    if let mlsec_core::exercise::Settings::Train(c) = &mut settings {
        c.epochs = 200;
    }
    let mut job = session.start(ex, settings).unwrap();
    assert!(job.stop_keeps_work());
    for _ in 0..3 {
        job.step().unwrap();
    }
    let finished = job.stop().unwrap();
    let r = Receipt::parse(&finished.receipt).unwrap();
    assert_eq!(r.settings, ex.task.ran_for(ex.task.solution(), 3));
    match verdict(&finished.receipt) {
        Verdict::Pass(g) | Verdict::Fail(g) => assert_eq!(g, finished.grade),
        Verdict::Forged(why) => panic!("an honest stopped run was called forged: {why}"),
    }
    // The worker tells the page the run was stopped.
    match finished.into_response(7, true) {
        mlsec_core::session::Response::Done { job, stopped, .. } => assert!(job == 7 && stopped),
        other => panic!("{other:?}"),
    }
}

#[test]
fn settings_that_do_not_match_the_artefact_are_forged() {
    // Pixel edits: the image must be the test image with exactly these edits.
    let r = receipt("pixel-attack-by-hand", Which::Solution);
    let json = edited(&r, |v| {
        v["settings"]["pixels"]["edits"] = Value::Array(vec![])
    });
    assert_forged(&verdict(&json), "recorded pixel edits");
    // FGSM: the images moved by the solution's ε, more than the ε the settings claim.
    let r = receipt("fgsm-untargeted", Which::Solution);
    let json = edited(&r, |v| v["settings"]["fgsm"]["epsilon"] = Value::from(0.01));
    assert_forged(&verdict(&json), "more than the ε = 0.01");
    let r = receipt("pgd-3-to-8", Which::Solution);
    let json = edited(&r, |v| v["settings"]["pgd"]["epsilon"] = Value::from(0.01));
    assert_forged(&verdict(&json), "more than the ε = 0.01");
    // Text and defences must be what the settings say.
    let r = receipt("leak-the-code", Which::Solution);
    let json = edited(&r, |v| {
        v["settings"]["prompt"]["text"] = Value::String("hello".into())
    });
    assert_forged(&verdict(&json), "its text");
    let r = receipt("defend-the-inbox", Which::Solution);
    let json = edited(&r, |v| {
        v["settings"]["defences"]["output_filter"] = Value::Bool(false)
    });
    assert_forged(&verdict(&json), "its defences");
    // Settings of another kind.
    let r = receipt("fgsm-untargeted", Which::Solution);
    let pixels =
        serde_json::to_value(&receipt("pixel-attack-by-hand", Which::Solution).settings).unwrap();
    let json = edited(&r, |v| v["settings"] = pixels);
    assert_forged(&verdict(&json), "another kind of exercise");
}

#[test]
fn a_receipt_for_another_exercise_is_an_error() {
    let r = receipt("fgsm-untargeted", Which::Solution);
    match regrade(&r, exercise("pgd-3-to-8"), &ctx(), target_sha256()) {
        Err(Error::Receipt(msg)) => assert!(msg.contains("fgsm-untargeted"), "{msg}"),
        other => panic!("{other:?}"),
    }
    // Relabelled as the other exercise, its settings are of the wrong kind.
    let json = edited(&r, |v| {
        v["exercise_id"] = Value::String("pgd-3-to-8".into())
    });
    assert_forged(&verdict(&json), "another kind of exercise");
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
    // The artefact's own reader (not serde's derive) says what is wrong with it.
    let msg = parse_error(&edited(&r, |v| {
        v["artefact"]["type"] = Value::String("shell".into())
    }));
    assert!(
        msg.contains("unknown variant `shell`, expected one of `weights`, `images`"),
        "{msg}"
    );
    let msg = parse_error(&edited(&r, |v| v["artefact"]["type"] = Value::from(3)));
    assert!(msg.contains("`type` must be an artefact's type"), "{msg}");
    let msg = parse_error(&edited(&r, |v| {
        v["artefact"].as_object_mut().unwrap().remove("type");
    }));
    assert!(msg.contains("missing field `type`"), "{msg}");
    let msg = parse_error(&edited(&r, |v| {
        v["artefact"].as_object_mut().unwrap().remove("pixels");
    }));
    assert!(msg.contains("missing field `pixels`"), "{msg}");
    let msg = parse_error(&edited(&r, |v| {
        v["artefact"]["type"] = Value::String("weights".into())
    }));
    assert!(msg.contains("missing field `safetensors`"), "{msg}");
    parse_error(&edited(&r, |v| v["grader_version"] = Value::from(-1)));
}

/// Receipts are read through a JSON value, where a number past f32's range read into an f32
/// becomes ∞ rather than an error (ARCHITECTURE.md): the re-grade still judges the artefact by
/// the lesson's rules, so it comes to the honest receipt's verdict.
#[test]
fn a_setting_past_f32s_range_reads_as_infinity_and_the_artefact_is_still_what_is_judged() {
    let r = receipt("fgsm-untargeted", Which::Solution);
    let json = edited(&r, |v| v["settings"]["fgsm"]["epsilon"] = Value::from(1e39));
    let read = Receipt::parse(&json).unwrap();
    assert_ne!(read.settings, r.settings);
    match (verdict(&json), verdict(&r.to_json())) {
        (Verdict::Pass(g), Verdict::Pass(honest)) => assert_eq!(g, honest),
        other => panic!("{other:?}"),
    }
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

#[test]
fn settings_that_would_train_for_ages_are_refused_not_re_run() {
    // 200 epochs of single-image batches under a 20-step attack: 750 times the reference run.
    let r = receipt("adv-train-robust", Which::Solution);
    let json = edited(&r, |v| {
        v["settings"]["adv-train"]["epochs"] = Value::from(200);
        v["settings"]["adv-train"]["batch_size"] = Value::from(1);
        v["settings"]["adv-train"]["train_steps"] = Value::from(20);
    });
    let start = std::time::Instant::now();
    assert_forged(&verdict(&json), "the lab runs at most 250000");
    assert!(start.elapsed().as_secs() < 60, "the grader re-ran it");
}

#[test]
fn a_borderline_claim_within_rounding_is_a_fail_not_a_forgery() {
    // train-digits' starter reaches 38.1%; with the pass mark at 38.2% a browser whose rounding
    // gave 38.3% would have claimed a pass that the re-training here does not reproduce.
    let mut ex = exercise("train-digits").clone();
    let mlsec_core::kinds::Task::TrainClassifier(posed) = &mut ex.task else {
        unreachable!()
    };
    posed.task.min_test_accuracy = 0.382;
    let settings = ex.task.starter();
    let artefact = artefact("train-digits", Which::Starter).clone();
    let regraded = ex.task.engine().grade(&ctx(), &artefact).unwrap();
    assert!(!regraded.passed, "{}", regraded.message);
    let mut claimed = regraded.clone();
    claimed.passed = true;
    claimed.figures[0].value = 0.383;
    let borderline = Receipt::new(&ex, target_sha256(), settings, artefact, claimed.clone());
    match regrade(&borderline, &ex, &ctx(), target_sha256()).unwrap() {
        Verdict::Fail(g) => assert!(g.message.contains("borderline"), "{}", g.message),
        other => panic!("{other:?}"),
    }
    // A claim far from the re-grade is still a forgery.
    let mut far = borderline.clone();
    far.claimed.figures[0].value = 0.95;
    assert_forged(
        &regrade(&far, &ex, &ctx(), target_sha256()).unwrap(),
        "claims a pass",
    );
}

/// Track B: a receipt whose poison set was edited after the run (in the artefact, or in both
/// artefact and settings to pass a weaker set off as a pass) is caught.
#[test]
fn an_edited_poison_set_is_caught() {
    let r = receipt("flip-the-sevens", Which::Solution);
    assert!(verdict(&r.to_json()).passed());
    // The artefact edited alone: it no longer matches the settings.
    let json = edited(&r, |v| {
        v["artefact"]["flips"].as_array_mut().unwrap().truncate(10);
    });
    assert_forged(
        &verdict(&json),
        "its flips are not the ones its settings record",
    );
    // Both edited the same way: the re-grade retrains on ten flips and the claimed pass fails.
    let json = edited(&r, |v| {
        v["artefact"]["flips"].as_array_mut().unwrap().truncate(10);
        v["settings"]["flips"]["flips"]
            .as_array_mut()
            .unwrap()
            .truncate(10);
    });
    assert_forged(&verdict(&json), "claims a pass");
    // An index pushed out of range is rejected, not graded.
    let json = edited(&r, |v| {
        v["artefact"]["flips"][0]["index"] = 5000.into();
        v["settings"]["flips"]["flips"][0]["index"] = 5000.into();
    });
    assert_forged(&verdict(&json), "there is no training image 5000");
}

/// Track B: a backdoor receipt whose poison set or trigger was edited is caught the same way.
#[test]
fn an_edited_backdoor_is_caught() {
    let r = receipt("plant-a-backdoor", Which::Solution);
    assert!(verdict(&r.to_json()).passed());
    let json = edited(&r, |v| {
        v["artefact"]["plan"]["poisons"]
            .as_array_mut()
            .unwrap()
            .truncate(5);
    });
    assert_forged(
        &verdict(&json),
        "its trigger, target or poisons are not the ones its settings record",
    );
    // Both edited: five poisons retrained do not plant the backdoor, so the claimed pass fails.
    let json = edited(&r, |v| {
        for place in [["artefact", "plan"], ["settings", "backdoor"]] {
            v[place[0]][place[1]]["poisons"]
                .as_array_mut()
                .unwrap()
                .truncate(5);
        }
    });
    assert_forged(&verdict(&json), "claims a pass");
    // A trigger pixel pushed outside [0, 1] is rejected, not graded.
    let json = edited(&r, |v| {
        for place in [["artefact", "plan"], ["settings", "backdoor"]] {
            v[place[0]][place[1]]["trigger"][0]["value"] = 2.0.into();
        }
    });
    assert_forged(&verdict(&json), "trigger pixel 0 has value 2");
}

/// Track B's spam filter: a receipt whose messages or trigger were edited is caught.
#[test]
fn an_edited_spam_poison_is_caught() {
    let r = receipt("poison-the-spam-filter", Which::Solution);
    assert!(verdict(&r.to_json()).passed());
    assert_eq!(
        r.data_sha256,
        mlsec_core::spam::SPAM_SHA256,
        "named by the data it trains on"
    );
    let json = edited(&r, |v| {
        v["artefact"]["poison"]["messages"]
            .as_array_mut()
            .unwrap()
            .truncate(5);
    });
    assert_forged(
        &verdict(&json),
        "its trigger or messages are not the ones its settings record",
    );
    // Both edited: five messages do not plant the backdoor, so the claimed pass fails.
    let json = edited(&r, |v| {
        for place in [["artefact", "poison"], ["settings", "spam-poison"]] {
            v[place[0]][place[1]]["messages"]
                .as_array_mut()
                .unwrap()
                .truncate(5);
        }
    });
    assert_forged(&verdict(&json), "claims a pass");
    // An over-long message is rejected, not trained on.
    let json = edited(&r, |v| {
        for place in [["artefact", "poison"], ["settings", "spam-poison"]] {
            v[place[0]][place[1]]["messages"][0] = "win ".repeat(500).into();
        }
    });
    assert_forged(&verdict(&json), "message 1 is 2,000 characters long");
    // The digits' hash in place of the spam data's: the receipt names data it was not graded on.
    let json = edited(&r, |v| {
        v["data_sha256"] = mlsec_core::digits::DIGITS_SHA256.into();
    });
    assert_forged(
        &verdict(&json),
        "the data hash is not the hash of the data set",
    );
}

/// Track C: a membership receipt whose threshold was edited is caught, and one moved outside the
/// known losses is rejected with the reason.
#[test]
fn an_edited_threshold_is_caught() {
    let r = receipt("loss-threshold", Which::Solution);
    assert!(verdict(&r.to_json()).passed());
    let json = edited(&r, |v| v["artefact"]["threshold"] = 1.0.into());
    assert_forged(
        &verdict(&json),
        "its threshold is not the one its settings record",
    );
    let json = edited(&r, |v| {
        v["artefact"]["threshold"] = 1.0.into();
        v["settings"]["loss-threshold"]["threshold"] = 1.0.into();
    });
    assert_forged(&verdict(&json), "claims a pass");
    let json = edited(&r, |v| {
        v["artefact"]["threshold"] = 1e9.into();
        v["settings"]["loss-threshold"]["threshold"] = 1e9.into();
    });
    assert_forged(&verdict(&json), "above every loss of the known records");
}

/// Track C: an inversion receipt whose reconstructions were touched up is caught (one pixel of
/// one image moved by 0.2), and one whose images are not whole floats is rejected with why.
#[test]
fn edited_reconstructions_are_caught() {
    let r = receipt("invert-the-digits", Which::Solution);
    assert!(verdict(&r.to_json()).passed());
    let Artefact::Images { pixels } = &r.artefact else {
        panic!("an inversion's artefact is its images")
    };
    let mut values: Vec<f32> = pixels
        .0
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    values[3 * 64 + 27] = (values[3 * 64 + 27] + 0.2).min(1.0);
    let json = edited(&r, |v| {
        v["artefact"] = serde_json::to_value(Artefact::images(&values)).unwrap()
    });
    assert_forged(
        &verdict(&json),
        "its reconstructions are not what its settings make",
    );
    let json = edited(&r, |v| {
        v["artefact"]["pixels"] = Value::String("AAA=".into())
    });
    assert_forged(&verdict(&json), "not a whole number of 32-bit floats");
}

/// Track C: an attribute-inference receipt whose candidates were edited is caught, and one
/// edited consistently to a value the census does not have is rejected with the values it has.
#[test]
fn an_edited_attribute_attack_is_caught() {
    let r = receipt("infer-marital-status", Which::Solution);
    assert!(verdict(&r.to_json()).passed());
    let json = edited(&r, |v| {
        v["artefact"]["attack"]["confidence_weight"] = 0.0.into()
    });
    assert_forged(
        &verdict(&json),
        "its attack is not the one its settings record",
    );
    let json = edited(&r, |v| {
        for place in ["artefact", "settings"] {
            let key = if place == "artefact" {
                "attack"
            } else {
                "attribute-attack"
            };
            v[place][key]["candidates"] = serde_json::json!(["Single", "Married-civ-spouse"]);
        }
    });
    assert_forged(
        &verdict(&json),
        "the data set has no marital_status \"Single\"",
    );
}

/// Track C: a shadow-model receipt whose attack was edited is caught; one edited consistently is
/// re-graded (2 shadows fall short of the claimed pass), and 0 shadows are rejected with why.
#[test]
fn an_edited_shadow_attack_is_caught() {
    let r = receipt("shadow-lira", Which::Solution);
    assert!(verdict(&r.to_json()).passed());
    let json = edited(&r, |v| v["artefact"]["attack"]["shadows"] = 2.into());
    assert_forged(
        &verdict(&json),
        "its attack is not the one its settings record",
    );
    let both = |shadows: u32| {
        edited(&r, move |v| {
            v["artefact"]["attack"]["shadows"] = shadows.into();
            v["settings"]["shadow-attack"]["shadows"] = shadows.into();
        })
    };
    assert_forged(&verdict(&both(2)), "claims a pass");
    assert_forged(&verdict(&both(0)), "0 shadow models");
}

/// Track C: a DP-SGD receipt whose recipe was edited is caught; one edited consistently to
/// σ = 0 is re-graded (no ε, the claimed pass fails), and a negative σ is rejected with why.
#[test]
fn an_edited_private_recipe_is_caught() {
    let r = receipt("dp-sgd-defence", Which::Solution);
    assert!(verdict(&r.to_json()).passed());
    let json = edited(&r, |v| {
        v["artefact"]["settings"]["noise_multiplier"] = 0.0.into()
    });
    assert_forged(
        &verdict(&json),
        "its recipe is not the one its settings record",
    );
    let both = |sigma: serde_json::Value| {
        edited(&r, move |v| {
            v["artefact"]["settings"]["noise_multiplier"] = sigma.clone();
            v["settings"]["private"]["noise_multiplier"] = sigma;
        })
    };
    assert_forged(&verdict(&both(0.0.into())), "claims a pass");
    assert_forged(
        &verdict(&both((-1.0).into())),
        "the noise multiplier σ must be a number of 0 or more",
    );
}

/// Track B's defence: a receipt whose removal was edited is caught.
#[test]
fn an_edited_removal_is_caught() {
    let r = receipt("find-the-poisons", Which::Solution);
    assert!(verdict(&r.to_json()).passed());
    let json = edited(&r, |v| {
        v["artefact"]["removal"]["removed"]
            .as_array_mut()
            .unwrap()
            .truncate(60);
    });
    assert_forged(
        &verdict(&json),
        "its removed images are not the ones its settings record",
    );
    // Both edited: most poisons stay, the re-grade fails the claimed pass.
    let json = edited(&r, |v| {
        for place in [["artefact", "removal"], ["settings", "removal"]] {
            v[place[0]][place[1]]["removed"]
                .as_array_mut()
                .unwrap()
                .truncate(60);
        }
    });
    assert_forged(&verdict(&json), "claims a pass");
}
