//! 2-D convolution kernels on contiguous NCHW buffers: im2col / col2im and
//! the three products a convolution needs (forward, input gradient =
//! transposed convolution, weight gradient), each a GEMM per image, spread
//! over the batch with rayon.

use gemm::Parallelism;
use rayon::prelude::*;

use crate::element::Float;

/// The geometry of one 2-D convolution: sizes, and per axis stride,
/// zero padding and dilation (`(height, width)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ConvGeometry {
    pub batch: usize,
    /// Channels of the convolution's input (`C`).
    pub in_channels: usize,
    /// Channels of the convolution's output (`C'`).
    pub out_channels: usize,
    pub groups: usize,
    pub input: (usize, usize),
    pub kernel: (usize, usize),
    pub output: (usize, usize),
    pub stride: (usize, usize),
    pub padding: (usize, usize),
    pub dilation: (usize, usize),
}

impl ConvGeometry {
    fn input_len(&self) -> usize {
        self.input.0 * self.input.1
    }
    fn output_len(&self) -> usize {
        self.output.0 * self.output.1
    }
    /// Rows of one group's im2col matrix: `C/g * kh * kw`.
    fn patch_len(&self) -> usize {
        self.in_channels / self.groups * self.kernel.0 * self.kernel.1
    }
    /// A 1x1, stride-1, unpadded convolution reads the image as its own
    /// im2col matrix. The sizes must agree too: a transposed convolution
    /// with output padding has a larger image than its output.
    fn is_pointwise(&self) -> bool {
        self.kernel == (1, 1) && self.stride == (1, 1) && self.padding == (0, 0) && self.input == self.output
    }
}

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
fn im2col<T: Float>(image: &[T], g: &ConvGeometry, cols: &mut [T]) {
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
                        copy_row(&mut line[x0..x1], &src[first..first + (x1 - x0)]);
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

/// Copies `src` into `dst` (of the same length) in blocks of 8 elements.
/// im2col copies thousands of rows of a few dozen elements per image, and a
/// call to `memcpy` for each would cost more than the copying.
#[inline(always)]
fn copy_row<T: Copy>(dst: &mut [T], src: &[T]) {
    const BLOCK: usize = 8;
    let n = dst.len();
    if n < BLOCK {
        for (d, &v) in dst.iter_mut().zip(src) {
            *d = v;
        }
        return;
    }
    let copy_block = |d: &mut [T], s: &[T]| {
        let d: &mut [T; BLOCK] = d.try_into().expect("a block of 8");
        *d = s.try_into().expect("a block of 8");
    };
    for (d, s) in dst.chunks_exact_mut(BLOCK).zip(src.chunks_exact(BLOCK)) {
        copy_block(d, s);
    }
    // The last block overlaps the ones before it instead of a scalar tail.
    copy_block(&mut dst[n - BLOCK..], &src[n - BLOCK..n]);
}

/// The adjoint of [`im2col`]: adds every column entry onto the image pixel
/// it was read from (the caller zeroes `image` first).
fn col2im<T: Float>(cols: &[T], g: &ConvGeometry, image: &mut [T]) {
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

/// `dst (m x n) = [dst +] lhs (m x k) x rhs (k x n)`, all row-major with the
/// given row strides, or transposed when `lhs_t`/`rhs_t` (then the stride
/// is that of the stored matrix).
#[allow(clippy::too_many_arguments)]
fn gemm<T: Float>(
    dst: &mut [T],
    m: usize,
    n: usize,
    k: usize,
    lhs: &[T],
    lhs_stride: usize,
    lhs_t: bool,
    rhs: &[T],
    rhs_stride: usize,
    rhs_t: bool,
    accumulate: bool,
    parallelism: Parallelism,
) {
    let (lrs, lcs) = if lhs_t { (1, lhs_stride) } else { (lhs_stride, 1) };
    let (rrs, rcs) = if rhs_t { (1, rhs_stride) } else { (rhs_stride, 1) };
    if m == 0 || n == 0 {
        return;
    }
    // Checked in release builds too: they are what makes the call below
    // sound, and they cost nothing next to a matrix product.
    assert!(dst.len() >= m * n, "conv gemm: destination too short");
    assert!(
        k == 0 || (m - 1) * lrs + (k - 1) * lcs < lhs.len(),
        "conv gemm: left operand too short"
    );
    assert!(
        k == 0 || (k - 1) * rrs + (n - 1) * rcs < rhs.len(),
        "conv gemm: right operand too short"
    );
    if k == 0 {
        if !accumulate {
            dst[..m * n].fill(T::zero());
        }
        return;
    }
    // SAFETY: the assertions above keep every element gemm reads or writes
    // inside the three slices, which outlive the call.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.as_ptr(),
            lcs as isize,
            lrs as isize,
            rhs.as_ptr(),
            rcs as isize,
            rrs as isize,
            T::one(),
            T::one(),
            false,
            false,
            false,
            parallelism,
        )
    }
}

