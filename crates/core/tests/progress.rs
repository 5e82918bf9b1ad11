//! The learner's progress: parsing and its refusals, and a store that is corrupt, full or
//! unavailable never costs the learner their progress silently.

mod common;

use mlsec_core::grade::{Figure, Grade, Unit};
use mlsec_core::progress::{
    ExerciseRecord, KeyValueStore, LessonState, MemoryStore, Progress, ProgressBook, Resume,
    StoreError, BACKUP_KEY, FORMAT, MAX_IMPORT_BYTES, STORE_KEY,
};
use mlsec_core::Error;
use std::collections::BTreeMap;

fn graded(passed: bool, figures: Vec<Figure>) -> Grade {
    let mut g = Grade::from_figures(figures, "");
    g.passed = passed;
    g
}

fn sample() -> Progress {
    let mut p = Progress::default();
    p.record_attempt(
        "fgsm-untargeted",
        &graded(
            false,
            vec![Figure::at_least("attack success", 0.25, 0.9, Unit::Percent)],
        ),
    );
    p.record_attempt(
        "fgsm-untargeted",
        &graded(
            true,
            vec![Figure::at_least(
                "attack success",
                0.96875,
                0.9,
                Unit::Percent,
            )],
        ),
    );
    p.record_attempt(
        "pixel-attack-by-hand",
        &graded(
            false,
            vec![Figure::at_most("pixels changed", 6.0, 4.0, Unit::Count)],
        ),
    );
    p.open_hint("pixel-attack-by-hand", 2);
    p.view_solution("train-digits");
    p
}

fn progress_error(text: &str) -> String {
    match Progress::parse(text) {
        Err(Error::Progress(msg)) => msg,
        Err(other) => panic!("expected Error::Progress, got {other:?}"),
        Ok(p) => panic!("accepted: {p:?}"),
    }
}

fn record_json(extra: &str) -> String {
    format!(r#"{{"passed":true,"attempts":1,"hints_opened":0,"solution_viewed":false{extra}}}"#)
}

fn file_with(id: &str, record: &str) -> String {
    format!(r#"{{"format":"{FORMAT}","exercises":{{"{id}":{record}}}}}"#)
}

fn store_with(text: &str) -> MemoryStore {
    let mut store = MemoryStore::default();
    store.values.insert(STORE_KEY.into(), text.into());
    store
}

/// A store that cannot be used at all (private mode, storage disabled).
struct Unavailable;

impl KeyValueStore for Unavailable {
    fn get(&self, _: &str) -> Result<Option<String>, StoreError> {
        Err(StoreError::Unavailable("disabled by the browser".into()))
    }
    fn set(&mut self, _: &str, _: &str) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("disabled by the browser".into()))
    }
}

// ---------------------------------------------------------------- the model

#[test]
fn recording_keeps_passes_best_figures_and_counts() {
    let p = sample();
    let fgsm = p.record("fgsm-untargeted");
    assert!(fgsm.passed);
    assert_eq!(fgsm.attempts, 2);
    assert_eq!(fgsm.best["attack success"], 0.96875);
    let mut q = p.clone();
    // A later, worse, failing attempt neither un-passes nor lowers the best.
    q.record_attempt(
        "fgsm-untargeted",
        &graded(
            false,
            vec![Figure::at_least("attack success", 0.5, 0.9, Unit::Percent)],
        ),
    );
    assert!(q.record("fgsm-untargeted").passed);
    assert_eq!(q.record("fgsm-untargeted").best["attack success"], 0.96875);
    assert_eq!(q.record("fgsm-untargeted").attempts, 3);
    // For an at-most figure, lower is better.
    q.record_attempt(
        "pixel-attack-by-hand",
        &graded(
            false,
            vec![Figure::at_most("pixels changed", 3.0, 4.0, Unit::Count)],
        ),
    );
    q.record_attempt(
        "pixel-attack-by-hand",
        &graded(
            false,
            vec![Figure::at_most("pixels changed", 9.0, 4.0, Unit::Count)],
        ),
    );
    assert_eq!(q.record("pixel-attack-by-hand").best["pixels changed"], 3.0);
    // Hints only ever go up.
    q.open_hint("pixel-attack-by-hand", 1);
    assert_eq!(q.record("pixel-attack-by-hand").hints_opened, 2);
    q.open_hint("pixel-attack-by-hand", 3);
    assert_eq!(q.record("pixel-attack-by-hand").hints_opened, 3);
    assert!(q.record("train-digits").solution_viewed);
    assert_eq!(q.record("never-seen"), ExerciseRecord::default());
    assert_eq!(
        q.passed_among(["fgsm-untargeted", "pixel-attack-by-hand", "train-digits"]),
        1
    );
}

