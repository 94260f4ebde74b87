//! `curves.png`: every metric the training step logged, per epoch, drawn
//! with plotters (loss and accuracy for a classifier).

use std::path::Path;

use nabla::train::EpochSummary;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

/// Points of one line of a chart: (epoch, or step in a step-based run; value).
type Line = Vec<(f64, f64)>;

/// The font is shipped with the binary so that charts have text on a
/// machine without fonts.
static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Registers the bundled font as `sans-serif` (again is harmless).
pub fn ensure_font() -> Result<(), String> {
    register_font("sans-serif", FontStyle::Normal, FONT)
        .map_err(|_| "the bundled font is invalid".to_string())
}

/// Writes a PNG with one panel per metric of `summaries` (the training
/// metrics in order, then any only validation reported), each with its
/// training and validation (test) line; accuracies (`accuracy`,
/// `adv_accuracy`) in percent.
///
/// # Errors
/// A one-line message naming the file when it cannot be drawn or written.
pub fn write_curves(path: &Path, summaries: &[EpochSummary]) -> Result<(), String> {
    ensure_font()?;
    let fail = |e: &dyn std::fmt::Display| format!("cannot draw {}: {e}", path.display());
    let mut names: Vec<&str> = Vec::new();
    for s in summaries {
        for name in s.train.names().chain(s.validation.iter().flat_map(|v| v.names())) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    let width = 500 * names.len().max(1) as u32;
    let root = BitMapBackend::new(path, (width, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(&e))?;
    let areas = root.split_evenly((1, names.len().max(1)));
    let x = |s: &EpochSummary| s.step.map_or(s.epoch as f64 + 1.0, |step| step as f64);
    let x_desc = if summaries.iter().any(|s| s.step.is_some()) {
        "step"
    } else {
        "epoch"
    };
    let last_x = summaries.iter().map(x).fold(1.0, f64::max);
    let series = |f: &dyn Fn(&EpochSummary) -> Option<f64>| -> Line {
        summaries.iter().filter_map(|s| f(s).map(|v| (x(s), v))).collect()
    };
    let panels = names.iter().zip(&areas).map(|(&name, area)| {
        let (title, scale) = if name.ends_with("accuracy") {
            (format!("{name} (%)"), 100.0)
        } else {
            (name.to_string(), 1.0)
        };
        (
            area,
            title,
            series(&|s| s.train_metric(name).map(|v| scale * v)),
            series(&|s| s.val_metric(name).map(|v| scale * v)),
        )
    });
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
            .caption(&title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(35)
            .y_label_area_size(55)
            .build_cartesian_2d(0.5..last_x + 0.5, (low - pad)..(high + pad))
            .map_err(|e| fail(&e))?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .x_labels(6)
            .x_label_formatter(&|v| format!("{v:.0}"))
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(|e| fail(&e))?;
        // A step-based run evaluates on a validation split, an epoch-based
        // one (the image classifiers) on the test set.
        let validation_name = if x_desc == "step" { "validation" } else { "test" };
        for (data, colour, name) in [(train, BLUE, "train"), (validation, RED, validation_name)] {
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
