//! Reductions as named operations.

/// A reduction of all elements of a tensor to one value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum ReduceOp {
    /// The sum (blocked, see `kernels::reduce::sum_all`).
    Sum,
    /// The largest element; NaN if any is NaN.
    Max,
    /// The smallest element; NaN if any is NaN.
    Min,
    /// PyTorch's `torch.linalg.vector_norm(x, ord)`, accumulated in `f64`:
    /// any `ord > 0`, `∞` (the largest magnitude), `-∞` (the smallest) or
    /// 0 (the number of nonzeros).
    Norm(f64),
}

/// Which extreme element an arg-reduction picks along a dimension: the
/// first one at ties, and NaN counts as both the largest and the smallest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Extremum {
    Max,
    Min,
}

/// The softmax of attention scores along their last dimension, fused with
/// their scaling and masks: `softmax(scale x + mask)`, where a causal mask
/// `Some(offset)` excludes the keys `j > i + offset` of query row `i`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct AttentionSoftmax {
    pub(crate) scale: f64,
    pub(crate) causal: Option<isize>,
}

/// The softmax family along one dimension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SoftmaxOp {
    /// `e^(x_i - m) / Σ_j e^(x_j - m)`, `m` the maximum.
    Softmax,
    /// `x_i - m - log Σ_j e^(x_j - m)`.
    LogSoftmax,
}
