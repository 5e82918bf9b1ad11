//! `mlsec class` as an instructor runs it after a workshop: a folder of hand-ins in, the
//! learner × exercise table, the look-alikes and the unusable files out, and the CSV written.

use mlsec_core::receipt::Receipt;
use mlsec_core::session::Session;
use mlsec_core::workshop::{HandIn, Workshop};
use std::process::Command;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn session() -> Session {
    Session::with_all(|path| std::fs::read(format!("{ROOT}/{path}")).unwrap()).unwrap()
}

#[test]
fn a_folder_of_hand_ins_becomes_a_table_and_a_csv() {
    let dir = std::env::temp_dir().join(format!("mlsec-class-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (course, lessons) = mlsec_core::course::read_course(|f| {
        std::fs::read_to_string(format!("{ROOT}/{f}")).map_err(|e| e.to_string())
    })
    .unwrap();
    drop(course);
    let fgsm = lessons
        .iter()
        .flat_map(|l| &l.exercises)
        .find(|e| e.id == "fgsm-untargeted")
        .unwrap();
    let workshop = Workshop::new("Class test", vec!["fgsm".into()], 5);
    let session = session();
    let ada_exercise = workshop.instance(fgsm, "Ada").unwrap();
    let ada = session
        .run_to_end(&ada_exercise, fgsm.task.solution())
        .unwrap();
    let ada = Receipt::parse(&ada.receipt).unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.join(name), text).unwrap();
    write(
        "ada.json",
        &HandIn::new(&workshop, "Ada", vec![ada.clone()]).to_json(),
    );
    write(
        "bob.json",
        &HandIn::new(&workshop, "Bob", vec![ada]).to_json(),
    );
    write("workshop.json", &workshop.to_file());
    write("notes.txt", "not a hand-in");
    std::fs::write(dir.join("huge.json"), vec![b' '; 17 << 20]).unwrap();
    let csv = dir.join("out").with_extension("csv");
    let out = Command::new(env!("CARGO_BIN_EXE_mlsec"))
        .args([
            "class",
            dir.to_str().unwrap(),
            "--csv",
            csv.to_str().unwrap(),
        ])
        .args(["--root", ROOT])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("2 hand-ins, 2 receipts, 1 grading "),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.starts_with("PASS    Ada ")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("FORGED  Bob ") && l.contains("Ada's instance")),
        "{text}"
    );
    assert!(
        text.contains("LOOK-ALIKE fgsm-untargeted: Ada and Bob: identical artefacts"),
        "{text}"
    );
    assert!(
        text.contains("NOT USED notes.txt: this is not a MLSec Lab hand-in"),
        "{text}"
    );
    assert!(
        text.contains("NOT USED huge.json: 17.0 MB is far too large"),
        "{text}"
    );
    let table = std::fs::read_to_string(&csv).unwrap();
    let rows: Vec<&str> = table.lines().collect();
    assert_eq!(rows.len(), 3, "{table}");
    assert!(rows[1].starts_with("Ada,fgsm-untargeted,pass,"), "{table}");
    assert!(
        rows[2].starts_with("Bob,fgsm-untargeted,forged,"),
        "{table}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
