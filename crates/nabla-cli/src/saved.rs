//! A saved model as `eval` and `predict` load it: the model its checkpoint
//! records (kind, input shape, classes), with the normalisation and class
//! names of its data; for a file that records none (written by PyTorch, or
//! by an older nabla), the model and data set the options name.

use std::path::{Path, PathBuf};

use nabla::data::LabeledDataset;
use nabla::nn::{Module, Sequential};
use nabla::train::load_model_from_checkpoint;

use crate::data::{DatasetKind, Normalization};
use crate::models::ModelKind;
use crate::record::{checkpoint_file, DataRecord, ModelRecord, RunRecord};

/// A model loaded from a checkpoint, and what its inputs and outputs are.
pub struct SavedModel {
    /// The checkpoint file.
    pub path: PathBuf,
    /// The model, its weights loaded.
    pub model: Sequential,
    /// The shape of one input, `[C, H, W]`.
    pub input: Vec<usize>,
    /// The normalisation its inputs had in training.
    pub normalization: Normalization,
    /// The name of each class, by label.
    pub class_names: Vec<String>,
}

/// The recorded parts of a checkpoint, checked against the options.
pub struct Recorded {
    /// The model, if recorded.
    pub model: Option<ModelRecord>,
    /// The data, if recorded.
    pub data: Option<DataRecord>,
}

/// Refuses `checkpoint` for the classifier command `command` (`attack`,
/// `lipschitz`) when its metadata records a generative or language model.
pub fn refuse_unless_classifier(checkpoint: &Path, command: &str) -> Result<(), String> {
    let file = checkpoint_file(checkpoint);
    match nabla::generative::checkpoint_kind(&file) {
        Ok(Some(kind)) => Err(format!(
            "{} holds a {kind} model (as its metadata records), not a classifier: nabla {command} takes the \
             classifiers mlp, lenet5, lenet5-classic, lenet5-bn, cnn and madry-cnn",
            file.display()
        )),
        _ => Ok(()),
    }
}

/// Reads what `checkpoint` (a file, or a folder meaning its
/// `last.safetensors`) records, and refuses a `--model` that contradicts it.
pub fn read_record(checkpoint: &Path, given_model: Option<ModelKind>) -> Result<(PathBuf, Recorded), String> {
    let path = checkpoint_file(checkpoint);
    let record = RunRecord::read(&path)?;
    if let (Some(recorded), Some(given)) = (&record.model, given_model) {
        if recorded.kind != given {
            return Err(format!(
                "{} holds a {} model (as its metadata records), not {given}",
                path.display(),
                recorded.kind
            ));
        }
    }
    if record.model.is_none() {
        crate::note(&format!(
            "{} does not record its model (written by PyTorch or an older nabla): taking it for {}",
            path.display(),
            given_model.unwrap_or(ModelKind::Lenet5)
        ));
    }
    Ok((
        path,
        Recorded {
            model: record.model,
            data: record.data,
        },
    ))
}

/// The data set to evaluate on: the one given, else the recorded one,
/// else MNIST.
pub fn dataset(given: Option<&DatasetKind>, recorded: &Recorded) -> Result<DatasetKind, String> {
    match (given, &recorded.data) {
        (Some(d), _) => Ok(d.clone()),
        (None, Some(data)) => data.dataset.parse(),
        (None, None) => Ok(DatasetKind::Mnist),
    }
}

impl SavedModel {
    /// Builds the model and loads its weights. `data` is the data set it
    /// will see, when there is one: a recorded model must match its input
    /// shape and class names; an unrecorded one is built for it.
    pub fn load(
        path: PathBuf,
        recorded: Recorded,
        given_model: Option<ModelKind>,
        data: Option<(&DatasetKind, &dyn LabeledDataset)>,
    ) -> Result<Self, String> {
        let (kind, input, class_names, normalization) = match (&recorded.model, &recorded.data) {
            (Some(model), Some(trained_on)) => {
                if let Some((kind, set)) = data {
                    let (shape, names) = (set.example_shape(), set.class_names());
                    if shape != model.input || names != trained_on.class_names {
                        return Err(format!(
                            "{} holds a model for {:?} inputs in {} classes ({}), but the {} test set has \
                             {shape:?} examples in {} classes ({})",
                            path.display(),
                            model.input,
                            model.classes,
                            list(&trained_on.class_names),
                            kind.name(),
                            names.len(),
                            list(&names)
                        ));
                    }
                }
                (
                    model.kind,
                    model.input.clone(),
                    trained_on.class_names.clone(),
                    Normalization {
                        mean: trained_on.mean.clone(),
                        std: trained_on.std.clone(),
                    },
                )
            }
            _ => {
                let kind = given_model.unwrap_or(ModelKind::Lenet5);
                match data {
                    Some((dataset, set)) => {
                        let input = set.example_shape();
                        let normalization = dataset.normalization_for(input[0]);
                        (kind, input, set.class_names(), normalization)
                    }
                    None => {
                        let input = kind.default_input();
                        let normalization =
                            DatasetKind::default_for_channels(input[0]).normalization_for(input[0]);
                        (
                            kind,
                            input,
                            (0..10).map(|c| c.to_string()).collect(),
                            normalization,
                        )
                    }
                }
            }
        };
        if normalization.mean.len() != input[0] {
            return Err(format!(
                "{}: the normalisation has {} channels but the model takes {}",
                path.display(),
                normalization.mean.len(),
                input[0]
            ));
        }
        let model = kind.build(&input, class_names.len(), 0)?;
        load_model_from_checkpoint(&model, &path).map_err(|e| e.to_string())?;
        check_finite(&path, &model)?;
        Ok(SavedModel {
            path,
            model,
            input,
            normalization,
            class_names,
        })
    }
}

/// Refuses a model with NaN or infinite weights: it predicts nothing.
fn check_finite(path: &Path, model: &Sequential) -> Result<(), String> {
    for (name, tensor) in model.state_dict() {
        if tensor.to_vec().iter().any(|v| !v.is_finite()) {
            return Err(format!(
                "{}: the model's tensor {name:?} holds NaN or infinite values (its training diverged)",
                path.display()
            ));
        }
    }
    Ok(())
}

/// Up to four names, then an ellipsis.
fn list(names: &[String]) -> String {
    let mut shown: Vec<&str> = names.iter().take(4).map(String::as_str).collect();
    if names.len() > 4 {
        shown.push("...");
    }
    shown.join(", ")
}
