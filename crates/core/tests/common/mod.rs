//! Shared loading for the integration tests: the shipped digits data, the shipped target model
//! and the lessons, read from the repository the way `crates/cli/src/checkout.rs` reads them, plus a
//! cache of the (expensive) artefacts that running an exercise's starter or solution produces.
#![allow(dead_code)]

use mlsec_core::course::{Course, Lesson};
use mlsec_core::digits::Digits;
use mlsec_core::exercise::Exercise;
use mlsec_core::exercise::{Artefact, Context};
use mlsec_core::mlp::Mlp;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

pub const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
pub const DIGITS_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../assets/digits/digits.csv.gz"
);
pub const TARGET_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../assets/models/digits-mlp.safetensors"
);
pub const ASSISTANT_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../assets/models/assistant-assistant.safetensors"
);
pub const STRUCTURED_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../assets/models/assistant-structured.safetensors"
);
pub const LESSONS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../lessons");

fn read(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

fn read_text(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

/// The raw bytes of `assets/digits/digits.csv.gz`.
pub fn digits_bytes() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| read(DIGITS_PATH))
}

/// The decompressed CSV text of the shipped digits (for building corrupt variants).
pub fn digits_csv() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| {
        use std::io::Read;
        let mut text = String::new();
        flate2::read::GzDecoder::new(digits_bytes())
            .read_to_string(&mut text)
            .expect("the shipped digits.csv.gz decompresses");
        text
    })
}

pub fn digits() -> &'static Digits {
    static DIGITS: OnceLock<Digits> = OnceLock::new();
    DIGITS.get_or_init(|| {
        mlsec_core::resources::Resource::Digits
            .check(digits_bytes())
            .expect("the shipped digits match the registry");
        Digits::from_csv_gz(digits_bytes()).expect("shipped digits parse")
    })
}

/// The raw bytes of the shipped target model.
pub fn target_bytes() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| read(TARGET_PATH))
}

pub fn target_sha256() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| mlsec_core::sha256_hex(target_bytes()))
}

pub fn target() -> &'static Mlp {
    static TARGET: OnceLock<Mlp> = OnceLock::new();
    TARGET.get_or_init(|| {
        mlsec_core::resources::Resource::TargetModel
            .check(target_bytes())
            .expect("the shipped target matches the registry");
        Mlp::from_safetensors(target_bytes()).expect("shipped target loads")
    })
}

/// The shipped assistant models (checked against their pinned hashes).
pub fn assistants() -> &'static mlsec_core::injection::Assistants {
    static ASSISTANTS: OnceLock<mlsec_core::injection::Assistants> = OnceLock::new();
    ASSISTANTS.get_or_init(|| {
        mlsec_core::injection::Assistants::load(&read(ASSISTANT_PATH), &read(STRUCTURED_PATH))
            .expect("the shipped assistant models load")
    })
}

/// A session with every shipped resource loaded, as the worker and the CLI load them.
pub fn session() -> &'static mlsec_core::session::Session {
    static SESSION: OnceLock<mlsec_core::session::Session> = OnceLock::new();
    SESSION.get_or_init(|| {
        mlsec_core::session::Session::with_all(|path| read(&format!("{ROOT}/{path}")))
            .expect("the shipped resources load")
    })
}

pub fn ctx() -> Context<'static> {
    session().context()
}

/// The raw text of one lesson's two files (`exercises.toml` may be absent, as in lab.rs).
pub fn lesson_files(id: &str) -> (String, String) {
    let md = read_text(&format!("{LESSONS_DIR}/{id}/lesson.md"));
    let ex =
        std::fs::read_to_string(format!("{LESSONS_DIR}/{id}/exercises.toml")).unwrap_or_default();
    (md, ex)
}

pub fn course_text() -> String {
    read_text(&format!("{LESSONS_DIR}/course.toml"))
}

/// The course and its lessons, loaded exactly as `crates/cli/src/checkout.rs` does.
pub fn course() -> &'static (Course, Vec<Lesson>) {
    static COURSE: OnceLock<(Course, Vec<Lesson>)> = OnceLock::new();
    COURSE.get_or_init(|| {
        mlsec_core::course::read_course(|file| {
            std::fs::read_to_string(format!("{ROOT}/{file}")).map_err(|e| format!("{file}: {e}"))
        })
        .unwrap_or_else(|e| panic!("the shipped course: {e}"))
    })
}

pub fn exercises() -> Vec<&'static Exercise> {
    course().1.iter().flat_map(|l| l.exercises.iter()).collect()
}

pub fn exercise(id: &str) -> &'static Exercise {
    exercises()
        .into_iter()
        .find(|e| e.id == id)
        .unwrap_or_else(|| panic!("no exercise '{id}' in the shipped lessons"))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Which {
    Starter,
    Solution,
}

type Cache = Mutex<HashMap<(String, Which), &'static OnceLock<Artefact>>>;

/// The artefact that running an exercise's starter or reference solution produces, computed
/// once per test binary (training runs take seconds) and shared by every test that needs it.
pub fn artefact(id: &str, which: Which) -> &'static Artefact {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cell: &'static OnceLock<Artefact> = *CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry((id.to_string(), which))
        .or_insert_with(|| Box::leak(Box::default()));
    cell.get_or_init(|| {
        let ex = exercise(id);
        let settings = match which {
            Which::Starter => ex.task.starter(),
            Which::Solution => ex.task.solution(),
        };
        // Through the job driver, as the worker runs it (training runs epoch by epoch).
        session()
            .run_to_end(ex, settings)
            .unwrap_or_else(|e| panic!("running {id} {which:?}: {e}"))
            .artefact
    })
}

/// The images of an image artefact as f32s.
pub fn pixels_of(artefact: &Artefact) -> Vec<f32> {
    match artefact {
        Artefact::Images { pixels } => pixels
            .0
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        _ => panic!("expected an image artefact"),
    }
}

/// The weights of a weights artefact as a model.
pub fn model_of(artefact: &Artefact) -> Mlp {
    match artefact {
        Artefact::Weights { safetensors } => {
            Mlp::from_safetensors(&safetensors.0).expect("artefact weights load")
        }
        _ => panic!("expected a weights artefact"),
    }
}

/// Largest |a − b| over two equally long pixel vectors.
pub fn linf(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "pixel vectors differ in length");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max)
}

/// Among images the model classifies correctly, the fraction it misreads after the attack (or
/// reads as `target`, when given).
pub fn fooled_fraction(
    model: &Mlp,
    clean: &[f32],
    labels: &[u8],
    attacked: &[f32],
    target: Option<u8>,
) -> f64 {
    let before = model.predict(clean).unwrap();
    let after = model.predict(attacked).unwrap();
    let mut correct = 0usize;
    let mut fooled = 0usize;
    for i in 0..labels.len() {
        if before[i] != labels[i] {
            continue;
        }
        correct += 1;
        fooled += usize::from(match target {
            Some(t) => after[i] == t,
            None => after[i] != labels[i],
        });
    }
    assert!(correct > 0, "the model got none of these images right");
    fooled as f64 / correct as f64
}
