//! The tiny assistant's model: a decoder-only transformer (GPT-2 layout, pre-LayerNorm) built
//! from candle-nn pieces over candle `Var`s, so the same code trains natively and runs in the
//! browser.
//!
//! * token and learned position embeddings; the output head shares the token embedding;
//! * `layers` blocks of causal multi-head self-attention and a GELU MLP, each behind a
//!   LayerNorm and added to the residual stream; a final LayerNorm; bias-free linear layers;
//! * weights drawn from a seeded ChaCha generator (the same seed gives the same bytes natively
//!   and in every browser);
//! * greedy decoding with a key/value cache (the prompt is read once, then one position per new
//!   token);
//! * safetensors to and from bytes, in f32 or f16 (computation is always f32), with the
//!   configuration in the file's metadata.
//!
//! LayerNorm, the causal softmax and GELU are the crate's own fused kernels ([`crate::ops`]):
//! candle-nn's fused LayerNorm and softmax (what `LayerNorm::forward` picks for a contiguous
//! input) have no backward pass and would silently cut the gradient, and its composed versions
//! made a training step several times slower. Decoding reads the same weights through detached
//! tensors (same storage, no autograd graph).

use std::collections::HashMap;
use std::fmt;

use candle_core::{DType, Device, Module, Tensor, Var};
use candle_nn::{Embedding, LayerNorm, Linear};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::ops;
use crate::vocab::{ids, Vocab};
use crate::world::{MAX_OUTPUT_TOKENS, MAX_PROMPT_TOKENS};

/// Why a model could not be built, loaded, run or trained.
#[derive(Debug)]
pub enum ModelError {
    /// A tensor operation failed (candle's message: holding candle's error would link its
    /// formatting into the page, which uses this crate's world and vocabulary but no tensor).
    Candle(String),
    /// Bad input: a configuration, a prompt, a weights file, a training setting.
    Invalid(String),
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelError::Candle(e) => write!(f, "tensor error: {e}"),
            ModelError::Invalid(s) => f.write_str(s),
        }
    }
}

impl std::error::Error for ModelError {}

impl From<candle_core::Error> for ModelError {
    fn from(e: candle_core::Error) -> Self {
        ModelError::Candle(e.to_string())
    }
}

/// Results of this module and of [`crate::train`].
pub type Result<T> = std::result::Result<T, ModelError>;

fn invalid<T>(msg: impl Into<String>) -> Result<T> {
    Err(ModelError::Invalid(msg.into()))
}

/// The model's shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GptConfig {
    /// Vocabulary size ([`Vocab::len`]).
    pub vocab: u32,
    /// Longest sequence (prompt and output) the model reads.
    pub context: u32,
    /// Width of the residual stream.
    pub d_model: u32,
    /// Number of transformer blocks.
    pub layers: u32,
    /// Attention heads per block (`d_model` must be a multiple).
    pub heads: u32,
    /// Hidden width of each block's MLP.
    pub mlp: u32,
}

/// Bounds a configuration read from a file must respect (they keep a hostile file from asking
/// for gigabytes).
const MAX_WIDTH: u32 = 1024;
const MAX_LAYERS: u32 = 16;
const MAX_CONTEXT: u32 = 1024;
const MAX_VOCAB: u32 = 65_536;

impl GptConfig {
    /// The shipped assistant: context 184 (= 160 prompt + 24 output tokens), width 128, 4 blocks
    /// of 4 heads, MLP 512 (about 0.98 M parameters with the 1,299-token vocabulary).
    pub fn standard() -> GptConfig {
        GptConfig {
            vocab: Vocab::get().len(),
            context: MAX_PROMPT_TOKENS + MAX_OUTPUT_TOKENS,
            d_model: 128,
            layers: 4,
            heads: 4,
            mlp: 512,
        }
    }

    /// A very small model for tests (width 32, 2 blocks of 2 heads).
    pub fn tiny() -> GptConfig {
        GptConfig {
            d_model: 32,
            layers: 2,
            heads: 2,
            mlp: 64,
            ..GptConfig::standard()
        }
    }

