//! Depthwise 2-D convolution (`groups = C = C'`: one small kernel per
//! channel, as in MobileNet and EfficientNet) as direct loops, and the
//! forward pass of convolutions with few input channels (an RGB stem) the
//! same way.
//!
//! A depthwise convolution does `kh kw` multiply-adds per output element
//! and reads each input element about `kh kw / (sh sw)` times, so it is
//! bound by memory, not arithmetic: a GEMM per group would multiply a
//! `1 x kh kw` matrix by a patch matrix `kh kw` times the size of the
//! image, built and read for every channel. These loops work one plane
//! (image, channel) at a time instead, in a layout where every tap is one
//! contiguous multiply-add over the whole plane (see [`PhasePlan`]). The
//! work is split over `(image, channel)` planes for the forward pass and
//! the input gradient, and over channels for the weight gradient (each
//! channel's taps sum over the whole batch).
//!
//! The per-plane loops are compiled three times, for AVX-512 or AVX2 when
//! the CPU has it (checked at run time) and for the baseline: the same
//! multiplies and adds in the same order (no fused multiply-add), so
//! results do not depend on the CPU.

use std::mem::MaybeUninit;
use std::ops::Range;

use rayon::prelude::*;

use super::batch_norm::ChannelMap;
use super::conv::ConvEpilogue;
use super::elementwise::{filled, write_copy, written_whole, zeroed};
use crate::backend::ops::ConvGeometry;
use crate::element::Float;

impl ConvGeometry {
    /// Whether this is a depthwise convolution with channel multiplier 1:
    /// one input and one output channel per group.
    pub(crate) fn is_depthwise(&self) -> bool {
        self.groups == self.in_channels && self.groups == self.out_channels
    }

    /// Whether the convolution reads so few input channels (an RGB stem,
    /// a grey image's first layer) that summing its `C kh kw` taps
    /// directly can beat a GEMM, whose inner dimension would be as small,
    /// after a patch matrix `kh kw` times the size of the image (the
    /// convolution kernel takes this path when the images are fewer than
    /// the threads).
    pub(crate) fn has_few_input_channels(&self) -> bool {
        self.groups == 1 && self.in_channels <= FEW_INPUT_CHANNELS
    }
}

/// The most input channels [`ConvGeometry::has_few_input_channels`] counts
/// as few: RGB and RGBA.
const FEW_INPUT_CHANNELS: usize = 4;

/// The input plane split into its `sh sw` stride phases, zero-padded:
/// phase `(rh, rw)` holds `x[sh a + rh - ph][sw b + rw - pw]` at `[a][b]`
/// (zero outside the image) for `a < rows`, `b < cols`. Tap `(i, j)` of
/// output pixel `(oh, ow)` reads `x[sh oh + i dh - ph][sw ow + j dw - pw]`,
/// which is phase `(i dh mod sh, j dw mod sw)` at `[oh + i dh / sh][ow + j
/// dw / sw]`: with the output laid out in rows of `cols` ("wide" rows,
/// whose last `cols - OW` columns are discarded), a tap is one contiguous
/// run `wide[t] += w phase[shift + t]` over the whole plane, with no
/// bounds to check and no per-row overhead (which dominates on the 7x7
/// and 14x14 maps of the last stages).
struct PhasePlan {
    stride: (usize, usize),
    input: (usize, usize),
    output: (usize, usize),
    /// Rows and columns of each phase plane.
    rows: usize,
    cols: usize,
    /// For each tap `(i, j)`, row-major: its phase and its shift `(i dh /
    /// sh) cols + j dw / sw` in that phase.
    taps: Vec<(usize, usize)>,
    /// Largest shift of any tap.
    max_shift: usize,
    /// For each phase row `rh` (then each phase column `rw`), the phase
    /// rows `a` whose input row `sh a + rh - ph` is in the image, and the
    /// first such input row (columns alike).
    inside: [Vec<(Range<usize>, usize)>; 2],
}

