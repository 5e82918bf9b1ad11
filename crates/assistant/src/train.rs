//! Training the tiny assistant on generated episodes, and measuring its behaviour.
//!
//! * Data: a pool of [`Split::Train`] episodes of the recipe's mix (deterministic in
//!   `data_seed`), laid out for the chosen [`Variant`] with [`Episode::sequence`]; the pool is
//!   reshuffled every pass with a seeded ChaCha generator.
//! * Batches are padded with `<pad>` to their longest sequence (sequences of similar length are
//!   batched together, see [`TrainConfig::bucket_batches`]); the loss (mean cross-entropy)
//!   covers the target tokens only — each position from `prompt_len − 1` on predicts the next
//!   target token — never the prompt or the padding. Padding sits after every real token, so the
//!   causal mask already hides it from them.
//! * AdamW (weight decay on matrices only), linear warm-up then cosine decay to a floor, global
//!   gradient-norm clipping.
//! * [`Trainer`] runs one step at a time (a caller can report progress and stop between steps);
//!   [`train`] drives it natively and reports loss and tokens/s every `log_every` steps.
//! * [`evaluate`] decodes greedily and scores a suite with the crate's checkers.

use candle_core::{Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::check::{benign_success, follows_injection, injection_success, leaks_secret};
use crate::model::{Gpt, GptConfig, ModelError, Result};
use crate::vocab::ids;
use crate::world::{generate, Episode, Mix, Sequence, Split, Variant, MAX_OUTPUT_TOKENS};

/// A training run's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Which labels and prompt layout.
    pub variant: Variant,
    /// The model's shape.
    pub model: GptConfig,
    /// Optimiser steps.
    pub steps: u32,
    /// Sequences per step.
    pub batch_size: u32,
    /// Peak learning rate (reached at the end of the warm-up).
    pub learning_rate: f64,
    /// Linear warm-up steps (from `learning_rate / warmup_steps`).
    pub warmup_steps: u32,
    /// The cosine decay ends at `learning_rate × final_lr_fraction`.
    pub final_lr_fraction: f64,
    /// AdamW decoupled weight decay (matrices and embeddings only; 0 = none).
    pub weight_decay: f64,
    /// Global gradient-norm clip (0 = none).
    pub grad_clip: f64,
    /// Length bucketing: this many batches' worth of shuffled sequences are sorted by length and
    /// cut into batches (1 = none).
    pub bucket_batches: u32,
    /// Training episodes generated for the pool.
    pub episodes: u32,
    /// What the pool's episodes ask for (the training mix when absent, as before it was a
    /// setting).
    #[serde(default)]
    pub mix: Mix,
    /// Seed of the weights and of the shuffling.
    pub seed: u64,
    /// Seed of the episode generator ([`Split::Train`]).
    pub data_seed: u64,
    /// [`train`] reports every this many steps (and after the last).
    pub log_every: u32,
}

