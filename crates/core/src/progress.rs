//! The learner's progress: what they passed, their best figures, hints opened. It lives in a
//! key-value store (the browser's localStorage; memory in tests) behind [`KeyValueStore`], and
//! nothing here ever throws progress away: a corrupt store is backed up before starting afresh,
//! a bad import is refused whole, a full store keeps the progress in memory and says so, and
//! every write merges with what is stored, so two tabs of the lab never overwrite each other.

use crate::course::valid_id;
use crate::grade::Grade;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const FORMAT: &str = "mlsec-progress/1";
pub const STORE_KEY: &str = "mlsec-lab.progress";
pub const BACKUP_KEY: &str = "mlsec-lab.progress.unreadable-backup";
/// Larger imports are refused before parsing (a real progress file is a few KB).
pub const MAX_IMPORT_BYTES: usize = 1 << 20;
const MAX_EXERCISES: usize = 1000;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExerciseRecord {
    pub passed: bool,
    pub attempts: u32,
    pub hints_opened: u32,
    pub solution_viewed: bool,
    /// Best value reached per figure label.
    #[serde(default)]
    pub best: BTreeMap<String, f64>,
    /// What the learner predicted before their first run, and what it came to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prediction: Option<Prediction>,
}

/// A prediction committed before an exercise's first run: the grade's figure it is about (a
/// share from 0 to 1), the value predicted, and the value the first graded run after it reached.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prediction {
    pub figure: String,
    pub predicted: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual: Option<f64>,
}

impl Prediction {
    /// Whether a stored prediction is one the lab could have written; why not, if not.
    fn invalid(&self) -> Option<String> {
        let share = |v: f64| v.is_finite() && (0.0..=1.0).contains(&v);
        if self.figure.is_empty() || self.figure.len() > 200 {
            Some("its figure's name is empty or too long".into())
        } else if !share(self.predicted) {
            Some(format!(
                "the predicted {} is not a share from 0 to 1",
                self.predicted
            ))
        } else if self.actual.is_some_and(|a| !share(a)) {
            Some("its result is not a share from 0 to 1".into())
        } else {
            None
        }
    }

    /// After the run: the prediction beside the result, in words.
    pub fn describe(&self) -> String {
        let pct = |v: f64| format!("{:.1}%", v * 100.0);
        match self.actual {
            None => format!("You predicted {} for {}.", pct(self.predicted), self.figure),
            Some(a) => {
                let miss = (a - self.predicted) * 100.0;
                let how = if miss.abs() < 0.05 {
                    "exactly right".to_string()
                } else if miss > 0.0 {
                    format!("{miss:.1} points higher than you expected")
                } else {
                    format!("{:.1} points lower than you expected", -miss)
                };
                format!(
                    "You predicted {} for {}; the run reached {}: {how}.",
                    pct(self.predicted),
                    self.figure,
                    pct(a)
                )
            }
        }
    }
}

/// How well a learner's predictions matched what happened, over those with a result.
#[derive(Clone, Debug, PartialEq)]
pub struct Calibration {
    pub made: usize,
    pub resolved: usize,
    /// The mean distance between prediction and result, in percentage points.
    pub mean_miss: f64,
    /// Results minus predictions on average, in points: positive when results beat expectations.
    pub bias: f64,
    /// Predictions within 10 points of their result.
    pub within_ten: usize,
}

