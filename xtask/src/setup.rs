//! `cargo xtask setup`: install only what is missing, at pinned versions, saying what it does.
//!
//! A fresh machine needs about 25 minutes on 2 cores (Trunk and wasm-bindgen-cli are built
//! from source); a machine that has everything only runs a few `--version` checks.

use crate::{cargo, run, stdout_of, CHROMEDRIVER, CHROMIUM};
use anyhow::{bail, Context as _, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Trunk 0.21.14: every 0.22.x needs rustc ≥ 1.96.1.
pub const TRUNK_VERSION: &str = "0.21.14";
/// wasm-bindgen-cli's own lockfile pins a webpki-roots release the registry lacks.
const WEBPKI_ROOTS_PIN: &str = "1.0.10";
const WASM_TARGET: &str = "wasm32-unknown-unknown";

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// What building and serving the site needs: the wasm target, wasm-bindgen-cli, Trunk.
    Build,
    /// Everything, the browser and the end-to-end test packages included.
    All,
}

pub fn setup(root: &Path, scope: Scope) -> Result<()> {
    println!("setup: checking the tools (installing only what is missing)");
    wasm_target()?;
    wasm_bindgen(root)?;
    trunk()?;
    if scope == Scope::All {
        browser_and_node()?;
        npm_packages(root)?;
    }
    println!("setup: done");
    Ok(())
}

fn wasm_target() -> Result<()> {
    match stdout_of("rustup", &["target", "list", "--installed"]) {
        Some(list) if list.lines().any(|l| l.trim() == WASM_TARGET) => {
            println!("  ok  rust target {WASM_TARGET}");
            Ok(())
        }
        Some(_) => {
            println!("  installing the rust target {WASM_TARGET}");
            run(Command::new("rustup").args(["target", "add", WASM_TARGET]))
        }
        None => {
            // No rustup (a distribution's Rust): look in the sysroot instead.
            let sysroot = stdout_of("rustc", &["--print", "sysroot"]).unwrap_or_default();
            let dir = Path::new(&sysroot).join("lib/rustlib").join(WASM_TARGET);
            if dir.is_dir() {
                println!("  ok  rust target {WASM_TARGET} (in {sysroot})");
                Ok(())
            } else {
                bail!("no rustup and no {WASM_TARGET} standard library: install rustup, then run this again")
            }
        }
    }
}

/// The `version = "…"` of every `[[package]]` named `name` in a Cargo.lock.
pub fn locked_versions(lock: &str, name: &str) -> Vec<String> {
    let mut versions = Vec::new();
    let mut current: Option<&str> = None;
    for line in lock.lines().map(str::trim) {
        if line == "[[package]]" {
            current = None;
        } else if let Some(n) = line.strip_prefix("name = ") {
            current = Some(n.trim_matches('"'));
        } else if let Some(v) = line.strip_prefix("version = ") {
            if current == Some(name) {
                versions.push(v.trim_matches('"').to_string());
            }
        }
    }
    versions
}

/// The version in `tool --version` output such as `trunk 0.21.14` (None if not installed).
fn tool_version(tool: &str) -> Option<String> {
    stdout_of(tool, &["--version"])?
        .split_whitespace()
        .nth(1)
        .map(str::to_string)
}

fn wasm_bindgen(root: &Path) -> Result<()> {
    let lock_path = root.join("Cargo.lock");
    let lock = std::fs::read_to_string(&lock_path)
        .with_context(|| format!("reading {}", lock_path.display()))?;
    let version = match locked_versions(&lock, "wasm-bindgen").as_slice() {
        [v] => v.clone(),
        [] => bail!("Cargo.lock has no wasm-bindgen package"),
        many => bail!("Cargo.lock has several wasm-bindgen versions: {many:?}"),
    };
    let found = tool_version("wasm-bindgen");
    let runner = tool_version("wasm-bindgen-test-runner");
    if found.as_deref() == Some(&version) && runner.as_deref() == Some(&version) {
        println!("  ok  wasm-bindgen-cli {version} (the version in Cargo.lock)");
        return Ok(());
    }
    println!(
        "  installing wasm-bindgen-cli {version} (found: {}); it must equal Cargo.lock's wasm-bindgen. Building from source, about 5 min",
        found.unwrap_or_else(|| "none".into())
    );
    install_wasm_bindgen_cli(&version)
}

fn cargo_home() -> Result<PathBuf> {
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        return Ok(home.into());
    }
    let home = std::env::var_os("HOME").context("neither CARGO_HOME nor HOME is set")?;
    Ok(PathBuf::from(home).join(".cargo"))
}

