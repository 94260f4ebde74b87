//! The L2 Lipschitz constant of max pooling: the square root of the largest
//! number of windows that share one input element.
//!
//! Why: for inputs `x`, `y` and a window `W`,
//! `|max_W x - max_W y| <= max_{i in W} |x_i - y_i|`, so
//! `||pool(x) - pool(y)||^2 <= sum_W sum_{i in W} (x_i - y_i)^2
//! = sum_i m_i (x_i - y_i)^2 <= m ||x - y||^2`, where `m_i` counts the
//! windows that contain element `i` and `m` is the largest count. The bound
//! `sqrt(m)` is reached: `x` one at an element in `m` windows and zero
//! elsewhere, `y = 0`. Rows and columns pool independently, so
//! `m = m_h * m_w`, and with dilation 1 each axis has `m <= ceil(k / s)`:
//! 1 for non-overlapping pooling (stride >= kernel, LeNet-5's 2x2), 2 per
//! axis for the 3x3 stride-2 windows of ResNets (constant 2 in 2-D).
//! Padding (`-inf`) never wins a max, so it does not count.

use crate::nn::MaxPool2d;
use crate::ops::pool_output_size;

/// The L2 Lipschitz constant of `pool` on `(H, W)` inputs (see the module
/// documentation), or `None` when the input is too small for one window.
pub(crate) fn max_pool_constant(pool: &MaxPool2d, input: (usize, usize)) -> Option<f64> {
    let o = &pool.options;
    let rows = windows_per_element(
        input.0,
        o.kernel.0,
        o.stride.0,
        o.padding.0,
        o.dilation.0,
        o.ceil_mode,
    )?;
    let columns = windows_per_element(
        input.1,
        o.kernel.1,
        o.stride.1,
        o.padding.1,
        o.dilation.1,
        o.ceil_mode,
    )?;
    Some(((rows * columns) as f64).sqrt())
}

/// The largest number of windows (along one axis) that contain one input
/// position, counted over the actual positions of an input of `size`.
fn windows_per_element(
    size: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    dilation: usize,
    ceil_mode: bool,
) -> Option<usize> {
    let outputs = pool_output_size(size, kernel, stride, padding, dilation, ceil_mode)?;
    let mut count = vec![0usize; size];
    for window in 0..outputs {
        for tap in 0..kernel {
            let padded = window * stride + tap * dilation;
            if let Some(position) = padded.checked_sub(padding).filter(|&p| p < size) {
                count[position] += 1;
            }
        }
    }
    Some(count.into_iter().max().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Pool2dOptions;

    #[test]
    fn non_overlapping_windows_are_one_lipschitz_and_overlapping_ones_count_their_overlap() {
        assert_eq!(max_pool_constant(&MaxPool2d::new(2), (28, 28)), Some(1.0));
        // 3x3 windows at stride 2: an element is in up to 2 windows per axis.
        let resnet = MaxPool2d::new(Pool2dOptions::new(3).stride(2).padding(1));
        assert_eq!(max_pool_constant(&resnet, (8, 8)), Some(2.0));
        // Stride 1, kernel 3: 3 per axis on a large enough input, sqrt(9) = 3.
        let dense = MaxPool2d::new(Pool2dOptions::new(3).stride(1));
        assert_eq!(max_pool_constant(&dense, (10, 10)), Some(3.0));
        // Rectangular: 2 rows x 1 column.
        let tall = MaxPool2d::new(Pool2dOptions::new((3, 2)).stride((2, 2)));
        assert_eq!(max_pool_constant(&tall, (9, 8)), Some(2f64.sqrt()));
        assert_eq!(max_pool_constant(&MaxPool2d::new(5), (3, 3)), None);
    }
}
