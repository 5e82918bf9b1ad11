//! `cargo xtask`: the lab's developer commands (the rust-analyzer xtask pattern).
//!
//! ```text
//! cargo xtask setup          install what is missing (pinned versions), say what it does
//! cargo xtask serve          setup, then serve the lab at http://127.0.0.1:8080 (Trunk, release)
//! cargo xtask build          build the static site into dist/ (release profile)
//! cargo xtask dist           build the static site into dist/ with the `dist` profile (fat LTO)
//! cargo xtask check-content  check every lesson: starters fail, reference solutions pass
//! cargo xtask test           THE test command: setup, native tests, content, wasm tests, e2e
//! cargo xtask e2e [--no-build]  build dist/ and run only the end-to-end tests
//! cargo xtask serve-dist     serve dist/ under /lab/ as the end-to-end tests do
//! cargo xtask bench [cli]    benchmarks: native, browser and PyTorch timings, page figures, CLI
//! ```
//!
//! Only `std` and `anyhow`: no network crates. Everything that downloads goes through
//! cargo, rustup, apt-get or npm, and only when something is missing.

mod bench;
mod server;
mod setup;
mod site;

use anyhow::{bail, Context as _, Result};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// Trunk reads this: never phone home for a newer Trunk.
const TRUNK_ENV: (&str, &str) = ("TRUNK_SKIP_VERSION_CHECK", "true");
/// The address `cargo xtask serve` uses.
const SERVE_ADDRESS: &str = "127.0.0.1";
const SERVE_PORT: u16 = 8080;
/// The sub-path the end-to-end tests serve `dist/` under, to prove sub-path hosting works.
const E2E_PREFIX: &str = "/lab/";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// Extra Chromium switches for headless runs on these machines (the test runner adds
/// `headless`, `no-sandbox` and `disable-dev-shm-usage` itself).
const CHROMIUM_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

