//! `nabla rl eval`: a saved policy's mean return.

use std::path::PathBuf;

use nabla::rl::{env::make, evaluate, load_policy};

use crate::output;

/// Arguments of `nabla rl eval`.
#[derive(clap::Args)]
pub struct Args {
    /// A policy written by `nabla rl` (`policy.safetensors`).
    #[arg(long)]
    checkpoint: PathBuf,
    /// Episodes to play, 1 to 1,000,000.
    #[arg(long, default_value_t = 100, value_parser = crate::options::count)]
    episodes: usize,
    /// The reset seed of the first episode (episode i uses seed + i).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Draw actions from the policy instead of taking the most likely one.
    #[arg(long)]
    stochastic: bool,
    /// Also write the first episode as an animated GIF (the classic-control
    /// environments).
    #[arg(long)]
    gif: Option<PathBuf>,
}

/// Prints `mean +- std over N episodes` and writes the GIF if asked.
pub fn run(args: Args) -> Result<(), String> {
    let (policy, saved) = load_policy(&args.checkpoint).map_err(|e| e.to_string())?;
    let mut env = make(&saved.env).map_err(|e| format!("{}: {e}", args.checkpoint.display()))?;
    let report = evaluate(&policy, &mut *env, args.episodes, args.seed, !args.stochastic)
        .map_err(|e| e.to_string())?;
    output::write(format_args!(
        "{} ({}): mean return {:.2} +- {:.2} over {} episodes\n",
        saved.env,
        saved.algorithm,
        report.mean(),
        report.std(),
        args.episodes
    ));
    if let Some(path) = &args.gif {
        let steps = super::gif::write_episode_gif(path, &saved.env, &policy, args.seed, !args.stochastic)?;
        crate::note(&format!("wrote {} ({steps} steps)", path.display()));
    }
    Ok(())
}
