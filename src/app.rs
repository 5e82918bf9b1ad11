//! The app shell: the page each route names (the routes are [`crate::router`]'s), the shared
//! context (course, worker, progress), the home page and the lesson page.

use crate::course_worker::CourseWorkerHandle;
use crate::exercise_view::ExerciseView;
use crate::instructor::InstructorPages;
use crate::lab::{load_course, load_search, recheck, Loaded, Search};
use crate::navigation::{
    element, not_found, show_section, table_of_contents, Announcer, CourseMap, SearchBox,
    SearchPage, Shortcuts,
};
use crate::router::{use_route, Link, Route, Router};
use crate::storage::LocalStorage;
use crate::worker::WorkerHandle;
use crate::workshop::{Joined, WorkshopShell};
use mlsec_core::course::{neighbours, Lesson};
use mlsec_core::markdown::Segment;
use mlsec_core::progress::{too_large, LessonState, Progress, ProgressBook, Resume, STORE_KEY};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// What every page and exercise shares.
#[derive(Clone)]
pub struct Lab {
    pub loaded: Rc<Loaded>,
    pub worker: Rc<WorkerHandle>,
    pub book: Rc<RefCell<ProgressBook<LocalStorage>>>,
    /// Bumped on every progress change so that views re-render.
    pub version: u32,
    pub changed: Callback<()>,
    /// In a workshop: the workshop and the learner (`book` is then theirs, kept apart).
    pub workshop: Option<Rc<Joined>>,
    /// Makes the course from its files when the page must (loaded on first use).
    pub course_worker: Rc<CourseWorkerHandle>,
    /// The search index once the search page asked for it, with the course it indexes.
    pub search: Rc<RefCell<Option<(Rc<Loaded>, Rc<Search>)>>>,
}

impl PartialEq for Lab {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.loaded, &other.loaded)
            && Rc::ptr_eq(&self.book, &other.book)
            && self.version == other.version
            && self.workshop == other.workshop
    }
}

impl Lab {
    /// The search index of the course shown: fetched (or built) the first time it is asked
    /// for, then kept until the course changes.
    pub async fn search(&self) -> Result<Rc<Search>, String> {
        if let Some((loaded, search)) = &*self.search.borrow() {
            if Rc::ptr_eq(loaded, &self.loaded) {
                return Ok(search.clone());
            }
        }
        let search = Rc::new(load_search(&self.loaded, &self.course_worker).await?);
        *self.search.borrow_mut() = Some((self.loaded.clone(), search.clone()));
        Ok(search)
    }

    pub fn progress(&self) -> Progress {
        self.book.borrow().progress().clone()
    }
    pub fn update(&self, change: impl FnOnce(&mut Progress)) {
        self.book.borrow_mut().update(change);
        self.changed.emit(());
    }
}

/// Bumped on every progress change, this tab's or another's, so that views re-render. A
/// reducer, so that a listener made once (the `storage` event) never bumps a stale value.
#[derive(PartialEq)]
struct Version(u32);

impl Reducible for Version {
    type Action = ();
    fn reduce(self: Rc<Self>, _: ()) -> Rc<Self> {
        Rc::new(Version(self.0.wrapping_add(1)))
    }
}

#[function_component(App)]
pub fn app() -> Html {
    html! {
        <Router>
            <header class="top">
                <Link to={Route::Home} classes="brand">{ "MLSec Lab" }</Link>
                <span class="tagline">{ "Attack and defend real models, in your browser" }</span>
                <OfflineBadge />
                <Link to={Route::Search} classes="search-link">{ "Search" }</Link>
                <Shortcuts />
            </header>
            <main>
                <LabProvider>
                    <CurrentPage />
                    <FocusOnRouteChange />
                </LabProvider>
            </main>
            <Announcer />
        </Router>
    }
}

#[derive(Properties, PartialEq)]
pub struct LabProviderProps {
    pub children: Html,
}

