//! Track E's defences: each one does what it says, the detector trains the same way every time,
//! and the defend grader compares a composition with the undefended assistant.

mod common;

use common::{artefact, assistants, ctx, exercise, Which};
use mlsec_assistant::world::{generate, Mix, Split};
use mlsec_assistant::{benign_success, injection_success, GoalKind, Variant, Vocab, REFUSAL};
use mlsec_core::defence::{measure, suites, Defences, Deployment, Detector, DetectorSettings};
use mlsec_core::exercise::{Artefact, Details};
use mlsec_core::resources::Resource;

fn detector_settings() -> DetectorSettings {
    DetectorSettings::default()
}

fn with(edit: impl FnOnce(&mut Defences)) -> Defences {
    let mut d = Defences::none();
    edit(&mut d);
    d
}

fn refusal() -> Vec<u32> {
    Vocab::get().encode(REFUSAL)
}

#[test]
fn the_detector_trains_deterministically_and_separates_naive_injections() {
    let a = Detector::train(&detector_settings());
    assert_eq!(a, Detector::train(&detector_settings()));
    let (attacks, benign) = suites(5, 100, 100);
    let v = Vocab::get();
    let score = |e: &mlsec_assistant::Episode| a.score(&v.encode(&e.data));
    assert!(attacks.iter().filter(|e| score(e) >= 0.5).count() >= 97);
    assert!(benign.iter().filter(|e| score(e) < 0.5).count() >= 97);
    // One epoch barely moves it off 0.5: training matters.
    let weak = Detector::train(&DetectorSettings {
        epochs: 1,
        ..detector_settings()
    });
    assert!(attacks
        .iter()
        .all(|e| (weak.score(&v.encode(&e.data)) - 0.5).abs() < 0.1));
}

#[test]
fn output_filter_and_tool_confirmation_stop_what_they_cover_and_nothing_else() {
    let (attacks, _benign) = suites(7, 120, 0);
    let m = assistants();
    let plain = Defences::none();
    let filter = with(|d| d.output_filter = true);
    let confirm = with(|d| d.confirm_tools = true);
    let (plain, filter, confirm) = (
        Deployment::new(&plain, m).unwrap(),
        Deployment::new(&filter, m).unwrap(),
        Deployment::new(&confirm, m).unwrap(),
    );
    let mut filtered = 0;
    let mut confirmed = 0;
    for e in &attacks {
        let raw = plain.answer(e).unwrap();
        if !injection_success(e, &raw.reply) {
            continue;
        }
        let goal = e.injection.as_ref().unwrap().goal.kind();
        let f = filter.answer(e).unwrap();
        let c = confirm.answer(e).unwrap();
        match goal {
            GoalKind::Reveal | GoalKind::Image | GoalKind::Exfiltrate => {
                assert_eq!(f.reply, refusal(), "{e:?}");
                assert_eq!(f.stopped_by, Some("output filter"));
                filtered += 1;
            }
            // The key sentence sent to an outsider carries no code: the filter lets it pass.
            GoalKind::Forward => assert_eq!(f.reply, raw.reply),
            _ => {}
        }
        match goal {
            GoalKind::Exfiltrate | GoalKind::Forward => {
                assert_eq!(c.stopped_by, Some("tool confirmation"), "{e:?}");
                confirmed += 1;
            }
            GoalKind::Reveal | GoalKind::Image => assert_eq!(c.reply, raw.reply),
            _ => {}
        }
    }
    assert!(filtered >= 40 && confirmed >= 40, "{filtered} {confirmed}");
    // The user's own e-mails are sent: tool confirmation costs no utility.
    let mix = Mix {
        summarise: 0,
        question: 0,
        search: 0,
        ..Mix::benign()
    };
    for e in generate(Split::Eval, 3, 30, &mix).unwrap() {
        let raw = plain.answer(&e).unwrap();
        let c = confirm.answer(&e).unwrap();
        assert_eq!(raw.reply, c.reply);
        if benign_success(&e, &raw.reply) {
            assert_eq!(c.stopped_by, None);
        }
    }
}

#[test]
fn a_flagged_data_item_is_withheld_with_its_score() {
    let d = with(|d| d.detector = Some(detector_settings()));
    let deployment = Deployment::new(&d, assistants()).unwrap();
    let (attacks, benign) = suites(9, 20, 20);
    for e in &attacks {
        let out = deployment.answer(e).unwrap();
        assert!(out.detector_score.unwrap() >= 0.5);
        assert_eq!(out.stopped_by, Some("input detector"));
        assert_eq!(out.reply, refusal());
    }
    for e in &benign {
        assert!(deployment.answer(e).unwrap().detector_score.unwrap() < 0.5);
    }
}

