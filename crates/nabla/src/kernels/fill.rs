//! Random fills: each element from one draw of a random source.

use crate::backend::ops::RandomFill;
use crate::element::Float;

/// Overwrites `data` in order with `fill` applied to successive draws of
/// `draw` (U(0, 1), or N(0, 1) for [`RandomFill::Normal`]).
pub(crate) fn random_fill<T: Float>(data: &mut [T], fill: &RandomFill, mut draw: impl FnMut() -> f64) {
    match *fill {
        RandomFill::Uniform { low, high } => {
            for v in data {
                *v = T::from_f64(low + (high - low) * draw());
            }
        }
        RandomFill::Normal { mean, std } => {
            for v in data {
                *v = T::from_f64(mean + std * draw());
            }
        }
        RandomFill::UnitUniform => {
            // Keep only as many random bits as T holds, so that rounding can
            // never carry a draw up to 1.
            let scale = (1u64 << T::MANTISSA_DIGITS) as f64;
            for v in data {
                *v = T::from_f64((draw() * scale).floor() / scale);
            }
        }
        RandomFill::UniformInElementType { low, high } => {
            let (low, high) = (T::from_f64(low), T::from_f64(high));
            for v in data {
                *v = low + (high - low) * T::from_f64(draw());
            }
        }
        RandomFill::Bernoulli { p, scale } => {
            for v in data {
                *v = T::from_f64(if draw() < p { 0.0 } else { scale });
            }
        }
    }
}
