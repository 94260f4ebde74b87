//! `f32` transcendental functions computed in `f64` arithmetic and rounded
//! once: `tanh`, `exp`, `ln` and `ln_1p`, each within one ulp of the
//! correctly rounded value (and equal to it for all but a few inputs in a
//! million, tested over sweeps below), and the exact GELU within two.
//!
//! The C library's `tanhf`, `expf`, `logf` and `log1pf` are scalar calls
//! that stop a loop over a slice from vectorising: they were 73% of a PPO
//! update and a fifth of a VAE step. Every path here is arithmetic and
//! bit manipulation with no branch a compiler cannot turn into a select,
//! so the elementwise kernels' loops vectorise.

use std::f64::consts::{FRAC_1_SQRT_2, LN_2, LOG2_E, SQRT_2};

/// Adding 1.5 * 2^52 rounds to an integer (ties to even) in the low
/// mantissa bits, with plain SSE2 arithmetic: `round` would be a libm
/// call on the baseline x86-64 target, and stop the loop vectorising.
const ROUNDER: f64 = 6755399441055744.0;

/// `e^y` for `y` in [-708, 709], to about 1e-15 relative: `e^y = 2^k e^r`
/// with `|r| <= ln 2 / 2`, and `e^r` by its Taylor polynomial to r^11.
/// A NaN `y` gives NaN.
#[inline(always)]
fn exp_bounded(y: f64) -> f64 {
    exp_taylor::<12>(y)
}

/// [`exp_bounded`] with e^r's Taylor polynomial to r^(TERMS - 1): 12 terms
/// for `f64`'s precision, 8 (relative error below 6e-9) where a result
/// within two `f32` ulp needs less.
#[inline(always)]
fn exp_taylor<const TERMS: usize>(y: f64) -> f64 {
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
    let shifted = y * LOG2_E + ROUNDER;
    let k = shifted - ROUNDER;
    let r = y - k * LN_2;
    let mut p = EXP_TAYLOR[TERMS - 1];
    for c in EXP_TAYLOR[..TERMS - 1].iter().rev() {
        p = p * r + c;
    }
    // 2^k, a normal f64 for -1022 <= k <= 1023, from k's bits (two's
    // complement in the low mantissa bits of `shifted`).
    let k_bits = shifted.to_bits().wrapping_sub(ROUNDER.to_bits());
    let scale = f64::from_bits(k_bits.wrapping_add(1023) << 52);
    p * scale
}

/// `ln(x)` for a positive, finite, normal `x`, to about 1e-15 relative
/// (absolute near 1): `x = 2^e m` with `m` in [sqrt(1/2), sqrt(2)), and
/// `ln m = 2 atanh(s)`, `s = (m - 1) / (m + 1)`, `|s| <= 0.172`, by its
/// odd series to s^15.
#[inline(always)]
fn ln_positive(x: f64) -> f64 {
    const MANTISSA: u64 = (1 << 52) - 1;
    let bits = x.to_bits();
    // The biased exponent as a float, by the same trick as ROUNDER.
    let biased = f64::from_bits(ROUNDER.to_bits() | (bits >> 52)) - ROUNDER;
    let m = f64::from_bits((bits & MANTISSA) | (1023 << 52));
    let high = m > SQRT_2;
    let m = if high { 0.5 * m } else { m };
    let e = biased - 1023.0 + if high { 1.0 } else { 0.0 };
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let series = 1.0
        + s2 * (1.0 / 3.0
            + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0 + s2 * (1.0 / 11.0 + s2 * (1.0 / 13.0))))));
    e * LN_2 + 2.0 * s * series
}

/// `tanh(x)`. Below 1/16 the odd Taylor series to x^9 (relative error
/// below 1e-14); above, `1 - 2 / (e^{2|x|} + 1)`; past 9.5 the result
/// rounds to 1 in `f32`, so the input is clamped there. NaN stays NaN.
#[inline(always)]
pub(crate) fn tanh_f32(x: f32) -> f32 {
    let x = f64::from(x);
    let a = x.abs();
    let a = if a > 9.5 { 9.5 } else { a };
    let a2 = a * a;
    let series =
        a * (1.0 + a2 * (-1.0 / 3.0 + a2 * (2.0 / 15.0 + a2 * (-17.0 / 315.0 + a2 * (62.0 / 2835.0)))));
    let large = 1.0 - 2.0 / (exp_bounded(2.0 * a) + 1.0);
    let t = if a < 0.0625 { series } else { large };
    t.copysign(x) as f32
}

