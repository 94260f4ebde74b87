//! Reductions on the CPU, on the loops of `kernels::reduce` and
//! `kernels::softmax`.

use super::{contiguous_elements, contiguous_elements_mut, Cpu};
use crate::backend::ops::{AttentionSoftmax, Extremum, ReduceOp, SoftmaxOp};
use crate::backend::ReduceOps;
use crate::element::Float;
use crate::kernels::attention::{attention_softmax, MaskRows};
use crate::kernels::reduce::{arg_best, cumulative_sum, sum_all, sum_into, top_k, vector_norm};
use crate::kernels::softmax::{log_sum_exp, softmax};
use crate::layout::{broadcast_strides, contiguous_strides};
use crate::tensor::{IndexTensor, Tensor};

/// `[outer, n, inner]` sizes around dimension `d`.
fn split_at_dim(shape: &[usize], d: usize) -> (usize, usize, usize) {
    (
        shape[..d].iter().product(),
        shape[d],
        shape[d + 1..].iter().product(),
    )
}

/// The storage offset of the first element of every row (in row-major
/// order over `outer`, the shape without its last dimension) under
/// `strides`.
fn row_starts(outer: &[usize], strides: &[usize], offset: usize) -> Vec<usize> {
    let mut starts = vec![offset];
    for (&n, &stride) in outer.iter().zip(strides) {
        starts = starts
            .iter()
            .flat_map(|&base| (0..n).map(move |i| base + i * stride))
            .collect();
    }
    starts
}

/// `shape` with the dimensions `dims` set to 1.
fn kept_shape(shape: &[usize], dims: &[usize]) -> Vec<usize> {
    let mut kept = shape.to_vec();
    for &d in dims {
        kept[d] = 1;
    }
    kept
}

impl ReduceOps for Cpu {
    fn sum_dims<T: Float>(x: &Tensor<T>, dims: &[usize]) -> Tensor<T> {
        let kept = kept_shape(x.shape(), dims);
        let mut out_strides = contiguous_strides(&kept);
        for &d in dims {
            out_strides[d] = 0;
        }
        let out = sum_into(
            &x.inner.storage.read(),
            x.layout(),
            &out_strides,
            kept.iter().product(),
        );
        Tensor::from_contiguous(out, &kept)
    }

    fn reduce_all<T: Float>(op: ReduceOp, x: &Tensor<T>) -> Tensor<T> {
        let value = match op {
            ReduceOp::Sum => contiguous_elements(x, sum_all),
            ReduceOp::Max => contiguous_elements(x, |s| {
                s.iter().copied().fold(T::neg_infinity(), |a, b| {
                    if a.is_nan() || !(b.is_nan() || b > a) {
                        a
                    } else {
                        b
                    }
                })
            }),
            ReduceOp::Min => contiguous_elements(x, |s| {
                s.iter().copied().fold(T::infinity(), |a, b| {
                    if a.is_nan() || !(b.is_nan() || b < a) {
                        a
                    } else {
                        b
                    }
                })
            }),
            ReduceOp::Norm(ord) => T::from_f64(contiguous_elements(x, |s| vector_norm(s, ord))),
        };
        Tensor::scalar(value)
    }

    fn arg_reduce<T: Float>(op: Extremum, x: &Tensor<T>, dim: usize) -> IndexTensor {
        let (outer, n, inner) = split_at_dim(x.shape(), dim);
        let indices = contiguous_elements(x, |s| match op {
            Extremum::Max => arg_best(s, outer, n, inner, |v, best| v > best),
            Extremum::Min => arg_best(s, outer, n, inner, |v, best| v < best),
        });
        IndexTensor::from_vec(indices, &kept_shape(x.shape(), &[dim]))
    }

    fn topk<T: Float>(op: Extremum, x: &Tensor<T>, dim: usize, k: usize) -> IndexTensor {
        let (outer, n, inner) = split_at_dim(x.shape(), dim);
        let indices = contiguous_elements(x, |s| top_k(s, outer, n, inner, k, op == Extremum::Max));
        let mut shape = x.shape().to_vec();
        shape[dim] = k;
        IndexTensor::from_vec(indices, &shape)
    }

    fn attention_softmax<T: Float>(scores: &Tensor<T>, mask: Option<&Tensor<T>>, op: AttentionSoftmax) {
        let shape = scores.shape();
        let rank = shape.len();
        let (l, s) = (shape[rank - 2], shape[rank - 1]);
        let scale = T::from_f64(op.scale);
        let Some(mask) = mask else {
            contiguous_elements_mut(scores, |x| attention_softmax(x, s, l, scale, op.causal, None));
            return;
        };
        let strides = broadcast_strides(mask.layout(), shape);
        let starts = row_starts(&shape[..rank - 1], &strides[..rank - 1], mask.layout().offset);
        let data = mask.inner.storage.read();
        let rows = MaskRows {
            data: &data,
            starts: &starts,
            step: strides[rank - 1],
        };
        contiguous_elements_mut(scores, |x| {
            attention_softmax(x, s, l, scale, op.causal, Some(&rows))
        });
    }

    fn logsumexp<T: Float>(x: &Tensor<T>, dim: usize) -> Tensor<T> {
        let (outer, n, inner) = split_at_dim(x.shape(), dim);
        let out = contiguous_elements(x, |s| log_sum_exp(s, outer, n, inner));
        Tensor::from_contiguous(out, &kept_shape(x.shape(), &[dim]))
    }

    fn cumsum<T: Float>(x: &Tensor<T>, dim: usize) -> Tensor<T> {
        let (outer, n, inner) = split_at_dim(x.shape(), dim);
        let out = contiguous_elements(x, |s| cumulative_sum(s, outer, n, inner));
        Tensor::from_contiguous(out, x.shape())
    }

    fn softmax<T: Float>(op: SoftmaxOp, x: &Tensor<T>, dim: usize) -> Tensor<T> {
        let (outer, n, inner) = split_at_dim(x.shape(), dim);
        let log = op == SoftmaxOp::LogSoftmax;
        let out = contiguous_elements(x, |s| softmax(s, outer, n, inner, log));
        Tensor::from_contiguous(out, x.shape())
    }
}
