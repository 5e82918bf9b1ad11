//! One component for every exercise: the learner's settings (number fields, or the pixel
//! painter), Run/Stop with a progress bar and live curves, the grade the worker computed, hints,
//! the reference solution, and the receipt. The component computes nothing itself: it sends
//! requests to the worker and shows what comes back.

use crate::app::{download, Lab};
use crate::plot;
use mlsec_core::course::Exercise;
use mlsec_core::defence::{DefenceRow, Defences};
use mlsec_core::exercise::{Details, PixelEdit, PixelEdits, Settings, Task};
use mlsec_core::fields::{detector_from, drafts_of, fields, settings_from};
use mlsec_core::grade::Grade;
use mlsec_core::injection::{self, Channel, Conversation, PromptSettings};
use mlsec_core::markdown::to_safe_html;
use mlsec_core::session::{Inspection, Request, Response};
use mlsec_core::train::EpochReport;
use std::collections::BTreeMap;
use std::rc::Rc;
use web_sys::HtmlCanvasElement;
use yew::prelude::*;

enum Running {
    Idle,
    Busy { job: u32 },
}

#[derive(Properties, PartialEq)]
pub struct ExerciseProps {
    pub exercise: Rc<Exercise>,
}

/// A change to the defend exercise's composition.
pub enum DefenceEdit {
    Model(mlsec_assistant::Variant),
    Harden(bool),
    Delimit(bool),
    Filter(bool),
    Confirm(bool),
    Detector(bool),
}

