//! Decodes a few evaluation episodes with a trained model and prints output against target.
//! `cargo run -p mlsec-assistant --release --example inspect -- FILE [n]`

use mlsec_assistant::model::Gpt;
use mlsec_assistant::train::Suite;
use mlsec_assistant::{benign_success, Variant, Vocab, MAX_OUTPUT_TOKENS};

fn main() {
    let path = std::env::args().nth(1).expect("a model file");
    let n: u32 = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(6);
    let bytes = std::fs::read(&path).expect("readable");
    let (model, notes) = Gpt::from_safetensors(&bytes).expect("a model");
    let variant = match notes
        .iter()
        .find(|(k, _)| k == "variant")
        .map(|(_, v)| v.as_str())
    {
        Some("structured") => Variant::Structured,
        _ => Variant::Assistant,
    };
    let v = Vocab::get();
    for suite in Suite::ALL {
        println!("== {} ({variant:?})", suite.name());
        for e in suite.episodes(3, n) {
            let out = model
                .generate(&e.prompt_tokens(variant), MAX_OUTPUT_TOKENS as usize)
                .unwrap();
            let ok = if benign_success(&e, &out) {
                "benign"
            } else {
                ""
            };
            println!(
                "  {}\n    want: {}\n    got:  {} {ok}",
                v.decode(&e.prompt_tokens(variant)),
                e.target_text(variant),
                v.decode(&out)
            );
        }
    }
}
