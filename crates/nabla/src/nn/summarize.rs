//! The [`Summarize`] trait: what [`summary`](super::summary()) asks a layer
//! about itself, and the [`Geometry`] it reports.

use super::Layer;
use crate::element::Float;

/// How a layer's outputs see its inputs spatially.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Geometry {
    /// Each output position sees the same position of the input
    /// (activations, normalization, dropout, flatten).
    Elementwise,
    /// A sliding window (convolution, pooling), per `(h, w)` axis.
    Window {
        /// Kernel size.
        kernel: (usize, usize),
        /// Stride.
        stride: (usize, usize),
        /// Zero padding.
        padding: (usize, usize),
        /// Dilation.
        dilation: (usize, usize),
    },
    /// Every output sees the whole input (a fully connected layer, global pooling).
    Global,
    /// Not known (a composite module with its own forward).
    Unknown,
}

/// The hooks of [`summary`](super::summary()): a description, the spatial
/// geometry for receptive fields, multiply-adds, and, for containers that
/// apply their children in order, those children. Every method is
/// provided; `#[derive(Module)]` implements the defaults unless the struct
/// says `#[module(custom_summary)]`.
///
/// ```
/// use nabla::nn::{Geometry, Relu, Summarize};
/// assert_eq!(Summarize::<f32>::describe(&Relu), "ReLU");
/// assert_eq!(Summarize::<f32>::geometry(&Relu), Geometry::Elementwise);
/// ```
pub trait Summarize<T: Float = f32> {
    /// A short description, like PyTorch's `repr`:
    /// `Conv2d(1, 6, kernel=(5, 5), padding=(2, 2))`. The default is the
    /// type's name without its path and parameters.
    fn describe(&self) -> String {
        let full = std::any::type_name::<Self>();
        let base = full.split('<').next().unwrap_or(full);
        base.rsplit("::").next().unwrap_or(base).to_string()
    }

    /// How the layer's outputs see its inputs spatially, for receptive
    /// fields: elementwise (the default), a sliding window, or everything.
    fn geometry(&self) -> Geometry {
        Geometry::Elementwise
    }

    /// Multiply-adds of one forward pass from `input` to `output` shapes
    /// (0 for layers without products, the default).
    fn multiply_adds(&self, _input: &[usize], _output: &[usize]) -> usize {
        0
    }

    /// For containers whose forward applies their children in order
    /// ([`Sequential`](super::Sequential)), which summaries walk into: the
    /// children by name. `None` (the default) for everything else.
    fn sequential_layers(&self) -> Option<Vec<(&str, &dyn Layer<T>)>> {
        None
    }
}

impl<T: Float, S: Summarize<T> + ?Sized> Summarize<T> for Box<S> {
    fn describe(&self) -> String {
        (**self).describe()
    }

    fn geometry(&self) -> Geometry {
        (**self).geometry()
    }

    fn multiply_adds(&self, input: &[usize], output: &[usize]) -> usize {
        (**self).multiply_adds(input, output)
    }

    fn sequential_layers(&self) -> Option<Vec<(&str, &dyn Layer<T>)>> {
        (**self).sequential_layers()
    }
}
