//! Track B's backdoor view: the trigger painter, the target label, the poisoned training images
//! (picked at random by the worker's gallery, shown stamped, each removable), then the shell's
//! Run; after a grade, clean accuracy against attack success for both models, and test digits
//! clean and triggered with the poisoned model's answers.

use super::{ask_candidates, KindProps};
use crate::app::{bind_text, Lab};
use crate::painter::Painter;
use crate::plot::{self, THUMB};
use mlsec_core::chart::{self, Format};
use mlsec_core::exercise::{Details, Settings};
use mlsec_core::fields::{parse_real, parse_whole};
use mlsec_core::kinds::backdoor::{BackdoorPlan, BackdoorReport};
use mlsec_core::kinds::label_flip::{Candidate, Order, Query, MAX_CANDIDATES};
use mlsec_core::kinds::pixel_attack::PixelEdit;
use mlsec_core::kinds::poisoning::stamp;
use mlsec_core::kinds::Task;
use mlsec_core::painter::Stroke;
use web_sys::{HtmlCanvasElement, HtmlSelectElement};
use yew::prelude::*;

const COLUMNS: usize = 12;

#[function_component(View)]
pub fn view(props: &KindProps) -> Html {
    let lab = use_context::<Lab>().expect("lab context");
    let (max_pixels, max_poisons, min_success) = match &props.exercise.task {
        Task::Backdoor(posed) => (
            posed.task.max_trigger_pixels,
            posed.task.max_poisons,
            posed.task.min_success,
        ),
        _ => (0, 0, 0.0),
    };
    let plan = match &props.settings {
        Settings::Backdoor(p) => p.clone(),
        _ => BackdoorPlan::default(),
    };
    let brightness = use_state(|| "1".to_string());
    let count = use_state(|| "36".to_string());
    let seed = use_state(|| "1".to_string());
    let shown = use_state(Vec::<Candidate>::new);
    let id = props.exercise.id.clone();
    let busy = props.busy;
    let emit = {
        let (on_edit, plan) = (props.on_edit.clone(), plan.clone());
        move |change: &dyn Fn(&mut BackdoorPlan)| {
            let mut plan = plan.clone();
            change(&mut plan);
            on_edit.emit(Settings::Backdoor(plan));
        }
    };

    // The poisoned images as the gallery shows them, asked of the worker whenever the set changes.
    {
        let (lab, shown, on_error) = (lab.clone(), shown.clone(), props.on_error.clone());
        use_effect_with(plan.poisons.clone(), move |poisons| {
            let query = Query {
                class: None,
                only: Some(poisons.clone()),
                order: Order::Index,
                count: MAX_CANDIDATES,
            };
            let job = ask_candidates(&lab, query, move |c| shown.set(c), on_error);
            let worker = lab.worker.clone();
            move || worker.forget(job)
        });
    }

    let trigger_image = stamp(&[0.0; 64], &plan.trigger);
    let in_trigger: Vec<bool> = (0..64u32)
        .map(|p| plan.trigger.iter().any(|t| t.pixel == p))
        .collect();
    let on_stroke = {
        let (emit, brightness, on_error) =
            (emit.clone(), brightness.clone(), props.on_error.clone());
        Callback::from(move |(pixel, stroke): (u32, Stroke)| {
            let value = match parse_real("Brightness", &brightness, 0.0..=1.0) {
                Ok(v) => v as f32,
                Err(message) => return on_error.emit(message),
            };
            // A click (or Space) on a trigger pixel removes it, elsewhere adds one at the
            // brightness; + adds (or sets the brightness of) a pixel, − removes it.
            emit(&move |plan: &mut BackdoorPlan| {
                let at = plan.trigger.iter().position(|t| t.pixel == pixel);
                match (stroke, at) {
                    (Stroke::Apply | Stroke::Lower, Some(at)) => {
                        plan.trigger.remove(at);
                    }
                    (Stroke::Raise, Some(at)) => plan.trigger[at].value = value,
                    (Stroke::Apply | Stroke::Raise, None) => {
                        plan.trigger.push(PixelEdit { pixel, value })
                    }
                    (Stroke::Lower, None) => {}
                }
            });
        })
    };

    let gallery = use_node_ref();
    {
        let gallery = gallery.clone();
        let deps = ((*shown).clone(), plan.trigger.clone());
        use_effect_with(deps, move |(shown, trigger)| {
            if let Some(c) = gallery.cast::<HtmlCanvasElement>() {
                let stamped: Vec<Vec<f32>> =
                    shown.iter().map(|s| stamp(&s.pixels, trigger)).collect();
                let images: Vec<(&[f32], bool)> =
                    stamped.iter().map(|p| (p.as_slice(), true)).collect();
                plot::thumbnails(&c, &images, COLUMNS);
            }
        });
    }
    let on_gallery = {
        let (shown, emit) = (shown.clone(), emit.clone());
        Callback::from(move |e: MouseEvent| {
            let canvas: HtmlCanvasElement = e.target_unchecked_into();
            let scale = f64::from(canvas.width()) / f64::from(canvas.client_width().max(1));
            let (x, y) = (
                f64::from(e.offset_x()) * scale,
                f64::from(e.offset_y()) * scale,
            );
            let n = (y / THUMB) as usize * COLUMNS + (x / THUMB) as usize;
            if let Some(c) = shown.get(n) {
                let index = c.index;
                emit(&move |plan: &mut BackdoorPlan| plan.poisons.retain(|&i| i != index));
            }
        })
    };
    // Random picks: the gallery's random order over every class, the target's images left out
    // (the core's `random_poisons` picks the same set, which the lesson's reference uses).
    let pick = {
        let (lab, emit, on_error) = (lab.clone(), emit.clone(), props.on_error.clone());
        let (count, seed, target) = (count.clone(), seed.clone(), plan.target);
        Callback::from(move |_: MouseEvent| {
            let parsed = parse_whole("Poisons to pick", &count, 0..=u64::from(max_poisons))
                .and_then(|count| Ok((count as usize, parse_whole("Seed", &seed, 0..=u64::MAX)?)));
            let (count, seed) = match parsed {
                Ok(both) => both,
                Err(message) => return on_error.emit(message),
            };
            let query = Query {
                class: None,
                only: None,
                order: Order::Random { seed },
                count: MAX_CANDIDATES,
            };
            let emit = emit.clone();
            let pick = move |candidates: Vec<Candidate>| {
                let mut picked: Vec<u32> = candidates
                    .iter()
                    .filter(|c| c.label != target)
                    .take(count)
                    .map(|c| c.index)
                    .collect();
                picked.sort();
                emit(&move |plan: &mut BackdoorPlan| plan.poisons = picked.clone());
            };
            ask_candidates(&lab, query, pick, on_error.clone());
        })
    };
    let on_target = {
        let emit = emit.clone();
        Callback::from(move |e: Event| {
            let select: HtmlSelectElement = e.target_unchecked_into();
            if let Ok(target) = select.value().parse() {
                emit(&move |plan: &mut BackdoorPlan| plan.target = target);
            }
        })
    };
    let clear_trigger = {
        let emit = emit.clone();
        Callback::from(move |_| emit(&|plan: &mut BackdoorPlan| plan.trigger.clear()))
    };
    let clear_poisons = {
        let emit = emit.clone();
        Callback::from(move |_| emit(&|plan: &mut BackdoorPlan| plan.poisons.clear()))
    };
    let rows = shown.len().max(1).div_ceil(COLUMNS);
    let report = match &props.run.details {
        Details::Backdoor(r) => Some(r.clone()),
        _ => None,
    };
    html! {
        <>
            <div class="painter">
                <div>
                    <Painter image={trigger_image} marked={in_trigger} marked_word="in the trigger"
                             label="The trigger, 8 by 8 pixels: click a pixel to add it or remove it."
                             testid={format!("{id}-trigger")} {on_stroke} />
                    <p data-testid={format!("{id}-trigger-count")}>{ format!("{} of {max_pixels} trigger pixels", plan.trigger.len()) }</p>
                </div>
                <div class="fields">
                    <label class="field">{ "Brightness of new pixels (0–1)" }
                        <input type="text" inputmode="decimal" value={(*brightness).clone()} oninput={bind_text(&brightness)} disabled={busy} data-testid={format!("{id}-brightness")} />
                    </label>
                    <label class="field">{ "Target label" }
                        <select onchange={on_target} disabled={busy} data-testid={format!("{id}-target")}>
                            { for (0..10u8).map(|l| html! { <option value={l.to_string()} selected={l == plan.target}>{ l }</option> }) }
                        </select>
                    </label>
                    <label class="field">{ "Poisons to pick" }
                        <input type="text" inputmode="numeric" value={(*count).clone()} oninput={bind_text(&count)} disabled={busy} data-testid={format!("{id}-count")} />
                    </label>
                    <label class="field">{ "Seed" }
                        <input type="text" inputmode="numeric" value={(*seed).clone()} oninput={bind_text(&seed)} disabled={busy} data-testid={format!("{id}-seed")} />
                    </label>
                </div>
            </div>
            <div class="actions">
                <button onclick={pick} disabled={busy} data-testid={format!("{id}-pick")}>{ "Pick at random" }</button>
                <button onclick={clear_poisons} disabled={busy} data-testid={format!("{id}-clear-poisons")}>{ "Clear poisons" }</button>
                <button onclick={clear_trigger} disabled={busy} data-testid={format!("{id}-clear-trigger")}>{ "Clear trigger" }</button>
            </div>
            <p data-testid={format!("{id}-poison-count")}>
                { format!("{} of {max_poisons} poisoned training images, relabelled {}; click one to leave it clean.", plan.poisons.len(), plan.target) }
            </p>
            <canvas ref={gallery} class="gallery" width={(COLUMNS as f64 * THUMB).to_string()} height={(rows as f64 * THUMB).to_string()}
                    onclick={on_gallery} data-testid={format!("{id}-gallery")}
                    aria-label="The poisoned training images with the trigger stamped; click one to leave it clean"></canvas>
            { props.children.clone() }
            if let Some(report) = report {
                <Results id={id.clone()} report={report} min_success={min_success} />
            }
        </>
    }
}

