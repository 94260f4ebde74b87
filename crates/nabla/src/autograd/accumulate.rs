//! Summing the gradients that flow into one tensor during a backward pass.
//!
//! Outside `create_graph`, a gradient buffer that nothing else can see (its
//! tensor handle and storage each have one owner, and it is a contiguous
//! tensor without history) is added into in place, so a tensor used many
//! times allocates one gradient buffer, not one per use. Anything else is
//! summed out of place with recorded ops, which keeps double backward
//! working.

use super::sparse_grad::SparseGrad;
use crate::backend;
use crate::element::Float;
use crate::tensor::Tensor;

/// True when `t` may be added into in place: no other handle or view can
/// observe a change to it, and it is a contiguous tensor without history.
fn is_writable_sum<T: Float>(t: &Tensor<T>) -> bool {
    t.is_exclusive() && t.inner.grad_fn.is_none() && !t.inner.requires_grad() && t.is_contiguous()
}

/// Adds `src` into `dst` in place when `dst`'s buffer is exclusive and
/// `src` carries no history; false when it did nothing.
fn add_in_place<T: Float>(dst: &Tensor<T>, src: &Tensor<T>) -> bool {
    if dst.shape() != src.shape() || src.is_requires_grad() || !is_writable_sum(dst) {
        return false;
    }
    backend::add_into(dst, src);
    true
}

/// Adds the gradient `g` into the running sum in `slot`; `in_place` is
/// false under `create_graph`, where the sum must be recorded.
pub(crate) fn accumulate<T: Float>(slot: &mut Option<Tensor<T>>, g: Tensor<T>, in_place: bool) {
    let Some(prev) = slot.take() else {
        *slot = Some(g);
        return;
    };
    *slot = Some(if in_place && add_in_place(&prev, &g) {
        prev
    } else if in_place && add_in_place(&g, &prev) {
        g
    } else {
        &prev + &g
    });
}

/// Adds a gradient that is zero outside a region into the running sum in
/// `slot`, in place when the slot's buffer is exclusive; otherwise into a
/// fresh buffer (zeros, or a copy of the sum so far).
pub(crate) fn accumulate_sparse<T: Float>(slot: &mut Option<Tensor<T>>, g: &SparseGrad<T>) {
    if let Some(prev) = slot.as_ref() {
        if !g.values.is_requires_grad() && prev.shape() == &g.shape[..] && is_writable_sum(prev) {
            g.add_into(prev);
            return;
        }
    }
    let sum = match slot.take() {
        Some(prev) => backend::copy(&prev),
        None => backend::full(&g.shape, T::zero()),
    };
    g.add_into(&sum);
    *slot = Some(sum);
}
