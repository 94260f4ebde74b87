//! Pillow's bilinear resize of 8-bit images (`Image.resize(size,
//! Image.BILINEAR)`, libImaging/Resample.c), reproduced to the bit: the
//! resize torchvision's `Resize` applies to PIL images.
//!
//! Each axis is a convolution with a triangle filter whose support grows
//! with the downscaling factor (antialiasing); the weights of each output
//! pixel are normalised to sum to one, then turned into fixed point with 22
//! fractional bits. The horizontal pass runs first and rounds to 8 bits,
//! then the vertical pass. Only the output pixels of a window are computed,
//! so a centre crop costs no more than the crop.

/// Fractional bits of the fixed-point weights: 32 - 8 - 2, as Pillow (8 bits
/// of result, 2 for the overflow of filters with negative lobes).
const PRECISION_BITS: u32 = 32 - 8 - 2;

/// The fixed-point weights of one output pixel along one axis: input
/// positions `start..start + weights.len()`.
struct Taps {
    start: usize,
    weights: Vec<i32>,
}

/// The triangle filter of support 1 (Pillow's `bilinear_filter`).
fn triangle(x: f64) -> f64 {
    let x = x.abs();
    if x < 1.0 {
        1.0 - x
    } else {
        0.0
    }
}

/// Pillow's `precompute_coeffs` followed by `normalize_coeffs_8bpc`, for
/// the output positions `window` of an axis resized from `in_size` to
/// `out_size`. The arithmetic (double precision, the same operations in the
/// same order, C's truncating casts) is Pillow's, so the weights are too.
fn taps(in_size: usize, out_size: usize, window: std::ops::Range<usize>) -> Vec<Taps> {
    let scale = in_size as f64 / out_size as f64;
    let filter_scale = scale.max(1.0);
    let support = filter_scale; // the triangle's support (1) times the scale
    let inverse = 1.0 / filter_scale;
    window
        .map(|xx| {
            let center = (xx as f64 + 0.5) * scale;
            // `(int)` truncates toward zero; a negative start is clamped anyway.
            let xmin = ((center - support + 0.5) as i64).max(0) as usize;
            let xmax = ((center + support + 0.5) as i64).min(in_size as i64) as usize;
            let raw: Vec<f64> = (xmin..xmax)
                .map(|x| triangle((x as f64 - center + 0.5) * inverse))
                .collect();
            let total: f64 = raw.iter().sum();
            let one = f64::from(1u32 << PRECISION_BITS);
            let weights = raw
                .iter()
                .map(|&w| {
                    let w = if total != 0.0 { w / total } else { w };
                    if w < 0.0 {
                        (-0.5 + w * one) as i32
                    } else {
                        (0.5 + w * one) as i32
                    }
                })
                .collect();
            Taps { start: xmin, weights }
        })
        .collect()
}

/// Pillow's `clip8`: the fixed-point sum back to 0..=255.
fn clip8(sum: i32) -> u8 {
    (sum >> PRECISION_BITS).clamp(0, 255) as u8
}

/// One output value: `values` (a strided run of one channel) against `taps`.
fn convolve(taps: &Taps, value: impl Fn(usize) -> u8) -> u8 {
    let mut sum: i32 = 1 << (PRECISION_BITS - 1);
    for (i, &w) in taps.weights.iter().enumerate() {
        sum += i32::from(value(taps.start + i)) * w;
    }
    clip8(sum)
}

