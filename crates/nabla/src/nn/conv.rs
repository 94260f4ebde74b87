//! Convolution layers (section 5.2 of the course): a bank of kernels slid
//! over the input, with padding, stride, dilation and groups.

use super::init::{kaiming_uniform_, uniform_, FanMode};
use super::{Geometry, Layer, Module, Summarize};
use crate::backend;
use crate::element::Float;
use crate::ops::conv::{conv2d_on, conv2d_sides};
use crate::ops::{conv_output_size, Conv2dOptions, IntoPair};
use crate::tensor::{Generator, Tensor};

/// How much zero padding a convolution layer adds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    /// This many zeros on each side, `(h, w)`.
    Explicit(usize, usize),
    /// As many as keep the output the size of the input at stride 1
    /// (section 5.2.5: P = D (K - 1) / 2, for odd kernels).
    Same,
    /// Zeros on each side separately, as `nn.ZeroPad2d((left, right, top,
    /// bottom))` before a convolution in PyTorch: TensorFlow's "same"
    /// padding at stride 2 puts the extra row and column at the bottom and
    /// right (EfficientNet-Lite's `Conv2dStaticSamePadding`). When both
    /// pairs are equal this is [`Padding::Explicit`].
    Sides {
        /// Rows above.
        top: usize,
        /// Rows below.
        bottom: usize,
        /// Columns on the left.
        left: usize,
        /// Columns on the right.
        right: usize,
    },
}

impl From<usize> for Padding {
    fn from(p: usize) -> Self {
        Padding::Explicit(p, p)
    }
}

impl From<(usize, usize)> for Padding {
    fn from((h, w): (usize, usize)) -> Self {
        Padding::Explicit(h, w)
    }
}

/// Kernel-bank weights `[C_a, C_b / groups, k...]` and a bias, initialised as
/// PyTorch does for its convolutions: Kaiming-uniform with a = sqrt(5)
/// (U(-1/sqrt(fan_in), 1/sqrt(fan_in))) and the bias from the same range.
fn conv_parameters<T: Float>(
    shape: &[usize],
    bias_len: usize,
    bias: bool,
    generator: &mut Generator,
) -> (Tensor<T>, Option<Tensor<T>>) {
    let weight = Tensor::zeros(shape);
    kaiming_uniform_(&weight, 5f64.sqrt(), FanMode::FanIn, "leaky_relu", generator);
    let fan_in: usize = shape[1..].iter().product();
    let bias = bias.then(|| {
        let b = Tensor::zeros(&[bias_len]);
        let bound = if fan_in > 0 {
            1.0 / (fan_in as f64).sqrt()
        } else {
            0.0
        };
        uniform_(&b, -bound, bound, generator);
        b.requires_grad()
    });
    (weight.requires_grad(), bias)
}

/// Panics unless both channel counts split into `groups` equal groups.
fn check_groups(layer: &str, in_channels: usize, out_channels: usize, groups: usize) {
    assert!(
        groups > 0 && in_channels % groups == 0 && out_channels % groups == 0,
        "{layer}({in_channels}, {out_channels}): channels must be divisible by groups = {groups}"
    );
}

/// Multiply-adds of a convolution: every output element takes one product
/// per weight element of its group (`C / groups * k...`).
fn kernel_multiply_adds<T: Float>(weight: &Tensor<T>, output: &[usize]) -> usize {
    output.iter().product::<usize>() * weight.shape()[1..].iter().product::<usize>()
}

/// A 2-D convolution layer, as `torch.nn.Conv2d`: input `[N, C, H, W]`,
/// a bank of `C'` kernels `weight [C', C / groups, kh, kw]`, bias `[C']`,
/// output `[N, C', H', W']` with H' = floor((H + 2P - D (K - 1) - 1) / S) + 1.
///
/// ```
/// use nabla::nn::{Conv2d, Layer, Padding};
/// use nabla::{Generator, Tensor};
/// let conv: Conv2d = Conv2d::new(1, 6, 5, &mut Generator::new(0)).padding(Padding::Same);
/// let y = conv.forward(&Tensor::zeros(&[2, 1, 28, 28]));
/// assert_eq!(y.shape(), &[2, 6, 28, 28]);
/// assert_eq!(conv.weight.shape(), &[6, 1, 5, 5]);
/// ```
#[derive(Module)]
#[module(custom_summary)]
pub struct Conv2d<T: Float = f32> {
    /// `[out_channels, in_channels / groups, kh, kw]`.
    pub weight: Tensor<T>,
    /// `[out_channels]`, if the layer has a bias.
    pub bias: Option<Tensor<T>>,
    /// Stride, dilation and groups (its padding is set from `padding`).
    #[module(skip)]
    pub options: Conv2dOptions,
    /// The zero padding.
    #[module(skip)]
    pub padding: Padding,
}

