//! What the Web Worker does, as plain values: the message protocol between page and worker, and
//! a [`Session`] holding the loaded data and target model that answers each request. The
//! worker binary only moves messages and yields between epochs; the decisions are here, where
//! they are tested natively.

use crate::attacks::{fgsm_curve, saliency};
use crate::course::Exercise;
use crate::defence::TableRun;
use crate::digits::Digits;
use crate::exercise::{apply_edits, Artefact, Base64, Context, Details, PixelEdit, Settings};
use crate::grade::Grade;
use crate::injection::Assistants;
use crate::mlp::Mlp;
use crate::receipt::Receipt;
use crate::train::{EpochReport, Trainer};
use crate::{sha256_hex, Error, Result};
use serde::{Deserialize, Serialize};

/// Page → worker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// The lab's data and target model, fetched by the page. Sent once, before anything else.
    Load { digits: Base64, target: Base64 },
    /// The two assistant models (Track E), fetched by the page when an injection exercise first
    /// runs. Sent after `Load`.
    LoadAssistants {
        assistant: Base64,
        structured: Base64,
    },
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
    /// Stop a running training job after its current epoch.
    Stop { job: u32 },
}

/// Worker → page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Response {
    Loaded {
        target_sha256: String,
    },
    AssistantsLoaded,
    /// A request could not be served; `job` is `None` for a failed `Load`.
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

/// What a `Run` needs next: an artefact already made (attacks), a trainer to run, or (the
/// defend exercise) a comparison table to measure row by row before grading.
pub enum Job {
    Ready(Artefact),
    Training(Box<Trainer>),
    Defending(Artefact, Box<TableRun>),
}

/// The worker's state: what has been loaded (each resource on the first run of a kind that
/// needs it, so a Track E learner never downloads the digits and a digits learner never the
/// assistants) and the answers to requests.
#[derive(Default)]
pub struct Session {
    /// Set once, by [`Session::load_digits`].
    digits: std::cell::OnceCell<DigitsTarget>,
    /// Set once, by [`Session::load_assistants`].
    assistants: std::cell::OnceCell<Assistants>,
}

/// The digits data and the shipped target model (Tracks 0 and A).
struct DigitsTarget {
    digits: Digits,
    target: Mlp,
    target_sha256: String,
}

/// What a finished run produced: the grade, its receipt, and the conversations behind it.
pub struct Finished {
    pub grade: Grade,
    pub receipt: String,
    pub details: Details,
}

impl Session {
    /// A session with the digits data and target model loaded ([`Session::load_digits`]).
    pub fn load(digits: &[u8], target: &[u8]) -> Result<Self> {
        let session = Session::default();
        session.load_digits(digits, target)?;
        Ok(session)
    }

    /// Loads the digits data and target model, checking the data against its known hash before
    /// parsing, so a damaged or substituted file is reported as such rather than as a confusing
    /// parse error. Returns the target model's SHA-256. Loading them again is a no-op.
    pub fn load_digits(&self, digits: &[u8], target: &[u8]) -> Result<String> {
        if let Some(loaded) = self.digits.get() {
            return Ok(loaded.target_sha256.clone());
        }
        let digits_hash = sha256_hex(digits);
        if digits_hash != crate::digits::DIGITS_SHA256 {
            return Err(Error::Data(format!(
                "digits.csv.gz has SHA-256 {}…, not the lab's {}…; the file is damaged or was replaced",
                &digits_hash[..12],
                &crate::digits::DIGITS_SHA256[..12]
            )));
        }
        let loaded = DigitsTarget {
            digits: Digits::from_csv_gz(digits)?,
            target: Mlp::from_safetensors(target)?,
            target_sha256: sha256_hex(target),
        };
        let sha = loaded.target_sha256.clone();
        let _ = self.digits.set(loaded);
        Ok(sha)
    }

    /// Loads the assistant models (checked against their shipped hashes). Loading them again is
    /// a no-op.
    pub fn load_assistants(&self, assistant: &[u8], structured: &[u8]) -> Result<()> {
        if self.assistants.get().is_none() {
            let loaded = Assistants::load(assistant, structured)?;
            let _ = self.assistants.set(loaded);
        }
        Ok(())
    }

    pub fn has_assistants(&self) -> bool {
        self.assistants.get().is_some()
    }

    /// Whether what `task` needs is loaded; if not, what the learner is told.
    pub fn ready_for(&self, task: &crate::exercise::Task) -> std::result::Result<(), String> {
        if task.uses_assistants() {
            if self.assistants.get().is_none() {
                return Err("The assistant models are not loaded yet.".into());
            }
        } else if self.digits.get().is_none() {
            return Err("The lab's data is not loaded yet.".into());
        }
        Ok(())
    }

