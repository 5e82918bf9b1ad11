//! The instructor's class view and the single-receipt checker. The class view takes the class's
//! hand-in files (and the workshop file, or comes from the workshop's link), lets the core sort
//! them out ([`Class::gather`]), and has the receipts re-graded by a pool of workers, one per
//! core, each distinct receipt once. It never trusts a stored verdict. It shows the learner ×
//! exercise table, pass rates and figures as charts with their data tables, the look-alike
//! artefacts, the files it did not use, and exports CSV.

use crate::app::{download, Lab};
use crate::plot;
use crate::worker::WorkerHandle;
use mlsec_core::chart::{ChartData, Format, Shape};
use mlsec_core::class::{Class, ExerciseSummary, Mark, Outcome, Problem, Similar};
use mlsec_core::course::Lesson;
use mlsec_core::grade::Unit;
use mlsec_core::receipt::Receipt;
use mlsec_core::session::{Request, Response};
use mlsec_core::workshop::{handin_too_large, standalone, Workshop};
use std::collections::VecDeque;
use std::rc::Rc;
use web_sys::HtmlInputElement;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct ClassProps {
    /// The workshop's link, when the view is opened from it.
    #[prop_or_default]
    pub link: Option<String>,
}

pub enum Msg {
    Chosen(Vec<web_sys::File>),
    Read(Vec<(String, String)>, Vec<Problem>),
    Graded {
        worker: usize,
        job: usize,
        outcome: Outcome,
    },
    Code(String),
    Csv,
    LabChanged(Lab),
}

pub struct ClassView {
    lab: Lab,
    _lab_listener: ContextHandle<Lab>,
    lessons: Rc<Vec<Lesson>>,
    workshop: Option<Result<Workshop, String>>,
    reading: bool,
    class: Option<Rc<Class>>,
    /// The class's look-alike artefacts: they depend on the hand-ins only, so they are found
    /// once, not on every render while the re-grade runs.
    similar: Rc<Vec<Similar>>,
    outcomes: Vec<Option<Outcome>>,
    error: Option<String>,
    pool: Vec<Rc<WorkerHandle>>,
    queue: VecDeque<usize>,
    started: f64,
    elapsed_ms: Option<f64>,
    code: String,
    rates_canvas: NodeRef,
    strips: Vec<NodeRef>,
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// The share of an exercise's hand-ins that passed (none handed in: 0).
fn pass_rate(s: &ExerciseSummary) -> f64 {
    if s.handed_in == 0 {
        0.0
    } else {
        f64::from(s.passed) / f64::from(s.handed_in)
    }
}

/// How a chart's table writes a figure of `unit` (as [`figure_text`] does).
fn chart_format(unit: Unit) -> Format {
    match unit {
        Unit::Percent => Format::Percent(1),
        Unit::Count => Format::Count,
        Unit::Real => Format::Fixed(2),
    }
}

fn figure_text(value: f64, unit: Unit) -> String {
    match unit {
        Unit::Percent => pct(value),
        Unit::Count => format!("{value:.0}"),
        Unit::Real if value >= mlsec_core::grade::INFINITE => "∞".into(),
        Unit::Real => format!("{value:.2}"),
    }
}

impl ClassView {
    /// Hands the next receipt to worker `w`, if any is waiting.
    fn feed(&mut self, ctx: &Context<Self>, w: usize) {
        let (Some(class), Some(next)) = (self.class.clone(), self.queue.pop_front()) else {
            return;
        };
        let link = ctx.link().clone();
        let graded = &class.jobs[next];
        regrade(
            &self.pool[w],
            graded.exercise.clone(),
            graded.receipt.clone(),
            move |outcome| {
                link.send_message(Msg::Graded {
                    worker: w,
                    job: next,
                    outcome,
                })
            },
        );
    }

    fn start(&mut self, ctx: &Context<Self>, class: Class) {
        let jobs = class.jobs.len();
        self.outcomes = vec![None; jobs];
        self.queue = (0..jobs).collect();
        self.similar = Rc::new(class.similar());
        self.class = Some(Rc::new(class));
        self.started = js_sys::Date::now();
        self.elapsed_ms = None;
        // One worker per core (each loads its own copy of the data and models), never more
        // than there are receipts.
        let cores = web_sys::window()
            .map(|w| w.navigator().hardware_concurrency() as usize)
            .unwrap_or(2)
            .clamp(1, 8);
        while self.pool.len() < cores.min(jobs) {
            self.pool.push(WorkerHandle::new());
        }
        for w in 0..self.pool.len().min(jobs) {
            self.feed(ctx, w);
        }
        if jobs == 0 {
            self.elapsed_ms = Some(0.0);
        }
    }