impl PhasePlan {
    fn new(g: &ConvGeometry) -> Self {
        let (sh, sw) = g.stride;
        let (dh, dw) = g.dilation;
        let rows = g.output.0 + (g.kernel.0 - 1) * dh / sh;
        let cols = g.output.1 + (g.kernel.1 - 1) * dw / sw;
        let taps: Vec<(usize, usize)> = (0..g.kernel.0)
            .flat_map(|i| (0..g.kernel.1).map(move |j| (i * dh, j * dw)))
            .map(|(di, dj)| ((di % sh) * sw + dj % sw, (di / sh) * cols + dj / sw))
            .collect();
        let max_shift = taps.iter().map(|&(_, shift)| shift).max().unwrap_or(0);
        let inside = |stride: usize, pad: usize, size: usize, len: usize| {
            (0..stride)
                .map(|phase| {
                    // stride a + phase - pad in 0..size
                    let first = pad.saturating_sub(phase).div_ceil(stride);
                    let end = (size + pad).saturating_sub(phase).div_ceil(stride).min(len);
                    let first = first.min(end);
                    (first..end, (stride * first + phase).saturating_sub(pad))
                })
                .collect()
        };
        PhasePlan {
            stride: g.stride,
            input: g.input,
            output: g.output,
            rows,
            cols,
            taps,
            max_shift,
            inside: [
                inside(sh, g.padding.0, g.input.0, rows),
                inside(sw, g.padding.1, g.input.1, cols),
            ],
        }
    }

    fn phase_len(&self) -> usize {
        self.rows * self.cols
    }

    fn phases_len(&self) -> usize {
        self.stride.0 * self.stride.1 * self.phase_len()
    }

    /// Elements of a wide output plane: `OH - 1` rows of `cols` and a last
    /// row of `OW`, so the last tap ends inside its phase.
    fn wide_len(&self) -> usize {
        (self.output.0 - 1) * self.cols + self.output.1
    }

    /// Fills `phases` from the input plane `x [H, W]`: the elements that
    /// read the image. The others, the zero padding, are left as they are
    /// and must already be zero. They are the same elements for every
    /// plane of a plan, so a buffer that starts zeroed and is written only
    /// by `split` keeps them zero (a `memset` call per row and phase for
    /// borders of one or two values was 1.5% of batch-1 EfficientNet).
    #[inline(always)]
    fn split<T: Float>(&self, x: &[T], phases: &mut [T]) {
        let (sh, sw) = self.stride;
        let width = self.input.1;
        for (p, phase) in phases[..self.phases_len()]
            .chunks_exact_mut(self.phase_len())
            .enumerate()
        {
            let (rh, rw) = (p / sw, p % sw);
            let (rows, first_row) = self.inside[0][rh].clone();
            let (cols, first_col) = self.inside[1][rw].clone();
            for (k, row) in phase[rows.start * self.cols..rows.end * self.cols]
                .chunks_exact_mut(self.cols)
                .enumerate()
            {
                if cols.is_empty() {
                    continue;
                }
                let ih = first_row + k * sh;
                let x_row = &x[ih * width + first_col..(ih + 1) * width];
                let inside = &mut row[cols.clone()];
                match sw {
                    1 => inside.copy_from_slice(&x_row[..inside.len()]),
                    2 => gather_every::<T, 2>(inside, x_row),
                    _ => gather_every_dynamic(inside, x_row, sw),
                }
            }
        }
    }

    /// Writes `phases` back into the input plane `dx [H, W]` (the inverse
    /// of [`split`](Self::split)): every input pixel some tap reads gets
    /// its phase element; the others (rows or columns past the last the
    /// stride reaches) are left as they are.
    #[inline(always)]
    fn merge<T: Float>(&self, phases: &[T], dx: &mut [T]) {
        let (sh, sw) = self.stride;
        let width = self.input.1;
        for (p, phase) in phases[..self.phases_len()]
            .chunks_exact(self.phase_len())
            .enumerate()
        {
            let (rh, rw) = (p / sw, p % sw);
            let (rows, first_row) = self.inside[0][rh].clone();
            let (cols, first_col) = self.inside[1][rw].clone();
            if cols.is_empty() {
                continue;
            }
            for (k, row) in phase[rows.start * self.cols..rows.end * self.cols]
                .chunks_exact(self.cols)
                .enumerate()
            {
                let ih = first_row + k * sh;
                let dx_row = &mut dx[ih * width + first_col..(ih + 1) * width];
                let inside = &row[cols.clone()];
                if sw == 1 {
                    dx_row[..inside.len()].copy_from_slice(inside);
                } else {
                    for (d, &v) in dx_row.iter_mut().step_by(sw).zip(inside) {
                        *d = v;
                    }
                }
            }
        }
    }
}