/// Loads the course (then rechecks it against the lesson files), opens the progress book and
/// the workers' handles, and gives the pages below it the [`Lab`]: the page's app has one, and
/// so has the instructors' module ([`crate::instructor`]), which runs beside it.
#[function_component(LabProvider)]
pub fn lab_provider(props: &LabProviderProps) -> Html {
    let loaded = use_state(|| None::<Result<Rc<Loaded>, String>>);
    let worker = use_memo((), |_| WorkerHandle::new());
    let course_worker = use_memo((), |_| CourseWorkerHandle::default());
    let book = use_memo((), |_| RefCell::new(ProgressBook::open(LocalStorage)));
    let search = use_memo((), |_| RefCell::new(None));
    let version = use_reducer(|| Version(0));
    {
        let (loaded, worker) = (loaded.clone(), course_worker.clone());
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                let first = load_course(&worker).await.map(Rc::new);
                loaded.set(Some(first.clone()));
                // Once the course shows, see whether the lesson files on the host still say
                // what the site's bundle says (an instructor may have edited them since).
                if let Ok(first) = first {
                    gloo::timers::future::TimeoutFuture::new(0).await;
                    if let Some(fresh) = recheck(&first, &worker).await {
                        loaded.set(Some(fresh.map(Rc::new)));
                    }
                }
            });
        });
    }
    {
        // Another tab of the lab saved progress: fold it in and show it here too.
        let (book, bump) = (book.clone(), version.dispatcher());
        use_effect_with((), move |_| {
            let listener =
                gloo::events::EventListener::new(&gloo::utils::window(), "storage", move |event| {
                    let key = event
                        .dyn_ref::<web_sys::StorageEvent>()
                        .and_then(|e| e.key());
                    // No key: the whole storage was cleared.
                    if key.is_none() || key.as_deref() == Some(STORE_KEY) {
                        book.borrow_mut().refresh();
                        bump.dispatch(());
                    }
                });
            move || drop(listener)
        });
    }
    match &*loaded {
        None => html! { <p class="loading">{ "Loading the course…" }</p> },
        Some(Err(e)) => html! {
            <div class="error" data-testid="course-error">
                <h2>{ "The course could not be loaded" }</h2>
                <p>{ e }</p>
            </div>
        },
        Some(Ok(l)) => {
            let bump = version.dispatcher();
            let lab = Lab {
                loaded: l.clone(),
                worker: (*worker).clone(),
                // One book for the app's lifetime (a memo), shared through the context.
                book: book.clone(),
                version: version.0,
                changed: Callback::from(move |_| bump.dispatch(())),
                workshop: None,
                search: Rc::clone(&search),
                course_worker: course_worker.clone(),
            };
            html! {
                <ContextProvider<Lab> context={lab}>
                    { props.children.clone() }
                </ContextProvider<Lab>>
            }
        }
    }
}

/// Whether the site is kept offline: what start.js hears from the service worker
/// (`mlsecOffline`, announced by an `mlsec-offline` event), with the bytes saved while the
/// first visit saves the site, models included.
#[function_component(OfflineBadge)]
fn offline_badge() -> Html {
    let read = || {
        let state = js_sys::Reflect::get(&js_sys::global(), &"mlsecOffline".into()).ok()?;
        let field = |k: &str| js_sys::Reflect::get(&state, &k.into()).ok();
        let text = |k: &str| field(k).and_then(|v| v.as_string());
        let number = |k: &str| field(k).and_then(|v| v.as_f64()).unwrap_or(0.0);
        let mb = |b: f64| format!("{:.1} MB", b / 1e6);
        Some(match text("state")?.as_str() {
            "ready" => ("ready", "Available offline".to_string()),
            "saving" if number("total") > 0.0 => (
                "saving",
                format!(
                    "Saving for offline use: {} of {}",
                    mb(number("done")),
                    mb(number("total"))
                ),
            ),
            "saving" => ("saving", "Saving for offline use…".to_string()),
            "update" => (
                "update",
                "A new version is saved: it starts when every tab of the lab is closed".to_string(),
            ),
            "failed" => (
                "failed",
                format!(
                    "Not saved for offline use: {}",
                    text("reason").unwrap_or_default()
                ),
            ),
            _ => (
                "unavailable",
                format!("Not kept offline: {}", text("reason").unwrap_or_default()),
            ),
        })
    };
    let status = use_state(read);
    {
        let status = status.clone();
        use_effect_with((), move |_| {
            let listener = gloo::events::EventListener::new(
                &gloo::utils::window(),
                "mlsec-offline",
                move |_| status.set(read()),
            );
            move || drop(listener)
        });
    }
    match &*status {
        None => html! {},
        Some((state, text)) => html! {
            <span class={classes!("offline", *state)} role="status" data-testid="offline-status" data-state={*state}>{ text }</span>
        },
    }
}

