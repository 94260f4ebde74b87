//! 2-D convolution kernels on contiguous NCHW buffers: the three products a
//! convolution needs (forward, input gradient = transposed convolution,
//! weight gradient), each a GEMM per image on the image's patch matrix
//! (see [`super::im2col`]), spread over the batch with rayon.

use std::mem::MaybeUninit;

use gemm::Parallelism;
use rayon::prelude::*;

use super::batch_norm::ChannelMap;
use super::depthwise::{
    depthwise_forward, depthwise_input_grad, depthwise_weight_grad, few_channels_forward,
};
use super::elementwise::{assume_init_mut, written_whole, zeroed};
use super::im2col::{col2im, col2im_wide, crop_image, im2col, im2col_wide, narrow, pad_image, widen};
use super::matmul::{gemm_into, gemm_overwrite, Mat, MatMut};
use crate::backend::ops::ConvGeometry;
use crate::element::Float;

/// How an image's patch matrix is laid out (see [`super::im2col`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PatchLayout {
    /// 1x1, stride 1, no padding: the image is its own patch matrix.
    Pointwise,
    /// `[C kh kw, OH OW]`, gathered row by row.
    Plain,
    /// `[C kh kw, OH Wq]`, one stretch of a stride phase of the padded
    /// image per row.
    Wide,
    /// No patch matrix: one product per kernel tap, reading the padded
    /// image through a shifted `[C, OH Wp]` view (stride 1, many channels).
    Taps,
}

impl ConvGeometry {
    fn input_len(&self) -> usize {
        self.input.0 * self.input.1
    }
    fn output_len(&self) -> usize {
        self.output.0 * self.output.1
    }
    /// Rows of one group's patch matrix: `C/g * kh * kw`.
    fn patch_len(&self) -> usize {
        self.in_channels / self.groups * self.kernel.0 * self.kernel.1
    }
    /// The patch layout for this geometry.
    ///
    /// A 1x1, stride-1, unpadded convolution reads the image as its own
    /// patch matrix (the sizes must agree too: a transposed convolution with
    /// output padding has a larger image than its output). Other
    /// convolutions compute `Wq` columns wide (the width of a stride phase
    /// of the padded image) unless the unused columns would outnumber the
    /// real ones. At stride 1 with many input channels per group, one
    /// product per tap on views of the padded image (no copies) keeps each
    /// product's inner dimension large enough for the GEMM; with few
    /// (LeNet's 1 and 6) a patch matrix does. A strided convolution's
    /// outputs are few (a GAN's 7x7), and 16 products of 56 columns each
    /// were slower than one patch matrix (DCGAN's step: 365 against 426
    /// samples/s on one thread).
    pub(crate) fn patch_layout(&self) -> PatchLayout {
        let stride_one = self.stride == (1, 1);
        if self.kernel == (1, 1) && stride_one && self.padding == (0, 0) && self.input == self.output {
            PatchLayout::Pointwise
        } else if self.phase_plane().1 <= 2 * self.output.1 {
            if stride_one && self.in_channels / self.groups >= 32 {
                PatchLayout::Taps
            } else {
                PatchLayout::Wide
            }
        } else {
            PatchLayout::Plain
        }
    }
    /// `(Hp, Wp)`: the input's size with its zero padding.
    pub(crate) fn padded_input(&self) -> (usize, usize) {
        (
            self.input.0 + 2 * self.padding.0,
            self.input.1 + 2 * self.padding.1,
        )
    }
    /// `(Hq, Wq)`: the size of one stride phase of the padded input (the
    /// pixels whose padded row and column leave the same remainders by the
    /// stride): `(ceil(Hp / sh), ceil(Wp / sw))`, the padded input itself
    /// at stride 1.
    pub(crate) fn phase_plane(&self) -> (usize, usize) {
        let (hp, wp) = self.padded_input();
        (hp.div_ceil(self.stride.0), wp.div_ceil(self.stride.1))
    }
    /// Elements of a padded image laid out by stride phases: `C sh sw Hq
    /// Wq` (`C Hp Wp` at stride 1), plus the `(kw - 1) dw / sw` that the
    /// last rows of the wide layout read beyond the last phase.
    fn padded_len(&self) -> usize {
        let (hq, wq) = self.phase_plane();
        self.in_channels * self.stride.0 * self.stride.1 * hq * wq
            + (self.kernel.1 - 1) * self.dilation.1 / self.stride.1
    }
    /// Columns of the patch matrix and of the products: `OH OW`, or
    /// `OH Wq` in the wide and tap layouts.
    pub(crate) fn patch_columns(&self) -> usize {
        match self.patch_layout() {
            PatchLayout::Wide | PatchLayout::Taps => self.output.0 * self.phase_plane().1,
            PatchLayout::Pointwise | PatchLayout::Plain => self.output_len(),
        }
    }
    /// The kernel taps `(index in kh kw, offset in the padded image)`.
    fn taps(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        let wp = self.padded_input().1;
        let (kh, kw) = self.kernel;
        (0..kh * kw).map(move |t| (t, (t / kw) * self.dilation.0 * wp + (t % kw) * self.dilation.1))
    }
    fn computes_wide(&self) -> bool {
        matches!(self.patch_layout(), PatchLayout::Wide | PatchLayout::Taps)
    }
}

