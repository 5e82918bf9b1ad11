//! FGSM's view: the shell's ε field, then the target model's attack-success curve over ε, with
//! the lesson's budget and pass mark drawn on it.

use super::{ask, KindProps};
use crate::app::Lab;
use crate::plot;
use mlsec_core::kinds::Task;
use mlsec_core::session::{Request, Response};
use web_sys::HtmlCanvasElement;
use yew::prelude::*;

#[function_component(View)]
pub fn view(props: &KindProps) -> Html {
    let lab = use_context::<Lab>().expect("lab context");
    let curve = use_state(Vec::<(f32, f32)>::new);
    {
        let (curve, on_error) = (curve.clone(), props.on_error.clone());
        use_effect_with((), move |_| {
            let epsilons = (0..=12).map(|i| i as f32 * 0.025).collect();
            let answer = Callback::from(move |response| match response {
                Response::Curve { points, .. } => curve.set(points),
                Response::Failed { message, .. } => on_error.emit(message),
                _ => {}
            });
            let job = ask(&lab, |job| Request::FgsmCurve { job, epsilons }, answer);
            let worker = lab.worker.clone();
            move || worker.forget(job)
        });
    }
    let (budget, pass) = match &props.exercise.task {
        Task::Fgsm(posed) => (posed.task.epsilon_budget, posed.task.min_success),
        _ => (0.0, 0.0),
    };
    let canvas = use_node_ref();
    {
        let canvas = canvas.clone();
        use_effect_with((*curve).clone(), move |points| {
            if let (Some(c), false) = (canvas.cast::<HtmlCanvasElement>(), points.is_empty()) {
                plot::success_curve(c, points, budget, pass);
            }
        });
    }
    html! {
        <>
            { props.children.clone() }
            <canvas ref={canvas} width="560" height="260" class="chart" data-testid={format!("{}-chart", props.exercise.id)}></canvas>
        </>
    }
}
