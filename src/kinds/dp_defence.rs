//! Track C's DP-SGD view: the sampling choice beside the shell's number fields (C, σ, expected
//! batch, epochs, learning rate, seed); after each grade, the comparison table (the plain target
//! with confidences and with labels only, the learner's private target), the attacks' ROC on log
//! axes, and the ε–accuracy trade-off over this visit's runs.

use super::KindProps;
use crate::plot;
use mlsec_core::chart::{ChartData, Format, Shape};
use mlsec_core::dp_sgd::Sampling;
use mlsec_core::exercise::{Details, Settings};
use mlsec_core::grade::{Figure, Unit};
use mlsec_core::kinds::dp_defence::PrivacyReport;
use mlsec_core::kinds::shadow_models::LOW_FPR;
use mlsec_core::kinds::Task;
use web_sys::{HtmlCanvasElement, HtmlSelectElement};
use yew::prelude::*;

#[function_component(View)]
pub fn view(props: &KindProps) -> Html {
    let Task::DpSgd(posed) = &props.exercise.task else {
        return html! {};
    };
    let Settings::Private(settings) = &props.settings else {
        return html! {};
    };
    let id = &props.exercise.id;
    let (max_epsilon, max_auc, max_drop) = (
        posed.task.max_epsilon,
        posed.task.max_auc,
        posed.task.max_accuracy_drop,
    );
    // This visit's runs, for the trade-off: (ε, test accuracy, attack held).
    let runs = use_state(Vec::<(f64, f32, bool)>::new);
    let report = match &props.run.details {
        Details::Privacy(r) => Some(r.clone()),
        _ => None,
    };
    {
        let runs = runs.clone();
        use_effect_with(report.clone(), move |report| {
            if let Some(private) = report.as_ref().and_then(|r| r.rows.last()) {
                let mut all = (*runs).clone();
                all.push((
                    private.epsilon,
                    private.test_accuracy,
                    private.curve.auc <= max_auc,
                ));
                runs.set(all);
            }
        });
    }
    let onchange = {
        let (settings, on_edit) = (settings.clone(), props.on_edit.clone());
        Callback::from(move |e: Event| {
            let select: HtmlSelectElement = e.target_unchecked_into();
            let mut settings = settings.clone();
            settings.sampling = if select.value() == "shuffled" {
                Sampling::Shuffled
            } else {
                Sampling::Poisson
            };
            on_edit.emit(Settings::Private(settings));
        })
    };
    let poisson = settings.sampling == Sampling::Poisson;
    html! {
        <>
            <div class="fields">
                <label class="field">{ "Sampling" }
                    <select {onchange} disabled={props.busy} data-testid={format!("{id}-sampling")}>
                        <option value="poisson" selected={poisson}>{ "Poisson: each record joins a step with probability batch / N" }</option>
                        <option value="shuffled" selected={!poisson}>{ "shuffled fixed-size batches" }</option>
                    </select>
                </label>
            </div>
            { props.children.clone() }
            if let Some(report) = report {
                <Results id={id.clone()} report={report} runs={(*runs).clone()} {max_epsilon} {max_drop} />
            }
        </>
    }
}

/// The trade-off chart's figures: each of the learner's runs, its ε (∞ without a guarantee), its
/// test accuracy and whether its attack was held.
fn tradeoff_data(runs: &[(f64, f32, bool)], max_epsilon: f64, floor: f32) -> ChartData {
    let epsilon = |e: f64| if e < 1e300 { e } else { f64::INFINITY };
    ChartData::new(
        "Your DP-SGD runs: ε against test accuracy",
        Shape::Bars,
        "run",
    )
    .with_x((1..=runs.len()).map(|n| format!("run {n}")))
    .with_series(
        "ε",
        runs.iter().map(|r| Some(epsilon(r.0))),
        Format::Fixed(2),
    )
    .with_series(
        "test accuracy",
        runs.iter().map(|r| Some(r.1 as f64)),
        Format::Percent(1),
    )
    .with_series(
        "attack held",
        runs.iter().map(|r| Some(if r.2 { 1.0 } else { 0.0 })),
        Format::YesNo,
    )
    .with_note(format!(
        "The ε budget is {max_epsilon} and the accuracy floor {}.",
        Format::Percent(1).write(floor as f64)
    ))
}

