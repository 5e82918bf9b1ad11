//! Training the digits MLP, optionally adversarially. Training is a step-wise [`Trainer`]: the
//! caller runs one epoch at a time, so the Web Worker can report progress, yield to its event
//! loop (where a Stop message lands) and stop between epochs. [`train`] drives it natively.

use crate::attacks::{pgd_flat, PgdConfig};
use crate::digits::{Digits, Images};
use crate::dp_sgd::{clipped_gradient_sum, noisy_mean, poisson_sample, DpSgd, Sampling};
use crate::kernels::{Adam, Pass, PARAMETERS};
use crate::mlp::Mlp;
use crate::{Error, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// The most training a run's settings may ask for, in optimiser steps × (1 + attack steps per
/// batch): what the grader is willing to re-run for one receipt (about ten seconds natively; the
/// lessons' reference runs take 900 and 8,100). The page refuses larger runs the same way.
pub const MAX_TRAINING_WORK: u64 = 250_000;

/// What a learner chooses for a training run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    pub epochs: u32,
    pub learning_rate: f64,
    pub batch_size: u32,
    pub seed: u64,
}

impl TrainConfig {
    pub const MAX_EPOCHS: u32 = 200;

    pub fn validate(&self) -> Result<()> {
        if !(1..=Self::MAX_EPOCHS).contains(&self.epochs) {
            return Err(Error::InvalidInput(format!(
                "epochs must be 1–{}, got {}",
                Self::MAX_EPOCHS,
                self.epochs
            )));
        }
        if !self.learning_rate.is_finite() || self.learning_rate <= 0.0 || self.learning_rate > 1.0
        {
            return Err(Error::InvalidInput(format!(
                "learning rate must be a number in (0, 1], got {}",
                self.learning_rate
            )));
        }
        if !(1..=1024).contains(&self.batch_size) {
            return Err(Error::InvalidInput(format!(
                "batch size must be 1–1024, got {}",
                self.batch_size
            )));
        }
        Ok(())
    }
}

/// Adversarial training (Madry et al. 2018): each batch is attacked with PGD at `epsilon` for
/// `steps` steps against the current model, and the model learns from clean and attacked
/// images alike (half of the loss each), which keeps clean accuracy up.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Adversary {
    pub epsilon: f32,
    pub steps: u32,
}

impl Adversary {
    pub fn validate(&self) -> Result<()> {
        if !self.epsilon.is_finite() || !(0.0..=0.5).contains(&self.epsilon) {
            return Err(Error::InvalidInput(format!(
                "training ε must be in [0, 0.5], got {}",
                self.epsilon
            )));
        }
        if self.steps > 20 {
            return Err(Error::InvalidInput(format!(
                "training attack steps must be 0–20, got {}",
                self.steps
            )));
        }
        Ok(())
    }
    fn pgd(&self) -> PgdConfig {
        PgdConfig::madry(self.epsilon, self.steps)
    }
    fn is_active(&self) -> bool {
        self.epsilon > 0.0 && self.steps > 0
    }
}

/// One epoch's figures, as the progress plot shows them. The training loss and accuracy are
/// those of each batch as the epoch met it (before its step), as frameworks report them, not a
/// second pass over the training split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochReport {
    pub epoch: u32,
    pub epochs: u32,
    pub train_loss: f32,
    pub train_accuracy: f32,
    pub test_accuracy: f32,
}

pub struct Trainer {
    /// The model as of the last finished epoch (made from `params` at its end).
    model: Mlp,
    /// The parameters being trained, flat, as the kernels and Adam update them step by step.
    params: Vec<f32>,
    optimizer: Adam,
    /// The forward and backward buffers and the gradient: allocated once per run, not per step.
    pass: Pass,
    gradient: Vec<f32>,
    config: TrainConfig,
    adversary: Option<Adversary>,
    /// DP-SGD in place of plain mini-batch steps ([`Trainer::private`]).
    privacy: Option<DpSgd>,
    epoch: u32,
    rng: ChaCha8Rng,
    train: Images,
    test: Images,
}

