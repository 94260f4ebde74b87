//! `curves.png`: loss and accuracy per epoch, drawn with plotters.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

/// One epoch's numbers to draw.
#[derive(Clone, Copy, Debug)]
pub struct EpochPoint {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss.
    pub train_loss: f64,
    /// Training accuracy in [0, 1].
    pub train_accuracy: f64,
    /// Validation (test) loss, if measured.
    pub validation_loss: Option<f64>,
    /// Validation (test) accuracy, if measured.
    pub validation_accuracy: Option<f64>,
}

/// Points of one line of a chart: (epoch, value).
type Line = Vec<(f64, f64)>;

/// The font is shipped with the binary so that charts have text on a
/// machine without fonts.
static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

fn ensure_font() -> Result<(), String> {
    register_font("sans-serif", FontStyle::Normal, FONT)
        .map_err(|_| "the bundled font is invalid".to_string())
}

/// Writes a two-panel PNG (loss, accuracy) of `points` to `path`.
///
/// # Errors
/// A one-line message naming the file when it cannot be drawn or written.
pub fn write_curves(path: &Path, points: &[EpochPoint]) -> Result<(), String> {
    ensure_font()?;
    let fail = |e: &dyn std::fmt::Display| format!("cannot draw {}: {e}", path.display());
    let root = BitMapBackend::new(path, (1000, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(&e))?;
    let (left, right) = root.split_horizontally(500);
    let last_epoch = points.iter().map(|p| p.epoch).max().unwrap_or(1).max(1) as f64;
    let series = |f: &dyn Fn(&EpochPoint) -> Option<f64>| -> Line {
        points
            .iter()
            .filter_map(|p| f(p).map(|v| (p.epoch as f64, v)))
            .collect()
    };
    let panels = [
        (
            &left,
            "loss",
            series(&|p| Some(p.train_loss)),
            series(&|p| p.validation_loss),
        ),
        (
            &right,
            "accuracy (%)",
            series(&|p| Some(100.0 * p.train_accuracy)),
            series(&|p| p.validation_accuracy.map(|a| 100.0 * a)),
        ),
    ];
    for (area, title, train, validation) in panels {
        let all: Vec<f64> = train.iter().chain(&validation).map(|&(_, v)| v).collect();
        let (mut low, mut high) = all.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
            (l.min(v), h.max(v))
        });
        if !low.is_finite() {
            (low, high) = (0.0, 1.0);
        }
        let pad = ((high - low) * 0.1).max(1e-3);
        let mut chart = ChartBuilder::on(area)
            .caption(title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(35)
            .y_label_area_size(55)
            .build_cartesian_2d(0.5..last_epoch + 0.5, (low - pad)..(high + pad))
            .map_err(|e| fail(&e))?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(|e| fail(&e))?;
        for (data, colour, name) in [(train, BLUE, "train"), (validation, RED, "test")] {
            if data.is_empty() {
                continue;
            }
            chart
                .draw_series(LineSeries::new(data.clone(), colour.stroke_width(2)))
                .map_err(|e| fail(&e))?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2)));
            chart
                .draw_series(data.iter().map(|&p| Circle::new(p, 3, colour.filled())))
                .map_err(|e| fail(&e))?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(|e| fail(&e))?;
    }
    root.present().map_err(|e| fail(&e))?;
    Ok(())
}
