//! Fetching the lab's content from the site it is served from (never from anywhere else) and
//! handing the text to the core's parsers.

use mlsec_core::course::{parse_course, Bundle, Course, Lesson, Sources};

use mlsec_core::course::paths;
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

pub async fn fetch_text(url: &str) -> Result<String, String> {
    get(url)
        .await?
        .text()
        .await
        .map_err(|e| format!("{url}: {e}"))
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
    /// The search index: the one the site was built with when it matches the lessons loaded,
    /// else one built here from them (the host's lessons were edited after the build, or the
    /// site was not built with `cargo xtask dist`).
    pub search: SearchIndex,
    /// Whether `search` is the index the site was built with (else it was built here).
    pub search_shipped: bool,
    /// The fingerprint of the lesson files the course was made from ([`Sources::fingerprint`]).
    pub sources: String,
    /// Whether the course came from the site's bundle (else from the lesson files themselves).
    pub bundled: bool,
}

impl Loaded {
    pub fn lesson(&self, id: &str) -> Option<&Result<Lesson, String>> {
        self.lessons.iter().find(|(l, _)| l == id).map(|(_, r)| r)
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

    /// The lessons that loaded, in course order (what workshops and the class view read).
    pub fn ready(&self) -> Vec<Lesson> {
        self.lessons
            .iter()
            .filter_map(|(_, r)| r.as_ref().ok().cloned())
            .collect()
    }
}

/// The course for the first render: the bundle the site was built with (one request, already
/// parsed and checked), else the lesson files
/// themselves (a development build, or a bundle that is missing, damaged or of another format).
/// A bundle may be older than the files an instructor edited on the host since: [`recheck`]
/// finds that out once the page is showing.
pub async fn load_course() -> Result<Loaded, String> {
    let (bundle, index) =
        futures::future::join(fetch_text(Bundle::FILE), fetch_text(search::FILE)).await;
    match bundle.ok().as_deref().and_then(Bundle::parse) {
        Some(bundle) => Ok(Loaded::new(bundle, index.ok(), true)),
        None => {
            let bundle = Bundle::from_sources(&fetch_sources(true).await?);
            Ok(Loaded::new(
                bundle.map_err(|e| e.to_string())?,
                index.ok(),
                false,
            ))
        }
    }
}

/// Fetches the lesson files a bundled course was made from, one lesson at a time (in the
/// background, never in the way of what the learner does): `None` when they are what the
/// bundle says (or cannot be fetched now), else the course they make, which the page shows
/// instead.
pub async fn recheck(loaded: &Loaded) -> Option<Result<Loaded, String>> {
    if !loaded.bundled {
        return None;
    }
    let sources = fetch_sources(false).await.ok()?;
    if sources.fingerprint() == loaded.sources {
        return None;
    }
    // The search index the site shipped matches the bundle's lessons, not these.
    Some(
        Bundle::from_sources(&sources)
            .map(|bundle| Loaded::new(bundle, None, false))
            .map_err(|e| e.to_string()),
    )
}

/// `course.toml` and every lesson's two files: all at once (the first render waits for them),
/// or one lesson after another.
async fn fetch_sources(all_at_once: bool) -> Result<Sources, String> {
    let text = fetch_text(paths::COURSE).await?;
    let ids = parse_course(&text)
        .map_err(|e| e.to_string())?
        .lesson_order();
    let fetch_lesson = |id: String| async move {
        let [md_url, exercises_url] = paths::lesson(&id);
        let (md, exercises) =
            futures::future::join(fetch_text(&md_url), fetch_text(&exercises_url)).await;
        let files = md.and_then(|md| Ok([md, exercises?]));
        (id, files)
    };
    let lessons = if all_at_once {
        futures::future::join_all(ids.into_iter().map(fetch_lesson)).await
    } else {
        let mut lessons = vec![];
        for id in ids {
            lessons.push(fetch_lesson(id).await);
        }
        lessons
    };
    Ok(Sources {
        course: text,
        lessons,
    })
}

impl Loaded {
    /// The course `bundle` holds, with the search index the site shipped (`index`'s text) when
    /// it was built from these lessons, else one built here.
    fn new(bundle: Bundle, index: Option<String>, bundled: bool) -> Loaded {
        let parsed: Vec<&Lesson> = bundle
            .lessons
            .iter()
            .filter_map(|(_, r)| r.as_ref().ok())
            .collect();
        let fingerprint = search::fingerprint(&parsed);
        let shipped = index
            .and_then(|text| serde_json::from_str::<SearchIndex>(&text).ok())
            .filter(|i| i.format == search::FORMAT && i.fingerprint == fingerprint);
        let search_shipped = shipped.is_some();
        let search = shipped.unwrap_or_else(|| search::build(&parsed));
        Loaded {
            course: bundle.course,
            lessons: bundle.lessons,
            problems: bundle.problems,
            search,
            search_shipped,
            sources: bundle.sources,
            bundled,
        }
    }
}