impl<T: Float> Conv2d<T> {
    /// A layer from `in_channels` to `out_channels` with square (`5`) or
    /// rectangular (`(3, 5)`) kernels, stride 1, no padding, with bias.
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel: impl IntoPair,
        generator: &mut Generator,
    ) -> Self {
        Self::with_options(
            in_channels,
            out_channels,
            kernel,
            Conv2dOptions::default(),
            true,
            generator,
        )
    }

    /// A layer with the given stride, dilation and groups (and explicit
    /// padding from `options.padding`), with or without bias.
    ///
    /// # Panics
    /// If the channel counts are not divisible by `groups`.
    pub fn with_options(
        in_channels: usize,
        out_channels: usize,
        kernel: impl IntoPair,
        options: Conv2dOptions,
        bias: bool,
        generator: &mut Generator,
    ) -> Self {
        let (kh, kw) = kernel.into_pair();
        let groups = options.groups;
        check_groups("Conv2d", in_channels, out_channels, groups);
        let (weight, bias) = conv_parameters(
            &[out_channels, in_channels / groups, kh, kw],
            out_channels,
            bias,
            generator,
        );
        Conv2d {
            weight,
            bias,
            options,
            padding: Padding::Explicit(options.padding.0, options.padding.1),
        }
    }

    /// The layer with another padding (`1`, `(1, 2)` or `Padding::Same`).
    pub fn padding(mut self, padding: impl Into<Padding>) -> Self {
        self.padding = padding.into();
        self
    }

    /// The layer with another stride.
    pub fn stride(mut self, stride: impl IntoPair) -> Self {
        self.options.stride = stride.into_pair();
        self
    }

    /// `(kh, kw)`.
    pub fn kernel_size(&self) -> (usize, usize) {
        (self.weight.shape()[2], self.weight.shape()[3])
    }

    /// The padding actually applied, `(ph, pw)` on both sides.
    ///
    /// # Panics
    /// For `Padding::Same` with an even kernel or a stride other than 1,
    /// where no symmetric padding keeps the size, and for
    /// `Padding::Sides` with unequal sides (see
    /// [`padding_sides`](Self::padding_sides)).
    pub fn resolved_padding(&self) -> (usize, usize) {
        let (top, bottom, left, right) = self.padding_sides();
        assert!(
            top == bottom && left == right,
            "Conv2d: the padding {:?} is not the same on both sides",
            self.padding
        );
        (top, left)
    }

    /// The zeros added on each side, `(top, bottom, left, right)`.
    ///
    /// # Panics
    /// For `Padding::Same` with an even kernel or a stride other than 1.
    pub fn padding_sides(&self) -> (usize, usize, usize, usize) {
        match self.padding {
            Padding::Explicit(h, w) => (h, h, w, w),
            Padding::Sides {
                top,
                bottom,
                left,
                right,
            } => (top, bottom, left, right),
            Padding::Same => {
                let (kh, kw) = self.kernel_size();
                let (dh, dw) = self.options.dilation;
                assert!(
                    self.options.stride == (1, 1) && (dh * (kh - 1)) % 2 == 0 && (dw * (kw - 1)) % 2 == 0,
                    "Conv2d: padding 'same' needs stride 1 and odd (dilated) kernels, got kernel {:?} stride {:?}",
                    (kh, kw),
                    self.options.stride
                );
                let (h, w) = (dh * (kh - 1) / 2, dw * (kw - 1) / 2);
                (h, h, w, w)
            }
        }
    }

    /// The output `(H', W')` for an input of `(H, W)`, if the input is large enough.
    pub fn output_size(&self, input: (usize, usize)) -> Option<(usize, usize)> {
        let (kh, kw) = self.kernel_size();
        let (top, bottom, left, right) = self.padding_sides();
        let o = &self.options;
        Some((
            conv_output_size(input.0 + top + bottom, kh, o.stride.0, 0, o.dilation.0)?,
            conv_output_size(input.1 + left + right, kw, o.stride.1, 0, o.dilation.1)?,
        ))
    }
}

