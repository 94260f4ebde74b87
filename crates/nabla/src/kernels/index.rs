//! Copies that rearrange elements: joining blocks, selecting slices or
//! elements by index, and reversing dimensions.

use super::accumulate::for_each_indexed;
use crate::element::Float;
use crate::layout::Layout;

/// Copies `src`, `outer` blocks of `block` elements, into columns
/// `start..start + block` of `out`'s rows of `row` elements: one input of
/// a concatenation, seen as `[outer, block]` inside `[outer, row]`.
pub(crate) fn copy_blocks<T: Copy>(
    out: &mut [T],
    outer: usize,
    row: usize,
    start: usize,
    block: usize,
    src: &[T],
) {
    for o in 0..outer {
        out[o * row + start..o * row + start + block].copy_from_slice(&src[o * block..(o + 1) * block]);
    }
}

/// For a contiguous `src` of `outer x n x inner` elements, the slices
/// `indices[k]` along the middle dimension in that order:
/// `outer x indices.len() x inner` elements.
pub(crate) fn index_select<T: Copy>(
    src: &[T],
    outer: usize,
    n: usize,
    inner: usize,
    indices: &[usize],
) -> Vec<T> {
    let mut out = Vec::with_capacity(outer * indices.len() * inner);
    for o in 0..outer {
        for &i in indices {
            let at = (o * n + i) * inner;
            out.extend_from_slice(&src[at..at + inner]);
        }
    }
    out
}

/// `out[p] = src[offset of index p along dim]` for a contiguous `src` with
/// `strides` and an index of `shape`: `torch.gather`.
pub(crate) fn gather<T: Float>(
    src: &[T],
    strides: &[usize],
    dim: usize,
    shape: &[usize],
    index: &[usize],
) -> Vec<T> {
    let mut out = vec![T::zero(); index.len()];
    for_each_indexed(shape, strides, dim, index, |p, at| out[p] = src[at]);
    out
}

/// The elements of the tensor at `layout` in `data`, in row-major order
/// with each of the dimensions `flipped` walked backwards.
pub(crate) fn flip<T: Copy>(data: &[T], layout: &Layout, flipped: &[usize]) -> Vec<T> {
    let rank = layout.shape.len();
    // Start at the last element of each flipped dimension and walk it
    // backwards.
    let mut offset = layout.offset;
    for &d in flipped {
        if layout.shape[d] > 0 {
            offset += (layout.shape[d] - 1) * layout.strides[d];
        }
    }
    let mut out = Vec::with_capacity(layout.numel());
    let mut index = vec![0usize; rank];
    for _ in 0..layout.numel() {
        let mut at = offset as isize;
        for (d, (&i, &stride)) in index.iter().zip(&layout.strides).enumerate() {
            let step = (i * stride) as isize;
            at += if flipped.contains(&d) { -step } else { step };
        }
        out.push(data[at as usize]);
        for d in (0..rank).rev() {
            index[d] += 1;
            if index[d] < layout.shape[d] {
                break;
            }
            index[d] = 0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_land_in_their_columns() {
        let mut out = vec![0; 6];
        copy_blocks(&mut out, 2, 3, 1, 2, &[1, 2, 3, 4]);
        assert_eq!(out, vec![0, 1, 2, 0, 3, 4]);
    }

    #[test]
    fn index_select_repeats_and_reorders_slices() {
        // [2, 3, 1] picking [2, 0, 2] along the middle dimension.
        let got = index_select(&[0, 1, 2, 3, 4, 5], 2, 3, 1, &[2, 0, 2]);
        assert_eq!(got, vec![2, 0, 2, 5, 3, 5]);
    }

    #[test]
    fn flip_walks_a_transposed_view_backwards() {
        // The transpose of [[0, 1, 2], [3, 4, 5]], flipped along its rows.
        let layout = Layout {
            shape: [3, 2].into_iter().collect(),
            strides: [1, 3].into_iter().collect(),
            offset: 0,
        };
        assert_eq!(flip(&[0, 1, 2, 3, 4, 5], &layout, &[0]), vec![2, 5, 1, 4, 0, 3]);
    }
}
