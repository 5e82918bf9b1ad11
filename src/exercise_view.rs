//! One component for every exercise: the learner's settings (number fields, or the pixel
//! painter), Run/Stop with a progress bar and live curves, the grade the worker computed, hints,
//! the reference solution, and the receipt. The component computes nothing itself: it sends
//! requests to the worker and shows what comes back.

use crate::app::{download, Lab};
use crate::plot;
use mlsec_core::course::Exercise;
use mlsec_core::exercise::{PixelEdit, PixelEdits, Settings, Task};
use mlsec_core::grade::Grade;
use mlsec_core::markdown::to_safe_html;
use mlsec_core::session::{Inspection, Request, Response};
use mlsec_core::train::EpochReport;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::rc::Rc;
use web_sys::HtmlCanvasElement;
use yew::prelude::*;

/// A number the learner sets. Values are checked here (a number at all) and by the core
/// (its range) before anything runs.
struct Field {
    key: &'static str,
    label: &'static str,
    step: &'static str,
}

const fn field(key: &'static str, label: &'static str, step: &'static str) -> Field {
    Field { key, label, step }
}

fn fields(task: &Task) -> Vec<Field> {
    let training = [
        field("epochs", "Epochs", "1"),
        field("learning_rate", "Learning rate", "0.001"),
        field("batch_size", "Batch size", "1"),
        field("seed", "Seed", "1"),
    ];
    match task {
        Task::TrainClassifier { .. } => training.into(),
        Task::PixelAttack { .. } => vec![],
        Task::Fgsm { .. } => vec![field("epsilon", "ε (L∞ budget per pixel)", "0.01")],
        Task::PgdTargeted { .. } => vec![
            field("epsilon", "ε (L∞ budget per pixel)", "0.01"),
            field("step_size", "Step size α", "0.005"),
            field("steps", "Steps", "1"),
        ],
        Task::AdversarialTraining { .. } => {
            let mut f: Vec<Field> = training.into();
            f.insert(3, field("train_epsilon", "Training ε", "0.01"));
            f.insert(4, field("train_steps", "Training PGD steps", "1"));
            f
        }
    }
}

/// Settings as (variant tag, field map), the shape the number fields edit.
fn split(settings: &Settings) -> (String, Map<String, Value>) {
    match serde_json::to_value(settings) {
        Ok(Value::Object(outer)) => match outer.into_iter().next() {
            Some((tag, Value::Object(inner))) => (tag, inner),
            _ => (String::new(), Map::new()),
        },
        _ => (String::new(), Map::new()),
    }
}

fn drafts_of(settings: &Settings) -> BTreeMap<String, String> {
    split(settings)
        .1
        .into_iter()
        .filter(|(_, v)| v.is_number())
        .map(|(k, v)| (k, v.to_string()))
        .collect()
}

/// Builds settings from the learner's text fields, or says which field is not a number.
fn settings_from(
    template: &Settings,
    task: &Task,
    drafts: &BTreeMap<String, String>,
) -> Result<Settings, String> {
    let (tag, mut map) = split(template);
    for f in fields(task) {
        let text = drafts.get(f.key).map(|s| s.trim()).unwrap_or("");
        let number: f64 = text
            .parse()
            .map_err(|_| format!("{}: '{text}' is not a number", f.label))?;
        if !number.is_finite() {
            return Err(format!("{}: '{text}' is not a finite number", f.label));
        }
        let value = if map.get(f.key).is_some_and(|v| v.is_u64()) {
            if number < 0.0 || number.fract() != 0.0 || number > u32::MAX as f64 {
                return Err(format!("{}: '{text}' must be a whole number ≥ 0", f.label));
            }
            Value::from(number as u64)
        } else {
            Value::from(number)
        };
        map.insert(f.key.to_string(), value);
    }
    let mut outer = Map::new();
    outer.insert(tag, Value::Object(map));
    serde_json::from_value(Value::Object(outer))
        .map_err(|e| format!("these settings are not valid: {e}"))
}

