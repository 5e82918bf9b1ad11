//! Browser tests (wasm-bindgen-test in headless Chromium): the localStorage backend, the worker
//! message codec, and that the engine gives the same results in the browser as natively.
#![cfg(target_arch = "wasm32")]

use gloo::worker::Codec;
use mlsec_core::course::parse_lesson;
use mlsec_core::exercise::{Artefact, Base64};
use mlsec_core::progress::{KeyValueStore, ProgressBook, StoreError, BACKUP_KEY, STORE_KEY};
use mlsec_core::resources::Resource;
use mlsec_core::session::{Request, Response, Session};
use mlsec_lab::storage::LocalStorage;
use mlsec_lab::worker::JsonCodec;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const DIGITS: &[u8] = include_bytes!("../assets/digits/digits.csv.gz");
const TARGET: &[u8] = include_bytes!("../assets/models/digits-mlp.safetensors");
const GOLDEN: &str = include_str!("golden/determinism.json");

fn clear() {
    web_sys::window()
        .unwrap()
        .local_storage()
        .unwrap()
        .unwrap()
        .clear()
        .unwrap();
}

#[wasm_bindgen_test]
fn local_storage_round_trip() {
    clear();
    let mut store = LocalStorage;
    assert_eq!(store.get("mlsec-test").unwrap(), None);
    store.set("mlsec-test", "value").unwrap();
    assert_eq!(store.get("mlsec-test").unwrap().as_deref(), Some("value"));
}

#[wasm_bindgen_test]
fn corrupt_store_is_backed_up_not_lost() {
    clear();
    LocalStorage
        .set(STORE_KEY, "{ this is not progress")
        .unwrap();
    let book = ProgressBook::open(LocalStorage);
    assert!(book
        .notice
        .as_deref()
        .unwrap()
        .contains("could not be read"));
    assert_eq!(
        LocalStorage.get(BACKUP_KEY).unwrap().as_deref(),
        Some("{ this is not progress")
    );
    assert!(book.progress().exercises.is_empty());
}

#[wasm_bindgen_test]
fn full_storage_is_reported_as_full_and_progress_stays_in_memory() {
    clear();
    // Chromium gives a site about 5 MB of localStorage; 6 M characters cannot fit.
    let huge = "x".repeat(6 << 20);
    assert_eq!(LocalStorage.set("mlsec-huge", &huge), Err(StoreError::Full));
    let mut book = ProgressBook::open(LocalStorage);
    // Fill the quota to the last few bytes so the next save fails.
    let mut filler = 0;
    for chunk in [512 << 10, 32 << 10, 2 << 10, 128, 8, 1] {
        while LocalStorage
            .set(&format!("f{filler}"), &"y".repeat(chunk))
            .is_ok()
        {
            filler += 1;
        }
    }
    let grade = mlsec_core::grade::Grade::from_figures(vec![], "");
    book.update(|p| p.record_attempt("fgsm-untargeted", &grade));
    assert!(book.notice.as_deref().unwrap().contains("storage is full"));
    assert!(book.progress().record("fgsm-untargeted").passed);
    clear();
}

fn fgsm_lesson() -> mlsec_core::course::Lesson {
    parse_lesson(
        "fgsm",
        include_str!("../lessons/fgsm/lesson.md"),
        include_str!("../lessons/fgsm/exercises.toml"),
    )
    .unwrap()
}

