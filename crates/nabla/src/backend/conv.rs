//! Convolution: the three products of a 2-D convolution (forward, its
//! adjoint in the input, which is the transposed convolution, and its
//! weight gradient). `conv1d` and `conv_transpose2d` are these on other
//! shapes.

use super::ops::ConvGeometry;
use super::{device_of, on_device};
use crate::element::Float;
use crate::tensor::Tensor;

/// The convolution operations of a backend. Inputs may have any layout and
/// have the shapes the geometry names; results are new contiguous tensors.
pub(crate) trait ConvOps {
    /// The convolution `[N, C', OH, OW]` of `x [N, C, H, W]` with
    /// `w [C', C/g, kh, kw]`, plus `bias [C']` on every pixel of each
    /// output channel when given.
    fn conv2d<T: Float>(
        x: &Tensor<T>,
        w: &Tensor<T>,
        bias: Option<&Tensor<T>>,
        g: &ConvGeometry,
    ) -> Tensor<T>;
    /// [`conv2d`](ConvOps::conv2d), then `(v - center[c]) * scale[c] +
    /// shift[c]` on every value of output channel `c` (from `[center,
    /// scale, shift]`), then clamped to `clamp = (min, max)` if given:
    /// evaluation-mode BatchNorm and the ReLU6 after a convolution, applied
    /// while the output is in cache. The values of `conv2d` then
    /// [`channel_affine`](super::NormOps::channel_affine).
    fn conv2d_channel_affine<T: Float>(
        x: &Tensor<T>,
        w: &Tensor<T>,
        bias: Option<&Tensor<T>>,
        g: &ConvGeometry,
        per_channel: [&Tensor<T>; 3],
        clamp: Option<(f64, f64)>,
    ) -> Tensor<T>;
    /// The adjoint of the convolution in its input: `dy [N, C', OH, OW]`
    /// to `[N, C, H, W]`.
    fn conv2d_input_grad<T: Float>(dy: &Tensor<T>, w: &Tensor<T>, g: &ConvGeometry) -> Tensor<T>;
    /// The weight gradient `[C', C/g, kh, kw]` from `x` and `dy`.
    fn conv2d_weight_grad<T: Float>(x: &Tensor<T>, dy: &Tensor<T>, g: &ConvGeometry) -> Tensor<T>;
}

/// The convolution of `x` with `w` (plus `bias`), unrecorded.
///
/// # Panics
/// If a shape is not the geometry's.
pub(crate) fn conv2d<T: Float>(
    x: &Tensor<T>,
    w: &Tensor<T>,
    bias: Option<&Tensor<T>>,
    g: &ConvGeometry,
) -> Tensor<T> {
    check_shape("conv2d", "input", x, &g.input_shape());
    check_shape("conv2d", "weight", w, &g.weight_shape());
    if let Some(b) = bias {
        check_shape("conv2d", "bias", b, &[g.out_channels]);
    }
    let mut tensors = vec![x, w];
    tensors.extend(bias);
    on_device!(device_of("conv2d", &tensors), B => B::conv2d(x, w, bias, g))
}

/// The convolution of `x` with `w` (plus `bias`), then per output channel
/// `(v - center) * scale + shift` from `[center, scale, shift]` and the
/// clamp, unrecorded.
///
/// # Panics
/// If a shape is not the geometry's, or a per-channel tensor is not `[C']`.
pub(crate) fn conv2d_channel_affine<T: Float>(
    x: &Tensor<T>,
    w: &Tensor<T>,
    bias: Option<&Tensor<T>>,
    g: &ConvGeometry,
    per_channel: [&Tensor<T>; 3],
    clamp: Option<(f64, f64)>,
) -> Tensor<T> {
    check_shape("conv2d", "input", x, &g.input_shape());
    check_shape("conv2d", "weight", w, &g.weight_shape());
    if let Some(b) = bias {
        check_shape("conv2d", "bias", b, &[g.out_channels]);
    }
    for (name, t) in ["center", "scale", "shift"].into_iter().zip(per_channel) {
        check_shape("conv2d_channel_affine", name, t, &[g.out_channels]);
    }
    let mut tensors = vec![x, w];
    tensors.extend(bias);
    tensors.extend(per_channel);
    on_device!(device_of("conv2d_channel_affine", &tensors), B => B::conv2d_channel_affine(x, w, bias, g, per_channel, clamp))
}

/// The adjoint of the convolution in its input, applied to `dy`, unrecorded.
///
/// # Panics
/// If a shape is not the geometry's.
pub(crate) fn conv2d_input_grad<T: Float>(dy: &Tensor<T>, w: &Tensor<T>, g: &ConvGeometry) -> Tensor<T> {
    check_shape("conv_transpose2d", "input", dy, &g.output_shape());
    check_shape("conv_transpose2d", "weight", w, &g.weight_shape());
    on_device!(device_of("conv_transpose2d", &[dy, w]), B => B::conv2d_input_grad(dy, w, g))
}

/// The convolution's weight gradient from `x` and `dy`, unrecorded.
///
/// # Panics
/// If a shape is not the geometry's.
pub(crate) fn conv2d_weight_grad<T: Float>(x: &Tensor<T>, dy: &Tensor<T>, g: &ConvGeometry) -> Tensor<T> {
    check_shape("conv2d weight gradient", "input", x, &g.input_shape());
    check_shape("conv2d weight gradient", "output gradient", dy, &g.output_shape());
    on_device!(device_of("conv2d weight gradient", &[x, dy]), B => B::conv2d_weight_grad(x, dy, g))
}

fn check_shape<T: Float>(op: &str, what: &str, t: &Tensor<T>, shape: &[usize]) {
    assert!(
        t.shape() == shape,
        "{op}: the {what} has shape {:?} where the geometry needs {shape:?}",
        t.shape()
    );
}

#[cfg(test)]
impl<B: ConvOps> ConvOps for super::counting::Counting<B> {
    fn conv2d<T: Float>(
        x: &Tensor<T>,
        w: &Tensor<T>,
        bias: Option<&Tensor<T>>,
        g: &ConvGeometry,
    ) -> Tensor<T> {
        super::counting::count("conv2d");
        B::conv2d(x, w, bias, g)
    }
    fn conv2d_channel_affine<T: Float>(
        x: &Tensor<T>,
        w: &Tensor<T>,
        bias: Option<&Tensor<T>>,
        g: &ConvGeometry,
        per_channel: [&Tensor<T>; 3],
        clamp: Option<(f64, f64)>,
    ) -> Tensor<T> {
        super::counting::count("conv2d_channel_affine");
        B::conv2d_channel_affine(x, w, bias, g, per_channel, clamp)
    }
    fn conv2d_input_grad<T: Float>(dy: &Tensor<T>, w: &Tensor<T>, g: &ConvGeometry) -> Tensor<T> {
        super::counting::count("conv2d_input_grad");
        B::conv2d_input_grad(dy, w, g)
    }
    fn conv2d_weight_grad<T: Float>(x: &Tensor<T>, dy: &Tensor<T>, g: &ConvGeometry) -> Tensor<T> {
        super::counting::count("conv2d_weight_grad");
        B::conv2d_weight_grad(x, dy, g)
    }
}
