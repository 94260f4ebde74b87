//! Elementwise ops of one tensor: neg, exp, log, sqrt, abs, pow by a scalar,
//! clamp, sin, cos, erf, reciprocal, and arithmetic with a scalar.

use crate::autograd::record;
use crate::backend::ops::UnaryOp;
use crate::backend::{self, unary};
use crate::element::Float;
use crate::tensor::Tensor;

impl<T: Float> Tensor<T> {
    /// `f` applied to every element, **not** recorded for autograd: the
    /// building block of hand-written [`Function`](crate::autograd::Function)
    /// forwards. The closure runs on the host (a tensor on another device
    /// would be downloaded and the result uploaded); the built-in ops run
    /// on the tensor's device.
    ///
    /// ```
    /// let x = nabla::Tensor::from_vec(vec![1.0f32, 4.0], &[2]);
    /// assert_eq!(x.map(|v| v * 10.0).to_vec(), vec![10.0, 40.0]);
    /// ```
    pub fn map(&self, f: impl Fn(T) -> T + Sync) -> Tensor<T> {
        backend::map_host(self, f)
    }

    /// `-self`. Also `-&a`.
    pub fn neg(&self) -> Tensor<T> {
        let out = unary(UnaryOp::Neg, self);
        record("Neg", out, &[self], |ctx| vec![Some(ctx.grad().neg())])
    }

    /// `e^self`.
    pub fn exp(&self) -> Tensor<T> {
        let out = unary(UnaryOp::Exp, self);
        record("Exp", out, &[self], |ctx| {
            vec![Some(ctx.grad().mul(&ctx.output()))]
        })
    }

    /// The natural logarithm.
    pub fn log(&self) -> Tensor<T> {
        let out = unary(UnaryOp::Log, self);
        let x = self.clone();
        record("Log", out, &[self], move |ctx| vec![Some(ctx.grad().div(&x))])
    }

    /// The square root.
    pub fn sqrt(&self) -> Tensor<T> {
        let out = unary(UnaryOp::Sqrt, self);
        record("Sqrt", out, &[self], |ctx| {
            let two = T::from_f64(2.0);
            vec![Some(ctx.grad().div(&ctx.output().mul_scalar(two)))]
        })
    }

    /// `1 / self`.
    pub fn recip(&self) -> Tensor<T> {
        let out = unary(UnaryOp::Recip, self);
        record("Reciprocal", out, &[self], |ctx| {
            let y = ctx.output();
            vec![Some(ctx.grad().mul(&y.mul(&y)).neg())]
        })
    }

    /// The absolute value; its gradient at 0 is 0, as in PyTorch.
    pub fn abs(&self) -> Tensor<T> {
        let out = unary(UnaryOp::Abs, self);
        let x = self.clone();
        record("Abs", out, &[self], move |ctx| {
            vec![Some(ctx.grad().mul(&x.sign()))]
        })
    }

    /// -1, 0 or 1 by the sign of each element. Piecewise constant, so it
    /// carries no gradient.
    pub fn sign(&self) -> Tensor<T> {
        unary(UnaryOp::Sign, self)
    }

    /// `self ^ exponent` for a scalar exponent.
    pub fn pow_scalar(&self, exponent: f64) -> Tensor<T> {
        let e = T::from_f64(exponent);
        let out = unary(UnaryOp::Pow(exponent), self);
        let x = self.clone();
        record("Pow", out, &[self], move |ctx| {
            let local = if exponent == 0.0 {
                x.zeros_like()
            } else if exponent == 1.0 {
                x.ones_like()
            } else if exponent == 2.0 {
                // 2 x, without a powf per element for x^1.
                x.mul_scalar(e)
            } else {
                x.pow_scalar(exponent - 1.0).mul_scalar(e)
            };
            vec![Some(ctx.grad().mul(&local))]
        })
    }

    /// `self * self`.
    pub fn square(&self) -> Tensor<T> {
        self.pow_scalar(2.0)
    }

