//! The pixel attack's view: the 8×8 painter over the test image, the target model's
//! probabilities for the image as painted, and a gradient-saliency overlay (both from the
//! worker), then the shell's Run button.

use super::{ask, KindProps};
use crate::app::Lab;
use crate::plot;
use mlsec_core::exercise::Settings;
use mlsec_core::kinds::pixel_attack::{changed, PixelEdit, PixelEdits};
use mlsec_core::kinds::Task;
use mlsec_core::session::{Inspection, Request, Response};
use web_sys::HtmlCanvasElement;
use yew::prelude::*;

#[function_component(View)]
pub fn view(props: &KindProps) -> Html {
    let lab = use_context::<Lab>().expect("lab context");
    let ink = use_state(|| true);
    let show_saliency = use_state(|| true);
    let inspection = use_state(|| None::<Inspection>);
    let (index, max_pixels) = match &props.exercise.task {
        Task::PixelAttack(posed) => (posed.task.image_index, posed.task.max_pixels),
        _ => (0, 0),
    };
    let edits: Vec<PixelEdit> = match &props.settings {
        Settings::Pixels(p) => p.edits.clone(),
        _ => vec![],
    };
    // Every change of the edits asks the worker what the model now makes of the image.
    {
        let (inspection, on_error) = (inspection.clone(), props.on_error.clone());
        use_effect_with(edits.clone(), move |edits| {
            let edits = edits.clone();
            let answer = Callback::from(move |response| match response {
                Response::Inspected { inspection: i, .. } => inspection.set(Some(i)),
                Response::Failed { message, .. } => on_error.emit(message),
                _ => {}
            });
            let job = ask(&lab, |job| Request::Inspect { job, index, edits }, answer);
            let worker = lab.worker.clone();
            move || worker.forget(job)
        });
    }
    let digit = use_node_ref();
    {
        let digit = digit.clone();
        let deps = ((*inspection).clone(), *show_saliency);
        use_effect_with(deps, move |(inspection, show_saliency)| {
            if let (Some(canvas), Some(i)) = (digit.cast::<HtmlCanvasElement>(), inspection) {
                let saliency = show_saliency.then_some(i.saliency.as_slice());
                plot::digit(&canvas, &i.image, saliency, &changed(&i.original, &i.image));
            }
        });
    }
    let paint = {
        let ink = *ink;
        let (edits, inspection, on_edit) =
            (edits.clone(), inspection.clone(), props.on_edit.clone());
        Callback::from(move |e: MouseEvent| {
            let Some(pixel) = plot::cell_at(&e) else {
                return;
            };
            let value = if ink { 1.0 } else { 0.0 };
            // One edit per pixel (the core puts them in pixel order for the run); painting a
            // pixel back to its original value removes its edit.
            let mut edits = edits.clone();
            edits.retain(|e| e.pixel != pixel);
            let original = inspection
                .as_ref()
                .and_then(|i| i.original.get(pixel as usize).copied());
            if original != Some(value) {
                edits.push(PixelEdit { pixel, value });
            }
            on_edit.emit(Settings::Pixels(PixelEdits { edits }));
        })
    };
    let reset = {
        let on_edit = props.on_edit.clone();
        Callback::from(move |_| on_edit.emit(Settings::Pixels(PixelEdits { edits: vec![] })))
    };
    let id = &props.exercise.id;
    let readout = inspection.as_ref().map(|i| {
        let predicted = i
            .probabilities
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(c, _)| c)
            .unwrap_or(0);
        let count = changed(&i.original, &i.image).into_iter().filter(|c| *c).count();
        let bars = i.probabilities.iter().enumerate().map(|(c, p)| {
            html! { <li class={classes!((c == predicted).then_some("top"))}>{ format!("{c}: {:.1}%", p * 100.0) }</li> }
        });
        html! {
            <div class="readout" data-testid={format!("{id}-readout")}>
                <p>{ format!("True label {} · model says {} · {count} of {max_pixels} pixels changed", i.label, predicted) }</p>
                <ol class="probabilities">{ for bars }</ol>
            </div>
        }
    });
    let set_ink = |on: bool| {
        let ink = ink.clone();
        Callback::from(move |_| ink.set(on))
    };
    let toggle_saliency = {
        let show = show_saliency.clone();
        Callback::from(move |_| show.set(!*show))
    };
    html! {
        <>
            <div class="painter">
                <canvas ref={digit} width="320" height="320" class="digit" onclick={paint} data-testid={format!("{id}-canvas")}></canvas>
                <div>
                    <p>{ "Click a cell to paint it." }</p>
                    <label><input type="radio" checked={*ink} onchange={set_ink(true)} data-testid={format!("{id}-ink")} />{ " ink (1.0)" }</label>
                    <label><input type="radio" checked={!*ink} onchange={set_ink(false)} data-testid={format!("{id}-erase")} />{ " erase (0.0)" }</label>
                    <label><input type="checkbox" checked={*show_saliency} onchange={toggle_saliency} />{ " gradient saliency overlay (red)" }</label>
                    <button onclick={reset}>{ "Reset image" }</button>
                    { for readout }
                </div>
            </div>
            { props.children.clone() }
        </>
    }
}
