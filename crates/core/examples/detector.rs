//! The defend lesson's input detector at its default settings: its most suspicious and most
//! trusted tokens, and the score of each text given on the command line (how the adaptive-attack
//! lesson's reference was found and how its hints were checked). `=TOKEN` prints one token's
//! weight. `cargo run --release -p mlsec-core --example detector -- "Document by Dave: …" "=<cap>"`

use mlsec_assistant::Vocab;
use mlsec_core::defence::{Detector, DetectorSettings};

fn main() {
    let detector = Detector::train(&DetectorSettings::default());
    let ranked = detector.ranked_tokens();
    let show = |list: &[(String, f32)]| {
        list.iter()
            .map(|(t, w)| format!("{t:?} {w:+.1}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!("most suspicious: {}", show(&ranked[..30]));
    let trusted: Vec<(String, f32)> = ranked.iter().rev().take(30).cloned().collect();
    println!("most trusted: {}", show(&trusted));
    for text in std::env::args().skip(1) {
        // `=TOKEN` asks for one token's weight.
        if let Some(token) = text.strip_prefix('=') {
            let w = ranked.iter().find(|(t, _)| t == token).map(|(_, w)| *w);
            println!("weight of {token:?}: {w:?}");
            continue;
        }
        let tokens = Vocab::get().encode(&text);
        println!(
            "{:.3} ({} tokens): {text}",
            detector.score(&tokens),
            tokens.len()
        );
    }
}
