//! `nabla eval`: accuracy and confusion matrix of a saved model on a test set.

use std::path::PathBuf;

use nabla::data::Split;
use nabla::train::evaluate_classifier;

use crate::data::DatasetKind;
use crate::models::ModelKind;
use crate::output::say;
use crate::saved::{self, SavedModel};

/// Arguments of `nabla eval`.
#[derive(clap::Args)]
pub struct Args {
    /// The model the checkpoint holds: mlp, lenet5, lenet5-classic or cnn
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

/// Loads the model, evaluates, prints accuracy and the confusion matrix.
pub fn run(args: Args) -> Result<(), String> {
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