impl Trainer {
    pub fn new(digits: &Digits, config: TrainConfig, adversary: Option<Adversary>) -> Result<Self> {
        config.validate()?;
        if let Some(a) = &adversary {
            a.validate()?;
        }
        let adversary = adversary.filter(Adversary::is_active);
        let batches = (digits.train.len() as u64).div_ceil(u64::from(config.batch_size));
        let attack_steps = adversary.map_or(0, |a| u64::from(a.steps));
        let work = u64::from(config.epochs) * batches * (1 + attack_steps);
        if work > MAX_TRAINING_WORK {
            return Err(Error::InvalidInput(format!(
                "this run is {} epochs × {batches} batches{} = {work} steps; the lab runs at most {}: \
                 use fewer epochs, a larger batch{}",
                config.epochs,
                if attack_steps > 0 {
                    format!(" × (1 + {attack_steps} attack steps)")
                } else {
                    String::new()
                },
                MAX_TRAINING_WORK,
                if attack_steps > 0 { " or fewer attack steps" } else { "" }
            )));
        }
        let model = Mlp::init(config.seed)?;
        // Adam as candle-nn's AdamW computes it, without weight decay.
        let optimizer = Adam::new(PARAMETERS, config.learning_rate);
        // A separate stream from the one that initialised the weights.
        let rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0x5EED_0F_5AFF1E);
        Ok(Trainer {
            params: model.flat().to_vec(),
            model,
            optimizer,
            pass: Pass::new(),
            gradient: vec![0.0; PARAMETERS],
            config,
            adversary,
            privacy: None,
            epoch: 0,
            rng,
            train: digits.train.clone(),
            test: digits.test.clone(),
        })
    }

    pub fn finished(&self) -> bool {
        self.epoch >= self.config.epochs
    }

    pub fn model(&self) -> &Mlp {
        &self.model
    }

    /// Epochs run so far.
    pub fn epochs_done(&self) -> u32 {
        self.epoch
    }

    /// Epochs still to run.
    pub fn epochs_left(&self) -> u32 {
        self.config.epochs.saturating_sub(self.epoch)
    }

    pub fn into_model(self) -> Mlp {
        self.model
    }

    /// A trainer that takes DP-SGD steps (Abadi et al. 2016): the recipe's batch size is the
    /// expected batch, each example's gradient is clipped, and noise is added to their sum. The
    /// optimiser is the recipe's Adam, fed the privatised gradient (post-processing, so it costs
    /// no privacy).
    pub fn private(digits: &Digits, config: TrainConfig, dp: DpSgd) -> Result<Self> {
        dp.validate().map_err(Error::InvalidInput)?;
        let mut trainer = Self::new(digits, config, None)?;
        trainer.privacy = Some(dp);
        Ok(trainer)
    }

    /// Runs one pass over the shuffled training split (with DP-SGD: as many steps as one pass
    /// holds in expectation).
    pub fn run_epoch(&mut self) -> Result<EpochReport> {
        if let Some(dp) = self.privacy {
            return self.run_private_epoch(dp);
        }
        let n = self.train.len();
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.shuffle(&mut self.rng);
        let (mut loss_sum, mut correct, mut batches) = (0f32, 0usize, 0usize);
        let (mut pixels, mut labels) = (Vec::new(), Vec::new());
        for chunk in order.chunks(self.config.batch_size as usize) {
            pixels.clear();
            labels.clear();
            for &i in chunk {
                pixels.extend_from_slice(self.train.image(i as usize));
                labels.push(self.train.labels[i as usize]);
            }
            let m = chunk.len() as f32;
            // Adversarial training's loss is the mean of the clean and the attacked batch's
            // mean losses: each contributes half its gradient.
            let share = if self.adversary.is_some() { 0.5 } else { 1.0 };
            self.gradient.fill(0.0);
            let mut loss = self.pass.add_batch_gradient(
                &self.params,
                &pixels,
                &labels,
                share / m,
                &mut self.gradient,
            ) / m;
            correct += self.pass.correct(&labels);
            if let Some(adversary) = &self.adversary {
                // The clean batch's pass is spent: the attack and the attacked batch reuse it.
                let attacked = pgd_flat(
                    &self.params,
                    &pixels,
                    &labels,
                    &adversary.pgd(),
                    None,
                    &mut self.pass,
                );
                let adv_loss = self.pass.add_batch_gradient(
                    &self.params,
                    &attacked,
                    &labels,
                    share / m,
                    &mut self.gradient,
                ) / m;
                loss = (loss + adv_loss) * 0.5;
            }
            if !loss.is_finite() {
                return Err(Error::InvalidInput(format!(
                    "training diverged in epoch {} (the loss became {loss}); try a smaller learning rate",
                    self.epoch + 1
                )));
            }
            self.optimizer.step(&mut self.params, &self.gradient);
            loss_sum += loss;
            batches += 1;
        }
        self.model = Mlp::from_flat(&self.params)?;
        self.epoch += 1;
        Ok(EpochReport {
            epoch: self.epoch,
            epochs: self.config.epochs,
            train_loss: loss_sum / batches as f32,
            train_accuracy: correct as f32 / n as f32,
            test_accuracy: self.model.accuracy(&self.test)?,
        })
    }
}

