//! Grids of grey images as PNG, as torchvision's `save_image` draws them:
//! the images side by side in rows, separated by thin grey lines.

use std::path::Path;

use image::{GrayImage, ImageFormat, Luma};

/// Screen pixels per image pixel.
const ZOOM: u32 = 2;
/// Pixels between images (and around the grid).
const GAP: u32 = 2;
/// The grey of the lines between images.
const GAP_GREY: u8 = 128;

/// Writes `images` (each `side x side` grey levels in [0, 1], row-major,
/// one after the other in `pixels`) as a grid of `columns` images per row,
/// white strokes on black as MNIST is drawn, atomically.
///
/// # Errors
/// A one-line message naming the file when it cannot be written; also when
/// `pixels` is not a whole number of images or there are none.
pub fn write_grid(path: &Path, pixels: &[f32], side: usize, columns: usize) -> Result<(), String> {
    let per_image = side * side;
    if per_image == 0 || pixels.is_empty() || pixels.len() % per_image != 0 || columns == 0 {
        return Err(format!(
            "cannot draw {}: {} values are not whole {side}x{side} images",
            path.display(),
            pixels.len()
        ));
    }
    let count = pixels.len() / per_image;
    let columns = columns.min(count);
    let rows = count.div_ceil(columns);
    let cell = side as u32 * ZOOM;
    let width = columns as u32 * (cell + GAP) + GAP;
    let height = rows as u32 * (cell + GAP) + GAP;
    let mut picture = GrayImage::from_pixel(width, height, Luma([GAP_GREY]));
    for (i, image) in pixels.chunks(per_image).enumerate() {
        let left = (i % columns) as u32 * (cell + GAP) + GAP;
        let top = (i / columns) as u32 * (cell + GAP) + GAP;
        for (p, &v) in image.iter().enumerate() {
            let grey = Luma([(v.clamp(0.0, 1.0) * 255.0).round() as u8]);
            let (r, c) = ((p / side) as u32, (p % side) as u32);
            for dy in 0..ZOOM {
                for dx in 0..ZOOM {
                    picture.put_pixel(left + c * ZOOM + dx, top + r * ZOOM + dy, grey);
                }
            }
        }
    }
    let mut png = Vec::new();
    picture
        .write_to(&mut std::io::Cursor::new(&mut png), ImageFormat::Png)
        .map_err(|e| format!("cannot draw {}: {e}", path.display()))?;
    nabla::fs::write_atomic(path, |file| file.write_all(&png)).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_images_in_rows_with_grey_lines_between() {
        let path = std::env::temp_dir().join(format!("nabla-digits-{}.png", std::process::id()));
        // Three 2x2 images: black, white, and a white top-left pixel.
        let pixels = [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0];
        write_grid(&path, &pixels, 2, 2).unwrap();
        let picture = image::open(&path).unwrap().to_luma8();
        let _ = std::fs::remove_file(&path);
        // 2 columns and 2 rows of 4-pixel cells with 2-pixel gaps.
        assert_eq!(picture.dimensions(), (14, 14));
        assert_eq!(picture.get_pixel(0, 0).0, [GAP_GREY]);
        assert_eq!(picture.get_pixel(2, 2).0, [0]);
        assert_eq!(picture.get_pixel(8, 2).0, [255]);
        assert_eq!(
            (picture.get_pixel(3, 9).0, picture.get_pixel(4, 10).0),
            ([255], [0])
        );
        assert!(write_grid(&path, &pixels[..5], 2, 2)
            .unwrap_err()
            .contains("not whole 2x2 images"));
    }
}
