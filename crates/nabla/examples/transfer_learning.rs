//! Section 1.2.1 of the course: cats versus dogs from 400 photos. An
//! ImageNet-trained EfficientNet-Lite0 keeps its backbone frozen; its
//! pooled features are computed once, and a new linear head over the two
//! classes is trained on them.
//!
//! Run with `cargo run --release -p nabla --example transfer_learning
//! [data folder] [weights]` (defaults: the course's
//! `../shared/data/cats-vs-dogs` beside the repository, with `train/` and
//! `test/` class folders, and the bundled
//! `data/pretrained/efficientnet-lite0.safetensors`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use nabla::data::ImageFolder;
use nabla::transfer::{self, Architecture, TransferConfig};
use nabla::Generator;

fn load(dir: &Path, architecture: Architecture) -> nabla::Result<(Vec<String>, nabla::Tensor, Vec<usize>)> {
    let (classes, files) = ImageFolder::list(dir)?;
    let paths: Vec<PathBuf> = files.iter().map(|(p, _)| p.clone()).collect();
    let images = architecture.preprocess().load_batch(&paths)?;
    Ok((classes, images, files.iter().map(|(_, l)| *l).collect()))
}

fn main() -> nabla::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut args = std::env::args().skip(1);
    let data = args
        .next()
        .map_or_else(|| root.join("../shared/data/cats-vs-dogs"), PathBuf::from);
    let weights = args.next().map_or_else(
        || root.join("data/pretrained/efficientnet-lite0.safetensors"),
        PathBuf::from,
    );
    let architecture = Architecture::EfficientnetLite0;

    let start = Instant::now();
    let (classes, train_images, train_labels) = load(&data.join("train"), architecture)?;
    let (_, test_images, test_labels) = load(&data.join("test"), architecture)?;
    println!(
        "{} training and {} test photos of {:?}, decoded and preprocessed in {:.1} s",
        train_labels.len(),
        test_labels.len(),
        classes,
        start.elapsed().as_secs_f64()
    );

    let (mut model, _) = transfer::load_pretrained(architecture, &weights)?;
    model.replace_head(classes.len(), &mut Generator::new(0))?;
    let features = Instant::now();
    let train_features = transfer::extract_features(&mut model, &train_images, 32)?;
    let test_features = transfer::extract_features(&mut model, &test_images, 32)?;
    println!(
        "frozen backbone: {} features per photo in {:.1} s",
        train_features.shape()[1],
        features.elapsed().as_secs_f64()
    );

    let config = TransferConfig::default();
    transfer::fit_head(&mut model, &train_features, &train_labels, &config, |r| {
        if r.epoch % 5 == 0 {
            println!("epoch {:2}: training loss {:.4}", r.epoch, r.loss);
        }
    })?;
    let predicted = model.classify(&test_features)?.argmax(1, false).to_vec();
    let correct = predicted.iter().zip(&test_labels).filter(|(p, l)| p == l).count();
    println!(
        "test accuracy {:.1}% ({correct} of {}), {:.1} s in all",
        100.0 * correct as f64 / test_labels.len() as f64,
        test_labels.len(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