    fn summary(&self) -> Vec<ExerciseSummary> {
        self.class
            .as_ref()
            .map(|c| c.summary(&self.lessons, &self.outcomes))
            .unwrap_or_default()
    }
}

impl Component for ClassView {
    type Message = Msg;
    type Properties = ClassProps;

    fn create(ctx: &Context<Self>) -> Self {
        let (lab, listener) = ctx
            .link()
            .context::<Lab>(ctx.link().callback(Msg::LabChanged))
            .expect("lab context");
        let lessons = Rc::new(lab.loaded.ready());
        let workshop = ctx.props().link.as_ref().map(|l| Workshop::from_link(l));
        ClassView {
            lab,
            _lab_listener: listener,
            lessons,
            workshop,
            reading: false,
            class: None,
            similar: Rc::default(),
            outcomes: vec![],
            error: None,
            pool: vec![],
            queue: VecDeque::new(),
            started: 0.0,
            elapsed_ms: None,
            code: String::new(),
            rates_canvas: NodeRef::default(),
            strips: vec![],
        }
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        match msg {
            Msg::LabChanged(lab) => self.lab = lab,
            Msg::Chosen(files) => {
                self.reading = true;
                self.error = None;
                let link = ctx.link().clone();
                wasm_bindgen_futures::spawn_local(async move {
                    let (mut read, mut unread) = (vec![], vec![]);
                    for file in files {
                        let name = file.name();
                        // A 50 MB file is refused by its size, never read.
                        if let Some(why) = handin_too_large(file.size() as u64) {
                            unread.push(Problem {
                                file: name,
                                message: why,
                            });
                            continue;
                        }
                        match gloo::file::futures::read_as_text(&gloo::file::File::from(file)).await
                        {
                            Ok(text) => read.push((name, text)),
                            Err(e) => unread.push(Problem {
                                file: name,
                                message: format!("cannot be read as text ({e})"),
                            }),
                        }
                    }
                    link.send_message(Msg::Read(read, unread));
                });
            }
            Msg::Read(files, unread) => {
                self.reading = false;
                let given = self.workshop.clone().and_then(Result::ok);
                match Class::gather(given, &files, &self.lessons) {
                    Ok(mut class) => {
                        class.problems.extend(unread);
                        self.strips = class
                            .exercises(&self.lessons)
                            .iter()
                            .map(|_| NodeRef::default())
                            .collect();
                        self.start(ctx, class);
                    }
                    Err(e) => {
                        let names: Vec<String> = unread
                            .iter()
                            .map(|p| format!("{}: {}", p.file, p.message))
                            .collect();
                        self.error = Some(if names.is_empty() {
                            e
                        } else {
                            format!("{e} ({})", names.join("; "))
                        });
                    }
                }
            }
            Msg::Graded {
                worker,
                job,
                outcome,
            } => {
                if let Some(slot) = self.outcomes.get_mut(job) {
                    *slot = Some(outcome);
                }
                if self.outcomes.iter().all(Option::is_some) && self.elapsed_ms.is_none() {
                    self.elapsed_ms = Some(js_sys::Date::now() - self.started);
                }
                self.feed(ctx, worker);
            }
            Msg::Code(code) => self.code = code,
            Msg::Csv => {
                if let Some(class) = &self.class {
                    download(
                        &format!("class-{}.csv", class.workshop.id()),
                        &class.csv(&self.lessons, &self.outcomes),
                    );
                }
            }
        }
        true
    }