/// Threads inside each GEMM when the batch is too small to spread over.
fn inner_parallelism(batch: usize) -> Parallelism {
    let threads = rayon::current_num_threads();
    if batch < threads && threads > 1 {
        Parallelism::Rayon(threads)
    } else {
        Parallelism::None
    }
}

/// Runs `f(first_image, share, scratch)` over shares of consecutive
/// images of `out` (`per_image` elements each), in parallel, with one
/// `scratch` buffer of `scratch_len` zeros per share rather than per image
/// or per rayon task. A few shares per thread balance the load when a
/// thread is slowed down.
fn for_each_share<T: Float>(
    out: &mut [T],
    per_image: usize,
    batch: usize,
    scratch_len: usize,
    f: impl Fn(usize, &mut [T], &mut [T]) + Sync + Send,
) {
    let images_per_share = batch.div_ceil(4 * rayon::current_num_threads()).max(1);
    out.par_chunks_mut(images_per_share * per_image)
        .enumerate()
        .for_each(|(share, out)| {
            let mut scratch = vec![T::zero(); scratch_len];
            f(share * images_per_share, out, &mut scratch);
        });
}

/// Convolution forward: `out [N, C', OH, OW] = conv(x [N, C, H, W], w [C', C/g, kh, kw])`.
pub(crate) fn conv2d_forward<T: Float>(x: &[T], w: &[T], g: &ConvGeometry) -> Vec<T> {
    let (cin, cout) = (g.in_channels / g.groups, g.out_channels / g.groups);
    let (k, p) = (g.patch_len(), g.output_len());
    let image_len = g.in_channels * g.input_len();
    let mut out = vec![T::zero(); g.batch * g.out_channels * p];
    if out.is_empty() {
        return out;
    }
    let parallelism = inner_parallelism(g.batch);
    let pointwise = g.is_pointwise();
    let scratch_len = if pointwise { 0 } else { g.groups * k * p };
    let out_len = g.out_channels * p;
    for_each_share(&mut out, out_len, g.batch, scratch_len, |first, share, cols| {
        for (i, out_n) in share.chunks_mut(out_len).enumerate() {
            let n = first + i;
            let image = &x[n * image_len..(n + 1) * image_len];
            let cols: &[T] = if pointwise {
                image
            } else {
                im2col(image, g, cols);
                cols
            };
            for group in 0..g.groups {
                gemm(
                    &mut out_n[group * cout * p..(group + 1) * cout * p],
                    cout,
                    p,
                    k,
                    &w[group * cout * k..],
                    k,
                    false,
                    &cols[group * k * p..],
                    p,
                    false,
                    false,
                    parallelism,
                );
            }
        }
    });
    debug_assert_eq!(cin * g.kernel.0 * g.kernel.1, k);
    out
}