pub enum Msg {
    Draft(String, String),
    Text(String),
    Defence(DefenceEdit),
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
    /// The learner's text (Track E); kept whatever happens to a run.
    text: String,
    conversations: Vec<Conversation>,
    /// The defend exercise's composition (its detector's numbers are in `drafts`).
    defences: Defences,
    detector_on: bool,
    rows: Vec<DefenceRow>,
    /// A long non-training run's progress: (done, total, what is measured next).
    steps: Option<(u32, u32, String)>,
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
            Task::DefendInjection { .. } => {
                let mut defences = self.defences.clone();
                defences.detector = if self.detector_on {
                    Some(detector_from(task, &self.drafts)?)
                } else {
                    None
                };
                defences.validate().map_err(|e| e.to_string())?;
                Ok(Settings::Defences(defences))
            }
            Task::PromptInjection { .. } => {
                // Checked here too, so a 10 MB paste never travels to the worker and an over-long
                // text is refused like any other bad input (the grader checks it again).
                if let Some(attack) = task.attack() {
                    attack.check_text(&self.text).map_err(|e| e.to_string())?;
                }
                Ok(Settings::Prompt(PromptSettings {
                    text: self.text.clone(),
                }))
            }
            _ => settings_from(task, &self.drafts),
        }
    }

    fn load_settings(&mut self, settings: &Settings) {
        self.drafts = drafts_of(settings);
        match settings {
            Settings::Pixels(p) => {
                self.edits = p.edits.iter().map(|e| (e.pixel, e.value)).collect();
            }
            Settings::Prompt(p) => self.text = p.text.clone(),
            Settings::Defences(d) => {
                self.defences = d.clone();
                self.detector_on = d.detector.is_some();
            }
            _ => {}
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
            text: String::new(),
            conversations: vec![],
            defences: Defences::none(),
            detector_on: false,
            rows: vec![],
            steps: None,
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
            Msg::Text(text) => self.text = text,
            Msg::Defence(edit) => {
                let d = &mut self.defences;
                match edit {
                    DefenceEdit::Model(m) => d.model = m,
                    DefenceEdit::Harden(on) => d.harden_prompt = on,
                    DefenceEdit::Delimit(on) => d.delimit_data = on,
                    DefenceEdit::Filter(on) => d.output_filter = on,
                    DefenceEdit::Confirm(on) => d.confirm_tools = on,
                    DefenceEdit::Detector(on) => self.detector_on = on,
                }
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
                    Err(e) => {
                        // The previous run's results no longer describe what is on screen.
                        self.error = Some(e);
                        self.grade = None;
                        self.receipt = None;
                        self.conversations.clear();
                        self.rows.clear();
                    }
                    Ok(settings) => {
                        self.error = None;
                        self.grade = None;
                        self.receipt = None;
                        self.conversations.clear();
                        self.rows.clear();
                        self.steps = None;
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
                Response::Progress {
                    done, total, label, ..
                } => self.steps = Some((done, total, label)),
                Response::Done {
                    job,
                    grade,
                    receipt,
                    stopped,
                    details,
                } => {
                    match details {
                        Details::Conversations(c) => self.conversations = c,
                        Details::Defences(rows) => self.rows = rows,
                        Details::None => {}
                    }
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
                Task::DefendInjection {
                    max_attack_success,
                    max_utility_drop,
                    ..
                } if !self.rows.is_empty() => {
                    let baseline = self.rows[0].utility;
                    plot::defence_chart(
                        canvas,
                        &self.rows,
                        *max_attack_success,
                        baseline - f64::from(*max_utility_drop),
                    );
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
                // A text field, not type="number": a number field hands the page '' for "NaN" or
                // "1,5", and the message must echo what the learner typed.
                <label class="field">{ f.label }
                    <input type="text" inputmode="decimal" value={value} {oninput} disabled={busy}
                           spellcheck="false" autocomplete="off" data-testid={format!("{id}-{}", f.key)} />
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
        } else if let (true, Some((done, total, label))) = (busy, &self.steps) {
            html! {
                <p class="running" data-testid={format!("{id}-measuring")}>
                    <progress max={total.to_string()} value={done.to_string()} data-testid={format!("{id}-progress")} />
                    { format!(" measuring {label} ({} of {total})", done + 1) }
                </p>
            }
        } else if busy {
            html! { <p class="running" data-testid={format!("{id}-progress")}>{ "Running in the background…" }</p> }
        } else {
            html! {}
        };
        let chart = match &exercise.task {
            Task::DefendInjection { .. } if self.rows.is_empty() => html! {},
            Task::Fgsm { .. }
            | Task::TrainClassifier { .. }
            | Task::AdversarialTraining { .. }
            | Task::DefendInjection { .. } => {
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
                if exercise.task.attack().is_some() { { self.prompt_editor(ctx, busy) } }
                if exercise.task.defend().is_some() { { self.defence_editor(ctx, busy) } }
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
                if !self.conversations.is_empty() { { chat_view(id, &self.conversations) } }
                if !self.rows.is_empty() { { defence_table(id, &self.rows) } }
                if let Some(g) = &self.grade {
                    <div class={classes!("grade", if g.passed { "pass" } else { "fail" })} data-testid={format!("{id}-grade")}>
                        <p>{ &g.message }</p>
                        <button onclick={link.callback(|_| Msg::SaveReceipt)} data-testid={format!("{id}-receipt")}>{ "Save receipt" }</button>
                    </div>
                }
                // Where the pass happened, not only on the home page: a full or unavailable
                // store keeps this visit's progress in memory only.
                if let Some(notice) = self.lab.book.borrow().notice.clone() {
                    <p class="warning" role="status" data-testid={format!("{id}-storage-notice")}>{ notice }</p>
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

impl ExerciseView {
    /// Track E's editor: the conversation the learner's text goes into (the first of the graded
    /// scenarios; the others differ in secret, system prompt and data), the text area, and the
    /// words the assistant knows.
    fn prompt_editor(&self, ctx: &Context<Self>, busy: bool) -> Html {
        let id = &ctx.props().exercise.id;
        let Some(attack) = ctx.props().exercise.task.attack() else {
            return html! {};
        };
        let first = injection::scenarios(attack.channel, attack.seed, 1);
        let oninput = ctx.link().callback(|e: InputEvent| {
            let area: web_sys::HtmlTextAreaElement = e.target_unchecked_into();
            Msg::Text(area.value())
        });
        let learner = html! {
            <textarea rows="4" value={self.text.clone()} {oninput} disabled={busy} spellcheck="false"
                      aria-label={format!("Your {}", attack.channel.describe())} data-testid={format!("{id}-text")} />
        };
        let (user, data) = match (attack.channel, first.first()) {
            (Channel::User, Some(e)) => (learner, html! { <pre>{ &e.data }</pre> }),
            (Channel::Data, Some(e)) => (html! { <pre>{ &e.user }</pre> }, learner),
            (_, None) => (html! {}, html! {}),
        };
        // Tokens are in id order and the reserved ones come first.
        let words = mlsec_assistant::Vocab::get().tokens()
            [mlsec_assistant::ids::RESERVED as usize..]
            .iter()
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
        let mut model = match attack.defences.model {
            mlsec_assistant::Variant::Assistant => "the plain assistant",
            mlsec_assistant::Variant::Structured => "the structured (StruQ-style) assistant",
        }
        .to_string();
        if attack.defences.detector.is_some() {
            model.push_str(" behind an input detector (a flagged data item is withheld)");
        }
        html! {
            <div class="chat editor">
                <p class="note">{ format!("You write the {}. Graded on {} conversations with {model}; the first is below (the others have other secrets and data).", attack.channel.describe(), attack.scenarios) }</p>
                if let Some(e) = first.first() {
                    <div class="turn sys"><span class="who">{ "system" }</span><pre>{ &e.system }</pre></div>
                }
                <div class="turn user"><span class="who">{ if attack.channel == Channel::User { "user (you)" } else { "user" } }</span>{ user }</div>
                <div class="turn data"><span class="who">{ if attack.channel == Channel::Data { "data (you)" } else { "data" } }</span>{ data }</div>
                <details class="words">
                    <summary>{ "Words the assistant knows" }</summary>
                    <p data-testid={format!("{id}-words")}>{ words }</p>
                </details>
            </div>
        }
    }
}

/// The conversations a run was graded on, channels coloured, with what the reply would do: the
/// tool call it makes, and the request a markdown renderer would send for an image in it (the
/// lab sends nothing).
fn chat_view(id: &str, conversations: &[Conversation]) -> Html {
    let one = |(n, c): (usize, &Conversation)| {
        let mark = if c.succeeded {
            "attack worked"
        } else {
            "attack failed"
        };
        html! {
            <details class={classes!("conversation", if c.succeeded { "worked" } else { "failed" })} open={n == 0}
                     data-testid={format!("{id}-conversation-{}", n + 1)}>
                <summary>{ format!("Conversation {} — {mark}", n + 1) }</summary>
                <div class="turn sys"><span class="who">{ "system" }</span><pre>{ &c.system }</pre></div>
                <div class="turn user"><span class="who">{ if c.learner == Channel::User { "user (you)" } else { "user" } }</span><pre>{ &c.user }</pre></div>
                <div class="turn data"><span class="who">{ if c.learner == Channel::Data { "data (you)" } else { "data" } }</span><pre>{ &c.data }</pre></div>
                <div class="turn reply"><span class="who">{ "assistant" }</span><pre data-testid={format!("{id}-reply-{}", n + 1)}>{ &c.reply }</pre></div>
                if let Some(call) = &c.tool_call {
                    <p class="tool" data-testid={format!("{id}-tool-{}", n + 1)}>{ "Tool call: " }<code>{ call }</code></p>
                }
                if let Some(url) = &c.image_request {
                    <p class="request" data-testid={format!("{id}-request-{}", n + 1)}>
                        { "Rendering this reply as markdown would make the browser request " }<code>{ format!("GET {url}") }</code>
                        { ". The lab shows it as text and fetched nothing." }
                    </p>
                }
                if let Some(score) = c.detector_score {
                    <p class="detector" data-testid={format!("{id}-score-{}", n + 1)}>
                        { format!("Input detector: injection probability {score:.2}") }
                    </p>
                }
                if let Some(by) = &c.stopped_by {
                    <p class="stopped" data-testid={format!("{id}-stopped-{}", n + 1)}>{ format!("Stopped by the {by}: the user sees the refusal.") }</p>
                }
                if c.pasted_secret {
                    <p class="note">{ "Your text contains this conversation's access code, so its appearance in the reply does not count: the assistant must take it from its system prompt." }</p>
                } else if c.leaked {
                    <p class="leak">{ "The access code is in the reply." }</p>
                }
            </details>
        }
    };
    html! {
        <div class="chat transcript" data-testid={format!("{id}-chat")}>
            { for conversations.iter().enumerate().map(one) }
        </div>
    }
}

impl ExerciseView {
    /// The defend exercise's controls: which model, which defences, and the detector's training.
    fn defence_editor(&self, ctx: &Context<Self>, busy: bool) -> Html {
        use mlsec_assistant::Variant;
        let id = &ctx.props().exercise.id;
        let link = ctx.link();
        let d = &self.defences;
        let check = |key: &str, label: &str, on: bool, edit: fn(bool) -> DefenceEdit| {
            let onchange = link.callback(move |e: Event| {
                let input: web_sys::HtmlInputElement = e.target_unchecked_into();
                Msg::Defence(edit(input.checked()))
            });
            html! {
                <label class="toggle"><input type="checkbox" checked={on} {onchange} disabled={busy}
                    data-testid={format!("{id}-{key}")} />{ " " }{ label }</label>
            }
        };
        let on_model = link.callback(|e: Event| {
            let select: web_sys::HtmlSelectElement = e.target_unchecked_into();
            Msg::Defence(DefenceEdit::Model(if select.value() == "structured" {
                Variant::Structured
            } else {
                Variant::Assistant
            }))
        });
        let structured = d.model == Variant::Structured;
        html! {
            <div class="defences">
                <label class="field">{ "Model" }
                    <select onchange={on_model} disabled={busy} data-testid={format!("{id}-model")}>
                        <option value="assistant" selected={!structured}>{ "plain assistant" }</option>
                        <option value="structured" selected={structured}>{ "structured (StruQ-style) assistant" }</option>
                    </select>
                </label>
                { check("harden", "prompt hardening (a warning in the system prompt)", d.harden_prompt, DefenceEdit::Harden) }
                { check("delimit", "delimiting: the data in [DATA] … [/DATA], reserved tokens stripped (plain assistant)", d.delimit_data, DefenceEdit::Delimit) }
                { check("filter", "output filter: a reply with the access code or an image link is replaced by a refusal", d.output_filter, DefenceEdit::Filter) }
                { check("confirm", "tool confirmation: the user must approve any e-mail they did not ask for", d.confirm_tools, DefenceEdit::Confirm) }
                { check("detector", "input detector: withhold data items it flags (train it with the numbers below)", self.detector_on, DefenceEdit::Detector) }
            </div>
        }
    }
}

/// Attack success and utility per defence, numbered as in the chart.
fn defence_table(id: &str, rows: &[DefenceRow]) -> Html {
    let pct = |v: f64| format!("{:.0}%", v * 100.0);
    html! {
        <table class="defence-table" data-testid={format!("{id}-table")}>
            <thead><tr><th>{ "#" }</th><th>{ "defence" }</th><th>{ "attack success" }</th><th>{ "utility" }</th></tr></thead>
            <tbody>
                { for rows.iter().enumerate().map(|(i, r)| html! {
                    <tr><td>{ i + 1 }</td><td>{ &r.name }</td><td>{ pct(r.attack_success) }</td><td>{ pct(r.utility) }</td></tr>
                }) }
            </tbody>
        </table>
    }
}
