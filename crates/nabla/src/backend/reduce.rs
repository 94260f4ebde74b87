//! Reductions: sums over dimensions, full reductions to one value, the
//! index of the largest or smallest element along a dimension, the `k`
//! largest or smallest, and along a dimension the softmax family, the
//! log-sum-exp and the cumulative sum; the fused softmax of attention
//! scores.

use super::ops::{AttentionSoftmax, Extremum, ReduceOp, SoftmaxOp};
use super::{device_of, on_device};
use crate::element::Float;
use crate::layout::broadcast_shapes;
use crate::tensor::{IndexTensor, Tensor};

/// The reductions of a backend.
pub(crate) trait ReduceOps {
    /// Sums over `dims` (sorted, distinct, in range), as a new contiguous
    /// tensor of the shape with those dimensions kept as size 1.
    fn sum_dims<T: Float>(x: &Tensor<T>, dims: &[usize]) -> Tensor<T>;
    /// All elements reduced by `op`, as a zero-dimensional tensor.
    fn reduce_all<T: Float>(op: ReduceOp, x: &Tensor<T>) -> Tensor<T>;
    /// The index of the extreme element along dimension `dim` (of nonzero
    /// size), of the shape with `dim` kept as size 1.
    fn arg_reduce<T: Float>(op: Extremum, x: &Tensor<T>, dim: usize) -> IndexTensor;
    /// The indices of the `k` extreme elements along dimension `dim` (`k`
    /// at most its size), the most extreme first, of `x`'s shape with `dim`
    /// of size `k`. NaN counts as the largest element; ties keep the lower
    /// index first.
    fn topk<T: Float>(op: Extremum, x: &Tensor<T>, dim: usize, k: usize) -> IndexTensor;
    /// `op` along dimension `dim`, as a new contiguous tensor of `x`'s
    /// shape (of rank at least 1).
    fn softmax<T: Float>(op: SoftmaxOp, x: &Tensor<T>, dim: usize) -> Tensor<T>;
    /// Overwrites the contiguous attention scores `[..., L, S]` (rank at
    /// least 2) with `softmax(op.scale x + mask)` along the last dimension,
    /// `mask` (additive) broadcast to their shape, the keys `j > i +
    /// offset` of query row `i` excluded under `op.causal`; a row with no
    /// key left becomes 0.
    fn attention_softmax<T: Float>(scores: &Tensor<T>, mask: Option<&Tensor<T>>, op: AttentionSoftmax);
    /// `log Σ e^x` along dimension `dim`, computed after subtracting the
    /// maximum (when finite), of `x`'s shape with `dim` of size 1.
    fn logsumexp<T: Float>(x: &Tensor<T>, dim: usize) -> Tensor<T>;
    /// The running sums along dimension `dim`, accumulated in `f64`, as a
    /// new contiguous tensor of `x`'s shape.
    fn cumsum<T: Float>(x: &Tensor<T>, dim: usize) -> Tensor<T>;
}

/// Sums `x` over `dims` (sorted, distinct), keeping them as size 1,
/// unrecorded.
///
/// # Panics
/// If `dims` is not sorted, distinct and within `x`'s rank.
pub(crate) fn sum_dims<T: Float>(x: &Tensor<T>, dims: &[usize]) -> Tensor<T> {
    assert!(
        dims.windows(2).all(|w| w[0] < w[1]) && dims.last().is_none_or(|&d| d < x.ndim()),
        "sum: dimensions {dims:?} are not distinct dimensions of a tensor of shape {:?}",
        x.shape()
    );
    on_device!(device_of("sum", &[x]), B => B::sum_dims(x, dims))
}

/// All elements of `x` reduced by `op` to a zero-dimensional tensor,
/// unrecorded.
///
/// # Panics
/// For the maximum or minimum of an empty tensor.
pub(crate) fn reduce_all<T: Float>(op: ReduceOp, x: &Tensor<T>) -> Tensor<T> {
    let name = match op {
        ReduceOp::Sum => "sum",
        ReduceOp::Max => "max",
        ReduceOp::Min => "min",
        ReduceOp::Norm(_) => "norm",
    };
    assert!(
        x.numel() > 0 || !matches!(op, ReduceOp::Max | ReduceOp::Min),
        "{name}: the tensor of shape {:?} is empty",
        x.shape()
    );
    on_device!(device_of(name, &[x]), B => B::reduce_all(op, x))
}

/// The index of the extreme element of `x` along `dim`, of the shape with
/// `dim` kept as size 1.
///
/// # Panics
/// If `dim` is out of range or of size 0.
pub(crate) fn arg_reduce<T: Float>(op: Extremum, x: &Tensor<T>, dim: usize) -> IndexTensor {
    let name = match op {
        Extremum::Max => "argmax",
        Extremum::Min => "argmin",
    };
    assert!(
        x.shape().get(dim).is_some_and(|&n| n > 0),
        "{name}: dimension {dim} of {:?} is empty",
        x.shape()
    );
    on_device!(device_of(name, &[x]), B => B::arg_reduce(op, x, dim))
}

