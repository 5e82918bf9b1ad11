//! The tiny GPT: shapes, causality, the decoding cache, determinism, weight files, the fused
//! kernels' gradients, and refusals of bad input.

use candle_core::{DType, Device, Tensor, Var, D};
use mlsec_assistant::model::{argmax, Gpt, GptConfig, WeightFormat};
use mlsec_assistant::{ids, ops, Vocab, MAX_OUTPUT_TOKENS};

fn tiny(seed: u64) -> Gpt {
    Gpt::init(GptConfig::tiny(), seed).unwrap()
}

fn ids_tensor(rows: &[Vec<u32>]) -> Tensor {
    let t = rows[0].len();
    let flat: Vec<u32> = rows.iter().flatten().copied().collect();
    Tensor::from_vec(flat, (rows.len(), t), &Device::Cpu).unwrap()
}

fn prompt() -> Vec<u32> {
    let v = Vocab::get();
    let mut p = vec![ids::BOS, ids::SYS];
    p.extend(v.encode("You are a mail assistant. The access code is code-4821."));
    p.push(ids::USER);
    p.extend(v.encode("Summarise the email."));
    p.push(ids::DATA);
    p.extend(v.encode("Email from Alice: The budget review is on Friday."));
    p.push(ids::OUT);
    p
}