/// Per-thread buffers for one share of the batch: the padded image, the
/// patch matrix, one `[C', columns]` matrix in the wide layout, and its
/// transpose.
struct Scratch<T> {
    padded: Vec<T>,
    cols: Vec<T>,
    wide: Vec<T>,
    wide_t: Vec<T>,
}

impl<T: Float> Scratch<T> {
    fn new(g: &ConvGeometry, transposed: bool) -> Self {
        let layout = g.patch_layout();
        let columns = g.patch_columns();
        let sized = |n: usize, needed: bool| if needed { vec![T::zero(); n] } else { Vec::new() };
        let patches = matches!(layout, PatchLayout::Plain | PatchLayout::Wide);
        Scratch {
            padded: sized(g.padded_len(), g.computes_wide()),
            cols: sized(g.groups * g.patch_len() * columns, patches),
            wide: sized(g.out_channels * columns, g.computes_wide()),
            wide_t: sized(g.out_channels * columns, transposed),
        }
    }

    /// The patch matrix of `image` (the image itself when pointwise); in
    /// the tap layout, the padded image.
    fn patches<'a>(&'a mut self, image: &'a [T], g: &ConvGeometry) -> &'a [T] {
        match g.patch_layout() {
            PatchLayout::Pointwise => image,
            PatchLayout::Plain => {
                im2col(image, g, &mut self.cols);
                &self.cols
            }
            PatchLayout::Wide => {
                pad_image(image, g, &mut self.padded);
                im2col_wide(&self.padded, g, &mut self.cols);
                &self.cols
            }
            PatchLayout::Taps => {
                pad_image(image, g, &mut self.padded);
                &self.padded
            }
        }
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
/// [`Scratch`] per share rather than per image or per rayon task. A few
/// shares per thread balance the load when a thread is slowed down.
fn for_each_share<T: Float, E: Send>(
    out: &mut [E],
    per_image: usize,
    g: &ConvGeometry,
    f: impl Fn(usize, &mut [E], &mut Scratch<T>) + Sync + Send,
) {
    let images_per_share = g.batch.div_ceil(4 * rayon::current_num_threads()).max(1);
    out.par_chunks_mut(images_per_share * per_image)
        .enumerate()
        .for_each(|(share, out)| f(share * images_per_share, out, &mut Scratch::new(g, false)));
}

/// What a convolution's forward pass does to each output channel while
/// its values are in cache: add the bias, then, for evaluation-mode
/// BatchNorm after the convolution, `clamp((v - center) scale + shift)`.
#[derive(Clone, Copy)]
pub(crate) struct ConvEpilogue<'a, T> {
    /// `[C']`.
    pub bias: Option<&'a [T]>,
    /// Evaluation-mode BatchNorm and its clamp.
    pub normalize: Option<ChannelNormalize<'a, T>>,
}

/// `[center, scale, shift]`, `[C']` each, and the clamp `(min, max)`.
pub(crate) type ChannelNormalize<'a, T> = ([&'a [T]; 3], Option<(T, T)>);

