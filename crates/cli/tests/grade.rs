//! `mlsec grade` as an instructor runs it: one line per receipt, exit 0 only when every receipt
//! re-grades as a pass, and forged receipts named as such.

use std::path::PathBuf;
use std::process::Command;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn mlsec(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mlsec"))
        .args(args)
        .args(["--root", ROOT])
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn receipt(dir: &tempdir::Dir, exercise: &str, starter: bool) -> PathBuf {
    let path = dir.0.join(format!(
        "{exercise}-{}.json",
        if starter { "starter" } else { "solution" }
    ));
    let mut args = vec!["receipt", exercise, "-o", path.to_str().unwrap()];
    if starter {
        args.push("--starter");
    }
    let (ok, out) = mlsec(&args);
    assert!(ok, "{out}");
    path
}

mod tempdir {
    pub struct Dir(pub std::path::PathBuf);
    impl Dir {
        pub fn new(name: &str) -> Self {
            let dir = std::env::temp_dir().join(format!("mlsec-cli-{name}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            Dir(dir)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[test]
fn genuine_receipts_pass_and_exit_zero() {
    let dir = tempdir::Dir::new("pass");
    let fgsm = receipt(&dir, "fgsm-untargeted", false);
    let pixels = receipt(&dir, "pixel-attack-by-hand", false);
    let (ok, out) = mlsec(&["grade", fgsm.to_str().unwrap(), pixels.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert_eq!(
        out.lines().filter(|l| l.starts_with("PASS")).count(),
        2,
        "{out}"
    );
}

#[test]
fn a_failing_receipt_makes_the_exit_code_non_zero() {
    let dir = tempdir::Dir::new("fail");
    let good = receipt(&dir, "fgsm-untargeted", false);
    let starter = receipt(&dir, "fgsm-untargeted", true);
    let (ok, out) = mlsec(&["grade", good.to_str().unwrap(), starter.to_str().unwrap()]);
    assert!(!ok, "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("FAIL") && l.contains("attack success")),
        "{out}"
    );
}

#[test]
fn a_forged_claim_and_a_broken_file_are_named() {
    let dir = tempdir::Dir::new("forged");
    let starter = receipt(&dir, "fgsm-untargeted", true);
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&starter).unwrap()).unwrap();
    json["claimed"]["passed"] = serde_json::Value::Bool(true);
    std::fs::write(&starter, json.to_string()).unwrap();
    let junk = dir.0.join("junk.json");
    std::fs::write(&junk, "{ not a receipt").unwrap();
    let (ok, out) = mlsec(&["grade", starter.to_str().unwrap(), junk.to_str().unwrap()]);
    assert!(!ok, "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("FORGED") && l.contains("claims a pass")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("INVALID") && l.contains("not a MLSec Lab receipt")),
        "{out}"
    );
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn check_content_names_a_lesson_file_that_is_missing() {
    // The browser cannot load a lesson without its exercises.toml, so the check must not pass it.
    let dir = tempdir::Dir::new("missing");
    for sub in ["lessons", "assets"] {
        copy_dir(&std::path::Path::new(ROOT).join(sub), &dir.0.join(sub));
    }
    std::fs::remove_file(dir.0.join("lessons/fgsm/exercises.toml")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mlsec"))
        .args(["check-content", "--root", dir.0.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("lessons/fgsm/exercises.toml"), "{text}");
}

/// Track E receipts re-grade like the others; and a lab whose assistant models are missing still
/// re-grades digits receipts (with a warning), while a Track E receipt is then not a pass.
#[test]
fn track_e_receipts_regrade_and_missing_assistant_models_break_only_track_e() {
    let dir = tempdir::Dir::new("track-e");
    let leak = receipt(&dir, "leak-the-code", false);
    let fgsm = receipt(&dir, "fgsm-untargeted", false);
    let (ok, out) = mlsec(&["grade", leak.to_str().unwrap()]);
    assert!(ok && out.starts_with("PASS"), "{out}");

    // A copy of the lab without the assistant models.
    let root = dir.0.join("lab");
    for sub in [
        "lessons",
        "assets/digits",
        "assets/spam",
        "assets/adult",
        "assets/models",
    ] {
        copy_dir(&PathBuf::from(ROOT).join(sub), &root.join(sub));
    }
    for f in [
        "assistant-assistant.safetensors",
        "assistant-structured.safetensors",
    ] {
        std::fs::remove_file(root.join("assets/models").join(f)).unwrap();
    }
    let run = |receipt: &PathBuf| {
        let out = Command::new(env!("CARGO_BIN_EXE_mlsec"))
            .args([
                "grade",
                receipt.to_str().unwrap(),
                "--root",
                root.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (ok, out) = run(&fgsm);
    assert!(ok, "{out}");
    assert!(
        out.contains("warning: the prompt-injection exercises cannot be graded"),
        "{out}"
    );
    let (ok, out) = run(&leak);
    assert!(!ok && out.contains("not loaded"), "{out}");
}

/// A class's hand-in graded in one call (receipts are graded in parallel, one thread each) gives
/// exactly the lines that grading each receipt on its own gives, in the order named, and the
/// exit code says whether all passed.
#[test]
fn a_mixed_batch_grades_in_order_as_one_by_one() {
    let dir = tempdir::Dir::new("batch");
    let mut files = vec![];
    for (exercise, starter) in [
        ("defend-the-inbox", false),
        ("fgsm-untargeted", true),
        ("train-digits", false),
        ("leak-the-code", false),
        ("pixel-attack-by-hand", false),
        ("train-digits", true),
    ] {
        files.push(receipt(&dir, exercise, starter));
    }
    let junk = dir.0.join("junk.json");
    std::fs::write(&junk, "{ not a receipt").unwrap();
    files.insert(3, junk);
    let names: Vec<&str> = files.iter().map(|p| p.to_str().unwrap()).collect();
    let mut args = vec!["grade"];
    args.extend(&names);
    let (ok, batch) = mlsec(&args);
    assert!(
        !ok,
        "two starters and a broken file are in the batch: {batch}"
    );
    let lines: Vec<&str> = batch.lines().collect();
    assert_eq!(lines.len(), names.len(), "{batch}");
    for (line, name) in lines.iter().zip(&names) {
        let (_, alone) = mlsec(&["grade", name]);
        assert_eq!(*line, alone.trim_end(), "{name}");
    }
    let verdicts: Vec<&str> = lines
        .iter()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        verdicts,
        ["PASS", "FAIL", "PASS", "INVALID", "PASS", "PASS", "FAIL"],
        "{batch}"
    );
}