/// The window `columns` x `rows` of the RGB image `pixels` (`width` x
/// `height`, interleaved, row-major) resized to `out_width` x `out_height`
/// with Pillow's bilinear filter: `rows.len() * columns.len() * 3` bytes,
/// interleaved, row-major.
///
/// # Panics
/// If a size is zero, `pixels` is not `width * height * 3` bytes, or the
/// window is outside the output.
pub(super) fn resize_rgb_window(
    pixels: &[u8],
    (width, height): (usize, usize),
    (out_width, out_height): (usize, usize),
    columns: std::ops::Range<usize>,
    rows: std::ops::Range<usize>,
) -> Vec<u8> {
    assert!(
        width > 0 && height > 0 && out_width > 0 && out_height > 0,
        "resize: empty image ({width}x{height} to {out_width}x{out_height})"
    );
    assert_eq!(
        pixels.len(),
        width * height * 3,
        "resize: {width}x{height} RGB pixels"
    );
    assert!(
        columns.end <= out_width && rows.end <= out_height,
        "resize: window {columns:?} x {rows:?} outside the {out_width}x{out_height} output"
    );
    let horizontal = taps(width, out_width, columns.clone());
    let vertical = taps(height, out_height, rows);
    // The input rows the vertical pass reads (Pillow's ybox_first..ybox_last).
    let first_row = vertical.iter().map(|t| t.start).min().unwrap_or(0);
    let end_row = vertical
        .iter()
        .map(|t| t.start + t.weights.len())
        .max()
        .unwrap_or(0);
    let out_columns = columns.len();
    // Horizontal pass, rounded to 8 bits as Pillow's intermediate image.
    let mut temp = vec![0u8; (end_row - first_row) * out_columns * 3];
    for (r, y) in (first_row..end_row).enumerate() {
        let row = &pixels[y * width * 3..(y + 1) * width * 3];
        for (c, t) in horizontal.iter().enumerate() {
            for channel in 0..3 {
                temp[(r * out_columns + c) * 3 + channel] = convolve(t, |x| row[x * 3 + channel]);
            }
        }
    }
    // Vertical pass.
    let mut out = vec![0u8; vertical.len() * out_columns * 3];
    for (r, t) in vertical.iter().enumerate() {
        for c in 0..out_columns {
            for channel in 0..3 {
                out[(r * out_columns + c) * 3 + channel] =
                    convolve(t, |y| temp[((y - first_row) * out_columns + c) * 3 + channel]);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_size_is_the_identity() {
        let pixels: Vec<u8> = (0..5 * 4 * 3).map(|i| (i * 37 % 256) as u8).collect();
        assert_eq!(resize_rgb_window(&pixels, (5, 4), (5, 4), 0..5, 0..4), pixels);
    }

    #[test]
    fn halving_uses_pillows_weights_and_rounding() {
        // 4 -> 2: support 2, the first centre at 1.0; inputs 0, 1, 2 sit at
        // distances 0.25, 0.25, 0.75 (in units of the support), weights 3/7, 3/7, 1/7.
        let t = taps(4, 2, 0..2);
        assert_eq!((t[0].start, t[1].start), (0, 1));
        assert_eq!(t[0].weights, [1_797_559, 1_797_559, 599_186]);
        let grey = |v: u8| [v, v, v];
        let row: Vec<u8> = [0, 100, 200, 255].into_iter().flat_map(grey).collect();
        // Pillow: Image.fromarray(row).resize((2, 1), Image.BILINEAR) is [71, 209].
        let out = resize_rgb_window(&row, (4, 1), (2, 1), 0..2, 0..1);
        assert_eq!(out, [71, 71, 71, 209, 209, 209]);
    }

    #[test]
    fn a_window_equals_the_same_pixels_of_the_full_resize() {
        let (w, h) = (37, 23);
        let pixels: Vec<u8> = (0..w * h * 3).map(|i| ((i * 7919) % 251) as u8).collect();
        let full = resize_rgb_window(&pixels, (w, h), (61, 40), 0..61, 0..40);
        let window = resize_rgb_window(&pixels, (w, h), (61, 40), 10..30, 5..17);
        for (r, y) in (5..17).enumerate() {
            let want = &full[(y * 61 + 10) * 3..(y * 61 + 30) * 3];
            assert_eq!(&window[r * 20 * 3..(r + 1) * 20 * 3], want, "row {y}");
        }
    }
}
