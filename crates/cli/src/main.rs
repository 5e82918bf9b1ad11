//! `mlsec`: the lab's native command line.
//!
//! - `mlsec grade RECEIPT…`      re-grade receipts; one line each; non-zero exit if any fails or is forged
//! - `mlsec check-content`       static checks + every starter fails + every solution passes
//!   (in the lesson's task and in every instance a workshop can hand out)
//! - `mlsec handins --learners N [--lessons ID,… | --first N] [--seed S] -o DIR`  a workshop file and N
//!   learners' hand-ins of the reference solutions (a few starters among them), each in the
//!   learner's own instance: to try the class view before a workshop, and for the benchmark
//! - `mlsec class DIR [--workshop FILE] [--csv FILE]`  re-grade a workshop's hand-ins: the
//!   learner × exercise table, pass rates, look-alike artefacts, the files that were not used
//! - `mlsec receipt EXERCISE [--starter] [-o FILE]`  run the reference solution (or starter) and write a receipt
//! - `mlsec train-target [-o FILE]`  retrain the shipped target model (assets/models/digits-mlp.safetensors)
//! - `mlsec train-assistant --variant assistant|structured [--steps N] [--eval N] [--f32] [-o FILE]`
//!   train the injection track's assistant (assets/models/assistant-<variant>.safetensors)
//! - `mlsec eval-assistant --variant assistant|structured [--model FILE] [--eval N]`
//!   a model's behaviour on the generated suites and on the hand-written held-out suite
//! - `mlsec search-index [-o FILE]`  the course's search index as JSON (what `cargo xtask dist`
//!   ships as `search-index.json`)
//! - `mlsec course-bundle [-o FILE]`  the course parsed and checked, as JSON (what `cargo xtask
//!   build` ships as `course.json`, so the page's first render fetches one file)
//!
//! Every command takes `--root DIR` (default: the repository containing the current directory).

mod checkout;

