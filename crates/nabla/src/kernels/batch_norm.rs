//! Batch normalisation in training mode as three loops over `[n, c, s]`
//! memory (batch, channel, positions per channel), instead of the dozen
//! elementwise passes and reductions its composition takes: the per-channel
//! moments, the normalisation with the affine transform folded into one
//! scale and shift per channel, and the backward pass (two sums per
//! channel, then one pass for the input's gradient).
//!
//! Sums run over blocks of `s` contiguous values in `T` and are accumulated
//! across blocks in `f64`; the variance is taken around the mean (two
//! passes), so `f32` inputs with a large mean lose nothing to cancellation.

use std::mem::MaybeUninit;

use rayon::prelude::*;

use super::elementwise::written_whole;
use super::PARALLEL_THRESHOLD;
use crate::element::Float;

/// The sizes `[n, c, s]` of a batch laid out batch-major: `n` samples of
/// `c` channels of `s` contiguous values.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ChannelLayout {
    pub n: usize,
    pub c: usize,
    pub s: usize,
}

impl ChannelLayout {
    fn numel(self) -> usize {
        self.n * self.c * self.s
    }

    /// The `n` blocks of channel `channel` in `x`.
    fn blocks<T: Copy>(self, x: &[T], channel: usize) -> impl Iterator<Item = &[T]> {
        (0..self.n).map(move |i| {
            let start = (i * self.c + channel) * self.s;
            &x[start..start + self.s]
        })
    }
}

/// Runs `per_channel` for every channel, on rayon's threads when the batch
/// is large enough to pay for them.
fn map_channels<R: Send>(layout: ChannelLayout, per_channel: impl Fn(usize) -> R + Sync + Send) -> Vec<R> {
    if layout.numel() >= PARALLEL_THRESHOLD {
        (0..layout.c).into_par_iter().map(per_channel).collect()
    } else {
        (0..layout.c).map(per_channel).collect()
    }
}

/// `Σ f(v)` over a block, in eight independent lanes so that the loop
/// vectorizes.
fn lane_sum<T: Float>(block: &[T], f: impl Fn(T) -> T) -> f64 {
    let mut lanes = [T::zero(); 8];
    let chunks = block.chunks_exact(8);
    let tail = chunks.remainder();
    for chunk in chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane = *lane + f(v);
        }
    }
    let tail: f64 = tail.iter().map(|&v| f(v).as_f64()).sum();
    lanes.iter().map(|l| l.as_f64()).sum::<f64>() + tail
}

/// The mean and biased variance of every channel of `x` (`[n, c, s]`,
/// with `n * s > 0`).
pub(crate) fn channel_moments<T: Float>(x: &[T], layout: ChannelLayout) -> Vec<(f64, f64)> {
    let count = (layout.n * layout.s) as f64;
    map_channels(layout, |ch| {
        let mean = layout.blocks(x, ch).map(|b| lane_sum(b, |v| v)).sum::<f64>() / count;
        let m = T::from_f64(mean);
        // Σ (x - m)² / M is the variance plus (mean - m)², m being the
        // mean rounded to `T`.
        let off_center = mean - m.as_f64();
        let var = layout
            .blocks(x, ch)
            .map(|b| {
                lane_sum(b, |v| {
                    let d = v - m;
                    d * d
                })
            })
            .sum::<f64>()
            / count
            - off_center * off_center;
        (mean, var.max(0.0))
    })
}

/// Runs `per_sample` on every sample's `[c, s]` slab of `out` with its
/// index, on rayon's threads when the batch is large enough.
fn for_each_sample<T: Send>(
    out: &mut [T],
    layout: ChannelLayout,
    per_sample: impl Fn(usize, &mut [T]) + Sync + Send,
) {
    let slab = (layout.c * layout.s).max(1);
    if layout.numel() >= PARALLEL_THRESHOLD {
        out.par_chunks_mut(slab)
            .enumerate()
            .for_each(|(i, o)| per_sample(i, o));
    } else {
        out.chunks_mut(slab)
            .enumerate()
            .for_each(|(i, o)| per_sample(i, o));
    }
}

