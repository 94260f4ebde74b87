//! Grids of generated digits as PNG, and an animated GIF of such grids
//! (one frame per epoch of a GAN run).

use std::path::Path;

use image::GrayImage;
use nabla::Tensor;

/// Pixels between two digits (and around the grid), in the dark grey of
/// the background.
const GAP: u32 = 2;
/// Each pixel of a digit is drawn as a square of this side.
const SCALE: u32 = 2;
/// The colour of the gaps.
const GAP_GREY: u8 = 64;

/// The digits `[N, 1, H, W]` (pixels in [0, 1], clamped) as one grey image,
/// `columns` to a row, white on black, each pixel drawn `SCALE` x `SCALE`.
///
/// # Panics
/// If `images` is not `[N, 1, H, W]` with N at least 1, or `columns` is 0.
pub fn grid(images: &Tensor, columns: usize) -> GrayImage {
    let shape = images.shape();
    assert!(
        shape.len() == 4 && shape[0] > 0 && shape[1] == 1 && columns > 0,
        "grid: images {shape:?} (expected [N, 1, H, W]), {columns} columns"
    );
    let (n, h, w) = (shape[0], shape[2], shape[3]);
    let rows = n.div_ceil(columns);
    let cell = |size: usize| size as u32 * SCALE + GAP;
    let (width, height) = (GAP + columns as u32 * cell(w), GAP + rows as u32 * cell(h));
    let mut picture = GrayImage::from_pixel(width, height, image::Luma([GAP_GREY]));
    let values = images.to_vec();
    for (k, digit) in values.chunks(h * w).enumerate() {
        let (left, top) = (
            GAP + (k % columns) as u32 * cell(w),
            GAP + (k / columns) as u32 * cell(h),
        );
        for (i, &v) in digit.iter().enumerate() {
            let grey = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
            let (x, y) = (left + (i % w) as u32 * SCALE, top + (i / w) as u32 * SCALE);
            for dy in 0..SCALE {
                for dx in 0..SCALE {
                    picture.put_pixel(x + dx, y + dy, image::Luma([grey]));
                }
            }
        }
    }
    picture
}

/// Writes the digits `[N, 1, H, W]` (pixels in [0, 1]) as a PNG [`grid`]
/// of `columns` columns, atomically.
///
/// # Errors
/// A one-line message naming the file, also when `images` is not
/// `[N, 1, H, W]` with N at least 1.
pub fn write_grid(path: &Path, images: &Tensor, columns: usize) -> Result<(), String> {
    let shape = images.shape();
    if shape.len() != 4 || shape[0] == 0 || shape[1] != 1 {
        return Err(format!(
            "cannot draw {}: images of shape {shape:?}, not [N, 1, H, W]",
            path.display()
        ));
    }
    write_png(path, &grid(images, columns.max(1)))
}

/// Writes `picture` as a PNG, atomically.
///
/// # Errors
/// A one-line message naming the file.
pub fn write_png(path: &Path, picture: &GrayImage) -> Result<(), String> {
    let mut bytes = Vec::new();
    picture
        .write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)
        .map_err(|e| format!("cannot encode {}: {e}", path.display()))?;
    nabla::fs::write_atomic(path, |w| w.write_all(&bytes)).map_err(|e| e.to_string())
}

/// Writes `frames` (grey images of one size) as an animated GIF that loops
/// forever, each frame shown `delay_centiseconds` and the last one four
/// times as long, atomically.
///
/// # Errors
/// A one-line message naming the file; frames of different sizes.
pub fn write_gif(path: &Path, frames: &[GrayImage], delay_centiseconds: u16) -> Result<(), String> {
    let fail = |e: &dyn std::fmt::Display| format!("cannot write {}: {e}", path.display());
    let Some(first) = frames.first() else {
        return Err(fail(&"no frames"));
    };
    let (width, height) = first.dimensions();
    if frames.iter().any(|f| f.dimensions() != (width, height)) {
        return Err(fail(&"the frames differ in size"));
    }
    let to_u16 = |v: u32| u16::try_from(v).map_err(|_| fail(&"a frame is wider than 65,535 pixels"));
    // A grey palette: a pixel's grey level is its palette index.
    let palette: Vec<u8> = (0..=255u8).flat_map(|g| [g, g, g]).collect();
    let mut bytes = Vec::new();
    {
        let mut encoder =
            gif::Encoder::new(&mut bytes, to_u16(width)?, to_u16(height)?, &palette).map_err(|e| fail(&e))?;
        encoder.set_repeat(gif::Repeat::Infinite).map_err(|e| fail(&e))?;
        for (i, picture) in frames.iter().enumerate() {
            let frame = gif::Frame {
                width: to_u16(width)?,
                height: to_u16(height)?,
                buffer: std::borrow::Cow::Borrowed(picture.as_raw()),
                delay: if i + 1 == frames.len() {
                    4 * delay_centiseconds
                } else {
                    delay_centiseconds
                },
                ..gif::Frame::default()
            };
            encoder.write_frame(&frame).map_err(|e| fail(&e))?;
        }
    }
    nabla::fs::write_atomic(path, |w| w.write_all(&bytes)).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grid_has_its_digits_in_place_between_grey_gaps() {
        let path = std::env::temp_dir().join(format!("nabla-digit-grid-{}.png", std::process::id()));
        // Three 2x2 digits: white, black, and a white top-left pixel.
        let images = Tensor::from_vec(
            [vec![1.0f32; 4], vec![0.0; 4], vec![1.0, 0.0, 0.0, 0.0]].concat(),
            &[3, 1, 2, 2],
        );
        write_grid(&path, &images, 2).unwrap();
        let picture = image::open(&path).unwrap().to_luma8();
        let _ = std::fs::remove_file(&path);
        // 2 columns and 2 rows of 4x4-pixel cells with gaps of 2.
        assert_eq!(picture.dimensions(), (2 + 2 * 6, 2 + 2 * 6));
        assert_eq!(picture.get_pixel(0, 0).0, [GAP_GREY]);
        assert_eq!(picture.get_pixel(2, 2).0, [255]);
        assert_eq!(picture.get_pixel(8, 2).0, [0]);
        assert_eq!(
            (picture.get_pixel(3, 9).0, picture.get_pixel(4, 10).0),
            ([255], [0])
        );
        assert!(write_grid(&path, &Tensor::zeros(&[3, 4]), 2)
            .unwrap_err()
            .contains("images of shape [3, 4], not [N, 1, H, W]"));
    }
}
