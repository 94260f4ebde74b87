//! The cumulative sum along a dimension.

use crate::autograd::record;
use crate::backend;
use crate::element::Float;
use crate::layout::normalize_dim;
use crate::tensor::Tensor;

impl<T: Float> Tensor<T> {
    /// The running sums along `dim` (negative counts from the end):
    /// element `i` of the output is the sum of elements `0..=i` of the
    /// input, as `torch.cumsum(x, dim)`. Same shape as the input; `f32`
    /// sums are accumulated in `f64`, as PyTorch does on the CPU. The
    /// gradient at `i` is the sum of the upstream gradients at `i` and
    /// after.
    ///
    /// ```
    /// use nabla::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).requires_grad();
    /// let y = x.cumsum(1);
    /// assert_eq!(y.to_vec(), vec![1.0, 3.0, 6.0, 4.0, 9.0, 15.0]);
    /// y.sum().backward();
    /// assert_eq!(x.grad().unwrap().to_vec(), vec![3.0, 2.0, 1.0, 3.0, 2.0, 1.0]);
    /// ```
    ///
    /// # Panics
    /// If `dim` is out of range.
    pub fn cumsum(&self, dim: isize) -> Tensor<T> {
        let d = normalize_dim("cumsum", dim, self.ndim());
        let out = backend::cumsum(self, d);
        record("CumSum", out, &[self], move |ctx| {
            // Sums from the end: the cumulative sum of the reversed gradient, reversed.
            let back = [d as isize];
            vec![Some(ctx.grad().flip(&back).cumsum(d as isize).flip(&back))]
        })
    }
}
