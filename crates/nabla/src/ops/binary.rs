//! Elementwise ops of two tensors with NumPy broadcasting: add, sub, mul,
//! div, pow, maximum, minimum.

use crate::autograd::record;
use crate::backend::binary;
use crate::backend::ops::BinaryOp;
use crate::element::Float;
use crate::layout::Dims;
use crate::tensor::Tensor;

impl<T: Float> Tensor<T> {
    /// Elementwise `self + other`, broadcasting. Also `&a + &b`.
    pub fn add(&self, other: &Tensor<T>) -> Tensor<T> {
        let out = binary(BinaryOp::Add, self, other);
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
        let out = binary(BinaryOp::Sub, self, other);
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
        let out = binary(BinaryOp::Mul, self, other);
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
        let out = binary(BinaryOp::Div, self, other);
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
        let out = binary(BinaryOp::Pow, self, exponent);
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
        let out = binary(BinaryOp::Maximum, self, other);
        let (a, b) = (self.clone(), other.clone());
        record("Maximum", out, &[self, other], move |ctx| {
            let weight_a = a.gt(&b).add(&tie_half(&a, &b));
            extremum_grads(ctx.grad(), &a, &b, weight_a, ctx.needs)
        })
    }

    /// Elementwise minimum, broadcasting; ties split the gradient evenly.
    pub fn minimum(&self, other: &Tensor<T>) -> Tensor<T> {
        let out = binary(BinaryOp::Minimum, self, other);
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