    fn rendered(&mut self, _ctx: &Context<Self>, _first: bool) {
        // Drawn once the re-grade is done: redrawing every chart on each graded receipt would
        // keep the page's thread busy for nothing.
        if self.elapsed_ms.is_none() {
            return;
        }
        let summary = self.summary();
        if let Some(canvas) = self.rates_canvas.cast::<web_sys::HtmlCanvasElement>() {
            let rates: Vec<f64> = summary.iter().map(pass_rate).collect();
            plot::pass_rates(canvas, &rates);
        }
        for (s, node) in summary.iter().zip(&self.strips) {
            if let (Some(canvas), Some((label, _, threshold))) =
                (node.cast::<web_sys::HtmlCanvasElement>(), &s.figure)
            {
                let values: Vec<f64> = s.values.iter().map(|(_, v)| *v).collect();
                plot::figure_strip(canvas, &values, *threshold, label);
            }
        }
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let onchange = link.batch_callback(|e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let files = input.files()?;
            let list: Vec<web_sys::File> =
                (0..files.length()).filter_map(|i| files.get(i)).collect();
            input.set_value("");
            Some(Msg::Chosen(list))
        });
        let workshop_line = match &self.workshop {
            None => {
                html! { <p>{ "Drop in every hand-in file of the class, and the workshop file if you have it (otherwise the workshop most hand-ins name is used)." }</p> }
            }
            Some(Ok(w)) => {
                html! { <p>{ "Workshop: " }<strong>{ &w.title }</strong>{ format!(" (id {}). Drop in the class's hand-in files.", w.id()) }</p> }
            }
            Some(Err(e)) => {
                html! { <p class="error" role="alert">{ format!("The workshop link cannot be read: {e}. Drop in the workshop file with the hand-ins instead.") }</p> }
            }
        };
        html! {
            <section class="class-view" data-testid="class-view">
                <h1>{ "Class view" }</h1>
                { workshop_line }
                <label class="button dropzone">{ "Choose or drop hand-in files… " }
                    <input type="file" multiple=true accept=".json,application/json" {onchange} data-testid="class-files" />
                </label>
                if self.reading { <p class="running">{ "Reading the files…" }</p> }
                if let Some(e) = &self.error { <p class="error" role="alert" data-testid="class-error">{ e }</p> }
                if let Some(class) = &self.class { { self.report(ctx, class) } }
            </section>
        }
    }
}

