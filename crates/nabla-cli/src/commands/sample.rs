//! `nabla sample`: new images from a generative checkpoint as a PNG grid,
//! or an interpolation between two test digits. The checkpoint's
//! `nabla.model` says which model it holds, and so how to draw.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use nabla::data::{LabeledDataset, Split};
use nabla::generative::{checkpoint_kind, load_autoencoder, load_vae, LatentModel};
use nabla::{Generator, Tensor};

use crate::data::DatasetKind;
use crate::generative_pictures::{interpolation, interpolation_ends, samples};
use crate::options;
use crate::output::say;

use super::{sample_flow, sample_gan};

/// Points in a row of a GAN's or a flow's `--interpolate` grid.
pub const ROW: usize = 10;

/// Arguments of `nabla sample`.
#[derive(clap::Args)]
pub struct Args {
    /// A generative checkpoint: the `model.safetensors` of `nabla train --model vae|dcgan|wgan-gp|realnvp` (or ae
    /// or conv-ae, with --interpolate).
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Images (or points, for a flow on two moons) to draw, 1 to 10,000 [default: 64; with --interpolate,
    /// 10 points of the line, both ends included].
    #[arg(long, value_parser = options::sample_count)]
    pub n: Option<usize>,
    /// The seed of the latents drawn from the prior.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Instead of samples, decode straight lines in the latent space: for an autoencoder or a VAE, between
    /// the codes of two test digits (shown at the ends of the strip); for a GAN, rows of 10 points between
    /// two random latent points (--n / 10 rows).
    #[arg(long)]
    pub interpolate: bool,
    /// With --interpolate: the test-set indices of the two digits [default: 0, and the first after it of
    /// another class].
    #[arg(long, num_args = 2, value_names = ["FROM", "TO"], requires = "interpolate")]
    pub between: Option<Vec<usize>>,
    /// With --interpolate: where the MNIST files are (default: the bundled MNIST).
    #[arg(long, requires = "interpolate")]
    pub data_dir: Option<PathBuf>,
    /// The PNG to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Worker threads, 1 to 1024 (default: all cores).
    #[arg(long, value_parser = options::threads)]
    pub threads: Option<usize>,
}

/// Reads the checkpoint's kind and draws what it can draw.
pub fn run(args: Args) -> Result<(), String> {
    crate::set_threads(args.threads)?;
    let checkpoint = args.checkpoint.display();
    let kind = checkpoint_kind(&args.checkpoint)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| {
            format!(
                "{checkpoint} records no nabla.model: not a generative checkpoint (nabla train --model \
                 vae, ae, conv-ae, dcgan, wgan-gp or realnvp writes one)"
            )
        })?;
    let draws_test_digits = matches!(kind.as_str(), "vae" | "ae" | "conv-ae");
    if !draws_test_digits && (args.between.is_some() || args.data_dir.is_some()) {
        return Err(format!(
            "--between and --data-dir choose the test digits an autoencoder's interpolation \
             runs between; {checkpoint} holds a {kind} model"
        ));
    }
    nabla::on_worker_thread(|| match kind.as_str() {
        "vae" | "ae" | "conv-ae" => sample_autoencoder(&args, &kind),
        "dcgan" | "wgan-gp" => sample_gan::run(&args),
        "realnvp" => sample_flow::run(&args),
        other => Err(format!(
            "{checkpoint} holds a {other} model; nabla sample draws from a vae, dcgan, wgan-gp or \
             realnvp (or an ae or conv-ae with --interpolate)"
        )),
    })
}

/// Samples from a VAE's prior, or an interpolation of any autoencoder.
fn sample_autoencoder(args: &Args, kind: &str) -> Result<(), String> {
    let checkpoint = &args.checkpoint;
    if args.interpolate {
        let model: Box<dyn LatentModel> = if kind == "vae" {
            Box::new(load_vae(checkpoint).map_err(|e| e.to_string())?)
        } else {
            Box::new(load_autoencoder(checkpoint).map_err(|e| e.to_string())?)
        };
        let test = test_digits(args.data_dir.as_deref())?;
        let ends = match args.between.as_deref() {
            Some(&[from, to]) => {
                for index in [from, to] {
                    if index >= test.len() {
                        return Err(format!(
                            "--between: {index} is not an index of the {} test digits",
                            test.len()
                        ));
                    }
                }
                (from, to)
            }
            _ => interpolation_ends(&*test)?,
        };
        let steps = args.n.unwrap_or(10);
        if steps < 2 {
            return Err("--n: an interpolation needs at least 2 points".into());
        }
        interpolation(&*model, &*test, ends, steps, &args.out)?;
        say!(
            "wrote {}: test digits {} and {} at the ends, {steps} decoded points of the line between their codes",
            args.out.display(),
            ends.0,
            ends.1
        );
        return Ok(());
    }
    if kind != "vae" {
        return Err(format!(
            "{} holds an autoencoder ({kind}), which has no prior to sample from: draw an interpolation between \
             two test digits with --interpolate, or sample from a vae",
            checkpoint.display()
        ));
    }
    let vae = load_vae(checkpoint).map_err(|e| e.to_string())?;
    let n = args.n.unwrap_or(64);
    samples(&vae, n, args.seed, &args.out)?;
    say!(
        "wrote {}: {n} digits decoded from latents drawn from the prior (seed {})",
        args.out.display(),
        args.seed
    );
    Ok(())
}

/// The MNIST test set, for the ends of an interpolation.
fn test_digits(data_dir: Option<&Path>) -> Result<Arc<dyn LabeledDataset>, String> {
    DatasetKind::Mnist.load(data_dir, Split::Test)
}

/// `rows` rows of [`ROW`] latent points each, `[rows * ROW, dimensions]`,
/// evenly spaced on the segment between two standard normal draws (both
/// ends included).
pub fn interpolation_rows(rows: usize, dimensions: usize, noise: &mut Generator) -> Tensor {
    let points: Vec<Tensor> = (0..rows)
        .flat_map(|_| {
            let a = Tensor::randn(&[1, dimensions], noise);
            let b = Tensor::randn(&[1, dimensions], noise);
            (0..ROW)
                .map(|i| {
                    let t = i as f32 / (ROW - 1) as f32;
                    &a.mul_scalar(1.0 - t) + &b.mul_scalar(t)
                })
                .collect::<Vec<_>>()
        })
        .collect();
    Tensor::cat(&points, 0)
}
