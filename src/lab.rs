//! Fetching the lab's content from the site it is served from (never from anywhere else) and
//! handing the text to the core's parsers.

use mlsec_core::course::{check, parse_course, parse_lesson, Course, Lesson};

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

/// Fetches `course.toml`, then every lesson's two files at once (one after another, 21 fetches
/// took most of the first render).
pub async fn load_course() -> Result<Loaded, String> {
    let course = parse_course(&fetch_text(paths::COURSE).await?).map_err(|e| e.to_string())?;
    let ids: Vec<String> = course
        .tracks
        .iter()
        .flat_map(|t| t.lessons.iter().cloned())
        .collect();
    let fetches = ids.iter().map(|id| async move {
        let [md_url, exercises_url] = paths::lesson(id);
        let (md, exercises) =
            futures::future::join(fetch_text(&md_url), fetch_text(&exercises_url)).await;
        parse_lesson(id, &md?, &exercises?).map_err(|e| e.to_string())
    });
    let (results, shipped) =
        futures::future::join(futures::future::join_all(fetches), fetch_text(search::FILE)).await;
    let lessons: Vec<(String, Result<Lesson, String>)> = ids.into_iter().zip(results).collect();
    let parsed: Vec<Lesson> = lessons
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok().cloned())
        .collect();
    let problems = check(&course, &parsed);
    let refs: Vec<&Lesson> = parsed.iter().collect();
    let fingerprint = search::fingerprint(&refs);
    let shipped = shipped
        .ok()
        .and_then(|text| serde_json::from_str::<SearchIndex>(&text).ok())
        .filter(|i| i.format == search::FORMAT && i.fingerprint == fingerprint);
    let search_shipped = shipped.is_some();
    let search = shipped.unwrap_or_else(|| search::build(&refs));
    Ok(Loaded {
        course,
        lessons,
        problems,
        search,
        search_shipped,
    })
}