/// `inside[t] = x_row[S t]`: whole groups of `S` first (with `S` known,
/// a loop the compiler vectorises with shuffles, and no division), then
/// the last element, whose group may be cut short by the row's end.
#[inline(always)]
fn gather_every<T: Float, const S: usize>(inside: &mut [T], x_row: &[T]) {
    let last = inside.len() - 1;
    for (v, group) in inside[..last].iter_mut().zip(x_row.chunks_exact(S)) {
        *v = group[0];
    }
    inside[last] = x_row[last * S];
}

/// [`gather_every`] for a stride known only at run time.
#[inline(always)]
fn gather_every_dynamic<T: Float>(inside: &mut [T], x_row: &[T], stride: usize) {
    for (t, v) in inside.iter_mut().enumerate() {
        *v = x_row[t * stride];
    }
}

/// Scratch buffers of one worker, reused across the planes it handles.
struct Scratch<T> {
    /// Zeroed when made: [`PhasePlan::split`] writes only the elements
    /// that read the image, the padding's stay zero.
    phases: Vec<T>,
    wide: Vec<T>,
    weights: Vec<T>,
    starts: Vec<usize>,
}

impl<T: Float> Scratch<T> {
    /// Buffers for `plan` with a wide plane of `wide_len`. The phases get
    /// [`LANES`] zeros more than they hold, so a wide plane rounded up to
    /// whole lanes reads inside the buffer (its extra values land in
    /// discarded columns).
    fn new(plan: &PhasePlan, wide_len: usize) -> Self {
        Scratch {
            phases: vec![T::zero(); plan.phases_len() + LANES],
            wide: vec![T::zero(); wide_len],
            weights: Vec::with_capacity(plan.taps.len()),
            starts: Vec::with_capacity(plan.taps.len()),
        }
    }
}

/// Elements whose sums [`correlate`] keeps in registers: four AVX-512 or
/// eight AVX2 vectors of `f32`, independent sums enough to keep the adders
/// busy and work enough per tap to hide the loop's overhead.
const BLOCK: usize = 64;

/// The elements past the last whole block go in runs of one AVX-512
/// vector of `f32`, so a small plane (a 7x7 map's wide plane is 61 to 73
/// elements) is not rounded up to a whole block.
const LANES: usize = 16;

/// `acc[t] = map(acc[t] + sum over taps k of weights[k] * source[starts[k]
/// + t])`, the taps added in order onto each element. The accumulators of
/// a block of elements stay in registers across all taps and through the
/// map, so `acc` is read and written once however many taps there are.
#[inline(always)]
fn correlate<T: Float>(
    acc: &mut [T],
    source: &[T],
    starts: &[usize],
    weights: &[T],
    map: Option<ChannelMap<T>>,
) {
    let len = acc.len();
    for &start in starts {
        assert!(start + len <= source.len(), "depthwise: tap out of its phase");
    }
    let (blocks, rest) = acc.split_at_mut(len - len % BLOCK);
    for (b, block) in blocks.chunks_exact_mut(BLOCK).enumerate() {
        correlate_block::<T, BLOCK>(block, source, b * BLOCK, starts, weights, map);
    }
    let done = blocks.len();
    let (runs, tail) = rest.split_at_mut(rest.len() - rest.len() % LANES);
    for (r, run) in runs.chunks_exact_mut(LANES).enumerate() {
        correlate_block::<T, LANES>(run, source, done + r * LANES, starts, weights, map);
    }
    let done = done + runs.len();
    for (t, a) in tail.iter_mut().enumerate() {
        let t = done + t;
        *a = starts
            .iter()
            .zip(weights)
            .fold(*a, |sum, (&start, &w)| sum + w * source[start + t]);
    }
    if let Some(map) = map {
        map.apply(tail);
    }
}

