//! What the engine's Web Workers do, as plain values: the message protocol between the page and
//! them, and a [`Session`] holding the loaded data and models that answers each request (each
//! worker's session serves its share, [`Serves`]). The worker binaries only move messages and
//! yield between epochs; the decisions are here, where they are tested natively.

use crate::attacks::{fgsm_curve, saliency};
use crate::census::Census;
use crate::class::Outcome;
use crate::defence::Trace;
use crate::digits::Digits;
use crate::exercise::{Artefact, Base64, Context, Details, Exercise, Settings};
use crate::grade::Grade;
use crate::injection::{load_model, Assistants};
use crate::inversion::{frames, Frame, InversionSettings};
use crate::kinds::find_poisons::{FindPoisons, Scores};
use crate::kinds::inversion::average_digit;
use crate::kinds::label_flip::{candidates, Candidate, Query};
use crate::kinds::membership::{KnownLosses, MembershipThreshold};
use crate::kinds::pixel_attack::{apply_edits, PixelEdit};
use crate::kinds::prompt_injection::PromptInjection;
use crate::kinds::spam_backdoor::{FilterWords, SpamBackdoor};
use crate::kinds::{Measurement, Search, Start};
use crate::mlp::Mlp;
use crate::receipt::{Receipt, Verdict};
use crate::resources::{Resource, Worker};
use crate::spam::Corpus;
use crate::train::{EpochReport, Trainer};
use crate::{Error, Result};
use mlsec_assistant::Gpt;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::{Mutex, MutexGuard, OnceLock};

/// Page → worker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// One resource's bytes, fetched by the page from the site the first time a request needs
    /// it ([`Request::needs`]).
    Load { resource: Resource, bytes: Base64 },
    /// Run the learner's settings for an exercise, then grade the artefact.
    Run {
        job: u32,
        exercise: Box<Exercise>,
        settings: Settings,
    },
    /// FGSM success rate over the test split at each ε.
    FgsmCurve { job: u32, epsilons: Vec<f32> },
    /// Test image `index` with the learner's pixel edits: the target model's probabilities and
    /// gradient saliency for it.
    Inspect {
        job: u32,
        index: u32,
        edits: Vec<PixelEdit>,
    },
    /// Training images for the poisoning gallery and its selection helpers, with the clean
    /// (shipped target) model's view of each.
    Candidates { job: u32, query: Query },
    /// Every training image of a find-the-poisons task's suspect set, scored by each detector
    /// over the hidden activations of the recipe trained on it.
    PoisonScores { job: u32, task: Box<FindPoisons> },
    /// A spam-backdoor task's clean filter, trained by its recipe: its strongest words each way.
    SpamWords { job: u32, task: Box<SpamBackdoor> },
    /// Look inside the assistant: what it read and attended to in conversation `index` of a
    /// prompt-injection task, with the learner's text.
    TraceConversation {
        job: u32,
        task: Box<PromptInjection>,
        text: String,
        index: u32,
    },
    /// A membership task's target, trained by its recipe: its losses on the known records.
    MembershipLosses {
        job: u32,
        task: Box<MembershipThreshold>,
    },
    /// An inversion's snapshots, replayed on the target for the view to play back.
    InversionFrames {
        job: u32,
        settings: Box<InversionSettings>,
    },
    /// Re-grade a receipt as `exercise` (the lesson's, or a workshop learner's instance): the
    /// class view and the receipt checker. Never trusts the receipt's own verdict.
    Regrade {
        job: u32,
        exercise: Box<Exercise>,
        receipt: Box<Receipt>,
    },
    /// Stop a running job between two steps: a training run grades the model so far, a
    /// measurement is abandoned ([`Job::stop`]).
    Stop { job: u32 },
}

