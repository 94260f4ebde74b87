//! The largest singular value of a linear operator given as a function and
//! its adjoint, by power iteration on `A^T A`.

use crate::autograd::no_grad;
use crate::element::Float;
use crate::tensor::{Generator, Tensor};

/// The settings of a power iteration: a seeded random start, a relative
/// tolerance on successive estimates and an iteration cap.
///
/// ```
/// use nabla::lipschitz::PowerIteration;
/// let settings = PowerIteration::default().tolerance(1e-9).max_iterations(2000).seed(7);
/// assert_eq!(settings.max_iterations, 2000);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PowerIteration {
    /// Stop when two successive estimates differ by at most this fraction
    /// of the newer one (default `1e-6`).
    pub tolerance: f64,
    /// Stop after this many iterations whatever the change (default 1000).
    pub max_iterations: usize,
    /// The seed of the random start vector (default 0).
    pub seed: u64,
}

impl Default for PowerIteration {
    fn default() -> Self {
        PowerIteration {
            tolerance: 1e-6,
            max_iterations: 1000,
            seed: 0,
        }
    }
}

impl PowerIteration {
    /// With another relative tolerance.
    pub fn tolerance(mut self, tolerance: f64) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// With another iteration cap.
    pub fn max_iterations(mut self, max_iterations: usize) -> Self {
        self.max_iterations = max_iterations;
        self
    }

    /// With another seed for the start vector.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// What a power iteration found: the largest singular value `sigma` of the
/// operator, the iterations it took, and whether the estimates settled
/// within the tolerance before the cap.
///
/// `sigma` is `||A x||` for a unit vector `x`, so it never exceeds the true
/// norm: it approaches it from below, at a rate set by the gap between the
/// two largest singular values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OperatorNorm {
    /// The estimate of `||A||_2`, the largest singular value.
    pub sigma: f64,
    /// Iterations used (applications of `A` and its adjoint).
    pub iterations: usize,
    /// True when the last change was within the tolerance.
    pub converged: bool,
}

/// The spectral norm (largest singular value) of the linear operator
/// `apply` from tensors of `input_shape`, with `adjoint` its transpose
/// (mapping `apply`'s output shape back to `input_shape`), by power
/// iteration on `adjoint(apply(x))` from a seeded Gaussian start. Runs
/// without recording a graph.
///
/// ```
/// use nabla::lipschitz::{operator_norm, PowerIteration};
/// use nabla::Tensor;
/// // A = [[3, 0], [4, 5]] has singular values sqrt(45) and sqrt(5).
/// let a = Tensor::from_vec(vec![3.0f64, 0.0, 4.0, 5.0], &[2, 2]);
/// let norm = operator_norm(
///     &[2, 1],
///     |x| a.matmul(x),
///     |y| a.t().matmul(y),
///     &PowerIteration::default().tolerance(1e-12),
/// );
/// assert!((norm.sigma - 45f64.sqrt()).abs() < 1e-9);
/// ```
///
/// # Panics
/// If `input_shape` has no elements, or `adjoint` does not return a tensor
/// of `input_shape`.
pub fn operator_norm<T: Float>(
    input_shape: &[usize],
    apply: impl Fn(&Tensor<T>) -> Tensor<T>,
    adjoint: impl Fn(&Tensor<T>) -> Tensor<T>,
    settings: &PowerIteration,
) -> OperatorNorm {
    assert!(
        input_shape.iter().product::<usize>() > 0,
        "operator_norm: the input shape {input_shape:?} has no elements"
    );
    no_grad(|| {
        let mut x = Tensor::<T>::randn(input_shape, &mut Generator::new(settings.seed));
        x = normalized(&x);
        let mut sigma = 0.0;
        for iteration in 1..=settings.max_iterations.max(1) {
            let y = apply(&x);
            let previous = sigma;
            sigma = norm(&y);
            let z = adjoint(&y);
            assert!(
                z.shape() == input_shape,
                "operator_norm: the adjoint returned shape {:?}, expected {input_shape:?}",
                z.shape()
            );
            let settled = (sigma - previous).abs() <= settings.tolerance * sigma;
            if settled || sigma == 0.0 || iteration == settings.max_iterations.max(1) {
                return OperatorNorm {
                    sigma,
                    iterations: iteration,
                    converged: settled || sigma == 0.0,
                };
            }
            x = normalized(&z);
        }
        unreachable!("the loop returns on its last iteration")
    })
}

/// The Euclidean norm of all elements, accumulated in `f64`.
pub(crate) fn norm<T: Float>(x: &Tensor<T>) -> f64 {
    x.to_vec()
        .iter()
        .map(|v| {
            let v = v.as_f64();
            v * v
        })
        .sum::<f64>()
        .sqrt()
}

/// `x / ||x||` (a zero vector stays zero).
fn normalized<T: Float>(x: &Tensor<T>) -> Tensor<T> {
    let n = norm(x);
    if n == 0.0 {
        x.clone()
    } else {
        x.div_scalar(T::from_f64(n))
    }
}
