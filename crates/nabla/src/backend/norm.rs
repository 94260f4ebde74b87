//! Batch normalisation's fused loops: per-channel moments, the per-channel
//! affine map, and the two halves of its backward pass.
//!
//! Inputs are `[N, C, ...]` (rank at least 2) in any layout, seen as
//! `[n, c, s]` with `s` the product of the trailing sizes; per-channel
//! values are `[C]` tensors. Results are new contiguous tensors.

use super::{device_of, on_device};
use crate::element::Float;
use crate::tensor::Tensor;

/// The batch-normalisation operations of a backend.
pub(crate) trait NormOps {
    /// The mean of every channel of `x` as the nearest `T` and the
    /// remainder (`mean - nearest`, rounded to `T`), and the biased
    /// variance, `[C]` each. Centring on the nearest value first and
    /// correcting by the remainder afterwards keeps the mean's full
    /// precision where the subtraction `x - nearest` is exact.
    fn channel_moments<T: Float>(x: &Tensor<T>) -> [Tensor<T>; 3];
    /// `(x - center[c]) * scale[c] + shift[c]` for every value of channel
    /// `c`, from `[center, scale, shift]`, then clamped to `clamp = (min,
    /// max)` if given (as [`Tensor::clamp`]: NaN stays NaN).
    fn channel_affine<T: Float>(
        x: &Tensor<T>,
        per_channel: [&Tensor<T>; 3],
        clamp: Option<(f64, f64)>,
    ) -> Tensor<T>;
    /// `Σ g` and `Σ g (x - mean[c])` over every channel `c`, `[C]` each,
    /// with `g` through the clamp's gate if given.
    fn channel_grad_sums<T: Float>(
        x: &Tensor<T>,
        g: &Tensor<T>,
        mean: &Tensor<T>,
        clamp: Option<&NormClamp<'_, T>>,
    ) -> (Tensor<T>, Tensor<T>);
    /// `a[c] g + b[c] (x - m[c]) + c[c]` for every value of channel `c`,
    /// from `[a, b, c, m]`, with `g` through the clamp's gate if given.
    fn channel_input_grad<T: Float>(
        x: &Tensor<T>,
        g: &Tensor<T>,
        coefficients: [&Tensor<T>; 4],
        clamp: Option<&NormClamp<'_, T>>,
    ) -> Tensor<T>;
    /// Layer normalisation of every row of the last `n` values of `x`:
    /// `(x - mean) / sqrt(var + eps) * weight + bias`, `weight` and `bias`
    /// (`n` values) where given; `x`'s shape.
    fn layer_norm<T: Float>(
        x: &Tensor<T>,
        n: usize,
        weight: Option<&Tensor<T>>,
        bias: Option<&Tensor<T>>,
        eps: f64,
    ) -> Tensor<T>;
    /// The gradients of [`NormOps::layer_norm`] for the output gradient
    /// `dy`: the input's (`x`'s shape), the weight's and the bias's (`[n]`
    /// each, whether or not the forward pass had them).
    fn layer_norm_backward<T: Float>(
        x: &Tensor<T>,
        dy: &Tensor<T>,
        n: usize,
        weight: Option<&Tensor<T>>,
        eps: f64,
    ) -> [Tensor<T>; 3];
}

/// A clamp after a training-mode BatchNorm, for the backward pass: the
/// gradient `g` of the clamped output passes (as `g`) where `min < (x -
/// center[c]) * scale[c] + shift[c] < max`, the normalised value the
/// forward pass clamped, and is 0 elsewhere: the clamp's backward folded
/// into BatchNorm's, recomputed from `x` rather than read from a mask.
pub(crate) struct NormClamp<'a, T: Float> {
    /// `[center, scale, shift]` of the forward pass, `[C]` each.
    pub affine: [&'a Tensor<T>; 3],
    /// `(min, max)`.
    pub bounds: (f64, f64),
}

