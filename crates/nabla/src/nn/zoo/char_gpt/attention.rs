//! Causal attention of queries over keys and values, and the per-layer
//! key/value cache that generation appends to.

use crate::element::Float;
use crate::nn::{Dropout, Layer};
use crate::tensor::Tensor;

/// softmax(q k^T / sqrt(d) + causal mask) v for `q` `[B, H, Tq, d]` and
/// `k`, `v` `[B, H, Tk, d]` with `Tk >= Tq`: the queries are the last `Tq`
/// of the `Tk` positions, and query `i` attends to keys `0..=Tk - Tq + i`.
/// Scaling, masking and softmax are one fused pass (as nanoGPT's flash path).
pub(super) fn causal_attention<T: Float>(
    q: &Tensor<T>,
    k: &Tensor<T>,
    v: &Tensor<T>,
    dropout: &Dropout<T>,
) -> Tensor<T> {
    let (tq, tk, d) = (q.shape()[2], k.shape()[2], q.shape()[3]);
    let offset = (tk - tq) as isize;
    let weights = q.attention_weights(k, None, Some(offset), 1.0 / (d as f64).sqrt());
    dropout.forward(&weights).matmul(v)
}

/// The keys and values of one layer for the positions seen so far, each
/// `[B, H, T, d]`.
#[derive(Clone, Debug, Default)]
pub(super) struct LayerCache<T: Float> {
    keys_values: Option<(Tensor<T>, Tensor<T>)>,
}

impl<T: Float> LayerCache<T> {
    /// Appends the new positions' keys and values; returns all of them.
    pub(super) fn append(&mut self, k: &Tensor<T>, v: &Tensor<T>) -> (Tensor<T>, Tensor<T>) {
        let all = match &self.keys_values {
            Some((keys, values)) => (Tensor::cat([keys, k], 2), Tensor::cat([values, v], 2)),
            None => (k.contiguous(), v.contiguous()),
        };
        self.keys_values = Some(all.clone());
        all
    }

    /// The number of cached positions.
    pub(super) fn len(&self) -> usize {
        self.keys_values.as_ref().map_or(0, |(k, _)| k.shape()[2])
    }
}
