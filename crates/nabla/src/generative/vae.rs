//! The variational autoencoder of PyTorch's `examples/vae`: [`Vae`], its
//! loss (the negative ELBO, [`vae_loss`]) and training step
//! ([`NegativeElbo`]), the importance-weighted estimate of the
//! log-likelihood, and its checkpoints.

mod checkpoint;
mod elbo;
mod importance;

pub use checkpoint::{load_vae, save_vae};
pub use elbo::{vae_loss, ElboTerms, NegativeElbo};
pub use importance::importance_weighted_log_likelihood;

use serde::{Deserialize, Serialize};

use super::LatentModel;
use crate::distributions::{Independent, Normal};
use crate::element::Float;
use crate::nn::{Layer, Linear, Module};
use crate::tensor::{Generator, Tensor};

/// The sizes of a [`Vae`]; [`VaeConfig::mnist`] is PyTorch's example:
/// 784 inputs, 400 hidden units, 20 latents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VaeConfig {
    /// Features of an input (784 for a 28x28 image).
    pub input_size: usize,
    /// Units of the encoder's and the decoder's hidden layer.
    pub hidden_size: usize,
    /// Latent variables.
    pub latent_size: usize,
}

impl VaeConfig {
    /// PyTorch's `examples/vae`: 784 -> 400 -> 20 latents -> 400 -> 784.
    pub fn mnist() -> Self {
        VaeConfig {
            input_size: 784,
            hidden_size: 400,
            latent_size: 20,
        }
    }

    /// Checks every size is at least 1 and the model's parameters stay
    /// below 10^9.
    ///
    /// # Errors
    /// A message naming the size that is wrong.
    pub fn validate(&self) -> Result<(), String> {
        for (name, size) in [
            ("input_size", self.input_size),
            ("hidden_size", self.hidden_size),
            ("latent_size", self.latent_size),
        ] {
            if size == 0 {
                return Err(format!("{name} must be at least 1"));
            }
        }
        let (d, h, l) = (
            self.input_size as f64,
            self.hidden_size as f64,
            self.latent_size as f64,
        );
        let parameters = 2.0 * d * h + 3.0 * h * l;
        if parameters > 1e9 {
            return Err(format!("{parameters:.2e} parameters is too many (at most 1e9)"));
        }
        Ok(())
    }
}

impl Default for VaeConfig {
    fn default() -> Self {
        VaeConfig::mnist()
    }
}

/// The VAE of PyTorch's `examples/vae` (Kingma and Welling's model for
/// MNIST), with the example's layer names so its state dict loads as is:
///
/// - encoder: `fc1` (input -> hidden, ReLU), then `fc21` and `fc22`
///   (hidden -> latent): the mean `mu` and the log-variance `logvar` of
///   the Gaussian posterior `q(z|x)`;
/// - decoder: `fc3` (latent -> hidden, ReLU), `fc4` (hidden -> input,
///   sigmoid): the probability of each pixel under the Bernoulli
///   likelihood `p(x|z)`;
/// - prior `p(z)`: the standard normal.
///
/// [`forward`](Vae::forward) draws `z = mu + eps * exp(logvar / 2)`
/// (the reparameterisation) and decodes it; [`vae_loss`] is the example's
/// loss.
///
/// ```
/// use nabla::generative::{vae_loss, Vae, VaeConfig};
/// use nabla::nn::Module;
/// use nabla::{Generator, Tensor};
/// let vae: Vae = Vae::new(&VaeConfig::mnist(), &mut Generator::new(0));
/// let x = Tensor::rand(&[8, 1, 28, 28], &mut Generator::new(1)); // pixels in [0, 1]
/// let out = vae.forward(&x, &mut Generator::new(2));
/// assert_eq!((out.reconstruction.shape(), out.mu.shape()), (&[8, 784][..], &[8, 20][..]));
/// let loss = vae_loss(&out, &x); // summed over the batch
/// assert!((loss.total().item() / 8.0 - 543.0).abs() < 20.0); // about 784 ln 2 untrained
/// let names: Vec<String> = vae.state_dict().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["fc1.weight", "fc1.bias", "fc21.weight", "fc21.bias", "fc22.weight", "fc22.bias",
///                    "fc3.weight", "fc3.bias", "fc4.weight", "fc4.bias"]);
/// ```
#[derive(Module)]
pub struct Vae<T: Float = f32> {
    /// `[hidden, input]`.
    pub fc1: Linear<T>,
    /// `[latent, hidden]`: the posterior's means.
    pub fc21: Linear<T>,
    /// `[latent, hidden]`: the posterior's log-variances.
    pub fc22: Linear<T>,
    /// `[hidden, latent]`.
    pub fc3: Linear<T>,
    /// `[input, hidden]`.
    pub fc4: Linear<T>,
    #[module(skip)]
    config: VaeConfig,
}

/// What [`Vae::forward`] returns: the decoded probabilities of a draw of
/// the latents, and the posterior's parameters.
#[derive(Clone, Debug)]
pub struct VaeOutput<T: Float = f32> {
    /// `[B, input_size]`, probabilities in [0, 1].
    pub reconstruction: Tensor<T>,
    /// `[B, latent_size]`, the posterior's means.
    pub mu: Tensor<T>,
    /// `[B, latent_size]`, the posterior's log-variances.
    pub logvar: Tensor<T>,
}

