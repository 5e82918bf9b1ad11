//! The exercise kinds. For each: the task a lesson sets (budgets, thresholds, starter and
//! reference solution), the settings a learner chooses, how those settings are turned into an
//! artefact (the run), and the grader that re-checks the artefact from scratch.

use crate::attacks::{fgsm, pgd, PgdConfig};
use crate::defence::{DefenceRow, Defences, DefendTask};
use crate::digits::{Digits, Images, PIXELS};
use crate::grade::{Figure, Grade, Unit};
use crate::injection::{Assistants, Attack, AttackGoal, Channel, Conversation, PromptSettings};
use crate::mlp::Mlp;
use crate::train::{Adversary, TrainConfig, Trainer};
use crate::{Error, Result};
use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// L∞ slack the graders allow on top of ε, for float rounding in the projection.
pub const EPSILON_SLACK: f32 = 1e-4;
/// The grader's own attack on a defended model: PGD with this many steps (Madry step size).
pub const ROBUSTNESS_PGD_STEPS: u32 = 20;
/// How far (relative L2 over all parameters, [`Mlp::relative_distance`]) a receipt's trained
/// weights may lie from the grader's own re-run of the receipt's settings. The re-run, not the
/// upload, is graded; this only catches weights that another recipe made. Measured: the same
/// settings trained in Chromium and natively lie 4e-7 apart for plain training and 2.1% apart
/// for adversarial training (PGD's sign steps amplify the rounding differences of fused
/// multiply-adds); another seed lands at 139–147%, another exercise's model at 113%, a 10% change
/// of learning rate at 28–38%, of the training ε at 26%.
pub const RETRAIN_TOLERANCE: f64 = 0.15;
/// The most training a receipt's settings may ask for, in optimiser steps × (1 + attack steps
/// per batch): what the grader is willing to re-run for one receipt (about ten seconds natively;
/// the lessons' reference runs take 900 and 8,100). The page refuses larger runs the same way.
pub const MAX_TRAINING_WORK: u64 = 250_000;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PixelEdit {
    pub pixel: u32,
    pub value: f32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PixelEdits {
    pub edits: Vec<PixelEdit>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FgsmSettings {
    pub epsilon: f32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdvTrainConfig {
    pub epochs: u32,
    pub learning_rate: f64,
    pub batch_size: u32,
    pub train_epsilon: f32,
    pub train_steps: u32,
    pub seed: u64,
}

impl AdvTrainConfig {
    fn split(&self) -> (TrainConfig, Adversary) {
        let config = TrainConfig {
            epochs: self.epochs,
            learning_rate: self.learning_rate,
            batch_size: self.batch_size,
            seed: self.seed,
        };
        (
            config,
            Adversary {
                epsilon: self.train_epsilon,
                steps: self.train_steps,
            },
        )
    }
}

/// What the learner chose, for any kind: the input of a run, kept in receipts.
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
}

impl Settings {
    /// These settings as a training run really ran them: stopped after `epochs` epochs, it
    /// trained exactly the model that settings asking for `epochs` train (nothing in the recipe
    /// depends on the total), so its receipt re-grades to the model that was graded.
    pub fn ran_for(self, epochs: u32) -> Settings {
        match self {
            Settings::Train(c) => Settings::Train(TrainConfig { epochs, ..c }),
            Settings::AdvTrain(c) => Settings::AdvTrain(AdvTrainConfig { epochs, ..c }),
            other => other,
        }
    }

    /// The seed that fed the run, if it had one (recorded in receipts).
    pub fn seed(&self) -> u64 {
        match self {
            Settings::Train(c) => c.seed,
            Settings::AdvTrain(c) => c.seed,
            _ => 0,
        }
    }
}

/// A task as a lesson's `exercises.toml` declares it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Task {
    TrainClassifier {
        min_test_accuracy: f32,
        starter: TrainConfig,
        solution: TrainConfig,
    },
    PixelAttack {
        image_index: u32,
        max_pixels: u32,
        starter: PixelEdits,
        solution: PixelEdits,
    },
    Fgsm {
        epsilon_budget: f32,
        min_success: f32,
        starter: FgsmSettings,
        solution: FgsmSettings,
    },
    PgdTargeted {
        source_class: u8,
        target_class: u8,
        epsilon_budget: f32,
        min_success: f32,
        starter: PgdConfig,
        solution: PgdConfig,
    },
    AdversarialTraining {
        epsilon: f32,
        min_robust_accuracy: f32,
        min_clean_accuracy: f32,
        starter: AdvTrainConfig,
        solution: AdvTrainConfig,
    },
    /// Track E: the learner writes one channel of a conversation with the tiny assistant; the
    /// attack must reach its goal in at least `min_success` of `scenarios` seeded conversations.
    PromptInjection {
        channel: Channel,
        goal: AttackGoal,
        model: mlsec_assistant::Variant,
        scenarios: u32,
        seed: u64,
        min_success: f32,
        /// Defences in front of `model` (none by default): the adaptive-attack exercise.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        defences: Option<Defences>,
        starter: PromptSettings,
        solution: PromptSettings,
    },
    /// Track E: the learner composes defences; on a hidden suite of `attacks` injected data items
    /// and `benign` ordinary requests, attack success must stay ≤ `max_attack_success` and
    /// utility may fall by at most `max_utility_drop` below the undefended plain assistant's.
    DefendInjection {
        attacks: u32,
        benign: u32,
        seed: u64,
        max_attack_success: f32,
        max_utility_drop: f32,
        starter: Defences,
        solution: Defences,
    },
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
}

/// The thing a grader judges. Floats travel as little-endian f32 bytes in base64 so that a
/// receipt re-grades bit for bit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Artefact {
    /// A trained model, as safetensors bytes.
    Weights { safetensors: Base64 },
    /// Images (`n × 64` pixels), in test-split order (for PGD: the source-class images in order).
    Images { pixels: Base64 },
    /// Text the learner wrote into one channel of a conversation.
    Text { text: String },
    /// A composition of defences (the grader measures it afresh).
    Defences { defences: Defences },
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
    fn pixels(&self) -> std::result::Result<Vec<f32>, String> {
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
            Artefact::Text { .. } | Artefact::Defences { .. } => {
                Err("expected perturbed images".into())
            }
        }
    }
    fn model(&self) -> std::result::Result<Mlp, String> {
        match self {
            Artefact::Weights { safetensors } => {
                Mlp::from_safetensors(&safetensors.0).map_err(|e| e.to_string())
            }
            Artefact::Images { .. } => Err("expected trained model weights, got images".into()),
            Artefact::Text { .. } | Artefact::Defences { .. } => {
                Err("expected trained model weights".into())
            }
        }
    }
    /// SHA-256 of the model this artefact *is*, when it is one.
    pub fn model_sha256(&self) -> Option<String> {
        match self {
            Artefact::Weights { safetensors } => Some(crate::sha256_hex(&safetensors.0)),
            Artefact::Images { .. } | Artefact::Text { .. } | Artefact::Defences { .. } => None,
        }
    }
}