fn assert_channels<T: Float>(op: &str, x: &Tensor<T>, per_channel: &[&Tensor<T>]) {
    assert!(
        x.ndim() >= 2,
        "{op}: expected an input [N, C, ...], got shape {:?}",
        x.shape()
    );
    for t in per_channel {
        assert!(
            t.shape() == [x.shape()[1]],
            "{op}: a per-channel tensor of shape {:?} for an input of shape {:?}",
            t.shape(),
            x.shape()
        );
    }
}

/// The per-channel mean (nearest value and remainder) and biased variance
/// of `x`, unrecorded: see [`NormOps::channel_moments`].
///
/// # Panics
/// If `x` has fewer than two dimensions or no value per channel.
pub(crate) fn channel_moments<T: Float>(x: &Tensor<T>) -> [Tensor<T>; 3] {
    assert_channels("channel_moments", x, &[]);
    assert!(
        x.numel() > 0,
        "channel_moments: no values per channel in shape {:?}",
        x.shape()
    );
    on_device!(device_of("channel_moments", &[x]), B => B::channel_moments(x))
}

/// `(x - center[c]) * scale[c] + shift[c]` per channel, from `[center,
/// scale, shift]`, clamped to `clamp` if given, unrecorded.
///
/// # Panics
/// If one of them is not `[C]`.
pub(crate) fn channel_affine<T: Float>(
    x: &Tensor<T>,
    per_channel: [&Tensor<T>; 3],
    clamp: Option<(f64, f64)>,
) -> Tensor<T> {
    assert_channels("channel_affine", x, &per_channel);
    let [m, a, b] = per_channel;
    on_device!(device_of("channel_affine", &[x, m, a, b]), B => B::channel_affine(x, per_channel, clamp))
}

/// `Σ g` and `Σ g (x - mean[c])` per channel, unrecorded.
///
/// # Panics
/// If `g` is not `x`'s shape or `mean` not `[C]`.
pub(crate) fn channel_grad_sums<T: Float>(
    x: &Tensor<T>,
    g: &Tensor<T>,
    mean: &Tensor<T>,
    clamp: Option<&NormClamp<'_, T>>,
) -> (Tensor<T>, Tensor<T>) {
    assert_channels("channel_grad_sums", x, &[mean]);
    let mut tensors = vec![x, g, mean];
    if let Some(clamp) = clamp {
        assert_channels("channel_grad_sums", x, &clamp.affine);
        tensors.extend(clamp.affine);
    }
    assert_eq!(
        x.shape(),
        g.shape(),
        "channel_grad_sums: gradient and input shapes differ"
    );
    on_device!(device_of("channel_grad_sums", &tensors), B => B::channel_grad_sums(x, g, mean, clamp))
}

/// `a[c] g + b[c] (x - m[c]) + c[c]` per channel, from `[a, b, c, m]`,
/// unrecorded.
///
/// # Panics
/// If `g` is not `x`'s shape or a coefficient not `[C]`.
pub(crate) fn channel_input_grad<T: Float>(
    x: &Tensor<T>,
    g: &Tensor<T>,
    coefficients: [&Tensor<T>; 4],
    clamp: Option<&NormClamp<'_, T>>,
) -> Tensor<T> {
    assert_channels("channel_input_grad", x, &coefficients);
    let mut tensors = vec![x, g];
    tensors.extend(coefficients);
    if let Some(clamp) = clamp {
        assert_channels("channel_input_grad", x, &clamp.affine);
        tensors.extend(clamp.affine);
    }
    assert_eq!(
        x.shape(),
        g.shape(),
        "channel_input_grad: gradient and input shapes differ"
    );
    on_device!(device_of("channel_input_grad", &tensors), B => B::channel_input_grad(x, g, coefficients, clamp))
}

