//! [`Categorical`]: one of `C` categories, by their probabilities.

use super::{Distribution, KlDivergence};
use crate::autograd::no_grad;
use crate::element::Float;
use crate::tensor::{Generator, IndexTensor, Tensor};

/// A batch of categorical distributions over `0..C`, as
/// `torch.distributions.Categorical`: the last dimension of the
/// probabilities (or logits) indexes the categories, the others are the
/// batch shape; a draw is a category index (an [`IndexTensor`]) and the
/// event is a scalar.
///
/// Probabilities given are normalised to sum to 1 along the last
/// dimension, and logits to `logits - logsumexp(logits)`, as in PyTorch.
///
/// ```
/// use nabla::distributions::{Categorical, Distribution};
/// use nabla::{Generator, IndexTensor, Tensor};
/// let die = Categorical::from_probs(&Tensor::from_vec(vec![1.0f64, 1.0, 2.0], &[3]));
/// assert_eq!(die.probs().to_vec(), vec![0.25, 0.25, 0.5]);
/// let log_p = die.log_prob(&IndexTensor::from_vec(vec![2, 0], &[2]));
/// assert!((log_p.to_vec()[0] - 0.5f64.ln()).abs() < 1e-15);
/// // -(2 x 1/4 log 1/4 + 1/2 log 1/2) = 1.5 log 2
/// assert!((die.entropy().item() - 1.5 * 2f64.ln()).abs() < 1e-15);
/// let draws = die.sample(&[1000], &mut Generator::new(0)).to_vec();
/// let twos = draws.iter().filter(|&&c| c == 2).count();
/// assert!((420..580).contains(&twos));
/// ```
#[derive(Clone, Debug)]
pub struct Categorical<T: Float = f32> {
    probs: Tensor<T>,
    logits: Tensor<T>,
}

/// Panics unless the parameters have a category dimension with categories.
#[track_caller]
fn check_categories(what: &str, shape: &[usize]) {
    assert!(
        shape.last().is_some_and(|&c| c > 0),
        "Categorical: {what} of shape {shape:?} need a last dimension of at least one category"
    );
}

impl<T: Float> Categorical<T> {
    /// The categorical distributions with probabilities proportional to
    /// `probs` (non-negative, each row with a positive sum) along the last
    /// dimension. Their logits are the logs of the normalised
    /// probabilities, clamped into `[eps, 1 - eps]`.
    ///
    /// # Panics
    /// If `probs` has no dimension or an empty last one.
    #[track_caller]
    pub fn from_probs(probs: &Tensor<T>) -> Self {
        check_categories("probabilities", probs.shape());
        let probs = probs.div(&probs.sum_dim(-1, true));
        let logits = super::clamp_probs(&probs).log();
        Categorical { probs, logits }
    }

    /// The categorical distributions with log-probabilities `logits` up to
    /// a constant along the last dimension.
    ///
    /// # Panics
    /// If `logits` has no dimension or an empty last one.
    #[track_caller]
    pub fn from_logits(logits: &Tensor<T>) -> Self {
        check_categories("logits", logits.shape());
        let logits = logits.sub(&logits.logsumexp(-1, true));
        Categorical {
            probs: logits.softmax(-1),
            logits,
        }
    }

    /// The normalised probabilities, `[batch_shape, C]`.
    pub fn probs(&self) -> &Tensor<T> {
        &self.probs
    }

    /// The normalised log-probabilities, `[batch_shape, C]`.
    pub fn logits(&self) -> &Tensor<T> {
        &self.logits
    }

    /// The number of categories `C`.
    pub fn num_categories(&self) -> usize {
        *self.probs.shape().last().expect("a category dimension")
    }
}

impl<T: Float> Distribution<T> for Categorical<T> {
    type Value = IndexTensor;

    fn batch_shape(&self) -> Vec<usize> {
        let shape = self.probs.shape();
        shape[..shape.len() - 1].to_vec()
    }

    fn event_shape(&self) -> Vec<usize> {
        Vec::new()
    }

    /// The log-probability of each category index of `value`, of shape
    /// `sample_shape + batch_shape`.
    ///
    /// # Panics
    /// If `value`'s shape does not end with the batch shape, or an index is
    /// not below the number of categories.
    #[track_caller]
    fn log_prob(&self, value: &IndexTensor) -> Tensor<T> {
        let batch = self.batch_shape();
        let shape = value.shape().to_vec();
        assert!(
            shape.ends_with(&batch),
            "Categorical::log_prob: a value of shape {shape:?} does not end with the batch shape {batch:?}"
        );
        let categories = self.num_categories();
        if let Some(&bad) = value.as_slice().iter().find(|&&c| c >= categories) {
            panic!("Categorical::log_prob: category {bad} is not below the {categories} categories");
        }
        let picked = self
            .logits
            .expand(&[shape.as_slice(), &[categories]].concat())
            .gather(-1, &value.reshape(&[shape.as_slice(), &[1]].concat()));
        picked.reshape(&shape)
    }

    /// Category indices of shape `sample_shape + batch_shape`.
    fn sample(&self, sample_shape: &[usize], generator: &mut Generator) -> IndexTensor {
        let batch = self.batch_shape();
        let (rows, categories) = (batch.iter().product::<usize>(), self.num_categories());
        let draws: usize = sample_shape.iter().product();
        let by_row = no_grad(|| {
            self.probs
                .reshape(&[rows, categories])
                .multinomial(draws, true, generator)
        })
        .to_vec();
        // multinomial gives [rows, draws]; a sample is [draws, rows].
        let mut samples = vec![0; draws * rows];
        for (r, row) in by_row.chunks(draws.max(1)).enumerate() {
            for (d, &c) in row.iter().enumerate() {
                samples[d * rows + r] = c;
            }
        }
        IndexTensor::from_vec(samples, &[sample_shape, &batch].concat())
    }

    /// `-Σ p log p` over the categories (a category of probability 0
    /// counts 0, its log being clamped to the type's lowest finite value).
    fn entropy(&self) -> Tensor<T> {
        self.logits
            .clamp(Some(T::min_value()), None)
            .mul(&self.probs)
            .sum_dim(-1, false)
            .neg()
    }
}

/// `KL(p || q) = Σ p (log p - log q)` over the categories: infinite where
/// `q` gives 0 to a category `p` does not, a category of `p`-probability 0
/// counting 0.
impl<T: Float> KlDivergence<T, Categorical<T>> for Categorical<T> {
    fn kl_divergence(&self, q: &Categorical<T>) -> Tensor<T> {
        let terms = self.probs.mul(&self.logits.sub(&q.logits));
        let terms = Tensor::where_(
            &q.probs.eq_scalar(T::zero()),
            &Tensor::scalar(T::infinity()),
            &terms,
        );
        let terms = Tensor::where_(
            &self.probs.eq_scalar(T::zero()),
            &Tensor::scalar(T::zero()),
            &terms,
        );
        terms.sum_dim(-1, false)
    }
}