    /// Checks the configuration is usable, with this vocabulary.
    pub fn validate(&self) -> Result<()> {
        let vocab = Vocab::get().len();
        if self.vocab != vocab {
            return invalid(format!(
                "the model's vocabulary has {} tokens, this build's has {vocab}",
                self.vocab
            ));
        }
        if self.vocab > MAX_VOCAB {
            return invalid(format!("vocabulary {} is too large", self.vocab));
        }
        if !(2..=MAX_CONTEXT).contains(&self.context) {
            return invalid(format!(
                "context must be 2–{MAX_CONTEXT}, got {}",
                self.context
            ));
        }
        if !(1..=MAX_LAYERS).contains(&self.layers) {
            return invalid(format!(
                "layers must be 1–{MAX_LAYERS}, got {}",
                self.layers
            ));
        }
        if !(1..=MAX_WIDTH).contains(&self.d_model) || !(1..=4 * MAX_WIDTH).contains(&self.mlp) {
            return invalid(format!(
                "width {} / MLP {} out of range",
                self.d_model, self.mlp
            ));
        }
        if self.heads == 0 || !self.d_model.is_multiple_of(self.heads) {
            return invalid(format!(
                "d_model {} is not a multiple of heads {}",
                self.d_model, self.heads
            ));
        }
        Ok(())
    }

    /// Number of trainable parameters.
    pub fn param_count(&self) -> usize {
        param_specs(self)
            .iter()
            .map(|p| p.shape.iter().product::<usize>())
            .sum()
    }
}

/// How a parameter starts.
#[derive(Clone, Copy, Debug)]
enum Init {
    /// Uniform with this standard deviation (bound = std·√3).
    Uniform(f32),
    Zeros,
    Ones,
}

struct ParamSpec {
    name: String,
    shape: Vec<usize>,
    init: Init,
}

/// Parameters per block (in [`param_specs`] order: ln1 weight and bias, qkv, proj, ln2 weight
/// and bias, fc, fc_proj).
const PER_BLOCK: usize = 8;

/// Every parameter, in the fixed order of initialisation (and of [`Gpt::vars`]). The linear
/// layers have no bias (as in many recent GPTs: it saves a broadcast add and a reduction per
/// layer and pass, and nothing here needs it); the LayerNorms have one.
fn param_specs(c: &GptConfig) -> Vec<ParamSpec> {
    let (v, t, d, m) = (
        c.vocab as usize,
        c.context as usize,
        c.d_model as usize,
        c.mlp as usize,
    );
    // GPT-2: N(0, 0.02), the projections into the residual stream scaled by 1/√(2·layers).
    // A uniform draw with the same spread: only exact f32 arithmetic on u32 draws, so the
    // weights are bit-identical on every target.
    let std = 0.02f32;
    let residual = std / (2.0 * c.layers as f32).sqrt();
    let p = |name: String, shape: Vec<usize>, init| ParamSpec { name, shape, init };
    let mut out = vec![
        p("tok_emb.weight".into(), vec![v, d], Init::Uniform(std)),
        p("pos_emb.weight".into(), vec![t, d], Init::Uniform(std)),
    ];
    for i in 0..c.layers {
        let h = format!("h.{i}.");
        out.extend([
            p(format!("{h}ln1.weight"), vec![d], Init::Ones),
            p(format!("{h}ln1.bias"), vec![d], Init::Zeros),
            p(
                format!("{h}attn.qkv.weight"),
                vec![3 * d, d],
                Init::Uniform(std),
            ),
            p(
                format!("{h}attn.proj.weight"),
                vec![d, d],
                Init::Uniform(residual),
            ),
            p(format!("{h}ln2.weight"), vec![d], Init::Ones),
            p(format!("{h}ln2.bias"), vec![d], Init::Zeros),
            p(format!("{h}mlp.fc.weight"), vec![m, d], Init::Uniform(std)),
            p(
                format!("{h}mlp.proj.weight"),
                vec![d, m],
                Init::Uniform(residual),
            ),
        ]);
    }
    out.extend([
        p("ln_f.weight".into(), vec![d], Init::Ones),
        p("ln_f.bias".into(), vec![d], Init::Zeros),
    ]);
    out
}