/// [`correlate`] on the `N` elements of `acc` from `offset` on.
#[inline(always)]
fn correlate_block<T: Float, const N: usize>(
    acc: &mut [T],
    source: &[T],
    offset: usize,
    starts: &[usize],
    weights: &[T],
    map: Option<ChannelMap<T>>,
) {
    let mut sums = [T::zero(); N];
    sums.copy_from_slice(acc);
    for (&start, &w) in starts.iter().zip(weights) {
        let src: &[T; N] = source[start + offset..][..N].try_into().expect("N elements");
        for k in 0..N {
            sums[k] = sums[k] + w * src[k];
        }
    }
    if let Some(map) = map {
        map.apply(&mut sums);
    }
    acc.copy_from_slice(&sums);
}

/// Splits planes over threads only when there is enough work per plane
/// set to pay for waking the pool.
fn min_planes_per_task(g: &ConvGeometry) -> usize {
    let work = g.output.0 * g.output.1 * g.kernel.0 * g.kernel.1 * (g.in_channels / g.groups);
    (super::PARALLEL_THRESHOLD / work.max(1)).max(1)
}

/// `out [N, C, OH, OW] = depthwise(x [N, C, H, W], w [C, 1, kh, kw]) + bias`,
/// then the epilogue's normalisation and clamp.
pub(crate) fn depthwise_forward<T: Float>(
    x: &[T],
    w: &[T],
    epilogue: ConvEpilogue<'_, T>,
    g: &ConvGeometry,
) -> Vec<T> {
    let (in_plane, out_plane) = (g.input.0 * g.input.1, g.output.0 * g.output.1);
    let taps = g.kernel.0 * g.kernel.1;
    let channels = g.in_channels;
    let n = g.batch * channels * out_plane;
    if n == 0 {
        return Vec::new();
    }
    let plan = PhasePlan::new(g);
    let write = |out: &mut [MaybeUninit<T>]| {
        out.par_chunks_mut(out_plane)
            .with_min_len(min_planes_per_task(g))
            .enumerate()
            .for_each_init(
                || Scratch::new(&plan, plan.wide_len().next_multiple_of(LANES)),
                |scratch, (plane, out)| {
                    let c = plane % channels;
                    let x = &x[plane * in_plane..(plane + 1) * in_plane];
                    let w = &w[c * taps..(c + 1) * taps];
                    let bias = epilogue.bias.map_or(T::zero(), |b| b[c]);
                    forward_plane(&plan, x, w, (bias, epilogue.channel_map(c)), scratch, out);
                },
            );
    };
    // SAFETY: the planes partition the output, and `forward_plane` writes
    // every row of its plane.
    unsafe { written_whole(n, write) }
}

dispatch_simd!(
    forward_plane,
    forward_plane_body,
    (
        plan: &PhasePlan,
        x: &[T],
        w: &[T],
        after: (T, Option<ChannelMap<T>>),
        scratch: &mut Scratch<T>,
        out: &mut [MaybeUninit<T>]
    )
);

/// One plane of the forward pass: its input split into phases, then
/// [`sum_taps_body`].
#[inline(always)]
fn forward_plane_body<T: Float>(
    plan: &PhasePlan,
    x: &[T],
    w: &[T],
    after: (T, Option<ChannelMap<T>>),
    scratch: &mut Scratch<T>,
    out: &mut [MaybeUninit<T>],
) {
    plan.split(x, &mut scratch.phases);
    let phase_len = plan.phase_len();
    scratch.starts.clear();
    scratch
        .starts
        .extend(plan.taps.iter().map(|&(phase, shift)| phase * phase_len + shift));
    sum_taps_body(
        &scratch.phases,
        &scratch.starts,
        w,
        after,
        (plan, &mut scratch.wide),
        out,
    );
}

/// One output plane from split input planes: `bias`, then `weights[k] *
/// phases[starts[k] + ..]` for every tap `k` in order, then the channel's
/// map (if any) while the sums are in registers, written out without the
/// wide rows' discarded columns.
#[inline(always)]
fn sum_taps_body<T: Float>(
    phases: &[T],
    starts: &[usize],
    weights: &[T],
    (bias, map): (T, Option<ChannelMap<T>>),
    (plan, wide): (&PhasePlan, &mut [T]),
    out: &mut [MaybeUninit<T>],
) {
    // Whole runs of lanes, no scalar tail: the rounding's extra sums read
    // the phases' trailing zeros and are discarded with the wide columns.
    wide.fill(bias);
    correlate(wide, phases, starts, weights, map);
    let ow = plan.output.1;
    for (oh, out_row) in out.chunks_exact_mut(ow).enumerate() {
        write_copy(out_row, &wide[oh * plan.cols..oh * plan.cols + ow]);
    }
}

