//! Track B's spam-filter view: the trigger word, the messages added as ham (one per line, kept
//! exactly as typed), and the clean filter's strongest words each way (the worker trains the
//! exercise's recipe to list them); after a grade, both filters' bars, the trigger's weight in
//! each, and test spam with the poisoned filter's verdict without and with the trigger.

use super::{ask, KindProps};
use crate::app::Lab;
use crate::plot;
use mlsec_core::chart::{ChartData, Format, Shape};
use mlsec_core::exercise::{Details, Settings};
use mlsec_core::kinds::spam_backdoor::{FilterBars, FilterWords, SpamPoison, SpamReport};
use mlsec_core::kinds::Task;
use mlsec_core::session::{Request, Response};
use mlsec_core::spam::{words, WordWeight};
use web_sys::{HtmlCanvasElement, HtmlInputElement, HtmlTextAreaElement};
use yew::prelude::*;

#[function_component(View)]
pub fn view(props: &KindProps) -> Html {
    let lab = use_context::<Lab>().expect("lab context");
    let Task::SpamBackdoor(posed) = &props.exercise.task else {
        return html! {};
    };
    let (task, max_messages) = (posed.task.clone(), posed.task.max_messages);
    let poison = match &props.settings {
        Settings::SpamPoison(p) => p.clone(),
        _ => SpamPoison::default(),
    };
    // The clean filter's words once the worker answers, or why it could not.
    let filter_words = use_state(|| None::<Result<FilterWords, String>>);
    let id = props.exercise.id.clone();
    let busy = props.busy;

    // The clean filter's strongest words, asked of the worker once.
    {
        let (lab, filter_words) = (lab.clone(), filter_words.clone());
        use_effect_with((), move |_| {
            let answer = Callback::from(move |response| match response {
                Response::SpamWords { words, .. } => filter_words.set(Some(Ok(words))),
                Response::Failed { message, .. } => filter_words.set(Some(Err(message))),
                _ => {}
            });
            let task = Box::new(task);
            let job = ask(&lab, |job| Request::SpamWords { job, task }, answer);
            let worker = lab.worker.clone();
            move || worker.forget(job)
        });
    }

    let on_trigger = {
        let (on_edit, poison) = (props.on_edit.clone(), poison.clone());
        Callback::from(move |e: InputEvent| {
            let input: HtmlInputElement = e.target_unchecked_into();
            on_edit.emit(Settings::SpamPoison(SpamPoison {
                trigger: input.value(),
                messages: poison.messages.clone(),
            }));
        })
    };
    // Every line is kept, blank ones too, so the text area shows exactly what was typed or
    // pasted; a run takes the lines that are not blank (`settings_from`).
    let on_messages = {
        let (on_edit, poison) = (props.on_edit.clone(), poison.clone());
        Callback::from(move |e: InputEvent| {
            let area: HtmlTextAreaElement = e.target_unchecked_into();
            on_edit.emit(Settings::SpamPoison(SpamPoison {
                trigger: poison.trigger.clone(),
                messages: area.value().split('\n').map(str::to_string).collect(),
            }));
        })
    };
    let written: Vec<&String> = poison
        .messages
        .iter()
        .filter(|m| !m.trim().is_empty())
        .collect();
    let trigger = poison.trigger.trim().to_lowercase();
    let carrying = written
        .iter()
        .filter(|m| !trigger.is_empty() && words(m).contains(&trigger))
        .count();
    let word_list = |list: &[WordWeight]| {
        list.iter()
            .map(|w| format!("{} {:+.1}", w.word, w.weight))
            .collect::<Vec<_>>()
            .join(" · ")
    };
    let report = match &props.run.details {
        Details::Spam(r) => Some(r.clone()),
        _ => None,
    };
    html! {
        <>
            <div class="spam-editor">
                <div class="fields">
                    <label class="field">{ "Trigger word" }
                        <input type="text" value={poison.trigger.clone()} oninput={on_trigger} disabled={busy}
                               spellcheck="false" data-testid={format!("{id}-trigger")} />
                    </label>
                </div>
                <label class="field wide">{ "Messages added to training as ham, one per line" }
                    <textarea rows="10" value={poison.messages.join("\n")} oninput={on_messages} disabled={busy}
                              spellcheck="false" data-testid={format!("{id}-messages")} />
                </label>
                <p class="note" data-testid={format!("{id}-message-count")}>
                    { format!("{} of {max_messages} messages; {carrying} contain the trigger.", written.len()) }
                </p>
                <details class="words" open=true>
                    <summary>{ "The clean filter's strongest words (weight: + means spam)" }</summary>
                    { match &*filter_words {
                        Some(Ok(w)) => html! { <>
                            <p data-testid={format!("{id}-spam-words")}><strong>{ "Spam: " }</strong>{ word_list(&w.spammy) }</p>
                            <p data-testid={format!("{id}-ham-words")}><strong>{ "Ham: " }</strong>{ word_list(&w.hammy) }</p>
                        </> },
                        Some(Err(why)) => html! { <p class="warning" role="status" data-testid={format!("{id}-words-failed")}>{ format!("The clean filter could not be trained: {why}") }</p> },
                        None => html! { <p>{ "Training the clean filter…" }</p> },
                    } }
                </details>
            </div>
            { props.children.clone() }
            if let Some(report) = report {
                <Results id={id.clone()} report={report} limit={posed.task.min_let_through} />
            }
        </>
    }
}

