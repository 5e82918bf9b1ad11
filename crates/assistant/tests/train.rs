//! Training: the target mask, batching, the schedule, a short run that lowers the loss, the
//! evaluation plumbing. Nothing here trains for more than a few seconds.

use mlsec_assistant::model::{Gpt, GptConfig};
use mlsec_assistant::train::{evaluate, make_batch, Suite, TrainConfig, Trainer};
use mlsec_assistant::{generate, ids, Mix, Sequence, Split, Variant, Vocab};

fn tiny_config(variant: Variant) -> TrainConfig {
    TrainConfig {
        model: GptConfig::tiny(),
        steps: 30,
        batch_size: 16,
        learning_rate: 3e-3,
        warmup_steps: 5,
        episodes: 2_000,
        log_every: 10,
        ..TrainConfig::recipe(variant)
    }
}

#[test]
fn the_loss_covers_target_tokens_only() {
    let eps = generate(Split::Train, 3, 40, &Mix::training()).unwrap();
    for variant in Variant::ALL {
        let seqs: Vec<Sequence> = eps.iter().map(|e| e.sequence(variant)).collect();
        let refs: Vec<&Sequence> = seqs.iter().collect();
        let b = make_batch(&refs);
        assert_eq!(b.rows, 40);
        assert_eq!(b.width, seqs.iter().map(|s| s.tokens.len()).max().unwrap());
        assert_eq!(b.tokens.len(), b.rows * b.width);
        assert_eq!(
            b.real_tokens,
            seqs.iter().map(|s| s.tokens.len()).sum::<usize>()
        );
        assert_eq!(b.positions.len(), b.labels.len());

        let mut expected_labels: Vec<u32> = Vec::new();
        for (r, (s, e)) in seqs.iter().zip(&eps).enumerate() {
            let p = s.prompt_len as usize;
            let target = e.target_tokens(variant);
            assert_eq!(&s.tokens[p..], target.as_slice());
            expected_labels.extend(&target);
            // Padding after the sequence.
            assert!(b.tokens[r * b.width + s.tokens.len()..(r + 1) * b.width]
                .iter()
                .all(|&t| t == ids::PAD));
        }
        // Labels are exactly the targets (with <eos>), in order: no prompt token, no padding.
        assert_eq!(b.labels, expected_labels);
        assert!(!b.labels.contains(&ids::PAD));
        let mut k = 0;
        for (r, s) in seqs.iter().enumerate() {
            let p = s.prompt_len as usize;
            for j in p..s.tokens.len() {
                // Position j − 1 (the first is <out>, the prompt's last token) predicts token j.
                assert_eq!(b.positions[k] as usize, r * b.width + j - 1);
                assert_eq!(b.tokens[b.positions[k] as usize + 1], b.labels[k]);
                k += 1;
            }
            assert_eq!(b.tokens[r * b.width + p - 1], ids::OUT);
        }
        assert_eq!(k, b.labels.len());
    }
}

#[test]
fn warm_up_then_cosine_decay() {
    let c = TrainConfig {
        steps: 1000,
        warmup_steps: 100,
        learning_rate: 1e-3,
        final_lr_fraction: 0.1,
        ..TrainConfig::recipe(Variant::Assistant)
    };
    let lr = |s| c.learning_rate_at(s);
    assert!((lr(0) - 1e-5).abs() < 1e-12);
    assert!((lr(49) - 5e-4).abs() < 1e-12);
    assert!((lr(99) - 1e-3).abs() < 1e-12);
    assert!((lr(100) - 1e-3).abs() < 1e-12);
    for s in 100..999 {
        assert!(lr(s + 1) <= lr(s) + 1e-15);
    }
    assert!((lr(999) - 1e-4).abs() < 1e-12);
    assert!((lr(549) - 5.5e-4).abs() < 1e-6);
}

