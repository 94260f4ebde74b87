//! Depthwise 2-D convolution (`groups = C = C'`: one small kernel per
//! channel, as in MobileNet and EfficientNet) as direct loops.
//!
//! A depthwise convolution does `kh kw` multiply-adds per output element
//! and reads each input element about `kh kw / (sh sw)` times, so it is
//! bound by memory, not arithmetic: a GEMM per group would multiply a
//! `1 x kh kw` matrix by a patch matrix `kh kw` times the size of the
//! image, built and read for every channel. These loops read each input
//! row in place instead. The work is split over `(image, channel)` planes
//! for the forward pass and the input gradient, and over channels for the
//! weight gradient (each channel's taps sum over the whole batch). Each
//! tap adds `w * input row` onto an output row over the range of output
//! columns whose input column is inside the image, so the padding is never
//! materialised and, at stride 1, the inner loop is a contiguous
//! multiply-add the compiler vectorises.

use rayon::prelude::*;

use super::elementwise::filled;
use crate::backend::ops::ConvGeometry;
use crate::element::Float;

impl ConvGeometry {
    /// Whether this is a depthwise convolution with channel multiplier 1:
    /// one input and one output channel per group.
    pub(crate) fn is_depthwise(&self) -> bool {
        self.groups == self.in_channels && self.groups == self.out_channels
    }
}

/// The output columns `ow` whose input column `ow sw + offset` lies in
/// `0..width`, for the tap whose offset (`j dw - pw`) is `offset`.
fn valid_columns(g: &ConvGeometry, offset: isize) -> std::ops::Range<usize> {
    let stride = g.stride.1 as isize;
    let width = g.input.1 as isize;
    // ow sw + offset >= 0  and  ow sw + offset <= width - 1
    let first = if offset >= 0 {
        0
    } else {
        (-offset + stride - 1) / stride
    };
    let last = if width - 1 - offset < 0 {
        -1
    } else {
        (width - 1 - offset) / stride
    };
    let end = (last + 1).clamp(0, g.output.1 as isize) as usize;
    (first as usize).min(end)..end
}

/// The input row read by output row `oh` at kernel row `i`, if inside the image.
fn input_row(g: &ConvGeometry, oh: usize, i: usize) -> Option<usize> {
    let row = (oh * g.stride.0 + i * g.dilation.0).checked_sub(g.padding.0)?;
    (row < g.input.0).then_some(row)
}

/// Column offset `j dw - pw` of kernel column `j`.
fn column_offset(g: &ConvGeometry, j: usize) -> isize {
    (j * g.dilation.1) as isize - g.padding.1 as isize
}

/// Splits planes over threads only when there is enough work per plane
/// set to pay for waking the pool.
fn min_planes_per_task(g: &ConvGeometry) -> usize {
    let work = g.output.0 * g.output.1 * g.kernel.0 * g.kernel.1;
    (super::PARALLEL_THRESHOLD / work.max(1)).max(1)
}

/// `out [N, C, OH, OW] = depthwise(x [N, C, H, W], w [C, 1, kh, kw]) + bias`.
pub(crate) fn depthwise_forward<T: Float>(x: &[T], w: &[T], bias: Option<&[T]>, g: &ConvGeometry) -> Vec<T> {
    let (in_plane, out_plane) = (g.input.0 * g.input.1, g.output.0 * g.output.1);
    let taps = g.kernel.0 * g.kernel.1;
    let channels = g.in_channels;
    let mut out = filled(g.batch * channels * out_plane, T::zero());
    if out.is_empty() {
        return out;
    }
    out.par_chunks_mut(out_plane)
        .with_min_len(min_planes_per_task(g))
        .enumerate()
        .for_each(|(plane, out)| {
            let c = plane % channels;
            let x = &x[plane * in_plane..(plane + 1) * in_plane];
            let w = &w[c * taps..(c + 1) * taps];
            out.fill(bias.map_or(T::zero(), |b| b[c]));
            for (oh, out_row) in out.chunks_exact_mut(g.output.1).enumerate() {
                for i in 0..g.kernel.0 {
                    let Some(ih) = input_row(g, oh, i) else { continue };
                    let x_row = &x[ih * g.input.1..(ih + 1) * g.input.1];
                    for j in 0..g.kernel.1 {
                        let weight = w[i * g.kernel.1 + j];
                        let offset = column_offset(g, j);
                        let columns = valid_columns(g, offset);
                        add_scaled_row(out_row, x_row, weight, columns, offset, g.stride.1);
                    }
                }
            }
        });
    out
}

/// `out[ow] += weight * x_row[ow stride + offset]` for `ow` in `columns`.
fn add_scaled_row<T: Float>(
    out_row: &mut [T],
    x_row: &[T],
    weight: T,
    columns: std::ops::Range<usize>,
    offset: isize,
    stride: usize,
) {
    if columns.is_empty() {
        return;
    }
    let first_input = (columns.start as isize * stride as isize + offset) as usize;
    let out = &mut out_row[columns.clone()];
    if stride == 1 {
        let input = &x_row[first_input..first_input + out.len()];
        for (o, &v) in out.iter_mut().zip(input) {
            *o = *o + weight * v;
        }
    } else {
        for (k, o) in out.iter_mut().enumerate() {
            *o = *o + weight * x_row[first_input + k * stride];
        }
    }
}