#[wasm_bindgen_test]
fn worker_messages_survive_the_codec() {
    let exercise = fgsm_lesson().exercises[0].clone();
    let request = Request::Run {
        job: 7,
        settings: exercise.task.solution(),
        exercise: Box::new(exercise),
    };
    let back: Request = JsonCodec::decode(JsonCodec::encode(&request));
    assert_eq!(back, request);
    let response = Response::Failed {
        job: None,
        message: "boom".into(),
    };
    let back: Response = JsonCodec::decode(JsonCodec::encode(&response));
    assert_eq!(back, response);
    for resource in Resource::ALL {
        let load = Request::Load {
            resource,
            bytes: Base64(vec![0, 255, 1]),
        };
        assert_eq!(JsonCodec::decode::<Request>(JsonCodec::encode(&load)), load);
        let loaded = Response::Loaded { resource };
        assert_eq!(
            JsonCodec::decode::<Response>(JsonCodec::encode(&loaded)),
            loaded
        );
    }

    // Track E: nested defences in the task and the settings, progress, and a graded table.
    for lesson in [
        parse_lesson(
            "defend-injection",
            include_str!("../lessons/defend-injection/lesson.md"),
            include_str!("../lessons/defend-injection/exercises.toml"),
        ),
        parse_lesson(
            "adaptive-attack",
            include_str!("../lessons/adaptive-attack/lesson.md"),
            include_str!("../lessons/adaptive-attack/exercises.toml"),
        ),
    ] {
        let exercise = lesson.unwrap().exercises[0].clone();
        let request = Request::Run {
            job: 8,
            settings: exercise.task.solution(),
            exercise: Box::new(exercise),
        };
        assert_eq!(
            JsonCodec::decode::<Request>(JsonCodec::encode(&request)),
            request
        );
    }
    let progress = Response::Progress {
        job: 8,
        done: 2,
        total: 5,
        label: "tool confirmation".into(),
    };
    assert_eq!(
        JsonCodec::decode::<Response>(JsonCodec::encode(&progress)),
        progress
    );
    let done = Response::Done {
        job: 8,
        grade: mlsec_core::grade::Grade::rejected("x"),
        receipt: "{}".into(),
        stopped: false,
        details: mlsec_core::exercise::Details::Defences(vec![mlsec_core::defence::DefenceRow {
            name: "no defence".into(),
            attack_success: 1.0,
            utility: 0.98,
        }]),
    };
    assert_eq!(
        JsonCodec::decode::<Response>(JsonCodec::encode(&done)),
        done
    );
}

#[wasm_bindgen_test]
fn damaged_data_is_refused_with_a_clear_message() {
    let mut damaged = DIGITS.to_vec();
    damaged[100] ^= 1;
    let err = Session::with(&[
        (Resource::Digits, &damaged),
        (Resource::TargetModel, TARGET),
    ])
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("damaged or was replaced"), "{err}");
    let err = Session::with(&[
        (Resource::Digits, DIGITS),
        (Resource::TargetModel, &b"not a model"[..]),
    ])
    .err()
    .unwrap()
    .to_string();
    assert!(
        err.contains("digits-mlp.safetensors") && err.contains("damaged or was replaced"),
        "{err}"
    );
}

/// The same seed gives the same starting model bit for bit and the same grades and Track E
/// results in the browser as natively: `golden::compute` here and in the native `determinism`
/// test must both give tests/golden. (Trained weights agree to rounding only: native matrix
/// kernels use fused multiply-add, WebAssembly SIMD does not, so receipts carry the hash of the
/// weights graded.)
#[wasm_bindgen_test]
async fn same_results_as_native() {
    let golden: serde_json::Value = serde_json::from_str(GOLDEN).unwrap();
    let session = Session::with(&[
        (Resource::Digits, DIGITS),
        (Resource::TargetModel, TARGET),
        (
            Resource::SmsSpam,
            include_bytes!("../assets/spam/sms-spam.tsv.gz"),
        ),
        (
            Resource::Census,
            include_bytes!("../assets/adult/adult.tsv.gz"),
        ),
        (
            Resource::AssistantModel,
            include_bytes!("../assets/models/assistant-assistant.safetensors"),
        ),
        (
            Resource::StructuredModel,
            include_bytes!("../assets/models/assistant-structured.safetensors"),
        ),
    ])
    .unwrap();
    let lesson = |id: &str| {
        let (md, toml) = match id {
            "first-model" => (
                include_str!("../lessons/first-model/lesson.md"),
                include_str!("../lessons/first-model/exercises.toml"),
            ),
            "fgsm" => (
                include_str!("../lessons/fgsm/lesson.md"),
                include_str!("../lessons/fgsm/exercises.toml"),
            ),
            "direct-injection" => (
                include_str!("../lessons/direct-injection/lesson.md"),
                include_str!("../lessons/direct-injection/exercises.toml"),
            ),
            "label-flipping" => (
                include_str!("../lessons/label-flipping/lesson.md"),
                include_str!("../lessons/label-flipping/exercises.toml"),
            ),
            "backdoor" => (
                include_str!("../lessons/backdoor/lesson.md"),
                include_str!("../lessons/backdoor/exercises.toml"),
            ),
            "spam-filter" => (
                include_str!("../lessons/spam-filter/lesson.md"),
                include_str!("../lessons/spam-filter/exercises.toml"),
            ),
            "model-inversion" => (
                include_str!("../lessons/model-inversion/lesson.md"),
                include_str!("../lessons/model-inversion/exercises.toml"),
            ),
            "attribute-inference" => (
                include_str!("../lessons/attribute-inference/lesson.md"),
                include_str!("../lessons/attribute-inference/exercises.toml"),
            ),
            "membership-inference" => (
                include_str!("../lessons/membership-inference/lesson.md"),
                include_str!("../lessons/membership-inference/exercises.toml"),
            ),
            "shadow-models" => (
                include_str!("../lessons/shadow-models/lesson.md"),
                include_str!("../lessons/shadow-models/exercises.toml"),
            ),
            "dp-sgd" => (
                include_str!("../lessons/dp-sgd/lesson.md"),
                include_str!("../lessons/dp-sgd/exercises.toml"),
            ),
            "find-poisons" => (
                include_str!("../lessons/find-poisons/lesson.md"),
                include_str!("../lessons/find-poisons/exercises.toml"),
            ),
            "defend-injection" => (
                include_str!("../lessons/defend-injection/lesson.md"),
                include_str!("../lessons/defend-injection/exercises.toml"),
            ),
            "adaptive-attack" => (
                include_str!("../lessons/adaptive-attack/lesson.md"),
                include_str!("../lessons/adaptive-attack/exercises.toml"),
            ),
            "token-search" => (
                include_str!("../lessons/token-search/lesson.md"),
                include_str!("../lessons/token-search/exercises.toml"),
            ),
            other => panic!("golden::LESSONS has {other}, which this test does not embed"),
        };
        parse_lesson(id, md, toml)
    };
    // Part by part, handing the renderer back in between: all at once held it for about 30 s,
    // and ChromeDriver gives up on a renderer that does not answer for 30 s.
    let sources = mlsec_core::golden::Sources {
        session: &session,
        lesson: &lesson,
    };
    let mut computed = serde_json::Map::new();
    for part in mlsec_core::golden::PARTS {
        part(&sources, &mut computed).unwrap();
        gloo::timers::future::TimeoutFuture::new(0).await;
    }
    assert_eq!(
        computed.len(),
        golden.as_object().unwrap().len() - 1,
        "every figure but the comment"
    );
    let differences = mlsec_core::golden::differences(&computed, &golden);
    assert!(differences.is_empty(), "{differences:#?}");
}