/// What graders and runs need besides the artefact, each loaded only when a kind that needs it
/// first runs ([`Task::needs`]): the digits data and the shipped target model (Tracks
/// 0 and A), the assistant models (Track E).
pub struct Context<'a> {
    pub digits: Option<&'a Digits>,
    pub target: Option<&'a Mlp>,
    pub assistants: Option<&'a Assistants>,
}

impl<'a> Context<'a> {
    pub(crate) fn digits(&self) -> Result<&'a Digits> {
        self.digits
            .ok_or_else(|| Error::Data("the digits data is not loaded".into()))
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

/// How an ε-budgeted set of images fails the rules, if it does.
fn check_perturbation(original: &[f32], attacked: &[f32], epsilon: f32) -> Option<String> {
    if original.len() != attacked.len() {
        return Some(format!(
            "expected {} images, got {}",
            original.len() / PIXELS,
            attacked.len() as f32 / PIXELS as f32
        ));
    }
    for (i, (o, a)) in original
        .chunks(PIXELS)
        .zip(attacked.chunks(PIXELS))
        .enumerate()
    {
        for (p, (&o, &a)) in o.iter().zip(a).enumerate() {
            if !a.is_finite() || !(0.0..=1.0).contains(&a) {
                return Some(format!(
                    "image {i}, pixel {p} is {a}, outside the pixel range [0, 1]"
                ));
            }
            if (a - o).abs() > epsilon + EPSILON_SLACK {
                return Some(format!(
                    "image {i}, pixel {p} moved by {:.4}, more than the budget ε = {epsilon}",
                    (a - o).abs()
                ));
            }
        }
    }
    None
}

/// Among images the model got right originally, how many the attack turned (to anything else,
/// or to `target`). Returns (turned, originally correct).
fn attack_success(
    model: &Mlp,
    clean: &Images,
    attacked: &[f32],
    target: Option<u8>,
) -> Result<(usize, usize)> {
    let before = model.predict(&clean.pixels)?;
    let after = model.predict(attacked)?;
    let mut turned = 0;
    let mut correct = 0;
    for i in 0..clean.len() {
        if before[i] != clean.labels[i] {
            continue;
        }
        correct += 1;
        let fooled = match target {
            Some(t) => after[i] == t,
            None => after[i] != clean.labels[i],
        };
        turned += usize::from(fooled);
    }
    Ok((turned, correct))
}

/// `image` with the learner's pixel edits applied (values clamped to [0, 1]).
pub fn apply_edits(image: &[f32], edits: &[PixelEdit]) -> Result<Vec<f32>> {
    let mut image = image.to_vec();
    for edit in edits {
        let slot = image.get_mut(edit.pixel as usize).ok_or_else(|| {
            Error::InvalidInput(format!("pixel {} does not exist (0–63)", edit.pixel))
        })?;
        if !edit.value.is_finite() {
            return Err(Error::InvalidInput(format!(
                "pixel {} was given {}",
                edit.pixel, edit.value
            )));
        }
        *slot = edit.value.clamp(0.0, 1.0);
    }
    Ok(image)
}

fn wrong_settings() -> Error {
    Error::InvalidInput("these settings belong to another kind of exercise".into())
}

fn fraction(part: usize, whole: usize) -> f64 {
    part as f64 / whole.max(1) as f64
}

impl Task {
    pub fn starter(&self) -> Settings {
        self.settings(false)
    }
    pub fn solution(&self) -> Settings {
        self.settings(true)
    }
    fn settings(&self, solution: bool) -> Settings {
        match self {
            Task::TrainClassifier {
                starter,
                solution: s,
                ..
            } => Settings::Train((if solution { s } else { starter }).clone()),
            Task::PixelAttack {
                starter,
                solution: s,
                ..
            } => Settings::Pixels((if solution { s } else { starter }).clone()),
            Task::Fgsm {
                starter,
                solution: s,
                ..
            } => Settings::Fgsm((if solution { s } else { starter }).clone()),
            Task::PgdTargeted {
                starter,
                solution: s,
                ..
            } => Settings::Pgd(*(if solution { s } else { starter })),
            Task::AdversarialTraining {
                starter,
                solution: s,
                ..
            } => Settings::AdvTrain((if solution { s } else { starter }).clone()),
            Task::PromptInjection {
                starter,
                solution: s,
                ..
            } => Settings::Prompt((if solution { s } else { starter }).clone()),
            Task::DefendInjection {
                starter,
                solution: s,
                ..
            } => Settings::Defences((if solution { s } else { starter }).clone()),
        }
    }

