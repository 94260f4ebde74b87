//! `nabla sample` for the flows: a `realnvp` checkpoint's samples, exact
//! draws through the inverse flow. A multi-scale flow draws a grid of
//! digits (or, with `--interpolate`, rows along straight lines between two
//! latent points); a 2-D flow draws a scatter of points, over the two
//! moons it trained on when its record says so.

use nabla::data::TwoMoons;
use nabla::generative::flow::{load_realnvp, FlowModel};
use nabla::{no_grad, Generator, Tensor};

use super::sample::{interpolation_rows, Args, ROW};
use super::train::{moons, TRAINING_KEY};
use crate::digit_grid::write_grid;
use crate::flow_plots::write_scatter;
use crate::output::say;

/// Draws `--n` samples (default 64) and writes the PNG.
pub fn run(args: &Args) -> Result<(), String> {
    let n = args.n.unwrap_or(64);
    let flow = load_realnvp(&args.checkpoint).map_err(|e| e.to_string())?;
    let mut noise = Generator::new(args.seed);
    let drawn = match &flow {
        FlowModel::MultiScale(multi) => {
            let (images, columns) = if args.interpolate {
                let z = interpolation_rows(n.div_ceil(ROW), multi.config().dimensions(), &mut noise);
                (no_grad(|| multi.inverse(&z)).clamp(Some(0.0), Some(1.0)), ROW)
            } else {
                (multi.sample(n, &mut noise), (n as f64).sqrt().ceil() as usize)
            };
            write_grid(&args.out, &images, columns)?;
            format!("{} digits", images.shape()[0])
        }
        FlowModel::Dense(dense) => {
            if args.interpolate {
                return Err(format!(
                    "{} holds a flow on points: --interpolate draws rows of digits, from a flow on mnist",
                    args.checkpoint.display()
                ));
            }
            let points = dense.sample(n, &mut noise);
            let moons = trained_on_moons(&args.checkpoint);
            let title = if moons.is_some() {
                "RealNVP samples over the data"
            } else {
                "RealNVP samples"
            };
            let data = moons.map(|m| Tensor::cat(&[&m.train, &m.validation], 0));
            write_scatter(&args.out, data.as_ref(), &points, title)?;
            format!("{n} points")
        }
    };
    say!(
        "wrote {} ({drawn} from the realnvp flow of {}, seed {})",
        args.out.display(),
        args.checkpoint.display(),
        args.seed
    );
    Ok(())
}

/// The two moons a 2-D flow trained on, when its record says it trained on
/// moons (regenerated from the recorded seed).
fn trained_on_moons(checkpoint: &std::path::Path) -> Option<TwoMoons> {
    let metadata = nabla::checkpoint::load_metadata(checkpoint).ok()?;
    let training: serde_json::Value = serde_json::from_str(metadata.get(TRAINING_KEY)?).ok()?;
    if training["dataset"] != "moons" {
        return None;
    }
    Some(moons(training["seed"].as_u64()?))
}
