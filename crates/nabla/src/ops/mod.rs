//! The differentiable operations, one file per family. Each op's forward
//! (a kernel call) and backward (its local gradient times the upstream
//! gradient, written with tensor ops so it is differentiable again) sit side
//! by side.

mod activation;
mod assign;
mod attention;
pub(crate) mod batch_norm;
mod binary;
mod compare;
pub(crate) mod conv;
mod cumsum;
mod index;
mod layer_norm;
mod matmul;
mod one_hot;
mod operators;
mod pad;
mod pool;
mod reduce;
mod shape;
mod split;
mod topk;
mod triangle;
mod unary;

pub use activation::GeluApproximation;
pub use conv::{conv_output_size, Conv2dOptions, IntoPair};
pub use pool::{pool_output_size, Pool2dOptions};
