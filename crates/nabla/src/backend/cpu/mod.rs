//! The CPU backend: tensor memory is a host `Vec`, and every operation is a
//! loop of [`crate::kernels`] over it.

mod accumulate;
mod conv;
mod decoder;
mod elementwise;
mod index;
mod matmul;
mod memory;
mod norm;
mod optimizer;
mod pool;
mod recurrent;
mod reduce;

use super::Backend;
use crate::element::Float;
use crate::layout::Layout;
use crate::tensor::Tensor;

/// The CPU backend (the only one today).
pub(crate) struct Cpu;

impl Backend for Cpu {}

/// Runs `f` on `x`'s elements in row-major order as one slice, copying
/// only when `x` is not contiguous.
pub(super) fn contiguous_elements<T: Float, R>(x: &Tensor<T>, f: impl FnOnce(&[T]) -> R) -> R {
    let layout = x.layout();
    let data = x.inner.storage.read();
    if layout.is_contiguous() {
        f(&data[layout.offset..layout.offset + layout.numel()])
    } else {
        f(&gather_runs(&data, layout))
    }
}

/// `x`'s elements in row-major order as a new vector: one copy, where
/// `contiguous_elements(x, <[T]>::to_vec)` makes two of a strided view.
pub(super) fn elements_vec<T: Float>(x: &Tensor<T>) -> Vec<T> {
    let layout = x.layout();
    let data = x.inner.storage.read();
    if layout.is_contiguous() {
        data[layout.offset..layout.offset + layout.numel()].to_vec()
    } else {
        gather_runs(&data, layout)
    }
}

/// The elements of the view `layout` of `data`, in row-major order.
fn gather_runs<T: Float>(data: &[T], layout: &Layout) -> Vec<T> {
    let mut copy = Vec::with_capacity(layout.numel());
    layout.for_each_run(|start, len, step| {
        if step == 1 {
            copy.extend_from_slice(&data[start..start + len]);
        } else if step == 0 {
            copy.extend(std::iter::repeat_n(data[start], len));
        } else {
            copy.extend((0..len).map(|i| data[start + i * step]));
        }
    });
    copy
}

/// Runs `f` on the elements of a contiguous tensor as one mutable slice.
pub(super) fn contiguous_elements_mut<T: Float, R>(x: &Tensor<T>, f: impl FnOnce(&mut [T]) -> R) -> R {
    let layout = x.layout();
    debug_assert!(layout.is_contiguous());
    let mut data = x.inner.storage.write();
    f(&mut data[layout.offset..layout.offset + layout.numel()])
}
