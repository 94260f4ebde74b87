//! Padding layers: `ZeroPad2d`, as `torch.nn.ZeroPad2d`.

use super::{Geometry, Layer, Module, Summarize};
use crate::element::Float;
use crate::tensor::Tensor;

/// Zeros around `[N, C, H, W]` images (or `[C, H, W]`), `(left, right,
/// top, bottom)` as PyTorch orders them; output `[N, C, H + top + bottom,
/// W + left + right]`.
///
/// ```
/// use nabla::nn::{Layer, ZeroPad2d};
/// use nabla::Tensor;
/// let pad = ZeroPad2d::new((0, 1, 0, 1)); // TensorFlow's "same" at stride 2
/// let y = pad.forward(&Tensor::<f32>::ones(&[1, 1, 2, 2]));
/// assert_eq!(y.shape(), &[1, 1, 3, 3]);
/// assert_eq!(y.to_vec(), vec![1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
/// assert_eq!(ZeroPad2d::new(2).padding, (2, 2, 2, 2));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Module)]
#[module(custom_summary)]
pub struct ZeroPad2d {
    /// `(left, right, top, bottom)`.
    pub padding: (usize, usize, usize, usize),
}

impl ZeroPad2d {
    /// Padding `p` on all four sides, or `(left, right, top, bottom)`.
    pub fn new(padding: impl Into<ZeroPad2dSides>) -> Self {
        ZeroPad2d {
            padding: padding.into().0,
        }
    }
}

/// The argument of [`ZeroPad2d::new`]: one size for every side, or
/// `(left, right, top, bottom)`.
#[derive(Clone, Copy, Debug)]
pub struct ZeroPad2dSides((usize, usize, usize, usize));

impl From<usize> for ZeroPad2dSides {
    fn from(p: usize) -> Self {
        ZeroPad2dSides((p, p, p, p))
    }
}

impl From<(usize, usize, usize, usize)> for ZeroPad2dSides {
    fn from(sides: (usize, usize, usize, usize)) -> Self {
        ZeroPad2dSides(sides)
    }
}

impl<T: Float> Summarize<T> for ZeroPad2d {
    fn describe(&self) -> String {
        format!("ZeroPad2d({:?})", self.padding)
    }

    fn geometry(&self) -> Geometry {
        let (left, _, top, _) = self.padding;
        Geometry::Window {
            kernel: (1, 1),
            stride: (1, 1),
            padding: (top, left),
            dilation: (1, 1),
        }
    }
}

impl<T: Float> Layer<T> for ZeroPad2d {
    fn forward(&self, input: &Tensor<T>) -> Tensor<T> {
        assert!(
            matches!(input.ndim(), 3 | 4),
            "ZeroPad2d: expects input [N, C, H, W] or [C, H, W], got {:?}",
            input.shape()
        );
        let (left, right, top, bottom) = self.padding;
        input.pad(&[left, right, top, bottom], T::zero())
    }
}
