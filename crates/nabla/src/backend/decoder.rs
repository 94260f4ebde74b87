//! The fused inference pass of a stack of transformer decoder blocks over
//! new positions, with its key/value cache updated in place.

use super::ops::{DecoderSpec, DecoderStep};
use super::{device_of, on_device};
use crate::element::Float;
use crate::tensor::Tensor;

/// The decoder operations of a backend.
pub(crate) trait DecoderOps {
    /// The blocks of `spec` on the residual stream `x` (`[batch * time,
    /// C]`), their weights packed in `weights` and their keys and values
    /// stored into `cache` (`[layers, 2, batch, capacity, C]`, written in
    /// place) at `step`'s positions: each sequence's last row after the
    /// last block, `[batch, C]` (the last block takes only those rows past
    /// its keys and values).
    fn decoder_forward<T: Float>(
        x: &Tensor<T>,
        weights: &Tensor<T>,
        cache: &Tensor<T>,
        spec: &DecoderSpec,
        step: DecoderStep,
    ) -> Tensor<T>;
}

/// The inference pass of [`DecoderOps::decoder_forward`], unrecorded.
///
/// # Panics
/// If there are no blocks, `C` is not a multiple of the heads, the
/// positions pass the cache's capacity, `x` is not `[batch * time, C]`,
/// `weights` not `spec.layers` packed blocks, or `cache` not a whole
/// contiguous `[layers, 2, batch, capacity, C]` tensor of its own.
pub(crate) fn decoder_forward<T: Float>(
    x: &Tensor<T>,
    weights: &Tensor<T>,
    cache: &Tensor<T>,
    spec: &DecoderSpec,
    step: DecoderStep,
) -> Tensor<T> {
    let c = spec.n_embd;
    assert!(spec.layers > 0, "decoder_forward: no blocks");
    assert!(
        spec.n_head > 0 && c % spec.n_head == 0,
        "decoder_forward: {c} features do not split into {} heads",
        spec.n_head
    );
    assert!(
        step.time > 0 && step.start + step.time <= spec.capacity,
        "decoder_forward: positions {}..{} outside a cache of {}",
        step.start,
        step.start + step.time,
        spec.capacity
    );
    assert!(
        x.shape() == [step.batch * step.time, c],
        "decoder_forward: a stream of shape {:?} for {} sequences of {} positions of {c} features",
        x.shape(),
        step.batch,
        step.time
    );
    assert!(
        weights.numel() == spec.layers * spec.block_len(),
        "decoder_forward: {} packed weights for {} blocks of {}",
        weights.numel(),
        spec.layers,
        spec.block_len()
    );
    let layout = cache.layout();
    assert!(
        layout.is_contiguous() && layout.offset == 0 && cache.numel() == spec.cache_len(step.batch),
        "decoder_forward: a cache of shape {:?} is not a whole contiguous [{}, 2, {}, {}, {c}] tensor",
        layout.shape,
        spec.layers,
        step.batch,
        spec.capacity
    );
    assert!(
        !cache.shares_storage_with(x) && !cache.shares_storage_with(weights),
        "decoder_forward: the cache shares memory with its inputs"
    );
    on_device!(
        device_of("decoder_forward", &[x, weights, cache]),
        B => B::decoder_forward(x, weights, cache, spec, step)
    )
}

#[cfg(test)]
impl<B: DecoderOps> DecoderOps for super::counting::Counting<B> {
    fn decoder_forward<T: Float>(
        x: &Tensor<T>,
        weights: &Tensor<T>,
        cache: &Tensor<T>,
        spec: &DecoderSpec,
        step: DecoderStep,
    ) -> Tensor<T> {
        super::counting::count("decoder_forward");
        B::decoder_forward(x, weights, cache, spec, step)
    }
}
