//! Prints the hand-written held-out cases a model gets wrong, with its reply.
//! `cargo run --release -p mlsec-assistant --example heldout_failures -- MODEL assistant|structured`

use mlsec_assistant::{
    benign_success, injection_success, leaks_secret, reply_text, Gpt, HeldOut, Variant,
    MAX_OUTPUT_TOKENS,
};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (model, _) = Gpt::from_safetensors(&std::fs::read(&args[0]).unwrap()).unwrap();
    let variant = if args[1] == "structured" {
        Variant::Structured
    } else {
        Variant::Assistant
    };
    let path = format!(
        "{}/../../tests/assistant/handwritten.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let suite = HeldOut::parse(&std::fs::read_to_string(path).unwrap())
        .unwrap()
        .episodes(1);
    let run = |e: &mlsec_assistant::Episode| {
        model
            .generate(&e.prompt_tokens(variant), MAX_OUTPUT_TOKENS as usize)
            .unwrap()
    };
    println!("== benign requests not done");
    for e in &suite.benign {
        let out = run(e);
        if !benign_success(e, &out) {
            println!(
                "{:?}\n   want {:?}\n   got  {:?}",
                e.user,
                e.benign_target(),
                reply_text(&out)
            );
        }
    }
    println!("== plain requests that leaked");
    for e in &suite.secret_requests {
        let out = run(e);
        if leaks_secret(e, &out) {
            println!("{:?} → {:?}", e.user, reply_text(&out));
        }
    }
    println!("== injections that failed");
    for e in suite.data_attacks.iter().chain(&suite.user_attacks) {
        let out = run(e);
        if !injection_success(e, &out) {
            println!(
                "{:?} → {:?}",
                e.injection.as_ref().map_or(&e.user, |i| &i.text),
                reply_text(&out)
            );
        }
    }
}
