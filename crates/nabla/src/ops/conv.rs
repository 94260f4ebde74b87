//! Convolutions (chapter 5 of the course): `conv2d`, `conv_transpose2d`,
//! `conv1d`. Three recorded ops are closed under differentiation: the
//! convolution, its adjoint in the input (the transposed convolution) and
//! its weight gradient; each one's backward is written with the other two,
//! so convolutions can be differentiated twice.

use crate::autograd::record;
use crate::backend::{self, ops::ConvGeometry};
use crate::element::Float;
use crate::tensor::Tensor;

/// A size per spatial axis, given as one number for both or as `(h, w)`.
pub trait IntoPair {
    /// The `(height, width)` pair.
    fn into_pair(self) -> (usize, usize);
}

impl IntoPair for usize {
    fn into_pair(self) -> (usize, usize) {
        (self, self)
    }
}

impl IntoPair for (usize, usize) {
    fn into_pair(self) -> (usize, usize) {
        self
    }
}

/// Stride, zero padding, dilation and groups of a 2-D convolution; the
/// defaults are PyTorch's (1, 0, 1, 1).
///
/// ```
/// use nabla::Conv2dOptions;
/// let o = Conv2dOptions::default().padding(1).stride((2, 1));
/// assert_eq!((o.padding, o.stride), ((1, 1), (2, 1)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dOptions {
    /// Step between kernel positions, `(h, w)`.
    pub stride: (usize, usize),
    /// Zeros added on each side, `(h, w)`.
    pub padding: (usize, usize),
    /// Spacing between kernel taps, `(h, w)`.
    pub dilation: (usize, usize),
    /// Channel groups: input and output channels split into this many
    /// independent convolutions (`groups = C` is depthwise).
    pub groups: usize,
    /// Extra rows/columns added to one side of a transposed convolution's
    /// output, to pick among the input sizes a strided convolution maps to
    /// the same output size (ignored by `conv2d`).
    pub output_padding: (usize, usize),
}

impl Default for Conv2dOptions {
    fn default() -> Self {
        Conv2dOptions {
            stride: (1, 1),
            padding: (0, 0),
            dilation: (1, 1),
            groups: 1,
            output_padding: (0, 0),
        }
    }
}

impl Conv2dOptions {
    /// Sets the stride.
    pub fn stride(mut self, stride: impl IntoPair) -> Self {
        self.stride = stride.into_pair();
        self
    }
    /// Sets the zero padding.
    pub fn padding(mut self, padding: impl IntoPair) -> Self {
        self.padding = padding.into_pair();
        self
    }
    /// Sets the dilation.
    pub fn dilation(mut self, dilation: impl IntoPair) -> Self {
        self.dilation = dilation.into_pair();
        self
    }
    /// Sets the number of groups.
    pub fn groups(mut self, groups: usize) -> Self {
        self.groups = groups;
        self
    }
    /// Sets the output padding of a transposed convolution.
    pub fn output_padding(mut self, output_padding: impl IntoPair) -> Self {
        self.output_padding = output_padding.into_pair();
        self
    }
}

/// The output size of a convolution along one axis (formula 5.2.3 of the
/// course, with dilation): floor((W + 2P - D (K - 1) - 1) / S) + 1, or
/// `None` when the padded input is smaller than the dilated kernel.
pub fn conv_output_size(
    input: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    dilation: usize,
) -> Option<usize> {
    let span = dilation * (kernel.max(1) - 1) + 1;
    let padded = input + 2 * padding;
    (padded >= span && stride > 0).then(|| (padded - span) / stride + 1)
}

fn conv2d_recorded<T: Float>(x: &Tensor<T>, w: &Tensor<T>, g: ConvGeometry) -> Tensor<T> {
    conv2d_bias_recorded(x, w, None, g)
}