/// Moves focus to the new page's heading when the route changes (not on the first page a visit
/// opens), so that a screen reader announces the page and the keyboard starts from its top, and
/// a "next lesson" link clicked at the foot of a lesson shows the next one from its start. A
/// route to a section (a deep link too) shows that section and focuses its heading.
#[function_component(FocusOnRouteChange)]
fn focus_on_route_change() -> Html {
    let route = use_route();
    let previous = use_mut_ref(|| None::<Route>);
    use_effect_with(route, move |route| {
        let changed = matches!(&*previous.borrow(), Some(p) if p != route);
        *previous.borrow_mut() = Some(route.clone());
        if let Some(section) = route.section() {
            let section = section.to_string();
            gloo::timers::callback::Timeout::new(0, move || show_section(&section)).forget();
        } else if changed {
            // After the new page has been drawn.
            gloo::timers::callback::Timeout::new(0, focus_page_start).forget();
        }
    });
    html! {}
}

/// Focuses where the page shown starts: the field of a page whose first job is typing
/// (search), else its heading. (The instructors' module calls it once its page is drawn, which
/// is after the route changed.)
pub fn focus_page_start() {
    if let Some(field) = element("main [data-autofocus]") {
        let _ = field.focus();
    } else if let Some(h) = element("main h1") {
        let _ = h.set_attribute("tabindex", "-1");
        let _ = h.focus();
    }
}

/// The page the route names.
#[function_component(CurrentPage)]
fn current_page() -> Html {
    let route = use_route();
    match route.clone() {
        Route::Home => html! { <Home /> },
        Route::Lesson { id } => html! { <LessonPage id={id.clone()} key={id} /> },
        Route::LessonSection { id, section } => {
            html! { <LessonPage id={id.clone()} section={section} key={id} /> }
        }
        Route::Search => html! { <SearchPage /> },
        Route::Workshop { link } => html! { <WorkshopShell {link} /> },
        Route::WorkshopLesson { link, id } | Route::WorkshopLessonSection { link, id, .. } => {
            html! { <WorkshopShell {link} lesson={id} /> }
        }
        // The instructors' pages: their own module (one stand-in for all of them, which tells
        // the module each route).
        Route::WorkshopNew | Route::WorkshopClass { .. } | Route::Class | Route::Receipt => {
            html! { <InstructorPages {route} /> }
        }
        Route::NotFound => not_found("There is no such page.", ""),
    }
}

#[function_component(Home)]
fn home() -> Html {
    let lab = use_context::<Lab>().expect("lab context");
    let progress = lab.progress();
    let loaded = &lab.loaded;
    // The tag the lessons are filtered by (none: every lesson).
    let filter = use_state(|| None::<String>);
    let mut all_tags: Vec<String> = loaded
        .ready_lessons()
        .flat_map(|l| l.meta.owasp.iter().chain(&l.meta.atlas).cloned())
        .collect();
    all_tags.sort();
    all_tags.dedup();
    let shown = |lesson: &Lesson| {
        filter
            .as_ref()
            .is_none_or(|t| lesson.meta.owasp.contains(t) || lesson.meta.atlas.contains(t))
    };
    let chips = all_tags.iter().map(|t| {
        let on = filter.as_deref() == Some(t.as_str());
        let onclick = {
            let (filter, t) = (filter.clone(), t.clone());
            Callback::from(move |_| filter.set(if on { None } else { Some(t.clone()) }))
        };
        html! {
            <button class={classes!("tag-filter", on.then_some("on"))} aria-pressed={on.to_string()} {onclick}
                    data-testid={format!("filter-{}", t.replace([':', '.'], "-"))}>{ t }</button>
        }
    });
    let tracks = loaded.course.tracks.iter().filter(|track| {
        filter.is_none() || track.lessons.iter().any(|id| matches!(loaded.lesson(id), Some(Ok(l)) if shown(l)))
    }).map(|track| {
        let lessons = track.lessons.iter().map(|id| match loaded.lesson(id) {
            Some(Ok(lesson)) if !shown(lesson) => html! {},
            Some(Ok(lesson)) => lesson_card(lesson, &progress),
            Some(Err(e)) => html! {
                <li class="lesson broken" data-testid="lesson-error"><strong>{ id }</strong>{ ": this lesson could not be loaded: " }{ e }</li>
            },
            None => html! {},
        });
        html! {
            <section class="track" data-testid="track">
                <h2>{ &track.title }</h2>
                <p>{ &track.summary }</p>
                <ul class="lessons">{ for lessons }</ul>
            </section>
        }
    });
    html! {
        <>
            <h1>{ &loaded.course.title }</h1>
            { continue_link(loaded, &progress) }
            <ProgressPanel />
            if !loaded.problems.is_empty() {
                <details class="warning" data-testid="content-problems">
                    <summary>{ format!("{} problems in the lesson files (for instructors)", loaded.problems.len()) }</summary>
                    <ul>{ for loaded.problems.iter().map(|p| html! { <li>{ p }</li> }) }</ul>
                </details>
            }
            <nav class="tag-filters" aria-label="Filter the lessons by tag" data-testid="tag-filters">
                <span>{ "Filter by tag: " }</span>{ for chips }
                if filter.is_some() {
                    <button class="quiet" onclick={let f = filter.clone(); Callback::from(move |_| f.set(None))} data-testid="filter-clear">{ "Show every lesson" }</button>
                }
            </nav>
            { for tracks }
            <section class="instructors" data-testid="instructors">
                <h2>{ "For instructors" }</h2>
                <p>
                    <Link to={Route::WorkshopNew}>{ "Make a workshop" }</Link>{ " · " }
                    <Link to={Route::Class}>{ "Class view (re-grade hand-ins)" }</Link>{ " · " }
                    <Link to={Route::Receipt}>{ "Check one receipt" }</Link>
                </p>
            </section>
        </>
    }
}