/// Layer normalisation over the last `n` values of every row, unrecorded:
/// see [`NormOps::layer_norm`].
///
/// # Panics
/// If `n` does not divide `x`'s size, or `weight` or `bias` is not `n`
/// values.
pub(crate) fn layer_norm<T: Float>(
    x: &Tensor<T>,
    n: usize,
    weight: Option<&Tensor<T>>,
    bias: Option<&Tensor<T>>,
    eps: f64,
) -> Tensor<T> {
    assert_rows("layer_norm", x, n, &[weight, bias]);
    let tensors: Vec<&Tensor<T>> = [Some(x), weight, bias].into_iter().flatten().collect();
    on_device!(device_of("layer_norm", &tensors), B => B::layer_norm(x, n, weight, bias, eps))
}

/// The gradients of [`layer_norm`] for `dy`, unrecorded: see
/// [`NormOps::layer_norm_backward`].
///
/// # Panics
/// As [`layer_norm`], and if `dy` is not `x`'s shape.
pub(crate) fn layer_norm_backward<T: Float>(
    x: &Tensor<T>,
    dy: &Tensor<T>,
    n: usize,
    weight: Option<&Tensor<T>>,
    eps: f64,
) -> [Tensor<T>; 3] {
    assert_rows("layer_norm_backward", x, n, &[weight]);
    assert_eq!(
        x.shape(),
        dy.shape(),
        "layer_norm_backward: gradient and input shapes differ"
    );
    let tensors: Vec<&Tensor<T>> = [Some(x), Some(dy), weight].into_iter().flatten().collect();
    on_device!(device_of("layer_norm_backward", &tensors), B => B::layer_norm_backward(x, dy, n, weight, eps))
}

fn assert_rows<T: Float>(op: &str, x: &Tensor<T>, n: usize, per_value: &[Option<&Tensor<T>>]) {
    assert!(
        n > 0 && x.numel() % n == 0,
        "{op}: rows of {n} values do not divide an input of shape {:?}",
        x.shape()
    );
    for t in per_value.iter().flatten() {
        assert!(
            t.numel() == n,
            "{op}: a tensor of shape {:?} for rows of {n} values",
            t.shape()
        );
    }
}

#[cfg(test)]
impl<B: NormOps> NormOps for super::counting::Counting<B> {
    fn channel_moments<T: Float>(x: &Tensor<T>) -> [Tensor<T>; 3] {
        super::counting::count("channel_moments");
        B::channel_moments(x)
    }
    fn channel_affine<T: Float>(
        x: &Tensor<T>,
        per_channel: [&Tensor<T>; 3],
        clamp: Option<(f64, f64)>,
    ) -> Tensor<T> {
        super::counting::count("channel_affine");
        B::channel_affine(x, per_channel, clamp)
    }
    fn channel_grad_sums<T: Float>(
        x: &Tensor<T>,
        g: &Tensor<T>,
        mean: &Tensor<T>,
        clamp: Option<&NormClamp<'_, T>>,
    ) -> (Tensor<T>, Tensor<T>) {
        super::counting::count("channel_grad_sums");
        B::channel_grad_sums(x, g, mean, clamp)
    }
    fn channel_input_grad<T: Float>(
        x: &Tensor<T>,
        g: &Tensor<T>,
        coefficients: [&Tensor<T>; 4],
        clamp: Option<&NormClamp<'_, T>>,
    ) -> Tensor<T> {
        super::counting::count("channel_input_grad");
        B::channel_input_grad(x, g, coefficients, clamp)
    }
    fn layer_norm<T: Float>(
        x: &Tensor<T>,
        n: usize,
        weight: Option<&Tensor<T>>,
        bias: Option<&Tensor<T>>,
        eps: f64,
    ) -> Tensor<T> {
        super::counting::count("layer_norm");
        B::layer_norm(x, n, weight, bias, eps)
    }
    fn layer_norm_backward<T: Float>(
        x: &Tensor<T>,
        dy: &Tensor<T>,
        n: usize,
        weight: Option<&Tensor<T>>,
        eps: f64,
    ) -> [Tensor<T>; 3] {
        super::counting::count("layer_norm_backward");
        B::layer_norm_backward(x, dy, n, weight, eps)
    }
}