#[test]
fn bad_settings_are_refused() {
    let ok = tiny_config(Variant::Assistant);
    assert!(ok.validate().is_ok());
    for bad in [
        TrainConfig {
            steps: 0,
            ..ok.clone()
        },
        TrainConfig {
            batch_size: 0,
            ..ok.clone()
        },
        TrainConfig {
            learning_rate: f64::NAN,
            ..ok.clone()
        },
        TrainConfig {
            learning_rate: 0.0,
            ..ok.clone()
        },
        TrainConfig {
            episodes: 3,
            ..ok.clone()
        },
        TrainConfig {
            bucket_batches: 0,
            ..ok.clone()
        },
        TrainConfig {
            log_every: 0,
            ..ok.clone()
        },
        TrainConfig {
            model: GptConfig {
                heads: 3,
                ..GptConfig::tiny()
            },
            ..ok.clone()
        },
        TrainConfig {
            model: GptConfig {
                context: 100,
                ..GptConfig::tiny()
            },
            ..ok.clone()
        },
    ] {
        assert!(Trainer::new(bad).is_err());
    }
}

#[test]
fn batches_are_seeded_and_cover_the_pool() {
    let c = TrainConfig {
        episodes: 64,
        batch_size: 8,
        bucket_batches: 4,
        ..tiny_config(Variant::Structured)
    };
    let mut a = Trainer::new(c.clone()).unwrap();
    let mut b = Trainer::new(c).unwrap();
    let mut seen = Vec::new();
    for _ in 0..8 {
        let (x, y) = (a.next_batch(), b.next_batch());
        assert_eq!(x, y);
        for r in 0..x.rows {
            seen.push(x.tokens[r * x.width..(r + 1) * x.width].to_vec());
        }
    }
    // One pass over the pool: 64 sequences, each once.
    let eps = generate(Split::Train, 1, 64, &Mix::training()).unwrap();
    let mut want: Vec<Vec<u32>> = eps
        .iter()
        .map(|e| e.sequence(Variant::Structured).tokens)
        .collect();
    let mut got: Vec<Vec<u32>> = seen
        .into_iter()
        .map(|mut t| {
            while t.last() == Some(&ids::PAD) {
                t.pop();
            }
            t
        })
        .collect();
    want.sort();
    got.sort();
    assert_eq!(got, want);
}

#[test]
fn thirty_steps_lower_the_loss_and_are_reproducible() {
    let run = || {
        let mut t = Trainer::new(tiny_config(Variant::Assistant)).unwrap();
        let mut losses = Vec::new();
        while !t.finished() {
            losses.push(t.step().unwrap().loss);
        }
        (losses, t.into_model())
    };
    let (losses, model) = run();
    assert_eq!(losses.len(), 30);
    let first: f32 = losses[..5].iter().sum::<f32>() / 5.0;
    let last: f32 = losses[25..].iter().sum::<f32>() / 5.0;
    // Untrained: about ln(vocabulary) ≈ 5.75.
    assert!(
        (first - (Vocab::get().len() as f32).ln()).abs() < 0.6,
        "{first}"
    );
    assert!(last < first - 1.0, "loss {first} → {last}");
    // Same settings, same run.
    let (again, model2) = run();
    assert_eq!(losses, again);
    use mlsec_assistant::WeightFormat::F32;
    assert_eq!(
        model.to_safetensors(F32, &[]).unwrap(),
        model2.to_safetensors(F32, &[]).unwrap()
    );
}

#[test]
fn evaluation_scores_every_episode_of_a_suite() {
    let model = Gpt::init(GptConfig::tiny(), 1).unwrap();
    for suite in Suite::ALL {
        let eps = suite.episodes(5, 12);
        assert_eq!(eps.len(), 12);
        assert!(eps.iter().all(|e| Split::of(e) == Split::Eval));
        let b = evaluate(&model, Variant::Structured, &eps).unwrap();
        assert_eq!(b.episodes, 12);
        for c in [
            b.benign_success,
            b.injection_success,
            b.follows_injection,
            b.leaks_secret,
        ] {
            assert!(c <= 12);
        }
        // An untrained model does nothing right.
        assert_eq!(b.benign_success, 0, "{suite:?}");
    }
}
