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
    let mut out = Vec::with_capacity(n);
    let spare = &mut out.spare_capacity_mut()[..n];
    match clamp {
        None => affine_then(x, spare, layout, per_channel, |v| v),
        // The branches of `Tensor::clamp`, so NaN stays NaN.
        Some((lo, hi)) => affine_then(x, spare, layout, per_channel, move |v| {
            if v < lo {
                lo
            } else if v > hi {
                hi
            } else {
                v
            }
        }),
    }
    // SAFETY: `affine_then` wrote all `n` values: every sample's slab of
    // `c s`, channel by channel.
    unsafe { out.set_len(n) };
    out
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

/// The per-channel sums of the backward pass: `Σ g` and `Σ g (x - mean)`.
pub(crate) fn channel_grad_sums<T: Float>(
    x: &[T],
    g: &[T],
    layout: ChannelLayout,
    mean: &[T],
) -> Vec<(f64, f64)> {
    map_channels(layout, |ch| {
        let m = mean[ch];
        layout
            .blocks(x, ch)
            .zip(layout.blocks(g, ch))
            .map(|(xb, gb)| {
                let sum_g = lane_sum(gb, |v| v);
                let mut lanes = [T::zero(); 8];
                let (xc, gc) = (xb.chunks_exact(8), gb.chunks_exact(8));
                let tail: f64 = xc
                    .remainder()
                    .iter()
                    .zip(gc.remainder())
                    .map(|(&xv, &gv)| (gv * (xv - m)).as_f64())
                    .sum();
                for (xs, gs) in xc.zip(gc) {
                    for ((lane, &xv), &gv) in lanes.iter_mut().zip(xs).zip(gs) {
                        *lane = *lane + gv * (xv - m);
                    }
                }
                (sum_g, lanes.iter().map(|l| l.as_f64()).sum::<f64>() + tail)
            })
            .fold((0.0, 0.0), |(a, b), (c, d)| (a + c, b + d))
    })
}

/// `dx = a[ch] g + b[ch] (x - m[ch]) + c[ch]`: the input's gradient, whose
/// per-channel coefficients `[a, b, c, m]` the caller derives from the
/// sums of [`channel_grad_sums`].
pub(crate) fn channel_input_grad<T: Float>(
    x: &[T],
    g: &[T],
    out: &mut [T],
    layout: ChannelLayout,
    coefficients: &[[T; 4]],
) {
    let slab = layout.c * layout.s;
    for_each_sample(out, layout, |i, dst| {
        let (xs, gs) = (&x[i * slab..(i + 1) * slab], &g[i * slab..(i + 1) * slab]);
        for (ch, ((d, xb), gb)) in dst
            .chunks_mut(layout.s.max(1))
            .zip(xs.chunks(layout.s.max(1)))
            .zip(gs.chunks(layout.s.max(1)))
            .enumerate()
        {
            let [a, b, c, m] = coefficients[ch];
            for ((o, &xv), &gv) in d.iter_mut().zip(xb).zip(gb) {
                *o = a * gv + b * (xv - m) + c;
            }
        }
    });
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
        let mut out = channel_affine(
            &with_nan,
            layout,
            [&[1.0, 0.0], &[2.0, 10.0], &[1.0, 0.0]],
            Some((0.0, 6.0)),
        );
        assert_eq!([out[0], out[2], out[3]], [1.0, 0.0, 6.0]);
        assert!(out[1].is_nan());
        let g = [1.0, 1.0, 2.0, 2.0];
        assert_eq!(
            channel_grad_sums(&x, &g, layout, &[2.0, 3.0]),
            vec![(3.0, -1.0 + 2.0), (3.0, -1.0 + 2.0)]
        );
        channel_input_grad(
            &x,
            &g,
            &mut out,
            layout,
            &[[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 1.0, 1.0]],
        );
        assert_eq!(out, [1.0, 2.0, 2.0, 4.0]);
    }
}
