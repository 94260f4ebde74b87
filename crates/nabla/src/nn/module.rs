//! The [`Module`] trait: the parameter tree of a layer or a model, with
//! named parameters and buffers (the names of PyTorch's `state_dict`),
//! train/eval mode, and freezing. How a module is called is not part of it:
//! single-tensor layers also implement [`Layer`](super::Layer), other
//! modules have an inherent `forward` of whatever signature they need.

use crate::element::Float;
use crate::tensor::Tensor;

/// A layer or a model as a tree of parameters: its own parameters and
/// buffers and its children, by name.
///
/// An implementation provides, as it has them, its own parameters, buffers
/// and children; the provided methods give the hierarchical names of
/// PyTorch's `state_dict` (`layers.0.weight`), switch train/eval mode
/// through every submodule, count, freeze and clear gradients.
///
/// ```
/// use nabla::nn::{Layer, Linear, Module, Relu, Sequential};
/// use nabla::{Generator, Tensor};
///
/// let mut g = Generator::new(0);
/// let mut model: Sequential = Sequential::new() // Sequential<f32>
///     .add(Linear::new(4, 8, true, &mut g))
///     .add(Relu)
///     .add(Linear::new(8, 2, true, &mut g));
/// let names: Vec<String> = model.named_parameters().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["0.weight", "0.bias", "2.weight", "2.bias"]);
/// assert_eq!(model.num_parameters(), 4 * 8 + 8 + 8 * 2 + 2);
/// let y = model.forward(&Tensor::zeros(&[3, 4]));
/// assert_eq!(y.shape(), &[3, 2]);
/// model.eval();
/// assert!(!model.is_training());
/// ```
///
/// # Deriving
///
/// `#[derive(Module)]` writes the impl from the struct's field types, so no
/// parameter or submodule can be left out:
///
/// - `Tensor<T>` fields are parameters, `Option<Tensor<T>>` optional ones
///   (an absent bias is skipped), `Vec<Tensor<T>>` a list named `field.0`,
///   `field.1`, ...;
/// - `#[module(buffer)]` makes such a field a buffer, `#[module(skip)]`
///   ignores a field, `#[module(training)]` marks the `bool` that
///   [`train`](Module::train) sets;
/// - plain data (integers, floats, `bool`, `char`, `String`, `PhantomData`,
///   the element type `T`, and options, tuples, arrays and `Vec`s of those)
///   is skipped;
/// - every other field is a child: `Vec<M>` and `[M; N]` are named
///   `field.0`, ..., `Option<M>` is a child when present, `Box<dyn Layer<T>>`
///   is a child too. A field whose type is not a `Module` is a compile
///   error naming that type (mark it `#[module(skip)]` if it holds none).
///
/// The impl is for the struct's type parameter bounded by `Float`; a struct
/// without one is a `Module<f32>`, or a module of every element type when it
/// holds no tensors and no modules (as `Relu`). The derive also implements
/// [`Summarize`](super::Summarize) with its defaults (write your own after
/// `#[module(custom_summary)]`) and, for a struct generic over its element
/// type, [`ToDtype`](super::ToDtype).
///
/// ```
/// use nabla::nn::{Layer, Linear, Module};
/// use nabla::{Float, Generator, Tensor};
///
/// #[derive(Module)]
/// struct Net<T: Float> {
///     fc: Linear<T>,
///     blocks: Vec<Linear<T>>,
///     scale: Tensor<T>,
///     width: usize,
/// }
///
/// let mut g = Generator::new(0);
/// let net = Net::<f32> {
///     fc: Linear::new(2, 3, true, &mut g),
///     blocks: vec![Linear::new(3, 3, false, &mut g)],
///     scale: Tensor::ones(&[3]).requires_grad(),
///     width: 3,
/// };
/// let names: Vec<String> = net.state_dict().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["scale", "fc.weight", "fc.bias", "blocks.0.weight"]);
/// ```
///
/// A field that is neither data nor a module does not compile, so it cannot
/// be forgotten silently:
///
/// ```compile_fail
/// use nabla::nn::{Linear, Module};
///
/// struct Scaler {
///     factor: f32,
/// }
///
/// #[derive(Module)]
/// struct Net {
///     fc: Linear,
///     scaler: Scaler, // error: `Scaler` is not a nabla Module<f32>
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a nabla Module<{T}>",
    label = "not a Module<{T}>",
    note = "a field that holds neither tensors nor modules needs `#[module(skip)]`"
)]
pub trait Module<T: Float = f32>: Send + Sync {
    /// This module's own parameters (not its children's), by local name.
    fn own_parameters(&self) -> Vec<(String, Tensor<T>)> {
        Vec::new()
    }

    /// This module's own buffers: state that is saved but not trained
    /// (BatchNorm's running statistics).
    fn own_buffers(&self) -> Vec<(String, Tensor<T>)> {
        Vec::new()
    }

    /// The direct submodules, by local name.
    fn children(&self) -> Vec<(String, &dyn Module<T>)> {
        Vec::new()
    }

    /// The direct submodules, mutably (for [`train`](Module::train)).
    fn children_mut(&mut self) -> Vec<(String, &mut dyn Module<T>)> {
        Vec::new()
    }

    /// Sets this module's own training flag, for modules that behave
    /// differently in training (Dropout, BatchNorm).
    fn set_own_training(&mut self, _training: bool) {}

    /// True when this module is in training mode (the default). Modules
    /// whose behaviour does not depend on the mode may keep the default,
    /// which asks their children.
    fn is_training(&self) -> bool {
        self.children().iter().all(|(_, c)| c.is_training())
    }