/// Worker → page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Response {
    Loaded {
        resource: Resource,
    },
    /// A request could not be served (`job` is `None` when the page has no job to tell).
    Failed {
        job: Option<u32>,
        message: String,
    },
    Epoch {
        job: u32,
        report: EpochReport,
    },
    /// A long non-training job's progress: `done` of `total` steps, the next one named `label`.
    Progress {
        job: u32,
        done: u32,
        total: u32,
        label: String,
    },
    /// A search's progress: `done` of `total` steps, and where it stands (named figures).
    Searched {
        job: u32,
        done: u32,
        total: u32,
        figures: Vec<(String, f32)>,
    },
    /// Graded. `stopped` when the learner pressed Stop (the model so far was graded).
    /// `details`: what a Track E grade was measured on (conversations, defence table).
    Done {
        job: u32,
        grade: Grade,
        receipt: String,
        stopped: bool,
        #[serde(default)]
        details: Details,
    },
    Curve {
        job: u32,
        points: Vec<(f32, f32)>,
    },
    Inspected {
        job: u32,
        inspection: Inspection,
    },
    Candidates {
        job: u32,
        candidates: Vec<Candidate>,
    },
    PoisonScores {
        job: u32,
        /// One per detector ([`crate::detectors::Detector::ALL`]).
        scores: Vec<Scores>,
    },
    SpamWords {
        job: u32,
        words: FilterWords,
    },
    /// `None`: the input detector withheld the text, so the model never read it.
    Traced {
        job: u32,
        trace: Option<Box<Trace>>,
    },
    MembershipLosses {
        job: u32,
        known: KnownLosses,
    },
    InversionFrames {
        job: u32,
        frames: Vec<Frame>,
    },
    Regraded {
        job: u32,
        outcome: Outcome,
    },
}

/// A test image as edited, its true label, what the target model makes of it, and which
/// pixels its loss is most sensitive to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Inspection {
    pub original: Vec<f32>,
    pub image: Vec<f32>,
    pub label: u8,
    pub probabilities: Vec<f32>,
    pub saliency: Vec<f32>,
}

/// A run of an exercise, driven one step at a time by [`Job::step`]: by the worker, which
/// reports each step and yields between them so that Stop lands, and by native callers and
/// tests through [`Session::run_to_end`]. The job says what Stop means for it ([`Job::stop`]).
pub struct Job<'a, S: Serves = Everything> {
    session: &'a Session<S>,
    exercise: &'a Exercise,
    settings: Settings,
    work: Work,
}

/// What a job has left to do.
enum Work {
    /// An artefact already made (the attacks, Track E's text): grade it.
    Ready(Artefact),
    /// A model to train, epoch by epoch, then grade.
    Training(Box<Trainer>),
    /// An artefact whose grade is measured part by part (the defend exercise's table).
    Measuring(Artefact, Box<dyn Measurement>),
    /// An artefact searched for step by step, then graded.
    Searching(Box<dyn Search>),
    /// Graded (or failed): nothing left.
    Over,
}

/// What one step of a job did.
#[derive(Debug)]
pub enum Step {
    /// A training epoch ran.
    Epoch(EpochReport),
    /// A long measurement moved on: `done` of `total` parts, the next one named `label`.
    Progress {
        done: u32,
        total: u32,
        label: String,
    },
    /// A search moved on: `done` of `total` steps, and where it stands.
    Searched {
        done: u32,
        total: u32,
        figures: Vec<(String, f32)>,
    },
    /// The job is graded.
    Done(Finished),
}

impl Step {
    /// The message the worker sends for this step of job `job`.
    pub fn into_response(self, job: u32) -> Response {
        match self {
            Step::Epoch(report) => Response::Epoch { job, report },
            Step::Progress { done, total, label } => Response::Progress {
                job,
                done,
                total,
                label,
            },
            Step::Searched {
                done,
                total,
                figures,
            } => Response::Searched {
                job,
                done,
                total,
                figures,
            },
            Step::Done(finished) => finished.into_response(job, false),
        }
    }
}