    /// Whether a training run backs this task (its run reports epochs and can be stopped).
    pub fn trains(&self) -> bool {
        matches!(
            self,
            Task::TrainClassifier { .. } | Task::AdversarialTraining { .. }
        )
    }

    /// Checks the task's own numbers (a lesson author's mistake is reported, not graded).
    pub fn validate(&self) -> std::result::Result<(), String> {
        let unit = |name: &str, v: f32| {
            if v.is_finite() && (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(format!("{name} must be in [0, 1], got {v}"))
            }
        };
        match self {
            Task::TrainClassifier {
                min_test_accuracy, ..
            } => unit("min_test_accuracy", *min_test_accuracy),
            Task::PixelAttack {
                image_index,
                max_pixels,
                ..
            } => {
                if *image_index as usize >= crate::digits::TEST_ROWS {
                    return Err(format!(
                        "image_index must be below {}",
                        crate::digits::TEST_ROWS
                    ));
                }
                if *max_pixels == 0 || *max_pixels as usize > PIXELS {
                    return Err("max_pixels must be 1–64".into());
                }
                Ok(())
            }
            Task::Fgsm {
                epsilon_budget,
                min_success,
                ..
            } => {
                unit("epsilon_budget", *epsilon_budget)?;
                unit("min_success", *min_success)
            }
            Task::PgdTargeted {
                source_class,
                target_class,
                epsilon_budget,
                min_success,
                ..
            } => {
                if *source_class > 9 || *target_class > 9 || source_class == target_class {
                    return Err(
                        "source_class and target_class must be two different digits 0–9".into(),
                    );
                }
                unit("epsilon_budget", *epsilon_budget)?;
                unit("min_success", *min_success)
            }
            Task::AdversarialTraining {
                epsilon,
                min_robust_accuracy,
                min_clean_accuracy,
                ..
            } => {
                unit("epsilon", *epsilon)?;
                unit("min_robust_accuracy", *min_robust_accuracy)?;
                unit("min_clean_accuracy", *min_clean_accuracy)
            }
            Task::PromptInjection {
                scenarios,
                min_success,
                model,
                defences,
                ..
            } => {
                if !(1..=64).contains(scenarios) {
                    return Err(format!("scenarios must be 1–64, got {scenarios}"));
                }
                if let Some(d) = defences {
                    if d.model != *model {
                        return Err("defences.model must be the task's model".into());
                    }
                    d.validate().map_err(|e| e.to_string())?;
                }
                unit("min_success", *min_success)
            }
            Task::DefendInjection {
                attacks,
                benign,
                max_attack_success,
                max_utility_drop,
                starter,
                solution,
                ..
            } => {
                if !(1..=2_000).contains(attacks) || !(1..=2_000).contains(benign) {
                    return Err("attacks and benign must be 1–2,000".into());
                }
                unit("max_attack_success", *max_attack_success)?;
                unit("max_utility_drop", *max_utility_drop)?;
                for d in [starter, solution] {
                    d.validate().map_err(|e| e.to_string())?;
                }
                Ok(())
            }
        }
    }