enum Running {
    Idle,
    Busy { job: u32 },
}

#[derive(Properties, PartialEq)]
pub struct ExerciseProps {
    pub exercise: Rc<Exercise>,
}

pub enum Msg {
    Draft(String, String),
    Run,
    Stop,
    UseSolution,
    Paint(u32),
    SetInk(bool),
    ToggleSaliency,
    ResetPixels,
    ShowHint,
    ShowSolution,
    SaveReceipt,
    Worker(Response),
    LabChanged(Lab),
}

pub struct ExerciseView {
    lab: Lab,
    _lab_listener: ContextHandle<Lab>,
    drafts: BTreeMap<String, String>,
    edits: BTreeMap<u32, f32>,
    ink: bool,
    show_saliency: bool,
    inspection: Option<Inspection>,
    running: Running,
    stopping: bool,
    reports: Vec<EpochReport>,
    epochs: u32,
    curve: Vec<(f32, f32)>,
    grade: Option<Grade>,
    receipt: Option<String>,
    error: Option<String>,
    /// Job numbers this component listens on (forgotten when it goes away).
    jobs: Vec<u32>,
    canvas: NodeRef,
    digit: NodeRef,
}

impl ExerciseView {
    fn request(&mut self, ctx: &Context<Self>, make: impl FnOnce(u32) -> Request) -> u32 {
        let job = self.lab.worker.job(ctx.link().callback(Msg::Worker));
        self.jobs.push(job);
        self.lab.worker.send(make(job));
        job
    }

    fn inspect(&mut self, ctx: &Context<Self>) {
        if let Task::PixelAttack { image_index, .. } = &ctx.props().exercise.task {
            let (index, edits) = (*image_index, self.pixel_edits().edits);
            self.request(ctx, |job| Request::Inspect { job, index, edits });
        }
    }

    fn pixel_edits(&self) -> PixelEdits {
        PixelEdits {
            edits: self
                .edits
                .iter()
                .map(|(&pixel, &value)| PixelEdit { pixel, value })
                .collect(),
        }
    }

    fn settings(&self, ctx: &Context<Self>) -> Result<Settings, String> {
        let task = &ctx.props().exercise.task;
        match task {
            Task::PixelAttack { .. } => Ok(Settings::Pixels(self.pixel_edits())),
            _ => settings_from(&task.starter(), task, &self.drafts),
        }
    }

    fn load_settings(&mut self, settings: &Settings) {
        self.drafts = drafts_of(settings);
        if let Settings::Pixels(p) = settings {
            self.edits = p.edits.iter().map(|e| (e.pixel, e.value)).collect();
        }
    }
}

impl Component for ExerciseView {
    type Message = Msg;
    type Properties = ExerciseProps;

