//! Attention weights, `softmax(scale q kᵀ + mask)` with an optional causal
//! mask, as one recorded op over batches of score matrices: one product
//! for all batches and heads, then one fused pass of scaling, masking and
//! softmax in place, so that only the weights are stored (the scores
//! before the softmax never are).

use crate::autograd::record;
use crate::backend;
use crate::backend::ops::AttentionSoftmax;
use crate::element::Float;
use crate::tensor::Tensor;

impl<T: Float> Tensor<T> {
    /// The attention weights of queries `self` `[..., L, E]` over keys
    /// `key` `[..., S, E]`: `softmax(scale q kᵀ + mask)` along the keys,
    /// `[..., L, S]`, the batch dimensions broadcast. `mask` (additive,
    /// broadcast to `[..., L, S]`) may require a gradient. With `causal`
    /// `Some(offset)`, query `i` sees keys `j <= i + offset` only (0 is
    /// PyTorch's `is_causal`; `S - L` aligns the last query with the last
    /// key, as a KV cache needs). A query that sees no key gets weights 0.
    pub(crate) fn attention_weights(
        &self,
        key: &Tensor<T>,
        mask: Option<&Tensor<T>>,
        causal: Option<isize>,
        scale: f64,
    ) -> Tensor<T> {
        let weights = backend::matmul(self, &key.detach().transpose(-1, -2));
        backend::attention_softmax(&weights, mask, AttentionSoftmax { scale, causal });
        let (q, k, m) = (self.clone(), key.clone(), mask.cloned());
        let inputs: Vec<&Tensor<T>> = [Some(self), Some(key), mask].into_iter().flatten().collect();
        record("AttentionWeights", weights, &inputs, move |ctx| {
            // p = softmax(z), z = scale q kᵀ + mask: dz = p (g - Σ g p).
            let (g, p) = (ctx.grad(), ctx.output());
            let dot = g.mul(&p).sum_dims(&[-1], true);
            let dz = p.mul(&g.sub(&dot));
            let scaled = dz.mul_scalar(T::from_f64(scale));
            let mut grads = vec![
                ctx.needs_input_grad(0)
                    .then(|| scaled.matmul(&k).sum_to(q.shape())),
                ctx.needs_input_grad(1)
                    .then(|| scaled.transpose(-1, -2).matmul(&q).sum_to(k.shape())),
            ];
            if let Some(m) = &m {
                grads.push(ctx.needs_input_grad(2).then(|| dz.sum_to(m.shape())));
            }
            grads
        })
    }
}
