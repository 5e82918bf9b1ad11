//! Track C's membership view: the known members' and non-members' losses as two histograms on a
//! log scale (the worker trains the target to measure them) with the learner's threshold, typed
//! beside them; after a grade, the challenge ROC with the threshold's point, and its rates.

use super::{ask, KindProps};
use crate::app::Lab;
use crate::plot;
use mlsec_core::chart::ChartData;
use mlsec_core::exercise::{Details, Settings};
use mlsec_core::fields::parse_real;
use mlsec_core::kinds::membership::{show, KnownLosses, LossThreshold, MembershipReport};
use mlsec_core::kinds::Task;
use mlsec_core::session::{Request, Response};
use web_sys::{HtmlCanvasElement, HtmlInputElement};
use yew::prelude::*;

#[function_component(View)]
pub fn view(props: &KindProps) -> Html {
    let lab = use_context::<Lab>().expect("lab context");
    let Task::MembershipThreshold(posed) = &props.exercise.task else {
        return html! {};
    };
    let task = posed.task.clone();
    let threshold = match &props.settings {
        Settings::LossThreshold(t) => t.threshold,
        _ => f64::NAN,
    };
    let text = use_state(|| show(threshold));
    // The known records' losses once the worker answers, or why it could not.
    let known = use_state(|| None::<Result<KnownLosses, String>>);
    let id = props.exercise.id.clone();
    {
        let (lab, known) = (lab.clone(), known.clone());
        use_effect_with((), move |_| {
            let answer = Callback::from(move |response| match response {
                Response::MembershipLosses { known: losses, .. } => known.set(Some(Ok(losses))),
                Response::Failed { message, .. } => known.set(Some(Err(message))),
                _ => {}
            });
            let task = Box::new(task);
            let job = ask(&lab, |job| Request::MembershipLosses { job, task }, answer);
            let worker = lab.worker.clone();
            move || worker.forget(job)
        });
    }
    // Settings loaded from outside (the reference) replace what the box shows; NaN came from the
    // box itself (text that is not a number), which stays as typed.
    {
        let text = text.clone();
        use_effect_with(threshold.to_bits(), move |_| {
            if !threshold.is_nan()
                && parse_real("Loss threshold", &text, 0.0..=f64::MAX).ok() != Some(threshold)
            {
                text.set(show(threshold));
            }
        });
    }
    let parsed = parse_real("Loss threshold", &text, 0.0..=f64::MAX);
    let on_input = {
        let (text, on_edit) = (text.clone(), props.on_edit.clone());
        Callback::from(move |e: InputEvent| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let value = input.value();
            // A box that does not read as a number leaves NaN in the settings, which a run
            // refuses; the reason is shown under the box as it is typed.
            let threshold =
                parse_real("Loss threshold", &value, 0.0..=f64::MAX).unwrap_or(f64::NAN);
            text.set(value);
            on_edit.emit(Settings::LossThreshold(LossThreshold { threshold }));
        })
    };
    let histogram = use_node_ref();
    {
        let histogram = histogram.clone();
        let drawn = (*known).clone().and_then(Result::ok);
        use_effect_with(
            (drawn, parsed.clone().ok().map(f64::to_bits)),
            move |(known, t)| {
                if let (Some(c), Some(known)) = (histogram.cast::<HtmlCanvasElement>(), known) {
                    let bins = plot::loss_bins(&known.members, &known.non_members);
                    plot::loss_histograms(c, &bins, t.map(f64::from_bits));
                }
            },
        );
    }
    let readout = match (&*known, &parsed) {
        (_, Err(why)) => why.clone(),
        (Some(Ok(k)), Ok(t)) => {
            let below = |l: &[f64]| l.iter().filter(|&&x| x <= *t).count();
            format!(
                "Among the known records, {} of {} members and {} of {} non-members have a loss at or below {}.",
                below(&k.members),
                k.members.len(),
                below(&k.non_members),
                k.non_members.len(),
                show(*t)
            )
        }
        (Some(Err(why)), _) => format!("The target could not be trained: {why}"),
        (None, _) => "Training the target to measure the known records' losses…".into(),
    };
    let histogram_data = {
        let bins = match &*known {
            Some(Ok(k)) => plot::loss_bins(&k.members, &k.non_members),
            _ => plot::loss_bins(&[], &[]),
        };
        let mut data = plot::loss_histograms_data(&bins, parsed.clone().ok());
        if !matches!(&*known, Some(Ok(_))) {
            // Before the losses arrive there is nothing to count: say so, not "0 in all".
            data.x.clear();
        }
        data
    };
    let report = match &props.run.details {
        Details::Membership(r) => Some(r.clone()),
        _ => None,
    };
    html! {
        <>
            { plot::figure(&histogram, (560, 260), &histogram_data,
                "Blue bars, left of each pair: members. Orange, right: non-members. Black line: your threshold.",
                &format!("{id}-histogram")) }
            <div class="fields">
                <label class="field">{ "Loss threshold (at or below: a member)" }
                    <input type="text" inputmode="decimal" value={(*text).clone()} oninput={on_input} disabled={props.busy}
                           data-testid={format!("{id}-threshold")} />
                </label>
            </div>
            <p class="note" role="status" data-testid={format!("{id}-known")}>{ readout }</p>
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
    report: MembershipReport,
}

/// The challenge ROC with the learner's operating point, and the figures beside it.
#[function_component(Results)]
fn results(props: &ResultsProps) -> Html {
    let chart = use_node_ref();
    {
        let chart = chart.clone();
        use_effect_with(props.report.clone(), move |r| {
            if let Some(c) = chart.cast::<HtmlCanvasElement>() {
                plot::roc_curve(
                    c,
                    &r.roc,
                    [
                        "non-members called members (false-positive rate)",
                        "members found",
                    ],
                    Some((r.false_positive_rate, r.true_positive_rate)),
                );
            }
        });
    }
    let (id, r) = (&props.id, &props.report);
    let percent = |v: f32| format!("{:.1}%", v * 100.0);
    let points: Vec<(f64, f64)> = r.roc.iter().map(|&(x, y)| (x as f64, y as f64)).collect();
    let roc_data = ChartData::roc(
        "ROC of the loss as a membership score on the challenge records",
        ["non-members called members", "members found"],
        &points,
    )
    .with_note(format!(
        "Your threshold finds {} of the members at {} false positives.",
        percent(r.true_positive_rate),
        percent(r.false_positive_rate)
    ));
    html! {
        <div class="results">
            { plot::figure(&chart, (560, 260), &roc_data,
                "Orange line: the ROC of the loss as a membership score on the challenge records. Dot: your threshold. Grey diagonal: guessing.",
                &format!("{id}-roc")) }
            <table data-testid={format!("{id}-rates")}>
                <tbody>
                    <tr><td>{ "members found (true-positive rate)" }</td><td>{ percent(r.true_positive_rate) }</td></tr>
                    <tr><td>{ "non-members called members (false-positive rate)" }</td><td>{ percent(r.false_positive_rate) }</td></tr>
                    <tr><td>{ "membership advantage" }</td><td>{ percent(r.true_positive_rate - r.false_positive_rate) }</td></tr>
                    <tr><td>{ "area under the ROC (any threshold)" }</td><td>{ format!("{:.2}", r.auc) }</td></tr>
                    <tr><td>{ "target accuracy: training images, test split" }</td><td>{ format!("{}, {}", percent(r.train_accuracy), percent(r.test_accuracy)) }</td></tr>
                </tbody>
            </table>
        </div>
    }
}
