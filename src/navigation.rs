//! Finding the way through the course: the course map beside a lesson (a sidebar on wide
//! screens, a menu on narrow ones), a lesson's table of contents, search as the learner types
//! (over the index the site was built with), the keyboard shortcuts and their help dialog, and
//! the polite live region that says grades and progress aloud.

use crate::app::Lab;
use crate::lab::Search;
use crate::router::{go, Link, Route};
use mlsec_core::markdown::{Heading, ANCHOR_PREFIX};
use mlsec_core::progress::LessonState;
use mlsec_core::search::Hit;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// The id of the page's one polite live region.
const ANNOUNCER: &str = "announcer";

/// Says `text` through the polite live region (grades, progress imported). Cleared first, so
/// the same words said twice are announced twice.
pub fn announce(text: &str) {
    let Some(region) = gloo::utils::document().get_element_by_id(ANNOUNCER) else {
        return;
    };
    region.set_text_content(Some(""));
    let text = text.to_string();
    gloo::timers::callback::Timeout::new(50, move || region.set_text_content(Some(&text))).forget();
}

/// The live region itself: on every page, out of sight, read by screen readers.
#[function_component(Announcer)]
pub fn announcer() -> Html {
    html! { <div id={ANNOUNCER} class="visually-hidden" aria-live="polite" data-testid="announcer"></div> }
}

/// The page's first element matching `selector`, if it is an HTML element.
pub fn element(selector: &str) -> Option<web_sys::HtmlElement> {
    gloo::utils::document()
        .query_selector(selector)
        .ok()
        .flatten()
        .and_then(|e| e.dyn_into().ok())
}

/// Whether the learner's system asks for less motion (animations then show their end at once).
pub fn prefers_reduced_motion() -> bool {
    gloo::utils::window()
        .match_media("(prefers-reduced-motion: reduce)")
        .ok()
        .flatten()
        .is_some_and(|m| m.matches())
}

/// The keys the lab answers to, for the help dialog (the painters' own keys are listed there too).
pub const SHORTCUTS: [(&str, &str); 5] = [
    ("← or p", "previous lesson"),
    ("→ or n", "next lesson"),
    ("/ or s", "search the course"),
    ("?", "this list of keys"),
    ("Esc", "close this list"),
];

/// Whether a key pressed in `target` belongs to it (typing in a field, a painter's arrows)
/// rather than to the page's shortcuts.
fn typing_in(target: Option<web_sys::EventTarget>) -> bool {
    let Some(element) = target.and_then(|t| t.dyn_into::<web_sys::Element>().ok()) else {
        return false;
    };
    matches!(
        element.tag_name().to_ascii_lowercase().as_str(),
        "input" | "textarea" | "select" | "canvas"
    ) || element.has_attribute("contenteditable")
}

/// The page-wide keyboard shortcuts (as mdBook has them), and the help dialog `?` opens.
#[function_component(Shortcuts)]
pub fn shortcuts() -> Html {
    let open = use_state(|| false);
    {
        let open = open.clone();
        use_effect_with((), move |_| {
            // Not passive: a shortcut's key must not also type or scroll.
            let listener = gloo::events::EventListener::new_with_options(
                &gloo::utils::document(),
                "keydown",
                gloo::events::EventListenerOptions::enable_prevent_default(),
                move |event| {
                    let Some(e) = event.dyn_ref::<web_sys::KeyboardEvent>() else {
                        return;
                    };
                    if e.ctrl_key() || e.meta_key() || e.alt_key() || typing_in(e.target()) {
                        return;
                    }
                    let click = |selector: &str| element(selector).map(|a| a.click()).is_some();
                    let handled = match e.key().as_str() {
                        "ArrowLeft" | "p" => click("a.lesson-link.previous"),
                        "ArrowRight" | "n" => click("a.lesson-link.next"),
                        "/" | "s" => {
                            go(&Route::Search);
                            true
                        }
                        "?" => {
                            open.set(true);
                            true
                        }
                        "Escape" if *open => {
                            open.set(false);
                            true
                        }
                        _ => false,
                    };
                    if handled {
                        e.prevent_default();
                    }
                },
            );
            move || drop(listener)
        });
    }
    let close = {
        let open = open.clone();
        Callback::from(move |_| open.set(false))
    };
    let show = {
        let open = open.clone();
        Callback::from(move |_| open.set(true))
    };
    // Focus goes into the dialog when it opens, and back to the help button when it closes.
    {
        use_effect_with(*open, move |open| {
            let target = if *open {
                "#help-dialog button"
            } else {
                "button.help-button"
            };
            if let Some(el) = element(target) {
                if *open || el.matches(":not(:focus)").unwrap_or(false) {
                    let _ = el.focus();
                }
            }
        });
    }
    html! {
        <>
            <button class="help-button quiet-light" onclick={show} aria-haspopup="dialog" data-testid="help-open">
                { "Keys (?)" }
            </button>
            if *open {
                <div class="dialog-backdrop" onclick={close.clone()}></div>
                <div id="help-dialog" class="dialog" role="dialog" aria-modal="true" aria-labelledby="help-title" data-testid="help-dialog">
                    <h2 id="help-title">{ "Keyboard shortcuts" }</h2>
                    <table>
                        <tbody>
                            { for SHORTCUTS.iter().map(|(k, what)| html! { <tr><th scope="row"><kbd>{ *k }</kbd></th><td>{ *what }</td></tr> }) }
                        </tbody>
                    </table>
                    <p>{ "In a painter, once it has focus: " }{ mlsec_core::painter::KEYS }</p>
                    <p>{ "Shortcuts wait while you type in a field." }</p>
                    <button onclick={close}>{ "Close" }</button>
                </div>
            }
        </>
    }
}

