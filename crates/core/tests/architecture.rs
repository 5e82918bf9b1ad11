//! Architecture invariants that ARCHITECTURE.md states, checked by tests instead of prose (the
//! rust-analyzer "tidy" idea): the crates under `crates/` stay free of browser crates, and every
//! exercise kind the engine knows has a lesson that uses it and a row in `lessons/FORMAT.md`.

mod common;

use mlsec_core::kinds::Task;
use std::collections::BTreeSet;
use std::path::Path;

/// Crates that tie code to a browser (or to Yew). The engine must build and be tested natively.
const BROWSER_CRATES: &[&str] = &[
    "yew",
    "yew-router",
    "yew-agent",
    "web-sys",
    "js-sys",
    "gloo",
    "wasm-bindgen",
    "wasm-bindgen-futures",
    "plotters-canvas",
];

fn is_browser_crate(name: &str) -> bool {
    BROWSER_CRATES.contains(&name) || name.starts_with("gloo-") || name.starts_with("wasm-bindgen")
}

/// Names of the dependencies a manifest declares for building the crate itself (every target;
/// dev-dependencies are the tests' own).
fn dependencies(manifest: &toml::Table) -> Vec<String> {
    let mut names = vec![];
    let mut collect = |table: Option<&toml::Value>| {
        if let Some(deps) = table.and_then(toml::Value::as_table) {
            for (name, spec) in deps {
                // `package = "…"` renames: the real crate is what counts.
                let real = spec
                    .get("package")
                    .and_then(toml::Value::as_str)
                    .unwrap_or(name);
                names.push(real.to_string());
            }
        }
    };
    collect(manifest.get("dependencies"));
    collect(manifest.get("build-dependencies"));
    if let Some(targets) = manifest.get("target").and_then(toml::Value::as_table) {
        for target in targets.values() {
            collect(target.get("dependencies"));
            collect(target.get("build-dependencies"));
        }
    }
    names
}

#[test]
fn no_crate_under_crates_depends_on_a_browser_crate() {
    let crates = Path::new(common::ROOT).join("crates");
    let mut checked = 0;
    for entry in std::fs::read_dir(&crates).unwrap() {
        let manifest = entry.unwrap().path().join("Cargo.toml");
        if !manifest.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&manifest).unwrap();
        let table: toml::Table = text.parse().unwrap();
        let bad: Vec<String> = dependencies(&table)
            .into_iter()
            .filter(|d| is_browser_crate(d))
            .collect();
        assert!(
            bad.is_empty(),
            "{} depends on {bad:?}: crates under crates/ must build and run natively (move browser code to src/)",
            manifest.display()
        );
        checked += 1;
    }
    assert!(checked >= 3, "found only {checked} crates under crates/");
}

#[test]
fn the_browser_crate_check_catches_what_it_must() {
    let manifest: toml::Table = r#"
        [dependencies]
        serde = "1"
        [target.'cfg(target_arch = "wasm32")'.dependencies]
        getrandom = { version = "0.3", features = ["wasm_js"] }
        dom = { package = "web-sys", version = "0.3" }
        gloo-timers = "0.3"
    "#
    .parse()
    .unwrap();
    let bad: Vec<String> = dependencies(&manifest)
        .into_iter()
        .filter(|d| is_browser_crate(d))
        .collect();
    assert_eq!(bad, ["web-sys", "gloo-timers"]);
}

/// Every kind the engine knows, as lesson authors write it (`kind = "…"`), read from the
/// engine's own parser: the list it gives when a kind is unknown.
fn engine_kinds() -> BTreeSet<String> {
    let err = toml::from_str::<Task>(r#"kind = "no-such-kind""#)
        .unwrap_err()
        .to_string();
    let list = err
        .split("expected one of")
        .nth(1)
        .unwrap_or_else(|| panic!("the parser did not list the kinds: {err}"));
    let kinds: BTreeSet<String> = list
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    assert!(kinds.len() >= 7, "read {kinds:?} from: {err}");
    kinds
}

#[test]
fn every_kind_has_a_lesson_and_a_format_row() {
    let kinds = engine_kinds();
    let used: BTreeSet<String> = common::exercises()
        .iter()
        .map(|e| {
            serde_json::to_value(&e.task).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let format = std::fs::read_to_string(Path::new(common::LESSONS_DIR).join("FORMAT.md")).unwrap();
    let rows: BTreeSet<String> = format
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_string)
        .collect();
    for kind in &kinds {
        assert!(used.contains(kind), "no lesson uses the kind '{kind}'");
        assert!(
            rows.contains(kind),
            "lessons/FORMAT.md has no row for the kind '{kind}'"
        );
    }
    for row in &rows {
        assert!(
            kinds.contains(row),
            "lessons/FORMAT.md has a row for '{row}', which is not a kind the engine knows"
        );
    }
}
