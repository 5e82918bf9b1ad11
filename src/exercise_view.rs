//! The shell every exercise shares: its title and goal, the settings' number fields (the
//! core's field specs, parsed by core code), Run/Stop with a progress bar, the grade the worker
//! computed, hints, the reference solution, and the receipt. What differs between kinds (the
//! painter, the prompt box, the defence toggles, charts and result views) is the kind's own
//! component in `src/kinds/`, which edits the settings this shell runs. Nothing here computes a
//! grade: the shell sends requests to the worker and shows what comes back.

use crate::app::{download, Lab};
use crate::kinds::{self, KindProps, RunView};
use crate::predict::PredictBox;
use mlsec_core::exercise::{Exercise, Settings};
use mlsec_core::grade::Grade;
use mlsec_core::session::{Request, Response};
use std::collections::BTreeMap;
use std::rc::Rc;
use yew::prelude::*;

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
    /// The kind's editor changed the settings.
    Edit(Settings),
    /// The kind's component has something to tell (a failed inspection, say).
    KindError(String),
    Run,
    Stop,
    UseSolution,
    ShowHint,
    ShowSolution,
    SaveReceipt,
    Worker(Response),
    LabChanged(Lab),
}

pub struct ExerciseView {
    lab: Lab,
    _lab_listener: ContextHandle<Lab>,
    /// The text of each number field, kept as typed.
    drafts: BTreeMap<String, String>,
    /// The settings the kind's editor holds; the number fields are put into them on Run.
    settings: Settings,
    run: Rc<RunView>,
    /// A long non-training run's progress: (done, total, what is measured next).
    steps: Option<(u32, u32, String)>,
    running: Running,
    stopping: bool,
    grade: Option<Grade>,
    receipt: Option<String>,
    error: Option<String>,
}

impl ExerciseView {
    fn load_settings(&mut self, exercise: &Exercise, settings: Settings) {
        self.drafts = exercise.task.drafts(&settings);
        self.settings = settings;
    }

