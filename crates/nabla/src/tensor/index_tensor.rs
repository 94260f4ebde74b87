//! Integer index arrays, the `LongTensor` of PyTorch: what `argmax` returns
//! and what `gather` and `index_select` take.

use std::sync::Arc;

/// An n-dimensional array of indices (never differentiable).
///
/// ```
/// use nabla::{IndexTensor, Tensor};
/// let x = Tensor::from_vec(vec![1.0f32, 5.0, 2.0, 7.0, 0.0, 3.0], &[2, 3]);
/// let idx: IndexTensor = x.argmax(1, false);
/// assert_eq!(idx.to_vec(), vec![1, 0]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexTensor {
    shape: Vec<usize>,
    data: Arc<Vec<usize>>,
}

impl IndexTensor {
    /// An index tensor of `shape` holding `data` in row-major order.
    ///
    /// # Panics
    /// If `data.len()` is not the product of `shape`.
    pub fn from_vec(data: Vec<usize>, shape: &[usize]) -> Self {
        assert!(
            data.len() == shape.iter().product::<usize>(),
            "IndexTensor::from_vec: {} indices cannot have shape {shape:?}",
            data.len()
        );
        IndexTensor {
            shape: shape.to_vec(),
            data: Arc::new(data),
        }
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The indices in row-major order.
    pub fn as_slice(&self) -> &[usize] {
        &self.data
    }

    /// The indices as a `Vec`.
    pub fn to_vec(&self) -> Vec<usize> {
        self.data.to_vec()
    }

    /// The same indices with another shape of the same size.
    pub fn reshape(&self, shape: &[usize]) -> Self {
        assert!(
            shape.iter().product::<usize>() == self.data.len(),
            "IndexTensor::reshape: cannot reshape {:?} to {shape:?}",
            self.shape
        );
        IndexTensor {
            shape: shape.to_vec(),
            data: Arc::clone(&self.data),
        }
    }
}