/// A receipt of the reference training run re-grades here on the model re-trained in the
/// browser, which lies within rounding of the natively trained one.
#[wasm_bindgen_test]
fn browser_training_lies_within_rounding_of_native() {
    let session =
        Session::with(&[(Resource::Digits, DIGITS), (Resource::TargetModel, TARGET)]).unwrap();
    let lesson = parse_lesson(
        "first-model",
        include_str!("../lessons/first-model/lesson.md"),
        include_str!("../lessons/first-model/exercises.toml"),
    )
    .unwrap();
    let exercise = &lesson.exercises[0];
    let settings = exercise.task.solution();
    let finished = session.run_to_end(exercise, settings.clone()).unwrap();
    let trained = match mlsec_core::receipt::Receipt::parse(&finished.receipt)
        .unwrap()
        .artefact
    {
        Artefact::Weights { safetensors } => {
            mlsec_core::mlp::Mlp::from_safetensors(&safetensors.0).unwrap()
        }
        other => panic!("train-digits made {other:?}"),
    };
    // Receipts of training exercises are graded on the model their settings train where the
    // grading happens: the weights trained here must lie within rounding of the native ones
    // (the shipped target is train-digits' reference model, trained natively).
    let native = mlsec_core::mlp::Mlp::from_safetensors(TARGET).unwrap();
    let distance = trained.relative_distance(&native).unwrap();
    console_log!(
        "train-digits reference: browser weights lie {distance:e} (relative L2) from native"
    );
    assert!(
        distance <= mlsec_core::kinds::training::RETRAIN_TOLERANCE / 10.0,
        "browser and native training diverged by {distance}"
    );
    // And a receipt carrying the native weights re-grades here as a pass, on the model
    // re-trained in the browser.
    let native_weights = Artefact::Weights {
        safetensors: Base64(TARGET.to_vec()),
    };
    let claimed = exercise
        .task
        .engine()
        .grade(&session.context(), &native_weights)
        .unwrap();
    let receipt = mlsec_core::receipt::Receipt::new(
        exercise,
        &mlsec_core::sha256_hex(TARGET),
        settings,
        native_weights,
        claimed,
    );
    let verdict = mlsec_core::receipt::regrade(
        &receipt,
        exercise,
        &session.context(),
        &mlsec_core::sha256_hex(TARGET),
    )
    .unwrap();
    assert!(verdict.passed(), "{verdict:?}");
}

