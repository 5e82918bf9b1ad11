//! The 8×8 painter both painting exercises share: a canvas that takes clicks and, once focused,
//! the keyboard (the core's `painter` says which key does what), with the pixel under the
//! cursor said in a polite live line. The exercise decides what a stroke does to its settings.

use crate::plot;
use mlsec_core::painter::{describe, key_action, KeyAction, Stroke, KEYS};
use web_sys::HtmlCanvasElement;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct PainterProps {
    /// The image as drawn (0 white, 1 black).
    pub image: Vec<f32>,
    /// A red overlay per pixel (gradient saliency), if shown.
    #[prop_or_default]
    pub saliency: Option<Vec<f32>>,
    /// Pixels outlined as changed (or in the trigger).
    pub marked: Vec<bool>,
    /// What an outlined pixel is, in words ("changed", "in the trigger").
    pub marked_word: AttrValue,
    /// What the canvas is, for screen readers; the keys are added to it.
    pub label: AttrValue,
    pub testid: AttrValue,
    /// A stroke at a pixel, from a click or a key.
    pub on_stroke: Callback<(u32, Stroke)>,
}

#[function_component(Painter)]
pub fn painter(props: &PainterProps) -> Html {
    let canvas = use_node_ref();
    let cursor = use_state(|| 0u32);
    // The cursor is drawn (and said) only while the painter has the keyboard.
    let focused = use_state(|| false);
    {
        let canvas = canvas.clone();
        let deps = (
            props.image.clone(),
            props.saliency.clone(),
            props.marked.clone(),
            focused.then_some(*cursor),
        );
        use_effect_with(deps, move |(image, saliency, marked, cursor)| {
            if let Some(c) = canvas.cast::<HtmlCanvasElement>() {
                plot::digit(&c, image, saliency.as_deref(), marked, *cursor);
            }
        });
    }
    let onclick = {
        let (on_stroke, cursor) = (props.on_stroke.clone(), cursor.clone());
        Callback::from(move |e: MouseEvent| {
            if let Some(pixel) = plot::cell_at(&e) {
                cursor.set(pixel);
                on_stroke.emit((pixel, Stroke::Apply));
            }
        })
    };
    let onkeydown = {
        let (on_stroke, cursor) = (props.on_stroke.clone(), cursor.clone());
        Callback::from(move |e: KeyboardEvent| {
            if e.ctrl_key() || e.meta_key() || e.alt_key() {
                return;
            }
            match key_action(&e.key(), *cursor) {
                Some(KeyAction::Move(to)) => cursor.set(to),
                Some(KeyAction::Stroke(stroke)) => on_stroke.emit((*cursor, stroke)),
                None => return,
            }
            // The page neither scrolls on an arrow or Space nor takes the key as a shortcut.
            e.prevent_default();
            e.stop_propagation();
        })
    };
    let (onfocus, onblur) = {
        let (on, off) = (focused.clone(), focused.clone());
        (
            Callback::from(move |_: FocusEvent| on.set(true)),
            Callback::from(move |_: FocusEvent| off.set(false)),
        )
    };
    let here = props.image.get(*cursor as usize).copied().unwrap_or(0.0);
    let marked = props.marked.get(*cursor as usize).copied().unwrap_or(false);
    let testid = &props.testid;
    html! {
        <div class="painter-grid">
            <canvas ref={canvas} class="digit" width="320" height="320" tabindex="0"
                    role="application" aria-roledescription="8 by 8 pixel painter"
                    aria-label={format!("{} {KEYS}", props.label)}
                    {onclick} {onkeydown} {onfocus} {onblur}
                    data-testid={testid.to_string()}></canvas>
            <p class="cursor-line" aria-live="polite" data-testid={format!("{testid}-cursor")}>
                if *focused { { describe(*cursor, here, marked, &props.marked_word) } }
            </p>
        </div>
    }
}
