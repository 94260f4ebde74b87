//! Elementwise maps over one or two inputs, contiguous or strided.

use std::mem::MaybeUninit;

use rayon::prelude::*;

use super::PARALLEL_THRESHOLD;
use crate::element::Float;
use crate::layout::for_each_run2;

/// Chunk size for parallel maps: large enough to amortise scheduling.
const CHUNK: usize = 1 << 14;

/// Fills a new vector of length `n` by `fill(start, chunk)` over disjoint
/// chunks, in parallel when `n` is large.
fn fill_new<T: Send>(n: usize, fill: impl Fn(usize, &mut [MaybeUninit<T>]) + Sync) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(n);
    let spare = &mut out.spare_capacity_mut()[..n];
    if n >= PARALLEL_THRESHOLD {
        spare
            .par_chunks_mut(CHUNK)
            .enumerate()
            .for_each(|(i, chunk)| fill(i * CHUNK, chunk));
    } else {
        fill(0, spare);
    }
    // SAFETY: `fill` wrote every one of the first `n` slots (each caller's
    // closure writes its whole chunk).
    unsafe { out.set_len(n) };
    out
}

/// `n` zeros (or `n` copies of any value), written in parallel chunks when
/// `n` is large. A big output zeroed with `vec!` would be a serial pass over
/// memory (and its page faults) on the calling thread before every parallel
/// kernel that fills it.
pub(crate) fn filled<T: Copy + Send + Sync>(n: usize, value: T) -> Vec<T> {
    fill_new(n, |_, chunk| {
        for slot in chunk {
            slot.write(value);
        }
    })
}

/// `f` applied to every element of a contiguous slice.
pub(crate) fn map<T: Copy + Send + Sync>(x: &[T], f: impl Fn(T) -> T + Sync) -> Vec<T> {
    fill_new(x.len(), |start, chunk| {
        for (o, &v) in chunk.iter_mut().zip(&x[start..]) {
            o.write(f(v));
        }
    })
}

/// `f` applied pairwise to two contiguous slices of the same length.
pub(crate) fn zip_map<T: Copy + Send + Sync>(a: &[T], b: &[T], f: impl Fn(T, T) -> T + Sync) -> Vec<T> {
    debug_assert_eq!(a.len(), b.len());
    fill_new(a.len(), |start, chunk| {
        for ((o, &x), &y) in chunk.iter_mut().zip(&a[start..]).zip(&b[start..]) {
            o.write(f(x, y));
        }
    })
}

/// `f` applied pairwise over `shape`, reading `a` and `b` through their own
/// (possibly broadcast, stride-0) strides.
#[allow(clippy::too_many_arguments)]
pub(crate) fn strided_zip_map<T: Copy>(
    shape: &[usize],
    a: &[T],
    a_strides: &[usize],
    a_offset: usize,
    b: &[T],
    b_strides: &[usize],
    b_offset: usize,
    f: impl Fn(T, T) -> T,
) -> Vec<T> {
    let mut out = Vec::with_capacity(shape.iter().product());
    for_each_run2(shape, a_strides, a_offset, b_strides, b_offset, |r| {
        // The common cases (same layout, or one side broadcast along the
        // run) read whole slices, which vectorizes.
        match (r.step_a, r.step_b) {
            (1, 1) => out.extend(
                a[r.a..r.a + r.len]
                    .iter()
                    .zip(&b[r.b..r.b + r.len])
                    .map(|(&x, &y)| f(x, y)),
            ),
            (1, 0) => {
                let y = b[r.b];
                out.extend(a[r.a..r.a + r.len].iter().map(|&x| f(x, y)));
            }
            (0, 1) => {
                let x = a[r.a];
                out.extend(b[r.b..r.b + r.len].iter().map(|&y| f(x, y)));
            }
            (sa, sb) => out.extend((0..r.len).map(|i| f(a[r.a + i * sa], b[r.b + i * sb]))),
        }
    });
    out
}

/// Each `rows x cols` matrix of a contiguous batch of them with the
/// elements `(i, j)` for which `keep(i, j)` fails set to 0 (`tril`, `triu`).
pub(crate) fn keep_triangle<T: Float>(
    x: &[T],
    rows: usize,
    cols: usize,
    keep: impl Fn(isize, isize) -> bool,
) -> Vec<T> {
    let mut out = x.to_vec();
    if rows * cols == 0 {
        return out;
    }
    for matrix in out.chunks_mut(rows * cols) {
        for (i, row) in matrix.chunks_mut(cols).enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                if !keep(i as isize, j as isize) {
                    *v = T::zero();
                }
            }
        }
    }
    out
}