#[derive(Properties, PartialEq)]
struct ResultsProps {
    id: String,
    report: PrivacyReport,
    runs: Vec<(f64, f32, bool)>,
    max_epsilon: f64,
    max_drop: f32,
}

#[function_component(Results)]
fn results(props: &ResultsProps) -> Html {
    let (roc, tradeoff) = (use_node_ref(), use_node_ref());
    {
        let roc = roc.clone();
        use_effect_with(props.report.clone(), move |r| {
            if let Some(c) = roc.cast::<HtmlCanvasElement>() {
                // The rows' names (the table beside says which attack each faced).
                let curves: Vec<(&str, &[(f32, f32)])> = r
                    .rows
                    .iter()
                    .map(|row| (row.name.as_str(), row.curve.roc.as_slice()))
                    .collect();
                plot::roc_log(c, &curves, r.non_members, LOW_FPR);
            }
        });
    }
    {
        let tradeoff = tradeoff.clone();
        let plain = props.report.rows.first().map_or(0.0, |r| r.test_accuracy);
        let (max_epsilon, floor) = (props.max_epsilon, plain - props.max_drop);
        use_effect_with(props.runs.clone(), move |runs| {
            if let Some(c) = tradeoff.cast::<HtmlCanvasElement>() {
                plot::tradeoff(c, runs, max_epsilon, floor);
            }
        });
    }
    let (id, r) = (&props.id, &props.report);
    let percent = |v: f32| format!("{:.1}%", v * 100.0);
    let curves: Vec<(&str, &[(f32, f32)])> = r
        .rows
        .iter()
        .map(|row| (row.name.as_str(), row.curve.roc.as_slice()))
        .collect();
    let floor = r.rows.first().map_or(0.0, |r| r.test_accuracy) - props.max_drop;
    let rows = r.rows.iter().map(|row| {
        html! {
            <tr>
                <td>{ &row.name }</td>
                <td>{ Figure::show(Unit::Real, row.epsilon) }</td>
                <td>{ percent(row.test_accuracy) }</td>
                <td>{ &row.attack }</td>
                <td>{ format!("{:.2}", row.curve.auc) }</td>
                <td>{ percent(row.curve.tpr_at_low_fpr) }</td>
            </tr>
        }
    });
    html! {
        <div class="results">
            <table data-testid={format!("{id}-table")}>
                <thead><tr>
                    <th>{ "model and answers" }</th><th>{ format!("ε at δ = {:e}", r.delta) }</th><th>{ "test accuracy" }</th>
                    <th>{ "attack" }</th><th>{ "area under the ROC" }</th><th>{ "members found at 1% false positives" }</th>
                </tr></thead>
                <tbody>{ for rows }</tbody>
            </table>
            if let Some(why) = &r.no_epsilon {
                <p class="note" data-testid={format!("{id}-no-epsilon")}>{ format!("No ε for your run: {why}.") }</p>
            } else {
                <p class="note">{ format!("The accountant's best bound came from Rényi order {}.", r.order) }</p>
            }
            { plot::figure(&roc, (560, 300), &plot::roc_log_data("ROC of each row's attack, on log axes", &curves),
                "Lines in the table's order: solid orange, dashed blue, dotted green. Dashed upright line: 1% false positives. Grey diagonal: guessing.",
                &format!("{id}-roc")) }
            { plot::figure(&tradeoff, (560, 260), &tradeoff_data(&props.runs, props.max_epsilon, floor),
                "Filled blue dots: runs whose attack was held. Hollow orange rings: runs whose attack was not. Grey lines: the ε budget (upright) and the accuracy floor (level).",
                &format!("{id}-tradeoff")) }
        </div>
    }
}
