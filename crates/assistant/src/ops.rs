//! Fused CPU kernels with backward passes for the tiny GPT: GELU, LayerNorm and a causal
//! softmax.
//!
//! candle composes the backward passes of GELU (tanh form) and of `candle_nn::ops::softmax` /
//! `layer_norm_slow` from a dozen element-wise ops each (GELU's even calls `powf`), and its
//! fused LayerNorm and softmax kernels have no backward pass at all. For a model this small
//! those passes dominate a training step; these kernels do each forward and each backward in one
//! pass over memory. Single-threaded and f32 only (the model computes in f32), so the results do
//! not depend on the thread count.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, CustomOp3, Layout, Shape, Tensor};

use crate::model::Result;

fn f32_slice<'a>(
    storage: &'a CpuStorage,
    layout: &Layout,
    op: &str,
) -> candle_core::Result<&'a [f32]> {
    let CpuStorage::F32(data) = storage else {
        candle_core::bail!("{op}: only f32 is supported")
    };
    match layout.contiguous_offsets() {
        Some((a, b)) => Ok(&data[a..b]),
        None => candle_core::bail!("{op}: the input must be contiguous"),
    }
}

const SQRT_2_OVER_PI: f32 = 0.797_884_6;

/// `tanh` through one `exp` (libm's `tanhf` is several times slower and dominated the step):
/// `1 − 2 / (e^{2u} + 1)`, exact at the limits (±1), absolute error ~1e-7.
#[inline]
fn tanh(u: f32) -> f32 {
    1.0 - 2.0 / ((2.0 * u).exp() + 1.0)
}
const GELU_C: f32 = 0.044_715;

/// GELU, tanh form (as GPT-2): `0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))`.
pub fn gelu(x: &Tensor) -> Result<Tensor> {
    Ok(x.contiguous()?.apply_op1(Gelu)?)
}

struct Gelu;

impl CustomOp1 for Gelu {
    fn name(&self) -> &'static str {
        "mlsec-gelu"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = f32_slice(s, l, self.name())?;
        let y: Vec<f32> = x
            .iter()
            .map(|&v| 0.5 * v * (1.0 + tanh(SQRT_2_OVER_PI * (v + GELU_C * v * v * v))))
            .collect();
        Ok((CpuStorage::F32(y), l.shape().clone()))
    }

    fn bwd(
        &self,
        arg: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(
            arg.contiguous()?
                .apply_op2_no_bwd(&grad.contiguous()?, &GeluGrad)?,
        ))
    }
}

/// `grad · gelu'(x)`.
struct GeluGrad;

impl CustomOp2 for GeluGrad {
    fn name(&self) -> &'static str {
        "mlsec-gelu-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = f32_slice(s1, l1, self.name())?;
        let g = f32_slice(s2, l2, self.name())?;
        if x.len() != g.len() {
            candle_core::bail!("{}: shape mismatch", self.name());
        }
        let dx: Vec<f32> = x
            .iter()
            .zip(g)
            .map(|(&v, &g)| {
                let t = tanh(SQRT_2_OVER_PI * (v + GELU_C * v * v * v));
                let du = SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_C * v * v);
                g * (0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * du)
            })
            .collect();
        Ok((CpuStorage::F32(dx), l1.shape().clone()))
    }
}

/// LayerNorm over the last dimension: `(x − mean) / √(var + eps) · weight + bias`.
pub fn layer_norm(x: &Tensor, weight: &Tensor, bias: &Tensor, eps: f32) -> Result<Tensor> {
    Ok(x.contiguous()?.apply_op3(
        &weight.contiguous()?,
        &bias.contiguous()?,
        LayerNormOp { eps },
    )?)
}

struct LayerNormOp {
    eps: f32,
}

/// Mean and 1/σ of one row.
fn row_stats(row: &[f32], eps: f32) -> (f32, f32) {
    let n = row.len() as f32;
    let mean = row.iter().sum::<f32>() / n;
    let var = row.iter().map(|&v| (v - mean) * (v - mean)).sum::<f32>() / n;
    (mean, 1.0 / (var + eps).sqrt())
}

impl CustomOp3 for LayerNormOp {
    fn name(&self) -> &'static str {
        "mlsec-layer-norm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = f32_slice(s1, l1, self.name())?;
        let w = f32_slice(s2, l2, self.name())?;
        let b = f32_slice(s3, l3, self.name())?;
        let d = w.len();
        if d == 0 || b.len() != d || l1.dims().last() != Some(&d) {
            candle_core::bail!("{}: shape mismatch {:?} / {d}", self.name(), l1.dims());
        }
        let mut y = vec![0f32; x.len()];
        for (row, out) in x.chunks_exact(d).zip(y.chunks_exact_mut(d)) {
            let (mean, rstd) = row_stats(row, self.eps);
            for i in 0..d {
                out[i] = (row[i] - mean) * rstd * w[i] + b[i];
            }
        }
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _b: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let d = w.elem_count();
        let rows = x.elem_count() / d;
        // One pass: rows of dx, then dweight, then dbias.
        let all = x.contiguous()?.apply_op3_no_bwd(
            &w.contiguous()?,
            &grad.contiguous()?,
            &LayerNormGrad { eps: self.eps },
        )?;
        let dx = all.narrow(0, 0, rows)?.reshape(x.shape())?;
        let dw = all.get(rows)?;
        let db = all.get(rows + 1)?;
        Ok((Some(dx), Some(dw), Some(db)))
    }
}

