//! Workshops on the page: the instructor's maker (a link and a file, no server), and the
//! learner's side of a workshop link: joining under a name, the workshop home with only its
//! lessons, its lessons with each exercise as the learner's own instance, and the hand-in with
//! its completion codes. Every decision (the link, the instance, the thresholds, the shelf of
//! receipts, the hand-in) is the core's `workshop` module; this file only shows and stores.

use crate::app::{bind_text, download, lesson_body, Lab};
use crate::router::{Link, Route};
use crate::storage::LocalStorage;
use mlsec_core::course::Lesson;
use mlsec_core::exercise::Exercise;
use mlsec_core::progress::{KeyValueStore, ProgressBook};
use mlsec_core::receipt::Receipt;
use mlsec_core::workshop::{
    learner_key, learner_name, store_keys, thresholds, Shelf, Window, Workshop, MAX_NAME_CHARS,
};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// A workshop this browser has joined, under one name: what the lesson pages and exercises
/// of the workshop read through the [`Lab`] context.
pub struct Joined {
    pub workshop: Workshop,
    /// The link's payload, for routes back to the workshop home.
    pub link: String,
    pub learner: String,
    shelf: RefCell<Shelf>,
    /// A problem with the stored receipts the page must show (full storage, unreadable data).
    pub notice: RefCell<Option<String>>,
}

impl Joined {
    fn open(workshop: Workshop, link: String, learner: String) -> Self {
        let keys = store_keys(&workshop.id(), &learner);
        let mut notice = None;
        let shelf = match LocalStorage.get(&keys.receipts) {
            Ok(Some(text)) => Shelf::parse(&text).unwrap_or_else(|e| {
                // Kept aside, never overwritten: the learner may still rescue it.
                let aside = format!("{}.unreadable-backup", keys.receipts);
                let _ = LocalStorage.set(&aside, &text);
                notice = Some(format!(
                    "{e}; the unreadable data was kept under '{aside}'."
                ));
                Shelf::default()
            }),
            _ => Shelf::default(),
        };
        Joined {
            workshop,
            link,
            learner,
            shelf: RefCell::new(shelf),
            notice: RefCell::new(notice),
        }
    }

    /// The exercise as this learner meets it in the workshop.
    pub fn instance(&self, base: &Exercise) -> Result<Exercise, String> {
        self.workshop.instance(base, &self.learner)
    }

    /// Keeps a run's receipt for the hand-in (the latest pass, else the latest try). A full
    /// store keeps it for this visit and says so.
    pub fn keep(&self, receipt_json: &str) {
        let Ok(receipt) = Receipt::parse(receipt_json) else {
            return;
        };
        if !self.shelf.borrow_mut().keep(receipt) {
            return;
        }
        let keys = store_keys(&self.workshop.id(), &self.learner);
        let saved = LocalStorage.set(&keys.receipts, &self.shelf.borrow().to_json());
        *self.notice.borrow_mut() = saved.err().map(|_| {
            "The browser's storage is full: your receipts are kept until you close this tab. \
             Hand in now to keep them."
                .to_string()
        });
    }

    pub fn shelf(&self) -> Shelf {
        self.shelf.borrow().clone()
    }

    pub fn window(&self) -> Window {
        self.workshop.window(js_sys::Date::now() as i64)
    }
}

impl PartialEq for Joined {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

fn when(ms: i64) -> String {
    js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64))
        .to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED)
        .into()
}

/// A name fit for a file name: letters and digits, the rest as '-'.
fn slug(text: &str) -> String {
    let s: String = text
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '-' })
        .collect();
    s.trim_matches('-').chars().take(40).collect()
}

#[derive(Properties, PartialEq)]
pub struct ShellProps {
    pub link: String,
    /// The lesson to show, or the workshop home.
    #[prop_or_default]
    pub lesson: Option<String>,
}