fn var(m: &Gpt, name: &str) -> Var {
    m.named_vars()
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no parameter {name}"))
        .1
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

#[test]
fn shapes_and_parameter_count() {
    let c = GptConfig::standard();
    assert_eq!(c.vocab, Vocab::get().len());
    assert_eq!(c.context, 184);
    let m = tiny(1);
    assert_eq!(m.param_count(), GptConfig::tiny().param_count());
    let x = ids_tensor(&[prompt()[..10].to_vec(), prompt()[5..15].to_vec()]);
    let logits = m.forward(&x).unwrap();
    assert_eq!(logits.dims(), &[2, 10, c.vocab as usize]);
    assert_eq!(logits.dtype(), DType::F32);
    // forward_at picks rows of the flattened (batch · t) grid.
    let pos = Tensor::new(&[0u32, 9, 13], &Device::Cpu).unwrap();
    let at = m.forward_at(&x, &pos).unwrap();
    assert_eq!(at.dims(), &[3, c.vocab as usize]);
    let flat = logits.reshape((20, c.vocab as usize)).unwrap();
    let picked = flat.index_select(&pos, 0).unwrap();
    assert!(max_abs_diff(&at, &picked) < 1e-5);
    // The standard model: ~1.0 M parameters, about 2 MB in f16.
    let p = c.param_count();
    assert!((900_000..1_100_000).contains(&p), "{p}");
}

#[test]
fn a_later_token_never_changes_earlier_logits() {
    let m = tiny(2);
    let a = prompt();
    let mut b = a.clone();
    let k = 12;
    b[k] = Vocab::get().id("bob").unwrap();
    assert_ne!(a[k], b[k]);
    let la = m.forward(&ids_tensor(&[a])).unwrap();
    let lb = m.forward(&ids_tensor(&[b])).unwrap();
    let before = |l: &Tensor| l.narrow(1, 0, k).unwrap();
    assert_eq!(max_abs_diff(&before(&la), &before(&lb)), 0.0);
    // ...and does change the logits at and after it.
    let after = |l: &Tensor| l.narrow(1, k, 1).unwrap();
    assert!(max_abs_diff(&after(&la), &after(&lb)) > 1e-4);
}

#[test]
fn cached_decoding_agrees_with_the_full_forward_pass() {
    let m = tiny(3);
    let p = prompt();
    let out = m.generate(&p, 16).unwrap();
    assert!(!out.is_empty());
    let mut all = p.clone();
    all.extend(&out);
    let logits = m.forward(&ids_tensor(&[all.clone()])).unwrap();
    let v = m.config().vocab as usize;
    for (i, &tok) in out.iter().enumerate() {
        let row = logits
            .get(0)
            .unwrap()
            .get(p.len() - 1 + i)
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert_eq!(row.len(), v);
        assert_eq!(argmax(&row), tok, "token {i}");
    }
}

#[test]
fn same_seed_same_bytes() {
    let a = tiny(7)
        .to_safetensors(WeightFormat::F32, &[("variant", "assistant")])
        .unwrap();
    let b = tiny(7)
        .to_safetensors(WeightFormat::F32, &[("variant", "assistant")])
        .unwrap();
    let c = tiny(8)
        .to_safetensors(WeightFormat::F32, &[("variant", "assistant")])
        .unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
    let logits = |m: &Gpt| m.forward(&ids_tensor(&[prompt()])).unwrap();
    assert_eq!(max_abs_diff(&logits(&tiny(7)), &logits(&tiny(7))), 0.0);
}

#[test]
fn weight_files_round_trip_in_f32_and_f16() {
    let m = tiny(4);
    let x = ids_tensor(&[prompt()]);
    let f32_bytes = m
        .to_safetensors(WeightFormat::F32, &[("variant", "structured")])
        .unwrap();
    let (back, notes) = Gpt::from_safetensors(&f32_bytes).unwrap();
    assert_eq!(
        notes,
        vec![("variant".to_string(), "structured".to_string())]
    );
    assert_eq!(back.config(), m.config());
    assert_eq!(
        back.to_safetensors(WeightFormat::F32, &[("variant", "structured")])
            .unwrap(),
        f32_bytes
    );

    let f16_bytes = m.to_safetensors(WeightFormat::F16, &[]).unwrap();
    assert!(f16_bytes.len() < f32_bytes.len() * 6 / 10);
    let (half, _) = Gpt::from_safetensors(&f16_bytes).unwrap();
    for ((name, a), (_, b)) in m.named_vars().iter().zip(half.named_vars()) {
        let rounded = a
            .to_dtype(DType::F16)
            .unwrap()
            .to_dtype(DType::F32)
            .unwrap();
        assert_eq!(max_abs_diff(&rounded, &b), 0.0, "{name}");
    }
    let d = max_abs_diff(&m.forward(&x).unwrap(), &half.forward(&x).unwrap());
    assert!(d < 1e-2, "f16 logits differ by {d}");
    // Saving the loaded f16 model in f16 again gives the same bytes.
    assert_eq!(
        half.to_safetensors(WeightFormat::F16, &[]).unwrap(),
        f16_bytes
    );
}

#[test]
fn both_shipped_models_fit_the_8_mb_budget_in_f16() {
    let m = Gpt::init(GptConfig::standard(), 1).unwrap();
    let bytes = m.to_safetensors(WeightFormat::F16, &[]).unwrap();
    assert!(2 * bytes.len() <= 8_000_000, "{} bytes each", bytes.len());
    assert!(bytes.len() >= 2 * m.param_count());
}

/// A model whose every output is `token`: the final LayerNorm ignores its input and emits the
/// (enlarged) embedding of `token`, which the tied head scores highest.
fn always(token: u32) -> Gpt {
    let m = tiny(5);
    let d = m.config().d_model as usize;
    let emb = var(&m, "tok_emb.weight");
    let mut e = emb.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    for x in &mut e[token as usize * d..(token as usize + 1) * d] {
        *x = 1.0;
    }
    emb.set(&Tensor::from_vec(e, emb.shape(), &Device::Cpu).unwrap())
        .unwrap();
    var(&m, "ln_f.weight")
        .set(&Tensor::zeros(d, DType::F32, &Device::Cpu).unwrap())
        .unwrap();
    var(&m, "ln_f.bias")
        .set(&Tensor::ones(d, DType::F32, &Device::Cpu).unwrap())
        .unwrap();
    m
}

#[test]
fn greedy_decoding_stops_at_eos_and_at_the_length_limits() {
    let p = prompt();
    assert_eq!(always(ids::EOS).generate(&p, 16).unwrap(), vec![ids::EOS]);

    let the = Vocab::get().id(" the").unwrap();
    let m = always(the);
    assert_eq!(m.generate(&p, 5).unwrap(), vec![the; 5]);
    assert_eq!(m.generate(&p, 0).unwrap(), Vec::<u32>::new());
    assert_eq!(
        m.generate(&p, 1000).unwrap().len(),
        MAX_OUTPUT_TOKENS as usize
    );
    // The context (184) bounds the answer of a long prompt.
    let long = vec![the; 181];
    assert_eq!(m.generate(&long, 16).unwrap().len(), 3);
}

#[test]
fn bad_prompts_and_bad_files_are_refused_with_a_reason() {
    let m = tiny(6);
    let msg = |r: Result<Vec<u32>, _>| match r {
        Err(e) => format!("{e}"),
        Ok(_) => panic!("accepted"),
    };
    assert!(msg(m.generate(&[], 4)).contains("empty"));
    assert!(msg(m.generate(&vec![ids::BOS; 184], 4)).contains("184 tokens"));
    assert!(msg(m.generate(&[ids::BOS, 9_999], 4)).contains("9999"));
    assert!(m.forward(&ids_tensor(&[vec![ids::BOS; 185]])).is_err());

    let load_err = |bytes: &[u8]| match Gpt::from_safetensors(bytes) {
        Err(e) => format!("{e}"),
        Ok(_) => panic!("loaded"),
    };
    assert!(load_err(b"").contains("not a readable model file"));
    assert!(load_err(&[0xff; 64]).contains("not a readable model file"));
    let good = m.to_safetensors(WeightFormat::F16, &[]).unwrap();
    assert!(load_err(&good[..good.len() - 10]).contains("not a readable model file"));
    // A safetensors file that is not a model.
    let t = Tensor::zeros(3, DType::F32, &Device::Cpu).unwrap();
    let other = safetensors::serialize([("x", &t)], None).unwrap();
    assert!(load_err(&other).contains("no model configuration"));
    // A NaN weight.
    let nan = tiny(6);
    let w = var(&nan, "ln_f.bias");
    w.set(&(w.as_tensor() * f64::NAN).unwrap()).unwrap();
    let bytes = nan.to_safetensors(WeightFormat::F32, &[]).unwrap();
    assert!(load_err(&bytes).contains("NaN"));
}

// --- The fused kernels against candle's composed (differentiable) versions. -------------------

fn random(shape: &[usize], seed: u64) -> Tensor {
    let n: usize = shape.iter().product();
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let v: Vec<f32> = (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 4.0 - 2.0
        })
        .collect();
    Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
}