/// Transposed convolution, the adjoint of [`conv2d_forward`] in `x`:
/// `dx [N, C, H, W]` from `dy [N, C', OH, OW]` and `w [C', C/g, kh, kw]`.
pub(crate) fn conv2d_input_grad<T: Float>(dy: &[T], w: &[T], g: &ConvGeometry) -> Vec<T> {
    let cout = g.out_channels / g.groups;
    let (k, p) = (g.patch_len(), g.output_len());
    let image_len = g.in_channels * g.input_len();
    let mut dx = vec![T::zero(); g.batch * image_len];
    if dx.is_empty() {
        return dx;
    }
    let parallelism = inner_parallelism(g.batch);
    let pointwise = g.is_pointwise();
    let scratch_len = if pointwise { 0 } else { g.groups * k * p };
    for_each_share(&mut dx, image_len, g.batch, scratch_len, |first, share, cols| {
        for (i, dx_n) in share.chunks_mut(image_len).enumerate() {
            let n = first + i;
            let dy_n = &dy[n * g.out_channels * p..(n + 1) * g.out_channels * p];
            for group in 0..g.groups {
                // cols_g (k x p) = w_g^T (k x cout) dy_g (cout x p)
                let target = if pointwise {
                    &mut dx_n[group * k * p..(group + 1) * k * p]
                } else {
                    &mut cols[group * k * p..(group + 1) * k * p]
                };
                gemm(
                    target,
                    k,
                    p,
                    cout,
                    &w[group * cout * k..],
                    k,
                    true,
                    &dy_n[group * cout * p..],
                    p,
                    false,
                    false,
                    parallelism,
                );
            }
            if !pointwise {
                col2im(cols, g, dx_n);
            }
        }
    });
    dx
}

/// The weight gradient `dw [C', C/g, kh, kw] = sum_n dy_n x cols_n^T`, from
/// `x [N, C, H, W]` and `dy [N, C', OH, OW]`.
pub(crate) fn conv2d_weight_grad<T: Float>(x: &[T], dy: &[T], g: &ConvGeometry) -> Vec<T> {
    let cout = g.out_channels / g.groups;
    let (k, p) = (g.patch_len(), g.output_len());
    let image_len = g.in_channels * g.input_len();
    let weight_len = g.out_channels * k;
    if weight_len == 0 {
        return Vec::new();
    }
    let parallelism = inner_parallelism(g.batch);
    let pointwise = g.is_pointwise();
    // `gemm` multiplies by a transposed right operand (cols^T) at a third
    // of its speed once patches are long, so for those the product is
    // turned around: dw_g^T (k x cout) += cols_g (k x p) dy_g^T (p x cout),
    // with dy transposed per image (a small copy) and dw once at the end.
    // Measured with `gemm` 0.19 on AVX-512: 64x576x1024 runs at 107 instead
    // of 30 GFLOP/s, LeNet's 16x150x100 at 104 instead of 53, while
    // LeNet's 6x25x784 is faster the direct way (96 against 26).
    let turned = k >= 64;
    // Each worker accumulates a partial gradient over its share of the
    // batch; the partials are summed at the end.
    let chunk = g.batch.div_ceil(rayon::current_num_threads()).max(1);
    let partials: Vec<Vec<T>> = (0..g.batch)
        .collect::<Vec<_>>()
        .par_chunks(chunk)
        .map(|images| {
            let mut dw = vec![T::zero(); weight_len];
            let mut cols = if pointwise {
                Vec::new()
            } else {
                vec![T::zero(); g.groups * k * p]
            };
            let mut dy_t = if turned {
                vec![T::zero(); p * g.out_channels]
            } else {
                Vec::new()
            };
            for &n in images {
                let image = &x[n * image_len..(n + 1) * image_len];
                let cols: &[T] = if pointwise {
                    image
                } else {
                    im2col(image, g, &mut cols);
                    &cols
                };
                let dy_n = &dy[n * g.out_channels * p..(n + 1) * g.out_channels * p];
                if turned {
                    transpose(dy_n, g.out_channels, p, &mut dy_t);
                }
                for group in 0..g.groups {
                    let dw_g = &mut dw[group * cout * k..(group + 1) * cout * k];
                    let cols_g = &cols[group * k * p..];
                    if turned {
                        let dy_t_g = &dy_t[group * cout..];
                        gemm(
                            dw_g,
                            k,
                            cout,
                            p,
                            cols_g,
                            p,
                            false,
                            dy_t_g,
                            g.out_channels,
                            false,
                            true,
                            parallelism,
                        );
                    } else {
                        // dw_g (cout x k) += dy_g (cout x p) cols_g^T (p x k)
                        let dy_g = &dy_n[group * cout * p..];
                        gemm(
                            dw_g,
                            cout,
                            k,
                            p,
                            dy_g,
                            p,
                            false,
                            cols_g,
                            p,
                            true,
                            true,
                            parallelism,
                        );
                    }
                }
            }
            dw
        })
        .collect();
    let mut total = vec![T::zero(); weight_len];
    for partial in partials {
        total.iter_mut().zip(partial).for_each(|(t, v)| *t = *t + v);
    }
    if turned {
        let summed = total.clone();
        for (dw_g, dw_g_t) in total.chunks_mut(cout * k).zip(summed.chunks(cout * k)) {
            transpose(dw_g_t, k, cout, dw_g);
        }
    }
    total
}

