//! Activation functions: relu, relu6, leaky_relu, sigmoid, tanh, gelu (exact and
//! tanh-approximated), softmax and log_softmax (numerically stable, over any
//! dimension).

use crate::autograd::{is_grad_enabled, record};
use crate::backend::ops::{BinaryOp, SoftmaxOp, UnaryOp, GELU_BETA, GELU_KAPPA};
use crate::backend::{self, unary};
use crate::element::Float;
use crate::layout::normalize_dim;
use crate::tensor::Tensor;

/// Which GELU to compute: PyTorch's `approximate` argument of `F.gelu` and
/// `nn.GELU`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[doc(alias = "approximate")]
pub enum GeluApproximation {
    /// The exact `x Φ(x)` (`approximate='none'`, the default).
    #[default]
    None,
    /// `x (1 + tanh(√(2/π) (x + 0.044715 x³))) / 2` (`approximate='tanh'`).
    Tanh,
}

/// The recorded names of the exact GELU and of its tanh approximation.
type GeluNames = (&'static str, &'static str);
const GELU_NAMES: GeluNames = ("Gelu", "GeluTanh");

/// The derivative of the GELU at `x`, as recorded tensor ops (so that it
/// can be differentiated again).
fn gelu_derivative<T: Float>(x: &Tensor<T>, approximate: GeluApproximation) -> Tensor<T> {
    let half = T::from_f64(0.5);
    match approximate {
        GeluApproximation::None => {
            // Φ(x) + x φ(x)
            let inv_sqrt2 = T::from_f64(std::f64::consts::FRAC_1_SQRT_2);
            let cdf = x
                .mul_scalar(inv_sqrt2)
                .erf()
                .add_scalar(T::one())
                .mul_scalar(half);
            let inv_sqrt_2pi = T::from_f64(1.0 / (2.0 * std::f64::consts::PI).sqrt());
            let pdf = x.square().mul_scalar(-half).exp().mul_scalar(inv_sqrt_2pi);
            cdf.add(&x.mul(&pdf))
        }
        GeluApproximation::Tanh => {
            // (1 + t) / 2 + x (1 - t²) β (1 + 3κ x²) / 2, t = tanh(β (x + κ x³))
            let (beta, kappa) = (GELU_BETA, GELU_KAPPA);
            let x2 = x.square();
            let t = x2
                .mul_scalar(T::from_f64(kappa))
                .add_scalar(T::one())
                .mul(x)
                .mul_scalar(T::from_f64(beta))
                .tanh();
            let left = t.add_scalar(T::one()).mul_scalar(half);
            let slope = x2
                .mul_scalar(T::from_f64(3.0 * kappa))
                .add_scalar(T::one())
                .mul_scalar(T::from_f64(beta));
            let right = x
                .mul_scalar(half)
                .mul(&t.square().neg().add_scalar(T::one()))
                .mul(&slope);
            left.add(&right)
        }
    }
}

impl<T: Float> Tensor<T> {
    /// max(x, 0). The gradient at 0 is 0, as in PyTorch.
    pub fn relu(&self) -> Tensor<T> {
        let out = unary(UnaryOp::Relu, self);
        let x = self.clone();
        record("Relu", out, &[self], move |ctx| {
            vec![Some(ctx.grad().mul(&x.gt_scalar(T::zero())))]
        })
    }

    /// `min(max(x, 0), 6)`, as `F.relu6` (MobileNet's and EfficientNet-Lite's
    /// activation, bounded for quantisation): PyTorch's `hardtanh(x, 0, 6)`,
    /// whose gradient passes strictly between the bounds (0 at exactly 0
    /// and 6), which is [`clamp`](Tensor::clamp)'s.
    ///
    /// ```
    /// use nabla::Tensor;
    /// let x = Tensor::from_vec(vec![-1.0f32, 3.0, 7.0], &[3]);
    /// assert_eq!(x.relu6().to_vec(), vec![0.0, 3.0, 6.0]);
    /// ```
    pub fn relu6(&self) -> Tensor<T> {
        self.clamp(Some(T::zero()), Some(T::from_f64(6.0)))
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

    /// The exact GELU, `x Φ(x)` with `Φ` the standard normal CDF
    /// (PyTorch's default `approximate='none'`); see
    /// [`gelu_with`](Tensor::gelu_with) for the tanh approximation.
    ///
    /// ```
    /// use nabla::Tensor;
    /// let x = Tensor::from_vec(vec![-1.0f64, 0.0, 2.0], &[3]);
    /// let y = x.gelu().to_vec();
    /// assert!((y[0] + 0.15865525393145707).abs() < 1e-15 && y[1] == 0.0);
    /// ```
    pub fn gelu(&self) -> Tensor<T> {
        self.gelu_with(GeluApproximation::None)
    }

    /// The GELU, exact or by its tanh approximation, as PyTorch's
    /// `F.gelu(x, approximate=...)`:
    ///
    /// - [`GeluApproximation::None`]: `x Φ(x) = x (1 + erf(x / √2)) / 2`;
    /// - [`GeluApproximation::Tanh`]: `x (1 + tanh(√(2/π) (x + 0.044715 x³))) / 2`.
    ///
    /// Elementwise, any shape. Differentiable twice.
    ///
    /// ```
    /// use nabla::{GeluApproximation, Tensor};
    /// let x = Tensor::from_vec(vec![-1.0f64, 0.5, 3.0], &[3]);
    /// let exact = x.gelu_with(GeluApproximation::None).to_vec();
    /// let tanh = x.gelu_with(GeluApproximation::Tanh).to_vec();
    /// for (e, t) in exact.iter().zip(&tanh) {
    ///     assert!((e - t).abs() < 1e-3); // close, not equal
    /// }
    /// ```
    pub fn gelu_with(&self, approximate: GeluApproximation) -> Tensor<T> {
        let forward = match approximate {
            GeluApproximation::None => UnaryOp::Gelu,
            GeluApproximation::Tanh => UnaryOp::GeluTanh,
        };
        let out = unary(forward, self);
        let x = self.clone();
        let name = match approximate {
            GeluApproximation::None => GELU_NAMES.0,
            GeluApproximation::Tanh => GELU_NAMES.1,
        };
        record(name, out, &[self], move |ctx| {
            // One fused pass, unless the backward is itself recorded
            // (create_graph), which needs the derivative as tensor ops.
            let local = if is_grad_enabled() {
                gelu_derivative(&x, approximate)
            } else {
                match approximate {
                    GeluApproximation::None => {
                        backend::binary(BinaryOp::GeluDerivativeFromValue, &x, &ctx.output())
                    }
                    GeluApproximation::Tanh => unary(UnaryOp::GeluTanhDerivative, &x),
                }
            };
            vec![Some(ctx.grad().mul(&local))]
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
