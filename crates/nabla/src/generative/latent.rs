//! [`LatentModel`]: what autoencoders and the VAE share.

use crate::autograd::no_grad;
use crate::element::Float;
use crate::nn::Module;
use crate::tensor::Tensor;

/// A model with a latent code and a decoder from it: the autoencoders and
/// the VAE. What pictures of a trained model need (reconstructions, the
/// test set's codes, decoded interpolations) goes through this trait.
///
/// ```
/// use nabla::generative::{Autoencoder, AutoencoderConfig, LatentModel};
/// use nabla::{Generator, Tensor};
/// let model = Autoencoder::<f32>::new(&AutoencoderConfig::mlp(2), &mut Generator::new(0));
/// let x = Tensor::rand(&[3, 1, 28, 28], &mut Generator::new(1));
/// assert_eq!(model.embed(&x).shape(), &[3, 2]);
/// assert_eq!(model.reconstruct(&x).shape(), &[3, 784]);
/// let path = model.interpolate(&x.narrow(0, 0, 1), &x.narrow(0, 1, 1), 5);
/// assert_eq!(path.shape(), &[5, 784]);
/// ```
pub trait LatentModel<T: Float = f32>: Module<T> {
    /// The checkpoint's `nabla.model`: `ae`, `conv-ae` or `vae`.
    fn kind(&self) -> &'static str;

    /// Features of the latent code.
    fn latent_size(&self) -> usize;

    /// The latent code of inputs `[B, ...]`, `[B, latent_size]`: the
    /// autoencoder's code, the mean of the VAE's posterior.
    fn embed(&self, inputs: &Tensor<T>) -> Tensor<T>;

    /// The decoder's probabilities (of a pixel being on) for codes
    /// `[B, latent_size]`, `[B, features]` flattened.
    fn decode(&self, codes: &Tensor<T>) -> Tensor<T>;

    /// The decoded code of `inputs`, `[B, features]`.
    fn reconstruct(&self, inputs: &Tensor<T>) -> Tensor<T> {
        self.decode(&self.embed(inputs))
    }

    /// The decoded points of the straight line between the codes of the
    /// single inputs `from` and `to` (`[1, ...]` each), `steps` of them
    /// (at least 2) including both ends, `[steps, features]`, without a
    /// graph.
    ///
    /// # Panics
    /// If `steps` is below 2 or an input is not a single example.
    fn interpolate(&self, from: &Tensor<T>, to: &Tensor<T>, steps: usize) -> Tensor<T> {
        assert!(steps >= 2, "interpolate: steps must be at least 2, got {steps}");
        assert!(
            from.shape().first() == Some(&1) && to.shape().first() == Some(&1),
            "interpolate: from and to must be single examples [1, ...], got {:?} and {:?}",
            from.shape(),
            to.shape()
        );
        no_grad(|| {
            let (a, b) = (self.embed(from), self.embed(to));
            let t = Tensor::linspace(T::zero(), T::one(), steps).reshape(&[steps, 1]);
            let codes = a.add(&b.sub(&a).mul(&t));
            self.decode(&codes)
        })
    }
}