/// On-disk precision of the weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightFormat {
    F32,
    /// Half the size; weights are rounded to f16 and computed in f32 after loading.
    F16,
}

const LN_EPS: f64 = 1e-5;
/// The metadata key of the safetensors file.
const META_KEY: &str = "mlsec_gpt";
const FORMAT: &str = "mlsec-gpt/1";

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileMeta {
    format: String,
    config: GptConfig,
    /// Free-form notes (e.g. the variant and the training recipe), in key order.
    #[serde(default)]
    notes: std::collections::BTreeMap<String, String>,
}

struct Block {
    ln1: LayerNorm,
    qkv: Linear,
    proj: Linear,
    ln2: LayerNorm,
    fc: Linear,
    fc_proj: Linear,
}

/// A key/value cache: per block, keys and values `(1, heads, t, head_dim)` of the positions read.
struct Cache {
    kv: Vec<Option<(Tensor, Tensor)>>,
    len: usize,
}

/// What one decoding step recorded (batch 1, its last position).
#[derive(Default)]
struct Probe {
    /// `[layer][head][key position]`.
    attention: Vec<Vec<Vec<f32>>>,
    /// The residual stream after each block, `(1, d)`.
    residuals: Vec<Tensor>,
}

/// How many next-token candidates the logit lens keeps per layer.
pub const LENS_TOP: usize = 5;

/// What the model looked at and what it was about to say when it wrote one token.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenTrace {
    /// The token written.
    pub token: u32,
    /// The position whose output chose it (the last one read: the prompt's `<out>` for the
    /// first token, then the previous output token).
    pub position: usize,
    /// `[layer][head][key position]`: how much that position's query attended to each position
    /// `0..=position` (each row sums to 1).
    pub attention: Vec<Vec<Vec<f32>>>,
    /// `[layer]`: the [`LENS_TOP`] most likely next tokens with their probabilities had the
    /// model stopped after that layer (the logit lens); the last layer's is its real prediction.
    pub lens: Vec<Vec<(u32, f32)>>,
}

/// The modules of one view of the weights.
struct Modules {
    tok: Embedding,
    pos: Tensor,
    blocks: Vec<Block>,
    ln_f: LayerNorm,
    head: Linear,
}

impl Modules {
    fn new(config: &GptConfig, t: &[Tensor]) -> Modules {
        let ln = |i: usize| LayerNorm::new(t[i].clone(), t[i + 1].clone(), LN_EPS);
        let lin = |i: usize| Linear::new(t[i].clone(), None);
        let blocks = (0..config.layers as usize)
            .map(|l| {
                let b = 2 + PER_BLOCK * l;
                Block {
                    ln1: ln(b),
                    qkv: lin(b + 2),
                    proj: lin(b + 3),
                    ln2: ln(b + 4),
                    fc: lin(b + 6),
                    fc_proj: lin(b + 7),
                }
            })
            .collect();
        Modules {
            tok: Embedding::new(t[0].clone(), config.d_model as usize),
            pos: t[1].clone(),
            blocks,
            ln_f: ln(2 + PER_BLOCK * config.layers as usize),
            // Tied: the head reads the token embedding.
            head: Linear::new(t[0].clone(), None),
        }
    }
}

/// The tiny decoder-only transformer.
pub struct Gpt {
    config: GptConfig,
    /// Over the trainable variables (training, gradients).
    tracked: Modules,
    /// Over detached views of the same storage (decoding: no autograd graph is kept).
    detached: Modules,
    vars: Vec<Var>,
    names: Vec<String>,
}

impl fmt::Debug for Gpt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gpt").field("config", &self.config).finish()
    }
}

fn layer_norm(x: &Tensor, ln: &LayerNorm) -> Result<Tensor> {
    let bias = ln.bias().expect("every LayerNorm here has a bias");
    ops::layer_norm(x, ln.weight(), bias, LN_EPS as f32)
}