    fn create(ctx: &Context<Self>) -> Self {
        let (lab, listener) = ctx
            .link()
            .context::<Lab>(ctx.link().callback(Msg::LabChanged))
            .expect("lab context");
        let mut view = ExerciseView {
            lab,
            _lab_listener: listener,
            drafts: BTreeMap::new(),
            edits: BTreeMap::new(),
            ink: true,
            show_saliency: true,
            inspection: None,
            running: Running::Idle,
            stopping: false,
            reports: vec![],
            epochs: 0,
            curve: vec![],
            grade: None,
            receipt: None,
            error: None,
            jobs: vec![],
            canvas: NodeRef::default(),
            digit: NodeRef::default(),
        };
        view.load_settings(&ctx.props().exercise.task.starter());
        match &ctx.props().exercise.task {
            Task::PixelAttack { .. } => view.inspect(ctx),
            Task::Fgsm { .. } => {
                let epsilons = (0..=12).map(|i| i as f32 * 0.025).collect();
                view.request(ctx, |job| Request::FgsmCurve { job, epsilons });
            }
            _ => {}
        }
        view
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        let exercise = ctx.props().exercise.clone();
        match msg {
            Msg::LabChanged(lab) => self.lab = lab,
            Msg::Draft(key, text) => {
                self.drafts.insert(key, text);
            }
            Msg::UseSolution => {
                self.load_settings(&exercise.task.solution());
                self.lab.update(|p| p.view_solution(&exercise.id));
                self.inspect(ctx);
            }
            Msg::Run => {
                if matches!(self.running, Running::Busy { .. }) {
                    return false;
                }
                match self.settings(ctx) {
                    Err(e) => self.error = Some(e),
                    Ok(settings) => {
                        self.error = None;
                        self.grade = None;
                        self.receipt = None;
                        self.reports.clear();
                        self.stopping = false;
                        self.epochs = match &settings {
                            Settings::Train(c) => c.epochs,
                            Settings::AdvTrain(c) => c.epochs,
                            _ => 0,
                        };
                        let exercise = Box::new((*exercise).clone());
                        let job = self.request(ctx, |job| Request::Run {
                            job,
                            exercise,
                            settings,
                        });
                        self.running = Running::Busy { job };
                    }
                }
            }
            Msg::Stop => {
                if let Running::Busy { job } = self.running {
                    self.stopping = true;
                    self.lab.worker.send(Request::Stop { job });
                }
            }
            Msg::Paint(pixel) => {
                let value = if self.ink { 1.0 } else { 0.0 };
                let original = self
                    .inspection
                    .as_ref()
                    .and_then(|i| i.original.get(pixel as usize).copied());
                if original == Some(value) {
                    self.edits.remove(&pixel);
                } else {
                    self.edits.insert(pixel, value);
                }
                self.inspect(ctx);
            }
            Msg::SetInk(ink) => self.ink = ink,
            Msg::ToggleSaliency => self.show_saliency = !self.show_saliency,
            Msg::ResetPixels => {
                self.edits.clear();
                self.inspect(ctx);
            }
            Msg::ShowHint => {
                let shown = self.lab.progress().record(&exercise.id).hints_opened + 1;
                let shown = shown.min(exercise.hints.len() as u32);
                self.lab.update(|p| p.open_hint(&exercise.id, shown));
            }
            Msg::ShowSolution => self.lab.update(|p| p.view_solution(&exercise.id)),
            Msg::SaveReceipt => {
                if let Some(receipt) = &self.receipt {
                    download(&format!("{}-receipt.json", exercise.id), receipt);
                }
            }
            Msg::Worker(response) => match response {
                Response::Epoch { report, .. } => self.reports.push(report),
                Response::Done {
                    job,
                    grade,
                    receipt,
                    stopped,
                } => {
                    self.lab.worker.forget(job);
                    self.running = Running::Idle;
                    if stopped {
                        self.error = Some(format!(
                            "Stopped after {} epochs; the model so far was graded.",
                            self.reports.len()
                        ));
                    }
                    self.lab.update(|p| p.record_attempt(&exercise.id, &grade));
                    self.grade = Some(grade);
                    self.receipt = Some(receipt);
                }
                Response::Failed { job, message } => {
                    if let Some(job) = job {
                        self.lab.worker.forget(job);
                    }
                    if matches!(self.running, Running::Busy { job: j } if Some(j) == job || job.is_none())
                    {
                        self.running = Running::Idle;
                    }
                    self.error = Some(message);
                }
                Response::Curve { job, points } => {
                    self.lab.worker.forget(job);
                    self.curve = points;
                }
                Response::Inspected { job, inspection } => {
                    self.lab.worker.forget(job);
                    self.inspection = Some(inspection);
                }
                Response::Loaded { .. } => {}
            },
        }
        true
    }