    /// Clamps every element into `[min, max]` (either bound may be `None`).
    /// The gradient passes strictly inside, where `min < x < max`, as in
    /// PyTorch 2 (an element exactly on a bound gets none).
    pub fn clamp(&self, min: Option<T>, max: Option<T>) -> Tensor<T> {
        let min = min.map_or(f64::NEG_INFINITY, T::as_f64);
        let max = max.map_or(f64::INFINITY, T::as_f64);
        let out = unary(UnaryOp::Clamp { min, max }, self);
        let x = self.clone();
        record("Clamp", out, &[self], move |ctx| {
            let inside = unary(UnaryOp::ClampDerivative { min, max }, &x);
            vec![Some(ctx.grad().mul(&inside))]
        })
    }

    /// The sine (radians), elementwise, with derivative `cos x`.
    ///
    /// ```
    /// use nabla::Tensor;
    /// let x = Tensor::from_vec(vec![0.0f64, std::f64::consts::FRAC_PI_2], &[2]).requires_grad();
    /// let y = x.sin();
    /// assert_eq!(y.to_vec(), vec![0.0, 1.0]);
    /// y.sum().backward();
    /// let g = x.grad().unwrap().to_vec(); // cos x
    /// assert!((g[0] - 1.0).abs() < 1e-15 && g[1].abs() < 1e-15);
    /// ```
    pub fn sin(&self) -> Tensor<T> {
        let out = unary(UnaryOp::Sin, self);
        let x = self.clone();
        record("Sin", out, &[self], move |ctx| {
            vec![Some(ctx.grad().mul(&x.cos()))]
        })
    }

    /// The cosine (radians), elementwise, with derivative `-sin x`.
    ///
    /// ```
    /// use nabla::Tensor;
    /// let x = Tensor::from_vec(vec![0.0f32, std::f32::consts::PI], &[2]);
    /// assert_eq!(x.cos().to_vec(), vec![1.0, -1.0]);
    /// ```
    pub fn cos(&self) -> Tensor<T> {
        let out = unary(UnaryOp::Cos, self);
        let x = self.clone();
        record("Cos", out, &[self], move |ctx| {
            vec![Some(ctx.grad().mul(&x.sin()).neg())]
        })
    }

    /// The Gauss error function, with derivative 2/sqrt(pi) e^(-x^2).
    pub fn erf(&self) -> Tensor<T> {
        let out = unary(UnaryOp::Erf, self);
        let x = self.clone();
        record("Erf", out, &[self], move |ctx| {
            let two_over_sqrt_pi = T::from_f64(std::f64::consts::FRAC_2_SQRT_PI);
            let local = x.square().neg().exp().mul_scalar(two_over_sqrt_pi);
            vec![Some(ctx.grad().mul(&local))]
        })
    }

    /// `self + value` for a scalar. Also `&a + value`.
    pub fn add_scalar(&self, value: T) -> Tensor<T> {
        let out = unary(UnaryOp::AddScalar(value.as_f64()), self);
        record("AddScalar", out, &[self], |ctx| vec![Some(ctx.grad().clone())])
    }

    /// `self * value` for a scalar. Also `&a * value`.
    pub fn mul_scalar(&self, value: T) -> Tensor<T> {
        let out = unary(UnaryOp::MulScalar(value.as_f64()), self);
        record("MulScalar", out, &[self], move |ctx| {
            vec![Some(ctx.grad().mul_scalar(value))]
        })
    }

    /// `self / value` for a scalar. Also `&a / value`.
    pub fn div_scalar(&self, value: T) -> Tensor<T> {
        let out = unary(UnaryOp::DivScalar(value.as_f64()), self);
        record("DivScalar", out, &[self], move |ctx| {
            vec![Some(ctx.grad().div_scalar(value))]
        })
    }

    /// `value / self` for a scalar. Also `value / &a`.
    pub fn rdiv_scalar(&self, value: T) -> Tensor<T> {
        let out = unary(UnaryOp::RDivScalar(value.as_f64()), self);
        let x = self.clone();
        record("RDivScalar", out, &[self], move |ctx| {
            // d(v/x)/dx = -v/x^2 = -(v/x)/x
            vec![Some(ctx.grad().mul(&ctx.output()).div(&x).neg())]
        })
    }
}
