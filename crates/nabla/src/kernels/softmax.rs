//! Numerically stable softmax, log-softmax and log-sum-exp along the middle
//! axis of a contiguous `[outer, n, inner]` block: the maximum is
//! subtracted before exponentiating, so no input overflows.

use rayon::prelude::*;

use super::PARALLEL_THRESHOLD;
use crate::element::Float;

fn softmax_block<T: Float>(x: &[T], out: &mut [T], n: usize, inner: usize, log: bool) {
    for i in 0..inner {
        let at = |k: usize| k * inner + i;
        let max = (0..n).map(|k| x[at(k)]).fold(T::neg_infinity(), T::max);
        // An all -inf slice would give NaN from (-inf) - (-inf); shift by 0.
        let shift = if max.is_finite() { max } else { T::zero() };
        // The exponentials first, then their sum in the same order: the
        // first loop vectorises when the lane is contiguous.
        for k in 0..n {
            out[at(k)] = (x[at(k)] - shift).exp_kernel();
        }
        let sum = (0..n).fold(T::zero(), |sum, k| sum + out[at(k)]);
        if log {
            let log_sum = sum.ln_kernel();
            for k in 0..n {
                out[at(k)] = x[at(k)] - shift - log_sum;
            }
        } else {
            let inv = T::one() / sum;
            for k in 0..n {
                out[at(k)] = out[at(k)] * inv;
            }
        }
    }
}

/// Softmax (or log-softmax) of a contiguous `[outer, n, inner]` block along `n`.
pub(crate) fn softmax<T: Float>(x: &[T], outer: usize, n: usize, inner: usize, log: bool) -> Vec<T> {
    let mut out = vec![T::zero(); x.len()];
    let block = n * inner;
    if block == 0 {
        return out;
    }
    if x.len() >= PARALLEL_THRESHOLD && outer > 1 {
        out.par_chunks_mut(block)
            .zip(x.par_chunks(block))
            .for_each(|(o, xb)| softmax_block(xb, o, n, inner, log));
    } else {
        for (o, xb) in out.chunks_mut(block).zip(x.chunks(block)).take(outer) {
            softmax_block(xb, o, n, inner, log);
        }
    }
    out
}

/// `log Σ_k e^(x_k)` along the middle axis of a contiguous
/// `[outer, n, inner]` block, as `[outer, inner]`: the maximum is
/// subtracted first (0 instead when it is infinite, as PyTorch does, so
/// that all -inf gives -inf and +inf gives +inf).
pub(crate) fn log_sum_exp<T: Float>(x: &[T], outer: usize, n: usize, inner: usize) -> Vec<T> {
    let mut out = Vec::with_capacity(outer * inner);
    for o in 0..outer {
        for i in 0..inner {
            let lane = (0..n).map(|k| x[(o * n + k) * inner + i]);
            let max = lane.clone().fold(T::neg_infinity(), T::max);
            let shift = if max.is_finite() { max } else { T::zero() };
            let sum: T = lane.map(|v| (v - shift).exp_kernel()).sum();
            out.push(sum.ln_kernel() + shift);
        }
    }
    out
}
