//! The exercise kinds, one module each. A kind's module holds everything about it: the keys a
//! lesson author writes for its task, its settings and their number fields, how a run starts,
//! the grade with its figures and details, the resources it needs, how a receipt's settings
//! are checked against its artefact, and its tests. [`ExerciseKind`] states that contract.
//!
//! Dispatch happens once: [`Task`] is the serde-tagged enum of `Posed<kind>` (a kind's task
//! plus the starter and reference settings the lesson gives), and [`Task::kind`] is the one
//! `match` that hands out the kind behind the object-safe [`AnyKind`]. Everything else (the
//! job driver, receipts, the CLI, the page) calls through that.
//!
//! Adding a kind: a module here with a struct implementing [`ExerciseKind`], one variant in
//! [`Task`] and one arm in [`Task::kind`], one variant in [`Settings`]; then its view component
//! (`src/kinds/`) and its lesson. ARCHITECTURE.md walks through an example.

pub mod adversarial_training;
pub mod attribute_inference;
pub mod backdoor;
pub mod defend_injection;
pub mod dp_defence;
pub mod fgsm;
pub mod find_poisons;
pub mod inversion;
pub mod label_flip;
pub mod membership;
pub mod pgd_targeted;
pub mod pixel_attack;
pub mod prompt_injection;
pub mod shadow_models;
pub mod spam_backdoor;
pub mod token_search;
pub mod train_classifier;

pub mod evasion;
pub mod poisoning;
pub mod training;

#[cfg(test)]
pub(crate) mod testing;

use crate::exercise::{Artefact, Context, Details, Settings};
use crate::fields::{self, Field};
use crate::grade::{Grade, GRADER_VERSION};
use crate::resources::{Resource, Worker};
use crate::session::{serves, Serves};
use crate::train::Trainer;
use crate::{Error, Result};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt::Debug;

/// What a kind is: implemented once per module in this folder.
pub trait ExerciseKind:
    Clone + Debug + PartialEq + Serialize + DeserializeOwned + Send + Sync + 'static
{
    /// What the learner chooses for a run (kept in receipts).
    type Settings: Clone + Debug + PartialEq + Serialize + DeserializeOwned + Send + Sync + 'static;

    /// These settings as the [`Settings`] enum that receipts and the worker protocol carry.
    fn wrap(settings: Self::Settings) -> Settings;
    /// This kind's settings inside `settings`, if they are this kind's.
    fn unwrap(settings: &Settings) -> Option<&Self::Settings>;

    /// The resources a run and a grade need loaded. A constant, so which Web Worker runs the kind
    /// ([`Worker::of`]) is known when the worker is built, and a worker links only the engines
    /// of its own kinds.
    const NEEDS: &'static [Resource];

    /// Checks the task's own numbers (a lesson author's mistake is reported, not graded).
    fn validate(
        &self,
        starter: &Self::Settings,
        solution: &Self::Settings,
    ) -> std::result::Result<(), String>;

    /// The number fields the page shows for the settings, in order (none by default: the kind's
    /// own editor sets everything).
    fn fields(&self) -> Vec<Field> {
        vec![]
    }

    /// The text each number field starts with for `settings`.
    fn drafts(&self, settings: &Self::Settings) -> BTreeMap<String, String> {
        fields::drafts(settings, &self.fields())
    }

    /// The settings a run uses: `edited` (what the kind's editor holds) with the number fields
    /// typed into it, checked the way the page must check them before anything travels to the
    /// worker. Says which field or value is wrong.
    fn settings_from(
        &self,
        edited: &Self::Settings,
        drafts: &BTreeMap<String, String>,
    ) -> std::result::Result<Self::Settings, String> {
        fields::filled(edited, &self.fields(), drafts)
    }

    /// How a run of `settings` starts.
    fn start(&self, settings: &Self::Settings, ctx: &Context) -> Result<Start>;

    /// Grades an artefact from scratch, with what the grade was measured on. Pure: the same
    /// task, context and artefact give the same grade everywhere.
    fn grade(&self, ctx: &Context, artefact: &Artefact) -> Result<(Grade, Details)>;

    /// What a receipt's grade must be computed on, re-derived from its settings, or why its
    /// settings and artefact disagree (the receipt is then forged).
    fn reproduce(
        &self,
        settings: &Self::Settings,
        artefact: &Artefact,
        ctx: &Context,
    ) -> Result<std::result::Result<Artefact, String>>;

    /// The seed a run of `settings` really used (recorded in receipts; 0 when nothing is random).
    fn seed(&self, _settings: &Self::Settings) -> u64 {
        0
    }

    /// For training kinds: how many epochs `settings` train, and the settings as a run stopped
    /// after `epochs` epochs really ran them.
    fn epochs(_settings: &Self::Settings) -> Option<u32> {
        None
    }
    fn ran_for(settings: Self::Settings, _epochs: u32) -> Self::Settings {
        settings
    }

    /// The SHA-256 of the shipped model this kind grades against, when that is neither the
    /// artefact itself nor the digits target.
    fn graded_model_sha256(&self) -> Option<String> {
        None
    }

    /// The version of this kind's grading rules that its receipts record and that a re-grade
    /// must match: [`GRADER_VERSION`] until the kind's rules change.
    fn grader_version(&self) -> u32 {
        GRADER_VERSION
    }

    /// How many instances of this task a workshop hands out, one per learner
    /// ([`crate::workshop`]): 1 where a variant makes no sense (the kind's module says why).
    /// The lesson's reference settings must pass every instance (`mlsec check-content` grades
    /// them all), so a kind varies only what its reference does not depend on.
    fn variants(&self) -> u32 {
        1
    }
    /// Instance `index` of this task (`index < variants()`; 0 is the lesson's own task).
    fn variant(&self, _index: u32) -> Self {
        self.clone()
    }
    /// The reference settings of instance `index`, for kinds whose reference depends on the
    /// instance (the lesson lists them); the lesson's own by default.
    fn variant_solution(&self, solution: &Self::Settings, _index: u32) -> Self::Settings {
        solution.clone()
    }
}

