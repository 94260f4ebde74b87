//! The names most programs use, in one import: `use nabla::prelude::*;`.
//!
//! Tensors and their generator, the `Module` trait and its derive, the
//! `Layer` trait that gives `forward`, the common layers, the loss
//! functions with PyTorch's defaults, the optimizers, and the data loader.
//!
//! ```
//! use nabla::prelude::*;
//!
//! #[derive(Module)]
//! struct Mlp {
//!     hidden: Linear,
//!     out: Linear,
//! }
//!
//! impl Mlp {
//!     fn forward(&self, x: &Tensor) -> Tensor {
//!         self.out.forward(&self.hidden.forward(x).relu())
//!     }
//! }
//!
//! let mut g = Generator::new(0);
//! let model = Mlp { hidden: Linear::new(4, 8, true, &mut g), out: Linear::new(8, 3, true, &mut g) };
//! let mut optimizer = Sgd::new(model.parameters(), SgdConfig::new(0.1));
//! let x = Tensor::<f32>::randn(&[5, 4], &mut g);
//! let y = IndexTensor::from_vec(vec![0, 1, 2, 0, 1], &[5]);
//! let loss = cross_entropy(&model.forward(&x), &y);
//! optimizer.zero_grad();
//! loss.backward();
//! optimizer.step();
//! let names: Vec<String> = model.named_parameters().into_iter().map(|(n, _)| n).collect();
//! assert_eq!(names, ["hidden.weight", "hidden.bias", "out.weight", "out.bias"]);
//! assert!(cross_entropy(&model.forward(&x), &y).item() < loss.item());
//! ```

pub use crate::autograd::{no_grad, NoGradGuard};
pub use crate::data::{DataLoader, Dataset, LoaderConfig};
pub use crate::element::Float;
pub use crate::nn::loss::{
    binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, mse_loss, nll_loss, Reduction,
};
pub use crate::nn::{
    AvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, Dropout, Embedding, Flatten, Gelu, Gru, Layer, LayerNorm,
    Linear, Lstm, MaxPool2d, Module, Relu, Rnn, RnnOptions, Sequential, Sigmoid, Tanh, ToDtype,
};
pub use crate::optim::{clip_grad_norm_, Adam, AdamConfig, AdamW, AdamWConfig, Optimizer, Sgd, SgdConfig};
pub use crate::tensor::{Generator, IndexTensor, Tensor};
