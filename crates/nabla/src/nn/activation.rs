//! Activation functions as modules, for use in [`Sequential`](super::Sequential).

use super::{Layer, Module, Summarize};
use crate::element::Float;
use crate::ops::GeluApproximation;
use crate::tensor::Tensor;

/// `max(x, 0)` elementwise.
#[derive(Clone, Copy, Debug, Default, Module)]
#[module(custom_summary)]
#[doc(alias = "ReLU")]
pub struct Relu;

/// `min(max(x, 0), 6)` elementwise ([`Tensor::relu6`]).
#[derive(Clone, Copy, Debug, Default, Module)]
#[module(custom_summary)]
#[doc(alias = "ReLU6")]
pub struct Relu6;

/// `x` for positive x, `negative_slope * x` otherwise (PyTorch's default
/// slope is 0.01).
#[derive(Clone, Copy, Debug, Module)]
#[module(custom_summary)]
#[doc(alias = "LeakyReLU")]
pub struct LeakyRelu {
    /// The slope for negative inputs.
    pub negative_slope: f64,
}

impl Default for LeakyRelu {
    fn default() -> Self {
        LeakyRelu { negative_slope: 0.01 }
    }
}

/// `1 / (1 + e^-x)` elementwise.
#[derive(Clone, Copy, Debug, Default, Module)]
pub struct Sigmoid;

/// `tanh(x)` elementwise.
#[derive(Clone, Copy, Debug, Default, Module)]
pub struct Tanh;

/// The GELU, `x Φ(x)`, exact (the default) or by its tanh approximation,
/// as PyTorch's `nn.GELU(approximate=...)`; see [`Tensor::gelu_with`].
///
/// ```
/// use nabla::nn::{Gelu, Layer};
/// use nabla::{GeluApproximation, Tensor};
/// let x = Tensor::from_vec(vec![-1.0f64, 1.0], &[2]);
/// let exact = Gelu::default().forward(&x);
/// let tanh = Gelu::new(GeluApproximation::Tanh).forward(&x);
/// assert_eq!(exact.to_vec(), x.gelu().to_vec());
/// assert!((exact.to_vec()[1] - tanh.to_vec()[1]).abs() < 1e-3);
/// ```
#[derive(Clone, Copy, Debug, Default, Module)]
#[module(custom_summary)]
#[doc(alias = "GELU")]
pub struct Gelu {
    /// Exact (`None`, the default) or the tanh approximation.
    #[module(skip)]
    pub approximate: GeluApproximation,
}

impl Gelu {
    /// A GELU computed as `approximate` says.
    pub fn new(approximate: GeluApproximation) -> Self {
        Gelu { approximate }
    }
}

/// Softmax along `dim`.
#[derive(Clone, Copy, Debug, Module)]
pub struct Softmax {
    /// The dimension that sums to one.
    pub dim: isize,
}

/// Log-softmax along `dim`.
#[derive(Clone, Copy, Debug, Module)]
pub struct LogSoftmax {
    /// The dimension normalised over.
    pub dim: isize,
}

impl<T: Float> Summarize<T> for Relu {
    fn describe(&self) -> String {
        "ReLU".to_string()
    }
}

impl<T: Float> Layer<T> for Relu {
    fn forward(&self, input: &Tensor<T>) -> Tensor<T> {
        input.relu()
    }
}

impl<T: Float> Summarize<T> for Relu6 {
    fn describe(&self) -> String {
        "ReLU6".to_string()
    }
}

impl<T: Float> Layer<T> for Relu6 {
    fn forward(&self, input: &Tensor<T>) -> Tensor<T> {
        input.relu6()
    }
}

impl<T: Float> Summarize<T> for LeakyRelu {
    fn describe(&self) -> String {
        "LeakyReLU".to_string()
    }
}

impl<T: Float> Layer<T> for LeakyRelu {
    fn forward(&self, input: &Tensor<T>) -> Tensor<T> {
        input.leaky_relu(T::from_f64(self.negative_slope))
    }
}

impl<T: Float> Layer<T> for Sigmoid {
    fn forward(&self, input: &Tensor<T>) -> Tensor<T> {
        input.sigmoid()
    }
}

impl<T: Float> Layer<T> for Tanh {
    fn forward(&self, input: &Tensor<T>) -> Tensor<T> {
        input.tanh()
    }
}

impl<T: Float> Summarize<T> for Gelu {
    fn describe(&self) -> String {
        match self.approximate {
            GeluApproximation::None => "GELU".to_string(),
            GeluApproximation::Tanh => "GELU(approximate='tanh')".to_string(),
        }
    }
}

impl<T: Float> Layer<T> for Gelu {
    fn forward(&self, input: &Tensor<T>) -> Tensor<T> {
        input.gelu_with(self.approximate)
    }
}

impl<T: Float> Layer<T> for Softmax {
    fn forward(&self, input: &Tensor<T>) -> Tensor<T> {
        input.softmax(self.dim)
    }
}

impl<T: Float> Layer<T> for LogSoftmax {
    fn forward(&self, input: &Tensor<T>) -> Tensor<T> {
        input.log_softmax(self.dim)
    }
}
