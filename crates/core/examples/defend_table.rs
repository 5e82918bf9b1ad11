//! The defend lesson's table for every defence at once (how the lesson's figures were measured).
//! `cargo run --release -p mlsec-core --example defend_table`

mod common;

use mlsec_core::defence::{measure, suites, Defences, DetectorSettings};

fn main() {
    let assistants = common::assistants();
    let all = Defences {
        model: mlsec_assistant::Variant::Structured,
        harden_prompt: true,
        delimit_data: true,
        output_filter: true,
        confirm_tools: true,
        detector: Some(DetectorSettings::default()),
    };
    let (attacks, benign) = suites(21, 100, 100);
    let mut plan = vec![("no defence".to_string(), Defences::none())];
    plan.extend(all.singles());
    plan.push(("everything".into(), all.clone()));
    let mut reference = Defences::none();
    reference.output_filter = true;
    reference.confirm_tools = true;
    reference.detector = Some(DetectorSettings::default());
    plan.push(("reference".into(), reference));
    for (threshold, examples, epochs) in [(0.9, 2000, 100), (0.5, 200, 30)] {
        let mut d = Defences::none();
        d.detector = Some(DetectorSettings {
            threshold,
            examples,
            epochs,
            ..DetectorSettings::default()
        });
        plan.push((format!("detector {threshold} {examples} {epochs}"), d));
    }
    for (name, d) in plan {
        let row = measure(&name, &d, &assistants, &attacks, &benign).unwrap();
        println!(
            "{name:<28} attacks {:5.1}%  utility {:5.1}%",
            row.attack_success * 100.0,
            row.utility * 100.0
        );
    }
}
