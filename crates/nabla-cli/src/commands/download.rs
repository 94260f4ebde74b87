//! `nabla download`: fetch a data set, verify its checksums, write it atomically.

use std::path::PathBuf;

use nabla::data::download::{download, RemoteDataset};

use crate::output::say;

/// Arguments of `nabla download`.
#[derive(clap::Args)]
pub struct Args {
    /// mnist, fashion-mnist or cifar10.
    dataset: RemoteDataset,
    /// Fetch from this base URL instead of the official mirrors.
    #[arg(long)]
    mirror: Option<String>,
    /// Where to put the files (default: data/<dataset>).
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// Downloads and reports what was written.
pub fn run(args: Args) -> Result<(), String> {
    let dir = args.dir.unwrap_or_else(|| args.dataset.default_dir());
    let report = download(args.dataset, &dir, args.mirror.as_deref()).map_err(|e| e.to_string())?;
    say!("{report}");
    Ok(())
}
