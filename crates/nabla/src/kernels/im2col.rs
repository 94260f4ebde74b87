//! Patch matrices of 2-D convolutions: each output pixel's receptive field
//! as one column, so that a convolution is a matrix product (chapter 5 of
//! the course, "convolution as matrix multiplication").
//!
//! Two layouts of the same matrix:
//! - **plain** ([`im2col`], [`col2im`]): `[C kh kw, OH OW]`, one column per
//!   output pixel, each row gathered from `OH` short stretches of the image.
//! - **wide** ([`im2col_wide`], [`col2im_wide`]): the image is first
//!   copied into a zero-padded buffer laid out by stride phases,
//!   `[C, sh, sw, Hq, Wq]`: phase `(a, b)` of channel `c` holds the padded
//!   pixels whose row leaves `a` and whose column leaves `b` divided by the
//!   stride (at stride 1, the one phase is the padded image `[C, Hp, Wp]`).
//!   Output pixel `(y, x)` reads tap `(ki, kj)` at padded `(y sh + ki dh,
//!   x sw + kj dw)`, which is phase `(ki dh % sh, kj dw % sw)` at `(y + ki dh
//!   / sh, x + kj dw / sw)`: a stride-1 read. The output is computed `Wq`
//!   columns wide (`OW` real columns, then `Wq - OW` unused ones), so every
//!   row of the patch matrix is one contiguous stretch of one phase: `C kh
//!   kw` copies per image instead of `C kh kw OH`, for `Wq / OW` times the
//!   multiply-adds. On small images (LeNet's rows of 28 and 10 pixels, a
//!   GAN's strided 4x4 kernels over rows of 14 and 7) the number of copies,
//!   not the arithmetic, is what costs.
//!
//! All buffers are contiguous NCHW pieces of one image.

use std::mem::MaybeUninit;

use smallvec::SmallVec;

use super::elementwise::{assume_init_mut, write_copy};
use crate::backend::ops::ConvGeometry;
use crate::element::Float;

/// The output columns `x0..x1` whose input column `x * stride + offset`
/// falls inside `0..width`; the others read padding.
fn valid_columns(offset: isize, stride: usize, width: usize, out_width: usize) -> (usize, usize) {
    let s = stride as isize;
    // First x with x * s + offset >= 0, and first x with x * s + offset >= width.
    let first = if offset >= 0 { 0 } else { (-offset + s - 1) / s };
    let end = if width as isize <= offset {
        0
    } else {
        (width as isize - offset + s - 1) / s
    };
    let x0 = (first as usize).min(out_width);
    (x0, (end as usize).clamp(x0, out_width))
}

/// Unfolds one image `[C, H, W]` into `cols` `[C * kh * kw, OH * OW]`:
/// column `p` holds the receptive field of output pixel `p`, zeros where it
/// overlaps the padding.
pub(crate) fn im2col<T: Float>(image: &[T], g: &ConvGeometry, cols: &mut [T]) {
    let (h, w) = g.input;
    let (kh, kw) = g.kernel;
    let (oh, ow) = g.output;
    let mut row = 0;
    for c in 0..g.in_channels {
        let plane = &image[c * h * w..(c + 1) * h * w];
        for ki in 0..kh {
            for kj in 0..kw {
                let out = &mut cols[row * oh * ow..(row + 1) * oh * ow];
                let offset = (kj * g.dilation.1) as isize - g.padding.1 as isize;
                let (x0, x1) = valid_columns(offset, g.stride.1, w, ow);
                for y in 0..oh {
                    let iy = (y * g.stride.0 + ki * g.dilation.0) as isize - g.padding.0 as isize;
                    let line = &mut out[y * ow..(y + 1) * ow];
                    if iy < 0 || iy >= h as isize || x0 == x1 {
                        line.fill(T::zero());
                        continue;
                    }
                    let src = &plane[iy as usize * w..(iy as usize + 1) * w];
                    line[..x0].fill(T::zero());
                    line[x1..].fill(T::zero());
                    let first = ((x0 * g.stride.1) as isize + offset) as usize;
                    if g.stride.1 == 1 {
                        line[x0..x1].copy_from_slice(&src[first..first + (x1 - x0)]);
                    } else {
                        let taps = src[first..].iter().step_by(g.stride.1);
                        for (v, &x) in line[x0..x1].iter_mut().zip(taps) {
                            *v = x;
                        }
                    }
                }
                row += 1;
            }
        }
    }
}

