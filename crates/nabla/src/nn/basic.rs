//! Structural layers: `Flatten` and `Identity`.

use super::{Layer, Module};
use crate::element::Float;
use crate::tensor::Tensor;

/// Flattens dimensions `start_dim..=end_dim` into one; the default keeps the
/// batch dimension: `[N, C, H, W]` becomes `[N, C*H*W]`.
#[derive(Clone, Copy, Debug, Module)]
pub struct Flatten {
    /// First dimension merged (default 1).
    pub start_dim: isize,
    /// Last dimension merged (default -1).
    pub end_dim: isize,
}

impl Default for Flatten {
    fn default() -> Self {
        Flatten {
            start_dim: 1,
            end_dim: -1,
        }
    }
}

impl<T: Float> Layer<T> for Flatten {
    fn forward(&self, input: &Tensor<T>) -> Tensor<T> {
        input.flatten(self.start_dim, self.end_dim)
    }
}

/// Returns its input unchanged.
#[derive(Clone, Copy, Debug, Default, Module)]
pub struct Identity;

impl<T: Float> Layer<T> for Identity {
    fn forward(&self, input: &Tensor<T>) -> Tensor<T> {
        input.clone()
    }
}