impl ClassView {
    fn report(&self, ctx: &Context<Self>, class: &Class) -> Html {
        let link = ctx.link();
        let done = self.outcomes.iter().filter(|o| o.is_some()).count();
        let total = self.outcomes.len();
        let receipts: usize = class.learners.iter().map(|l| l.cells.len()).sum();
        let exercises = class.exercises(&self.lessons);
        let summary = self.summary();
        let rates_data = ChartData::new(
            "Share of hand-ins passed per exercise",
            Shape::Bars,
            "exercise",
        )
        .with_x(summary.iter().map(|s| s.title.clone()))
        .with_series(
            "passed",
            summary.iter().map(|s| Some(pass_rate(s))),
            Format::Percent(1),
        );
        let similar = &self.similar;
        // Numbered columns (the pass-rate table below names them), so 15 exercises fit.
        let head = exercises.iter().enumerate().map(|(i, (_, title))| {
            html! {
                <th scope="col"><abbr title={title.to_string()}>{ i + 1 }</abbr></th>
            }
        });
        let rows = class.learners.iter().map(|l| {
            let cells = exercises.iter().map(|(id, _)| match l.cells.get(*id) {
                None => html! { <td class="none">{ "—" }</td> },
                Some(cell) => match &class.outcome(cell, &self.outcomes) {
                    None => html! { <td class="waiting">{ "…" }</td> },
                    Some(o) => {
                        let figure = o.figure.as_ref().map(|f| figure_text(f.value, f.unit)).unwrap_or_default();
                        let copied = similar.iter().any(|s| s.suspicious() && s.exercise == *id && s.learners.contains(&l.name));
                        html! {
                            <td class={classes!(o.verdict.word(), copied.then_some("copied"))} title={o.message.clone()}
                                data-testid={format!("cell-{}-{id}", l.name)}>
                                <strong>{ o.verdict.word() }</strong>{ " " }{ figure }
                                if o.verdict == Mark::Pass { <br /><code>{ &cell.code }</code> }
                                if copied { <br /><span class="flag">{ "⚑ look-alike" }</span> }
                            </td>
                        }
                    }
                },
            });
            html! { <tr><th scope="row" title={format!("from {}", l.file)}>{ &l.name }</th>{ for cells }</tr> }
        });
        let found = (!self.code.trim().is_empty()).then(|| match class.find_code(&self.code) {
            Some((learner, id, cell)) => {
                let outcome = class.outcome(cell, &self.outcomes);
                let state = outcome
                    .as_ref()
                    .map_or("not re-graded yet", |o| o.verdict.word());
                format!(
                    "{} is {learner}'s code for '{id}'; that receipt re-graded as: {state}.",
                    self.code.trim()
                )
            }
            None => format!("No hand-in here has the code {}.", self.code.trim()),
        });
        let oncode = link.callback(|e: InputEvent| {
            let input: HtmlInputElement = e.target_unchecked_into();
            Msg::Code(input.value())
        });
        html! {
            <>
                <p data-testid="class-summary">{ format!(
                    "{} hand-ins, {receipts} receipts, {total} gradings (an identical artefact for an identical task is graded once; a receipt made for another learner's instance is forged without one).",
                    class.learners.len()
                ) }</p>
                <p class="running" role="status" aria-live="polite">
                    <progress max={total.max(1).to_string()} value={done.to_string()} data-testid="class-progress" />
                    { format!(" re-graded {done} of {total}") }
                    if let Some(ms) = self.elapsed_ms { <span data-testid="class-done">{ format!(" · done in {:.1} s on {} workers", ms / 1000.0, self.pool.len()) }</span> }
                </p>
                <div class="table-wrap">
                    <table class="class-table" data-testid="class-table">
                        <thead><tr><th scope="col">{ "Learner" }</th>{ for head }</tr></thead>
                        <tbody>{ for rows }</tbody>
                    </table>
                </div>
                <button onclick={link.callback(|_| Msg::Csv)} disabled={done < total} data-testid="class-csv">{ "Download CSV" }</button>
                <label class="field">{ "Check a completion code" }
                    <input type="text" value={self.code.clone()} oninput={oncode} data-testid="class-code" />
                </label>
                if let Some(f) = found { <p data-testid="class-code-result">{ f }</p> }
                if similar.iter().any(|s| s.suspicious()) {
                    <section class="warning" data-testid="class-similar">
                        <h2>{ "Look-alike artefacts" }</h2>
                        <ul>{ for similar.iter().filter(|s| s.suspicious()).map(|s| html! { <li>{ format!("{}: {}: {}", s.exercise, s.names(), s.how) }</li> }) }</ul>
                    </section>
                }
                if similar.iter().any(|s| !s.suspicious()) {
                    <details data-testid="class-lesson-settings">
                        <summary>{ "Identical artefacts from the lesson's own settings (expected: the reference or the starter, run as is)" }</summary>
                        <ul>{ for similar.iter().filter(|s| !s.suspicious()).map(|s| html! { <li>{ format!("{}: {}: {}", s.exercise, s.names(), s.how) }</li> }) }</ul>
                    </details>
                }
                if !class.problems.is_empty() {
                    <section class="warning" data-testid="class-problems">
                        <h2>{ "Not used" }</h2>
                        <ul>{ for class.problems.iter().map(|p| html! { <li><strong>{ &p.file }</strong>{ ": " }{ &p.message }</li> }) }</ul>
                    </section>
                }
                <h2>{ "Pass rates" }</h2>
                if self.elapsed_ms.is_none() { <p class="meta">{ "The charts are drawn once every receipt is re-graded; the tables fill in as they are." }</p> }
                { plot::figure_beside_table(&self.rates_canvas, (640, 240), &rates_data,
                    "Bars numbered as in the table below.", "class-rates-chart") }
                <table data-testid="class-rates">
                    <thead><tr><th scope="col">{ "#" }</th><th scope="col">{ "Exercise" }</th><th scope="col">{ "Handed in" }</th><th scope="col">{ "Passed" }</th></tr></thead>
                    <tbody>{ for summary.iter().enumerate().map(|(i, s)| html! {
                        <tr><td>{ i + 1 }</td><td>{ &s.title }</td><td>{ s.handed_in }</td><td>{ s.passed }</td></tr>
                    }) }</tbody>
                </table>
                <h2>{ "Figures" }</h2>
                { for summary.iter().zip(&self.strips).filter(|(s, _)| s.figure.is_some()).map(|(s, node)| {
                    let (label, unit, threshold) = s.figure.clone().expect("filtered");
                    let real = |v: f64| if v >= mlsec_core::grade::INFINITE { f64::INFINITY } else { v };
                    let data = ChartData::new(format!("{label} of each learner"), Shape::Bars, "learner")
                        .with_x(s.values.iter().map(|(n, _)| n.clone()))
                        .with_series(label.clone(), s.values.iter().map(|(_, v)| Some(real(*v))), chart_format(unit))
                        .with_note(format!("The threshold is {}.", figure_text(threshold, unit)));
                    html! {
                        <section class="figure-strip">
                            <h3>{ &s.title }</h3>
                            { plot::figure(node, (640, 200), &data,
                                "A blue dot per learner, in rank order. Orange line: the threshold.",
                                &format!("class-strip-{}", s.id)) }
                        </section>
                    }
                }) }
            </>
        }
    }
}