/// The adjoint of [`im2col`]: adds every column entry onto the image pixel
/// it was read from (the caller zeroes `image` first).
pub(crate) fn col2im<T: Float>(cols: &[T], g: &ConvGeometry, image: &mut [T]) {
    let (h, w) = g.input;
    let (kh, kw) = g.kernel;
    let (oh, ow) = g.output;
    let mut row = 0;
    for c in 0..g.in_channels {
        let plane = &mut image[c * h * w..(c + 1) * h * w];
        for ki in 0..kh {
            for kj in 0..kw {
                let src = &cols[row * oh * ow..(row + 1) * oh * ow];
                let offset = (kj * g.dilation.1) as isize - g.padding.1 as isize;
                let (x0, x1) = valid_columns(offset, g.stride.1, w, ow);
                for y in 0..oh {
                    let iy = (y * g.stride.0 + ki * g.dilation.0) as isize - g.padding.0 as isize;
                    if iy < 0 || iy >= h as isize || x0 == x1 {
                        continue;
                    }
                    let line = &mut plane[iy as usize * w..(iy as usize + 1) * w];
                    let first = ((x0 * g.stride.1) as isize + offset) as usize;
                    let src = &src[y * ow + x0..y * ow + x1];
                    if g.stride.1 == 1 {
                        for (dst, &v) in line[first..first + src.len()].iter_mut().zip(src) {
                            *dst = *dst + v;
                        }
                    } else {
                        for (dst, &v) in line[first..].iter_mut().step_by(g.stride.1).zip(src) {
                            *dst = *dst + v;
                        }
                    }
                }
                row += 1;
            }
        }
    }
}

/// Where the pixels of an image `[C, H, W]` go in the padded layout by
/// stride phases: for every image row and column phase, `f(first, to,
/// count)` says that the image elements `first, first + sw, ...` (`count`
/// of them) are the padded elements `to..to + count`.
fn phase_runs(g: &ConvGeometry, mut f: impl FnMut(usize, usize, usize)) {
    let (h, w) = g.input;
    let (hq, wq) = g.phase_plane();
    let (sh, sw) = g.stride;
    let (ph, pw) = g.padding;
    // Per column phase b: the first image column whose padded column leaves
    // b, its offset in the phase's rows, and how many columns fall in it.
    // Worked out once: divisions per run cost more than a run of 7 copies.
    let columns: SmallVec<[(usize, usize, usize); 4]> = (0..sw)
        .filter_map(|b| {
            let x0 = (b + sw - pw % sw) % sw;
            (x0 < w).then(|| (x0, b * hq * wq + (x0 + pw) / sw, (w - x0).div_ceil(sw)))
        })
        .collect();
    for c in 0..g.in_channels {
        for y in 0..h {
            let py = y + ph;
            let row = (c * sh + py % sh) * sw * hq * wq + py / sh * wq;
            for &(x0, offset, count) in &columns {
                f((c * h + y) * w + x0, row + offset, count);
            }
        }
    }
}

/// The zero-padded copy of an image `[C, H, W]` into `padded`, laid out by
/// stride phases `[C, sh, sw, Hq, Wq]` (`[C, Hp, Wp]` at stride 1, with
/// `Hp = H + 2 ph`, `Wp = W + 2 pw`) and followed by
/// [`ConvGeometry::padded_len`]'s tail of zeros, which the last rows of the
/// wide patch matrix read past the last phase.
pub(crate) fn pad_image<T: Float>(image: &[T], g: &ConvGeometry, padded: &mut [T]) {
    padded.fill(T::zero());
    let sw = g.stride.1;
    phase_runs(g, |first, to, count| {
        let run = &mut padded[to..to + count];
        if sw == 1 {
            run.copy_from_slice(&image[first..first + count]);
        } else {
            for (p, &v) in run.iter_mut().zip(image[first..].iter().step_by(sw)) {
                *p = v;
            }
        }
    });
}

