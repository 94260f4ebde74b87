//! Line charts as PNG for the examples (plotters, with the `nabla` command's
//! bundled font, so that a machine without fonts draws text).

use std::path::Path;

use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

static FONT: &[u8] = include_bytes!("../../../nabla-cli/assets/DejaVuSans.ttf");

/// One line of a chart: its name and its points.
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// One panel: a title, the axes' names, whether each axis is logarithmic, and its lines.
pub struct Panel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub log_x: bool,
    pub log_y: bool,
    pub series: Vec<Series>,
}

const COLOURS: [RGBColor; 4] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
];

fn range(values: impl Iterator<Item = f64>, log: bool) -> (f64, f64) {
    let (low, high) = values
        .filter(|v| v.is_finite() && (!log || *v > 0.0))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
            (l.min(v), h.max(v))
        });
    if log {
        (low / 1.5, high * 1.5)
    } else {
        let pad = ((high - low) * 0.05).max(1e-9);
        (low - pad, high + pad)
    }
}

/// An axis label: powers of ten on a logarithmic axis, plain numbers otherwise.
fn number(v: f64, log: bool) -> String {
    if log && (v.abs() >= 1e4 || v.abs() < 1e-2) {
        format!("{v:.0e}")
    } else if v == v.round() {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

/// Draws `panels` side by side into a PNG at `path`.
///
/// # Panics
/// If the file cannot be drawn or written (these are examples).
pub fn draw(path: &Path, panels: &[Panel]) {
    register_font("sans-serif", FontStyle::Normal, FONT)
        .unwrap_or_else(|_| panic!("the bundled font is invalid"));
    let fail = |e: &dyn std::fmt::Display| -> ! { panic!("cannot draw {}: {e}", path.display()) };
    let root = BitMapBackend::new(path, (560 * panels.len() as u32, 420)).into_drawing_area();
    root.fill(&WHITE).unwrap_or_else(|e| fail(&e));
    for (panel, area) in panels.iter().zip(root.split_evenly((1, panels.len()))) {
        let points = || panel.series.iter().flat_map(|s| s.points.iter());
        let (x0, x1) = range(points().map(|p| p.0), panel.log_x);
        let (y0, y1) = range(points().map(|p| p.1), panel.log_y);
        let mut builder = ChartBuilder::on(&area);
        builder
            .caption(&panel.title, ("sans-serif", 20))
            .margin(14)
            .x_label_area_size(40)
            .y_label_area_size(70);
        // plotters' log and linear axes are different types, hence four arms.
        macro_rules! plot {
            ($x:expr, $y:expr) => {{
                let mut chart = builder
                    .build_cartesian_2d($x, $y)
                    .unwrap_or_else(|e| fail(&e));
                chart
                    .configure_mesh()
                    .x_desc(&panel.x_label)
                    .y_desc(&panel.y_label)
                    .x_label_formatter(&|v| number(*v, panel.log_x))
                    .y_label_formatter(&|v| number(*v, panel.log_y))
                    .label_style(("sans-serif", 14))
                    .draw()
                    .unwrap_or_else(|e| fail(&e));
                for (series, &colour) in panel.series.iter().zip(COLOURS.iter().cycle()) {
                    let visible = series
                        .points
                        .iter()
                        .copied()
                        .filter(|&(x, y)| (!panel.log_x || x > 0.0) && (!panel.log_y || y > 0.0));
                    chart
                        .draw_series(LineSeries::new(visible, colour.stroke_width(2)))
                        .unwrap_or_else(|e| fail(&e))
                        .label(series.name.as_str())
                        .legend(move |(x, y)| {
                            PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
                        });
                }
                chart
                    .configure_series_labels()
                    .position(SeriesLabelPosition::UpperRight)
                    .background_style(WHITE.mix(0.85))
                    .border_style(BLACK)
                    .label_font(("sans-serif", 14))
                    .draw()
                    .unwrap_or_else(|e| fail(&e));
            }};
        }
        match (panel.log_x, panel.log_y) {
            (false, false) => plot!(x0..x1, y0..y1),
            (true, false) => plot!((x0..x1).log_scale(), y0..y1),
            (false, true) => plot!(x0..x1, (y0..y1).log_scale()),
            (true, true) => plot!((x0..x1).log_scale(), (y0..y1).log_scale()),
        }
    }
    root.present().unwrap_or_else(|e| fail(&e));
    println!("wrote {}", path.display());
}