impl TrainConfig {
    /// The recipe of the shipped models. The variants differ in their labels, their mix and the
    /// number of steps: *assistant*, which must follow an instruction wherever it appears, learns
    /// more slowly than *structured* (in the first generation, at 3,000 steps it still answered
    /// "who is the author?" with one fixed name), so it trains for 7,000. The pool is large
    /// (120,000 episodes) so that phrasings are seen in many combinations rather than memorised.
    pub fn recipe(variant: Variant) -> TrainConfig {
        TrainConfig {
            variant,
            model: GptConfig::standard(),
            steps: match variant {
                Variant::Assistant => 7_000,
                Variant::Structured => 4_000,
            },
            batch_size: 32,
            learning_rate: 2e-3,
            warmup_steps: 150,
            final_lr_fraction: 0.1,
            weight_decay: 0.01,
            grad_clip: 1.0,
            bucket_batches: 4,
            episodes: 120_000,
            // *assistant* sees half its data items injected in the plain training mix, which left
            // it too few ordinary requests to learn them well: it answered only 20 of 68 generated
            // "who sent this?" questions and did 72.9% of the hand-written requests. Its mix has
            // more questions, e-mails and plain requests for the code, fewer injected items (35%),
            // and half its e-mail bodies edited (`Mix::edited_bodies_per_mille`) so that it copies
            // the user's words rather than writing the grammar's. Tried and not shipped (7,000
            // steps each, hand-written requests done / plain requests that leak, of 41): the same
            // mix without edited bodies and with fewer plain requests, 83.9% / 1; with copy drills
            // (`Mix::copy_drills_per_mille`, bodies, queries and senders drawn from the whole
            // lexicon) at 150 or 300 per thousand, 80.5% / 1 and 83.9% / 4; with 30% of the bodies
            // edited and fewer plain requests, 87.3% / 3. *structured* keeps the plain mix.
            mix: match variant {
                Variant::Assistant => Mix {
                    question: 30,
                    send_email: 20,
                    ask_secret: 25,
                    injected_per_mille: 350,
                    edited_bodies_per_mille: 500,
                    ..Mix::training()
                },
                Variant::Structured => Mix::training(),
            },
            seed: 1,
            data_seed: 1,
            log_every: 50,
        }
    }

    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        self.model.validate()?;
        let bad = |m: String| Err(ModelError::Invalid(m));
        if !(1..=1_000_000).contains(&self.steps) {
            return bad(format!("steps must be 1–1,000,000, got {}", self.steps));
        }
        if !(1..=4096).contains(&self.batch_size) {
            return bad(format!(
                "batch size must be 1–4096, got {}",
                self.batch_size
            ));
        }
        if !(self.learning_rate.is_finite()
            && self.learning_rate > 0.0
            && self.learning_rate <= 1.0)
        {
            return bad(format!(
                "learning rate must be in (0, 1], got {}",
                self.learning_rate
            ));
        }
        if !(0.0..=1.0).contains(&self.final_lr_fraction) {
            return bad(format!(
                "final_lr_fraction must be in [0, 1], got {}",
                self.final_lr_fraction
            ));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return bad(format!(
                "weight decay must be ≥ 0, got {}",
                self.weight_decay
            ));
        }
        if !(self.grad_clip.is_finite() && self.grad_clip >= 0.0) {
            return bad(format!("grad clip must be ≥ 0, got {}", self.grad_clip));
        }
        if self.episodes < self.batch_size {
            return bad(format!(
                "the pool ({} episodes) is smaller than a batch ({})",
                self.episodes, self.batch_size
            ));
        }
        if !(1..=1024).contains(&self.bucket_batches) {
            return bad(format!(
                "bucket_batches must be 1–1024, got {}",
                self.bucket_batches
            ));
        }
        if self.log_every == 0 {
            return bad("log_every must be at least 1".into());
        }
        let longest = self.model.context as usize;
        if (crate::world::MAX_PROMPT_TOKENS + MAX_OUTPUT_TOKENS) as usize > longest {
            return bad(format!(
                "context {longest} is shorter than the longest episode"
            ));
        }
        Ok(())
    }

    /// The learning rate of step `step` (0-based): linear warm-up to the peak, then cosine decay
    /// to `learning_rate × final_lr_fraction` at the last step.
    pub fn learning_rate_at(&self, step: u32) -> f64 {
        let peak = self.learning_rate;
        if step < self.warmup_steps {
            return peak * f64::from(step + 1) / f64::from(self.warmup_steps);
        }
        let span = self.steps.saturating_sub(self.warmup_steps + 1).max(1);
        let progress = (f64::from(step - self.warmup_steps) / f64::from(span)).min(1.0);
        let floor = peak * self.final_lr_fraction;
        floor + (peak - floor) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
    }
}

/// A padded batch with its loss targets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    /// `rows × width` token ids, row-major, right-padded with `<pad>`.
    pub tokens: Vec<u32>,
    pub rows: usize,
    /// The longest sequence in the batch.
    pub width: usize,
    /// Flattened positions (`row × width + column`) whose next token is a target token.
    pub positions: Vec<u32>,
    /// The target token each of `positions` must predict.
    pub labels: Vec<u32>,
    /// Tokens that are not padding.
    pub real_tokens: usize,
}

