//! `cargo xtask bench`: the performance budgets of DESIGN.md §4, measured, never asserted.
//! Native and in-browser (headless Chromium) timings of the same workloads
//! (crates/core/src/workloads.rs), the PyTorch reference on the same machine when torch can be
//! installed, first render, bundle sizes (gzip) and the longest main-thread task while training.

use crate::{build, cargo, run, server, wasm_test_command, E2E_PREFIX};
use anyhow::{bail, Context, Result};
use serde_json::{Map, Value};
use std::path::Path;
use std::process::Command;

/// Runs a command (announced) and returns its stdout; fails if it fails.
fn capture(cmd: &mut Command) -> Result<String> {
    println!("$ {cmd:?}");
    let out = cmd
        .output()
        .with_context(|| format!("cannot start {:?}", cmd.get_program()))?;
    if !out.status.success() {
        bail!(
            "{:?} failed: {}{}",
            cmd.get_program(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

/// The JSON object on the line starting with `prefix` (or the first `{` line when empty).
fn json_line(text: &str, prefix: &str) -> Result<Map<String, Value>> {
    let line = text
        .lines()
        .map(str::trim)
        .find_map(|l| {
            l.strip_prefix(prefix)
                .filter(|rest| rest.trim_start().starts_with('{'))
        })
        .with_context(|| format!("no '{prefix}{{…}}' line in the output:\n{text}"))?;
    match serde_json::from_str(line.trim())? {
        Value::Object(map) => Ok(map),
        _ => bail!("not a JSON object: {line}"),
    }
}

fn gzip_size(files: &[std::path::PathBuf]) -> Result<(u64, u64)> {
    let (mut raw, mut gz) = (0u64, 0u64);
    for file in files {
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        raw += bytes.len() as u64;
        gz += crate::site::gzip(&bytes)?.len() as u64;
    }
    Ok((raw, gz))
}

/// A Python with torch: $BENCH_PYTHON, or a venv under target/ made on first use. (The torch
/// wheel brings its CUDA libraries, gigabytes, because it will not import without them; it runs
/// on the CPU here.)
fn torch_python(root: &Path) -> Result<String> {
    if let Ok(python) = std::env::var("BENCH_PYTHON") {
        return Ok(python);
    }
    let venv = root.join("target").join("bench-venv");
    let python = venv.join("bin").join("python");
    let has_torch = |p: &Path| {
        Command::new(p)
            .args(["-c", "import torch"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !has_torch(&python) {
        println!(
            "installing torch (CPU, for the benchmark only) into {}",
            venv.display()
        );
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
        let pip = venv.join("bin").join("pip");
        run(Command::new(&pip).args(["install", "-q", "torch", "numpy"]))?;
        if !has_torch(&python) {
            bail!("torch installed but does not import");
        }
    }
    Ok(python.to_string_lossy().into_owned())
}

pub fn bench(root: &Path) -> Result<()> {
    let mut figures = Map::new();
    println!("==> native workloads");
    figures.extend(json_line(
        &capture(cargo().current_dir(root).args([
            "bench",
            "-p",
            "mlsec-core",
            "--bench",
            "workloads",
        ]))?,
        "",
    )?);

    println!("==> the same workloads in headless Chromium (WebAssembly)");
    let mut wasm = wasm_test_command(root)?;
    wasm.args(["--test", "bench", "--", "--include-ignored", "--nocapture"])
        // Some workloads keep the page busy for longer than the tests' 30 s between two answers
        // to the driver (seven timed runs of a shadow-model grade, say).
        .env("WASM_BINDGEN_TEST_DRIVER_TIMEOUT", "600");
    figures.extend(json_line(&capture(&mut wasm)?, "BENCH ")?);

    println!("==> PyTorch on this machine");
    match torch_python(root).and_then(|python| {
        capture(Command::new(python).arg(root.join("bench/pytorch_workloads.py")))
    }) {
        Ok(out) => figures.extend(json_line(&out, "")?),
        Err(e) => println!("PyTorch reference unavailable: {e:#}"),
    }

    println!("==> an instructor re-grading a class: `mlsec grade` on 30 mixed receipts");
    figures.extend(class_regrade(root)?);
    println!("==> a workshop's class view: 30 hand-ins × 15 exercises, `mlsec class` natively");
    let (class_dir, class_figures) = workshop_class(root)?;
    figures.extend(class_figures);

    println!("==> the built site (release)");
    build(root, false)?;
    let dist = root.join("dist");
    let code = crate::site::code_dir(&dist)?;
    let mut page: Vec<_> = ["start.js", "app.js", "app_bg.wasm", "style.css"]
        .iter()
        .map(|f| code.join(f))
        .collect();
    page.push(dist.join("index.html"));
    let module = |name: &str| -> Vec<_> {
        [".js", "_bg.wasm", "_loader.js"]
            .iter()
            .map(|ext| code.join(format!("{name}{ext}")))
            .collect()
    };
    let (page_raw, page_gz) = gzip_size(&page)?;
    let (worker_raw, worker_gz) = gzip_size(&module("worker"))?;
    let (assistant_raw, assistant_gz) = gzip_size(&module("assistant_worker"))?;
    let (course_raw, course_gz) = gzip_size(&module("course_worker"))?;
    let (instructor_raw, instructor_gz) =
        gzip_size(&[code.join("instructor.js"), code.join("instructor_bg.wasm")])?;
    let server = server::StaticServer::start(dist, E2E_PREFIX)?;
    let out = capture(
        Command::new("node")
            .current_dir(root.join("tests/e2e"))
            .env("LAB_URL", server.url())
            .env("CLASS_DIR", &class_dir)
            .arg("bench.mjs"),
    );
    server.stop();
    figures.extend(json_line(&out?, "BENCH ")?);

    let get = |k: &str| figures.get(k).and_then(Value::as_f64);
    let ratio = |a: &str, b: &str| match (get(a), get(b)) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
        _ => "n/a".into(),
    };
    let ms = |k: &str| get(k).map_or("n/a".into(), |v| format!("{v:.1} ms"));
    println!(
        "\nMLSec Lab benchmark (timings: median of 7 after 2 warm-ups; page figures: median of 5; this machine, {} cores)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "  page bundle  (html+js+wasm+css): {:>8} raw, {:>8} gzip   (target 600 KB gzip)",
        kb(page_raw),
        kb(page_gz)
    );
    println!(
        "  worker bundle (loaded on first exercise): {:>8} raw, {:>8} gzip   (target 700 KB gzip)",
        kb(worker_raw),
        kb(worker_gz)
    );
    println!(
        "  assistants' worker (loaded only by Track E, with its 3.4 MB of models): {:>8} raw, {:>8} gzip",
        kb(assistant_raw),
        kb(assistant_gz)
    );
    println!(
        "  course worker (loaded only to make the course from edited files): {:>8} raw, {:>8} gzip",
        kb(course_raw),
        kb(course_gz)
    );
    println!(
        "  instructors' pages (loaded when the class view, receipt check or workshop maker opens): {:>8} raw, {:>8} gzip",
        kb(instructor_raw),
        kb(instructor_gz)
    );
    println!(
        "  first render (home page):          {}   (target 300 ms)",
        ms("first_render_ms")
    );
    println!(
        "  where the first render's time goes: the page's code fetched by {}, compiled and started by {}, then the course loaded and the home page rendered",
        ms("first_render_code_fetched_ms"),
        ms("first_render_code_started_ms")
    );
    println!("  each workload's exercise in the app, reference settings, click → grade, and the longest main-thread task meanwhile (budget 50 ms):");
    // The exercises tests/e2e/bench.mjs ran, from its figures (one `app_<id>_ms` each).
    let in_app: Vec<&str> = figures
        .keys()
        .filter_map(|k| k.strip_prefix("app_")?.strip_suffix("_ms"))
        .collect();
    for id in in_app {
        println!(
            "    {id:<20} {:>10}   longest task {}",
            ms(&format!("app_{id}_ms")),
            ms(&format!("longest_task_ms_{id}"))
        );
    }
    println!(
        "  training 20 epochs, batch 64:  native {}, browser {}, PyTorch {}",
        ms("native_train_ms"),
        ms("wasm_train_ms"),
        ms("torch_train_ms")
    );
    println!(
        "  PGD-40 over 360 test images:   native {}, browser {}, PyTorch {}",
        ms("native_pgd_ms"),
        ms("wasm_pgd_ms"),
        ms("torch_pgd_ms")
    );
    println!(
        "  ratio browser / PyTorch:  training {}, PGD {}   (issue 14's targets: ≤ 0.20×, ≤ 0.60×)",
        ratio("wasm_train_ms", "torch_train_ms"),
        ratio("wasm_pgd_ms", "torch_pgd_ms")
    );
    println!(
        "  ratio native / PyTorch:   training {}, PGD {};  native / browser: training {}, PGD {}, inversion {}, DP-SGD {}   (target: native no slower than the browser, ≤ 1×)",
        ratio("native_train_ms", "torch_train_ms"),
        ratio("native_pgd_ms", "torch_pgd_ms"),
        ratio("native_train_ms", "wasm_train_ms"),
        ratio("native_pgd_ms", "wasm_pgd_ms"),
        ratio("native_inversion_ms", "wasm_inversion_ms"),
        ratio("native_dp_train_ms", "wasm_dp_train_ms")
    );
    println!(
        "  assistant decoding in the browser: first token {}, {} tokens/s   (budget ≤ 200 ms, ≥ 200 tokens/s)",
        ms("wasm_first_token_ms"),
        get("wasm_tokens_per_s").map_or("n/a".into(), |v| format!("{v:.0}"))
    );
    println!(
        "  Track E's token search, the reference (20 GCG steps, 32 candidates, 2 conversations, the detector in the loss) and its grade, in the browser: {}   (budget 60 s)",
        ms("wasm_token_search_ms")
    );
    println!(
        "  Track B grades in the browser (retrain clean and poisoned, evaluate): label flipping {}, backdoor {}; find the poisons (three trainings and the detector) {}   (budget 2 s)",
        ms("wasm_label_flip_grade_ms"),
        ms("wasm_backdoor_grade_ms"),
        ms("wasm_find_poisons_grade_ms")
    );
    println!(
        "  the spam filter's grade in the browser (two logistic regressions, 20 passes of one-message SGD, then 1,000 test messages twice): {}   (budget 2 s; no PyTorch figure: one-message SGD in PyTorch is a Python loop, which would time the interpreter)",
        ms("wasm_spam_grade_ms")
    );
    println!(
        "  PyTorch doing the same (two trainings, batch 32, then evaluation): {};  ratio browser / PyTorch: {}",
        ms("torch_poison_grade_ms"),
        ratio("wasm_backdoor_grade_ms", "torch_poison_grade_ms")
    );
    println!("     (target ≤ 0.5×)");
    println!(
        "  Track C's membership grade (the overfit target, 200 epochs over 100 images, then 200 losses): browser {}, PyTorch {};  ratio browser / PyTorch: {}",
        ms("wasm_membership_grade_ms"),
        ms("torch_membership_grade_ms"),
        ratio("wasm_membership_grade_ms", "torch_membership_grade_ms")
    );
    println!(
        "  Track C's shadow-model grade (the target and 8 shadows, 100 epochs over 250 images each, then the pool's statistics): browser {}, PyTorch {};  ratio browser / PyTorch: {}   (budget 5 s in the browser)",
        ms("wasm_shadow_grade_ms"),
        ms("torch_shadow_grade_ms"),
        ratio("wasm_shadow_grade_ms", "torch_shadow_grade_ms")
    );
    println!("     (target ≤ 0.3×)");
    println!(
        "  Track C's inversion (10 classes × 500 gradient steps on the target): native {}, browser {}, PyTorch {};  ratio browser / PyTorch: {}",
        ms("native_inversion_ms"),
        ms("wasm_inversion_ms"),
        ms("torch_inversion_ms"),
        ratio("wasm_inversion_ms", "torch_inversion_ms")
    );
    println!("     (target ≤ 0.5×)");
    println!(
        "  DP-SGD training (the training workload with per-example gradients, clipping and noise): native {}, browser {};  ratio to the lab's own plain training: native {}, browser {}   (target ≤ 2×)",
        ms("native_dp_train_ms"),
        ms("wasm_dp_train_ms"),
        ratio("native_dp_train_ms", "native_train_ms"),
        ratio("wasm_dp_train_ms", "wasm_train_ms")
    );
    println!(
        "  Track C's DP-SGD grade (the plain and the private target, 8 plain and 8 private shadows, the label-only attack): browser {}",
        ms("wasm_dp_grade_ms")
    );
    println!(
        "  `mlsec grade` on 30 mixed receipts (every exercise, starters and solutions): {}   (budget 60 s on 2 cores)",
        get("cli_grade_30_receipts_ms").map_or("n/a".into(), |v| format!("{:.1} s", v / 1000.0))
    );
    println!(
        "  a workshop's class, 30 hand-ins × 15 exercises ({} distinct gradings): `mlsec class` {}; the class view in the browser, files dropped → table done, {} on {} workers   (budget 2 min in the browser)",
        get("class_gradings").map_or("n/a".into(), |v| format!("{v:.0}")),
        get("cli_class_30x15_ms").map_or("n/a".into(), |v| format!("{:.1} s", v / 1000.0)),
        get("wasm_class_30x15_ms").map_or("n/a".into(), |v| format!("{:.1} s", v / 1000.0)),
        get("class_workers").map_or("n/a".into(), |v| format!("{v:.0}")),
    );
    println!("BENCH {}", Value::Object(figures));
    Ok(())
}

/// A workshop of the course's first 15 lessons (one exercise each) and 30 learners' hand-ins of
/// the references, a few starters among them (`mlsec handins`), re-graded by `mlsec class`.
/// Returns the folder (the browser's class view is timed on it too) and the median of 3, in ms.
fn workshop_class(root: &Path) -> Result<(std::path::PathBuf, Map<String, Value>)> {
    let mlsec = root.join("target/release/mlsec");
    let dir = root.join("target/bench-class");
    let _ = std::fs::remove_dir_all(&dir);
    capture(
        Command::new(&mlsec)
            .current_dir(root)
            .args(["handins", "--learners", "30", "--first", "15", "-o"])
            .arg(&dir),
    )?;
    let mut times = vec![];
    let mut gradings = 0.0;
    for _ in 0..3 {
        let start = std::time::Instant::now();
        let out = capture(
            Command::new(&mlsec)
                .current_dir(root)
                .arg("class")
                .arg(&dir),
        )?;
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        gradings = out
            .split(" receipts, ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(f64::NAN);
    }
    times.sort_by(f64::total_cmp);
    let mut figures = Map::new();
    figures.insert("cli_class_30x15_ms".into(), Value::from(times[1]));
    figures.insert("class_gradings".into(), Value::from(gradings));
    Ok((dir, figures))
}

/// `cargo xtask bench cli`: the class re-grade figure alone (no browser, no PyTorch).
pub fn cli(root: &Path) -> Result<()> {
    let figures = class_regrade(root)?;
    let ms = figures
        .get("cli_grade_30_receipts_ms")
        .and_then(Value::as_f64)
        .unwrap_or(f64::NAN);
    println!(
        "\n  `mlsec grade` on 30 mixed receipts (every exercise, starters and solutions): {:.1} s   (budget 60 s on 2 cores; median of 3)",
        ms / 1000.0
    );
    println!("BENCH {}", Value::Object(figures));
    Ok(())
}

/// The native CLI re-grading a class's hand-in: 30 receipts over every exercise of the course
/// (reference solutions and starters, so passes and fails), made with `mlsec receipt`, then
/// graded in one `mlsec grade` call. Median of 3 runs, in ms.
fn class_regrade(root: &Path) -> Result<Map<String, Value>> {
    run(cargo()
        .current_dir(root)
        .args(["build", "--release", "-p", "mlsec-cli"]))?;
    let mlsec = root.join("target/release/mlsec");
    let dir = root.join("target/bench-receipts");
    std::fs::create_dir_all(&dir)?;
    let ids: Vec<String> = capture(Command::new(&mlsec).current_dir(root).arg("check-content"))?
        .lines()
        .filter_map(|l| l.strip_prefix("ok      "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if ids.is_empty() {
        bail!("check-content listed no exercises");
    }
    let mut files = vec![];
    for n in 0..30 {
        let id = &ids[n % ids.len()];
        let starter = (n / ids.len()) % 2 == 1;
        let file = dir.join(format!("{n:02}-{id}.json"));
        let mut cmd = Command::new(&mlsec);
        cmd.current_dir(root).args(["receipt", id, "-o"]).arg(&file);
        if starter {
            cmd.arg("--starter");
        }
        capture(&mut cmd)?;
        files.push(file);
    }
    let mut times = vec![];
    for _ in 0..3 {
        let start = std::time::Instant::now();
        // Exit code 1 is expected: the starters fail.
        let out = Command::new(&mlsec)
            .current_dir(root)
            .arg("grade")
            .args(&files)
            .output()?;
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        let graded = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.starts_with("PASS") || l.starts_with("FAIL"))
            .count();
        if graded != files.len() {
            bail!(
                "mlsec grade graded {graded} of {} receipts: {}",
                files.len(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    times.sort_by(f64::total_cmp);
    let mut figures = Map::new();
    figures.insert("cli_grade_30_receipts_ms".into(), Value::from(times[1]));
    Ok(figures)
}

fn kb(bytes: u64) -> String {
    format!("{:.0} KB", bytes as f64 / 1024.0)
}
