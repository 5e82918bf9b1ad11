//! `mlsec`: the lab's native command line.
//!
//! - `mlsec grade RECEIPT…`      re-grade receipts; one line each; non-zero exit if any fails or is forged
//! - `mlsec check-content`       static checks + every starter fails + every solution passes
//! - `mlsec receipt EXERCISE [--starter] [-o FILE]`  run the reference solution (or starter) and write a receipt
//! - `mlsec train-target [-o FILE]`  retrain the shipped target model (assets/models/digits-mlp.safetensors)
//!
//! Every command takes `--root DIR` (default: the repository containing the current directory).

mod lab;

use anyhow::{bail, Context as _, Result};
use lab::{find_root, Lab};
use mlsec_core::course::check;
use mlsec_core::exercise::Artefact;
use mlsec_core::receipt::{regrade, Receipt, Verdict};
use mlsec_core::train::{train, TrainConfig};
use std::path::PathBuf;
use std::process::ExitCode;

/// The recipe of the shipped target model (`mlsec train-target`).
pub const TARGET_RECIPE: TrainConfig = TrainConfig {
    epochs: 20,
    learning_rate: 0.01,
    batch_size: 32,
    seed: 2,
};

struct Args {
    root: Option<PathBuf>,
    output: Option<PathBuf>,
    starter: bool,
    rest: Vec<String>,
}

fn parse_args(raw: Vec<String>) -> Result<Args> {
    let mut args = Args {
        root: None,
        output: None,
        starter: false,
        rest: vec![],
    };
    let mut it = raw.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--root" => args.root = Some(it.next().context("--root needs a directory")?.into()),
            "-o" | "--output" => args.output = Some(it.next().context("-o needs a file")?.into()),
            "--starter" => args.starter = true,
            _ => args.rest.push(a),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    let mut raw: Vec<String> = std::env::args().skip(1).collect();
    if raw.is_empty() {
        eprintln!("usage: mlsec grade RECEIPT… | check-content | receipt EXERCISE [--starter] [-o FILE] | train-target [-o FILE]  [--root DIR]");
        return ExitCode::from(2);
    }
    let command = raw.remove(0);
    let result = parse_args(raw).and_then(|args| match command.as_str() {
        "grade" => grade(args),
        "check-content" => check_content(args),
        "receipt" => make_receipt(args),
        "train-target" => train_target(args),
        other => bail!("unknown command '{other}'"),
    });
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn grade(args: Args) -> Result<bool> {
    if args.rest.is_empty() {
        bail!("name at least one receipt file");
    }
    let lab = Lab::load(find_root(args.root)?)?;
    let mut all_passed = true;
    for path in &args.rest {
        let line = match grade_one(&lab, path) {
            Ok(Verdict::Pass(g)) => format!("PASS    {path}: {}", g.message),
            Ok(Verdict::Fail(g)) => format!("FAIL    {path}: {}", g.message),
            Ok(Verdict::Forged(why)) => format!("FORGED  {path}: {why}"),
            Err(e) => format!("INVALID {path}: {e:#}"),
        };
        all_passed &= line.starts_with("PASS");
        println!("{line}");
    }
    Ok(all_passed)
}

fn grade_one(lab: &Lab, path: &str) -> Result<Verdict> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    let receipt = Receipt::parse(&text)?;
    let exercise = lab.exercise(&receipt.exercise_id)?;
    Ok(regrade(
        &receipt,
        exercise,
        &lab.context(),
        &lab.target_sha256,
    )?)
}

fn check_content(args: Args) -> Result<bool> {
    let lab = Lab::load(find_root(args.root)?)?;
    let mut problems = check(&lab.course, &lab.lessons);
    let ctx = lab.context();
    for exercise in lab.lessons.iter().flat_map(|l| l.exercises.iter()) {
        for (which, settings, must_pass) in [
            ("starter", exercise.task.starter(), false),
            ("solution", exercise.task.solution(), true),
        ] {
            let outcome = exercise
                .task
                .run(&settings, &ctx, |_| true)
                .and_then(|a| exercise.task.grade(&ctx, &a));
            match outcome {
                Ok(grade) if grade.passed == must_pass => {
                    println!("ok      {} {which}: {}", exercise.id, grade.message)
                }
                Ok(grade) => problems.push(format!(
                    "exercise '{}': its {which} must {} but: {}",
                    exercise.id,
                    if must_pass { "pass" } else { "fail" },
                    grade.message
                )),
                Err(e) => problems.push(format!(
                    "exercise '{}': its {which} cannot run: {e}",
                    exercise.id
                )),
            }
        }
    }
    for p in &problems {
        println!("PROBLEM {p}");
    }
    println!(
        "{} lessons, {} exercises, {} problems",
        lab.lessons.len(),
        lab.lessons.iter().map(|l| l.exercises.len()).sum::<usize>(),
        problems.len()
    );
    Ok(problems.is_empty())
}

fn make_receipt(args: Args) -> Result<bool> {
    let [id] = args.rest.as_slice() else {
        bail!("name one exercise id")
    };
    let lab = Lab::load(find_root(args.root)?)?;
    let exercise = lab.exercise(id)?;
    let settings = if args.starter {
        exercise.task.starter()
    } else {
        exercise.task.solution()
    };
    let ctx = lab.context();
    let artefact: Artefact = exercise.task.run(&settings, &ctx, |_| true)?;
    let grade = exercise.task.grade(&ctx, &artefact)?;
    let receipt = Receipt::new(exercise, &lab.target_sha256, settings, artefact, grade);
    write_or_print(args.output, &receipt.to_json())?;
    Ok(true)
}

fn train_target(args: Args) -> Result<bool> {
    let root = find_root(args.root)?;
    let digits = lab::read_digits(&root)?;
    let (model, reports) = train(&digits, TARGET_RECIPE, None, |r| {
        eprintln!(
            "epoch {:>2}: loss {:.4}, test accuracy {:.1}%",
            r.epoch,
            r.train_loss,
            r.test_accuracy * 100.0
        );
        true
    })?;
    let bytes = model.to_safetensors()?;
    let out = args.output.unwrap_or_else(|| root.join(lab::TARGET_PATH));
    std::fs::write(&out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    let last = reports.last().expect("at least one epoch");
    println!(
        "wrote {} ({} bytes, sha256 {}), test accuracy {:.1}%",
        out.display(),
        bytes.len(),
        mlsec_core::sha256_hex(&bytes),
        last.test_accuracy * 100.0
    );
    Ok(true)
}

fn write_or_print(output: Option<PathBuf>, text: &str) -> Result<()> {
    match output {
        Some(path) => {
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
        }
        None => {
            println!("{text}");
            Ok(())
        }
    }
}
