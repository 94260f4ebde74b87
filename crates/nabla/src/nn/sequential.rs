//! `Sequential`: layers applied one after another.

use super::{Layer, Module, Summarize};
use crate::element::Float;
use crate::tensor::Tensor;

/// A chain of layers, each applied to the previous one's output. Children
/// are named `0`, `1`, ... as in PyTorch, so parameters are `0.weight`, ...
pub struct Sequential<T: Float = f32> {
    layers: Vec<Box<dyn Layer<T>>>,
    /// The child names: `0`, `1`, ... unless given with `add_named`.
    names: Vec<String>,
    training: bool,
}

impl<T: Float> Default for Sequential<T> {
    fn default() -> Self {
        Sequential {
            layers: Vec::new(),
            names: Vec::new(),
            training: true,
        }
    }
}

impl<T: Float> Sequential<T> {
    /// An empty chain.
    pub fn new() -> Self {
        Self::default()
    }

    /// The chain with `layer` appended.
    #[allow(clippy::should_implement_trait)]
    pub fn add(mut self, layer: impl Layer<T> + 'static) -> Self {
        self.push(Box::new(layer));
        self
    }

    /// The chain with `layer` appended under `name` (like an
    /// `OrderedDict` in PyTorch's `Sequential`), so its parameters are
    /// `name.weight`, ...
    ///
    /// # Panics
    /// If the name is already taken.
    pub fn add_named(mut self, name: &str, layer: impl Layer<T> + 'static) -> Self {
        assert!(
            !self.names.iter().any(|n| n == name),
            "Sequential: a layer is already named {name:?}"
        );
        self.names.push(name.to_string());
        self.layers.push(Box::new(layer));
        self
    }

    /// Appends a boxed layer, named by its position.
    pub fn push(&mut self, layer: Box<dyn Layer<T>>) {
        self.names.push(self.layers.len().to_string());
        self.layers.push(layer);
    }

    /// The number of layers.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// True when there are no layers.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// The layers, in order.
    pub fn layers(&self) -> &[Box<dyn Layer<T>>] {
        &self.layers
    }

    /// The layers' names, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }
}

impl<T: Float> Layer<T> for Sequential<T> {
    fn forward(&self, input: &Tensor<T>) -> Tensor<T> {
        self.layers
            .iter()
            .fold(input.clone(), |x, layer| layer.forward(&x))
    }
}

impl<T: Float> Summarize<T> for Sequential<T> {
    fn sequential_layers(&self) -> Option<Vec<(&str, &dyn Layer<T>)>> {
        Some(
            self.names
                .iter()
                .map(String::as_str)
                .zip(self.layers.iter().map(|l| l.as_ref()))
                .collect(),
        )
    }
}

impl<T: Float> Module<T> for Sequential<T> {
    fn set_own_training(&mut self, training: bool) {
        self.training = training;
    }

    fn is_training(&self) -> bool {
        self.training
    }

    fn children(&self) -> Vec<(String, &dyn Module<T>)> {
        self.names
            .iter()
            .cloned()
            .zip(self.layers.iter().map(|l| l.as_module()))
            .collect()
    }

    fn children_mut(&mut self) -> Vec<(String, &mut dyn Module<T>)> {
        self.names
            .iter()
            .cloned()
            .zip(self.layers.iter_mut().map(|l| l.as_module_mut()))
            .collect()
    }
}
