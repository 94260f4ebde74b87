//! # nabla
//!
//! A deep-learning framework for Rust that follows a deep-learning course:
//! n-dimensional [`Tensor`]s of `f32` or `f64`, reverse-mode automatic
//! differentiation on a define-by-run computational graph, and gradient
//! checking by finite differences.
//!
//! ```
//! use nabla::Tensor;
//! let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
//! let w = Tensor::from_vec(vec![0.5f32; 6], &[3, 2]).requires_grad();
//! let y = x.matmul(&w).relu().sum();
//! y.backward();
//! assert_eq!(w.grad().unwrap().to_vec(), vec![5.0, 5.0, 7.0, 7.0, 9.0, 9.0]);
//! ```
//!
//! ## Errors: shape mistakes panic, bad input from outside returns `Result`
//!
//! An op applied to tensors of incompatible shapes is a bug in the calling
//! program, like indexing a slice out of bounds, so it **panics** with a
//! message that names the op and the shapes, for example
//! `matmul: cannot multiply [2, 3] by [4, 5]`. This keeps model code free of
//! `?` on every line and lets `&a + &b` be an operator. It is the same
//! everywhere in the crate: no op returns a silently wrong answer.
//!
//! Input from outside the program (files, checkpoints, data sets, command
//! lines) can be wrong without any bug, so it is read through functions that
//! return `Result` with an error naming the file and what is wrong.
//!
//! ## Where things are
//!
//! - [`Tensor`]: creation ([`Tensor::from_vec`], [`Tensor::zeros`],
//!   [`Tensor::randn`] with a seeded [`Generator`], ...), views, elementwise
//!   ops with NumPy broadcasting, reductions, `matmul`, activations.
//! - [`autograd`]: [`Tensor::backward`], [`autograd::grad`] for higher-order
//!   derivatives, [`no_grad`], custom blocks ([`autograd::Function`]) and
//!   [`autograd::gradcheck`].
//! - [`nn`]: the [`nn::Module`] trait, `Linear`, activations, `Dropout`,
//!   `Sequential`, and PyTorch's initialisations in [`nn::init`].
//! - [`checkpoint`]: saving and loading tensors, module and optimizer states
//!   as safetensors files that PyTorch reads and writes (atomic writes,
//!   errors naming the file and tensor).
//! - [`distributions`]: `Normal`, `Bernoulli`, `Categorical` and
//!   `Independent` with PyTorch's names: log-probabilities, seeded and
//!   reparameterised samples, entropies, closed-form `kl_divergence`.
//! - [`lipschitz`]: L2 Lipschitz constants of a network (per-layer spectral
//!   norms by power iteration, the product bound, a lower bound from data)
//!   and the accuracy they certify against perturbations of a given size.
//! - [`lm`]: character-level language models (nanoGPT's GPT and an LSTM):
//!   their training step, checkpoints that carry the vocabulary, generation.
//! - [`generative`]: generative models; normalizing flows (RealNVP on
//!   vectors and, multi-scale, on images) with exact log-likelihoods.
//! - [`prelude`]: the common names in one `use nabla::prelude::*;`.
//! - [`guide`]: the guide, one page per chapter of the course, every
//!   snippet a test.
//! - [`train`]: the training loop ([`train::fit`]): epochs, validation,
//!   metrics, early stopping, checkpoints every epoch, exact resume, Ctrl-C.

// `#[derive(Module)]` names `::nabla::...` paths, inside this crate too.
extern crate self as nabla;

pub mod adversarial;
pub mod autograd;
mod backend;
pub mod bench;
pub mod checkpoint;
pub mod data;
#[cfg(feature = "mpi")]
pub mod distributed;
pub mod distributions;
mod element;
mod error;
mod f32_math;
pub mod fs;
pub mod generative;
pub mod guide;
mod kernels;
mod layout;
pub mod lipschitz;
pub mod lm;
pub mod nn;
mod ops;
pub mod optim;
mod parallel;
pub mod prelude;
pub mod rl;
mod tensor;
pub mod train;
#[cfg(feature = "data")]
pub mod transfer;

pub use autograd::{is_grad_enabled, no_grad, NoGradGuard};
pub use element::Float;
pub use error::{Error, Result};
pub use ops::{conv_output_size, Conv2dOptions, GeluApproximation, IntoPair};
pub use ops::{pool_output_size, Pool2dOptions};
pub use parallel::on_worker_thread;
pub use tensor::{Generator, IndexTensor, Tensor};
