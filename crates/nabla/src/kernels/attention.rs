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
    if scores.len() >= PARALLEL_THRESHOLD {
        scores.par_chunks_mut(n).enumerate().for_each(row);
    } else {
        scores.chunks_mut(n).enumerate().for_each(row);
    }
}

/// One row: the first `allowed` entries take part, the rest become 0.
fn softmax_row<T: Float>(x: &mut [T], allowed: usize, scale: T, mask: Option<(&MaskRows<'_, T>, usize)>) {
    let (kept, excluded) = x.split_at_mut(allowed);
    excluded.fill(T::zero());
    match mask {
        Some((m, r)) => {
            let start = m.starts[r];
            for (j, v) in kept.iter_mut().enumerate() {
                *v = *v * scale + m.data[start + j * m.step];
            }
        }
        None => kept.iter_mut().for_each(|v| *v = *v * scale),
    }
    let max = kept.iter().copied().fold(T::neg_infinity(), T::max);
    if max == T::neg_infinity() {
        kept.fill(T::zero());
        return;
    }
    kept.iter_mut().for_each(|v| *v = (*v - max).exp_kernel());
    let sum = kept.iter().fold(T::zero(), |sum, &v| sum + v);
    let inv = T::one() / sum;
    kept.iter_mut().for_each(|v| *v = *v * inv);
}