use anyhow::{bail, Context as _, Result};
use checkout::{find_root, Checkout};
use mlsec_core::course::check;
use mlsec_core::exercise::Exercise;
use mlsec_core::receipt::{Receipt, Verdict};
use mlsec_core::train::{train, TrainConfig};
use mlsec_core::workshop::standalone;
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
        eprintln!("usage: mlsec grade RECEIPT… | check-content | class DIR [--workshop FILE] [--csv FILE] | receipt EXERCISE [--starter] [-o FILE] | train-target [-o FILE] | train-assistant --variant assistant|structured [--steps N] [--eval N] [--f32] [-o FILE] | eval-assistant --variant V [--model FILE] [--eval N] | search-index [-o FILE] | course-bundle [-o FILE]  [--root DIR]");
        return ExitCode::from(2);
    }
    let command = raw.remove(0);
    let result = parse_args(raw).and_then(|args| match command.as_str() {
        "grade" => grade(args),
        "check-content" => check_content(args),
        "receipt" => make_receipt(args),
        "class" => class(args),
        "handins" => handins(args),
        "train-target" => train_target(args),
        "train-assistant" => train_assistant(args),
        "eval-assistant" => eval_assistant(args),
        "search-index" => search_index(args),
        "course-bundle" => course_bundle(args),
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

/// Writes the course's search index (to `-o FILE`, else to stdout).
fn search_index(args: Args) -> Result<bool> {
    if let Some(extra) = args.rest.first() {
        bail!("search-index takes no argument ('{extra}'); use -o FILE");
    }
    let (_, lessons) = checkout::read_course(&find_root(args.root)?)?;
    let index = mlsec_core::search::build(&lessons.iter().collect::<Vec<_>>());
    let summary = format!(
        "{} sections of {} lessons",
        index.entries.len(),
        lessons.len()
    );
    write_json(args.output, &serde_json::to_string(&index)?, &summary)
}

/// Writes `json` to `output` (saying what it holds on stderr), else to stdout. A built site
/// ships the course bundle and the search index with precompressed siblings (`.gz`, `.br`),
/// which a host would serve in place of the file: writing the file again on a host deletes
/// them, so the new file is what browsers get.
fn write_json(output: Option<PathBuf>, json: &str, summary: &str) -> Result<bool> {
    match output {
        Some(path) => {
            std::fs::write(&path, json).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("{}: {summary}", path.display());
            for suffix in [".gz", ".br"] {
                let mut sibling = path.clone().into_os_string();
                sibling.push(suffix);
                let sibling = PathBuf::from(sibling);
                if sibling.is_file() {
                    std::fs::remove_file(&sibling)
                        .with_context(|| format!("deleting {}", sibling.display()))?;
                    eprintln!(
                        "{}: deleted (it was the earlier file, compressed)",
                        sibling.display()
                    );
                }
            }
        }
        None => println!("{json}"),
    }
    Ok(true)
}

/// Writes the course bundle (to `-o FILE`, else to stdout). A lesson that does not parse is
/// kept in it as its error, as the page would show it; `check-content` is what refuses one.
fn course_bundle(args: Args) -> Result<bool> {
    if let Some(extra) = args.rest.first() {
        bail!("course-bundle takes no argument ('{extra}'); use -o FILE");
    }
    let root = find_root(args.root)?;
    let (_, sources) = mlsec_core::course::Sources::read(|file| {
        std::fs::read_to_string(root.join(file)).map_err(|e| format!("reading {file}: {e}"))
    })?;
    let bundle = mlsec_core::course::Bundle::from_sources(&sources)?;
    let summary = format!(
        "{} lessons, {} content problems",
        bundle.lessons.len(),
        bundle.problems.len()
    );
    write_json(args.output, &serde_json::to_string(&bundle)?, &summary)
}

fn grade(args: Args) -> Result<bool> {
    if args.rest.is_empty() {
        bail!("name at least one receipt file");
    }
    tiny_model_kernels();
    let lab = Checkout::load(find_root(args.root)?)?;
    let mut all_passed = true;
    in_parallel(
        &args.rest,
        |path| grade_one(&lab, path),
        |i, graded| {
            let path = &args.rest[i];
            let line = match graded {
                Ok(Verdict::Pass(g)) => format!("PASS    {path}: {}", g.message),
                Ok(Verdict::Fail(g)) => format!("FAIL    {path}: {}", g.message),
                Ok(Verdict::Forged(why)) => format!("FORGED  {path}: {why}"),
                Err(e) => format!("INVALID {path}: {e:#}"),
            };
            all_passed &= line.starts_with("PASS");
            println!("{line}");
        },
    );
    Ok(all_passed)
}

/// Runs `work` on every item on all cores, one item per thread at a time (the models are tiny,
/// so splitting one matrix product over threads costs more than it saves), and hands each
/// result to `each` in the items' order, as soon as it and those before it are done. A panic
/// in one item's work is that item's error, never a lost line.
fn in_parallel<T: Sync, R: Send>(
    items: &[T],
    work: impl Fn(&T) -> Result<R> + Sync,
    mut each: impl FnMut(usize, Result<R>),
) {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let (done, results) = std::sync::mpsc::channel::<(usize, Result<R>)>();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let (work, next, done) = (&work, &next, done.clone());
            scope.spawn(move || loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(item)))
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("the grader crashed on this one")));
                if done.send((i, result)).is_err() {
                    break;
                }
            });
        }
        drop(done);
        let mut waiting = std::collections::BTreeMap::new();
        let mut shown = 0;
        for (i, result) in results {
            waiting.insert(i, result);
            while let Some(result) = waiting.remove(&shown) {
                each(shown, result);
                shown += 1;
            }
        }
    });
}

/// candle splits every matrix product over all cores unless `RAYON_NUM_THREADS` says otherwise.
/// For the lab's tiny models that is pure overhead: threads that wake, fight and sleep for a
/// few microseconds of work (a defend receipt took 13 s that way and 3 s on one thread). The
/// commands that grade work on one thread per receipt or exercise instead. A value the user set
/// is kept.
fn tiny_model_kernels() {
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        // Set before any thread starts (edition 2021: set_var is safe; nothing reads the
        // environment concurrently here).
        std::env::set_var("RAYON_NUM_THREADS", "1");
    }
}