dispatch_simd!(
    sum_taps,
    sum_taps_body,
    (
        phases: &[T],
        starts: &[usize],
        weights: &[T],
        after: (T, Option<ChannelMap<T>>),
        wide: (&PhasePlan, &mut [T]),
        out: &mut [MaybeUninit<T>]
    )
);

dispatch_simd!(split_plane, split_plane_body, (plan: &PhasePlan, x: &[T], phases: &mut [T]));

#[inline(always)]
fn split_plane_body<T: Float>(plan: &PhasePlan, x: &[T], phases: &mut [T]) {
    plan.split(x, phases);
}

/// `out [N, C', OH, OW] = conv(x [N, C, H, W], w [C', C, kh, kw]) + bias`,
/// then the epilogue's normalisation and clamp, for a convolution with
/// few input channels ([`ConvGeometry::has_few_input_channels`]). Each
/// input plane is split into its phases once; each output plane then sums
/// its `C kh kw` taps over them, as a depthwise plane sums its `kh kw`,
/// with no patch matrix. The sums run channel by channel, taps in order.
pub(crate) fn few_channels_forward<T: Float>(
    x: &[T],
    w: &[T],
    epilogue: ConvEpilogue<'_, T>,
    g: &ConvGeometry,
) -> Vec<T> {
    let (in_plane, out_plane) = (g.input.0 * g.input.1, g.output.0 * g.output.1);
    let (cin, cout) = (g.in_channels, g.out_channels);
    let per_output = cin * g.kernel.0 * g.kernel.1;
    let n = g.batch * cout * out_plane;
    if n == 0 {
        return Vec::new();
    }
    let plan = PhasePlan::new(g);
    let split_len = plan.phases_len();
    // [N, C, phases], and `LANES` zeros more for the rounded wide plane's
    // reads past the last image's last phase.
    let mut phases = vec![T::zero(); g.batch * cin * split_len + LANES];
    phases[..g.batch * cin * split_len]
        .par_chunks_mut(split_len)
        .zip(x.par_chunks(in_plane))
        .for_each(|(phases, x)| split_plane(&plan, x, phases));
    let starts: Vec<usize> = (0..cin)
        .flat_map(|c| (plan.taps.iter()).map(move |&(phase, shift)| (c, phase, shift)))
        .map(|(c, phase, shift)| c * split_len + phase * plan.phase_len() + shift)
        .collect();
    let write = |out: &mut [MaybeUninit<T>]| {
        out.par_chunks_mut(out_plane)
            .with_min_len(min_planes_per_task(g))
            .enumerate()
            .for_each_init(
                || vec![T::zero(); plan.wide_len().next_multiple_of(LANES)],
                |wide, (plane, out)| {
                    let (image, c) = (plane / cout, plane % cout);
                    let phases = &phases[image * cin * split_len..];
                    let w = &w[c * per_output..(c + 1) * per_output];
                    let bias = epilogue.bias.map_or(T::zero(), |b| b[c]);
                    let after = (bias, epilogue.channel_map(c));
                    sum_taps(phases, &starts, w, after, (&plan, wide), out);
                },
            );
    };
    // SAFETY: the planes partition the output, and `sum_taps` writes every
    // row of its plane.
    unsafe { written_whole(n, write) }
}

/// Lays `dy [OH, OW]` out in wide rows of `cols` after `front` zeros,
/// with zeros in the discarded columns and after the last row.
#[inline(always)]
fn widen<T: Float>(plan: &PhasePlan, dy: &[T], front: usize, wide: &mut [T]) {
    let ow = plan.output.1;
    wide.fill(T::zero());
    for (oh, dy_row) in dy.chunks_exact(ow).enumerate() {
        let start = front + oh * plan.cols;
        wide[start..start + ow].copy_from_slice(dy_row);
    }
}