impl<'a, T: Float> ConvEpilogue<'a, T> {
    /// The bias alone (if any).
    pub(crate) fn bias(bias: Option<&'a [T]>) -> Self {
        ConvEpilogue {
            bias,
            normalize: None,
        }
    }

    /// The whole epilogue on the values of output channel `c`.
    fn apply(&self, c: usize, channel: &mut [T]) {
        channel_epilogue(self.bias.map(|b| b[c]), self.channel_map(c), channel);
    }

    /// The normalisation and clamp of output channel `c`.
    pub(crate) fn channel_map(&self, c: usize) -> Option<ChannelMap<T>> {
        self.normalize.map(|([center, scale, shift], clamp)| ChannelMap {
            center: center[c],
            scale: scale[c],
            shift: shift[c],
            clamp,
        })
    }
}

dispatch_simd!(
    channel_epilogue,
    channel_epilogue_body,
    (bias: Option<T>, map: Option<ChannelMap<T>>, channel: &mut [T])
);

/// One output channel's bias, then its map.
#[inline(always)]
fn channel_epilogue_body<T: Float>(bias: Option<T>, map: Option<ChannelMap<T>>, channel: &mut [T]) {
    if let Some(b) = bias {
        channel.iter_mut().for_each(|v| *v = *v + b);
    }
    if let Some(map) = map {
        map.apply(channel);
    }
}

/// Convolution forward: `out [N, C', OH, OW] = conv(x [N, C, H, W], w [C', C/g, kh, kw])`,
/// then the epilogue on every pixel of each output channel.
pub(crate) fn conv2d_forward<T: Float>(
    x: &[T],
    w: &[T],
    epilogue: ConvEpilogue<'_, T>,
    g: &ConvGeometry,
) -> Vec<T> {
    if g.is_depthwise() {
        return depthwise_forward(x, w, epilogue, g);
    }
    let parallelism = inner_parallelism(g.batch);
    // With images fewer than threads, the layouts below build each image's
    // patch matrix on one thread; the direct sums spread over the output
    // channels. With an image per thread, the GEMM's fused multiply-adds
    // win: 3 -> 64 channels, 3x3, 224x224, batch 32: 134-140 ms against
    // 161-166 ms; batch 1: 3.8 ms against 2.3-2.5 ms (2 threads).
    if g.has_few_input_channels() && !matches!(parallelism, Parallelism::None) {
        return few_channels_forward(x, w, epilogue, g);
    }
    let image_len = g.in_channels * g.input_len();
    let out_len = g.out_channels * g.output_len();
    if g.batch * out_len == 0 {
        return Vec::new();
    }
    let layout = g.patch_layout();
    let write = |out: &mut [MaybeUninit<T>]| {
        for_each_share(out, out_len, g, |first, share, scratch| {
            for (i, out_n) in share.chunks_mut(out_len).enumerate() {
                let image = &x[(first + i) * image_len..(first + i + 1) * image_len];
                let out_n = if g.computes_wide() {
                    // The wide layouts' product goes to scratch, then drops
                    // its unused columns on the way to `out_n`.
                    let mut wide_out = std::mem::take(&mut scratch.wide);
                    let cols = scratch.patches(image, g);
                    wide_products(&mut wide_out, w, cols, g, layout, parallelism);
                    let out_n = narrow(&wide_out, g.out_channels, g, out_n);
                    scratch.wide = wide_out;
                    out_n
                } else {
                    let cols = scratch.patches(image, g);
                    let (cout, k, columns) = (g.out_channels / g.groups, g.patch_len(), g.patch_columns());
                    for (group, out_g) in out_n.chunks_exact_mut(cout * columns).enumerate() {
                        // out_g (cout x columns) = w_g (cout x k) cols_g (k x columns)
                        let w_g = Mat::rows(&w[group * cout * k..(group + 1) * cout * k], k);
                        let cols_g = Mat::rows(&cols[group * k * columns..], columns);
                        gemm_overwrite(out_g, w_g, cols_g, (cout, columns, k), parallelism);
                    }
                    // SAFETY: the groups' products cover `out_n` (`columns`
                    // is the output plane when not wide).
                    unsafe { assume_init_mut(out_n) }
                };
                let finish = |(c, channel): (usize, &mut [T])| epilogue.apply(c, channel);
                if matches!(parallelism, Parallelism::None) {
                    out_n
                        .chunks_exact_mut(g.output_len())
                        .enumerate()
                        .for_each(finish);
                } else {
                    // An image alone on the pool: its channels too.
                    out_n
                        .par_chunks_exact_mut(g.output_len())
                        .enumerate()
                        .for_each(finish);
                }
            }
        })
    };
    // SAFETY: the shares partition the output, and every image of a share
    // is written whole above.
    unsafe { written_whole(g.batch * out_len, write) }
}

