//! Normalizing flows (chapter 12 of the course): invertible maps from data
//! to a standard normal latent whose log-determinants are cheap, so that
//! the log-likelihood of an example is exact and sampling is one pass
//! backwards.
//!
//! - [`RealNvp`]: RealNVP's affine couplings ([`AffineCoupling`]) on
//!   vectors, e.g. two moons ([`RealNvpConfig::moons`], the Keras example's
//!   configuration).
//! - [`MultiScaleRealNvp`]: RealNVP's multi-scale architecture on images
//!   (checkerboard and channel [`ConvCoupling`]s, [`squeeze`], latents
//!   factored out), after [`dequantize`] and the logit transform
//!   ([`to_logit`]); reported in bits per dimension.
//! - [`FlowModel`]: either, as a checkpoint holds it ([`save_realnvp`],
//!   [`load_realnvp`], `nabla.model = realnvp`).
//! - [`NegativeLogLikelihood`]: the training step of
//!   [`fit`](crate::train::fit).

mod base;
mod checkpoint;
mod conv_coupling;
mod coupling;
mod dense;
mod logit;
mod multiscale;
mod step;

pub use base::standard_normal_log_prob;
pub use checkpoint::{load_realnvp, save_realnvp, FlowConfig, FlowModel, REALNVP};
pub use conv_coupling::{ConvCoupling, CouplingMask};
pub use coupling::AffineCoupling;
pub use dense::{RealNvp, RealNvpConfig};
pub use logit::{dequantize, from_logit, to_logit};
pub use multiscale::{squeeze, unsqueeze, MultiScaleConfig, MultiScaleRealNvp, ScaleBlock};
pub use step::NegativeLogLikelihood;
