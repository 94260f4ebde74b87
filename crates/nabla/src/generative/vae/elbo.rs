//! The VAE's loss, the negative evidence lower bound, and its training step.

use super::{Vae, VaeOutput};
use crate::data::Batch;
use crate::element::Float;
use crate::nn::loss::{binary_cross_entropy_with, Reduction};
use crate::tensor::{Generator, Tensor};
use crate::train::{Metric, Step, StepOutput};

/// The two terms of a batch's negative ELBO, each summed over the batch, in
/// nats: `-E_q[log p(x|z)]`, estimated with one draw of `z`, and
/// `KL(q(z|x) || p(z))` in closed form.
#[derive(Clone, Debug)]
pub struct ElboTerms<T: Float = f32> {
    /// The binary cross-entropy of the reconstruction, summed over pixels
    /// and examples (`F.binary_cross_entropy(..., reduction='sum')`).
    pub reconstruction: Tensor<T>,
    /// `-1/2 Σ (1 + logvar - mu² - exp(logvar))` over latents and examples.
    pub kl: Tensor<T>,
}

impl<T: Float> ElboTerms<T> {
    /// `reconstruction + kl`: the example's `loss_function`, the negative
    /// ELBO summed over the batch.
    pub fn total(&self) -> Tensor<T> {
        self.reconstruction.add(&self.kl)
    }
}

/// The loss of PyTorch's `examples/vae` (`loss_function`) for
/// `output = vae.forward(inputs)`: the binary cross-entropy of the
/// reconstruction against the inputs (pixels in [0, 1], not binarised),
/// summed, plus the KL divergence of the posterior from the standard
/// normal prior, summed. Its value per example is the negative ELBO, an
/// upper bound on `-log p(x)`, in nats, for the Bernoulli likelihood of
/// the pixels' grey levels.
///
/// ```
/// use nabla::distributions::{kl_divergence, Independent, Normal};
/// use nabla::generative::{vae_loss, Vae, VaeConfig};
/// use nabla::{Generator, Tensor};
/// let vae = Vae::<f64>::new(&VaeConfig { input_size: 6, hidden_size: 5, latent_size: 2 }, &mut Generator::new(0));
/// let x = Tensor::rand(&[4, 6], &mut Generator::new(1));
/// let out = vae.forward(&x, &mut Generator::new(2));
/// let terms = vae_loss(&out, &x);
/// // The example's KL formula is the divergence of the posterior from the prior.
/// let posterior = Independent::new(Normal::new(&out.mu, &out.logvar.mul_scalar(0.5).exp()), 1);
/// let prior = Independent::new(Normal::standard(&[4, 2]), 1);
/// assert!((terms.kl.item() - kl_divergence(&posterior, &prior).sum().item()).abs() < 1e-12);
/// ```
///
/// # Panics
/// If `inputs` do not have the reconstruction's number of elements, or
/// a pixel lies outside [0, 1].
#[track_caller]
pub fn vae_loss<T: Float>(output: &VaeOutput<T>, inputs: &Tensor<T>) -> ElboTerms<T> {
    let target = inputs.reshape(output.reconstruction.shape());
    let reconstruction = binary_cross_entropy_with(&output.reconstruction, &target, None, Reduction::Sum);
    let (mu, logvar) = (&output.mu, &output.logvar);
    let kl = logvar
        .add_scalar(T::one())
        .sub(&mu.square())
        .sub(&logvar.exp())
        .sum()
        .mul_scalar(T::from_f64(-0.5));
    ElboTerms { reconstruction, kl }
}

/// The training step of a [`Vae`] on batches of images (labels unused):
/// [`vae_loss`] per example, logged as `loss` with its two terms as the
/// metrics `reconstruction` and `kl` (all in nats per example, so the
/// test `loss` is the example's "Test set loss").
///
/// The noise of the reparameterisation is drawn from a generator seeded
/// with `seed` and the data-set indices of the batch's examples: the same
/// batch gets the same noise (so an evaluation is repeatable and a resumed
/// run replays the same draws), a new epoch's shuffled batches new noise.
///
/// The loss handed to the optimizer is the batch's mean per example,
/// where PyTorch's example backpropagates the sum over the batch; Adam's
/// update does not depend on the scale of the gradients (but for its
/// epsilon), so the two differ only in the weight of a smaller last batch.
///
/// ```
/// use nabla::data::{Batch, TensorDataset};
/// use nabla::generative::{NegativeElbo, Vae, VaeConfig};
/// use nabla::train::Step;
/// use nabla::{Generator, IndexTensor, Tensor};
/// let images = Tensor::rand(&[4, 1, 28, 28], &mut Generator::new(0));
/// let data = TensorDataset::new(images, IndexTensor::from_vec(vec![0; 4], &[4]), 1);
/// let batch = Batch::collect(&data, &[0, 1, 2, 3]);
/// let mut vae = Vae::new(&VaeConfig::mnist(), &mut Generator::new(1));
/// let out = NegativeElbo::new(7).train_step(&mut vae, &batch);
/// assert_eq!((out.examples, out.metrics[0].name.as_str(), out.metrics[1].name.as_str()), (4, "reconstruction", "kl"));
/// let again = NegativeElbo::new(7).train_step(&mut vae, &batch);
/// assert_eq!(out.loss.item(), again.loss.item()); // the same noise for the same batch
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NegativeElbo {
    /// The seed of the noise.
    pub seed: u64,
}

impl NegativeElbo {
    /// The step with noise seeded by `seed`.
    pub fn new(seed: u64) -> Self {
        NegativeElbo { seed }
    }

    /// The generator of a batch's noise.
    fn generator(&self, indices: &[usize]) -> Generator {
        Generator::new(batch_seed(self.seed, indices))
    }
}

/// One 64-bit seed from a seed and a batch's indices (splitmix64 steps).
fn batch_seed(seed: u64, indices: &[usize]) -> u64 {
    let mix = |mut z: u64| {
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    indices.iter().fold(mix(seed), |state, &i| mix(state ^ i as u64))
}

impl Step<Vae, Batch> for NegativeElbo {
    fn train_step(&mut self, model: &mut Vae, batch: &Batch) -> StepOutput {
        let examples = batch.inputs.shape()[0];
        let output = model.forward(&batch.inputs, &mut self.generator(&batch.indices));
        let terms = vae_loss(&output, &batch.inputs);
        let per_example = terms.total().div_scalar(examples as f32);
        StepOutput::new(per_example, examples)
            .with(Metric::sum(
                "reconstruction",
                f64::from(terms.reconstruction.item()),
                examples,
            ))
            .with(Metric::sum("kl", f64::from(terms.kl.item()), examples))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_seeds_depend_on_the_seed_and_every_index_in_order() {
        let base = batch_seed(0, &[1, 2, 3]);
        assert_eq!(base, batch_seed(0, &[1, 2, 3]));
        for other in [
            batch_seed(1, &[1, 2, 3]),
            batch_seed(0, &[1, 2, 4]),
            batch_seed(0, &[3, 2, 1]),
            batch_seed(0, &[1, 2]),
        ] {
            assert_ne!(base, other);
        }
    }
}