/// The wide layouts' forward product `[C', columns]` of one image, from
/// its patch matrix (`Wide`) or its padded image (`Taps`), into `wide`.
fn wide_products<T: Float>(
    wide: &mut [T],
    w: &[T],
    cols: &[T],
    g: &ConvGeometry,
    layout: PatchLayout,
    parallelism: Parallelism,
) {
    let (cin, cout) = (g.in_channels / g.groups, g.out_channels / g.groups);
    let (k, columns) = (g.patch_len(), g.patch_columns());
    let (hp, wp) = g.padded_input();
    for group in 0..g.groups {
        let w_g = &w[group * cout * k..(group + 1) * cout * k];
        let out_g = &mut wide[group * cout * columns..(group + 1) * cout * columns];
        if layout == PatchLayout::Taps {
            // out_g (cout x columns) += w_g[.., .., tap] (cout x cin) view_tap (cin x columns)
            let taps = g.kernel.0 * g.kernel.1;
            for (tap, offset) in g.taps() {
                let w_tap = Mat {
                    data: &w_g[tap..],
                    row: k,
                    col: taps,
                };
                let view = Mat::rows(&cols[group * cin * hp * wp + offset..], hp * wp);
                let dst = MatMut {
                    data: &mut *out_g,
                    row: columns,
                    col: 1,
                };
                gemm_into(dst, w_tap, view, (cout, columns, cin), tap > 0, parallelism);
            }
        } else {
            // out_g (cout x columns) = w_g (cout x k) cols_g (k x columns)
            let cols_g = Mat::rows(&cols[group * k * columns..], columns);
            let dst = MatMut {
                data: out_g,
                row: columns,
                col: 1,
            };
            gemm_into(
                dst,
                Mat::rows(w_g, k),
                cols_g,
                (cout, columns, k),
                false,
                parallelism,
            );
        }
    }
}

