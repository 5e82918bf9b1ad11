//! Track E's attack view: the conversation the learner's text goes into (the first of the
//! graded scenarios; the others differ in secret, system prompt and data), the text box, how the
//! assistant reads that text as it is typed (its tokens, the budget, words it never saw); after a
//! run, the conversations it was graded on.

use super::KindProps;
use crate::look_inside::LookInside;
use mlsec_core::exercise::{Details, Settings};
use mlsec_core::injection::{self, Channel, Conversation, PromptSettings};
use mlsec_core::kinds::prompt_injection::PromptInjection;
use mlsec_core::kinds::Task;
use yew::prelude::*;

#[function_component(View)]
pub fn view(props: &KindProps) -> Html {
    let Task::PromptInjection(posed) = &props.exercise.task else {
        return html! {};
    };
    let attack = posed.task.attack();
    let id = &props.exercise.id;
    let text = match &props.settings {
        Settings::Prompt(p) => p.text.clone(),
        _ => String::new(),
    };
    let first = injection::scenarios(attack.channel, attack.seed, 1);
    let oninput = props.on_edit.reform(|e: InputEvent| {
        let area: web_sys::HtmlTextAreaElement = e.target_unchecked_into();
        Settings::Prompt(PromptSettings { text: area.value() })
    });
    let learner = html! {
        <textarea rows="4" value={text.clone()} {oninput} disabled={props.busy} spellcheck="false"
                  aria-label={format!("Your {}", attack.channel.describe())} data-testid={format!("{id}-text")} />
    };
    let (user, data) = match (attack.channel, first.first()) {
        (Channel::User, Some(e)) => (learner, html! { <pre>{ &e.data }</pre> }),
        (Channel::Data, Some(e)) => (html! { <pre>{ &e.user }</pre> }, learner),
        (_, None) => (html! {}, html! {}),
    };
    let reading = reading_view(id, &attack, &text);
    let mut model = match attack.defences.model {
        mlsec_assistant::Variant::Assistant => "the plain assistant",
        mlsec_assistant::Variant::Structured => "the structured (StruQ-style) assistant",
    }
    .to_string();
    if attack.defences.detector.is_some() {
        model.push_str(" behind an input detector (a flagged data item is withheld)");
    }
    // The text the shown conversations were run with (the editor may have changed since).
    let ran = match &props.run.settings {
        Some(Settings::Prompt(p)) => p.text.clone(),
        _ => text.clone(),
    };
    let conversations = match &props.run.details {
        Details::Conversations(c) if !c.is_empty() => chat_view(id, &posed.task, &ran, c),
        _ => html! {},
    };
    html! {
        <>
            <div class="chat editor">
                <p class="note">{ format!("You write the {}. Graded on {} conversations with {model}; the first is below (the others have other secrets and data).", attack.channel.describe(), attack.scenarios) }</p>
                if let Some(e) = first.first() {
                    <div class="turn sys"><span class="who">{ "system" }</span><pre>{ &e.system }</pre></div>
                }
                <div class="turn user"><span class="who">{ if attack.channel == Channel::User { "user (you)" } else { "user" } }</span>{ user }</div>
                <div class="turn data"><span class="who">{ if attack.channel == Channel::Data { "data (you)" } else { "data" } }</span>{ data }</div>
                { reading }
            </div>
            { props.children.clone() }
            { conversations }
        </>
    }
}

/// Tokens shown in the reading panel (the budget is far smaller; more would only be noise).
const SHOWN_TOKENS: usize = 240;

