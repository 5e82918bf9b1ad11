//! Reads the lab from disk: the course, the digits data and the shipped target model. The core
//! does no I/O; this is the native side's only file reading.

use anyhow::{anyhow, bail, Context as _, Result};
use mlsec_core::course::{parse_course, parse_lesson, Course, Exercise, Lesson};
use mlsec_core::digits::Digits;
use mlsec_core::injection::Assistants;
use mlsec_core::mlp::Mlp;
use mlsec_core::resources::Resource;
use std::path::{Path, PathBuf};

use mlsec_core::course::paths;

pub struct Lab {
    pub course: Course,
    pub lessons: Vec<Lesson>,
    pub digits: Digits,
    pub target: Mlp,
    pub target_sha256: String,
    /// Track E's models; `None` (with a warning) when they cannot be read, so that everything
    /// else, such as re-grading digits receipts, still works.
    pub assistants: Option<Assistants>,
}

/// The repository root: `--root`, else the first ancestor of the current directory that has
/// `lessons/course.toml`.
pub fn find_root(explicit: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(root) = explicit {
        return Ok(root);
    }
    let cwd = std::env::current_dir()?;
    cwd.ancestors()
        .find(|dir| dir.join(paths::COURSE).is_file())
        .map(Path::to_path_buf)
        .ok_or_else(|| {
            anyhow!(
                "no lessons/course.toml here or above {}; pass --root DIR",
                cwd.display()
            )
        })
}

pub fn read_course(root: &Path) -> Result<(Course, Vec<Lesson>)> {
    let course_path = root.join(paths::COURSE);
    let course_text = std::fs::read_to_string(&course_path)
        .with_context(|| format!("reading {}", course_path.display()))?;
    let course = parse_course(&course_text)?;
    let mut lessons = Vec::new();
    for id in course.tracks.iter().flat_map(|t| t.lessons.iter()) {
        // Both files are required, as in the browser: a lesson that checks here must load there.
        let [md, ex] = paths::lesson(id).map(|file| {
            std::fs::read_to_string(root.join(&file))
                .with_context(|| format!("reading lesson '{id}': {file}"))
        });
        let (md, ex) = (md?, ex?);
        lessons.push(parse_lesson(id, &md, &ex)?);
    }
    Ok((course, lessons))
}

/// Reads a resource's file, checked against the registry's pinned hash like the worker does.
pub fn read_resource(root: &Path, resource: Resource) -> Result<Vec<u8>> {
    let bytes = std::fs::read(root.join(resource.path()))
        .with_context(|| format!("reading {}", resource.path()))?;
    resource.check(&bytes)?;
    Ok(bytes)
}

pub fn read_digits(root: &Path) -> Result<Digits> {
    Ok(Digits::from_csv_gz(&read_resource(
        root,
        Resource::Digits,
    )?)?)
}

impl Lab {
    pub fn load(root: PathBuf) -> Result<Self> {
        let (course, lessons) = read_course(&root)?;
        let digits = read_digits(&root)?;
        let target_bytes = read_resource(&root, Resource::TargetModel).context(
            "the target model (regenerate it with `mlsec train-target`, then pin its hash)",
        )?;
        let target = Mlp::from_safetensors(&target_bytes)?;
        let target_sha256 = mlsec_core::sha256_hex(&target_bytes);
        let assistants = read_resource(&root, Resource::AssistantModel)
            .and_then(|a| Ok((a, read_resource(&root, Resource::StructuredModel)?)))
            .and_then(|(a, s)| Ok(Assistants::load(&a, &s)?));
        let assistants = match assistants {
            Ok(loaded) => Some(loaded),
            Err(e) => {
                eprintln!("warning: the prompt-injection exercises cannot be graded: {e:#}");
                None
            }
        };
        Ok(Lab {
            assistants,
            course,
            lessons,
            digits,
            target,
            target_sha256,
        })
    }

    pub fn context(&self) -> mlsec_core::exercise::Context<'_> {
        mlsec_core::exercise::Context {
            digits: Some(&self.digits),
            target: Some(&self.target),
            assistants: self.assistants.as_ref(),
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