/// The adjoint in the input: `dx [N, C, H, W]` from `dy [N, C, OH, OW]`
/// and `w [C, 1, kh, kw]`. In the phase layout each input element
/// gathers `w * dy` from the taps that read it: phase element `u`
/// collects `w_k dy_wide[u - shift_k]` over the taps `k` of its phase, a
/// correlation with the taps reversed (`dy_wide` behind `max_shift`
/// zeros, so no index goes negative).
pub(crate) fn depthwise_input_grad<T: Float>(dy: &[T], w: &[T], g: &ConvGeometry) -> Vec<T> {
    let (in_plane, out_plane) = (g.input.0 * g.input.1, g.output.0 * g.output.1);
    let taps = g.kernel.0 * g.kernel.1;
    let channels = g.in_channels;
    let n = g.batch * channels * in_plane;
    if n == 0 || out_plane == 0 {
        return filled(n, T::zero());
    }
    let plan = PhasePlan::new(g);
    let wide_len = plan.max_shift + plan.phase_len();
    let write = |dx: &mut [MaybeUninit<T>]| {
        dx.par_chunks_mut(in_plane)
            .with_min_len(min_planes_per_task(g))
            .enumerate()
            .for_each_init(
                || Scratch::new(&plan, wide_len),
                |scratch, (plane, dx)| {
                    let c = plane % channels;
                    let dy = &dy[plane * out_plane..(plane + 1) * out_plane];
                    let w = &w[c * taps..(c + 1) * taps];
                    // Zeroed plane by plane, in cache, for the pixels no
                    // tap reads (which `merge` leaves as they are).
                    input_grad_plane(&plan, dy, w, scratch, zeroed(dx));
                },
            );
    };
    // SAFETY: the planes partition the output, and each is zeroed first.
    unsafe { written_whole(n, write) }
}

dispatch_simd!(
    input_grad_plane,
    input_grad_plane_body,
    (plan: &PhasePlan, dy: &[T], w: &[T], scratch: &mut Scratch<T>, dx: &mut [T])
);

/// One plane of the input gradient, phase by phase.
#[inline(always)]
fn input_grad_plane_body<T: Float>(
    plan: &PhasePlan,
    dy: &[T],
    w: &[T],
    scratch: &mut Scratch<T>,
    dx: &mut [T],
) {
    widen(plan, dy, plan.max_shift, &mut scratch.wide);
    let phase_len = plan.phase_len();
    for (p, phase) in scratch.phases[..plan.phases_len()]
        .chunks_exact_mut(phase_len)
        .enumerate()
    {
        scratch.starts.clear();
        scratch.weights.clear();
        for (&(tap_phase, shift), &weight) in plan.taps.iter().zip(w) {
            if tap_phase == p {
                scratch.starts.push(plan.max_shift - shift);
                scratch.weights.push(weight);
            }
        }
        phase.fill(T::zero());
        correlate(phase, &scratch.wide, &scratch.starts, &scratch.weights, None);
    }
    plan.merge(&scratch.phases, dx);
}

/// The weight gradient `dw [C, 1, kh, kw]`: for each channel and tap, the
/// sum over images and output pixels of `dy` times the input under the
/// tap, a dot product of the wide `dy` plane (zeros in the discarded
/// columns) with the tap's run of its phase.
pub(crate) fn depthwise_weight_grad<T: Float>(x: &[T], dy: &[T], g: &ConvGeometry) -> Vec<T> {
    let taps = g.kernel.0 * g.kernel.1;
    let mut dw = filled(g.in_channels * taps, T::zero());
    if dw.is_empty() || g.output.0 * g.output.1 == 0 {
        return dw;
    }
    let plan = PhasePlan::new(g);
    dw.par_chunks_mut(taps).enumerate().for_each_init(
        || Scratch::new(&plan, plan.wide_len()),
        |scratch, (c, dw)| weight_grad_channel(&plan, g, c, x, dy, scratch, dw),
    );
    dw
}

dispatch_simd!(
    weight_grad_channel,
    weight_grad_channel_body,
    (
        plan: &PhasePlan,
        g: &ConvGeometry,
        c: usize,
        x: &[T],
        dy: &[T],
        scratch: &mut Scratch<T>,
        dw: &mut [T]
    )
);

