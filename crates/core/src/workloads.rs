//! The workloads DESIGN.md §4 budgets (and DP-SGD's training beside plain training), defined once so the native benchmark
//! (`crates/core/benches/workloads.rs`), the browser benchmark (`tests/bench.rs`) and the
//! PyTorch reference (`bench/pytorch_workloads.py`) all time the same thing.

use crate::attacks::{pgd, PgdConfig};
use crate::digits::Digits;
use crate::dp_sgd::{DpSgd, Sampling};
use crate::inversion::{invert, InversionSettings, StartImage};
use crate::mlp::Mlp;
use crate::train::{train, TrainConfig, Trainer};
use crate::Result;

/// Training the digits MLP: 20 epochs, batch 64, Adam at 0.01, on the 1,437 training images.
pub const TRAIN: TrainConfig = TrainConfig {
    epochs: 20,
    learning_rate: 0.01,
    batch_size: 64,
    seed: 1,
};
/// PGD-40 (untargeted, ε = 0.1, step 0.01) over the 360 test images at once.
pub const PGD: PgdConfig = PgdConfig {
    epsilon: 0.1,
    step_size: 0.01,
    steps: 40,
};

/// Runs the training workload; returns the final test accuracy (so the work cannot be skipped).
pub fn train_digits(digits: &Digits) -> Result<f32> {
    let (model, _) = train(digits, TRAIN, None, |_| true)?;
    model.accuracy(&digits.test)
}

/// DP-SGD on the training workload's recipe (the same epochs and, as the expected batch, the same
/// batch size; C = 1, σ = 1, Poisson sampling), to compare its cost with plain training.
pub const DP_SGD: DpSgd = DpSgd {
    clip_norm: 1.0,
    noise_multiplier: 1.0,
    sampling: Sampling::Poisson,
};

/// Runs the DP-SGD training workload; returns the final test accuracy.
pub fn train_digits_private(digits: &Digits) -> Result<f32> {
    let mut trainer = Trainer::private(digits, TRAIN, DP_SGD)?;
    while !trainer.finished() {
        trainer.run_epoch()?;
    }
    trainer.model().accuracy(&digits.test)
}

/// Model inversion as Track C's reference runs it: all 10 classes at once, 500 steps of size 0.05
/// from the average digit, L2 weight 0.05 towards it.
pub const INVERSION: InversionSettings = InversionSettings {
    steps: 500,
    step_size: 0.05,
    l2: 0.05,
    total_variation: 0.0,
    blur_every: 0,
    jitter: 0,
    start: StartImage::Average,
    seed: 1,
};

/// Runs the inversion workload against `model`; returns the reconstructions' mean pixel.
pub fn invert_digits(digits: &Digits, model: &Mlp) -> Result<f32> {
    let average = crate::kinds::inversion::average_digit(&digits.train);
    let images = invert(model, &average, &INVERSION, |_, _| {})?;
    Ok(images.iter().sum::<f32>() / images.len() as f32)
}

/// Runs the PGD workload against `model`; returns its accuracy on the attacked images.
pub fn pgd_test_set(digits: &Digits, model: &Mlp) -> Result<f32> {
    let attacked = pgd(model, &digits.test.pixels, &digits.test.labels, &PGD, None)?;
    let predicted = model.predict(&attacked)?;
    let correct = predicted
        .iter()
        .zip(&digits.test.labels)
        .filter(|(p, l)| p == l)
        .count();
    Ok(correct as f32 / digits.test.len() as f32)
}

/// Median of `runs` timings (milliseconds) measured by `time`, which runs the workload once,
/// after two untimed warm-up runs (WebAssembly engines tier code up while it runs; the budget is
/// about the steady state, as for PyTorch, whose reference also warms up).
pub fn median_ms(runs: usize, mut time: impl FnMut() -> f64) -> f64 {
    time();
    time();
    let mut samples: Vec<f64> = (0..runs.max(1)).map(|_| time()).collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// The assistant's decoding workload (Track E's budget: first token ≤ 200 ms, ≥ 200 tokens/s in
/// the browser): greedy decoding of the first 20 benign evaluation prompts, laid out for
/// `variant`, as the injection graders run them.
pub fn assistant_prompts(variant: mlsec_assistant::Variant) -> Vec<Vec<u32>> {
    mlsec_assistant::train::Suite::Benign
        .episodes(1, 20)
        .iter()
        .map(|e| e.prompt_tokens(variant))
        .collect()
}

/// Decoding figures of one pass over [`assistant_prompts`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DecodeTimes {
    /// Median time to the first generated token (the whole prompt read, one token out).
    pub first_token_ms: f64,
    /// Tokens generated per second, prompt reading included (what a learner waits for).
    pub tokens_per_s: f64,
    /// Tokens generated (so the work cannot be skipped).
    pub tokens: usize,
}

/// Times the decoding workload with `now` (milliseconds; `performance.now()` in the browser).
pub fn assistant_decode(
    model: &mlsec_assistant::Gpt,
    prompts: &[Vec<u32>],
    now: impl Fn() -> f64,
) -> Result<DecodeTimes> {
    let decode = |p: &[u32], n: usize| {
        model
            .generate(p, n)
            .map_err(|e| crate::Error::InvalidInput(e.to_string()))
    };
    let mut first = Vec::with_capacity(prompts.len());
    for p in prompts {
        let t = now();
        decode(p, 1)?;
        first.push(now() - t);
    }
    first.sort_by(f64::total_cmp);
    let t = now();
    let mut tokens = 0;
    for p in prompts {
        tokens += decode(p, mlsec_assistant::MAX_OUTPUT_TOKENS as usize)?.len();
    }
    let total_ms = now() - t;
    Ok(DecodeTimes {
        first_token_ms: first[first.len() / 2],
        tokens_per_s: tokens as f64 / (total_ms / 1000.0),
        tokens,
    })
}
