//! Track C's attribute-inference view: the candidate values (typed, comma-separated) and whether
//! the prior counts, beside the shell's weight field; after a run, the attack's accuracy against
//! the prior's on the model's training people and on people it never saw, and each value's share.

use super::KindProps;
use mlsec_core::exercise::{Details, Settings};
use mlsec_core::kinds::attribute_inference::AttributeReport;
use web_sys::HtmlInputElement;
use yew::prelude::*;

#[function_component(View)]
pub fn view(props: &KindProps) -> Html {
    let Settings::AttributeAttack(attack) = &props.settings else {
        return html! {};
    };
    let id = props.exercise.id.clone();
    let text = use_state(|| attack.candidates.join(", "));
    // Settings loaded from outside (the reference) replace what the box shows.
    {
        let (text, candidates) = (text.clone(), attack.candidates.clone());
        use_effect_with(candidates.clone(), move |_| {
            if split(&text) != candidates {
                text.set(candidates.join(", "));
            }
        });
    }
    let on_candidates = {
        let (text, attack, on_edit) = (text.clone(), attack.clone(), props.on_edit.clone());
        Callback::from(move |e: InputEvent| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let mut attack = attack.clone();
            attack.candidates = split(&input.value());
            text.set(input.value());
            on_edit.emit(Settings::AttributeAttack(attack));
        })
    };
    let on_prior = {
        let (attack, on_edit) = (attack.clone(), props.on_edit.clone());
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let mut attack = attack.clone();
            attack.use_prior = input.checked();
            on_edit.emit(Settings::AttributeAttack(attack));
        })
    };
    let report = match &props.run.details {
        Details::Attribute(r) => Some(r.clone()),
        _ => None,
    };
    html! {
        <>
            <div class="fields">
                <label class="field wide">{ "Candidate values to try (comma-separated, as the data set writes them)" }
                    <input type="text" value={(*text).clone()} oninput={on_candidates} disabled={props.busy}
                           spellcheck="false" autocomplete="off" data-testid={format!("{id}-candidates")} />
                </label>
                <label class="field">
                    <input type="checkbox" checked={attack.use_prior} onchange={on_prior} disabled={props.busy}
                           data-testid={format!("{id}-prior")} />
                    { " start each score from how common the value is (its prior)" }
                </label>
            </div>
            { props.children.clone() }
            if let Some(r) = report {
                <Results {id} report={r} />
            }
        </>
    }
}

/// The typed candidates: comma-separated, spaces around each trimmed, empty ones dropped.
fn split(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(String::from)
        .collect()
}

#[derive(Properties, PartialEq)]
struct ResultsProps {
    id: String,
    report: AttributeReport,
}

#[function_component(Results)]
fn results(props: &ResultsProps) -> Html {
    let (id, r) = (&props.id, &props.report);
    let percent = |v: f32| format!("{:.1}%", v * 100.0);
    html! {
        <div class="results">
            <table data-testid={format!("{id}-table")}>
                <thead><tr><th>{ "guessing the " }{ r.attribute.replace('_', " ") }</th><th>{ "people the model trained on" }</th><th>{ "people it never saw" }</th></tr></thead>
                <tbody>
                    <tr><td>{ "your attack" }</td><td>{ percent(r.attack.members) }</td><td>{ percent(r.attack.non_members) }</td></tr>
                    <tr><td>{ format!("the prior alone (always {})", r.most_common) }</td><td>{ percent(r.prior.members) }</td><td>{ percent(r.prior.non_members) }</td></tr>
                </tbody>
            </table>
            <p class="note">{ format!("The census model predicts income right for {} of its training people and {} of the others. The values and their shares: {}.",
                percent(r.train_accuracy), percent(r.test_accuracy),
                r.values.iter().map(|(v, s)| format!("{v} {}", percent(*s))).collect::<Vec<_>>().join(", ")) }</p>
        </div>
    }
}