/// The convolution with its bias added in the same pass over the output
/// (while it is still in cache); the bias's gradient is the upstream
/// gradient summed over batch and pixels.
fn conv2d_bias_recorded<T: Float>(
    x: &Tensor<T>,
    w: &Tensor<T>,
    b: Option<&Tensor<T>>,
    g: ConvGeometry,
) -> Tensor<T> {
    let out = backend::conv2d(x, w, b, &g);
    let (xc, wc, has_bias) = (x.clone(), w.clone(), b.is_some());
    let inputs: Vec<&Tensor<T>> = [x, w].into_iter().chain(b).collect();
    record("Conv2d", out, &inputs, move |ctx| {
        let dy = ctx.grad();
        let mut grads = vec![
            ctx.needs_input_grad(0).then(|| conv2d_input_recorded(dy, &wc, g)),
            ctx.needs_input_grad(1)
                .then(|| conv2d_weight_recorded(&xc, dy, g)),
        ];
        if has_bias {
            grads.push(ctx.needs_input_grad(2).then(|| dy.sum_dims(&[0, 2, 3], false)));
        }
        grads
    })
}

/// The adjoint of the convolution in its input: `[N, C', OH, OW]` to `[N, C, H, W]`.
fn conv2d_input_recorded<T: Float>(dy: &Tensor<T>, w: &Tensor<T>, g: ConvGeometry) -> Tensor<T> {
    let out = backend::conv2d_input_grad(dy, w, &g);
    let (dyc, wc) = (dy.clone(), w.clone());
    record("ConvTranspose2d", out, &[dy, w], move |ctx| {
        let gg = ctx.grad();
        vec![
            ctx.needs_input_grad(0).then(|| conv2d_recorded(gg, &wc, g)),
            ctx.needs_input_grad(1)
                .then(|| conv2d_weight_recorded(gg, &dyc, g)),
        ]
    })
}

/// The weight gradient of the convolution: `[C', C/g, kh, kw]` from `x` and `dy`.
fn conv2d_weight_recorded<T: Float>(x: &Tensor<T>, dy: &Tensor<T>, g: ConvGeometry) -> Tensor<T> {
    let out = backend::conv2d_weight_grad(x, dy, &g);
    let (xc, dyc) = (x.clone(), dy.clone());
    record("Conv2dWeightGrad", out, &[x, dy], move |ctx| {
        let v = ctx.grad();
        vec![
            ctx.needs_input_grad(0).then(|| conv2d_input_recorded(&dyc, v, g)),
            ctx.needs_input_grad(1).then(|| conv2d_recorded(&xc, v, g)),
        ]
    })
}

fn check_channel_bias<T: Float>(op: &str, bias: &Tensor<T>, channels: usize) {
    assert!(
        bias.shape() == [channels],
        "{op}: bias of shape {:?} for {channels} output channels",
        bias.shape()
    );
}

fn add_channel_bias<T: Float>(
    op: &str,
    out: Tensor<T>,
    bias: Option<&Tensor<T>>,
    channels: usize,
) -> Tensor<T> {
    match bias {
        None => out,
        Some(b) => {
            check_channel_bias(op, b, channels);
            &out + &b.reshape(&[1, channels, 1, 1])
        }
    }
}

impl<T: Float> Tensor<T> {
    /// 2-D convolution (cross-correlation, as in PyTorch) of an input
    /// `[N, C, H, W]` with a bank of kernels `[C', C / groups, kh, kw]`, plus
    /// an optional bias `[C']`. The output is `[N, C', OH, OW]` with
    /// OH = floor((H + 2 ph - dh (kh - 1) - 1) / sh) + 1, likewise OW.
    ///
    /// ```
    /// use nabla::{Conv2dOptions, Tensor};
    /// let x = Tensor::<f32>::ones(&[1, 1, 4, 4]);
    /// let w = Tensor::<f32>::ones(&[1, 1, 3, 3]);
    /// let y = x.conv2d(&w, None, Conv2dOptions::default().padding(1));
    /// assert_eq!(y.shape(), &[1, 1, 4, 4]);
    /// assert_eq!(y.at(&[0, 0, 0, 0]), 4.0); // a corner sees 2x2 ones
    /// assert_eq!(y.at(&[0, 0, 1, 1]), 9.0);
    /// ```
    ///
    /// # Panics
    /// If the shapes do not fit (naming both), or the padded input is
    /// smaller than the dilated kernel.
    pub fn conv2d(&self, weight: &Tensor<T>, bias: Option<&Tensor<T>>, options: Conv2dOptions) -> Tensor<T> {
        let g = conv2d_geometry("conv2d", self.shape(), weight.shape(), options);
        if let Some(b) = bias {
            check_channel_bias("conv2d", b, g.out_channels);
        }
        conv2d_bias_recorded(self, weight, bias, g)
    }

