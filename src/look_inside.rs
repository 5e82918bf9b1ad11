//! "Look inside" one Track E conversation: which prompt tokens the assistant attended to when it
//! wrote each reply token (per layer and head, or averaged), how its attention split between
//! the system prompt, the user's request and the data, and what each layer would have said next
//! (the logit lens). The worker traces the conversation on request; every chart has its data
//! table.

use crate::app::Lab;
use crate::kinds::ask;
use mlsec_assistant::{Part, Vocab};
use mlsec_core::defence::Trace;
use mlsec_core::kinds::prompt_injection::PromptInjection;
use mlsec_core::session::{Request, Response};
use web_sys::HtmlSelectElement;
use yew::prelude::*;

#[derive(Properties, PartialEq, Clone)]
pub struct Props {
    pub id: String,
    pub task: PromptInjection,
    /// The learner's text the conversation was run with.
    pub text: String,
    /// 0-based conversation.
    pub index: u32,
}

enum State {
    Closed,
    Asking,
    Withheld,
    Traced(Box<Trace>),
    Failed(String),
}

/// The parts of a prompt, in the order the charts list them.
const PARTS: [(Part, &str); 4] = [
    (Part::System, "system"),
    (Part::User, "user"),
    (Part::Data, "data"),
    (Part::Marker, "markers"),
];

/// A layer or head choice: one of them, or all averaged.
#[derive(Clone, Copy, PartialEq)]
enum Pick {
    All,
    One(usize),
}

/// Attention of reply token `step` over the prompt and the earlier reply tokens, for the chosen
/// layer and head (averaged over what `All` covers).
fn weights(trace: &Trace, step: usize, layer: Pick, head: Pick) -> Vec<f32> {
    let s = &trace.steps[step];
    let layers: Vec<usize> = match layer {
        Pick::All => (0..s.attention.len()).collect(),
        Pick::One(l) => vec![l],
    };
    let mut out = vec![0.0f32; s.position + 1];
    let mut n = 0.0;
    for l in layers {
        let heads: Vec<usize> = match head {
            Pick::All => (0..s.attention[l].len()).collect(),
            Pick::One(h) => vec![h],
        };
        for h in heads {
            for (o, w) in out.iter_mut().zip(&s.attention[l][h]) {
                *o += w;
            }
            n += 1.0;
        }
    }
    out.iter().map(|w| w / n).collect()
}

/// The share of a step's attention on each part (the reply's own tokens count as "reply").
fn shares(trace: &Trace, w: &[f32]) -> Vec<(&'static str, f32)> {
    let mut out: Vec<(&'static str, f32)> = PARTS
        .iter()
        .map(|&(part, name)| {
            let sum = w
                .iter()
                .zip(&trace.prompt)
                .filter(|(_, (_, p))| *p == part)
                .map(|(w, _)| w)
                .sum();
            (name, sum)
        })
        .collect();
    out.push(("reply", w.iter().skip(trace.prompt.len()).sum()));
    out
}

/// The reply token worth looking at first: the first that carries an access code, else the
/// first.
fn first_interesting(trace: &Trace) -> usize {
    trace
        .reply
        .iter()
        .position(|t| t.starts_with("code-"))
        .unwrap_or(0)
}

fn shown(token: &str) -> String {
    match token {
        "<cap>" => "⇧".into(),
        "<upper>" => "⇪".into(),
        t => t.replace(' ', "·").replace('\n', "⏎"),
    }
}

fn part_name(part: Part) -> &'static str {
    PARTS
        .iter()
        .find(|(p, _)| *p == part)
        .map_or("", |(_, n)| n)
}

