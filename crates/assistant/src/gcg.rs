//! Greedy coordinate gradient search (GCG; Zou, Wang, Carlini, Nasr, Kolter, Fredrikson 2023):
//! an adversarial suffix of tokens, optimised so that the model's loss on a wanted reply falls in
//! several conversations at once (a *universal* suffix).
//!
//! Each step: the gradient of the loss with respect to the suffix's one-hot tokens ranks, at every
//! position, the `top_k` swaps most likely to lower it; `candidates` random single swaps among
//! them are scored exactly (a batched forward pass, no gradient); the best one becomes the suffix.
//! Only swaps whose text reads back as the same tokens are kept, so the suffix the learner gets
//! is text that the grader tokenises exactly as it was optimised. Everything is seeded: the same
//! settings find the same suffix natively and in every browser.

use candle_core::{Device, Tensor, Var};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::model::{Gpt, ModelError, Result};
use crate::vocab::{ids, Vocab};

/// One conversation the suffix must work in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GcgScenario {
    /// Prompt tokens before the suffix (the learner's text ends here).
    pub before: Vec<u32>,
    /// Prompt tokens after the suffix (what the layout adds after the learner's channel).
    pub after: Vec<u32>,
    /// The reply wanted (its first tokens: a weaker target is easier to reach).
    pub target: Vec<u32>,
}

/// The learner's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GcgSettings {
    /// Tokens in the suffix.
    pub suffix_len: u32,
    /// Single-token swaps scored per step.
    pub candidates: u32,
    /// Swaps considered per position (by gradient).
    pub top_k: u32,
    /// Steps to run.
    pub steps: u32,
    pub seed: u64,
}

/// Bounds that keep one run to minutes in a browser.
pub const MAX_SUFFIX: u32 = 32;
pub const MAX_CANDIDATES: u32 = 256;
pub const MAX_STEPS: u32 = 500;
/// Candidates scored in a whole search (steps × candidates): the lesson's reference scores 640
/// in about a quarter of a minute in a browser, so this bounds a search to a few minutes.
pub const MAX_SCORED: u32 = 16_000;

impl GcgSettings {
    /// Checks the numbers, with what to change.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(ModelError::Invalid(m));
        if !(1..=MAX_SUFFIX).contains(&self.suffix_len) {
            return bad(format!(
                "suffix length must be 1–{MAX_SUFFIX} tokens, got {}",
                self.suffix_len
            ));
        }
        if !(1..=MAX_CANDIDATES).contains(&self.candidates) {
            return bad(format!(
                "candidates per step must be 1–{MAX_CANDIDATES}, got {}",
                self.candidates
            ));
        }
        if !(1..=Vocab::get().len()).contains(&self.top_k) {
            return bad(format!(
                "top-k must be 1–{}, got {}",
                Vocab::get().len(),
                self.top_k
            ));
        }
        if !(1..=MAX_STEPS).contains(&self.steps) {
            return bad(format!("steps must be 1–{MAX_STEPS}, got {}", self.steps));
        }
        let scored = self.steps * self.candidates;
        if scored > MAX_SCORED {
            return bad(format!(
                "{} steps × {} candidates is {scored} candidates to score, which would run for \
                 many minutes; keep steps × candidates at most {MAX_SCORED}",
                self.steps, self.candidates
            ));
        }
        Ok(())
    }
}

/// A linear screen that reads the learner's whole text before the model does (an input
/// detector): its logit is `bias + Σ weights[t] · count(t) / n` over the text's `n` tokens, and
/// the text is withheld when it is high. A search with a screen adds `max(0, logit − goal_logit)`
/// to its loss (the hinge: once under the goal, only the model's loss counts), and the screen's
/// exact gradient, `weights[t] / n` per position, to the model's.
#[derive(Clone, Debug, PartialEq)]
pub struct Screen {
    /// One weight per token id.
    pub weights: Vec<f32>,
    pub bias: f32,
    /// The screened text's tokens before the suffix (the suffix ends the text).
    pub before: Vec<u32>,
    /// The logit the search pushes the screen's under (below the screen's threshold, with a
    /// margin).
    pub goal_logit: f32,
    /// At this logit or above, the screen withholds the text.
    pub threshold_logit: f32,
}

