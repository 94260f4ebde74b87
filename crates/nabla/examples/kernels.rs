//! The course's hand-made kernels (section 5.2.2) on an image: the Gaussian
//! blur and the Sobel operators, applied with `conv2d`, written as PNG files.
//!
//! Run with `cargo run --release -p nabla --example kernels [OUT_DIR]`
//! (default `target/kernels`).

use std::path::{Path, PathBuf};

use image::{GrayImage, Luma};
use nabla::nn::filters::{convolve2d, gaussian_blur, sobel_x, sobel_y};
use nabla::Tensor;

/// A 96x96 test picture: a bright disk and a tilted square on a shaded
/// background, so that edges run in every direction.
fn test_image() -> Tensor {
    let n = 96;
    let mut pixels = Vec::with_capacity(n * n);
    for y in 0..n {
        for x in 0..n {
            let (fx, fy) = (x as f32, y as f32);
            let background = 0.2 + 0.2 * fx / n as f32;
            let in_disk = (fx - 30.0).powi(2) + (fy - 34.0).powi(2) < 18.0f32.powi(2);
            let (u, v) = (
                (fx - 64.0) * 0.8 + (fy - 62.0) * 0.6,
                -(fx - 64.0) * 0.6 + (fy - 62.0) * 0.8,
            );
            let in_square = u.abs() < 16.0 && v.abs() < 16.0;
            pixels.push(if in_disk {
                0.95
            } else if in_square {
                0.7
            } else {
                background
            });
        }
    }
    Tensor::from_vec(pixels, &[1, 1, n, n])
}

/// Writes a `[1, 1, H, W]` tensor as an 8-bit grey PNG, mapping `[low, high]` to `[0, 255]`.
fn write_png(t: &Tensor, low: f32, high: f32, path: &Path) {
    let (h, w) = (t.shape()[2], t.shape()[3]);
    let values = t.to_vec();
    let image = GrayImage::from_fn(w as u32, h as u32, |x, y| {
        let v = (values[y as usize * w + x as usize] - low) / (high - low);
        Luma([(v.clamp(0.0, 1.0) * 255.0).round() as u8])
    });
    image
        .save(path)
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    println!("wrote {}", path.display());
}

fn main() {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "target/kernels".into()));
    std::fs::create_dir_all(&out).unwrap_or_else(|e| panic!("cannot create {}: {e}", out.display()));
    let image = test_image();
    // Padding 1 keeps the 3x3 kernels' outputs the size of the input.
    let blurred = convolve2d(&image, &gaussian_blur(), 1);
    let gx = convolve2d(&image, &sobel_x(), 1);
    let gy = convolve2d(&image, &sobel_y(), 1);
    let magnitude = (&gx.square() + &gy.square()).sqrt();
    write_png(&image, 0.0, 1.0, &out.join("input.png"));
    write_png(&blurred, 0.0, 1.0, &out.join("gaussian_blur.png"));
    // Derivatives are signed: grey is 0, white positive, black negative.
    write_png(&gx, -4.0, 4.0, &out.join("sobel_x.png"));
    write_png(&gy, -4.0, 4.0, &out.join("sobel_y.png"));
    write_png(&magnitude, 0.0, 4.0, &out.join("sobel_magnitude.png"));
}
