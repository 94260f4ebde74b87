//! Splitting a tensor into views along a dimension: `split`,
//! `split_with_sizes` and `chunk`.

use crate::element::Float;
use crate::layout::normalize_dim;
use crate::tensor::Tensor;

impl<T: Float> Tensor<T> {
    /// Views of consecutive pieces of `split_size` along `dim` (negative
    /// counts from the end), the last one smaller if the size does not
    /// divide: `torch.split(x, split_size, dim)`. Each piece is a
    /// [`narrow`](Tensor::narrow) view (no copy) whose gradient flows back
    /// into its slice of the input.
    ///
    /// ```
    /// use nabla::Tensor;
    /// let x = Tensor::<f32>::arange(0.0, 5.0, 1.0);
    /// let pieces = x.split(2, 0);
    /// let values: Vec<Vec<f32>> = pieces.iter().map(Tensor::to_vec).collect();
    /// assert_eq!(values, vec![vec![0.0, 1.0], vec![2.0, 3.0], vec![4.0]]);
    /// ```
    ///
    /// # Panics
    /// If `dim` is out of range, or `split_size` is 0 for a dimension that
    /// is not empty.
    pub fn split(&self, split_size: usize, dim: isize) -> Vec<Tensor<T>> {
        let d = normalize_dim("split", dim, self.ndim());
        let n = self.shape()[d];
        assert!(
            split_size > 0 || n == 0,
            "split: split_size must be positive for dimension {dim} of size {n} (shape {:?})",
            self.shape()
        );
        if n == 0 {
            return vec![self.narrow(dim, 0, 0)];
        }
        (0..n)
            .step_by(split_size)
            .map(|start| self.narrow(dim, start, split_size.min(n - start)))
            .collect()
    }

    /// Views of consecutive pieces of the given `sizes` along `dim`, which
    /// must add up to its size: `torch.split(x, [s0, s1, ...], dim)`.
    ///
    /// ```
    /// use nabla::Tensor;
    /// let qkv = Tensor::<f32>::zeros(&[2, 4, 3 * 8]);
    /// let parts = qkv.split_with_sizes(&[8, 8, 8], -1);
    /// assert_eq!(parts.len(), 3);
    /// assert_eq!(parts[2].shape(), &[2, 4, 8]);
    /// ```
    ///
    /// # Panics
    /// If `dim` is out of range or the sizes do not add up to its size.
    pub fn split_with_sizes(&self, sizes: &[usize], dim: isize) -> Vec<Tensor<T>> {
        let d = normalize_dim("split_with_sizes", dim, self.ndim());
        let n = self.shape()[d];
        let total: usize = sizes.iter().sum();
        assert!(
            total == n,
            "split_with_sizes: sizes {sizes:?} add up to {total}, not to the size {n} of dimension {dim} of shape {:?}",
            self.shape()
        );
        let mut start = 0;
        sizes
            .iter()
            .map(|&size| {
                let piece = self.narrow(dim, start, size);
                start += size;
                piece
            })
            .collect()
    }

    /// Views of `chunks` pieces along `dim`, each of `ceil(n / chunks)`
    /// elements but the last, as `torch.chunk(x, chunks, dim)`: so there
    /// may be fewer than `chunks` pieces (5 elements in 4 chunks give
    /// pieces of 2, 2 and 1).
    ///
    /// ```
    /// use nabla::Tensor;
    /// let x = Tensor::<f32>::zeros(&[10, 3]);
    /// let sizes: Vec<usize> = x.chunk(4, 0).iter().map(|c| c.shape()[0]).collect();
    /// assert_eq!(sizes, vec![3, 3, 3, 1]);
    /// ```
    ///
    /// # Panics
    /// If `chunks` is 0 or `dim` is out of range.
    pub fn chunk(&self, chunks: usize, dim: isize) -> Vec<Tensor<T>> {
        assert!(chunks > 0, "chunk: chunks must be positive, got 0");
        let d = normalize_dim("chunk", dim, self.ndim());
        let n = self.shape()[d];
        if n == 0 {
            return vec![self.narrow(dim, 0, 0); chunks];
        }
        self.split(n.div_ceil(chunks), dim)
    }
}
