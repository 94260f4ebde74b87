//! Layer normalisation as one recorded op: `y = (x - mean) / sqrt(var +
//! eps) * weight + bias` over the trailing `normalized_shape` of every
//! row, PyTorch's `F.layer_norm`.
//!
//! Forward and backward are one pass per row each
//! ([`crate::kernels::layer_norm`]), where the composition of means,
//! broadcast subtractions and divisions made about ten passes over the
//! whole tensor each way (a GPT block's `[768, 128]` LayerNorm took 195
//! µs on two threads). Under `create_graph` the backward formula is
//! written with recorded ops, so second derivatives stay exact.

use super::batch_norm::affine_norm_grads;
use crate::autograd::record;
use crate::backend;
use crate::element::Float;
use crate::tensor::Tensor;

impl<T: Float> Tensor<T> {
    /// Layer normalisation of `self` over its trailing `normalized_shape`,
    /// with the optional affine parameters `weight` and `bias` (of
    /// `normalized_shape`), recorded as one op.
    ///
    /// # Panics
    /// If `normalized_shape`'s size does not divide `self`'s, or `weight`
    /// or `bias` is not of that size. That `self`'s shape ends in
    /// `normalized_shape` is the caller's to check, as `LayerNorm` does
    /// with a message that names the layer.
    pub(crate) fn layer_norm(
        &self,
        normalized_shape: &[usize],
        weight: Option<&Tensor<T>>,
        bias: Option<&Tensor<T>>,
        eps: f64,
    ) -> Tensor<T> {
        let n: usize = normalized_shape.iter().product();
        let out = backend::layer_norm(self, n, weight, bias, eps);
        let inputs: Vec<&Tensor<T>> = [Some(self), weight, bias].into_iter().flatten().collect();
        let (x, w, has_bias) = (self.clone(), weight.cloned(), bias.is_some());
        let shape = normalized_shape.to_vec();
        record("LayerNorm", out, &inputs, move |ctx| {
            let (dx, dw, db) = if ctx.create_graph {
                layer_norm_backward_recorded(&x, w.as_ref(), ctx.grad(), &shape, eps)
            } else {
                let [dx, dw, db] = backend::layer_norm_backward(&x, ctx.grad(), n, w.as_ref(), eps);
                (dx, dw.reshape(&shape), db.reshape(&shape))
            };
            affine_norm_grads(ctx, dx, w.is_some().then_some(dw), has_bias.then_some(db))
        })
    }
}

/// The gradients of the input, the weight and the bias for the output
/// gradient `g`, as recorded ops on `x`, `weight` and `g`:
/// `rstd (gw - mean(gw) - x̂ mean(gw x̂))` with `gw = g weight`, `Σ g x̂`
/// and `Σ g` over the rows.
fn layer_norm_backward_recorded<T: Float>(
    x: &Tensor<T>,
    weight: Option<&Tensor<T>>,
    g: &Tensor<T>,
    normalized_shape: &[usize],
    eps: f64,
) -> (Tensor<T>, Tensor<T>, Tensor<T>) {
    let dims: Vec<isize> = (1..=normalized_shape.len() as isize).map(|d| -d).collect();
    let centered = x.sub(&x.mean_dims(&dims, true));
    let var = centered.square().mean_dims(&dims, true);
    let rstd = var.add_scalar(T::from_f64(eps)).sqrt().recip();
    let normalized = centered.mul(&rstd);
    let gw = match weight {
        Some(w) => g.mul(w),
        None => g.clone(),
    };
    let projection = normalized.mul(&gw.mul(&normalized).mean_dims(&dims, true));
    let dx = rstd.mul(&gw.sub(&gw.mean_dims(&dims, true)).sub(&projection));
    let dw = g.mul(&normalized).sum_to(normalized_shape);
    let db = g.sum_to(normalized_shape);
    (dx, dw, db)
}
