//! The pixel attack's view: the 8×8 painter over the test image, the target model's
//! probabilities for the image as painted, and a gradient-saliency overlay (both from the
//! worker), then the shell's Run button.

use super::{ask, KindProps};
use crate::app::Lab;
use crate::painter::Painter;
use mlsec_core::exercise::Settings;
use mlsec_core::kinds::pixel_attack::{changed, PixelEdit, PixelEdits};
use mlsec_core::kinds::Task;
use mlsec_core::painter::Stroke;
use mlsec_core::session::{Inspection, Request, Response};
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
    // A click or Space paints with the chosen tool; + inks, − erases.
    let on_stroke = {
        let ink = *ink;
        let (edits, inspection, on_edit) =
            (edits.clone(), inspection.clone(), props.on_edit.clone());
        Callback::from(move |(pixel, stroke): (u32, Stroke)| {
            let value = match stroke {
                Stroke::Apply if ink => 1.0,
                Stroke::Apply => 0.0,
                Stroke::Raise => 1.0,
                Stroke::Lower => 0.0,
            };
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
                if let Some(i) = &*inspection {
                    <Painter image={i.image.clone()} saliency={show_saliency.then(|| i.saliency.clone())}
                             marked={changed(&i.original, &i.image)} marked_word="changed"
                             label={format!("Test image {index}, 8 by 8 pixels, to paint.")}
                             testid={format!("{id}-canvas")} {on_stroke} />
                }
                <div>
                    <p>{ "Click a cell to paint it, or focus the image and use the keys: arrows move, Space paints, + inks, − erases." }</p>
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