/// Everything under `#/w/<link>`: the link read and checked, the learner's name asked for
/// once, then the workshop home or one of its lessons, with a [`Lab`] whose progress book and
/// workshop are this learner's.
#[function_component(WorkshopShell)]
pub fn workshop_shell(props: &ShellProps) -> Html {
    let lab = use_context::<Lab>().expect("lab context");
    let lessons = use_memo(lab.version, |_| lab.loaded.ready());
    let workshop = use_memo(props.link.clone(), |link| {
        Workshop::from_link(link).and_then(|w| {
            let problems = w.check(&lessons);
            if problems.is_empty() {
                Ok(w)
            } else {
                Err(format!(
                    "this workshop does not fit this version of the lab: {}",
                    problems.join("; ")
                ))
            }
        })
    });
    let workshop = match &*workshop {
        Ok(w) => w.clone(),
        Err(e) => {
            return html! {
                <div class="error" role="alert" data-testid="workshop-error">
                    <h1>{ "This workshop link cannot be opened" }</h1>
                    <p>{ format!("{}.", e.trim_end_matches('.')) }</p>
                    <p><Link to={Route::Home}>{ "Go to the lessons" }</Link></p>
                </div>
            }
        }
    };
    html! { <Learner workshop={Rc::new(workshop)} link={props.link.clone()} lesson={props.lesson.clone()} /> }
}

#[derive(Properties, PartialEq)]
struct LearnerProps {
    workshop: Rc<Workshop>,
    link: String,
    lesson: Option<String>,
}

/// The name this browser joined the workshop as, asked for when there is none. (A component of
/// its own, so that every component's hooks run on every render, none after an early return.)
#[function_component(Learner)]
fn learner(props: &LearnerProps) -> Html {
    let id = props.workshop.id();
    let learner = use_state(|| LocalStorage.get(&learner_key(&id)).ok().flatten());
    let Some(name) = (*learner).clone() else {
        return html! { <Join workshop={props.workshop.clone()} on_join={Callback::from(move |n: String| learner.set(Some(n)))} /> };
    };
    let leave = Callback::from(move |_| {
        let _ = LocalStorage.remove(&learner_key(&id));
        learner.set(None);
    });
    html! {
        <JoinedShell workshop={props.workshop.clone()} link={props.link.clone()} lesson={props.lesson.clone()}
                     {name} {leave} />
    }
}

#[derive(Properties, PartialEq)]
struct JoinedProps {
    workshop: Rc<Workshop>,
    link: String,
    lesson: Option<String>,
    name: String,
    leave: Callback<MouseEvent>,
}

/// The workshop as one learner works in it: their [`Joined`] and progress book in the context.
#[function_component(JoinedShell)]
fn joined_shell(props: &JoinedProps) -> Html {
    let lab = use_context::<Lab>().expect("lab context");
    let id = props.workshop.id();
    let joined = use_memo((id.clone(), props.name.clone()), |(_, name)| {
        Rc::new(Joined::open(
            (*props.workshop).clone(),
            props.link.clone(),
            name.clone(),
        ))
    });
    let book = use_memo((id, props.name.clone()), |(id, name)| {
        Rc::new(RefCell::new(ProgressBook::open_at(
            LocalStorage,
            &store_keys(id, name).progress,
        )))
    });
    let own = Lab {
        book: (*book).clone(),
        workshop: Some((*joined).clone()),
        ..lab
    };
    html! {
        <ContextProvider<Lab> context={own}>
            <p class="workshop-bar" data-testid="workshop-bar">
                <Link to={Route::Workshop { link: props.link.clone() }}>{ &joined.workshop.title }</Link>
                { " · working as " }<strong data-testid="workshop-learner">{ &joined.learner }</strong>{ " " }
                <button class="quiet" onclick={props.leave.clone()} data-testid="workshop-leave">{ "Not you? Change the name" }</button>
            </p>
            {
                match &props.lesson {
                    None => html! { <WorkshopHome /> },
                    Some(id) => html! { <WorkshopLesson id={id.clone()} key={id.clone()} /> },
                }
            }
        </ContextProvider<Lab>>
    }
}

