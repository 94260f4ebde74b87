//! 2-D pooling kernels on contiguous NCHW buffers, seen as `planes = N * C`
//! independent `H x W` images: max pooling (values and arg-max positions),
//! scatter / gather by those positions (its backward and double backward),
//! and average pooling over per-axis bins (fixed windows or PyTorch's
//! adaptive bins) with its transpose.
//!
//! Every kernel is one pass over its output with no allocation per element.
//! Forward kernels split the output into rows, which are independent, so a
//! single large image is spread over threads as well as a large batch;
//! transposes (which add overlapping windows into their output) split by
//! plane. Work below [`PARALLEL_THRESHOLD`] stays on the calling thread.

use rayon::prelude::*;

use super::elementwise::filled;
use super::PARALLEL_THRESHOLD;
use crate::backend::ops::{AvgPlan, Bin, MaxPoolGeometry, EMPTY_WINDOW};
use crate::element::Float;

impl MaxPoolGeometry {
    fn input_len(&self) -> usize {
        self.input.0 * self.input.1
    }
    fn output_len(&self) -> usize {
        self.output.0 * self.output.1
    }
}

/// The taps of every window along one axis, as PyTorch's CPU kernel walks
/// them: `(first, end)` with `first` the first tap inside the input (the
/// window start moved forward by whole dilations) and `end` one past the
/// last tap or the input's end. The window is empty when `first >= end`.
fn max_taps(
    output: usize,
    input: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    dilation: usize,
) -> Vec<(usize, usize)> {
    (0..output)
        .map(|o| {
            let start = (o * stride) as isize - padding as isize;
            let end = (start + ((kernel - 1) * dilation) as isize + 1).min(input as isize);
            let first = if start < 0 {
                start + ((-start) as usize).div_ceil(dilation) as isize * dilation as isize
            } else {
                start
            };
            (first as usize, end.max(0) as usize)
        })
        .collect()
}

/// Runs `f(i, piece)` over the consecutive `piece`-long pieces of `out`, on
/// the rayon pool when `work` (elements touched in all) is large.
fn for_each_piece<A: Send>(
    out: &mut [A],
    piece: usize,
    work: usize,
    f: impl Fn(usize, &mut [A]) + Sync + Send,
) {
    if piece == 0 || out.is_empty() {
        return;
    }
    let pieces = out.len() / piece;
    if work >= PARALLEL_THRESHOLD && pieces > 1 {
        let min_len = min_pieces_per_task(work, pieces);
        out.par_chunks_mut(piece)
            .with_min_len(min_len)
            .enumerate()
            .for_each(|(i, p)| f(i, p));
    } else {
        out.chunks_mut(piece).enumerate().for_each(|(i, p)| f(i, p));
    }
}

/// [`for_each_piece`] over two buffers cut into pieces of `piece_a` and
/// `piece_b` elements, in step.
fn for_each_piece2<A: Send, B: Send>(
    a: &mut [A],
    piece_a: usize,
    b: &mut [B],
    piece_b: usize,
    work: usize,
    f: impl Fn(usize, &mut [A], &mut [B]) + Sync + Send,
) {
    if piece_a == 0 || piece_b == 0 || a.is_empty() {
        return;
    }
    let pieces = a.len() / piece_a;
    debug_assert_eq!(pieces, b.len() / piece_b);
    if work >= PARALLEL_THRESHOLD && pieces > 1 {
        let min_len = min_pieces_per_task(work, pieces);
        a.par_chunks_mut(piece_a)
            .zip(b.par_chunks_mut(piece_b))
            .with_min_len(min_len)
            .enumerate()
            .for_each(|(i, (pa, pb))| f(i, pa, pb));
    } else {
        a.chunks_mut(piece_a)
            .zip(b.chunks_mut(piece_b))
            .enumerate()
            .for_each(|(i, (pa, pb))| f(i, pa, pb));
    }
}

/// Enough pieces per rayon task that each task does a few thousand
/// element operations.
fn min_pieces_per_task(work: usize, pieces: usize) -> usize {
    let per_piece = (work / pieces.max(1)).max(1);
    (4096 / per_piece).max(1)
}

// ------------------------------------------------------------ max pooling