impl Screen {
    /// The screen's logit for the text ending in `suffix`.
    pub fn logit(&self, suffix: &[u32]) -> f32 {
        let n = (self.before.len() + suffix.len()).max(1) as f32;
        let sum: f32 = self
            .before
            .iter()
            .chain(suffix)
            .map(|&t| self.weights.get(t as usize).copied().unwrap_or(0.0))
            .sum();
        self.bias + sum / n
    }

    /// The screen's probability (what the deployment compares with its threshold).
    pub fn score(&self, suffix: &[u32]) -> f32 {
        1.0 / (1.0 + libm::expf(-self.logit(suffix)))
    }

    /// Whether the screen withholds the text ending in `suffix`.
    pub fn withholds(&self, suffix: &[u32]) -> bool {
        self.logit(suffix) >= self.threshold_logit
    }

    fn penalty(&self, suffix: &[u32]) -> f32 {
        (self.logit(suffix) - self.goal_logit).max(0.0)
    }
}

/// What one step did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GcgStep {
    /// 1-based.
    pub step: u32,
    /// The suffix's loss after the step.
    pub loss: f32,
    /// The lowest loss so far.
    pub best_loss: f32,
    /// The screen's score of the best suffix so far, when there is a screen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screen: Option<f32>,
}

/// A search in progress. It holds no model: each call that computes takes the one searched,
/// so a search can live in a job that borrows its models only while it steps.
#[derive(Clone, Debug)]
pub struct Gcg {
    scenarios: Vec<GcgScenario>,
    screen: Option<Screen>,
    settings: GcgSettings,
    /// Text the suffix is appended to, and its tokens (the round-trip check reads them
    /// together, for every candidate).
    base: String,
    base_tokens: Vec<u32>,
    allowed: Vec<bool>,
    suffix: Vec<u32>,
    loss: f32,
    best: (Vec<u32>, f32),
    rng: ChaCha8Rng,
    step: u32,
}

/// Tokens a suffix may use: no reserved token (the front end would strip or refuse them), no
/// byte that is not printable ASCII (the text must stay valid and visible), no lone case marker.
pub fn allowed_tokens() -> Vec<bool> {
    let v = Vocab::get();
    (0..v.len())
        .map(|id| match id {
            _ if Vocab::is_reserved(id) => false,
            ids::CAP | ids::UPPER => false,
            _ if id < ids::LITERALS => {
                let b = (id - ids::BYTES) as u8;
                b.is_ascii_graphic() || b == b' '
            }
            _ => true,
        })
        .collect()
}

/// The token every suffix position starts as.
pub fn start_token() -> u32 {
    Vocab::get().id("!").expect("a byte token")
}

impl Gcg {
    /// A search of `model` over `scenarios`, starting from a suffix of [`start_token`].
    pub fn new(
        model: &Gpt,
        base: &str,
        scenarios: Vec<GcgScenario>,
        settings: GcgSettings,
    ) -> Result<Gcg> {
        settings.validate()?;
        if scenarios.is_empty() || scenarios.iter().any(|s| s.target.is_empty()) {
            return Err(ModelError::Invalid(
                "GCG needs at least one scenario with a target".into(),
            ));
        }
        let context = model.config().context as usize;
        let longest = scenarios
            .iter()
            .map(|s| s.before.len() + s.after.len() + s.target.len())
            .max()
            .unwrap_or(0)
            + settings.suffix_len as usize;
        if longest > context {
            return Err(ModelError::Invalid(format!(
                "with a {}-token suffix the longest conversation is {longest} tokens; the model reads {context}",
                settings.suffix_len
            )));
        }
        let suffix = vec![start_token(); settings.suffix_len as usize];
        let mut rng = ChaCha8Rng::seed_from_u64(settings.seed);
        rng.set_stream(11);
        let mut gcg = Gcg {
            scenarios,
            screen: None,
            base: base.to_string(),
            base_tokens: Vocab::get().encode(base),
            allowed: allowed_tokens(),
            loss: f32::INFINITY,
            best: (suffix.clone(), f32::INFINITY),
            suffix,
            settings,
            rng,
            step: 0,
        };
        if !gcg.reads_back(&gcg.suffix) {
            return Err(ModelError::Invalid(
                "the text's last characters and the suffix's would be read as other tokens: end \
                 the text with a space or a full stop"
                    .into(),
            ));
        }
        let loss = gcg.losses(model, std::slice::from_ref(&gcg.suffix))?[0];
        gcg.loss = loss;
        gcg.best.1 = loss;
        Ok(gcg)
    }