/// `cargo install wasm-bindgen-cli --locked` fails (its lockfile pins a webpki-roots release the
/// registry lacks), so: fetch the crate through a throw-away project, unpack it, re-pin
/// webpki-roots, and install from the unpacked source with its (fixed) lockfile.
fn install_wasm_bindgen_cli(version: &str) -> Result<()> {
    let work = std::env::temp_dir().join(format!("mlsec-xtask-wbcli-{}", std::process::id()));
    if work.exists() {
        std::fs::remove_dir_all(&work)?;
    }
    let fetcher = work.join("fetch");
    std::fs::create_dir_all(fetcher.join("src"))?;
    std::fs::write(
        fetcher.join("Cargo.toml"),
        format!(
            "[package]\nname = \"fetch-wasm-bindgen-cli\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
             [dependencies]\nwasm-bindgen-cli = \"={version}\"\n\n[workspace]\n"
        ),
    )?;
    std::fs::write(fetcher.join("src/lib.rs"), "")?;
    run(cargo().current_dir(&fetcher).arg("fetch"))?;

    let file_name = format!("wasm-bindgen-cli-{version}.crate");
    let cache = cargo_home()?.join("registry").join("cache");
    let archive = std::fs::read_dir(&cache)
        .with_context(|| format!("reading {}", cache.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join(&file_name))
        .find(|p| p.is_file())
        .with_context(|| format!("{file_name} is not in {}", cache.display()))?;
    println!("  unpacking {}", archive.display());
    run(Command::new("tar")
        .arg("-xzf")
        .arg(&archive)
        .arg("-C")
        .arg(&work))?;
    let source = work.join(format!("wasm-bindgen-cli-{version}"));

    let lock = std::fs::read_to_string(source.join("Cargo.lock")).unwrap_or_default();
    match locked_versions(&lock, "webpki-roots").as_slice() {
        [] => println!("  (its Cargo.lock has no webpki-roots: nothing to re-pin)"),
        [v] if v == WEBPKI_ROOTS_PIN => {}
        [v] => run(cargo().current_dir(&source).args([
            "update",
            "-p",
            &format!("webpki-roots@{v}"),
            "--precise",
            WEBPKI_ROOTS_PIN,
        ]))?,
        many => bail!("wasm-bindgen-cli {version} locks several webpki-roots versions: {many:?}"),
    }
    run(cargo()
        .current_dir(&source)
        .args(["install", "--path", ".", "--locked", "--force"]))?;
    let _ = std::fs::remove_dir_all(&work);
    match tool_version("wasm-bindgen") {
        Some(v) if v == version => Ok(()),
        other => bail!(
            "installed wasm-bindgen-cli {version} but `wasm-bindgen --version` says {other:?}: is {} on PATH?",
            cargo_home()?.join("bin").display()
        ),
    }
}

fn trunk() -> Result<()> {
    let found = tool_version("trunk");
    if found.as_deref() == Some(TRUNK_VERSION) {
        println!("  ok  trunk {TRUNK_VERSION}");
        return Ok(());
    }
    println!(
        "  installing trunk {TRUNK_VERSION} (found: {}); building from source, about 15 min on 2 cores",
        found.unwrap_or_else(|| "none".into())
    );
    run(cargo().args(["install", "trunk", "--version", TRUNK_VERSION, "--locked"]))
}

fn is_root() -> bool {
    stdout_of("id", &["-u"]).as_deref() == Some("0")
}

/// Debian's chromium + chromium-driver (the tests drive them), and Node.js if it is missing.
fn browser_and_node() -> Result<()> {
    let mut packages = Vec::new();
    if Path::new(CHROMIUM).is_file() && Path::new(CHROMEDRIVER).is_file() {
        println!("  ok  {CHROMIUM} and {CHROMEDRIVER}");
    } else {
        packages.extend(["chromium", "chromium-driver"]);
    }
    if stdout_of("node", &["--version"]).is_some() && stdout_of("npm", &["--version"]).is_some() {
        println!("  ok  node and npm");
    } else {
        packages.extend(["nodejs", "npm"]);
    }
    if packages.is_empty() {
        return Ok(());
    }
    println!("  installing {} with apt-get", packages.join(", "));
    let apt = |args: &[&str]| -> Result<()> {
        let mut cmd = if is_root() {
            Command::new("apt-get")
        } else {
            let mut sudo = Command::new("sudo");
            if std::env::var_os("CI").is_some() {
                sudo.arg("-n"); // never wait for a password in CI
            }
            sudo.args(["env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]);
            sudo
        };
        cmd.env("DEBIAN_FRONTEND", "noninteractive").args(args);
        run(&mut cmd)
    };
    apt(&["update"])?;
    let mut install = vec!["install", "-y", "--no-install-recommends"];
    install.extend(&packages);
    apt(&install)
}

/// The end-to-end test's packages (playwright-core, pinned in package-lock.json).
fn npm_packages(root: &Path) -> Result<()> {
    let dir = root.join("tests").join("e2e");
    // Every package the tests import (axe-core came later: a checkout that has only the first
    // installs again).
    if ["playwright-core", "axe-core"]
        .iter()
        .all(|p| dir.join("node_modules").join(p).is_dir())
    {
        println!("  ok  tests/e2e/node_modules");
        return Ok(());
    }
    let how = if dir.join("package-lock.json").is_file() {
        "ci"
    } else {
        "install"
    };
    println!("  installing the end-to-end test's npm packages (npm {how})");
    run(Command::new("npm")
        .current_dir(&dir)
        .args([how, "--no-audit", "--no-fund"]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"
[[package]]
name = "wasm-bindgen"
version = "0.2.130"
source = "registry+https://example.invalid/index"
dependencies = [
 "cfg-if",
]

[[package]]
name = "wasm-bindgen-backend"
version = "0.2.99"

[[package]]
name = "webpki-roots"
version = "0.26.11"

[[package]]
name = "webpki-roots"
version = "1.0.11"
"#;

    #[test]
    fn reads_versions_from_cargo_lock() {
        assert_eq!(locked_versions(LOCK, "wasm-bindgen"), ["0.2.130"]);
        assert_eq!(locked_versions(LOCK, "webpki-roots"), ["0.26.11", "1.0.11"]);
        assert!(locked_versions(LOCK, "trunk").is_empty());
    }

    #[test]
    fn reads_the_workspace_lock() {
        let lock = std::fs::read_to_string(crate::project_root().join("Cargo.lock")).unwrap();
        assert_eq!(locked_versions(&lock, "wasm-bindgen").len(), 1);
    }
}