#[test]
fn parse_round_trips_to_json() {
    let p = sample();
    let json = p.to_json();
    assert_eq!(Progress::parse(&json).unwrap(), p);
    assert_eq!(
        Progress::parse(&Progress::default().to_json()).unwrap(),
        Progress::default()
    );
    // `best` may be left out of a record.
    let minimal = file_with("a-1", &record_json(""));
    assert!(Progress::parse(&minimal)
        .unwrap()
        .record("a-1")
        .best
        .is_empty());
}

#[test]
fn round_trip_keeps_grader_figures_exactly() {
    // Graders report accuracies as f32 widened to f64 (here 329/360 as f32); best figures must
    // survive saving and loading bit for bit, or a reloaded best differs from what was reached.
    let accuracy = f64::from(329f32 / 360f32);
    let mut p = Progress::default();
    p.record_attempt(
        "train-digits",
        &graded(
            true,
            vec![Figure::at_least(
                "test accuracy",
                accuracy,
                0.89,
                Unit::Percent,
            )],
        ),
    );
    let back = Progress::parse(&p.to_json()).unwrap();
    assert_eq!(
        back.record("train-digits").best["test accuracy"].to_bits(),
        accuracy.to_bits(),
        "{} came back as {}",
        accuracy,
        back.record("train-digits").best["test accuracy"]
    );
}

// ---------------------------------------------------------------- refusals