impl Gpt {
    /// A freshly initialised model, deterministic in `seed`.
    pub fn init(config: GptConfig, seed: u64) -> Result<Gpt> {
        config.validate()?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut tensors = Vec::new();
        for spec in param_specs(&config) {
            let n: usize = spec.shape.iter().product();
            let values: Vec<f32> = match spec.init {
                Init::Zeros => vec![0.0; n],
                Init::Ones => vec![1.0; n],
                Init::Uniform(std) => {
                    let b = std * 3f32.sqrt();
                    (0..n).map(|_| rng.random_range(-b..b)).collect()
                }
            };
            tensors.push(Tensor::from_vec(values, spec.shape, &Device::Cpu)?);
        }
        Gpt::from_tensors(config, tensors)
    }

    fn from_tensors(config: GptConfig, tensors: Vec<Tensor>) -> Result<Gpt> {
        let specs = param_specs(&config);
        debug_assert_eq!(specs.len(), tensors.len());
        let vars = tensors
            .iter()
            .map(Var::from_tensor)
            .collect::<candle_core::Result<Vec<_>>>()?;
        let tracked: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
        // `detach` shares the storage, so optimiser updates show in both views.
        let detached: Vec<Tensor> = tracked.iter().map(Tensor::detach).collect();
        Ok(Gpt {
            tracked: Modules::new(&config, &tracked),
            detached: Modules::new(&config, &detached),
            config,
            names: specs.into_iter().map(|s| s.name).collect(),
            vars,
        })
    }

    /// The model's shape.
    pub fn config(&self) -> &GptConfig {
        &self.config
    }

    /// Number of trainable parameters.
    pub fn param_count(&self) -> usize {
        self.vars.iter().map(|v| v.elem_count()).sum()
    }

    /// The trainable parameters with their names, in initialisation order.
    pub fn named_vars(&self) -> Vec<(String, Var)> {
        self.names
            .iter()
            .cloned()
            .zip(self.vars.iter().cloned())
            .collect()
    }

    /// The trainable parameters.
    pub fn vars(&self) -> Vec<Var> {
        self.vars.clone()
    }

    fn check_ids(&self, tokens: &Tensor) -> Result<(usize, usize)> {
        let (b, t) = tokens.dims2()?;
        if t == 0 || t > self.config.context as usize {
            return invalid(format!(
                "a sequence of {t} tokens (the model reads 1–{})",
                self.config.context
            ));
        }
        if tokens.dtype() != DType::U32 {
            return invalid("token ids must be u32");
        }
        if b > 0 {
            let max = tokens.flatten_all()?.max(0)?.to_scalar::<u32>()?;
            if max >= self.config.vocab {
                return invalid(format!("token id {max} is outside the vocabulary"));
            }
        }
        Ok((b, t))
    }

    /// Logits `(batch, t, vocab)` for token ids `(batch, t)` (u32, t ≤ context); position `i`
    /// predicts token `i + 1` and sees only tokens `0..=i`. Differentiable.
    pub fn forward(&self, tokens: &Tensor) -> Result<Tensor> {
        self.check_ids(tokens)?;
        let m = &self.tracked;
        let h = self.trunk(m, tokens, None, None)?;
        Ok(m.head.forward(&layer_norm(&h, &m.ln_f)?)?)
    }

    /// Logits `(n, vocab)` at chosen positions only: `positions` (u32) index the flattened
    /// `(batch · t)` grid. What training uses (the loss needs only the target positions, and
    /// the head and final LayerNorm are then computed on those rows alone). Differentiable.
    pub fn forward_at(&self, tokens: &Tensor, positions: &Tensor) -> Result<Tensor> {
        self.logits_at(&self.tracked, tokens, positions)
    }

    /// [`Gpt::forward_at`] without an autograd graph (scoring many candidates: GCG).
    pub fn score_at(&self, tokens: &Tensor, positions: &Tensor) -> Result<Tensor> {
        self.logits_at(&self.detached, tokens, positions)
    }

    fn logits_at(&self, m: &Modules, tokens: &Tensor, positions: &Tensor) -> Result<Tensor> {
        let (b, t) = self.check_ids(tokens)?;
        let h = self.trunk(m, tokens, None, None)?;
        let d = self.config.d_model as usize;
        let rows = h.reshape((b * t, d))?.index_select(positions, 0)?;
        Ok(m.head.forward(&layer_norm(&rows, &m.ln_f)?)?)
    }

