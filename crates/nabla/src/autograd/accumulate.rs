//! Summing the gradients that flow into one tensor during a backward pass.
//!
//! Outside `create_graph`, a gradient buffer that nothing else can see (its
//! tensor handle and storage each have one owner, and it is a dense
//! contiguous tensor without history) is added into in place, so a tensor
//! used many times allocates one gradient buffer, not one per use. Anything
//! else is summed out of place with recorded ops, which keeps double
//! backward working.

use std::sync::{Arc, RwLockWriteGuard};

use super::sparse_grad::SparseGrad;
use crate::element::Float;
use crate::kernels::accumulate::add_assign_strided;
use crate::tensor::Tensor;

/// A write lock on `t`'s elements when no other handle or view can observe
/// a change to them.
fn exclusive_buffer<T: Float>(t: &Tensor<T>) -> Option<RwLockWriteGuard<'_, Vec<T>>> {
    let inner = &t.inner;
    let layout = &inner.layout;
    let unobserved = Arc::strong_count(inner) == 1
        && Arc::strong_count(&inner.storage) == 1
        && inner.grad_fn.is_none()
        && !inner.requires_grad()
        && layout.offset == 0
        && layout.is_contiguous();
    if !unobserved {
        return None;
    }
    let data = crate::backend::write_storage(t);
    (data.len() == layout.numel()).then_some(data)
}

/// Adds `src` into `dst` in place when `dst`'s buffer is exclusive and
/// `src` carries no history; false when it did nothing.
fn add_in_place<T: Float>(dst: &Tensor<T>, src: &Tensor<T>) -> bool {
    if dst.shape() != src.shape() || src.is_requires_grad() {
        return false;
    }
    let Some(mut data) = exclusive_buffer(dst) else {
        return false;
    };
    add_assign_strided(&mut data, dst.layout(), &src.storage(), src.layout());
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
        if !g.values.is_requires_grad() && prev.shape() == &g.shape[..] {
            if let Some(mut data) = exclusive_buffer(prev) {
                g.add_into(&mut data);
                return;
            }
        }
    }
    let mut data = match slot.take() {
        Some(prev) => prev.to_vec(),
        None => vec![T::zero(); g.shape.iter().product()],
    };
    g.add_into(&mut data);
    let sum = Tensor::from_contiguous(data, &g.shape);
    *slot = Some(sum);
}
