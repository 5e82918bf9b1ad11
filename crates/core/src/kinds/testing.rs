//! What the kinds' own tests share: the shipped lessons and resources, read from the
//! repository, and `check()`, rust-analyzer style: an exercise's reference settings, edited as a
//! learner might, run through the job driver like the worker does, and what the learner is told
//! compared with a snapshot. Accept a deliberate change of a message with
//! `UPDATE_EXPECT=1 cargo test --release -p mlsec-core --lib` and review the diff.

use crate::course::{read_course, Lesson};
use crate::exercise::{Exercise, Settings};
use crate::session::Session;
use expect_test::Expect;
use std::sync::OnceLock;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// A session with every shipped resource loaded.
pub fn session() -> &'static Session {
    static SESSION: OnceLock<Session> = OnceLock::new();
    SESSION.get_or_init(|| {
        Session::with_all(|path| {
            std::fs::read(format!("{ROOT}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
        })
        .expect("the shipped resources load")
    })
}

/// The shipped exercise `id`.
pub fn exercise(id: &str) -> &'static Exercise {
    static LESSONS: OnceLock<Vec<Lesson>> = OnceLock::new();
    LESSONS
        .get_or_init(|| {
            read_course(|file| {
                std::fs::read_to_string(format!("{ROOT}/{file}")).map_err(|e| e.to_string())
            })
            .expect("the shipped course loads")
            .1
        })
        .iter()
        .flat_map(|l| l.exercises.iter())
        .find(|e| e.id == id)
        .unwrap_or_else(|| panic!("no shipped exercise {id}"))
}

/// Runs `id`'s reference settings as changed by `edit`, and checks what the learner is told.
pub fn check(id: &str, edit: impl FnOnce(&mut Settings), expected: Expect) {
    let ex = exercise(id);
    let mut settings = ex.task.solution();
    edit(&mut settings);
    let told = match session().run_to_end(ex, settings) {
        Ok(finished) => finished.grade.message,
        Err(e) => format!("refused: {e}"),
    };
    expected.assert_eq(&told);
}