fn grade_one(lab: &Checkout, path: &str) -> Result<Verdict> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    let receipt = Receipt::parse(&text)?;
    // A workshop receipt is graded in the instance it names, at the lesson's thresholds
    // (`mlsec class` grades it at the workshop's).
    let exercise = standalone(lab.exercise(&receipt.exercise_id)?, &receipt);
    Ok(lab.session.regrade(&exercise, &receipt)?)
}

fn check_content(args: Args) -> Result<bool> {
    tiny_model_kernels();
    let lab = Checkout::load(find_root(args.root)?)?;
    let mut problems = check(&lab.course, &lab.lessons);
    // Every starter must fail and every reference pass, in the lesson's own task and in each
    // instance a workshop can hand a learner (`ExerciseKind::variants`).
    let mut runs = vec![];
    for exercise in lab.lessons.iter().flat_map(|l| l.exercises.iter()) {
        runs.push((
            "starter".to_string(),
            exercise.clone(),
            exercise.task.starter(),
            false,
        ));
        runs.push((
            "solution".to_string(),
            exercise.clone(),
            exercise.task.solution(),
            true,
        ));
        for index in 1..exercise.task.variants() {
            let instance = Exercise {
                task: exercise.task.variant(index),
                ..exercise.clone()
            };
            // The instance's own reference (a kind may list one per instance).
            let solution = instance.task.solution();
            runs.push((
                format!("solution, variant {index}"),
                instance,
                solution,
                true,
            ));
        }
    }
    in_parallel(
        &runs,
        // Run as the browser runs it: the same session, the same job driver.
        |(_, exercise, settings, _)| Ok(lab.session.run_to_end(exercise, settings.clone())?.grade),
        |i, outcome| {
            let (which, exercise, _, must_pass) = &runs[i];
            // A prediction prompt names a percentage figure the reference's grade reports.
            if let (Ok(grade), Some(predict), "solution") =
                (&outcome, &exercise.predict, which.as_str())
            {
                let figure = grade.figures.iter().find(|f| f.label == predict.figure);
                if !figure.is_some_and(|f| f.unit == mlsec_core::grade::Unit::Percent) {
                    problems.push(format!(
                        "exercise '{}': its prediction names the figure '{}', but the reference's grade has no percentage of that name (it has: {})",
                        exercise.id,
                        predict.figure,
                        grade.figures.iter().map(|f| f.label.as_str()).collect::<Vec<_>>().join(", ")
                    ));
                }
            }
            match outcome {
                Ok(grade) if grade.passed == *must_pass => {
                    println!("ok      {} {which}: {}", exercise.id, grade.message)
                }
                Ok(grade) => problems.push(format!(
                    "exercise '{}': its {which} must {} but: {}",
                    exercise.id,
                    if *must_pass { "pass" } else { "fail" },
                    grade.message
                )),
                Err(e) => problems.push(format!(
                    "exercise '{}': its {which} cannot run: {e:#}",
                    exercise.id
                )),
            }
        },
    );
    for p in &problems {
        println!("PROBLEM {p}");
    }
    println!(
        "{} lessons, {} exercises ({} runs with the workshop variants), {} problems",
        lab.lessons.len(),
        lab.lessons.iter().map(|l| l.exercises.len()).sum::<usize>(),
        runs.len(),
        problems.len()
    );
    Ok(problems.is_empty())
}

