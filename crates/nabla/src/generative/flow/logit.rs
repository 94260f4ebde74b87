//! The data side of a flow on images: uniform dequantisation of 8-bit
//! pixels, and the logit transform with its log-determinant (RealNVP,
//! section 4.1).

use crate::element::Float;
use crate::tensor::{Generator, Tensor};

/// Pixels `k / 255` (as MNIST loads, `k` in 0..=255) made continuous:
/// `(k + u) / 256` with `u ~ U[0, 1)` from `generator`, values in [0, 1).
/// A density of these bounds the probability of the 8-bit image: `-log2
/// P(k) <= -log2 p((k + u) / 256) + D log2 256` in expectation over `u`
/// (Theis et al., 2016), which is how bits per dimension are reported.
///
/// ```
/// use nabla::generative::flow::dequantize;
/// use nabla::{Generator, Tensor};
/// let pixels = Tensor::from_vec(vec![0.0f32, 1.0, 128.0 / 255.0], &[3]);
/// let x = dequantize(&pixels, &mut Generator::new(0)).to_vec();
/// for (v, k) in x.iter().zip([0.0, 255.0, 128.0]) {
///     assert!(*v >= k / 256.0 && *v < (k + 1.0) / 256.0);
/// }
/// ```
pub fn dequantize<T: Float>(pixels: &Tensor<T>, generator: &mut Generator) -> Tensor<T> {
    let noise = Tensor::<T>::rand(pixels.shape(), generator);
    let levels = pixels.detach().map(|v| T::from_f64((v.as_f64() * 255.0).round()));
    (&levels + &noise).mul_scalar(T::from_f64(1.0 / 256.0))
}

/// `y = logit(alpha + (1 - 2 alpha) x)` of `x` `[B, ...]` in [0, 1], and
/// log |det dy/dx| `[B]` = the sum of `ln(1 - 2 alpha) - ln p - ln(1 - p)`
/// over each example, `p = alpha + (1 - 2 alpha) x`. The margin `alpha`
/// keeps the logit finite at 0 and 1: RealNVP's `logit(alpha + (1 - alpha)
/// x)` with the margin at both ends, as PyTorch implementations of RealNVP
/// write it.
///
/// ```
/// use nabla::generative::flow::{from_logit, to_logit};
/// use nabla::Tensor;
/// let x = Tensor::from_vec(vec![0.0f64, 0.5, 1.0], &[1, 3]);
/// let (y, log_det) = to_logit(&x, 0.05);
/// assert!((y.at(&[0, 1])).abs() < 1e-12 && (y.at(&[0, 2]) - 19f64.ln()).abs() < 1e-12);
/// // At x = 0.5, dy/dx = 0.9 / 0.25.
/// let want = 2.0 * (0.9f64 / (0.05 * 0.95)).ln() + (0.9f64 / 0.25).ln();
/// assert!((log_det.item() - want).abs() < 1e-12);
/// assert!(from_logit(&y, 0.05).to_vec().iter().zip(x.to_vec()).all(|(a, b)| (a - b).abs() < 1e-12));
/// ```
pub fn to_logit<T: Float>(x: &Tensor<T>, alpha: f64) -> (Tensor<T>, Tensor<T>) {
    let p = x
        .mul_scalar(T::from_f64(1.0 - 2.0 * alpha))
        .add_scalar(T::from_f64(alpha));
    let log_p = p.log();
    let log_q = p.neg().add_scalar(T::one()).log();
    let y = &log_p - &log_q;
    let per_example: usize = x.shape().iter().skip(1).product();
    let log_det = (&log_p + &log_q)
        .flatten(1, -1)
        .sum_dim(1, false)
        .neg()
        .add_scalar(T::from_f64(per_example as f64 * (1.0 - 2.0 * alpha).ln()));
    (y, log_det)
}

/// The inverse of [`to_logit`]: `(sigmoid(y) - alpha) / (1 - 2 alpha)`.
pub fn from_logit<T: Float>(y: &Tensor<T>, alpha: f64) -> Tensor<T> {
    y.sigmoid()
        .add_scalar(T::from_f64(-alpha))
        .mul_scalar(T::from_f64(1.0 / (1.0 - 2.0 * alpha)))
}
