//! Pooling layers (section 5.3 of the course): downsampling without
//! parameters, by the maximum or the mean of each window.

use super::{Geometry, Layer, Module, Summarize};
use crate::element::Float;
use crate::ops::{IntoPair, Pool2dOptions};
use crate::tensor::Tensor;

/// 2-D max pooling, as `torch.nn.MaxPool2d`: input `[N, C, H, W]` (or
/// `[C, H, W]`), output `[N, C, OH, OW]` with
/// OH = floor((H + 2P - D (K - 1) - 1) / S) + 1 (the ceiling with
/// `ceil_mode`), likewise OW. The stride defaults to the kernel size and
/// the padding is `-inf`. See [`Tensor::max_pool2d`].
///
/// ```
/// use nabla::nn::{Layer, MaxPool2d};
/// use nabla::{Pool2dOptions, Tensor};
/// let x = Tensor::<f32>::zeros(&[8, 16, 28, 28]);
/// assert_eq!(MaxPool2d::new(2).forward(&x).shape(), &[8, 16, 14, 14]);
/// let overlapping = MaxPool2d::new(Pool2dOptions::new(3).stride(2).padding(1));
/// assert_eq!(overlapping.forward(&x).shape(), &[8, 16, 14, 14]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Module)]
#[module(custom_summary)]
pub struct MaxPool2d {
    /// Kernel, stride, padding, dilation, `ceil_mode`.
    #[module(skip)]
    pub options: Pool2dOptions,
}

impl MaxPool2d {
    /// A max pooling with these options (or just a kernel size: `new(2)`).
    pub fn new(options: impl Into<Pool2dOptions>) -> Self {
        MaxPool2d {
            options: options.into(),
        }
    }
}

impl<T: Float> Summarize<T> for MaxPool2d {
    fn describe(&self) -> String {
        let o = &self.options;
        let mut s = format!(
            "MaxPool2d(kernel={:?}, stride={:?}, padding={:?}",
            o.kernel, o.stride, o.padding
        );
        if o.dilation != (1, 1) {
            s += &format!(", dilation={:?}", o.dilation);
        }
        if o.ceil_mode {
            s += ", ceil_mode=true";
        }
        s + ")"
    }

    fn geometry(&self) -> Geometry {
        let o = &self.options;
        Geometry::Window {
            kernel: o.kernel,
            stride: o.stride,
            padding: o.padding,
            dilation: o.dilation,
        }
    }
}

impl<T: Float> Layer<T> for MaxPool2d {
    fn forward(&self, input: &Tensor<T>) -> Tensor<T> {
        input.max_pool2d(self.options)
    }
}

/// 2-D average pooling, as `torch.nn.AvgPool2d`: input `[N, C, H, W]` (or
/// `[C, H, W]`), output `[N, C, OH, OW]` sized as for [`MaxPool2d`]. The
/// padding is zeros, counted in the divisor unless `count_include_pad` is
/// turned off. See [`Tensor::avg_pool2d`].
///
/// ```
/// use nabla::nn::{AvgPool2d, Layer};
/// use nabla::{Pool2dOptions, Tensor};
/// let x = Tensor::<f64>::ones(&[1, 2, 4, 4]);
/// let pool = AvgPool2d::new(Pool2dOptions::new(2).padding(1));
/// let y = pool.forward(&x);
/// assert_eq!(y.shape(), &[1, 2, 3, 3]);
/// assert_eq!(y.at(&[0, 0, 0, 0]), 0.25); // one input, three padding zeros
/// let y = AvgPool2d::new(Pool2dOptions::new(2).padding(1).count_include_pad(false)).forward(&x);
/// assert_eq!(y.at(&[0, 0, 0, 0]), 1.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Module)]
#[module(custom_summary)]
pub struct AvgPool2d {
    /// Kernel, stride, padding, `ceil_mode`, `count_include_pad`.
    #[module(skip)]
    pub options: Pool2dOptions,
}

impl AvgPool2d {
    /// An average pooling with these options (or just a kernel size).
    pub fn new(options: impl Into<Pool2dOptions>) -> Self {
        AvgPool2d {
            options: options.into(),
        }
    }
}

impl<T: Float> Summarize<T> for AvgPool2d {
    fn describe(&self) -> String {
        let o = &self.options;
        let mut s = format!(
            "AvgPool2d(kernel={:?}, stride={:?}, padding={:?}",
            o.kernel, o.stride, o.padding
        );
        if o.ceil_mode {
            s += ", ceil_mode=true";
        }
        if !o.count_include_pad {
            s += ", count_include_pad=false";
        }
        s + ")"
    }

    fn geometry(&self) -> Geometry {
        let o = &self.options;
        Geometry::Window {
            kernel: o.kernel,
            stride: o.stride,
            padding: o.padding,
            dilation: (1, 1),
        }
    }
}

impl<T: Float> Layer<T> for AvgPool2d {
    fn forward(&self, input: &Tensor<T>) -> Tensor<T> {
        input.avg_pool2d(self.options)
    }
}

/// Adaptive 2-D average pooling, as `torch.nn.AdaptiveAvgPool2d`: input
/// `[N, C, H, W]` (or `[C, H, W]`) of any spatial size, output
/// `[N, C, OH, OW]` of a fixed size, output `(i, j)` averaging rows
/// floor(i H / OH) to ceil((i + 1) H / OH) and likewise columns. With
/// output size 1 it is global average pooling, the usual head of a CNN
/// before its classifier. See [`Tensor::adaptive_avg_pool2d`].
///
/// ```
/// use nabla::nn::{AdaptiveAvgPool2d, Flatten, Layer};
/// use nabla::Tensor;
/// let features = Tensor::<f32>::ones(&[4, 64, 7, 9]);
/// let gap = AdaptiveAvgPool2d::new(1);
/// let pooled = gap.forward(&features);
/// assert_eq!(pooled.shape(), &[4, 64, 1, 1]);
/// assert_eq!(Flatten::default().forward(&pooled).shape(), &[4, 64]);
/// assert_eq!(AdaptiveAvgPool2d::new((2, 3)).forward(&features).shape(), &[4, 64, 2, 3]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Module)]
#[module(custom_summary)]
pub struct AdaptiveAvgPool2d {
    /// The output's `(height, width)`.
    pub output_size: (usize, usize),
}

impl AdaptiveAvgPool2d {
    /// Pools to `output_size` (one number for a square output).
    pub fn new(output_size: impl IntoPair) -> Self {
        AdaptiveAvgPool2d {
            output_size: output_size.into_pair(),
        }
    }
}

impl<T: Float> Summarize<T> for AdaptiveAvgPool2d {
    fn describe(&self) -> String {
        format!("AdaptiveAvgPool2d(output_size={:?})", self.output_size)
    }

    /// Global for a 1x1 output; otherwise the windows depend on the input
    /// size, which the layer does not know.
    fn geometry(&self) -> Geometry {
        if self.output_size == (1, 1) {
            Geometry::Global
        } else {
            Geometry::Unknown
        }
    }
}

impl<T: Float> Layer<T> for AdaptiveAvgPool2d {
    fn forward(&self, input: &Tensor<T>) -> Tensor<T> {
        input.adaptive_avg_pool2d(self.output_size)
    }
}