/// The indices of the `k` extreme elements of `x` along `dim`, the most
/// extreme first.
///
/// # Panics
/// If `dim` is out of range or `k` exceeds its size.
pub(crate) fn topk<T: Float>(op: Extremum, x: &Tensor<T>, dim: usize, k: usize) -> IndexTensor {
    assert_dim("topk", x, dim);
    assert!(
        k <= x.shape()[dim],
        "topk: k = {k} is larger than dimension {dim} of size {} (shape {:?})",
        x.shape()[dim],
        x.shape()
    );
    on_device!(device_of("topk", &[x]), B => B::topk(op, x, dim, k))
}

/// `op` along dimension `dim` of `x`, unrecorded.
///
/// # Panics
/// If `dim` is not a dimension of `x`.
pub(crate) fn softmax<T: Float>(op: SoftmaxOp, x: &Tensor<T>, dim: usize) -> Tensor<T> {
    assert_dim("softmax", x, dim);
    on_device!(device_of("softmax", &[x]), B => B::softmax(op, x, dim))
}

/// Attention weights from scores in place, unrecorded: see
/// [`ReduceOps::attention_softmax`].
///
/// # Panics
/// If `scores` is a strided view or has fewer than two dimensions, or
/// `mask` does not broadcast to its shape.
pub(crate) fn attention_softmax<T: Float>(
    scores: &Tensor<T>,
    mask: Option<&Tensor<T>>,
    op: AttentionSoftmax,
) {
    assert!(
        scores.ndim() >= 2 && scores.is_contiguous(),
        "attention_softmax: the scores must be a contiguous tensor [..., L, S], got shape {:?}",
        scores.shape()
    );
    let mut tensors = vec![scores];
    if let Some(m) = mask {
        assert!(
            broadcast_shapes(m.shape(), scores.shape()).is_some_and(|b| b.as_slice() == scores.shape()),
            "attention_softmax: a mask of shape {:?} does not broadcast to the scores' shape {:?}",
            m.shape(),
            scores.shape()
        );
        tensors.push(m);
    }
    on_device!(device_of("attention_softmax", &tensors), B => B::attention_softmax(scores, mask, op))
}

/// `log Σ e^x` along `dim` of `x`, keeping it as size 1, unrecorded.
///
/// # Panics
/// If `dim` is not a dimension of `x`.
pub(crate) fn logsumexp<T: Float>(x: &Tensor<T>, dim: usize) -> Tensor<T> {
    assert_dim("logsumexp", x, dim);
    on_device!(device_of("logsumexp", &[x]), B => B::logsumexp(x, dim))
}

/// The running sums of `x` along `dim`, unrecorded.
///
/// # Panics
/// If `dim` is not a dimension of `x`.
pub(crate) fn cumsum<T: Float>(x: &Tensor<T>, dim: usize) -> Tensor<T> {
    assert_dim("cumsum", x, dim);
    on_device!(device_of("cumsum", &[x]), B => B::cumsum(x, dim))
}

fn assert_dim<T: Float>(name: &str, x: &Tensor<T>, dim: usize) {
    assert!(
        dim < x.ndim(),
        "{name}: dimension {dim} is out of range for a tensor of shape {:?}",
        x.shape()
    );
}

#[cfg(test)]
impl<B: ReduceOps> ReduceOps for super::counting::Counting<B> {
    fn sum_dims<T: Float>(x: &Tensor<T>, dims: &[usize]) -> Tensor<T> {
        super::counting::count("sum_dims");
        B::sum_dims(x, dims)
    }
    fn reduce_all<T: Float>(op: ReduceOp, x: &Tensor<T>) -> Tensor<T> {
        super::counting::count("reduce_all");
        B::reduce_all(op, x)
    }
    fn arg_reduce<T: Float>(op: Extremum, x: &Tensor<T>, dim: usize) -> IndexTensor {
        super::counting::count("arg_reduce");
        B::arg_reduce(op, x, dim)
    }
    fn topk<T: Float>(op: Extremum, x: &Tensor<T>, dim: usize, k: usize) -> IndexTensor {
        super::counting::count("topk");
        B::topk(op, x, dim, k)
    }
    fn softmax<T: Float>(op: SoftmaxOp, x: &Tensor<T>, dim: usize) -> Tensor<T> {
        super::counting::count("softmax");
        B::softmax(op, x, dim)
    }
    fn attention_softmax<T: Float>(scores: &Tensor<T>, mask: Option<&Tensor<T>>, op: AttentionSoftmax) {
        super::counting::count("attention_softmax");
        B::attention_softmax(scores, mask, op)
    }
    fn logsumexp<T: Float>(x: &Tensor<T>, dim: usize) -> Tensor<T> {
        super::counting::count("logsumexp");
        B::logsumexp(x, dim)
    }
    fn cumsum<T: Float>(x: &Tensor<T>, dim: usize) -> Tensor<T> {
        super::counting::count("cumsum");
        B::cumsum(x, dim)
    }
}
