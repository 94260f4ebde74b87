//! Generative models (chapters 10 to 12 of the course): models that learn
//! the distribution of their data and draw new examples from it.
//!
//! - Autoencoders ([`Autoencoder`], an MLP, and [`ConvAutoencoder`]): an
//!   encoder to a small latent code and a decoder back, trained to
//!   reconstruct their input ([`Reconstruction`]).
//! - The variational autoencoder ([`Vae`]) of PyTorch's `examples/vae`: a
//!   Gaussian posterior over the latents, a Bernoulli decoder, trained on
//!   the negative evidence lower bound ([`NegativeElbo`]), sampled from the
//!   prior, and its test log-likelihood estimated by importance weighting
//!   ([`importance_weighted_log_likelihood`]).
//! - [`LatentModel`]: what the three share (a latent code, a decoder), for
//!   reconstructions, latent scatter plots and interpolations.
//! - GANs ([`gan`]): DCGAN and WGAN-GP at 28x28, and the judges of their
//!   samples ([`score`]): the MNIST score and the Fréchet LeNet distance.
//! - [`flow`]: normalizing flows, RealNVP for vectors ([`RealNvp`], two
//!   moons) and its multi-scale form for images ([`MultiScaleRealNvp`],
//!   MNIST), with exact log-likelihoods and exact sampling.
//!
//! Each model saves to one safetensors file whose metadata records its kind
//! (`nabla.model`: `ae`, `conv-ae`, `vae`, `dcgan`, `wgan-gp`, `realnvp`)
//! and sizes (`nabla.config`), so the file is all `nabla sample` needs
//! ([`save_vae`], [`load_vae`], [`save_autoencoder`], [`load_autoencoder`],
//! [`save_gan`], [`load_gan_generator`], [`save_realnvp`],
//! [`load_realnvp`], [`checkpoint_kind`]).

mod autoencoder;
pub mod flow;
pub mod gan;
mod latent;
mod saved;
pub mod score;
mod vae;

pub use autoencoder::{
    load_autoencoder, save_autoencoder, AnyAutoencoder, Autoencoder, AutoencoderConfig, ConvAutoencoder,
    Reconstruction,
};
pub use flow::{load_realnvp, save_realnvp, FlowModel, MultiScaleRealNvp, RealNvp};
pub use gan::*;
pub use latent::LatentModel;
pub use saved::checkpoint_kind;
pub use score::*;
pub use vae::{
    importance_weighted_log_likelihood, load_vae, save_vae, vae_loss, ElboTerms, NegativeElbo, Vae,
    VaeConfig, VaeOutput,
};
