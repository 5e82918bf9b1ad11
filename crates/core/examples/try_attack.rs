//! Runs texts through a Track E attack as the grader does and prints each conversation's reply
//! (how the lessons' references, starters and thresholds were measured).
//! `cargo run --release -p mlsec-core --example try_attack -- user|data leak|exfiltrate|image SEED [detector] -- TEXT…`

mod common;

use mlsec_core::defence::{Defences, DetectorSettings};
use mlsec_core::injection::{Attack, AttackGoal, Channel};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let split = args
        .iter()
        .position(|a| a == "--")
        .expect("-- before the texts");
    let (spec, texts) = (&args[..split], &args[split + 1..]);
    let assistants = common::assistants();
    let channel = if spec[0] == "user" {
        Channel::User
    } else {
        Channel::Data
    };
    let goal = match spec[1].as_str() {
        "leak" => AttackGoal::Leak,
        "exfiltrate" => AttackGoal::Exfiltrate,
        _ => AttackGoal::Image,
    };
    let mut defences = Defences::none();
    if spec.get(3).is_some_and(|s| s == "detector") {
        defences.detector = Some(DetectorSettings::default());
    }
    if spec.get(3).is_some_and(|s| s == "structured") {
        defences.model = mlsec_assistant::Variant::Structured;
    }
    let attack = Attack {
        channel,
        goal,
        defences,
        scenarios: 8,
        seed: spec[2].parse().unwrap(),
    };
    println!("budget {} tokens", attack.budget());
    for text in texts {
        match attack.run(&assistants, text) {
            Ok((_, conversations)) => {
                let worked = conversations.iter().filter(|c| c.succeeded).count();
                println!("{worked}/8  {text}");
                for c in &conversations {
                    println!(
                        "    {} {:?}{}",
                        if c.succeeded { "✓" } else { "·" },
                        c.reply,
                        c.detector_score
                            .map(|s| format!("  detector {s:.2}"))
                            .unwrap_or_default()
                    );
                }
            }
            Err(e) => println!("error: {e}  {text}"),
        }
    }
}