/// The canvas colours the charts draw their first and second series in (plot.rs's LOSS and
/// ACCURACY).
const ORANGE: [u8; 3] = [214, 90, 49];
const BLUE: [u8; 3] = [38, 110, 200];

/// A chart's canvas in the page's body (which gives it room for its full width).
fn chart_canvas(width: u32, height: u32) -> web_sys::HtmlCanvasElement {
    use wasm_bindgen::JsCast;
    let document = web_sys::window().unwrap().document().unwrap();
    let canvas: web_sys::HtmlCanvasElement = document
        .create_element("canvas")
        .unwrap()
        .dyn_into()
        .unwrap();
    canvas.set_width(width);
    canvas.set_height(height);
    document.body().unwrap().append_child(&canvas).unwrap();
    canvas
}

/// The canvas's pixels, RGBA by row.
fn pixels(canvas: &web_sys::HtmlCanvasElement) -> Vec<u8> {
    use wasm_bindgen::JsCast;
    let ctx: web_sys::CanvasRenderingContext2d = canvas
        .get_context("2d")
        .unwrap()
        .unwrap()
        .dyn_into()
        .unwrap();
    let (w, h) = (canvas.width() as f64, canvas.height() as f64);
    ctx.get_image_data(0.0, 0.0, w, h).unwrap().data().0
}

/// How many pixels within `box_` (x0, y0, x1, y1) are close to `colour`.
fn near(
    canvas: &web_sys::HtmlCanvasElement,
    colour: [u8; 3],
    (x0, y0, x1, y1): (u32, u32, u32, u32),
) -> usize {
    let (data, width) = (pixels(canvas), canvas.width());
    let mut count = 0;
    for y in y0..y1 {
        for x in x0..x1 {
            let i = ((y * width + x) * 4) as usize;
            let distance: i32 = (0..3)
                .map(|c| (data[i + c] as i32 - colour[c] as i32).abs())
                .sum();
            count += usize::from(distance < 60);
        }
    }
    count
}

#[wasm_bindgen_test]
fn a_chart_puts_its_figures_where_its_axes_say() {
    use mlsec_core::train::EpochReport;
    use mlsec_lab::plot;
    // A loss of 1 on a left axis to 1.1, an accuracy of 0.5 on the right axis to 1, over 20
    // epochs. The plot spans x 55.5..408.5 and y 10.5..192.5 of a 480 × 240 canvas (label areas
    // 45 left, 62 right, 38 below, a margin of 10, and edges at half pixels).
    let reports: Vec<EpochReport> = (1..=20)
        .map(|epoch| EpochReport {
            epoch,
            epochs: 20,
            train_loss: 1.0,
            train_accuracy: 0.5,
            test_accuracy: 0.5,
        })
        .collect();
    let canvas = chart_canvas(480, 240);
    plot::training_curves(canvas.clone(), &reports, 20).unwrap();
    let (x_mid, loss_y, accuracy_y) = (55 + 353 / 2, 192 - (182.0 / 1.1) as u32, 192 - 91);
    // The loss line, solid, at its height and nowhere far from it.
    assert!(
        near(
            &canvas,
            ORANGE,
            (x_mid - 2, loss_y - 2, x_mid + 2, loss_y + 3)
        ) > 0
    );
    assert_eq!(
        near(&canvas, ORANGE, (x_mid - 2, loss_y + 10, x_mid + 2, 192)),
        0
    );
    // The accuracy line, dashed (6 on, 4 off): about 6 of every 10 pixels along it.
    let dashed = near(
        &canvas,
        BLUE,
        (x_mid - 20, accuracy_y, x_mid + 20, accuracy_y + 1),
    );
    assert!((16..=32).contains(&dashed), "{dashed} of 40");
    // The ground is white, and the left axis is drawn in black.
    assert_eq!(&pixels(&canvas)[..4], &[255, 255, 255, 255]);
    assert_eq!(near(&canvas, [0, 0, 0], (55, 20, 56, 180)), 160);
    canvas.remove();
}

/// A chart drawn on the canvas it is given, with its figures (`true`) or with none (`false`:
/// its frame, guides and legend only).
type Draw = Box<dyn Fn(web_sys::HtmlCanvasElement, bool) -> Option<()>>;

/// `figures` when a chart is drawn with them, else none.
fn or_none<T>(with: bool, figures: &[T]) -> &[T] {
    if with {
        figures
    } else {
        &[]
    }
}