    /// Logits `(t, vocab)` for one sequence given as token distributions `(t, vocab)` (a one-hot
    /// row per ordinary token): its embedding is their product with the embedding matrix, so a
    /// loss's gradient with respect to them ranks which token swaps would lower it (what GCG
    /// searches with). Read through the detached weights: only the input gets a gradient.
    pub fn forward_one_hot(&self, one_hot: &Tensor) -> Result<Tensor> {
        let (t, v) = one_hot.dims2()?;
        if t == 0 || t > self.config.context as usize || v != self.config.vocab as usize {
            return invalid(format!("a one-hot input of shape ({t}, {v})"));
        }
        let m = &self.detached;
        let x = one_hot
            .matmul(m.tok.embeddings())?
            .broadcast_add(&m.pos.narrow(0, 0, t)?)?
            .unsqueeze(0)?;
        let h = self.blocks(m, x, None, None)?;
        Ok(m.head.forward(&layer_norm(&h, &m.ln_f)?)?.squeeze(0)?)
    }

    /// The residual stream after the last block (before the final LayerNorm), `(b, t, d)`.
    /// With a probe (batch 1), the last position's attention weights and residual stream after
    /// every block are recorded.
    fn trunk(
        &self,
        m: &Modules,
        tokens: &Tensor,
        cache: Option<&mut Cache>,
        probe: Option<&mut Probe>,
    ) -> Result<Tensor> {
        let (_, t) = tokens.dims2()?;
        let offset = cache.as_ref().map_or(0, |c| c.len);
        let pos = m.pos.narrow(0, offset, t)?;
        let x = m.tok.forward(tokens)?.broadcast_add(&pos)?;
        self.blocks(m, x, cache, probe)
    }

    /// The transformer blocks over embedded inputs `x` `(b, t, d)` (see [`Gpt::trunk`]).
    fn blocks(
        &self,
        m: &Modules,
        mut x: Tensor,
        mut cache: Option<&mut Cache>,
        mut probe: Option<&mut Probe>,
    ) -> Result<Tensor> {
        let (_, t, _) = x.dims3()?;
        for (l, block) in m.blocks.iter().enumerate() {
            let kv = cache.as_mut().map(|c| &mut c.kv[l]);
            let (a, att) = self.attention(block, &layer_norm(&x, &block.ln1)?, kv)?;
            x = (x + a)?;
            let h = ops::gelu(&block.fc.forward(&layer_norm(&x, &block.ln2)?)?)?;
            x = (x + block.fc_proj.forward(&h)?)?;
            if let Some(p) = probe.as_mut() {
                // (1, h, t, t_all) → the last query's row for every head.
                p.attention.push(
                    att.get(0)?
                        .narrow(1, t - 1, 1)?
                        .squeeze(1)?
                        .to_vec2::<f32>()?,
                );
                p.residuals.push(x.get(0)?.narrow(0, t - 1, 1)?);
            }
        }
        if let Some(c) = cache {
            c.len += t;
        }
        Ok(x)
    }

    /// Causal self-attention of `x` `(b, t, d)`; with a cache, over the cached positions too.
    /// Returns the block's output and the attention weights `(b, h, t, t_all)`.
    fn attention(
        &self,
        block: &Block,
        x: &Tensor,
        kv: Option<&mut Option<(Tensor, Tensor)>>,
    ) -> Result<(Tensor, Tensor)> {
        let (b, t, d) = x.dims3()?;
        let h = self.config.heads as usize;
        let hd = d / h;
        // (b, t, 3d) → (3, b, h, t, hd)
        let qkv = block
            .qkv
            .forward(x)?
            .reshape((b, t, 3, h, hd))?
            .permute((2, 0, 3, 1, 4))?;
        let scale = 1.0 / (hd as f64).sqrt();
        let q = (qkv.get(0)? * scale)?.contiguous()?;
        let mut k = qkv.get(1)?.contiguous()?;
        let mut v = qkv.get(2)?.contiguous()?;
        if let Some(slot) = kv {
            if let Some((pk, pv)) = slot.as_ref() {
                k = Tensor::cat(&[pk, &k], 2)?;
                v = Tensor::cat(&[pv, &v], 2)?;
            }
            *slot = Some((k.clone(), v.clone()));
        }
        // (b, h, t, t_all): query i sits at position t_all − t + i and sees keys up to it.
        let att = ops::causal_softmax(&q.matmul(&k.t()?)?)?;
        let y = att
            .matmul(&v)? // (b, h, t, hd)
            .transpose(1, 2)?
            .contiguous()?
            .reshape((b, t, d))?;
        Ok((block.proj.forward(&y)?, att))
    }

