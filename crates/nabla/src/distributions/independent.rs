//! [`Independent`]: batch dimensions of a distribution reinterpreted as
//! event dimensions.

use super::{Distribution, KlDivergence, Moments, Rsample};
use crate::element::Float;
use crate::tensor::{Generator, Tensor};

/// A distribution whose rightmost `reinterpreted_batch_ndims` batch
/// dimensions are event dimensions, as
/// `torch.distributions.Independent(base, reinterpreted_batch_ndims)`:
/// `log_prob` and `entropy` are the base's summed over those dimensions
/// (the components are independent), so a diagonal Gaussian over vectors of
/// `d` is `Independent::new(Normal::new(loc, scale), 1)` with `loc` and
/// `scale` of `[batch, d]`. Draws, means and variances are the base's.
///
/// ```
/// use nabla::distributions::{Bernoulli, Distribution, Independent};
/// use nabla::Tensor;
/// // 2 images of 3 pixels, each pixel a coin of probability 1/2.
/// let pixels = Independent::new(Bernoulli::from_probs(&Tensor::full(&[2, 3], 0.5f64)), 1);
/// assert_eq!((pixels.batch_shape(), pixels.event_shape()), (vec![2], vec![3]));
/// let log_p = pixels.log_prob(&Tensor::zeros(&[2, 3])).to_vec(); // one per image
/// assert!((log_p[0] - 3.0 * 0.5f64.ln()).abs() < 1e-12);
/// ```
#[derive(Clone, Debug)]
pub struct Independent<D> {
    base: D,
    reinterpreted_batch_ndims: usize,
}

impl<D> Independent<D> {
    /// `base` with its rightmost `reinterpreted_batch_ndims` batch
    /// dimensions as event dimensions.
    ///
    /// # Panics
    /// If `base` has fewer batch dimensions than that.
    #[track_caller]
    pub fn new<T: Float>(base: D, reinterpreted_batch_ndims: usize) -> Self
    where
        D: Distribution<T>,
    {
        let batch = base.batch_shape();
        assert!(
            reinterpreted_batch_ndims <= batch.len(),
            "Independent: cannot reinterpret {reinterpreted_batch_ndims} batch dimensions of a batch of shape {batch:?}"
        );
        Independent {
            base,
            reinterpreted_batch_ndims,
        }
    }

    /// The base distribution.
    pub fn base(&self) -> &D {
        &self.base
    }

    /// The number of batch dimensions of the base taken as event dimensions.
    pub fn reinterpreted_batch_ndims(&self) -> usize {
        self.reinterpreted_batch_ndims
    }
}

/// `x` summed over its rightmost `n` dimensions.
fn sum_rightmost<T: Float>(x: &Tensor<T>, n: usize) -> Tensor<T> {
    if n == 0 {
        return x.clone();
    }
    let dims: Vec<isize> = (1..=n as isize).map(|d| -d).collect();
    x.sum_dims(&dims, false)
}

impl<T: Float, D: Distribution<T>> Distribution<T> for Independent<D> {
    type Value = D::Value;

    fn batch_shape(&self) -> Vec<usize> {
        let batch = self.base.batch_shape();
        batch[..batch.len() - self.reinterpreted_batch_ndims].to_vec()
    }

    fn event_shape(&self) -> Vec<usize> {
        let batch = self.base.batch_shape();
        [
            &batch[batch.len() - self.reinterpreted_batch_ndims..],
            &self.base.event_shape(),
        ]
        .concat()
    }

    fn log_prob(&self, value: &D::Value) -> Tensor<T> {
        sum_rightmost(&self.base.log_prob(value), self.reinterpreted_batch_ndims)
    }

    fn sample(&self, sample_shape: &[usize], generator: &mut Generator) -> D::Value {
        self.base.sample(sample_shape, generator)
    }

    fn entropy(&self) -> Tensor<T> {
        sum_rightmost(&self.base.entropy(), self.reinterpreted_batch_ndims)
    }
}

impl<T: Float, D: Rsample<T>> Rsample<T> for Independent<D> {
    fn rsample(&self, sample_shape: &[usize], generator: &mut Generator) -> Tensor<T> {
        self.base.rsample(sample_shape, generator)
    }
}

impl<T: Float, D: Moments<T>> Moments<T> for Independent<D> {
    fn mean(&self) -> Tensor<T> {
        self.base.mean()
    }

    fn variance(&self) -> Tensor<T> {
        self.base.variance()
    }

    fn stddev(&self) -> Tensor<T> {
        self.base.stddev()
    }
}

/// The base distributions' divergence summed over the reinterpreted
/// dimensions, as PyTorch's `_kl_independent_independent`.
///
/// # Panics
/// If the two reinterpret different numbers of dimensions.
impl<T: Float, P: KlDivergence<T, Q>, Q> KlDivergence<T, Independent<Q>> for Independent<P> {
    fn kl_divergence(&self, q: &Independent<Q>) -> Tensor<T> {
        assert_eq!(
            self.reinterpreted_batch_ndims, q.reinterpreted_batch_ndims,
            "kl_divergence: the two Independent distributions reinterpret different numbers of dimensions"
        );
        sum_rightmost(&self.base.kl_divergence(&q.base), self.reinterpreted_batch_ndims)
    }
}