    pub fn context(&self) -> Context<'_> {
        Context {
            digits: self.digits.get().map(|d| &d.digits),
            target: self.digits.get().map(|d| &d.target),
            assistants: self.assistants.get(),
        }
    }

    fn digits_target(&self) -> Result<&DigitsTarget> {
        self.digits
            .get()
            .ok_or_else(|| Error::Data("the lab's data is not loaded yet".into()))
    }

    pub fn start(&self, exercise: &Exercise, settings: &Settings) -> Result<Job> {
        if let Some(trainer) = exercise.task.trainer(settings, &self.context())? {
            return Ok(Job::Training(Box::new(trainer)));
        }
        let artefact = exercise.task.run(settings, &self.context(), |_| true)?;
        match (exercise.task.defend(), &artefact) {
            (Some(task), Artefact::Defences { defences }) => {
                let table = task.start(defences)?;
                Ok(Job::Defending(artefact, Box::new(table)))
            }
            _ => Ok(Job::Ready(artefact)),
        }
    }

    /// Runs a job to its end without yielding (native callers and tests; the worker runs the
    /// same steps with progress messages in between) and grades it.
    pub fn run_to_end(&self, exercise: &Exercise, settings: Settings) -> Result<Finished> {
        match self.start(exercise, &settings)? {
            Job::Ready(artefact) => self.finish(exercise, settings, artefact),
            Job::Training(mut trainer) => {
                while !trainer.finished() {
                    trainer.run_epoch()?;
                }
                self.finish_training(exercise, settings, &trainer)
            }
            Job::Defending(artefact, mut table) => {
                while self.step_table(&mut table)? {}
                self.finish_table(exercise, settings, artefact, *table)
            }
        }
    }

    /// Measures the next row of a defend job's table.
    pub fn step_table(&self, table: &mut TableRun) -> Result<bool> {
        let assistants = self
            .assistants
            .get()
            .ok_or_else(|| Error::Model("the assistant models are not loaded".into()))?;
        table.step(assistants)
    }

    /// Grades a defend job from its measured table (the same grade [`Task::evaluate`] gives) and
    /// writes the receipt.
    ///
    /// [`Task::evaluate`]: crate::exercise::Task::evaluate
    pub fn finish_table(
        &self,
        exercise: &Exercise,
        settings: Settings,
        artefact: Artefact,
        table: TableRun,
    ) -> Result<Finished> {
        let task = exercise
            .task
            .defend()
            .ok_or_else(|| Error::InvalidInput("not a defend exercise".into()))?;
        let rows = table.into_rows();
        let grade = task.grade(&rows);
        Ok(self.receipted(exercise, settings, artefact, grade, Details::Defences(rows)))
    }

    /// Grades the model a training job has trained so far (all of it, or up to a Stop) and writes
    /// the receipt, whose settings name the epochs that really ran.
    pub fn finish_training(
        &self,
        exercise: &Exercise,
        settings: Settings,
        trainer: &Trainer,
    ) -> Result<Finished> {
        let artefact = Artefact::weights(trainer.model())?;
        self.finish(exercise, settings.ran_for(trainer.epochs_done()), artefact)
    }

    /// Grades an artefact and writes the receipt for it.
    pub fn finish(
        &self,
        exercise: &Exercise,
        settings: Settings,
        artefact: Artefact,
    ) -> Result<Finished> {
        let (grade, details) = exercise.task.evaluate(&self.context(), &artefact)?;
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
        // Kinds graded against the digits target name its hash; the others name their own
        // models (Receipt::new), and need no digits loaded.
        let target_sha256 = self.digits.get().map_or("", |d| d.target_sha256.as_str());
        let receipt = Receipt::new(exercise, target_sha256, settings, artefact, grade.clone());
        Finished {
            grade,
            receipt: receipt.to_json(),
            details,
        }
    }

    pub fn curve(&self, epsilons: &[f32]) -> Result<Vec<(f32, f32)>> {
        if epsilons.len() > 64 {
            return Err(Error::InvalidInput("at most 64 ε values per curve".into()));
        }
        let loaded = self.digits_target()?;
        fgsm_curve(&loaded.target, &loaded.digits.test, epsilons)
    }

    pub fn inspect(&self, index: u32, edits: &[PixelEdit]) -> Result<Inspection> {
        let loaded = self.digits_target()?;
        let test = &loaded.digits.test;
        if index as usize >= test.len() {
            return Err(Error::InvalidInput(format!(
                "there is no test image {index}"
            )));
        }
        let original = test.image(index as usize).to_vec();
        let label = test.labels[index as usize];
        let image = apply_edits(&original, edits)?;
        Ok(Inspection {
            probabilities: loaded.target.probabilities(&image)?,
            saliency: saliency(&loaded.target, &image, label)?,
            original,
            image,
            label,
        })
    }

    /// Serves a request that needs no training loop; `Load`, `Stop` and training runs are the
    /// worker's (they involve its state and event loop).
    pub fn answer(&self, request: &Request) -> Option<Response> {
        let fail = |job: u32, e: Error| Response::Failed {
            job: Some(job),
            message: e.to_string(),
        };
        match request {
            Request::FgsmCurve { job, epsilons } => Some(match self.curve(epsilons) {
                Ok(points) => Response::Curve { job: *job, points },
                Err(e) => fail(*job, e),
            }),
            Request::Inspect { job, index, edits } => Some(match self.inspect(*index, edits) {
                Ok(inspection) => Response::Inspected {
                    job: *job,
                    inspection,
                },
                Err(e) => fail(*job, e),
            }),
            _ => None,
        }
    }
}