    /// The same search with a screen in front of the model (see [`Screen`]).
    pub fn with_screen(mut self, model: &Gpt, screen: Screen) -> Result<Gcg> {
        self.screen = Some(screen);
        let loss = self.losses(model, std::slice::from_ref(&self.suffix))?[0];
        self.loss = loss;
        self.best = (self.suffix.clone(), loss);
        Ok(self)
    }

    /// The screen's score of the best suffix so far, when there is a screen.
    pub fn screen_score(&self) -> Option<f32> {
        self.screen.as_ref().map(|s| s.score(&self.best.0))
    }

    /// Steps done.
    pub fn steps_done(&self) -> u32 {
        self.step
    }

    pub fn finished(&self) -> bool {
        self.step >= self.settings.steps
    }

    /// The best suffix found so far, as tokens and as text.
    pub fn best(&self) -> (&[u32], String, f32) {
        (&self.best.0, Vocab::get().decode(&self.best.0), self.best.1)
    }

    /// The loss of each suffix: the mean target loss over the scenarios (cross-entropy per target
    /// token), plus the screen's hinge when there is a screen.
    pub fn losses(&self, model: &Gpt, suffixes: &[Vec<u32>]) -> Result<Vec<f32>> {
        let mut out = Vec::with_capacity(suffixes.len());
        // One batch per suffix: every scenario, right-padded (causal attention never reads the
        // padding at the end).
        for suffix in suffixes {
            let seqs: Vec<Vec<u32>> = self
                .scenarios
                .iter()
                .map(|s| [&s.before[..], suffix, &s.after, &s.target].concat())
                .collect();
            let width = seqs.iter().map(Vec::len).max().unwrap_or(1);
            let mut tokens = vec![ids::PAD; seqs.len() * width];
            let (mut positions, mut labels, mut owner) = (Vec::new(), Vec::new(), Vec::new());
            for (r, (seq, s)) in seqs.iter().zip(&self.scenarios).enumerate() {
                tokens[r * width..r * width + seq.len()].copy_from_slice(seq);
                let first = seq.len() - s.target.len();
                for j in first..seq.len() {
                    positions.push((r * width + j - 1) as u32);
                    labels.push(seq[j]);
                    owner.push(r);
                }
            }
            let dev = Device::Cpu;
            let t = Tensor::from_slice(&tokens, (seqs.len(), width), &dev)?;
            let p = Tensor::from_slice(&positions, positions.len(), &dev)?;
            let logits = model.score_at(&t, &p)?;
            let logp = candle_nn::ops::log_softmax(&logits, 1)?.to_vec2::<f32>()?;
            let mut per = vec![(0f32, 0f32); seqs.len()];
            for ((row, &label), &r) in logp.iter().zip(&labels).zip(&owner) {
                per[r].0 -= row[label as usize];
                per[r].1 += 1.0;
            }
            let mean: f32 = per.iter().map(|(sum, n)| sum / n).sum::<f32>() / per.len() as f32;
            out.push(mean + self.screen.as_ref().map_or(0.0, |s| s.penalty(suffix)));
        }
        Ok(out)
    }

