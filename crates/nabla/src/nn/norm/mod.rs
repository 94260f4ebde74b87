//! Normalization layers (section 5.5 of the course): [`BatchNorm1d`],
//! [`BatchNorm2d`], [`LayerNorm`] and [`GroupNorm`], as in PyTorch.
//!
//! Each layer standardises its input over some dimensions,
//!
//! ```text
//! y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias
//! ```
//!
//! with the biased variance (divided by the number of values, not one less)
//! and, when affine, a learned per-feature `weight` (ones initially) and
//! `bias` (zeros initially). They differ in the dimensions the statistics
//! are taken over: BatchNorm over the batch (and spatial positions) per
//! channel, LayerNorm over the trailing `normalized_shape` per sample,
//! GroupNorm over groups of channels (and spatial positions) per sample.
//!
//! BatchNorm with batch statistics (training mode) is one recorded op on
//! fused loops (`Tensor::batch_norm_with_batch_statistics` in
//! `ops/batch_norm.rs`): two passes forward and two backward instead of a
//! dozen each way; under `create_graph` its backward is written in recorded
//! ops, so second derivatives are exact. The other forward passes are
//! compositions of differentiable tensor ops (mean, subtraction, square
//! root, division, broadcasting products), so gradients and second
//! derivatives come from autodiff and are exact.
//!
//! BatchNorm also keeps running estimates of the mean and variance as
//! buffers (`running_mean`, `running_var`, `num_batches_tracked`: the names
//! of PyTorch's `state_dict`), updated in place during training and used
//! instead of the batch statistics in evaluation mode.

mod batch_norm;
mod group_norm;
mod layer_norm;

#[cfg(feature = "mpi")]
pub(crate) use batch_norm::{batch_norm_forward, check_channel_shapes, update_running_stats, BatchNormState};
pub use batch_norm::{BatchNorm1d, BatchNorm2d, BatchNormOptions};
pub use group_norm::{GroupNorm, GroupNormOptions};
pub use layer_norm::{LayerNorm, LayerNormOptions};

use crate::element::Float;
use crate::tensor::Tensor;

/// The shape `[1, C, 1, ..., 1]` of rank `ndim`: per-channel statistics and
/// parameters broadcast against `[N, C, ...]`.
fn channel_shape(channels: usize, ndim: usize) -> Vec<usize> {
    let mut shape = vec![1; ndim];
    shape[1] = channels;
    shape
}

/// Standardises `x` over `dims`: `(x - mean) / sqrt(var + eps)` with the
/// biased variance, plus the mean and variance (keepdim shapes; the mean
/// without history, for the running statistics).
///
/// The mean is taken in two passes: a first estimate `m0` (a detached
/// constant), then the mean of the residuals `x - m0`, which are small, so
/// that `f32` inputs with a large mean lose nothing to summation error.
/// `(x - m0) - mean(x - m0)` is `x - mean(x)` exactly, so the recorded graph,
/// gradients and second derivatives are those of the one-pass formula.
fn standardize<T: Float>(x: &Tensor<T>, dims: &[isize], eps: f64) -> (Tensor<T>, Tensor<T>, Tensor<T>) {
    let shift = x.detach().mean_dims(dims, true);
    let shifted = x.sub(&shift);
    let residual_mean = shifted.mean_dims(dims, true);
    let centered = shifted.sub(&residual_mean);
    let var = centered.square().mean_dims(dims, true);
    let normalized = centered.div(&var.add_scalar(T::from_f64(eps)).sqrt());
    let mean = shift.add(&residual_mean.detach());
    (normalized, mean, var)
}

/// Checks that a parameter or buffer has shape `[num_features]` (someone may
/// have replaced the public field) and views it as `[1, C, 1, ...]`.
fn per_channel<T: Float>(label: &str, name: &str, t: &Tensor<T>, channels: usize, ndim: usize) -> Tensor<T> {
    assert!(
        t.shape() == [channels],
        "{label}: {name} has shape {:?}, expected [{channels}]",
        t.shape()
    );
    t.reshape(&channel_shape(channels, ndim))
}

/// `x * weight + bias` with per-channel parameters, where present.
fn affine<T: Float>(
    label: &str,
    x: Tensor<T>,
    weight: Option<&Tensor<T>>,
    bias: Option<&Tensor<T>>,
    channels: usize,
    ndim: usize,
) -> Tensor<T> {
    let x = match weight {
        Some(w) => x.mul(&per_channel(label, "weight", w, channels, ndim)),
        None => x,
    };
    match bias {
        Some(b) => x.add(&per_channel(label, "bias", b, channels, ndim)),
        None => x,
    }
}
