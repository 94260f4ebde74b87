//! Reductions: sums and folds over some dimensions, arg-max, top-k and
//! running sums along one, vector norms.

use std::cmp::Ordering;

use rayon::prelude::*;

use super::PARALLEL_THRESHOLD;
use crate::element::Float;
use crate::layout::{for_each_run2, Layout};

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
///
/// A large sum whose outermost dimension is reduced (a bias gradient,
/// summed over the batch) is split along that dimension into
/// [`SUM_SPLITS`] parts summed in parallel, then added in order: the same
/// result on any number of threads.
pub(crate) fn sum_into<T: Float>(x: &[T], layout: &Layout, out_strides: &[usize], out_len: usize) -> Vec<T> {
    let outer = layout.shape.first().copied().unwrap_or(1);
    let split = layout.numel() >= 4 * PARALLEL_THRESHOLD && outer > 1 && out_strides[0] == 0;
    if !split {
        return sum_into_serial(x, layout, out_strides, out_len);
    }
    let per_part = outer.div_ceil(SUM_SPLITS);
    let parts: Vec<Vec<T>> = (0..outer.div_ceil(per_part))
        .into_par_iter()
        .map(|part| {
            let start = part * per_part;
            let mut shape = layout.shape.clone();
            shape[0] = per_part.min(outer - start);
            let part_layout = Layout {
                shape,
                strides: layout.strides.clone(),
                offset: layout.offset + start * layout.strides[0],
            };
            sum_into_serial(x, &part_layout, out_strides, out_len)
        })
        .collect();
    let mut parts = parts.into_iter();
    let mut out = parts.next().expect("at least one part");
    for part in parts {
        out.iter_mut().zip(part).for_each(|(o, v)| *o = *o + v);
    }
    out
}

/// How many parts a large sum over its outermost dimension is split into.
const SUM_SPLITS: usize = 8;

fn sum_into_serial<T: Float>(x: &[T], layout: &Layout, out_strides: &[usize], out_len: usize) -> Vec<T> {
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

/// The indices of the `k` best elements along the middle axis of a
/// contiguous `[outer, n, inner]` block, best first, as
/// `[outer, k, inner]`: the largest if `largest`, else the smallest. NaN
/// ranks above every number (so first when largest, last when smallest);
/// equal elements keep their order.
pub(crate) fn top_k<T: Float>(
    x: &[T],
    outer: usize,
    n: usize,
    inner: usize,
    k: usize,
    largest: bool,
) -> Vec<usize> {
    // NaN is the largest value; numbers compare as usual.
    let ascending = |a: T, b: T| match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.partial_cmp(&b).expect("numbers compare"),
    };
    let mut out = vec![0; outer * k * inner];
    let mut order: Vec<usize> = Vec::with_capacity(n);
    for o in 0..outer {
        for i in 0..inner {
            let at = |j: usize| x[(o * n + j) * inner + i];
            order.clear();
            order.extend(0..n);
            // A stable sort: ties keep the lower index first.
            if largest {
                order.sort_by(|&a, &b| ascending(at(b), at(a)));
            } else {
                order.sort_by(|&a, &b| ascending(at(a), at(b)));
            }
            for (r, &j) in order[..k].iter().enumerate() {
                out[(o * k + r) * inner + i] = j;
            }
        }
    }
    out
}

/// The running sums along the middle axis of a contiguous
/// `[outer, n, inner]` block, accumulated in `f64` (as PyTorch's CPU
/// kernel accumulates `float` in `double`).
pub(crate) fn cumulative_sum<T: Float>(x: &[T], outer: usize, n: usize, inner: usize) -> Vec<T> {
    let mut out = vec![T::zero(); x.len()];
    for o in 0..outer {
        for i in 0..inner {
            let mut total = 0.0;
            for j in 0..n {
                let at = (o * n + j) * inner + i;
                total += x[at].as_f64();
                out[at] = T::from_f64(total);
            }
        }
    }
    out
}

