//! Fetching the lab's content from the site it is served from (never from anywhere else) and
//! handing the text to the core's parsers.

use mlsec_core::course::{check, parse_course, parse_lesson, Course, Lesson};

use mlsec_core::course::paths;

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
}

impl Loaded {
    pub fn lesson(&self, id: &str) -> Option<&Result<Lesson, String>> {
        self.lessons.iter().find(|(l, _)| l == id).map(|(_, r)| r)
    }

    pub fn exercise_count(&self) -> usize {
        self.lessons
            .iter()
            .filter_map(|(_, r)| r.as_ref().ok())
            .map(|l| l.exercises.len())
            .sum()
    }
}

pub async fn load_course() -> Result<Loaded, String> {
    let course = parse_course(&fetch_text(paths::COURSE).await?).map_err(|e| e.to_string())?;
    let mut lessons = Vec::new();
    for id in course.tracks.iter().flat_map(|t| t.lessons.iter()) {
        let lesson = async {
            let [md_url, exercises_url] = paths::lesson(id);
            let md = fetch_text(&md_url).await?;
            let exercises = fetch_text(&exercises_url).await?;
            parse_lesson(id, &md, &exercises).map_err(|e| e.to_string())
        }
        .await;
        lessons.push((id.clone(), lesson));
    }
    let parsed: Vec<Lesson> = lessons
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok().cloned())
        .collect();
    let problems = check(&course, &parsed);
    Ok(Loaded {
        course,
        lessons,
        problems,
    })
}
