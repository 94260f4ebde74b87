//! Gradients that are zero outside a region of their input: what the
//! backward of `narrow` / `select`, `index_select` and `gather` produce.
//! The engine adds them into the input's gradient buffer in place, instead
//! of padding each one with zeros to the input's full size and summing.

use crate::backend::{self, ops::Placement};
use crate::element::Float;
use crate::layout::Dims;
use crate::tensor::Tensor;

/// The gradient of an input of `shape` that is `values` at `placement`
/// and zero elsewhere.
pub(crate) struct SparseGrad<T: Float> {
    pub shape: Dims,
    pub values: Tensor<T>,
    pub placement: Placement,
}

impl<T: Float> SparseGrad<T> {
    /// The full gradient, built from recorded ops so that it can be
    /// differentiated again (what `create_graph` needs).
    pub fn to_dense(&self) -> Tensor<T> {
        let g = &self.values;
        match &self.placement {
            Placement::Narrow { dim, start } => {
                let mut before = self.shape.clone();
                before[*dim] = *start;
                let mut after = self.shape.clone();
                after[*dim] = self.shape[*dim] - start - g.shape()[*dim];
                let parts = [Tensor::zeros(&before), g.clone(), Tensor::zeros(&after)];
                Tensor::cat(&parts, *dim as isize)
            }
            Placement::IndexAdd { dim, indices } => {
                Tensor::zeros(&self.shape).index_add(*dim as isize, indices, g)
            }
            Placement::ScatterAdd { dim, index } => {
                Tensor::zeros(&self.shape).scatter_add(*dim as isize, index, g)
            }
        }
    }

    /// Adds the values into `target`, a tensor of this gradient's shape
    /// whose buffer nothing else shares, in place.
    pub fn add_into(&self, target: &Tensor<T>) {
        backend::add_at(target, &self.placement, &self.values);
    }
}
