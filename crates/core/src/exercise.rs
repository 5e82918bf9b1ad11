//! What every exercise has, whatever its kind: the exercise as a lesson declares it, the
//! settings a learner chooses (one variant per kind, kept in receipts), the artefact a grader
//! judges, what a grade was measured on, and the context graders run in. Each kind's own task,
//! settings, run and grade live in its module under [`crate::kinds`].

use crate::attacks::PgdConfig;
use crate::census::Census;
use crate::defence::{DefenceRow, Defences};
use crate::digits::Digits;
use crate::injection::{Assistants, Conversation, PromptSettings};
use crate::inversion::InversionSettings;
use crate::kinds::adversarial_training::AdvTrainConfig;
use crate::kinds::attribute_inference::{AttributeAttack, AttributeReport};
use crate::kinds::backdoor::{BackdoorPlan, BackdoorReport};
use crate::kinds::dp_defence::{DpSettings, PrivacyReport};
use crate::kinds::fgsm::FgsmSettings;
use crate::kinds::find_poisons::{DetectionReport, Removal};
use crate::kinds::inversion::InversionReport;
use crate::kinds::label_flip::{Flip, LabelFlips};
use crate::kinds::membership::{LossThreshold, MembershipReport};
use crate::kinds::pixel_attack::PixelEdits;
use crate::kinds::shadow_models::{ShadowAttack, ShadowReport};
use crate::kinds::spam_backdoor::{SpamPoison, SpamReport};
use crate::kinds::Task;
use crate::mlp::Mlp;
use crate::spam::Corpus;
use crate::train::TrainConfig;
use crate::workshop::Instance;
use crate::{Error, Result};
use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// One exercise of a lesson, as its `exercises.toml` declares it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exercise {
    pub id: String,
    pub title: String,
    pub goal: String,
    pub hints: Vec<String>,
    #[serde(default)]
    pub solution_notes: String,
    pub task: Task,
    /// A prediction the learner may commit to before their first run ("what attack success will
    /// ε = 0.1 reach?"): optional for the learner, shown beside the result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predict: Option<Predict>,
    /// Set by a workshop, never by a lesson: whose instance of the task this is
    /// ([`crate::workshop::Workshop::instance`]); receipts carry it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<Instance>,
}

/// An exercise's prediction prompt: the question, and the label of the grade's figure (a
/// percentage) its answer is compared with (`mlsec check-content` checks the reference's grade
/// has it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Predict {
    pub question: String,
    pub figure: String,
}

/// What the learner chose, for any kind: the input of a run, kept in receipts. One variant per
/// kind ([`crate::kinds::ExerciseKind::wrap`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Settings {
    Train(TrainConfig),
    Pixels(PixelEdits),
    Fgsm(FgsmSettings),
    Pgd(PgdConfig),
    AdvTrain(AdvTrainConfig),
    Prompt(PromptSettings),
    Defences(Defences),
    Flips(LabelFlips),
    Backdoor(BackdoorPlan),
    Removal(Removal),
    SpamPoison(SpamPoison),
    LossThreshold(LossThreshold),
    ShadowAttack(ShadowAttack),
    Private(DpSettings),
    Inversion(InversionSettings),
    AttributeAttack(AttributeAttack),
    TokenSearch(mlsec_assistant::gcg::GcgSettings),
}

