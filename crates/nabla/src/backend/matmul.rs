//! Matrix products, batched, with broadcast batch dimensions.

use super::{device_of, on_device};
use crate::element::Float;
use crate::layout::{broadcast_shapes, Dims};
use crate::tensor::Tensor;

/// The matrix products of a backend.
pub(crate) trait MatmulOps {
    /// `a [..., m, k] x b [..., k, n]` for every index of the batch shape
    /// `batch` (to which both operands' leading dimensions broadcast), as a
    /// new contiguous tensor `[...batch, m, n]`. The operands may be any
    /// strided views (a transposed weight is read in place).
    fn matmul<T: Float>(a: &Tensor<T>, b: &Tensor<T>, batch: &[usize]) -> Tensor<T>;
}

/// The product of `a [..., m, k]` and `b [..., k, n]` (both of rank at
/// least 2), with broadcast batch dimensions, unrecorded.
///
/// # Panics
/// If an operand has rank below 2, the inner sizes differ
/// (`matmul: cannot multiply [2, 3] by [4, 5]`), or the batch dimensions
/// do not broadcast.
pub(crate) fn matmul<T: Float>(a: &Tensor<T>, b: &Tensor<T>) -> Tensor<T> {
    let (sa, sb) = (a.shape(), b.shape());
    let (ra, rb) = (sa.len(), sb.len());
    assert!(
        ra >= 2 && rb >= 2 && sa[ra - 1] == sb[rb - 2],
        "matmul: cannot multiply {sa:?} by {sb:?}"
    );
    let batch: Dims = broadcast_shapes(&sa[..ra - 2], &sb[..rb - 2])
        .unwrap_or_else(|| panic!("matmul: batch dimensions of {sa:?} and {sb:?} do not broadcast"));
    on_device!(device_of("matmul", &[a, b]), B => B::matmul(a, b, &batch))
}

#[cfg(test)]
impl<B: MatmulOps> MatmulOps for super::counting::Counting<B> {
    fn matmul<T: Float>(a: &Tensor<T>, b: &Tensor<T>, batch: &[usize]) -> Tensor<T> {
        super::counting::count("matmul");
        B::matmul(a, b, batch)
    }
}
