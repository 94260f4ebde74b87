//! The importance-weighted estimate of a VAE's log-likelihood (Burda,
//! Grosse and Salakhutdinov's IWAE bound, used to evaluate).

use super::Vae;
use crate::autograd::no_grad;
use crate::distributions::{Distribution, Independent, Normal};
use crate::element::Float;
use crate::nn::loss::{binary_cross_entropy_with, Reduction};
use crate::tensor::{Generator, Tensor};

/// The largest number of decoded examples held at once.
const DECODED_PER_CHUNK: usize = 16_384;

/// An estimate of `log p(x)` for each input `[B, ...]`, `[B]` in nats:
/// with `samples` (k) draws `z_i` from the posterior `q(z|x)`,
///
/// `log (1/k) Σ_i p(x|z_i) p(z_i) / q(z_i|x)`
///
/// computed as a log-sum-exp. Its expectation is a lower bound on
/// `log p(x)` that tightens as `k` grows (k = 1 is the ELBO); the
/// negative of its mean over a test set is the usual "test NLL".
///
/// `p(x|z)` is the decoder's Bernoulli likelihood of the pixels as they
/// are, grey levels included (with the loss's clamping of the log at
/// -100): for continuous pixels that is not a normalised density, so the
/// figure is comparable with the ELBO of the same model, not with the
/// log-likelihoods of binarised MNIST in the literature.
///
/// Runs without a graph, decoding at most 16,384 draws at a time.
///
/// ```
/// use nabla::generative::{importance_weighted_log_likelihood, vae_loss, Vae, VaeConfig};
/// use nabla::{no_grad, Generator, Tensor};
/// let vae = Vae::<f64>::new(&VaeConfig { input_size: 6, hidden_size: 5, latent_size: 2 }, &mut Generator::new(0));
/// let x = Tensor::rand(&[3, 6], &mut Generator::new(1));
/// let log_p = importance_weighted_log_likelihood(&vae, &x, 1000, &mut Generator::new(2));
/// assert_eq!(log_p.shape(), &[3]);
/// // Above the ELBO (averaged over many draws), as a tighter bound.
/// let elbo = -no_grad(|| (0..200).map(|s| vae_loss(&vae.forward(&x, &mut Generator::new(s)), &x).total().item()).sum::<f64>() / 200.0);
/// assert!(log_p.sum().item() > elbo);
/// ```
///
/// # Panics
/// If `samples` is 0 or the inputs do not have the model's features.
#[track_caller]
pub fn importance_weighted_log_likelihood<T: Float>(
    vae: &Vae<T>,
    inputs: &Tensor<T>,
    samples: usize,
    generator: &mut Generator,
) -> Tensor<T> {
    assert!(
        samples > 0,
        "importance_weighted_log_likelihood: samples must be at least 1"
    );
    no_grad(|| {
        let posterior = vae.posterior(inputs);
        let batch = inputs.shape()[0];
        let (latent, features) = (vae.config.latent_size, vae.config.input_size);
        let targets = inputs.reshape(&[1, batch, features]);
        let prior = Independent::new(Normal::standard(&[batch, latent]), 1);
        let per_chunk = (DECODED_PER_CHUNK / batch.max(1)).max(1);
        let mut log_weights = Vec::new();
        let mut drawn = 0;
        while drawn < samples {
            let k = per_chunk.min(samples - drawn);
            let z = posterior.sample(&[k], generator); // [k, B, latent]
            let probabilities = vae
                .decode(&z.reshape(&[k * batch, latent]))
                .reshape(&[k, batch, features]);
            let log_likelihood = binary_cross_entropy_with(
                &probabilities,
                &targets.expand(&[k, batch, features]).contiguous(),
                None,
                Reduction::None,
            )
            .sum_dim(-1, false)
            .neg();
            log_weights.push(
                log_likelihood
                    .add(&prior.log_prob(&z))
                    .sub(&posterior.log_prob(&z)),
            );
            drawn += k;
        }
        Tensor::cat(&log_weights, 0)
            .logsumexp(0, false)
            .add_scalar(T::from_f64(-(samples as f64).ln()))
    })
}