    /// The defend task's parameters, for that kind.
    pub fn defend(&self) -> Option<DefendTask> {
        match self {
            Task::DefendInjection {
                attacks,
                benign,
                seed,
                max_attack_success,
                max_utility_drop,
                ..
            } => Some(DefendTask {
                attacks: *attacks,
                benign: *benign,
                seed: *seed,
                max_attack_success: *max_attack_success,
                max_utility_drop: *max_utility_drop,
            }),
            _ => None,
        }
    }

    /// The resources a run and a grade of this task need, loaded on its first run: the digits
    /// (and, to attack it, the shipped target model) for Tracks 0 and A, both assistant models
    /// for Track E.
    pub fn needs(&self) -> &'static [crate::resources::Resource] {
        use crate::resources::Resource::*;
        match self {
            Task::TrainClassifier { .. } | Task::AdversarialTraining { .. } => &[Digits],
            Task::PixelAttack { .. } | Task::Fgsm { .. } | Task::PgdTargeted { .. } => {
                &[Digits, TargetModel]
            }
            Task::PromptInjection { .. } | Task::DefendInjection { .. } => {
                &[AssistantModel, StructuredModel]
            }
        }
    }

    /// Whether this task needs the assistant models (Track E).
    pub fn uses_assistants(&self) -> bool {
        self.needs()
            .contains(&crate::resources::Resource::AssistantModel)
    }

    /// The injection task's parameters, for the kinds that have them.
    pub fn attack(&self) -> Option<Attack> {
        match self {
            Task::PromptInjection {
                channel,
                goal,
                model,
                scenarios,
                seed,
                defences,
                ..
            } => Some(Attack {
                channel: *channel,
                goal: *goal,
                defences: defences.clone().unwrap_or(Defences {
                    model: *model,
                    ..Defences::none()
                }),
                scenarios: *scenarios,
                seed: *seed,
            }),
            _ => None,
        }
    }

