//! Generative models (chapters 10 to 12 of the course).
//!
//! - GANs ([`gan`]): DCGAN and WGAN-GP at 28x28, and the judges of their
//!   samples ([`score`]): the MNIST score and the Fréchet LeNet distance.

pub mod gan;
pub mod score;

pub use gan::*;
pub use score::*;
