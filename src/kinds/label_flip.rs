//! Track B's label-flipping view: a gallery of training images (by class, in an order the
//! learner picks, with the clean model's confidence and runner-up class), selection helpers
//! whose picks the learner sees and edits, and the list of flips that the shell's Run submits.
//! The worker answers the gallery; the grade is the worker's retraining.

use super::{ask_candidates, KindProps};
use crate::app::{bind_text, Lab};
use crate::plot::{self, THUMB};
use mlsec_core::exercise::Settings;
use mlsec_core::fields::parse_whole;
use mlsec_core::kinds::label_flip::{Candidate, Flip, LabelFlips, Order, Query};
use mlsec_core::kinds::Task;
use web_sys::{HtmlCanvasElement, HtmlSelectElement};
use yew::prelude::*;

const COLUMNS: usize = 16;

fn order_of(name: &str, seed: u64) -> Order {
    match name {
        "most-confident" => Order::MostConfident,
        "least-confident" => Order::LeastConfident,
        "nearest-boundary" => Order::NearestBoundary,
        "random" => Order::Random { seed },
        _ => Order::Index,
    }
}

#[function_component(View)]
pub fn view(props: &KindProps) -> Html {
    let lab = use_context::<Lab>().expect("lab context");
    let (target, max_flips) = match &props.exercise.task {
        Task::LabelFlip(posed) => (posed.task.target_class, posed.task.max_flips),
        _ => (0, 0),
    };
    let class = use_state(|| target.to_string());
    let order = use_state(|| "index".to_string());
    let count = use_state(|| "160".to_string());
    let seed = use_state(|| "1".to_string());
    let flip_to = use_state(|| "runner-up".to_string());
    let shown = use_state(Vec::<Candidate>::new);
    let last = use_state(|| None::<Candidate>);
    let flips: Vec<Flip> = match &props.settings {
        Settings::Flips(f) => f.flips.clone(),
        _ => vec![],
    };
    let id = props.exercise.id.clone();

    // Asks the worker for the gallery the controls describe.
    let show = {
        let (lab, shown, on_error) = (lab.clone(), shown.clone(), props.on_error.clone());
        let (class, order, count, seed) =
            (class.clone(), order.clone(), count.clone(), seed.clone());
        Callback::from(move |_: ()| {
            let parsed = parse_whole("Show", &count, 1..=u64::from(u32::MAX))
                .and_then(|count| Ok((count as u32, parse_whole("Seed", &seed, 0..=u64::MAX)?)));
            let (count, seed) = match parsed {
                Ok(both) => both,
                Err(message) => return on_error.emit(message),
            };
            let query = Query {
                class: class.parse().ok(),
                only: None,
                order: order_of(&order, seed),
                count,
            };
            let shown = shown.clone();
            ask_candidates(&lab, query, move |c| shown.set(c), on_error.clone());
        })
    };
    {
        let show = show.clone();
        use_effect_with((), move |_| show.emit(()));
    }
    let new_label = {
        let flip_to = flip_to.clone();
        move |c: &Candidate| flip_to.parse::<u8>().unwrap_or(c.runner_up)
    };
    let emit = {
        let on_edit = props.on_edit.clone();
        move |flips: Vec<Flip>| on_edit.emit(Settings::Flips(LabelFlips { flips }))
    };

    let canvas = use_node_ref();
    {
        let canvas = canvas.clone();
        let deps = ((*shown).clone(), flips.clone());
        use_effect_with(deps, move |(shown, flips)| {
            if let Some(c) = canvas.cast::<HtmlCanvasElement>() {
                let images: Vec<(&[f32], bool)> = shown
                    .iter()
                    .map(|s| {
                        (
                            s.pixels.as_slice(),
                            flips.iter().any(|f| f.index == s.index),
                        )
                    })
                    .collect();
                plot::thumbnails(&c, &images, COLUMNS);
            }
        });
    }
    let on_gallery = {
        let (shown, flips, last, emit, new_label) = (
            shown.clone(),
            flips.clone(),
            last.clone(),
            emit.clone(),
            new_label.clone(),
        );
        Callback::from(move |e: MouseEvent| {
            let canvas: HtmlCanvasElement = e.target_unchecked_into();
            let scale = f64::from(canvas.width()) / f64::from(canvas.client_width().max(1));
            let (x, y) = (
                f64::from(e.offset_x()) * scale,
                f64::from(e.offset_y()) * scale,
            );
            let n = (y / THUMB) as usize * COLUMNS + (x / THUMB) as usize;
            let Some(c) = shown.get(n) else { return };
            last.set(Some(c.clone()));
            let mut flips = flips.clone();
            if let Some(at) = flips.iter().position(|f| f.index == c.index) {
                flips.remove(at);
            } else if new_label(c) != c.label {
                flips.push(Flip {
                    index: c.index,
                    label: new_label(c),
                });
            }
            emit(flips);
        })
    };
    let flip_all = {
        let (shown, flips, emit, new_label) = (
            shown.clone(),
            flips.clone(),
            emit.clone(),
            new_label.clone(),
        );
        Callback::from(move |_| {
            let mut flips = flips.clone();
            for c in shown.iter() {
                if !flips.iter().any(|f| f.index == c.index) && new_label(c) != c.label {
                    flips.push(Flip {
                        index: c.index,
                        label: new_label(c),
                    });
                }
            }
            emit(flips);
        })
    };
    let clear = {
        let emit = emit.clone();
        Callback::from(move |_| emit(vec![]))
    };
    let choose = |state: &UseStateHandle<String>| {
        let state = state.clone();
        Callback::from(move |e: Event| {
            let select: HtmlSelectElement = e.target_unchecked_into();
            state.set(select.value());
        })
    };
    let rows = (shown.len().max(1)).div_ceil(COLUMNS);
    let busy = props.busy;
    let readout = last.as_ref().map(|c| html! {
        <p class="note" data-testid={format!("{id}-picked")}>
            { format!("Training image {}: labelled {}, clean model {:.1}% sure; its runner-up is {} (margin {:.2}).",
                      c.index, c.label, c.confidence * 100.0, c.runner_up, c.margin) }
        </p>
    });
    let flip_rows = flips.iter().enumerate().map(|(n, f)| {
        let (flips_now, emit_relabel) = (flips.clone(), emit.clone());
        let relabel = Callback::from(move |e: Event| {
            let select: HtmlSelectElement = e.target_unchecked_into();
            let mut flips = flips_now.clone();
            if let Ok(label) = select.value().parse() {
                flips[n].label = label;
            }
            emit_relabel(flips);
        });
        let (flips_now, emit_remove) = (flips.clone(), emit.clone());
        let remove = Callback::from(move |_| {
            let mut flips = flips_now.clone();
            flips.remove(n);
            emit_remove(flips);
        });
        html! {
            <tr>
                <td>{ f.index }</td>
                <td>
                    <select onchange={relabel} disabled={busy} aria-label={format!("New label of training image {}", f.index)}>
                        { for (0..10u8).map(|l| html! { <option value={l.to_string()} selected={l == f.label}>{ l }</option> }) }
                    </select>
                </td>
                <td><button onclick={remove} disabled={busy}>{ "remove" }</button></td>
            </tr>
        }
    });
    let options = |values: &[(&str, &str)], current: &str| {
        values
            .iter()
            .map(|(v, label)| html! { <option value={v.to_string()} selected={*v == current}>{ *label }</option> })
            .collect::<Html>()
    };
    let classes: Vec<(String, String)> = (0..10).map(|c| (c.to_string(), c.to_string())).collect();
    let class_options: Vec<(&str, &str)> = std::iter::once(("all", "all"))
        .chain(classes.iter().map(|(v, l)| (v.as_str(), l.as_str())))
        .collect();
    let label_options: Vec<(&str, &str)> = std::iter::once(("runner-up", "its runner-up class"))
        .chain(classes.iter().map(|(v, l)| (v.as_str(), l.as_str())))
        .collect();
    html! {
        <>
            <div class="gallery-controls fields">
                <label class="field">{ "Class" }
                    <select onchange={choose(&class)} disabled={busy} data-testid={format!("{id}-class")}>{ options(&class_options, &class) }</select>
                </label>
                <label class="field">{ "Order" }
                    <select onchange={choose(&order)} disabled={busy} data-testid={format!("{id}-order")}>
                        { options(&[("index", "training order"), ("most-confident", "most confident first"), ("least-confident", "least confident first"),
                                    ("nearest-boundary", "nearest the decision boundary first"), ("random", "random (seed below)")], &order) }
                    </select>
                </label>
                <label class="field">{ "Show" }
                    <input type="text" inputmode="numeric" value={(*count).clone()} oninput={bind_text(&count)} disabled={busy} data-testid={format!("{id}-count")} />
                </label>
                <label class="field">{ "Seed" }
                    <input type="text" inputmode="numeric" value={(*seed).clone()} oninput={bind_text(&seed)} disabled={busy} data-testid={format!("{id}-seed")} />
                </label>
                <label class="field">{ "Flip to" }
                    <select onchange={choose(&flip_to)} disabled={busy} data-testid={format!("{id}-flip-to")}>{ options(&label_options, &flip_to) }</select>
                </label>
            </div>
            <div class="actions">
                <button onclick={show.reform(|_| ())} disabled={busy} data-testid={format!("{id}-show")}>{ "Show" }</button>
                <button onclick={flip_all} disabled={busy} data-testid={format!("{id}-flip-all")}>{ "Flip all shown" }</button>
                <button onclick={clear} disabled={busy} data-testid={format!("{id}-clear")}>{ "Clear flips" }</button>
            </div>
            <p class="note" data-testid={format!("{id}-shown")}>{ format!("{} training images shown; click one to flip it (framed red) or unflip it.", shown.len()) }</p>
            <canvas ref={canvas} class="gallery" width={(COLUMNS as f64 * THUMB).to_string()} height={(rows as f64 * THUMB).to_string()}
                    onclick={on_gallery} data-testid={format!("{id}-gallery")}
                    aria-label="Training images; click one to flip its label"></canvas>
            { for readout }
            <p data-testid={format!("{id}-flip-count")}>{ format!("{} of {max_flips} flips", flips.len()) }</p>
            if !flips.is_empty() {
                <details class="flips">
                    <summary>{ "Your flips (training image → new label)" }</summary>
                    <table data-testid={format!("{id}-flips")}>
                        <thead><tr><th>{ "image" }</th><th>{ "new label" }</th><th></th></tr></thead>
                        <tbody>{ for flip_rows }</tbody>
                    </table>
                </details>
            }
            { props.children.clone() }
        </>
    }
}
