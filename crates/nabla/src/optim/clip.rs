//! Gradient clipping, as PyTorch's `torch.nn.utils.clip_grad_norm_` and
//! `clip_grad_value_`.

use crate::backend::ops::{BinaryOp, ReduceOp};
use crate::backend::{self, reduce_all};
use crate::element::Float;
use crate::tensor::Tensor;

/// Scales the gradients of `parameters` in place so that their total
/// Euclidean norm is at most `max_norm`, and returns the norm before
/// clipping: PyTorch's `clip_grad_norm_(parameters, max_norm)`;
/// [`clip_grad_norm_with_`] takes another norm type.
///
/// ```
/// use nabla::optim::clip_grad_norm_;
/// use nabla::Tensor;
/// let w = Tensor::from_vec(vec![0.0f64, 0.0], &[2]).requires_grad();
/// (&w * &Tensor::from_vec(vec![3.0f64, 4.0], &[2])).sum().backward();
/// assert_eq!(clip_grad_norm_(&[w.clone()], 1.0), 5.0);
/// // Scaled by max_norm / (norm + 1e-6), as PyTorch does.
/// let g = w.grad().unwrap().to_vec();
/// assert!((g[0] - 0.6).abs() < 1e-6 && (g[1] - 0.8).abs() < 1e-6);
/// ```
pub fn clip_grad_norm_<T: Float>(parameters: &[Tensor<T>], max_norm: f64) -> T {
    clip_grad_norm_with_(parameters, max_norm, 2.0)
}

/// Rescales the gradients of `parameters` so that their total norm is at
/// most `max_norm`, as PyTorch's `torch.nn.utils.clip_grad_norm_`; returns
/// the total norm before clipping.
///
/// The total norm is the `norm_type`-norm of the gradients seen as one
/// vector, computed as PyTorch does: the norm of the vector of each
/// gradient's norm. `norm_type` may be any p > 0, `f64::INFINITY` (the
/// largest magnitude), `f64::NEG_INFINITY` (the smallest) or 0 (the number
/// of nonzeros). Then every gradient is multiplied by
///
/// ```text
/// c = min(max_norm / (total_norm + 1e-6), 1)
/// ```
///
/// in the gradients' precision (PyTorch's 1e-6 keeps a clipped norm just
/// below `max_norm`). Parameters without a gradient are ignored; frozen
/// parameters that have one are clipped too, as in PyTorch. With no
/// gradient at all the norm is 0.
///
/// A gradient is scaled in place when no other tensor shares it; one that
/// is shared (for instance a tensor obtained earlier from
/// [`grad`](Tensor::grad) and still held) is left alone and the parameter
/// gets a scaled copy instead.
///
/// ```
/// use nabla::optim::clip_grad_norm_with_;
/// use nabla::Tensor;
/// let w = Tensor::from_vec(vec![1.0f64, 1.0], &[2]).requires_grad();
/// (&w * &Tensor::from_vec(vec![3.0, 4.0], &[2])).sum().backward(); // grad [3, 4]
/// let norm = clip_grad_norm_with_(&[w.clone()], 1.0, 2.0);
/// assert_eq!(norm, 5.0);
/// let g = w.grad().unwrap().to_vec();
/// assert!((g[0] - 0.6).abs() < 1e-6 && (g[1] - 0.8).abs() < 1e-6);
/// ```
pub fn clip_grad_norm_with_<T: Float>(parameters: &[Tensor<T>], max_norm: f64, norm_type: f64) -> T {
    let grads: Vec<Tensor<T>> = parameters.iter().filter_map(Tensor::grad).collect();
    if grads.is_empty() {
        return T::zero();
    }
    let norms: Vec<Tensor<T>> = grads
        .iter()
        .map(|g| reduce_all(ReduceOp::Norm(norm_type), g))
        .collect();
    drop(grads);
    let total = reduce_all(ReduceOp::Norm(norm_type), &Tensor::stack(&norms, 0)).item();
    // PyTorch computes `max_norm / (total + 1e-6)` as
    // `reciprocal(total + 1e-6) * max_norm` on a tensor of the grads' type.
    let coefficient = T::one() / (total + T::from_f64(1e-6)) * T::from_f64(max_norm);
    let coefficient = if coefficient.is_nan() {
        coefficient
    } else {
        coefficient.min(T::one())
    };
    if coefficient != T::one() {
        for p in parameters {
            modify_grad(p, BinaryOp::Mul, coefficient);
        }
    }
    total
}

/// Clamps every gradient element of `parameters` into
/// `[-clip_value, clip_value]`, as PyTorch's
/// `torch.nn.utils.clip_grad_value_` (NaN stays NaN). Parameters without a
/// gradient are ignored; a shared gradient is replaced rather than changed
/// in place, as in [`clip_grad_norm_`].
///
/// ```
/// use nabla::optim::clip_grad_value_;
/// use nabla::Tensor;
/// let w = Tensor::from_vec(vec![1.0f32, 1.0, 1.0], &[3]).requires_grad();
/// (&w * &Tensor::from_vec(vec![-3.0, 0.5, 2.0], &[3])).sum().backward();
/// clip_grad_value_(&[w.clone()], 1.0);
/// assert_eq!(w.grad().unwrap().to_vec(), vec![-1.0, 0.5, 1.0]);
/// ```
pub fn clip_grad_value_<T: Float>(parameters: &[Tensor<T>], clip_value: f64) {
    let (low, high) = (T::from_f64(-clip_value), T::from_f64(clip_value));
    for p in parameters {
        // clamp_min then clamp_max, as PyTorch's foreach path; NaN stays.
        modify_grad(p, BinaryOp::Maximum, low);
        modify_grad(p, BinaryOp::Minimum, high);
    }
}

/// Updates the gradient of `p`, if it has one, to `op(gradient, value)`
/// elementwise: in place when the gradient tensor and its storage are used
/// by nothing else, otherwise by replacing it with a new tensor.
fn modify_grad<T: Float>(p: &Tensor<T>, op: BinaryOp, value: T) {
    let mut slot = p.inner.grad.lock().unwrap_or_else(|e| e.into_inner());
    let Some(grad) = slot.as_ref() else {
        return;
    };
    let unshared = grad.is_exclusive() && grad.is_contiguous();
    let value = Tensor::scalar(value);
    if unshared {
        backend::binary_assign(op, grad, &value);
    } else {
        *slot = Some(backend::binary(op, grad, &value));
    }
}
