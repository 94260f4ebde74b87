//! Elementwise ops of two tensors with NumPy broadcasting: add, sub, mul,
//! div, pow, maximum, minimum.

use crate::autograd::record;
use crate::element::Float;
use crate::kernels::elementwise::{strided_zip_map, zip_map};
use crate::layout::{broadcast_shapes, broadcast_strides, Dims};
use crate::tensor::Tensor;

/// Computes `f(a, b)` elementwise over the broadcast of both shapes, with
/// no autograd history.
pub(crate) fn broadcast_apply<T: Float>(
    op: &str,
    a: &Tensor<T>,
    b: &Tensor<T>,
    f: impl Fn(T, T) -> T + Sync,
) -> Tensor<T> {
    let (la, lb) = (a.layout(), b.layout());
    if la.shape == lb.shape && la.is_contiguous() && lb.is_contiguous() {
        let n = la.numel();
        let (da, db) = (a.storage(), b.storage());
        let out = zip_map(&da[la.offset..la.offset + n], &db[lb.offset..lb.offset + n], f);
        return Tensor::from_contiguous(out, &la.shape);
    }
    let shape = broadcast_shapes(&la.shape, &lb.shape).unwrap_or_else(|| {
        panic!(
            "{op}: shapes {:?} and {:?} cannot be broadcast together",
            la.shape, lb.shape
        )
    });
    let sa = broadcast_strides(la, &shape);
    let sb = broadcast_strides(lb, &shape);
    let (da, db) = (a.storage(), b.storage());
    let out = strided_zip_map(&shape, &da, &sa, la.offset, &db, &sb, lb.offset, f);
    Tensor::from_contiguous(out, &shape)
}

impl<T: Float> Tensor<T> {
    /// Elementwise `self + other`, broadcasting. Also `&a + &b`.
    pub fn add(&self, other: &Tensor<T>) -> Tensor<T> {
        let out = broadcast_apply("add", self, other, |x, y| x + y);
        let (sa, sb) = (Dims::from_slice(self.shape()), Dims::from_slice(other.shape()));
        record("Add", out, &[self, other], move |ctx| {
            let g = ctx.grad();
            vec![
                ctx.needs_input_grad(0).then(|| g.sum_to(&sa)),
                ctx.needs_input_grad(1).then(|| g.sum_to(&sb)),
            ]
        })
    }

    /// Elementwise `self - other`, broadcasting. Also `&a - &b`.
    pub fn sub(&self, other: &Tensor<T>) -> Tensor<T> {
        let out = broadcast_apply("sub", self, other, |x, y| x - y);
        let (sa, sb) = (Dims::from_slice(self.shape()), Dims::from_slice(other.shape()));
        record("Sub", out, &[self, other], move |ctx| {
            let g = ctx.grad();
            vec![
                ctx.needs_input_grad(0).then(|| g.sum_to(&sa)),
                ctx.needs_input_grad(1).then(|| g.neg().sum_to(&sb)),
            ]
        })
    }

    /// Elementwise `self * other`, broadcasting. Also `&a * &b`.
    pub fn mul(&self, other: &Tensor<T>) -> Tensor<T> {
        let out = broadcast_apply("mul", self, other, |x, y| x * y);
        let (a, b) = (self.clone(), other.clone());
        record("Mul", out, &[self, other], move |ctx| {
            let g = ctx.grad();
            vec![
                ctx.needs_input_grad(0).then(|| g.mul(&b).sum_to(a.shape())),
                ctx.needs_input_grad(1).then(|| g.mul(&a).sum_to(b.shape())),
            ]
        })
    }

    /// Elementwise `self / other`, broadcasting. Also `&a / &b`.
    pub fn div(&self, other: &Tensor<T>) -> Tensor<T> {
        let out = broadcast_apply("div", self, other, |x, y| x / y);
        let (a, b) = (self.clone(), other.clone());
        record("Div", out, &[self, other], move |ctx| {
            let g = ctx.grad();
            vec![
                ctx.needs_input_grad(0).then(|| g.div(&b).sum_to(a.shape())),
                // d(a/b)/db = -a / b^2
                ctx.needs_input_grad(1)
                    .then(|| g.mul(&a).div(&b.mul(&b)).neg().sum_to(b.shape())),
            ]
        })
    }

    /// Elementwise `self ^ exponent`, broadcasting.
    ///
    /// The gradient with respect to the exponent, `self^e ln(self)`, is
    /// taken as 0 where `self` is 0 (as PyTorch does).
    pub fn pow(&self, exponent: &Tensor<T>) -> Tensor<T> {
        let out = broadcast_apply("pow", self, exponent, |x, y| x.powf(y));
        let (a, e) = (self.clone(), exponent.clone());
        record("Pow", out, &[self, exponent], move |ctx| {
            let g = ctx.grad();
            let da = ctx.needs_input_grad(0).then(|| {
                let one = Tensor::scalar(T::one());
                g.mul(&e).mul(&a.pow(&e.sub(&one))).sum_to(a.shape())
            });
            let de = ctx.needs_input_grad(1).then(|| {
                // log(1) = 0 stands in for log(0) so that 0^e contributes 0, not NaN.
                let one = Tensor::scalar(T::one());
                let safe_log = Tensor::where_(&a.eq_scalar(T::zero()), &one, &a).log();
                g.mul(&ctx.output()).mul(&safe_log).sum_to(e.shape())
            });
            vec![da, de]
        })
    }

    /// Elementwise maximum, broadcasting. At ties the gradient is split
    /// evenly between both inputs, as in PyTorch.
    pub fn maximum(&self, other: &Tensor<T>) -> Tensor<T> {
        let out = broadcast_apply("maximum", self, other, |x, y| {
            if x.is_nan() || y.is_nan() {
                T::nan()
            } else {
                x.max(y)
            }
        });
        let (a, b) = (self.clone(), other.clone());
        record("Maximum", out, &[self, other], move |ctx| {
            let weight_a = a.gt(&b).add(&tie_half(&a, &b));
            extremum_grads(ctx.grad(), &a, &b, weight_a, ctx.needs)
        })
    }

    /// Elementwise minimum, broadcasting; ties split the gradient evenly.
    pub fn minimum(&self, other: &Tensor<T>) -> Tensor<T> {
        let out = broadcast_apply("minimum", self, other, |x, y| {
            if x.is_nan() || y.is_nan() {
                T::nan()
            } else {
                x.min(y)
            }
        });
        let (a, b) = (self.clone(), other.clone());
        record("Minimum", out, &[self, other], move |ctx| {
            let weight_a = a.lt(&b).add(&tie_half(&a, &b));
            extremum_grads(ctx.grad(), &a, &b, weight_a, ctx.needs)
        })
    }
}

/// Gradients of max(a, b) or min(a, b), given `weight_a`: 1 where `a` is
/// selected, 1/2 at a tie, 0 where `b` is. `b` gets the rest.
fn extremum_grads<T: Float>(
    g: &Tensor<T>,
    a: &Tensor<T>,
    b: &Tensor<T>,
    weight_a: Tensor<T>,
    needs: &[bool],
) -> Vec<Option<Tensor<T>>> {
    let weight_b = Tensor::scalar(T::one()).sub(&weight_a);
    vec![
        needs[0].then(|| g.mul(&weight_a).sum_to(a.shape())),
        needs[1].then(|| g.mul(&weight_b).sum_to(b.shape())),
    ]
}

fn tie_half<T: Float>(a: &Tensor<T>, b: &Tensor<T>) -> Tensor<T> {
    a.eq(b).mul_scalar(T::from_f64(0.5))
}
