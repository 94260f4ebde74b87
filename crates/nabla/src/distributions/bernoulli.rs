//! [`Bernoulli`]: a coin that shows 1 with probability `probs`.

use super::{broadcast_pair, clamp_probs, extended_shape, softplus, Distribution, KlDivergence, Moments};
use crate::autograd::no_grad;
use crate::element::Float;
use crate::nn::loss::{binary_cross_entropy_with_logits_with, Reduction};
use crate::tensor::{Generator, Tensor};

/// A batch of Bernoulli distributions over {0, 1}, as
/// `torch.distributions.Bernoulli`, given by the probabilities of 1
/// ([`from_probs`](Bernoulli::from_probs)) or by their logits
/// ([`from_logits`](Bernoulli::from_logits)); the event is a scalar.
///
/// As in PyTorch, the log-probability and the entropy are computed from the
/// logits (stably, as the binary cross-entropy with logits), and
/// probabilities given are clamped into `[eps, 1 - eps]` (the type's
/// machine epsilon) before their logits are taken. `log_prob` also takes
/// values between 0 and 1 (grey pixels), where it is
/// `x log p + (1 - x) log(1 - p)`, which is not a normalised density over
/// [0, 1]. There is no [`rsample`](super::Rsample): a draw is not a
/// differentiable function of `p`.
///
/// ```
/// use nabla::distributions::{Bernoulli, Distribution, Moments};
/// use nabla::{Generator, Tensor};
/// let coin = Bernoulli::from_probs(&Tensor::from_vec(vec![0.25f64, 0.5], &[2]));
/// let log_p = coin.log_prob(&Tensor::from_vec(vec![1.0, 0.0], &[2])).to_vec();
/// assert!((log_p[0] - 0.25f64.ln()).abs() < 1e-12 && (log_p[1] - 0.5f64.ln()).abs() < 1e-12);
/// assert_eq!(coin.variance().to_vec(), vec![0.1875, 0.25]);
/// let same = Bernoulli::from_logits(&Tensor::from_vec(vec![-3f64.ln(), 0.0], &[2]));
/// assert!((same.probs().to_vec()[0] - 0.25).abs() < 1e-15);
/// let draws = coin.sample(&[4000], &mut Generator::new(0)); // [4000, 2] of 0s and 1s
/// let ones = draws.mean_dim(0, false).to_vec();
/// assert!((ones[0] - 0.25).abs() < 0.03 && (ones[1] - 0.5).abs() < 0.03);
/// ```
#[derive(Clone, Debug)]
pub struct Bernoulli<T: Float = f32> {
    probs: Tensor<T>,
    logits: Tensor<T>,
}

impl<T: Float> Bernoulli<T> {
    /// The Bernoulli distributions with probabilities `probs` (in [0, 1])
    /// of 1. Their logits are `log p - log(1 - p)` of the clamped `p`.
    pub fn from_probs(probs: &Tensor<T>) -> Self {
        let clamped = clamp_probs(probs);
        let logits = clamped.log().sub(&clamped.neg().add_scalar(T::one()).log());
        Bernoulli {
            probs: probs.clone(),
            logits,
        }
    }

    /// The Bernoulli distributions with log-odds `logits` of 1: the
    /// probabilities are `sigmoid(logits)`.
    pub fn from_logits(logits: &Tensor<T>) -> Self {
        Bernoulli {
            probs: logits.sigmoid(),
            logits: logits.clone(),
        }
    }

    /// The probabilities of 1, of the batch shape.
    pub fn probs(&self) -> &Tensor<T> {
        &self.probs
    }

    /// The log-odds of 1, of the batch shape.
    pub fn logits(&self) -> &Tensor<T> {
        &self.logits
    }
}

impl<T: Float> Distribution<T> for Bernoulli<T> {
    type Value = Tensor<T>;

    fn batch_shape(&self) -> Vec<usize> {
        self.probs.shape().to_vec()
    }

    fn event_shape(&self) -> Vec<usize> {
        Vec::new()
    }

    /// `x log p + (1 - x) log(1 - p)`, as minus the binary cross-entropy
    /// with logits.
    fn log_prob(&self, value: &Tensor<T>) -> Tensor<T> {
        let (logits, value) = broadcast_pair("Bernoulli::log_prob", ["logits", "value"], &self.logits, value);
        binary_cross_entropy_with_logits_with(&logits, &value, None, None, Reduction::None).neg()
    }

    /// 1 with probability `p`, 0 otherwise: a uniform draw below `p`.
    fn sample(&self, sample_shape: &[usize], generator: &mut Generator) -> Tensor<T> {
        let shape = extended_shape(sample_shape, self.probs.shape(), &[]);
        no_grad(|| Tensor::rand(&shape, generator).lt(&self.probs))
    }

    /// `-(p log p + (1 - p) log(1 - p))`, as the binary cross-entropy of
    /// the logits against `p`.
    fn entropy(&self) -> Tensor<T> {
        binary_cross_entropy_with_logits_with(&self.logits, &self.probs, None, None, Reduction::None)
    }
}

impl<T: Float> Moments<T> for Bernoulli<T> {
    fn mean(&self) -> Tensor<T> {
        self.probs.clone()
    }

    /// `p (1 - p)`.
    fn variance(&self) -> Tensor<T> {
        self.probs.mul(&self.probs.neg().add_scalar(T::one()))
    }
}

/// `KL(p || q) = p log(p / q) + (1 - p) log((1 - p) / (1 - q))`, computed
/// as PyTorch does from softplus of the logits: infinite where `q` is 0
/// (or 1) and `p` is not, and each term 0 where its weight `p` (or `1 - p`)
/// is 0.
impl<T: Float> KlDivergence<T, Bernoulli<T>> for Bernoulli<T> {
    fn kl_divergence(&self, q: &Bernoulli<T>) -> Tensor<T> {
        let (p, one) = (self, T::one());
        let infinity = Tensor::scalar(T::infinity());
        let zero = Tensor::scalar(T::zero());
        let ones_term = p
            .probs
            .mul(&softplus(&q.logits.neg()).sub(&softplus(&p.logits.neg())));
        let ones_term = Tensor::where_(&q.probs.eq_scalar(T::zero()), &infinity, &ones_term);
        let ones_term = Tensor::where_(&p.probs.eq_scalar(T::zero()), &zero, &ones_term);
        let zeros_term = p
            .probs
            .neg()
            .add_scalar(one)
            .mul(&softplus(&q.logits).sub(&softplus(&p.logits)));
        let zeros_term = Tensor::where_(&q.probs.eq_scalar(one), &infinity, &zeros_term);
        let zeros_term = Tensor::where_(&p.probs.eq_scalar(one), &zero, &zeros_term);
        ones_term.add(&zeros_term)
    }
}
