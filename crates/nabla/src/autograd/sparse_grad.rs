//! Gradients that are zero outside a region of their input: what the
//! backward of `narrow` / `select`, `index_select` and `gather` produce.
//! The engine adds them into the input's gradient buffer in place, instead
//! of padding each one with zeros to the input's full size and summing.

use crate::element::Float;
use crate::kernels::accumulate::{add_assign_strided, index_add_assign, scatter_add_assign};
use crate::layout::{contiguous_strides, Dims, Layout};
use crate::tensor::{IndexTensor, Tensor};

/// Where a [`SparseGrad`]'s values sit in the input's gradient.
pub(crate) enum Placement {
    /// Elements `start..start + len` along `dim`, `len` being the values'
    /// size there (the backward of `narrow`).
    Narrow { dim: usize, start: usize },
    /// The values' slice `k` along `dim` goes to slice `indices[k]`,
    /// repeats adding up (the backward of `index_select`).
    IndexAdd { dim: usize, indices: IndexTensor },
    /// Value `p` goes to the position of `index[p]` along `dim` (the
    /// backward of `gather`); `index` has the values' shape.
    ScatterAdd { dim: usize, index: IndexTensor },
}

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

    /// Adds the values into `dst`, the contiguous elements of a tensor of
    /// this gradient's shape.
    pub fn add_into(&self, dst: &mut [T]) {
        debug_assert_eq!(dst.len(), self.shape.iter().product::<usize>());
        let data = self.values.storage();
        match &self.placement {
            Placement::Narrow { dim, start } => {
                let mut region = Layout::contiguous(&self.shape);
                region.offset = start * region.strides[*dim];
                region.shape[*dim] = self.values.shape()[*dim];
                add_assign_strided(dst, &region, &data, self.values.layout());
            }
            Placement::IndexAdd { dim, indices } => {
                drop(data);
                let n = self.shape[*dim];
                let inner = self.shape[dim + 1..].iter().product();
                self.values
                    .with_contiguous(|src| index_add_assign(dst, n, inner, indices.as_slice(), src));
            }
            Placement::ScatterAdd { dim, index } => {
                drop(data);
                let strides = contiguous_strides(&self.shape);
                self.values.with_contiguous(|src| {
                    scatter_add_assign(dst, &strides, *dim, index.shape(), index.as_slice(), src)
                });
            }
        }
    }
}
