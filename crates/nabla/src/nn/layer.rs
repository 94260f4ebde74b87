//! The [`Layer`] trait: a module called on one tensor, which
//! [`Sequential`](super::Sequential) composes.

use std::any::Any;

use super::{AsModule, Module, Summarize};
use crate::element::Float;
use crate::tensor::Tensor;

/// A module that maps one tensor to one tensor: `Linear`, `Conv2d`,
/// activations, `Sequential` itself. Modules called otherwise (an LSTM
/// returning `(output, (h, c))`, attention over `(q, k, v, mask)`) are plain
/// [`Module`]s with an inherent `forward` of their own signature.
///
/// The supertraits give the parameter tree ([`Module`]) and the hooks of
/// [`summary`](super::summary()) ([`Summarize`], all provided).
///
/// ```
/// use nabla::nn::{Layer, Linear, Module, Summarize};
/// use nabla::{Float, Generator, Tensor};
///
/// /// `linear(x) * 2`.
/// struct Doubled<T: Float> {
///     linear: Linear<T>,
/// }
///
/// impl<T: Float> Module<T> for Doubled<T> {
///     fn children(&self) -> Vec<(String, &dyn Module<T>)> {
///         vec![("linear".to_string(), &self.linear)]
///     }
///
///     fn children_mut(&mut self) -> Vec<(String, &mut dyn Module<T>)> {
///         vec![("linear".to_string(), &mut self.linear)]
///     }
/// }
///
/// impl<T: Float> Summarize<T> for Doubled<T> {}
///
/// impl<T: Float> Layer<T> for Doubled<T> {
///     fn forward(&self, input: &Tensor<T>) -> Tensor<T> {
///         self.linear.forward(input).mul_scalar(T::from_f64(2.0))
///     }
/// }
///
/// let layer = Doubled { linear: Linear::<f32>::new(3, 2, true, &mut Generator::new(0)) };
/// assert_eq!(layer.forward(&Tensor::ones(&[4, 3])).shape(), &[4, 2]);
/// assert_eq!(layer.state_dict()[0].0, "linear.weight");
/// ```
pub trait Layer<T: Float = f32>: Module<T> + Summarize<T> + AsModule<T> + AsAny {
    /// Applies the layer to `input`.
    fn forward(&self, input: &Tensor<T>) -> Tensor<T>;
}

impl<T: Float, L: Layer<T> + ?Sized + 'static> Layer<T> for Box<L> {
    fn forward(&self, input: &Tensor<T>) -> Tensor<T> {
        (**self).forward(input)
    }
}

/// Views a layer as `&dyn Any` (or `&mut dyn Any`), so that code which
/// knows particular layer types (the Lipschitz bounds of
/// [`crate::lipschitz`], the conversion of BatchNorm to `SyncBatchNorm`)
/// can recognise them behind a `&dyn Layer<T>` by downcasting.
///
/// ```
/// use nabla::nn::{AsAny, Layer, Linear, Relu};
/// use nabla::Generator;
/// let mut linear = Linear::new(2, 1, true, &mut Generator::new(0));
/// let layer: &dyn Layer = &linear;
/// assert!(AsAny::as_any(layer).is::<Linear>());
/// assert!(!AsAny::as_any(layer).is::<Relu>());
/// let layer: &mut dyn Layer = &mut linear;
/// assert!(AsAny::as_any_mut(layer).downcast_mut::<Linear>().is_some());
/// ```
pub trait AsAny {
    /// `self` as `&dyn Any`.
    fn as_any(&self) -> &dyn Any;

    /// `self` as `&mut dyn Any`.
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<X: Any> AsAny for X {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}