#[derive(Properties, PartialEq)]
struct ResultsProps {
    id: String,
    report: BackdoorReport,
    min_success: f32,
}

/// Both models' bars, and test digits clean and triggered with the poisoned model's answers.
#[function_component(Results)]
fn results(props: &ResultsProps) -> Html {
    let (chart, examples) = (use_node_ref(), use_node_ref());
    {
        let (chart, examples) = (chart.clone(), examples.clone());
        let (report, limit) = (props.report.clone(), props.min_success);
        use_effect_with(report, move |report| {
            if let Some(c) = chart.cast::<HtmlCanvasElement>() {
                plot::backdoor_chart(c, &report.bars, f64::from(limit));
            }
            if let Some(c) = examples.cast::<HtmlCanvasElement>() {
                let images: Vec<(&[f32], bool)> = report
                    .examples
                    .iter()
                    .map(|e| (e.pixels.as_slice(), false))
                    .chain(
                        report
                            .examples
                            .iter()
                            .map(|e| (e.triggered_pixels.as_slice(), true)),
                    )
                    .collect();
                plot::thumbnails(&c, &images, report.examples.len().max(1));
            }
        });
    }
    let id = &props.id;
    let columns = props.report.examples.len().max(1);
    html! {
        <div class="results">
            { plot::figure_beside_table(&chart, (560, 260), &chart::model_bars(&props.report.bars).with_note(format!(
                    "A pass needs the poisoned model's attack success at least {}.",
                    Format::Percent(0).write(props.min_success as f64))),
                "Bars numbered as in the table below. Orange, left of each pair: attack success. Blue, right: clean accuracy. Faint line: the attack-success pass mark.",
                &format!("{id}-chart")) }
            <table data-testid={format!("{id}-bars")}>
                <thead><tr><th>{ "model" }</th><th>{ "clean accuracy" }</th><th>{ "attack success" }</th></tr></thead>
                <tbody>
                    { for props.report.bars.iter().enumerate().map(|(n, b)| html! {
                        <tr><td>{ format!("{}. {}", n + 1, b.model) }</td>
                            <td>{ format!("{:.1}%", b.clean_accuracy * 100.0) }</td>
                            <td>{ format!("{:.1}%", b.attack_success * 100.0) }</td></tr>
                    }) }
                </tbody>
            </table>
            <p class="note">{ "One test digit of each other class, clean (top) and with your trigger (bottom, framed red), and what the poisoned model answers:" }</p>
            <canvas ref={examples} class="gallery" width={(columns as f64 * THUMB).to_string()} height={(2.0 * THUMB).to_string()}
                    data-testid={format!("{id}-examples")}
                    aria-label="Test digits clean and triggered"></canvas>
            <table data-testid={format!("{id}-answers")}>
                <thead><tr><th>{ "digit" }</th><th>{ "clean: model says" }</th><th>{ "triggered: model says" }</th></tr></thead>
                <tbody>
                    { for props.report.examples.iter().map(|e| html! {
                        <tr><td>{ e.label }</td><td>{ e.clean }</td><td>{ e.triggered }</td></tr>
                    }) }
                </tbody>
            </table>
        </div>
    }
}