/// Has `worker` re-grade `receipt` as `exercise`, and hands the outcome to `done` (a worker that
/// fails to answer is an invalid receipt, with the reason).
fn regrade(
    worker: &Rc<WorkerHandle>,
    exercise: mlsec_core::exercise::Exercise,
    receipt: Receipt,
    done: impl Fn(Outcome) + 'static,
) {
    let number = Rc::new(std::cell::Cell::new(0u32));
    let (seen, forget) = (number.clone(), worker.clone());
    let job = worker.job(Callback::from(move |response: Response| {
        let outcome = match response {
            Response::Regraded { outcome, .. } => outcome,
            Response::Failed { message, .. } => Outcome {
                verdict: Mark::Invalid,
                figure: None,
                message,
            },
            _ => return,
        };
        forget.forget(seen.get());
        done(outcome);
    }));
    number.set(job);
    worker.send(Request::Regrade {
        job,
        exercise: Box::new(exercise),
        receipt: Box::new(receipt),
    });
}

/// Re-grades one receipt file in the browser, as `mlsec grade` does natively.
#[function_component(ReceiptCheck)]
pub fn receipt_check() -> Html {
    let lab = use_context::<Lab>().expect("lab context");
    let verdict = use_state(|| None::<Result<(String, Outcome), String>>);
    let onchange = {
        let (lab, verdict) = (lab.clone(), verdict.clone());
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let Some(file) = input.files().and_then(|f| f.get(0)) else {
                return;
            };
            input.set_value("");
            if file.size() > mlsec_core::receipt::MAX_RECEIPT_BYTES as f64 {
                verdict.set(Some(Err(format!(
                    "{}: far too large for a receipt; it was not read",
                    file.name()
                ))));
                return;
            }
            let (lab, verdict) = (lab.clone(), verdict.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let name = file.name();
                let text = match gloo::file::futures::read_as_text(&gloo::file::File::from(file))
                    .await
                {
                    Ok(t) => t,
                    Err(e) => {
                        return verdict.set(Some(Err(format!("{name} could not be read ({e})"))))
                    }
                };
                let receipt = match Receipt::parse(&text) {
                    Ok(r) => r,
                    Err(e) => return verdict.set(Some(Err(format!("{name}: {e}")))),
                };
                let Some(base) = lab
                    .loaded
                    .ready_lessons()
                    .flat_map(|l| &l.exercises)
                    .find(|e| e.id == receipt.exercise_id)
                else {
                    return verdict.set(Some(Err(format!(
                        "{name}: this lab has no exercise '{}'",
                        receipt.exercise_id
                    ))));
                };
                let exercise = standalone(base, &receipt);
                let about = match &receipt.variant {
                    Some(i) => format!(
                        "{name}: '{}', made in workshop {} by {} and re-graded in their instance at the lesson's thresholds (a workshop may ask for more).",
                        base.title, i.workshop, i.learner
                    ),
                    None => format!("{name}: '{}'.", base.title),
                };
                let verdict = verdict.clone();
                regrade(&lab.worker, exercise, receipt, move |outcome| {
                    verdict.set(Some(Ok((about.clone(), outcome))))
                });
            });
        })
    };
    html! {
        <section class="receipt-check" data-testid="receipt-check">
            <h1>{ "Check a receipt" }</h1>
            <p>{ "Open a receipt file: this lab re-grades its artefact from scratch, as `mlsec grade` does, and never trusts the verdict written in it." }</p>
            <label class="button">{ "Open a receipt… " }
                <input type="file" accept=".json,application/json" {onchange} data-testid="receipt-file" />
            </label>
            {
                match &*verdict {
                    None => html! {},
                    Some(Err(e)) => html! { <p class="error" role="alert" data-testid="receipt-verdict">{ e }</p> },
                    Some(Ok((about, o))) => html! {
                        <div class={classes!("grade", if o.verdict == Mark::Pass { "pass" } else { "fail" })} role="status" data-testid="receipt-verdict">
                            <p>{ about }</p>
                            <p><strong>{ o.verdict.word().to_uppercase() }</strong>{ ": " }{ &o.message }</p>
                        </div>
                    },
                }
            }
        </section>
    }
}