    /// Forgets the last run's results: they no longer describe what is on screen.
    fn clear_results(&mut self) {
        self.grade = None;
        self.receipt = None;
        self.run = Rc::new(RunView::default());
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
        let exercise = ctx.props().exercise.clone();
        let mut view = ExerciseView {
            lab,
            _lab_listener: listener,
            drafts: BTreeMap::new(),
            settings: exercise.task.starter(),
            run: Rc::default(),
            steps: None,
            running: Running::Idle,
            stopping: false,
            grade: None,
            receipt: None,
            error: None,
        };
        view.load_settings(&exercise, exercise.task.starter());
        view
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        let exercise = ctx.props().exercise.clone();
        match msg {
            Msg::LabChanged(lab) => self.lab = lab,
            Msg::Draft(key, text) => {
                self.drafts.insert(key, text);
            }
            Msg::Edit(settings) => self.settings = settings,
            Msg::KindError(message) => self.error = Some(message),
            Msg::UseSolution => {
                self.load_settings(&exercise, exercise.task.solution());
                self.lab.update(|p| p.view_solution(&exercise.id));
            }
            Msg::Run => {
                if matches!(self.running, Running::Busy { .. }) {
                    return false;
                }
                self.clear_results();
                match exercise.task.settings_from(&self.settings, &self.drafts) {
                    Err(e) => self.error = Some(e),
                    Ok(settings) => {
                        self.error = None;
                        self.steps = None;
                        self.stopping = false;
                        self.run = Rc::new(RunView {
                            epochs: exercise.task.epochs(&settings).unwrap_or(0),
                            settings: Some(settings.clone()),
                            ..RunView::default()
                        });
                        let job = self.lab.worker.job(ctx.link().callback(Msg::Worker));
                        self.lab.worker.send(Request::Run {
                            job,
                            exercise: Box::new((*exercise).clone()),
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
                Response::Epoch { report, .. } => Rc::make_mut(&mut self.run).reports.push(report),
                Response::Progress {
                    done, total, label, ..
                } => self.steps = Some((done, total, label)),
                Response::Searched { total, figures, .. } => {
                    let run = Rc::make_mut(&mut self.run);
                    run.search_steps = total;
                    if !figures.is_empty() {
                        run.searched.push(figures);
                    }
                }
                Response::Done {
                    job,
                    grade,
                    receipt,
                    stopped,
                    details,
                } => {
                    Rc::make_mut(&mut self.run).details = details;
                    self.lab.worker.forget(job);
                    self.running = Running::Idle;
                    if stopped {
                        self.error = Some(if self.run.search_steps > 0 {
                            format!(
                                "Stopped after {} steps; the best suffix found so far was graded.",
                                self.run.searched.len()
                            )
                        } else {
                            format!(
                                "Stopped after {} epochs; the model so far was graded.",
                                self.run.reports.len()
                            )
                        });
                    }
                    self.lab.update(|p| p.record_attempt(&exercise.id, &grade));
                    // In a workshop the receipt is also kept for the hand-in.
                    if let Some(joined) = &self.lab.workshop {
                        joined.keep(&receipt);
                    }
                    // Said aloud too: a run can take a while, and the grade appears far from
                    // the button that started it.
                    crate::navigation::announce(&format!("{}: {}", exercise.title, grade.message));
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
                // Loads, and the answers to a kind's own requests (curves, galleries, scores),
                // which go to the kind's component, not to the shell.
                _ => {}
            },
        }
        true
    }

    fn destroy(&mut self, _ctx: &Context<Self>) {
        if let Running::Busy { job } = self.running {
            self.lab.worker.send(Request::Stop { job });
            self.lab.worker.forget(job);
        }
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let exercise = &ctx.props().exercise;
        let id = &exercise.id;
        let link = ctx.link();
        let record = self.lab.progress().record(id);
        let busy = matches!(self.running, Running::Busy { .. });
        // What a workshop changes: hints or solutions off, runs closed after its window, the
        // learner's own instance and stricter thresholds (said above the exercise).
        let workshop = self.lab.workshop.as_deref();
        let hints_on = workshop.is_none_or(|j| j.workshop.hints);
        let solutions_on = workshop.is_none_or(|j| j.workshop.solutions);
        let closed = workshop.is_some_and(|j| j.window() == mlsec_core::workshop::Window::Closed);
        let workshop_note = workshop.map(|j| {
            let stricter: Vec<String> = j
                .workshop
                .thresholds
                .get(id)
                .map(|keys| keys.iter().map(|(k, v)| format!("{k} = {v}")).collect())
                .unwrap_or_default();
            let instance = exercise.instance.as_ref().map(|i| i.index).unwrap_or(0);
            let variants = exercise.task.variants();
            let mut note = if variants > 1 {
                format!("Your own instance of this exercise (variant {} of {variants}), made from your name.", instance + 1)
            } else {
                "This exercise is the same for everyone in the workshop.".to_string()
            };
            if !stricter.is_empty() {
                note.push_str(&format!(" This workshop asks for more than the goal says: {}.", stricter.join(", ")));
            }
            note
        });
        let inputs = exercise.task.fields().into_iter().map(|f| {
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
        let (reports, epochs) = (&self.run.reports, self.run.epochs);
        let progress = if busy && epochs > 0 {
            html! {
                <p class="running">
                    <progress max={epochs.to_string()} value={reports.len().to_string()} data-testid={format!("{id}-progress")} />
                    { format!(" epoch {} of {epochs}", reports.len()) }
                    if let Some(last) = reports.last() { { format!(" · test accuracy {:.1}%", last.test_accuracy * 100.0) } }
                </p>
            }
        } else if let (true, Some((done, total, label))) = (busy, &self.steps) {
            html! {
                <p class="running" data-testid={format!("{id}-measuring")}>
                    <progress max={total.to_string()} value={done.to_string()} data-testid={format!("{id}-progress")} />
                    { format!(" measuring {label} ({} of {total})", done + 1) }
                </p>
            }
        } else if busy && self.run.search_steps > 0 {
            let (done, total) = (self.run.searched.len(), self.run.search_steps);
            let figures = self.run.searched.last().map(|f| {
                f.iter()
                    .map(|(name, v)| format!(" · {name} {v:.3}"))
                    .collect::<String>()
            });
            html! {
                <p class="running" data-testid={format!("{id}-searching")}>
                    <progress max={total.to_string()} value={done.to_string()} data-testid={format!("{id}-progress")} />
                    { format!(" step {done} of {total}{}", figures.unwrap_or_default()) }
                </p>
            }
        } else if busy {
            html! { <p class="running" data-testid={format!("{id}-progress")}>{ "Running in the background…" }</p> }
        } else {
            html! {}
        };
        let trains = exercise.task.trains();
        // Where each kind's component puts them: after its editor, before its results.
        let shell_controls = html! {
            <>
                <div class="fields">{ for inputs }</div>
                <div class="actions">
                    <button class="primary" onclick={link.callback(|_| Msg::Run)} disabled={busy || closed} data-testid={format!("{id}-run")}>
                        { if trains { "Train and grade" } else { "Run and grade" } }
                    </button>
                    // A training run grades the model so far, a search the best it found; a
                    // measurement in parts (the worker reports them) is abandoned between two
                    // parts.
                    if busy && (trains || self.steps.is_some() || self.run.search_steps > 0) {
                        <button onclick={link.callback(|_| Msg::Stop)} disabled={self.stopping} data-testid={format!("{id}-stop")}>{ "Stop" }</button>
                    }
                    if solutions_on {
                        <button onclick={link.callback(|_| Msg::UseSolution)} disabled={busy} data-testid={format!("{id}-use-solution")}
                                title="Fills in the reference settings; counts as viewing the solution">{ "Use reference settings" }</button>
                    }
                </div>
                if closed { <p class="info">{ "This workshop has closed: runs are over, and you can still hand in what you did." }</p> }
                { progress }
                if let Some(e) = &self.error { <p class="error" role="alert" data-testid={format!("{id}-error")}>{ e }</p> }
            </>
        };
        let hints_shown = if hints_on {
            (record.hints_opened as usize).min(exercise.hints.len())
        } else {
            0
        };
        let solution_open = record.solution_viewed || record.passed;
        html! {
            <section class="exercise" data-testid={format!("exercise-{id}")}>
                <h2>{ "Exercise: " }{ &exercise.title }
                    if record.passed { <span class="badge passed">{ "passed" }</span> }
                </h2>
                <p class="goal">{ &exercise.goal }</p>
                <PredictBox exercise={exercise.clone()} />
                if let Some(note) = workshop_note { <p class="info" data-testid={format!("{id}-workshop-note")}>{ note }</p> }
                { kinds::view(KindProps {
                    exercise: exercise.clone(),
                    settings: self.settings.clone(),
                    on_edit: link.callback(Msg::Edit),
                    busy,
                    run: self.run.clone(),
                    on_error: link.callback(Msg::KindError),
                    children: shell_controls,
                }) }
                if let Some(g) = &self.grade {
                    <div class={classes!("grade", if g.passed { "pass" } else { "fail" })} data-testid={format!("{id}-grade")}>
                        <p>{ &g.message }</p>
                        if let Some(p) = record.prediction.as_ref().filter(|p| p.actual.is_some()) {
                            <p class="prediction" data-testid={format!("{id}-prediction-result")}>{ p.describe() }</p>
                        }
                        <button onclick={link.callback(|_| Msg::SaveReceipt)} data-testid={format!("{id}-receipt")}>{ "Save receipt" }</button>
                    </div>
                }
                // Where the pass happened, not only on the home page: a full or unavailable
                // store keeps this visit's progress in memory only.
                if let Some(notice) = self.lab.book.borrow().notice.clone() {
                    <p class="warning" role="status" data-testid={format!("{id}-storage-notice")}>{ notice }</p>
                }
                if !hints_on { <p class="meta">{ "Hints are off in this workshop." }</p> }
                <div class="hints">
                    { for exercise.hints.iter().take(hints_shown).enumerate().map(|(n, h)| html! {
                        <p class="hint" data-testid={format!("{id}-hint-{}", n + 1)}><strong>{ format!("Hint {}: ", n + 1) }</strong>{ h }</p>
                    }) }
                    if hints_on && hints_shown < exercise.hints.len() {
                        <button onclick={link.callback(|_| Msg::ShowHint)} data-testid={format!("{id}-show-hint")}>
                            { format!("Show hint {} of {}", hints_shown + 1, exercise.hints.len()) }
                        </button>
                    }
                </div>
                if !solutions_on {
                    <p class="meta">{ "Reference solutions are off in this workshop." }</p>
                } else if solution_open {
                    <details class="solution" open={record.passed}>
                        <summary>{ "Reference solution" }</summary>
                        <pre>{ serde_json::to_string_pretty(&exercise.task.solution()).unwrap_or_default() }</pre>
                        { Html::from_html_unchecked(AttrValue::from(self.lab.loaded.solution_notes(&exercise.id).to_string())) }
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