    /// Switches this module and every submodule to training (`true`) or
    /// evaluation (`false`) mode.
    fn train(&mut self, training: bool) {
        self.set_own_training(training);
        for (_, child) in self.children_mut() {
            child.train(training);
        }
    }

    /// Evaluation mode: `train(false)`.
    fn eval(&mut self) {
        self.train(false);
    }

    /// Every parameter, with its hierarchical name, children after the
    /// module's own, in declaration order.
    fn named_parameters(&self) -> Vec<(String, Tensor<T>)> {
        let mut out = self.own_parameters();
        for (prefix, child) in self.children() {
            out.extend(prefixed(&prefix, child.named_parameters()));
        }
        out
    }

    /// Every parameter, in the order of [`named_parameters`](Module::named_parameters).
    fn parameters(&self) -> Vec<Tensor<T>> {
        self.named_parameters().into_iter().map(|(_, t)| t).collect()
    }

    /// Every buffer, with its hierarchical name.
    fn named_buffers(&self) -> Vec<(String, Tensor<T>)> {
        let mut out = self.own_buffers();
        for (prefix, child) in self.children() {
            out.extend(prefixed(&prefix, child.named_buffers()));
        }
        out
    }

    /// Parameters and buffers by name, as PyTorch's `state_dict()` (each
    /// module's parameters, then its buffers, then its children's).
    fn state_dict(&self) -> Vec<(String, Tensor<T>)> {
        let mut out = self.own_parameters();
        out.extend(self.own_buffers());
        for (prefix, child) in self.children() {
            out.extend(prefixed(&prefix, child.state_dict()));
        }
        out
    }

    /// The number of parameter elements.
    fn num_parameters(&self) -> usize {
        self.parameters().iter().map(Tensor::numel).sum()
    }

    /// The number of parameter elements that require a gradient.
    fn num_trainable_parameters(&self) -> usize {
        self.parameters()
            .iter()
            .filter(|p| p.is_requires_grad())
            .map(Tensor::numel)
            .sum()
    }

    /// Freezes every parameter (no gradient, untouched by optimizers) or,
    /// with `false`, unfreezes them. Freeze one submodule by calling this
    /// on it.
    fn freeze(&self, frozen: bool) {
        for p in self.parameters() {
            p.set_requires_grad(!frozen);
        }
    }

    /// Clears the gradients of every parameter.
    fn zero_grad(&self) {
        for p in self.parameters() {
            p.zero_grad();
        }
    }
}

fn prefixed<T: Float>(
    prefix: &str,
    named: Vec<(String, Tensor<T>)>,
) -> impl Iterator<Item = (String, Tensor<T>)> + '_ {
    named.into_iter().map(move |(n, t)| (format!("{prefix}.{n}"), t))
}

/// A boxed module is the module: a `Box<dyn Layer<T>>` field or list entry
/// is a child like any other.
impl<T: Float, M: Module<T> + ?Sized> Module<T> for Box<M> {
    fn own_parameters(&self) -> Vec<(String, Tensor<T>)> {
        (**self).own_parameters()
    }

    fn own_buffers(&self) -> Vec<(String, Tensor<T>)> {
        (**self).own_buffers()
    }

    fn children(&self) -> Vec<(String, &dyn Module<T>)> {
        (**self).children()
    }

    fn children_mut(&mut self) -> Vec<(String, &mut dyn Module<T>)> {
        (**self).children_mut()
    }

    fn set_own_training(&mut self, training: bool) {
        (**self).set_own_training(training);
    }

    fn is_training(&self) -> bool {
        (**self).is_training()
    }

    fn train(&mut self, training: bool) {
        (**self).train(training);
    }

    fn named_parameters(&self) -> Vec<(String, Tensor<T>)> {
        (**self).named_parameters()
    }

    fn named_buffers(&self) -> Vec<(String, Tensor<T>)> {
        (**self).named_buffers()
    }

    fn state_dict(&self) -> Vec<(String, Tensor<T>)> {
        (**self).state_dict()
    }

    fn freeze(&self, frozen: bool) {
        (**self).freeze(frozen);
    }

    fn zero_grad(&self) {
        (**self).zero_grad();
    }
}

/// Views any module as `&dyn Module<T>`, also through a trait object of a
/// subtrait (`&dyn Layer<T>`), which Rust 1.85 cannot upcast by itself.
///
/// ```
/// use nabla::nn::{AsModule, Layer, Linear};
/// use nabla::Generator;
/// let layer: Box<dyn Layer> = Box::new(Linear::new(2, 1, true, &mut Generator::new(0)));
/// assert_eq!(layer.as_module().state_dict().len(), 2);
/// ```
pub trait AsModule<T: Float = f32> {
    /// `self` as a module.
    fn as_module(&self) -> &dyn Module<T>;

    /// `self` as a mutable module.
    fn as_module_mut(&mut self) -> &mut dyn Module<T>;
}

impl<T: Float, M: Module<T>> AsModule<T> for M {
    fn as_module(&self) -> &dyn Module<T> {
        self
    }

    fn as_module_mut(&mut self) -> &mut dyn Module<T> {
        self
    }
}

/// `#[derive(Module)]`'s view of a child field, called at the field's type
/// so that a type that is not a module is reported there.
#[doc(hidden)]
pub fn __child<T: Float, M: Module<T>>(child: &M) -> &dyn Module<T> {
    child
}

/// The mutable form of [`__child`].
#[doc(hidden)]
pub fn __child_mut<T: Float, M: Module<T>>(child: &mut M) -> &mut dyn Module<T> {
    child
}
