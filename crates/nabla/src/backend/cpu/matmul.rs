//! Matrix products on the CPU, on `kernels::matmul` (the `gemm` crate),
//! which reads any row and column strides.

use smallvec::SmallVec;

use super::Cpu;
use crate::backend::MatmulOps;
use crate::element::Float;
use crate::kernels::elementwise::{filled, written_whole};
use crate::kernels::matmul::{gemm_batched, MatRef};
use crate::layout::{broadcast_strides, for_each_offset2, Dims, Layout};
use crate::tensor::Tensor;

impl MatmulOps for Cpu {
    fn matmul<T: Float>(a: &Tensor<T>, b: &Tensor<T>, batch: &[usize]) -> Tensor<T> {
        let (la, lb) = (a.layout(), b.layout());
        let (ra, rb) = (la.shape.len(), lb.shape.len());
        let (m, k, n) = (la.shape[ra - 2], la.shape[ra - 1], lb.shape[rb - 1]);
        let batch_strides = |l: &Layout| {
            let own = Layout {
                shape: Dims::from_slice(&l.shape[..l.shape.len() - 2]),
                strides: Dims::from_slice(&l.strides[..l.strides.len() - 2]),
                offset: l.offset,
            };
            broadcast_strides(&own, batch)
        };
        let (sa, sb) = (batch_strides(la), batch_strides(lb));
        let (da, db) = (a.inner.storage.read(), b.inner.storage.read());
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
            for_each_offset2(batch, &sa, la.offset, &sb, lb.offset, |oa, ob| {
                lhs.push(mat(&da, oa, la));
                rhs.push(mat(&db, ob, lb));
            });
        }
        let batch_count: usize = batch.iter().product();
        let out = if empty {
            // Zeros when k is 0 (an empty sum), else no elements at all.
            filled(batch_count * m * n, T::zero())
        } else {
            // SAFETY: each operand addresses m x k (k x n) elements of storage
            // held by the read guards `da` and `db` for the whole call, and
            // `gemm_batched` writes all `batch_count` products.
            unsafe { written_whole(batch_count * m * n, |out| gemm_batched(out, m, n, k, &lhs, &rhs)) }
        };
        let mut shape = Dims::from_slice(batch);
        shape.extend_from_slice(&[m, n]);
        Tensor::from_contiguous(out, &shape)
    }
}
