//! The course format an instructor edits (see `lessons/FORMAT.md`): `course.toml` lists tracks
//! and lessons; each lesson is `lesson.md` (TOML front matter + markdown) and `exercises.toml`.
//! Parsing takes strings; the caller reads the files (natively) or fetches them (browser).

use crate::exercise::Exercise;
use crate::markdown::{directive, Rendered};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where the lab's files sit, relative to the repository root and to the built site alike: the
/// CLI reads these paths, the browser fetches them as relative URLs.
pub mod paths {
    pub const COURSE: &str = "lessons/course.toml";
    pub const DIGITS: &str = "assets/digits/digits.csv.gz";
    pub const SMS_SPAM: &str = "assets/spam/sms-spam.tsv.gz";
    pub const CENSUS: &str = "assets/adult/adult.tsv.gz";
    pub const TARGET_MODEL: &str = "assets/models/digits-mlp.safetensors";
    /// Track E's two assistant models (see `mlsec_core::injection`).
    pub const ASSISTANT_MODEL: &str = "assets/models/assistant-assistant.safetensors";
    pub const STRUCTURED_MODEL: &str = "assets/models/assistant-structured.safetensors";

    /// A lesson's two files: its markdown and its exercises.
    pub fn lesson(id: &str) -> [String; 2] {
        [
            format!("lessons/{id}/lesson.md"),
            format!("lessons/{id}/exercises.toml"),
        ]
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Course {
    pub title: String,
    pub tracks: Vec<Track>,
}

impl Course {
    /// Every lesson id in reading order: the tracks in turn, each in its own order.
    pub fn lesson_order(&self) -> Vec<String> {
        self.tracks
            .iter()
            .flat_map(|t| t.lessons.iter().cloned())
            .collect()
    }
}

/// The lessons just before and just after `id` in a reading order (the course's, or a
/// workshop's): where a lesson's "previous" and "next" links lead. `(None, None)` for a lesson
/// that is not in the order.
pub fn neighbours<'a>(order: &'a [String], id: &str) -> (Option<&'a str>, Option<&'a str>) {
    match order.iter().position(|l| l == id) {
        None => (None, None),
        Some(i) => (
            i.checked_sub(1).map(|p| order[p].as_str()),
            order.get(i + 1).map(String::as_str),
        ),
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Track {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub summary: String,
    pub lessons: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LessonMeta {
    pub title: String,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub minutes: u32,
    #[serde(default)]
    pub owasp: Vec<String>,
    #[serde(default)]
    pub atlas: Vec<String>,
    #[serde(default)]
    pub papers: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Lesson {
    pub id: String,
    pub meta: LessonMeta,
    /// The markdown after the front matter.
    pub body: String,
    pub exercises: Vec<Exercise>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExercisesFile {
    #[serde(default)]
    exercise: Vec<Exercise>,
}

impl Lesson {
    pub fn exercise(&self, id: &str) -> Option<&Exercise> {
        self.exercises.iter().find(|e| e.id == id)
    }
}

/// The course and every lesson it lists, each file read by `read` from its path in [`paths`]
/// (native callers: the CLI and the tests; the page fetches the same paths). Both files of a
/// lesson are required, as in the browser: a lesson that checks here must load there. `read`
/// says what went wrong with a file it could not read.
pub fn read_course(
    read: impl FnMut(&str) -> std::result::Result<String, String>,
) -> Result<(Course, Vec<Lesson>)> {
    let (course, sources) = Sources::read(read)?;
    let mut lessons = Vec::new();
    for (id, files) in sources.lessons {
        let [md, exercises] = files.map_err(|e| Error::Content(format!("lesson '{id}': {e}")))?;
        lessons.push(parse_lesson(&id, &md, &exercises)?);
    }
    Ok((course, lessons))
}

/// The files a course is made of, as read or fetched: `course.toml`'s text, then each lesson it
/// lists, in reading order, with its two files' texts (or why they could not be had).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sources {
    pub course: String,
    pub lessons: Vec<(String, LessonFiles)>,
}

/// A lesson's `lesson.md` and `exercises.toml`, or what went wrong reading them.
pub type LessonFiles = std::result::Result<[String; 2], String>;

impl Sources {
    /// Reads `course.toml` and then every lesson it lists with `read` (see [`read_course`]). Only
    /// an unreadable or malformed `course.toml` is an error: a lesson that cannot be read is
    /// kept as its error, as the page keeps it.
    pub fn read(
        mut read: impl FnMut(&str) -> std::result::Result<String, String>,
    ) -> Result<(Course, Sources)> {
        let text = read(paths::COURSE).map_err(Error::Content)?;
        let course = parse_course(&text)?;
        let lessons = course
            .lesson_order()
            .into_iter()
            .map(|id| {
                let [md, exercises] = paths::lesson(&id).map(|file| read(&file));
                let files = md.and_then(|md| Ok([md, exercises?]));
                (id, files)
            })
            .collect();
        Ok((
            course,
            Sources {
                course: text,
                lessons,
            },
        ))
    }

    /// A fingerprint of every text (FNV-1a, 64 bits, hex): the same files give the same
    /// fingerprint, and any edit, added or removed lesson, or unreadable file changes it.
    pub fn fingerprint(&self) -> String {
        let mut hash = Fnv::default();
        hash.eat(&self.course);
        for (id, files) in &self.lessons {
            hash.eat(id);
            match files {
                Ok([md, exercises]) => {
                    hash.eat("ok");
                    hash.eat(md);
                    hash.eat(exercises);
                }
                Err(e) => {
                    hash.eat("error");
                    hash.eat(e);
                }
            }
        }
        hash.hex()
    }
}

/// FNV-1a over strings, each followed by a 0xff byte (which UTF-8 never holds) so that
/// ("ab", "c") and ("a", "bc") differ. Fingerprints, not security: they tell an edited file
/// from the one a build saw.
#[derive(Clone, Copy)]
pub(crate) struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    pub(crate) fn eat(&mut self, s: &str) {
        for b in s.bytes().chain([0xff]) {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    pub(crate) fn hex(self) -> String {
        format!("{:016x}", self.0)
    }
}

/// The course as the page shows it, parsed and checked: written when the site is built (`mlsec
/// course-bundle`, run by `cargo xtask build` and `dist`) so that the page's first render needs
/// one file instead of `course.toml` and two files per lesson, and none of the parsing and
/// checking. It names the [`Sources::fingerprint`] it was made from: the page shows it at once,
/// then fetches the files themselves in the background and, when an instructor has edited them
/// on the host since the build, shows what they say instead.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bundle {
    pub format: u32,
    pub sources: String,
    pub course: Course,
    /// Every lesson `course` lists, in reading order: parsed, or why it could not be.
    pub lessons: Vec<(String, std::result::Result<Lesson, String>)>,
    /// What [`check`] says about the lessons that parsed.
    pub problems: Vec<String>,
    /// Each lesson that parsed, rendered for the page ([`Rendered::of`]), by id.
    pub rendered: Vec<(String, Rendered)>,
}

impl Bundle {
    /// The bundle's format: a file of another format is ignored (the page loads the lessons
    /// themselves), never misread.
    pub const FORMAT: u32 = 2;
    /// The file the site serves it as, beside `lessons/`.
    pub const FILE: &'static str = "course.json";

    /// The course `sources` make: every lesson parsed (or its error kept, so one broken lesson
    /// never hides the others) and the whole checked. An error only when `course.toml` is.
    pub fn from_sources(sources: &Sources) -> Result<Bundle> {
        let course = parse_course(&sources.course)?;
        let lessons: Vec<(String, std::result::Result<Lesson, String>)> = sources
            .lessons
            .iter()
            .map(|(id, files)| {
                let lesson = files
                    .as_ref()
                    .map_err(Clone::clone)
                    .and_then(|[md, ex]| parse_lesson(id, md, ex).map_err(|e| e.to_string()));
                (id.clone(), lesson)
            })
            .collect();
        let parsed: Vec<Lesson> = lessons
            .iter()
            .filter_map(|(_, l)| l.as_ref().ok().cloned())
            .collect();
        Ok(Bundle {
            format: Self::FORMAT,
            sources: sources.fingerprint(),
            problems: check(&course, &parsed),
            rendered: parsed
                .iter()
                .map(|l| (l.id.clone(), Rendered::of(l)))
                .collect(),
            course,
            lessons,
        })
    }

    /// Reads a bundle the site served: `None` when it is not one of this format (damaged,
    /// truncated, or written by another version of the lab).
    pub fn parse(text: &str) -> Option<Bundle> {
        crate::from_json::<Bundle>(text)
            .ok()
            .filter(|b| b.format == Self::FORMAT)
    }
}

/// Page → course worker: the course made from its files, when the page must (no bundle, or
/// one older than the files an instructor edited on the host). A worker of its own, apart from
/// the engine's, loaded only then: parsing TOML and markdown, the content check and the search
/// index's builder stay out of both the page's code and the engine workers'.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum CourseRequest {
    /// The lessons `course.toml` (its text) lists, in reading order: the files to fetch.
    Order { course: String },
    /// The course these files make ([`Bundle::from_sources`]).
    Build { sources: Sources },
    /// The search index of these lessons (the site shipped none for them).
    Search { lessons: Vec<Lesson> },
}

/// Course worker → page: the answer to a [`CourseRequest`], in the order they were sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum CourseResponse {
    Order(std::result::Result<Vec<String>, String>),
    Built(std::result::Result<Box<Bundle>, String>),
    Search(Box<crate::search::SearchIndex>),
}

impl CourseRequest {
    pub fn answer(&self) -> CourseResponse {
        match self {
            CourseRequest::Order { course } => CourseResponse::Order(
                parse_course(course)
                    .map(|c| c.lesson_order())
                    .map_err(|e| e.to_string()),
            ),
            CourseRequest::Build { sources } => CourseResponse::Built(
                Bundle::from_sources(sources)
                    .map(Box::new)
                    .map_err(|e| e.to_string()),
            ),
            CourseRequest::Search { lessons } => CourseResponse::Search(Box::new(
                crate::search::build(&lessons.iter().collect::<Vec<_>>()),
            )),
        }
    }
}

pub fn parse_course(text: &str) -> Result<Course> {
    toml::from_str(text).map_err(|e| Error::Content(format!("course.toml: {e}")))
}

/// Parses one lesson from its two files. Errors name the file and say what is wrong.
pub fn parse_lesson(id: &str, lesson_md: &str, exercises_toml: &str) -> Result<Lesson> {
    let text = lesson_md
        .strip_prefix('\u{feff}')
        .unwrap_or(lesson_md)
        .replace("\r\n", "\n");
    let rest = text.strip_prefix("+++\n").ok_or_else(|| {
        Error::Content(format!(
            "{id}/lesson.md must start with a '+++' line opening its front matter"
        ))
    })?;
    let end = rest
        .find("\n+++\n")
        .or_else(|| rest.strip_suffix("\n+++").map(|r| r.len()))
        .ok_or_else(|| {
            Error::Content(format!(
                "{id}/lesson.md: front matter is not closed by a '+++' line"
            ))
        })?;
    let meta: LessonMeta = toml::from_str(&rest[..end])
        .map_err(|e| Error::Content(format!("{id}/lesson.md front matter: {e}")))?;
    let body = rest[end..]
        .trim_start_matches("\n+++")
        .trim_start_matches('\n')
        .to_string();
    let file: ExercisesFile = toml::from_str(exercises_toml)
        .map_err(|e| Error::Content(format!("{id}/exercises.toml: {e}")))?;
    Ok(Lesson {
        id: id.to_string(),
        meta,
        body,
        exercises: file.exercise,
    })
}

/// Ids: lowercase ASCII letters, digits and '-', 1–64 characters.
pub fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Static checks over the whole course: every id valid and unique, every lesson listed exists,
/// every directive names an exercise of its lesson, every exercise placed exactly once, every
/// hint non-empty, every task's numbers sane. Returns every problem found (empty = fine).
pub fn check(course: &Course, lessons: &[Lesson]) -> Vec<String> {
    let mut problems = Vec::new();
    let note_id =
        |id: &str, what: &str, problems: &mut Vec<String>, seen: &mut BTreeMap<String, String>| {
            if !valid_id(id) {
                problems.push(format!(
                    "{what} id '{id}' must be 1–64 lowercase letters, digits or '-'"
                ));
            }
            if let Some(first) = seen.insert(id.to_string(), what.to_string()) {
                problems.push(format!("id '{id}' is used twice ({first} and {what})"));
            }
        };
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    for track in &course.tracks {
        note_id(&track.id, "track", &mut problems, &mut ids);
        if track.lessons.is_empty() {
            problems.push(format!("track '{}' lists no lessons", track.id));
        }
        for lesson_id in &track.lessons {
            if !lessons.iter().any(|l| &l.id == lesson_id) {
                problems.push(format!(
                    "track '{}' lists lesson '{lesson_id}', which does not exist",
                    track.id
                ));
            }
        }
    }
    for lesson in lessons {
        note_id(&lesson.id, "lesson", &mut problems, &mut ids);
        if lesson.meta.title.trim().is_empty() {
            problems.push(format!("lesson '{}' has an empty title", lesson.id));
        }
        // Raw HTML other than a few plain tags shows as text (markdown::render): almost
        // certainly not what the author meant, so say which and what to write instead.
        let shown = crate::markdown::raw_html_shown_as_text(&lesson.body);
        if let Some(first) = shown.first() {
            problems.push(format!(
                "lesson '{}' has {} piece(s) of raw HTML that will show as text, the first `{}`: write it in markdown (images as ![alt text](file.png)); only {} are kept as tags",
                lesson.id,
                shown.len(),
                first.chars().take(60).collect::<String>(),
                crate::markdown::ALLOWED_TAGS
                    .iter()
                    .map(|t| format!("<{t}>"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let listed = course
            .tracks
            .iter()
            .filter(|t| t.lessons.contains(&lesson.id))
            .count();
        if listed != 1 {
            problems.push(format!(
                "lesson '{}' is listed by {listed} tracks (must be exactly 1)",
                lesson.id
            ));
        }
        let placed: Vec<&str> = lesson.body.lines().filter_map(directive).collect();
        for id in &placed {
            if lesson.exercise(id).is_none() {
                problems.push(format!(
                    "lesson '{}' places exercise '{id}', which its exercises.toml lacks",
                    lesson.id
                ));
            }
        }
        for tag in &lesson.meta.owasp {
            if let Err(e) = crate::tags::owasp(tag) {
                problems.push(format!("lesson '{}': {e}", lesson.id));
            }
        }
        for tag in &lesson.meta.atlas {
            if let Err(e) = crate::tags::atlas(tag) {
                problems.push(format!("lesson '{}': {e}", lesson.id));
            }
        }
        for exercise in &lesson.exercises {
            if exercise
                .predict
                .as_ref()
                .is_some_and(|p| p.question.trim().is_empty() || p.figure.trim().is_empty())
            {
                problems.push(format!(
                    "exercise '{}': its prediction needs a question and a figure",
                    exercise.id
                ));
            }
        }
        for exercise in &lesson.exercises {
            let at = format!("exercise '{}' (lesson '{}')", exercise.id, lesson.id);
            note_id(&exercise.id, "exercise", &mut problems, &mut ids);
            let times = placed.iter().filter(|p| **p == exercise.id).count();
            if times != 1 {
                problems.push(format!(
                    "{at} is placed {times} times in lesson.md (must be exactly once)"
                ));
            }
            if exercise.hints.is_empty() {
                problems.push(format!("{at} has no hints"));
            }
            for (n, hint) in exercise.hints.iter().enumerate() {
                if hint.trim().is_empty() {
                    problems.push(format!("{at}: hint {} is empty", n + 1));
                }
            }
            if exercise.title.trim().is_empty() || exercise.goal.trim().is_empty() {
                problems.push(format!("{at} needs a title and a goal"));
            }
            if let Err(e) = exercise.task.validate() {
                problems.push(format!("{at}: {e}"));
            }
            if exercise.instance.is_some() {
                problems.push(format!(
                    "{at} sets `instance`, which only a workshop sets (remove it)"
                ));
            }
        }
    }
    problems
}