impl Finished {
    /// The message the worker sends for a graded job; `stopped` when Stop ended it.
    pub fn into_response(self, job: u32, stopped: bool) -> Response {
        Response::Done {
            job,
            grade: self.grade,
            receipt: self.receipt,
            stopped,
            details: self.details,
        }
    }
}

fn progress(measurement: &dyn Measurement) -> Step {
    let (done, total, label) = measurement.progress();
    Step::Progress { done, total, label }
}

fn searched(search: &dyn Search) -> Step {
    let (done, total, figures) = search.progress();
    Step::Searched {
        done,
        total,
        figures,
    }
}

impl<S: Serves> Job<'_, S> {
    /// Where a long measurement stands before its first step (the page shows it at once).
    pub fn announce(&self) -> Option<Step> {
        match &self.work {
            Work::Measuring(_, measurement) => Some(progress(measurement.as_ref())),
            Work::Searching(search) => Some(searched(search.as_ref())),
            _ => None,
        }
    }

    /// Whether Stop keeps what was done (a training run, a search) rather than abandoning the
    /// job.
    pub fn stop_keeps_work(&self) -> bool {
        matches!(self.work, Work::Training(_) | Work::Searching(_))
    }

    /// Does the next piece of work: one epoch, one part of a measurement, or the grade.
    pub fn step(&mut self) -> Result<Step> {
        if let Work::Measuring(_, measurement) = &mut self.work {
            // Measured in place, so a missing model leaves the job as it was.
            if measurement.step(&self.session.context())? {
                return Ok(progress(measurement.as_ref()));
            }
        }
        if let Work::Searching(search) = &mut self.work {
            // Every step is reported, the last one too; the call after it grades.
            let (done, total, _) = search.progress();
            if done < total {
                search.step(&self.session.context())?;
                return Ok(searched(search.as_ref()));
            }
        }
        match std::mem::replace(&mut self.work, Work::Over) {
            Work::Ready(artefact) => Ok(Step::Done(self.session.finish(
                self.exercise,
                self.settings.clone(),
                artefact,
            )?)),
            Work::Training(mut trainer) => {
                if trainer.finished() {
                    return Ok(Step::Done(self.graded_so_far(&trainer)?));
                }
                let report = trainer.run_epoch()?;
                self.work = Work::Training(trainer);
                Ok(Step::Epoch(report))
            }
            Work::Measuring(artefact, measurement) => {
                // The same grade `ExerciseKind::grade` gives: it measures with this type too.
                let (grade, details) = measurement.grade();
                Ok(Step::Done(self.session.receipted(
                    self.exercise,
                    self.settings.clone(),
                    artefact,
                    grade,
                    details,
                )))
            }
            Work::Searching(search) => self.found_so_far(search.as_ref()).map(Step::Done),
            Work::Over => Err(Error::InvalidInput("this run is already over".into())),
        }
    }

    /// What Stop means for this job: a training run grades the model trained so far (its
    /// receipt names the epochs that ran), a search the best it found (its receipt names the
    /// steps that ran); a measurement is abandoned, and nothing is graded.
    pub fn stop(self) -> Result<Finished> {
        match &self.work {
            Work::Training(trainer) => self.graded_so_far(trainer),
            Work::Searching(search) if search.progress().0 == 0 => Err(Error::InvalidInput(
                "stopped before the search's first step; nothing was graded".into(),
            )),
            Work::Searching(search) => self.found_so_far(search.as_ref()),
            _ => Err(Error::InvalidInput(
                "stopped before every part was measured; nothing was graded".into(),
            )),
        }
    }

    fn found_so_far(&self, search: &dyn Search) -> Result<Finished> {
        let (settings, artefact) = search.found();
        self.session.finish(self.exercise, settings, artefact)
    }

    fn graded_so_far(&self, trainer: &Trainer) -> Result<Finished> {
        let artefact = Artefact::weights(trainer.model())?;
        let settings = self
            .exercise
            .task
            .ran_for(self.settings.clone(), trainer.epochs_done());
        self.session.finish(self.exercise, settings, artefact)
    }
}