/// What a grade was measured on, for the page to show beside it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Details {
    #[default]
    None,
    /// The conversations an injection attack was graded on.
    Conversations(Vec<Conversation>),
    /// Attack success and utility per defence (no defence first, the learner's composition last).
    Defences(Vec<DefenceRow>),
    /// Clean accuracy and attack success of the clean and the poisoned model, and test images
    /// clean and triggered with the poisoned model's answers.
    Backdoor(BackdoorReport),
    /// Clean accuracy and attack success of the unpoisoned, poisoned and cleaned models, and
    /// how well the detector and the learner's removal found the poisons.
    Detection(DetectionReport),
    /// Spam caught and triggered spam let through by the clean and the poisoned filter, the
    /// trigger's weight in each, and test spam with and without the trigger.
    Spam(SpamReport),
    /// The known and challenge records' losses, the rates and ROC of the learner's threshold,
    /// and the target's train and test accuracy.
    Membership(MembershipReport),
    /// The learner's shadow-model attack's ROC on the pool beside the target's loss alone, and
    /// the target's and shadows' test accuracy.
    Shadow(ShadowReport),
    /// ε, test accuracy and the fitting attack's ROC for the plain target (with confidences
    /// and with labels only) and the learner's DP-SGD target.
    Privacy(PrivacyReport),
    /// What the target and the independent evaluator make of each reconstruction, its likeness
    /// to its class average, and the reconstructions and averages themselves.
    Inversion(InversionReport),
    /// The attribute attack's and the prior's accuracy on members and non-members, and the
    /// census model's own accuracy.
    Attribute(AttributeReport),
}