    fn rendered(&mut self, ctx: &Context<Self>, _first: bool) {
        let task = &ctx.props().exercise.task;
        if let Some(canvas) = self.canvas.cast::<HtmlCanvasElement>() {
            match task {
                Task::Fgsm {
                    epsilon_budget,
                    min_success,
                    ..
                } if !self.curve.is_empty() => {
                    plot::success_curve(canvas, &self.curve, *epsilon_budget, *min_success);
                }
                _ if task.trains() => {
                    plot::training_curves(canvas, &self.reports, self.epochs.max(1));
                }
                _ => {}
            }
        }
        if let (Some(canvas), Some(inspection)) =
            (self.digit.cast::<HtmlCanvasElement>(), &self.inspection)
        {
            let changed: Vec<bool> = inspection
                .image
                .iter()
                .zip(&inspection.original)
                .map(|(a, o)| (a - o).abs() > 1e-6)
                .collect();
            let saliency = self.show_saliency.then_some(inspection.saliency.as_slice());
            plot::digit(&canvas, &inspection.image, saliency, &changed);
        }
    }

    fn destroy(&mut self, _ctx: &Context<Self>) {
        if let Running::Busy { job } = self.running {
            self.lab.worker.send(Request::Stop { job });
        }
        for job in &self.jobs {
            self.lab.worker.forget(*job);
        }
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let exercise = &ctx.props().exercise;
        let id = &exercise.id;
        let link = ctx.link();
        let record = self.lab.progress().record(id);
        let busy = matches!(self.running, Running::Busy { .. });
        let inputs = fields(&exercise.task).into_iter().map(|f| {
            let key = f.key.to_string();
            let value = self.drafts.get(f.key).cloned().unwrap_or_default();
            let oninput = link.callback(move |e: InputEvent| {
                let input: web_sys::HtmlInputElement = e.target_unchecked_into();
                Msg::Draft(key.clone(), input.value())
            });
            html! {
                <label class="field">{ f.label }
                    <input type="number" step={f.step} value={value} {oninput} disabled={busy}
                           data-testid={format!("{id}-{}", f.key)} />
                </label>
            }
        });
        let progress = if busy && self.epochs > 0 {
            html! {
                <p class="running">
                    <progress max={self.epochs.to_string()} value={self.reports.len().to_string()} data-testid={format!("{id}-progress")} />
                    { format!(" epoch {} of {}", self.reports.len(), self.epochs) }
                    if let Some(last) = self.reports.last() { { format!(" · test accuracy {:.1}%", last.test_accuracy * 100.0) } }
                </p>
            }
        } else if busy {
            html! { <p class="running" data-testid={format!("{id}-progress")}>{ "Running in the background…" }</p> }
        } else {
            html! {}
        };
        let chart = match &exercise.task {
            Task::Fgsm { .. } | Task::TrainClassifier { .. } | Task::AdversarialTraining { .. } => {
                html! {
                    <canvas ref={self.canvas.clone()} width="560" height="260" class="chart" data-testid={format!("{id}-chart")}></canvas>
                }
            }
            _ => html! {},
        };
        let hints_shown = (record.hints_opened as usize).min(exercise.hints.len());
        let solution_open = record.solution_viewed || record.passed;
        html! {
            <section class="exercise" data-testid={format!("exercise-{id}")}>
                <h2>{ "Exercise: " }{ &exercise.title }
                    if record.passed { <span class="badge passed">{ "passed" }</span> }
                </h2>
                <p class="goal">{ &exercise.goal }</p>
                if let Task::PixelAttack { max_pixels, .. } = &exercise.task { { self.painter(ctx, *max_pixels) } }
                <div class="fields">{ for inputs }</div>
                <div class="actions">
                    <button class="primary" onclick={link.callback(|_| Msg::Run)} disabled={busy} data-testid={format!("{id}-run")}>
                        { if exercise.task.trains() { "Train and grade" } else { "Run and grade" } }
                    </button>
                    if busy && exercise.task.trains() {
                        <button onclick={link.callback(|_| Msg::Stop)} disabled={self.stopping} data-testid={format!("{id}-stop")}>{ "Stop" }</button>
                    }
                    <button onclick={link.callback(|_| Msg::UseSolution)} disabled={busy} data-testid={format!("{id}-use-solution")}
                            title="Fills in the reference settings; counts as viewing the solution">{ "Use reference settings" }</button>
                </div>
                { progress }
                { chart }
                if let Some(e) = &self.error { <p class="error" role="alert" data-testid={format!("{id}-error")}>{ e }</p> }
                if let Some(g) = &self.grade {
                    <div class={classes!("grade", if g.passed { "pass" } else { "fail" })} data-testid={format!("{id}-grade")}>
                        <p>{ &g.message }</p>
                        <button onclick={link.callback(|_| Msg::SaveReceipt)} data-testid={format!("{id}-receipt")}>{ "Save receipt" }</button>
                    </div>
                }
                <div class="hints">
                    { for exercise.hints.iter().take(hints_shown).enumerate().map(|(n, h)| html! {
                        <p class="hint" data-testid={format!("{id}-hint-{}", n + 1)}><strong>{ format!("Hint {}: ", n + 1) }</strong>{ h }</p>
                    }) }
                    if hints_shown < exercise.hints.len() {
                        <button onclick={link.callback(|_| Msg::ShowHint)} data-testid={format!("{id}-show-hint")}>
                            { format!("Show hint {} of {}", hints_shown + 1, exercise.hints.len()) }
                        </button>
                    }
                </div>
                if solution_open {
                    <details class="solution" open={record.passed}>
                        <summary>{ "Reference solution" }</summary>
                        <pre>{ serde_json::to_string_pretty(&exercise.task.solution()).unwrap_or_default() }</pre>
                        { Html::from_html_unchecked(AttrValue::from(to_safe_html(&exercise.solution_notes))) }
                    </details>
                } else {
                    <button class="quiet" onclick={link.callback(|_| Msg::ShowSolution)} data-testid={format!("{id}-show-solution")}>
                        { "Give up and show the reference solution" }
                    </button>
                }
            </section>
        }
    }
}