/// `(x, weight, grad)` → `(rows + 2, d)`: dx rows, dweight, dbias.
struct LayerNormGrad {
    eps: f32,
}

impl CustomOp3 for LayerNormGrad {
    fn name(&self) -> &'static str {
        "mlsec-layer-norm-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = f32_slice(s1, l1, self.name())?;
        let w = f32_slice(s2, l2, self.name())?;
        let g = f32_slice(s3, l3, self.name())?;
        let d = w.len();
        if d == 0 || g.len() != x.len() || !x.len().is_multiple_of(d) {
            candle_core::bail!("{}: shape mismatch", self.name());
        }
        let rows = x.len() / d;
        let mut out = vec![0f32; (rows + 2) * d];
        let (dx, rest) = out.split_at_mut(rows * d);
        let (dw, db) = rest.split_at_mut(d);
        let mut xhat = vec![0f32; d];
        let mut gw = vec![0f32; d];
        for ((row, gr), dxr) in x
            .chunks_exact(d)
            .zip(g.chunks_exact(d))
            .zip(dx.chunks_exact_mut(d))
        {
            let (mean, rstd) = row_stats(row, self.eps);
            let (mut sum_gw, mut sum_gwx) = (0f32, 0f32);
            for i in 0..d {
                xhat[i] = (row[i] - mean) * rstd;
                gw[i] = gr[i] * w[i];
                sum_gw += gw[i];
                sum_gwx += gw[i] * xhat[i];
                dw[i] += gr[i] * xhat[i];
                db[i] += gr[i];
            }
            let (m1, m2) = (sum_gw / d as f32, sum_gwx / d as f32);
            for i in 0..d {
                dxr[i] = rstd * (gw[i] - m1 - xhat[i] * m2);
            }
        }
        Ok((CpuStorage::F32(out), Shape::from((rows + 2, d))))
    }
}

/// Causal softmax over the last dimension of attention scores `(…, t, s)` with `s ≥ t`: query
/// row `i` (the sequence's position `s − t + i`) sees keys `0 ..= s − t + i`; the others get
/// probability 0. No mask tensor is needed.
pub fn causal_softmax(scores: &Tensor) -> Result<Tensor> {
    Ok(scores.contiguous()?.apply_op1(CausalSoftmax)?)
}

struct CausalSoftmax;

fn matrix_dims(l: &Layout, op: &str) -> candle_core::Result<(usize, usize)> {
    let dims = l.dims();
    if dims.len() < 2 {
        candle_core::bail!("{op}: needs at least two dimensions");
    }
    let (t, s) = (dims[dims.len() - 2], dims[dims.len() - 1]);
    if s < t || t == 0 {
        candle_core::bail!("{op}: {t} queries over {s} keys");
    }
    Ok((t, s))
}

impl CustomOp1 for CausalSoftmax {
    fn name(&self) -> &'static str {
        "mlsec-causal-softmax"
    }

    fn cpu_fwd(&self, st: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = f32_slice(st, l, self.name())?;
        let (t, s) = matrix_dims(l, self.name())?;
        let mut y = vec![0f32; x.len()];
        for (r, (row, out)) in x.chunks_exact(s).zip(y.chunks_exact_mut(s)).enumerate() {
            let seen = s - t + (r % t) + 1;
            let (row, out) = (&row[..seen], &mut out[..seen]);
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut sum = 0f32;
            for (o, &v) in out.iter_mut().zip(row) {
                *o = (v - max).exp();
                sum += *o;
            }
            let inv = 1.0 / sum;
            for o in out.iter_mut() {
                *o *= inv;
            }
        }
        Ok((CpuStorage::F32(y), l.shape().clone()))
    }

    fn bwd(
        &self,
        _arg: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(
            res.contiguous()?
                .apply_op2_no_bwd(&grad.contiguous()?, &SoftmaxGrad)?,
        ))
    }
}

/// `(y, grad)` → `y · (grad − Σ grad·y)` per row.
struct SoftmaxGrad;

impl CustomOp2 for SoftmaxGrad {
    fn name(&self) -> &'static str {
        "mlsec-softmax-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let y = f32_slice(s1, l1, self.name())?;
        let g = f32_slice(s2, l2, self.name())?;
        let (_, s) = matrix_dims(l1, self.name())?;
        if y.len() != g.len() {
            candle_core::bail!("{}: shape mismatch", self.name());
        }
        let mut dx = vec![0f32; y.len()];
        for ((yr, gr), dr) in y
            .chunks_exact(s)
            .zip(g.chunks_exact(s))
            .zip(dx.chunks_exact_mut(s))
        {
            let dot: f32 = yr.iter().zip(gr).map(|(a, b)| a * b).sum();
            for i in 0..s {
                dr[i] = yr[i] * (gr[i] - dot);
            }
        }
        Ok((CpuStorage::F32(dx), l1.shape().clone()))
    }
}