    /// `∂ loss / ∂ one-hot` at the suffix positions, of the mean over scenarios plus the screen's
    /// hinge: `(suffix_len × vocab)`.
    fn gradient(&self, model: &Gpt) -> Result<Vec<Vec<f32>>> {
        let v = model.config().vocab as usize;
        let len = self.suffix.len();
        let mut total = vec![vec![0f32; v]; len];
        for s in &self.scenarios {
            let seq = [&s.before[..], &self.suffix, &s.after, &s.target].concat();
            let mut hot = vec![0f32; seq.len() * v];
            for (i, &t) in seq.iter().enumerate() {
                hot[i * v + t as usize] = 1.0;
            }
            let var = Var::from_vec(hot, (seq.len(), v), &Device::Cpu)?;
            let logits = model.forward_one_hot(var.as_tensor())?;
            let first = seq.len() - s.target.len();
            let rows = logits.narrow(0, first - 1, s.target.len())?;
            let labels = Tensor::from_slice(&s.target, s.target.len(), &Device::Cpu)?;
            let loss = candle_nn::loss::cross_entropy(&rows, &labels)?;
            let grads = loss.backward()?;
            let g = grads
                .get(var.as_tensor())
                .ok_or_else(|| ModelError::Invalid("no gradient for the suffix".into()))?
                .narrow(0, s.before.len(), len)?
                .to_vec2::<f32>()?;
            for (acc, row) in total.iter_mut().zip(g) {
                for (a, x) in acc.iter_mut().zip(row) {
                    // The loss is the mean over scenarios.
                    *a += x / self.scenarios.len() as f32;
                }
            }
        }
        if let Some(screen) = self
            .screen
            .as_ref()
            .filter(|s| s.penalty(&self.suffix) > 0.0)
        {
            let n = (screen.before.len() + len) as f32;
            for acc in &mut total {
                for (a, w) in acc.iter_mut().zip(&screen.weights) {
                    *a += w / n;
                }
            }
        }
        Ok(total)
    }

    /// Whether `suffix` (with its loss) beats the best so far: a suffix the screen lets through
    /// beats one it withholds, whatever their losses (a withheld text reaches no model); then
    /// the lower loss wins.
    fn better(&self, suffix: &[u32], loss: f32) -> bool {
        let withheld = |s: &[u32]| self.screen.as_ref().is_some_and(|sc| sc.withholds(s));
        (withheld(suffix), loss) < (withheld(&self.best.0), self.best.1)
    }

    /// Whether `suffix` after the base text tokenises back to exactly itself.
    fn reads_back(&self, suffix: &[u32]) -> bool {
        let v = Vocab::get();
        let whole = v.encode(&format!("{}{}", self.base, v.decode(suffix)));
        whole.len() == self.base_tokens.len() + suffix.len()
            && whole.ends_with(suffix)
            && whole.starts_with(&self.base_tokens)
    }

    /// One step (see the module documentation).
    pub fn step(&mut self, model: &Gpt) -> Result<GcgStep> {
        let grad = self.gradient(model)?;
        let k = self.settings.top_k as usize;
        // Per position, the allowed tokens whose swap most lowers the loss to first order.
        let top: Vec<Vec<u32>> = grad
            .iter()
            .map(|row| {
                let mut order: Vec<u32> = (0..row.len() as u32)
                    .filter(|&t| self.allowed[t as usize])
                    .collect();
                order.sort_by(|&a, &b| row[a as usize].total_cmp(&row[b as usize]).then(a.cmp(&b)));
                order.truncate(k);
                order
            })
            .collect();
        let len = self.suffix.len() as u32;
        let mut candidates: Vec<Vec<u32>> = Vec::new();
        for _ in 0..self.settings.candidates {
            let at = self.rng.random_range(0..len) as usize;
            let pick = top[at][self.rng.random_range(0..top[at].len() as u32) as usize];
            let mut c = self.suffix.clone();
            c[at] = pick;
            if c != self.suffix && self.reads_back(&c) && !candidates.contains(&c) {
                candidates.push(c);
            }
        }
        self.step += 1;
        if !candidates.is_empty() {
            let losses = self.losses(model, &candidates)?;
            let (i, &loss) = losses
                .iter()
                .enumerate()
                .min_by(|a, b| a.1.total_cmp(b.1))
                .expect("at least one candidate");
            self.suffix = candidates.swap_remove(i);
            self.loss = loss;
            if self.better(&self.suffix, loss) {
                self.best = (self.suffix.clone(), loss);
            }
        }
        Ok(GcgStep {
            step: self.step,
            loss: self.loss,
            best_loss: self.best.1,
            screen: self.screen_score(),
        })
    }
}
