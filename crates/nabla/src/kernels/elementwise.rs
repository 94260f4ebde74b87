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

/// A new vector of `n` elements that `write` initialises, given the whole
/// buffer before anything is in it: the output of a kernel that writes
/// every element anyway, without a zero-fill first (a pass over memory
/// that was 7-13% of an EfficientNet-Lite0 batch or training step).
///
/// # Safety
/// `write` must initialise every element of the slice it is given.
pub(crate) unsafe fn written_whole<T>(n: usize, write: impl FnOnce(&mut [MaybeUninit<T>])) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(n);
    write(&mut out.spare_capacity_mut()[..n]);
    // SAFETY: the caller's promise: `write` initialised all `n` elements.
    unsafe { out.set_len(n) };
    out
}

/// `values`, initialised (`<[MaybeUninit<T>]>::assume_init_mut`, stable
/// only since Rust 1.93, after this crate's minimum).
///
/// # Safety
/// Every element must have been written.
pub(crate) unsafe fn assume_init_mut<T>(values: &mut [MaybeUninit<T>]) -> &mut [T] {
    // SAFETY: `MaybeUninit<T>` has `T`'s layout, and the caller promises
    // that every element holds a value.
    unsafe { &mut *(values as *mut [MaybeUninit<T>] as *mut [T]) }
}

/// `values`, every element set to zero.
pub(crate) fn zeroed<T: Float>(values: &mut [MaybeUninit<T>]) -> &mut [T] {
    for v in values.iter_mut() {
        v.write(T::zero());
    }
    // SAFETY: every element was written above.
    unsafe { assume_init_mut(values) }
}

/// `dst[i] = src[i]` for every `i` (`write_copy_of_slice`, stable only
/// since Rust 1.93).
pub(crate) fn write_copy<T: Copy>(dst: &mut [MaybeUninit<T>], src: &[T]) {
    assert_eq!(dst.len(), src.len(), "write_copy: lengths differ");
    for (d, &v) in dst.iter_mut().zip(src) {
        d.write(v);
    }
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

/// The logistic sigmoid `1 / (1 + e^-x)`: `e^-|x|` never overflows, and
/// both branches are computed, so a loop over it vectorises.
#[inline(always)]
pub(crate) fn sigmoid<T: Float>(x: T) -> T {
    let e = (-x.abs()).exp_kernel();
    let positive = T::one() / (T::one() + e);
    let negative = e / (T::one() + e);
    if x >= T::zero() {
        positive
    } else {
        negative
    }
}

/// A costly elementwise function of one value (`exp`, the sigmoid, ...),
/// for [`map_wide`]: a type rather than a closure, so that its
/// `#[inline(always)]` body is inlined into both of `map_wide`'s loops.
pub(crate) trait UnaryFunction<T> {
    fn apply(x: T) -> T;
}

/// A costly elementwise function of two values, for [`zip_map_wide`].
pub(crate) trait BinaryFunction<T> {
    fn apply(x: T, y: T) -> T;
}

// `map_wide` and `zip_map_wide` compile their loop three times: for
// AVX-512 and for AVX2 when the CPU has them (checked at run time, a cached
// flag), and for the baseline x86-64, whose vectors hold two `f64`. The
// `f32` transcendental functions compute in `f64`, so they run on eight
// lanes with AVX-512 and four with AVX2 instead of two. The results are
// the same bits every way: neither feature forms fused multiply-adds, and
// a map does not reorder any element's arithmetic. (A
// closure called from two loops stops being inlined once it is large,
// which is why these take types.)

/// `F` applied to every element of a contiguous slice.
pub(crate) fn map_wide<T: Copy + Send + Sync, F: UnaryFunction<T>>(x: &[T]) -> Vec<T> {
    fill_new(x.len(), |start, chunk| {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F, checked just above.
            return unsafe { map_wide_chunk_avx512::<T, F>(chunk, &x[start..]) };
        }
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            return unsafe { map_wide_chunk_avx2::<T, F>(chunk, &x[start..]) };
        }
        map_wide_chunk::<T, F>(chunk, &x[start..])
    })
}

