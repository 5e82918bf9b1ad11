//! What the build does to Trunk's output so that any static host serves the lab safely and it
//! keeps working offline:
//!
//! - the code files (the page's and the worker's JavaScript and WebAssembly, the start script
//!   and the stylesheet) move under `v/<version>/`, the version being a hash of their bytes, and
//!   index.html names them there. A redeploy then never mixes an old `app.js` with a new
//!   `app_bg.wasm`: the new index.html names new paths, and an old page keeps asking for its own;
//! - `sw.js`, the service worker (a file of its own, so the Content-Security-Policy holds), is
//!   written from the template at the repository root with that version and the list of every
//!   file of the site and its size: it caches them all on the first visit (the page shows the
//!   bytes saved so far) and serves them from that cache, so a reload with no network works.
//!   A new version installs into a cache of its own and takes over once the old tabs are closed.

use anyhow::{bail, Context as _, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Trunk's code files, moved under `v/<version>/`.
pub const CODE_FILES: [&str; 7] = [
    "start.js",
    "app.js",
    "app_bg.wasm",
    "style.css",
    "worker_loader.js",
    "worker.js",
    "worker_bg.wasm",
];

/// The files index.html names, which must now be named under `v/<version>/`.
const NAMED_BY_INDEX: [&str; 4] = ["start.js", "app.js", "app_bg.wasm", "style.css"];

/// Versions the code in `dist` and writes its service worker from `template`; returns the
/// version.
pub fn finish(dist: &Path, template: &str) -> Result<String> {
    let mut hash = Sha256::new();
    for name in CODE_FILES {
        let bytes =
            std::fs::read(dist.join(name)).with_context(|| format!("{name} is not in dist/"))?;
        hash.update(name.as_bytes());
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(&bytes);
    }
    let version: String = hash.finalize()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let code = dist.join("v").join(&version);
    std::fs::create_dir_all(&code)?;
    for name in CODE_FILES {
        std::fs::rename(dist.join(name), code.join(name))?;
    }
    let index_path = dist.join("index.html");
    let mut index = std::fs::read_to_string(&index_path)?;
    for name in NAMED_BY_INDEX {
        let (old, new) = (format!("\"./{name}\""), format!("\"./v/{version}/{name}\""));
        if !index.contains(&old) {
            bail!("index.html does not name {old}: has Trunk's output changed?");
        }
        index = index.replace(&old, &new);
    }
    std::fs::write(&index_path, index)?;
    let mut files = vec![];
    list(dist, dist, &mut files)?;
    files.sort();
    // The site's root answers navigations (index.html under its directory's own address).
    let index_bytes = std::fs::metadata(&index_path)?.len();
    let mut entries = vec![serde_json::json!(["./", index_bytes])];
    entries.extend(
        files
            .iter()
            .map(|(p, b)| serde_json::json!([format!("./{p}"), b])),
    );
    if !template.contains("__VERSION__") || !template.contains("__FILES__") {
        bail!("the service-worker template lacks __VERSION__ or __FILES__");
    }
    let sw = template
        .replace("__VERSION__", &version)
        .replace("__FILES__", &serde_json::to_string(&entries)?);
    std::fs::write(dist.join("sw.js"), sw)?;
    Ok(version)
}

/// Every file under `dir`, as a '/'-separated path relative to `root`, with its size.
fn list(root: &Path, dir: &Path, out: &mut Vec<(String, u64)>) -> Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            list(root, &path, out)?;
        } else {
            let rel = path.strip_prefix(root)?;
            let rel: Vec<String> = rel
                .iter()
                .map(|c| c.to_string_lossy().into_owned())
                .collect();
            if rel.join("/") != "sw.js" {
                out.push((rel.join("/"), entry.metadata()?.len()));
            }
        }
    }
    Ok(())
}

/// The folder that holds the code of the site in `dist` (`v/<version>/`).
pub fn code_dir(dist: &Path) -> Result<PathBuf> {
    let versions: Vec<PathBuf> = std::fs::read_dir(dist.join("v"))
        .context("dist/ has no v/ folder: build it with `cargo xtask build` or `dist`")?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    match versions.as_slice() {
        [one] => Ok(one.clone()),
        _ => bail!("dist/v/ holds {} versions, not one", versions.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_moves_under_its_version_and_the_worker_lists_every_file() {
        let dist = std::env::temp_dir().join(format!("xtask-site-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dist);
        std::fs::create_dir_all(dist.join("lessons/a")).unwrap();
        for name in CODE_FILES {
            std::fs::write(dist.join(name), name).unwrap();
        }
        std::fs::write(dist.join("lessons/a/lesson.md"), "# A").unwrap();
        std::fs::write(
            dist.join("index.html"),
            r#"<link href="./style.css"><script src="./start.js"></script><link href="./app.js"><link href="./app_bg.wasm">"#,
        )
        .unwrap();
        let version = finish(&dist, "const V = '__VERSION__'; const F = __FILES__;").unwrap();
        assert_eq!(version.len(), 12);
        assert_eq!(code_dir(&dist).unwrap(), dist.join("v").join(&version));
        assert!(dist
            .join("v")
            .join(&version)
            .join("worker_bg.wasm")
            .is_file());
        assert!(!dist.join("app.js").exists());
        let index = std::fs::read_to_string(dist.join("index.html")).unwrap();
        assert!(
            index.contains(&format!("\"./v/{version}/start.js\"")),
            "{index}"
        );
        let sw = std::fs::read_to_string(dist.join("sw.js")).unwrap();
        assert!(sw.contains(&format!("'{version}'")), "{sw}");
        assert!(sw.contains("[\"./lessons/a/lesson.md\",3]"), "{sw}");
        assert!(sw.contains(&format!("\"./v/{version}/app.js\"")), "{sw}");
        assert!(sw.contains("[\"./\","), "{sw}");
        assert!(
            !sw.contains("sw.js"),
            "the worker does not cache itself: {sw}"
        );
        // Other code, another version.
        let _ = std::fs::remove_dir_all(&dist);
        std::fs::create_dir_all(&dist).unwrap();
        for name in CODE_FILES {
            std::fs::write(dist.join(name), format!("{name} v2")).unwrap();
        }
        std::fs::write(
            dist.join("index.html"),
            r#""./style.css" "./start.js" "./app.js" "./app_bg.wasm""#,
        )
        .unwrap();
        assert_ne!(finish(&dist, "__VERSION__ __FILES__").unwrap(), version);
        let _ = std::fs::remove_dir_all(&dist);
    }
}
