//! Probability distributions with PyTorch's names and semantics
//! (`torch.distributions`): [`Normal`], [`Bernoulli`] (from probabilities or
//! logits), [`Categorical`], and [`Independent`], which reinterprets batch
//! dimensions as event dimensions (a diagonal Gaussian over a vector is
//! `Independent::new(Normal::new(loc, scale), 1)`).
//!
//! Each distribution is a batch of independent distributions of one
//! family, with the parameters' broadcast shape as its
//! [`batch_shape`](Distribution::batch_shape). The traits say what it can
//! do:
//!
//! - [`Distribution`][]: [`log_prob`](Distribution::log_prob),
//!   [`sample`](Distribution::sample) (seeded by a [`Generator`], no
//!   gradient), [`entropy`](Distribution::entropy), and the shapes;
//! - [`Rsample`][]: [`rsample`](Rsample::rsample), a reparameterised sample
//!   through which gradients flow to the parameters (the Normal's
//!   `loc + eps * scale`);
//! - [`Moments`][]: [`mean`](Moments::mean), [`variance`](Moments::variance)
//!   and [`stddev`](Moments::stddev);
//! - [`KlDivergence`] and [`kl_divergence`][]: the closed-form
//!   Kullback-Leibler divergence of Normal/Normal, Bernoulli/Bernoulli,
//!   Categorical/Categorical and Independent/Independent pairs.
//!
//! Everything is built from differentiable tensor ops, so gradients flow
//! from `log_prob`, `entropy`, `rsample` and `kl_divergence` to the
//! parameters (and to the value, for `log_prob` of a continuous value).
//! Parameter values are not validated (PyTorch's `validate_args=False`): a
//! negative scale or a probability outside [0, 1] gives NaN, not an error.
//! The random streams are nabla's own, so draws differ from PyTorch's for
//! the same seed; the distributions are the same.
//!
//! ```
//! use nabla::distributions::{kl_divergence, Distribution, Independent, Normal, Rsample};
//! use nabla::{Generator, Tensor};
//!
//! // A VAE's posterior q(z|x) over 2 latents for a batch of 3, and its prior.
//! let loc = Tensor::<f64>::zeros(&[3, 2]).requires_grad();
//! let scale = Tensor::<f64>::ones(&[3, 2]).requires_grad();
//! let q = Independent::new(Normal::new(&loc, &scale), 1);
//! let prior = Independent::new(Normal::new(&Tensor::zeros(&[3, 2]), &Tensor::ones(&[3, 2])), 1);
//! assert_eq!((q.batch_shape(), q.event_shape()), (vec![3], vec![2]));
//!
//! let z = q.rsample(&[], &mut Generator::new(0)); // [3, 2], differentiable
//! let log_q = q.log_prob(&z); // [3]: summed over the event dimension
//! assert_eq!(log_q.shape(), &[3]);
//! assert!(kl_divergence(&q, &prior).to_vec().iter().all(|kl| kl.abs() < 1e-12));
//! z.sum().backward();
//! assert_eq!(loc.grad().unwrap().to_vec(), vec![1.0; 6]);
//! ```

mod bernoulli;
mod categorical;
mod independent;
mod normal;

pub use bernoulli::Bernoulli;
pub use categorical::Categorical;
pub use independent::Independent;
pub use normal::Normal;

use crate::element::Float;
use crate::layout::broadcast_shapes;
use crate::tensor::{Generator, Tensor};

/// A batch of probability distributions of one family.
///
/// A draw has the shape `sample_shape + batch_shape + event_shape`, as in
/// PyTorch: `batch_shape` indexes independent distributions (one per
/// example, say), `event_shape` is the shape of one draw of one of them
/// (empty for a scalar distribution, `[d]` for a distribution over
/// vectors).
pub trait Distribution<T: Float = f32> {
    /// What a draw is: a `Tensor<T>` (Normal, Bernoulli) or an
    /// [`IndexTensor`](crate::IndexTensor) of category indices (Categorical).
    type Value;

    /// The shape of the batch of distributions.
    fn batch_shape(&self) -> Vec<usize>;

    /// The shape of one draw of one distribution of the batch.
    fn event_shape(&self) -> Vec<usize>;

    /// The log-density (or log-mass) of `value`, whose shape ends with
    /// `batch_shape + event_shape` (after broadcasting); the result has
    /// `value`'s shape without the event dimensions.
    fn log_prob(&self, value: &Self::Value) -> Tensor<T>;

