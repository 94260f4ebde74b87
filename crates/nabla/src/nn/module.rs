//! The [`Module`] trait: a layer or a model, with named parameters and
//! buffers (the names of PyTorch's `state_dict`), train/eval mode, and
//! freezing.

use super::summary::Geometry;
use crate::element::Float;
use crate::tensor::Tensor;

/// A layer or a model: a function of one tensor with parameters.
///
/// An implementation provides [`forward`](Module::forward) and, as it has
/// them, its own parameters, buffers and children; the provided methods give
/// the hierarchical names of PyTorch's `state_dict` (`layers.0.weight`),
/// switch train/eval mode through every submodule, count and freeze
/// parameters.
///
/// ```
/// use nabla::nn::{Linear, Module, Relu, Sequential};
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
pub trait Module<T: Float = f32>: Send + Sync {
    /// Applies the module to `input`.
    fn forward(&self, input: &Tensor<T>) -> Tensor<T>;

    /// A short description for [`summary`](super::summary()), like
    /// PyTorch's `repr`: `Conv2d(1, 6, kernel=(5, 5), padding=(2, 2))`.
    fn describe(&self) -> String {
        let full = std::any::type_name::<Self>();
        let base = full.split('<').next().unwrap_or(full);
        base.rsplit("::").next().unwrap_or(base).to_string()
    }

    /// How the module's outputs see its inputs spatially, for receptive
    /// fields: elementwise (the default), a sliding window, or everything.
    fn geometry(&self) -> Geometry {
        Geometry::Elementwise
    }

    /// True for containers whose forward applies their children in order
    /// ([`Sequential`](super::Sequential)), which summaries walk into.
    fn is_sequential(&self) -> bool {
        false
    }

    /// Multiply-adds of one forward pass from `input` to `output` shapes
    /// (0 for layers without products, the default).
    fn multiply_adds(&self, _input: &[usize], _output: &[usize]) -> usize {
        0
    }

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
            out.extend(
                child
                    .named_parameters()
                    .into_iter()
                    .map(|(n, t)| (format!("{prefix}.{n}"), t)),
            );
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
            out.extend(
                child
                    .named_buffers()
                    .into_iter()
                    .map(|(n, t)| (format!("{prefix}.{n}"), t)),
            );
        }
        out
    }

    /// Parameters and buffers by name, as PyTorch's `state_dict()` (each
    /// module's parameters, then its buffers, then its children's).
    fn state_dict(&self) -> Vec<(String, Tensor<T>)> {
        let mut out = self.own_parameters();
        out.extend(self.own_buffers());
        for (prefix, child) in self.children() {
            out.extend(
                child
                    .state_dict()
                    .into_iter()
                    .map(|(n, t)| (format!("{prefix}.{n}"), t)),
            );
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
