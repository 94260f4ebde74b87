//! Layer normalisation over the last `n` values of every row, forward and
//! backward, one pass per row for each where the composition of
//! reductions and broadcast elementwise ops made a dozen over the whole
//! tensor.
//!
//! A row's mean and variance are taken in `f64` in two passes (the mean,
//! then the squares of the deviations from it), so an `f32` row with a
//! large mean loses nothing to summation error. The backward pass
//! recomputes them from the input rather than saving them.

use rayon::prelude::*;

use super::PARALLEL_THRESHOLD;
use crate::element::Float;

/// Rows a block of the backward pass sums its weight and bias gradients
/// over: blocks, not threads, so the sums are the same on any number of
/// threads.
const BLOCK_ROWS: usize = 64;

/// Running sums of [`lane_sum`]: eight, so that each addition does not
/// wait for the one before (with one running sum, a `[768, 128]` forward
/// pass took 144 µs on two threads; with eight, 71).
const LANES: usize = 8;

/// `Σ f(v)` over `values`, in [`LANES`] running sums.
#[inline(always)]
fn lane_sum<V: Copy>(values: &[V], f: impl Fn(V) -> f64) -> f64 {
    let mut lanes = [0.0f64; LANES];
    let blocks = values.chunks_exact(LANES);
    let tail = blocks.remainder();
    for block in blocks {
        for (lane, &v) in lanes.iter_mut().zip(block) {
            *lane += f(v);
        }
    }
    let [a, b, c, d, e, g, h, i] = lanes;
    ((a + b) + (c + d)) + ((e + g) + (h + i)) + tail.iter().map(|&v| f(v)).sum::<f64>()
}

/// A row's mean and `1 / sqrt(var + eps)`, the variance biased.
fn row_moments<T: Float>(row: &[T], eps: f64) -> (f64, f64) {
    let n = row.len() as f64;
    let mean = lane_sum(row, |v| v.as_f64()) / n;
    let var = lane_sum(row, |v| (v.as_f64() - mean) * (v.as_f64() - mean)) / n;
    (mean, 1.0 / (var + eps).sqrt())
}

/// One row of [`layer_norm_forward`]: `y = (x - mean) / sqrt(var + eps)`
/// times `weight` plus `bias` (`x.len()` values each) where given.
pub(crate) fn normalize_row<T: Float>(
    x: &[T],
    y: &mut [T],
    weight: Option<&[T]>,
    bias: Option<&[T]>,
    eps: f64,
) {
    let (mean, rstd) = row_moments(x, eps);
    for (out, &v) in y.iter_mut().zip(x) {
        *out = T::from_f64((v.as_f64() - mean) * rstd);
    }
    if let Some(w) = weight {
        for (out, &w) in y.iter_mut().zip(w) {
            *out = *out * w;
        }
    }
    if let Some(b) = bias {
        for (out, &b) in y.iter_mut().zip(b) {
            *out = *out + b;
        }
    }
}

/// `(x - mean) / sqrt(var + eps) * weight + bias` for every row of `n`
/// values of `x`, with `weight` and `bias` (`n` values each) where given.
pub(crate) fn layer_norm_forward<T: Float>(
    x: &[T],
    n: usize,
    weight: Option<&[T]>,
    bias: Option<&[T]>,
    eps: f64,
) -> Vec<T> {
    let mut y = vec![T::zero(); x.len()];
    let row = |(x, y): (&[T], &mut [T])| normalize_row(x, y, weight, bias, eps);
    if x.len() >= PARALLEL_THRESHOLD {
        x.par_chunks(n).zip(y.par_chunks_mut(n)).for_each(row);
    } else {
        x.chunks(n).zip(y.chunks_mut(n)).for_each(row);
    }
    y
}

