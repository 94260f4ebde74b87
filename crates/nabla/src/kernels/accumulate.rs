//! Updating a buffer in place: adding a gradient into a gradient buffer
//! (the whole buffer, a box-shaped region of it for the backward of
//! `narrow` / `select`, or slices at indices for the backward of
//! `index_select` and `gather`), which the autograd engine does instead of
//! summing freshly allocated tensors, and the `+=`, `-=`, `*=` operators.

use crate::element::Float;
use crate::layout::{for_each_run2, Layout};

/// `dst[p] += src[q]` for every element of `shape`, where `p` and `q` walk
/// `dst_layout`'s and `src_layout`'s strides (both of `shape`). `dst` must
/// not repeat elements (no stride-0 dimensions).
pub(crate) fn add_assign_strided<T: Float>(
    dst: &mut [T],
    dst_layout: &Layout,
    src: &[T],
    src_layout: &Layout,
) {
    update_strided(
        dst,
        dst_layout,
        src,
        &src_layout.strides,
        src_layout.offset,
        |d, s| d + s,
    );
}

/// `dst[p] = f(dst[p], src[q])` for every element of `dst_layout`'s
/// shape, where `q` walks `src_strides` from `src_offset` (stride 0 on
/// broadcast dimensions). `dst` must not repeat elements.
pub(crate) fn update_strided<T: Float>(
    dst: &mut [T],
    dst_layout: &Layout,
    src: &[T],
    src_strides: &[usize],
    src_offset: usize,
    f: impl Fn(T, T) -> T,
) {
    for_each_run2(
        &dst_layout.shape,
        &dst_layout.strides,
        dst_layout.offset,
        src_strides,
        src_offset,
        |r| match (r.step_a, r.step_b) {
            (1, 1) => {
                for (d, &s) in dst[r.a..r.a + r.len].iter_mut().zip(&src[r.b..r.b + r.len]) {
                    *d = f(*d, s);
                }
            }
            (1, 0) => {
                let s = src[r.b];
                for d in &mut dst[r.a..r.a + r.len] {
                    *d = f(*d, s);
                }
            }
            (sa, sb) => {
                for i in 0..r.len {
                    let at = r.a + i * sa;
                    dst[at] = f(dst[at], src[r.b + i * sb]);
                }
            }
        },
    );
}

/// For a contiguous `dst` of `outer x n x inner` elements and a contiguous
/// `src` of `outer x indices.len() x inner`, adds `src`'s slice `k` along
/// the middle dimension into `dst`'s slice `indices[k]` (repeats add up):
/// `torch.index_add_` on a flattened view.
pub(crate) fn index_add_assign<T: Float>(
    dst: &mut [T],
    n: usize,
    inner: usize,
    indices: &[usize],
    src: &[T],
) {
    let (block_dst, block_src) = (n * inner, indices.len() * inner);
    if block_dst == 0 || block_src == 0 {
        return;
    }
    for (d, s) in dst.chunks_exact_mut(block_dst).zip(src.chunks_exact(block_src)) {
        for (&i, from) in indices.iter().zip(s.chunks_exact(inner)) {
            for (o, &v) in d[i * inner..(i + 1) * inner].iter_mut().zip(from) {
                *o = *o + v;
            }
        }
    }
}

/// Calls `f(position, offset)` for every element of an index tensor of
/// `shape` (row-major `position`): `offset` is the offset, in a contiguous
/// tensor with `strides`, of the same coordinates with the one along `dim`
/// replaced by the index value. The walk under `gather` and `scatter_add`.
pub(crate) fn for_each_indexed(
    shape: &[usize],
    strides: &[usize],
    dim: usize,
    index: &[usize],
    mut f: impl FnMut(usize, usize),
) {
    let mut coords: crate::layout::Dims = smallvec::smallvec![0; shape.len()];
    for (p, &i) in index.iter().enumerate() {
        let offset: usize = coords
            .iter()
            .zip(strides)
            .enumerate()
            .map(|(d, (&c, &s))| if d == dim { i * s } else { c * s })
            .sum();
        f(p, offset);
        for d in (0..shape.len()).rev() {
            coords[d] += 1;
            if coords[d] < shape[d] {
                break;
            }
            coords[d] = 0;
        }
    }
}

/// `dst[offset of index p along dim] += src[p]` for a contiguous `dst` with
/// `strides` and a contiguous `src` of the index's `shape`: `scatter_add_`.
pub(crate) fn scatter_add_assign<T: Float>(
    dst: &mut [T],
    strides: &[usize],
    dim: usize,
    shape: &[usize],
    index: &[usize],
    src: &[T],
) {
    for_each_indexed(shape, strides, dim, index, |p, at| dst[at] = dst[at] + src[p]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strided_add_reaches_only_the_region() {
        // dst is [2, 3]; add a [2, 1] column (stored with stride 1) into column 1.
        let mut dst = vec![0.0f64; 6];
        let mut region = Layout::contiguous(&[2, 3]);
        region.shape[1] = 1;
        region.offset = 1;
        add_assign_strided(&mut dst, &region, &[5.0, 7.0], &Layout::contiguous(&[2, 1]));
        assert_eq!(dst, vec![0.0, 5.0, 0.0, 0.0, 7.0, 0.0]);
    }

    #[test]
    fn index_add_accumulates_repeats() {
        // dst [2, 3, 1]: indices [2, 2, 0] along the middle dimension.
        let mut dst = vec![1.0f32; 6];
        index_add_assign(&mut dst, 3, 1, &[2, 2, 0], &[1.0, 2.0, 3.0, 10.0, 20.0, 30.0]);
        assert_eq!(dst, vec![4.0, 1.0, 4.0, 31.0, 1.0, 31.0]);
    }

    #[test]
    fn scatter_add_follows_the_index() {
        // dst [2, 2], dim 1, index [[1], [1]].
        let mut dst = vec![0.0f32; 4];
        scatter_add_assign(&mut dst, &[2, 1], 1, &[2, 1], &[1, 1], &[3.0, 4.0]);
        assert_eq!(dst, vec![0.0, 3.0, 0.0, 4.0]);
    }
}