/// How a run starts.
pub enum Start {
    /// The artefact is made in one go (an attack on the shipped target, Track E's text).
    Made(Artefact),
    /// A model to train epoch by epoch; its weights are the artefact.
    Training(Box<Trainer>),
    /// An artefact whose grade is measured part by part (the defend exercise's table).
    Measuring(Artefact, Box<dyn Measurement>),
    /// An artefact searched for step by step (Track E's token search); Stop grades the best
    /// found so far.
    Searching(Box<dyn Search>),
}

impl Start {
    /// The artefact a run made in one go or is measuring (a training run has none until it is
    /// driven to its end by `Session::start`).
    pub fn artefact(self) -> Result<Artefact> {
        match self {
            Start::Made(artefact) | Start::Measuring(artefact, _) => Ok(artefact),
            Start::Training(_) => Err(Error::InvalidInput(
                "a training run is driven epoch by epoch (Session::start)".into(),
            )),
            Start::Searching(search) => Ok(search.found().1),
        }
    }
}

/// A grade measured in parts, so the worker can report progress and yield between them.
pub trait Measurement: Send {
    /// Parts measured, parts in all, and the name of the part measured next.
    fn progress(&self) -> (u32, u32, String);
    /// Measures the next part; returns whether parts remain.
    fn step(&mut self, ctx: &Context) -> Result<bool>;
    /// The grade, once every part is measured.
    fn grade(self: Box<Self>) -> (Grade, Details);
}

/// An artefact searched for step by step, so the worker can report progress and yield between
/// steps, and Stop can keep what was found.
pub trait Search: Send {
    /// Steps done, steps in all, and where the search stands (named figures: its loss, say).
    fn progress(&self) -> (u32, u32, Vec<(String, f32)>);
    /// Does the next step (called while steps done < steps in all).
    fn step(&mut self, ctx: &Context) -> Result<()>;
    /// The best artefact found so far, with the settings as the search has run them.
    fn found(&self) -> (Settings, Artefact);
}

