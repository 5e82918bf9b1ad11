//! The two workloads DESIGN.md §4 budgets, defined once so the native benchmark
//! (`crates/core/benches/workloads.rs`), the browser benchmark (`tests/bench.rs`) and the
//! PyTorch reference (`bench/pytorch_workloads.py`) all time the same thing.

use crate::attacks::{pgd, PgdConfig};
use crate::digits::Digits;
use crate::mlp::Mlp;
use crate::train::{train, TrainConfig};
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