#[test]
fn parse_refuses_a_wrong_format_tag() {
    let text = sample().to_json().replace(FORMAT, "mlsec-progress/2");
    assert!(progress_error(&text).contains("mlsec-progress/2"));
    progress_error(&sample().to_json().replace(FORMAT, "mlsec-receipt/1"));
    progress_error(r#"{"exercises":{}}"#);
}

#[test]
fn parse_refuses_invalid_ids() {
    let long = "x".repeat(65);
    for id in [
        "",
        "Upper",
        "a b",
        "a/b",
        "ü",
        "../../etc",
        "a.b",
        long.as_str(),
    ] {
        let msg = progress_error(&file_with(id, &record_json("")));
        assert!(msg.contains("not a valid exercise id"), "{id}: {msg}");
    }
    assert!(Progress::parse(&file_with(&"x".repeat(64), &record_json(""))).is_ok());
}

#[test]
fn parse_refuses_hostile_json() {
    let hostile = file_with("<script>", &record_json(""));
    assert!(progress_error(&hostile).contains("not a valid exercise id"));
    let hostile = file_with("\\u003cimg src=x onerror=alert(1)\\u003e", &record_json(""));
    progress_error(&hostile);
    // Unknown keys anywhere, and prototype-pollution style keys, are refused.
    progress_error(&format!(
        r#"{{"format":"{FORMAT}","exercises":{{}},"__proto__":{{"x":1}}}}"#
    ));
    progress_error(&file_with("a", &record_json(r#","admin":true"#)));
    // Wrong types and shapes.
    for text in [
        "",
        "null",
        "[]",
        "\"progress\"",
        "{",
        &format!(r#"{{"format":"{FORMAT}","exercises":[]}}"#),
    ] {
        progress_error(text);
    }
    progress_error(&file_with(
        "a",
        r#"{"passed":"yes","attempts":1,"hints_opened":0,"solution_viewed":false}"#,
    ));
    progress_error(&file_with(
        "a",
        r#"{"passed":true,"attempts":-1,"hints_opened":0,"solution_viewed":false}"#,
    ));
    progress_error(&file_with(
        "a",
        r#"{"passed":true,"attempts":4294967296,"hints_opened":0,"solution_viewed":false}"#,
    ));
}

#[test]
fn parse_refuses_nan_infinite_and_absurd_values() {
    for best in ["NaN", "Infinity", "-Infinity", "1e400", "null", "\"0.9\""] {
        let text = file_with(
            "a",
            &record_json(&format!(r#","best":{{"test accuracy":{best}}}"#)),
        );
        progress_error(&text);
    }
    let msg = progress_error(&file_with(
        "a",
        &record_json("").replace(r#""hints_opened":0"#, r#""hints_opened":101"#),
    ));
    assert!(msg.contains("101"), "{msg}");
    let long_label = "l".repeat(201);
    let msg = progress_error(&file_with(
        "a",
        &record_json(&format!(r#","best":{{"{long_label}":1.0}}"#)),
    ));
    assert!(msg.contains("invalid figure"), "{msg}");
    // Too many exercises.
    let many: Vec<String> = (0..1001)
        .map(|i| format!(r#""e{i}":{}"#, record_json("")))
        .collect();
    let text = format!(
        r#"{{"format":"{FORMAT}","exercises":{{{}}}}}"#,
        many.join(",")
    );
    assert!(text.len() < MAX_IMPORT_BYTES);
    assert!(progress_error(&text).contains("1001"));
}

#[test]
fn parse_refuses_huge_input_before_parsing() {
    let json = sample().to_json();
    // Valid JSON, made too large with whitespace: refused for its size alone.
    let padded = format!("{json}{}", " ".repeat(MAX_IMPORT_BYTES + 1 - json.len()));
    let msg = progress_error(&padded);
    // One byte over is told apart from the limit itself.
    assert!(
        msg.contains("1,048,577 bytes") && msg.contains("at most 1,048,576 bytes"),
        "{msg}"
    );
    let at_limit = format!("{json}{}", " ".repeat(MAX_IMPORT_BYTES - json.len()));
    assert!(Progress::parse(&at_limit).is_ok());
    // Deep nesting does not crash the parser.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    progress_error(&deep);
}

// ---------------------------------------------------------------- the book and its store

#[test]
fn open_loads_saved_progress_and_update_saves() {
    let book = ProgressBook::open(store_with(&sample().to_json()));
    assert_eq!(book.progress(), &sample());
    assert!(book.notice.is_none());

    let mut book = ProgressBook::open(MemoryStore::default());
    assert_eq!(book.progress(), &Progress::default());
    assert!(book.notice.is_none());
    assert!(
        book.store().values.is_empty(),
        "opening an empty store wrote to it"
    );
    book.update(|p| *p = sample());
    let saved = book.store().values.get(STORE_KEY).expect("update saved");
    assert_eq!(Progress::parse(saved).unwrap(), sample());
    // What the book saved, the next visit opens.
    let reopened = ProgressBook::open(store_with(saved));
    assert_eq!(reopened.progress(), &sample());
    assert!(reopened.notice.is_none());
}

#[test]
fn open_backs_up_a_corrupt_store_and_starts_fresh() {
    for corrupt in [
        "{\"format\":\"mlsec-progress/1\",\"exercises\":{\"a\":",
        "not json",
        &file_with("<script>", &record_json("")),
    ] {
        let mut book = ProgressBook::open(store_with(corrupt));
        assert_eq!(book.progress(), &Progress::default());
        let notice = book.notice.clone().expect("the learner is told");
        assert!(notice.contains(BACKUP_KEY), "{notice}");
        assert_eq!(
            book.store().values.get(BACKUP_KEY).map(String::as_str),
            Some(corrupt)
        );
        // Nothing is overwritten by merely opening.
        assert_eq!(
            book.store().values.get(STORE_KEY).map(String::as_str),
            Some(corrupt)
        );
        // The next save replaces the unreadable record; the backup stays.
        book.update(|p| p.open_hint("fgsm-untargeted", 1));
        assert_eq!(
            book.store().values.get(BACKUP_KEY).map(String::as_str),
            Some(corrupt)
        );
        let saved = Progress::parse(&book.store().values[STORE_KEY]).unwrap();
        assert_eq!(saved.record("fgsm-untargeted").hints_opened, 1);
    }
}

#[test]
fn open_says_so_when_the_corrupt_store_cannot_be_backed_up() {
    let corrupt = "x".repeat(600);
    let mut store = store_with(&corrupt);
    store.capacity = Some(1000);
    let book = ProgressBook::open(store);
    assert_eq!(book.progress(), &Progress::default());
    let notice = book.notice.clone().unwrap();
    assert!(notice.contains("full"), "{notice}");
    assert!(!book.store().values.contains_key(BACKUP_KEY));
    assert_eq!(
        book.store().values[STORE_KEY],
        corrupt,
        "the unreadable data was lost"
    );
}

#[test]
fn unbacked_unreadable_data_survives_until_a_pass() {
    // The unreadable data could not be backed up (storage full): nothing may overwrite it, not
    // a hint, not an attempt. New progress stays in memory and the learner is told.
    let corrupt = "x".repeat(600);
    let mut store = store_with(&corrupt);
    store.capacity = Some(1000);
    let mut book = ProgressBook::open(store);
    assert!(book
        .notice
        .as_deref()
        .unwrap_or("")
        .contains("left untouched"));
    book.update(|p| p.open_hint("fgsm-untargeted", 1));
    book.update(|p| {
        p.record_attempt(
            "fgsm-untargeted",
            &graded(
                false,
                vec![Figure::at_least("attack success", 0.2, 0.9, Unit::Percent)],
            ),
        )
    });
    assert_eq!(book.progress().record("fgsm-untargeted").hints_opened, 1);
    assert!(
        book.store().values.get(STORE_KEY) == Some(&corrupt),
        "the unreadable data was overwritten before any exercise was passed"
    );
}

#[test]
fn a_failed_import_changes_nothing() {
    let mut book = ProgressBook::open(store_with(&sample().to_json()));
    let before_store = book.store().values.clone();
    // A file with one good record and one bad one is refused whole.
    let bad = format!(
        r#"{{"format":"{FORMAT}","exercises":{{"good-one":{},"<script>":{}}}}}"#,
        record_json(""),
        record_json("")
    );
    for text in [
        bad.as_str(),
        "garbage",
        "",
        &" ".repeat(MAX_IMPORT_BYTES + 1),
    ] {
        match book.import(text, |_| true) {
            Err(Error::Progress(_)) => {}
            other => panic!("import of a bad file: {other:?}"),
        }
        assert_eq!(book.progress(), &sample());
        assert_eq!(book.store().values, before_store);
        assert!(book.notice.is_none());
    }
}

#[test]
fn a_successful_import_merges() {
    let mut mine = Progress::default();
    mine.exercises.insert(
        "a".into(),
        ExerciseRecord {
            passed: true,
            attempts: 2,
            hints_opened: 1,
            solution_viewed: false,
            best: BTreeMap::from([("x".to_string(), 0.5)]),
            prediction: None,
        },
    );
    mine.exercises.insert(
        "b".into(),
        ExerciseRecord {
            passed: false,
            attempts: 5,
            ..Default::default()
        },
    );
    let mut theirs = Progress::default();
    theirs.exercises.insert(
        "a".into(),
        ExerciseRecord {
            passed: false,
            attempts: 7,
            hints_opened: 0,
            solution_viewed: false,
            best: BTreeMap::from([("x".to_string(), 0.75), ("y".to_string(), 3.0)]),
            prediction: None,
        },
    );
    theirs.exercises.insert(
        "b".into(),
        ExerciseRecord {
            passed: true,
            attempts: 1,
            hints_opened: 2,
            solution_viewed: true,
            best: BTreeMap::new(),
            prediction: None,
        },
    );
    theirs.exercises.insert(
        "c".into(),
        ExerciseRecord {
            attempts: 1,
            ..Default::default()
        },
    );

    let mut book = ProgressBook::open(store_with(&mine.to_json()));
    let imported = book.import(&theirs.to_json(), |_| true).unwrap();
    assert_eq!((imported.known, imported.unknown.len()), (3, 0));
    let p = book.progress().clone();
    let a = p.record("a");
    assert!(a.passed, "a pass was lost in the merge");
    assert_eq!((a.attempts, a.hints_opened), (7, 1));
    assert_eq!(a.best["x"], 0.5, "this side's best figure wins");
    assert_eq!(a.best["y"], 3.0);
    let b = p.record("b");
    assert!(b.passed && b.solution_viewed);
    assert_eq!((b.attempts, b.hints_opened), (5, 2));
    assert_eq!(p.record("c").attempts, 1);
    assert_eq!(p.passed_among(["a", "b", "c"]), 2);
    // The merge was saved.
    assert_eq!(Progress::parse(&book.store().values[STORE_KEY]).unwrap(), p);
    // Importing the same file again changes nothing.
    book.import(&theirs.to_json(), |_| true).unwrap();
    assert_eq!(book.progress(), &p);
}

#[test]
fn a_full_store_keeps_changes_in_memory_and_says_so() {
    let store = MemoryStore {
        values: BTreeMap::new(),
        capacity: Some(40),
    };
    let mut book = ProgressBook::open(store);
    assert!(book.notice.is_none());
    book.update(|p| p.view_solution("fgsm-untargeted"));
    assert!(
        book.progress().record("fgsm-untargeted").solution_viewed,
        "the change was lost"
    );
    let notice = book.notice.clone().expect("the learner is told");
    assert!(
        notice.contains("full") && notice.contains("Export"),
        "{notice}"
    );
    assert!(book.store().values.is_empty());
    // Later changes keep accumulating in memory.
    book.update(|p| p.open_hint("fgsm-untargeted", 2));
    assert!(book.progress().record("fgsm-untargeted").solution_viewed);
    assert_eq!(book.progress().record("fgsm-untargeted").hints_opened, 2);
    // An import still merges in memory, and says the store is full.
    assert_eq!(book.import(&sample().to_json(), |_| true).unwrap().known, 3);
    assert!(book.progress().record("fgsm-untargeted").passed);
}

#[test]
fn an_unavailable_store_keeps_progress_for_the_visit() {
    let mut book = ProgressBook::open(Unavailable);
    assert_eq!(book.progress(), &Progress::default());
    assert!(book.notice.as_deref().unwrap().contains("unavailable"));
    book.update(|p| p.open_hint("train-digits", 1));
    assert_eq!(book.progress().record("train-digits").hints_opened, 1);
}

// ---------------------------------------------------------------- two tabs, one store

use std::cell::RefCell;
use std::rc::Rc;

/// Two tabs of the lab: two books opened on one shared store.
fn two_tabs(
    stored: &Progress,
) -> (
    ProgressBook<Rc<RefCell<MemoryStore>>>,
    ProgressBook<Rc<RefCell<MemoryStore>>>,
    Rc<RefCell<MemoryStore>>,
) {
    let store = Rc::new(RefCell::new(store_with(&stored.to_json())));
    let a = ProgressBook::open(store.clone());
    let b = ProgressBook::open(store.clone());
    (a, b, store)
}

fn stored(store: &Rc<RefCell<MemoryStore>>) -> Progress {
    Progress::parse(&store.borrow().values[STORE_KEY]).unwrap()
}

fn pass() -> Grade {
    graded(
        true,
        vec![Figure::at_least("attack success", 0.95, 0.9, Unit::Percent)],
    )
}

#[test]
fn a_stale_tab_writing_keeps_the_other_tabs_pass() {
    // The issue's steps: tab A at one lesson, tab B at another; B passes; A, never reloaded,
    // opens a hint. The pass must survive A's write.
    let (mut a, mut b, store) = two_tabs(&Progress::default());
    b.update(|p| p.record_attempt("fgsm-untargeted", &pass()));
    assert!(stored(&store).record("fgsm-untargeted").passed);
    a.update(|p| p.open_hint("pgd-targeted", 1));
    let now = stored(&store);
    assert!(
        now.record("fgsm-untargeted").passed,
        "tab A's stale write lost tab B's pass"
    );
    assert_eq!(now.record("pgd-targeted").hints_opened, 1);
    // Reloading B (a fresh book on the store) shows both.
    let reloaded = ProgressBook::open(store.clone());
    assert_eq!(
        reloaded
            .progress()
            .passed_among(["fgsm-untargeted", "pgd-targeted"]),
        1
    );
    assert_eq!(reloaded.progress().record("pgd-targeted").hints_opened, 1);
}

#[test]
fn two_tabs_passing_at_once_keep_both_passes() {
    let (mut a, mut b, store) = two_tabs(&Progress::default());
    // Both started training from the same stored state; each finishes and records.
    a.update(|p| p.record_attempt("train-digits", &pass()));
    b.update(|p| p.record_attempt("adversarial-training", &pass()));
    let now = stored(&store);
    assert_eq!(
        now.passed_among(["train-digits", "adversarial-training"]),
        2
    );
    // Attempts add up across tabs instead of one tab's count replacing the other's.
    a.update(|p| p.record_attempt("train-digits", &pass()));
    b.update(|p| p.record_attempt("train-digits", &pass()));
    assert_eq!(stored(&store).record("train-digits").attempts, 3);
}

#[test]
fn refresh_shows_another_tabs_progress_without_writing() {
    let (mut a, mut b, store) = two_tabs(&sample());
    b.update(|p| p.record_attempt("pgd-targeted", &pass()));
    let before = store.borrow().values.clone();
    assert!(!a.progress().record("pgd-targeted").passed);
    a.refresh();
    assert!(a.progress().record("pgd-targeted").passed);
    assert_eq!(store.borrow().values, before, "a refresh only reads");
    // The existing merge rules decide: hints opened never decrease, best figures are kept.
    a.update(|p| p.open_hint("pixel-attack-by-hand", 1));
    assert_eq!(
        stored(&store).record("pixel-attack-by-hand").hints_opened,
        2
    );
    assert_eq!(
        stored(&store).record("fgsm-untargeted").best["attack success"],
        0.96875
    );
}

#[test]
fn stored_data_that_became_unreadable_is_backed_up_before_a_write() {
    let (mut a, _b, store) = two_tabs(&sample());
    store
        .borrow_mut()
        .values
        .insert(STORE_KEY.into(), "{ not progress".into());
    a.update(|p| p.open_hint("train-digits", 1));
    assert_eq!(store.borrow().values[BACKUP_KEY], "{ not progress");
    let now = stored(&store);
    assert_eq!(now.record("train-digits").hints_opened, 1);
    assert!(
        now.record("fgsm-untargeted").passed,
        "this tab's progress is kept"
    );
    assert!(a.notice.as_deref().unwrap().contains(BACKUP_KEY));
}

// ---------------------------------------------------------------- imports of unknown exercises

#[test]
fn records_for_unknown_exercises_are_kept_but_never_counted() {
    let course = ["train-digits", "fgsm-untargeted"];
    let mut fake = Progress::default();
    for i in 0..20 {
        fake.record_attempt(&format!("fake-{i}"), &pass());
    }
    fake.record_attempt("fgsm-untargeted", &pass());
    let mut book = ProgressBook::open(MemoryStore::default());
    let imported = book
        .import(&fake.to_json(), |id| course.contains(&id))
        .unwrap();
    assert_eq!(imported.known, 1);
    assert_eq!(imported.unknown.len(), 20);
    let said = imported.describe("fake.json");
    assert!(
        said.starts_with("Imported 1 exercise record from fake.json.")
            && said.contains("20 more are for exercises this course does not have")
            && said.contains("fake-0")
            && said.contains("not counted"),
        "{said}"
    );
    // The count shown comes from the course: 1 of 2, never 21 of 2.
    assert_eq!(book.progress().passed_among(course), 1);
    // Kept (a later course version may have these exercises), and still so after a reload.
    assert!(book.progress().record("fake-7").passed);
    let reloaded = ProgressBook::open(store_with(&book.store().values[STORE_KEY]));
    assert_eq!(reloaded.progress().passed_among(course), 1);
    assert!(reloaded.progress().record("fake-7").passed);
}

#[test]
fn an_import_of_only_known_records_says_nothing_about_unknown_ones() {
    let mut book = ProgressBook::open(MemoryStore::default());
    let imported = book.import(&sample().to_json(), |_| true).unwrap();
    assert_eq!(
        imported.describe("mine.json"),
        "Imported 3 exercise records from mine.json."
    );
    // A file of nothing but unknown records says that nothing counts.
    let mut fake = Progress::default();
    fake.open_hint("fake-0", 1);
    let imported = book.import(&fake.to_json(), |id| id != "fake-0").unwrap();
    assert_eq!(
        imported.describe("fake.json"),
        "Nothing in fake.json counts in this course: 1 exercise record is for exercises this \
         course does not have (fake-0): kept, but not counted."
    );
}

#[test]
fn long_labels_and_ids_are_quoted_short() {
    let label = "x".repeat(300);
    let msg = progress_error(&file_with(
        "train-digits",
        &record_json(&format!(r#","best":{{"{label}":1.0}}"#)),
    ));
    assert!(msg.contains("(300 characters)"), "{msg}");
    assert!(msg.len() < 150, "the message repeats the label: {msg}");
    let id = "Y".repeat(300);
    let msg = progress_error(&file_with(&id, &record_json("")));
    assert!(msg.contains("(300 characters)") && msg.len() < 150, "{msg}");
}

// ---------------------------------------------------------------- found in review

fn figure_grade(value: f64) -> Grade {
    graded(
        value >= 0.9,
        vec![Figure::at_least(
            "attack success",
            value,
            0.9,
            Unit::Percent,
        )],
    )
}

#[test]
fn a_stale_tab_never_writes_back_an_older_best_figure() {
    let mut start = Progress::default();
    start.record_attempt("fgsm-untargeted", &figure_grade(0.90));
    let (mut a, mut b, store) = two_tabs(&start);
    b.update(|p| p.record_attempt("fgsm-untargeted", &figure_grade(0.97)));
    a.update(|p| p.open_hint("pgd-targeted", 1));
    assert_eq!(
        stored(&store).record("fgsm-untargeted").best["attack success"],
        0.97,
        "tab A wrote back its stale best figure"
    );
    assert_eq!(
        a.progress().record("fgsm-untargeted").best["attack success"],
        0.97
    );
}

#[test]
fn a_tab_holding_unbacked_data_merges_what_another_tab_saved() {
    // Tab A opens on unreadable data while the store is full, so it holds the data unbacked.
    let store = Rc::new(RefCell::new(MemoryStore {
        values: BTreeMap::from([(STORE_KEY.to_string(), "{ corrupt".to_string())]),
        capacity: Some(12),
    }));
    let mut a = ProgressBook::open(store.clone());
    assert!(a.notice.as_deref().unwrap().contains("could not be copied"));
    // Space is freed; tab B backs the data up and saves its pass.
    store.borrow_mut().capacity = None;
    let mut b = ProgressBook::open(store.clone());
    b.update(|p| p.record_attempt("fgsm-untargeted", &pass()));
    // A writes: B's pass survives, and the unreadable data is still kept.
    a.update(|p| p.open_hint("train-digits", 1));
    let now = stored(&store);
    assert!(
        now.record("fgsm-untargeted").passed,
        "tab A overwrote tab B's progress"
    );
    assert_eq!(now.record("train-digits").hints_opened, 1);
    assert_eq!(store.borrow().values[BACKUP_KEY], "{ corrupt");
}

#[test]
fn a_second_unreadable_copy_never_replaces_the_first_backup() {
    let store = Rc::new(RefCell::new(store_with("{ first")));
    let mut a = ProgressBook::open(store.clone());
    assert_eq!(store.borrow().values[BACKUP_KEY], "{ first");
    store
        .borrow_mut()
        .values
        .insert(STORE_KEY.into(), "{ second".into());
    a.update(|p| p.open_hint("train-digits", 1));
    assert_eq!(store.borrow().values[BACKUP_KEY], "{ first");
    let second = format!("{BACKUP_KEY}.1");
    assert_eq!(store.borrow().values[&second], "{ second");
    assert!(a.notice.as_deref().unwrap().contains(&second));
}

#[test]
fn imports_cannot_grow_the_store_past_what_it_can_read_back() {
    let many = |prefix: &str| {
        let mut p = Progress::default();
        for i in 0..600 {
            p.open_hint(&format!("{prefix}-{i}"), 1);
        }
        p.to_json()
    };
    let mut book = ProgressBook::open(MemoryStore::default());
    book.import(&many("a"), |_| false).unwrap();
    let before = book.store().values.clone();
    match book.import(&many("b"), |_| false) {
        Err(Error::Progress(msg)) => assert!(msg.contains("1200") && msg.contains("1000"), "{msg}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        book.store().values,
        before,
        "a refused import changed the store"
    );
    // What is stored still opens.
    let reopened = ProgressBook::open(store_with(&before[STORE_KEY]));
    assert!(reopened.notice.is_none());
    assert_eq!(reopened.progress().exercises.len(), 600);
}

#[test]
fn the_storage_notice_goes_once_saving_works_again() {
    let store = Rc::new(RefCell::new(MemoryStore {
        values: BTreeMap::new(),
        capacity: Some(10),
    }));
    let mut book = ProgressBook::open(store.clone());
    book.update(|p| p.open_hint("train-digits", 1));
    assert!(book.notice.as_deref().unwrap().contains("full"));
    store.borrow_mut().capacity = None;
    book.update(|p| p.open_hint("train-digits", 2));
    assert_eq!(book.notice, None);
    assert_eq!(stored(&store).record("train-digits").hints_opened, 2);
}

#[test]
fn a_workshop_book_is_kept_apart_from_self_paced_progress() {
    use mlsec_core::progress::{MemoryStore, ProgressBook, STORE_KEY};
    let mut book = ProgressBook::open_at(
        MemoryStore::default(),
        "mlsec-lab.workshop.abc.def.progress",
    );
    book.update(|p| p.view_solution("fgsm-untargeted"));
    assert!(book.store().get(STORE_KEY).unwrap().is_none());
    let own = ProgressBook::open(MemoryStore::default());
    assert!(own.progress().exercises.is_empty());
    let copy = MemoryStore {
        values: book.store().values.clone(),
        capacity: None,
    };
    let reopened = ProgressBook::open_at(copy, "mlsec-lab.workshop.abc.def.progress");
    assert!(
        reopened
            .progress()
            .record("fgsm-untargeted")
            .solution_viewed
    );
}

#[test]
fn lesson_states_and_where_to_continue_follow_the_learners_work() {
    let lessons: Vec<(String, Vec<String>)> = [
        ("one", vec!["a"]),
        ("two", vec!["b", "c"]),
        ("reading", vec![]),
        ("three", vec!["d"]),
    ]
    .into_iter()
    .map(|(l, e)| (l.to_string(), e.into_iter().map(String::from).collect()))
    .collect();
    let state =
        |p: &Progress, lesson: usize| p.lesson_state(lessons[lesson].1.iter().map(String::as_str));
    let mut p = Progress::default();
    // Nothing done: every lesson not started, and the learner starts at the first.
    assert!((0..4).all(|l| state(&p, l) == LessonState::NotStarted));
    assert_eq!(p.resume_at(&lessons), Some(Resume::Start("one")));
    assert_eq!(p.resume_at(&[]), None);
    // A hint opened starts a lesson, and that is where to continue.
    p.open_hint("b", 1);
    assert_eq!(state(&p, 1), LessonState::Started);
    assert_eq!(p.resume_at(&lessons), Some(Resume::Continue("two")));
    // Passing one of its two exercises leaves it started; passing both passes it, and the
    // learner continues with the next lesson, one with nothing to pass too.
    p.record_attempt("b", &graded(true, vec![]));
    assert_eq!(state(&p, 1), LessonState::Started);
    p.record_attempt("c", &graded(false, vec![]));
    assert_eq!(state(&p, 1), LessonState::Started);
    p.record_attempt("c", &graded(true, vec![]));
    assert_eq!(state(&p, 1), LessonState::Passed);
    assert_eq!(state(&p, 2), LessonState::NotStarted);
    assert_eq!(p.resume_at(&lessons), Some(Resume::Continue("reading")));
    // An earlier lesson skipped does not pull the learner back: they go on from the furthest.
    assert_eq!(state(&p, 0), LessonState::NotStarted);
    // A failed attempt at the last lesson starts it; passing it leaves nothing ahead.
    p.record_attempt("d", &graded(false, vec![]));
    assert_eq!(p.resume_at(&lessons), Some(Resume::Continue("three")));
    p.record_attempt("d", &graded(true, vec![]));
    assert_eq!(state(&p, 3), LessonState::Passed);
    assert_eq!(p.resume_at(&lessons), None);
    // The solution viewed alone counts as started, and the words never rely on colour.
    let mut q = Progress::default();
    q.view_solution("a");
    assert_eq!(state(&q, 0), LessonState::Started);
    assert_eq!(
        [
            LessonState::NotStarted,
            LessonState::Started,
            LessonState::Passed
        ]
        .map(LessonState::label),
        ["not started", "started", "passed"]
    );
}

#[test]
fn a_prediction_is_made_before_the_first_run_compared_with_it_and_summed_up() {
    let mut p = Progress::default();
    assert_eq!(p.calibration(), None);
    // Not a share, or after a run: refused with the reason.
    assert!(p
        .predict("a", "attack success", 1.5)
        .unwrap_err()
        .contains("share"));
    assert!(p.predict("a", "attack success", f64::NAN).is_err());
    p.predict("a", "attack success", 0.40).unwrap();
    assert!(p
        .predict("a", "attack success", 0.5)
        .unwrap_err()
        .contains("already"));
    p.record_attempt("b", &graded(false, vec![]));
    assert!(p
        .predict("b", "attack success", 0.5)
        .unwrap_err()
        .contains("before the first run"));
    assert_eq!(
        p.calibration().unwrap().describe(),
        "1 prediction waiting for a run."
    );
    // The first run after it is the answer; later runs do not move it.
    let figure = |v: f64| Figure::at_least("attack success", v, 0.9, Unit::Percent);
    p.record_attempt("a", &graded(false, vec![figure(0.62)]));
    p.record_attempt("a", &graded(true, vec![figure(0.95)]));
    let made = p.record("a").prediction.unwrap();
    assert_eq!(made.actual, Some(0.62));
    assert_eq!(
        made.describe(),
        "You predicted 40.0% for attack success; the run reached 62.0%: 22.0 points higher than you expected."
    );
    p.predict("c", "test accuracy", 0.9).unwrap();
    p.record_attempt(
        "c",
        &graded(
            true,
            vec![Figure::at_least("test accuracy", 0.85, 0.8, Unit::Percent)],
        ),
    );
    let c = p.calibration().unwrap();
    assert_eq!((c.made, c.resolved, c.within_ten), (2, 2, 1));
    assert!(
        (c.mean_miss - 13.5).abs() < 1e-9 && (c.bias - 8.5).abs() < 1e-9,
        "{c:?}"
    );
    assert_eq!(
        c.describe(),
        "Your predictions: 1 of 2 within 10 points of the result; off by 13.5 points on average, and results beat your expectations by 8 points on average."
    );
    // Predictions travel in the progress file and merge like the rest.
    let back = Progress::parse(&p.to_json()).unwrap();
    assert_eq!(back, p);
    let mut other = Progress::default();
    other.merge(&p);
    assert_eq!(other.record("a").prediction, p.record("a").prediction);
}

#[test]
fn a_corrupt_stored_prediction_is_set_aside_and_everything_else_kept() {
    let stored = r#"{"format":"mlsec-progress/1","exercises":{
        "a":{"passed":true,"attempts":2,"hints_opened":0,"solution_viewed":false,"best":{},
             "prediction":{"figure":"attack success","predicted":7.5}},
        "b":{"passed":false,"attempts":0,"hints_opened":0,"solution_viewed":false,"best":{},
             "prediction":{"figure":"attack success","predicted":0.5}}}}"#;
    let mut store = MemoryStore::default();
    store.set(STORE_KEY, stored).unwrap();
    let book = ProgressBook::open(store);
    let p = book.progress();
    assert!(
        p.record("a").passed,
        "the pass was lost with the prediction"
    );
    assert_eq!(p.record("a").prediction, None);
    assert_eq!(
        p.record("b").prediction.as_ref().map(|x| x.predicted),
        Some(0.5)
    );
    let notice = book.notice.clone().unwrap();
    assert!(
        notice.contains(
            "the prediction for 'a' was set aside: the predicted 7.5 is not a share from 0 to 1"
        ),
        "{notice}"
    );
    assert!(notice.contains("Everything else was kept"), "{notice}");
    // A prediction that is not a number at all (JSON has no NaN) makes the file unreadable as
    // a whole, which the book already backs up; that path is tested above.
}
