//! `nabla eval`: accuracy and confusion matrix of a saved model on a test set.

use std::path::PathBuf;

use nabla::data::Split;
use nabla::train::evaluate_classifier;
use nabla::transfer::{self, ClassifierRecord, ImageClassifier};

use crate::data::DatasetKind;
use crate::imagenet;
use crate::models::ModelKind;
use crate::output::say;
use crate::saved::{self, SavedModel};

/// Arguments of `nabla eval`.
#[derive(clap::Args)]
pub struct Args {
    /// The model the checkpoint holds: mlp, lenet5, lenet5-classic, cnn,
    /// or an ImageNet classifier (efficientnet-lite0, resnet18, vgg16)
    /// (default: the one its metadata records; lenet5 for a file without).
    #[arg(long)]
    model: Option<ModelKind>,
    /// A model file (`model.safetensors`, also one saved by PyTorch with the
    /// same names), a training checkpoint, or a run's checkpoints/ folder.
    #[arg(long)]
    checkpoint: PathBuf,
    /// The data set whose test split is used (default: the one the model
    /// was trained on, as recorded; mnist for a file without). Its classes
    /// must be the model's.
    #[arg(long)]
    dataset: Option<DatasetKind>,
    /// Where the data set's files are.
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

/// An ImageNet-architecture classifier on the test split of a folder
/// data set (`<folder>/test/<class>/...`) whose classes are its own.
fn eval_photos(args: &Args, mut model: ImageClassifier, record: &ClassifierRecord) -> Result<(), String> {
    let Some(DatasetKind::Folder(root)) = &args.dataset else {
        return Err(format!(
            "a {} classifier is evaluated on a folder data set: --dataset <folder with a test/ folder of class \
             folders>",
            record.architecture.name()
        ));
    };
    let test = imagenet::load_split(root, "test", &record.preprocess)?;
    if test.classes != record.class_names {
        return Err(format!(
            "{} classifies {:?} but {} holds the classes {:?}",
            args.checkpoint.display(),
            record.class_names,
            root.join("test").display(),
            test.classes
        ));
    }
    let predicted = transfer::predict(&mut model, &test.images, 32);
    let classes = test.classes.len();
    let mut confusion = vec![vec![0usize; classes]; classes];
    for (&p, &l) in predicted.iter().zip(&test.labels) {
        confusion[l][p] += 1;
    }
    let correct: usize = (0..classes).map(|c| confusion[c][c]).sum();
    say!(
        "{} on {} ({} examples): accuracy {:.2}%",
        args.checkpoint.display(),
        root.join("test").display(),
        test.labels.len(),
        100.0 * correct as f64 / test.labels.len().max(1) as f64
    );
    let rows: Vec<String> = confusion
        .iter()
        .zip(&test.classes)
        .map(|(row, name)| format!("{name:>12} {row:?}"))
        .collect();
    say!(
        "confusion matrix (rows: true class, columns: predicted):\n{}",
        rows.join("\n")
    );
    Ok(())
}

/// Loads the model, evaluates, prints accuracy and the confusion matrix.
pub fn run(args: Args) -> Result<(), String> {
    if let Some((model, record)) = imagenet::open(&args.checkpoint, args.model)? {
        return eval_photos(&args, model, &record);
    }
    let (path, recorded) = saved::read_record(&args.checkpoint, args.model)?;
    let dataset = saved::dataset(args.dataset.as_ref(), &recorded)?;
    let test_set = dataset.load(args.data_dir.as_deref(), Split::Test)?;
    let saved = SavedModel::load(path, recorded, args.model, Some((&dataset, test_set.as_ref())))?;
    let loader = dataset.loader(test_set, Split::Test, &saved.normalization, 256, 0, 2);
    let mut model = saved.model;
    let result = evaluate_classifier(&mut model, &loader);
    say!(
        "{} on the {} test set ({} examples): accuracy {:.2}%, loss {:.4}",
        args.checkpoint.display(),
        dataset.name(),
        result.examples,
        100.0 * result.accuracy,
        result.loss
    );
    say!(
        "confusion matrix (rows: true class, columns: predicted):\n{}",
        result.confusion
    );
    Ok(())
}
