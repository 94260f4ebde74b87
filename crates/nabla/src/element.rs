//! The element types a [`Tensor`](crate::Tensor) can hold: `f32` and `f64`.

use std::fmt::{Debug, Display, LowerExp};
use std::iter::Sum;

use crate::f32_math;

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// A floating-point element type: implemented for `f32` (the default, for
/// training) and `f64` (for gradient checks, where finite differences need
/// the precision).
///
/// The trait is sealed: the kernels dispatch on exactly these two types.
pub trait Float:
    num_traits::Float + Debug + Display + LowerExp + Default + Sum + Send + Sync + 'static + sealed::Sealed
{
    /// The type's name as PyTorch prints it (`"float32"`, `"float64"`).
    const DTYPE: &'static str;

    /// Bits of precision of the significand (24 for `f32`, 53 for `f64`).
    const MANTISSA_DIGITS: u32;

    /// Converts from `f64`, rounding to nearest for `f32`.
    fn from_f64(x: f64) -> Self;

    /// Converts from `usize` (exactly below 2^24 for `f32`, 2^53 for `f64`).
    fn from_usize(n: usize) -> Self;

    /// Widens to `f64`.
    fn as_f64(self) -> f64;

    /// The Gauss error function, elementwise kernel of [`Tensor::erf`](crate::Tensor::erf).
    fn erf(self) -> Self;

    /// The exact GELU `x Φ(x)`, elementwise kernel of
    /// [`Tensor::gelu`](crate::Tensor::gelu): `x (1 + erf(x / √2)) / 2`
    /// with the C library's `erf` for `f64`; for `f32`, an evaluation of
    /// `Φ` through `erfc` in `f64` arithmetic that loops vectorise
    /// (`crate::f32_math`).
    fn gelu_kernel(self) -> Self;

    /// The largest `|x|` that [`Float::gelu_near_zero_kernel`] takes.
    const GELU_NEAR_ZERO: f64;

    /// [`Float::gelu_kernel`] for `|x| <=` [`Float::GELU_NEAR_ZERO`] only:
    /// for `f32`, a polynomial for `Φ` in `f64` arithmetic, about twice as
    /// fast (`crate::f32_math`); for `f64`, the same as `gelu_kernel`.
    fn gelu_near_zero_kernel(self) -> Self;

    /// The hyperbolic tangent, elementwise kernel of
    /// [`Tensor::tanh`](crate::Tensor::tanh): the C library's for `f64`;
    /// for `f32`, an evaluation in `f64` arithmetic that loops vectorise
    /// (`crate::f32_math`), as for the three below.
    fn tanh_kernel(self) -> Self;

    /// `e^x`, elementwise kernel of [`Tensor::exp`](crate::Tensor::exp),
    /// the sigmoid and the softmaxes.
    fn exp_kernel(self) -> Self;

    /// The natural logarithm, elementwise kernel of
    /// [`Tensor::log`](crate::Tensor::log) and the binary cross-entropy.
    fn ln_kernel(self) -> Self;

    /// `ln(1 + x)`, for the binary cross-entropy and the log-sigmoid.
    fn ln_1p_kernel(self) -> Self;
}

impl Float for f32 {
    const DTYPE: &'static str = "float32";
    const MANTISSA_DIGITS: u32 = f32::MANTISSA_DIGITS;
    #[inline]
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    #[inline]
    fn from_usize(n: usize) -> Self {
        n as f32
    }
    #[inline]
    fn as_f64(self) -> f64 {
        self as f64
    }
    #[inline]
    fn erf(self) -> Self {
        libm::erff(self)
    }
    #[inline(always)]
    fn gelu_kernel(self) -> Self {
        f32_math::gelu_f32(self)
    }
    const GELU_NEAR_ZERO: f64 = f32_math::GELU_NEAR_ZERO as f64;
    #[inline(always)]
    fn gelu_near_zero_kernel(self) -> Self {
        f32_math::gelu_f32_near_zero(self)
    }
    #[inline(always)]
    fn tanh_kernel(self) -> Self {
        f32_math::tanh_f32(self)
    }
    #[inline(always)]
    fn exp_kernel(self) -> Self {
        f32_math::exp_f32(self)
    }
    #[inline(always)]
    fn ln_kernel(self) -> Self {
        f32_math::ln_f32(self)
    }
    #[inline(always)]
    fn ln_1p_kernel(self) -> Self {
        f32_math::ln_1p_f32(self)
    }
}

impl Float for f64 {
    const DTYPE: &'static str = "float64";
    const MANTISSA_DIGITS: u32 = f64::MANTISSA_DIGITS;
    #[inline]
    fn from_f64(x: f64) -> Self {
        x
    }
    #[inline]
    fn from_usize(n: usize) -> Self {
        n as f64
    }
    #[inline]
    fn as_f64(self) -> f64 {
        self
    }
    #[inline]
    fn erf(self) -> Self {
        libm::erf(self)
    }
    #[inline]
    fn gelu_kernel(self) -> Self {
        0.5 * self * (1.0 + libm::erf(self * std::f64::consts::FRAC_1_SQRT_2))
    }
    const GELU_NEAR_ZERO: f64 = f64::INFINITY;
    #[inline(always)]
    fn gelu_near_zero_kernel(self) -> Self {
        self.gelu_kernel()
    }
    #[inline(always)]
    fn tanh_kernel(self) -> Self {
        self.tanh()
    }
    #[inline(always)]
    fn exp_kernel(self) -> Self {
        self.exp()
    }
    #[inline(always)]
    fn ln_kernel(self) -> Self {
        self.ln()
    }
    #[inline(always)]
    fn ln_1p_kernel(self) -> Self {
        self.ln_1p()
    }
}