impl Calibration {
    pub fn describe(&self) -> String {
        if self.resolved == 0 {
            return format!(
                "{} prediction{} waiting for a run.",
                self.made,
                if self.made == 1 { "" } else { "s" }
            );
        }
        let lean = if self.bias.abs() < 5.0 {
            "with no strong lean either way".to_string()
        } else if self.bias > 0.0 {
            format!(
                "and results beat your expectations by {:.0} points on average",
                self.bias
            )
        } else {
            format!(
                "and results fell short of your expectations by {:.0} points on average",
                -self.bias
            )
        };
        format!(
            "Your predictions: {} of {} within 10 points of the result; off by {:.1} points on average, {lean}.",
            self.within_ten, self.resolved, self.mean_miss
        )
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Progress {
    pub format: String,
    pub exercises: BTreeMap<String, ExerciseRecord>,
    /// Predictions set aside when the progress was read, each with why (a stored prediction
    /// that is not a number loses only itself, never the learner's passes). Never stored.
    #[serde(skip)]
    pub set_aside: Vec<String>,
}

impl Default for Progress {
    fn default() -> Self {
        Progress {
            format: FORMAT.into(),
            exercises: BTreeMap::new(),
            set_aside: vec![],
        }
    }
}

impl Progress {
    /// Parses and validates a progress file. Anything odd — wrong format tag, bad id, a NaN,
    /// absurd counts, too large — is refused with the reason.
    pub fn parse(text: &str) -> Result<Self> {
        if let Some(why) = too_large(text.len() as u64) {
            return Err(Error::Progress(why));
        }
        let mut progress: Progress = crate::from_json(text)
            .map_err(|e| Error::Progress(format!("not a MLSec Lab progress file ({e})")))?;
        if progress.format != FORMAT {
            return Err(Error::Progress(format!(
                "format '{}' is not '{FORMAT}'",
                progress.format
            )));
        }
        if progress.exercises.len() > MAX_EXERCISES {
            return Err(Error::Progress(format!(
                "{} exercises is more than any course has",
                progress.exercises.len()
            )));
        }
        for (id, record) in &progress.exercises {
            if !valid_id(id) {
                return Err(Error::Progress(format!(
                    "{} is not a valid exercise id",
                    crate::quoted(id)
                )));
            }
            if record.hints_opened > 100 {
                return Err(Error::Progress(format!(
                    "exercise '{id}' claims {} hints opened",
                    record.hints_opened
                )));
            }
            for (label, value) in &record.best {
                if !value.is_finite() || label.len() > 200 {
                    return Err(Error::Progress(format!(
                        "exercise '{id}' has an invalid figure {} = {value}",
                        crate::quoted(label)
                    )));
                }
            }
        }
        for (id, record) in &mut progress.exercises {
            if let Some(why) = record.prediction.as_ref().and_then(Prediction::invalid) {
                record.prediction = None;
                progress
                    .set_aside
                    .push(format!("the prediction for '{id}' was set aside: {why}"));
            }
        }
        Ok(progress)
    }

    /// Commits a prediction of `figure` (a share from 0 to 1) for an exercise not yet run.
    /// Refused, with the reason, after a run or a prediction already made, or for a value that
    /// is not a share.
    pub fn predict(
        &mut self,
        exercise_id: &str,
        figure: &str,
        predicted: f64,
    ) -> std::result::Result<(), String> {
        if !predicted.is_finite() || !(0.0..=1.0).contains(&predicted) {
            return Err(format!(
                "a prediction is a share from 0% to 100%, not {predicted}"
            ));
        }
        let record = self.exercises.entry(exercise_id.to_string()).or_default();
        if record.prediction.is_some() {
            return Err("a prediction is already made for this exercise".into());
        }
        if record.attempts > 0 {
            return Err("predictions are made before the first run".into());
        }
        record.prediction = Some(Prediction {
            figure: figure.to_string(),
            predicted,
            actual: None,
        });
        Ok(())
    }

    /// How the learner's predictions compare with their results; `None` before any prediction.
    pub fn calibration(&self) -> Option<Calibration> {
        let made: Vec<&Prediction> = self
            .exercises
            .values()
            .filter_map(|r| r.prediction.as_ref())
            .collect();
        if made.is_empty() {
            return None;
        }
        let misses: Vec<f64> = made
            .iter()
            .filter_map(|p| Some((p.actual? - p.predicted) * 100.0))
            .collect();
        let n = misses.len().max(1) as f64;
        Some(Calibration {
            made: made.len(),
            resolved: misses.len(),
            mean_miss: misses.iter().map(|m| m.abs()).sum::<f64>() / n,
            bias: misses.iter().sum::<f64>() / n,
            within_ten: misses.iter().filter(|m| m.abs() <= 10.0).count(),
        })
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("progress always serialises")
    }

    pub fn record(&self, exercise_id: &str) -> ExerciseRecord {
        self.exercises.get(exercise_id).cloned().unwrap_or_default()
    }

    pub fn record_attempt(&mut self, exercise_id: &str, grade: &Grade) {
        let record = self.exercises.entry(exercise_id.to_string()).or_default();
        record.attempts = record.attempts.saturating_add(1);
        record.passed |= grade.passed;
        // The first graded run after a prediction is what it is compared with.
        if let Some(p) = record.prediction.as_mut().filter(|p| p.actual.is_none()) {
            p.actual = grade
                .figures
                .iter()
                .find(|f| f.label == p.figure)
                .map(|f| f.value);
        }
        for figure in &grade.figures {
            let best = record
                .best
                .entry(figure.label.clone())
                .or_insert(figure.value);
            if figure.better_than(*best) {
                *best = figure.value;
            }
        }
    }

    pub fn open_hint(&mut self, exercise_id: &str, shown: u32) {
        let record = self.exercises.entry(exercise_id.to_string()).or_default();
        record.hints_opened = record.hints_opened.max(shown);
    }

    pub fn view_solution(&mut self, exercise_id: &str) {
        self.exercises
            .entry(exercise_id.to_string())
            .or_default()
            .solution_viewed = true;
    }

    /// Folds another record of progress (an imported file, or what another tab stored) into this
    /// one without losing anything from either: a pass stays a pass, counts take the larger
    /// value, best figures keep whichever exists (this side wins ties, as both went through the
    /// same grader).
    pub fn merge(&mut self, other: &Progress) {
        for (id, theirs) in &other.exercises {
            let mine = self.exercises.entry(id.clone()).or_default();
            mine.passed |= theirs.passed;
            mine.attempts = mine.attempts.max(theirs.attempts);
            mine.hints_opened = mine.hints_opened.max(theirs.hints_opened);
            mine.solution_viewed |= theirs.solution_viewed;
            for (label, value) in &theirs.best {
                mine.best.entry(label.clone()).or_insert(*value);
            }
            // One prediction per exercise: the first made, with a result where either has it.
            match (&mut mine.prediction, &theirs.prediction) {
                (None, Some(t)) => mine.prediction = Some(t.clone()),
                (Some(m), Some(t)) if m.actual.is_none() && m.predicted == t.predicted => {
                    m.actual = t.actual;
                }
                _ => {}
            }
        }
    }

    /// Where a lesson with these exercises stands: passed when every one of them is passed,
    /// started when any has been run or had a hint or the solution opened, not started otherwise.
    /// A lesson with no exercise is never started or passed (progress records no reading), so
    /// "continue" leads a learner into it and then on from the next lesson they work on.
    pub fn lesson_state<'a>(&self, exercise_ids: impl IntoIterator<Item = &'a str>) -> LessonState {
        let records: Vec<ExerciseRecord> =
            exercise_ids.into_iter().map(|id| self.record(id)).collect();
        if !records.is_empty() && records.iter().all(|r| r.passed) {
            LessonState::Passed
        } else if records
            .iter()
            .any(|r| r.passed || r.attempts > 0 || r.hints_opened > 0 || r.solution_viewed)
        {
            LessonState::Started
        } else {
            LessonState::NotStarted
        }
    }

    /// Where the learner goes on, from `lessons` (ids with their exercises, in reading order):
    /// the furthest lesson they have worked on, if it is not passed yet, or else the first lesson
    /// after it that is not passed; the first lesson before any work. `None` when nothing after
    /// the furthest lesson is left to pass, or there are no lessons.
    pub fn resume_at<'a>(&self, lessons: &'a [(String, Vec<String>)]) -> Option<Resume<'a>> {
        let state = |(_, exercises): &(String, Vec<String>)| {
            self.lesson_state(exercises.iter().map(String::as_str))
        };
        match lessons
            .iter()
            .rposition(|l| state(l) != LessonState::NotStarted)
        {
            None => lessons.first().map(|(id, _)| Resume::Start(id)),
            Some(furthest) => lessons[furthest..]
                .iter()
                .find(|l| state(l) != LessonState::Passed)
                .map(|(id, _)| Resume::Continue(id)),
        }
    }

    /// How many of `course_ids` are passed. Counts always come from the course: records kept
    /// for exercises the course does not have (an import from another course version) count
    /// toward nothing.
    pub fn passed_among<'a>(&self, course_ids: impl IntoIterator<Item = &'a str>) -> usize {
        course_ids
            .into_iter()
            .filter(|id| self.exercises.get(*id).is_some_and(|r| r.passed))
            .count()
    }
}

