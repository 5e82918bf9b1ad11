//! Prints the vocabulary size, the length distribution of generated prompts and a few episodes
//! as text. `cargo run -p mlsec-assistant --release --example samples [n]`

use mlsec_assistant::{generate, Mix, Split, Variant, Vocab};

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let v = Vocab::get();
    println!("vocabulary: {} tokens", v.len());
    let t0 = std::time::Instant::now();
    let eps = generate(Split::Train, 7, n, &Mix::training()).expect("valid mix");
    println!("generated {n} episodes in {:?}", t0.elapsed());
    for variant in Variant::ALL {
        let mut lens: Vec<usize> = eps
            .iter()
            .map(|e| e.sequence(variant).tokens.len())
            .collect();
        lens.sort_unstable();
        let mean = lens.iter().sum::<usize>() as f64 / lens.len() as f64;
        println!(
            "{variant:?}: sequence length mean {mean:.1}, median {}, p95 {}, max {}",
            lens[lens.len() / 2],
            lens[lens.len() * 95 / 100],
            lens[lens.len() - 1]
        );
    }
    for e in generate(Split::Train, 1, 12, &Mix::training()).expect("valid mix") {
        println!(
            "\nSYSTEM {}\nUSER   {}\nDATA   {}",
            e.system, e.user, e.data
        );
        for variant in Variant::ALL {
            println!("{variant:?} → {}", e.target_text(variant));
        }
    }
}