#[derive(Properties, PartialEq)]
struct JoinProps {
    workshop: Rc<Workshop>,
    on_join: Callback<String>,
}

#[function_component(Join)]
fn join(props: &JoinProps) -> Html {
    let draft = use_state(String::new);
    let error = use_state(|| None::<String>);
    let oninput = bind_text(&draft);
    let onsubmit = {
        let (draft, error, on_join) = (draft.clone(), error.clone(), props.on_join.clone());
        let id = props.workshop.id();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            // A refused name keeps what was typed, with the reason.
            match learner_name(&draft) {
                Ok(name) => {
                    let _ = LocalStorage.set(&learner_key(&id), &name);
                    on_join.emit(name);
                }
                Err(why) => error.set(Some(format!("{}{}.", why[..1].to_uppercase(), &why[1..]))),
            }
        })
    };
    let w = &props.workshop;
    html! {
        <section class="workshop-join">
            <h1 data-testid="workshop-title">{ &w.title }</h1>
            <p>{ format!("A workshop of {} lessons. Enter the name your instructor will see on your hand-in. \
                 Each exercise is made for you from this name, so your neighbour's answers are not yours.", w.lessons.len()) }</p>
            <form {onsubmit}>
                <label class="field">{ "Your name" }
                    <input type="text" value={(*draft).clone()} {oninput} maxlength={(MAX_NAME_CHARS * 4).to_string()}
                           autocomplete="name" data-testid="workshop-name" />
                </label>
                <button class="primary" type="submit" data-testid="workshop-join">{ "Join the workshop" }</button>
            </form>
            if let Some(e) = &*error { <p class="error" role="alert" data-testid="workshop-name-error">{ e }</p> }
        </section>
    }
}

#[function_component(WorkshopHome)]
fn workshop_home() -> Html {
    let lab = use_context::<Lab>().expect("lab context");
    let joined = lab.workshop.clone().expect("a workshop lab");
    let w = &joined.workshop;
    let progress = lab.progress();
    let lessons = lab.loaded.ready();
    let window = joined.window();
    let status = match (window, w.opens, w.closes) {
        (Window::NotYetOpen, Some(opens), _) => {
            Some(format!("This workshop opens at {}.", when(opens)))
        }
        (Window::Closed, _, Some(closes)) => Some(format!(
            "This workshop closed at {}. You can still hand in what you did.",
            when(closes)
        )),
        (Window::Open, _, Some(closes)) => Some(format!("Open until {}.", when(closes))),
        _ => None,
    };
    let list = w.lessons.iter().filter_map(|id| lessons.iter().find(|l| &l.id == id)).map(|lesson| {
        let passed = lesson.exercises.iter().filter(|e| progress.record(&e.id).passed).count();
        html! {
            <li class="lesson">
                <Link to={Route::WorkshopLesson { link: joined.link.clone(), id: lesson.id.clone() }}>
                    <span data-testid="workshop-lesson-link">{ &lesson.meta.title }</span>
                </Link>
                <span class="count">{ format!("{passed}/{} passed", lesson.exercises.len()) }</span>
                <p>{ &lesson.meta.summary }</p>
            </li>
        }
    });
    html! {
        <>
            <h1 data-testid="workshop-title">{ &w.title }</h1>
            if let Some(s) = status { <p class="info" data-testid="workshop-window">{ s }</p> }
            if window != Window::NotYetOpen {
                <ol class="lessons" data-testid="workshop-lessons">{ for list }</ol>
            }
            <p class="meta">{ format!(
                "Hints {} · reference solutions {}",
                if w.hints { "available" } else { "off" },
                if w.solutions { "available" } else { "off" }
            ) }</p>
            <HandInPanel lessons={Rc::new(lessons)} />
            <p class="meta">
                { "For the instructor: " }
                <Link to={Route::WorkshopClass { link: joined.link.clone() }}>{ "the class view of this workshop" }</Link>
            </p>
        </>
    }
}

#[derive(Properties, PartialEq)]
struct HandInProps {
    lessons: Rc<Vec<Lesson>>,
}

