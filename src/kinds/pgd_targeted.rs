//! Targeted PGD's view: the attack's numbers are the shell's fields; the grade says the rest.

use super::KindProps;
use yew::prelude::*;

#[function_component(View)]
pub fn view(props: &KindProps) -> Html {
    html! { <>{ props.children.clone() }</> }
}