/// `F` applied pairwise to two contiguous slices of the same length.
pub(crate) fn zip_map_wide<T: Copy + Send + Sync, F: BinaryFunction<T>>(a: &[T], b: &[T]) -> Vec<T> {
    debug_assert_eq!(a.len(), b.len());
    fill_new(a.len(), |start, chunk| {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F, checked just above.
            return unsafe { zip_wide_chunk_avx512::<T, F>(chunk, &a[start..], &b[start..]) };
        }
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            return unsafe { zip_wide_chunk_avx2::<T, F>(chunk, &a[start..], &b[start..]) };
        }
        zip_wide_chunk::<T, F>(chunk, &a[start..], &b[start..])
    })
}

#[inline(always)]
fn map_wide_chunk<T: Copy, F: UnaryFunction<T>>(chunk: &mut [MaybeUninit<T>], x: &[T]) {
    for (o, &v) in chunk.iter_mut().zip(x) {
        o.write(F::apply(v));
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn map_wide_chunk_avx2<T: Copy, F: UnaryFunction<T>>(chunk: &mut [MaybeUninit<T>], x: &[T]) {
    map_wide_chunk::<T, F>(chunk, x)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn map_wide_chunk_avx512<T: Copy, F: UnaryFunction<T>>(chunk: &mut [MaybeUninit<T>], x: &[T]) {
    map_wide_chunk::<T, F>(chunk, x)
}

#[inline(always)]
fn zip_wide_chunk<T: Copy, F: BinaryFunction<T>>(chunk: &mut [MaybeUninit<T>], a: &[T], b: &[T]) {
    for ((o, &x), &y) in chunk.iter_mut().zip(a).zip(b) {
        o.write(F::apply(x, y));
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn zip_wide_chunk_avx2<T: Copy, F: BinaryFunction<T>>(chunk: &mut [MaybeUninit<T>], a: &[T], b: &[T]) {
    zip_wide_chunk::<T, F>(chunk, a, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn zip_wide_chunk_avx512<T: Copy, F: BinaryFunction<T>>(
    chunk: &mut [MaybeUninit<T>],
    a: &[T],
    b: &[T],
) {
    zip_wide_chunk::<T, F>(chunk, a, b)
}

/// Values the exact GELU's loops check together: a block with none past
/// [`Float::GELU_NEAR_ZERO`] takes the faster kernel.
const GELU_BLOCK: usize = 16;

/// The exact GELU of every element of `x`, split over the threads from
/// [`PARALLEL_THRESHOLD`] elements: see [`gelu_into`].
pub(crate) fn gelu<T: Float>(x: &[T]) -> Vec<T> {
    fill_new(x.len(), |start, chunk| {
        gelu_chunk(chunk, &x[start..start + chunk.len()])
    })
}

/// The exact GELU of every element of `x`, on the calling thread: by blocks
/// of [`GELU_BLOCK`], a block whose values all lie within
/// [`Float::GELU_NEAR_ZERO`] (a NaN does not) by
/// [`Float::gelu_near_zero_kernel`] (for `f32`, about twice as fast), any
/// other by [`Float::gelu_kernel`].
pub(crate) fn gelu_serial<T: Float>(x: &[T]) -> Vec<T> {
    // SAFETY: `gelu_chunk` writes every element of the slice it is given.
    unsafe { written_whole(x.len(), |out| gelu_chunk(out, x)) }
}

dispatch_simd!(gelu_chunk, gelu_chunk_body, (out: &mut [MaybeUninit<T>], x: &[T]));

/// [`gelu_serial`]'s loop into `out` (as long as `x`): indexed loops of a
/// fixed length, so that both kernels vectorise inside the dispatched
/// target features.
#[inline(always)]
fn gelu_chunk_body<T: Float>(out: &mut [MaybeUninit<T>], x: &[T]) {
    let bound = T::from_f64(T::GELU_NEAR_ZERO);
    let blocks = out.len() / GELU_BLOCK;
    for b in 0..blocks {
        let block = b * GELU_BLOCK..(b + 1) * GELU_BLOCK;
        let (out, x) = (&mut out[block.clone()], &x[block]);
        let mut near_zero = true;
        for &v in x {
            near_zero &= v.abs() <= bound;
        }
        if near_zero {
            for l in 0..GELU_BLOCK {
                out[l].write(x[l].gelu_near_zero_kernel());
            }
        } else {
            for l in 0..GELU_BLOCK {
                out[l].write(x[l].gelu_kernel());
            }
        }
    }
    for i in blocks * GELU_BLOCK..out.len() {
        out[i].write(x[i].gelu_kernel());
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gelu_takes_the_near_zero_kernel_only_for_blocks_within_its_bound() {
        // Four blocks of 16 and a tail of 5: near zero; one value past the
        // bound; a NaN; an infinity; the tail past the bound.
        let mut x: Vec<f32> = (0..69).map(|i| (i as f32 - 34.0) / 12.0).collect();
        x[20] = 7.5;
        x[40] = f32::NAN;
        x[50] = f32::NEG_INFINITY;
        x[66] = -9.0;
        let serial = gelu_serial(&x);
        let wide = gelu(&x);
        for (i, &v) in x.iter().enumerate() {
            let general = v.gelu_kernel();
            let block = i / GELU_BLOCK;
            let near_zero = block == 0 && i < 64;
            let want = if near_zero {
                v.gelu_near_zero_kernel()
            } else {
                general
            };
            assert!(
                serial[i].to_bits() == want.to_bits() || (serial[i].is_nan() && want.is_nan()),
                "gelu({v}) = {}, want {want}",
                serial[i]
            );
            assert!(serial[i].to_bits() == wide[i].to_bits() || serial[i].is_nan());
            if near_zero {
                // Both kernels are within a few ulp of each other.
                assert!(
                    (want.to_bits() as i64 - general.to_bits() as i64).abs() <= 2,
                    "{v}"
                );
            }
        }
        assert_eq!(wide[20], 7.5);
        assert!(wide[40].is_nan());
    }

    /// A function of both kinds that goes through every `f32` kernel.
    struct Mixed;

    impl UnaryFunction<f32> for Mixed {
        #[inline(always)]
        fn apply(x: f32) -> f32 {
            x.exp_kernel() + x.abs().ln_kernel() + x.tanh_kernel() + x.abs().ln_1p_kernel()
        }
    }

    impl BinaryFunction<f32> for Mixed {
        #[inline(always)]
        fn apply(x: f32, y: f32) -> f32 {
            <Mixed as UnaryFunction<f32>>::apply(x) * y
        }
    }

    type UnaryLoop = unsafe fn(&mut [MaybeUninit<f32>], &[f32]);
    type BinaryLoop = unsafe fn(&mut [MaybeUninit<f32>], &[f32], &[f32]);

    #[test]
    fn the_avx2_and_avx512_loops_give_the_baseline_loops_bits() {
        let x: Vec<f32> = (0..10_007).map(|i| (i as f32 * 0.7919).sin() * 30.0).collect();
        let y: Vec<f32> = x.iter().map(|v| v.cos()).collect();
        // SAFETY (the calls): the loops given are the baseline ones or ones
        // whose instructions the CPU was checked for.
        let run = |unary_loop: UnaryLoop, binary_loop: BinaryLoop| {
            let (mut unary, mut binary) = (
                vec![MaybeUninit::uninit(); x.len()],
                vec![MaybeUninit::uninit(); x.len()],
            );
            unsafe {
                unary_loop(&mut unary, &x);
                binary_loop(&mut binary, &x, &y);
            }
            // SAFETY: every loop writes every slot.
            let bits = |v: Vec<MaybeUninit<f32>>| {
                v.into_iter()
                    .map(|e| unsafe { e.assume_init() }.to_bits())
                    .collect::<Vec<_>>()
            };
            (bits(unary), bits(binary))
        };
        let baseline = run(map_wide_chunk::<f32, Mixed>, zip_wide_chunk::<f32, Mixed>);
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                let avx2 = run(
                    map_wide_chunk_avx2::<f32, Mixed>,
                    zip_wide_chunk_avx2::<f32, Mixed>,
                );
                assert!(avx2 == baseline, "the AVX2 loops changed some bits");
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                let avx512 = run(
                    map_wide_chunk_avx512::<f32, Mixed>,
                    zip_wide_chunk_avx512::<f32, Mixed>,
                );
                assert!(avx512 == baseline, "the AVX-512 loops changed some bits");
            }
        }
        assert_eq!(baseline.0.len(), x.len());
    }
}