/// A kind's task as a lesson poses it: the task's own keys, and the starter and reference
/// settings. One generic wrapper, so no kind writes its own `starter`/`solution`.
#[derive(Clone, Debug, PartialEq)]
pub struct Posed<K: ExerciseKind> {
    pub task: K,
    pub starter: K::Settings,
    pub solution: K::Settings,
}

impl<K: ExerciseKind> Serialize for Posed<K> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        // The task's keys first, then starter and solution: the order lessons and receipts
        // always had.
        #[derive(Serialize)]
        struct Out<'a, K, T> {
            #[serde(flatten)]
            task: &'a K,
            starter: &'a T,
            solution: &'a T,
        }
        Out {
            task: &self.task,
            starter: &self.starter,
            solution: &self.solution,
        }
        .serialize(s)
    }
}

impl<K: ExerciseKind> Posed<K> {
    /// The task a lesson's table of keys poses (its `kind` already taken out): `starter` and
    /// `solution` are taken out by hand, and the rest is the task's own keys, so the task's
    /// `deny_unknown_fields` stays in force (serde's `flatten` would silently accept unknown keys).
    fn from_map(
        mut map: serde_json::Map<String, serde_json::Value>,
    ) -> std::result::Result<Self, String> {
        let mut take = |key: &'static str| {
            let value = map
                .remove(key)
                .ok_or_else(|| format!("missing field `{key}`"))?;
            K::Settings::deserialize(value).map_err(|e| format!("{key}: {e}"))
        };
        let starter = take("starter")?;
        let solution = take("solution")?;
        let task = K::deserialize(serde_json::Value::Object(map)).map_err(|e| e.to_string())?;
        Ok(Posed {
            task,
            starter,
            solution,
        })
    }
}

/// A kind with its settings type erased, so that [`Task::kind`] can hand out any of them: what
/// describes a kind and edits its settings (the page uses only this). Implemented once, for
/// [`Posed`]; each method unwraps the settings and forwards to the kind.
pub trait AnyKind: Send + Sync {
    fn starter(&self) -> Settings;
    fn solution(&self) -> Settings;
    fn needs(&self) -> &'static [Resource];
    fn validate(&self) -> std::result::Result<(), String>;
    fn fields(&self) -> Vec<Field>;
    fn drafts(&self, settings: &Settings) -> BTreeMap<String, String>;
    fn settings_from(
        &self,
        edited: &Settings,
        drafts: &BTreeMap<String, String>,
    ) -> std::result::Result<Settings, String>;
    fn seed(&self, settings: &Settings) -> u64;
    /// Whether a training run backs this kind (its run reports epochs; Stop grades the model
    /// trained so far).
    fn trains(&self) -> bool;
    fn epochs(&self, settings: &Settings) -> Option<u32>;
    fn ran_for(&self, settings: Settings, epochs: u32) -> Settings;
    fn graded_model_sha256(&self) -> Option<String>;
    fn grader_version(&self) -> u32;
    /// See [`ExerciseKind::variants`].
    fn variants(&self) -> u32;
    /// Makes this task its instance `index` (see [`ExerciseKind::variant`]).
    fn vary(&mut self, index: u32);
}

/// What runs and grades a kind: the worker's, the CLI's and the tests' side of a kind, with its
/// settings type erased ([`Task::engine`]). Kept apart from [`AnyKind`] on purpose: a trait
/// object links every method of its trait, and the page, which only describes and edits
/// settings, must not link training, the attacks and the assistant models into its bundle
/// (one trait for both made the page's bundle 640 KB gzip heavier).
pub trait AnyEngine: Send + Sync {
    fn start(&self, settings: &Settings, ctx: &Context) -> Result<Start>;
    fn evaluate(&self, ctx: &Context, artefact: &Artefact) -> Result<(Grade, Details)>;
    fn reproduce(
        &self,
        settings: &Settings,
        artefact: &Artefact,
        ctx: &Context,
    ) -> Result<std::result::Result<Artefact, String>>;

