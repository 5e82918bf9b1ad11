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
    let used: BTreeSet<String> = common::exercises().iter().map(|e| e.task.name()).collect();
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

/// The row of `kind` in lessons/FORMAT.md.
fn format_row(kind: &str) -> String {
    let format = std::fs::read_to_string(Path::new(common::LESSONS_DIR).join("FORMAT.md")).unwrap();
    format
        .lines()
        .find(|l| l.starts_with(&format!("| `{kind}`")))
        .unwrap_or_else(|| panic!("lessons/FORMAT.md has no row for '{kind}'"))
        .to_string()
}

/// FORMAT.md names every key a kind's module reads: the task's keys (from the kind's own
/// struct, as a shipped lesson writes it) and the settings' number fields (the kind's field
/// specs, which the page draws).
#[test]
fn the_format_table_names_every_key_of_every_kind() {
    for ex in common::exercises() {
        let kind = ex.task.name();
        let row = format_row(&kind);
        let serde_json::Value::Object(keys) = serde_json::to_value(&ex.task).unwrap() else {
            panic!("{} does not serialise as a table", ex.id)
        };
        let task_keys = keys
            .keys()
            .filter(|k| !["kind", "starter", "solution"].contains(&k.as_str()))
            .cloned();
        let field_keys = ex.task.fields().into_iter().map(|f| f.key.to_string());
        for key in task_keys.chain(field_keys) {
            assert!(
                row.contains(&format!("`{key}`")),
                "lessons/FORMAT.md's row for '{kind}' does not name `{key}`"
            );
        }
    }
}

