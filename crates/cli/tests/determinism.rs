//! The native half of the determinism check: the same figures tests/browser.rs expects in the
//! browser (tests/golden/determinism.json).

use mlsec_core::course::parse_lesson;
use mlsec_core::exercise::Context;
use mlsec_core::kinds::Start;
use mlsec_core::resources::Resource;
use mlsec_core::session::Session;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{ROOT}/{path}")).unwrap()
}

#[test]
fn native_results_match_the_golden_figures() {
    let golden: serde_json::Value =
        serde_json::from_str(&read("tests/golden/determinism.json")).unwrap();
    let digits = std::fs::read(format!("{ROOT}/assets/digits/digits.csv.gz")).unwrap();
    let target = std::fs::read(format!("{ROOT}/assets/models/digits-mlp.safetensors")).unwrap();
    let session = Session::with(&[
        (Resource::Digits, &digits),
        (Resource::TargetModel, &target),
    ])
    .unwrap();
    let ctx: Context = session.context();

    let lesson = parse_lesson(
        "first-model",
        &read("lessons/first-model/lesson.md"),
        &read("lessons/first-model/exercises.toml"),
    )
    .unwrap();
    let train = &lesson.exercises[0];
    let initial = mlsec_core::mlp::Mlp::init(2)
        .unwrap()
        .to_safetensors()
        .unwrap();
    assert_eq!(
        mlsec_core::sha256_hex(&initial),
        golden["initial_model_sha256_seed_2"].as_str().unwrap()
    );
    let grade = session
        .run_to_end(train, train.task.solution())
        .unwrap()
        .grade;
    assert_eq!(
        grade.figures[0].value as f32,
        golden["train_digits_accuracy"].as_f64().unwrap() as f32
    );

    let lesson = parse_lesson(
        "fgsm",
        &read("lessons/fgsm/lesson.md"),
        &read("lessons/fgsm/exercises.toml"),
    )
    .unwrap();
    let fgsm = &lesson.exercises[0];
    let artefact = fgsm
        .task
        .start(&fgsm.task.solution(), &ctx)
        .and_then(Start::artefact)
        .unwrap();
    let grade = fgsm.task.grade(&ctx, &artefact).unwrap();
    assert_eq!(
        grade.figures[0].value as f32,
        golden["fgsm_success_at_0_2"].as_f64().unwrap() as f32
    );
}

/// Track E: the defend reference's table and the adaptive attack's conversations (replies and
/// detector scores) are the same natively and in the browser: greedy decoding, the detector's
/// training and the grade agree bit for bit.
#[test]
fn native_track_e_results_match_the_golden_figures() {
    use mlsec_core::exercise::Details;

    let golden: serde_json::Value =
        serde_json::from_str(&read("tests/golden/determinism.json")).unwrap();
    let digits = std::fs::read(format!("{ROOT}/assets/digits/digits.csv.gz")).unwrap();
    let target = std::fs::read(format!("{ROOT}/assets/models/digits-mlp.safetensors")).unwrap();
    let session = Session::with(&[
        (Resource::Digits, &digits),
        (Resource::TargetModel, &target),
    ])
    .unwrap();
    session
        .load(
            Resource::AssistantModel,
            &std::fs::read(format!(
                "{ROOT}/assets/models/assistant-assistant.safetensors"
            ))
            .unwrap(),
        )
        .unwrap();
    session
        .load(
            Resource::StructuredModel,
            &std::fs::read(format!(
                "{ROOT}/assets/models/assistant-structured.safetensors"
            ))
            .unwrap(),
        )
        .unwrap();
    let mut computed = serde_json::Map::new();
    for (lesson, key) in [
        ("defend-injection", "defend_reference_details"),
        ("adaptive-attack", "evade_reference_details"),
    ] {
        let lesson = parse_lesson(
            lesson,
            &read(&format!("lessons/{lesson}/lesson.md")),
            &read(&format!("lessons/{lesson}/exercises.toml")),
        )
        .unwrap();
        let exercise = &lesson.exercises[0];
        let finished = session
            .run_to_end(exercise, exercise.task.solution())
            .unwrap();
        assert!(finished.grade.passed, "{}", finished.grade.message);
        assert!(!matches!(finished.details, Details::None));
        computed.insert(key.into(), serde_json::to_value(&finished.details).unwrap());
    }
    for (key, value) in &computed {
        assert_eq!(
            golden.get(key),
            Some(value),
            "{key} differs from tests/golden/determinism.json; computed:\n{}",
            serde_json::to_string(&computed).unwrap()
        );
    }
}