impl Trainer {
    fn run_private_epoch(&mut self, dp: DpSgd) -> Result<EpochReport> {
        let n = self.train.len();
        let batch = self.config.batch_size;
        let q = (f64::from(batch) / n as f64).min(1.0);
        let mut order: Vec<usize> = (0..n).collect();
        if dp.sampling == Sampling::Shuffled {
            order.shuffle(&mut self.rng);
        }
        let mut shuffled = order.chunks(batch as usize);
        let (mut loss_sum, mut correct, mut drawn) = (0f32, 0usize, 0usize);
        for _ in 0..DpSgd::steps_per_epoch(n, batch) {
            let chosen: Vec<usize> = match dp.sampling {
                Sampling::Poisson => poisson_sample(n, q, &mut self.rng),
                Sampling::Shuffled => shuffled.next().unwrap_or_default().to_vec(),
            };
            let batch_images = self.train.select(&chosen);
            let (sum, loss) = clipped_gradient_sum(
                &self.params,
                &batch_images.pixels,
                &batch_images.labels,
                dp.clip_norm,
                &mut self.pass,
            );
            loss_sum += loss;
            correct += self.pass.correct(&batch_images.labels);
            drawn += chosen.len();
            // Poisson: divide by the expected batch, so the divisor says nothing about who was
            // drawn; shuffled batches have a fixed size anyway.
            let divisor = match dp.sampling {
                Sampling::Poisson => q * n as f64,
                Sampling::Shuffled => chosen.len().max(1) as f64,
            };
            let gradient = noisy_mean(
                &sum,
                dp.clip_norm,
                dp.noise_multiplier,
                divisor as f32,
                &mut self.rng,
            );
            self.optimizer.step(&mut self.params, &gradient);
        }
        self.model = Mlp::from_flat(&self.params)?;
        self.epoch += 1;
        let train_loss = loss_sum / drawn.max(1) as f32;
        // The batches' losses were taken before each step: the parameters after the last one
        // are checked too.
        let why = if !train_loss.is_finite() {
            Some(format!("the loss became {train_loss}"))
        } else if self.params.iter().any(|p| !p.is_finite()) {
            Some("the weights stopped being numbers".to_string())
        } else {
            None
        };
        if let Some(why) = why {
            return Err(Error::InvalidInput(format!(
                "training diverged in epoch {} ({why}); try a smaller learning rate or \
                 clipping norm",
                self.epoch
            )));
        }
        Ok(EpochReport {
            epoch: self.epoch,
            epochs: self.config.epochs,
            train_loss,
            train_accuracy: correct as f32 / drawn.max(1) as f32,
            test_accuracy: self.model.accuracy(&self.test)?,
        })
    }
}

/// Trains to completion, calling `on_epoch` after every epoch; it returns `false` to stop early.
pub fn train(
    digits: &Digits,
    config: TrainConfig,
    adversary: Option<Adversary>,
    mut on_epoch: impl FnMut(&EpochReport) -> bool,
) -> Result<(Mlp, Vec<EpochReport>)> {
    let mut trainer = Trainer::new(digits, config, adversary)?;
    let mut reports = Vec::new();
    while !trainer.finished() {
        let report = trainer.run_epoch()?;
        let go_on = on_epoch(&report);
        reports.push(report);
        if !go_on {
            break;
        }
    }
    Ok((trainer.into_model(), reports))
}
