//! Predict, then run: before an exercise's first run the learner may commit to what its key
//! figure will reach (the lesson's question); the prediction is kept with their progress and,
//! after the run, shown beside the result. Optional, and gone once there is a run.

use crate::app::{bind_text, Lab};
use mlsec_core::exercise::Exercise;
use mlsec_core::fields::parse_real;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct PredictProps {
    pub exercise: std::rc::Rc<Exercise>,
}

#[function_component(PredictBox)]
pub fn predict_box(props: &PredictProps) -> Html {
    let lab = use_context::<Lab>().expect("lab context");
    let text = use_state(String::new);
    let error = use_state(|| None::<String>);
    let Some(predict) = &props.exercise.predict else {
        return html! {};
    };
    let id = &props.exercise.id;
    let record = lab.progress().record(id);
    if let Some(p) = &record.prediction {
        return html! { <p class="prediction" data-testid={format!("{id}-prediction")}>{ p.describe() }</p> };
    }
    if record.attempts > 0 {
        return html! {};
    }
    let commit = {
        let (lab, text, error) = (lab.clone(), text.clone(), error.clone());
        let (id, figure) = (id.clone(), predict.figure.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let parsed = parse_real("Your prediction", &text, 0.0..=100.0);
            match parsed {
                Err(message) => error.set(Some(message)),
                Ok(percent) => {
                    let mut outcome = Ok(());
                    lab.update(|p| outcome = p.predict(&id, &figure, percent / 100.0));
                    error.set(outcome.err());
                }
            }
        })
    };
    html! {
        <form class="predict" onsubmit={commit} data-testid={format!("{id}-predict-form")}>
            <p><strong>{ "Predict, then run (optional). " }</strong>{ &predict.question }</p>
            <label class="field">{ format!("Your prediction: {} (%)", predict.figure) }
                <input type="text" inputmode="decimal" value={(*text).clone()} oninput={bind_text(&text)}
                       autocomplete="off" data-testid={format!("{id}-prediction-value")} />
            </label>
            <button type="submit" data-testid={format!("{id}-predict")}>{ "Commit my prediction" }</button>
            if let Some(e) = &*error { <p class="error" role="alert" data-testid={format!("{id}-prediction-error")}>{ e }</p> }
        </form>
    }
}
