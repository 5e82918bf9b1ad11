//! MLSec Lab's tiny prompt-injection assistant: its tokenizer ([`vocab`]), the seeded
//! synthetic world it is trained and evaluated on ([`world`]), and exact checkers of its outputs
//! ([`check`]), the tiny GPT ([`model`]) and its training and behaviour evaluation ([`train`]).
//!
//! Two variants are trained on the same episodes with different labels and prompt layouts:
//! [`Variant::Assistant`] follows instructions wherever they appear (so injections in the data
//! work, as with plain instruction tuning) but refuses a plain request for its secret;
//! [`Variant::Structured`] (StruQ/SecAlign style) sees the channels through reserved delimiters
//! that the front end strips from untrusted text, and is trained to ignore instructions in
//! `[DATA]`. The vulnerability comes from the training labels, never from a rule in code.
//!
//! No I/O: builds for the host and for wasm32.

pub mod check;
pub mod gcg;
pub mod heldout;
pub mod model;
pub mod ops;
pub mod train;
pub mod vocab;
pub mod world;

pub use check::{
    benign_success, follows_injection, injection_success, is_outside_address, leaks_secret,
    normalise, parse_image, parse_tool_call, reply_text, text_leaks, ImageLink, ToolCall,
};
pub use heldout::{HeldOut, HeldOutEpisodes};
pub use model::{Gpt, GptConfig, ModelError, TokenTrace, WeightFormat, LENS_TOP};
pub use train::{evaluate, make_batch, Batch, Behaviour, Progress, Suite, TrainConfig, Trainer};
pub use vocab::{ids, Vocab};
pub use world::{
    generate, layout_prompt, layout_prompt_parts, strip_delimiters, DataKind, Episode, Facts, Goal,
    GoalKind, GoalMix, Injection, Mix, MixError, Part, Placement, RequestKind, Sequence, Slot,
    Split, UserRequest, Variant, MAX_OUTPUT_TOKENS, MAX_PROMPT_TOKENS, REFUSAL,
};
