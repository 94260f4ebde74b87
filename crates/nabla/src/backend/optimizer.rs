//! Optimizer updates: one parameter updated in place from its gradient and
//! state buffers.

use super::ops::OptimizerUpdate;
use super::{device_of, on_device};
use crate::element::Float;
use crate::tensor::Tensor;

/// The optimizer operations of a backend.
pub(crate) trait OptimizerOps {
    /// Updates `parameter` in place by `update` from `grad` (of the same
    /// shape, possibly sharing the parameter's storage) and the update's
    /// state buffers (whole contiguous tensors of the parameter's size that
    /// nothing else shares).
    fn optimizer_update<T: Float>(
        update: &OptimizerUpdate,
        parameter: &Tensor<T>,
        grad: &Tensor<T>,
        state: &[Tensor<T>],
    );
}

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
    assert!(
        state.len() == update.buffer_count(),
        "optimizer update: {update:?} takes {} state buffers, not {}",
        update.buffer_count(),
        state.len()
    );
    assert!(
        parameter.is_contiguous() && grad.shape() == parameter.shape(),
        "optimizer update: a parameter of shape {:?} (contiguous: {}) cannot take a gradient of shape {:?}",
        parameter.shape(),
        parameter.is_contiguous(),
        grad.shape()
    );
    for buffer in state {
        let layout = buffer.layout();
        assert!(
            layout.is_contiguous() && layout.offset == 0 && buffer.numel() == parameter.numel(),
            "optimizer update: a state buffer of shape {:?} is not a whole contiguous tensor of the parameter's shape {:?}",
            layout.shape,
            parameter.shape()
        );
    }
    let mut tensors = vec![parameter, grad];
    tensors.extend(state);
    on_device!(device_of("optimizer update", &tensors), B => B::optimizer_update(update, parameter, grad, state))
}

#[cfg(test)]
impl<B: OptimizerOps> OptimizerOps for super::counting::Counting<B> {
    fn optimizer_update<T: Float>(
        update: &OptimizerUpdate,
        parameter: &Tensor<T>,
        grad: &Tensor<T>,
        state: &[Tensor<T>],
    ) {
        super::counting::count("optimizer_update");
        B::optimizer_update(update, parameter, grad, state)
    }
}