/// `(x - center[ch]) * scale[ch] + shift[ch]` for every value of channel
/// `ch` of `x` (centred first, so that a large mean cancels exactly),
/// clamped to `clamp = (min, max)` if given: evaluation-mode BatchNorm and
/// the ReLU6 after it in one pass over memory. The output is written
/// once, never zeroed first.
pub(crate) fn channel_affine<T: Float>(
    x: &[T],
    layout: ChannelLayout,
    per_channel: [&[T]; 3],
    clamp: Option<(T, T)>,
) -> Vec<T> {
    let n = layout.numel();
    assert_eq!(x.len(), n, "channel_affine: {} values for {layout:?}", x.len());
    let write = |out: &mut [MaybeUninit<T>]| match clamp {
        None => affine_then(x, out, layout, per_channel, |v| v),
        Some((lo, hi)) => affine_then(x, out, layout, per_channel, clamp_to(lo, hi)),
    };
    // SAFETY: `affine_then` writes all `n` values: every sample's slab of
    // `c s`, channel by channel.
    unsafe { written_whole(n, write) }
}

/// [`channel_affine`] with `then` applied to every result.
#[inline(always)]
fn affine_then<T: Float>(
    x: &[T],
    out: &mut [MaybeUninit<T>],
    layout: ChannelLayout,
    [center, scale, shift]: [&[T]; 3],
    then: impl Fn(T) -> T + Sync + Send + Copy,
) {
    let slab = layout.c * layout.s;
    if layout.s == 1 {
        for_each_sample(out, layout, |i, dst| {
            let src = &x[i * slab..(i + 1) * slab];
            for ((((o, &v), &m), &a), &b) in dst.iter_mut().zip(src).zip(center).zip(scale).zip(shift) {
                o.write(then((v - m) * a + b));
            }
        });
        return;
    }
    // One task per (sample, channel) plane, so a single image is spread
    // over the threads too.
    let plane = |(i, dst): (usize, &mut [MaybeUninit<T>])| {
        let ch = i % layout.c;
        let src = &x[i * layout.s..(i + 1) * layout.s];
        affine_plane(dst, src, (center[ch], scale[ch], shift[ch]), then);
    };
    if layout.numel() >= PARALLEL_THRESHOLD {
        out.par_chunks_mut(layout.s)
            .with_min_len((PARALLEL_THRESHOLD / layout.s).max(1))
            .enumerate()
            .for_each(plane);
    } else {
        out.chunks_mut(layout.s).enumerate().for_each(plane);
    }
}

/// `dst = then((src - m) a + b)`, with the coefficients and `then`'s
/// captures passed by value so that they stay in registers and the loop
/// vectorises (through references the compiler reloads them after every
/// store and keeps `then`'s branches).
#[inline(always)]
fn affine_plane<T: Float>(
    dst: &mut [MaybeUninit<T>],
    src: &[T],
    (m, a, b): (T, T, T),
    then: impl Fn(T) -> T + Copy,
) {
    for (o, &v) in dst.iter_mut().zip(src) {
        o.write(then((v - m) * a + b));
    }
}

/// `v` clamped to `[lo, hi]` with the branches of `Tensor::clamp`, so NaN
/// stays NaN.
#[inline(always)]
fn clamp_to<T: Float>(lo: T, hi: T) -> impl Fn(T) -> T + Sync + Send + Copy {
    move |v| {
        if v < lo {
            lo
        } else if v > hi {
            hi
        } else {
            v
        }
    }
}

/// One channel of evaluation-mode BatchNorm and the clamp after it,
/// `clamp((v - center) scale + shift)`: the values and the order of
/// [`channel_affine`], for a kernel to apply while its output is in cache.
#[derive(Clone, Copy)]
pub(crate) struct ChannelMap<T> {
    pub center: T,
    pub scale: T,
    pub shift: T,
    pub clamp: Option<(T, T)>,
}

impl<T: Float> ChannelMap<T> {
    /// `values = map(values)`.
    #[inline(always)]
    pub(crate) fn apply(self, values: &mut [T]) {
        let (m, a, b) = (self.center, self.scale, self.shift);
        match self.clamp {
            None => values.iter_mut().for_each(|v| *v = (*v - m) * a + b),
            Some((lo, hi)) => {
                let then = clamp_to(lo, hi);
                values.iter_mut().for_each(|v| *v = then((*v - m) * a + b));
            }
        }
    }
}