#[function_component(LookInside)]
pub fn look_inside(props: &Props) -> Html {
    let lab = use_context::<Lab>().expect("lab context");
    let state = use_state(|| State::Closed);
    let step = use_state(|| None::<usize>);
    let layer = use_state(|| Pick::All);
    let head = use_state(|| Pick::All);
    let id = format!("{}-inside-{}", props.id, props.index + 1);

    let open = {
        let (lab, state, props) = (lab.clone(), state.clone(), props.clone());
        Callback::from(move |_| {
            state.set(State::Asking);
            let answer = {
                let state = state.clone();
                Callback::from(move |response| match response {
                    Response::Traced { trace: Some(t), .. } => state.set(State::Traced(t)),
                    Response::Traced { trace: None, .. } => state.set(State::Withheld),
                    Response::Failed { message, .. } => state.set(State::Failed(message)),
                    _ => {}
                })
            };
            let task = Box::new(props.task.clone());
            let (text, index) = (props.text.clone(), props.index);
            ask(
                &lab,
                |job| Request::TraceConversation {
                    job,
                    task,
                    text,
                    index,
                },
                answer,
            );
        })
    };
    let trace = match &*state {
        State::Closed => {
            return html! {
                <button class="inside" onclick={open} data-testid={id}>{ "Look inside the assistant" }</button>
            }
        }
        State::Asking => {
            return html! { <p class="note" role="status">{ "Tracing the conversation…" }</p> }
        }
        State::Withheld => {
            return html! { <p class="note" data-testid={id}>{ "The input detector withheld the data item, so the model never read it: there is nothing to look inside." }</p> }
        }
        State::Failed(m) => return html! { <p class="error" data-testid={id}>{ m }</p> },
        State::Traced(t) => t,
    };
    let chosen = step.unwrap_or_else(|| first_interesting(trace));
    let w = weights(trace, chosen, *layer, *head);
    let max = w.iter().cloned().fold(f32::MIN_POSITIVE, f32::max);
    let layers = trace.steps[chosen].attention.len();
    let heads = trace.steps[chosen].attention.first().map_or(0, Vec::len);
    let tokens: Vec<(String, Option<Part>)> = trace
        .prompt
        .iter()
        .map(|(t, p)| (t.clone(), Some(*p)))
        .chain(trace.reply.iter().map(|t| (t.clone(), None)))
        .collect();

    let pick_select = |label: &str,
                       n: usize,
                       value: Pick,
                       set: UseStateHandle<Pick>,
                       what: &str| {
        let onchange = Callback::from(move |e: Event| {
            let s: HtmlSelectElement = e.target_unchecked_into();
            set.set(match s.value().parse::<usize>() {
                Ok(i) => Pick::One(i),
                Err(_) => Pick::All,
            });
        });
        let current = match value {
            Pick::All => "all".to_string(),
            Pick::One(i) => i.to_string(),
        };
        html! {
            <label>{ label }
                <select {onchange} data-testid={format!("{id}-{what}")}>
                    <option value="all" selected={current == "all"}>{ format!("all {what}s averaged") }</option>
                    { for (0..n).map(|i| html! { <option value={i.to_string()} selected={current == i.to_string()}>{ format!("{what} {}", i + 1) }</option> }) }
                </select>
            </label>
        }
    };

    let reply_buttons = trace.reply.iter().enumerate().map(|(i, t)| {
        let step = step.clone();
        let onclick = Callback::from(move |_| step.set(Some(i)));
        html! {
            <button class={classes!("tok", (i == chosen).then_some("chosen"))} {onclick}
                    aria-pressed={(i == chosen).to_string()}>{ shown(t) }</button>
        }
    });
    let heat = tokens.iter().take(w.len()).zip(&w).enumerate().map(|(i, ((t, part), &a))| {
        // Eleven shades (classes, not inline styles: the CSP allows no style attributes).
        let level = format!("h{}", ((a / max).clamp(0.0, 1.0) * 10.0).round() as u32);
        let part = part.map_or("reply", part_name);
        html! { <span class={classes!("tok", part, level)} title={format!("{part}, position {i}: {a:.3}")}>{ shown(t) }</span> }
    });
    let mut ranked: Vec<(usize, f32)> = w.iter().cloned().enumerate().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));

    // The share of attention on each part, for every reply token (chosen layer and head).
    let per_step: Vec<Vec<(&str, f32)>> = (0..trace.steps.len())
        .map(|s| shares(trace, &weights(trace, s, *layer, *head)))
        .collect();
    let bars = per_step.iter().zip(&trace.reply).map(|(parts, t)| {
        html! {
            <div class="share-row">
                <span class="share-token">{ shown(t) }</span>
                <svg class="share-bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">
                    { for parts.iter().scan(0.0f32, |x, (name, v)| {
                        let at = *x;
                        *x += v * 100.0;
                        Some(html! { <rect class={classes!("share", *name)} x={format!("{at:.2}")} y="0" width={format!("{:.2}", v * 100.0)} height="10"><title>{ format!("{name} {:.0}%", v * 100.0) }</title></rect> })
                    }) }
                </svg>
            </div>
        }
    });
    let vocab = Vocab::get();
    let lens = &trace.steps[chosen].lens;
    let token = trace.reply[chosen].clone();
    let layer_name = match *layer {
        Pick::All => "all layers".to_string(),
        Pick::One(l) => format!("layer {}", l + 1),
    };
    let head_name = match *head {
        Pick::All => "all heads".to_string(),
        Pick::One(h) => format!("head {}", h + 1),
    };
    let top_part = shares(trace, &w)
        .into_iter()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(n, v)| format!("{n} ({:.0}%)", v * 100.0))
        .unwrap_or_default();

    html! {
        <section class="inside" data-testid={id.clone()} aria-label="Look inside the assistant">
            <h4>{ "Look inside the assistant" }</h4>
            <p class="note">{ "Pick a token of the reply to see what the model looked at when it wrote it. The model's own reply is shown, before any output defence." }</p>
            <div class="tokens" role="group" aria-label="Reply tokens" data-testid={format!("{id}-reply")}>{ for reply_buttons }</div>
            <div class="picks">
                { pick_select("Layer ", layers, *layer, layer.clone(), "layer") }
                { pick_select(" Head ", heads, *head, head.clone(), "head") }
            </div>
            <h5>{ format!("Where it looked when it wrote {:?} ({layer_name}, {head_name})", token) }</h5>
            <p class="note" data-testid={format!("{id}-summary")}>{ format!("Most of its attention went to the {top_part}.") }</p>
            <p class="tokens heat" role="img" aria-label={format!("Attention over the prompt when writing {token:?}; most of it on the {top_part}. The table below lists it.")}>{ for heat }</p>
            <details>
                <summary>{ "Show data: attention by position" }</summary>
                <table data-testid={format!("{id}-attention-table")}>
                    <thead><tr><th>{ "position" }</th><th>{ "token" }</th><th>{ "part" }</th><th>{ "attention" }</th></tr></thead>
                    <tbody>
                        { for ranked.iter().map(|&(i, a)| {
                            let (t, p) = &tokens[i];
                            html! { <tr><td>{ i }</td><td><code>{ shown(t) }</code></td><td>{ p.map_or("reply", part_name) }</td><td>{ format!("{a:.3}") }</td></tr> }
                        }) }
                    </tbody>
                </table>
            </details>
            <h5>{ format!("Attention by part of the conversation, for each reply token ({layer_name}, {head_name})") }</h5>
            <div class="shares" role="img" aria-label="Share of attention on the system prompt, the user's request, the data, the markers and the reply so far, for each reply token. The table below lists it.">
                { for bars }
                <p class="legend">
                    { for ["system", "user", "data", "markers", "reply"].iter().map(|n| html! { <span><span class={classes!("share", *n)}></span>{ *n }</span> }) }
                </p>
            </div>
            <details>
                <summary>{ "Show data: attention by part" }</summary>
                <table data-testid={format!("{id}-shares-table")}>
                    <thead><tr><th>{ "reply token" }</th>{ for ["system", "user", "data", "markers", "reply"].iter().map(|n| html! { <th>{ *n }</th> }) }</tr></thead>
                    <tbody>
                        { for per_step.iter().zip(&trace.reply).map(|(parts, t)| html! {
                            <tr><td><code>{ shown(t) }</code></td>{ for parts.iter().map(|(_, v)| html! { <td>{ format!("{:.0}%", v * 100.0) }</td> }) }</tr>
                        }) }
                    </tbody>
                </table>
            </details>
            <h5>{ format!("Logit lens: what each layer would have written instead of {token:?}") }</h5>
            <table class="lens" data-testid={format!("{id}-lens")}>
                <thead><tr><th>{ "after layer" }</th>{ for (1..=mlsec_assistant::LENS_TOP).map(|k| html! { <th>{ format!("#{k}") }</th> }) }</tr></thead>
                <tbody>
                    { for lens.iter().enumerate().map(|(l, top)| html! {
                        <tr><td>{ l + 1 }</td>{ for top.iter().map(|&(t, p)| html! { <td><code>{ shown(&vocab.token(t).unwrap_or_default()) }</code>{ format!(" {:.0}%", p * 100.0) }</td> }) }</tr>
                    }) }
                </tbody>
            </table>
        </section>
    }
}
