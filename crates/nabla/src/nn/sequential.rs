//! `Sequential`: layers applied one after another.

use std::any::Any;
use std::marker::PhantomData;

use super::{Layer, Module, Summarize, ToDtype};
use crate::element::Float;
use crate::tensor::Tensor;

/// A chain of layers, each applied to the previous one's output. Children
/// are named `0`, `1`, ... as in PyTorch, so parameters are `0.weight`, ...
///
/// Layers added with [`add`](Sequential::add) keep what they need to change
/// element type, so the chain converts with [`ToDtype`]; a layer type that
/// is not generic over its element type goes in boxed with
/// [`push`](Sequential::push).
pub struct Sequential<T: Float = f32> {
    stages: Vec<Box<dyn Stage<T>>>,
    /// The child names: `0`, `1`, ... unless given with `add_named`.
    names: Vec<String>,
    training: bool,
}

impl<T: Float> Default for Sequential<T> {
    fn default() -> Self {
        Sequential {
            stages: Vec::new(),
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

    /// The chain with `layer` appended, named by its position.
    #[allow(clippy::should_implement_trait)]
    pub fn add<L>(self, layer: L) -> Self
    where
        L: Layer<T> + ToDtype + 'static,
        L::Output<f32>:
            Layer<f32> + ToDtype<Output<f32> = L::Output<f32>, Output<f64> = L::Output<f64>> + 'static,
        L::Output<f64>:
            Layer<f64> + ToDtype<Output<f32> = L::Output<f32>, Output<f64> = L::Output<f64>> + 'static,
    {
        let name = self.stages.len().to_string();
        self.add_named(&name, layer)
    }

    /// The chain with `layer` appended under `name` (like an
    /// `OrderedDict` in PyTorch's `Sequential`), so its parameters are
    /// `name.weight`, ...
    ///
    /// # Panics
    /// If the name is already taken.
    pub fn add_named<L>(mut self, name: &str, layer: L) -> Self
    where
        L: Layer<T> + ToDtype + 'static,
        L::Output<f32>:
            Layer<f32> + ToDtype<Output<f32> = L::Output<f32>, Output<f64> = L::Output<f64>> + 'static,
        L::Output<f64>:
            Layer<f64> + ToDtype<Output<f32> = L::Output<f32>, Output<f64> = L::Output<f64>> + 'static,
    {
        let stage = hold::<T, L::Output<f32>, L::Output<f64>, L>(layer);
        self.insert(name, stage);
        self
    }

    /// Appends a boxed layer of any type, named by its position. The chain
    /// then no longer converts with [`ToDtype`].
    pub fn push(&mut self, layer: Box<dyn Layer<T>>) {
        let name = self.stages.len().to_string();
        self.insert(&name, Box::new(Fixed(layer)));
    }

    /// Puts `layer` in place of the layer at `index`, under the same name
    /// (as assigning `model[index] = layer` in PyTorch): how
    /// [`convert_sync_batchnorm`](crate::distributed::convert_sync_batchnorm)
    /// swaps BatchNorm layers. The chain still converts with [`ToDtype`].
    ///
    /// ```
    /// use nabla::nn::{Layer, Linear, Relu, Sequential, Summarize, Tanh};
    /// use nabla::{Generator, Tensor};
    /// let mut model: Sequential = Sequential::new()
    ///     .add(Linear::new(2, 3, true, &mut Generator::new(0)))
    ///     .add(Relu);
    /// model.replace(1, Tanh);
    /// assert_eq!(model.layers().nth(1).unwrap().describe(), "Tanh");
    /// assert_eq!(model.names(), ["0", "1"]);
    /// assert_eq!(model.forward(&Tensor::ones(&[1, 2])).shape(), &[1, 3]);
    /// ```
    ///
    /// # Panics
    /// If there is no layer at `index`, naming it and the length.
    pub fn replace<L>(&mut self, index: usize, layer: L)
    where
        L: Layer<T> + ToDtype + 'static,
        L::Output<f32>:
            Layer<f32> + ToDtype<Output<f32> = L::Output<f32>, Output<f64> = L::Output<f64>> + 'static,
        L::Output<f64>:
            Layer<f64> + ToDtype<Output<f32> = L::Output<f32>, Output<f64> = L::Output<f64>> + 'static,
    {
        let len = self.stages.len();
        let stage = self
            .stages
            .get_mut(index)
            .unwrap_or_else(|| panic!("Sequential::replace: no layer {index} in a chain of {len}"));
        *stage = hold::<T, L::Output<f32>, L::Output<f64>, L>(layer);
    }

    fn insert(&mut self, name: &str, stage: Box<dyn Stage<T>>) {
        assert!(
            !self.names.iter().any(|n| n == name),
            "Sequential: a layer is already named {name:?}"
        );
        self.names.push(name.to_string());
        self.stages.push(stage);
    }

    /// The number of layers.
    pub fn len(&self) -> usize {
        self.stages.len()
    }

    /// True when there are no layers.
    pub fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }

    /// The layers, in order.
    pub fn layers(&self) -> impl Iterator<Item = &dyn Layer<T>> {
        self.stages.iter().map(|s| s.layer())
    }

    /// The layers, mutably, in order (a nested chain is found by
    /// downcasting with [`AsAny::as_any_mut`](super::AsAny::as_any_mut)).
    pub fn layers_mut(&mut self) -> impl Iterator<Item = &mut dyn Layer<T>> {
        self.stages.iter_mut().map(|s| s.layer_mut())
    }

    /// The layers' names, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }
}

impl<T: Float> Layer<T> for Sequential<T> {
    fn forward(&self, input: &Tensor<T>) -> Tensor<T> {
        self.stages
            .iter()
            .fold(input.clone(), |x, stage| stage.forward(&x))
    }
}

impl<T: Float> Summarize<T> for Sequential<T> {
    fn sequential_layers(&self) -> Option<Vec<(&str, &dyn Layer<T>)>> {
        Some(self.names.iter().map(String::as_str).zip(self.layers()).collect())
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
            .zip(self.stages.iter().map(|s| s.layer().as_module()))
            .collect()
    }

