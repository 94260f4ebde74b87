//! [`scaled_dot_product_attention`], as PyTorch's
//! `F.scaled_dot_product_attention`.

use super::AttentionMask;
use crate::autograd::is_grad_enabled;
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
/// When gradients are recorded (or with dropout), all batches and heads
/// are computed together: one batched product for the scores, one fused
/// pass that scales, masks and normalises them in place (the scores are
/// never stored beside the weights), one batched product with the values.
/// In inference (nothing to record), one `[L, S]` block of weights per
/// batch element and head at a time, so that memory grows with `L · S`,
/// not with `batch · heads · L · S`. A query that may attend to no key gets
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
    let recorded = is_grad_enabled()
        && [Some(query), Some(key), Some(value), mask.as_ref()]
            .into_iter()
            .flatten()
            .any(Tensor::is_requires_grad);
    if !recorded && dropout.is_none() {
        return attention_block_by_block(query, key, value, mask.as_ref(), is_causal, scale);
    }
    let weights = query.attention_weights(key, mask.as_ref(), is_causal.then_some(0), scale);
    let weights = match dropout {
        Some((p, generator)) => drop_weights(&weights, p, generator),
        None => weights,
    };
    weights.matmul(value)
}

/// Attention computed one batch element and head at a time: each block's
/// queries, keys, values and mask are views (broadcast dimensions stay
/// stride 0), so only one `[L, S]` block of weights exists at once.
fn attention_block_by_block<T: Float>(
    query: &Tensor<T>,
    key: &Tensor<T>,
    value: &Tensor<T>,
    mask: Option<&Tensor<T>>,
    is_causal: bool,
    scale: f64,
) -> Tensor<T> {
    let batch_of = |t: &Tensor<T>| t.shape()[..t.ndim() - 2].to_vec();
    let batch = broadcast_shapes(&batch_of(query), &batch_of(key))
        .and_then(|b| broadcast_shapes(&b, &batch_of(value)))
        .expect("scaled_dot_product_attention: batch dimensions were checked");
    let to_batch = |t: &Tensor<T>| {
        let mut shape = batch.to_vec();
        shape.extend_from_slice(&t.shape()[t.ndim() - 2..]);
        t.expand(&shape)
    };
    let (l, ev) = (query.shape()[query.ndim() - 2], value.shape()[value.ndim() - 1]);
    let (q, k, v) = (to_batch(query), to_batch(key), to_batch(value));
    let m = mask.map(|m| {
        let mut shape = batch.to_vec();
        shape.extend([l, key.shape()[key.ndim() - 2]]);
        m.expand(&shape)
    });
    let block = |t: &Tensor<T>, mut index: usize| {
        let mut position = vec![0; batch.len()];
        for (p, &size) in position.iter_mut().zip(batch.iter()).rev() {
            *p = index % size;
            index /= size;
        }
        position.iter().fold(t.clone(), |t, &p| t.select(0, p))
    };
    let mut shape = batch.to_vec();
    shape.extend([l, ev]);
    let blocks = batch.iter().product::<usize>();
    if blocks == 0 {
        return Tensor::zeros(&shape);
    }
    let outputs: Vec<Tensor<T>> = (0..blocks)
        .map(|i| {
            let mask = m.as_ref().map(|m| block(m, i));
            block(&q, i)
                .attention_weights(&block(&k, i), mask.as_ref(), is_causal.then_some(0), scale)
                .matmul(&block(&v, i))
        })
        .collect();
    Tensor::stack(&outputs, 0).reshape(&shape)
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

#[cfg(test)]
mod tests {
    use super::scaled_dot_product_attention;
    use crate::autograd::no_grad;
    use crate::backend::counting::calls;
    use crate::nn::AttentionMask;
    use crate::tensor::{Generator, Tensor};

    /// In inference each (batch, head) block is normalised on its own, and
    /// the result is the batched one's.
    #[test]
    fn inference_normalises_one_block_at_a_time() {
        let mut g = Generator::new(4);
        let q = Tensor::<f64>::randn(&[2, 3, 5, 4], &mut g);
        let k = Tensor::<f64>::randn(&[2, 1, 6, 4], &mut g);
        let v = Tensor::<f64>::randn(&[1, 3, 6, 2], &mut g);
        let padding = Tensor::from_vec(
            vec![1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0],
            &[2, 1, 1, 6],
        );
        for (mask, causal) in [
            (None, false),
            (None, true),
            (Some(AttentionMask::Allow(padding)), false),
        ] {
            let qr = q.clone().requires_grad();
            let (batched, recorded) =
                calls(|| scaled_dot_product_attention(&qr, &k, &v, mask.as_ref(), None, causal, None));
            let (blocks, inference) = calls(|| {
                no_grad(|| scaled_dot_product_attention(&q, &k, &v, mask.as_ref(), None, causal, None))
            });
            assert_eq!(recorded.get("attention_softmax"), Some(&1));
            assert_eq!(inference.get("attention_softmax"), Some(&6));
            assert_eq!(blocks.shape(), &[2, 3, 5, 2]);
            let worst = batched
                .to_vec()
                .iter()
                .zip(blocks.to_vec())
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            assert!(worst < 1e-12, "causal {causal}: differs by {worst}");
        }
    }
}
