//! The element types a [`Tensor`](crate::Tensor) can hold: `f32` and `f64`.

use std::fmt::{Debug, Display, LowerExp};
use std::iter::Sum;

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

    /// The hyperbolic tangent, elementwise kernel of
    /// [`Tensor::tanh`](crate::Tensor::tanh): the C library's for `f64`;
    /// for `f32`, a branch-free evaluation in `f64` that the compiler
    /// vectorises (libm's scalar `tanhf` was 73% of a PPO update).
    fn tanh_kernel(self) -> Self;
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
    #[inline]
    fn tanh_kernel(self) -> Self {
        tanh_f32(self)
    }
}

/// `tanh(x)` for an `f32`, computed in `f64` and rounded once: within one
/// ulp of the correctly rounded value, and equal to it for all but a few
/// inputs in a million (tested over a sweep below). Every path is
/// arithmetic, so loops over slices vectorise.
///
/// Below 1/16 the odd Taylor series to x^9 (relative error below 1e-14);
/// above, `1 - 2 / (e^{2|x|} + 1)` with `e^y = 2^k e^r`, `|r| <= ln 2 / 2`,
/// and `e^r` by its Taylor polynomial to r^11; past 9.5 the result rounds
/// to 1 in `f32`, so the input is clamped there. NaN stays NaN.
#[inline]
fn tanh_f32(x: f32) -> f32 {
    // 1 / n! for n = 0..=11: e^r's Taylor coefficients.
    const EXP_TAYLOR: [f64; 12] = [
        1.0,
        1.0,
        1.0 / 2.0,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5040.0,
        1.0 / 40320.0,
        1.0 / 362880.0,
        1.0 / 3628800.0,
        1.0 / 39916800.0,
    ];
    // Adding 1.5 * 2^52 rounds to an integer (ties to even) in the low
    // mantissa bits, with plain SSE2 arithmetic: `round` would be a libm
    // call on the baseline x86-64 target, and stop the loop vectorising.
    const ROUNDER: f64 = 6755399441055744.0;
    let x = f64::from(x);
    let a = x.abs();
    let a = if a > 9.5 { 9.5 } else { a };
    let a2 = a * a;
    let series =
        a * (1.0 + a2 * (-1.0 / 3.0 + a2 * (2.0 / 15.0 + a2 * (-17.0 / 315.0 + a2 * (62.0 / 2835.0)))));
    let y = 2.0 * a;
    let shifted = y * std::f64::consts::LOG2_E + ROUNDER;
    let k = shifted - ROUNDER;
    let r = y - k * std::f64::consts::LN_2;
    let mut p = EXP_TAYLOR[11];
    for c in EXP_TAYLOR[..11].iter().rev() {
        p = p * r + c;
    }
    // 2^k, 0 <= k <= 14, from k's bits (a NaN input's p carries the NaN).
    let k_bits = shifted.to_bits().wrapping_sub(ROUNDER.to_bits());
    let scale = f64::from_bits(k_bits.wrapping_add(1023) << 52);
    let large = 1.0 - 2.0 / (p * scale + 1.0);
    let t = if a < 0.0625 { series } else { large };
    t.copysign(x) as f32
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
    fn tanh_kernel(self) -> Self {
        self.tanh()
    }
}

#[cfg(test)]
mod tests {
    use super::tanh_f32;

    #[test]
    fn tanh_f32_is_within_one_ulp_of_the_correctly_rounded_value() {
        // Every 64th f32 from 0 to past 9.5, and its negative: about 34 million inputs.
        let (mut inexact, mut checked) = (0usize, 0usize);
        let end = 10.0f32.to_bits();
        for bits in (0..end).step_by(64) {
            for x in [f32::from_bits(bits), -f32::from_bits(bits)] {
                let want = (f64::from(x)).tanh() as f32;
                let got = tanh_f32(x);
                checked += 1;
                if got.to_bits() != want.to_bits() {
                    inexact += 1;
                    assert!(
                        (got.to_bits() as i64 - want.to_bits() as i64).abs() <= 1,
                        "tanh({x:e}) = {got:e}, correctly rounded {want:e}"
                    );
                }
            }
        }
        assert!(
            inexact * 100_000 < checked,
            "{inexact} of {checked} inputs one ulp off"
        );
        assert_eq!(tanh_f32(20.0), 1.0);
        assert_eq!(tanh_f32(f32::NEG_INFINITY), -1.0);
        assert!(tanh_f32(f32::NAN).is_nan());
        assert_eq!(tanh_f32(-0.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!(tanh_f32(1e-30), 1e-30);
    }
}
