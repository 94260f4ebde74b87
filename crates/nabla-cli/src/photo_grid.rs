//! A PNG of classified photos: a thumbnail of each, framed green when the
//! prediction is right and red when it is wrong, with the predicted class
//! and its probability beneath.

use std::path::{Path, PathBuf};

use image::imageops::{self, FilterType};
use image::RgbImage;
use nabla::data::imagenet::ImagePreprocess;
use plotters::prelude::*;

use crate::plot::ensure_font;

const THUMB: u32 = 96;
const FRAME: u32 = 3;
const CAPTION: u32 = 20;
const GAP: u32 = 6;
const COLUMNS: u32 = 10;

/// One classified photo.
pub struct Classified {
    /// The photo's file.
    pub path: PathBuf,
    /// The true class's name.
    pub truth: String,
    /// The predicted class's name.
    pub predicted: String,
    /// The predicted class's probability.
    pub probability: f32,
}

/// Draws `photos` (as the model saw them: `preprocess`'s centre crop) in
/// rows of ten into a PNG at `path`, written atomically.
///
/// # Errors
/// A one-line message naming the file that cannot be read, drawn or written.
pub fn write(path: &Path, photos: &[Classified], preprocess: &ImagePreprocess) -> Result<(), String> {
    ensure_font()?;
    let cell = (THUMB + 2 * FRAME + GAP, THUMB + 2 * FRAME + CAPTION + GAP);
    let rows = (photos.len() as u32).div_ceil(COLUMNS).max(1);
    let (width, height) = (COLUMNS * cell.0 + GAP, rows * cell.1 + GAP);
    let mut canvas = RgbImage::from_pixel(width, height, image::Rgb([255, 255, 255]));
    for (i, photo) in photos.iter().enumerate() {
        let image = nabla::data::imagenet::open_image(&photo.path).map_err(|e| e.to_string())?;
        let crop = preprocess.resize_and_crop(&image);
        let thumb = imageops::resize(&crop, THUMB, THUMB, FilterType::Triangle);
        let (x, y) = (
            GAP + (i as u32 % COLUMNS) * cell.0,
            GAP + (i as u32 / COLUMNS) * cell.1,
        );
        let colour = if photo.truth == photo.predicted {
            image::Rgb([40, 160, 60])
        } else {
            image::Rgb([220, 30, 30])
        };
        for dy in 0..THUMB + 2 * FRAME {
            for dx in 0..THUMB + 2 * FRAME {
                canvas.put_pixel(x + dx, y + dy, colour);
            }
        }
        imageops::replace(&mut canvas, &thumb, i64::from(x + FRAME), i64::from(y + FRAME));
    }
    let fail = |e: &dyn std::fmt::Display| format!("cannot draw {}: {e}", path.display());
    let mut pixels = canvas.into_raw();
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (width, height)).into_drawing_area();
        let style = ("sans-serif", 13).into_font().color(&BLACK);
        for (i, photo) in photos.iter().enumerate() {
            let (x, y) = (
                GAP + (i as u32 % COLUMNS) * cell.0,
                GAP + (i as u32 / COLUMNS) * cell.1,
            );
            let caption = format!("{} {:.0}%", photo.predicted, 100.0 * photo.probability);
            root.draw_text(
                &caption,
                &style,
                (x as i32 + 2, (y + THUMB + 2 * FRAME + 3) as i32),
            )
            .map_err(|e| fail(&e))?;
        }
        root.present().map_err(|e| fail(&e))?;
    }
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb8(RgbImage::from_raw(width, height, pixels).expect("the canvas's size"))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| fail(&e))?;
    nabla::fs::write_atomic(path, |w| w.write_all(&png)).map_err(|e| fail(&e))
}
