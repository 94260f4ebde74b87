//! Pictures of tensors as PNG: rows of small images (a digit, kernels,
//! feature maps), each with a caption, drawn with plotters.

use std::path::Path;

use plotters::prelude::*;

use crate::plot::ensure_font;

/// How values become colours.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scale {
    /// Grey levels from black at `low` to white at `high`.
    Grey { low: f32, high: f32 },
    /// Signed values: blue below 0, white at 0, red above, full at `limit`.
    Signed { limit: f32 },
}

impl Scale {
    /// Black for the smallest of `values`, white for the largest.
    pub fn grey_of(values: &[f32]) -> Scale {
        let (low, high) = values
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| {
                (l.min(v), h.max(v))
            });
        Scale::Grey { low, high }
    }

    /// Signed, full colour at the largest magnitude of `values`.
    pub fn signed_of(values: &[f32]) -> Scale {
        Scale::Signed {
            limit: values.iter().fold(0.0f32, |m, v| m.max(v.abs())),
        }
    }

    fn colour(self, v: f32) -> RGBColor {
        match self {
            Scale::Grey { low, high } => {
                let t = if high > low { (v - low) / (high - low) } else { 0.0 };
                let g = (t.clamp(0.0, 1.0) * 255.0).round() as u8;
                RGBColor(g, g, g)
            }
            Scale::Signed { limit } => {
                let t = if limit > 0.0 {
                    (v / limit).clamp(-1.0, 1.0)
                } else {
                    0.0
                };
                let fade = |full: u8| (255.0 - t.abs() * (255.0 - full as f32)).round() as u8;
                if t >= 0.0 {
                    RGBColor(fade(178), fade(24), fade(43))
                } else {
                    RGBColor(fade(33), fade(102), fade(172))
                }
            }
        }
    }
}

/// One image: `height x width` values, row-major, drawn `cell` pixels per value.
pub struct Tile {
    pub caption: String,
    pub values: Vec<f32>,
    pub height: usize,
    pub width: usize,
    pub cell: u32,
    pub scale: Scale,
}

/// A titled row of tiles.
pub struct Row {
    pub title: String,
    pub tiles: Vec<Tile>,
}

const MARGIN: u32 = 16;
const GAP: u32 = 12;
const TITLE: u32 = 30;
const CAPTION: u32 = 22;
/// Tiles per line before a row wraps.
const PER_LINE: usize = 8;

/// The lines of tiles of a row, each at most [`PER_LINE`] long.
fn lines(row: &Row) -> impl Iterator<Item = &[Tile]> {
    row.tiles.chunks(PER_LINE)
}

fn line_height(line: &[Tile]) -> u32 {
    line.iter().map(|t| t.height as u32 * t.cell).max().unwrap_or(0) + CAPTION + GAP
}

fn line_width(line: &[Tile]) -> u32 {
    line.iter().map(|t| t.width as u32 * t.cell + GAP).sum::<u32>()
}

/// Draws `rows` one under the other into a PNG at `path`.
///
/// # Errors
/// A one-line message naming the file when it cannot be drawn or written.
pub fn draw(path: &Path, rows: &[Row]) -> Result<(), String> {
    ensure_font()?;
    let fail = |e: &dyn std::fmt::Display| format!("cannot draw {}: {e}", path.display());
    let width = rows
        .iter()
        .flat_map(lines)
        .map(line_width)
        .max()
        .unwrap_or(0)
        .max(300)
        + 2 * MARGIN;
    let height = rows
        .iter()
        .map(|r| TITLE + lines(r).map(line_height).sum::<u32>())
        .sum::<u32>()
        + 2 * MARGIN;
    let root = BitMapBackend::new(path, (width, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(&e))?;
    let title_style = ("sans-serif", 18).into_font().color(&BLACK);
    let caption_style = ("sans-serif", 14).into_font().color(&BLACK);
    let mut y = MARGIN as i32;
    for row in rows {
        root.draw_text(&row.title, &title_style, (MARGIN as i32, y + 4))
            .map_err(|e| fail(&e))?;
        y += TITLE as i32;
        for line in lines(row) {
            let mut x = MARGIN as i32;
            for tile in line {
                let cell = tile.cell as i32;
                for (i, &v) in tile.values.iter().enumerate() {
                    let (r, c) = ((i / tile.width) as i32, (i % tile.width) as i32);
                    let corner = (x + c * cell, y + r * cell);
                    root.draw(&Rectangle::new(
                        [corner, (corner.0 + cell, corner.1 + cell)],
                        tile.scale.colour(v).filled(),
                    ))
                    .map_err(|e| fail(&e))?;
                }
                let bottom = y + tile.height as i32 * cell;
                root.draw(&Rectangle::new(
                    [(x - 1, y - 1), (x + tile.width as i32 * cell, bottom)],
                    RGBColor(160, 160, 160).stroke_width(1),
                ))
                .map_err(|e| fail(&e))?;
                root.draw_text(&tile.caption, &caption_style, (x, bottom + 4))
                    .map_err(|e| fail(&e))?;
                x += tile.width as i32 * cell + GAP as i32;
            }
            y += line_height(line) as i32;
        }
    }
    root.present().map_err(|e| fail(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_map_their_ends_to_black_white_and_full_colours() {
        let grey = Scale::grey_of(&[2.0, 4.0, 3.0]);
        assert_eq!(grey.colour(2.0), RGBColor(0, 0, 0));
        assert_eq!(grey.colour(4.0), RGBColor(255, 255, 255));
        let signed = Scale::signed_of(&[-0.5, 2.0]);
        assert_eq!(signed.colour(0.0), RGBColor(255, 255, 255));
        assert_eq!(signed.colour(2.0), RGBColor(178, 24, 43));
        assert_eq!(signed.colour(-2.0), RGBColor(33, 102, 172));
    }

    #[test]
    fn draws_a_png_of_the_size_the_rows_need() {
        let path = std::env::temp_dir().join(format!("nabla-picture-{}.png", std::process::id()));
        let tile = |caption: &str| Tile {
            caption: caption.into(),
            values: (0..9).map(|v| v as f32).collect(),
            height: 3,
            width: 3,
            cell: 10,
            scale: Scale::Grey { low: 0.0, high: 8.0 },
        };
        let rows = [Row {
            title: "test".into(),
            tiles: vec![tile("a"), tile("b")],
        }];
        draw(&path, &rows).unwrap();
        let image = image::open(&path).unwrap().to_rgb8();
        let _ = std::fs::remove_file(&path);
        // 300 (the least width) + margins; title + 30 px tiles + caption + gap + margins.
        assert_eq!(image.dimensions(), (300 + 32, 30 + 30 + 22 + 12 + 32));
        // The first tile's top-left value (0) is black, its last (8) white.
        assert_eq!(image.get_pixel(16 + 1, 16 + 30 + 1).0, [0, 0, 0]);
        assert_eq!(image.get_pixel(16 + 25, 16 + 30 + 25).0, [255, 255, 255]);
    }
}