#[wasm_bindgen_test]
fn every_chart_draws_its_series() {
    use mlsec_core::defence::DefenceRow;
    use mlsec_core::kinds::poisoning::ModelBars;
    use mlsec_core::kinds::spam_backdoor::FilterBars;
    use mlsec_lab::plot;
    const CURVE: [(f32, f32); 4] = [(0.0, 0.0), (0.01, 0.2), (0.1, 0.6), (1.0, 1.0)];
    let row = |a, u| DefenceRow {
        name: "x".into(),
        attack_success: a,
        utility: u,
    };
    let defences = [row(0.9, 1.0), row(0.1, 0.9)];
    let bars = |a, s| ModelBars {
        model: "m".into(),
        clean_accuracy: a,
        attack_success: s,
    };
    let models = [bars(0.95, 0.05), bars(0.94, 0.97)];
    let filters = [FilterBars {
        model: "m".into(),
        spam_caught: 0.9,
        let_through: 0.8,
        ham_blocked: 0.01,
    }];
    let charts: Vec<(&str, Draw, [u8; 3])> = vec![
        (
            "search",
            Box::new(|c, w| {
                plot::search_curves(
                    c,
                    or_none(w, &[(2.0, Some(0.9)), (1.0, Some(0.4))]),
                    10,
                    Some(0.5),
                )
            }),
            ORANGE,
        ),
        (
            "success",
            Box::new(|c, w| {
                plot::success_curve(
                    c,
                    or_none(w, &[(0.05, 0.1), (0.1, 0.5), (0.2, 0.9)]),
                    0.2,
                    0.8,
                )
            }),
            ORANGE,
        ),
        (
            "defence",
            Box::new(move |c, w| plot::defence_chart(c, or_none(w, &defences), 0.2, 0.8)),
            BLUE,
        ),
        (
            "backdoor",
            Box::new(move |c, w| plot::backdoor_chart(c, or_none(w, &models), 0.9)),
            ORANGE,
        ),
        (
            "spam",
            Box::new(move |c, w| plot::spam_chart(c, or_none(w, &filters), 0.5)),
            BLUE,
        ),
        (
            "scores",
            Box::new(|c, w| {
                let bins = plot::score_bins(or_none(w, &[0.1, 0.2, 0.2, 0.3, 0.9]), Some(0.5));
                plot::score_histogram(c, &bins, Some(0.5))
            }),
            BLUE,
        ),
        (
            "roc",
            Box::new(|c, w| {
                plot::roc_curve(
                    c,
                    or_none(w, &CURVE),
                    ["no", "yes"],
                    w.then_some((0.1, 0.6)),
                )
            }),
            ORANGE,
        ),
        (
            "roc log",
            Box::new(|c, w| {
                let curve = or_none(w, &CURVE);
                plot::roc_log(c, &[("attack", curve), ("loss", curve)], 250, 0.01)
            }),
            ORANGE,
        ),
        (
            "tradeoff",
            Box::new(|c, w| {
                let runs = [(6.0, 0.85, true), (f64::INFINITY, 0.95, false)];
                plot::tradeoff(c, or_none(w, &runs), 8.0, 0.8)
            }),
            BLUE,
        ),
        (
            "losses",
            Box::new(|c, w| {
                let bins = plot::loss_bins(
                    or_none(w, &[1e-4, 2e-4, 1e-3]),
                    or_none(w, &[0.1, 0.5, 2.0]),
                );
                plot::loss_histograms(c, &bins, Some(0.01))
            }),
            BLUE,
        ),
        (
            "pass rates",
            Box::new(|c, w| plot::pass_rates(c, or_none(w, &[1.0, 0.5, 0.0]))),
            BLUE,
        ),
        (
            "strip",
            Box::new(|c, w| {
                plot::figure_strip(c, or_none(w, &[0.2, 0.5, 0.9, f64::NAN]), 0.6, "figure")
            }),
            BLUE,
        ),
    ];
    // The series' colour also marks its legend's swatch: what counts is what the figures add.
    for (name, draw, colour) in charts {
        let drawn = |with: bool| {
            let canvas = chart_canvas(480, 240);
            assert_eq!(draw(canvas.clone(), with), Some(()), "{name}");
            let count = near(&canvas, colour, (0, 0, 480, 240));
            canvas.remove();
            count
        };
        let (with, without) = (drawn(true), drawn(false));
        assert!(
            with > without + 20,
            "{name}: {with} pixels of its series' colour, {without} without its figures"
        );
    }
}