/// The course map: every track and lesson with the learner's state in words, the lesson being
/// read marked as the current page. A sidebar on wide screens; on narrow ones a button opens it.
#[derive(Properties, PartialEq)]
pub struct CourseMapProps {
    pub current: AttrValue,
}

#[function_component(CourseMap)]
pub fn course_map(props: &CourseMapProps) -> Html {
    let lab = use_context::<Lab>().expect("lab context");
    let open = use_state(|| false);
    let progress = lab.progress();
    let toggle = {
        let open = open.clone();
        Callback::from(move |_| open.set(!*open))
    };
    let tracks = lab.loaded.course.tracks.iter().map(|track| {
        let lessons = track.lessons.iter().map(|id| {
            let (title, state) = match lab.loaded.lesson(id) {
                Some(Ok(l)) => (
                    l.meta.title.clone(),
                    Some(progress.lesson_state(l.exercises.iter().map(|e| e.id.as_str()))),
                ),
                _ => (id.clone(), None),
            };
            let current = id.as_str() == props.current.as_str();
            let mark = match state {
                Some(LessonState::Passed) => "✓",
                Some(LessonState::Started) => "◐",
                _ => "○",
            };
            let words = state.map_or("could not be loaded", |s| s.label());
            html! {
                <li class={classes!(state.map(|s| s.label().replace(' ', "-")), current.then_some("current"))}>
                    <Link to={Route::Lesson { id: id.clone() }}>
                        <span class="mark" aria-hidden="true">{ mark }</span>
                        <span aria-current={current.then_some("page")}>{ title }</span>
                        <span class="visually-hidden">{ format!(" ({words})") }</span>
                    </Link>
                </li>
            }
        });
        html! {
            <li>
                <span class="map-track">{ &track.title }</span>
                <ol>{ for lessons }</ol>
            </li>
        }
    });
    html! {
        <nav class={classes!("course-map", open.then_some("open"))} aria-label="Course map" data-testid="course-map">
            <button class="map-toggle" onclick={toggle} aria-expanded={open.to_string()} aria-controls="course-map-list" data-testid="course-map-toggle">
                { "Course map" }
            </button>
            <ul id="course-map-list">{ for tracks }</ul>
            <p class="map-key" aria-hidden="true">{ "✓ passed · ◐ started · ○ not started" }</p>
        </nav>
    }
}

/// "On this page": a long lesson's headings, each a link to its section.
pub fn table_of_contents(headings: &[Heading], to: impl Fn(String) -> Route) -> Html {
    // Short lessons read at a glance; a list of two headings only adds noise.
    let listed: Vec<&Heading> = headings.iter().filter(|h| h.level <= 3).collect();
    if listed.len() < 3 {
        return html! {};
    }
    html! {
        <nav class="toc" aria-label="On this page" data-testid="toc">
            <h2>{ "On this page" }</h2>
            <ul>
                { for listed.iter().map(|h| html! {
                    <li class={format!("level-{}", h.level)}>
                        <Link to={to(h.anchor.clone())}>{ &h.text }</Link>
                    </li>
                }) }
            </ul>
        </nav>
    }
}

/// Puts the section `anchor` of the page on screen and gives it focus (a deep link, a search
/// hit, a table-of-contents link).
pub fn show_section(anchor: &str) {
    let id = format!("{ANCHOR_PREFIX}{anchor}");
    if let Some(h) = gloo::utils::document()
        .get_element_by_id(&id)
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
    {
        let _ = h.set_attribute("tabindex", "-1");
        let _ = h.focus();
        h.scroll_into_view();
    }
}