/// Re-grades a workshop's hand-ins (every file in DIR; a workshop file there, or `--workshop`,
/// names the workshop, else the one most hand-ins were made in), on all cores, each distinct
/// receipt once.
fn class(args: Args) -> Result<bool> {
    use mlsec_core::class::{Class, Mark, Outcome, Problem};
    use mlsec_core::workshop::{handin_too_large, Workshop};
    let (mut dir, mut csv, mut workshop) = (None, None, None);
    let mut it = args.rest.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--csv" => csv = Some(PathBuf::from(it.next().context("--csv needs a file")?)),
            "--workshop" => {
                let path = it.next().context("--workshop needs a file")?;
                let text =
                    std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
                workshop =
                    Some(Workshop::parse(&text).map_err(|e| anyhow::anyhow!("{path}: {e}"))?);
            }
            other if dir.is_none() => dir = Some(PathBuf::from(other)),
            other => bail!("unexpected argument '{other}'"),
        }
    }
    let dir = dir.context("name the folder of hand-ins")?;
    tiny_model_kernels();
    let lab = Checkout::load(find_root(args.root)?)?;
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    entries.sort();
    let (mut files, mut unread) = (vec![], vec![]);
    for path in entries {
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        if let Some(why) = handin_too_large(size) {
            unread.push(Problem {
                file: name,
                message: why,
            });
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(text) => files.push((name, text)),
            Err(e) => unread.push(Problem {
                file: name,
                message: format!("cannot be read as text ({e})"),
            }),
        }
    }
    let mut class =
        Class::gather(workshop, &files, &lab.lessons).map_err(|e| anyhow::anyhow!(e))?;
    class.problems.extend(unread);
    let mut outcomes: Vec<Option<Outcome>> = vec![None; class.jobs.len()];
    in_parallel(
        &class.jobs,
        |job| {
            Ok(Outcome::of(
                lab.session.regrade(&job.exercise, &job.receipt),
            ))
        },
        |i, outcome| {
            outcomes[i] = Some(outcome.unwrap_or_else(|e| Outcome {
                verdict: Mark::Invalid,
                figure: None,
                message: format!("{e:#}"),
            }))
        },
    );
    let receipts: usize = class.learners.iter().map(|l| l.cells.len()).sum();
    println!(
        "workshop {} (id {}): {} hand-ins, {receipts} receipts, {} grading{} (identical receipts graded once; receipts made for another instance are forged without one)",
        class.workshop.title,
        class.workshop.id(),
        class.learners.len(),
        class.jobs.len(),
        if class.jobs.len() == 1 { "" } else { "s" }
    );
    let exercises = class.exercises(&lab.lessons);
    for l in &class.learners {
        for &(id, _) in &exercises {
            let Some(cell) = l.cells.get(id) else {
                continue;
            };
            let Some(o) = class.outcome(cell, &outcomes) else {
                continue;
            };
            let code = if o.verdict == Mark::Pass {
                cell.code.as_str()
            } else {
                ""
            };
            println!(
                "{:<7} {:<20} {id:<28} {code:<9} {}",
                o.verdict.word().to_uppercase(),
                l.name,
                o.message
            );
        }
    }
    println!("pass rates:");
    for s in class.summary(&lab.lessons, &outcomes) {
        println!(
            "  {:<28} {} of {} handed in passed",
            s.id, s.passed, s.handed_in
        );
    }
    for s in class.similar() {
        println!("LOOK-ALIKE {}: {}: {}", s.exercise, s.names(), s.how);
    }

    for p in &class.problems {
        println!("NOT USED {}: {}", p.file, p.message);
    }
    if let Some(path) = csv {
        std::fs::write(&path, class.csv(&lab.lessons, &outcomes))
            .with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(true)
}

