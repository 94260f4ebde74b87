//! Integer index arrays, the `LongTensor` of PyTorch: what `argmax` returns
//! and what every op that takes indices (`index_select`, `index_add`,
//! `gather`, `scatter_add`, the losses' targets) takes.

use std::fmt;
use std::sync::Arc;

use super::display::nested_brackets;
use super::Tensor;
use crate::element::Float;
use crate::layout::normalize_dim;

/// An n-dimensional array of indices (never differentiable).
///
/// Indices live in host memory whatever device the tensors they index
/// are on: the ops check them there (range, shape) before handing them to
/// the backend, which reads them as plain data.
///
/// ```
/// use nabla::{IndexTensor, Tensor};
/// let x = Tensor::from_vec(vec![1.0f32, 5.0, 2.0, 7.0, 0.0, 3.0], &[2, 3]);
/// let idx: IndexTensor = x.argmax(1, false);
/// assert_eq!(idx.to_vec(), vec![1, 0]);
/// assert_eq!(x.index_select(1, &idx).to_vec(), vec![5.0, 1.0, 0.0, 7.0]);
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
        let numel = shape.iter().product::<usize>();
        if data.len() != numel {
            panic!(
                "IndexTensor::from_vec: {} indices cannot have shape {shape:?}",
                data.len()
            );
        }
        IndexTensor {
            shape: shape.to_vec(),
            data: Arc::new(data),
        }
    }

    /// `start, start + 1, ..., end - 1` as a 1-D index tensor, as
    /// `torch.arange` of integers.
    ///
    /// ```
    /// assert_eq!(nabla::IndexTensor::arange(2, 5).to_vec(), vec![2, 3, 4]);
    /// ```
    pub fn arange(start: usize, end: usize) -> Self {
        let data: Vec<usize> = (start..end).collect();
        let n = data.len();
        IndexTensor::from_vec(data, &[n])
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The number of dimensions.
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// The number of indices.
    pub fn numel(&self) -> usize {
        self.data.len()
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
        if shape.iter().product::<usize>() != self.data.len() {
            panic!(
                "IndexTensor::reshape: cannot reshape {:?} to {shape:?}",
                self.shape
            );
        }
        IndexTensor {
            shape: shape.to_vec(),
            data: Arc::clone(&self.data),
        }
    }

    /// Entries `start..start + length` along `dim` (a copy), as
    /// [`Tensor::narrow`].
    ///
    /// ```
    /// let idx = nabla::IndexTensor::from_vec(vec![0, 1, 2, 3, 4, 5], &[2, 3]);
    /// assert_eq!(idx.narrow(1, 1, 2).to_vec(), vec![1, 2, 4, 5]);
    /// ```
    pub fn narrow(&self, dim: isize, start: usize, length: usize) -> Self {
        let d = normalize_dim("IndexTensor::narrow", dim, self.ndim());
        let size = self.shape[d];
        if start + length > size {
            panic!(
                "IndexTensor::narrow: {start}..{} is out of range for dimension {dim} of size {size} (shape {:?})",
                start + length,
                self.shape
            );
        }
        let inner: usize = self.shape[d + 1..].iter().product();
        let data = self
            .data
            .chunks(size * inner.max(1))
            .flat_map(|block| &block[start * inner..(start + length) * inner])
            .copied()
            .collect();
        let mut shape = self.shape.clone();
        shape[d] = length;
        IndexTensor::from_vec(data, &shape)
    }

    /// The indices as a float tensor of the same shape (no history), as
    /// `index.float()` in PyTorch.
    ///
    /// ```
    /// let idx = nabla::IndexTensor::arange(0, 3);
    /// assert_eq!(idx.to_float::<f32>().to_vec(), vec![0.0, 1.0, 2.0]);
    /// ```
    pub fn to_float<T: Float>(&self) -> Tensor<T> {
        let data = self.data.iter().map(|&i| T::from_usize(i)).collect();
        Tensor::from_vec(data, &self.shape)
    }
}

impl From<Vec<usize>> for IndexTensor {
    /// A 1-D index tensor.
    fn from(data: Vec<usize>) -> Self {
        let n = data.len();
        IndexTensor::from_vec(data, &[n])
    }
}

impl From<&[usize]> for IndexTensor {
    /// A 1-D index tensor.
    fn from(data: &[usize]) -> Self {
        IndexTensor::from(data.to_vec())
    }
}

impl<const N: usize> From<[usize; N]> for IndexTensor {
    /// A 1-D index tensor.
    fn from(data: [usize; N]) -> Self {
        IndexTensor::from(data.to_vec())
    }
}

impl<T: Float> Tensor<T> {
    /// The elements as indices, which must be whole numbers from 0 up (as
    /// `tensor.long()` in PyTorch, but checked rather than truncated).
    ///
    /// ```
    /// let x = nabla::Tensor::from_vec(vec![2.0f32, 0.0], &[2]);
    /// assert_eq!(x.to_index().to_vec(), vec![2, 0]);
    /// ```
    ///
    /// # Panics
    /// If an element is negative, not finite or has a fractional part.
    pub fn to_index(&self) -> IndexTensor {
        let data = self
            .to_vec()
            .into_iter()
            .map(|v| {
                v.to_usize()
                    .filter(|&i| T::from_usize(i) == v)
                    .unwrap_or_else(|| panic!("to_index: {v} is not a whole number from 0 up"))
            })
            .collect();
        IndexTensor::from_vec(data, self.shape())
    }
}

impl fmt::Display for IndexTensor {
    /// Prints like PyTorch prints a `LongTensor`: `tensor([[1, 0]], shape=[1, 2])`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let strings: Vec<String> = self.data.iter().map(usize::to_string).collect();
        let prefix = "tensor(";
        write!(
            f,
            "{prefix}{}, shape={:?})",
            nested_brackets(&self.shape, &strings, prefix.len()),
            self.shape
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_like_a_pytorch_long_tensor() {
        let idx = IndexTensor::from_vec(vec![1, 10, 2, 0], &[2, 2]);
        assert_eq!(
            idx.to_string(),
            "tensor([[ 1, 10],\n        [ 2,  0]], shape=[2, 2])"
        );
        assert_eq!(
            IndexTensor::from_vec(vec![7], &[]).to_string(),
            "tensor(7, shape=[])"
        );
    }

    #[test]
    fn round_trips_through_floats() {
        let idx = IndexTensor::from_vec(vec![3, 0, 5, 1], &[2, 2]);
        assert_eq!(idx.to_float::<f64>().to_index(), idx);
    }

    #[test]
    #[should_panic(expected = "to_index: 1.5 is not a whole number from 0 up")]
    fn a_fraction_is_not_an_index() {
        Tensor::from_vec(vec![1.5f32], &[1]).to_index();
    }

    #[test]
    #[should_panic(expected = "to_index: -1 is not a whole number from 0 up")]
    fn a_negative_number_is_not_an_index() {
        Tensor::from_vec(vec![-1.0f32], &[1]).to_index();
    }

    #[test]
    fn narrow_keeps_the_outer_blocks() {
        let idx = IndexTensor::arange(0, 24).reshape(&[2, 3, 4]);
        assert_eq!(idx.narrow(1, 2, 1).to_vec(), vec![8, 9, 10, 11, 20, 21, 22, 23]);
        assert_eq!(idx.narrow(-1, 0, 1).shape(), &[2, 3, 1]);
    }
}