/// What a session serves: every worker's resources and kinds ([`Everything`]: the CLI, the
/// tests), or one Web Worker's ([`OnlyClassifiers`], [`OnlyAssistants`]). A constant, so a
/// worker's build links only what it serves: the classifiers' worker carries none of the
/// assistants' code, which was most of a worker that held everything (issue 14).
pub trait Serves: Send + Sync + 'static {
    /// The one worker whose share this is; `None`: everything.
    const ONLY: Option<Worker>;
}

/// Every worker's share: the CLI, the tests, the benchmarks.
pub enum Everything {}
/// The classifiers' worker's share: Tracks 0 and A to D.
pub enum OnlyClassifiers {}
/// The assistants' worker's share: Track E.
pub enum OnlyAssistants {}

impl Serves for Everything {
    const ONLY: Option<Worker> = None;
}
impl Serves for OnlyClassifiers {
    const ONLY: Option<Worker> = Some(Worker::Classifiers);
}
impl Serves for OnlyAssistants {
    const ONLY: Option<Worker> = Some(Worker::Assistants);
}

/// Whether a session that serves `only` serves what `worker` serves. A `const fn`, so the code
/// behind a `const { serves(..) }` that is false is not linked.
pub const fn serves(only: Option<Worker>, worker: Worker) -> bool {
    match only {
        None => true,
        Some(only) => only as u8 == worker as u8,
    }
}

/// The loaded resources and the answers to requests: a worker's state, the CLI's, and the
/// tests'. The one place a grading [`Context`] is built. A worker loads each resource on the
/// first request that needs it, so a Track E learner never downloads the digits and a digits
/// learner never the assistants. `Sync`, so the CLI grades receipts on several threads.
pub struct Session<S: Serves = Everything> {
    digits: OnceLock<Digits>,
    spam: OnceLock<Corpus>,
    census: OnceLock<Census>,
    target: OnceLock<Mlp>,
    /// A Track E model loaded before its pair; both make [`Session::assistants`].
    waiting: Mutex<BTreeMap<Resource, Gpt>>,
    assistants: OnceLock<Assistants>,
    /// Why a resource failed to load, told to every request that needs it.
    failed: Mutex<BTreeMap<Resource, String>>,
    serves: PhantomData<S>,
}

impl<S: Serves> Default for Session<S> {
    fn default() -> Self {
        Session {
            digits: OnceLock::new(),
            spam: OnceLock::new(),
            census: OnceLock::new(),
            target: OnceLock::new(),
            waiting: Mutex::default(),
            assistants: OnceLock::new(),
            failed: Mutex::default(),
            serves: PhantomData,
        }
    }
}

/// A lock that a panic elsewhere cannot poison for good: the maps it guards stay consistent
/// (each change is one insert or remove).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Why a session refuses what another Web Worker serves (the page sends each request to its
/// worker, [`Request::worker`], so a learner sees this only if the page and the workers come
/// from different versions of the lab).
fn elsewhere(what: &str, worker: Worker) -> String {
    let whose = match worker {
        Worker::Classifiers => "the classifiers' worker (Tracks 0 and A to D)",
        Worker::Assistants => "the assistants' worker (Track E)",
    };
    format!("{what} is served by {whose}, not this one; reload the page")
}

/// A request of job `job` that failed with `e`.
fn failed(job: u32, e: Error) -> Response {
    Response::Failed {
        job: Some(job),
        message: e.to_string(),
    }
}

/// What a finished run produced: the artefact, its grade, its receipt, and what the grade was
/// measured on.
#[derive(Debug)]
pub struct Finished {
    pub artefact: Artefact,
    pub grade: Grade,
    pub receipt: String,
    pub details: Details,
}

