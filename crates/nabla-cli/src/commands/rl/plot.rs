//! `returns.png`: episodic returns over environment steps.

use std::path::Path;

use plotters::prelude::*;

/// Draws each episode's return at the step it ended (grey dots), their
/// moving average over 20 episodes (blue), the greedy evaluations made
/// during training (green triangles: DQN's, which pick the network
/// returned), and the environment's reward threshold (red, dashed), titled
/// with the run.
///
/// # Errors
/// A one-line message naming the file when it cannot be drawn or written.
pub fn write_returns(
    path: &Path,
    title: &str,
    episodes: &[(usize, f64)],
    evaluations: &[(usize, f64)],
    threshold: Option<f64>,
) -> Result<(), String> {
    crate::plot::ensure_font()?;
    let fail = |e: &dyn std::fmt::Display| format!("cannot draw {}: {e}", path.display());
    let root = BitMapBackend::new(path, (800, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(&e))?;
    let last_step = episodes.last().map_or(1, |&(s, _)| s).max(1) as f64;
    let values = episodes
        .iter()
        .chain(evaluations)
        .map(|&(_, r)| r)
        .chain(threshold);
    let (low, high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
        (l.min(v), h.max(v))
    });
    let (low, high) = if low.is_finite() { (low, high) } else { (0.0, 1.0) };
    let pad = ((high - low) * 0.05).max(1e-3);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..last_step, (low - pad)..(high + pad))
        .map_err(|e| fail(&e))?;
    chart
        .configure_mesh()
        .x_desc("environment steps")
        .y_desc("episodic return")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(|e| fail(&e))?;
    let grey = RGBColor(170, 170, 170);
    chart
        .draw_series(
            episodes
                .iter()
                .map(|&(s, r)| Circle::new((s as f64, r), 2, grey.filled())),
        )
        .map_err(|e| fail(&e))?
        .label("episode")
        .legend(move |(x, y)| Circle::new((x + 9, y), 3, grey.filled()));
    let window = 20;
    let average: Vec<(f64, f64)> = (0..episodes.len())
        .map(|i| {
            let from = (i + 1).saturating_sub(window);
            let slice = &episodes[from..=i];
            (
                episodes[i].0 as f64,
                slice.iter().map(|&(_, r)| r).sum::<f64>() / slice.len() as f64,
            )
        })
        .collect();
    chart
        .draw_series(LineSeries::new(average, BLUE.stroke_width(2)))
        .map_err(|e| fail(&e))?
        .label("mean of the last 20")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLUE.stroke_width(2)));
    if !evaluations.is_empty() {
        let green = RGBColor(0, 150, 60);
        chart
            .draw_series(
                evaluations
                    .iter()
                    .map(|&(s, r)| TriangleMarker::new((s as f64, r), 7, green.filled())),
            )
            .map_err(|e| fail(&e))?
            .label("greedy evaluation")
            .legend(move |(x, y)| TriangleMarker::new((x + 9, y), 5, green.filled()));
    }
    if let Some(t) = threshold {
        chart
            .draw_series(DashedLineSeries::new(
                vec![(0.0, t), (last_step, t)],
                8,
                6,
                RED.stroke_width(2),
            ))
            .map_err(|e| fail(&e))?
            .label(format!("threshold {t}"))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], RED.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(|e| fail(&e))?;
    root.present().map_err(|e| fail(&e))
}