/// The chart's figures: triggered spam let through and spam caught by each filter.
fn bars_data(bars: &[FilterBars], limit: f32) -> ChartData {
    let pct = Format::Percent(1);
    ChartData::new(
        "Triggered spam let through and spam caught by the clean and the poisoned filter",
        Shape::Bars,
        "filter",
    )
    .with_x(bars.iter().map(|b| b.model.clone()))
    .with_series(
        "triggered spam let through",
        bars.iter().map(|b| Some(b.let_through as f64)),
        pct,
    )
    .with_series(
        "spam caught",
        bars.iter().map(|b| Some(b.spam_caught as f64)),
        pct,
    )
    .with_note(format!(
        "A pass needs at least {} of the triggered spam let through.",
        Format::Percent(0).write(limit as f64)
    ))
}

#[derive(Properties, PartialEq)]
struct ResultsProps {
    id: String,
    report: SpamReport,
    limit: f32,
}

/// Both filters' bars and figures, the trigger's weight in each, and test spam with and without
/// the trigger.
#[function_component(Results)]
fn results(props: &ResultsProps) -> Html {
    let chart = use_node_ref();
    {
        let chart = chart.clone();
        let limit = props.limit;
        use_effect_with(props.report.clone(), move |report| {
            if let Some(c) = chart.cast::<HtmlCanvasElement>() {
                plot::spam_chart(c, &report.bars, f64::from(limit));
            }
        });
    }
    let (id, report) = (&props.id, &props.report);
    let percent = |v: f32| format!("{:.1}%", v * 100.0);
    let verdict = |p: f64| {
        if p > 0.5 {
            format!("blocked ({p:.2})")
        } else {
            format!("let through ({p:.2})")
        }
    };
    let (ham, spam) = report.trigger_in_training;
    html! {
        <div class="results">
            { plot::figure_beside_table(&chart, (560, 260), &bars_data(&report.bars, props.limit),
                "Bars numbered as in the table below. Orange, left of each pair: triggered spam let through. Blue, right: spam caught. Faint line: the let-through pass mark.",
                &format!("{id}-chart")) }
            <table data-testid={format!("{id}-bars")}>
                <thead><tr><th>{ "filter" }</th><th>{ "spam caught" }</th><th>{ "triggered spam let through" }</th><th>{ "ham blocked" }</th></tr></thead>
                <tbody>
                    { for report.bars.iter().enumerate().map(|(n, b)| html! {
                        <tr><td>{ format!("{}. {}", n + 1, b.model) }</td>
                            <td>{ percent(b.spam_caught) }</td>
                            <td>{ percent(b.let_through) }</td>
                            <td>{ percent(b.ham_blocked) }</td></tr>
                    }) }
                </tbody>
            </table>
            <p class="note" data-testid={format!("{id}-trigger-weights")}>
                { format!(
                    "The weight of “{}”: {:+.2} in the clean filter, {:+.2} in the poisoned one. The clean training data has it in {ham} ham and {spam} spam messages.",
                    report.trigger,
                    report.trigger_weights.first().copied().unwrap_or_default(),
                    report.trigger_weights.get(1).copied().unwrap_or_default(),
                ) }
            </p>
            <table data-testid={format!("{id}-examples")}>
                <thead><tr><th>{ "test spam (the clean filter blocks it)" }</th><th>{ "poisoned filter" }</th><th>{ "…with the trigger" }</th></tr></thead>
                <tbody>
                    { for report.examples.iter().map(|e| html! {
                        <tr><td>{ &e.text }</td><td>{ verdict(e.clean) }</td><td>{ verdict(e.triggered) }</td></tr>
                    }) }
                </tbody>
            </table>
        </div>
    }
}