    /// The SHA-256 of the shipped model this task grades against, when that is not the digits
    /// target: the attacked assistant variant, or for the defend exercise (which measures both
    /// variants) the SHA-256 of their two hashes joined by a space.
    pub fn graded_model_sha256(&self) -> Option<String> {
        use crate::injection::{shipped_sha256, ASSISTANT_SHA256, STRUCTURED_SHA256};
        match self {
            Task::DefendInjection { .. } => Some(crate::sha256_hex(
                format!("{ASSISTANT_SHA256} {STRUCTURED_SHA256}").as_bytes(),
            )),
            _ => self
                .attack()
                .map(|a| shipped_sha256(a.defences.model).to_string()),
        }
    }

    /// For the kinds backed by training: a [`Trainer`] set up from the learner's settings, to be
    /// run epoch by epoch (the worker yields between epochs so Stop can land). `None` for attacks.
    pub fn trainer(&self, settings: &Settings, ctx: &Context) -> Result<Option<Trainer>> {
        Ok(match (self, settings) {
            (Task::TrainClassifier { .. }, Settings::Train(config)) => {
                Some(Trainer::new(ctx.digits()?, config.clone(), None)?)
            }
            (Task::AdversarialTraining { .. }, Settings::AdvTrain(config)) => {
                let (config, adversary) = config.split();
                Some(Trainer::new(ctx.digits()?, config, Some(adversary))?)
            }
            (Task::TrainClassifier { .. } | Task::AdversarialTraining { .. }, _) => {
                return Err(wrong_settings())
            }
            _ => None,
        })
    }

    /// Turns a learner's settings into the artefact the grader judges, for the kinds whose
    /// artefact is made in one go: an attack on the shipped target, Track E's text or defences.
    /// A training run is driven epoch by epoch by the job driver (`Session::start`).
    pub fn run(&self, settings: &Settings, ctx: &Context) -> Result<Artefact> {
        if self.trains() {
            self.trainer(settings, ctx)?;
            return Err(Error::InvalidInput(
                "a training run is driven epoch by epoch (Session::start)".into(),
            ));
        }
        if self.uses_assistants() {
            return match (self, settings) {
                (Task::DefendInjection { .. }, Settings::Defences(d)) => {
                    d.validate()?;
                    Ok(Artefact::Defences {
                        defences: d.clone(),
                    })
                }
                (Task::PromptInjection { channel, .. }, Settings::Prompt(p)) => {
                    crate::injection::prepare(&p.text, *channel)?;
                    Ok(Artefact::Text {
                        text: p.text.clone(),
                    })
                }
                _ => Err(wrong_settings()),
            };
        }
        let (test, target) = (&ctx.digits()?.test, ctx.target()?);
        match (self, settings) {
            (Task::PixelAttack { image_index, .. }, Settings::Pixels(edits)) => {
                Ok(Artefact::images(&apply_edits(
                    test.image(*image_index as usize),
                    &edits.edits,
                )?))
            }
            (Task::Fgsm { .. }, Settings::Fgsm(s)) => Ok(Artefact::images(&fgsm(
                target,
                &test.pixels,
                &test.labels,
                s.epsilon,
            )?)),
            (
                Task::PgdTargeted {
                    source_class,
                    target_class,
                    ..
                },
                Settings::Pgd(config),
            ) => {
                let (_, source) = test.of_class(*source_class);
                Ok(Artefact::images(&pgd(
                    target,
                    &source.pixels,
                    &source.labels,
                    config,
                    Some(*target_class),
                )?))
            }
            _ => Err(wrong_settings()),
        }
    }