impl ExerciseView {
    fn painter(&self, ctx: &Context<Self>, max_pixels: u32) -> Html {
        let link = ctx.link();
        let id = &ctx.props().exercise.id;
        let onclick = link.batch_callback(|e: MouseEvent| {
            let canvas: HtmlCanvasElement = e.target_unchecked_into();
            let cell = f64::from(canvas.client_width().max(1)) / 8.0;
            let (x, y) = (
                (f64::from(e.offset_x()) / cell) as u32,
                (f64::from(e.offset_y()) / cell) as u32,
            );
            (x < 8 && y < 8).then_some(Msg::Paint(y * 8 + x))
        });
        let readout = self.inspection.as_ref().map(|i| {
            let predicted = i.probabilities.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map(|(c, _)| c).unwrap_or(0);
            let bars = i.probabilities.iter().enumerate().map(|(c, p)| {
                html! { <li class={classes!((c == predicted).then_some("top"))}>{ format!("{c}: {:.1}%", p * 100.0) }</li> }
            });
            html! {
                <div class="readout" data-testid={format!("{id}-readout")}>
                    <p>{ format!("True label {} · model says {} · {} of {max_pixels} pixels changed", i.label, predicted, self.edits.len()) }</p>
                    <ol class="probabilities">{ for bars }</ol>
                </div>
            }
        });
        let ink = self.ink;
        html! {
            <div class="painter">
                <canvas ref={self.digit.clone()} width="320" height="320" class="digit" {onclick} data-testid={format!("{id}-canvas")}></canvas>
                <div>
                    <p>{ "Click a cell to paint it." }</p>
                    <label><input type="radio" checked={ink} onchange={link.callback(|_| Msg::SetInk(true))} data-testid={format!("{id}-ink")} />{ " ink (1.0)" }</label>
                    <label><input type="radio" checked={!ink} onchange={link.callback(|_| Msg::SetInk(false))} data-testid={format!("{id}-erase")} />{ " erase (0.0)" }</label>
                    <label><input type="checkbox" checked={self.show_saliency} onchange={link.callback(|_| Msg::ToggleSaliency)} />{ " gradient saliency overlay (red)" }</label>
                    <button onclick={link.callback(|_| Msg::ResetPixels)}>{ "Reset image" }</button>
                    { for readout }
                </div>
            </div>
        }
    }
}