/// The taps of channel `c`, summed over the batch one image at a time.
#[inline(always)]
fn weight_grad_channel_body<T: Float>(
    plan: &PhasePlan,
    g: &ConvGeometry,
    c: usize,
    x: &[T],
    dy: &[T],
    scratch: &mut Scratch<T>,
    dw: &mut [T],
) {
    let (in_plane, out_plane) = (g.input.0 * g.input.1, g.output.0 * g.output.1);
    let phase_len = plan.phase_len();
    let len = plan.wide_len();
    for n in 0..g.batch {
        let plane = n * g.in_channels + c;
        plan.split(&x[plane * in_plane..(plane + 1) * in_plane], &mut scratch.phases);
        widen(
            plan,
            &dy[plane * out_plane..(plane + 1) * out_plane],
            0,
            &mut scratch.wide,
        );
        for (d, &(phase, shift)) in dw.iter_mut().zip(&plan.taps) {
            let start = phase * phase_len + shift;
            *d = *d + dot(&scratch.wide, &scratch.phases[start..start + len]);
        }
    }
}

/// A dot product in eight independent partial sums, so the compiler can
/// vectorise it without reassociating a single running sum.
#[inline(always)]
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::{Generator, Tensor};

    /// Geometries whose wide planes cover the kernel's three paths: whole
    /// blocks of [`BLOCK`], runs of [`LANES`] and a scalar tail (the input
    /// gradient's planes are not rounded): 3x3 and 5x5 taps, strides 1 to
    /// 3, dilation, uneven padding.
    fn geometries() -> Vec<ConvGeometry> {
        let plain = |input: (usize, usize), kernel, stride, padding, dilation: (usize, usize)| {
            let size =
                |i: usize, k: usize, s: usize, p: usize, d: usize| (i + 2 * p - d * (k - 1) - 1) / s + 1;
            let (k, s, p) = (kernel, stride, padding);
            ConvGeometry {
                batch: 2,
                in_channels: 3,
                out_channels: 3,
                groups: 3,
                input,
                kernel: (k, k),
                output: (
                    size(input.0, k, s, p, dilation.0),
                    size(input.1, k, s, p, dilation.1),
                ),
                stride: (s, s),
                padding: (p, p),
                dilation,
            }
        };
        vec![
            plain((20, 20), 3, 1, 1, (1, 1)),
            plain((23, 17), 5, 2, 2, (1, 1)),
            plain((7, 7), 5, 1, 2, (1, 1)),
            plain((31, 29), 3, 2, 1, (1, 1)),
            plain((16, 19), 3, 3, 0, (2, 1)),
        ]
    }

    /// The convolution of one output pixel as written: the bias, then
    /// every tap in row-major order (a zero where it reads padding).
    fn direct(x: &[f32], w: &[f32], bias: f32, g: &ConvGeometry, (oh, ow): (usize, usize)) -> f32 {
        let mut sum = bias;
        for i in 0..g.kernel.0 {
            for j in 0..g.kernel.1 {
                let ih = (oh * g.stride.0 + i * g.dilation.0) as isize - g.padding.0 as isize;
                let iw = (ow * g.stride.1 + j * g.dilation.1) as isize - g.padding.1 as isize;
                let inside = (0..g.input.0 as isize).contains(&ih) && (0..g.input.1 as isize).contains(&iw);
                let v = if inside {
                    x[ih as usize * g.input.1 + iw as usize]
                } else {
                    0.0
                };
                sum += w[i * g.kernel.1 + j] * v;
            }
        }
        sum
    }

    /// A forward pass under test: `depthwise_forward` or
    /// `few_channels_forward`.
    type Forward = fn(&[f32], &[f32], ConvEpilogue<'_, f32>, &ConvGeometry) -> Vec<f32>;

    /// Runs `forward` on `g` with a bias, with and without a clamped map,
    /// and compares every output with [`direct`] summed over the output
    /// channel's input channels in order, bit for bit.
    fn check_against_direct_sums(g: ConvGeometry, forward: Forward, gen: &mut Generator) {
        let (cin, cout) = (g.in_channels / g.groups, g.out_channels);
        let x = Tensor::<f32>::randn(&g.input_shape(), gen).to_vec();
        let w = Tensor::<f32>::randn(&g.weight_shape(), gen).to_vec();
        let channel_values =
            |scale: f32, offset: f32| (0..cout).map(|c| c as f32 * scale + offset).collect::<Vec<_>>();
        let (bias, center) = (channel_values(1.5, -1.0), channel_values(0.1, -0.2));
        let (scale, shift) = (channel_values(-0.75, 1.5), channel_values(0.3, -0.1));
        for map in [false, true] {
            let epilogue = ConvEpilogue {
                bias: Some(&bias[..]),
                normalize: map.then_some(([&center[..], &scale[..], &shift[..]], Some((0.0, 1.0)))),
            };
            let out = forward(&x, &w, epilogue, &g);
            let (in_plane, (oh, ow), taps) = (g.input.0 * g.input.1, g.output, g.kernel.0 * g.kernel.1);
            assert_eq!(out.len(), g.batch * cout * oh * ow, "{g:?}");
            for (plane, out) in out.chunks_exact(oh * ow).enumerate() {
                let (image, c) = (plane / cout, plane % cout);
                let first_input = c / (cout / g.groups) * cin;
                for (p, &got) in out.iter().enumerate() {
                    let mut want = (0..cin).fold(bias[c], |sum, k| {
                        let x = &x[(image * g.in_channels + first_input + k) * in_plane..];
                        direct(x, &w[(c * cin + k) * taps..], sum, &g, (p / ow, p % ow))
                    });
                    if map {
                        want = ((want - center[c]) * scale[c] + shift[c]).clamp(0.0, 1.0);
                    }
                    assert_eq!(got, want, "{g:?} map {map} plane {plane} pixel {p}");
                }
            }
        }
    }

    #[test]
    fn forward_equals_the_direct_sums_bit_for_bit() {
        let mut gen = Generator::new(3);
        for g in geometries() {
            check_against_direct_sums(g, depthwise_forward, &mut gen);
        }
    }

    #[test]
    fn few_channels_forward_equals_the_direct_sums_bit_for_bit() {
        let mut gen = Generator::new(5);
        for depthwise in geometries() {
            let g = ConvGeometry {
                groups: 1,
                out_channels: 4,
                ..depthwise
            };
            assert!(g.has_few_input_channels());
            check_against_direct_sums(g, few_channels_forward, &mut gen);
        }
    }

    #[test]
    fn gradients_are_the_adjoints_of_the_forward_pass() {
        let mut gen = Generator::new(4);
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(a, b)| a * b).sum::<f64>();
        for g in geometries() {
            let x = Tensor::<f64>::randn(&g.input_shape(), &mut gen).to_vec();
            let w = Tensor::<f64>::randn(&g.weight_shape(), &mut gen).to_vec();
            let dy = Tensor::<f64>::randn(&g.output_shape(), &mut gen).to_vec();
            let y = depthwise_forward(&x, &w, ConvEpilogue::bias(None), &g);
            let want = dot(&y, &dy);
            let through_input = dot(&x, &depthwise_input_grad(&dy, &w, &g));
            let through_weight = dot(&w, &depthwise_weight_grad(&x, &dy, &g));
            for got in [through_input, through_weight] {
                assert!(
                    (got - want).abs() <= 1e-10 * want.abs().max(1.0),
                    "{g:?}: {got} against {want}"
                );
            }
        }
    }

    #[test]
    fn correlate_maps_every_element_blocks_runs_and_tail() {
        let len = BLOCK + LANES + 5;
        let source: Vec<f32> = (0..len + 7).map(|i| (i as f32 * 0.37).sin()).collect();
        let (starts, weights) = ([0, 3, 7], [0.5, -1.25, 2.0]);
        let map = ChannelMap {
            center: 0.25,
            scale: 3.0,
            shift: -0.5,
            clamp: Some((-1.0, 1.0)),
        };
        let mut acc = vec![0.125; len];
        correlate(&mut acc, &source, &starts, &weights, Some(map));
        for (t, &got) in acc.iter().enumerate() {
            let sum = (0..3).fold(0.125, |sum, k| sum + weights[k] * source[starts[k] + t]);
            let want = ((sum - 0.25) * 3.0 - 0.5).clamp(-1.0, 1.0);
            assert_eq!(got, want, "element {t}");
        }
    }
}