    fn children_mut(&mut self) -> Vec<(String, &mut dyn Module<T>)> {
        self.names
            .iter()
            .cloned()
            .zip(self.stages.iter_mut().map(|s| s.layer_mut().as_module_mut()))
            .collect()
    }
}

/// Converts layer by layer, keeping names and the training mode.
///
/// # Panics
/// If a layer was appended with [`push`](Sequential::push), naming it.
impl<T: Float> ToDtype for Sequential<T> {
    type Output<U: Float> = Sequential<U>;

    fn to_dtype<U: Float>(&self) -> Sequential<U> {
        let stages = self
            .stages
            .iter()
            .zip(&self.names)
            .map(|(stage, name)| {
                let converted: Option<Box<dyn Any>> = if U::DTYPE == f32::DTYPE {
                    stage.to_f32().map(|s| Box::new(s) as Box<dyn Any>)
                } else {
                    stage.to_f64().map(|s| Box::new(s) as Box<dyn Any>)
                };
                let converted = converted.unwrap_or_else(|| {
                    panic!(
                        "Sequential::to_dtype: layer {name} ({}) was pushed boxed and cannot change element type",
                        stage.layer().describe()
                    )
                });
                *converted
                    .downcast::<Box<dyn Stage<U>>>()
                    .expect("a converted stage has the requested element type")
            })
            .collect();
        Sequential {
            stages,
            names: self.names.clone(),
            training: self.training,
        }
    }
}

/// A layer of a [`Sequential`], with how it changes element type (only
/// `f32` and `f64` exist, so a stage offers both).
trait Stage<T: Float>: Send + Sync {
    /// The layer's forward, one dynamic call per layer as a boxed layer's.
    fn forward(&self, input: &Tensor<T>) -> Tensor<T>;
    fn layer(&self) -> &dyn Layer<T>;
    fn layer_mut(&mut self) -> &mut dyn Layer<T>;
    /// The layer over `f32`, or `None` for a layer that cannot convert.
    fn to_f32(&self) -> Option<Box<dyn Stage<f32>>>;
    /// The layer over `f64`, or `None` for a layer that cannot convert.
    fn to_f64(&self) -> Option<Box<dyn Stage<f64>>>;
}

/// A layer `L` of the family whose `f32` type is `A` and `f64` type is `B`
/// (`L` is one of the two).
struct Held<A, B, L> {
    layer: L,
    family: PhantomData<fn() -> (A, B)>,
}

impl<A, B, L> Held<A, B, L> {
    fn new(layer: L) -> Self {
        Held {
            layer,
            family: PhantomData,
        }
    }
}

impl<A, B> Stage<f32> for Held<A, B, A>
where
    A: Layer<f32> + ToDtype<Output<f32> = A, Output<f64> = B> + 'static,
    B: Layer<f64> + ToDtype<Output<f32> = A, Output<f64> = B> + 'static,
{
    fn forward(&self, input: &Tensor<f32>) -> Tensor<f32> {
        self.layer.forward(input)
    }

    fn layer(&self) -> &dyn Layer<f32> {
        &self.layer
    }

    fn layer_mut(&mut self) -> &mut dyn Layer<f32> {
        &mut self.layer
    }

    fn to_f32(&self) -> Option<Box<dyn Stage<f32>>> {
        Some(Box::new(Held::<A, B, A>::new(self.layer.to_dtype::<f32>())))
    }

    fn to_f64(&self) -> Option<Box<dyn Stage<f64>>> {
        Some(Box::new(Held::<A, B, B>::new(self.layer.to_dtype::<f64>())))
    }
}

impl<A, B> Stage<f64> for Held<A, B, B>
where
    A: Layer<f32> + ToDtype<Output<f32> = A, Output<f64> = B> + 'static,
    B: Layer<f64> + ToDtype<Output<f32> = A, Output<f64> = B> + 'static,
{
    fn forward(&self, input: &Tensor<f64>) -> Tensor<f64> {
        self.layer.forward(input)
    }

    fn layer(&self) -> &dyn Layer<f64> {
        &self.layer
    }

    fn layer_mut(&mut self) -> &mut dyn Layer<f64> {
        &mut self.layer
    }

    fn to_f32(&self) -> Option<Box<dyn Stage<f32>>> {
        Some(Box::new(Held::<A, B, A>::new(self.layer.to_dtype::<f32>())))
    }

    fn to_f64(&self) -> Option<Box<dyn Stage<f64>>> {
        Some(Box::new(Held::<A, B, B>::new(self.layer.to_dtype::<f64>())))
    }
}

/// A boxed layer that cannot change element type.
struct Fixed<T: Float>(Box<dyn Layer<T>>);

impl<T: Float> Stage<T> for Fixed<T> {
    fn forward(&self, input: &Tensor<T>) -> Tensor<T> {
        self.0.forward(input)
    }

