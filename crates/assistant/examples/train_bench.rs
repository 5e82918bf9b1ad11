//! Times the parts of a training step and greedy decoding for the standard configuration.
//! `RAYON_NUM_THREADS=1 cargo run -p mlsec-assistant --release --example train_bench [steps]`

use mlsec_assistant::model::Gpt;
use mlsec_assistant::train::{batch_loss, Suite, TrainConfig, Trainer};
use mlsec_assistant::Variant;
use std::time::Instant;

fn main() {
    let steps: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let cfg = TrainConfig::recipe(Variant::Assistant);
    let model = Gpt::init(cfg.model, 1).unwrap();
    println!("parameters: {}", model.param_count());
    let bucket: u32 = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(cfg.bucket_batches);
    let mut trainer = Trainer::new(TrainConfig {
        episodes: 5_000,
        bucket_batches: bucket,
        ..cfg.clone()
    })
    .unwrap();
    let (mut fwd, mut bwd, mut tokens, mut padded) = (0f64, 0f64, 0usize, 0usize);
    for _ in 0..steps {
        let batch = trainer.next_batch();
        tokens += batch.real_tokens;
        padded += batch.rows * batch.width;
        let t = Instant::now();
        let loss = batch_loss(&model, &batch).unwrap();
        let _ = loss.to_scalar::<f32>().unwrap();
        fwd += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let _grads = loss.backward().unwrap();
        bwd += t.elapsed().as_secs_f64();
    }
    println!(
        "padding: {tokens} real tokens in {padded} slots ({:.1}%)",
        100.0 * tokens as f64 / padded as f64
    );
    println!(
        "{steps} batches of {}: forward {:.1} ms, backward {:.1} ms per step; {:.0} tokens/s (no optimiser)",
        cfg.batch_size,
        fwd * 1e3 / steps as f64,
        bwd * 1e3 / steps as f64,
        tokens as f64 / (fwd + bwd)
    );
    let suite = Suite::Benign.episodes(1, 20);
    let t = Instant::now();
    let mut n = 0;
    for e in &suite {
        n += model
            .generate(&e.prompt_tokens(Variant::Assistant), 16)
            .unwrap()
            .len();
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "decoding: {} episodes, {n} tokens in {:.1} ms ({:.0} tokens/s)",
        suite.len(),
        s * 1e3,
        n as f64 / s
    );
}
