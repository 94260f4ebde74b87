//! Derivatives of whole functions, built on the engine's higher-order
//! gradients: Hessians and Hessian-vector products (what Newton's method
//! needs), as in `torch.autograd.functional`.

use super::{grad, grad_with};
use crate::element::Float;
use crate::tensor::Tensor;

fn leaf_of<T: Float>(x: &Tensor<T>) -> Tensor<T> {
    Tensor::from_vec(x.to_vec(), x.shape()).requires_grad()
}

/// The gradient of the one-element `f` at `x`, with its graph kept so it can
/// be differentiated again; `None` entries (f independent of x) become 0.
fn gradient_with_graph<T: Float>(f: &Tensor<T>, x: &Tensor<T>) -> Tensor<T> {
    if !f.is_requires_grad() {
        return x.zeros_like();
    }
    grad(&[f], &[x], true).remove(0).unwrap_or_else(|| x.zeros_like())
}

/// The Hessian of a scalar function at `x`: shape `x.shape ++ x.shape`,
/// entry `[i, j]` = d^2 f / dx_i dx_j, from one backward pass per row
/// through the recorded gradient.
///
/// ```
/// use nabla::{autograd::hessian, Tensor};
/// // f(x) = x0^2 x1 + x1^3 at (1, 2): H = [[2 x1, 2 x0], [2 x0, 6 x1]]
/// let x = Tensor::from_vec(vec![1.0f64, 2.0], &[2]);
/// let h = hessian(|x| (&(&x.select(0, 0).square() * &x.select(0, 1)) + &x.select(0, 1).pow_scalar(3.0)), &x);
/// assert_eq!(h.to_vec(), vec![4.0, 2.0, 2.0, 12.0]);
/// ```
///
/// # Panics
/// If `f` does not return a one-element tensor.
pub fn hessian<T: Float>(f: impl Fn(&Tensor<T>) -> Tensor<T>, x: &Tensor<T>) -> Tensor<T> {
    let x = leaf_of(x);
    let y = f(&x);
    assert!(
        y.numel() == 1,
        "hessian: f must return one element, got shape {:?}",
        y.shape()
    );
    let g = gradient_with_graph(&y, &x).reshape(&[x.numel()]);
    let n = x.numel();
    let mut rows = Vec::with_capacity(n * n);
    for i in 0..n {
        let gi = g.select(0, i);
        let row = if gi.is_requires_grad() {
            grad(&[&gi], &[&x], true).remove(0)
        } else {
            None
        };
        rows.extend(row.map(|r| r.to_vec()).unwrap_or_else(|| vec![T::zero(); n]));
    }
    Tensor::from_vec(rows, &[x.shape(), x.shape()].concat())
}

/// The Hessian-vector product H(x) v of a scalar function, without forming
/// H: the gradient of (grad f(x) . v), two backward passes whatever the size.
///
/// ```
/// use nabla::{autograd::hvp, Tensor};
/// // f(x) = sum(x^3): H = diag(6 x)
/// let x = Tensor::from_vec(vec![1.0f64, 2.0], &[2]);
/// let v = Tensor::from_vec(vec![1.0f64, 1.0], &[2]);
/// assert_eq!(hvp(|x| x.pow_scalar(3.0).sum(), &x, &v).to_vec(), vec![6.0, 12.0]);
/// ```
///
/// # Panics
/// If `f` does not return one element or `v` does not have `x`'s shape.
pub fn hvp<T: Float>(f: impl Fn(&Tensor<T>) -> Tensor<T>, x: &Tensor<T>, v: &Tensor<T>) -> Tensor<T> {
    assert!(
        v.shape() == x.shape(),
        "hvp: v of shape {:?} does not match x of shape {:?}",
        v.shape(),
        x.shape()
    );
    let x = leaf_of(x);
    let y = f(&x);
    assert!(
        y.numel() == 1,
        "hvp: f must return one element, got shape {:?}",
        y.shape()
    );
    let g = gradient_with_graph(&y, &x);
    if !g.is_requires_grad() {
        return x.zeros_like().detach();
    }
    grad_with(&[&g], &[v], &[&x], false, false)
        .remove(0)
        .unwrap_or_else(|| x.zeros_like())
        .detach()
}
