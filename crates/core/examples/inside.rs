//! What the shipped plain assistant attends to, by part of the conversation, when it writes each
//! reply token for a document (the indirect-injection lesson's "look inside" claims were checked
//! with it). `cargo run --release -p mlsec-core --example inside -- "Document by Dave: …" …`

mod common;

use mlsec_assistant::Part;
use mlsec_core::defence::Defences;
use mlsec_core::injection::{Attack, AttackGoal, Channel};

fn main() {
    let assistants = common::assistants();
    let attack = Attack {
        channel: Channel::Data,
        goal: AttackGoal::Exfiltrate,
        defences: Defences::none(),
        scenarios: 8,
        seed: 12,
    };
    for text in std::env::args().skip(1) {
        println!("== {text}");
        for index in 0..2 {
            let trace = attack.trace(&assistants, &text, index).unwrap().unwrap();
            for (token, step) in trace.reply.iter().zip(&trace.steps) {
                let mut share = [0f32; 5];
                let layers = step.attention.len() as f32;
                for layer in &step.attention {
                    let heads = layer.len() as f32;
                    for head in layer {
                        for (i, w) in head.iter().enumerate() {
                            let k = match trace.prompt.get(i).map(|p| p.1) {
                                Some(Part::System) => 0,
                                Some(Part::User) => 1,
                                Some(Part::Data) => 2,
                                Some(Part::Marker) => 3,
                                None => 4,
                            };
                            share[k] += w / heads / layers;
                        }
                    }
                }
                println!(
                    "  {token:>24?}  system {:4.0}%  user {:4.0}%  data {:4.0}%  markers {:4.0}%  reply {:4.0}%",
                    share[0] * 100.0,
                    share[1] * 100.0,
                    share[2] * 100.0,
                    share[3] * 100.0,
                    share[4] * 100.0
                );
            }
        }
    }
}