/// Max pooling forward of `x [planes, H, W]`: the maxima `[planes, OH, OW]`
/// and, when `with_indices`, the flat `h * W + w` position of each in its
/// plane ([`EMPTY_WINDOW`] for a window entirely in the padding).
///
/// Ties and NaN follow PyTorch's CPU kernel: the window is scanned row by
/// row and a value replaces the running maximum when it is greater or NaN,
/// so the first of equal maxima wins, and any NaN (the last one) wins.
pub(crate) fn max_pool2d_forward<T: Float>(
    x: &[T],
    g: &MaxPoolGeometry,
    with_indices: bool,
) -> (Vec<T>, Option<Vec<usize>>) {
    let (h, w) = g.input;
    let (oh, ow) = g.output;
    let rows = max_taps(oh, h, g.kernel.0, g.stride.0, g.padding.0, g.dilation.0);
    let cols = max_taps(ow, w, g.kernel.1, g.stride.1, g.padding.1, g.dilation.1);
    let (dh, dw) = g.dilation;
    let n_out = g.planes * g.output_len();
    let work = n_out * g.kernel.0 * g.kernel.1;
    let mut out = filled(n_out, T::zero());

    // One output row: `r` counts rows over all planes.
    let row = |r: usize, out: &mut [T], mut idx: Option<&mut [usize]>| {
        let (plane, oy) = (r / oh, r % oh);
        let image = &x[plane * h * w..(plane + 1) * h * w];
        let (h0, h1) = rows[oy];
        for (ox, &(w0, w1)) in cols.iter().enumerate() {
            let mut best = T::neg_infinity();
            let mut at = if h0 < h1 && w0 < w1 {
                h0 * w + w0
            } else {
                EMPTY_WINDOW
            };
            // Branch-free: maxima of random data are unpredictable.
            let mut visit = |v: T, position: usize| {
                let take = (v > best) | v.is_nan();
                best = if take { v } else { best };
                at = if take { position } else { at };
            };
            if (dh, dw) == (1, 1) {
                // Undilated windows are plain slices: no stepping iterators.
                for ih in h0..h1 {
                    let line = &image[ih * w + w0..ih * w + w1.max(w0)];
                    for (iw, &v) in (w0..).zip(line) {
                        visit(v, ih * w + iw);
                    }
                }
            } else {
                for ih in (h0..h1).step_by(dh) {
                    let line = &image[ih * w..(ih + 1) * w];
                    for iw in (w0..w1).step_by(dw) {
                        visit(line[iw], ih * w + iw);
                    }
                }
            }
            out[ox] = best;
            if let Some(idx) = idx.as_deref_mut() {
                idx[ox] = at;
            }
        }
    };

    let dense = g.padding == (0, 0)
        && g.dilation == (1, 1)
        && (oh - 1) * g.stride.0 + g.kernel.0 <= h
        && (ow - 1) * g.stride.1 + g.kernel.1 <= w;
    if dense {
        // Whole planes per call: LeNet's second pool has rows of 5 outputs,
        // too short to pay for a call and a CPU-feature check each.
        let plane = |i: usize, out: &mut [T], idx: Option<&mut [usize]>| {
            max_pool_dense_plane(&x[i * h * w..(i + 1) * h * w], g, out, idx)
        };
        let p = g.output_len();
        if !with_indices {
            for_each_piece(&mut out, p, work, |i, o| plane(i, o, None));
            return (out, None);
        }
        let mut indices = filled(n_out, 0usize);
        for_each_piece2(&mut out, p, &mut indices, p, work, |i, o, idx| {
            plane(i, o, Some(idx))
        });
        return (out, Some(indices));
    }
    if !with_indices {
        for_each_piece(&mut out, ow, work, |r, o| row(r, o, None));
        return (out, None);
    }
    let mut indices = filled(n_out, 0usize);
    for_each_piece2(&mut out, ow, &mut indices, ow, work, |r, o, i| row(r, o, Some(i)));
    (out, Some(indices))
}

/// Max pooling of one plane whose windows all lie inside the image (no
/// padding, no dilation, as in LeNet's and VGG's 2x2 pools).
///
/// The taps are the outer loop and the output columns the inner one, so
/// each inner loop is a branch-free select over a whole output row, which
/// the compiler vectorizes; every window still sees its taps in row-major
/// order, so ties and NaN resolve as in [`max_pool2d_forward`].
///
/// Compiled twice: for AVX2 when the CPU has it (checked at run time), and
/// for the baseline. Without AVX2's blends the compiler turns the selects
/// into branches, which random data mispredicts half the time.
fn max_pool_dense_plane<T: Float>(
    image: &[T],
    g: &MaxPoolGeometry,
    out: &mut [T],
    idx: Option<&mut [usize]>,
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { max_pool_dense_plane_avx2(image, g, out, idx) };
    }
    max_pool_dense_plane_body(image, g, out, idx)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn max_pool_dense_plane_avx2<T: Float>(
    image: &[T],
    g: &MaxPoolGeometry,
    out: &mut [T],
    idx: Option<&mut [usize]>,
) {
    max_pool_dense_plane_body(image, g, out, idx)
}

