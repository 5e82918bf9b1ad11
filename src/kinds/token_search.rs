//! Track E's token search view: the deployment and the fixed document (in the first graded
//! conversation) that the suffix is appended to; the shell's number fields and Run/Stop; the
//! search's loss and the detector's score per step, drawn as the worker reports them, with the
//! data table behind the chart; after the grade, the suffix found and the conversations.

use super::prompt_injection::chat_view;
use super::KindProps;
use crate::plot;
use mlsec_core::chart::{ChartData, Format, Shape};
use mlsec_core::exercise::Details;
use mlsec_core::injection::{self, Channel};
use mlsec_core::kinds::token_search::{BEST_LOSS, DETECTOR_SCORE, LOSS};
use mlsec_core::kinds::Task;
use web_sys::HtmlCanvasElement;
use yew::prelude::*;

/// One figure of a step, by name.
fn figure(step: &[(String, f32)], name: &str) -> Option<f32> {
    step.iter().find(|(n, _)| n == name).map(|&(_, v)| v)
}

#[function_component(View)]
pub fn view(props: &KindProps) -> Html {
    let canvas = use_node_ref();
    let threshold = match &props.exercise.task {
        Task::TokenSearch(posed) => posed.task.defences.detector.as_ref().map(|d| d.threshold),
        _ => None,
    };
    {
        let canvas = canvas.clone();
        use_effect_with(props.run.clone(), move |run| {
            if let Some(c) = canvas.cast::<HtmlCanvasElement>() {
                let points: Vec<(f32, Option<f32>)> = run
                    .searched
                    .iter()
                    .filter_map(|s| Some((figure(s, LOSS)?, figure(s, DETECTOR_SCORE))))
                    .collect();
                plot::search_curves(c, &points, run.search_steps.max(1), threshold);
            }
        });
    }
    let Task::TokenSearch(posed) = &props.exercise.task else {
        return html! {};
    };
    let task = &posed.task;
    let id = &props.exercise.id;
    let first = injection::scenarios(Channel::Data, task.seed, 1);
    let mut layers = vec!["the plain assistant"];
    if task.defences.model == mlsec_assistant::Variant::Structured {
        layers[0] = "the structured (StruQ-style) assistant";
    }
    if task.defences.harden_prompt {
        layers.push("prompt hardening");
    }
    if task.defences.delimit_data {
        layers.push("delimiting");
    }
    if task.defences.detector.is_some() {
        layers.push("the input detector");
    }
    let run = &props.run;
    let figures = |name: &'static str| {
        run.searched
            .iter()
            .map(move |s| figure(s, name).map(f64::from))
    };
    let mut data = ChartData::new(
        "The token search's loss and the input detector's score per step",
        Shape::Progress { unit: "step" },
        "step",
    )
    .with_x((1..=run.searched.len()).map(|n| n.to_string()))
    .with_series("search loss", figures(LOSS), Format::Fixed(3))
    .with_series(BEST_LOSS, figures(BEST_LOSS), Format::Fixed(3));
    if threshold.is_some() {
        data = data.with_series(DETECTOR_SCORE, figures(DETECTOR_SCORE), Format::Fixed(3));
    }
    if let Some(t) = threshold {
        data = data.with_note(format!("The detector flags a score above {t}."));
    }
    let (found, conversations) = match &run.details {
        Details::Conversations(c) if !c.is_empty() => {
            let text = c[0].data.clone();
            let suffix = text.strip_prefix(&task.text).unwrap_or(&text).to_string();
            (
                html! {
                    <p class="found" data-testid={format!("{id}-suffix")}>
                        { "Suffix found: " }<code>{ suffix }</code>
                    </p>
                },
                chat_view(id, &task.graded(), &text, c),
            )
        }
        _ => (html! {}, html! {}),
    };
    html! {
        <>
            <div class="chat editor">
                <p class="note">{ format!(
                    "The deployment: {}. The search appends a suffix to the document below and optimises it on {} conversations of its own; the grade runs the document with the suffix through {} others (the first is below).",
                    layers.join(", "), task.search_scenarios, task.scenarios) }</p>
                if let Some(e) = first.first() {
                    <div class="turn sys"><span class="who">{ "system" }</span><pre>{ &e.system }</pre></div>
                    <div class="turn user"><span class="who">{ "user" }</span><pre>{ &e.user }</pre></div>
                }
                <div class="turn data"><span class="who">{ "data (you)" }</span>
                    <pre data-testid={format!("{id}-document")}>{ &task.text }<span class="suffix">{ " + the suffix" }</span></pre>
                </div>
                <p class="note">{ format!("The reply the search aims at: {}", task.target.replace("{code}", "<the conversation's code>")) }</p>
            </div>
            { props.children.clone() }
            { plot::figure(&canvas, (560, 240), &data,
                "Solid orange line: the search's loss (left axis). Dashed blue line: the detector's score of the document with the suffix (right axis); the grey line is its threshold.",
                &format!("{id}-chart")) }
            { found }
            { conversations }
        </>
    }
}