/// A clamp after training-mode BatchNorm, seen from the backward pass: the
/// gradient passes where `min < (x - center) scale + shift < max`
/// (strictly, as [`Tensor::clamp`](crate::Tensor::clamp)'s), recomputed
/// from the input with the forward pass's coefficients instead of read
/// from a saved mask.
#[derive(Clone, Copy)]
pub(crate) struct ClampGate<T> {
    pub center: T,
    pub scale: T,
    pub shift: T,
    pub min: T,
    pub max: T,
}

impl<T: Float> ClampGate<T> {
    /// `g` times the clamp's mask: 1 where it let the value through, else
    /// 0 (the product the clamp's own backward takes, so the same values).
    #[inline(always)]
    fn pass(self, x: T, g: T) -> T {
        let z = (x - self.center) * self.scale + self.shift;
        // `&`, not `&&`, and a product rather than a choice of `g`: no
        // branch, so the loops stay vectorised.
        let inside = if (z > self.min) & (z < self.max) {
            T::one()
        } else {
            T::zero()
        };
        g * inside
    }
}

/// The per-channel sums of the backward pass: `Σ g` and `Σ g (x - mean)`,
/// with `g` gated by each channel's clamp when `gates` are given.
pub(crate) fn channel_grad_sums<T: Float>(
    x: &[T],
    g: &[T],
    layout: ChannelLayout,
    mean: &[T],
    gates: Option<&[ClampGate<T>]>,
) -> Vec<(f64, f64)> {
    map_channels(layout, |ch| {
        let m = mean[ch];
        let blocks = layout.blocks(x, ch).zip(layout.blocks(g, ch));
        let add = |(a, b): (f64, f64), (c, d): (f64, f64)| (a + c, b + d);
        match gates {
            None => blocks
                .map(|(xb, gb)| block_grad_sums(xb, gb, m))
                .fold((0.0, 0.0), add),
            Some(gates) => {
                // The gated gradient of a block first, in a loop of its own
                // (which vectorises; folded into the sums' loop, the mask
                // became a branch per value).
                let gate = gates[ch];
                let mut gated = Vec::new();
                blocks
                    .map(|(xb, gb)| {
                        gated.clear();
                        gated.extend(xb.iter().zip(gb).map(|(&xv, &gv)| gate.pass(xv, gv)));
                        block_grad_sums(xb, &gated, m)
                    })
                    .fold((0.0, 0.0), add)
            }
        }
    })
}

/// `Σ g` and `Σ g (x - m)` over one block, in eight independent lanes
/// each so that the loop vectorizes.
#[inline(always)]
fn block_grad_sums<T: Float>(xb: &[T], gb: &[T], m: T) -> (f64, f64) {
    let (mut lanes_g, mut lanes_gx) = ([T::zero(); 8], [T::zero(); 8]);
    let (xc, gc) = (xb.chunks_exact(8), gb.chunks_exact(8));
    let (tail_g, tail_gx) = xc
        .remainder()
        .iter()
        .zip(gc.remainder())
        .fold((0.0, 0.0), |(sg, sgx), (&xv, &gv)| {
            (sg + gv.as_f64(), sgx + (gv * (xv - m)).as_f64())
        });
    for (xs, gs) in xc.zip(gc) {
        for (((lane_g, lane_gx), &xv), &gv) in lanes_g.iter_mut().zip(lanes_gx.iter_mut()).zip(xs).zip(gs) {
            *lane_g = *lane_g + gv;
            *lane_gx = *lane_gx + gv * (xv - m);
        }
    }
    let total = |lanes: [T; 8]| lanes.iter().map(|l| l.as_f64()).sum::<f64>();
    (total(lanes_g) + tail_g, total(lanes_gx) + tail_gx)
}