/// Value and gradients of `Σ f(inputs) · r` for a fixed random `r`.
fn value_and_grads(inputs: &[Tensor], f: impl Fn(&[Tensor]) -> Tensor) -> (Tensor, Vec<Tensor>) {
    let vars: Vec<Var> = inputs
        .iter()
        .map(|t| Var::from_tensor(t).unwrap())
        .collect();
    let ts: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
    let y = f(&ts);
    let r = random(y.dims(), 99);
    let loss = (&y * &r).unwrap().sum_all().unwrap();
    let g = loss.backward().unwrap();
    let grads = vars.iter().map(|v| g.get(v).unwrap().clone()).collect();
    (y, grads)
}

fn assert_same(ours: (Tensor, Vec<Tensor>), theirs: (Tensor, Vec<Tensor>), what: &str) {
    assert!(max_abs_diff(&ours.0, &theirs.0) < 1e-5, "{what}: values");
    for (i, (a, b)) in ours.1.iter().zip(&theirs.1).enumerate() {
        let d = max_abs_diff(a, b);
        assert!(d < 1e-4, "{what}: gradient {i} differs by {d}");
    }
}

#[test]
fn fused_gelu_matches_candle() {
    let x = random(&[6, 40], 1);
    assert_same(
        value_and_grads(std::slice::from_ref(&x), |t| ops::gelu(&t[0]).unwrap()),
        value_and_grads(&[x], |t| t[0].gelu().unwrap()),
        "gelu",
    );
}

#[test]
fn fused_layer_norm_matches_candle() {
    let (x, w, b) = (random(&[3, 5, 16], 2), random(&[16], 3), random(&[16], 4));
    assert_same(
        value_and_grads(&[x.clone(), w.clone(), b.clone()], |t| {
            ops::layer_norm(&t[0], &t[1], &t[2], 1e-5).unwrap()
        }),
        value_and_grads(&[x, w, b], |t| {
            candle_nn::ops::layer_norm_slow(&t[0], &t[1], &t[2], 1e-5).unwrap()
        }),
        "layer norm",
    );
}

#[test]
fn fused_causal_softmax_matches_a_masked_softmax() {
    for (t, s) in [(7, 7), (1, 9), (3, 8)] {
        let x = random(&[2, 3, t, s], 5);
        let mask: Vec<f32> = (0..t)
            .flat_map(|i| {
                (0..s).map(move |j| {
                    if j > s - t + i {
                        f32::NEG_INFINITY
                    } else {
                        0.0
                    }
                })
            })
            .collect();
        let mask = Tensor::from_vec(mask, (t, s), &Device::Cpu).unwrap();
        assert_same(
            value_and_grads(std::slice::from_ref(&x), |v| {
                ops::causal_softmax(&v[0]).unwrap()
            }),
            value_and_grads(&[x], |v| {
                candle_nn::ops::softmax(&v[0].broadcast_add(&mask).unwrap(), D::Minus1).unwrap()
            }),
            &format!("causal softmax {t}×{s}"),
        );
    }
}

#[test]
fn a_trace_records_attention_that_sums_to_one_and_a_lens_that_ends_in_the_prediction() {
    let m = tiny(9);
    let p = prompt();
    let out = m.generate(&p, 6).unwrap();
    let trace = m.trace(&p, 6).unwrap();
    // Tracing decodes exactly as generating does.
    assert_eq!(trace.iter().map(|t| t.token).collect::<Vec<_>>(), out);
    let c = GptConfig::tiny();
    for (i, t) in trace.iter().enumerate() {
        assert_eq!(t.position, p.len() - 1 + i);
        assert_eq!(t.attention.len(), c.layers as usize);
        assert_eq!(t.lens.len(), c.layers as usize);
        for layer in &t.attention {
            assert_eq!(layer.len(), c.heads as usize);
            for head in layer {
                // Causal: the query sees positions 0..=position and nothing later.
                assert_eq!(head.len(), t.position + 1);
                let sum: f32 = head.iter().sum();
                assert!((sum - 1.0).abs() < 1e-4, "{sum}");
                assert!(head.iter().all(|&w| (0.0..=1.0).contains(&w)));
            }
        }
        for top in &t.lens {
            assert_eq!(top.len(), mlsec_assistant::LENS_TOP);
            assert!(top.windows(2).all(|w| w[0].1 >= w[1].1));
        }
        // The last layer's lens is the model's own prediction: greedy took its top token.
        assert_eq!(t.lens.last().unwrap()[0].0, t.token);
    }
}
