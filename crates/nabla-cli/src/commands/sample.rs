//! `nabla sample`: digits from a generative model's checkpoint, as a PNG
//! grid. The checkpoint's `nabla.model` says which model it holds, and so
//! which sampler draws from it.

use std::path::PathBuf;

use nabla::checkpoint::load_metadata;
use nabla::lm::MODEL_KEY;

use super::sample_flow;

/// Arguments of `nabla sample`.
#[derive(clap::Args)]
pub struct Args {
    /// A generative model's checkpoint: the `model.safetensors` of `nabla
    /// train --model realnvp`.
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Digits (or points, for a flow on moons) to draw, 1 to 10,000.
    #[arg(long, default_value_t = 64, value_parser = crate::options::sample_count)]
    pub n: usize,
    /// The seed of the noise.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Rows of 10 digits along straight lines between two random latent
    /// points (--n / 10 rows, at least 1) instead of independent digits.
    #[arg(long)]
    pub interpolate: bool,
    /// The PNG to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Worker threads, 1 to 1024 (default: all cores).
    #[arg(long, value_parser = crate::options::threads)]
    pub threads: Option<usize>,
}

/// Reads the checkpoint's kind and hands it to that model's sampler.
pub fn run(args: Args) -> Result<(), String> {
    crate::set_threads(args.threads)?;
    let metadata = load_metadata(&args.checkpoint).map_err(|e| e.to_string())?;
    let kind = metadata.get(MODEL_KEY).ok_or_else(|| {
        format!(
            "{}: the metadata has no {MODEL_KEY:?}: not a generative model's checkpoint (nabla train --model \
             realnvp writes one)",
            args.checkpoint.display()
        )
    })?;
    match kind.as_str() {
        "realnvp" => nabla::on_worker_thread(|| sample_flow::run(&args)),
        other => Err(format!(
            "{} holds a {other} model, which nabla sample cannot draw from (it samples realnvp)",
            args.checkpoint.display()
        )),
    }
}
