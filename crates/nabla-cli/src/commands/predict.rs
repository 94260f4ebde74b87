//! `nabla predict`: class probabilities of a saved model for image files.

use std::path::PathBuf;

use image::imageops::FilterType;
use nabla::nn::{Layer, Module};
use nabla::train::load_model_from_checkpoint;
use nabla::{no_grad, Tensor};

use crate::data::DatasetKind;
use crate::models::ModelKind;
use crate::output::{self, say};

/// Arguments of `nabla predict`.
#[derive(clap::Args)]
pub struct Args {
    /// The model the checkpoint holds.
    #[arg(long, default_value = "lenet5")]
    model: ModelKind,
    /// A model file or training checkpoint.
    #[arg(long)]
    checkpoint: PathBuf,
    /// The data set the model was trained on (for its input normalisation).
    #[arg(long, default_value = "mnist")]
    dataset: DatasetKind,
    /// Invert grey levels first (for dark digits on a light background;
    /// MNIST digits are light on dark).
    #[arg(long)]
    invert: bool,
    /// How many classes to print per image.
    #[arg(long, default_value_t = 3, value_parser = crate::options::count)]
    top: usize,
    /// PNG or JPEG images.
    #[arg(required = true)]
    images: Vec<PathBuf>,
}

/// Reads, resizes and normalises one image to the model's `[C, H, W]`.
fn load_image(
    path: &PathBuf,
    shape: &[usize],
    invert: bool,
    mean: &[f32],
    std: &[f32],
) -> Result<Vec<f32>, String> {
    let (c, h, w) = (shape[0], shape[1] as u32, shape[2] as u32);
    let image = image::open(path).map_err(|e| format!("{}: cannot decode the image: {e}", path.display()))?;
    let image = image.resize_exact(w, h, FilterType::Triangle);
    let raw: Vec<u8> = if c == 1 {
        image.to_luma8().into_raw()
    } else {
        image.to_rgb8().into_raw()
    };
    let pixels = (h * w) as usize;
    let mut out = vec![0.0f32; c * pixels];
    for (i, &byte) in raw.iter().enumerate() {
        let (pixel, channel) = (i / c, i % c);
        let v = byte as f32 / 255.0;
        let v = if invert { 1.0 - v } else { v };
        out[channel * pixels + pixel] = (v - mean[channel]) / std[channel];
    }
    Ok(out)
}

/// Prints the most likely classes of every image.
pub fn run(args: Args) -> Result<(), String> {
    let shape = args.model.default_input();
    let mut model = args.model.build(&shape, 10, 0)?;
    load_model_from_checkpoint(&model, &args.checkpoint).map_err(|e| e.to_string())?;
    model.eval();
    let (mean, std) = args.dataset.normalization();
    for path in &args.images {
        if output::closed() {
            break;
        }
        let pixels = load_image(path, &shape, args.invert, &mean, &std)?;
        let mut batch = vec![1];
        batch.extend(&shape);
        let probabilities = no_grad(|| model.forward(&Tensor::from_vec(pixels, &batch)).softmax(1)).to_vec();
        let mut ranked: Vec<(usize, f32)> = probabilities.into_iter().enumerate().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        let best: Vec<String> = ranked
            .iter()
            .take(args.top)
            .map(|(class, p)| format!("{class}: {:.2}%", 100.0 * p))
            .collect();
        say!("{}: {}", path.display(), best.join(", "));
    }
    Ok(())
}