    /// 2-D transposed convolution of `[N, C_in, H, W]` with weights
    /// `[C_in, C_out / groups, kh, kw]` (PyTorch's layout), giving
    /// `[N, C_out, H', W']` with H' = (H - 1) sh - 2 ph + dh (kh - 1) + oph + 1.
    /// It is the adjoint of `conv2d` in its input: what upsampling decoders
    /// (autoencoders, GANs) use.
    ///
    /// # Panics
    /// If the shapes do not fit, naming both.
    pub fn conv_transpose2d(
        &self,
        weight: &Tensor<T>,
        bias: Option<&Tensor<T>>,
        options: Conv2dOptions,
    ) -> Tensor<T> {
        let (xs, ws) = (self.shape(), weight.shape());
        assert!(
            xs.len() == 4 && ws.len() == 4 && ws[0] == xs[1] && options.groups > 0 && xs[1] % options.groups == 0,
            "conv_transpose2d: input {xs:?} does not fit weight {ws:?} with {} groups (expected input [N, {}, H, W])",
            options.groups,
            ws.first().copied().unwrap_or(0)
        );
        assert!(
            ws[2] > 0 && ws[3] > 0,
            "conv_transpose2d: the kernel of weight {ws:?} has no taps (kernel sizes must be positive)"
        );
        let size = |i: usize, axis: usize| {
            let (s, p, d, op) = (
                [options.stride.0, options.stride.1][axis],
                [options.padding.0, options.padding.1][axis],
                [options.dilation.0, options.dilation.1][axis],
                [options.output_padding.0, options.output_padding.1][axis],
            );
            let k = ws[2 + axis];
            let full = (i - 1) * s + d * (k - 1) + op + 1;
            assert!(
                full > 2 * p && op < s.max(d),
                "conv_transpose2d: input {xs:?} with kernel {ws:?}, padding {p} and output padding {op} has no valid output size"
            );
            full - 2 * p
        };
        let (h, w) = (size(xs[2], 0), size(xs[3], 1));
        let out_channels = ws[1] * options.groups;
        let g = ConvGeometry {
            batch: xs[0],
            in_channels: out_channels,
            out_channels: xs[1],
            groups: options.groups,
            input: (h, w),
            kernel: (ws[2], ws[3]),
            output: (xs[2], xs[3]),
            stride: options.stride,
            padding: options.padding,
            dilation: options.dilation,
        };
        let out = conv2d_input_recorded(self, weight, g);
        add_channel_bias("conv_transpose2d", out, bias, out_channels)
    }

    /// 1-D convolution of `[N, C, L]` with kernels `[C', C / groups, k]`
    /// (plus bias `[C']`), giving `[N, C', L']`; the same machinery as
    /// [`conv2d`](Tensor::conv2d) on a height of 1. Options apply to the
    /// length axis (their width component).
    pub fn conv1d(&self, weight: &Tensor<T>, bias: Option<&Tensor<T>>, options: Conv2dOptions) -> Tensor<T> {
        let (xs, ws) = (self.shape(), weight.shape());
        assert!(
            xs.len() == 3 && ws.len() == 3,
            "conv1d: expects input [N, C, L] and weight [C', C/groups, k], got {xs:?} and {ws:?}"
        );
        let options = Conv2dOptions {
            stride: (1, options.stride.1),
            padding: (0, options.padding.1),
            dilation: (1, options.dilation.1),
            ..options
        };
        let y = self.unsqueeze(2).conv2d(&weight.unsqueeze(2), bias, options);
        y.squeeze(2)
    }
}