/// Writes a workshop (the given lessons, the course's first N, or every lesson) and `--learners` hand-ins into `-o`:
/// learner n hands in the reference of every exercise, except the starter where (n + exercise)
/// is a multiple of 5, each run in the learner's own instance. One run per distinct instance.
fn handins(args: Args) -> Result<bool> {
    use mlsec_core::workshop::{HandIn, Workshop};
    let (mut learners, mut lessons, mut first, mut seed) = (None, None, None, 1u64);
    let mut it = args.rest.iter();
    while let Some(a) = it.next() {
        let mut value = |what: &str| it.next().with_context(|| format!("{a} needs {what}"));
        match a.as_str() {
            "--learners" => {
                learners = Some(value("a number")?.parse::<usize>().context("--learners")?)
            }
            "--lessons" => {
                lessons = Some(
                    value("lesson ids")?
                        .split(',')
                        .map(str::to_string)
                        .collect::<Vec<_>>(),
                )
            }
            "--first" => first = Some(value("a number")?.parse::<usize>().context("--first")?),
            "--seed" => seed = value("a number")?.parse().context("--seed")?,
            other => bail!("unexpected argument '{other}'"),
        }
    }
    let learners = learners.context("say how many: --learners N")?;
    let out = args.output.context("name the folder: -o DIR")?;
    tiny_model_kernels();
    let lab = Checkout::load(find_root(args.root)?)?;
    // The course's lessons come in course order.
    let lessons = lessons.unwrap_or_else(|| {
        let all = lab.lessons.iter().map(|l| l.id.clone());
        all.take(first.unwrap_or(usize::MAX)).collect()
    });
    let workshop = Workshop::new("Reference class", lessons, seed);
    let problems = workshop.check(&lab.lessons);
    if !problems.is_empty() {
        bail!("{}", problems.join("; "));
    }
    let exercises: Vec<&Exercise> = workshop.exercises(&lab.lessons).collect();
    let names: Vec<String> = (1..=learners).map(|n| format!("Learner {n:02}")).collect();
    // Each distinct (exercise, variant, starter or solution) is run once, then named per learner.
    let mut runs = vec![];
    let mut plan = vec![];
    for (n, name) in names.iter().enumerate() {
        for (e, base) in exercises.iter().enumerate() {
            let instance = workshop
                .instance(base, name)
                .map_err(|e| anyhow::anyhow!(e))?;
            let starter = (n + e) % 5 == 0;
            let key = (
                base.id.clone(),
                instance.instance.as_ref().map_or(0, |i| i.index),
                starter,
            );
            let at = match runs.iter().position(|(k, _)| *k == key) {
                Some(at) => at,
                None => {
                    runs.push((key, instance.clone()));
                    runs.len() - 1
                }
            };
            plan.push((n, at, instance));
        }
    }
    let mut receipts: Vec<Option<Receipt>> = vec![None; runs.len()];
    in_parallel(
        &runs,
        |((_, _, starter), exercise)| {
            let settings = if *starter {
                exercise.task.starter()
            } else {
                exercise.task.solution()
            };
            Ok(Receipt::parse(
                &lab.session.run_to_end(exercise, settings)?.receipt,
            )?)
        },
        |i, r| receipts[i] = r.ok(),
    );
    std::fs::create_dir_all(&out)?;
    std::fs::write(out.join("workshop.json"), workshop.to_file())?;
    for (n, name) in names.iter().enumerate() {
        let mine = plan
            .iter()
            .filter(|(m, _, _)| *m == n)
            .filter_map(|(_, at, instance)| {
                let mut receipt = receipts[*at].clone()?;
                receipt.variant = instance.instance.clone();
                Some(receipt)
            });
        let handin = HandIn::new(&workshop, name, mine.collect());
        std::fs::write(
            out.join(format!("handin-{:02}.json", n + 1)),
            handin.to_json(),
        )?;
    }
    println!(
        "wrote workshop.json and {learners} hand-ins of {} exercises ({} distinct runs) into {}",
        exercises.len(),
        runs.len(),
        out.display()
    );
    Ok(true)
}

fn make_receipt(args: Args) -> Result<bool> {
    let [id] = args.rest.as_slice() else {
        bail!("name one exercise id")
    };
    tiny_model_kernels();
    let lab = Checkout::load(find_root(args.root)?)?;
    let exercise = lab.exercise(id)?;
    let settings = if args.starter {
        exercise.task.starter()
    } else {
        exercise.task.solution()
    };
    let finished = lab.session.run_to_end(exercise, settings)?;
    write_or_print(args.output, &finished.receipt)?;
    Ok(true)
}