    /// Grades an artefact from scratch (see [`ExerciseKind::grade`]).
    fn grade(&self, ctx: &Context, artefact: &Artefact) -> Result<Grade> {
        Ok(self.evaluate(ctx, artefact)?.0)
    }
}

fn wrong_settings() -> Error {
    Error::InvalidInput("these settings belong to another kind of exercise".into())
}

impl<K: ExerciseKind> Posed<K> {
    fn engine_in<S: Serves>(&self) -> Option<&(dyn AnyEngine + 'static)> {
        if const { serves(S::ONLY, Worker::of(K::NEEDS)) } {
            Some(self)
        } else {
            None
        }
    }

    fn own<'s>(&self, settings: &'s Settings) -> Result<&'s K::Settings> {
        K::unwrap(settings).ok_or_else(wrong_settings)
    }
}

impl<K: ExerciseKind> AnyKind for Posed<K> {
    fn starter(&self) -> Settings {
        K::wrap(self.starter.clone())
    }
    fn solution(&self) -> Settings {
        K::wrap(self.solution.clone())
    }
    fn needs(&self) -> &'static [Resource] {
        K::NEEDS
    }
    fn validate(&self) -> std::result::Result<(), String> {
        self.task.validate(&self.starter, &self.solution)
    }
    fn fields(&self) -> Vec<Field> {
        self.task.fields()
    }
    fn drafts(&self, settings: &Settings) -> BTreeMap<String, String> {
        K::unwrap(settings)
            .map(|s| self.task.drafts(s))
            .unwrap_or_default()
    }
    fn settings_from(
        &self,
        edited: &Settings,
        drafts: &BTreeMap<String, String>,
    ) -> std::result::Result<Settings, String> {
        let edited = self.own(edited).map_err(|e| e.to_string())?;
        self.task.settings_from(edited, drafts).map(K::wrap)
    }
    fn seed(&self, settings: &Settings) -> u64 {
        K::unwrap(settings).map_or(0, |s| self.task.seed(s))
    }
    fn trains(&self) -> bool {
        K::epochs(&self.starter).is_some()
    }
    fn epochs(&self, settings: &Settings) -> Option<u32> {
        K::unwrap(settings).and_then(K::epochs)
    }
    fn ran_for(&self, settings: Settings, epochs: u32) -> Settings {
        match K::unwrap(&settings) {
            Some(own) => K::wrap(K::ran_for(own.clone(), epochs)),
            None => settings,
        }
    }
    fn graded_model_sha256(&self) -> Option<String> {
        self.task.graded_model_sha256()
    }
    fn grader_version(&self) -> u32 {
        self.task.grader_version()
    }
    fn variants(&self) -> u32 {
        self.task.variants().max(1)
    }
    fn vary(&mut self, index: u32) {
        self.solution = self.task.variant_solution(&self.solution, index);
        self.task = self.task.variant(index);
    }
}

impl<K: ExerciseKind> AnyEngine for Posed<K> {
    fn start(&self, settings: &Settings, ctx: &Context) -> Result<Start> {
        self.task.start(self.own(settings)?, ctx)
    }
    fn evaluate(&self, ctx: &Context, artefact: &Artefact) -> Result<(Grade, Details)> {
        self.task.grade(ctx, artefact)
    }
    fn reproduce(
        &self,
        settings: &Settings,
        artefact: &Artefact,
        ctx: &Context,
    ) -> Result<std::result::Result<Artefact, String>> {
        match K::unwrap(settings) {
            Some(settings) => self.task.reproduce(settings, artefact, ctx),
            None => Ok(Err("its settings belong to another kind of exercise".into())),
        }
    }
}

