//! Browser timings of the budgeted workloads, in headless Chromium's WebAssembly engine:
//! `cargo xtask bench` runs this with `--include-ignored` and reads the JSON line it logs.
//! Ignored in the normal test run: it is a benchmark, and asserts nothing about speed.
#![cfg(target_arch = "wasm32")]

use mlsec_core::digits::Digits;
use mlsec_core::mlp::Mlp;
use mlsec_core::session::Step;
use mlsec_core::workloads::{
    assistant_decode, assistant_prompts, invert_digits, pgd_test_set, train_digits,
    train_digits_private,
};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn now() -> f64 {
    web_sys::window().unwrap().performance().unwrap().now()
}

/// Lets the event loop in: the test driver gives up on a page that does not answer for 30 s,
/// and the workloads together take longer than that.
async fn breathe() {
    gloo::timers::future::TimeoutFuture::new(0).await;
}

/// [`median_ms`] with the event loop let in before every run (a run of seven grades of a few
/// seconds each, all at once, held the page past the driver's 30 s).
async fn median_ms_breathing(runs: usize, mut time: impl FnMut() -> f64) -> f64 {
    let mut samples = Vec::with_capacity(runs + 2);
    for _ in 0..runs.max(1) + 2 {
        breathe().await;
        samples.push(time());
    }
    // The first two are warm-ups, as in median_ms.
    let mut samples = samples.split_off(2);
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

#[wasm_bindgen_test]
#[ignore]
async fn workloads_in_the_browser() {
    let digits = Digits::from_csv_gz(include_bytes!("../assets/digits/digits.csv.gz")).unwrap();
    let target =
        Mlp::from_safetensors(include_bytes!("../assets/models/digits-mlp.safetensors")).unwrap();
    let mut accuracy = 0.0;
    let train_ms = median_ms_breathing(7, || {
        let t = now();
        accuracy = train_digits(&digits).unwrap();
        now() - t
    })
    .await;
    breathe().await;
    let dp_train_ms = median_ms_breathing(5, || {
        let t = now();
        train_digits_private(&digits).unwrap();
        now() - t
    })
    .await;
    breathe().await;
    let mut robust = 0.0;
    let pgd_ms = median_ms_breathing(7, || {
        let t = now();
        robust = pgd_test_set(&digits, &target).unwrap();
        now() - t
    })
    .await;
    breathe().await;
    let inversion_ms = median_ms_breathing(7, || {
        let t = now();
        invert_digits(&digits, &target).unwrap();
        now() - t
    })
    .await;
    breathe().await;
    let assistant = mlsec_assistant::Gpt::from_safetensors(include_bytes!(
        "../assets/models/assistant-assistant.safetensors"
    ))
    .unwrap()
    .0;
    let prompts = assistant_prompts(mlsec_assistant::Variant::Assistant);
    // A warm-up, then five timed decodes with the event loop let in before each: six decodes
    // at once held the page past the driver's 30 s on a slow day.
    assistant_decode(&assistant, &prompts, now).unwrap();
    let mut runs = Vec::with_capacity(5);
    for _ in 0..5 {
        breathe().await;
        runs.push(assistant_decode(&assistant, &prompts, now).unwrap());
    }
    runs.sort_by(|a, b| a.tokens_per_s.total_cmp(&b.tokens_per_s));
    let decode = runs[runs.len() / 2];
    // Track B: one full grade of each poisoning reference (the recipe trained on clean and on
    // poisoned data, then both evaluated), as the worker runs it.
    let session = mlsec_core::session::Session::with(&[
        (
            mlsec_core::resources::Resource::Digits,
            include_bytes!("../assets/digits/digits.csv.gz"),
        ),
        (
            mlsec_core::resources::Resource::SmsSpam,
            include_bytes!("../assets/spam/sms-spam.tsv.gz"),
        ),
    ])
    .unwrap();
    let grade_ms = |id: &str, md: &str, toml: &str| {
        let lesson = mlsec_core::course::parse_lesson(id, md, toml).unwrap();
        let session = &session;
        async move {
            let exercise = &lesson.exercises[0];
            median_ms_breathing(5, || {
                let t = now();
                let finished = session
                    .run_to_end(exercise, exercise.task.solution())
                    .unwrap();
                assert!(finished.grade.passed);
                now() - t
            })
            .await
        }
    };
    breathe().await;
    let flip_ms = grade_ms(
        "label-flipping",
        include_str!("../lessons/label-flipping/lesson.md"),
        include_str!("../lessons/label-flipping/exercises.toml"),
    )
    .await;
    breathe().await;
    let backdoor_ms = grade_ms(
        "backdoor",
        include_str!("../lessons/backdoor/lesson.md"),
        include_str!("../lessons/backdoor/exercises.toml"),
    )
    .await;
    breathe().await;
    let spam_ms = grade_ms(
        "spam-filter",
        include_str!("../lessons/spam-filter/lesson.md"),
        include_str!("../lessons/spam-filter/exercises.toml"),
    )
    .await;
    breathe().await;
    let membership_ms = grade_ms(
        "membership-inference",
        include_str!("../lessons/membership-inference/lesson.md"),
        include_str!("../lessons/membership-inference/exercises.toml"),
    )
    .await;
    breathe().await;
    let shadow_ms = grade_ms(
        "shadow-models",
        include_str!("../lessons/shadow-models/lesson.md"),
        include_str!("../lessons/shadow-models/exercises.toml"),
    )
    .await;
    breathe().await;
    let dp_ms = grade_ms(
        "dp-sgd",
        include_str!("../lessons/dp-sgd/lesson.md"),
        include_str!("../lessons/dp-sgd/exercises.toml"),
    )
    .await;
    breathe().await;
    let find_ms = grade_ms(
        "find-poisons",
        include_str!("../lessons/find-poisons/lesson.md"),
        include_str!("../lessons/find-poisons/exercises.toml"),
    )
    .await;
    breathe().await;
    // Track E's token search: the reference search and its grade, as the worker runs them.
    let assistants = mlsec_core::session::Session::with(&[
        (
            mlsec_core::resources::Resource::AssistantModel,
            include_bytes!("../assets/models/assistant-assistant.safetensors"),
        ),
        (
            mlsec_core::resources::Resource::StructuredModel,
            include_bytes!("../assets/models/assistant-structured.safetensors"),
        ),
    ])
    .unwrap();
    let search_ms = {
        let lesson = mlsec_core::course::parse_lesson(
            "token-search",
            include_str!("../lessons/token-search/lesson.md"),
            include_str!("../lessons/token-search/exercises.toml"),
        )
        .unwrap();
        let exercise = &lesson.exercises[0];
        // Three runs of ten to twenty-five seconds each, step by step as the worker runs them,
        // with the event loop let in about once a second: one run held in a single call passed
        // the driver's 30 s on a slow day.
        let mut samples = Vec::new();
        for _ in 0..3 {
            breathe().await;
            let t = now();
            let mut job = assistants
                .start(exercise, exercise.task.solution())
                .unwrap();
            let mut breathed = t;
            let finished = loop {
                if let Step::Done(finished) = job.step().unwrap() {
                    break finished;
                }
                if now() - breathed > 1000.0 {
                    breathe().await;
                    breathed = now();
                }
            };
            assert!(finished.grade.passed);
            samples.push(now() - t);
        }
        samples.sort_by(f64::total_cmp);
        samples[1]
    };
    breathe().await;
    console_log!(
        "BENCH {{\"wasm_train_ms\": {train_ms:.1}, \"wasm_pgd_ms\": {pgd_ms:.1}, \"train_accuracy\": {accuracy:.4}, \"pgd_robust_accuracy\": {robust:.4}, \"wasm_first_token_ms\": {:.1}, \"wasm_tokens_per_s\": {:.0}, \"decode_tokens\": {}, \"wasm_label_flip_grade_ms\": {flip_ms:.1}, \"wasm_backdoor_grade_ms\": {backdoor_ms:.1}, \"wasm_find_poisons_grade_ms\": {find_ms:.1}, \"wasm_spam_grade_ms\": {spam_ms:.1}, \"wasm_membership_grade_ms\": {membership_ms:.1}, \"wasm_shadow_grade_ms\": {shadow_ms:.1}, \"wasm_dp_train_ms\": {dp_train_ms:.1}, \"wasm_dp_grade_ms\": {dp_ms:.1}, \"wasm_inversion_ms\": {inversion_ms:.1}, \"wasm_token_search_ms\": {search_ms:.1}}}",
        decode.first_token_ms, decode.tokens_per_s, decode.tokens
    );
}
