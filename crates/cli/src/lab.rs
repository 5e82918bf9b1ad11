//! Reads the lab from disk: the course, the digits data and the shipped target model. The core
//! does no I/O; this is the native side's only file reading.

use anyhow::{anyhow, bail, Context as _, Result};
use mlsec_core::course::{parse_course, parse_lesson, Course, Exercise, Lesson};
use mlsec_core::digits::Digits;
use mlsec_core::mlp::Mlp;
use std::path::{Path, PathBuf};

pub const DIGITS_PATH: &str = "assets/digits/digits.csv.gz";
pub const TARGET_PATH: &str = "assets/models/digits-mlp.safetensors";

pub struct Lab {
    pub course: Course,
    pub lessons: Vec<Lesson>,
    pub digits: Digits,
    pub target: Mlp,
    pub target_sha256: String,
}

/// The repository root: `--root`, else the first ancestor of the current directory that has
/// `lessons/course.toml`.
pub fn find_root(explicit: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(root) = explicit {
        return Ok(root);
    }
    let cwd = std::env::current_dir()?;
    cwd.ancestors()
        .find(|dir| dir.join("lessons/course.toml").is_file())
        .map(Path::to_path_buf)
        .ok_or_else(|| {
            anyhow!(
                "no lessons/course.toml here or above {}; pass --root DIR",
                cwd.display()
            )
        })
}

pub fn read_course(root: &Path) -> Result<(Course, Vec<Lesson>)> {
    let lessons_dir = root.join("lessons");
    let course_text = std::fs::read_to_string(lessons_dir.join("course.toml"))
        .with_context(|| format!("reading {}", lessons_dir.join("course.toml").display()))?;
    let course = parse_course(&course_text)?;
    let mut lessons = Vec::new();
    for id in course.tracks.iter().flat_map(|t| t.lessons.iter()) {
        let dir = lessons_dir.join(id);
        let md = std::fs::read_to_string(dir.join("lesson.md"))
            .with_context(|| format!("reading lesson '{id}'"))?;
        let ex = std::fs::read_to_string(dir.join("exercises.toml")).unwrap_or_default();
        lessons.push(parse_lesson(id, &md, &ex)?);
    }
    Ok((course, lessons))
}

pub fn read_digits(root: &Path) -> Result<Digits> {
    let bytes =
        std::fs::read(root.join(DIGITS_PATH)).with_context(|| format!("reading {DIGITS_PATH}"))?;
    Ok(Digits::from_csv_gz(&bytes)?)
}

impl Lab {
    pub fn load(root: PathBuf) -> Result<Self> {
        let (course, lessons) = read_course(&root)?;
        let digits = read_digits(&root)?;
        let target_bytes = std::fs::read(root.join(TARGET_PATH)).with_context(|| {
            format!("reading {TARGET_PATH} (regenerate it with `mlsec train-target`)")
        })?;
        let target = Mlp::from_safetensors(&target_bytes)?;
        let target_sha256 = mlsec_core::sha256_hex(&target_bytes);
        Ok(Lab {
            course,
            lessons,
            digits,
            target,
            target_sha256,
        })
    }

    pub fn context(&self) -> mlsec_core::exercise::Context<'_> {
        mlsec_core::exercise::Context {
            digits: &self.digits,
            target: &self.target,
        }
    }

    pub fn exercise(&self, id: &str) -> Result<&Exercise> {
        match self
            .lessons
            .iter()
            .flat_map(|l| l.exercises.iter())
            .find(|e| e.id == id)
        {
            Some(e) => Ok(e),
            None => bail!("no exercise '{id}' in this course"),
        }
    }
}
