//! Reductions: sums and folds over some dimensions, arg-max along one.

use crate::element::Float;
use crate::tensor::layout::{for_each_run2, Layout};

/// Sums a contiguous slice: blocks of 256 elements, each summed in 8
/// interleaved lanes (which the compiler vectorizes), then the block sums
/// in order. The rounding error of a long `f32` sum stays close to that of
/// a pairwise sum.
pub(crate) fn sum_all<T: Float>(x: &[T]) -> T {
    x.chunks(256).map(sum_block).sum()
}

fn sum_block<T: Float>(x: &[T]) -> T {
    const LANES: usize = 8;
    let mut lanes = [T::zero(); LANES];
    let blocks = x.chunks_exact(LANES);
    let tail = blocks.remainder();
    for block in blocks {
        for (lane, &v) in lanes.iter_mut().zip(block) {
            *lane = *lane + v;
        }
    }
    let [a, b, c, d, e, f, g, h] = lanes;
    ((a + b) + (c + d)) + ((e + f) + (g + h)) + tail.iter().copied().sum::<T>()
}

/// Sums the elements of `x` (read through `layout`) into an output of
/// `out_len` elements: element `i` goes to output `offset_of(i)`, where
/// `out_strides` (0 on reduced dimensions) give the output offsets.
pub(crate) fn sum_into<T: Float>(x: &[T], layout: &Layout, out_strides: &[usize], out_len: usize) -> Vec<T> {
    let mut out = vec![T::zero(); out_len];
    for_each_run2(
        &layout.shape,
        &layout.strides,
        layout.offset,
        out_strides,
        0,
        |r| match (r.step_a, r.step_b) {
            (1, 0) => out[r.b] = out[r.b] + sum_all(&x[r.a..r.a + r.len]),
            (1, 1) => {
                for (o, &v) in out[r.b..r.b + r.len].iter_mut().zip(&x[r.a..r.a + r.len]) {
                    *o = *o + v;
                }
            }
            (sx, so) => {
                for i in 0..r.len {
                    let o = &mut out[r.b + i * so];
                    *o = *o + x[r.a + i * sx];
                }
            }
        },
    );
    out
}

/// The index of the best element along the middle axis of a contiguous
/// `[outer, n, inner]` block; `better(candidate, best)` decides. NaN wins
/// (as in PyTorch), ties keep the first index.
pub(crate) fn arg_best<T: Float>(
    x: &[T],
    outer: usize,
    n: usize,
    inner: usize,
    better: impl Fn(T, T) -> bool,
) -> Vec<usize> {
    let mut out = Vec::with_capacity(outer * inner);
    for o in 0..outer {
        for i in 0..inner {
            let base = o * n * inner + i;
            let mut best = 0;
            let mut best_value = x[base];
            for k in 1..n {
                let v = x[base + k * inner];
                if !best_value.is_nan() && (v.is_nan() || better(v, best_value)) {
                    best = k;
                    best_value = v;
                }
            }
            out.push(best);
        }
    }
    out
}