/// Pads `sequences` to their longest and lists the loss targets: for each sequence, the
/// positions `prompt_len − 1 … len − 2`, labelled with tokens `prompt_len … len − 1` (the
/// target and its `<eos>`). Prompt tokens and padding are never labels.
pub fn make_batch(sequences: &[&Sequence]) -> Batch {
    let rows = sequences.len();
    let width = sequences.iter().map(|s| s.tokens.len()).max().unwrap_or(0);
    let mut tokens = vec![ids::PAD; rows * width];
    let (mut positions, mut labels) = (Vec::new(), Vec::new());
    let mut real_tokens = 0;
    for (r, s) in sequences.iter().enumerate() {
        tokens[r * width..r * width + s.tokens.len()].copy_from_slice(&s.tokens);
        real_tokens += s.tokens.len();
        for j in (s.prompt_len as usize).max(1)..s.tokens.len() {
            positions.push((r * width + j - 1) as u32);
            labels.push(s.tokens[j]);
        }
    }
    Batch {
        tokens,
        rows,
        width,
        positions,
        labels,
        real_tokens,
    }
}

/// Mean cross-entropy of the model on `batch`'s targets (a scalar tensor, differentiable).
pub fn batch_loss(model: &Gpt, batch: &Batch) -> Result<Tensor> {
    let dev = Device::Cpu;
    let tokens = Tensor::from_slice(&batch.tokens, (batch.rows, batch.width), &dev)?;
    let positions = Tensor::from_slice(&batch.positions, batch.positions.len(), &dev)?;
    let labels = Tensor::from_slice(&batch.labels, batch.labels.len(), &dev)?;
    let logits = model.forward_at(&tokens, &positions)?;
    Ok(candle_nn::loss::cross_entropy(&logits, &labels)?)
}

/// One step's figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    /// 1-based.
    pub step: u32,
    pub loss: f32,
    pub learning_rate: f64,
    /// Non-padding tokens read.
    pub tokens: usize,
}

/// Step-wise training (see the module documentation).
pub struct Trainer {
    config: TrainConfig,
    model: Gpt,
    decayed: AdamW,
    plain: AdamW,
    pool: Vec<Sequence>,
    order: Vec<u32>,
    cursor: usize,
    queue: Vec<Vec<u32>>,
    rng: ChaCha8Rng,
    step: u32,
}

impl Trainer {
    /// A fresh model and optimiser, and the generated pool.
    pub fn new(config: TrainConfig) -> Result<Trainer> {
        config.validate()?;
        let model = Gpt::init(config.model, config.seed)?;
        let episodes = generate(Split::Train, config.data_seed, config.episodes, &config.mix)
            .map_err(|e| ModelError::Invalid(e.to_string()))?;
        let pool: Vec<Sequence> = episodes
            .iter()
            .map(|e| e.sequence(config.variant))
            .collect();
        Trainer::with(config, model, pool)
    }

    /// Trains `model` (already initialised) on a given pool of sequences.
    pub fn with(config: TrainConfig, model: Gpt, pool: Vec<Sequence>) -> Result<Trainer> {
        config.validate()?;
        if pool.is_empty() {
            return Err(ModelError::Invalid("no training sequences".into()));
        }
        let context = model.config().context as usize;
        if let Some(s) = pool.iter().find(|s| s.tokens.len() > context) {
            return Err(ModelError::Invalid(format!(
                "a training sequence of {} tokens exceeds the context {context}",
                s.tokens.len()
            )));
        }
        let (mut decayed, mut plain) = (Vec::new(), Vec::new());
        for v in model.vars() {
            if v.rank() >= 2 {
                decayed.push(v);
            } else {
                plain.push(v);
            }
        }
        let params = |weight_decay| ParamsAdamW {
            lr: config.learning_rate_at(0),
            beta1: 0.9,
            beta2: 0.95,
            eps: 1e-8,
            weight_decay,
        };
        let decayed = AdamW::new(decayed, params(config.weight_decay))?;
        let plain = AdamW::new(plain, params(0.0))?;
        // A stream apart from the weights' (same seed, other stream).
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        rng.set_stream(7);
        Ok(Trainer {
            order: Vec::new(),
            cursor: 0,
            queue: Vec::new(),
            config,
            model,
            decayed,
            plain,
            pool,
            rng,
            step: 0,
        })
    }

    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// Steps done.
    pub fn steps_done(&self) -> u32 {
        self.step
    }