/// Writes the transpose of the row-major `rows x cols` matrix `src` into
/// `dst` (`cols x rows`), in square tiles so both sides stay in cache.
fn transpose<T: Copy>(src: &[T], rows: usize, cols: usize, dst: &mut [T]) {
    const TILE: usize = 16;
    assert!(src.len() >= rows * cols && dst.len() >= rows * cols);
    for r0 in (0..rows).step_by(TILE) {
        for c0 in (0..cols).step_by(TILE) {
            for r in r0..(r0 + TILE).min(rows) {
                for c in c0..(c0 + TILE).min(cols) {
                    dst[c * rows + r] = src[r * cols + c];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Direct seven-loop convolution, the reference for the GEMM path.
    fn naive(x: &[f64], w: &[f64], g: &ConvGeometry) -> Vec<f64> {
        let (cin, cout) = (g.in_channels / g.groups, g.out_channels / g.groups);
        let mut out = vec![0.0; g.batch * g.out_channels * g.output_len()];
        for n in 0..g.batch {
            for co in 0..g.out_channels {
                let group = co / cout;
                for oy in 0..g.output.0 {
                    for ox in 0..g.output.1 {
                        let mut acc = 0.0;
                        for ci in 0..cin {
                            let c = group * cin + ci;
                            for ki in 0..g.kernel.0 {
                                for kj in 0..g.kernel.1 {
                                    let iy =
                                        (oy * g.stride.0 + ki * g.dilation.0) as isize - g.padding.0 as isize;
                                    let ix =
                                        (ox * g.stride.1 + kj * g.dilation.1) as isize - g.padding.1 as isize;
                                    if iy >= 0
                                        && ix >= 0
                                        && (iy as usize) < g.input.0
                                        && (ix as usize) < g.input.1
                                    {
                                        let xv = x[((n * g.in_channels + c) * g.input.0 + iy as usize)
                                            * g.input.1
                                            + ix as usize];
                                        let wv = w[((co * cin + ci) * g.kernel.0 + ki) * g.kernel.1 + kj];
                                        acc += xv * wv;
                                    }
                                }
                            }
                        }
                        out[((n * g.out_channels + co) * g.output.0 + oy) * g.output.1 + ox] = acc;
                    }
                }
            }
        }
        out
    }

    /// The weight gradient by its definition: dw = sum over images and
    /// output pixels of dy times the input tap.
    fn naive_weight_grad(x: &[f64], dy: &[f64], g: &ConvGeometry) -> Vec<f64> {
        let (cin, cout) = (g.in_channels / g.groups, g.out_channels / g.groups);
        let (kh, kw) = g.kernel;
        let mut dw = vec![0.0; g.out_channels * cin * kh * kw];
        for n in 0..g.batch {
            for co in 0..g.out_channels {
                for ci in 0..cin {
                    let c = co / cout * cin + ci;
                    for (ki, kj) in (0..kh).flat_map(|i| (0..kw).map(move |j| (i, j))) {
                        let mut acc = 0.0;
                        for oy in 0..g.output.0 {
                            for ox in 0..g.output.1 {
                                let iy =
                                    (oy * g.stride.0 + ki * g.dilation.0) as isize - g.padding.0 as isize;
                                let ix =
                                    (ox * g.stride.1 + kj * g.dilation.1) as isize - g.padding.1 as isize;
                                if iy < 0 || ix < 0 || iy as usize >= g.input.0 || ix as usize >= g.input.1 {
                                    continue;
                                }
                                let xv = x[((n * g.in_channels + c) * g.input.0 + iy as usize) * g.input.1
                                    + ix as usize];
                                acc +=
                                    xv * dy[((n * g.out_channels + co) * g.output.0 + oy) * g.output.1 + ox];
                            }
                        }
                        dw[((co * cin + ci) * kh + ki) * kw + kj] += acc;
                    }
                }
            }
        }
        dw
    }

    #[test]
    fn weight_grad_matches_its_definition_for_short_and_long_patches() {
        // Patches of 2 * 3 * 2 = 12 (multiplied directly) and 8 * 3 * 3 = 72
        // (the turned-around product), both with groups.
        for (channels, kernel) in [(4, (3, 2)), (16, (3, 3))] {
            let g = ConvGeometry {
                batch: 3,
                in_channels: channels,
                out_channels: 6,
                groups: 2,
                input: (7, 6),
                kernel,
                output: (
                    (7 + 2 - (kernel.0 - 1) - 1) / 2 + 1,
                    (6 - 2 * (kernel.1 - 1) - 1) + 1,
                ),
                stride: (2, 1),
                padding: (1, 0),
                dilation: (1, 2),
            };
            let x: Vec<f64> = (0..3 * channels * 42)
                .map(|i| ((i * 37 % 101) as f64) / 50.0 - 1.0)
                .collect();
            let dy: Vec<f64> = (0..3 * 6 * g.output_len())
                .map(|i| ((i * 13 % 29) as f64) / 14.0 - 1.0)
                .collect();
            let fast = conv2d_weight_grad(&x, &dy, &g);
            let slow = naive_weight_grad(&x, &dy, &g);
            assert_eq!(fast.len(), slow.len());
            for (a, b) in fast.iter().zip(&slow) {
                assert!((a - b).abs() < 1e-12, "{a} vs {b} (kernel {kernel:?})");
            }
        }
    }

    #[test]
    fn gemm_path_matches_the_direct_loops() {
        let g = ConvGeometry {
            batch: 3,
            in_channels: 4,
            out_channels: 6,
            groups: 2,
            input: (7, 6),
            kernel: (3, 2),
            output: (3, 4),
            stride: (2, 1),
            padding: (1, 0),
            dilation: (1, 2),
        };
        // Output size by formula: (7 + 2 - 1*(3-1) - 1)/2 + 1 = 3, (6 - 2*(2-1) - 1)/1 + 1 = 4.
        let x: Vec<f64> = (0..3 * 4 * 42)
            .map(|i| ((i * 37 % 101) as f64) / 50.0 - 1.0)
            .collect();
        let w: Vec<f64> = (0..6 * 2 * 6)
            .map(|i| ((i * 13 % 29) as f64) / 14.0 - 1.0)
            .collect();
        let fast = conv2d_forward(&x, &w, &g);
        let slow = naive(&x, &w, &g);
        for (a, b) in fast.iter().zip(&slow) {
            assert!((a - b).abs() < 1e-12);
        }
    }
}
