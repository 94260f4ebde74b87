//! [`scaled_dot_product_attention`], as PyTorch's
//! `F.scaled_dot_product_attention`.

use super::AttentionMask;
use crate::backend::{self, ops::RandomFill};
use crate::element::Float;
use crate::layout::broadcast_shapes;
use crate::tensor::{Generator, Tensor};

/// Attention of queries over keys and values, as PyTorch's
/// `F.scaled_dot_product_attention(query, key, value, attn_mask,
/// dropout_p, is_causal, scale)`:
///
/// ```text
/// softmax(scale · query keyᵀ + mask) value
/// ```
///
/// Shapes: `query` `[..., L, E]`, `key` `[..., S, E]`, `value` `[..., S,
/// Ev]` with batch dimensions `...` (as `[batch, heads]`) that broadcast;
/// the output is `[..., L, Ev]`. `attn_mask` broadcasts to `[..., L, S]`
/// (`[L, S]` for every batch and head, `[batch, 1, 1, S]` for padding);
/// see [`AttentionMask`] for its three forms. `dropout` is `(dropout_p,
/// generator)`: the weights are zeroed with probability `dropout_p` and
/// the rest scaled by `1 / (1 - dropout_p)` (PyTorch applies it whenever
/// `dropout_p > 0`, in training or not; pass `None` in evaluation).
/// `is_causal` lets query `i` attend to keys `j <= i` only (the upper-left
/// triangle, as PyTorch; with `attn_mask` it is an error, as in PyTorch).
/// `scale` defaults to `1 / √E`.
///
/// All batches and heads are computed together: one batched product for
/// the scores, one fused pass that scales, masks and normalises them in
/// place (the scores are never stored beside the weights), one batched
/// product with the values. A query that may attend to no key gets
/// output 0, as in PyTorch. Differentiable in `query`, `key`, `value` and
/// an additive mask, twice.
///
/// ```
/// use nabla::nn::{scaled_dot_product_attention, AttentionMask};
/// use nabla::{Generator, Tensor};
/// let mut g = Generator::new(0);
/// let q = Tensor::<f32>::randn(&[2, 4, 5, 8], &mut g); // [batch, heads, L, E]
/// let k = Tensor::<f32>::randn(&[2, 4, 7, 8], &mut g);
/// let v = Tensor::<f32>::randn(&[2, 4, 7, 3], &mut g);
/// let out = scaled_dot_product_attention(&q, &k, &v, None, None, false, None);
/// assert_eq!(out.shape(), &[2, 4, 5, 3]);
///
/// // The first query attends only to the first key under a causal mask.
/// let causal = scaled_dot_product_attention(&q, &k, &v, None, None, true, None);
/// let first = causal.narrow(2, 0, 1).to_vec();
/// let first_value = v.narrow(2, 0, 1).to_vec();
/// assert!(first.iter().zip(&first_value).all(|(a, b)| (a - b).abs() < 1e-6));
///
/// // A boolean mask that lets every query see the first 3 keys only.
/// let allow = Tensor::from_vec(vec![1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0], &[7]);
/// let mask = AttentionMask::Allow(allow);
/// let masked = scaled_dot_product_attention(&q, &k, &v, Some(&mask), None, false, None);
/// let short = scaled_dot_product_attention(&q, &k.narrow(2, 0, 3), &v.narrow(2, 0, 3), None, None, false, None);
/// assert!(masked.to_vec().iter().zip(short.to_vec()).all(|(a, b)| (a - b).abs() < 1e-6));
/// ```
///
/// # Panics
/// If a tensor has fewer than two dimensions, the sizes do not fit
/// together (`E` of `query` and `key`, `S` of `key` and `value`), the
/// batch dimensions or the mask do not broadcast, `is_causal` comes with
/// a mask, or `dropout_p` is outside `[0, 1)`.
pub fn scaled_dot_product_attention<T: Float>(
    query: &Tensor<T>,
    key: &Tensor<T>,
    value: &Tensor<T>,
    attn_mask: Option<&AttentionMask<T>>,
    dropout: Option<(f64, &mut Generator)>,
    is_causal: bool,
    scale: Option<f64>,
) -> Tensor<T> {
    let (l, s, e) = check_shapes("scaled_dot_product_attention", query, key, value);
    assert!(
        !(is_causal && attn_mask.is_some()),
        "scaled_dot_product_attention: an explicit attn_mask cannot be combined with is_causal"
    );
    let mask = attn_mask.map(|m| {
        let additive = m.to_additive();
        check_mask("scaled_dot_product_attention", &additive, query, key, l, s);
        additive
    });
    let scale = scale.unwrap_or(1.0 / (e as f64).sqrt());
    let weights = query.attention_weights(key, mask.as_ref(), is_causal.then_some(0), scale);
    let weights = match dropout {
        Some((p, generator)) => drop_weights(&weights, p, generator),
        None => weights,
    };
    weights.matmul(value)
}

