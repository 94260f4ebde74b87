//! Activation functions: relu, leaky_relu, sigmoid, tanh, gelu, softmax and
//! log_softmax (numerically stable, over any dimension).

use crate::autograd::record;
use crate::backend::ops::{SoftmaxOp, UnaryOp};
use crate::backend::{self, unary};
use crate::element::Float;
use crate::layout::normalize_dim;
use crate::tensor::Tensor;

impl<T: Float> Tensor<T> {
    /// max(x, 0). The gradient at 0 is 0, as in PyTorch.
    pub fn relu(&self) -> Tensor<T> {
        let out = unary(UnaryOp::Relu, self);
        let x = self.clone();
        record("Relu", out, &[self], move |ctx| {
            vec![Some(ctx.grad().mul(&x.gt_scalar(T::zero())))]
        })
    }

    /// x for x > 0, `negative_slope * x` otherwise.
    pub fn leaky_relu(&self, negative_slope: T) -> Tensor<T> {
        let slope = negative_slope.as_f64();
        let out = unary(UnaryOp::LeakyRelu(slope), self);
        let x = self.clone();
        record("LeakyRelu", out, &[self], move |ctx| {
            let local = unary(UnaryOp::LeakyReluDerivative(slope), &x);
            vec![Some(ctx.grad().mul(&local))]
        })
    }

    /// 1 / (1 + e^-x), with local gradient sigma(x) (1 - sigma(x)).
    pub fn sigmoid(&self) -> Tensor<T> {
        let out = unary(UnaryOp::Sigmoid, self);
        record("Sigmoid", out, &[self], |ctx| {
            let y = ctx.output();
            let one_minus_y = y.neg().add_scalar(T::one());
            vec![Some(ctx.grad().mul(&y.mul(&one_minus_y)))]
        })
    }

    /// The hyperbolic tangent, with local gradient 1 - tanh(x)^2.
    pub fn tanh(&self) -> Tensor<T> {
        let out = unary(UnaryOp::Tanh, self);
        record("Tanh", out, &[self], |ctx| {
            let y = ctx.output();
            vec![Some(ctx.grad().mul(&y.square().neg().add_scalar(T::one())))]
        })
    }

    /// The exact GELU, x * Phi(x) with Phi the standard normal CDF
    /// (PyTorch's default `approximate='none'`).
    pub fn gelu(&self) -> Tensor<T> {
        let half = T::from_f64(0.5);
        let inv_sqrt2 = T::from_f64(std::f64::consts::FRAC_1_SQRT_2);
        let out = unary(UnaryOp::Gelu, self);
        let x = self.clone();
        record("Gelu", out, &[self], move |ctx| {
            // d/dx x Phi(x) = Phi(x) + x phi(x)
            let cdf = x
                .mul_scalar(inv_sqrt2)
                .erf()
                .add_scalar(T::one())
                .mul_scalar(half);
            let inv_sqrt_2pi = T::from_f64(1.0 / (2.0 * std::f64::consts::PI).sqrt());
            let pdf = x.square().mul_scalar(-half).exp().mul_scalar(inv_sqrt_2pi);
            vec![Some(ctx.grad().mul(&cdf.add(&x.mul(&pdf))))]
        })
    }

    /// e^x_i / sum_j e^x_j along `dim`, computed after subtracting the
    /// maximum so that large inputs do not overflow.
    ///
    /// ```
    /// let x = nabla::Tensor::from_vec(vec![1000.0f32, 1000.0], &[2]);
    /// assert_eq!(x.softmax(0).to_vec(), vec![0.5, 0.5]);
    /// ```
    pub fn softmax(&self, dim: isize) -> Tensor<T> {
        let d = normalize_dim("softmax", dim, self.ndim());
        let out = self.softmax_untracked(d, SoftmaxOp::Softmax);
        record("Softmax", out, &[self], move |ctx| {
            // dx = y * (g - sum(g * y))
            let (g, y) = (ctx.grad(), ctx.output());
            let dot = g.mul(&y).sum_dims(&[d as isize], true);
            vec![Some(y.mul(&g.sub(&dot)))]
        })
    }

    /// log(softmax(x)) along `dim`, computed stably as x - max - log sum e^(x - max).
    pub fn log_softmax(&self, dim: isize) -> Tensor<T> {
        let d = normalize_dim("log_softmax", dim, self.ndim());
        let out = self.softmax_untracked(d, SoftmaxOp::LogSoftmax);
        record("LogSoftmax", out, &[self], move |ctx| {
            // dx = g - softmax(x) * sum(g)
            let (g, y) = (ctx.grad(), ctx.output());
            let total = g.sum_dims(&[d as isize], true);
            vec![Some(g.sub(&y.exp().mul(&total)))]
        })
    }

    fn softmax_untracked(&self, d: usize, op: SoftmaxOp) -> Tensor<T> {
        if self.ndim() == 0 {
            let value = match op {
                SoftmaxOp::Softmax => T::one(),
                SoftmaxOp::LogSoftmax => T::zero(),
            };
            return Tensor::scalar(value);
        }
        backend::softmax(op, self, d)
    }
}
