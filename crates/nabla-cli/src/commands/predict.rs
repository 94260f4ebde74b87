//! `nabla predict`: class probabilities of a saved model for image files.

use std::path::{Path, PathBuf};

use image::imageops::FilterType;
use image::{DynamicImage, ImageReader, Rgb, RgbImage};
use nabla::data::Split;
use nabla::nn::{Layer, Module};
use nabla::transfer::{ClassifierRecord, ImageClassifier};
use nabla::{no_grad, Tensor};

use crate::data::{DatasetKind, Normalization};
use crate::imagenet;
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
    /// How many classes to print per image [default: 5 for the ImageNet
    /// classifiers, 3 for the others].
    #[arg(long, value_parser = crate::options::count)]
    top: Option<usize>,
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

/// The `top` most likely classes of a row of probabilities, as `name: p%`.
fn ranked(probabilities: Vec<f32>, class_names: &[String], top: usize) -> String {
    let mut ranked: Vec<(usize, f32)> = probabilities.into_iter().enumerate().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    let best: Vec<String> = ranked
        .iter()
        .take(top)
        .map(|(class, p)| format!("{}: {:.2}%", class_names[*class], 100.0 * p))
        .collect();
    best.join(", ")
}

/// An ImageNet classifier's top classes for each image, through the
/// preprocessing its checkpoint records (or its weights expect).
fn predict_photos(args: &Args, mut model: ImageClassifier, record: &ClassifierRecord) -> Result<(), String> {
    if args.invert || args.dataset.is_some() {
        return Err(format!(
            "--invert and --dataset are for the digit classifiers; a {} checkpoint records its classes and \
             preprocessing",
            record.architecture.name()
        ));
    }
    model.module_mut().eval();
    for path in &args.images {
        if output::closed() {
            break;
        }
        let pixels = record.preprocess.load(path).map_err(|e| e.to_string())?;
        let crop = record.preprocess.crop;
        let x = Tensor::from_vec(pixels, &[1, 3, crop, crop]);
        let probabilities = no_grad(|| model.forward(&x).softmax(1)).to_vec();
        say!(
            "{}: {}",
            path.display(),
            ranked(probabilities, &record.class_names, args.top.unwrap_or(5))
        );
    }
    Ok(())
}

/// Prints the most likely classes of every image.
pub fn run(args: Args) -> Result<(), String> {
    if let Some((model, record)) = imagenet::open(&args.checkpoint, args.model)? {
        return predict_photos(&args, model, &record);
    }
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
        say!(
            "{}: {}",
            path.display(),
            ranked(probabilities, &saved.class_names, args.top.unwrap_or(3))
        );
    }
    Ok(())
}