fn train_target(args: Args) -> Result<bool> {
    let root = find_root(args.root)?;
    let digits = checkout::read_digits(&root)?;
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
    let out = args
        .output
        .unwrap_or_else(|| root.join(mlsec_core::course::paths::TARGET_MODEL));
    std::fs::write(&out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    let sha256 = mlsec_core::sha256_hex(&bytes);
    if sha256 != mlsec_core::resources::Resource::TargetModel.sha256() {
        println!(
            "the target model changed: pin its new hash in crates/core/src/resources.rs (TARGET_SHA256 = \"{sha256}\")"
        );
    }
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

/// Trains one variant of the injection assistant with its shipped recipe
/// ([`mlsec_assistant::TrainConfig::recipe`]), reports its behaviour on the evaluation suites and
/// writes its weights (f16 unless `--f32`).
/// Prints a model's behaviour on `eval_n` generated evaluation episodes per suite and, when the
/// checkout is at hand, on the hand-written held-out suite.
fn report_behaviour(
    model: &mlsec_assistant::Gpt,
    variant: mlsec_assistant::Variant,
    eval_n: u32,
    root: &Option<PathBuf>,
) -> Result<()> {
    use mlsec_assistant::train::{evaluate, Behaviour, Suite};
    use mlsec_assistant::HeldOut;
    use std::time::Instant;
    let t = Instant::now();
    let line = |name: &str, b: &Behaviour| {
        let pct = |c| b.rate(c) * 100.0;
        println!(
            "  {name:<26} {:>4}  benign success {:5.1}%  injection success {:5.1}%  follows injection {:5.1}%  leaks secret {:5.1}%",
            b.episodes,
            pct(b.benign_success),
            pct(b.injection_success),
            pct(b.follows_injection),
            pct(b.leaks_secret)
        );
    };
    println!("behaviour on {eval_n} generated evaluation episodes per suite (greedy decoding):");
    for suite in Suite::ALL {
        line(
            suite.name(),
            &evaluate(model, variant, &suite.episodes(1, eval_n))?,
        );
    }
    if let Some(root) = root {
        let path = root.join(HELD_OUT_SUITE);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let suite = HeldOut::parse(&text)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
            .episodes(1);
        println!("behaviour on the hand-written held-out suite ({HELD_OUT_SUITE}):");
        for (name, episodes) in [
            ("benign requests", &suite.benign),
            ("injections in the data", &suite.data_attacks),
            ("injections by the user", &suite.user_attacks),
            ("plain requests for secret", &suite.secret_requests),
        ] {
            line(name, &evaluate(model, variant, episodes)?);
        }
    }
    println!("evaluated in {:.1} s", t.elapsed().as_secs_f64());
    Ok(())
}

/// The hand-written held-out suite, relative to the checkout.
const HELD_OUT_SUITE: &str = "tests/assistant/handwritten.toml";

/// `mlsec eval-assistant --variant V [--model FILE] [--eval N]`: a model file's behaviour.
fn eval_assistant(args: Args) -> Result<bool> {
    use mlsec_assistant::{Gpt, Variant};
    let mut variant = None;
    let mut model_path = None;
    let mut eval_n: u32 = 200;
    let mut it = args.rest.iter();
    while let Some(a) = it.next() {
        let mut value = |what: &str| it.next().with_context(|| format!("{a} needs {what}"));
        match a.as_str() {
            "--variant" => variant = Some(parse_variant(value("assistant or structured")?)?),
            "--model" => model_path = Some(PathBuf::from(value("a file")?)),
            "--eval" => eval_n = value("a number")?.parse::<u32>().context("--eval")?,
            other => bail!("unexpected argument '{other}'"),
        }
    }
    let variant: Variant = variant.context("name the variant: --variant assistant|structured")?;
    let root = find_root(args.root)?;
    let path = model_path.unwrap_or_else(|| {
        root.join(format!(
            "assets/models/assistant-{}.safetensors",
            variant_name(variant)
        ))
    });
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let (model, _) = Gpt::from_safetensors(&bytes)?;
    report_behaviour(&model, variant, eval_n, &Some(root))?;
    Ok(true)
}

fn parse_variant(name: &str) -> Result<mlsec_assistant::Variant> {
    use mlsec_assistant::Variant;
    Ok(match name {
        "assistant" => Variant::Assistant,
        "structured" => Variant::Structured,
        other => bail!("unknown variant '{other}' (assistant or structured)"),
    })
}

fn variant_name(variant: mlsec_assistant::Variant) -> &'static str {
    match variant {
        mlsec_assistant::Variant::Assistant => "assistant",
        mlsec_assistant::Variant::Structured => "structured",
    }
}

fn train_assistant(args: Args) -> Result<bool> {
    use mlsec_assistant::train::{train, TrainConfig};
    use mlsec_assistant::WeightFormat;
    use std::time::Instant;

    let mut variant = None;
    let mut steps = None;
    let mut eval_n: u32 = 200;
    let mut format = WeightFormat::F16;
    let mut it = args.rest.iter();
    while let Some(a) = it.next() {
        let mut value = |what: &str| it.next().with_context(|| format!("{a} needs {what}"));
        match a.as_str() {
            "--variant" => variant = Some(parse_variant(value("assistant or structured")?)?),
            "--steps" => steps = Some(value("a number")?.parse::<u32>().context("--steps")?),
            "--eval" => eval_n = value("a number")?.parse::<u32>().context("--eval")?,
            "--f32" => format = WeightFormat::F32,
            other => bail!("unexpected argument '{other}'"),
        }
    }
    let variant = variant.context("name the variant: --variant assistant|structured")?;
    tune_malloc();
    let name = variant_name(variant);
    let mut config = TrainConfig::recipe(variant);
    if let Some(s) = steps {
        config.steps = s;
        config.warmup_steps = config.warmup_steps.min(s / 10);
    }
    let out = match args.output {
        Some(p) => p,
        None => find_root(args.root.clone())?
            .join(format!("assets/models/assistant-{name}.safetensors")),
    };
    eprintln!(
        "training '{name}': {} parameters, {} steps of {} sequences, lr {} (warm-up {}, cosine to ×{}), {} threads",
        config.model.param_count(),
        config.steps,
        config.batch_size,
        config.learning_rate,
        config.warmup_steps,
        config.final_lr_fraction,
        std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "all".into()),
    );
    let start = Instant::now();
    let (model, _) = train(&config, |p| {
        eprintln!(
            "step {:>5}/{}: loss {:.4}, lr {:.2e}, {:.0} tokens/s, {:.1} s",
            p.step, p.steps, p.loss, p.learning_rate, p.tokens_per_s, p.elapsed_s
        );
        true
    })?;
    let train_s = start.elapsed().as_secs_f64();
    let recipe = serde_json::to_string(&config)?;
    let bytes = model.to_safetensors(format, &[("variant", name), ("recipe", &recipe)])?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    println!(
        "wrote {} ({} bytes, {format:?}, sha256 {}); trained in {train_s:.1} s",
        out.display(),
        bytes.len(),
        mlsec_core::sha256_hex(&bytes)
    );
    if eval_n > 0 {
        report_behaviour(&model, variant, eval_n, &find_root(args.root).ok())?;
    }
    println!("wall time {:.1} s", start.elapsed().as_secs_f64());
    Ok(true)
}

/// A training step allocates and frees a few hundred buffers of up to a few MB. With glibc's
/// defaults the larger ones come from fresh `mmap`s or a heap that is trimmed after every free,
/// so each step pays page faults on zeroed pages: training ran ~40% slower. Keep them in the heap.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_malloc() {
    extern "C" {
        fn mallopt(param: i32, value: i32) -> i32;
    }
    const M_TRIM_THRESHOLD: i32 = -1;
    const M_MMAP_THRESHOLD: i32 = -3;
    // SAFETY: mallopt only sets allocator tunables; called before the training allocates.
    unsafe {
        mallopt(M_MMAP_THRESHOLD, 32 << 20);
        mallopt(M_TRIM_THRESHOLD, 256 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_malloc() {}

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
