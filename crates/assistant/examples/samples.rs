//! Prints the vocabulary size, the measured length maxima and a few decoded episodes per variant.
//! `cargo run -p mlsec-assistant --release --example samples [n]`

use mlsec_assistant::{generate, Goal, Mix, Split, Variant, Vocab};

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let v = Vocab::get();
    println!("vocabulary: {} tokens", v.len());
    for split in [Split::Train, Split::Eval] {
        let t0 = std::time::Instant::now();
        let eps = generate(split, 7, n, &Mix::training()).expect("valid mix");
        println!("{split:?}: generated {n} episodes in {:?}", t0.elapsed());
        for variant in Variant::ALL {
            let (mut p, mut t) = (0, 0);
            for e in &eps {
                p = p.max(e.prompt_tokens(variant).len());
                t = t.max(e.target_tokens(variant).len());
            }
            println!(
                "{split:?} {variant:?}: {n} episodes, max prompt {p}, max target {t} (with <eos>)"
            );
        }
    }
    let eps = generate(Split::Train, 1, 40, &Mix::training()).expect("valid mix");
    let benign = eps
        .iter()
        .find(|e| e.injection.is_none() && e.injected_target().is_none());
    let injected = eps.iter().find(|e| {
        e.injection
            .as_ref()
            .is_some_and(|i| matches!(i.goal, Goal::Exfiltrate { .. }))
    });
    let direct = eps
        .iter()
        .find(|e| e.injection.is_none() && e.injected_target().is_some());
    for (what, e) in [
        ("benign", benign),
        ("injected", injected),
        ("direct", direct),
    ] {
        let Some(e) = e else { continue };
        println!("\n== {what} ==");
        for variant in Variant::ALL {
            println!("[{variant:?}] {}", e.render(variant));
        }
    }
}
