//! The course's hand-made kernels (section 5.2.2) and its convolution.
//!
//! The course defines the convolution of two matrices with the kernel
//! flipped, A * B = sum a_(m-i+1, n-j+1) b_(i, j) (formula 5.2.1), while
//! `conv2d`, like PyTorch's, is a cross-correlation (no flip). For the
//! symmetric Gaussian kernel the two agree; for Sobel they differ in sign,
//! which [`convolve2d`] takes care of.

use crate::element::Float;
use crate::ops::Conv2dOptions;
use crate::tensor::Tensor;

fn kernel<T: Float>(values: [f64; 9], scale: f64) -> Tensor<T> {
    Tensor::from_vec(
        values.iter().map(|&v| T::from_f64(v * scale)).collect(),
        &[1, 1, 3, 3],
    )
}

/// The Gaussian blur G = 1/16 [[1, 2, 1], [2, 4, 2], [1, 2, 1]], shape `[1, 1, 3, 3]`.
pub fn gaussian_blur<T: Float>() -> Tensor<T> {
    kernel([1.0, 2.0, 1.0, 2.0, 4.0, 2.0, 1.0, 2.0, 1.0], 1.0 / 16.0)
}

/// The Sobel operator S_x = [[+1, 0, -1], [+2, 0, -2], [+1, 0, -1]], shape `[1, 1, 3, 3]`.
pub fn sobel_x<T: Float>() -> Tensor<T> {
    kernel([1.0, 0.0, -1.0, 2.0, 0.0, -2.0, 1.0, 0.0, -1.0], 1.0)
}

/// The Sobel operator S_y = S_x^T = [[+1, +2, +1], [0, 0, 0], [-1, -2, -1]], shape `[1, 1, 3, 3]`.
pub fn sobel_y<T: Float>() -> Tensor<T> {
    kernel([1.0, 2.0, 1.0, 0.0, 0.0, 0.0, -1.0, -2.0, -1.0], 1.0)
}

/// The course's kernel convolution (formula 5.2.1, kernel flipped) of
/// images `[N, C, H, W]` with kernels `[C', C, K, K]`, zero-padded by
/// `padding`: output `[N, C', H - K + 1 + 2 padding, ...]`.
///
/// With the course's sign convention, `S_x` measures how much brighter the
/// image gets to the right (a vertical edge, dark on the left, responds
/// positively):
///
/// ```
/// use nabla::nn::filters::{convolve2d, sobel_x};
/// use nabla::Tensor;
/// // 4x4 image: left half 0, right half 1.
/// let image = Tensor::from_vec(vec![0.0f32, 0.0, 1.0, 1.0].repeat(4), &[1, 1, 4, 4]);
/// let edges = convolve2d(&image, &sobel_x(), 0);
/// assert_eq!(edges.to_vec(), vec![4.0, 4.0, 4.0, 4.0]);
/// ```
pub fn convolve2d<T: Float>(images: &Tensor<T>, kernels: &Tensor<T>, padding: usize) -> Tensor<T> {
    images.conv2d(
        &kernels.flip(&[2, 3]),
        None,
        Conv2dOptions::default().padding(padding),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blur_keeps_a_constant_image_constant_inside() {
        let image = Tensor::<f64>::full(&[1, 1, 6, 7], 0.7);
        let blurred = convolve2d(&image, &gaussian_blur(), 0);
        assert_eq!(blurred.shape(), &[1, 1, 4, 5]);
        for v in blurred.to_vec() {
            assert!((v - 0.7).abs() < 1e-15);
        }
        // The interior's sum is preserved: 20 pixels of 0.7.
        assert!((blurred.sum().item() - 20.0 * 0.7).abs() < 1e-12);
    }

    #[test]
    fn sobel_x_sees_vertical_edges_and_not_horizontal_ones() {
        // Vertical edge: columns 0-2 dark, 3-5 bright.
        let vertical: Vec<f64> = (0..36).map(|i| if i % 6 >= 3 { 1.0 } else { 0.0 }).collect();
        let vertical = Tensor::from_vec(vertical, &[1, 1, 6, 6]);
        // Horizontal edge: rows 0-2 dark, 3-5 bright.
        let horizontal = vertical.transpose(2, 3).contiguous();
        let on_vertical = convolve2d(&vertical, &sobel_x(), 0);
        let on_horizontal = convolve2d(&horizontal, &sobel_x(), 0);
        // Dark-to-bright going right gives +4 at the edge (1 + 2 + 1).
        assert_eq!(on_vertical.max().item(), 4.0);
        assert_eq!(on_vertical.min().item(), 0.0);
        assert_eq!(on_horizontal.abs().max().item(), 0.0);
        // S_y, its transpose, does the opposite: +4 going down into brightness.
        let sy_on_horizontal = convolve2d(&horizontal, &sobel_y(), 0);
        assert_eq!(sy_on_horizontal.max().item(), 4.0);
        assert_eq!(convolve2d(&vertical, &sobel_y(), 0).abs().max().item(), 0.0);
        // PyTorch's cross-correlation gives the opposite sign for S_x.
        let correlated = vertical.conv2d(&sobel_x(), None, Conv2dOptions::default());
        assert_eq!(correlated.min().item(), -4.0);
    }
}