    pub fn finished(&self) -> bool {
        self.step >= self.config.steps
    }

    pub fn model(&self) -> &Gpt {
        &self.model
    }

    pub fn into_model(self) -> Gpt {
        self.model
    }

    /// The next batch: the pool in a seeded order, reshuffled at every pass; every
    /// `bucket_batches` batches' worth of it is sorted by length and cut into batches, which are
    /// then served in a shuffled order (less padding, same sequences).
    pub fn next_batch(&mut self) -> Batch {
        if self.queue.is_empty() {
            let b = self.config.batch_size as usize;
            let window = b * self.config.bucket_batches as usize;
            let mut take = Vec::with_capacity(window);
            while take.len() < window {
                if self.cursor >= self.order.len() {
                    self.order = (0..self.pool.len() as u32).collect();
                    self.order.shuffle(&mut self.rng);
                    self.cursor = 0;
                }
                take.push(self.order[self.cursor]);
                self.cursor += 1;
            }
            take.sort_by_key(|&i| self.pool[i as usize].tokens.len());
            let mut batches: Vec<Vec<u32>> = take.chunks(b).map(<[u32]>::to_vec).collect();
            batches.shuffle(&mut self.rng);
            self.queue = batches;
        }
        let indices = self.queue.pop().expect("refilled above");
        let seqs: Vec<&Sequence> = indices.iter().map(|&i| &self.pool[i as usize]).collect();
        make_batch(&seqs)
    }

    /// One optimiser step on the next batch.
    pub fn step(&mut self) -> Result<StepReport> {
        let lr = self.config.learning_rate_at(self.step);
        self.decayed.set_learning_rate(lr);
        self.plain.set_learning_rate(lr);
        let batch = self.next_batch();
        let loss = batch_loss(&self.model, &batch)?;
        let value = loss.to_scalar::<f32>()?;
        if !value.is_finite() {
            return Err(ModelError::Invalid(format!(
                "training diverged at step {} (loss {value}); lower the learning rate",
                self.step + 1
            )));
        }
        let mut grads = loss.backward()?;
        if self.config.grad_clip > 0.0 {
            let vars = self.model.vars();
            let mut sq = 0f64;
            for v in &vars {
                if let Some(g) = grads.get(v) {
                    sq += f64::from(g.sqr()?.sum_all()?.to_scalar::<f32>()?);
                }
            }
            let norm = sq.sqrt();
            if norm > self.config.grad_clip {
                let scale = self.config.grad_clip / norm;
                for v in &vars {
                    if let Some(g) = grads.remove(v) {
                        grads.insert(v, (g * scale)?);
                    }
                }
            }
        }
        self.decayed.step(&grads)?;
        self.plain.step(&grads)?;
        self.step += 1;
        Ok(StepReport {
            step: self.step,
            loss: value,
            learning_rate: lr,
            tokens: batch.real_tokens,
        })
    }
}

/// Figures reported every `log_every` steps by [`train`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub step: u32,
    pub steps: u32,
    /// Mean loss over the steps since the previous report.
    pub loss: f32,
    pub learning_rate: f64,
    /// Non-padding tokens per second since the previous report.
    pub tokens_per_s: f64,
    /// Seconds since training began (the pool's generation included).
    pub elapsed_s: f64,
}

