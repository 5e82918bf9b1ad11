//! Reads a checkout of the lab from disk: the course, the digits data and the shipped target model. The core
//! does no I/O; this is the native side's only file reading.

use anyhow::{anyhow, bail, Context as _, Result};
use mlsec_core::course::{Course, Lesson};
use mlsec_core::digits::Digits;
use mlsec_core::exercise::Exercise;
use mlsec_core::resources::Resource;
use mlsec_core::session::Session;
use std::path::{Path, PathBuf};

use mlsec_core::course::paths;

pub struct Checkout {
    pub course: Course,
    pub lessons: Vec<Lesson>,
    /// The digits, the target model and (when they load; otherwise a warning, so that
    /// everything else, such as re-grading digits receipts, still works) Track E's models.
    pub session: Session,
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
    Ok(mlsec_core::course::read_course(|file| {
        std::fs::read_to_string(root.join(file)).map_err(|e| format!("reading {file}: {e}"))
    })?)
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

impl Checkout {
    pub fn load(root: PathBuf) -> Result<Self> {
        let (course, lessons) = read_course(&root)?;
        // The same session, and the same checks, as the browser's worker.
        let session = Session::new();
        for resource in [
            Resource::Digits,
            Resource::SmsSpam,
            Resource::Census,
            Resource::TargetModel,
        ] {
            let bytes = read_resource(&root, resource).with_context(|| {
                format!(
                    "{} (regenerate it with `{}`, then pin its hash)",
                    resource.describe(),
                    resource.regenerate()
                )
            })?;
            session.load(resource, &bytes)?;
        }
        for resource in [Resource::AssistantModel, Resource::StructuredModel] {
            let loaded = read_resource(&root, resource)
                .and_then(|bytes| Ok(session.load(resource, &bytes)?));
            if let Err(e) = loaded {
                eprintln!("warning: the prompt-injection exercises cannot be graded: {e:#}");
                break;
            }
        }
        Ok(Checkout {
            course,
            lessons,
            session,
        })
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