/// Transposed convolution, the adjoint of [`conv2d_forward`] in `x`:
/// `dx [N, C, H, W]` from `dy [N, C', OH, OW]` and `w [C', C/g, kh, kw]`.
pub(crate) fn conv2d_input_grad<T: Float>(dy: &[T], w: &[T], g: &ConvGeometry) -> Vec<T> {
    if g.is_depthwise() {
        return depthwise_input_grad(dy, w, g);
    }
    let (cin, cout) = (g.in_channels / g.groups, g.out_channels / g.groups);
    let (k, columns) = (g.patch_len(), g.patch_columns());
    let (hp, wp) = g.padded_input();
    let image_len = g.in_channels * g.input_len();
    let dy_len = g.out_channels * g.output_len();
    if g.batch * image_len == 0 {
        return Vec::new();
    }
    let parallelism = inner_parallelism(g.batch);
    let layout = g.patch_layout();
    let write = |dx: &mut [MaybeUninit<T>]| {
        for_each_share(dx, image_len, g, |first, share, scratch| {
            for (i, dx_n) in share.chunks_mut(image_len).enumerate() {
                let dy_n = &dy[(first + i) * dy_len..(first + i + 1) * dy_len];
                if layout == PatchLayout::Pointwise {
                    // dx_g (cin x columns) = w_g^T (cin x cout) dy_g (cout x
                    // columns): the products write `dx_n` whole.
                    for (group, dx_g) in dx_n.chunks_exact_mut(k * columns).enumerate() {
                        let w_g_t = Mat::transposed(&w[group * cout * k..], k);
                        let dy_g = Mat::rows(&dy_n[group * cout * columns..], columns);
                        gemm_overwrite(dx_g, w_g_t, dy_g, (k, columns, cout), parallelism);
                    }
                    continue;
                }
                // The other layouts add into `dx_n`: zeroed here, image by
                // image, while it stays in cache for the products that
                // follow, rather than in a pass over the whole batch first.
                let dx_n = zeroed(dx_n);
                let dy_n: &[T] = if g.computes_wide() {
                    widen(dy_n, g.out_channels, g, &mut scratch.wide);
                    &scratch.wide
                } else {
                    dy_n
                };
                if layout == PatchLayout::Taps {
                    // Each tap adds w_tap^T (cin x cout) dy_g (cout x columns)
                    // onto its shifted view of the padded gradient; the unused
                    // columns of dy are zero, so they add nothing.
                    scratch.padded.fill(T::zero());
                    let taps = g.kernel.0 * g.kernel.1;
                    for group in 0..g.groups {
                        let w_g = &w[group * cout * k..(group + 1) * cout * k];
                        let dy_g = Mat::rows(&dy_n[group * cout * columns..], columns);
                        for (tap, offset) in g.taps() {
                            let w_tap_t = Mat {
                                data: &w_g[tap..],
                                row: taps,
                                col: k,
                            };
                            let start = group * cin * hp * wp + offset;
                            let dst = MatMut {
                                data: &mut scratch.padded[start..],
                                row: hp * wp,
                                col: 1,
                            };
                            gemm_into(dst, w_tap_t, dy_g, (cin, columns, cout), true, parallelism);
                        }
                    }
                    crop_image(&scratch.padded, g, dx_n);
                    continue;
                }
                for group in 0..g.groups {
                    // cols_g (k x columns) = w_g^T (k x cout) dy_g (cout x columns)
                    let w_g_t = Mat::transposed(&w[group * cout * k..], k);
                    let dy_g = Mat::rows(&dy_n[group * cout * columns..], columns);
                    let cols_g = &mut scratch.cols[group * k * columns..(group + 1) * k * columns];
                    let dst = MatMut {
                        data: cols_g,
                        row: columns,
                        col: 1,
                    };
                    gemm_into(dst, w_g_t, dy_g, (k, columns, cout), false, parallelism);
                }
                if layout == PatchLayout::Plain {
                    col2im(&scratch.cols, g, dx_n);
                } else {
                    scratch.padded.fill(T::zero());
                    col2im_wide(&scratch.cols, g, &mut scratch.padded);
                    crop_image(&scratch.padded, g, dx_n);
                }
            }
        })
    };
    // SAFETY: the shares partition the output, and every image is either
    // written whole by its products (pointwise) or zeroed first.
    unsafe { written_whole(g.batch * image_len, write) }
}