#[derive(Properties, PartialEq)]
pub struct SearchBoxProps {
    /// Where the box starts (a page that was not found offers its own name).
    #[prop_or_default]
    pub initial: AttrValue,
    /// Focus the box when it appears (the search page; not a "not found" notice).
    #[prop_or_default]
    pub autofocus: bool,
}

/// A search box answering as the learner types: the lessons that match, each with its best
/// section, its tags and the words around the match; a query that cannot run says why and
/// keeps the text.
#[function_component(SearchBox)]
pub fn search_box(props: &SearchBoxProps) -> Html {
    let lab = use_context::<Lab>().expect("lab context");
    let query = use_state(|| props.initial.to_string());
    // Fetched when the box first shows (only this page needs it); the query typed meanwhile
    // is kept and answered once it is here.
    let search = use_state(|| None::<Result<Rc<Search>, String>>);
    {
        let (search, lab) = (search.clone(), lab.clone());
        use_effect_with(Rc::as_ptr(&lab.loaded) as usize, move |_| {
            wasm_bindgen_futures::spawn_local(async move { search.set(Some(lab.search().await)) });
        });
    }
    let input = use_node_ref();
    {
        let (input, autofocus) = (input.clone(), props.autofocus);
        use_effect_with((), move |_| {
            if let Some(i) = input.cast::<HtmlInputElement>().filter(|_| autofocus) {
                let _ = i.focus();
            }
        });
    }
    let oninput = {
        let query = query.clone();
        Callback::from(move |e: InputEvent| {
            let input: HtmlInputElement = e.target_unchecked_into();
            query.set(input.value());
        })
    };
    let outcome = match &*search {
        Some(Ok(search)) => search.index.search(&query).map_err(|e| e.to_string()),
        Some(Err(e)) => Err(format!("The search index could not be loaded: {e}")),
        None => Ok(vec![]),
    };
    let shown = query.trim();
    let status = match &outcome {
        _ if shown.is_empty() => {
            "Type a word, a phrase or a tag such as ML02 or LLM01.".to_string()
        }
        _ if search.is_none() => "Loading the search index…".to_string(),
        Err(e) => format!("{e}."),
        Ok(hits) if hits.is_empty() => format!("No lesson matches “{shown}”."),
        Ok(hits) if hits.len() == 1 => format!("1 lesson matches “{shown}”."),
        Ok(hits) => format!("{} lessons match “{shown}”.", hits.len()),
    };
    let hit = |h: &Hit| {
        let to = match &h.heading {
            Some((_, anchor)) => Route::LessonSection {
                id: h.lesson.clone(),
                section: anchor.clone(),
            },
            None => Route::Lesson {
                id: h.lesson.clone(),
            },
        };
        html! {
            <li data-testid="search-hit">
                <Link to={to}>
                    <span class="hit-title" data-testid="search-hit-title">{ &h.title }</span>
                    if let Some((heading, _)) = &h.heading {
                        <span class="hit-heading" data-testid="search-hit-heading">{ format!(" › {heading}") }</span>
                    }
                </Link>
                if !h.tags.is_empty() {
                    <span class="tags" data-testid="search-hit-tags">{ for h.tags.iter().map(|t| html! { <span class="tag">{ t }</span> }) }</span>
                }
                <p class="snippet">{ &h.snippet }</p>
            </li>
        }
    };
    html! {
        <div class="search" role="search">
            <label class="field wide">{ "Search the course" }
                <input ref={input} type="search" value={(*query).clone()} {oninput} autocomplete="off"
                       data-autofocus={props.autofocus.then_some("")} data-testid="search-input" />
            </label>
            <p class={classes!("search-status", outcome.is_err().then_some("error"))} aria-live="polite" data-testid="search-status"
               data-index={match &*search { None => "loading", Some(Ok(s)) if s.shipped => "shipped", Some(Ok(_)) => "built here", Some(Err(_)) => "failed" }}>{ status }</p>
            if let Ok(hits) = &outcome {
                <ol class="hits">{ for hits.iter().map(hit) }</ol>
            }
        </div>
    }
}

/// The search page (`#/search`, or `/` and `s` from anywhere).
#[function_component(SearchPage)]
pub fn search_page() -> Html {
    html! {
        <>
            <h1>{ "Search" }</h1>
            <SearchBox autofocus=true />
        </>
    }
}

/// What a page that is not there says: what was asked for, a way home, and a search box.
pub fn not_found(what: &str, guess: &str) -> Html {
    html! {
        <div class="not-found" data-testid="not-found">
            <h1>{ "Not found" }</h1>
            <p class="error">{ what }</p>
            <p><Link to={Route::Home}>{ "Back to the lessons" }</Link>{ ", or search for what you wanted:" }</p>
            <SearchBox initial={guess.replace('-', " ")} />
        </div>
    }
}
