//! Elementwise operations as named operations. Scalars travel as `f64`
//! (exact for both element types' values) and are converted to the element
//! type once per call, outside the loop.

use std::f64::consts::{FRAC_1_SQRT_2, FRAC_2_SQRT_PI};

/// `√(2/π)`, in the tanh approximation of the GELU.
pub(crate) const GELU_BETA: f64 = FRAC_2_SQRT_PI * FRAC_1_SQRT_2;
/// The cubic coefficient of the tanh approximation of the GELU.
pub(crate) const GELU_KAPPA: f64 = 0.044715;

/// An operation applied to every element `x` of one tensor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum UnaryOp {
    /// `-x`.
    Neg,
    /// `e^x`.
    Exp,
    /// The natural logarithm.
    Log,
    /// The square root.
    Sqrt,
    /// `1 / x`.
    Recip,
    /// `|x|`.
    Abs,
    /// -1, 0 or 1 by the sign of `x` (NaN and -0 pass through).
    Sign,
    /// `x^e` (`x * x` for `e = 2`).
    Pow(f64),
    /// `x + v`.
    AddScalar(f64),
    /// `x * v`.
    MulScalar(f64),
    /// `x / v`.
    DivScalar(f64),
    /// `v / x`.
    RDivScalar(f64),
    /// `x` clamped into `[min, max]`; NaN passes through.
    Clamp { min: f64, max: f64 },
    /// 1 where `min < x < max`, else 0: the derivative of `Clamp`.
    ClampDerivative { min: f64, max: f64 },
    /// The Gauss error function.
    Erf,
    /// `max(x, 0)` (0 at 0).
    Relu,
    /// `x` for `x > 0`, else `slope x`.
    LeakyRelu(f64),
    /// 1 for `x > 0`, else `slope`: the derivative of `LeakyRelu`.
    LeakyReluDerivative(f64),
    /// `1 / (1 + e^-x)`, by two branches so that no exp overflows.
    Sigmoid,
    /// The hyperbolic tangent.
    Tanh,
    /// The sine.
    Sin,
    /// The cosine.
    Cos,
    /// The exact GELU, `x Φ(x) = x (1 + erf(x / √2)) / 2`.
    Gelu,
    /// The tanh approximation of the GELU,
    /// `x (1 + tanh(√(2/π) (x + 0.044715 x³))) / 2`.
    GeluTanh,
    /// The derivative of `GeluTanh`.
    GeluTanhDerivative,
    /// `-log sigmoid(x) = max(-x, 0) + log1p(e^-|x|)`, stably.
    NegLogSigmoid,
    /// 1 where `x cmp v` holds, else 0 (a mask).
    Compare(Comparison, f64),
}

/// An elementwise comparison; masks hold 1 where it holds, 0 elsewhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Comparison {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Comparison {
    /// The op's name in messages: `eq`, `lt`, ...
    pub(crate) fn name(self) -> &'static str {
        match self {
            Comparison::Eq => "eq",
            Comparison::Ne => "ne",
            Comparison::Lt => "lt",
            Comparison::Le => "le",
            Comparison::Gt => "gt",
            Comparison::Ge => "ge",
        }
    }
}

/// PyTorch's floor under `p (1 - p)` in the gradient of the binary
/// cross-entropy: the `float` constant 1e-12, also in double precision.
pub(crate) const BCE_EPSILON: f32 = 1e-12;

/// An operation on pairs `(a, b)` of elements of two tensors broadcast
/// together, or (in place) of a tensor `a` and a tensor `b` broadcast to
/// its shape.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum BinaryOp {
    /// `a + b`.
    Add,
    /// `a - b`.
    Sub,
    /// `a * b`.
    Mul,
    /// `a / b`.
    Div,
    /// `a^b`.
    Pow,
    /// The larger of `a` and `b`, NaN if either is.
    Maximum,
    /// The smaller of `a` and `b`, NaN if either is.
    Minimum,
    /// 1 where `a cmp b` holds, else 0 (a mask).
    Compare(Comparison),
    /// The binary cross-entropy of a probability `a` against a target `b`,
    /// `(b - 1) max(log(1 - a), -100) - b max(log a, -100)` as PyTorch's
    /// kernel; NaN where `a` or `b` lies outside [0, 1] (or is NaN), so
    /// that one look at the result checks both inputs.
    BinaryCrossEntropy,
    /// Its derivative in `a`, `(a - b) / max(a (1 - a), ε)` with PyTorch's
    /// ε = [`BCE_EPSILON`], in one pass.
    BinaryCrossEntropyGrad,
    /// The derivative of the exact GELU at `a` from its value `b = a Φ(a)`:
    /// `Φ(a) + a φ(a)` with `Φ(a) = b / a` (1/2 at 0), so that the backward
    /// pass evaluates no second erf.
    GeluDerivativeFromValue,
    /// `(1 - weight) a + weight scale b`, computed in `f64`: a running
    /// average `a` moved towards a batch statistic `b` (BatchNorm's
    /// running mean and variance, `scale` the Bessel correction).
    RunningAverage { weight: f64, scale: f64 },
}

impl BinaryOp {
    /// The op's name in messages: `add`, `mul`, `lt`, ...
    pub(crate) fn name(self) -> &'static str {
        match self {
            BinaryOp::Add => "add",
            BinaryOp::Sub => "sub",
            BinaryOp::Mul => "mul",
            BinaryOp::Div => "div",
            BinaryOp::Pow => "pow",
            BinaryOp::Maximum => "maximum",
            BinaryOp::Minimum => "minimum",
            BinaryOp::Compare(c) => c.name(),
            BinaryOp::BinaryCrossEntropy => "binary_cross_entropy",
            BinaryOp::BinaryCrossEntropyGrad => "binary_cross_entropy_backward",
            BinaryOp::GeluDerivativeFromValue => "gelu_backward",
            BinaryOp::RunningAverage { .. } => "running average",
        }
    }
}

/// Which triangle of each matrix (the last two dimensions) to keep, the
/// rest becoming 0: on and below the `diagonal`-th diagonal (`tril`), or on
/// and above it (`triu`). Diagonal 0 is the main one, positive ones lie
/// above it, negative ones below.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Triangle {
    /// Keeps element `(i, j)` where `j - i <= diagonal`.
    Lower { diagonal: isize },
    /// Keeps element `(i, j)` where `j - i >= diagonal`.
    Upper { diagonal: isize },
}
