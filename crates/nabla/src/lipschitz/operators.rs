//! The spectral norms of the linear layers as operators: a Linear layer's
//! weight matrix, a convolution on a given input size (padding, stride,
//! dilation and groups included), and any other linear layer (average
//! pooling) through its vector-Jacobian product.

use super::power_iteration::{operator_norm, OperatorNorm, PowerIteration};
use crate::element::Float;
use crate::nn::{Conv2d, Layer, Linear};
use crate::tensor::Tensor;

/// The spectral norm of `layer`'s weight `[out, in]`: the L2 Lipschitz
/// constant of `x -> x W^T + b` (the bias does not count).
///
/// ```
/// use nabla::lipschitz::{linear_norm, PowerIteration};
/// use nabla::nn::Linear;
/// use nabla::Tensor;
/// let w = Tensor::from_vec(vec![3.0f64, 0.0, 0.0, 0.0, 2.0, 0.0], &[2, 3]);
/// let layer = Linear::from_parameters(w, None);
/// assert!((linear_norm(&layer, &PowerIteration::default()).sigma - 3.0).abs() < 1e-6);
/// ```
pub fn linear_norm<T: Float>(layer: &Linear<T>, settings: &PowerIteration) -> OperatorNorm {
    let weight = layer.weight.detach();
    operator_norm(
        &[1, layer.in_features()],
        |x| x.matmul(&weight.t()),
        |y| y.matmul(&weight),
        settings,
    )
}

/// The spectral norm of `layer` as a linear operator on `[C, H, W]` images
/// of the given `(H, W)`, bias left out: power iteration that applies the
/// convolution (with the layer's padding, stride, dilation and groups) and
/// its adjoint, the transposed convolution that is conv2d's input gradient.
/// Zero padding and strides change the norm, so it depends on the input
/// size; it is at most the sum over kernel taps of the per-tap channel
/// matrices' norms, and usually well below the weight matrix's norm times
/// the number of taps.
///
/// ```
/// use nabla::lipschitz::{conv2d_norm, PowerIteration};
/// use nabla::nn::Conv2d;
/// use nabla::{Generator, Tensor};
/// // A 1x1 convolution is its channel matrix at every pixel.
/// let mut conv: Conv2d<f64> = Conv2d::new(1, 1, 1, &mut Generator::new(0));
/// conv.weight = Tensor::from_vec(vec![-2.5], &[1, 1, 1, 1]);
/// let norm = conv2d_norm(&conv, (4, 4), &PowerIteration::default());
/// assert!((norm.sigma - 2.5).abs() < 1e-9);
/// ```
///
/// # Panics
/// If the input is smaller than the (dilated) kernel after padding.
pub fn conv2d_norm<T: Float>(
    layer: &Conv2d<T>,
    input: (usize, usize),
    settings: &PowerIteration,
) -> OperatorNorm {
    let weight = layer.weight.detach();
    let in_channels = weight.shape()[1] * layer.options.groups;
    let (h, w) = input;
    let Some((oh, ow)) = layer.output_size(input) else {
        panic!(
            "conv2d_norm: an input of {input:?} is smaller than the kernel {:?} of {}",
            layer.kernel_size(),
            crate::nn::Summarize::<T>::describe(layer)
        );
    };
    let options = layer.options.padding(layer.resolved_padding());
    let (kh, kw) = layer.kernel_size();
    // The rows and columns the strided windows never reach: the transposed
    // convolution adds them back as output padding, so that the adjoint
    // maps onto the whole input.
    let leftover = |size: usize, out: usize, k: usize, axis: usize| {
        let (p, d, s) = (
            [options.padding.0, options.padding.1][axis],
            [options.dilation.0, options.dilation.1][axis],
            [options.stride.0, options.stride.1][axis],
        );
        size + 2 * p - d * (k - 1) - 1 - (out - 1) * s
    };
    let adjoint_options = options.output_padding((leftover(h, oh, kh, 0), leftover(w, ow, kw, 1)));
    operator_norm(
        &[1, in_channels, h, w],
        |x| x.conv2d(&weight, None, options),
        |y| y.conv_transpose2d(&weight, None, adjoint_options),
        settings,
    )
}

/// The spectral norm of a layer that is a linear map (average pooling,
/// adaptive average pooling) on one example of `input_shape`, its adjoint
/// taken as its vector-Jacobian product: `A^T y` is the gradient of
/// `<A x, y>` with respect to `x`, at any `x`.
///
/// ```
/// use nabla::lipschitz::{linear_layer_norm, PowerIteration};
/// use nabla::nn::AvgPool2d;
/// // Non-overlapping 2x2 averages: each output is (sum of 4) / 4, norm 2/4.
/// let norm = linear_layer_norm::<f64>(&AvgPool2d::new(2), &[1, 4, 4], &PowerIteration::default());
/// assert!((norm.sigma - 0.5).abs() < 1e-9);
/// ```
///
/// The answer is only meaningful for a layer that is linear (with no
/// offset); it is not checked.
pub fn linear_layer_norm<T: Float>(
    layer: &dyn Layer<T>,
    input_shape: &[usize],
    settings: &PowerIteration,
) -> OperatorNorm {
    let mut batched = vec![1];
    batched.extend_from_slice(input_shape);
    operator_norm(
        &batched,
        |x| layer.forward(x),
        |y| vector_jacobian_product(layer, &batched, y),
        settings,
    )
}

/// `y^T J` of `layer` at zero (the adjoint of a linear layer applied to `y`).
fn vector_jacobian_product<T: Float>(
    layer: &dyn Layer<T>,
    input_shape: &[usize],
    y: &Tensor<T>,
) -> Tensor<T> {
    crate::autograd::with_grad_mode(true, || {
        let x = Tensor::<T>::zeros(input_shape).requires_grad();
        let out = layer.forward(&x);
        crate::autograd::grad_with(&[&out], &[y], &[&x], false, false)
            .pop()
            .flatten()
            .unwrap_or_else(|| Tensor::zeros(input_shape))
    })
}