    /// Draws of shape `sample_shape + batch_shape + event_shape` from
    /// `generator`, outside the graph (no gradient flows through them).
    fn sample(&self, sample_shape: &[usize], generator: &mut Generator) -> Self::Value;

    /// The entropy of each distribution of the batch, `[batch_shape]`, in nats.
    fn entropy(&self) -> Tensor<T>;
}

/// A distribution with a reparameterised sample (PyTorch's
/// `has_rsample`): the draw is a differentiable function of the parameters
/// and of parameter-free noise, so gradients of anything computed from it
/// flow back to the parameters (the "reparameterisation trick").
pub trait Rsample<T: Float = f32>: Distribution<T, Value = Tensor<T>> {
    /// Draws of shape `sample_shape + batch_shape + event_shape`, recorded
    /// in the graph as functions of the parameters.
    fn rsample(&self, sample_shape: &[usize], generator: &mut Generator) -> Tensor<T>;
}

/// The first two moments of each distribution of the batch, of shape
/// `batch_shape + event_shape`.
pub trait Moments<T: Float = f32> {
    /// The mean.
    fn mean(&self) -> Tensor<T>;

    /// The variance.
    fn variance(&self) -> Tensor<T>;

    /// The standard deviation, the square root of the variance.
    fn stddev(&self) -> Tensor<T> {
        self.variance().sqrt()
    }
}

/// The Kullback-Leibler divergence `KL(self || q) = E_self[log self(x) -
/// log q(x)]` in closed form, for the pairs of families that have one.
pub trait KlDivergence<T: Float, Q: ?Sized> {
    /// `KL(self || q)` of each pair of the (broadcast) batches, in nats.
    fn kl_divergence(&self, q: &Q) -> Tensor<T>;
}

/// `KL(p || q)` in closed form, as `torch.distributions.kl_divergence(p, q)`:
/// one value per pair of distributions of the (broadcast) batches, in nats.
///
/// ```
/// use nabla::distributions::{kl_divergence, Bernoulli, Normal};
/// use nabla::Tensor;
/// let p = Normal::new(&Tensor::scalar(0.0f64), &Tensor::scalar(1.0));
/// let q = Normal::new(&Tensor::scalar(1.0f64), &Tensor::scalar(2.0));
/// // log(2) + (1 + 1) / 8 - 1/2
/// assert!((kl_divergence(&p, &q).item() - (2f64.ln() - 0.25)).abs() < 1e-15);
/// let fair = Bernoulli::from_probs(&Tensor::scalar(0.5f64));
/// assert_eq!(kl_divergence(&fair, &fair).item(), 0.0);
/// ```
pub fn kl_divergence<T: Float, P: KlDivergence<T, Q>, Q: ?Sized>(p: &P, q: &Q) -> Tensor<T> {
    p.kl_divergence(q)
}

/// `sample_shape + batch_shape + event_shape`.
fn extended_shape(sample_shape: &[usize], batch_shape: &[usize], event_shape: &[usize]) -> Vec<usize> {
    [sample_shape, batch_shape, event_shape].concat()
}

/// The two parameters expanded to their broadcast shape (views), as
/// PyTorch's `broadcast_all`.
///
/// # Panics
/// If the shapes do not broadcast, naming `family` and the parameters.
#[track_caller]
fn broadcast_pair<T: Float>(
    family: &str,
    names: [&str; 2],
    a: &Tensor<T>,
    b: &Tensor<T>,
) -> (Tensor<T>, Tensor<T>) {
    let shape = broadcast_shapes(a.shape(), b.shape()).unwrap_or_else(|| {
        panic!(
            "{family}: {} of shape {:?} and {} of shape {:?} do not broadcast together",
            names[0],
            a.shape(),
            names[1],
            b.shape()
        )
    });
    (a.expand(&shape), b.expand(&shape))
}

/// `log(1 + e^x)` elementwise as PyTorch's `F.softplus` (beta 1, threshold
/// 20: `x` itself above 20), computed stably as `-log sigmoid(-x)`.
fn softplus<T: Float>(x: &Tensor<T>) -> Tensor<T> {
    let stable = crate::nn::loss::neg_log_sigmoid(&x.neg());
    Tensor::where_(&x.gt_scalar(T::from_f64(20.0)), x, &stable)
}

/// Probabilities clamped into `[eps, 1 - eps]` with the type's machine
/// epsilon, as PyTorch's `clamp_probs`, so that their logs are finite.
fn clamp_probs<T: Float>(probs: &Tensor<T>) -> Tensor<T> {
    let eps = T::epsilon();
    probs.clamp(Some(eps), Some(T::one() - eps))
}
