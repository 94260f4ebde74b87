//! `nabla eval`: accuracy and confusion matrix of a saved model on a test set.

use std::path::PathBuf;

use nabla::data::Split;
use nabla::train::{evaluate_classifier, load_model_from_checkpoint};

use crate::data::DatasetKind;
use crate::models::ModelKind;
use crate::output::say;

/// Arguments of `nabla eval`.
#[derive(clap::Args)]
pub struct Args {
    /// The model the checkpoint holds: mlp, lenet5, lenet5-classic or cnn.
    #[arg(long, default_value = "lenet5")]
    model: ModelKind,
    /// A model file (`model.safetensors`, also one saved by PyTorch with the
    /// same names) or a training checkpoint.
    #[arg(long)]
    checkpoint: PathBuf,
    /// The data set whose test split is used.
    #[arg(long, default_value = "mnist")]
    dataset: DatasetKind,
    /// Where the data set's files are.
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

/// Loads the model, evaluates, prints accuracy and the confusion matrix.
pub fn run(args: Args) -> Result<(), String> {
    let test_set = args.dataset.load(args.data_dir.as_deref(), Split::Test)?;
    let mut model = args
        .model
        .build(&test_set.example_shape(), test_set.num_classes(), 0)?;
    load_model_from_checkpoint(&model, &args.checkpoint).map_err(|e| e.to_string())?;
    let loader = args.dataset.loader(test_set, Split::Test, 256, 0, 2);
    let result = evaluate_classifier(&mut model, &loader);
    say!(
        "{} on the {} test set ({} examples): accuracy {:.2}%, loss {:.4}",
        args.checkpoint.display(),
        args.dataset.name(),
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
