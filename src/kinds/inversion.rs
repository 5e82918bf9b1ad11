//! Track C's inversion view: the start image beside the shell's number fields; after a run, the
//! 10 reconstructions forming step by step (the worker replays the run and sends snapshots) over
//! the class averages they should resemble, and what the target and the independent evaluator
//! make of each.

use super::{ask, KindProps};
use crate::app::Lab;
use crate::plot;
use gloo::timers::callback::Interval;
use mlsec_core::exercise::{Details, Settings};
use mlsec_core::inversion::{Frame, StartImage};
use mlsec_core::kinds::inversion::InversionReport;
use mlsec_core::session::{Request, Response};
use std::cell::Cell;
use std::rc::Rc;
use web_sys::{HtmlCanvasElement, HtmlSelectElement};
use yew::prelude::*;

#[function_component(View)]
pub fn view(props: &KindProps) -> Html {
    let lab = use_context::<Lab>().expect("lab context");
    let Settings::Inversion(settings) = &props.settings else {
        return html! {};
    };
    let id = props.exercise.id.clone();
    let frames = use_state(Vec::<Frame>::new);
    let shown = use_state(|| 0usize);
    let report = match &props.run.details {
        Details::Inversion(r) => Some(r.clone()),
        _ => None,
    };
    // After each graded run, the worker replays it and sends its snapshots.
    {
        let (lab, frames, on_error) = (lab.clone(), frames.clone(), props.on_error.clone());
        let ran = match (&report, &props.run.settings) {
            (Some(_), Some(Settings::Inversion(s))) => Some(s.clone()),
            _ => None,
        };
        use_effect_with(ran, move |ran| {
            let job = ran.clone().map(|settings| {
                let answer = Callback::from(move |response| match response {
                    Response::InversionFrames { frames: f, .. } => frames.set(f),
                    Response::Failed { message, .. } => on_error.emit(message),
                    _ => {}
                });
                let settings = Box::new(settings);
                ask(
                    &lab,
                    |job| Request::InversionFrames { job, settings },
                    answer,
                )
            });
            let worker = lab.worker.clone();
            move || {
                if let Some(job) = job {
                    worker.forget(job)
                }
            }
        });
    }
    // Play the snapshots once, a few per second; when the learner asks for reduced motion, show
    // the last frame at once (it is what is graded; the table lists every step).
    {
        let shown = shown.clone();
        use_effect_with(frames.len(), move |&count| {
            if crate::navigation::prefers_reduced_motion() {
                shown.set(count.saturating_sub(1));
                return Box::new(|| ()) as Box<dyn FnOnce()>;
            }
            shown.set(0);
            let next = Rc::new(Cell::new(0usize));
            let interval = (count > 1).then(|| {
                Interval::new(200, move || {
                    let n = (next.get() + 1).min(count - 1);
                    next.set(n);
                    shown.set(n);
                })
            });
            Box::new(move || drop(interval))
        });
    }
    let strip = use_node_ref();
    {
        let strip = strip.clone();
        let frame = frames.get(*shown).cloned();
        use_effect_with((frame, report.clone()), move |(frame, report)| {
            if let (Some(c), Some(r)) = (strip.cast::<HtmlCanvasElement>(), report) {
                let images = frame.as_ref().map_or(&r.images, |f| &f.images);
                let mut tiles: Vec<(&[f32], bool)> =
                    images.chunks(64).map(|i| (i, false)).collect();
                tiles.extend(r.class_means.chunks(64).map(|i| (i, false)));
                plot::thumbnails(&c, &tiles, 10);
            }
        });
    }
    let onchange = {
        let (settings, on_edit) = (settings.clone(), props.on_edit.clone());
        Callback::from(move |e: Event| {
            let select: HtmlSelectElement = e.target_unchecked_into();
            let mut settings = settings.clone();
            settings.start = match select.value().as_str() {
                "zeros" => StartImage::Zeros,
                "noise" => StartImage::Noise,
                "average" => StartImage::Average,
                _ => StartImage::Grey,
            };
            on_edit.emit(Settings::Inversion(settings));
        })
    };
    let start = settings.start;
    let step_note = frames
        .get(*shown)
        .map(|f| format!("step {} of {}", f.step, frames.last().map_or(0, |l| l.step)));
    html! {
        <>
            <div class="fields">
                <label class="field">{ "Start image" }
                    <select {onchange} disabled={props.busy} data-testid={format!("{id}-start")}>
                        <option value="zeros" selected={start == StartImage::Zeros}>{ "black" }</option>
                        <option value="grey" selected={start == StartImage::Grey}>{ "grey (0.5)" }</option>
                        <option value="noise" selected={start == StartImage::Noise}>{ "random noise (seed)" }</option>
                        <option value="average" selected={start == StartImage::Average}>{ "the average digit (all classes)" }</option>
                    </select>
                </label>
            </div>
            { props.children.clone() }
            if let Some(r) = report {
                <div class="results">
                    <canvas ref={strip} class="gallery" width={(10.0 * plot::THUMB).to_string()} height={(2.0 * plot::THUMB).to_string()}
                            data-testid={format!("{id}-strip")}
                            aria-label="Top row: your reconstructions of the digits 0 to 9; bottom row: each digit's average training image"></canvas>
                    <p class="note" data-testid={format!("{id}-step")}>
                        { "Top: your reconstructions of 0–9" }
                        { step_note.map(|s| format!(" ({s})")).unwrap_or_default() }
                        { ". Bottom: each digit's average training image." }
                    </p>
                    <Table id={id.clone()} report={r} />
                </div>
            }
        </>
    }
}

#[derive(Properties, PartialEq)]
struct TableProps {
    id: String,
    report: InversionReport,
}

#[function_component(Table)]
fn table(props: &TableProps) -> Html {
    let percent = |v: f32| format!("{:.0}%", v * 100.0);
    let rows = props.report.reconstructions.iter().map(|r| html! {
        <tr>
            <td>{ r.class }</td>
            <td>{ percent(r.target_confidence) }</td>
            <td>{ if r.evaluator_label == r.class { format!("{} ✓", r.evaluator_label) } else { format!("{} ✗", r.evaluator_label) } }</td>
            <td>{ percent(r.evaluator_confidence) }</td>
            <td>{ format!("{:.2}", r.cosine) }</td>
        </tr>
    });
    html! {
        <table data-testid={format!("{}-table", props.id)}>
            <thead><tr>
                <th>{ "digit" }</th><th>{ "target's confidence" }</th><th>{ "evaluator reads" }</th>
                <th>{ "evaluator's confidence" }</th><th>{ "likeness to the average (cosine)" }</th>
            </tr></thead>
            <tbody>{ for rows }</tbody>
        </table>
    }
}