const HELP: &str = "\
usage: cargo xtask <command>

  setup          install what is missing, at pinned versions (wasm32 target, wasm-bindgen-cli,
                 trunk, chromium + chromedriver, the e2e test's npm packages)
  serve [--port N]  setup, then run the lab at http://127.0.0.1:8080 (trunk serve --release)
  build          build the static site into dist/ (release profile)
  dist           build the static site into dist/ with the `dist` cargo profile (smaller, slower)
  check-content  check every lesson: static checks, starters fail, reference solutions pass
  test           the one test command: setup, native tests, content check, wasm tests in
                 headless Chromium, build dist/, end-to-end tests of dist/ under a sub-path
  e2e [--no-build]  build dist/ (unless --no-build) and run only the end-to-end tests
  serve-dist [--dir DIR] [--port N]  serve dist/ (or DIR) under /lab/, as the e2e tests do
  bench [cli]    benchmarks: native, browser and PyTorch timings, first render, bundle sizes,
                 `mlsec grade` on 30 receipts (`cli`: that figure alone, no browser or torch)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        eprint!("{HELP}");
        return ExitCode::from(2);
    };
    let root = project_root();
    let result = match command.as_str() {
        "setup" => setup::setup(&root, setup::Scope::All),
        "serve" => serve(&root, rest),
        "build" => setup::setup(&root, setup::Scope::Build).and_then(|()| build(&root, false)),
        "dist" => setup::setup(&root, setup::Scope::Build).and_then(|()| build(&root, true)),
        "check-content" => check_content(&root),
        "test" => return test(&root),
        "e2e" => match rest {
            [] => setup::setup(&root, setup::Scope::All)
                .and_then(|()| build(&root, false))
                .and_then(|()| e2e(&root)),
            [flag] if flag == "--no-build" => {
                setup::setup(&root, setup::Scope::All).and_then(|()| e2e(&root))
            }
            _ => Err(anyhow::anyhow!("usage: cargo xtask e2e [--no-build]")),
        },
        "serve-dist" => serve_dist(&root, rest),
        "bench" => match rest {
            [] => setup::setup(&root, setup::Scope::All).and_then(|()| bench::bench(&root)),
            [only] if only == "cli" => bench::cli(&root),
            _ => Err(anyhow::anyhow!("usage: cargo xtask bench [cli]")),
        },
        "help" | "-h" | "--help" => {
            print!("{HELP}");
            Ok(())
        }
        other => {
            eprint!("unknown command '{other}'\n\n{HELP}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (this crate lives in `<root>/xtask`).
fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}

/// The cargo that runs us (falls back to the one on PATH).
pub(crate) fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// A shell-like rendering of a command, for the log.
fn describe(cmd: &Command) -> String {
    let mut parts: Vec<String> = cmd
        .get_envs()
        .filter_map(|(k, v)| Some(format!("{}={}", k.to_string_lossy(), v?.to_string_lossy())))
        .collect();
    let program = Path::new(cmd.get_program());
    // Show `cargo`, not the absolute path of the toolchain's cargo.
    let shown = if cmd.get_program() == std::env::var_os("CARGO").unwrap_or_default() {
        OsStr::new("cargo")
    } else {
        program.as_os_str()
    };
    parts.push(shown.to_string_lossy().into_owned());
    parts.extend(cmd.get_args().map(|a| {
        let a = a.to_string_lossy();
        if a.is_empty() || a.contains(' ') {
            format!("'{a}'")
        } else {
            a.into_owned()
        }
    }));
    let mut line = format!("$ {}", parts.join(" "));
    if let Some(dir) = cmd.get_current_dir() {
        line.push_str(&format!("    (in {})", dir.display()));
    }
    line
}

/// Announce and run a command; an error if it cannot start or exits non-zero.
pub(crate) fn run(cmd: &mut Command) -> Result<()> {
    let line = describe(cmd);
    println!("{line}");
    let status = cmd
        .status()
        .with_context(|| format!("cannot start `{}`", cmd.get_program().to_string_lossy()))?;
    if !status.success() {
        bail!("`{}` failed ({status})", line.trim_start_matches("$ "));
    }
    Ok(())
}

/// The trimmed stdout of a command that succeeded, or `None` (missing, failed).
pub(crate) fn stdout_of(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn trunk(root: &Path) -> Command {
    let mut cmd = Command::new("trunk");
    cmd.current_dir(root).env(TRUNK_ENV.0, TRUNK_ENV.1);
    cmd
}

/// Trunk runs cargo with `--offline` (so that it reports a wrong wasm-bindgen instead of
/// trying to download one): make sure every crate, the wasm32-only ones included, is in
/// cargo's cache first. Offline machines with a warm cache only get a warning.
fn fetch_crates(root: &Path) {
    if let Err(e) = run(cargo().current_dir(root).arg("fetch")) {
        println!("warning: {e:#}; going on with the crates already in cargo's cache");
    }
}

/// `trunk build --release` into `dist/`, with relative asset URLs (any sub-path works).
fn build(root: &Path, dist_profile: bool) -> Result<()> {
    fetch_crates(root);
    let mut cmd = trunk(root);
    cmd.args(["build", "--release"]);
    if dist_profile {
        cmd.args(["--cargo-profile", "dist"]);
    }
    cmd.args(["--offline", "--public-url", "./", "--dist", "dist"]);
    run(&mut cmd)?;
    // The search index and the course bundle, from the lessons as built (before the file list
    // the service worker keeps offline is made).
    for (command, file) in ["search-index", "course-bundle"]
        .into_iter()
        .zip(site::BUILT_DATA)
    {
        run(cargo().current_dir(root).args([
            "run",
            "--release",
            "--quiet",
            "-p",
            "mlsec-cli",
            "--",
            command,
            "-o",
            &format!("dist/{file}"),
        ]))?;
    }
    let template = std::fs::read_to_string(root.join("sw.js")).context("reading sw.js")?;
    let version = site::finish(&root.join("dist"), &template)?;
    let (raw, gz, br) = site::precompress_code(&root.join("dist"))?;
    site::precompress_built_data(&root.join("dist"))?;
    println!(
        "built {} (code version {version}; its code precompressed, {} KB to {} KB gzip, {} KB brotli)",
        root.join("dist").display(),
        raw / 1024,
        gz / 1024,
        br / 1024
    );
    Ok(())
}

fn serve(root: &Path, args: &[String]) -> Result<()> {
    let port = match args {
        [] => SERVE_PORT,
        [flag, port] if flag == "--port" => port.parse().context("--port needs a number")?,
        _ => bail!("usage: cargo xtask serve [--port N]"),
    };
    setup::setup(root, setup::Scope::Build)?;
    fetch_crates(root);
    println!("MLSec Lab will be at http://{SERVE_ADDRESS}:{port}/ once built (Ctrl-C stops it)");
    run(trunk(root).args([
        "serve",
        "--release",
        "--offline",
        // Not dist/: trunk serve adds an inline live-reload script, which must never end up
        // in the folder people host (its CSP forbids inline script).
        "--dist",
        "target/serve-dist",
        "--address",
        SERVE_ADDRESS,
        "--port",
        &port.to_string(),
    ]))
}

fn check_content(root: &Path) -> Result<()> {
    run(cargo().current_dir(root).args([
        "run",
        "--release",
        "-p",
        "mlsec-cli",
        "--",
        "check-content",
    ]))
}

fn native_tests(root: &Path) -> Result<()> {
    run(cargo()
        .current_dir(root)
        .args(["test", "--workspace", "--release"]))
}

/// `#[wasm_bindgen_test]`s of the app crate, in headless Chromium via chromedriver.
fn wasm_tests(root: &Path) -> Result<()> {
    run(&mut wasm_test_command(root)?)
}

/// `cargo test` for wasm32 with the browser runner's settings (the tests and `xtask bench` add
/// their own arguments).
pub(crate) fn wasm_test_command(root: &Path) -> Result<Command> {
    // wasm-bindgen-test-runner merges `goog:chromeOptions` from this file into the
    // capabilities it asks chromedriver for (WASM_BINDGEN_TEST_WEBDRIVER_JSON). The project's
    // own webdriver.json wins; without one, write ours.
    let mut webdriver_json = root.join("webdriver.json");
    if !webdriver_json.is_file() {
        let dir = root.join("target").join("xtask");
        std::fs::create_dir_all(&dir)?;
        webdriver_json = dir.join("webdriver.json");
        std::fs::write(&webdriver_json, webdriver_capabilities())?;
    }
    let mut cmd = cargo();
    cmd.current_dir(root)
        .args([
            "test",
            "-p",
            "mlsec-lab",
            "--target",
            "wasm32-unknown-unknown",
            "--release",
        ])
        .env("CHROMEDRIVER", CHROMEDRIVER)
        .env("WASM_BINDGEN_TEST_TIMEOUT", "300")
        .env("WASM_BINDGEN_TEST_DRIVER_TIMEOUT", "30")
        .env("WASM_BINDGEN_TEST_WEBDRIVER_JSON", &webdriver_json);
    Ok(cmd)
}

fn webdriver_capabilities() -> String {
    let args: Vec<String> = CHROMIUM_ARGS.iter().map(|a| format!("\"{a}\"")).collect();
    format!(
        "{{\n  \"goog:chromeOptions\": {{\n    \"binary\": \"{CHROMIUM}\",\n    \"args\": [{}]\n  }}\n}}\n",
        args.join(", ")
    )
}

/// Serve `dist/` under [`E2E_PREFIX`] on a free port and run the Playwright tests against it.
fn e2e(root: &Path) -> Result<()> {
    let dist = root.join("dist");
    if !dist.join("index.html").is_file() {
        bail!("{} has no index.html: build it first", dist.display());
    }
    let e2e_dir = root.join("tests").join("e2e");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&e2e_dir)
        .with_context(|| format!("reading {}", e2e_dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(".test.mjs"))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("no *.test.mjs file in {}", e2e_dir.display());
    }
    // The instructor's CLI, so the tests can re-grade natively the receipts the browser made
    // (a no-op after `cargo test --workspace --release`).
    run(cargo()
        .current_dir(root)
        .args(["build", "--release", "-p", "mlsec-cli"]))?;
    let cli = root.join("target").join("release").join("mlsec");
    let broken = broken_copy(root, &dist)?;
    let server = server::StaticServer::start(dist, E2E_PREFIX)?;
    let broken_server = server::StaticServer::start(broken, E2E_PREFIX)?;
    let url = server.url();
    println!(
        "serving dist/ at {url}, and a copy with damaged lessons at {}",
        broken_server.url()
    );
    let mut cmd = Command::new("node");
    cmd.current_dir(root)
        .env("LAB_URL", &url)
        .env("LAB_BROKEN_URL", broken_server.url())
        .env("MLSEC_CLI", &cli)
        .args(["--test", "--test-reporter=spec"])
        .args(files.iter().map(|f| f.strip_prefix(root).unwrap_or(f)));
    let result = run(&mut cmd);
    server.stop();
    broken_server.stop();
    result
}

/// A copy of `dist` with content an instructor might get wrong or an attacker might plant: a
/// lesson whose exercises.toml is not TOML, a lesson whose markdown carries script, and a damaged
/// assistant model. The end-to-end tests check that the lab reports the first and the third,
/// renders the second harmlessly, and keeps everything else working.
fn broken_copy(root: &Path, dist: &Path) -> Result<PathBuf> {
    let copy = root.join("target").join("e2e-broken-dist");
    if copy.exists() {
        std::fs::remove_dir_all(&copy)?;
    }
    copy_dir(dist, &copy)?;
    std::fs::write(
        copy.join("lessons/fgsm/exercises.toml"),
        "[[exercise]]\nid = \"fgsm-untargeted\"\ntitle = \n",
    )?;
    let md = copy.join("lessons/pgd-targeted/lesson.md");
    let mut text = std::fs::read_to_string(&md)?;
    text.push_str("\n\n<script>alert('script ran')</script>\n\n<img src=\"x\" onerror=\"alert('onerror ran')\">\n\n[click me](javascript:alert('link ran'))\n\n<p data-testid=\"planted\" onclick=\"alert(1)\">planted paragraph</p>\n");
    std::fs::write(md, text)?;
    // One flipped byte in the structured assistant: Track E must say the file is damaged while
    // every other lesson works.
    let model = copy.join("assets/models/assistant-structured.safetensors");
    let mut bytes = std::fs::read(&model)?;
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(model, bytes)?;
    Ok(copy)
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

fn serve_dist(root: &Path, args: &[String]) -> Result<()> {
    let mut dir = root.join("dist");
    let mut port = 0u16;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--dir" => dir = it.next().context("--dir needs a folder")?.into(),
            "--port" => port = it.next().context("--port needs a number")?.parse()?,
            _ => bail!("usage: cargo xtask serve-dist [--dir DIR] [--port N]"),
        }
    }
    if !dir.join("index.html").is_file() {
        bail!(
            "{} has no index.html: run `cargo xtask build` first",
            dir.display()
        );
    }
    let server = server::StaticServer::start_on(dir, E2E_PREFIX, port)?;
    println!("serving at {} (Ctrl-C stops it)", server.url());
    loop {
        std::thread::park();
    }
}

/// The one test command. Each step is announced; the first failure stops the run.
fn test(root: &Path) -> ExitCode {
    type Step<'a> = (&'a str, Box<dyn Fn() -> Result<()> + 'a>);
    let steps: Vec<Step> = vec![
        (
            "setup (install what is missing)",
            Box::new(|| setup::setup(root, setup::Scope::All)),
        ),
        (
            "native tests (cargo test --workspace --release)",
            Box::new(|| native_tests(root)),
        ),
        (
            "lesson content (mlsec check-content)",
            Box::new(|| check_content(root)),
        ),
        (
            "wasm tests in headless Chromium (cargo test -p mlsec-lab --target wasm32-unknown-unknown)",
            Box::new(|| wasm_tests(root)),
        ),
        (
            "build the site into dist/ (trunk build --release)",
            Box::new(|| build(root, false)),
        ),
        (
            "end-to-end tests of dist/ served under a sub-path (node --test tests/e2e)",
            Box::new(|| e2e(root)),
        ),
    ];
    let total = steps.len();
    for (i, (name, step)) in steps.iter().enumerate() {
        println!("\n==> [{}/{total}] {name}", i + 1);
        if let Err(e) = step() {
            eprintln!("\n==> FAILED [{}/{total}] {name}\nerror: {e:#}", i + 1);
            println!("{i} passed, 1 failed");
            return ExitCode::FAILURE;
        }
        println!("==> ok [{}/{total}] {name}", i + 1);
    }
    println!("\n{total} passed, 0 failed");
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webdriver_json_is_well_formed() {
        let json = webdriver_capabilities();
        assert!(json.contains("\"goog:chromeOptions\""));
        assert!(json.contains("\"binary\": \"/usr/bin/chromium\""));
        assert!(json.contains("\"--disable-quic\""));
        // Balanced braces and brackets, no trailing comma.
        assert_eq!(json.matches('{').count(), json.matches('}').count());
        assert_eq!(json.matches('[').count(), json.matches(']').count());
        assert!(!json.contains(", ]"));
    }

    #[test]
    fn describe_shows_env_and_args() {
        let mut cmd = Command::new("trunk");
        cmd.env("A", "1").args(["build", "--public-url", "./"]);
        assert_eq!(describe(&cmd), "$ A=1 trunk build --public-url ./");
    }
}