/// "Continue where you left off" (or, before any work, where the course starts), worked out
/// from progress alone, so it travels with an exported progress file.
fn continue_link(loaded: &Loaded, progress: &Progress) -> Html {
    let lessons: Vec<(String, Vec<String>)> = loaded
        .course
        .lesson_order()
        .into_iter()
        .filter_map(|id| match loaded.lesson(&id) {
            Some(Ok(l)) => {
                let exercises = l.exercises.iter().map(|e| e.id.clone()).collect();
                Some((id, exercises))
            }
            _ => None,
        })
        .collect();
    let (label, id) = match progress.resume_at(&lessons) {
        Some(Resume::Start(id)) => ("Start the course: ", id),
        Some(Resume::Continue(id)) => ("Continue where you left off: ", id),
        None => return html! {},
    };
    html! {
        <p class="continue">
            { label }
            <Link to={Route::Lesson { id: id.to_string() }}>
                <span data-testid="continue-link">{ loaded.title(id) }</span>
            </Link>
        </p>
    }
}

fn tags(lesson: &Lesson) -> Html {
    let owasp = lesson.meta.owasp.iter().map(|t| match mlsec_core::tags::owasp(t) {
        Ok(d) => html! {
            <>
                <span class="tag owasp" title={d.title.clone()}>{ &d.id }</span>
                if let Some((id, name)) = &d.in_2026 {
                    <span class="tag owasp later" title={format!("OWASP Top 10 for LLM Applications 2026: {name}")}
                          data-testid="tag-2026">{ format!("{id} in 2026") }</span>
                }
            </>
        },
        Err(_) => html! { <span class="tag owasp" title="not an entry of the lists the lab knows">{ t }</span> },
    });
    let atlas = lesson.meta.atlas.iter().map(|t| {
        let title = mlsec_core::tags::atlas(t).map_or_else(|e| e, |d| d.title);
        html! { <span class="tag atlas" {title}>{ t }</span> }
    });
    html! { <span class="tags">{ for owasp }{ for atlas }</span> }
}

fn lesson_card(lesson: &Lesson, progress: &Progress) -> Html {
    let passed = lesson
        .exercises
        .iter()
        .filter(|e| progress.record(&e.id).passed)
        .count();
    let total = lesson.exercises.len();
    let state = progress.lesson_state(lesson.exercises.iter().map(|e| e.id.as_str()));
    let status = match state {
        LessonState::Passed => "done",
        LessonState::Started => "started",
        LessonState::NotStarted => "",
    };
    html! {
        <li class={classes!("lesson", status)}>
            <Link to={Route::Lesson { id: lesson.id.clone() }}>
                <span data-testid="lesson-link">{ &lesson.meta.title }</span>
            </Link>
            { " " }{ tags(lesson) }
            <span class="count" data-testid="lesson-state">{ format!("{} · {passed}/{total}", state.label()) }</span>
            <p>{ &lesson.meta.summary }</p>
        </li>
    }
}

