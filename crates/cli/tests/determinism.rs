//! The native half of the determinism check: `mlsec_core::golden::compute` here must give the
//! figures in tests/golden/determinism.json, which tests/browser.rs checks the same way in the
//! browser.

use mlsec_core::course::parse_lesson;
use mlsec_core::session::Session;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{ROOT}/{path}")).unwrap()
}

#[test]
fn native_results_match_the_golden_figures() {
    let golden: serde_json::Value =
        serde_json::from_str(&read("tests/golden/determinism.json")).unwrap();
    let session =
        Session::with_all(|path| std::fs::read(format!("{ROOT}/{path}")).unwrap()).unwrap();
    let lesson = |id: &str| {
        parse_lesson(
            id,
            &read(&format!("lessons/{id}/lesson.md")),
            &read(&format!("lessons/{id}/exercises.toml")),
        )
    };
    let computed = mlsec_core::golden::compute(&session, &lesson).unwrap();
    assert_eq!(
        computed.len(),
        golden.as_object().unwrap().len() - 1,
        "every figure but the comment"
    );
    let differences = mlsec_core::golden::differences(&computed, &golden);
    assert!(differences.is_empty(), "{differences:#?}");
}
