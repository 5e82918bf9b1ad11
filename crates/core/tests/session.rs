//! The worker's session loads each resource on the first run of a kind that needs it: Track E
//! runs on the assistant models alone (the digits are never downloaded for it), and a run whose
//! resources are missing is told so in plain words.

mod common;

use common::*;
use mlsec_core::receipt::{regrade, Receipt, Verdict};
use mlsec_core::session::{Request, Response, Session};

#[test]
fn track_e_runs_and_regrades_without_the_digits() {
    let session = Session::default();
    let leak = exercise("leak-the-code");
    assert_eq!(
        session.ready_for(&leak.task),
        Err("The assistant models are not loaded yet.".to_string())
    );
    session
        .load_assistants(
            &std::fs::read(ASSISTANT_PATH).unwrap(),
            &std::fs::read(STRUCTURED_PATH).unwrap(),
        )
        .unwrap();
    assert_eq!(session.ready_for(&leak.task), Ok(()));
    let finished = session.run_to_end(leak, leak.task.solution()).unwrap();
    assert!(finished.grade.passed, "{}", finished.grade.message);
    // Its receipt is the same as one made with everything loaded, and re-grades as a pass.
    let receipt = Receipt::parse(&finished.receipt).unwrap();
    match regrade(&receipt, leak, &session.context(), target_sha256()).unwrap() {
        Verdict::Pass(g) => assert_eq!(g, finished.grade),
        other => panic!("{other:?}"),
    }
    // The digits kinds are not ready, and say so instead of failing deep inside.
    let train = exercise("train-digits");
    assert_eq!(
        session.ready_for(&train.task),
        Err("The lab's data is not loaded yet.".to_string())
    );
    let err = session
        .run_to_end(train, train.task.solution())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("not loaded"), "{err}");
    match session.answer(&Request::FgsmCurve {
        job: 3,
        epsilons: vec![0.1],
    }) {
        Some(Response::Failed {
            job: Some(3),
            message,
        }) => {
            assert!(message.contains("not loaded"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_digits_load_once_and_a_damaged_file_is_named() {
    let session = Session::default();
    let mut damaged = digits_bytes().to_vec();
    damaged[100] ^= 1;
    let err = session
        .load_digits(&damaged, target_bytes())
        .unwrap_err()
        .to_string();
    assert!(err.contains("damaged or was replaced"), "{err}");
    assert_eq!(
        session.load_digits(digits_bytes(), target_bytes()).unwrap(),
        target_sha256()
    );
    assert_eq!(session.ready_for(&exercise("fgsm-untargeted").task), Ok(()));
    // Track E still needs its own models.
    assert!(session
        .ready_for(&exercise("defend-the-inbox").task)
        .is_err());
}
