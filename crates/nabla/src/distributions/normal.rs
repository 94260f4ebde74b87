//! [`Normal`]: the Gaussian with mean `loc` and standard deviation `scale`.

use std::f64::consts::PI;

use super::{broadcast_pair, extended_shape, Distribution, KlDivergence, Moments, Rsample};
use crate::autograd::no_grad;
use crate::element::Float;
use crate::tensor::{Generator, Tensor};

/// A batch of normal distributions `N(loc, scale²)`, as
/// `torch.distributions.Normal(loc, scale)`: `loc` and `scale` broadcast to
/// the batch shape; the event is a scalar. [`rsample`](Rsample::rsample) is
/// `loc + eps * scale` with `eps` standard normal, differentiable in `loc`
/// and `scale`.
///
/// ```
/// use nabla::distributions::{Distribution, Moments, Normal, Rsample};
/// use nabla::{Generator, Tensor};
/// let loc = Tensor::from_vec(vec![0.0f64, 1.0], &[2]);
/// let scale = Tensor::scalar(2.0f64); // broadcast to both
/// let normal = Normal::new(&loc, &scale);
/// assert_eq!((normal.batch_shape(), normal.stddev().to_vec()), (vec![2], vec![2.0, 2.0]));
/// // log N(1 | 1, 4) = -log 2 - log sqrt(2 pi)
/// let log_p = normal.log_prob(&Tensor::from_vec(vec![0.0, 1.0], &[2])).to_vec();
/// assert!((log_p[1] + 2f64.ln() + (2.0 * std::f64::consts::PI).sqrt().ln()).abs() < 1e-15);
/// let draws = normal.sample(&[1000], &mut Generator::new(0)); // [1000, 2]
/// let mean = draws.mean_dim(0, false).to_vec();
/// assert!((mean[0] - 0.0).abs() < 0.2 && (mean[1] - 1.0).abs() < 0.2);
/// ```
#[derive(Clone, Debug)]
pub struct Normal<T: Float = f32> {
    loc: Tensor<T>,
    scale: Tensor<T>,
}

impl<T: Float> Normal<T> {
    /// The normal distributions of means `loc` and standard deviations
    /// `scale` (positive), broadcast together (views, no copy).
    ///
    /// # Panics
    /// If the shapes of `loc` and `scale` do not broadcast together.
    #[track_caller]
    pub fn new(loc: &Tensor<T>, scale: &Tensor<T>) -> Self {
        let (loc, scale) = broadcast_pair("Normal", ["loc", "scale"], loc, scale);
        Normal { loc, scale }
    }

    /// The standard normal `N(0, 1)` over a batch of `shape`.
    pub fn standard(shape: &[usize]) -> Self {
        Normal::new(&Tensor::zeros(shape), &Tensor::ones(shape))
    }

    /// The means, of the batch shape.
    pub fn loc(&self) -> &Tensor<T> {
        &self.loc
    }

    /// The standard deviations, of the batch shape.
    pub fn scale(&self) -> &Tensor<T> {
        &self.scale
    }

    /// `loc + noise * scale`: the draw that standard normal `noise` (of a
    /// shape that broadcasts with the batch shape) maps to, differentiable
    /// in `loc` and `scale`. [`rsample`](Rsample::rsample) is this with
    /// freshly drawn noise; with noise held fixed it is the VAE's
    /// reparameterisation.
    pub fn rsample_from_noise(&self, noise: &Tensor<T>) -> Tensor<T> {
        self.loc.add(&noise.mul(&self.scale))
    }
}

impl<T: Float> Distribution<T> for Normal<T> {
    type Value = Tensor<T>;

    fn batch_shape(&self) -> Vec<usize> {
        self.loc.shape().to_vec()
    }

    fn event_shape(&self) -> Vec<usize> {
        Vec::new()
    }

    /// `-(x - loc)² / (2 scale²) - log scale - log sqrt(2 pi)`.
    fn log_prob(&self, value: &Tensor<T>) -> Tensor<T> {
        let variance = self.scale.square();
        let log_normaliser = T::from_f64((2.0 * PI).sqrt().ln());
        value
            .sub(&self.loc)
            .square()
            .neg()
            .div(&variance.mul_scalar(T::from_f64(2.0)))
            .sub(&self.scale.log())
            .add_scalar(-log_normaliser)
    }

    fn sample(&self, sample_shape: &[usize], generator: &mut Generator) -> Tensor<T> {
        no_grad(|| self.rsample(sample_shape, generator))
    }

    /// `1/2 + log sqrt(2 pi) + log scale`.
    fn entropy(&self) -> Tensor<T> {
        self.scale
            .log()
            .add_scalar(T::from_f64(0.5 + 0.5 * (2.0 * PI).ln()))
    }
}

impl<T: Float> Rsample<T> for Normal<T> {
    fn rsample(&self, sample_shape: &[usize], generator: &mut Generator) -> Tensor<T> {
        let shape = extended_shape(sample_shape, self.loc.shape(), &[]);
        self.rsample_from_noise(&Tensor::randn(&shape, generator))
    }
}

impl<T: Float> Moments<T> for Normal<T> {
    fn mean(&self) -> Tensor<T> {
        self.loc.clone()
    }

    fn variance(&self) -> Tensor<T> {
        self.scale.square()
    }

    fn stddev(&self) -> Tensor<T> {
        self.scale.clone()
    }
}

/// `KL(p || q) = log(q.scale / p.scale) + (p.scale² + (p.loc - q.loc)²) /
/// (2 q.scale²) - 1/2`, computed as PyTorch does, from the ratio of the
/// variances.
impl<T: Float> KlDivergence<T, Normal<T>> for Normal<T> {
    fn kl_divergence(&self, q: &Normal<T>) -> Tensor<T> {
        let variance_ratio = self.scale.div(&q.scale).square();
        let mean_term = self.loc.sub(&q.loc).div(&q.scale).square();
        variance_ratio
            .add(&mean_term)
            .add_scalar(-T::one())
            .sub(&variance_ratio.log())
            .mul_scalar(T::from_f64(0.5))
    }
}