/// A task as a lesson's `exercises.toml` declares it: `kind = "…"` and that kind's keys.
///
/// Written with serde's internal tagging; read by [`Task`]'s own `Deserialize` ([`KINDS`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Task {
    TrainClassifier(Posed<train_classifier::TrainClassifier>),
    PixelAttack(Posed<pixel_attack::PixelAttack>),
    Fgsm(Posed<fgsm::Fgsm>),
    PgdTargeted(Posed<pgd_targeted::PgdTargeted>),
    AdversarialTraining(Posed<adversarial_training::AdversarialTraining>),
    PromptInjection(Posed<prompt_injection::PromptInjection>),
    DefendInjection(Posed<defend_injection::DefendInjection>),
    LabelFlip(Posed<label_flip::LabelFlip>),
    Backdoor(Posed<backdoor::Backdoor>),
    FindPoisons(Posed<find_poisons::FindPoisons>),
    SpamBackdoor(Posed<spam_backdoor::SpamBackdoor>),
    MembershipThreshold(Posed<membership::MembershipThreshold>),
    ShadowModels(Posed<shadow_models::ShadowModels>),
    DpSgd(Posed<dp_defence::DpDefence>),
    ModelInversion(Posed<inversion::ModelInversion>),
    AttributeInference(Posed<attribute_inference::AttributeInference>),
    TokenSearch(Posed<token_search::TokenSearch>),
}

/// The one list of kinds the dispatches below share: `each_kind!(task, k => expr)` is a `match`
/// with one arm per kind, each binding that kind's `Posed` as `k`.
macro_rules! each_kind {
    ($task:expr, $k:ident => $body:expr) => {
        match $task {
            Task::TrainClassifier($k) => $body,
            Task::PixelAttack($k) => $body,
            Task::Fgsm($k) => $body,
            Task::PgdTargeted($k) => $body,
            Task::AdversarialTraining($k) => $body,
            Task::PromptInjection($k) => $body,
            Task::DefendInjection($k) => $body,
            Task::LabelFlip($k) => $body,
            Task::Backdoor($k) => $body,
            Task::FindPoisons($k) => $body,
            Task::SpamBackdoor($k) => $body,
            Task::MembershipThreshold($k) => $body,
            Task::ShadowModels($k) => $body,
            Task::DpSgd($k) => $body,
            Task::ModelInversion($k) => $body,
            Task::AttributeInference($k) => $body,
            Task::TokenSearch($k) => $body,
        }
    };
}

/// Every kind by the name lessons give it, with how its task is read from the rest of its keys.
/// `Deserialize for Task` reads the keys into one map and goes straight to the kind's own keys:
/// serde's derive for an internally tagged enum first copies every value into a buffer of its
/// own and then reads the variant from that, which made the page's first render spend ~20 ms
/// on the course's ~25 tasks and linked a deserializer per format into the page.
const KINDS: [(&str, KindFromMap); 17] = [
    ("train-classifier", |m| {
        Posed::from_map(m).map(Task::TrainClassifier)
    }),
    ("pixel-attack", |m| {
        Posed::from_map(m).map(Task::PixelAttack)
    }),
    ("fgsm", |m| Posed::from_map(m).map(Task::Fgsm)),
    ("pgd-targeted", |m| {
        Posed::from_map(m).map(Task::PgdTargeted)
    }),
    ("adversarial-training", |m| {
        Posed::from_map(m).map(Task::AdversarialTraining)
    }),
    ("prompt-injection", |m| {
        Posed::from_map(m).map(Task::PromptInjection)
    }),
    ("defend-injection", |m| {
        Posed::from_map(m).map(Task::DefendInjection)
    }),
    ("label-flip", |m| Posed::from_map(m).map(Task::LabelFlip)),
    ("backdoor", |m| Posed::from_map(m).map(Task::Backdoor)),
    ("find-poisons", |m| {
        Posed::from_map(m).map(Task::FindPoisons)
    }),
    ("spam-backdoor", |m| {
        Posed::from_map(m).map(Task::SpamBackdoor)
    }),
    ("membership-threshold", |m| {
        Posed::from_map(m).map(Task::MembershipThreshold)
    }),
    ("shadow-models", |m| {
        Posed::from_map(m).map(Task::ShadowModels)
    }),
    ("dp-sgd", |m| Posed::from_map(m).map(Task::DpSgd)),
    ("model-inversion", |m| {
        Posed::from_map(m).map(Task::ModelInversion)
    }),
    ("attribute-inference", |m| {
        Posed::from_map(m).map(Task::AttributeInference)
    }),
    ("token-search", |m| {
        Posed::from_map(m).map(Task::TokenSearch)
    }),
];