impl<T: Float> Summarize<T> for Conv2d<T> {
    fn describe(&self) -> String {
        let w = self.weight.shape();
        let (top, bottom, left, right) = self.padding_sides();
        let padding = if top == bottom && left == right {
            format!("({top}, {left})")
        } else {
            format!("(top={top}, bottom={bottom}, left={left}, right={right})")
        };
        let groups = match self.options.groups {
            1 => String::new(),
            g => format!(", groups={g}"),
        };
        format!(
            "Conv2d({}, {}, kernel={:?}, stride={:?}, padding={padding}{groups})",
            w[1] * self.options.groups,
            w[0],
            self.kernel_size(),
            self.options.stride,
        )
    }

    fn geometry(&self) -> Geometry {
        // The leading sides place the receptive field; the trailing ones
        // only add columns the last windows may read.
        let (top, _, left, _) = self.padding_sides();
        Geometry::Window {
            kernel: self.kernel_size(),
            stride: self.options.stride,
            padding: (top, left),
            dilation: self.options.dilation,
        }
    }

    fn multiply_adds(&self, _input: &[usize], output: &[usize]) -> usize {
        kernel_multiply_adds(&self.weight, output)
    }
}

impl<T: Float> Conv2d<T> {
    /// Panics, naming the layer, unless `input` is `[N, C, H, W]` with this
    /// layer's `C` and large enough for its kernel.
    fn check_input(&self, input: &Tensor<T>) {
        let (out_c, in_c) = (
            self.weight.shape()[0],
            self.weight.shape()[1] * self.options.groups,
        );
        let s = input.shape();
        assert!(
            s.len() == 4 && s[1] == in_c,
            "Conv2d({in_c}, {out_c}): expects input [N, {in_c}, H, W], got {s:?}"
        );
        let Some(_) = self.output_size((s[2], s[3])) else {
            panic!(
                "Conv2d({in_c}, {out_c}): input {s:?} with padding {:?} is smaller than the {:?} kernel",
                self.padding_sides(),
                self.kernel_size()
            );
        };
    }

    /// The forward pass, then `(v - center[c]) * scale[c] + shift[c]` on
    /// every value of output channel `c` and the clamp, inside the
    /// convolution while each channel is in cache (evaluation-mode
    /// BatchNorm after this layer). Unrecorded: for inference only.
    pub(crate) fn forward_channel_affine(
        &self,
        input: &Tensor<T>,
        per_channel: [&Tensor<T>; 3],
        clamp: Option<(f64, f64)>,
    ) -> Tensor<T> {
        self.check_input(input);
        let (x, g) = conv2d_sides(input, &self.weight, self.options, self.padding_sides());
        backend::conv2d_channel_affine(&x, &self.weight, self.bias.as_ref(), &g, per_channel, clamp)
    }
}

impl<T: Float> Layer<T> for Conv2d<T> {
    fn forward(&self, input: &Tensor<T>) -> Tensor<T> {
        self.check_input(input);
        let (x, g) = conv2d_sides(input, &self.weight, self.options, self.padding_sides());
        conv2d_on(&x, &self.weight, self.bias.as_ref(), g)
    }
}

/// A 1-D convolution layer, as `torch.nn.Conv1d`: input `[N, C, L]`,
/// weight `[C', C / groups, k]`, bias `[C']`, output `[N, C', L']`.
#[derive(Module)]
#[module(custom_summary)]
pub struct Conv1d<T: Float = f32> {
    /// `[out_channels, in_channels / groups, k]`.
    pub weight: Tensor<T>,
    /// `[out_channels]`, if the layer has a bias.
    pub bias: Option<Tensor<T>>,
    /// Stride, padding, dilation (their width components) and groups.
    #[module(skip)]
    pub options: Conv2dOptions,
}

impl<T: Float> Conv1d<T> {
    /// A layer from `in_channels` to `out_channels` with kernels of length
    /// `kernel`; `options` give stride, padding, dilation and groups.
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel: usize,
        options: Conv2dOptions,
        bias: bool,
        generator: &mut Generator,
    ) -> Self {
        let groups = options.groups;
        check_groups("Conv1d", in_channels, out_channels, groups);
        let (weight, bias) = conv_parameters(
            &[out_channels, in_channels / groups, kernel],
            out_channels,
            bias,
            generator,
        );
        Conv1d {
            weight,
            bias,
            options,
        }
    }
}