/// `e^x`. Past 89 the result overflows to infinity in `f32`, below -104
/// it rounds to 0, so the input is clamped to [-104, 89]; rounding the
/// `f64` result to `f32` makes the subnormal results right. NaN stays NaN.
#[inline(always)]
pub(crate) fn exp_f32(x: f32) -> f32 {
    let x = f64::from(x);
    exp_bounded(x.clamp(-104.0, 89.0)) as f32
}

/// `ln(x)`: -infinity at 0, NaN below 0 and for NaN, infinity at infinity.
/// An `f32` (subnormals included) widens to a normal `f64`, so one path
/// serves every positive finite input.
#[inline(always)]
pub(crate) fn ln_f32(x: f32) -> f32 {
    let x = f64::from(x);
    // Flat selects rather than an if-else chain, which stops vectorising.
    let inside = x > 0.0 && x < f64::INFINITY;
    let y = ln_positive(if inside { x } else { 1.0 });
    let y = if x == f64::INFINITY { f64::INFINITY } else { y };
    let y = if x == 0.0 { f64::NEG_INFINITY } else { y };
    let y = if x >= 0.0 { y } else { f64::NAN };
    y as f32
}

/// `ln(1 + x)`. Below 1e-4 in magnitude the series `x - x^2/2 + x^3/3 -
/// x^4/4` (relative error below 3e-17); above, `ln` of `1 + x`, which is
/// exact enough in `f64` there (an error of 2^-53 in `1 + x` is below
/// 1.2e-12 of the result). -infinity at -1, NaN below -1 and for NaN.
#[inline(always)]
pub(crate) fn ln_1p_f32(x: f32) -> f32 {
    let x = f64::from(x);
    let u = 1.0 + x;
    let inside = u > 0.0 && u < f64::INFINITY;
    let y = ln_positive(if inside { u } else { 1.0 });
    let y = if u == f64::INFINITY { f64::INFINITY } else { y };
    let y = if u == 0.0 { f64::NEG_INFINITY } else { y };
    let y = if u >= 0.0 { y } else { f64::NAN };
    let series = x * (1.0 + x * (-0.5 + x * (1.0 / 3.0 + x * -0.25)));
    let y = if x.abs() < 1e-4 { series } else { y };
    y as f32
}

/// The exact GELU, `x Φ(x)`, within two ulp of the correctly rounded
/// value. `Φ(x) = erfc(-x / √2) / 2`, and `erfc(z)` for `z >= 0` is
/// Numerical Recipes' Chebyshev fit `t e^(-z² + P(t))` with `t = 1 / (1 +
/// z / 2)` (relative error below 1.2e-7 for every `z`; e^y to 6e-9 by
/// [`exp_taylor`]'s 8 terms, 18% faster than 12), so that `Φ` keeps
/// its relative accuracy in the negative tail, where `1 + erf(x / √2)`
/// cancels (`libm::erff` there, or PyTorch's kernel, lose up to thousands of
/// ulp near x = -3). Past z = 10.5 (|x| = 14.8), `x Φ(x)` rounds to 0 or
/// `x`, and erfc is taken as 0.
/// NaN stays NaN.
#[inline(always)]
pub(crate) fn gelu_f32(x: f32) -> f32 {
    // Numerical Recipes' coefficients of P, from t^0 to t^9.
    const ERFC_FIT: [f64; 10] = [
        -1.26551223,
        1.00002368,
        0.37409196,
        0.09678418,
        -0.18628806,
        0.27886807,
        -1.13520398,
        1.48851587,
        -0.82215223,
        0.17087277,
    ];
    let x = f64::from(x);
    let z = x.abs() * FRAC_1_SQRT_2;
    let far = z > 10.5;
    let z = if far { 10.5 } else { z };
    let t = 1.0 / (1.0 + 0.5 * z);
    let mut p = ERFC_FIT[9];
    for c in ERFC_FIT[..9].iter().rev() {
        p = p * t + c;
    }
    let erfc = t * exp_taylor::<8>(p - z * z);
    let erfc = if far { 0.0 } else { erfc };
    let cdf = if x < 0.0 { 0.5 * erfc } else { 1.0 - 0.5 * erfc };
    (x * cdf) as f32
}

