//! Track E's defend view: which model and which defences (the detector's training numbers are
//! the shell's fields); after a run, the comparison chart and table, with the grader's limits.

use super::KindProps;
use crate::plot;
use mlsec_assistant::Variant;
use mlsec_core::chart::{ChartData, Format, Shape};
use mlsec_core::defence::{DefenceRow, Defences, DetectorSettings};
use mlsec_core::exercise::{Details, Settings};
use mlsec_core::kinds::Task;
use web_sys::HtmlCanvasElement;
use yew::prelude::*;

#[function_component(View)]
pub fn view(props: &KindProps) -> Html {
    let canvas = use_node_ref();
    let rows: Vec<DefenceRow> = match &props.run.details {
        Details::Defences(rows) => rows.clone(),
        _ => vec![],
    };
    let task = match &props.exercise.task {
        Task::DefendInjection(posed) => Some(posed.task.clone()),
        _ => None,
    };
    {
        let (canvas, task) = (canvas.clone(), task.clone());
        use_effect_with(rows.clone(), move |rows| {
            let floor = task.as_ref().and_then(|t| t.utility_floor(rows));
            if let (Some(c), Some(task), Some(floor)) =
                (canvas.cast::<HtmlCanvasElement>(), task, floor)
            {
                plot::defence_chart(c, rows, task.max_attack_success, floor);
            }
        });
    }
    let task_limits = match (&task, task.as_ref().and_then(|t| t.utility_floor(&rows))) {
        (Some(t), Some(floor)) => (t.max_attack_success, floor),
        _ => (f32::NAN, f64::NAN),
    };
    let id = &props.exercise.id;
    let d = match &props.settings {
        Settings::Defences(d) => d.clone(),
        _ => Defences::none(),
    };
    let busy = props.busy;
    let check = |key: &str, label: &str, on: bool, edit: fn(&mut Defences, bool)| {
        let d = d.clone();
        let onchange = props.on_edit.reform(move |e: Event| {
            let input: web_sys::HtmlInputElement = e.target_unchecked_into();
            let mut d = d.clone();
            edit(&mut d, input.checked());
            Settings::Defences(d)
        });
        html! {
            <label class="toggle"><input type="checkbox" checked={on} {onchange} disabled={busy}
                data-testid={format!("{id}-{key}")} />{ " " }{ label }</label>
        }
    };
    let on_model = {
        let d = d.clone();
        props.on_edit.reform(move |e: Event| {
            let select: web_sys::HtmlSelectElement = e.target_unchecked_into();
            let mut d = d.clone();
            d.model = if select.value() == "structured" {
                Variant::Structured
            } else {
                Variant::Assistant
            };
            Settings::Defences(d)
        })
    };
    let structured = d.model == Variant::Structured;
    html! {
        <>
            <div class="defences">
                <label class="field">{ "Model" }
                    <select onchange={on_model} disabled={busy} data-testid={format!("{id}-model")}>
                        <option value="assistant" selected={!structured}>{ "plain assistant" }</option>
                        <option value="structured" selected={structured}>{ "structured (StruQ-style) assistant" }</option>
                    </select>
                </label>
                { check("harden", "prompt hardening (a warning in the system prompt)", d.harden_prompt, |d, on| d.harden_prompt = on) }
                { check("delimit", "delimiting: the data in [DATA] … [/DATA], reserved tokens stripped (plain assistant)", d.delimit_data, |d, on| d.delimit_data = on) }
                { check("filter", "output filter: a reply with the access code or an image link is replaced by a refusal", d.output_filter, |d, on| d.output_filter = on) }
                { check("confirm", "tool confirmation: the user must approve any e-mail they did not ask for", d.confirm_tools, |d, on| d.confirm_tools = on) }
                // The numbers come from the fields when the run starts; on is all this says.
                { check("detector", "input detector: withhold data items it flags (train it with the numbers below)", d.detector.is_some(),
                        |d, on| d.detector = on.then(DetectorSettings::default)) }
            </div>
            { props.children.clone() }
            if !rows.is_empty() {
                { plot::figure_beside_table(&canvas, (560, 260), &chart_data(&rows, task_limits),
                    "Bars numbered as in the table below. Orange, left of each pair: attack success. Blue, right: utility. Faint lines: the limits.",
                    &format!("{id}-chart")) }
                { defence_table(id, &rows) }
            }
        </>
    }
}

/// The chart's figures: attack success and utility per defence, and the pass region.
fn chart_data(rows: &[DefenceRow], (max_attack, min_utility): (f32, f64)) -> ChartData {
    let pct = Format::Percent(0);
    ChartData::new(
        "Attack success and utility per defence",
        Shape::Bars,
        "defence",
    )
    .with_x(rows.iter().map(|r| r.name.clone()))
    .with_series(
        "attack success",
        rows.iter().map(|r| Some(r.attack_success)),
        pct,
    )
    .with_series("utility", rows.iter().map(|r| Some(r.utility)), pct)
    .with_note(format!(
        "A pass needs attack success at most {} and utility at least {}.",
        pct.write(max_attack as f64),
        pct.write(min_utility)
    ))
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
