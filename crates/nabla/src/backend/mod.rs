//! The backend seam: every loop over tensor memory is one of the named
//! operations of this module, and the CPU backend (the loops of
//! [`crate::kernels`]) implements them. Callers above (ops, layers,
//! optimizers, data) hand tensors and a named operation; the backend
//! matches on the operation once per call and runs a monomorphised loop.

pub(crate) mod ops;

use std::sync::RwLockWriteGuard;

use crate::element::Float;
use crate::kernels;
use crate::tensor::Tensor;
use ops::OptimizerUpdate;

/// Updates `parameter` in place by `update` from `grad` (of the same shape)
/// and the update's state buffers (contiguous tensors of the parameter's
/// size that nothing else shares), unrecorded.
///
/// # Panics
/// If the parameter is a strided view, or the number of buffers is not the
/// update's.
pub(crate) fn optimizer_update<T: Float>(
    update: &OptimizerUpdate,
    parameter: &Tensor<T>,
    grad: &Tensor<T>,
    state: &[Tensor<T>],
) {
    assert_eq!(
        state.len(),
        update.buffer_count(),
        "optimizer update: {update:?} takes {} state buffers, got {}",
        update.buffer_count(),
        state.len()
    );
    // A gradient that shares the parameter's storage is read from a copy:
    // the parameter is locked for writing while the gradient is read.
    let copied = grad.shares_storage_with(parameter).then(|| grad.to_vec());
    let mut buffers: Vec<RwLockWriteGuard<'_, Vec<T>>> = state.iter().map(write_lock).collect();
    let n = parameter.numel();
    let mut slices: Vec<&mut [T]> = buffers.iter_mut().map(|b| &mut b[..n]).collect();
    let mut run = move |g: &[T]| {
        parameter.update_data(|data| kernels::optimizer::optimizer_update(update, data, g, &mut slices))
    };
    match copied {
        Some(g) => run(&g),
        None => grad.with_contiguous(run),
    }
}

/// A copy of `tensor` in fresh contiguous storage, unrecorded.
pub(crate) fn copy<T: Float>(tensor: &Tensor<T>) -> Tensor<T> {
    Tensor::from_contiguous(tensor.to_vec(), tensor.shape())
}

/// The whole storage of a contiguous tensor that owns it, locked for writing.
fn write_lock<T: Float>(tensor: &Tensor<T>) -> RwLockWriteGuard<'_, Vec<T>> {
    let layout = tensor.layout();
    assert!(
        layout.is_contiguous() && layout.offset == 0,
        "backend: a state buffer of shape {:?} must be a whole contiguous tensor",
        layout.shape
    );
    tensor
        .inner
        .storage
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
