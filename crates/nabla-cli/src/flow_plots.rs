//! The pictures of a flow: the density of a 2-D flow as a heat map, its
//! samples scattered over the data (a grid of sampled digits is drawn by
//! [`crate::digit_grid`]).

use std::path::Path;

use nabla::generative::flow::RealNvp;
use nabla::{no_grad, Tensor};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::plot::ensure_font;

/// The square of the plane the 2-D pictures show: `[-LIMIT, LIMIT]` on
/// both axes, in standardised units (the moons fill about [-2, 2]).
const LIMIT: f64 = 3.0;
/// Cells of the heat map along each axis.
const CELLS: usize = 200;

/// Viridis at a few stops, for densities from 0 (dark) to the largest (yellow).
const VIRIDIS: [(u8, u8, u8); 6] = [
    (68, 1, 84),
    (65, 68, 135),
    (42, 120, 142),
    (34, 168, 132),
    (122, 209, 81),
    (253, 231, 37),
];

/// The colour of `t` in [0, 1] on [`VIRIDIS`], interpolated between stops.
fn viridis(t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0) * (VIRIDIS.len() - 1) as f64;
    let (i, f) = (t.floor() as usize, t.fract());
    let (a, b) = (VIRIDIS[i], VIRIDIS[(i + 1).min(VIRIDIS.len() - 1)]);
    let mix = |x: u8, y: u8| (x as f64 + f * (y as f64 - x as f64)).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// The centre of cell `i` of [`CELLS`] along an axis.
fn cell_centre(i: usize) -> f64 {
    -LIMIT + (i as f64 + 0.5) * 2.0 * LIMIT / CELLS as f64
}

/// The flow's density at the centre of every cell, row by row from the
/// bottom (`y = -LIMIT`), `CELLS * CELLS` values.
pub fn density_grid(flow: &RealNvp) -> Vec<f64> {
    let points: Vec<f32> = (0..CELLS * CELLS)
        .flat_map(|k| [cell_centre(k % CELLS) as f32, cell_centre(k / CELLS) as f32])
        .collect();
    let points = Tensor::from_vec(points, &[CELLS * CELLS, 2]);
    let log_p = no_grad(|| flow.log_prob(&points));
    log_p.to_vec().into_iter().map(|l| f64::from(l).exp()).collect()
}

/// A square chart over the picture's square, with its title.
fn chart<'a, 'b>(
    root: &'a DrawingArea<BitMapBackend<'b>, plotters::coord::Shift>,
    title: &str,
) -> Result<ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>, String> {
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(40)
        .build_cartesian_2d(-LIMIT..LIMIT, -LIMIT..LIMIT)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .disable_mesh()
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(|e| e.to_string())?;
    Ok(chart)
}

/// Writes the heat map of `density` (from [`density_grid`]) as a PNG.
///
/// # Errors
/// A one-line message naming the file when it cannot be drawn or written.
pub fn write_density(path: &Path, density: &[f64], title: &str) -> Result<(), String> {
    ensure_font()?;
    let fail = |e: String| format!("cannot draw {}: {e}", path.display());
    let root = BitMapBackend::new(path, (560, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(e.to_string()))?;
    let mut chart = chart(&root, title).map_err(fail)?;
    let top = density.iter().copied().fold(f64::MIN_POSITIVE, f64::max);
    let step = 2.0 * LIMIT / CELLS as f64;
    let cells = density.iter().enumerate().map(|(k, &p)| {
        let (x, y) = (cell_centre(k % CELLS), cell_centre(k / CELLS));
        let corners = [(x - step / 2.0, y - step / 2.0), (x + step / 2.0, y + step / 2.0)];
        Rectangle::new(corners, viridis(p / top).filled())
    });
    chart.draw_series(cells).map_err(|e| fail(e.to_string()))?;
    root.present().map_err(|e| fail(e.to_string()))?;
    Ok(())
}

/// Writes `samples` `[n, 2]` (orange) over `data` `[m, 2]` (grey), if
/// any, as a PNG.
///
/// # Errors
/// A one-line message naming the file when it cannot be drawn or written.
pub fn write_scatter(
    path: &Path,
    data: Option<&Tensor>,
    samples: &Tensor,
    title: &str,
) -> Result<(), String> {
    ensure_font()?;
    let fail = |e: String| format!("cannot draw {}: {e}", path.display());
    let root = BitMapBackend::new(path, (560, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(e.to_string()))?;
    let mut chart = chart(&root, title).map_err(fail)?;
    let points = |t: &Tensor| -> Vec<(f64, f64)> {
        t.to_vec()
            .chunks(2)
            .map(|p| (f64::from(p[0]), f64::from(p[1])))
            .filter(|(x, y)| x.abs() < LIMIT && y.abs() < LIMIT)
            .collect()
    };
    let layers = data
        .map(|d| (points(d), RGBColor(150, 150, 150), "data"))
        .into_iter()
        .chain([(points(samples), RGBColor(230, 97, 1), "samples")]);
    for (points, colour, name) in layers {
        chart
            .draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 2, colour.mix(0.6).filled())),
            )
            .map_err(|e| fail(e.to_string()))?
            .label(name)
            .legend(move |(x, y)| Circle::new((x + 8, y), 4, colour.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(|e| fail(e.to_string()))?;
    root.present().map_err(|e| fail(e.to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viridis_runs_from_purple_to_yellow() {
        assert_eq!(viridis(0.0), RGBColor(68, 1, 84));
        assert_eq!(viridis(1.0), RGBColor(253, 231, 37));
        assert_eq!(viridis(0.1), RGBColor(67, 35, 110)); // half way between the first two stops
    }
}