#[inline(always)]
fn max_pool_dense_plane_body<T: Float>(
    image: &[T],
    g: &MaxPoolGeometry,
    out: &mut [T],
    mut idx: Option<&mut [usize]>,
) {
    let w = g.input.1;
    let ow = g.output.1;
    let (sh, sw) = g.stride;
    for (oy, out) in out.chunks_exact_mut(ow).enumerate() {
        let mut idx = idx.as_deref_mut().map(|i| &mut i[oy * ow..(oy + 1) * ow]);
        for ky in 0..g.kernel.0 {
            let y = oy * sh + ky;
            for kx in 0..g.kernel.1 {
                let start = y * w + kx;
                let line = &image[start..start + (ow - 1) * sw + 1];
                let tap = Tap {
                    first: ky == 0 && kx == 0,
                    start,
                };
                // A constant stride lets the compiler turn the strided
                // reads into vector loads and shuffles.
                match sw {
                    1 => max_pool_tap::<T, 1>(line, sw, tap, out, idx.as_deref_mut()),
                    2 => max_pool_tap::<T, 2>(line, sw, tap, out, idx.as_deref_mut()),
                    _ => max_pool_tap::<T, 0>(line, sw, tap, out, idx.as_deref_mut()),
                }
            }
        }
    }
}

/// One tap of every window of a row: whether it is the window's first, and
/// its position in the image for the row's first window.
#[derive(Clone, Copy)]
struct Tap {
    first: bool,
    start: usize,
}

/// Folds `line[ox * stride]` into the running maximum of window `ox` for
/// every `ox`; `STRIDE` is `stride` when known at compile time, else 0.
#[inline(always)]
fn max_pool_tap<T: Float, const STRIDE: usize>(
    line: &[T],
    stride: usize,
    tap: Tap,
    out: &mut [T],
    idx: Option<&mut [usize]>,
) {
    let stride = if STRIDE == 0 { stride } else { STRIDE };
    let n = out.len();
    assert!(line.len() > (n - 1) * stride);
    match idx {
        None => {
            for ox in 0..n {
                let v = line[ox * stride];
                let take = tap.first | (v > out[ox]) | v.is_nan();
                out[ox] = if take { v } else { out[ox] };
            }
        }
        Some(idx) => {
            let idx = &mut idx[..n];
            for ox in 0..n {
                let v = line[ox * stride];
                let take = tap.first | (v > out[ox]) | v.is_nan();
                out[ox] = if take { v } else { out[ox] };
                idx[ox] = if take { tap.start + ox * stride } else { idx[ox] };
            }
        }
    }
}

/// The adjoint of selecting by `indices`: `dx [planes, H, W]` with every
/// `dy [planes, OH, OW]` entry added at its saved position (the max pooling
/// backward). Windows marked [`EMPTY_WINDOW`] pass nothing.
pub(crate) fn scatter_by_indices<T: Float>(dy: &[T], indices: &[usize], g: &MaxPoolGeometry) -> Vec<T> {
    let (hw, p) = (g.input_len(), g.output_len());
    let mut dx = filled(g.planes * hw, T::zero());
    for_each_piece(&mut dx, hw, g.planes * (hw + p), |plane, dx| {
        let (dy, idx) = (
            &dy[plane * p..(plane + 1) * p],
            &indices[plane * p..(plane + 1) * p],
        );
        for (&v, &i) in dy.iter().zip(idx) {
            if i != EMPTY_WINDOW {
                dx[i] = dx[i] + v;
            }
        }
    });
    dx
}

/// Selecting by `indices`: `out [planes, OH, OW]` reads `v [planes, H, W]`
/// at each saved position (0 for [`EMPTY_WINDOW`]); the adjoint of
/// [`scatter_by_indices`].
pub(crate) fn gather_by_indices<T: Float>(v: &[T], indices: &[usize], g: &MaxPoolGeometry) -> Vec<T> {
    let (hw, p) = (g.input_len(), g.output_len());
    let mut out = filled(g.planes * p, T::zero());
    for_each_piece(&mut out, p, 2 * g.planes * p, |plane, out| {
        let (v, idx) = (
            &v[plane * hw..(plane + 1) * hw],
            &indices[plane * p..(plane + 1) * p],
        );
        for (o, &i) in out.iter_mut().zip(idx) {
            if i != EMPTY_WINDOW {
                *o = v[i];
            }
        }
    });
    out
}

