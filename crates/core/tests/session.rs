//! The worker's session loads each resource on the first request that needs it, through the
//! registry (pinned hashes): Track E runs on the assistant models alone (the digits are never
//! downloaded for it), a request whose resources are missing is told so in plain words, and a
//! resource that failed to load is named to every request that needs it.

mod common;

use common::*;
use mlsec_core::receipt::{regrade, Receipt, Verdict};
use mlsec_core::resources::Resource;
use mlsec_core::session::{Everything, Request, Response, Session};

fn bytes(resource: Resource) -> Vec<u8> {
    std::fs::read(std::path::Path::new(ROOT).join(resource.path())).unwrap()
}

#[test]
fn every_shipped_file_matches_its_registry_entry() {
    for resource in Resource::ALL {
        resource
            .check(&bytes(resource))
            .unwrap_or_else(|e| panic!("{resource:?}: {e}"));
        let session = Session::new();
        session.load(resource, &bytes(resource)).unwrap();
        assert!(session.has(resource));
    }
}

#[test]
fn track_e_runs_and_regrades_without_the_digits() {
    let session = Session::new();
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
    let session = Session::new();
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
    let session = Session::new();
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

/// A token search reports every step with its figures, the last one too; Stop grades the best
/// suffix found so far, and its receipt records the steps that ran and re-grades as it was.
#[test]
fn a_token_search_reports_each_step_and_stop_grades_the_best_so_far() {
    use mlsec_core::exercise::Settings;
    use mlsec_core::session::Step;
    let session = Session::new();
    for r in [Resource::AssistantModel, Resource::StructuredModel] {
        session.load(r, &bytes(r)).unwrap();
    }
    let search = exercise("search-a-suffix");
    let Settings::TokenSearch(mut settings) = search.task.starter() else {
        panic!("token-search settings");
    };
    settings.steps = 3;
    let mut job = session
        .start(search, Settings::TokenSearch(settings.clone()))
        .unwrap();
    match job.announce() {
        Some(Step::Searched {
            done: 0,
            total: 3,
            figures,
        }) => assert!(figures.is_empty()),
        other => panic!("{other:?}"),
    }
    for want in 1..=3 {
        match job.step().unwrap() {
            Step::Searched {
                done,
                total: 3,
                figures,
            } => {
                assert_eq!(done, want);
                let names: Vec<&str> = figures.iter().map(|(n, _)| n.as_str()).collect();
                assert_eq!(names, ["loss", "best loss", "detector score"]);
                assert!(figures.iter().all(|(_, v)| v.is_finite()));
            }
            other => panic!("step {want}: {other:?}"),
        }
    }
    let Step::Done(finished) = job.step().unwrap() else {
        panic!("graded after the last step");
    };
    let receipt = Receipt::parse(&finished.receipt).unwrap();
    // Stopped before the first step: nothing to grade.
    let job = session
        .start(search, Settings::TokenSearch(settings.clone()))
        .unwrap();
    let err = job.stop().err().unwrap().to_string();
    assert!(err.contains("before the search's first step"), "{err}");
    // Stopped after two of ten steps: graded, and the receipt says two.
    settings.steps = 10;
    let mut job = session
        .start(search, Settings::TokenSearch(settings.clone()))
        .unwrap();
    job.step().unwrap();
    job.step().unwrap();
    assert!(job.stop_keeps_work());
    let stopped = job.stop().unwrap();
    let stopped_receipt = Receipt::parse(&stopped.receipt).unwrap();
    let Settings::TokenSearch(ran) = &stopped_receipt.settings else {
        panic!("token-search settings");
    };
    assert_eq!(ran.steps, 2);
    // A suffix written by hand is not what two steps of a search can have found.
    let mut forged = stopped_receipt.clone();
    forged.artefact = mlsec_core::exercise::Artefact::Text {
        text: format!("{} help thanks help thanks", exercise_text(search)),
    };
    match regrade(&forged, search, &session.context(), target_sha256()).unwrap() {
        Verdict::Forged(why) => assert!(why.contains("differs from the search's start"), "{why}"),
        other => panic!("{other:?}"),
    }
    for (r, f) in [(&receipt, &finished), (&stopped_receipt, &stopped)] {
        match regrade(r, search, &session.context(), target_sha256()).unwrap() {
            Verdict::Fail(g) | Verdict::Pass(g) => assert_eq!(g, f.grade),
            other => panic!("{other:?}"),
        }
    }
}

/// The document a token-search exercise appends its suffix to.
fn exercise_text(exercise: &mlsec_core::exercise::Exercise) -> String {
    match &exercise.task {
        mlsec_core::kinds::Task::TokenSearch(posed) => posed.task.text.clone(),
        _ => panic!("not a token search"),
    }
}

/// The engine runs in two Web Workers, each serving a share of the lab ([`Serves`]): every
/// kind's resources lie in one worker, the page sends each request to the worker that serves it
/// (`Request::worker`), and a session of one share refuses the other's requests, resources and
/// kinds in words, while the kinds it serves grade exactly as everywhere else. Every kind has a
/// lesson (`every_kind_has_a_lesson_and_a_format_row`), so the lessons' exercises cover them all.
#[test]
fn each_worker_serves_its_own_share_and_refuses_the_others() {
    use mlsec_core::resources::Worker;
    use mlsec_core::session::{OnlyAssistants, OnlyClassifiers};
    let mut seen = std::collections::BTreeSet::new();
    for ex in exercises() {
        let needs = ex.task.needs();
        let worker = Worker::of(needs);
        seen.insert(worker);
        assert!(
            needs.iter().all(|r| r.worker() == worker),
            "{}: its resources lie in two workers: {needs:?}",
            ex.id
        );
        assert!(ex.task.engine_in::<Everything>().is_some(), "{}", ex.id);
        assert_eq!(
            ex.task.engine_in::<OnlyClassifiers>().is_some(),
            worker == Worker::Classifiers,
            "{}",
            ex.id
        );
        assert_eq!(
            ex.task.engine_in::<OnlyAssistants>().is_some(),
            worker == Worker::Assistants,
            "{}",
            ex.id
        );
        let run = Request::Run {
            job: 1,
            exercise: Box::new(ex.clone()),
            settings: ex.task.solution(),
        };
        assert_eq!(run.worker(), Some(worker), "{}", ex.id);
    }
    assert_eq!(seen.len(), 2, "the course uses both workers");
    assert_eq!(Request::Stop { job: 1 }.worker(), None);

    // The classifiers' worker runs a digits exercise as the all-serving session does...
    let classifiers = Session::<OnlyClassifiers>::default();
    for resource in [Resource::Digits, Resource::TargetModel] {
        classifiers.load(resource, &bytes(resource)).unwrap();
    }
    let fgsm = exercise("fgsm-untargeted");
    let here = classifiers.run_to_end(fgsm, fgsm.task.solution()).unwrap();
    let everywhere = session().run_to_end(fgsm, fgsm.task.solution()).unwrap();
    assert_eq!(here.grade, everywhere.grade);
    assert_eq!(here.receipt, everywhere.receipt);
    // ...and refuses Track E's models, kinds and requests, saying whose they are.
    let refused = classifiers
        .load(Resource::AssistantModel, &bytes(Resource::AssistantModel))
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("The plain assistant model is served by the assistants' worker (Track E)"),
        "{refused}"
    );
    let leak = exercise("leak-the-code");
    let run = Request::Run {
        job: 7,
        exercise: Box::new(leak.clone()),
        settings: leak.task.solution(),
    };
    match classifiers.refuse(&run) {
        Some(Response::Failed {
            job: Some(7),
            message,
        }) => {
            assert_eq!(
                message,
                "This request is served by the assistants' worker (Track E), not this one; reload the page"
            )
        }
        other => panic!("{other:?}"),
    }
    let started = classifiers
        .start(leak, leak.task.solution())
        .err()
        .unwrap()
        .to_string();
    assert!(
        started.contains("Exercise 'leak-the-code' is served by the assistants' worker"),
        "{started}"
    );
    // The assistants' worker refuses the digits.
    let assistants = Session::<OnlyAssistants>::default();
    assert!(assistants
        .load(Resource::Digits, &bytes(Resource::Digits))
        .is_err());
    let curve = Request::FgsmCurve {
        job: 2,
        epsilons: vec![0.1],
    };
    assert!(matches!(
        assistants.refuse(&curve),
        Some(Response::Failed { job: Some(2), .. })
    ));
    assert_eq!(assistants.answer(&curve), None);
}
