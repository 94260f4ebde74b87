//! Pooling (section 5.3 of the course): `max_pool2d`,
//! `max_pool2d_with_indices`, `avg_pool2d`, `adaptive_avg_pool2d`.
//!
//! Both kinds are closed under differentiation with a pair of recorded ops:
//!
//! - max pooling saves the position of each maximum; its backward
//!   *scatters* the upstream gradient to those positions, and the scatter's
//!   backward *gathers* by the same positions (and the gather's scatters),
//!   so max pooling has the second derivatives PyTorch gives it (zero in
//!   the input, the gather in the upstream gradient);
//! - average pooling is linear: its backward is its transpose (spread each
//!   gradient over its window), whose backward is the pooling again.

use std::sync::Arc;

use super::conv::IntoPair;
use crate::autograd::{is_grad_enabled, record};
use crate::backend::{
    self,
    ops::{AvgPlan, MaxPoolGeometry, EMPTY_WINDOW},
};
use crate::element::Float;
use crate::tensor::{IndexTensor, Tensor};

/// Kernel size, stride, padding, dilation and rounding of a 2-D pooling,
/// with PyTorch's defaults: the stride is the kernel size, no padding,
/// dilation 1, `ceil_mode` off, and `count_include_pad` on.
///
/// A plain size converts into options, so `x.max_pool2d(2)` is
/// `x.max_pool2d(Pool2dOptions::new(2))`.
///
/// ```
/// use nabla::Pool2dOptions;
/// let o = Pool2dOptions::new(3).stride(2).padding(1);
/// assert_eq!((o.kernel, o.stride, o.padding), ((3, 3), (2, 2), (1, 1)));
/// assert_eq!(Pool2dOptions::from((2, 4)).stride, (2, 4)); // stride = kernel
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool2dOptions {
    /// Window size, `(h, w)`.
    pub kernel: (usize, usize),
    /// Step between windows, `(h, w)`; defaults to the kernel size.
    pub stride: (usize, usize),
    /// Implicit padding on each side, `(h, w)`, at most half the kernel:
    /// `-inf` for max pooling, zeros for average pooling.
    pub padding: (usize, usize),
    /// Spacing between window taps, `(h, w)` (max pooling only).
    pub dilation: (usize, usize),
    /// Rounds the output size up instead of down, so that a partial window
    /// at the end is kept (if it starts inside the input or left padding).
    pub ceil_mode: bool,
    /// Average pooling: divide by the window size including the padding
    /// (`true`, the default) or by the number of input elements in the
    /// window. Ignored by max pooling.
    pub count_include_pad: bool,
}

impl Pool2dOptions {
    /// Options for a `kernel`-sized window, with stride = kernel.
    pub fn new(kernel: impl IntoPair) -> Self {
        let kernel = kernel.into_pair();
        Pool2dOptions {
            kernel,
            stride: kernel,
            padding: (0, 0),
            dilation: (1, 1),
            ceil_mode: false,
            count_include_pad: true,
        }
    }
    /// Sets the stride.
    pub fn stride(mut self, stride: impl IntoPair) -> Self {
        self.stride = stride.into_pair();
        self
    }
    /// Sets the padding.
    pub fn padding(mut self, padding: impl IntoPair) -> Self {
        self.padding = padding.into_pair();
        self
    }
    /// Sets the dilation (max pooling only).
    pub fn dilation(mut self, dilation: impl IntoPair) -> Self {
        self.dilation = dilation.into_pair();
        self
    }
    /// Sets `ceil_mode`.
    pub fn ceil_mode(mut self, ceil_mode: bool) -> Self {
        self.ceil_mode = ceil_mode;
        self
    }
    /// Sets `count_include_pad` (average pooling only).
    pub fn count_include_pad(mut self, count_include_pad: bool) -> Self {
        self.count_include_pad = count_include_pad;
        self
    }
}

impl From<usize> for Pool2dOptions {
    fn from(kernel: usize) -> Self {
        Pool2dOptions::new(kernel)
    }
}

impl From<(usize, usize)> for Pool2dOptions {
    fn from(kernel: (usize, usize)) -> Self {
        Pool2dOptions::new(kernel)
    }
}