/// Where a learner picks the course up ([`Progress::resume_at`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resume<'a> {
    /// Nothing worked on yet: the course's first lesson.
    Start(&'a str),
    /// The lesson to continue with.
    Continue(&'a str),
}

/// Where a learner stands with a lesson (the course map's marks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LessonState {
    NotStarted,
    Started,
    Passed,
}

impl LessonState {
    /// The words shown beside the lesson (never a colour alone).
    pub fn label(self) -> &'static str {
        match self {
            LessonState::NotStarted => "not started",
            LessonState::Started => "started",
            LessonState::Passed => "passed",
        }
    }
}

/// Why a progress file of `bytes` bytes is refused for its size, if it is. Exact byte counts, so
/// that a file one byte over the limit is not described as the same size as the limit.
pub fn too_large(bytes: u64) -> Option<String> {
    (bytes > MAX_IMPORT_BYTES as u64).then(|| {
        format!(
            "the file is {} bytes; a progress file is at most {} bytes (1 MiB)",
            crate::thousands(bytes),
            crate::thousands(MAX_IMPORT_BYTES as u64)
        )
    })
}

/// What an import brought in: records for exercises of this course, and records kept for ids
/// the course does not have (they count toward nothing, but a later course version may bring
/// those exercises back).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Imported {
    pub known: usize,
    pub unknown: Vec<String>,
}

