//! The pictures of the autoencoders and the VAE: test digits beside their
//! reconstructions, samples from the prior, an interpolation between two
//! test digits, and the test set's 2-D codes.

use std::path::Path;

use nabla::data::{Batch, LabeledDataset};
use nabla::generative::{LatentModel, Vae};
use nabla::{no_grad, Generator, Tensor};

use crate::digit_grid::write_grid;
use crate::latent_plot::write_scatter;

/// The side of the images: 28x28 digits.
const SIDE: usize = 28;

/// `pixels`, whole 28x28 digits one after the other, as `[N, 1, 28, 28]`.
fn digits(pixels: Vec<f32>) -> Tensor {
    let n = pixels.len() / (SIDE * SIDE);
    Tensor::from_vec(pixels, &[n, 1, SIDE, SIDE])
}
/// Images per row of the grids (as PyTorch's example draws them).
pub const GRID_COLUMNS: usize = 8;

/// The first `n` test examples as a batch.
fn first(test_set: &dyn LabeledDataset, n: usize) -> Batch {
    let indices: Vec<usize> = (0..n.min(test_set.len())).collect();
    Batch::collect(test_set, &indices)
}

/// Rows of 8 test digits, each followed by a row of their
/// reconstructions (decoded codes: the VAE's posterior mean), `pairs`
/// pairs of rows.
pub fn reconstructions(
    model: &dyn LatentModel,
    test_set: &dyn LabeledDataset,
    pairs: usize,
    path: &Path,
) -> Result<(), String> {
    let batch = first(test_set, pairs * GRID_COLUMNS);
    let inputs = batch.inputs.to_vec();
    let decoded = no_grad(|| model.reconstruct(&batch.inputs)).to_vec();
    let row = GRID_COLUMNS * SIDE * SIDE;
    let mut pixels = Vec::with_capacity(2 * inputs.len());
    for (original, reconstructed) in inputs.chunks(row).zip(decoded.chunks(row)) {
        pixels.extend_from_slice(original);
        pixels.extend_from_slice(reconstructed);
    }
    write_grid(path, &digits(pixels), GRID_COLUMNS)
}

/// `n` digits decoded from latents drawn from the prior with `seed`.
pub fn samples(vae: &Vae, n: usize, seed: u64, path: &Path) -> Result<(), String> {
    let pixels = no_grad(|| vae.sample(n, &mut Generator::new(seed))).to_vec();
    write_grid(path, &digits(pixels), GRID_COLUMNS)
}

/// The test examples an interpolation runs between: the first one, and
/// the first after it with another label (a 7 and a 2 in MNIST).
pub fn interpolation_ends(test_set: &dyn LabeledDataset) -> Result<(usize, usize), String> {
    let first_label = test_set.label(0);
    let other = (1..test_set.len())
        .find(|&i| test_set.label(i) != first_label)
        .ok_or("the test set has a single class: nothing to interpolate between")?;
    Ok((0, other))
}

/// A strip: test digit `from`, `steps` decodings of the straight line
/// between the codes of `from` and `to` (both ends included), test digit `to`.
pub fn interpolation(
    model: &dyn LatentModel,
    test_set: &dyn LabeledDataset,
    (from, to): (usize, usize),
    steps: usize,
    path: &Path,
) -> Result<(), String> {
    let ends = Batch::collect(test_set, &[from, to]);
    let (a, b) = (ends.inputs.narrow(0, 0, 1), ends.inputs.narrow(0, 1, 1));
    let path_pixels = model.interpolate(&a, &b, steps).to_vec();
    let pixels = [a.to_vec(), path_pixels, b.to_vec()].concat();
    write_grid(path, &digits(pixels), steps + 2)
}

/// The codes of the whole test set, coloured by digit: only for a model
/// with 2 latents.
pub fn latent_scatter(
    model: &dyn LatentModel,
    test_set: &dyn LabeledDataset,
    path: &Path,
) -> Result<(), String> {
    if model.latent_size() != 2 {
        return Err(format!(
            "a scatter of the codes needs 2 latents, the model has {}",
            model.latent_size()
        ));
    }
    let mut codes = Vec::with_capacity(test_set.len());
    let mut labels = Vec::with_capacity(test_set.len());
    let indices: Vec<usize> = (0..test_set.len()).collect();
    for chunk in indices.chunks(1000) {
        let batch = Batch::collect(test_set, chunk);
        let embedded = no_grad(|| model.embed(&batch.inputs)).to_vec();
        codes.extend(embedded.chunks(2).map(|c| [c[0], c[1]]));
        labels.extend(batch.targets.to_vec());
    }
    let title = format!(
        "the {} test digits in the 2-D latent space of the {}",
        test_set.len(),
        model.kind()
    );
    write_scatter(path, &title, &codes, &labels, &test_set.class_names())
}
