//! The lower and upper triangles of matrices: `tril` and `triu` (causal
//! attention masks, triangular factors).

use crate::autograd::record;
use crate::backend::ops::Triangle;
use crate::backend::triangle;
use crate::element::Float;
use crate::tensor::Tensor;

impl<T: Float> Tensor<T> {
    /// The lower triangle of each matrix (the last two dimensions): the
    /// elements `(i, j)` with `j - i <= diagonal` kept, the others 0, as
    /// `torch.tril(x, diagonal)`. Diagonal 0 is the main one; a positive
    /// `diagonal` keeps that many diagonals above it too, a negative one
    /// drops that many below it. Input `[..., m, n]` of rank at least 2,
    /// output of the same shape; the gradient is the lower triangle of the
    /// upstream gradient.
    ///
    /// ```
    /// use nabla::Tensor;
    /// let x = Tensor::<f32>::ones(&[3, 3]);
    /// assert_eq!(x.tril(0).to_vec(), vec![1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0]);
    /// assert_eq!(x.tril(-1).to_vec(), vec![0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0]);
    /// ```
    ///
    /// # Panics
    /// If the input has fewer than two dimensions.
    pub fn tril(&self, diagonal: isize) -> Tensor<T> {
        let out = triangle(self, Triangle::Lower { diagonal });
        record("Tril", out, &[self], move |ctx| {
            vec![Some(ctx.grad().tril(diagonal))]
        })
    }

    /// The upper triangle of each matrix (the last two dimensions): the
    /// elements `(i, j)` with `j - i >= diagonal` kept, the others 0, as
    /// `torch.triu(x, diagonal)`. Shapes and gradient as [`tril`](Tensor::tril).
    ///
    /// ```
    /// use nabla::Tensor;
    /// let x = Tensor::<f32>::ones(&[2, 3]);
    /// assert_eq!(x.triu(1).to_vec(), vec![0.0, 1.0, 1.0, 0.0, 0.0, 1.0]);
    /// ```
    ///
    /// # Panics
    /// If the input has fewer than two dimensions.
    pub fn triu(&self, diagonal: isize) -> Tensor<T> {
        let out = triangle(self, Triangle::Upper { diagonal });
        record("Triu", out, &[self], move |ctx| {
            vec![Some(ctx.grad().triu(diagonal))]
        })
    }
}
