//! What the kinds' own tests share: the shipped lessons and resources, read from the
//! repository, and `check()`, rust-analyzer style: an exercise's reference settings, edited as a
//! learner might, run through the job driver like the worker does, and what the learner is told
//! compared with a snapshot. Accept a deliberate change of a message with
//! `UPDATE_EXPECT=1 cargo test --release -p mlsec-core --lib` and review the diff.

use crate::course::parse_lesson;
use crate::exercise::{Exercise, Settings};
use crate::resources::Resource;
use crate::session::Session;
use expect_test::Expect;
use std::sync::OnceLock;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{ROOT}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A session with every shipped resource loaded.
pub fn session() -> &'static Session {
    static SESSION: OnceLock<Session> = OnceLock::new();
    SESSION.get_or_init(|| {
        let files: Vec<(Resource, Vec<u8>)> = [
            Resource::Digits,
            Resource::TargetModel,
            Resource::AssistantModel,
            Resource::StructuredModel,
        ]
        .into_iter()
        .map(|r| (r, std::fs::read(format!("{ROOT}/{}", r.path())).unwrap()))
        .collect();
        let loaded: Vec<(Resource, &[u8])> =
            files.iter().map(|(r, b)| (*r, b.as_slice())).collect();
        Session::with(&loaded).expect("the shipped resources load")
    })
}

/// The shipped exercise `id`.
pub fn exercise(id: &str) -> &'static Exercise {
    static EXERCISES: OnceLock<Vec<Exercise>> = OnceLock::new();
    EXERCISES
        .get_or_init(|| {
            let course = crate::course::parse_course(&read("lessons/course.toml")).unwrap();
            course
                .tracks
                .iter()
                .flat_map(|t| t.lessons.iter())
                .flat_map(|l| {
                    parse_lesson(
                        l,
                        &read(&format!("lessons/{l}/lesson.md")),
                        &read(&format!("lessons/{l}/exercises.toml")),
                    )
                    .unwrap()
                    .exercises
                })
                .collect()
        })
        .iter()
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
