//! The `k` largest or smallest elements along a dimension.

use crate::backend;
use crate::backend::ops::Extremum;
use crate::element::Float;
use crate::layout::normalize_dim;
use crate::tensor::{IndexTensor, Tensor};

impl<T: Float> Tensor<T> {
    /// The `k` largest elements along `dim` and their indices, largest
    /// first: `torch.topk(x, k, dim)`. See [`topk_with`](Tensor::topk_with).
    ///
    /// ```
    /// use nabla::Tensor;
    /// let logits = Tensor::from_vec(vec![0.1f32, 2.0, -1.0, 0.7], &[4]);
    /// let (values, indices) = logits.topk(2, -1);
    /// assert_eq!(values.to_vec(), vec![2.0, 0.7]);
    /// assert_eq!(indices.to_vec(), vec![1, 3]);
    /// ```
    pub fn topk(&self, k: usize, dim: isize) -> (Tensor<T>, IndexTensor) {
        self.topk_with(k, dim, true)
    }

    /// The `k` largest (`largest`) or smallest elements along `dim`
    /// (negative counts from the end) and their indices, the most extreme
    /// first, as `torch.topk(x, k, dim, largest, sorted=True)`.
    ///
    /// Shapes: input `[..., n, ...]`, both outputs `[..., k, ...]` (`dim`
    /// of size `k <= n`). NaN ranks above every number, as in PyTorch
    /// (first when largest, last when smallest); equal elements come in
    /// index order (PyTorch leaves their order unspecified). The gradient
    /// flows to the selected elements (the values are a
    /// [`gather`](Tensor::gather)).
    ///
    /// ```
    /// use nabla::Tensor;
    /// let x = Tensor::from_vec(vec![3.0f64, 1.0, 2.0, 0.0, 5.0, 4.0], &[2, 3]).requires_grad();
    /// let (values, indices) = x.topk_with(2, 1, false);
    /// assert_eq!(values.to_vec(), vec![1.0, 2.0, 0.0, 4.0]);
    /// assert_eq!(indices.to_vec(), vec![1, 2, 0, 2]);
    /// values.sum().backward();
    /// assert_eq!(x.grad().unwrap().to_vec(), vec![0.0, 1.0, 1.0, 1.0, 0.0, 1.0]);
    /// ```
    ///
    /// # Panics
    /// If `dim` is out of range or `k` exceeds its size.
    pub fn topk_with(&self, k: usize, dim: isize, largest: bool) -> (Tensor<T>, IndexTensor) {
        let d = normalize_dim("topk", dim, self.ndim());
        let op = if largest { Extremum::Max } else { Extremum::Min };
        let indices = backend::topk(op, self, d, k);
        (self.gather(dim, &indices), indices)
    }
}
