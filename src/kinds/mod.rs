//! One view component per exercise kind, inside the shell that every exercise shares
//! (`exercise_view.rs`). A kind's component draws its own editor (the pixel painter, the prompt
//! box, the defence toggles), and its own charts and result views. It edits the run's settings
//! through `on_edit`; the shell keeps the number fields, Run/Stop, progress, the grade, hints,
//! the solution and the receipt, and renders them where the component places `children`.
//! Components compute nothing a grader decides: counts and threshold lines come from the core.

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

use crate::app::Lab;
use crate::plot;
use mlsec_core::exercise::{Details, Exercise, Settings};
use mlsec_core::kinds::label_flip::{Candidate, Query};
use mlsec_core::kinds::Task;
use mlsec_core::session::{Request, Response};
use mlsec_core::train::EpochReport;
use std::rc::Rc;
use web_sys::HtmlCanvasElement;
use yew::prelude::*;

/// What the shell knows about the run in progress or the last one, for a kind to draw.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunView {
    /// Training epochs reported so far.
    pub reports: Vec<EpochReport>,
    /// Epochs the run trains in all (0 for runs that do not train).
    pub epochs: u32,
    /// What the last grade was measured on.
    pub details: Details,
    /// A search's steps in all (0 for runs that do not search), and where it stood after each
    /// step so far (named figures: its loss, the detector's score).
    pub search_steps: u32,
    pub searched: Vec<Vec<(String, f32)>>,
    /// The settings the run in progress or the last one used (the number fields applied), for a
    /// kind that replays a run (the inversion's snapshots).
    pub settings: Option<Settings>,
}

#[derive(Properties, PartialEq, Clone)]
pub struct KindProps {
    pub exercise: Rc<Exercise>,
    /// The settings the kind's editor holds (the starter's, the reference's, or the learner's).
    pub settings: Settings,
    pub on_edit: Callback<Settings>,
    pub busy: bool,
    pub run: Rc<RunView>,
    /// Shows a message where the shell shows a run's errors (a failed inspection, say).
    pub on_error: Callback<String>,
    /// The shell's number fields, Run/Stop and progress, placed between editor and results.
    pub children: Html,
}

/// The kind's component for `props.exercise`: the one dispatch of the page.
pub fn view(props: KindProps) -> Html {
    match &props.exercise.task {
        Task::TrainClassifier(_) => html! { <train_classifier::View ..props /> },
        Task::PixelAttack(_) => html! { <pixel_attack::View ..props /> },
        Task::Fgsm(_) => html! { <fgsm::View ..props /> },
        Task::PgdTargeted(_) => html! { <pgd_targeted::View ..props /> },
        Task::AdversarialTraining(_) => html! { <adversarial_training::View ..props /> },
        Task::PromptInjection(_) => html! { <prompt_injection::View ..props /> },
        Task::DefendInjection(_) => html! { <defend_injection::View ..props /> },
        Task::LabelFlip(_) => html! { <label_flip::View ..props /> },
        Task::Backdoor(_) => html! { <backdoor::View ..props /> },
        Task::FindPoisons(_) => html! { <find_poisons::View ..props /> },
        Task::SpamBackdoor(_) => html! { <spam_backdoor::View ..props /> },
        Task::MembershipThreshold(_) => html! { <membership::View ..props /> },
        Task::ShadowModels(_) => html! { <shadow_models::View ..props /> },
        Task::DpSgd(_) => html! { <dp_defence::View ..props /> },
        Task::ModelInversion(_) => html! { <inversion::View ..props /> },
        Task::AttributeInference(_) => html! { <attribute_inference::View ..props /> },
        Task::TokenSearch(_) => html! { <token_search::View ..props /> },
    }
}

/// Sends `make(job)` to the worker and hands its one answer to `on_answer`, then forgets the
/// job. Returns the job, for the component to forget if it goes away first.
pub fn ask(lab: &Lab, make: impl FnOnce(u32) -> Request, on_answer: Callback<Response>) -> u32 {
    let worker = lab.worker.clone();
    let job = lab.worker.job(Callback::from(move |response: Response| {
        if let Some(job) = response.job() {
            worker.forget(job);
        }
        on_answer.emit(response);
    }));
    lab.worker.send(make(job));
    job
}

/// Asks the worker for the training images `query` describes (the poisoning galleries): they go
/// to `on_candidates`, a failure to `on_error`. Returns the job, as [`ask`] does.
pub fn ask_candidates(
    lab: &Lab,
    query: Query,
    on_candidates: impl Fn(Vec<Candidate>) + 'static,
    on_error: Callback<String>,
) -> u32 {
    let answer = Callback::from(move |response| match response {
        Response::Candidates { candidates, .. } => on_candidates(candidates),
        Response::Failed { message, .. } => on_error.emit(message),
        _ => {}
    });
    ask(lab, |job| Request::Candidates { job, query }, answer)
}

/// The training curves of Track 0 and adversarial training, drawn as epochs arrive.
#[function_component(TrainingChart)]
pub fn training_chart(props: &KindProps) -> Html {
    let canvas = use_node_ref();
    {
        let canvas = canvas.clone();
        use_effect_with(props.run.clone(), move |run| {
            if let Some(c) = canvas.cast::<HtmlCanvasElement>() {
                plot::training_curves(c, &run.reports, run.epochs.max(1));
            }
        });
    }
    plot::figure(
        &canvas,
        (560, 260),
        &mlsec_core::chart::training_curves(&props.run.reports),
        plot::TWO_AXES_KEY,
        &format!("{}-chart", props.exercise.id),
    )
}