/// The largest `|x|` that [`gelu_f32_near_zero`] takes.
pub(crate) const GELU_NEAR_ZERO: f32 = 3.0;

/// The exact GELU for `|x| <= 3` ([`GELU_NEAR_ZERO`]), as [`gelu_f32`] but
/// about twice as fast: `Φ(x) = 1/2 + x Q(x²)` with `Q` a polynomial of
/// degree 14, a least-squares fit on Chebyshev nodes whose `x Q(x²)` is
/// within 2.3e-14 of `Φ(x) - 1/2` on [-3, 3] in `f64` arithmetic (a
/// relative error of 1.7e-11 at x = -3, where Φ is smallest; fitted by
/// `scripts/fit_gelu_polynomial.py`). Past the bound the fit is wrong.
#[inline(always)]
pub(crate) fn gelu_f32_near_zero(x: f32) -> f32 {
    // Q's coefficients from s^0 to s^14, s = x².
    const Q: [f64; 15] = [
        0.39894228040119856,
        -0.06649038006270194,
        0.009973556987549244,
        -0.0011873281590567177,
        0.00011543460695658855,
        -9.444583214551515e-06,
        6.659246506772906e-07,
        -4.1207410948693357e-08,
        2.2675292038851955e-09,
        -1.1163954669332026e-10,
        4.880522803111209e-12,
        -1.8322389252406156e-13,
        5.4822398345241486e-15,
        -1.135053838166369e-16,
        1.1866401097549444e-18,
    ];
    let x = f64::from(x);
    let s = x * x;
    let mut q = Q[14];
    for c in Q[..14].iter().rev() {
        q = q * s + c;
    }
    (x * (0.5 + x * q)) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks `f` against `reference` (computed in `f64`, rounded once) on
    /// every `step`-th `f32` from `start` to `end` bits, both signs if
    /// `negatives`: within one ulp everywhere, exact for all but one input
    /// in 100,000.
    fn sweep(
        name: &str,
        f: fn(f32) -> f32,
        reference: fn(f64) -> f64,
        end: f32,
        step: usize,
        negatives: bool,
    ) {
        let (mut inexact, mut checked) = (0usize, 0usize);
        for bits in (0..end.to_bits()).step_by(step) {
            let x = f32::from_bits(bits);
            for x in [x, -x].into_iter().take(if negatives { 2 } else { 1 }) {
                let want = reference(f64::from(x)) as f32;
                let got = f(x);
                checked += 1;
                if got.to_bits() != want.to_bits() && !(got.is_nan() && want.is_nan()) {
                    inexact += 1;
                    assert!(
                        (got.to_bits() as i64 - want.to_bits() as i64).abs() <= 1,
                        "{name}({x:e}) = {got:e}, correctly rounded {want:e}"
                    );
                }
            }
        }
        assert!(
            inexact * 100_000 < checked,
            "{name}: {inexact} of {checked} inputs one ulp off"
        );
    }

    #[test]
    fn tanh_f32_is_within_one_ulp_of_the_correctly_rounded_value() {
        // Every 64th f32 from 0 to past 9.5, and its negative: about 34 million inputs.
        sweep("tanh", tanh_f32, f64::tanh, 10.0, 64, true);
        assert_eq!(tanh_f32(20.0), 1.0);
        assert_eq!(tanh_f32(f32::NEG_INFINITY), -1.0);
        assert!(tanh_f32(f32::NAN).is_nan());
        assert_eq!(tanh_f32(-0.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!(tanh_f32(1e-30), 1e-30);
    }

    #[test]
    fn exp_f32_is_within_one_ulp_of_the_correctly_rounded_value() {
        // Every 61st f32 from 0 to 105 and its negative, subnormal results included.
        sweep("exp", exp_f32, f64::exp, 105.0, 61, true);
        assert_eq!(exp_f32(0.0), 1.0);
        assert_eq!(exp_f32(89.0), f32::INFINITY);
        assert_eq!(exp_f32(f32::INFINITY), f32::INFINITY);
        assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp_f32(-103.0), (-103.0f64).exp() as f32);
        assert!(exp_f32(f32::NAN).is_nan());
    }

    #[test]
    fn ln_f32_is_within_one_ulp_of_the_correctly_rounded_value() {
        // Every 61st positive f32, subnormals to the largest finite.
        sweep("ln", ln_f32, f64::ln, f32::MAX, 61, false);
        assert_eq!(ln_f32(1.0), 0.0);
        assert_eq!(ln_f32(0.0), f32::NEG_INFINITY);
        assert_eq!(ln_f32(-0.0), f32::NEG_INFINITY);
        assert_eq!(ln_f32(f32::INFINITY), f32::INFINITY);
        assert!(ln_f32(-1.0).is_nan() && ln_f32(f32::NAN).is_nan() && ln_f32(f32::NEG_INFINITY).is_nan());
    }

    #[test]
    fn gelu_f32_is_within_two_ulp_of_the_correctly_rounded_value() {
        // Every 31st f32 from 0 to 16 and its negative, against x Φ(x) with
        // the C library's erfc for f64; two thirds or more exact.
        let (mut exact, mut checked) = (0usize, 0usize);
        for bits in (0..16f32.to_bits()).step_by(31) {
            for x in [f32::from_bits(bits), -f32::from_bits(bits)] {
                let xd = f64::from(x);
                let want = (xd * 0.5 * libm::erfc(-xd * FRAC_1_SQRT_2)) as f32;
                let got = gelu_f32(x);
                let ulps = (got.to_bits() as i64 - want.to_bits() as i64).abs();
                assert!(
                    ulps <= 2 || got == want,
                    "gelu({x:e}) = {got:e}, correctly rounded {want:e}"
                );
                checked += 1;
                exact += usize::from(got == want);
            }
        }
        assert!(3 * exact > 2 * checked, "{exact} of {checked} exact");
        assert_eq!(gelu_f32(0.0), 0.0);
        assert_eq!(gelu_f32(30.0), 30.0);
        assert_eq!(gelu_f32(-30.0), 0.0);
        assert_eq!(gelu_f32(f32::INFINITY), f32::INFINITY);
        assert!(gelu_f32(f32::NAN).is_nan());
        // Where 1 + erf(x / √2) cancels: Φ(-5) = 2.866516e-7.
        assert!((gelu_f32(-5.0) / (-5.0 * 2.866_515_7e-7) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn gelu_f32_near_zero_is_within_one_ulp_of_the_correctly_rounded_value() {
        // Every 31st f32 of [-3, 3]: about 70 million inputs.
        sweep(
            "gelu_near_zero",
            gelu_f32_near_zero,
            |x| x * 0.5 * libm::erfc(-x * FRAC_1_SQRT_2),
            GELU_NEAR_ZERO,
            31,
            true,
        );
        assert_eq!(gelu_f32_near_zero(0.0), 0.0);
        assert_eq!(gelu_f32_near_zero(-0.0).to_bits(), (-0.0f32).to_bits());
    }

    #[test]
    fn ln_1p_f32_is_within_one_ulp_of_the_correctly_rounded_value() {
        // Every 61st f32 of [0, 1e30] and of [-1, 0]; the C library's
        // log1p for f64 is the reference.
        sweep("ln_1p", ln_1p_f32, f64::ln_1p, 1e30, 61, false);
        sweep("ln_1p", |x| ln_1p_f32(-x), |x| (-x).ln_1p(), 1.0, 61, false);
        assert_eq!(ln_1p_f32(-1.0), f32::NEG_INFINITY);
        assert_eq!(ln_1p_f32(f32::INFINITY), f32::INFINITY);
        assert_eq!(ln_1p_f32(-0.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!(ln_1p_f32(1e-30), 1e-30);
        assert!(ln_1p_f32(-2.0).is_nan() && ln_1p_f32(f32::NAN).is_nan());
    }
}
