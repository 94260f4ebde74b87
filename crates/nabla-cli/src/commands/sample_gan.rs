//! `nabla sample` for the GANs: digits from the generator of a `dcgan` or
//! `wgan-gp` checkpoint, in evaluation mode, as a grid (or interpolation
//! rows) in a PNG.

use nabla::generative::{load_gan_generator, tanh_to_unit};
use nabla::nn::Module;
use nabla::{no_grad, Generator, Tensor};

use super::sample::{interpolation_rows, Args, ROW};
use crate::digit_grid::{grid, write_png};
use crate::output::say;

/// Draws `--n` digits (default 64, or interpolation rows) and writes the PNG.
pub fn run(args: &Args) -> Result<(), String> {
    let n = args.n.unwrap_or(64);
    let (kind, mut generator) = load_gan_generator(&args.checkpoint).map_err(|e| e.to_string())?;
    generator.eval();
    let latent = generator.config().latent_dim;
    let mut noise = Generator::new(args.seed);
    let (z, columns) = if args.interpolate {
        (interpolation_rows(n.div_ceil(ROW), latent, &mut noise), ROW)
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
