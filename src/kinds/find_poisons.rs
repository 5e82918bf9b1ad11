//! Track B's defence view: the detector, the histogram of its scores (the worker trains the
//! recipe on the suspect set and scores every training image) with the threshold line, and the
//! removal the threshold marks; after a grade, the three models' bars, the detector's ROC and
//! how many poisons the removal caught.

use super::{ask, KindProps};
use crate::app::Lab;
use crate::plot;
use mlsec_core::chart::{self, ChartData, Format};
use mlsec_core::detectors::Detector;
use mlsec_core::exercise::{Details, Settings};
use mlsec_core::fields::parse_real;
use mlsec_core::kinds::find_poisons::{above, DetectionReport, Removal, Scores};
use mlsec_core::kinds::Task;
use mlsec_core::session::{Request, Response};
use web_sys::{HtmlCanvasElement, HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

const DETECTORS: [(Detector, &str); 3] = [
    (Detector::SpectralSignatures, "spectral-signatures"),
    (Detector::ActivationClustering, "activation-clustering"),
    (Detector::CentroidDistance, "centroid-distance"),
];

#[function_component(View)]
pub fn view(props: &KindProps) -> Html {
    let lab = use_context::<Lab>().expect("lab context");
    let task = match &props.exercise.task {
        Task::FindPoisons(posed) => Some(posed.task.clone()),
        _ => None,
    };
    let removal = match &props.settings {
        Settings::Removal(r) => r.clone(),
        _ => Removal::default(),
    };
    let detector = use_state(|| removal.detector);
    let class = use_state(|| "all".to_string());
    let threshold = use_state(|| "2".to_string());
    let all_scores = use_state(|| None::<Vec<Scores>>);
    let id = props.exercise.id.clone();
    let busy = props.busy;

    // Every detector's scores, asked of the worker once (it trains the recipe on the suspect set).
    {
        let (lab, all_scores, on_error, task) = (
            lab.clone(),
            all_scores.clone(),
            props.on_error.clone(),
            task.clone(),
        );
        use_effect_with((), move |_| {
            let answer = Callback::from(move |response| match response {
                Response::PoisonScores { scores, .. } => all_scores.set(Some(scores)),
                Response::Failed { message, .. } => on_error.emit(message),
                _ => {}
            });
            let job = task.map(|task| {
                let task = Box::new(task);
                ask(&lab, |job| Request::PoisonScores { job, task }, answer)
            });
            let worker = lab.worker.clone();
            move || {
                if let Some(job) = job {
                    worker.forget(job)
                }
            }
        });
    }
    let scores: Option<Scores> = all_scores
        .as_ref()
        .and_then(|all| all.iter().find(|s| s.detector == *detector).cloned());
    let shown_class: Option<u8> = class.parse().ok();
    let parsed = parse_real("Threshold", &threshold, f64::MIN..=f64::MAX).map(|t| t as f32);
    let histogram = use_node_ref();
    {
        let histogram = histogram.clone();
        let deps = (
            scores.clone(),
            shown_class,
            parsed.clone().ok().map(f32::to_bits),
        );
        use_effect_with(deps, move |(scores, class, bits)| {
            if let (Some(c), Some(s)) = (histogram.cast::<HtmlCanvasElement>(), scores) {
                let threshold = bits.map(f32::from_bits);
                let bins = plot::score_bins(&shown_scores(s, *class), threshold);
                plot::score_histogram(c, &bins, threshold);
            }
        });
    }
    // What "remove above the threshold" would mark, or why nothing can be marked yet.
    let marked: Result<Vec<u32>, String> = match (&scores, &parsed) {
        (_, Err(message)) => Err(message.clone()),
        (None, _) => Err("the scores are still being computed".into()),
        (Some(s), Ok(t)) => Ok(above(s, shown_class, *t)),
    };
    let remove = {
        let (on_edit, on_error, marked, detector) = (
            props.on_edit.clone(),
            props.on_error.clone(),
            marked.clone(),
            *detector,
        );
        Callback::from(move |_: MouseEvent| match &marked {
            Ok(removed) => on_edit.emit(Settings::Removal(Removal {
                detector,
                removed: removed.clone(),
            })),
            Err(message) => on_error.emit(message.clone()),
        })
    };
    let clear = {
        let (on_edit, detector) = (props.on_edit.clone(), *detector);
        Callback::from(move |_: MouseEvent| {
            on_edit.emit(Settings::Removal(Removal {
                detector,
                removed: vec![],
            }))
        })
    };
    let on_detector = {
        let detector = detector.clone();
        Callback::from(move |e: Event| {
            let select: HtmlSelectElement = e.target_unchecked_into();
            if let Some((d, _)) = DETECTORS.iter().find(|(_, v)| *v == select.value()) {
                detector.set(*d);
            }
        })
    };
    let on_class = {
        let class = class.clone();
        Callback::from(move |e: Event| {
            let select: HtmlSelectElement = e.target_unchecked_into();
            class.set(select.value());
        })
    };
    let on_threshold = {
        let threshold = threshold.clone();
        Callback::from(move |e: InputEvent| {
            let input: HtmlInputElement = e.target_unchecked_into();
            threshold.set(input.value());
        })
    };
    let where_ = match shown_class {
        Some(c) => format!("in class {c}"),
        None => "in every class".into(),
    };
    let status = match (&scores, &marked) {
        (None, _) => {
            "Scoring the training images (the worker trains the recipe on them first)…".to_string()
        }
        (Some(_), Ok(m)) => format!(
            "{} training images {where_} score above the threshold.",
            m.len()
        ),
        (Some(_), Err(message)) => format!("{message}."),
    };
    let histogram_data = {
        let threshold = parsed.clone().ok();
        let bins = match &scores {
            Some(s) => plot::score_bins(&shown_scores(s, shown_class), threshold),
            None => plot::ScoreBins {
                top: 1.0,
                counts: vec![],
            },
        };
        plot::score_histogram_data(&bins, threshold, &where_)
    };
    let report = match &props.run.details {
        Details::Detection(r) => Some(r.clone()),
        _ => None,
    };
    let max_success = task.as_ref().map_or(0.0, |t| t.max_success);
    html! {
        <>
            <div class="fields">
                <label class="field">{ "Detector" }
                    <select onchange={on_detector} disabled={busy} data-testid={format!("{id}-detector")}>
                        { for DETECTORS.iter().map(|(d, v)| html! { <option value={*v} selected={*d == *detector}>{ d.name() }</option> }) }
                    </select>
                </label>
                <label class="field">{ "Show class" }
                    <select onchange={on_class} disabled={busy} data-testid={format!("{id}-class")}>
                        <option value="all" selected={shown_class.is_none()}>{ "all" }</option>
                        { for (0..10u8).map(|c| html! { <option value={c.to_string()} selected={shown_class == Some(c)}>{ c }</option> }) }
                    </select>
                </label>
                <label class="field">{ "Threshold" }
                    <input type="text" inputmode="decimal" value={(*threshold).clone()} oninput={on_threshold} disabled={busy} data-testid={format!("{id}-threshold")} />
                </label>
            </div>
            { plot::figure(&histogram, (560, 240), &histogram_data, "Blue bars: training images per score. Orange line: the threshold.",
                &format!("{id}-histogram")) }
            <p class="note" data-testid={format!("{id}-above")}>{ status }</p>
            <div class="actions">
                <button onclick={remove} disabled={busy} data-testid={format!("{id}-remove")}>{ "Remove above the threshold" }</button>
                <button onclick={clear} disabled={busy} data-testid={format!("{id}-clear")}>{ "Keep everything" }</button>
            </div>
            <p data-testid={format!("{id}-removed")}>
                { format!("{} training images marked for removal (scored with {}).", removal.removed.len(), removal.detector.name()) }
            </p>
            { props.children.clone() }
            if let Some(report) = report {
                <Results id={id.clone()} report={report} max_success={max_success} />
            }
        </>
    }
}

/// The scores of the training images of `class` (all classes: every image).
fn shown_scores(scores: &Scores, class: Option<u8>) -> Vec<f32> {
    scores
        .scores
        .iter()
        .zip(&scores.labels)
        .filter(|(_, l)| class.is_none_or(|c| **l == c))
        .map(|(v, _)| *v)
        .collect()
}

#[derive(Properties, PartialEq)]
struct ResultsProps {
    id: String,
    report: DetectionReport,
    max_success: f32,
}

#[function_component(Results)]
fn results(props: &ResultsProps) -> Html {
    let (bars, roc) = (use_node_ref(), use_node_ref());
    {
        let (bars, roc, limit) = (bars.clone(), roc.clone(), props.max_success);
        use_effect_with(props.report.clone(), move |report| {
            if let Some(c) = bars.cast::<HtmlCanvasElement>() {
                plot::backdoor_chart(c, &report.bars, f64::from(limit));
            }
            if let Some(c) = roc.cast::<HtmlCanvasElement>() {
                plot::roc_curve(
                    c,
                    &report.roc,
                    [
                        "clean images flagged (false-positive rate)",
                        "poisons flagged",
                    ],
                    None,
                );
            }
        });
    }
    let r = &props.report;
    let id = &props.id;
    let removed = r.removed_poisons + r.removed_clean;
    let precision = f64::from(r.removed_poisons) / f64::from(removed.max(1));
    let recall = f64::from(r.removed_poisons) / f64::from(r.poisons.max(1));
    let points: Vec<(f64, f64)> = r.roc.iter().map(|&(x, y)| (x as f64, y as f64)).collect();
    let roc_data = ChartData::roc(
        format!(
            "ROC curve of {} over the suspect training set",
            r.detector.name()
        ),
        ["clean images flagged", "poisons flagged"],
        &points,
    );
    let bars_data = chart::model_bars(&r.bars).with_note(format!(
        "A pass needs the cleaned model's attack success at most {}.",
        Format::Percent(0).write(props.max_success as f64)
    ));
    html! {
        <div class="results">
            <p data-testid={format!("{id}-readout")}>
                { format!("Your removal: {} of the {} poisons (recall {:.0}%) and {} of the {} clean images; {:.0}% of what you removed were poisons (precision). The {} ROC below has an area of {:.2} (1 is a perfect ranking, 0.5 a coin toss).",
                          r.removed_poisons, r.poisons, recall * 100.0, r.removed_clean, r.clean, precision * 100.0, r.detector.name(), r.auc) }
            </p>
            { plot::figure(&roc, (360, 300), &roc_data, "Orange line: the detector's ROC. Grey diagonal: guessing.", &format!("{id}-roc")) }
            { plot::figure_beside_table(&bars, (560, 260), &bars_data,
                "Bars numbered as in the table below. Orange, left of each pair: attack success. Blue, right: clean accuracy. Faint line: the attack-success limit.",
                &format!("{id}-chart")) }
            <table data-testid={format!("{id}-bars")}>
                <thead><tr><th>{ "model" }</th><th>{ "clean accuracy" }</th><th>{ "attack success" }</th></tr></thead>
                <tbody>
                    { for r.bars.iter().enumerate().map(|(n, b)| html! {
                        <tr><td>{ format!("{}. {}", n + 1, b.model) }</td>
                            <td>{ format!("{:.1}%", b.clean_accuracy * 100.0) }</td>
                            <td>{ format!("{:.1}%", b.attack_success * 100.0) }</td></tr>
                    }) }
                </tbody>
            </table>
        </div>
    }
}