/// The attention weights with each zeroed with probability `p` and the
/// rest scaled by `1 / (1 - p)`.
fn drop_weights<T: Float>(weights: &Tensor<T>, p: f64, generator: &mut Generator) -> Tensor<T> {
    assert!(
        (0.0..1.0).contains(&p),
        "scaled_dot_product_attention: dropout_p = {p} is not in [0, 1)"
    );
    if p == 0.0 {
        return weights.clone();
    }
    let keep = backend::random(
        weights.shape(),
        RandomFill::Bernoulli {
            p,
            scale: 1.0 / (1.0 - p),
        },
        generator,
    );
    weights.mul(&keep)
}

/// Checks that queries `[..., L, E]`, keys `[..., S, E]` and values
/// `[..., S, Ev]` fit together; returns `(L, S, E)`.
fn check_shapes<T: Float>(
    op: &str,
    query: &Tensor<T>,
    key: &Tensor<T>,
    value: &Tensor<T>,
) -> (usize, usize, usize) {
    let (q, k, v) = (query.shape(), key.shape(), value.shape());
    assert!(
        q.len() >= 2 && k.len() >= 2 && v.len() >= 2,
        "{op}: query, key and value need at least two dimensions, got {q:?}, {k:?} and {v:?}"
    );
    let (l, e) = (q[q.len() - 2], q[q.len() - 1]);
    let (s, ke) = (k[k.len() - 2], k[k.len() - 1]);
    assert!(
        ke == e,
        "{op}: query {q:?} and key {k:?} must end in the same embedding size"
    );
    assert!(
        v[v.len() - 2] == s,
        "{op}: key {k:?} and value {v:?} must have as many positions (dimension -2)"
    );
    let batch = broadcast_shapes(&q[..q.len() - 2], &k[..k.len() - 2])
        .and_then(|b| broadcast_shapes(&b, &v[..v.len() - 2]));
    assert!(
        batch.is_some(),
        "{op}: the batch dimensions of query {q:?}, key {k:?} and value {v:?} do not broadcast"
    );
    (l, s, e)
}

/// Checks that an additive mask broadcasts to the scores `[..., L, S]`.
fn check_mask<T: Float>(op: &str, mask: &Tensor<T>, query: &Tensor<T>, key: &Tensor<T>, l: usize, s: usize) {
    let (q, k) = (query.shape(), key.shape());
    let batch = broadcast_shapes(&q[..q.len() - 2], &k[..k.len() - 2]).unwrap_or_default();
    let mut scores = batch.to_vec();
    scores.extend([l, s]);
    let fits = broadcast_shapes(mask.shape(), &scores).is_some_and(|b| b.as_slice() == scores.as_slice());
    assert!(
        fits,
        "{op}: a mask of shape {:?} does not broadcast to the scores' shape {scores:?} ([..., L, S])",
        mask.shape()
    );
}