/// The interior `[C, H, W]` of a padded image: the adjoint of
/// [`pad_image`], which drops what landed on the padding.
pub(crate) fn crop_image<T: Float>(padded: &[T], g: &ConvGeometry, image: &mut [T]) {
    let sw = g.stride.1;
    phase_runs(g, |first, from, count| {
        let run = &padded[from..from + count];
        if sw == 1 {
            image[first..first + count].copy_from_slice(run);
        } else {
            for (v, &p) in image[first..].iter_mut().step_by(sw).zip(run) {
                *v = p;
            }
        }
    });
}

/// The start in the padded layout of row `(c, ki, kj)` of the wide patch
/// matrix, for every row in order: phase `(ki dh % sh, kj dw % sw)` of
/// channel `c`, at row `ki dh / sh` and column `kj dw / sw` of it.
fn wide_row_starts(g: &ConvGeometry) -> impl Iterator<Item = usize> + '_ {
    let (hq, wq) = g.phase_plane();
    let (sh, sw) = g.stride;
    let (kh, kw) = g.kernel;
    let (dh, dw) = g.dilation;
    (0..g.in_channels).flat_map(move |c| {
        (0..kh).flat_map(move |ki| {
            (0..kw).map(move |kj| {
                let (row, column) = (ki * dh, kj * dw);
                ((c * sh + row % sh) * sw + column % sw) * hq * wq + row / sh * wq + column / sw
            })
        })
    })
}

/// The wide patch matrix `[C kh kw, OH Wq]` of a padded image: row
/// `(c, ki, kj)` is the stretch of `padded` that starts where
/// `wide_row_starts` says.
pub(crate) fn im2col_wide<T: Float>(padded: &[T], g: &ConvGeometry, cols: &mut [T]) {
    let n = g.patch_columns();
    for (row, start) in cols.chunks_exact_mut(n).zip(wide_row_starts(g)) {
        row.copy_from_slice(&padded[start..start + n]);
    }
}

/// The adjoint of [`im2col_wide`]: adds every row of `cols` onto the
/// stretch of the padded image it was read from (the caller zeroes it).
pub(crate) fn col2im_wide<T: Float>(cols: &[T], g: &ConvGeometry, padded: &mut [T]) {
    let n = g.patch_columns();
    for (row, start) in cols.chunks_exact(n).zip(wide_row_starts(g)) {
        for (p, &v) in padded[start..start + n].iter_mut().zip(row) {
            *p = *p + v;
        }
    }
}

/// Rows of `OH x OW` pixels (`[rows, OH OW]`) spread to the wide layout
/// `[rows, OH Wq]`, with zeros in the unused columns.
pub(crate) fn widen<T: Float>(src: &[T], rows: usize, g: &ConvGeometry, dst: &mut [T]) {
    let (oh, ow) = g.output;
    let wq = g.phase_plane().1;
    dst.fill(T::zero());
    for r in 0..rows * oh {
        dst[r * wq..r * wq + ow].copy_from_slice(&src[r * ow..(r + 1) * ow]);
    }
}

/// Wide rows `[rows, OH Wq]` back to `[rows, OH OW]`, dropping the unused
/// columns, into `dst` (which need not hold values yet); returns `dst`,
/// initialised.
///
/// # Panics
/// If `dst` does not have `rows OH OW` elements.
pub(crate) fn narrow<'a, T: Float>(
    src: &[T],
    rows: usize,
    g: &ConvGeometry,
    dst: &'a mut [MaybeUninit<T>],
) -> &'a mut [T] {
    let (oh, ow) = g.output;
    let wq = g.phase_plane().1;
    assert_eq!(
        dst.len(),
        rows * oh * ow,
        "narrow: destination of {} elements",
        dst.len()
    );
    for r in 0..rows * oh {
        write_copy(&mut dst[r * ow..(r + 1) * ow], &src[r * wq..r * wq + ow]);
    }
    // SAFETY: the rows above cover all `rows OH OW` elements.
    unsafe { assume_init_mut(dst) }
}