    /// What a receipt's grade must be computed on, re-derived from its settings, or why its
    /// settings and artefact disagree (the receipt is then forged). Training kinds re-run the
    /// recorded settings (deterministic, seconds) and grade that model, never the uploaded
    /// weights, which must still be the same model up to rounding. The other kinds check the
    /// artefact against the settings that made it: the same pixel edits, the same text, the same
    /// defences, images within the recorded ε.
    pub fn reproduce(
        &self,
        settings: &Settings,
        artefact: &Artefact,
        ctx: &Context,
    ) -> Result<std::result::Result<Artefact, String>> {
        let mismatch = |why: String| Ok(Err(why));
        let trainer = match self.trainer(settings, ctx) {
            Ok(t) => t,
            Err(Error::InvalidInput(why)) => {
                return mismatch(format!("its settings cannot be run: {why}"))
            }
            Err(e) => return Err(e),
        };
        if let Some(mut trainer) = trainer {
            let uploaded = match artefact.model() {
                Ok(m) => m,
                Err(why) => return mismatch(why),
            };
            while !trainer.finished() {
                match trainer.run_epoch() {
                    Ok(_) => {}
                    Err(Error::InvalidInput(why)) => {
                        return mismatch(format!("its settings cannot be run: {why}"))
                    }
                    Err(e) => return Err(e),
                }
            }
            let distance = uploaded.relative_distance(trainer.model())?;
            if !(distance <= RETRAIN_TOLERANCE) {
                return mismatch(format!(
                    "its weights were not trained with its settings: they lie {:.0}% away from \
                     the model those settings train (at most {:.0}% is rounding)",
                    distance * 100.0,
                    RETRAIN_TOLERANCE * 100.0
                ));
            }
            return Ok(Ok(Artefact::weights(trainer.model())?));
        }
        let within = |original: &[f32], epsilon: f32| match artefact.pixels() {
            Ok(pixels) if pixels.len() == original.len() => {
                let moved = pixels
                    .iter()
                    .zip(original)
                    .map(|(a, o)| (a - o).abs())
                    .fold(0f32, f32::max);
                (moved <= epsilon + EPSILON_SLACK).then_some(()).ok_or(format!(
                    "its images moved by up to {moved:.4}, more than the ε = {epsilon} its settings name"
                ))
            }
            // The grader says what is wrong with the images themselves.
            _ => Ok(()),
        };
        let agrees: std::result::Result<(), String> = match (self, settings) {
            (Task::PixelAttack { image_index, .. }, Settings::Pixels(edits)) => {
                let original = ctx.digits()?.test.image(*image_index as usize);
                match apply_edits(original, &edits.edits) {
                    Ok(image) if Artefact::images(&image) == *artefact => Ok(()),
                    Ok(_) => {
                        Err("its image is not the test image with its recorded pixel edits".into())
                    }
                    Err(e) => Err(format!("its settings cannot be run: {e}")),
                }
            }
            (Task::Fgsm { .. }, Settings::Fgsm(s)) => within(&ctx.digits()?.test.pixels, s.epsilon),
            (Task::PgdTargeted { source_class, .. }, Settings::Pgd(c)) => within(
                &ctx.digits()?.test.of_class(*source_class).1.pixels,
                c.epsilon,
            ),
            (Task::PromptInjection { .. }, Settings::Prompt(p)) => match artefact {
                Artefact::Text { text } if *text == p.text => Ok(()),
                _ => Err("its text is not the text its settings record".into()),
            },
            (Task::DefendInjection { .. }, Settings::Defences(d)) => match artefact {
                Artefact::Defences { defences } if defences == d => Ok(()),
                _ => Err("its defences are not the ones its settings record".into()),
            },
            _ => Err("its settings belong to another kind of exercise".into()),
        };
        Ok(agrees.map(|()| artefact.clone()))
    }

    /// Grades an artefact from scratch. Pure: the same task, context and artefact give the same
    /// grade everywhere.
    pub fn grade(&self, ctx: &Context, artefact: &Artefact) -> Result<Grade> {
        Ok(self.evaluate(ctx, artefact)?.0)
    }

    /// [`Task::grade`], with the conversations an injection exercise was graded on (empty for
    /// the other kinds), for the chat view.
    pub fn evaluate(&self, ctx: &Context, artefact: &Artefact) -> Result<(Grade, Details)> {
        if let Task::PromptInjection { min_success, .. } = self {
            let (grade, conversations) = grade_injection(
                self.attack().expect("an injection task"),
                *min_success,
                ctx.assistants()?,
                artefact,
            )?;
            return Ok((grade, Details::Conversations(conversations)));
        }
        if let Some(task) = self.defend() {
            let Artefact::Defences { defences } = artefact else {
                return Ok((
                    Grade::rejected("expected a composition of defences"),
                    Details::None,
                ));
            };
            let rows = match task.table(defences, ctx.assistants()?) {
                Ok(rows) => rows,
                Err(Error::InvalidInput(reason)) => {
                    return Ok((Grade::rejected(reason), Details::None))
                }
                Err(e) => return Err(e),
            };
            return Ok((task.grade(&rows), Details::Defences(rows)));
        }
        Ok((self.grade_digits(ctx, artefact)?, Details::None))
    }

