//! Where values are added into a larger tensor, as named operations.

use crate::tensor::IndexTensor;

/// Where the values of a smaller tensor go when they are added into a
/// larger one (every other element of the larger one is left as it is).
/// The indices are host memory, as [`IndexTensor`] is.
#[derive(Clone, Debug)]
pub(crate) enum Placement {
    /// Elements `start..start + len` along `dim`, `len` being the values'
    /// size there; the values have the target's size along every other
    /// dimension (the backward of `narrow` / `select`).
    Narrow { dim: usize, start: usize },
    /// The values' slice `k` along `dim` goes to slice `indices[k]`
    /// (1-D), repeats adding up (`index_add`, the backward of
    /// `index_select`).
    IndexAdd { dim: usize, indices: IndexTensor },
    /// Value `p` goes to its own coordinates with the one along `dim`
    /// replaced by `index[p]`; `index` has the values' shape (`scatter_add`,
    /// the backward of `gather`).
    ScatterAdd { dim: usize, index: IndexTensor },
}