/// Progress summary, export and import. An import is checked whole before anything changes.
#[function_component(ProgressPanel)]
fn progress_panel() -> Html {
    let lab = use_context::<Lab>().expect("lab context");
    let error = use_state(|| None::<String>);
    let info = use_state(|| None::<String>);
    // Counted over the course's exercises, never over whatever the store holds.
    let passed = lab.progress().passed_among(lab.loaded.exercise_ids());
    let total = lab.loaded.exercise_count();
    let notice = lab.book.borrow().notice.clone();
    let export = {
        let lab = lab.clone();
        Callback::from(move |_| download("mlsec-progress.json", &lab.progress().to_json()))
    };
    let import = {
        let (lab, error, info) = (lab.clone(), error.clone(), info.clone());
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let Some(file) = input.files().and_then(|f| f.get(0)) else {
                return;
            };
            input.set_value("");
            if let Some(why) = too_large(file.size() as u64) {
                info.set(None);
                error.set(Some(format!(
                    "{}: {why}. Nothing was changed.",
                    file.name()
                )));
                return;
            }
            let (lab, error, info) = (lab.clone(), error.clone(), info.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let name = file.name();
                let text = gloo::file::futures::read_as_text(&gloo::file::File::from(file)).await;
                let outcome = match text {
                    Err(e) => Err(format!("{name} could not be read ({e})")),
                    Ok(text) => lab
                        .book
                        .borrow_mut()
                        .import(&text, |id| lab.loaded.has_exercise(id))
                        .map_err(|e| format!("{name}: {e}")),
                };
                match outcome {
                    Ok(imported) => {
                        error.set(None);
                        crate::navigation::announce(&imported.describe(&name));
                        info.set(Some(imported.describe(&name)));
                        lab.changed.emit(());
                    }
                    Err(message) => {
                        info.set(None);
                        error.set(Some(format!("{message}. Your progress was not changed.")));
                    }
                }
            });
        })
    };
    html! {
        <section class="progress-panel">
            <p data-testid="progress-summary">{ format!("{passed} of {total} exercises passed") }</p>
            if let Some(c) = lab.progress().calibration() {
                <p class="calibration" data-testid="calibration">{ c.describe() }</p>
            }
            if let Some(n) = notice { <p class="warning" data-testid="progress-notice">{ n }</p> }
            <button onclick={export} data-testid="progress-export">{ "Export progress" }</button>
            <label class="button">{ "Import progress… " }
                <input type="file" accept=".json,application/json" onchange={import} data-testid="progress-import" />
            </label>
            if let Some(e) = &*error { <p class="error" role="alert" data-testid="progress-error">{ e }</p> }
            if let Some(i) = &*info { <p class="info" data-testid="progress-info">{ i }</p> }
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct LessonProps {
    id: String,
    /// The section the route names, if any.
    #[prop_or_default]
    section: Option<String>,
}

/// A lesson of the course, with the course map beside it.
#[function_component(LessonPage)]
fn lesson_page(props: &LessonProps) -> Html {
    let lab = use_context::<Lab>().expect("lab context");
    let order = lab.loaded.course.lesson_order();
    let id = &props.id;
    let lesson = match lab.loaded.lesson(id) {
        None => {
            return not_found(&format!("There is no lesson '{id}'."), id);
        }
        Some(lesson) => lesson,
    };
    let missing_section = match (lesson, &props.section) {
        (Ok(_), Some(s)) if !lab.loaded.rendered(id).has_section(s) => Some(s.clone()),
        _ => None,
    };
    html! {
        <div class="with-map">
            <CourseMap current={id.clone()} />
            <div class="map-beside">
                if let Some(s) = missing_section {
                    <div class="notice" data-testid="section-not-found">
                        <p class="error">{ format!("This lesson has no section '{s}'; here it is from the top. Looking for something else?") }</p>
                        <SearchBox initial={s.replace('-', " ")} />
                    </div>
                }
                { lesson_body(
                    &lab,
                    id,
                    html! { <Link to={Route::Home}>{ "← All lessons" }</Link> },
                    &order,
                    |id, section| match section {
                        Some(section) => Route::LessonSection { id, section },
                        None => Route::Lesson { id },
                    },
                ) }
            </div>
        </div>
    }
}

/// A lesson: its text with the exercises in place, each as the learner meets it (in a
/// workshop: their own instance at the workshop's thresholds), `back` above it, a table of
/// contents for a long one, and links to the lessons before and after it in `order` below it.
/// `to` gives the route of a lesson, or of one of its sections.
pub fn lesson_body(
    lab: &Lab,
    id: &str,
    back: Html,
    order: &[String],
    to: impl Fn(String, Option<String>) -> Route,
) -> Html {
    let lesson = match lab.loaded.lesson(id) {
        None => {
            return html! { <div class="error"><p>{ format!("There is no lesson '{id}'. ") }{ back }</p></div> }
        }
        Some(Err(e)) => {
            return html! { <div class="error" data-testid="lesson-error"><p>{ format!("This lesson could not be loaded: {e}") }</p></div> }
        }
        Some(Ok(lesson)) => lesson,
    };
    let rendered = lab.loaded.rendered(id);
    let segments = rendered.segments.iter().map(|segment| match segment {
        // Safe by construction (the core writes every tag) before it gets here.
        Segment::Html(html) => Html::from_html_unchecked(AttrValue::from(html.clone())),
        Segment::Exercise(id) => match lesson.exercise(id) {
            Some(exercise) => {
                let exercise = match &lab.workshop {
                    None => Ok(exercise.clone()),
                    Some(joined) => joined.instance(exercise),
                };
                match exercise {
                    // Keyed, so moving to another lesson makes a fresh component instead of
                    // reusing state.
                    Ok(exercise) => html! { <ExerciseView key={id.clone()} exercise={Rc::new(exercise)} /> },
                    Err(e) => html! { <p class="error">{ format!("(exercise '{id}' cannot be set for this workshop: {e})") }</p> },
                }
            }
            None => html! { <p class="error">{ format!("(exercise '{id}' is missing from exercises.toml)") }</p> },
        },
    });
    html! {
        <article class="lesson-page">
            <p class="crumbs">{ back }</p>
            <h1>{ &lesson.meta.title }</h1>
            <p class="meta">{ tags(lesson) }{ format!(" · about {} minutes", lesson.meta.minutes) }</p>
            { table_of_contents(&rendered.headings, |anchor| to(id.to_string(), Some(anchor))) }
            <div class="lesson-body" data-testid="lesson-body">{ for segments }</div>
            if !lesson.meta.papers.is_empty() {
                <section class="papers"><h2>{ "References" }</h2><ul>{ for lesson.meta.papers.iter().map(|p| html! { <li>{ p }</li> }) }</ul></section>
            }
            { lesson_links(lab, id, order, |id| to(id, None)) }
        </article>
    }
}

/// "Previous" and "next" at a lesson's end, named by the lessons' titles.
fn lesson_links(lab: &Lab, id: &str, order: &[String], to: impl Fn(String) -> Route) -> Html {
    let (previous, next) = neighbours(order, id);
    if previous.is_none() && next.is_none() {
        return html! {};
    }
    let link = |id: &str, rel: &'static str, label: &'static str| {
        html! {
            <Link to={to(id.to_string())} classes={classes!("lesson-link", rel)}>
                <span class="lesson-link-label">{ label }</span>
                <span data-testid={format!("lesson-{rel}")}>{ lab.loaded.title(id) }</span>
            </Link>
        }
    };
    html! {
        <nav class="lesson-links" aria-label="Previous and next lesson">
            if let Some(p) = previous { { link(p, "previous", "← Previous") } }
            if let Some(n) = next { { link(n, "next", "Next →") } }
        </nav>
    }
}

/// A text field's `oninput` that keeps what is typed in `state`, as typed.
pub fn bind_text(state: &UseStateHandle<String>) -> Callback<InputEvent> {
    let state = state.clone();
    Callback::from(move |e: InputEvent| {
        let input: HtmlInputElement = e.target_unchecked_into();
        state.set(input.value());
    })
}

/// Offers `text` as a file download (a Blob URL on a detached link; nothing leaves the page).
pub fn download(name: &str, text: &str) {
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(if name.ends_with(".csv") {
        "text/csv"
    } else {
        "application/json"
    });
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options) else {
        return;
    };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
        return;
    };
    if let Some(link) = gloo::utils::document()
        .create_element("a")
        .ok()
        .and_then(|e| e.dyn_into::<web_sys::HtmlAnchorElement>().ok())
    {
        link.set_href(&url);
        link.set_download(name);
        link.click();
    }
    let _ = web_sys::Url::revoke_object_url(&url);
}