impl Request {
    /// The resources this request needs loaded before the worker can serve it.
    pub fn needs(&self) -> &'static [Resource] {
        match self {
            Request::Run { exercise, .. } | Request::Regrade { exercise, .. } => {
                exercise.task.needs()
            }
            Request::FgsmCurve { .. } | Request::Inspect { .. } | Request::Candidates { .. } => {
                &[Resource::Digits, Resource::TargetModel]
            }
            Request::PoisonScores { .. } => &[Resource::Digits],
            Request::SpamWords { .. } => &[Resource::SmsSpam],
            Request::TraceConversation { .. } => {
                &[Resource::AssistantModel, Resource::StructuredModel]
            }
            Request::MembershipLosses { .. } => &[Resource::Digits],
            Request::InversionFrames { .. } => &[Resource::Digits, Resource::TargetModel],
            Request::Load { .. } | Request::Stop { .. } => &[],
        }
    }

    /// The Web Worker that serves this request (`None` for Stop, which goes to the worker that
    /// runs its job).
    pub fn worker(&self) -> Option<Worker> {
        match self {
            Request::Load { resource, .. } => Some(resource.worker()),
            Request::Stop { .. } => None,
            request => Some(Worker::of(request.needs())),
        }
    }

    /// The job this request belongs to, if any.
    pub fn job(&self) -> Option<u32> {
        match self {
            Request::Run { job, .. }
            | Request::FgsmCurve { job, .. }
            | Request::Inspect { job, .. }
            | Request::Candidates { job, .. }
            | Request::PoisonScores { job, .. }
            | Request::SpamWords { job, .. }
            | Request::TraceConversation { job, .. }
            | Request::MembershipLosses { job, .. }
            | Request::InversionFrames { job, .. }
            | Request::Regrade { job, .. }
            | Request::Stop { job } => Some(*job),
            Request::Load { .. } => None,
        }
    }
}

impl Response {
    /// The job this response answers (`None`: a load, or a failure no job can be told of,
    /// which goes to every listener).
    pub fn job(&self) -> Option<u32> {
        match self {
            Response::Epoch { job, .. }
            | Response::Progress { job, .. }
            | Response::Searched { job, .. }
            | Response::Done { job, .. }
            | Response::Curve { job, .. }
            | Response::Inspected { job, .. }
            | Response::Candidates { job, .. }
            | Response::PoisonScores { job, .. }
            | Response::SpamWords { job, .. }
            | Response::Traced { job, .. }
            | Response::MembershipLosses { job, .. }
            | Response::InversionFrames { job, .. }
            | Response::Regraded { job, .. } => Some(*job),
            Response::Failed { job, .. } => *job,
            Response::Loaded { .. } => None,
        }
    }
}

impl Session {
    /// An empty session that serves everything (a worker makes its share's with `default`).
    pub fn new() -> Self {
        Self::default()
    }

    /// A session with `files` loaded (native callers and tests; the worker loads one resource
    /// per [`Request::Load`]).
    pub fn with(files: &[(Resource, &[u8])]) -> Result<Self> {
        let session = Session::default();
        for (resource, bytes) in files {
            session.load(*resource, bytes)?;
        }
        Ok(session)
    }

    /// A session with every resource of the registry loaded, each read by `read` from its path
    /// (native tests and benchmarks that read the shipped files themselves).
    pub fn with_all(mut read: impl FnMut(&'static str) -> Vec<u8>) -> Result<Self> {
        let session = Session::default();
        for resource in Resource::ALL {
            session.load(resource, &read(resource.path()))?;
        }
        Ok(session)
    }
}

impl<S: Serves> Session<S> {
    /// Loads one resource, checked against its pinned hash before parsing, so a damaged or
    /// substituted file is reported as such rather than as a confusing parse error. A failure
    /// is remembered and told to every request that needs the resource. Loading a resource
    /// again is a no-op.
    pub fn load(&self, resource: Resource, bytes: &[u8]) -> Result<()> {
        let result = self.parse(resource, bytes);
        let mut failed = lock(&self.failed);
        match &result {
            Ok(()) => {
                failed.remove(&resource);
            }
            Err(e) => {
                failed.insert(
                    resource,
                    format!(
                        "{} could not be loaded: {e}. The other lessons still work.",
                        resource.describe()
                    ),
                );
            }
        }
        result
    }

