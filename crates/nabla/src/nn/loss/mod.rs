//! Loss functions with PyTorch's semantics: as functions
//! ([`mse_loss`], [`binary_cross_entropy`],
//! [`binary_cross_entropy_with_logits`], [`nll_loss`], [`cross_entropy`])
//! and as structs that hold their options ([`MseLoss`], [`BceLoss`],
//! [`BceWithLogitsLoss`], [`NllLoss`], [`CrossEntropyLoss`]), each with a
//! [`Reduction`]: the mean (the default), the sum, or none.
//!
//! # Sign convention: nabla minimises the *negative* log-likelihood
//!
//! The course writes the logistic loss and the cross-entropy as
//! log-likelihoods, without their leading minus sign:
//! `y log p + (1 - y) log(1 - p)` for a probability `p` of the label
//! `y` in {0, 1}, and `log p_y` for the probability the model gives the true
//! class `y`. Those are quantities to *maximise*. nabla, like PyTorch and
//! every optimizer in [`optim`](crate::optim), works with losses to
//! *minimise*, so every loss here is the usual minimised form, the
//! **negative** log-likelihood:
//!
//! - [`binary_cross_entropy`]: `-(y log p + (1 - y) log(1 - p))`,
//! - [`cross_entropy`] and [`nll_loss`]: `-log p_y`,
//!
//! which are non-negative and are zero for a perfect prediction. Maximising
//! the course's expression and minimising nabla's are the same problem; the
//! gradients differ only in sign.
//!
//! # Differentiation
//!
//! Every loss is built from differentiable tensor ops, so autograd gives its
//! gradient with respect to the input (and to a float target), and the
//! backward passes are differentiable again (Hessian-vector products,
//! [`gradgradcheck`](crate::autograd::gradgradcheck)). Two elementwise
//! pieces are single recorded ops, for accuracy, with a backward that is
//! itself written with differentiable tensor ops: the term of
//! [`binary_cross_entropy`] (whose gradient is PyTorch's formula, finite at
//! probabilities 0 and 1), and `-log sigmoid(z)` in
//! [`binary_cross_entropy_with_logits`] (computed with `log1p`).
//!
//! # Why the loss structs are not [`Module`](crate::nn::Module)s
//!
//! [`Module::forward`](crate::nn::Module::forward) maps one tensor to one
//! tensor, while a loss takes two inputs: the prediction and the target
//! (class indices, an [`IndexTensor`](crate::IndexTensor), for
//! [`NllLoss`] and [`CrossEntropyLoss`]). The structs therefore have their
//! own `forward(&self, input, target)`; they hold options only, no
//! parameters.
//!
//! ```
//! use nabla::nn::loss::{cross_entropy_with, Reduction};
//! use nabla::{IndexTensor, Tensor};
//!
//! let logits = Tensor::from_vec(vec![2.0f64, 0.0, 0.0, 0.0, 3.0, 0.0], &[2, 3]).requires_grad();
//! let target = IndexTensor::from_vec(vec![0, 1], &[2]);
//! let loss = cross_entropy_with(&logits, &target, None, None, Reduction::Mean);
//! loss.backward();
//! // -log softmax picked at the true classes, averaged: a positive number.
//! assert!(loss.item() > 0.0);
//! ```

mod binary;
mod classification;
mod modules;
mod regression;

pub(crate) use binary::neg_log_sigmoid;
pub use binary::{
    binary_cross_entropy, binary_cross_entropy_with, binary_cross_entropy_with_logits,
    binary_cross_entropy_with_logits_with,
};
pub use classification::{
    cross_entropy, cross_entropy_with, cross_entropy_with_label_smoothing, nll_loss, nll_loss_with,
};
pub use modules::{BceLoss, BceWithLogitsLoss, CrossEntropyLoss, MseLoss, NllLoss};
pub use regression::{huber_loss, mse_loss, mse_loss_with, smooth_l1_loss};

use crate::element::Float;
use crate::layout::broadcast_shapes;
use crate::tensor::Tensor;

/// How a loss combines its per-element values, as PyTorch's `reduction`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Reduction {
    /// The mean, a zero-dimensional tensor (the default). For [`nll_loss`]
    /// and [`cross_entropy`] with class weights it is the *weighted* mean:
    /// the sum of `w[y_i] loss_i` divided by the sum of `w[y_i]` over the
    /// targets that are not ignored.
    #[default]
    Mean,
    /// The sum, a zero-dimensional tensor.
    Sum,
    /// No reduction: one loss per element (per target for the class losses).
    None,
}

impl Reduction {
    /// The name PyTorch uses: `"mean"`, `"sum"` or `"none"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reduction::Mean => "mean",
            Reduction::Sum => "sum",
            Reduction::None => "none",
        }
    }
}

/// Reduces elementwise losses by the plain mean or sum.
fn reduce<T: Float>(loss: Tensor<T>, reduction: Reduction) -> Tensor<T> {
    match reduction {
        Reduction::Mean => loss.mean(),
        Reduction::Sum => loss.sum(),
        Reduction::None => loss,
    }
}

/// Panics unless the two shapes are equal.
#[track_caller]
fn check_same_shape(loss: &str, what: &str, shape: &[usize], other_what: &str, other: &[usize]) {
    assert!(
        shape == other,
        "{loss}: {what} of shape {shape:?} and {other_what} of shape {other:?} differ; they must have the same shape"
    );
}

/// Panics unless `shape` broadcasts to `input` without enlarging it.
#[track_caller]
fn check_broadcasts_to(loss: &str, what: &str, shape: &[usize], input: &[usize]) {
    assert!(
        broadcast_shapes(shape, input).as_deref() == Some(input),
        "{loss}: {what} of shape {shape:?} does not broadcast to the input's shape {input:?}"
    );
}

/// Multiplies by an optional elementwise weight.
fn weighted<T: Float>(loss: Tensor<T>, weight: Option<&Tensor<T>>) -> Tensor<T> {
    match weight {
        Some(w) => loss.mul(w),
        None => loss,
    }
}
