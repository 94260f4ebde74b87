//! `Sequential`: modules applied one after another.

use super::Module;
use crate::element::Float;
use crate::tensor::Tensor;

/// A chain of modules, each applied to the previous one's output. Children
/// are named `0`, `1`, ... as in PyTorch, so parameters are `0.weight`, ...
pub struct Sequential<T: Float = f32> {
    layers: Vec<Box<dyn Module<T>>>,
    training: bool,
}

impl<T: Float> Default for Sequential<T> {
    fn default() -> Self {
        Sequential {
            layers: Vec::new(),
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
    pub fn add(mut self, layer: impl Module<T> + 'static) -> Self {
        self.layers.push(Box::new(layer));
        self
    }

    /// Appends a boxed layer.
    pub fn push(&mut self, layer: Box<dyn Module<T>>) {
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
    pub fn layers(&self) -> &[Box<dyn Module<T>>] {
        &self.layers
    }
}

impl<T: Float> Module<T> for Sequential<T> {
    fn forward(&self, input: &Tensor<T>) -> Tensor<T> {
        self.layers
            .iter()
            .fold(input.clone(), |x, layer| layer.forward(&x))
    }

    fn set_own_training(&mut self, training: bool) {
        self.training = training;
    }

    fn is_training(&self) -> bool {
        self.training
    }

    fn children(&self) -> Vec<(String, &dyn Module<T>)> {
        self.layers
            .iter()
            .enumerate()
            .map(|(i, l)| (i.to_string(), l.as_ref()))
            .collect()
    }

    fn children_mut(&mut self) -> Vec<(String, &mut dyn Module<T>)> {
        self.layers
            .iter_mut()
            .enumerate()
            .map(|(i, l)| (i.to_string(), l.as_mut() as &mut dyn Module<T>))
            .collect()
    }
}