/// The weight gradient `dw [C', C/g, kh, kw] = sum_n dy_n x cols_n^T`, from
/// `x [N, C, H, W]` and `dy [N, C', OH, OW]`.
pub(crate) fn conv2d_weight_grad<T: Float>(x: &[T], dy: &[T], g: &ConvGeometry) -> Vec<T> {
    if g.is_depthwise() {
        return depthwise_weight_grad(x, dy, g);
    }
    let (cin, cout) = (g.in_channels / g.groups, g.out_channels / g.groups);
    let (k, columns) = (g.patch_len(), g.patch_columns());
    let (hp, wp) = g.padded_input();
    let image_len = g.in_channels * g.input_len();
    let dy_len = g.out_channels * g.output_len();
    let weight_len = g.out_channels * k;
    if weight_len == 0 {
        return Vec::new();
    }
    let parallelism = inner_parallelism(g.batch);
    let layout = g.patch_layout();
    // `gemm` multiplies by a transposed right operand (cols^T) at a third
    // of its speed once patches are long, so for those the product is
    // turned around: dw_g^T (k x cout) += cols_g (k x p) dy_g^T (p x cout),
    // with dy transposed per image (a small copy). Measured with `gemm`
    // 0.19 on AVX-512: 64x576x1024 runs at 107 instead of 30 GFLOP/s,
    // LeNet's 16x150x100 at 104 instead of 53, while LeNet's 6x25x784 is
    // faster the direct way (96 against 26). The tap layout always turns.
    let turned = k >= 64 || layout == PatchLayout::Taps;
    let taps = g.kernel.0 * g.kernel.1;
    // Each worker accumulates a partial gradient over its share of the
    // batch; the partials are summed at the end.
    let chunk = g.batch.div_ceil(rayon::current_num_threads()).max(1);
    let partials: Vec<Vec<T>> = (0..g.batch)
        .collect::<Vec<_>>()
        .par_chunks(chunk)
        .map(|images| {
            let mut dw = vec![T::zero(); weight_len];
            let mut scratch = Scratch::new(g, turned);
            for &n in images {
                let mut wide_dy = std::mem::take(&mut scratch.wide);
                let mut dy_t = std::mem::take(&mut scratch.wide_t);
                let dy_n = &dy[n * dy_len..(n + 1) * dy_len];
                let dy_n: &[T] = if g.computes_wide() {
                    widen(dy_n, g.out_channels, g, &mut wide_dy);
                    &wide_dy
                } else {
                    dy_n
                };
                if turned {
                    transpose(dy_n, g.out_channels, columns, &mut dy_t);
                }
                let cols = scratch.patches(&x[n * image_len..(n + 1) * image_len], g);
                for group in 0..g.groups {
                    let dw_g = &mut dw[group * cout * k..(group + 1) * cout * k];
                    // dy_g^T (columns x cout): empty unless `turned`.
                    let dy_t_g = || Mat::rows(&dy_t[group * cout..], g.out_channels);
                    if layout == PatchLayout::Taps {
                        // dw_g[.., .., tap]^T (cin x cout) += view_tap (cin x columns) dy_g^T (columns x cout)
                        for (tap, offset) in g.taps() {
                            let view = Mat::rows(&cols[group * cin * hp * wp + offset..], hp * wp);
                            let dst = MatMut {
                                data: &mut dw_g[tap..],
                                row: taps,
                                col: k,
                            };
                            gemm_into(dst, view, dy_t_g(), (cin, cout, columns), true, parallelism);
                        }
                    } else if turned {
                        let cols_g = Mat::rows(&cols[group * k * columns..], columns);
                        let dst = MatMut {
                            data: &mut *dw_g,
                            row: 1,
                            col: k,
                        };
                        gemm_into(dst, cols_g, dy_t_g(), (k, cout, columns), true, parallelism);
                    } else {
                        // dw_g (cout x k) += dy_g (cout x columns) cols_g^T (columns x k)
                        let dy_g = Mat::rows(&dy_n[group * cout * columns..], columns);
                        let cols_g_t = Mat::transposed(&cols[group * k * columns..], columns);
                        let dst = MatMut {
                            data: &mut *dw_g,
                            row: k,
                            col: 1,
                        };
                        gemm_into(dst, dy_g, cols_g_t, (cout, k, columns), true, parallelism);
                    }
                }
                scratch.wide = wide_dy;
                scratch.wide_t = dy_t;
            }
            dw
        })
        .collect();
    let mut total = vec![T::zero(); weight_len];
    for partial in partials {
        total.iter_mut().zip(partial).for_each(|(t, v)| *t = *t + v);
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

    /// The input value under kernel tap `(ki, kj)` of output pixel
    /// `(oy, ox)` in channel `c` of image `n`, or `None` on the padding.
    fn input_tap(
        x: &[f64],
        g: &ConvGeometry,
        (n, c): (usize, usize),
        (oy, ox): (usize, usize),
        (ki, kj): (usize, usize),
    ) -> Option<f64> {
        let iy = (oy * g.stride.0 + ki * g.dilation.0).checked_sub(g.padding.0)?;
        let ix = (ox * g.stride.1 + kj * g.dilation.1).checked_sub(g.padding.1)?;
        (iy < g.input.0 && ix < g.input.1)
            .then(|| x[((n * g.in_channels + c) * g.input.0 + iy) * g.input.1 + ix])
    }

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
                                    if let Some(xv) = input_tap(x, g, (n, c), (oy, ox), (ki, kj)) {
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
                                if let Some(xv) = input_tap(x, g, (n, c), (oy, ox), (ki, kj)) {
                                    let dyv =
                                        dy[((n * g.out_channels + co) * g.output.0 + oy) * g.output.1 + ox];
                                    acc += xv * dyv;
                                }
                            }
                        }
                        dw[((co * cin + ci) * kh + ki) * kw + kj] += acc;
                    }
                }
            }
        }
        dw
    }

    /// A convolution's output length along one axis: input `i`, kernel
    /// `k`, stride `s`, padding `p`, dilation `d`.
    fn output_size(i: usize, k: usize, s: usize, p: usize, d: usize) -> usize {
        (i + 2 * p - d * (k - 1) - 1) / s + 1
    }

    /// Test geometries: every patch layout, short (12) and long (72, 192)
    /// patches, groups, padding and dilation, and depthwise ones.
    fn geometries() -> Vec<ConvGeometry> {
        let mut all = vec![];
        for stride in [(2, 1), (1, 1)] {
            for (channels, kernel) in [(4, (3, 2)), (16, (3, 3)), (64, (2, 3))] {
                let (padding, dilation) = ((1, 1), (1, 2));
                all.push(ConvGeometry {
                    batch: 3,
                    in_channels: channels,
                    out_channels: 6,
                    groups: 2,
                    input: (7, 6),
                    kernel,
                    output: (
                        output_size(7, kernel.0, stride.0, padding.0, dilation.0),
                        output_size(6, kernel.1, stride.1, padding.1, dilation.1),
                    ),
                    stride,
                    padding,
                    dilation,
                });
            }
        }
        // Strided wide layouts (a GAN's 4x4 stride-2 kernels among them,
        // odd and even image sizes, phases some taps never read), and a
        // kernel too dilated for the wide layout.
        for (channels, input, kernel, stride, padding, dilation) in [
            (4, (7, 6), (4, 4), (2, 2), (1, 1), (1, 1)),
            (64, (8, 8), (4, 4), (2, 2), (1, 1), (1, 1)),
            (6, (9, 7), (3, 3), (3, 2), (2, 1), (2, 1)),
            (4, (7, 6), (3, 3), (1, 1), (1, 1), (1, 3)),
        ] {
            all.push(ConvGeometry {
                batch: 2,
                in_channels: channels,
                out_channels: 4,
                groups: 2,
                input,
                kernel,
                output: (
                    output_size(input.0, kernel.0, stride.0, padding.0, dilation.0),
                    output_size(input.1, kernel.1, stride.1, padding.1, dilation.1),
                ),
                stride,
                padding,
                dilation,
            });
        }
        let pointwise = ConvGeometry {
            kernel: (1, 1),
            output: (7, 6),
            stride: (1, 1),
            padding: (0, 0),
            dilation: (1, 1),
            ..all[0]
        };
        all.push(pointwise);
        // Depthwise (direct loops on stride phases): odd and even kernels,
        // strides 1, 2 and 3 (some phases never read), padding wider than
        // the kernel reaches, dilation with and without stride.
        for (kernel, stride, padding, dilation) in [
            ((3, 3), (1, 1), (1, 1), (1, 1)),
            ((5, 5), (2, 2), (2, 2), (1, 1)),
            ((3, 2), (2, 1), (0, 3), (2, 1)),
            ((4, 4), (2, 3), (1, 0), (1, 1)),
            ((3, 3), (3, 3), (2, 1), (2, 2)),
            ((2, 3), (3, 2), (1, 4), (1, 3)),
            ((3, 3), (1, 1), (2, 2), (2, 2)),
            ((1, 1), (2, 2), (0, 0), (1, 1)),
        ] {
            all.push(ConvGeometry {
                batch: 2,
                in_channels: 5,
                out_channels: 5,
                groups: 5,
                input: (9, 8),
                kernel,
                output: (
                    output_size(9, kernel.0, stride.0, padding.0, dilation.0),
                    output_size(8, kernel.1, stride.1, padding.1, dilation.1),
                ),
                stride,
                padding,
                dilation,
            });
        }
        let layouts: Vec<PatchLayout> = all.iter().map(|g| g.patch_layout()).collect();
        for layout in [
            PatchLayout::Plain,
            PatchLayout::Wide,
            PatchLayout::Taps,
            PatchLayout::Pointwise,
        ] {
            assert!(layouts.contains(&layout), "no test geometry is {layout:?}");
        }
        assert!(
            all.iter()
                .any(|g| g.stride.0 > 1 && g.stride.1 > 1 && g.patch_layout() == PatchLayout::Wide),
            "no strided test geometry is wide"
        );
        all
    }

    fn values(n: usize, a: usize, b: usize) -> Vec<f64> {
        (0..n)
            .map(|i| ((i * a % b) as f64) / (b as f64 / 2.0) - 1.0)
            .collect()
    }

    fn dot(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn every_layout_matches_the_definitions() {
        for g in geometries() {
            let cin = g.in_channels / g.groups;
            let x = values(g.batch * g.in_channels * g.input_len(), 37, 101);
            let w = values(g.out_channels * cin * g.kernel.0 * g.kernel.1, 13, 29);
            let dy = values(g.batch * g.out_channels * g.output_len(), 17, 31);
            let close = |fast: &[f64], slow: &[f64], what: &str| {
                assert_eq!(fast.len(), slow.len(), "{what} of {g:?}");
                for (a, b) in fast.iter().zip(slow) {
                    assert!((a - b).abs() < 1e-12, "{what}: {a} vs {b} for {g:?}");
                }
            };
            close(
                &conv2d_forward(&x, &w, ConvEpilogue::bias(None), &g),
                &naive(&x, &w, &g),
                "forward",
            );
            close(
                &conv2d_weight_grad(&x, &dy, &g),
                &naive_weight_grad(&x, &dy, &g),
                "weight gradient",
            );
            // The input gradient is the adjoint: <conv(x), dy> = <x, conv^T(dy)>.
            let forward = dot(&naive(&x, &w, &g), &dy);
            let adjoint = dot(&x, &conv2d_input_grad(&dy, &w, &g));
            assert!(
                (forward - adjoint).abs() < 1e-10,
                "{forward} vs {adjoint} for {g:?}"
            );
        }
    }
}