// -------------------------------------------------------- average pooling

impl AvgPlan {
    fn input_len(&self) -> usize {
        self.input.0 * self.input.1
    }

    fn output_len(&self) -> usize {
        self.rows.len() * self.cols.len()
    }

    /// Elements read by one pass over every window.
    fn window_work(&self) -> usize {
        let rows: usize = self.rows.iter().map(|b| b.end - b.start).sum();
        let cols: usize = self.cols.iter().map(|b| b.end - b.start).sum();
        self.planes * (rows * cols + self.output_len())
    }

    fn divisor<T: Float>(&self, row: &Bin, col: &Bin) -> T {
        T::from_usize(row.divisor * col.divisor)
    }
}

/// Average pooling forward: `x [planes, H, W]` to `[planes, OH, OW]`, each
/// window summed row by row and divided by its divisor.
pub(crate) fn avg_pool2d_forward<T: Float>(x: &[T], plan: &AvgPlan) -> Vec<T> {
    let (h, w) = plan.input;
    let (oh, ow) = plan.output();
    let mut out = filled(plan.planes * oh * ow, T::zero());
    for_each_piece(&mut out, ow, plan.window_work(), |r, out| {
        let (plane, oy) = (r / oh, r % oh);
        let image = &x[plane * h * w..(plane + 1) * h * w];
        let rb = &plan.rows[oy];
        for (o, cb) in out.iter_mut().zip(&plan.cols) {
            let mut sum = T::zero();
            for ih in rb.start..rb.end {
                for &v in &image[ih * w + cb.start..ih * w + cb.end] {
                    sum = sum + v;
                }
            }
            *o = sum / plan.divisor::<T>(rb, cb);
        }
    });
    out
}

/// The transpose of [`avg_pool2d_forward`] (its backward): every
/// `dy [planes, OH, OW]` entry, divided by its window's divisor, added to
/// each input position of the window, giving `[planes, H, W]`.
pub(crate) fn avg_pool2d_transpose<T: Float>(dy: &[T], plan: &AvgPlan) -> Vec<T> {
    let (h, w) = plan.input;
    let p = plan.output_len();
    let hw = plan.input_len();
    let ow = plan.cols.len();
    let mut dx = filled(plan.planes * hw, T::zero());
    for_each_piece(&mut dx, h * w, plan.window_work(), |plane, dx| {
        let dy = &dy[plane * p..(plane + 1) * p];
        for (rb, dy_row) in plan.rows.iter().zip(dy.chunks(ow.max(1))) {
            for (cb, &g) in plan.cols.iter().zip(dy_row) {
                let share = g / plan.divisor::<T>(rb, cb);
                for ih in rb.start..rb.end {
                    for v in &mut dx[ih * w + cb.start..ih * w + cb.end] {
                        *v = *v + share;
                    }
                }
            }
        }
    });
    dx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_taps_step_over_the_padding_by_dilations() {
        // Kernel 3, dilation 2, padding 1 on 5 inputs: windows start at -1, 1.
        assert_eq!(max_taps(2, 5, 3, 2, 1, 2), vec![(1, 4), (1, 5)]);
        // A window whose taps all fall in the padding is empty.
        let (first, end) = max_taps(1, 4, 2, 1, 1, 5)[0];
        assert!(first >= end);
    }

    #[test]
    fn transpose_is_the_adjoint_of_the_forward() {
        let plan = AvgPlan {
            planes: 2,
            input: (5, 4),
            rows: AvgPlan::window_bins(3, 5, 3, 2, 1, false),
            cols: AvgPlan::adaptive_bins(3, 4),
        };
        let x: Vec<f64> = (0..40).map(|i| ((i * 7 % 11) as f64) - 5.0).collect();
        let y: Vec<f64> = (0..18).map(|i| ((i * 5 % 7) as f64) - 3.0).collect();
        let ax = avg_pool2d_forward(&x, &plan);
        let aty = avg_pool2d_transpose(&y, &plan);
        let lhs: f64 = ax.iter().zip(&y).map(|(a, b)| a * b).sum();
        let rhs: f64 = x.iter().zip(&aty).map(|(a, b)| a * b).sum();
        assert!((lhs - rhs).abs() < 1e-12);
    }
}
