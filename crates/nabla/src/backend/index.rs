//! Indexing: copies that join tensors, pick slices or elements by index,
//! or reverse dimensions, into new contiguous tensors. (Their adjoints,
//! adding at indices, are [`super::AccumulateOps::add_at`].)

use super::{device_of, on_device};
use crate::element::Float;
use crate::tensor::{IndexTensor, Tensor};

/// The indexing operations of a backend. Inputs may have any layout;
/// indices are host memory and in range.
pub(crate) trait IndexOps {
    /// `tensors`, of one shape outside `dim`, joined along `dim`.
    fn cat<T: Float>(tensors: &[&Tensor<T>], dim: usize) -> Tensor<T>;
    /// The slices `indices[k]` (1-D) of `x` along `dim`, in that order.
    fn index_select<T: Float>(x: &Tensor<T>, dim: usize, indices: &IndexTensor) -> Tensor<T>;
    /// `out[p] = x[p's coordinates with the one along dim replaced by
    /// index[p]]`, shaped as `index` (`torch.gather`).
    fn gather<T: Float>(x: &Tensor<T>, dim: usize, index: &IndexTensor) -> Tensor<T>;
    /// `x` with the order of its elements reversed along each of `dims`.
    fn flip<T: Float>(x: &Tensor<T>, dims: &[usize]) -> Tensor<T>;
}

/// `tensors` joined along `dim` into a new contiguous tensor, unrecorded.
///
/// # Panics
/// If there are none, or their shapes differ outside `dim`.
pub(crate) fn cat<T: Float>(tensors: &[&Tensor<T>], dim: usize) -> Tensor<T> {
    assert!(!tensors.is_empty(), "cat: needs at least one tensor");
    let first = tensors[0].shape();
    for t in tensors {
        let s = t.shape();
        let ok = dim < first.len()
            && s.len() == first.len()
            && s.iter()
                .zip(first)
                .enumerate()
                .all(|(i, (a, b))| i == dim || a == b);
        assert!(
            ok,
            "cat: shapes {first:?} and {s:?} differ outside dimension {dim}"
        );
    }
    on_device!(device_of("cat", tensors), B => B::cat(tensors, dim))
}

/// The slices of `x` at `indices` (1-D, in range) along `dim`, unrecorded.
///
/// # Panics
/// If `indices` is not 1-D or `dim` is not a dimension of `x`.
pub(crate) fn index_select<T: Float>(x: &Tensor<T>, dim: usize, indices: &IndexTensor) -> Tensor<T> {
    assert!(
        indices.ndim() == 1 && dim < x.ndim(),
        "index_select: indices of shape {:?} cannot select along dimension {dim} of shape {:?}",
        indices.shape(),
        x.shape()
    );
    on_device!(device_of("index_select", &[x]), B => B::index_select(x, dim, indices))
}

/// `x` read at `index` (in range) along `dim`, unrecorded.
///
/// # Panics
/// If `index` does not fit `x` outside `dim`.
pub(crate) fn gather<T: Float>(x: &Tensor<T>, dim: usize, index: &IndexTensor) -> Tensor<T> {
    let ok = dim < x.ndim()
        && index.ndim() == x.ndim()
        && index
            .shape()
            .iter()
            .zip(x.shape())
            .enumerate()
            .all(|(d, (&i, &s))| d == dim || i <= s);
    assert!(
        ok,
        "gather: index of shape {:?} does not fit input of shape {:?} along dimension {dim}",
        index.shape(),
        x.shape()
    );
    on_device!(device_of("gather", &[x]), B => B::gather(x, dim, index))
}

/// `x` reversed along each of `dims` into a new contiguous tensor,
/// unrecorded.
///
/// # Panics
/// If a dimension is out of range.
pub(crate) fn flip<T: Float>(x: &Tensor<T>, dims: &[usize]) -> Tensor<T> {
    assert!(
        dims.iter().all(|&d| d < x.ndim()),
        "flip: dimensions {dims:?} are out of range for shape {:?}",
        x.shape()
    );
    on_device!(device_of("flip", &[x]), B => B::flip(x, dims))
}

#[cfg(test)]
impl<B: IndexOps> IndexOps for super::counting::Counting<B> {
    fn cat<T: Float>(tensors: &[&Tensor<T>], dim: usize) -> Tensor<T> {
        super::counting::count("cat");
        B::cat(tensors, dim)
    }
    fn index_select<T: Float>(x: &Tensor<T>, dim: usize, indices: &IndexTensor) -> Tensor<T> {
        super::counting::count("index_select");
        B::index_select(x, dim, indices)
    }
    fn gather<T: Float>(x: &Tensor<T>, dim: usize, index: &IndexTensor) -> Tensor<T> {
        super::counting::count("gather");
        B::gather(x, dim, index)
    }
    fn flip<T: Float>(x: &Tensor<T>, dims: &[usize]) -> Tensor<T> {
        super::counting::count("flip");
        B::flip(x, dims)
    }
}