impl<T: Float> Summarize<T> for Conv1d<T> {
    fn describe(&self) -> String {
        let w = self.weight.shape();
        format!(
            "Conv1d({}, {}, kernel={})",
            w[1] * self.options.groups,
            w[0],
            w[2]
        )
    }

    fn geometry(&self) -> Geometry {
        let o = &self.options;
        Geometry::Window {
            kernel: (1, self.weight.shape()[2]),
            stride: (1, o.stride.1),
            padding: (0, o.padding.1),
            dilation: (1, o.dilation.1),
        }
    }

    fn multiply_adds(&self, _input: &[usize], output: &[usize]) -> usize {
        kernel_multiply_adds(&self.weight, output)
    }
}

impl<T: Float> Layer<T> for Conv1d<T> {
    fn forward(&self, input: &Tensor<T>) -> Tensor<T> {
        input.conv1d(&self.weight, self.bias.as_ref(), self.options)
    }
}

/// A 2-D transposed convolution layer, as `torch.nn.ConvTranspose2d`:
/// input `[N, C_in, H, W]`, weight `[C_in, C_out / groups, kh, kw]`, bias
/// `[C_out]`, output `[N, C_out, H', W']` with
/// H' = (H - 1) S - 2P + D (K - 1) + output_padding + 1: the upsampling
/// layer of decoders.
///
/// ```
/// use nabla::nn::{ConvTranspose2d, Layer};
/// use nabla::{Conv2dOptions, Generator, Tensor};
/// let up: ConvTranspose2d = ConvTranspose2d::new(8, 4, 2, Conv2dOptions::default().stride(2), true, &mut Generator::new(0));
/// assert_eq!(up.forward(&Tensor::zeros(&[1, 8, 7, 7])).shape(), &[1, 4, 14, 14]);
/// ```
#[derive(Module)]
#[module(custom_summary)]
pub struct ConvTranspose2d<T: Float = f32> {
    /// `[in_channels, out_channels / groups, kh, kw]`.
    pub weight: Tensor<T>,
    /// `[out_channels]`, if the layer has a bias.
    pub bias: Option<Tensor<T>>,
    /// Stride, padding, output padding, dilation and groups.
    #[module(skip)]
    pub options: Conv2dOptions,
}

impl<T: Float> ConvTranspose2d<T> {
    /// A layer from `in_channels` to `out_channels`, initialised as PyTorch
    /// does (its fan-in is computed from the weight's dimension 1, so it is
    /// `out_channels / groups * kh * kw`).
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel: impl IntoPair,
        options: Conv2dOptions,
        bias: bool,
        generator: &mut Generator,
    ) -> Self {
        let (kh, kw) = kernel.into_pair();
        let groups = options.groups;
        check_groups("ConvTranspose2d", in_channels, out_channels, groups);
        let (weight, bias) = conv_parameters(
            &[in_channels, out_channels / groups, kh, kw],
            out_channels,
            bias,
            generator,
        );
        ConvTranspose2d {
            weight,
            bias,
            options,
        }
    }
}

impl<T: Float> Summarize<T> for ConvTranspose2d<T> {
    fn describe(&self) -> String {
        let w = self.weight.shape();
        format!(
            "ConvTranspose2d({}, {}, kernel={:?}, stride={:?})",
            w[0],
            w[1] * self.options.groups,
            (w[2], w[3]),
            self.options.stride
        )
    }

    fn geometry(&self) -> Geometry {
        // Each output sees ceil(K / S) inputs; as a field on the model's
        // input, an upsampling layer is not a window in the usual sense.
        Geometry::Unknown
    }

    fn multiply_adds(&self, input: &[usize], _output: &[usize]) -> usize {
        // The adjoint of a convolution: one product per input element and weight element.
        kernel_multiply_adds(&self.weight, input)
    }
}

impl<T: Float> Layer<T> for ConvTranspose2d<T> {
    fn forward(&self, input: &Tensor<T>) -> Tensor<T> {
        input.conv_transpose2d(&self.weight, self.bias.as_ref(), self.options)
    }
}
