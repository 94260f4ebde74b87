//! Matrix products: 1-D, 2-D, batched, and broadcast over batch
//! dimensions, as `torch.matmul`, on the `gemm` crate.

use crate::autograd::record;
use crate::backend;
use crate::element::Float;
use crate::tensor::Tensor;

/// True when the last two dimensions of `t` are stored column by column,
/// as in a transposed view of a row-major matrix.
fn is_transposed<T: Float>(t: &Tensor<T>) -> bool {
    let l = t.layout();
    let r = l.shape.len();
    l.shape[r - 2] > 1 && l.shape[r - 1] > 1 && l.strides[r - 2] == 1 && l.strides[r - 1] != 1
}

impl<T: Float> Tensor<T> {
    /// The matrix product, following `torch.matmul`:
    /// - `[n] x [n]` gives a scalar (dot product);
    /// - `[m, k] x [k, n]` gives `[m, n]`;
    /// - a 1-D operand is treated as a row (left) or column (right) vector;
    /// - batch dimensions `[..., m, k] x [..., k, n]` broadcast.
    ///
    /// Transposed and sliced views are multiplied in place, without a copy.
    ///
    /// ```
    /// use nabla::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    /// let b = Tensor::from_vec(vec![1.0f32, 0.0, 0.0, 1.0, 1.0, 1.0], &[3, 2]);
    /// assert_eq!(a.matmul(&b).to_vec(), vec![4.0, 5.0, 10.0, 11.0]);
    /// ```
    ///
    /// # Panics
    /// If the inner sizes differ: `matmul: cannot multiply [2, 3] by [4, 5]`.
    pub fn matmul(&self, other: &Tensor<T>) -> Tensor<T> {
        let (a, b) = (self.shape(), other.shape());
        let inner_a = a.last();
        let inner_b = if b.len() == 1 {
            b.first()
        } else {
            b.get(b.len().wrapping_sub(2))
        };
        if inner_a.is_some() && inner_b.is_some() && inner_a != inner_b {
            panic!("matmul: cannot multiply {a:?} by {b:?}");
        }
        match (self.ndim(), other.ndim()) {
            (0, _) | (_, 0) => panic!(
                "matmul: cannot multiply {:?} by {:?}: both operands need at least one dimension",
                self.shape(),
                other.shape()
            ),
            (1, 1) => {
                assert!(
                    self.shape() == other.shape(),
                    "matmul: cannot multiply {:?} by {:?}",
                    self.shape(),
                    other.shape()
                );
                self.unsqueeze(0).matmul(&other.unsqueeze(1)).reshape(&[])
            }
            (1, _) => self.unsqueeze(0).matmul(other).squeeze(-2),
            (_, 1) => self.matmul(&other.unsqueeze(1)).squeeze(-1),
            _ => {
                let out = backend::matmul(self, other);
                let (a, b) = (self.clone(), other.clone());
                record("MatMul", out, &[self, other], move |ctx| {
                    let g = ctx.grad();
                    // A transposed operand (a Linear layer's `weight.t()`) gets
                    // its gradient as the transpose of the swapped product, so
                    // the gradient is born in the operand's own layout and the
                    // weight's gradient needs no transposing copy.
                    vec![
                        ctx.needs_input_grad(0).then(|| {
                            if is_transposed(&a) {
                                b.matmul(&g.transpose(-1, -2)).transpose(-1, -2).sum_to(a.shape())
                            } else {
                                g.matmul(&b.transpose(-1, -2)).sum_to(a.shape())
                            }
                        }),
                        ctx.needs_input_grad(1).then(|| {
                            if is_transposed(&b) {
                                g.transpose(-1, -2).matmul(&a).transpose(-1, -2).sum_to(b.shape())
                            } else {
                                a.transpose(-1, -2).matmul(g).sum_to(b.shape())
                            }
                        }),
                    ]
                })
            }
        }
    }
}
