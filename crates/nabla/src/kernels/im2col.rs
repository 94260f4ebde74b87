//! Patch matrices of 2-D convolutions: each output pixel's receptive field
//! as one column, so that a convolution is a matrix product (chapter 5 of
//! the course, "convolution as matrix multiplication").
//!
//! Two layouts of the same matrix:
//! - **plain** ([`im2col`], [`col2im`]): `[C kh kw, OH OW]`, one column per
//!   output pixel, each row gathered from `OH` short stretches of the image.
//! - **wide** ([`im2col_wide`], [`col2im_wide`]), for stride 1: the image is
//!   first copied into a zero-padded `[C, Hp, Wp]` buffer, and the output is
//!   computed `Wp` columns wide (`OW` real columns, then `Wp - OW` unused
//!   ones). Every row of the patch matrix is then one contiguous stretch of
//!   the padded image: `C kh kw` copies per image instead of `C kh kw OH`,
//!   for `Wp / OW` times the multiply-adds. On small images (LeNet's rows
//!   of 28 and 10 pixels) the number of copies, not the arithmetic, is
//!   what costs.
//!
//! All buffers are contiguous NCHW pieces of one image.

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

/// The zero-padded copy of an image `[C, H, W]` into `padded`, laid out
/// `[C, Hp, Wp]` (`Hp = H + 2 ph`, `Wp = W + 2 pw`) and followed by
/// [`ConvGeometry::padded_len`]'s tail of zeros, which the last rows of the
/// wide patch matrix read past the last channel.
pub(crate) fn pad_image<T: Float>(image: &[T], g: &ConvGeometry, padded: &mut [T]) {
    let (h, w) = g.input;
    let (hp, wp) = g.padded_input();
    let (ph, pw) = g.padding;
    padded.fill(T::zero());
    for c in 0..g.in_channels {
        for y in 0..h {
            let to = (c * hp + y + ph) * wp + pw;
            padded[to..to + w].copy_from_slice(&image[(c * h + y) * w..(c * h + y + 1) * w]);
        }
    }
}

/// The interior `[C, H, W]` of a padded image: the adjoint of
/// [`pad_image`], which drops what landed on the padding.
pub(crate) fn crop_image<T: Float>(padded: &[T], g: &ConvGeometry, image: &mut [T]) {
    let (h, w) = g.input;
    let (hp, wp) = g.padded_input();
    let (ph, pw) = g.padding;
    for c in 0..g.in_channels {
        for y in 0..h {
            let from = (c * hp + y + ph) * wp + pw;
            image[(c * h + y) * w..(c * h + y + 1) * w].copy_from_slice(&padded[from..from + w]);
        }
    }
}

/// The start in the padded image of row `(c, ki, kj)` of the wide patch
/// matrix, for every row in order.
fn wide_row_starts(g: &ConvGeometry) -> impl Iterator<Item = usize> + '_ {
    let (hp, wp) = g.padded_input();
    let (kh, kw) = g.kernel;
    let (dh, dw) = g.dilation;
    (0..g.in_channels).flat_map(move |c| {
        (0..kh).flat_map(move |ki| (0..kw).map(move |kj| c * hp * wp + ki * dh * wp + kj * dw))
    })
}

/// The wide patch matrix `[C kh kw, OH Wp]` of a padded image (stride 1):
/// row `(c, ki, kj)` is the stretch of `padded` that starts at channel `c`,
/// row `ki * dh`, column `kj * dw`.
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
/// `[rows, OH Wp]`, with zeros in the unused columns.
pub(crate) fn widen<T: Float>(src: &[T], rows: usize, g: &ConvGeometry, dst: &mut [T]) {
    let (oh, ow) = g.output;
    let wp = g.padded_input().1;
    dst.fill(T::zero());
    for r in 0..rows * oh {
        dst[r * wp..r * wp + ow].copy_from_slice(&src[r * ow..(r + 1) * ow]);
    }
}

/// Wide rows `[rows, OH Wp]` back to `[rows, OH OW]`, dropping the unused
/// columns.
pub(crate) fn narrow<T: Float>(src: &[T], rows: usize, g: &ConvGeometry, dst: &mut [T]) {
    let (oh, ow) = g.output;
    let wp = g.padded_input().1;
    for r in 0..rows * oh {
        dst[r * ow..(r + 1) * ow].copy_from_slice(&src[r * wp..r * wp + ow]);
    }
}