    /// Logits of the last position after reading `tokens` (appended to what `cache` holds).
    fn step(
        &self,
        tokens: &[u32],
        cache: &mut Cache,
        probe: Option<&mut Probe>,
    ) -> Result<Vec<f32>> {
        let x = Tensor::from_slice(tokens, (1, tokens.len()), &Device::Cpu)?;
        let m = &self.detached;
        let h = self.trunk(m, &x, Some(cache), probe)?;
        let last = layer_norm(&h.narrow(1, tokens.len() - 1, 1)?, &m.ln_f)?;
        Ok(m.head.forward(&last)?.flatten_all()?.to_vec1::<f32>()?)
    }

    /// The logit lens: the `k` most likely next tokens if the residual stream `x` `(1, d)` went
    /// straight to the final LayerNorm and the head.
    fn lens(&self, x: &Tensor, k: usize) -> Result<Vec<(u32, f32)>> {
        let m = &self.detached;
        let logits = m.head.forward(&layer_norm(x, &m.ln_f)?)?.flatten_all()?;
        let probs = candle_nn::ops::softmax_last_dim(&logits.unsqueeze(0)?)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        Ok(top_k(&probs, k))
    }

    /// Greedy decoding: the tokens generated after `prompt` (which normally ends with `<out>`),
    /// stopping after `<eos>` (included), after `max_new` tokens, after [`MAX_OUTPUT_TOKENS`],
    /// or when the context is full. Ties go to the lowest id.
    pub fn generate(&self, prompt: &[u32], max_new: usize) -> Result<Vec<u32>> {
        self.decode(prompt, max_new, None)
    }

    /// Greedy decoding as [`Gpt::generate`], recording for every generated token what the
    /// model attended to and what each layer would have predicted ([`TokenTrace`]).
    pub fn trace(&self, prompt: &[u32], max_new: usize) -> Result<Vec<TokenTrace>> {
        let mut traces = Vec::new();
        self.decode(prompt, max_new, Some(&mut traces))?;
        Ok(traces)
    }

    fn decode(
        &self,
        prompt: &[u32],
        max_new: usize,
        mut traces: Option<&mut Vec<TokenTrace>>,
    ) -> Result<Vec<u32>> {
        let context = self.config.context as usize;
        if prompt.is_empty() {
            return invalid("the prompt is empty");
        }
        if prompt.len() >= context {
            return invalid(format!(
                "the prompt is {} tokens; the model reads at most {} (leaving room for an answer)",
                prompt.len(),
                context - 1
            ));
        }
        if let Some(&bad) = prompt.iter().find(|&&t| t >= self.config.vocab) {
            return invalid(format!("token id {bad} is outside the vocabulary"));
        }
        let limit = max_new
            .min(MAX_OUTPUT_TOKENS as usize)
            .min(context - prompt.len());
        let mut cache = Cache {
            kv: vec![None; self.config.layers as usize],
            len: 0,
        };
        let mut out = Vec::with_capacity(limit);
        if limit == 0 {
            return Ok(out);
        }
        let mut probe = traces.as_ref().map(|_| Probe::default());
        let mut logits = self.step(prompt, &mut cache, probe.as_mut())?;
        loop {
            let next = argmax(&logits);
            out.push(next);
            if let (Some(traces), Some(p)) = (traces.as_mut(), probe.as_mut()) {
                let lens = p
                    .residuals
                    .iter()
                    .map(|x| self.lens(x, LENS_TOP))
                    .collect::<Result<Vec<_>>>()?;
                traces.push(TokenTrace {
                    token: next,
                    position: cache.len - 1,
                    attention: std::mem::take(&mut p.attention),
                    lens,
                });
                p.residuals.clear();
            }
            if next == ids::EOS || out.len() >= limit {
                return Ok(out);
            }
            logits = self.step(&[next], &mut cache, probe.as_mut())?;
        }
    }