    fn parse(&self, resource: Resource, bytes: &[u8]) -> Result<()> {
        if self.has(resource) {
            return Ok(());
        }
        // Each worker links the parsers of its own resources only.
        match resource.worker() {
            Worker::Classifiers if const { serves(S::ONLY, Worker::Classifiers) } => {
                self.parse_classifiers_data(resource, bytes)
            }
            Worker::Assistants if const { serves(S::ONLY, Worker::Assistants) } => {
                self.parse_assistant(resource, bytes)
            }
            worker => Err(Error::InvalidInput(elsewhere(resource.describe(), worker))),
        }
    }

    fn parse_classifiers_data(&self, resource: Resource, bytes: &[u8]) -> Result<()> {
        resource.check(bytes)?;
        match resource {
            Resource::Digits => {
                let _ = self.digits.set(Digits::from_csv_gz(bytes)?);
            }
            Resource::SmsSpam => {
                let _ = self.spam.set(Corpus::from_tsv_gz(bytes)?);
            }
            Resource::Census => {
                let _ = self.census.set(Census::from_tsv_gz(bytes)?);
            }
            Resource::TargetModel => {
                let _ = self.target.set(Mlp::from_safetensors(bytes)?);
            }
            Resource::AssistantModel | Resource::StructuredModel => {
                return Err(Error::InvalidInput(elsewhere(
                    resource.describe(),
                    Worker::Assistants,
                )))
            }
        }
        Ok(())
    }

    fn parse_assistant(&self, resource: Resource, bytes: &[u8]) -> Result<()> {
        resource.check(bytes)?;
        let variant = match resource {
            Resource::AssistantModel => mlsec_assistant::Variant::Assistant,
            Resource::StructuredModel => mlsec_assistant::Variant::Structured,
            _ => {
                return Err(Error::InvalidInput(elsewhere(
                    resource.describe(),
                    Worker::Classifiers,
                )))
            }
        };
        let model = load_model(variant, bytes)?;
        let mut waiting = lock(&self.waiting);
        waiting.insert(resource, model);
        // The one that came first waits for its pair.
        let pair = [Resource::AssistantModel, Resource::StructuredModel];
        if pair.iter().all(|r| waiting.contains_key(r)) {
            let [assistant, structured] = pair.map(|r| waiting.remove(&r));
            if let (Some(assistant), Some(structured)) = (assistant, structured) {
                let _ = self
                    .assistants
                    .set(Assistants::from_models(assistant, structured));
            }
        }
        Ok(())
    }

    /// Whether `resource` is loaded.
    pub fn has(&self, resource: Resource) -> bool {
        match resource {
            Resource::Digits => self.digits.get().is_some(),
            Resource::SmsSpam => self.spam.get().is_some(),
            Resource::Census => self.census.get().is_some(),
            Resource::TargetModel => self.target.get().is_some(),
            Resource::AssistantModel | Resource::StructuredModel => {
                self.assistants.get().is_some() || lock(&self.waiting).contains_key(&resource)
            }
        }
    }

    /// Whether everything in `needs` is loaded; if not, what the learner is told (why it failed
    /// to load, or that it is not loaded yet).
    pub fn ready(&self, needs: &[Resource]) -> std::result::Result<(), String> {
        for &resource in needs {
            if let Some(why) = lock(&self.failed).get(&resource) {
                return Err(why.clone());
            }
            if !self.has(resource) {
                return Err(format!("{} is not loaded yet.", resource.describe()));
            }
        }
        Ok(())
    }