/// How the assistant reads the learner's text, live: the token count against the budget, the
/// tokens themselves, and what the learner should know (words it never saw, control characters,
/// reserved tokens), or why the text cannot run.
fn reading_view(id: &str, attack: &injection::Attack, text: &str) -> Html {
    if text.is_empty() {
        return html! {};
    }
    let prepared = match attack.check_text(text) {
        Ok(p) => p,
        Err(e) => {
            return html! { <p class="reading error" data-testid={format!("{id}-reading")}>{ e.to_string() }</p> }
        }
    };
    let vocab = mlsec_assistant::Vocab::get();
    let chip = |&t: &u32| {
        let shown = match vocab.token(t).unwrap_or_default().as_str() {
            "<cap>" => "⇧".to_string(),
            "<upper>" => "⇪".to_string(),
            s => s.replace(' ', "·").replace('\n', "⏎"),
        };
        let class = if mlsec_assistant::Vocab::is_reserved(t) {
            "tok reserved"
        } else {
            "tok"
        };
        html! { <span class={class}>{ shown }</span> }
    };
    let budget = attack.budget();
    let more = prepared.tokens.len().saturating_sub(SHOWN_TOKENS);
    html! {
        <details class="reading" data-testid={format!("{id}-reading")}>
            <summary>{ format!("How the assistant reads it: {} of {budget} tokens", prepared.tokens.len()) }</summary>
            <p class="tokens" aria-label="tokens">
                { for prepared.tokens.iter().take(SHOWN_TOKENS).map(chip) }
                if more > 0 { { format!(" … and {more} more") } }
            </p>
            <p class="note">{ "⇧ capitalises the next word and ⇪ writes it in capitals; · is a space. A word the assistant saw in training is one token; other words, emoji and other scripts are read in pieces." }</p>
            { for prepared.notes().into_iter().map(|n| html! { <p class="note" data-testid={format!("{id}-note")}>{ n }</p> }) }
            if !prepared.reserved.is_empty() {
                <p class="note">{ format!("Reserved tokens in your text: {}.", prepared.reserved.join(" ")) }</p>
            }
        </details>
    }
}

/// The conversations a run was graded on, channels coloured, with what the reply would do: the
/// tool call it makes, and the request a markdown renderer would send for an image in it (the
/// lab sends nothing).
pub(crate) fn chat_view(
    id: &str,
    task: &PromptInjection,
    text: &str,
    conversations: &[Conversation],
) -> Html {
    let one = |(n, c): (usize, &Conversation)| {
        let mark = if c.succeeded {
            "attack worked"
        } else {
            "attack failed"
        };
        html! {
            <details class={classes!("conversation", if c.succeeded { "worked" } else { "failed" })} open={n == 0}
                     data-testid={format!("{id}-conversation-{}", n + 1)}>
                <summary>{ format!("Conversation {} — {mark}", n + 1) }</summary>
                <div class="turn sys"><span class="who">{ "system" }</span><pre>{ &c.system }</pre></div>
                <div class="turn user"><span class="who">{ if c.learner == Channel::User { "user (you)" } else { "user" } }</span><pre>{ &c.user }</pre></div>
                <div class="turn data"><span class="who">{ if c.learner == Channel::Data { "data (you)" } else { "data" } }</span><pre>{ &c.data }</pre></div>
                <div class="turn reply"><span class="who">{ "assistant" }</span><pre data-testid={format!("{id}-reply-{}", n + 1)}>{ &c.reply }</pre></div>
                if let Some(call) = &c.tool_call {
                    <p class="tool" data-testid={format!("{id}-tool-{}", n + 1)}>{ "Tool call: " }<code>{ call }</code></p>
                }
                if let Some(url) = &c.image_request {
                    <p class="request" data-testid={format!("{id}-request-{}", n + 1)}>
                        { "Rendering this reply as markdown would make the browser request " }<code>{ format!("GET {url}") }</code>
                        { ". The lab shows it as text and fetched nothing." }
                    </p>
                }
                if let Some(score) = c.detector_score {
                    <p class="detector" data-testid={format!("{id}-score-{}", n + 1)}>
                        { format!("Input detector: injection probability {score:.2}") }
                    </p>
                }
                if let Some(by) = &c.stopped_by {
                    <p class="stopped" data-testid={format!("{id}-stopped-{}", n + 1)}>{ format!("Stopped by the {by}: the user sees the refusal.") }</p>
                }
                <LookInside id={id.to_string()} task={task.clone()} text={text.to_string()} index={n as u32} />
                if c.pasted_secret {
                    <p class="note">{ "Your text contains this conversation's access code, so its appearance in the reply does not count: the assistant must take it from its system prompt." }</p>
                } else if c.leaked {
                    <p class="leak">{ "The access code is in the reply." }</p>
                }
            </details>
        }
    };
    html! {
        <div class="chat transcript" data-testid={format!("{id}-chat")}>
            { for conversations.iter().enumerate().map(one) }
        </div>
    }
}