/// Defines [`Artefact`] from one list of its variants (each one field, and the name receipts
/// give it): the enum, written with serde's internal tagging (`{"type": "weights",
/// "safetensors": …}`), and a `Deserialize` that reads that form without serde's derive for it,
/// which copies every value into a buffer of its own first and so linked a second deserialiser
/// for every artefact's contents into each module (the page: 19 KB of its gzip).
macro_rules! artefacts {
    ($( $(#[doc = $doc:literal])* $variant:ident = $tag:literal { $field:ident: $ty:ty }, )*) => {
        /// The thing a grader judges. Floats travel as little-endian f32 bytes in base64 so that a
        /// receipt re-grades bit for bit.
        #[derive(Clone, Debug, PartialEq, Serialize)]
        #[serde(tag = "type")]
        pub enum Artefact {
            $(
                $(#[doc = $doc])*
                #[serde(rename = $tag)]
                $variant { $field: $ty },
            )*
        }

        impl<'de> Deserialize<'de> for Artefact {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                use serde::de::Error as _;
                let (tag, mut map) = tagged(d, "type", "an artefact's type")?;
                let mut take = |key: &'static str| {
                    map.remove(key).ok_or_else(|| D::Error::missing_field(key))
                };
                match tag.as_str() {
                    $(
                        $tag => Ok(Artefact::$variant {
                            $field: <$ty>::deserialize(take(stringify!($field))?)
                                .map_err(D::Error::custom)?,
                        }),
                    )*
                    _ => Err(D::Error::unknown_variant(&tag, &[$($tag),*])),
                }
            }
        }
    };
}

artefacts! {
    /// A trained model, as safetensors bytes.
    Weights = "weights" { safetensors: Base64 },
    /// Images (`n × 64` pixels), in test-split order (for PGD: the source-class images in order).
    Images = "images" { pixels: Base64 },
    /// Text the learner wrote into one channel of a conversation.
    Text = "text" { text: String },
    /// A composition of defences (the grader measures it afresh).
    Defences = "defences" { defences: Defences },
    /// Training labels the learner flipped (the grader retrains on them).
    Flips = "flips" { flips: Vec<Flip> },
    /// A backdoor to plant (the grader stamps, relabels and retrains).
    Backdoor = "backdoor" { plan: BackdoorPlan },
    /// Training images to remove (the grader retrains on the rest).
    Removal = "removal" { removal: Removal },
    /// A trigger word and messages added to training as ham (the grader retrains the filter).
    SpamPoison = "spam-poison" { poison: SpamPoison },
    /// A loss threshold for membership inference (the grader trains the target and measures it).
    Threshold = "threshold" { threshold: f64 },
    /// A shadow-model membership attack (the grader trains the target and the shadows).
    ShadowAttack = "shadow-attack" { attack: ShadowAttack },
    /// An attribute-inference attack (the grader trains the census model and runs it).
    AttributeAttack = "attribute-attack" { attack: AttributeAttack },
    /// A DP-SGD recipe (the grader trains the private target and the attack's shadows).
    Private = "private" { settings: DpSettings },
}

/// An internally tagged object's tag (`key`, a string: `names` says what it names) and its
/// other keys, read as a JSON object: how [`Artefact`] and [`Task`] read the forms serde's
/// derive would buffer.
pub(crate) fn tagged<'de, D: serde::Deserializer<'de>>(
    d: D,
    key: &'static str,
    names: &str,
) -> std::result::Result<(String, serde_json::Map<String, serde_json::Value>), D::Error> {
    use serde::de::Error as _;
    let mut map = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
    match map.remove(key) {
        Some(serde_json::Value::String(tag)) => Ok((tag, map)),
        Some(_) => Err(D::Error::custom(format!(
            "`{key}` must be {names}, in quotes"
        ))),
        None => Err(D::Error::missing_field(key)),
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Base64(pub Vec<u8>);

impl Serialize for Base64 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Base64 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map(Base64)
            .map_err(|e| serde::de::Error::custom(format!("not valid base64: {e}")))
    }
}

impl Artefact {
    pub fn images(pixels: &[f32]) -> Self {
        Artefact::Images {
            pixels: Base64(pixels.iter().flat_map(|v| v.to_le_bytes()).collect()),
        }
    }
    pub fn weights(model: &Mlp) -> Result<Self> {
        Ok(Artefact::Weights {
            safetensors: Base64(model.to_safetensors()?),
        })
    }
    pub(crate) fn pixels(&self) -> std::result::Result<Vec<f32>, String> {
        match self {
            Artefact::Images { pixels } if pixels.0.len() % 4 == 0 => Ok(pixels
                .0
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()),
            Artefact::Images { .. } => {
                Err("the image data is not a whole number of 32-bit floats".into())
            }
            Artefact::Weights { .. } => Err("expected perturbed images, got model weights".into()),
            // Only images and weights are told apart here; every other artefact is simply not
            // images, so a new kind's artefact needs no arm.
            _ => Err("expected perturbed images".into()),
        }
    }
    pub(crate) fn model(&self) -> std::result::Result<Mlp, String> {
        match self {
            Artefact::Weights { safetensors } => {
                Mlp::from_safetensors(&safetensors.0).map_err(|e| e.to_string())
            }
            Artefact::Images { .. } => Err("expected trained model weights, got images".into()),
            _ => Err("expected trained model weights".into()),
        }
    }
    /// SHA-256 of the model this artefact *is*, when it is one.
    pub fn model_sha256(&self) -> Option<String> {
        match self {
            Artefact::Weights { safetensors } => Some(crate::sha256_hex(&safetensors.0)),
            _ => None,
        }
    }
}

/// What graders and runs need besides the artefact, each loaded only when a kind that needs it
/// first runs ([`crate::kinds::ExerciseKind::needs`]): the digits data and the shipped target model (Tracks
/// 0, A and B), the SMS spam messages (Track B's spam filter), the assistant models (Track E).
pub struct Context<'a> {
    pub digits: Option<&'a Digits>,
    pub spam: Option<&'a Corpus>,
    pub census: Option<&'a Census>,
    pub target: Option<&'a Mlp>,
    pub assistants: Option<&'a Assistants>,
}

impl<'a> Context<'a> {
    pub(crate) fn digits(&self) -> Result<&'a Digits> {
        self.digits
            .ok_or_else(|| Error::Data("the digits data is not loaded".into()))
    }
    pub(crate) fn spam(&self) -> Result<&'a Corpus> {
        self.spam
            .ok_or_else(|| Error::Data("the SMS spam data is not loaded".into()))
    }
    pub(crate) fn census(&self) -> Result<&'a Census> {
        self.census
            .ok_or_else(|| Error::Data("the census data is not loaded".into()))
    }
    pub(crate) fn target(&self) -> Result<&'a Mlp> {
        self.target
            .ok_or_else(|| Error::Model("the target model is not loaded".into()))
    }
    pub(crate) fn assistants(&self) -> Result<&'a Assistants> {
        self.assistants
            .ok_or_else(|| Error::Model("the assistant models are not loaded".into()))
    }
}
