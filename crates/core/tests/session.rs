//! The worker's session loads each resource on the first request that needs it, through the
//! registry (pinned hashes): Track E runs on the assistant models alone (the digits are never
//! downloaded for it), a request whose resources are missing is told so in plain words, and a
//! resource that failed to load is named to every request that needs it.

mod common;

use common::*;
use mlsec_core::receipt::{regrade, Receipt, Verdict};
use mlsec_core::resources::Resource;
use mlsec_core::session::{Request, Response, Session};

fn bytes(resource: Resource) -> Vec<u8> {
    std::fs::read(std::path::Path::new(ROOT).join(resource.path())).unwrap()
}

#[test]
fn every_shipped_file_matches_its_registry_entry() {
    for resource in Resource::ALL {
        resource
            .check(&bytes(resource))
            .unwrap_or_else(|e| panic!("{resource:?}: {e}"));
        let session = Session::default();
        session.load(resource, &bytes(resource)).unwrap();
        assert!(session.has(resource));
    }
}

#[test]
fn track_e_runs_and_regrades_without_the_digits() {
    let session = Session::default();
    let leak = exercise("leak-the-code");
    assert_eq!(
        session.ready(leak.task.needs()),
        Err("The plain assistant model is not loaded yet.".to_string())
    );
    session
        .load(Resource::AssistantModel, &bytes(Resource::AssistantModel))
        .unwrap();
    assert_eq!(
        session.ready(leak.task.needs()),
        Err("The structured assistant model is not loaded yet.".to_string())
    );
    session
        .load(Resource::StructuredModel, &bytes(Resource::StructuredModel))
        .unwrap();
    assert_eq!(session.ready(leak.task.needs()), Ok(()));
    let finished = session.run_to_end(leak, leak.task.solution()).unwrap();
    assert!(finished.grade.passed, "{}", finished.grade.message);
    let receipt = Receipt::parse(&finished.receipt).unwrap();
    match regrade(&receipt, leak, &session.context(), target_sha256()).unwrap() {
        Verdict::Pass(g) => assert_eq!(g, finished.grade),
        other => panic!("{other:?}"),
    }
    // The digits kinds are not ready, and say so instead of failing deep inside.
    let train = exercise("train-digits");
    assert_eq!(
        session.ready(train.task.needs()),
        Err("The lab's digits data is not loaded yet.".to_string())
    );
    let err = session
        .run_to_end(train, train.task.solution())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("not loaded"), "{err}");
    let curve = Request::FgsmCurve {
        job: 3,
        epsilons: vec![0.1],
    };
    match session.refuse(&curve) {
        Some(Response::Failed {
            job: Some(3),
            message,
        }) => assert_eq!(message, "The lab's digits data is not loaded yet."),
        other => panic!("{other:?}"),
    }
}

#[test]
fn training_needs_only_the_digits_and_attacks_the_target_too() {
    let session = Session::default();
    session
        .load(Resource::Digits, &bytes(Resource::Digits))
        .unwrap();
    assert_eq!(session.ready(exercise("train-digits").task.needs()), Ok(()));
    assert_eq!(
        session.ready(exercise("fgsm-untargeted").task.needs()),
        Err("The lab's target model is not loaded yet.".to_string())
    );
    let finished = session
        .run_to_end(
            exercise("train-digits"),
            exercise("train-digits").task.solution(),
        )
        .unwrap();
    assert!(finished.grade.passed);
}

#[test]
fn a_damaged_file_is_named_to_every_request_that_needs_it() {
    let session = Session::default();
    let mut damaged = bytes(Resource::StructuredModel);
    damaged[100] ^= 1;
    let err = session
        .load(Resource::StructuredModel, &damaged)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("assistant-structured.safetensors") && err.contains("damaged or was replaced"),
        "{err}"
    );
    session
        .load(Resource::AssistantModel, &bytes(Resource::AssistantModel))
        .unwrap();
    for _ in 0..2 {
        let why = session
            .ready(exercise("defend-the-inbox").task.needs())
            .unwrap_err();
        assert!(
            why.starts_with("The structured assistant model could not be loaded")
                && why.contains("damaged or was replaced")
                && why.contains("The other lessons still work"),
            "{why}"
        );
    }
    // The good file, sent again, clears the failure.
    session
        .load(Resource::StructuredModel, &bytes(Resource::StructuredModel))
        .unwrap();
    assert_eq!(
        session.ready(exercise("defend-the-inbox").task.needs()),
        Ok(())
    );
    // Loading twice is a no-op, and the digits kinds still need their own data.
    session
        .load(Resource::AssistantModel, &bytes(Resource::AssistantModel))
        .unwrap();
    assert!(session
        .ready(exercise("fgsm-untargeted").task.needs())
        .is_err());
}