fn source(dir: &str) -> Vec<(String, String)> {
    let dir = Path::new(common::ROOT).join(dir);
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().to_string();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// The lines of `text` (numbered from 1) that contain any of `patterns`.
fn lines_with<'a>(
    text: &'a str,
    patterns: &'a [&str],
) -> impl Iterator<Item = (usize, &'a str)> + 'a {
    text.lines()
        .enumerate()
        .filter(|(_, line)| patterns.iter().any(|p| line.contains(p)))
        .map(|(i, line)| (i + 1, line))
}

/// The page's own code: src/ and src/kinds/ without the engine's worker.
fn page_sources() -> Vec<(String, String)> {
    let mut pages = source("src");
    pages.extend(source("src/kinds"));
    pages.retain(|(name, _)| name != "worker");
    pages
}

/// A kind is a module in crates/core/src/kinds/ and a view component of the same name in
/// src/kinds/, which the page's one dispatch names; the engine's one dispatch names the module.
#[test]
fn every_kind_module_has_its_view_component_and_its_dispatch_lines() {
    let page = source("src/kinds");
    let page_mod = &page.iter().find(|(n, _)| n == "mod").unwrap().1;
    let core = source("crates/core/src/kinds");
    let core_mod = &core.iter().find(|(n, _)| n == "mod").unwrap().1;
    let kinds: Vec<&String> = core
        .iter()
        .filter(|(_, text)| text.contains("impl ExerciseKind for"))
        .map(|(name, _)| name)
        .collect();
    assert_eq!(
        kinds.len(),
        engine_kinds().len(),
        "one module per kind: {kinds:?}"
    );
    for kind in kinds {
        assert!(
            core_mod.contains(&format!("Posed<{kind}::")),
            "Task in crates/core/src/kinds/mod.rs has no variant for the module {kind}"
        );
        let view = page.iter().find(|(n, _)| n == kind);
        assert!(
            view.is_some_and(|(_, text)| text.contains("fn view(props: &KindProps)")
                || text.contains("pub use super::")),
            "src/kinds/{kind}.rs has no view component for the kind {kind}"
        );
        assert!(
            page_mod.contains(&format!("<{kind}::View ..props />")),
            "src/kinds/mod.rs does not dispatch to {kind}::View"
        );
    }
}

/// Every threshold a lesson sets is read through `grade::threshold` (the decimal the author
/// wrote), never widened from f32 by hand.
#[test]
fn graders_read_thresholds_through_one_function() {
    let widened = [
        "f64::from(self.min_",
        "f64::from(self.max_",
        "f64::from(min_",
        "f64::from(max_",
    ];
    for (name, text) in source("crates/core/src/kinds") {
        if let Some((n, _)) = lines_with(&text, &widened).next() {
            panic!("crates/core/src/kinds/{name}.rs:{n}: a threshold widened by hand; use grade::threshold");
        }
    }
}

/// The page describes and edits settings through `Task::kind`; only the worker side runs and
/// grades (`Task::engine`, through the session). A trait object links all its methods, so a
/// page that touched the engine would carry training, the attacks and the assistant models in
/// its bundle (measured: 640 KB gzip more).
#[test]
fn the_page_never_reaches_the_engine() {
    for (name, text) in page_sources() {
        assert!(
            !text.contains(".engine()"),
            "src/{name}.rs calls Task::engine: the page must leave running and grading to the worker"
        );
    }
}

/// The page shows a course others parsed: the build's bundle, or the worker's answer to
/// `Request::BuildCourse` (course.toml, lesson files, markdown rendering, the content check and
/// the search index). Their parsers (toml, pulldown-cmark) were 290 KB of the page's code
/// (measured: 841 → 730 KB gzip when they left, issue 14).
#[test]
fn the_page_parses_no_course_files() {
    for (name, text) in page_sources() {
        for call in [
            "parse_course(",
            "parse_lesson(",
            "from_sources(",
            "read_course(",
            "toml::",
            "markdown::render",
            "to_safe_html(",
            "headings(",
            "sections(",
            "Rendered::of(",
            "search::build(",
            "course::check(",
        ] {
            assert!(
                !text.contains(call),
                "src/{name}.rs calls {call}: the page must leave parsing the course to the build and the worker"
            );
        }
    }
}

/// The lab reads JSON text through `mlsec_core::from_json` (by way of a `serde_json::Value`),
/// never straight into a type: settings and workshops are edited as values anyway, so a type
/// read from text as well had its deserialiser linked twice (measured: the page 724 → 700 KB
/// gzip when every read went through a value, issue 14). Reading a `Value` itself is fine.
#[test]
fn json_text_is_read_through_a_value() {
    // The page crate's code (the page, the workers, the bins) and the core's.
    let mut files = vec![];
    for dir in [
        "src",
        "src/kinds",
        "src/bin",
        "crates/core/src",
        "crates/core/src/kinds",
    ] {
        files.extend(
            source(dir)
                .into_iter()
                .map(|(n, t)| (format!("{dir}/{n}"), t)),
        );
    }
    // (mlsec-assistant reads its one file header, which nothing edits, from text: it cannot
    // reach mlsec-core, which depends on it.)
    let typed_reads = [
        "serde_json::from_str",
        "serde_json::from_slice",
        "serde_json::from_reader",
        "serde_json::Deserializer::from_",
    ];
    for (name, text) in files {
        // Unit tests (a file's `mod tests`) may read text as they like.
        let code = text
            .split("#[cfg(test)]\nmod tests")
            .next()
            .unwrap_or_default();
        let into_a_type = lines_with(code, &typed_reads).find(|(_, line)| {
            !line.contains("serde_json::Value") && !line.contains("serde_json::from_value")
        });
        if let Some((n, _)) = into_a_type {
            panic!("{name}.rs:{n}: JSON text read straight into a type; use mlsec_core::from_json");
        }
    }
}

/// The instructors' module draws its pages inside the page's app, and yew tells two apps'
/// events apart by their roots' numbers, which each module counts from 1 (a portal takes the
/// next). The page's app is root 1 and the instructors' module skips 1
/// (src/bin/instructor.rs); a portal on the page would take 2, a number the instructors' pages
/// use, and the two apps would handle each other's clicks.
#[test]
fn the_page_makes_no_portals() {
    let mut renderers = vec![];
    for (name, text) in page_sources() {
        assert!(
            !text.contains("create_portal"),
            "src/{name}.rs makes a portal: see src/bin/instructor.rs's `mount` before it does"
        );
        if text.contains("Renderer::") {
            renderers.push(name);
        }
    }
    assert_eq!(
        renderers,
        ["main"],
        "the page makes one app, in src/main.rs"
    );
}