/// `dx = a[ch] g + b[ch] (x - m[ch]) + c[ch]`: the input's gradient, whose
/// per-channel coefficients `[a, b, c, m]` the caller derives from the
/// sums of [`channel_grad_sums`], with `g` gated as there.
pub(crate) fn channel_input_grad<T: Float>(
    x: &[T],
    g: &[T],
    layout: ChannelLayout,
    coefficients: &[[T; 4]],
    gates: Option<&[ClampGate<T>]>,
) -> Vec<T> {
    let n = layout.numel();
    assert!(
        x.len() == n && g.len() == n,
        "channel_input_grad: {} and {} values for {layout:?}",
        x.len(),
        g.len()
    );
    let slab = layout.c * layout.s;
    let write = |out: &mut [MaybeUninit<T>]| {
        for_each_sample(out, layout, |i, dst| {
            let (xs, gs) = (&x[i * slab..(i + 1) * slab], &g[i * slab..(i + 1) * slab]);
            for (ch, ((d, xb), gb)) in dst
                .chunks_mut(layout.s.max(1))
                .zip(xs.chunks(layout.s.max(1)))
                .zip(gs.chunks(layout.s.max(1)))
                .enumerate()
            {
                let coefficients = coefficients[ch];
                match gates {
                    None => input_grad_block(d, xb, gb, coefficients, |_, gv| gv),
                    Some(gates) => {
                        let gate = gates[ch];
                        input_grad_block(d, xb, gb, coefficients, move |xv, gv| gate.pass(xv, gv));
                    }
                }
            }
        });
    };
    // SAFETY: every sample's slab is written, channel by channel, value by
    // value (`x` and `g` have the output's length).
    unsafe { written_whole(n, write) }
}

/// `d = a gated(x, g) + b (x - m) + c` over one block.
#[inline(always)]
fn input_grad_block<T: Float>(
    d: &mut [MaybeUninit<T>],
    xb: &[T],
    gb: &[T],
    [a, b, c, m]: [T; 4],
    gated: impl Fn(T, T) -> T,
) {
    for ((o, &xv), &gv) in d.iter_mut().zip(xb).zip(gb) {
        o.write(a * gated(xv, gv) + b * (xv - m) + c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_are_per_channel() {
        // [n = 2, c = 2, s = 2]: channel 0 holds 1, 2, 5, 6; channel 1 3, 4, 7, 8.
        let x = [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
        let layout = ChannelLayout { n: 2, c: 2, s: 2 };
        let moments = channel_moments(&x, layout);
        assert_eq!(moments, vec![(3.5, 4.25), (5.5, 4.25)]);
    }

    #[test]
    fn large_means_lose_nothing_in_f32() {
        let x: Vec<f32> = (0..1000).map(|i| 1.0e4 + (i % 2) as f32).collect();
        let layout = ChannelLayout { n: 10, c: 1, s: 100 };
        let (mean, var) = channel_moments(&x, layout)[0];
        assert_eq!(mean, 10_000.5);
        assert!((var - 0.25).abs() < 1e-12, "{var}");
    }

    #[test]
    fn affine_and_grad_apply_their_channel_coefficients() {
        let x = [1.0f64, 2.0, 3.0, 4.0];
        let layout = ChannelLayout { n: 2, c: 2, s: 1 };
        let out = channel_affine(&x, layout, [&[1.0, 0.0], &[2.0, 10.0], &[1.0, 0.0]], None);
        assert_eq!(out, [1.0, 20.0, 5.0, 40.0]);
        let with_nan = [1.0, f64::NAN, -3.0, 4.0];
        let out = channel_affine(
            &with_nan,
            layout,
            [&[1.0, 0.0], &[2.0, 10.0], &[1.0, 0.0]],
            Some((0.0, 6.0)),
        );
        assert_eq!([out[0], out[2], out[3]], [1.0, 0.0, 6.0]);
        assert!(out[1].is_nan());
        let g = [1.0, 1.0, 2.0, 2.0];
        assert_eq!(
            channel_grad_sums(&x, &g, layout, &[2.0, 3.0], None),
            vec![(3.0, -1.0 + 2.0), (3.0, -1.0 + 2.0)]
        );
        let dx = channel_input_grad(
            &x,
            &g,
            layout,
            &[[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 1.0, 1.0]],
            None,
        );
        assert_eq!(dx, [1.0, 2.0, 2.0, 4.0]);
    }
}
