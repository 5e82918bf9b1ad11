//! Adversarial training's view: the shell's training fields, then the training curves (test
//! accuracy on clean images; the grader's PGD runs once, at the end).

use super::{KindProps, TrainingChart};
use yew::prelude::*;

#[function_component(View)]
pub fn view(props: &KindProps) -> Html {
    html! {
        <>
            { props.children.clone() }
            <TrainingChart ..props.clone() />
        </>
    }
}