/// The hand-in button and the completion code of each exercise passed.
#[function_component(HandInPanel)]
fn hand_in_panel(props: &HandInProps) -> Html {
    let lab = use_context::<Lab>().expect("lab context");
    let joined = lab.workshop.clone().expect("a workshop lab");
    let shelf = joined.shelf();
    let handin = shelf.hand_in(&joined.workshop, &joined.learner, &props.lessons);
    let codes = handin.codes();
    let titles: BTreeMap<&str, &str> = joined
        .workshop
        .exercises(&props.lessons)
        .map(|e| (e.id.as_str(), e.title.as_str()))
        .collect();
    let attempted = handin.receipts.len();
    let onclick = {
        let name = format!(
            "handin-{}-{}.json",
            slug(&joined.workshop.title),
            slug(&joined.learner)
        );
        // Written out on the click, not on every render (a hand-in can be a few MB).
        Callback::from(move |_| download(&name, &handin.to_json()))
    };
    html! {
        <section class="handin" data-testid="handin">
            <h2>{ "Hand in" }</h2>
            <p>{ format!(
                "{} of {} exercises attempted. The hand-in file holds a receipt for each: your instructor's lab re-grades every one under your name.",
                attempted, titles.len()
            ) }</p>
            <button class="primary" {onclick} disabled={attempted == 0} data-testid="handin-download">{ "Download my hand-in" }</button>
            if let Some(n) = joined.notice.borrow().clone() { <p class="warning" role="status" data-testid="handin-notice">{ n }</p> }
            if !codes.is_empty() {
                <table class="codes" data-testid="handin-codes">
                    <caption>{ "Completion codes: read one out or paste it into the chat. The class view matches each to your hand-in." }</caption>
                    <thead><tr><th scope="col">{ "Exercise" }</th><th scope="col">{ "Code" }</th></tr></thead>
                    <tbody>
                        { for codes.iter().map(|(id, code)| html! {
                            <tr><td>{ titles.get(id.as_str()).copied().unwrap_or(id) }</td>
                                <td><code data-testid={format!("code-{id}")}>{ code }</code></td></tr>
                        }) }
                    </tbody>
                </table>
            }
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct LessonProps {
    id: String,
}

#[function_component(WorkshopLesson)]
fn workshop_lesson(props: &LessonProps) -> Html {
    let lab = use_context::<Lab>().expect("lab context");
    let joined = lab.workshop.clone().expect("a workshop lab");
    let back = html! {
        <Link to={Route::Workshop { link: joined.link.clone() }}>{ "← The workshop's lessons" }</Link>
    };
    if !joined.workshop.lessons.contains(&props.id) || joined.window() == Window::NotYetOpen {
        return html! {
            <div class="error"><p>{ format!("'{}' is not a lesson of this workshop. ", props.id) }{ back }</p></div>
        };
    }
    let link = joined.link.clone();
    lesson_body(
        &lab,
        &props.id,
        back,
        &joined.workshop.lessons,
        move |id, section| match section {
            Some(section) => Route::WorkshopLessonSection {
                link: link.clone(),
                id,
                section,
            },
            None => Route::WorkshopLesson {
                link: link.clone(),
                id,
            },
        },
    )
}

/// The instructor's workshop maker: lessons in order, stricter thresholds, hints and
/// solutions, a time window and a seed; out come a link and a file.
#[function_component(WorkshopMaker)]
pub fn workshop_maker() -> Html {
    let lab = use_context::<Lab>().expect("lab context");
    let lessons = use_memo(lab.version, |_| lab.loaded.ready());
    let title = use_state(|| "Machine-learning security workshop".to_string());
    let chosen = use_state(Vec::<String>::new);
    let drafts = use_state(BTreeMap::<(String, String), String>::new);
    let hints = use_state(|| true);
    let solutions = use_state(|| true);
    let opens = use_state(String::new);
    let closes = use_state(String::new);
    let seed = use_state(|| ((js_sys::Math::random() * 1e9) as u64).to_string());
    let made = use_state(|| None::<Result<Workshop, String>>);
    let flag = |state: &UseStateHandle<bool>| {
        let state = state.clone();
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            state.set(input.checked());
        })
    };
    let toggle = |id: String| {
        let chosen = chosen.clone();
        Callback::from(move |_: Event| {
            let mut list = (*chosen).clone();
            match list.iter().position(|l| l == &id) {
                Some(i) => {
                    list.remove(i);
                }
                None => list.push(id.clone()),
            }
            chosen.set(list);
        })
    };
    let shift = |i: usize, up: bool| {
        let chosen = chosen.clone();
        Callback::from(move |_: MouseEvent| {
            let mut list = (*chosen).clone();
            let j = if up { i.checked_sub(1) } else { Some(i + 1) };
            if let Some(j) = j.filter(|&j| j < list.len()) {
                list.swap(i, j);
                chosen.set(list);
            }
        })
    };
    let make = {
        let (title, chosen, drafts, hints, solutions) = (
            title.clone(),
            chosen.clone(),
            drafts.clone(),
            hints.clone(),
            solutions.clone(),
        );
        let (opens, closes, seed, made, lessons) = (
            opens.clone(),
            closes.clone(),
            seed.clone(),
            made.clone(),
            lessons.clone(),
        );
        Callback::from(move |_| {
            let outcome = (|| {
                let seed: u64 = seed.trim().parse().map_err(|_| {
                    format!("the seed must be a whole number, not '{}'", seed.trim())
                })?;
                let mut w = Workshop::new(&title, (*chosen).clone(), seed);
                w.hints = *hints;
                w.solutions = *solutions;
                let time = |what: &str, text: &str| -> Result<Option<i64>, String> {
                    if text.trim().is_empty() {
                        return Ok(None);
                    }
                    let ms = js_sys::Date::parse(text);
                    if ms.is_nan() {
                        Err(format!("{what} '{text}' is not a date and time"))
                    } else {
                        Ok(Some(ms as i64))
                    }
                };
                w.opens = time("the opening time", &opens)?;
                w.closes = time("the closing time", &closes)?;
                for ((exercise, key), draft) in drafts.iter() {
                    if draft.trim().is_empty() || !w.exercises(&lessons).any(|e| &e.id == exercise)
                    {
                        continue;
                    }
                    let value: f64 = draft.trim().parse().map_err(|_| {
                        format!("{exercise}: {key} must be a number, not '{}'", draft.trim())
                    })?;
                    w.thresholds
                        .entry(exercise.clone())
                        .or_default()
                        .insert(key.clone(), value);
                }
                let problems = w.check(&lessons);
                if problems.is_empty() {
                    Ok(w)
                } else {
                    Err(problems.join("; "))
                }
            })();
            made.set(Some(outcome));
        })
    };
    let picker = lessons.iter().map(|l| {
        let on = chosen.contains(&l.id);
        html! {
            <li><label>
                <input type="checkbox" checked={on} onchange={toggle(l.id.clone())} data-testid={format!("maker-lesson-{}", l.id)} />
                { " " }{ &l.meta.title }
            </label></li>
        }
    });
    let order = chosen.iter().enumerate().map(|(i, id)| {
        let lesson = lessons.iter().find(|l| &l.id == id);
        let exercises = lesson.map(|l| l.exercises.clone()).unwrap_or_default();
        let thresholds = exercises.iter().map(|e| {
            let keys = thresholds(&e.task);
            let fields = keys.into_iter().map(|(key, floor)| {
                // Shown at the precision the task keeps (most thresholds are f32).
                let floor = format!("{}", floor as f32);
                let slot = (e.id.clone(), key.clone());
                let value = drafts.get(&slot).cloned().unwrap_or_default();
                let oninput = {
                    let drafts = drafts.clone();
                    Callback::from(move |ev: InputEvent| {
                        let input: HtmlInputElement = ev.target_unchecked_into();
                        let mut all = (*drafts).clone();
                        all.insert(slot.clone(), input.value());
                        drafts.set(all);
                    })
                };
                html! {
                    <label class="field">{ format!("{key} (lesson: {floor})") }
                        <input type="text" inputmode="decimal" {value} {oninput} placeholder={floor.clone()}
                               data-testid={format!("maker-{}-{key}", e.id)} />
                    </label>
                }
            });
            html! { <div class="fields"><span>{ &e.title }{ ": " }</span>{ for fields }</div> }
        });
        html! {
            <li>
                { lesson.map(|l| l.meta.title.clone()).unwrap_or_else(|| id.clone()) }{ " " }
                <button class="quiet" onclick={shift(i, true)} aria-label="Move up" disabled={i == 0}>{ "↑" }</button>
                <button class="quiet" onclick={shift(i, false)} aria-label="Move down" disabled={i + 1 == chosen.len()}>{ "↓" }</button>
                { for thresholds }
            </li>
        }
    });
    let result = match &*made {
        None => html! {},
        Some(Err(e)) => {
            html! { <p class="error" role="alert" data-testid="maker-error">{ format!("The workshop cannot be made: {e}.") }</p> }
        }
        Some(Ok(w)) => {
            let link = w.link();
            let href = Route::Workshop { link: link.clone() }.href();
            let file = w.to_file();
            let name = format!("workshop-{}.json", slug(&w.title));
            let save = Callback::from(move |_| download(&name, &file));
            html! {
                <section class="made" data-testid="maker-result">
                    <p>{ "Share this link with the learners. It holds the whole workshop, so it works on any copy of this site, offline too." }</p>
                    <input type="text" readonly=true value={href.clone()} class="link" data-testid="maker-link"
                           onfocus={Callback::from(|e: FocusEvent| { let i: HtmlInputElement = e.target_unchecked_into(); i.select(); })} />
                    <p>
                        <a href={href.clone()} data-testid="maker-open">{ "Open the workshop" }</a>{ " · " }
                        <button onclick={save} data-testid="maker-file">{ "Download the workshop file" }</button>{ " · " }
                        <a href={Route::WorkshopClass { link }.href()}>{ "Its class view" }</a>
                    </p>
                </section>
            }
        }
    };
    html! {
        <section class="workshop-maker">
            <h1>{ "Make a workshop" }</h1>
            <p>{ "Pick the lessons, in the order the learners should take them. Thresholds may be made stricter than the lesson's, never looser. Each learner gets an instance of each exercise made from their name and the workshop seed." }</p>
            <label class="field">{ "Title" }<input type="text" value={(*title).clone()} oninput={bind_text(&title)} data-testid="maker-title" /></label>
            <h2>{ "Lessons" }</h2>
            <ul class="picker">{ for picker }</ul>
            if !chosen.is_empty() {
                <h2>{ "Order and thresholds" }</h2>
                <ol class="order" data-testid="maker-order">{ for order }</ol>
            }
            <h2>{ "Settings" }</h2>
            <label><input type="checkbox" checked={*hints} onchange={flag(&hints)} data-testid="maker-hints" />{ " Hints available" }</label><br />
            <label><input type="checkbox" checked={*solutions} onchange={flag(&solutions)} data-testid="maker-solutions" />{ " Reference solutions available" }</label>
            <div class="fields">
                <label class="field">{ "Opens (optional)" }<input type="datetime-local" value={(*opens).clone()} oninput={bind_text(&opens)} data-testid="maker-opens" /></label>
                <label class="field">{ "Closes (optional)" }<input type="datetime-local" value={(*closes).clone()} oninput={bind_text(&closes)} data-testid="maker-closes" /></label>
                <label class="field">{ "Workshop seed" }<input type="text" inputmode="numeric" value={(*seed).clone()} oninput={bind_text(&seed)} data-testid="maker-seed" /></label>
            </div>
            <button class="primary" onclick={make} data-testid="maker-make">{ "Make the link" }</button>
            { result }
        </section>
    }
}
