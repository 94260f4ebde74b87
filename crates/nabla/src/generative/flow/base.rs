//! The base distribution of the flows: the standard normal.

use crate::element::Float;
use crate::tensor::Tensor;

/// log N(z; 0, I) of each example of `z` `[B, ...]`: the standard normal's
/// log-density summed over every dimension but the first, `[B]`:
/// `-(|z|^2 + D ln 2 pi) / 2` with `D` the values per example.
///
/// ```
/// use nabla::generative::flow::standard_normal_log_prob;
/// use nabla::Tensor;
/// let z = Tensor::from_vec(vec![0.0f64, 0.0, 1.0, -2.0], &[2, 2]);
/// let ln_2pi = (2.0 * std::f64::consts::PI).ln();
/// let want = [-ln_2pi, -(5.0 + 2.0 * ln_2pi) / 2.0];
/// for (got, want) in standard_normal_log_prob(&z).to_vec().iter().zip(want) {
///     assert!((got - want).abs() < 1e-12);
/// }
/// ```
pub fn standard_normal_log_prob<T: Float>(z: &Tensor<T>) -> Tensor<T> {
    let per_example: usize = z.shape().iter().skip(1).product();
    let log_normaliser = 0.5 * per_example as f64 * (2.0 * std::f64::consts::PI).ln();
    z.flatten(1, -1)
        .square()
        .sum_dim(1, false)
        .mul_scalar(T::from_f64(-0.5))
        .add_scalar(T::from_f64(-log_normaliser))
}