impl Imported {
    /// The sentence the learner reads after importing `file`.
    pub fn describe(&self, file: &str) -> String {
        let n = self.unknown.len();
        let records = |n: usize| format!("{n} exercise record{}", if n == 1 { "" } else { "s" });
        let mut text = if self.known == 0 && n > 0 {
            format!("Nothing in {file} counts in this course:")
        } else {
            format!("Imported {} from {file}.", records(self.known))
        };
        if n > 0 {
            let mut named: Vec<&str> = self.unknown.iter().take(3).map(String::as_str).collect();
            if n > 3 {
                named.push("…");
            }
            text.push_str(&format!(
                " {} {} for exercises this course does not have ({}): kept, but not counted.",
                if self.known == 0 {
                    records(n)
                } else {
                    format!("{n} more")
                },
                if n == 1 { "is" } else { "are" },
                named.join(", ")
            ));
        }
        text
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum StoreError {
    /// The store refused the write because it is full (localStorage's QuotaExceededError).
    Full,
    /// The store is not available at all (private mode, disabled storage).
    Unavailable(String),
}

/// Where progress is kept. The browser implements it over localStorage.
pub trait KeyValueStore {
    fn get(&self, key: &str) -> std::result::Result<Option<String>, StoreError>;
    fn set(&mut self, key: &str, value: &str) -> std::result::Result<(), StoreError>;
}

/// One store shared by several books: two tabs of the lab over one localStorage, in tests.
impl<S: KeyValueStore> KeyValueStore for std::rc::Rc<std::cell::RefCell<S>> {
    fn get(&self, key: &str) -> std::result::Result<Option<String>, StoreError> {
        self.borrow().get(key)
    }
    fn set(&mut self, key: &str, value: &str) -> std::result::Result<(), StoreError> {
        self.borrow_mut().set(key, value)
    }
}

/// An in-memory store; `capacity` (bytes over all values) lets tests play a full browser.
#[derive(Default, Debug)]
pub struct MemoryStore {
    pub values: BTreeMap<String, String>,
    pub capacity: Option<usize>,
}

impl KeyValueStore for MemoryStore {
    fn get(&self, key: &str) -> std::result::Result<Option<String>, StoreError> {
        Ok(self.values.get(key).cloned())
    }
    fn set(&mut self, key: &str, value: &str) -> std::result::Result<(), StoreError> {
        if let Some(cap) = self.capacity {
            let others: usize = self
                .values
                .iter()
                .filter(|(k, _)| *k != key)
                .map(|(_, v)| v.len())
                .sum();
            if others + value.len() > cap {
                return Err(StoreError::Full);
            }
        }
        self.values.insert(key.to_string(), value.to_string());
        Ok(())
    }
}

/// Progress bound to its store. `notice` holds a message the UI must show (a problem that did
/// not stop the app).
pub struct ProgressBook<S: KeyValueStore> {
    store: S,
    /// Where this book lives in the store ([`STORE_KEY`] for self-paced progress; a workshop
    /// keeps its own, so the two never mix).
    key: String,
    progress: Progress,
    /// Unreadable stored data that could not yet be backed up. While any is here, nothing is
    /// written over the store: each save retries the backups first.
    unbacked: Vec<String>,
    /// This tab holds changes the store lacks (a save failed), so they win over what is stored
    /// when the two are merged. Otherwise the store wins ties: it holds this tab's last save
    /// merged with whatever other tabs saved since, the newest word on every figure.
    unsaved: bool,
    pub notice: Option<String>,
    /// `notice` is about saving, and goes once a save works again.
    notice_is_about_saving: bool,
}

const UNBACKED: &str = "The unreadable data could not be copied aside (the browser's storage is full, or already holds five such copies). It is left untouched, and your new progress is kept for this visit only: export it, or free some storage.";
/// How many copies of unreadable data are kept (under [`BACKUP_KEY`], then `BACKUP_KEY.1` …):
/// a later copy never replaces an earlier one.
const BACKUPS: usize = 5;

/// Copies unreadable `text` aside under the first backup key of the book at `book_key` that is
/// free or already holds it, and returns that key; `None` if none could take it.
fn back_up<S: KeyValueStore>(store: &mut S, book_key: &str, text: &str) -> Option<String> {
    let first = if book_key == STORE_KEY {
        BACKUP_KEY.to_string()
    } else {
        format!("{book_key}.unreadable-backup")
    };
    for n in 0..BACKUPS {
        let key = if n == 0 {
            first.clone()
        } else {
            format!("{first}.{n}")
        };
        match store.get(&key) {
            Ok(Some(kept)) if kept == text => return Some(key),
            Ok(Some(_)) => continue,
            Ok(None) => return store.set(&key, text).ok().map(|()| key),
            Err(_) => return None,
        }
    }
    None
}

impl<S: KeyValueStore> ProgressBook<S> {
    /// Loads progress. A store that cannot be read as progress is copied to [`BACKUP_KEY`]
    /// untouched and the learner starts afresh, told where the old data went. If even the copy
    /// fails, the old data is left where it is and never overwritten.
    pub fn open(store: S) -> Self {
        Self::open_at(store, STORE_KEY)
    }

    /// The book kept under `key` (a workshop's; see [`ProgressBook::open`]).
    pub fn open_at(store: S, key: &str) -> Self {
        let mut book = ProgressBook {
            store,
            key: key.to_string(),
            progress: Progress::default(),
            unbacked: vec![],
            unsaved: false,
            notice: None,
            notice_is_about_saving: false,
        };
        match book.store.get(&book.key) {
            Ok(None) => {}
            Ok(Some(text)) => match Progress::parse(&text) {
                Ok(mut p) => {
                    if !p.set_aside.is_empty() {
                        book.notice = Some(format!(
                            "Part of your saved progress could not be used: {}. Everything else was kept.",
                            p.set_aside.join("; ")
                        ));
                    }
                    p.set_aside.clear();
                    book.progress = p;
                }
                Err(e) => {
                    let kept = book.set_aside(text);
                    book.notice = Some(format!(
                        "Your saved progress could not be read ({e}). {kept} Starting with a fresh record."
                    ));
                }
            },
            Err(e) => book.save_problem(store_problem(&e)),
        }
        book
    }

    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    /// Backs up unreadable `text`, or holds it until a save can; says which.
    fn set_aside(&mut self, text: String) -> String {
        match back_up(&mut self.store, &self.key, &text) {
            Some(key) => format!("The unreadable data was kept under '{key}'."),
            None => {
                if !self.unbacked.contains(&text) {
                    self.unbacked.push(text);
                }
                UNBACKED.to_string()
            }
        }
    }

    fn save_problem(&mut self, message: String) {
        self.notice = Some(message);
        self.notice_is_about_saving = true;
        self.unsaved = true;
    }

    /// Folds into memory what is stored now: another tab of the lab may have saved since this
    /// one last looked. Called before every write, and by the page when the browser says the
    /// store changed (the `storage` event). Stored data that has become unreadable is backed up
    /// before anything is written over it.
    pub fn refresh(&mut self) {
        let text = match self.store.get(&self.key) {
            Ok(Some(text)) => text,
            // Nothing stored (or no store at all): memory is all there is.
            Ok(None) | Err(_) => return,
        };
        if self.unbacked.contains(&text) {
            // Still the unreadable data this book holds for backing up.
            return;
        }
        match Progress::parse(&text) {
            Ok(stored) if self.unsaved => self.progress.merge(&stored),
            Ok(mut stored) => {
                stored.merge(&self.progress);
                self.progress = stored;
            }
            Err(e) => {
                let kept = self.set_aside(text);
                self.notice = Some(format!(
                    "The progress another tab stored could not be read ({e}). {kept} This tab's progress is kept."
                ));
                self.notice_is_about_saving = false;
            }
        }
    }

    /// Changes progress and saves it, merged with whatever another tab stored meanwhile. A
    /// failed save keeps the change in memory and sets `notice`.
    pub fn update(&mut self, change: impl FnOnce(&mut Progress)) {
        self.refresh();
        change(&mut self.progress);
        self.save();
    }

    fn save(&mut self) {
        while let Some(text) = self.unbacked.first().cloned() {
            if back_up(&mut self.store, &self.key, &text).is_none() {
                self.save_problem(UNBACKED.to_string());
                return;
            }
            self.unbacked.remove(0);
        }
        match self.store.set(&self.key, &self.progress.to_json()) {
            Ok(()) => {
                self.unsaved = false;
                if self.notice_is_about_saving {
                    self.notice = None;
                    self.notice_is_about_saving = false;
                }
            }
            Err(e) => self.save_problem(store_problem(&e)),
        }
    }

    /// Imports a progress file. On any problem nothing changes and the reason is returned.
    /// Every record is kept, but those whose id `in_course` does not know are reported apart:
    /// they count toward nothing until a course version has those exercises.
    pub fn import(&mut self, text: &str, in_course: impl Fn(&str) -> bool) -> Result<Imported> {
        let incoming = Progress::parse(text)?;
        let (known, unknown): (Vec<&String>, Vec<&String>) =
            incoming.exercises.keys().partition(|id| in_course(id));
        let imported = Imported {
            known: known.len(),
            unknown: unknown.into_iter().cloned().collect(),
        };
        self.refresh();
        let mut merged = self.progress.clone();
        merged.merge(&incoming);
        // What is stored must stay readable as progress: within the limits of a file.
        if merged.exercises.len() > MAX_EXERCISES {
            return Err(Error::Progress(format!(
                "with the progress you have, it makes {} exercise records; at most {MAX_EXERCISES} are kept",
                merged.exercises.len()
            )));
        }
        let size = merged.to_json().len() as u64;
        if too_large(size).is_some() {
            return Err(Error::Progress(format!(
                "with the progress you have, the record would be {} bytes; at most {} bytes (1 MiB) are kept",
                crate::thousands(size),
                crate::thousands(MAX_IMPORT_BYTES as u64)
            )));
        }
        self.progress = merged;
        self.save();
        Ok(imported)
    }
}

fn store_problem(e: &StoreError) -> String {
    match e {
        StoreError::Full => "The browser's storage is full: your progress is kept for this visit only. Export it to keep it.".into(),
        StoreError::Unavailable(why) => format!("Browser storage is unavailable ({why}): progress is kept for this visit only. Export it to keep it."),
    }
}