    /// The weights as a safetensors file, with the configuration (and `notes`, e.g. the variant)
    /// in its metadata. Deterministic: the same model gives the same bytes.
    pub fn to_safetensors(&self, format: WeightFormat, notes: &[(&str, &str)]) -> Result<Vec<u8>> {
        let dtype = match format {
            WeightFormat::F32 => DType::F32,
            WeightFormat::F16 => DType::F16,
        };
        let tensors = self
            .vars
            .iter()
            .map(|v| v.as_tensor().to_dtype(dtype))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let meta = FileMeta {
            format: FORMAT.into(),
            config: self.config,
            notes: notes
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        // One metadata key: safetensors writes its metadata map in hash order.
        let json = serde_json::to_string(&meta).map_err(|e| ModelError::Invalid(e.to_string()))?;
        let info = HashMap::from([(META_KEY.to_string(), json)]);
        safetensors::serialize(
            self.names.iter().map(String::as_str).zip(&tensors),
            Some(info),
        )
        .map_err(|e| ModelError::Invalid(format!("cannot write safetensors: {e}")))
    }

    /// Loads a model written by [`Gpt::to_safetensors`] (f32 or f16), with its notes. Refuses a
    /// file that is not one, has missing, extra or misshapen tensors, or non-finite weights,
    /// saying which.
    pub fn from_safetensors(bytes: &[u8]) -> Result<(Gpt, Vec<(String, String)>)> {
        let bad = |e: String| ModelError::Invalid(format!("not a readable model file ({e})"));
        let (_, metadata) =
            safetensors::SafeTensors::read_metadata(bytes).map_err(|e| bad(e.to_string()))?;
        let json = metadata
            .metadata()
            .as_ref()
            .and_then(|m| m.get(META_KEY))
            .ok_or_else(|| bad("no model configuration in its metadata".into()))?;
        let meta: FileMeta = serde_json::from_str(json).map_err(|e| bad(e.to_string()))?;
        if meta.format != FORMAT {
            return Err(bad(format!(
                "format '{}', expected '{FORMAT}'",
                meta.format
            )));
        }
        meta.config.validate()?;
        let mut tensors = candle_core::safetensors::load_buffer(bytes, &Device::Cpu)
            .map_err(|e| bad(e.to_string()))?;
        let mut params = Vec::new();
        for spec in param_specs(&meta.config) {
            let t = tensors
                .remove(&spec.name)
                .ok_or_else(|| ModelError::Invalid(format!("tensor '{}' is missing", spec.name)))?;
            if t.dims() != spec.shape.as_slice() || !matches!(t.dtype(), DType::F32 | DType::F16) {
                return invalid(format!(
                    "tensor '{}' is {:?} {:?}, expected F32 or F16 {:?}",
                    spec.name,
                    t.dtype(),
                    t.dims(),
                    spec.shape
                ));
            }
            let t = t.to_dtype(DType::F32)?;
            if t.flatten_all()?
                .to_vec1::<f32>()?
                .iter()
                .any(|v| !v.is_finite())
            {
                return invalid(format!(
                    "tensor '{}' holds NaN or infinite values",
                    spec.name
                ));
            }
            params.push(t);
        }
        if let Some(extra) = tensors.keys().next() {
            return invalid(format!("unexpected tensor '{extra}'"));
        }
        let notes = meta.notes.into_iter().collect();
        Ok((Gpt::from_tensors(meta.config, params)?, notes))
    }
}

/// The `k` largest values with their indices, largest first (ties: lowest index first).
pub fn top_k(values: &[f32], k: usize) -> Vec<(u32, f32)> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
    order
        .into_iter()
        .take(k)
        .map(|i| (i as u32, values[i]))
        .collect()
}

/// Index of the largest value (the first one on ties; NaN never wins).
pub fn argmax(values: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best as u32
}