/// The gradients of [`layer_norm_forward`] for the output gradient `dy`:
/// the input's, `rstd (g - mean(g) - x̂ mean(g x̂))` with `g = dy weight`
/// and `x̂` the normalised row, and `Σ dy x̂` and `Σ dy` over the rows
/// (the weight's and the bias's, `n` values each).
pub(crate) fn layer_norm_backward<T: Float>(
    x: &[T],
    dy: &[T],
    n: usize,
    weight: Option<&[T]>,
    eps: f64,
) -> (Vec<T>, Vec<T>, Vec<T>) {
    let mut dx = vec![T::zero(); x.len()];
    let block = |((x, dy), dx): ((&[T], &[T]), &mut [T])| {
        let mut sums = vec![0.0f64; 2 * n];
        let (dw, db) = sums.split_at_mut(n);
        let (mut normalized, mut g) = (vec![0.0f64; n], vec![0.0f64; n]);
        for ((x, dy), dx) in x.chunks(n).zip(dy.chunks(n)).zip(dx.chunks_mut(n)) {
            let (mean, rstd) = row_moments(x, eps);
            for ((xh, gj), (&v, &d)) in normalized.iter_mut().zip(g.iter_mut()).zip(x.iter().zip(dy)) {
                *xh = (v.as_f64() - mean) * rstd;
                *gj = d.as_f64();
            }
            for (j, &d) in dy.iter().enumerate() {
                dw[j] += d.as_f64() * normalized[j];
                db[j] += d.as_f64();
            }
            if let Some(w) = weight {
                for (gj, &w) in g.iter_mut().zip(w) {
                    *gj *= w.as_f64();
                }
            }
            let g_mean = lane_sum(&g, |v| v) / n as f64;
            let gx_mean = lane_dot(&g, &normalized) / n as f64;
            for ((out, &xh), &gj) in dx.iter_mut().zip(&normalized).zip(&g) {
                *out = T::from_f64(rstd * (gj - g_mean - xh * gx_mean));
            }
        }
        sums
    };
    let rows = BLOCK_ROWS * n;
    let blocks: Vec<Vec<f64>> = if x.len() >= PARALLEL_THRESHOLD {
        x.par_chunks(rows)
            .zip(dy.par_chunks(rows))
            .zip(dx.par_chunks_mut(rows))
            .map(block)
            .collect()
    } else {
        x.chunks(rows)
            .zip(dy.chunks(rows))
            .zip(dx.chunks_mut(rows))
            .map(block)
            .collect()
    };
    let mut totals = vec![0.0f64; 2 * n];
    for sums in &blocks {
        for (t, s) in totals.iter_mut().zip(sums) {
            *t += s;
        }
    }
    let (dw, db) = totals.split_at(n);
    let to_t = |v: &[f64]| v.iter().map(|&s| T::from_f64(s)).collect();
    (dx, to_t(dw), to_t(db))
}

/// `Σ a b` over two slices of the same length, in [`LANES`] running sums.
fn lane_dot(a: &[f64], b: &[f64]) -> f64 {
    let mut lanes = [0.0f64; LANES];
    let (blocks_a, blocks_b) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f64 = blocks_a
        .remainder()
        .iter()
        .zip(blocks_b.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (block_a, block_b) in blocks_a.zip(blocks_b) {
        for ((lane, x), y) in lanes.iter_mut().zip(block_a).zip(block_b) {
            *lane += x * y;
        }
    }
    let [p, q, r, s, t, u, v, w] = lanes;
    ((p + q) + (r + s)) + ((t + u) + (v + w)) + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The gradients by central differences of `Σ dy · layer_norm(x)` in
    /// the input, weight and bias, against the backward pass, over 130
    /// rows (three blocks, one partial) of 5 values.
    #[test]
    fn the_backward_pass_is_the_forward_passs_gradient() {
        let (rows, n, eps) = (130, 5, 1e-5);
        let x: Vec<f64> = (0..rows * n)
            .map(|i| ((i * 37) % 23) as f64 / 7.0 - 1.0 + (i / n) as f64)
            .collect();
        let dy: Vec<f64> = (0..rows * n)
            .map(|i| ((i * 11) % 13) as f64 / 6.0 - 1.0)
            .collect();
        let w: Vec<f64> = (0..n).map(|j| 0.5 + j as f64 / 4.0).collect();
        let b: Vec<f64> = (0..n).map(|j| j as f64 / 3.0 - 0.5).collect();
        let loss = |x: &[f64], w: &[f64], b: &[f64]| -> f64 {
            let y = layer_norm_forward(x, n, Some(w), Some(b), eps);
            y.iter().zip(&dy).map(|(y, d)| y * d).sum()
        };
        let (dx, dw, db) = layer_norm_backward(&x, &dy, n, Some(&w), eps);
        let h = 1e-6;
        let central = |f: &dyn Fn(f64) -> f64| (f(h) - f(-h)) / (2.0 * h);
        for i in [0, 3, 64 * n + 2, rows * n - 1] {
            let shifted = |s: f64| {
                let mut x = x.clone();
                x[i] += s;
                loss(&x, &w, &b)
            };
            assert!((central(&shifted) - dx[i]).abs() < 1e-6, "dx[{i}]");
        }
        for j in 0..n {
            let by_w = |s: f64| {
                let mut w = w.clone();
                w[j] += s;
                loss(&x, &w, &b)
            };
            let by_b = |s: f64| {
                let mut b = b.clone();
                b[j] += s;
                loss(&x, &w, &b)
            };
            assert!((central(&by_w) - dw[j]).abs() < 1e-5, "dw[{j}]");
            assert!((central(&by_b) - db[j]).abs() < 1e-5, "db[{j}]");
        }
    }
}
