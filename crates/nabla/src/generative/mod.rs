//! Generative models (chapters 10 to 12 of the course): models that learn
//! the distribution of their data and draw new examples from it.
//!
//! - [`flow`]: normalizing flows, RealNVP for vectors ([`RealNvp`], two
//!   moons) and its multi-scale form for images ([`MultiScaleRealNvp`],
//!   MNIST), with exact log-likelihoods and exact sampling.

pub mod flow;

pub use flow::{load_realnvp, save_realnvp, FlowModel, MultiScaleRealNvp, RealNvp};
