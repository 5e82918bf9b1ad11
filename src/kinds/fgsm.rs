//! FGSM's view: the shell's ε field, then the target model's attack-success curve over ε, with
//! the lesson's budget and pass mark drawn on it.

use super::{ask, KindProps};
use crate::app::Lab;
use crate::plot;
use mlsec_core::chart::{ChartData, Format, Shape};
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
    let data = ChartData::new(
        "FGSM attack success on the target model against ε",
        Shape::Curve,
        "ε",
    )
    .with_x_numbers(curve.iter().map(|p| p.0 as f64), Format::Fixed(3))
    .with_series(
        "attack success",
        curve.iter().map(|p| Some(p.1 as f64)),
        Format::Percent(1),
    )
    .with_note(format!(
        "The budget is ε = {budget} and the pass mark {}.",
        Format::Percent(0).write(pass as f64)
    ));
    html! {
        <>
            { props.children.clone() }
            { plot::figure(&canvas, (560, 260), &data,
                "Orange line with dots: attack success. Grey lines: the ε budget (upright) and the pass mark (level).",
                &format!("{}-chart", props.exercise.id)) }
        </>
    }
}
