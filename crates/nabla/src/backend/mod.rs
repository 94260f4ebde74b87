//! The backend seam: every loop over tensor memory is one of the named
//! operations of this module, and the CPU backend (the loops of
//! [`crate::kernels`]) implements them. Callers above (ops, layers,
//! optimizers, data) hand tensors and a named operation to the functions
//! re-exported here; each finds the device its tensors live on and calls
//! that device's [`Backend`], which matches on the operation once per call
//! and runs a monomorphised loop.
//!
//! Tensor memory ([`Storage`]) carries a [`Device`] tag, and its elements
//! are private to this module: code elsewhere reaches them only through
//! these functions.
//!
//! A second backend adds a [`Device`] variant, implements every trait that
//! [`Backend`] names for a marker type of its own, and adds its arm to
//! [`on_device`]. In unit tests the CPU backend is wrapped in
//! [`counting::Counting`], which counts every call by name, so a test can
//! check that a training step ran through the seam.

pub(crate) mod ops;

mod accumulate;
#[cfg(test)]
mod completeness_test;
mod conv;
#[cfg(test)]
pub(crate) mod counting;
mod cpu;
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
mod storage;

use crate::element::Float;
use crate::tensor::Tensor;
pub(crate) use accumulate::{add_at, add_into, AccumulateOps};
pub(crate) use conv::{conv2d, conv2d_channel_affine, conv2d_input_grad, conv2d_weight_grad, ConvOps};
pub(crate) use decoder::{decoder_forward, DecoderOps};
pub(crate) use elementwise::{
    binary, binary_assign, cast, map_host, triangle, unary, where_, ElementwiseOps,
};
pub(crate) use index::{cat, flip, gather, index_select, IndexOps};
pub(crate) use matmul::{matmul, MatmulOps};
pub(crate) use memory::{
    copy, copy_into, element, fill, full, random, random_fill, read_host, update_host, MemoryOps,
};
pub(crate) use norm::{
    channel_affine, channel_grad_sums, channel_input_grad, channel_moments, layer_norm, layer_norm_backward,
    NormClamp, NormOps,
};
pub(crate) use optimizer::{optimizer_update, OptimizerOps};
pub(crate) use pool::{
    avg_pool2d, avg_pool2d_transpose, max_pool2d, max_pool2d_gather, max_pool2d_scatter, PoolOps,
};
pub(crate) use recurrent::{lstm_backward, lstm_forward, RecurrentOps};
pub(crate) use reduce::{
    arg_reduce, attention_softmax, cumsum, logsumexp, reduce_all, softmax, sum_dims, topk, ReduceOps,
};
pub(crate) use storage::{Device, Storage};

/// Every operation a backend implements, grouped by concern; each group's
/// trait documents its operations.
pub(crate) trait Backend:
    MemoryOps
    + OptimizerOps
    + ConvOps
    + PoolOps
    + IndexOps
    + AccumulateOps
    + ElementwiseOps
    + ReduceOps
    + MatmulOps
    + NormOps
    + RecurrentOps
    + DecoderOps
{
}

/// The CPU backend as the dispatch sees it: counted in unit tests.
#[cfg(not(test))]
pub(crate) type CpuBackend = cpu::Cpu;
/// The CPU backend as the dispatch sees it: counted in unit tests.
#[cfg(test)]
pub(crate) type CpuBackend = counting::Counting<cpu::Cpu>;

/// Every device's backend implements all of [`Backend`] (checked here, since
/// the dispatch calls each concern's trait directly).
const _: fn() = is_backend::<CpuBackend>;
fn is_backend<B: Backend>() {}

/// Runs `$body` with `$backend` naming the backend of `$device`.
macro_rules! on_device {
    ($device:expr, $backend:ident => $body:expr) => {
        match $device {
            $crate::backend::Device::Cpu => {
                type $backend = $crate::backend::CpuBackend;
                $body
            }
        }
    };
}
pub(crate) use on_device;

/// The device all of `tensors` live on, where an operation on them runs.
///
/// # Panics
/// If they live on different devices.
pub(crate) fn device_of<T: Float>(op: &str, tensors: &[&Tensor<T>]) -> Device {
    let device = tensors[0].inner.storage.device();
    if let Some(other) = tensors.iter().find(|t| t.inner.storage.device() != device) {
        panic!(
            "{op}: tensors on {device:?} and {:?} cannot be used together",
            other.inner.storage.device()
        );
    }
    device
}