    /// The graders of Tracks 0 and A (the digits classifier).
    fn grade_digits(&self, ctx: &Context, artefact: &Artefact) -> Result<Grade> {
        let test = &ctx.digits()?.test;
        // Only the attacks need the shipped target; a trained model is graded on its own.
        let target = || ctx.target();
        Ok(match self {
            Task::TrainClassifier {
                min_test_accuracy, ..
            } => match artefact.model() {
                Err(e) => Grade::rejected(e),
                Ok(model) => {
                    let accuracy = f64::from(model.accuracy(test)?);
                    let threshold = f64::from(*min_test_accuracy);
                    let wrong = ((1.0 - accuracy) * test.len() as f64).round() as usize;
                    let needed =
                        ((threshold - accuracy) * test.len() as f64).ceil().max(0.0) as usize;
                    let detail = if accuracy >= threshold {
                        String::new()
                    } else {
                        format!(
                            "{wrong} of {} test images are wrong; {needed} more must be right",
                            test.len()
                        )
                    };
                    Grade::from_figures(
                        vec![Figure::at_least(
                            "test accuracy",
                            accuracy,
                            threshold,
                            Unit::Percent,
                        )],
                        &detail,
                    )
                }
            },
            Task::PixelAttack {
                image_index,
                max_pixels,
                ..
            } => {
                let original = test.image(*image_index as usize);
                let label = test.labels[*image_index as usize];
                let image = match artefact.pixels() {
                    Ok(p) if p.len() == PIXELS => p,
                    Ok(p) => {
                        return Ok(Grade::rejected(format!(
                            "expected one 8×8 image, got {} values",
                            p.len()
                        )))
                    }
                    Err(e) => return Ok(Grade::rejected(e)),
                };
                if let Some(bad) = image
                    .iter()
                    .position(|v| !v.is_finite() || !(0.0..=1.0).contains(v))
                {
                    return Ok(Grade::rejected(format!(
                        "pixel {bad} is {}, outside [0, 1]",
                        image[bad]
                    )));
                }
                let changed = original
                    .iter()
                    .zip(&image)
                    .filter(|(o, a)| (*o - *a).abs() > 1e-6)
                    .count();
                let predicted = target()?.predict(&image)?[0];
                let detail = if predicted == label {
                    format!("the model still reads this {label} as a {predicted}")
                } else {
                    format!("the model now reads this {label} as a {predicted}")
                };
                Grade::from_figures(
                    vec![
                        Figure::at_least(
                            "misclassified",
                            f64::from(u8::from(predicted != label)),
                            1.0,
                            Unit::Count,
                        ),
                        Figure::at_most(
                            "pixels changed",
                            changed as f64,
                            f64::from(*max_pixels),
                            Unit::Count,
                        ),
                    ],
                    &detail,
                )
            }
            Task::Fgsm {
                epsilon_budget,
                min_success,
                ..
            } => {
                let attacked = match artefact.pixels() {
                    Ok(p) => p,
                    Err(e) => return Ok(Grade::rejected(e)),
                };
                if let Some(reason) = check_perturbation(&test.pixels, &attacked, *epsilon_budget) {
                    return Ok(Grade::rejected(reason));
                }
                let (turned, correct) = attack_success(target()?, test, &attacked, None)?;
                success_grade(
                    "attack success",
                    turned,
                    correct,
                    *min_success,
                    "classified correctly",
                )
            }
            Task::PgdTargeted {
                source_class,
                target_class,
                epsilon_budget,
                min_success,
                ..
            } => {
                let (_, source) = test.of_class(*source_class);
                let attacked = match artefact.pixels() {
                    Ok(p) => p,
                    Err(e) => return Ok(Grade::rejected(e)),
                };
                if let Some(reason) = check_perturbation(&source.pixels, &attacked, *epsilon_budget)
                {
                    return Ok(Grade::rejected(reason));
                }
                let (turned, correct) =
                    attack_success(target()?, &source, &attacked, Some(*target_class))?;
                success_grade(
                    &format!("targeted success ({source_class}→{target_class})"),
                    turned,
                    correct,
                    *min_success,
                    &format!("read as something other than {target_class}"),
                )
            }
            Task::AdversarialTraining {
                epsilon,
                min_robust_accuracy,
                min_clean_accuracy,
                ..
            } => {
                let model = match artefact.model() {
                    Ok(m) => m,
                    Err(e) => return Ok(Grade::rejected(e)),
                };
                let clean = f64::from(model.accuracy(test)?);
                let config = PgdConfig::madry(*epsilon, ROBUSTNESS_PGD_STEPS);
                let attacked = pgd(&model, &test.pixels, &test.labels, &config, None)?;
                let predicted = model.predict(&attacked)?;
                let robust_count = predicted
                    .iter()
                    .zip(&test.labels)
                    .filter(|(p, l)| p == l)
                    .count();
                let robust = fraction(robust_count, test.len());
                Grade::from_figures(
                    vec![
                        Figure::at_least(
                            &format!(
                                "robust accuracy under PGD-{ROBUSTNESS_PGD_STEPS} at ε = {epsilon}"
                            ),
                            robust,
                            f64::from(*min_robust_accuracy),
                            Unit::Percent,
                        ),
                        Figure::at_least(
                            "clean accuracy",
                            clean,
                            f64::from(*min_clean_accuracy),
                            Unit::Percent,
                        ),
                    ],
                    &format!(
                        "{robust_count} of {} test images survive the attack",
                        test.len()
                    ),
                )
            }
            Task::PromptInjection { .. } | Task::DefendInjection { .. } => {
                unreachable!("graded in evaluate")
            }
        })
    }
}

