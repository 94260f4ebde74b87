//! `nabla predict`: class probabilities of a saved model for image files.

use std::path::{Path, PathBuf};

use image::imageops::FilterType;
use image::{DynamicImage, ImageReader, Rgb, RgbImage};
use nabla::data::Split;
use nabla::nn::{Layer, Module};
use nabla::{no_grad, Tensor};

use crate::data::{DatasetKind, Normalization};
use crate::models::ModelKind;
use crate::output::{self, say};
use crate::saved::{self, SavedModel};

/// Arguments of `nabla predict`.
#[derive(clap::Args)]
pub struct Args {
    /// The model the checkpoint holds (default: the one its metadata
    /// records; lenet5 for a file without).
    #[arg(long)]
    model: Option<ModelKind>,
    /// A model file, a training checkpoint, or a run's checkpoints/ folder.
    #[arg(long)]
    checkpoint: PathBuf,
    /// For a file that does not record its data: the data set the model
    /// was trained on (its normalisation, input shape and classes).
    #[arg(long)]
    dataset: Option<DatasetKind>,
    /// Where that data set's files are.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Invert grey levels first (for dark digits on a light background;
    /// MNIST digits are light on dark).
    #[arg(long)]
    invert: bool,
    /// How many classes to print per image.
    #[arg(long, default_value_t = 3, value_parser = crate::options::count)]
    top: usize,
    /// Images (PNG or JPEG, whatever their names say).
    #[arg(required = true)]
    images: Vec<PathBuf>,
}

/// Decodes an image by its content. Transparent parts show the background
/// the ink stands out from (white behind dark ink, black behind light ink),
/// as a viewer shows a drawing, so a digit drawn in the alpha channel alone
/// is not lost.
fn decode(path: &Path) -> Result<DynamicImage, String> {
    let image = ImageReader::open(path)
        .and_then(|r| r.with_guessed_format())
        .map_err(|e| format!("{}: {e}", path.display()))?
        .decode()
        .map_err(|e| format!("{}: cannot decode the image: {e}", path.display()))?;
    if !image.color().has_alpha() {
        return Ok(image);
    }
    let rgba = image.to_rgba8();
    let (mut ink, mut opacity) = (0.0f64, 0.0f64);
    for p in rgba.pixels() {
        let a = f64::from(p[3]);
        let luma = 0.2126 * f64::from(p[0]) + 0.7152 * f64::from(p[1]) + 0.0722 * f64::from(p[2]);
        ink += a * luma;
        opacity += a;
    }
    let background: u16 = if opacity > 0.0 && ink / opacity < 127.5 {
        255
    } else {
        0
    };
    let flat = RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let p = rgba.get_pixel(x, y);
        let a = u16::from(p[3]);
        let over = |c: u8| ((u16::from(c) * a + background * (255 - a) + 127) / 255) as u8;
        Rgb([over(p[0]), over(p[1]), over(p[2])])
    });
    Ok(DynamicImage::ImageRgb8(flat))
}

/// Reads, resizes and normalises one image to the model's `[C, H, W]`.
fn load_image(
    path: &Path,
    shape: &[usize],
    invert: bool,
    normalization: &Normalization,
) -> Result<Vec<f32>, String> {
    let (c, h, w) = (shape[0], shape[1] as u32, shape[2] as u32);
    let image = decode(path)?.resize_exact(w, h, FilterType::Triangle);
    let raw: Vec<u8> = if c == 1 {
        image.to_luma8().into_raw()
    } else {
        image.to_rgb8().into_raw()
    };
    let (mean, std) = (&normalization.mean, &normalization.std);
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
    let (path, recorded) = saved::read_record(&args.checkpoint, args.model)?;
    // Only a file without a record needs the data set, for its shape and classes.
    let data = match (&args.dataset, &recorded.model) {
        (Some(dataset), None) => Some((dataset, dataset.load(args.data_dir.as_deref(), Split::Test)?)),
        _ => None,
    };
    let saved = SavedModel::load(
        path,
        recorded,
        args.model,
        data.as_ref().map(|(kind, set)| (*kind, set.as_ref())),
    )?;
    let mut model = saved.model;
    model.eval();
    let shape = &saved.input;
    if shape.len() != 3 {
        return Err(format!(
            "{}: the model takes {shape:?} inputs, not images",
            saved.path.display()
        ));
    }
    for path in &args.images {
        if output::closed() {
            break;
        }
        let pixels = load_image(path, shape, args.invert, &saved.normalization)?;
        let mut batch = vec![1];
        batch.extend(shape);
        let probabilities = no_grad(|| model.forward(&Tensor::from_vec(pixels, &batch)).softmax(1)).to_vec();
        let mut ranked: Vec<(usize, f32)> = probabilities.into_iter().enumerate().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        let best: Vec<String> = ranked
            .iter()
            .take(args.top)
            .map(|(class, p)| format!("{}: {:.2}%", saved.class_names[*class], 100.0 * p))
            .collect();
        say!("{}: {}", path.display(), best.join(", "));
    }
    Ok(())
}