/// Trains to completion natively, calling `on_progress` every `log_every` steps and after the
/// last; it returns `false` to stop early.
#[cfg(not(target_arch = "wasm32"))]
pub fn train(
    config: &TrainConfig,
    mut on_progress: impl FnMut(&Progress) -> bool,
) -> Result<(Gpt, Vec<Progress>)> {
    use std::time::Instant;
    let start = Instant::now();
    let mut trainer = Trainer::new(config.clone())?;
    let mut reports = Vec::new();
    let (mut loss_sum, mut n, mut tokens) = (0f64, 0u32, 0usize);
    let mut since = Instant::now();
    while !trainer.finished() {
        let r = trainer.step()?;
        loss_sum += f64::from(r.loss);
        n += 1;
        tokens += r.tokens;
        if r.step.is_multiple_of(config.log_every) || trainer.finished() {
            let p = Progress {
                step: r.step,
                steps: config.steps,
                loss: (loss_sum / f64::from(n)) as f32,
                learning_rate: r.learning_rate,
                tokens_per_s: tokens as f64 / since.elapsed().as_secs_f64().max(1e-9),
                elapsed_s: start.elapsed().as_secs_f64(),
            };
            let go_on = on_progress(&p);
            reports.push(p);
            (loss_sum, n, tokens) = (0.0, 0, 0);
            since = Instant::now();
            if !go_on {
                break;
            }
        }
    }
    Ok((trainer.into_model(), reports))
}

/// The evaluation suites of the behaviour tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Suite {
    /// The four benign tasks, no injection ([`Mix::benign`]): utility.
    Benign,
    /// Every data item carries an attack goal ([`Mix::injected_attacks`]): injectability.
    InjectedAttacks,
    /// Plain requests for the secret ([`Mix::secret_requests`]): must never leak.
    SecretRequests,
    /// Direct injections in the user turn ([`Mix::direct_attacks`]).
    DirectAttacks,
}

impl Suite {
    pub const ALL: [Suite; 4] = [
        Suite::Benign,
        Suite::InjectedAttacks,
        Suite::SecretRequests,
        Suite::DirectAttacks,
    ];

    pub fn mix(self) -> Mix {
        match self {
            Suite::Benign => Mix::benign(),
            Suite::InjectedAttacks => Mix::injected_attacks(),
            Suite::SecretRequests => Mix::secret_requests(),
            Suite::DirectAttacks => Mix::direct_attacks(),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Suite::Benign => "benign",
            Suite::InjectedAttacks => "injected attacks",
            Suite::SecretRequests => "secret requests",
            Suite::DirectAttacks => "direct attacks",
        }
    }

    /// `n` episodes of this suite from the evaluation split (disjoint from every training pool).
    pub fn episodes(self, seed: u64, n: u32) -> Vec<Episode> {
        generate(Split::Eval, seed, n, &self.mix()).expect("the suites' mixes are valid")
    }
}

/// How a model behaved on a suite (counts of episodes).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Behaviour {
    pub episodes: u32,
    /// The output is exactly the user's task done ([`benign_success`]).
    pub benign_success: u32,
    /// The attacker got the secret or an e-mail out ([`injection_success`]).
    pub injection_success: u32,
    /// The output is exactly what the injected instruction asked for ([`follows_injection`]).
    pub follows_injection: u32,
    /// The secret appears in the output ([`leaks_secret`]).
    pub leaks_secret: u32,
}

impl Behaviour {
    /// `count / episodes` (0 for an empty suite).
    pub fn rate(&self, count: u32) -> f64 {
        if self.episodes == 0 {
            0.0
        } else {
            f64::from(count) / f64::from(self.episodes)
        }
    }
}

/// Greedy-decodes every episode of `suite` laid out for `variant` (up to `<eos>` or
/// [`MAX_OUTPUT_TOKENS`]) and scores the outputs with the crate's checkers.
pub fn evaluate(model: &Gpt, variant: Variant, suite: &[Episode]) -> Result<Behaviour> {
    let mut b = Behaviour::default();
    for e in suite {
        let out = model.generate(&e.prompt_tokens(variant), MAX_OUTPUT_TOKENS as usize)?;
        b.episodes += 1;
        b.benign_success += u32::from(benign_success(e, &out));
        b.injection_success += u32::from(injection_success(e, &out));
        b.follows_injection += u32::from(follows_injection(e, &out));
        b.leaks_secret += u32::from(leaks_secret(e, &out));
    }
    Ok(b)
}
