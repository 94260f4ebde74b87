//! The softmax of attention scores, fused with their scaling, an additive
//! mask and a causal mask, in place on the rows of the score matrices.

use rayon::prelude::*;

use super::PARALLEL_THRESHOLD;
use crate::element::Float;

/// Where each row of an additive mask starts in its storage, and the step
/// between its elements (0 when one value is broadcast along the row).
pub(crate) struct MaskRows<'a, T> {
    pub(crate) data: &'a [T],
    pub(crate) starts: &'a [usize],
    pub(crate) step: usize,
}

/// Overwrites each row `x` (of `n` scores) of `scores`, a contiguous batch
/// of `[rows_per_matrix, n]` matrices, with `softmax(scale x + mask)`,
/// where keys `j > i + offset` of query row `i` are excluded when `causal`
/// is `Some(offset)`. A row in which no key is allowed (all masked, or
/// masked to -inf) becomes 0, as PyTorch's `scaled_dot_product_attention`
/// gives, not NaN.
pub(crate) fn attention_softmax<T: Float>(
    scores: &mut [T],
    n: usize,
    rows_per_matrix: usize,
    scale: T,
    causal: Option<isize>,
    mask: Option<&MaskRows<'_, T>>,
) {
    if n == 0 || rows_per_matrix == 0 {
        return;
    }
    let row = |(r, x): (usize, &mut [T])| {
        let allowed = match causal {
            Some(offset) => ((r % rows_per_matrix) as isize + offset + 1).clamp(0, n as isize) as usize,
            None => n,
        };
        softmax_row(x, allowed, scale, mask.map(|m| (m, r)));
    };
    // A score costs an exponential, some twenty times an addition, so the
    // rows split over the threads from an eighth of the elementwise size.
    let split = PARALLEL_THRESHOLD / 8;
    if scores.len() >= split {
        scores
            .par_chunks_mut(n)
            .with_min_len((split / n).max(1))
            .enumerate()
            .for_each(row);
    } else {
        scores.chunks_mut(n).enumerate().for_each(row);
    }
}

dispatch_simd!(
    softmax_row,
    softmax_row_body,
    (x: &mut [T], allowed: usize, scale: T, mask: Option<(&MaskRows<'_, T>, usize)>)
);

/// Lanes of the running maximum and sum: one AVX-512 vector of `f32`.
const LANES: usize = 16;

/// One row: the first `allowed` entries take part, the rest become 0. The
/// maximum and the sum run in [`LANES`] lanes, combined at the end, so that
/// both loops vectorise; indexed loops, since an iterator's `fold` would be
/// compiled outside the dispatched target features.
#[inline(always)]
fn softmax_row_body<T: Float>(
    x: &mut [T],
    allowed: usize,
    scale: T,
    mask: Option<(&MaskRows<'_, T>, usize)>,
) {
    let (kept, excluded) = x.split_at_mut(allowed);
    excluded.fill(T::zero());
    match mask {
        Some((m, r)) => {
            let start = m.starts[r];
            for (j, v) in kept.iter_mut().enumerate() {
                *v = *v * scale + m.data[start + j * m.step];
            }
        }
        None => {
            for v in kept.iter_mut() {
                *v = *v * scale;
            }
        }
    }
    let blocks = kept.len() / LANES;
    let mut maxima = [T::neg_infinity(); LANES];
    for b in 0..blocks {
        let block = &kept[b * LANES..(b + 1) * LANES];
        for l in 0..LANES {
            maxima[l] = if block[l] > maxima[l] { block[l] } else { maxima[l] };
        }
    }
    for &v in &kept[blocks * LANES..] {
        maxima[0] = if v > maxima[0] { v } else { maxima[0] };
    }
    let max = fold_lanes(maxima, |a, b| if b > a { b } else { a });
    if max == T::neg_infinity() {
        kept.fill(T::zero());
        return;
    }
    for v in kept.iter_mut() {
        *v = (*v - max).exp_kernel();
    }
    let mut sums = [T::zero(); LANES];
    for b in 0..blocks {
        let block = &kept[b * LANES..(b + 1) * LANES];
        for l in 0..LANES {
            sums[l] = sums[l] + block[l];
        }
    }
    for &v in &kept[blocks * LANES..] {
        sums[0] = sums[0] + v;
    }
    let inv = T::one() / fold_lanes(sums, |a, b| a + b);
    for v in kept.iter_mut() {
        *v = *v * inv;
    }
}

/// `lanes` combined by `f` in halves (16 -> 8 -> 4 -> 2 -> 1), as vector
/// shuffles rather than a chain through every lane.
#[inline(always)]
fn fold_lanes<T: Float>(mut lanes: [T; LANES], f: impl Fn(T, T) -> T) -> T {
    let mut width = LANES / 2;
    while width > 0 {
        for l in 0..width {
            lanes[l] = f(lanes[l], lanes[l + width]);
        }
        width /= 2;
    }
    lanes[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// softmax(scale x + mask) of the first `allowed` entries, zeros after.
    fn plain(x: &[f64], allowed: usize, scale: f64, mask: &[f64]) -> Vec<f64> {
        let z: Vec<f64> = (0..allowed).map(|j| x[j] * scale + mask[j]).collect();
        let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = z.iter().map(|v| (v - max).exp()).sum();
        let mut out: Vec<f64> = z.iter().map(|v| (v - max).exp() / sum).collect();
        out.resize(x.len(), 0.0);
        out
    }

    #[test]
    fn rows_of_every_length_match_the_plain_softmax() {
        // Lengths around the 16 lanes (none, part, whole blocks and tails),
        // causal rows of every allowed count, with and without a mask.
        for n in [1, 5, 15, 16, 17, 33, 64, 70] {
            let rows = n;
            let x: Vec<f64> = (0..rows * n)
                .map(|i| ((i * 7919) % 101) as f64 / 9.0 - 5.0)
                .collect();
            let mask_data: Vec<f64> = (0..n).map(|j| -((j % 5) as f64)).collect();
            let starts = vec![0; rows];
            let mask = MaskRows {
                data: &mask_data,
                starts: &starts,
                step: 1,
            };
            for with_mask in [false, true] {
                let mut got = x.clone();
                let m = with_mask.then_some(&mask);
                attention_softmax(&mut got, n, rows, 0.7, Some(0), m);
                let zeros = vec![0.0; n];
                let row_mask = if with_mask { &mask_data } else { &zeros };
                for r in 0..rows {
                    let want = plain(&x[r * n..(r + 1) * n], r + 1, 0.7, row_mask);
                    for (j, (g, w)) in got[r * n..(r + 1) * n].iter().zip(&want).enumerate() {
                        assert!((g - w).abs() < 1e-14, "n {n}, row {r}, key {j}: {g} against {w}");
                    }
                }
            }
        }
    }
}
