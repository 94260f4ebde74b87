//! Image-classifier checkpoints: one safetensors file whose metadata
//! records the architecture, the class names and the preprocessing
//! (`nabla.model = image-classifier`, `nabla.config`), so that a checkpoint
//! is all `nabla predict` and `nabla eval` need; and the pretrained weights
//! as published (a state dict without that record, ImageNet's 1,000 classes).

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Architecture, ImageClassifier};
use crate::checkpoint::{load_metadata, load_module, save_module_with_metadata};
use crate::data::imagenet::{imagenet_classes, ImagePreprocess};
use crate::error::{Error, Result};
use crate::nn::Module;
use crate::tensor::Generator;

/// The value of `nabla.model` in an image classifier's checkpoint.
pub const IMAGE_CLASSIFIER: &str = "image-classifier";
const MODEL_KEY: &str = "nabla.model";
const CONFIG_KEY: &str = "nabla.config";

/// What an image classifier's checkpoint records beside its weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassifierRecord {
    /// The network.
    pub architecture: Architecture,
    /// The name of each class, by label.
    pub class_names: Vec<String>,
    /// How an image becomes its input.
    pub preprocess: ImagePreprocess,
}

impl ClassifierRecord {
    /// ImageNet's 1,000 classes with the architecture's preprocessing: what
    /// published weights are.
    pub fn imagenet(architecture: Architecture) -> Self {
        ClassifierRecord {
            architecture,
            class_names: imagenet_classes().iter().map(|c| c.to_string()).collect(),
            preprocess: architecture.preprocess(),
        }
    }
}

/// Writes `model` with `record` to one safetensors file, atomically.
///
/// # Errors
/// [`Error::InvalidSetting`] if the record's classes are not the model's
/// outputs or its architecture not the model's; [`Error::Io`] if the file
/// cannot be written (the target is then left as it was).
pub fn save_classifier(
    model: &ImageClassifier,
    record: &ClassifierRecord,
    path: impl AsRef<Path>,
) -> Result<()> {
    if record.architecture != model.architecture() {
        return Err(Error::InvalidSetting {
            context: "save_classifier".into(),
            message: format!(
                "the record says {} but the model is {}",
                record.architecture.name(),
                model.architecture().name()
            ),
        });
    }
    let outputs = output_classes(model);
    if outputs != record.class_names.len() {
        return Err(Error::InvalidSetting {
            context: "save_classifier".into(),
            message: format!(
                "the model has {outputs} outputs but the record names {} classes",
                record.class_names.len()
            ),
        });
    }
    let config = serde_json::to_string(record).expect("a record serialises");
    let metadata = HashMap::from([
        (MODEL_KEY.to_string(), IMAGE_CLASSIFIER.to_string()),
        (CONFIG_KEY.to_string(), config),
    ]);
    save_module_with_metadata(model.module(), path, metadata)
}

/// The classifier of a checkpoint [`save_classifier`] wrote, with its record.
///
/// # Errors
/// [`Error::Io`] or [`Error::Format`] for an unreadable file or one that is
/// not an image classifier's checkpoint (naming the file), and the errors
/// of [`load_module`] for tensors that do not fit.
pub fn load_classifier(path: impl AsRef<Path>) -> Result<(ImageClassifier, ClassifierRecord)> {
    let path = path.as_ref();
    let record = read_record(path)?.ok_or_else(|| Error::Format {
        path: path.to_path_buf(),
        message: format!(
            "no {MODEL_KEY} = {IMAGE_CLASSIFIER} record: for published weights use load_pretrained with \
             their architecture"
        ),
    })?;
    let model = build_and_load(path, &record)?;
    Ok((model, record))
}

/// Published ImageNet weights of `architecture` (a state dict with the
/// reference implementation's names, as safetensors or `.pth`), with the
/// ImageNet record.
///
/// # Errors
/// As [`load_module`] in strict mode: a missing, extra or misshapen tensor
/// is named with the file.
pub fn load_pretrained(
    architecture: Architecture,
    path: impl AsRef<Path>,
) -> Result<(ImageClassifier, ClassifierRecord)> {
    let record = ClassifierRecord::imagenet(architecture);
    let model = build_and_load(path.as_ref(), &record)?;
    Ok((model, record))
}

/// The record of an image classifier's checkpoint, `None` for a file
/// without one (published weights, or another kind of model).
///
/// # Errors
/// For an unreadable file or a record that does not parse.
pub fn read_record(path: impl AsRef<Path>) -> Result<Option<ClassifierRecord>> {
    let path = path.as_ref();
    let metadata = load_metadata(path)?;
    if metadata.get(MODEL_KEY).map(String::as_str) != Some(IMAGE_CLASSIFIER) {
        return Ok(None);
    }
    let config = metadata.get(CONFIG_KEY).ok_or_else(|| Error::Format {
        path: path.to_path_buf(),
        message: format!("{MODEL_KEY} = {IMAGE_CLASSIFIER} without {CONFIG_KEY}"),
    })?;
    serde_json::from_str(config).map(Some).map_err(|e| Error::Format {
        path: path.to_path_buf(),
        message: format!("{CONFIG_KEY} does not describe an image classifier: {e}"),
    })
}

fn build_and_load(path: &Path, record: &ClassifierRecord) -> Result<ImageClassifier> {
    let model = ImageClassifier::new(
        record.architecture,
        record.class_names.len(),
        &mut Generator::new(0),
    );
    load_module(model.module(), path, true)?;
    Ok(model)
}

/// The classes a model's last layer gives.
fn output_classes(model: &ImageClassifier) -> usize {
    match model {
        ImageClassifier::Vgg16(m) => m.classifier.state_dict().last().map_or(0, |(_, t)| t.shape()[0]),
        _ => model.head().map_or(0, |h| h.weight.shape()[0]),
    }
}
