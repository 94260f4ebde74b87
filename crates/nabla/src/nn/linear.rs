//! The fully connected layer y = x W^T + b.

use super::init::{kaiming_uniform_, uniform_, FanMode};
use super::{Geometry, Layer, Module, Summarize};
use crate::element::Float;
use crate::tensor::{Generator, Tensor};

/// A fully connected layer: `y = x W^T + b`, with `W` of shape
/// `[out_features, in_features]` and `b` of shape `[out_features]`, as
/// `torch.nn.Linear`.
///
/// Input `[..., in_features]`, output `[..., out_features]`. Initialised as
/// PyTorch does: `W` Kaiming-uniform with a = sqrt(5), which is
/// U(-1/sqrt(in), 1/sqrt(in)), and `b` from the same range.
///
/// The element type defaults to `f32` where a type is written
/// (`let layer: Linear = ...`); `Linear::<f64>::new` gives an `f64` layer.
///
/// ```
/// use nabla::nn::{Layer, Linear};
/// use nabla::{Generator, Tensor};
/// let layer: Linear = Linear::new(3, 2, true, &mut Generator::new(0)); // Linear<f32>
/// let y = layer.forward(&Tensor::ones(&[5, 3]));
/// assert_eq!(y.shape(), &[5, 2]);
/// ```
#[derive(Module)]
#[module(custom_summary)]
pub struct Linear<T: Float = f32> {
    /// `[out_features, in_features]`.
    pub weight: Tensor<T>,
    /// `[out_features]`, if the layer has a bias.
    pub bias: Option<Tensor<T>>,
}

impl<T: Float> Linear<T> {
    /// A layer from `in_features` to `out_features`, with or without bias,
    /// initialised from `generator`.
    pub fn new(in_features: usize, out_features: usize, bias: bool, generator: &mut Generator) -> Self {
        let weight = Tensor::zeros(&[out_features, in_features]);
        kaiming_uniform_(&weight, 5f64.sqrt(), FanMode::FanIn, "leaky_relu", generator);
        let bias = bias.then(|| {
            let b = Tensor::zeros(&[out_features]);
            let bound = if in_features > 0 {
                1.0 / (in_features as f64).sqrt()
            } else {
                0.0
            };
            uniform_(&b, -bound, bound, generator);
            b.requires_grad()
        });
        Linear {
            weight: weight.requires_grad(),
            bias,
        }
    }

    /// A layer with the given weight `[out, in]` and bias `[out]` (which
    /// become parameters).
    ///
    /// # Panics
    /// If the shapes do not fit together.
    pub fn from_parameters(weight: Tensor<T>, bias: Option<Tensor<T>>) -> Self {
        assert!(
            weight.ndim() == 2,
            "Linear: weight must be [out, in], got {:?}",
            weight.shape()
        );
        if let Some(b) = &bias {
            assert!(
                b.shape() == &weight.shape()[..1],
                "Linear: bias of shape {:?} does not fit weight of shape {:?}",
                b.shape(),
                weight.shape()
            );
        }
        Linear {
            weight: weight.requires_grad(),
            bias: bias.map(Tensor::requires_grad),
        }
    }

    /// `in_features`.
    pub fn in_features(&self) -> usize {
        self.weight.shape()[1]
    }

    /// `out_features`.
    pub fn out_features(&self) -> usize {
        self.weight.shape()[0]
    }
}

impl<T: Float> Summarize<T> for Linear<T> {
    fn describe(&self) -> String {
        format!(
            "Linear({}, {}, bias={})",
            self.in_features(),
            self.out_features(),
            self.bias.is_some()
        )
    }

    fn geometry(&self) -> Geometry {
        Geometry::Global
    }

    fn multiply_adds(&self, _input: &[usize], output: &[usize]) -> usize {
        output.iter().product::<usize>() * self.in_features()
    }
}

impl<T: Float> Layer<T> for Linear<T> {
    fn forward(&self, input: &Tensor<T>) -> Tensor<T> {
        let features = input.shape().last().copied().unwrap_or(0);
        assert!(
            features == self.in_features(),
            "Linear({}, {}): input of shape {:?} does not end in {} features",
            self.in_features(),
            self.out_features(),
            input.shape(),
            self.in_features()
        );
        let y = input.matmul(&self.weight.t());
        match &self.bias {
            Some(b) => &y + b,
            None => y,
        }
    }
}
