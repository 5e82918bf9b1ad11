//! Fetching the lab's content from the site it is served from (never from anywhere else): the
//! course bundle the build wrote, or the course files, which the course worker parses.

use crate::course_worker::CourseWorkerHandle;
use mlsec_core::course::{
    Bundle, Course, CourseRequest, CourseResponse, Lesson, LessonFiles, Sources,
};

use mlsec_core::course::paths;
use mlsec_core::markdown::Rendered;
use mlsec_core::search::{self, SearchIndex};

async fn get(url: &str) -> Result<gloo::net::http::Response, String> {
    let response = gloo::net::http::Request::get(url)
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    if !response.ok() {
        return Err(format!(
            "{url}: the server answered {} {}",
            response.status(),
            response.status_text()
        ));
    }
    Ok(response)
}

/// A text file, read as bytes and checked as UTF-8 here: one copy into the module's memory,
/// where `Response.text()` decodes to a JavaScript string that is then encoded back into UTF-8
/// on the way in (for the course bundle, ~10 ms of the first render). Invalid UTF-8 turns into
/// U+FFFD, as `text()` would have it.
pub async fn fetch_text(url: &str) -> Result<String, String> {
    let bytes = fetch_bytes(url).await?;
    Ok(String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

pub async fn fetch_bytes(url: &str) -> Result<Vec<u8>, String> {
    get(url)
        .await?
        .binary()
        .await
        .map_err(|e| format!("{url}: {e}"))
}

/// The course as loaded. A lesson that fails to load or parse is kept as an error beside the
/// others, so one broken file never takes the rest of the lab down.
#[derive(Debug, PartialEq)]
pub struct Loaded {
    pub course: Course,
    pub lessons: Vec<(String, Result<Lesson, String>)>,
    /// Problems `course::check` finds (shown to instructors on the home page).
    pub problems: Vec<String>,
    /// The fingerprint of the lesson files the course was made from ([`Sources::fingerprint`]).
    pub sources: String,
    /// Whether the course came from the site's bundle (else from the lesson files themselves).
    pub bundled: bool,
    /// Each lesson that loaded, rendered where the course was built (the page parses no
    /// markdown).
    pub rendered: Vec<(String, Rendered)>,
}

/// What a lesson with nothing rendered shows (none: every lesson that loaded is rendered).
static NOTHING_RENDERED: Rendered = Rendered {
    segments: Vec::new(),
    headings: Vec::new(),
    solution_notes: Vec::new(),
};

impl Loaded {
    pub fn lesson(&self, id: &str) -> Option<&Result<Lesson, String>> {
        self.lessons.iter().find(|(l, _)| l == id).map(|(_, r)| r)
    }

    /// Lesson `id` as the page shows it.
    pub fn rendered(&self, id: &str) -> &Rendered {
        self.rendered
            .iter()
            .find(|(l, _)| l == id)
            .map_or(&NOTHING_RENDERED, |(_, r)| r)
    }

    /// Exercise `id`'s solution notes, rendered (exercise ids are unique in a course).
    pub fn solution_notes(&self, id: &str) -> &str {
        self.rendered
            .iter()
            .find_map(|(_, r)| r.solution_notes(id))
            .unwrap_or_default()
    }

    /// What links call a lesson: its title, or its id when it did not load (its own page says
    /// what went wrong).
    pub fn title(&self, id: &str) -> String {
        match self.lesson(id) {
            Some(Ok(lesson)) => lesson.meta.title.clone(),
            _ => id.to_string(),
        }
    }

    /// The ids of every exercise in the lessons that loaded.
    pub fn exercise_ids(&self) -> impl Iterator<Item = &str> {
        self.lessons
            .iter()
            .filter_map(|(_, r)| r.as_ref().ok())
            .flat_map(|l| l.exercises.iter().map(|e| e.id.as_str()))
    }

    pub fn exercise_count(&self) -> usize {
        self.exercise_ids().count()
    }

    pub fn has_exercise(&self, id: &str) -> bool {
        self.exercise_ids().any(|e| e == id)
    }

    /// The lessons that loaded, in course order, borrowed (for a page that only reads them).
    pub fn ready_lessons(&self) -> impl Iterator<Item = &Lesson> {
        self.lessons.iter().filter_map(|(_, r)| r.as_ref().ok())
    }

    /// The lessons that loaded, in course order, as a list of their own (what workshops and the
    /// class view keep).
    pub fn ready(&self) -> Vec<Lesson> {
        self.ready_lessons().cloned().collect()
    }
}

/// The course for the first render: the bundle the site was built with (one request, already
/// parsed, checked and rendered), else the lesson files themselves, made into a course by the
/// course worker (a development build, or a bundle that is missing, damaged or of another
/// format). A bundle may be older than the files an instructor edited on the host since:
/// [`recheck`] finds that out once the page is showing.
pub async fn load_course(worker: &CourseWorkerHandle) -> Result<Loaded, String> {
    let bundle = fetch_text(Bundle::FILE).await;
    match bundle.ok().as_deref().and_then(Bundle::parse) {
        Some(bundle) => Ok(Loaded::new(bundle, true)),
        None => {
            let course = fetch_text(paths::COURSE).await?;
            let order = lesson_order(worker, &course).await?;
            let lessons = fetch_lessons(order, true).await;
            Ok(Loaded::new(
                build_course(worker, course, lessons).await?,
                false,
            ))
        }
    }
}

/// The search index of a course as loaded. Only the search page needs it, so it is fetched
/// when that page first opens, not before the first render.
#[derive(Debug, PartialEq)]
pub struct Search {
    /// The one the site was built with when it matches the lessons loaded, else one the
    /// course worker built from them (the host's lessons were edited after the build, or the
    /// site was not built with `cargo xtask dist`).
    pub index: SearchIndex,
    /// Whether `index` is the one the site was built with (else the course worker built it).
    pub shipped: bool,
}

pub async fn load_search(loaded: &Loaded, worker: &CourseWorkerHandle) -> Result<Search, String> {
    let parsed: Vec<&Lesson> = loaded
        .lessons
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok())
        .collect();
    let fingerprint = search::fingerprint(&parsed);
    let shipped = fetch_text(search::FILE)
        .await
        .ok()
        .and_then(|text| mlsec_core::from_json::<SearchIndex>(&text).ok())
        .filter(|i| i.format == search::FORMAT && i.fingerprint == fingerprint);
    if let Some(index) = shipped {
        return Ok(Search {
            index,
            shipped: true,
        });
    }
    let lessons = parsed.into_iter().cloned().collect();
    match worker.ask(CourseRequest::Search { lessons }).await? {
        CourseResponse::Search(index) => Ok(Search {
            index: *index,
            shipped: false,
        }),
        other => Err(unexpected(other)),
    }
}

/// Fetches the lesson files a bundled course was made from, one lesson at a time (in the
/// background, never in the way of what the learner does): `None` when they are what the
/// bundle says (or cannot be fetched now), else the course they make, which the page shows
/// instead.
pub async fn recheck(
    loaded: &Loaded,
    worker: &CourseWorkerHandle,
) -> Option<Result<Loaded, String>> {
    if !loaded.bundled {
        return None;
    }
    let course = fetch_text(paths::COURSE).await.ok()?;
    // The bundle's own lessons first: when nothing changed (the usual case) that is all the
    // files there are, and the worker is not needed.
    let lessons = fetch_lessons(
        loaded.lessons.iter().map(|(id, _)| id.clone()).collect(),
        false,
    )
    .await;
    let sources = Sources { course, lessons };
    if sources.fingerprint() == loaded.sources {
        return None;
    }
    let fresh = async {
        let order = lesson_order(worker, &sources.course).await?;
        let listed: Vec<&String> = sources.lessons.iter().map(|(id, _)| id).collect();
        // course.toml may now list other lessons: fetch those too.
        let lessons = if order.iter().eq(listed.iter().copied()) {
            sources.lessons
        } else {
            fetch_lessons(order, false).await
        };
        build_course(worker, sources.course, lessons).await
    };
    Some(fresh.await.map(|bundle| Loaded::new(bundle, false)))
}

/// The lessons `course` (course.toml's text) lists, in reading order, read by the course worker.
async fn lesson_order(worker: &CourseWorkerHandle, course: &str) -> Result<Vec<String>, String> {
    let course = course.to_string();
    match worker.ask(CourseRequest::Order { course }).await? {
        CourseResponse::Order(lessons) => lessons,
        other => Err(unexpected(other)),
    }
}

/// The course these files make, parsed, checked and rendered by the course worker.
async fn build_course(
    worker: &CourseWorkerHandle,
    course: String,
    lessons: Vec<(String, LessonFiles)>,
) -> Result<Bundle, String> {
    let sources = Sources { course, lessons };
    match worker.ask(CourseRequest::Build { sources }).await? {
        CourseResponse::Built(bundle) => bundle.map(|b| *b),
        other => Err(unexpected(other)),
    }
}

fn unexpected(response: CourseResponse) -> String {
    format!("the course worker answered out of turn: {response:?}")
}

/// Every lesson's two files, in `order`: all at once (the first render waits for them), or
/// one lesson after another.
async fn fetch_lessons(order: Vec<String>, all_at_once: bool) -> Vec<(String, LessonFiles)> {
    let fetch_lesson = |id: String| async move {
        let [md_url, exercises_url] = paths::lesson(&id);
        let (md, exercises) =
            futures::future::join(fetch_text(&md_url), fetch_text(&exercises_url)).await;
        let files = md.and_then(|md| Ok([md, exercises?]));
        (id, files)
    };
    if all_at_once {
        futures::future::join_all(order.into_iter().map(fetch_lesson)).await
    } else {
        let mut lessons = vec![];
        for id in order {
            lessons.push(fetch_lesson(id).await);
        }
        lessons
    }
}

impl Loaded {
    fn new(bundle: Bundle, bundled: bool) -> Loaded {
        Loaded {
            course: bundle.course,
            lessons: bundle.lessons,
            problems: bundle.problems,
            sources: bundle.sources,
            rendered: bundle.rendered,
            bundled,
        }
    }
}
