//! Optimizer updates on the CPU: one fused loop per parameter.

use super::{contiguous_elements, contiguous_elements_mut, elements_vec, Cpu};
use crate::backend::ops::OptimizerUpdate;
use crate::backend::OptimizerOps;
use crate::element::Float;
use crate::kernels;
use crate::tensor::Tensor;

impl OptimizerOps for Cpu {
    fn optimizer_update<T: Float>(
        update: &OptimizerUpdate,
        parameter: &Tensor<T>,
        grad: &Tensor<T>,
        state: &[Tensor<T>],
    ) {
        // A gradient that shares the parameter's storage is read from a
        // copy: the parameter is locked for writing while the gradient is
        // read.
        let copied = grad.shares_storage_with(parameter).then(|| elements_vec(grad));
        let n = parameter.numel();
        let mut buffers: Vec<_> = state.iter().map(|b| b.inner.storage.write()).collect();
        let mut slices: Vec<&mut [T]> = buffers.iter_mut().map(|b| &mut b[..n]).collect();
        let mut run = move |g: &[T]| {
            contiguous_elements_mut(parameter, |data| {
                kernels::optimizer::optimizer_update(update, data, g, &mut slices)
            })
        };
        match copied {
            Some(g) => run(&g),
            None => contiguous_elements(grad, run),
        }
    }
}
