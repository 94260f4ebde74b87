//! Lipschitz constants and certified robustness (chapter 8 of the course).
//!
//! A network `f` is `L`-Lipschitz in the L2 norm when
//! `||f(x) - f(y)|| <= L ||x - y||` for all inputs. This module bounds `L`
//! from both sides for a `Sequential` network in evaluation mode:
//!
//! - from above, [`lipschitz_upper_bound`]: the product of the layers'
//!   constants, each convolution and linear layer's found by power
//!   iteration as an operator on its actual input size ([`linear_norm`],
//!   [`conv2d_norm`], [`operator_norm`] for any operator and its adjoint);
//! - from below, [`lipschitz_lower_bound`]: the largest spectral norm of
//!   the Jacobian over a data set ([`jacobian_norms`]).
//!
//! With an upper bound, [`certify`] counts the examples whose logit margin
//! proves that no L2 perturbation within a radius changes their class
//! (Tsuzuku et al. 2018). Spectral normalisation, which keeps each layer's
//! constant near 1 during training, is [`crate::nn::spectral_norm`].
//!
//! The guide's page "Lipschitz bounds and certificates" walks through these
//! on a trained LeNet-5.

mod certify;
mod lower_bound;
mod max_pool;
mod network;
mod operators;
mod power_iteration;

pub use certify::{certified_radius, certify, margins, Certification};
pub use lower_bound::{jacobian_norms, lipschitz_lower_bound, DataLowerBound};
pub use network::{lipschitz_upper_bound, BoundMethod, LayerBound, NetworkBound};
pub use operators::{conv2d_norm, linear_layer_norm, linear_norm};
pub use power_iteration::{operator_norm, OperatorNorm, PowerIteration};