#[test]
fn the_structured_model_resists_where_prompt_hardening_does_not() {
    let (attacks, benign) = suites(21, 100, 100);
    let m = assistants();
    let row = |d: &Defences| measure("", d, m, &attacks, &benign).unwrap();
    let none = row(&Defences::none());
    let hardened = row(&with(|d| d.harden_prompt = true));
    let structured = row(&with(|d| d.model = Variant::Structured));
    assert!(none.attack_success >= 0.9, "{none:?}");
    assert!(hardened.attack_success >= 0.5, "{hardened:?}");
    assert!(structured.attack_success <= 0.02, "{structured:?}");
    assert!(
        structured.utility >= none.utility - 0.05,
        "{structured:?} vs {none:?}"
    );
}

#[test]
fn the_defend_exercise_reports_a_row_per_defence_and_rejects_bad_detector_numbers() {
    let ex = exercise("defend-the-inbox");
    let all = Defences {
        model: Variant::Structured,
        harden_prompt: true,
        delimit_data: true,
        output_filter: true,
        confirm_tools: true,
        detector: Some(detector_settings()),
    };
    let (grade, details) = ex
        .task
        .engine()
        .evaluate(&ctx(), &Artefact::Defences { defences: all })
        .unwrap();
    let Details::Defences(rows) = details else {
        panic!("no table")
    };
    let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "no defence",
            "structured model",
            "prompt hardening",
            "delimiting",
            "output filter",
            "tool confirmation",
            "input detector",
            "your composition"
        ]
    );
    // Everything at once stops every attack, but the hardened, delimited structured model no
    // longer does its job: the grade says so.
    assert_eq!(rows[7].attack_success, 0.0);
    assert!(
        !grade.passed && grade.message.contains("utility lost"),
        "{}",
        grade.message
    );

    for bad in [f32::NAN, -0.1, 1.5] {
        let d = with(|d| {
            d.detector = Some(DetectorSettings {
                threshold: bad,
                ..detector_settings()
            })
        });
        let (grade, _) = ex
            .task
            .engine()
            .evaluate(&ctx(), &Artefact::Defences { defences: d })
            .unwrap();
        assert!(grade.message.starts_with("Rejected") && grade.message.contains("threshold"));
    }
}

#[test]
fn defend_receipts_name_both_assistant_models_and_regrade() {
    use mlsec_core::receipt::{regrade, Receipt, Verdict};
    let ex = exercise("defend-the-inbox");
    let settings = ex.task.solution();
    let artefact = artefact("defend-the-inbox", Which::Solution).clone();
    let grade = ex.task.engine().grade(&ctx(), &artefact).unwrap();
    let receipt = Receipt::new(ex, "digits", settings, artefact, grade);
    let both = format!(
        "{} {}",
        mlsec_core::injection::ASSISTANT_SHA256,
        mlsec_core::injection::STRUCTURED_SHA256
    );
    assert_eq!(
        receipt.model_sha256,
        mlsec_core::sha256_hex(both.as_bytes())
    );
    let back = Receipt::parse(&receipt.to_json()).unwrap();
    assert!(matches!(
        regrade(&back, ex, &ctx(), "digits").unwrap(),
        Verdict::Pass(_)
    ));
    // The starter's composition claimed as a pass is forged.
    let mut forged = back;
    forged.artefact = Artefact::Defences {
        defences: with(|d| d.harden_prompt = true),
    };
    assert!(matches!(
        regrade(&forged, ex, &ctx(), "digits").unwrap(),
        Verdict::Forged(_)
    ));
}

#[test]
fn the_worker_measures_the_table_row_by_row_and_grades_it_as_evaluate_does() {
    use mlsec_core::session::{Session, Step};
    let session = Session::new();
    let ex = exercise("defend-the-inbox");
    // Without the assistant models the run says so, and stays where it was.
    let mut job = session.start(ex, ex.task.solution()).unwrap();
    assert!(job.step().unwrap_err().to_string().contains("not loaded"));
    for resource in [Resource::AssistantModel, Resource::StructuredModel] {
        let bytes = std::fs::read(std::path::Path::new(common::ROOT).join(resource.path()));
        session.load(resource, &bytes.unwrap()).unwrap();
    }
    let mut names = vec![];
    let mut next = job.announce();
    let finished = loop {
        match next {
            Some(Step::Progress { done, total, label }) => {
                assert_eq!((done as usize, total), (names.len(), 5));
                names.push(label);
            }
            Some(Step::Done(finished)) => break finished,
            other => panic!("{other:?}"),
        }
        next = Some(job.step().unwrap());
    };
    assert_eq!(
        names,
        [
            "no defence",
            "output filter",
            "tool confirmation",
            "input detector",
            "your composition"
        ]
    );
    let (grade, details) = ex
        .task
        .engine()
        .evaluate(&ctx(), &finished.artefact)
        .unwrap();
    assert_eq!(finished.grade, grade);
    assert_eq!(finished.details, details);
    assert!(grade.passed);
    // Stop abandons a measurement: nothing is graded.
    let job = session.start(ex, ex.task.solution()).unwrap();
    assert!(!job.stop_keeps_work());
    assert!(job
        .stop()
        .unwrap_err()
        .to_string()
        .contains("nothing was graded"));
}