    /// The answer to a request whose resources are missing: `Failed`, with the reason.
    /// A request another worker serves is refused as well.
    pub fn refuse(&self, request: &Request) -> Option<Response> {
        let message = match request.worker() {
            Some(worker) if !serves(S::ONLY, worker) => elsewhere("This request", worker),
            _ => self.ready(request.needs()).err()?,
        };
        Some(Response::Failed {
            job: request.job(),
            message,
        })
    }

    pub fn context(&self) -> Context<'_> {
        Context {
            digits: self.digits.get(),
            spam: self.spam.get(),
            census: self.census.get(),
            target: self.target.get(),
            assistants: self.assistants.get(),
        }
    }

    /// Re-grades a receipt as `exercise` (the lesson's, or a workshop learner's instance),
    /// against the data and models this session holds.
    pub fn regrade(&self, exercise: &Exercise, receipt: &Receipt) -> Result<Verdict> {
        crate::receipt::regrade_by(
            self.engine(exercise)?,
            receipt,
            exercise,
            &self.context(),
            Resource::TargetModel.sha256(),
        )
    }

    /// What runs and grades `exercise`'s kind here: the kinds of the worker this session serves.
    fn engine<'e>(&self, exercise: &'e Exercise) -> Result<&'e dyn crate::kinds::AnyEngine> {
        exercise.task.engine_in::<S>().ok_or_else(|| {
            let worker = Worker::of(exercise.task.needs());
            Error::InvalidInput(elsewhere(&format!("Exercise '{}'", exercise.id), worker))
        })
    }

    /// Starts a run of the learner's settings for an exercise.
    pub fn start<'a>(&'a self, exercise: &'a Exercise, settings: Settings) -> Result<Job<'a, S>> {
        let work = match self.engine(exercise)?.start(&settings, &self.context())? {
            Start::Made(artefact) => Work::Ready(artefact),
            Start::Training(trainer) => Work::Training(trainer),
            Start::Measuring(artefact, measurement) => Work::Measuring(artefact, measurement),
            Start::Searching(search) => Work::Searching(search),
        };
        Ok(Job {
            session: self,
            exercise,
            settings,
            work,
        })
    }

    /// Runs a job to its grade without yielding (the CLI and tests; the worker drives the same
    /// steps with messages in between).
    pub fn run_to_end(&self, exercise: &Exercise, settings: Settings) -> Result<Finished> {
        let mut job = self.start(exercise, settings)?;
        loop {
            if let Step::Done(finished) = job.step()? {
                return Ok(finished);
            }
        }
    }

    /// Grades an artefact and writes the receipt for it.
    fn finish(
        &self,
        exercise: &Exercise,
        settings: Settings,
        artefact: Artefact,
    ) -> Result<Finished> {
        let (grade, details) = self
            .engine(exercise)?
            .evaluate(&self.context(), &artefact)?;
        Ok(self.receipted(exercise, settings, artefact, grade, details))
    }

    fn receipted(
        &self,
        exercise: &Exercise,
        settings: Settings,
        artefact: Artefact,
        grade: Grade,
        details: Details,
    ) -> Finished {
        // Kinds graded against the digits target name its (pinned) hash; the others name their
        // own models (Receipt::new).
        let receipt = Receipt::new(
            exercise,
            Resource::TargetModel.sha256(),
            settings,
            artefact.clone(),
            grade.clone(),
        );
        Finished {
            artefact,
            grade,
            receipt: receipt.to_json(),
            details,
        }
    }

    pub fn curve(&self, epsilons: &[f32]) -> Result<Vec<(f32, f32)>> {
        if epsilons.len() > 64 {
            return Err(Error::InvalidInput("at most 64 ε values per curve".into()));
        }
        let ctx = self.context();
        fgsm_curve(ctx.target()?, &ctx.digits()?.test, epsilons)
    }

    pub fn inspect(&self, index: u32, edits: &[PixelEdit]) -> Result<Inspection> {
        let ctx = self.context();
        let (test, target) = (&ctx.digits()?.test, ctx.target()?);
        if index as usize >= test.len() {
            return Err(Error::InvalidInput(format!(
                "there is no test image {index}"
            )));
        }
        let original = test.image(index as usize).to_vec();
        let label = test.labels[index as usize];
        let image = apply_edits(&original, edits)?;
        Ok(Inspection {
            probabilities: target.probabilities(&image)?,
            saliency: saliency(target, &image, label)?,
            original,
            image,
            label,
        })
    }

    /// Serves a request that needs no training loop; `Load`, `Stop` and training runs are the
    /// worker's (they involve its state and event loop).
    /// Each worker links the answers to its own requests only ([`Serves`]); another worker's
    /// request gets none (the worker refuses it first, [`Session::refuse`]).
    pub fn answer(&self, request: &Request) -> Option<Response> {
        match request {
            Request::Regrade {
                job,
                exercise,
                receipt,
            } => Some(Response::Regraded {
                job: *job,
                outcome: Outcome::of(self.regrade(exercise, receipt)),
            }),
            Request::TraceConversation {
                job,
                task,
                text,
                index,
            } if const { serves(S::ONLY, Worker::Assistants) } => {
                let traced = self
                    .context()
                    .assistants()
                    .and_then(|a| task.attack().trace(a, text, *index));
                Some(match traced {
                    Ok(trace) => Response::Traced {
                        job: *job,
                        trace: trace.map(Box::new),
                    },
                    Err(e) => failed(*job, e),
                })
            }
            request if const { serves(S::ONLY, Worker::Classifiers) } => {
                self.answer_classifiers(request)
            }
            _ => None,
        }
    }

    /// [`Session::answer`] for the classifiers' worker's requests.
    fn answer_classifiers(&self, request: &Request) -> Option<Response> {
        match request {
            Request::FgsmCurve { job, epsilons } => Some(match self.curve(epsilons) {
                Ok(points) => Response::Curve { job: *job, points },
                Err(e) => failed(*job, e),
            }),
            Request::Inspect { job, index, edits } => Some(match self.inspect(*index, edits) {
                Ok(inspection) => Response::Inspected {
                    job: *job,
                    inspection,
                },
                Err(e) => failed(*job, e),
            }),
            Request::Candidates { job, query } => {
                let ctx = self.context();
                let answer = ctx
                    .digits()
                    .and_then(|d| candidates(d, ctx.target()?, query));
                Some(match answer {
                    Ok(candidates) => Response::Candidates {
                        job: *job,
                        candidates,
                    },
                    Err(e) => failed(*job, e),
                })
            }
            Request::PoisonScores { job, task } => {
                let answer = self.context().digits().and_then(|d| task.scores(d));
                Some(match answer {
                    Ok(scores) => Response::PoisonScores { job: *job, scores },
                    Err(e) => failed(*job, e),
                })
            }
            Request::SpamWords { job, task } => Some(match self.context().spam() {
                Ok(corpus) => Response::SpamWords {
                    job: *job,
                    words: task.words(corpus),
                },
                Err(e) => failed(*job, e),
            }),
            Request::MembershipLosses { job, task } => {
                let answer = self.context().digits().and_then(|d| task.known_losses(d));
                Some(match answer {
                    Ok(known) => Response::MembershipLosses { job: *job, known },
                    Err(e) => failed(*job, e),
                })
            }
            Request::InversionFrames { job, settings } => {
                let ctx = self.context();
                let answer = ctx.target().and_then(|t| {
                    let average = average_digit(&ctx.digits()?.train);
                    frames(t, &average, settings)
                });
                Some(match answer {
                    Ok(frames) => Response::InversionFrames { job: *job, frames },
                    Err(e) => failed(*job, e),
                })
            }
            _ => None,
        }
    }
}