impl<T: Float> Vae<T> {
    /// A VAE of `config`'s sizes, each layer initialised as PyTorch's
    /// `nn.Linear` is, in the order fc1, fc21, fc22, fc3, fc4.
    ///
    /// # Panics
    /// If the config does not [`validate`](VaeConfig::validate).
    pub fn new(config: &VaeConfig, generator: &mut Generator) -> Self {
        if let Err(message) = config.validate() {
            panic!("Vae::new: {message}");
        }
        let (d, h, l) = (config.input_size, config.hidden_size, config.latent_size);
        Vae {
            fc1: Linear::new(d, h, true, generator),
            fc21: Linear::new(h, l, true, generator),
            fc22: Linear::new(h, l, true, generator),
            fc3: Linear::new(l, h, true, generator),
            fc4: Linear::new(h, d, true, generator),
            config: *config,
        }
    }

    /// The sizes.
    pub fn config(&self) -> &VaeConfig {
        &self.config
    }

    /// Inputs `[B, ...]` as `[B, input_size]`.
    ///
    /// # Panics
    /// If an input does not have `input_size` features.
    #[track_caller]
    fn flatten(&self, inputs: &Tensor<T>) -> Tensor<T> {
        let batch = inputs.shape().first().copied().unwrap_or(0);
        let features: usize = inputs.shape().iter().skip(1).product();
        assert!(
            inputs.ndim() >= 2 && features == self.config.input_size,
            "Vae: inputs of shape {:?} do not have {} features per example",
            inputs.shape(),
            self.config.input_size
        );
        inputs.reshape(&[batch, features])
    }

    /// The posterior's means and log-variances `([B, latent], [B, latent])`
    /// for inputs `[B, ...]` of `input_size` features (`x.view(-1, 784)`).
    #[track_caller]
    pub fn encode(&self, inputs: &Tensor<T>) -> (Tensor<T>, Tensor<T>) {
        let hidden = self.fc1.forward(&self.flatten(inputs)).relu();
        (self.fc21.forward(&hidden), self.fc22.forward(&hidden))
    }

    /// The posterior `q(z|x)` of inputs `[B, ...]`: a diagonal Gaussian,
    /// batch `[B]`, event `[latent_size]`.
    #[track_caller]
    pub fn posterior(&self, inputs: &Tensor<T>) -> Independent<Normal<T>> {
        let (mu, logvar) = self.encode(inputs);
        Independent::new(Normal::new(&mu, &standard_deviation(&logvar)), 1)
    }

    /// The decoder's pixel probabilities `[B, input_size]` for latents
    /// `[B, latent_size]`.
    ///
    /// # Panics
    /// If the latents are not `[B, latent_size]`.
    #[track_caller]
    pub fn decode(&self, latents: &Tensor<T>) -> Tensor<T> {
        self.decode_logits(latents).sigmoid()
    }

    /// The decoder's logits `[B, input_size]` (before the sigmoid).
    ///
    /// # Panics
    /// If the latents are not `[B, latent_size]`.
    #[track_caller]
    pub fn decode_logits(&self, latents: &Tensor<T>) -> Tensor<T> {
        assert!(
            latents.ndim() == 2 && latents.shape()[1] == self.config.latent_size,
            "Vae::decode: latents of shape {:?}, but the model has {} latents ([B, {}] expected)",
            latents.shape(),
            self.config.latent_size,
            self.config.latent_size
        );
        self.fc4.forward(&self.fc3.forward(latents).relu())
    }

    /// Encodes, draws `z = mu + eps * exp(logvar / 2)` with `eps` standard
    /// normal from `generator`, and decodes, as the example's `forward`.
    #[track_caller]
    pub fn forward(&self, inputs: &Tensor<T>, generator: &mut Generator) -> VaeOutput<T> {
        let batch = inputs.shape().first().copied().unwrap_or(0);
        let noise = Tensor::randn(&[batch, self.config.latent_size], generator);
        self.forward_with_noise(inputs, &noise)
    }

    /// [`forward`](Vae::forward) with the standard normal noise `eps`
    /// given, `[B, latent_size]`: `z = mu + eps * exp(logvar / 2)`.
    ///
    /// # Panics
    /// If the noise is not `[B, latent_size]`.
    #[track_caller]
    pub fn forward_with_noise(&self, inputs: &Tensor<T>, noise: &Tensor<T>) -> VaeOutput<T> {
        let (mu, logvar) = self.encode(inputs);
        assert_eq!(
            noise.shape(),
            mu.shape(),
            "Vae::forward_with_noise: noise of shape {:?} for latents of shape {:?}",
            noise.shape(),
            mu.shape()
        );
        let z = Normal::new(&mu, &standard_deviation(&logvar)).rsample_from_noise(noise);
        VaeOutput {
            reconstruction: self.decode(&z),
            mu,
            logvar,
        }
    }

    /// `n` new examples `[n, input_size]`: the decoder's probabilities for
    /// latents drawn from the prior (the example's sample grid).
    pub fn sample(&self, n: usize, generator: &mut Generator) -> Tensor<T> {
        self.decode(&Tensor::randn(&[n, self.config.latent_size], generator))
    }
}

/// `exp(logvar / 2)`.
fn standard_deviation<T: Float>(logvar: &Tensor<T>) -> Tensor<T> {
    logvar.mul_scalar(T::from_f64(0.5)).exp()
}

impl<T: Float> LatentModel<T> for Vae<T> {
    fn kind(&self) -> &'static str {
        "vae"
    }

    fn latent_size(&self) -> usize {
        self.config.latent_size
    }

    /// The posterior's mean.
    fn embed(&self, inputs: &Tensor<T>) -> Tensor<T> {
        self.encode(inputs).0
    }

    fn decode(&self, codes: &Tensor<T>) -> Tensor<T> {
        Vae::decode(self, codes)
    }
}
