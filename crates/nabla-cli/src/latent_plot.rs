//! A scatter plot of 2-D latent codes, coloured by class, with a legend.

use std::path::Path;

use plotters::prelude::*;

use crate::plot::ensure_font;

/// Matplotlib's ten category colours (`tab10`).
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Writes a PNG of the points `codes` (pairs, one per example) coloured by
/// their `labels`, with a legend of `class_names`, under `title`.
///
/// # Errors
/// A one-line message naming the file when it cannot be drawn or written.
pub fn write_scatter(
    path: &Path,
    title: &str,
    codes: &[[f32; 2]],
    labels: &[usize],
    class_names: &[String],
) -> Result<(), String> {
    ensure_font()?;
    let fail = |e: &dyn std::fmt::Display| format!("cannot draw {}: {e}", path.display());
    let range = |axis: usize| {
        let (low, high) = codes
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), c| {
                (l.min(c[axis]), h.max(c[axis]))
            });
        let (low, high) = if low.is_finite() && high > low {
            (low, high)
        } else {
            (-1.0, 1.0)
        };
        let pad = 0.05 * (high - low);
        f64::from(low - pad)..f64::from(high + pad)
    };
    let root = BitMapBackend::new(path, (760, 640)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(35)
        .y_label_area_size(45)
        .build_cartesian_2d(range(0), range(1))
        .map_err(|e| fail(&e))?;
    chart
        .configure_mesh()
        .x_desc("z1")
        .y_desc("z2")
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(|e| fail(&e))?;
    for (class, name) in class_names.iter().enumerate() {
        let colour = PALETTE[class % PALETTE.len()];
        let points = codes
            .iter()
            .zip(labels)
            .filter(|(_, &l)| l == class)
            .map(|(c, _)| Circle::new((f64::from(c[0]), f64::from(c[1])), 2, colour.mix(0.6).filled()));
        chart
            .draw_series(points)
            .map_err(|e| fail(&e))?
            .label(name.as_str())
            .legend(move |(x, y)| Circle::new((x + 6, y), 5, colour.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(|e| fail(&e))?;
    root.present().map_err(|e| fail(&e))?;
    Ok(())
}