/// A convolution with zeros added on each side, `(top, bottom, left,
/// right)`: the input it reads and its geometry. Equal sides are the
/// convolution's own padding; unequal ones a recorded `pad` of the input,
/// except for a depthwise convolution (`groups = C = C'`), whose kernels
/// take any output size and read zeros wherever a tap falls outside the
/// image: its geometry carries the leading padding and the output size of
/// the whole padded input, with no padded copy.
///
/// # Panics
/// If the shapes do not fit, naming both.
pub(crate) fn conv2d_sides<T: Float>(
    x: &Tensor<T>,
    weight: &Tensor<T>,
    options: Conv2dOptions,
    (top, bottom, left, right): (usize, usize, usize, usize),
) -> (Tensor<T>, ConvGeometry) {
    if top == bottom && left == right {
        let g = conv2d_geometry("conv2d", x.shape(), weight.shape(), options.padding((top, left)));
        return (x.clone(), g);
    }
    let xs = x.shape();
    assert!(xs.len() == 4, "conv2d: expects input [N, C, H, W], got {xs:?}");
    let padded = [xs[0], xs[1], xs[2] + top + bottom, xs[3] + left + right];
    let mut g = conv2d_geometry("conv2d", &padded, weight.shape(), options.padding(0));
    if !g.is_depthwise() {
        return (x.pad(&[left, right, top, bottom], T::zero()), g);
    }
    g.input = (xs[2], xs[3]);
    g.padding = (top, left);
    (x.clone(), g)
}

/// The recorded convolution of `x` with `weight` (plus `bias`) on a
/// geometry from [`conv2d_sides`].
///
/// # Panics
/// If the bias is not `[C']`.
pub(crate) fn conv2d_on<T: Float>(
    x: &Tensor<T>,
    weight: &Tensor<T>,
    bias: Option<&Tensor<T>>,
    g: ConvGeometry,
) -> Tensor<T> {
    if let Some(b) = bias {
        check_channel_bias("conv2d", b, g.out_channels);
    }
    conv2d_bias_recorded(x, weight, bias, g)
}

fn conv2d_geometry(op: &str, xs: &[usize], ws: &[usize], o: Conv2dOptions) -> ConvGeometry {
    assert!(
        xs.len() == 4 && ws.len() == 4,
        "{op}: expects input [N, C, H, W] and weight [C', C/groups, kh, kw], got {xs:?} and {ws:?}"
    );
    assert!(
        o.groups > 0 && xs[1] % o.groups == 0 && ws[0] % o.groups == 0 && ws[1] * o.groups == xs[1],
        "{op}: input {xs:?} does not fit weight {ws:?} with {} groups (the weight needs {} input channels per group)",
        o.groups,
        xs[1] / o.groups.max(1)
    );
    assert!(
        ws[2] > 0 && ws[3] > 0,
        "{op}: the kernel of weight {ws:?} has no taps (kernel sizes must be positive)"
    );
    assert!(
        o.stride.0 > 0 && o.stride.1 > 0,
        "{op}: stride must be positive, got {:?}",
        o.stride
    );
    assert!(
        o.dilation.0 > 0 && o.dilation.1 > 0,
        "{op}: dilation must be positive, got {:?}",
        o.dilation
    );
    let oh = conv_output_size(xs[2], ws[2], o.stride.0, o.padding.0, o.dilation.0);
    let ow = conv_output_size(xs[3], ws[3], o.stride.1, o.padding.1, o.dilation.1);
    let (Some(oh), Some(ow)) = (oh, ow) else {
        panic!(
            "{op}: input {xs:?} with padding {:?} is smaller than kernel {ws:?} with dilation {:?}",
            o.padding, o.dilation
        );
    };
    ConvGeometry {
        batch: xs[0],
        in_channels: xs[1],
        out_channels: ws[0],
        groups: o.groups,
        input: (xs[2], xs[3]),
        kernel: (ws[2], ws[3]),
        output: (oh, ow),
        stride: o.stride,
        padding: o.padding,
        dilation: o.dilation,
    }
}
