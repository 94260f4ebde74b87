//! Matrix products: 1-D, 2-D, batched, and broadcast over batch
//! dimensions, as `torch.matmul`, on the `gemm` crate.

use smallvec::SmallVec;

use crate::autograd::record;
use crate::element::Float;
use crate::kernels::elementwise::filled;
use crate::kernels::matmul::{gemm_batched, MatRef};
use crate::layout::{broadcast_shapes, for_each_offset2, Dims, Layout};
use crate::tensor::Tensor;

/// The product of two tensors of rank >= 2, with broadcast batch dimensions.
fn matmul_batched<T: Float>(a: &Tensor<T>, b: &Tensor<T>) -> Tensor<T> {
    let (la, lb) = (a.layout(), b.layout());
    let (ra, rb) = (la.shape.len(), lb.shape.len());
    let (m, k) = (la.shape[ra - 2], la.shape[ra - 1]);
    let (k2, n) = (lb.shape[rb - 2], lb.shape[rb - 1]);
    if k != k2 {
        panic!("matmul: cannot multiply {:?} by {:?}", la.shape, lb.shape);
    }
    let batch = broadcast_shapes(&la.shape[..ra - 2], &lb.shape[..rb - 2]).unwrap_or_else(|| {
        panic!(
            "matmul: batch dimensions of {:?} and {:?} do not broadcast",
            la.shape, lb.shape
        )
    });
    let batch_strides = |l: &Layout| {
        let own = Layout {
            shape: Dims::from_slice(&l.shape[..l.shape.len() - 2]),
            strides: Dims::from_slice(&l.strides[..l.strides.len() - 2]),
            offset: l.offset,
        };
        crate::layout::broadcast_strides(&own, &batch)
    };
    let (sa, sb) = (batch_strides(la), batch_strides(lb));
    let (da, db) = (a.storage(), b.storage());
    let mat = |data: &[T], offset: usize, l: &Layout| {
        let r = l.strides.len();
        MatRef {
            // SAFETY (of the later read): offset and strides come from a
            // valid layout of this storage.
            ptr: data[offset..].as_ptr(),
            row_stride: l.strides[r - 2] as isize,
            col_stride: l.strides[r - 1] as isize,
        }
    };
    // Inline for a few matrices: an unbatched product allocates only its output.
    let mut lhs: SmallVec<[MatRef<T>; 4]> = SmallVec::new();
    let mut rhs: SmallVec<[MatRef<T>; 4]> = SmallVec::new();
    let empty = m * k == 0 || k * n == 0;
    if !empty {
        for_each_offset2(&batch, &sa, la.offset, &sb, lb.offset, |oa, ob| {
            lhs.push(mat(&da, oa, la));
            rhs.push(mat(&db, ob, lb));
        });
    }
    let batch_count: usize = batch.iter().product();
    let mut out = filled(batch_count * m * n, T::zero());
    if !empty {
        // SAFETY: each operand addresses m x k (k x n) elements of storage
        // held by the read guards `da` and `db` for the whole call.
        unsafe { gemm_batched(&mut out, m, n, k, &lhs, &rhs) };
    }
    let mut shape = batch;
    shape.extend_from_slice(&[m, n]);
    Tensor::from_contiguous(out, &shape)
}

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
                let out = matmul_batched(self, other);
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