    fn layer(&self) -> &dyn Layer<T> {
        self.0.as_ref()
    }

    fn layer_mut(&mut self) -> &mut dyn Layer<T> {
        self.0.as_mut()
    }

    fn to_f32(&self) -> Option<Box<dyn Stage<f32>>> {
        None
    }

    fn to_f64(&self) -> Option<Box<dyn Stage<f64>>> {
        None
    }
}

/// `layer` as a stage over `T`: `L` is `A` when `T` is `f32` and `B` when
/// it is `f64` (a layer type generic over its element type); one that is
/// not is kept without conversion.
fn hold<T, A, B, L>(layer: L) -> Box<dyn Stage<T>>
where
    T: Float,
    L: Layer<T> + 'static,
    A: Layer<f32> + ToDtype<Output<f32> = A, Output<f64> = B> + 'static,
    B: Layer<f64> + ToDtype<Output<f32> = A, Output<f64> = B> + 'static,
{
    let any: Box<dyn Any> = Box::new(layer);
    let held: Box<dyn Any> = if T::DTYPE == f32::DTYPE {
        match any.downcast::<A>() {
            Ok(a) => Box::new(Box::new(Held::<A, B, A>::new(*a)) as Box<dyn Stage<f32>>),
            Err(any) => return fixed::<T, L>(any),
        }
    } else {
        match any.downcast::<B>() {
            Ok(b) => Box::new(Box::new(Held::<A, B, B>::new(*b)) as Box<dyn Stage<f64>>),
            Err(any) => return fixed::<T, L>(any),
        }
    };
    *held
        .downcast::<Box<dyn Stage<T>>>()
        .expect("a stage over f32 or f64 is a stage over T")
}

fn fixed<T: Float, L: Layer<T> + 'static>(any: Box<dyn Any>) -> Box<dyn Stage<T>> {
    let layer = any
        .downcast::<L>()
        .expect("the value is the layer it was made from");
    Box::new(Fixed(layer as Box<dyn Layer<T>>))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::zoo;
    use crate::tensor::Generator;

    #[test]
    fn a_nested_chain_converts_to_f64_and_back_with_its_names_values_and_mode() {
        let mut model = zoo::vgg_small::<f32>(10, &mut Generator::new(0));
        model.eval();
        let double = model.to_f64();
        assert!(!double.is_training());
        let names = |m: &dyn Module<f64>| m.state_dict().into_iter().map(|(n, _)| n).collect::<Vec<_>>();
        assert_eq!(names(&double), names(&model.to_f64().to_f32().to_f64()));
        assert_eq!(double.state_dict().len(), model.state_dict().len());
        let x = Tensor::<f32>::randn(&[2, 3, 32, 32], &mut Generator::new(1));
        let y32 = model.forward(&x).to_vec();
        let y64 = double.forward(&x.to_dtype::<f64>()).to_vec();
        for (a, b) in y32.iter().zip(&y64) {
            assert!((*a as f64 - b).abs() < 1e-4, "{a} vs {b}");
        }
    }

    #[test]
    #[should_panic(
        expected = "Sequential::to_dtype: layer 1 (ReLU) was pushed boxed and cannot change element type"
    )]
    fn a_pushed_layer_stops_conversion_naming_it() {
        let mut model: Sequential =
            Sequential::new().add(crate::nn::Linear::new(2, 2, true, &mut Generator::new(0)));
        model.push(Box::new(crate::nn::Relu));
        let _ = model.to_f64();
    }
}