type KindFromMap =
    fn(serde_json::Map<String, serde_json::Value>) -> std::result::Result<Task, String>;

impl<'de> Deserialize<'de> for Task {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        let (kind, map) = crate::exercise::tagged(d, "kind", "a kind's name")?;
        match KINDS.iter().find(|(name, _)| *name == kind) {
            Some((_, read)) => read(map).map_err(D::Error::custom),
            None => {
                let names: Vec<String> = KINDS.iter().map(|(n, _)| format!("`{n}`")).collect();
                Err(D::Error::custom(format!(
                    "unknown variant `{kind}`, expected one of {}",
                    names.join(", ")
                )))
            }
        }
    }
}

impl Task {
    /// The kind behind this task, to describe it and edit its settings. With [`Task::engine`],
    /// the one dispatch (two trait objects, see [`AnyEngine`]).
    pub fn kind(&self) -> &(dyn AnyKind + 'static) {
        each_kind!(self, k => k)
    }

    /// The same kind, to run and grade (the CLI, the tests).
    pub fn engine(&self) -> &(dyn AnyEngine + 'static) {
        each_kind!(self, k => k)
    }

    /// The same kind in a session that serves `S`'s share ([`Serves`]), or `None` where another
    /// Web Worker runs it. Decided for each kind when a worker is built (`K::NEEDS` and `S` are
    /// constants), so a worker links only the engines it serves.
    pub fn engine_in<S: Serves>(&self) -> Option<&(dyn AnyEngine + 'static)> {
        each_kind!(self, k => k.engine_in::<S>())
    }

    /// Instance `index` of this task for a workshop learner ([`ExerciseKind::variant`]), with
    /// that instance's reference settings; the starter stays the lesson's.
    pub fn variant(&self, index: u32) -> Task {
        let mut task = self.clone();
        let kind: &mut dyn AnyKind = each_kind!(&mut task, k => k);
        kind.vary(index);
        task
    }

    /// The `kind = "…"` name lesson authors write.
    pub fn name(&self) -> String {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(map)) => map
                .get("kind")
                .and_then(|k| k.as_str())
                .unwrap_or_default()
                .to_string(),
            _ => String::new(),
        }
    }
}

/// `task.fields()` and the rest read as calls on the task itself (running and grading go
/// through `task.engine()`, and in a worker `task.engine_in::<S>()`).
impl std::ops::Deref for Task {
    type Target = dyn AnyKind;
    fn deref(&self) -> &Self::Target {
        self.kind()
    }
}

/// The seed of instance `index` of a task whose instance a seed draws (instance 0 keeps the
/// lesson's seed). Steps of 1,000 keep the instances of two exercises whose lessons use
/// neighbouring seeds apart.
pub(crate) fn varied_seed(seed: u64, index: u32) -> u64 {
    seed.wrapping_add(u64::from(index) * 1_000)
}

/// The split seed of instance `index` of a task that lists its instances' seeds (`variant_seeds`):
/// the lesson's own for 0. Listed rather than derived because how well an attack does on a
/// member set varies a lot from one draw to the next (the lesson's reference misses its
/// threshold on about half of the draws), and every instance must be fair.
pub(crate) fn split_seed_of(seed: u64, variant_seeds: &[u64], index: u32) -> u64 {
    match index {
        0 => seed,
        i => variant_seeds.get(i as usize - 1).copied().unwrap_or(seed),
    }
}

/// A task's number that must be a fraction in [0, 1].
pub(crate) fn unit(name: &str, v: f32) -> std::result::Result<(), String> {
    if v.is_finite() && (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(format!("{name} must be in [0, 1], got {v}"))
    }
}