/// The output size of a pooling along one axis, as PyTorch computes it:
/// floor((I + 2P - D (K - 1) - 1) / S) + 1, or with `ceil_mode` the
/// ceiling, less one if the last window would start past the input and
/// left padding. `None` when no window fits.
///
/// ```
/// use nabla::pool_output_size;
/// assert_eq!(pool_output_size(5, 2, 2, 0, 1, false), Some(2));
/// assert_eq!(pool_output_size(5, 2, 2, 0, 1, true), Some(3));
/// assert_eq!(pool_output_size(1, 2, 2, 0, 1, false), None);
/// ```
pub fn pool_output_size(
    input: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    dilation: usize,
    ceil_mode: bool,
) -> Option<usize> {
    if stride == 0 || kernel == 0 || dilation == 0 {
        return None;
    }
    let span = dilation * (kernel - 1) + 1;
    let padded = input + 2 * padding;
    let extra = if ceil_mode { stride - 1 } else { 0 };
    if padded + extra < span {
        return None;
    }
    let mut size = (padded + extra - span) / stride + 1;
    if ceil_mode && (size - 1) * stride >= input + padding {
        size -= 1;
    }
    (size > 0).then_some(size)
}

/// Checks a pooling's input and options like PyTorch does; returns the
/// leading dimensions `[N, C]` and the output size.
fn pool_geometry(op: &str, shape: &[usize], o: &Pool2dOptions) -> ([usize; 2], (usize, usize)) {
    assert!(
        shape.len() == 4,
        "{op}: expects input [N, C, H, W] or [C, H, W], got {shape:?}"
    );
    assert!(
        o.kernel.0 > 0 && o.kernel.1 > 0,
        "{op}: kernel size must be positive, got {:?}",
        o.kernel
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
    assert!(
        o.padding.0 <= o.kernel.0 / 2 && o.padding.1 <= o.kernel.1 / 2,
        "{op}: padding {:?} must be at most half of kernel {:?}",
        o.padding,
        o.kernel
    );
    let (h, w) = (shape[2], shape[3]);
    let oh = pool_output_size(h, o.kernel.0, o.stride.0, o.padding.0, o.dilation.0, o.ceil_mode);
    let ow = pool_output_size(w, o.kernel.1, o.stride.1, o.padding.1, o.dilation.1, o.ceil_mode);
    let (Some(oh), Some(ow)) = (oh, ow) else {
        panic!(
            "{op}: input {shape:?} with padding {:?} is smaller than kernel {:?} with dilation {:?}",
            o.padding, o.kernel, o.dilation
        );
    };
    ([shape[0], shape[1]], (oh, ow))
}

// ------------------------------------------------------------ max pooling

/// The max pooling, recorded; returns the output and the positions of the
/// maxima (internal form, with [`EMPTY_WINDOW`]) when asked for or needed
/// by backward.
fn max_pool2d_recorded<T: Float>(
    x: &Tensor<T>,
    g: MaxPoolGeometry,
    want_indices: bool,
) -> (Tensor<T>, Option<Arc<Vec<usize>>>) {
    let recording = is_grad_enabled() && x.is_requires_grad();
    let (out, indices) = backend::max_pool2d(x, &g, want_indices || recording);
    let indices = indices.map(Arc::new);
    let out = match &indices {
        Some(idx) if recording => {
            let idx = Arc::clone(idx);
            record("MaxPool2d", out, &[x], move |ctx| {
                vec![Some(scatter_recorded(ctx.grad(), &idx, g))]
            })
        }
        _ => out,
    };
    (out, indices)
}

/// Adds `dy [N, C, OH, OW]` at the saved positions of `[N, C, H, W]`.
fn scatter_recorded<T: Float>(dy: &Tensor<T>, indices: &Arc<Vec<usize>>, g: MaxPoolGeometry) -> Tensor<T> {
    let out = backend::max_pool2d_scatter(dy, indices, &g);
    let idx = Arc::clone(indices);
    record("MaxPool2dScatter", out, &[dy], move |ctx| {
        vec![Some(gather_recorded(ctx.grad(), &idx, g))]
    })
}

/// Reads `[N, C, H, W]` at the saved positions, giving `[N, C, OH, OW]`.
fn gather_recorded<T: Float>(v: &Tensor<T>, indices: &Arc<Vec<usize>>, g: MaxPoolGeometry) -> Tensor<T> {
    let out = backend::max_pool2d_gather(v, indices, &g);
    let idx = Arc::clone(indices);
    record("MaxPool2dGather", out, &[v], move |ctx| {
        vec![Some(scatter_recorded(ctx.grad(), &idx, g))]
    })
}

// -------------------------------------------------------- average pooling

/// Names of an average pooling's node and of its transpose's node.
type AvgNames = (&'static str, &'static str);

const AVG_POOL: AvgNames = ("AvgPool2d", "AvgPool2dTranspose");
const ADAPTIVE_AVG_POOL: AvgNames = ("AdaptiveAvgPool2d", "AdaptiveAvgPool2dTranspose");

/// The average pooling `plan` applied to `x [N, C, H, W]`, recorded.
fn avg_recorded<T: Float>(x: &Tensor<T>, plan: &Arc<AvgPlan>, names: AvgNames) -> Tensor<T> {
    let out = backend::avg_pool2d(x, plan);
    let p = Arc::clone(plan);
    record(names.0, out, &[x], move |ctx| {
        vec![Some(avg_transpose_recorded(ctx.grad(), &p, names))]
    })
}

/// The transpose of the average pooling `plan`: `[N, C, OH, OW]` to
/// `[N, C, H, W]`, recorded.
fn avg_transpose_recorded<T: Float>(dy: &Tensor<T>, plan: &Arc<AvgPlan>, names: AvgNames) -> Tensor<T> {
    let out = backend::avg_pool2d_transpose(dy, plan);
    let p = Arc::clone(plan);
    record(names.1, out, &[dy], move |ctx| {
        vec![Some(avg_recorded(ctx.grad(), &p, names))]
    })
}

impl<T: Float> Tensor<T> {
    /// 2-D max pooling of `[N, C, H, W]` (or `[C, H, W]`): each output is
    /// the maximum of a `kh x kw` window, padded with `-inf`, giving
    /// `[N, C, OH, OW]` with OH = floor((H + 2 ph - dh (kh - 1) - 1) / sh) + 1
    /// (the ceiling with `ceil_mode`; see [`pool_output_size`]), likewise OW.
    ///
    /// The gradient goes entirely to the maximum of each window; among
    /// equal maxima, to the first in row-major order (as PyTorch's CPU
    /// kernel). NaN propagates.
    ///
    /// ```
    /// use nabla::Tensor;
    /// let x = Tensor::from_vec((0..16).map(|v| v as f32).collect(), &[1, 1, 4, 4]).requires_grad();
    /// let y = x.max_pool2d(2);
    /// assert_eq!(y.to_vec(), vec![5.0, 7.0, 13.0, 15.0]);
    /// y.sum().backward();
    /// assert_eq!(x.grad().unwrap().at(&[0, 0, 1, 1]), 1.0);
    /// assert_eq!(x.grad().unwrap().at(&[0, 0, 0, 0]), 0.0);
    /// ```
    ///
    /// # Panics
    /// If the input is not 3-D or 4-D, a kernel size, stride or dilation is
    /// zero, the padding exceeds half the kernel, or no window fits.
    pub fn max_pool2d(&self, options: impl Into<Pool2dOptions>) -> Tensor<T> {
        self.max_pool2d_impl("max_pool2d", options.into(), false).0
    }

    /// [`max_pool2d`](Tensor::max_pool2d), also returning where each
    /// maximum is: its flat position `h * W + w` within its `H x W` plane,
    /// shaped as the output (PyTorch's `return_indices=True`, the input of
    /// `max_unpool2d`).
    ///
    /// ```
    /// use nabla::{Pool2dOptions, Tensor};
    /// let x = Tensor::from_vec(vec![1.0f32, 3.0, 3.0, 2.0, 0.0, 4.0], &[1, 2, 3]);
    /// let (y, idx) = x.max_pool2d_with_indices(Pool2dOptions::new((2, 2)).stride(1));
    /// assert_eq!(y.to_vec(), vec![3.0, 4.0]);
    /// assert_eq!(idx.to_vec(), vec![1, 5]); // of the tied 3s, the first
    /// assert_eq!(idx.shape(), &[1, 1, 2]);
    /// ```
    ///
    /// # Panics
    /// As [`max_pool2d`](Tensor::max_pool2d).
    pub fn max_pool2d_with_indices(&self, options: impl Into<Pool2dOptions>) -> (Tensor<T>, IndexTensor) {
        let (y, idx) = self.max_pool2d_impl("max_pool2d_with_indices", options.into(), true);
        (y, idx.expect("indices were asked for"))
    }

    fn max_pool2d_impl(
        &self,
        op: &str,
        o: Pool2dOptions,
        want_indices: bool,
    ) -> (Tensor<T>, Option<IndexTensor>) {
        if self.ndim() == 3 {
            let (y, idx) = self.unsqueeze(0).max_pool2d_impl(op, o, want_indices);
            let idx = idx.map(|i| i.reshape(&i.shape()[1..]));
            return (y.squeeze(0), idx);
        }
        let shape = self.shape();
        let (lead, output) = pool_geometry(op, shape, &o);
        let g = MaxPoolGeometry {
            planes: lead[0] * lead[1],
            input: (shape[2], shape[3]),
            output,
            kernel: o.kernel,
            stride: o.stride,
            padding: o.padding,
            dilation: o.dilation,
        };
        let (y, internal) = max_pool2d_recorded(self, g, want_indices);
        let indices = want_indices.then(|| {
            let internal = internal.expect("indices were computed");
            // Unshared unless the backward holds them too.
            let mut public = Arc::try_unwrap(internal).unwrap_or_else(|shared| shared.to_vec());
            for (i, at) in public.iter_mut().enumerate() {
                if *at == EMPTY_WINDOW {
                    *at = g.empty_window_index(i);
                }
            }
            IndexTensor::from_vec(public, y.shape())
        });
        (y, indices)
    }

    /// 2-D average pooling of `[N, C, H, W]` (or `[C, H, W]`): each output
    /// is the mean of a `kh x kw` window, padded with zeros, giving
    /// `[N, C, OH, OW]` sized as in [`max_pool2d`](Tensor::max_pool2d).
    ///
    /// With `count_include_pad` (the default) the divisor is the window's
    /// size within the padded input, padding included; without, only the
    /// input elements it covers. Either way a `ceil_mode` window hanging
    /// past the padding is not counted beyond it (PyTorch's rule).
    ///
    /// ```
    /// use nabla::{Pool2dOptions, Tensor};
    /// let x = Tensor::<f64>::ones(&[1, 1, 3, 3]);
    /// let o = Pool2dOptions::new(3).stride(1).padding(1);
    /// assert_eq!(x.avg_pool2d(o).at(&[0, 0, 0, 0]), 4.0 / 9.0); // 4 ones, 5 zeros
    /// assert_eq!(x.avg_pool2d(o.count_include_pad(false)).at(&[0, 0, 0, 0]), 1.0);
    /// ```
    ///
    /// # Panics
    /// As [`max_pool2d`](Tensor::max_pool2d), and if a dilation other than
    /// 1 is set.
    pub fn avg_pool2d(&self, options: impl Into<Pool2dOptions>) -> Tensor<T> {
        let o = options.into();
        if self.ndim() == 3 {
            return self.unsqueeze(0).avg_pool2d(o).squeeze(0);
        }
        assert!(
            o.dilation == (1, 1),
            "avg_pool2d: dilation is not supported, got {:?}",
            o.dilation
        );
        let shape = self.shape();
        let (lead, (oh, ow)) = pool_geometry("avg_pool2d", shape, &o);
        let plan = AvgPlan {
            planes: lead[0] * lead[1],
            input: (shape[2], shape[3]),
            rows: AvgPlan::window_bins(
                oh,
                shape[2],
                o.kernel.0,
                o.stride.0,
                o.padding.0,
                o.count_include_pad,
            ),
            cols: AvgPlan::window_bins(
                ow,
                shape[3],
                o.kernel.1,
                o.stride.1,
                o.padding.1,
                o.count_include_pad,
            ),
        };
        avg_recorded(self, &Arc::new(plan), AVG_POOL)
    }

    /// Adaptive 2-D average pooling of `[N, C, H, W]` (or `[C, H, W]`) to
    /// `[N, C, OH, OW]` for any output size: output `(i, j)` averages rows
    /// floor(i H / OH) to ceil((i + 1) H / OH) (exclusive), likewise
    /// columns, so bins overlap when the sizes do not divide. An output of
    /// `1` is global average pooling.
    ///
    /// ```
    /// use nabla::Tensor;
    /// let x = Tensor::from_vec((0..12).map(|v| v as f32).collect(), &[1, 1, 3, 4]);
    /// assert_eq!(x.adaptive_avg_pool2d(1).to_vec(), vec![5.5]); // the mean
    /// let y = x.adaptive_avg_pool2d((2, 2));
    /// assert_eq!(y.to_vec(), vec![2.5, 4.5, 6.5, 8.5]); // rows 0..2 and 1..3
    /// ```
    ///
    /// # Panics
    /// If the input is not 3-D or 4-D, or its height or width is zero.
    pub fn adaptive_avg_pool2d(&self, output_size: impl IntoPair) -> Tensor<T> {
        let (oh, ow) = output_size.into_pair();
        if self.ndim() == 3 {
            return self.unsqueeze(0).adaptive_avg_pool2d((oh, ow)).squeeze(0);
        }
        let shape = self.shape();
        assert!(
            shape.len() == 4 && shape[2] > 0 && shape[3] > 0,
            "adaptive_avg_pool2d: expects input [N, C, H, W] or [C, H, W] with H, W > 0, got {shape:?}"
        );
        let plan = AvgPlan {
            planes: shape[0] * shape[1],
            input: (shape[2], shape[3]),
            rows: AvgPlan::adaptive_bins(oh, shape[2]),
            cols: AvgPlan::adaptive_bins(ow, shape[3]),
        };
        avg_recorded(self, &Arc::new(plan), ADAPTIVE_AVG_POOL)
    }
}