/// PyTorch's `torch.linalg.vector_norm(values, ord)`, accumulated in f64:
/// any `ord > 0`, `∞` (the largest magnitude), `-∞` (the smallest) or 0
/// (the number of nonzeros).
pub(crate) fn vector_norm<T: Float>(values: &[T], ord: f64) -> f64 {
    let abs = values.iter().map(|v| v.as_f64().abs());
    if ord == f64::INFINITY {
        abs.fold(0.0, |m, v| if v.is_nan() || v > m { v } else { m })
    } else if ord == f64::NEG_INFINITY {
        abs.fold(f64::INFINITY, |m, v| if v.is_nan() || v < m { v } else { m })
    } else if ord == 0.0 {
        abs.filter(|&v| v != 0.0).count() as f64
    } else if ord == 1.0 {
        abs.sum()
    } else if ord == 2.0 {
        let mut sum = 0.0;
        sum_of_squares(values, &mut sum);
        sum.sqrt()
    } else {
        abs.map(|v| v.powf(ord)).sum::<f64>().powf(1.0 / ord)
    }
}

dispatch_simd!(sum_of_squares, sum_of_squares_body, (values: &[T], out: &mut f64));

/// Lanes of [`sum_of_squares_body`]: four AVX-512 vectors of `f64`, so
/// that each addition does not wait for the one before.
const SQUARE_LANES: usize = 32;

/// `out = Σ v²` in `f64`, in [`SQUARE_LANES`] running sums added in halves
/// at the end (a single running sum waits four cycles for every element).
#[inline(always)]
fn sum_of_squares_body<T: Float>(values: &[T], out: &mut f64) {
    let mut lanes = [0.0f64; SQUARE_LANES];
    let blocks = values.len() / SQUARE_LANES;
    for b in 0..blocks {
        let block = &values[b * SQUARE_LANES..(b + 1) * SQUARE_LANES];
        for l in 0..SQUARE_LANES {
            let v = block[l].as_f64();
            lanes[l] += v * v;
        }
    }
    for (l, v) in values[blocks * SQUARE_LANES..].iter().enumerate() {
        let v = v.as_f64();
        lanes[l] += v * v;
    }
    let mut width = SQUARE_LANES / 2;
    while width > 0 {
        for l in 0..width {
            lanes[l] += lanes[l + width];
        }
        width /= 2;
    }
    *out = lanes[0];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_norm_sums_every_lane_and_the_tail() {
        // Lengths around the 32 lanes; each value distinct, so a lane or a
        // tail element dropped or counted twice changes the sum.
        for n in [0, 1, 31, 32, 33, 64, 100, 1000] {
            let x: Vec<f32> = (1..=n).map(|i| i as f32).collect();
            let want = ((n * (n + 1) * (2 * n + 1) / 6) as f64).sqrt();
            assert_eq!(vector_norm(&x, 2.0), want, "n {n}");
        }
    }

    #[test]
    fn split_sums_match_the_serial_sum_over_the_batch() {
        // [N, C, P] summed over N and P, as a convolution's bias gradient:
        // large enough to be split into parts.
        let (n, c, p) = (37, 3, 1500);
        let x: Vec<f64> = (0..n * c * p)
            .map(|i| ((i * 7919) % 1009) as f64 / 1009.0 - 0.5)
            .collect();
        let layout = Layout::contiguous(&[n, c, p]);
        assert!(layout.numel() >= 4 * PARALLEL_THRESHOLD);
        let out_strides = [0, 1, 0];
        let split = sum_into(&x, &layout, &out_strides, c);
        let serial = sum_into_serial(&x, &layout, &out_strides, c);
        for ch in 0..c {
            let exact: f64 = (0..n)
                .flat_map(|i| (0..p).map(move |j| (i, j)))
                .map(|(i, j)| x[(i * c + ch) * p + j])
                .sum();
            assert!((split[ch] - exact).abs() < 1e-9, "{} vs {exact}", split[ch]);
            assert!((split[ch] - serial[ch]).abs() < 1e-9);
        }
    }
}
