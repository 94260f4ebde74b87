//! `nabla show`: pictures of what a convolution sees (section 5.2 of the
//! course): the course's hand-made kernels on a digit, a trained model's
//! first-layer filters, and the feature maps a digit makes in it.

use std::path::{Path, PathBuf};

use image::imageops::FilterType;
use nabla::data::{LabeledDataset, Mnist, Split};
use nabla::nn::filters::{convolve2d, gaussian_blur, sobel_x, sobel_y};
use nabla::nn::Module;
use nabla::{no_grad, Tensor};

use crate::data::Normalization;
use crate::models::ModelKind;
use crate::output::say;
use crate::picture::{draw, Row, Scale, Tile};
use crate::saved::{self, SavedModel};

/// What `nabla show` draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Subject {
    /// The course's Gaussian blur and Sobel kernels and what they make of a digit.
    Kernels,
    /// The first convolution's learned filters (needs --checkpoint).
    Filters,
    /// The feature maps a digit makes before each pooling layer (needs --checkpoint).
    FeatureMaps,
}

/// Arguments of `nabla show`.
#[derive(clap::Args)]
pub struct Args {
    /// kernels, filters or feature-maps.
    #[arg(value_enum)]
    subject: Subject,
    /// A trained model (model file or training checkpoint), for filters and feature-maps.
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// The model the checkpoint holds (default: the one its metadata
    /// records; lenet5 for a file without). mlp has no convolution to show.
    #[arg(long)]
    model: Option<ModelKind>,
    /// A PNG or JPEG digit, resized to 28x28 (default: the first test digit of the bundled MNIST, a 7).
    #[arg(long)]
    image: Option<PathBuf>,
    /// Invert the grey levels of --image (for a dark digit on a light background).
    #[arg(long)]
    invert: bool,
    /// The PNG to write.
    #[arg(long)]
    out: PathBuf,
}

/// Draws the picture.
pub fn run(args: Args) -> Result<(), String> {
    let digit = match &args.image {
        Some(path) => read_digit(path, args.invert)?,
        None => first_test_digit()?,
    };
    let rows = match args.subject {
        Subject::Kernels => kernel_rows(&digit),
        Subject::Filters => filter_rows(&trained(&args)?.model)?,
        Subject::FeatureMaps => {
            let saved = trained(&args)?;
            feature_map_rows(&saved.model, &saved.normalization, &digit)
        }
    };
    draw(&args.out, &rows)?;
    say!("wrote {}", args.out.display());
    Ok(())
}

/// A 28x28 digit in [0, 1], shape `[1, 1, 28, 28]`.
fn first_test_digit() -> Result<Tensor, String> {
    let test = Mnist::bundled(Split::Test).map_err(|e| e.to_string())?;
    let mut pixels = vec![0.0f32; 28 * 28];
    test.read_example(0, &mut pixels);
    Ok(Tensor::from_vec(pixels, &[1, 1, 28, 28]))
}

fn read_digit(path: &Path, invert: bool) -> Result<Tensor, String> {
    let image = image::open(path).map_err(|e| format!("{}: cannot decode the image: {e}", path.display()))?;
    let grey = image.resize_exact(28, 28, FilterType::Triangle).to_luma8();
    let pixels = grey
        .into_raw()
        .into_iter()
        .map(|b| {
            let v = b as f32 / 255.0;
            if invert {
                1.0 - v
            } else {
                v
            }
        })
        .collect();
    Ok(Tensor::from_vec(pixels, &[1, 1, 28, 28]))
}

/// The model of `--checkpoint` in evaluation mode, with the normalisation
/// its inputs had in training (as recorded).
fn trained(args: &Args) -> Result<SavedModel, String> {
    let checkpoint = args.checkpoint.as_ref().ok_or(
        "filters and feature-maps need a trained model: give --checkpoint (a file `nabla train` wrote)",
    )?;
    let (path, recorded) = saved::read_record(checkpoint, args.model)?;
    let mut saved = SavedModel::load(path, recorded, args.model, None)?;
    let convolutional = saved.model.parameters().iter().any(|p| p.ndim() == 4);
    if saved.input != [1, 28, 28] || !convolutional {
        return Err(format!(
            "{} does not hold a convolutional model of 28x28 digits",
            saved.path.display()
        ));
    }
    saved.model.eval();
    Ok(saved)
}

