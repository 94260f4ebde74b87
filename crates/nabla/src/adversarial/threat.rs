//! The threat model: the ball of radius eps around an input under a norm,
//! intersected with the valid input range; its projection, its random
//! points, and the steepest-ascent direction of a gradient under the norm.

use std::fmt;
use std::str::FromStr;

use crate::element::Float;
use crate::tensor::{Generator, Tensor};

/// The norm that measures a perturbation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Norm {
    /// The largest change of any one input element (L∞).
    Linf,
    /// The Euclidean length of the whole perturbation of an example (L2).
    L2,
}

impl fmt::Display for Norm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Norm::Linf => "linf",
            Norm::L2 => "l2",
        })
    }
}

impl FromStr for Norm {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "linf" => Ok(Norm::Linf),
            "l2" => Ok(Norm::L2),
            other => Err(format!("unknown norm {other:?} (expected linf or l2)")),
        }
    }
}

/// Division guard for the per-example L2 norms of all-zero tensors.
const TINY: f64 = 1e-12;

/// The ball `{x' : |x' - x| <= eps, lo <= x' <= hi}` around each example of
/// a batch `[B, ...]`.
pub(crate) struct Ball<'a, T: Float> {
    pub center: &'a Tensor<T>,
    pub norm: Norm,
    pub eps: f64,
    pub range: Option<(f64, f64)>,
}

impl<T: Float> Ball<'_, T> {
    /// The point of the ball nearest to `point` (the Euclidean projection
    /// for L2 and L∞ balls; the range clamp after it keeps the point inside
    /// the ball, because the range box contains the center).
    pub fn project(&self, point: &Tensor<T>) -> Tensor<T> {
        let eps = T::from_f64(self.eps);
        let delta = point - self.center;
        let delta = match self.norm {
            Norm::Linf => delta.clamp(Some(-eps), Some(eps)),
            Norm::L2 => {
                let shrink = (per_example_l2(&delta).add_scalar(T::from_f64(TINY)).recip() * eps)
                    .clamp(None, Some(T::from_f64(1.0)));
                &delta * &shrink
            }
        };
        self.clamp_to_range(&(self.center + &delta))
    }

    /// A point drawn uniformly from the L∞ ball, or along a uniformly random
    /// direction at a uniformly random radius for the L2 ball, clamped to
    /// the range.
    pub fn random_point(&self, generator: &mut Generator) -> Tensor<T> {
        let shape = self.center.shape();
        let eps = T::from_f64(self.eps);
        let delta = match self.norm {
            Norm::Linf => Tensor::uniform(shape, -eps, eps, generator),
            Norm::L2 => {
                let direction = Tensor::randn(shape, generator);
                let mut radius_shape = vec![1; shape.len()];
                radius_shape[0] = shape[0];
                let radius = Tensor::uniform(&radius_shape, T::from_f64(0.0), eps, generator);
                &direction * &(per_example_l2(&direction).add_scalar(T::from_f64(TINY)).recip() * &radius)
            }
        };
        self.clamp_to_range(&(self.center + &delta))
    }

    fn clamp_to_range(&self, point: &Tensor<T>) -> Tensor<T> {
        match self.range {
            Some((lo, hi)) => point.clamp(Some(T::from_f64(lo)), Some(T::from_f64(hi))),
            None => point.clone(),
        }
    }
}

/// The unit step of steepest ascent of a gradient `[B, ...]` under `norm`:
/// its sign for L∞, itself over its per-example L2 length for L2.
pub(crate) fn ascent_direction<T: Float>(gradient: &Tensor<T>, norm: Norm) -> Tensor<T> {
    match norm {
        Norm::Linf => gradient.sign(),
        Norm::L2 => gradient * &per_example_l2(gradient).add_scalar(T::from_f64(TINY)).recip(),
    }
}

/// The L2 norm of each example of `[B, ...]`, as `[B, 1, ...]` (one kept
/// dimension per example dimension, so it broadcasts back).
pub(crate) fn per_example_l2<T: Float>(t: &Tensor<T>) -> Tensor<T> {
    let dims: Vec<isize> = (1..t.ndim() as isize).collect();
    if dims.is_empty() {
        return t.abs();
    }
    t.square().sum_dims(&dims, true).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ball(center: &Tensor<f64>, norm: Norm, eps: f64) -> Ball<'_, f64> {
        Ball {
            center,
            norm,
            eps,
            range: Some((0.0, 1.0)),
        }
    }

    #[test]
    fn l2_projection_lands_on_the_sphere_along_the_same_direction() {
        let center = Tensor::from_vec(vec![0.5f64, 0.5, 0.5, 0.5], &[2, 2]);
        let point = Tensor::from_vec(vec![0.8f64, 0.9, 0.5, 0.5], &[2, 2]);
        let projected = ball(&center, Norm::L2, 0.25).project(&point).to_vec();
        // (0.3, 0.4) has length 0.5: halved to (0.15, 0.2); the second row is the center.
        let expected = [0.65, 0.7, 0.5, 0.5];
        for (p, e) in projected.iter().zip(expected) {
            assert!((p - e).abs() < 1e-9, "{projected:?}");
        }
    }

    #[test]
    fn random_points_stay_in_the_ball_and_the_range() {
        let mut g = Generator::new(3);
        let center = Tensor::<f64>::rand(&[16, 3, 4], &mut g);
        for norm in [Norm::Linf, Norm::L2] {
            let b = ball(&center, norm, 0.3);
            let p = b.random_point(&mut g);
            let delta = &p - &center;
            let size = match norm {
                Norm::Linf => delta.abs().max().item(),
                Norm::L2 => per_example_l2(&delta).max().item(),
            };
            assert!(size <= 0.3 + 1e-12 && size > 0.0, "{norm}: {size}");
            assert!(p.min().item() >= 0.0 && p.max().item() <= 1.0);
        }
    }
}