fn grade_injection(
    attack: Attack,
    min_success: f32,
    assistants: &Assistants,
    artefact: &Artefact,
) -> Result<(Grade, Vec<Conversation>)> {
    let Artefact::Text { text } = artefact else {
        return Ok((Grade::rejected("expected the text of a prompt"), vec![]));
    };
    let (prepared, conversations) = match attack.run(assistants, text) {
        Ok(done) => done,
        Err(Error::InvalidInput(reason)) => return Ok((Grade::rejected(reason), vec![])),
        Err(e) => return Err(e),
    };
    let worked = conversations.iter().filter(|c| c.succeeded).count();
    let total = conversations.len();
    let mut detail = format!(
        "in {worked} of {total} conversations {}",
        attack.goal.describe()
    );
    if !prepared.reserved.is_empty() {
        let typed = prepared.reserved.join(" ");
        detail.push_str(&match attack.defences.model {
            mlsec_assistant::Variant::Structured => format!(
                " (the front end removed the reserved tokens you typed, {typed}, before the \
                 model read your text)"
            ),
            mlsec_assistant::Variant::Assistant => format!(
                " (you typed the reserved tokens {typed}: the plain assistant reads them as \
                 real channel markers)"
            ),
        });
    }
    let grade = Grade::from_figures(
        vec![Figure::at_least(
            "attack success",
            fraction(worked, total),
            f64::from(min_success),
            Unit::Percent,
        )],
        &detail,
    );
    Ok((grade, conversations))
}

fn success_grade(
    label: &str,
    turned: usize,
    correct: usize,
    min_success: f32,
    still: &str,
) -> Grade {
    let rate = fraction(turned, correct);
    let detail = if rate >= f64::from(min_success) {
        format!("{turned} of {correct} originally-correct images fooled")
    } else {
        format!(
            "{} of {correct} originally-correct images are still {still}",
            correct - turned
        )
    };
    Grade::from_figures(
        vec![Figure::at_least(
            label,
            rate,
            f64::from(min_success),
            Unit::Percent,
        )],
        &detail,
    )
}