fn tile(caption: &str, t: &Tensor, cell: u32, scale: Option<Scale>) -> Tile {
    let shape = t.shape();
    let (height, width) = (shape[shape.len() - 2], shape[shape.len() - 1]);
    let values = t.to_vec();
    let scale = scale.unwrap_or_else(|| Scale::grey_of(&values));
    Tile {
        caption: caption.into(),
        values,
        height,
        width,
        cell,
        scale,
    }
}

/// The kernels (signed: red positive, blue negative) and the digit through each.
fn kernel_rows(digit: &Tensor) -> Vec<Row> {
    let kernels = [
        ("blur G", gaussian_blur::<f32>()),
        ("Sobel S_x", sobel_x()),
        ("Sobel S_y", sobel_y()),
    ];
    let signed = |t: &Tensor| Some(Scale::signed_of(&t.to_vec()));
    // Padding 1 keeps the 3x3 kernels' outputs 28x28.
    let blurred = convolve2d(digit, &kernels[0].1, 1);
    let gx = convolve2d(digit, &kernels[1].1, 1);
    let gy = convolve2d(digit, &kernels[2].1, 1);
    let magnitude = (&gx.square() + &gy.square()).sqrt();
    vec![
        Row {
            title: "The kernels (red > 0 > blue)".into(),
            tiles: kernels
                .iter()
                .map(|(name, k)| tile(name, k, 24, signed(k)))
                .collect(),
        },
        Row {
            title: "A digit convolved with each (formula 5.2.1, padding 1)".into(),
            tiles: vec![
                tile("digit", digit, 6, Some(Scale::Grey { low: 0.0, high: 1.0 })),
                tile(
                    "G * digit",
                    &blurred,
                    6,
                    Some(Scale::Grey { low: 0.0, high: 1.0 }),
                ),
                tile("S_x * digit", &gx, 6, signed(&gx)),
                tile("S_y * digit", &gy, 6, signed(&gy)),
                tile("edges |S|", &magnitude, 6, None),
            ],
        },
    ]
}

/// The first convolution's filters, `[out, in, K, K]`, one tile per input
/// channel of each output channel.
fn filter_rows(model: &nabla::nn::Sequential) -> Result<Vec<Row>, String> {
    let (name, weight) = model
        .named_parameters()
        .into_iter()
        .find(|(name, t)| name.ends_with("weight") && t.ndim() == 4)
        .ok_or("the model has no convolution")?;
    let shape = weight.shape().to_vec();
    let (outputs, inputs, k) = (shape[0], shape[1], shape[2]);
    let cell = (120 / k.max(1)) as u32;
    let mut tiles = Vec::new();
    for o in 0..outputs {
        for i in 0..inputs {
            let filter = weight.select(0, o).select(0, i);
            let caption = if inputs == 1 {
                format!("{o}")
            } else {
                format!("{o}.{i}")
            };
            tiles.push(tile(
                &caption,
                &filter,
                cell,
                Some(Scale::signed_of(&filter.to_vec())),
            ));
        }
    }
    let layer = name.trim_end_matches(".weight");
    Ok(vec![Row {
        title: format!("{layer}: {outputs} learned {k}x{k} filters (red > 0 > blue)"),
        tiles,
    }])
}

/// The digit, and the activations that enter each pooling layer.
fn feature_map_rows(
    model: &nabla::nn::Sequential,
    normalization: &Normalization,
    digit: &Tensor,
) -> Vec<Row> {
    let input = digit
        .add_scalar(-normalization.mean[0])
        .mul_scalar(1.0 / normalization.std[0]);
    let mut rows = vec![Row {
        title: "The input digit".into(),
        tiles: vec![tile("digit", digit, 6, Some(Scale::Grey { low: 0.0, high: 1.0 }))],
    }];
    let mut x = input;
    let mut previous = String::from("input");
    no_grad(|| {
        for (layer, name) in model.layers().zip(model.names()) {
            if name.starts_with("pool") {
                let maps = x.select(0, 0);
                let (channels, h) = (maps.shape()[0], maps.shape()[1]);
                let cell = (112 / h.max(1)).max(2) as u32;
                rows.push(Row {
                    title: format!(
                        "{previous}: {channels} feature maps of {h}x{h} (black 0, white the largest)"
                    ),
                    tiles: (0..channels)
                        .map(|c| tile(&format!("{c}"), &maps.select(0, c), cell, None))
                        .collect(),
                });
            }
            x = layer.forward(&x);
            previous = name.clone();
        }
    });
    rows
}
