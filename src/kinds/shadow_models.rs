//! Track C's shadow-model view: the attack's choices (the statistic, the test, the spread)
//! beside the shell's number fields (shadows, epochs, share of the pool, seed); after a grade,
//! the attack's ROC and the loss threshold's on log axes with the 1% line, and their figures.

use super::KindProps;
use crate::plot;
use mlsec_core::exercise::{Details, Settings};
use mlsec_core::kinds::shadow_models::{ShadowReport, Spread, Statistic, Test, LOW_FPR};
use web_sys::{HtmlCanvasElement, HtmlSelectElement};
use yew::prelude::*;

#[function_component(View)]
pub fn view(props: &KindProps) -> Html {
    let Settings::ShadowAttack(attack) = &props.settings else {
        return html! {};
    };
    let id = &props.exercise.id;
    // One select per choice: its test id, label, options (value, text), the current value, and
    // how a chosen value changes the attack.
    type Apply = fn(&mut mlsec_core::kinds::shadow_models::ShadowAttack, &str);
    let choices: [(&str, &str, &[(&str, &str)], &str, Apply); 3] = [
        (
            "statistic",
            "Statistic per model",
            &[
                ("loss", "loss on the label"),
                (
                    "scaled-logit",
                    "confidence on the logit scale, log(p / (1 − p))",
                ),
            ],
            match attack.statistic {
                Statistic::Loss => "loss",
                Statistic::ScaledLogit => "scaled-logit",
            },
            |a, v| {
                a.statistic = if v == "loss" {
                    Statistic::Loss
                } else {
                    Statistic::ScaledLogit
                }
            },
        ),
        (
            "test",
            "Test",
            &[
                ("offline", "offline: how far above the OUT shadows"),
                ("online", "online: IN against OUT likelihood ratio"),
            ],
            match attack.test {
                Test::Offline => "offline",
                Test::Online => "online",
            },
            |a, v| {
                a.test = if v == "offline" {
                    Test::Offline
                } else {
                    Test::Online
                }
            },
        ),
        (
            "spread",
            "Spread of each Gaussian",
            &[
                ("per-record", "each record's own shadows"),
                ("global", "one spread pooled over all records"),
            ],
            match attack.spread {
                Spread::PerRecord => "per-record",
                Spread::Global => "global",
            },
            |a, v| {
                a.spread = if v == "global" {
                    Spread::Global
                } else {
                    Spread::PerRecord
                }
            },
        ),
    ];
    let selects = choices.iter().map(|&(key, label, options, current, apply)| {
        let (attack, on_edit) = (attack.clone(), props.on_edit.clone());
        let onchange = Callback::from(move |e: Event| {
            let select: HtmlSelectElement = e.target_unchecked_into();
            let mut attack = attack.clone();
            apply(&mut attack, &select.value());
            on_edit.emit(Settings::ShadowAttack(attack));
        });
        html! {
            <label class="field">{ label }
                <select {onchange} disabled={props.busy} data-testid={format!("{id}-{key}")}>
                    { for options.iter().map(|(v, text)| html! { <option value={v.to_string()} selected={*v == current}>{ *text }</option> }) }
                </select>
            </label>
        }
    });
    let report = match &props.run.details {
        Details::Shadow(r) => Some(r.clone()),
        _ => None,
    };
    html! {
        <>
            <div class="fields">{ for selects }</div>
            { props.children.clone() }
            if let Some(report) = report {
                <Results id={id.clone()} report={report} />
            }
        </>
    }
}

#[derive(Properties, PartialEq)]
struct ResultsProps {
    id: String,
    report: ShadowReport,
}

/// Both attacks' ROC on log axes with the 1% line, and the figures beside them.
#[function_component(Results)]
fn results(props: &ResultsProps) -> Html {
    let chart = use_node_ref();
    {
        let chart = chart.clone();
        use_effect_with(props.report.clone(), move |r| {
            if let Some(c) = chart.cast::<HtmlCanvasElement>() {
                plot::roc_log(
                    c,
                    &[
                        ("the target's loss alone", &r.loss_threshold.roc),
                        ("your shadow-model attack", &r.attack.roc),
                    ],
                    r.non_members,
                    LOW_FPR,
                );
            }
        });
    }
    let (id, r) = (&props.id, &props.report);
    let percent = |v: f32| format!("{:.1}%", v * 100.0);
    html! {
        <div class="results">
            { plot::figure(&chart, (560, 300), &plot::roc_log_data(
                    "ROC of your shadow-model attack and of the target's loss alone, on log axes",
                    &[("the target's loss alone", &r.loss_threshold.roc), ("your shadow-model attack", &r.attack.roc)]),
                "Solid orange line: the target's loss alone. Dashed blue line: your shadow-model attack. Dashed upright line: 1% false positives. Grey diagonal: guessing.",
                &format!("{id}-roc")) }
            <table data-testid={format!("{id}-rates")}>
                <thead><tr><th>{ "attack" }</th><th>{ "members found at 1% false positives" }</th><th>{ "area under the ROC" }</th></tr></thead>
                <tbody>
                    <tr><td>{ "your shadow-model attack" }</td><td>{ percent(r.attack.tpr_at_low_fpr) }</td><td>{ format!("{:.2}", r.attack.auc) }</td></tr>
                    <tr><td>{ "the target's loss alone" }</td><td>{ percent(r.loss_threshold.tpr_at_low_fpr) }</td><td>{ format!("{:.2}", r.loss_threshold.auc) }</td></tr>
                </tbody>
            </table>
            <p class="note">{ format!("{} members and {} non-members in the pool; test accuracy: target {}, shadows {} on average.",
                                      r.members, r.non_members, percent(r.target_test_accuracy), percent(r.shadow_test_accuracy)) }</p>
        </div>
    }
}