/// The adjoint in the input: `dx [N, C, H, W]` from `dy [N, C, OH, OW]`
/// and `w [C, 1, kh, kw]` (every input element gathers the output
/// elements whose taps read it, scattered here row by row).
pub(crate) fn depthwise_input_grad<T: Float>(dy: &[T], w: &[T], g: &ConvGeometry) -> Vec<T> {
    let (in_plane, out_plane) = (g.input.0 * g.input.1, g.output.0 * g.output.1);
    let taps = g.kernel.0 * g.kernel.1;
    let channels = g.in_channels;
    let mut dx = filled(g.batch * channels * in_plane, T::zero());
    if dx.is_empty() {
        return dx;
    }
    dx.par_chunks_mut(in_plane)
        .with_min_len(min_planes_per_task(g))
        .enumerate()
        .for_each(|(plane, dx)| {
            let c = plane % channels;
            let dy = &dy[plane * out_plane..(plane + 1) * out_plane];
            let w = &w[c * taps..(c + 1) * taps];
            for (oh, dy_row) in dy.chunks_exact(g.output.1).enumerate() {
                for i in 0..g.kernel.0 {
                    let Some(ih) = input_row(g, oh, i) else { continue };
                    let dx_row = &mut dx[ih * g.input.1..(ih + 1) * g.input.1];
                    for j in 0..g.kernel.1 {
                        let weight = w[i * g.kernel.1 + j];
                        let offset = column_offset(g, j);
                        let columns = valid_columns(g, offset);
                        if columns.is_empty() {
                            continue;
                        }
                        let first_input = (columns.start as isize * g.stride.1 as isize + offset) as usize;
                        let dy_part = &dy_row[columns.clone()];
                        if g.stride.1 == 1 {
                            let dx_part = &mut dx_row[first_input..first_input + dy_part.len()];
                            for (d, &v) in dx_part.iter_mut().zip(dy_part) {
                                *d = *d + weight * v;
                            }
                        } else {
                            for (k, &v) in dy_part.iter().enumerate() {
                                let d = &mut dx_row[first_input + k * g.stride.1];
                                *d = *d + weight * v;
                            }
                        }
                    }
                }
            }
        });
    dx
}

/// The weight gradient `dw [C, 1, kh, kw]`: for each channel and tap, the
/// sum over images and output pixels of `dy` times the input under the tap.
pub(crate) fn depthwise_weight_grad<T: Float>(x: &[T], dy: &[T], g: &ConvGeometry) -> Vec<T> {
    let (in_plane, out_plane) = (g.input.0 * g.input.1, g.output.0 * g.output.1);
    let taps = g.kernel.0 * g.kernel.1;
    let channels = g.in_channels;
    let mut dw = filled(channels * taps, T::zero());
    if dw.is_empty() {
        return dw;
    }
    dw.par_chunks_mut(taps).enumerate().for_each(|(c, dw)| {
        for n in 0..g.batch {
            let plane = n * channels + c;
            let x = &x[plane * in_plane..(plane + 1) * in_plane];
            let dy = &dy[plane * out_plane..(plane + 1) * out_plane];
            for (oh, dy_row) in dy.chunks_exact(g.output.1).enumerate() {
                for i in 0..g.kernel.0 {
                    let Some(ih) = input_row(g, oh, i) else { continue };
                    let x_row = &x[ih * g.input.1..(ih + 1) * g.input.1];
                    for j in 0..g.kernel.1 {
                        let offset = column_offset(g, j);
                        let columns = valid_columns(g, offset);
                        if columns.is_empty() {
                            continue;
                        }
                        let first_input = (columns.start as isize * g.stride.1 as isize + offset) as usize;
                        let dy_part = &dy_row[columns.clone()];
                        let sum = if g.stride.1 == 1 {
                            let x_part = &x_row[first_input..first_input + dy_part.len()];
                            dot(dy_part, x_part)
                        } else {
                            dy_part.iter().enumerate().fold(T::zero(), |acc, (k, &v)| {
                                acc + v * x_row[first_input + k * g.stride.1]
                            })
                        };
                        dw[i * g.kernel.1 + j] = dw[i * g.kernel.1 + j] + sum;
                    }
                }
            }
        }
    });
    dw
}

/// A dot product in eight independent partial sums, so the compiler can
/// vectorise it without reassociating a single running sum.
fn dot<T: Float>(a: &[T], b: &[T]) -> T {
    let mut partial = [T::zero(); 8];
    let (a_blocks, b_blocks) = (a.chunks_exact(8), b.chunks_exact(8));
    let (a_rest, b_rest) = (a_blocks.remainder(), b_blocks.remainder());
    for (x, y) in a_blocks.zip(b_blocks) {
        for k in 0..8 {
            partial[k] = partial[k] + x[k] * y[k];
        }
    }
    let tail = a_rest
        .iter()
        .zip(b_rest)
        .fold(T::zero(), |acc, (&x, &y)| acc + x * y);
    partial.iter().fold(tail, |acc, &p| acc + p)
}
