//! Track 0's view: the shell's training fields, then the training curves.

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
