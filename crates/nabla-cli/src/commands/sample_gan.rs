//! `nabla sample` for the GANs: digits from the generator of a `dcgan` or
//! `wgan-gp` checkpoint, in evaluation mode, as a grid (or interpolation
//! rows) in a PNG.

use nabla::generative::{load_gan_generator, tanh_to_unit};
use nabla::nn::Module;
use nabla::{no_grad, Generator, Tensor};

use super::sample::Args;
use crate::digit_grid::{grid, write_png};
use crate::output::say;

/// Digits in an interpolation row.
const ROW: usize = 10;

/// Draws `--n` digits (default 64, or interpolation rows) and writes the PNG.
pub fn run(args: &Args) -> Result<(), String> {
    let n = args.n.unwrap_or(64);
    let (kind, mut generator) = load_gan_generator(&args.checkpoint).map_err(|e| e.to_string())?;
    generator.eval();
    let latent = generator.config().latent_dim;
    let mut noise = Generator::new(args.seed);
    let (z, columns) = if args.interpolate {
        (interpolation_noise(n.div_ceil(ROW), latent, &mut noise), ROW)
    } else {
        let columns = (n as f64).sqrt().ceil() as usize;
        (Tensor::randn(&[n, latent], &mut noise), columns)
    };
    let images = no_grad(|| generator.forward(&z));
    write_png(&args.out, &grid(&tanh_to_unit(&images), columns))?;
    say!(
        "wrote {} ({} digits from the {kind} generator of {}, seed {})",
        args.out.display(),
        images.shape()[0],
        args.checkpoint.display(),
        args.seed
    );
    Ok(())
}

/// `rows` rows of `ROW` latent points each, evenly spaced on the segment
/// between two standard normal draws.
fn interpolation_noise(rows: usize, latent: usize, noise: &mut Generator) -> Tensor {
    let points: Vec<Tensor> = (0..rows)
        .flat_map(|_| {
            let (a, b) = (
                Tensor::randn(&[1, latent], noise),
                Tensor::randn(&[1, latent], noise),
            );
            (0..ROW)
                .map(|i| {
                    let t = i as f32 / (ROW - 1) as f32;
                    a.mul_scalar(1.0 - t).add(&b.mul_scalar(t))
                })
                .collect::<Vec<_>>()
        })
        .collect();
    Tensor::cat(&points, 0)
}
