//! The ImageNet classifiers on the command line (`efficientnet-lite0`,
//! `resnet18`, `vgg16`): a checkpoint that records an image classifier
//! (`nabla train --pretrained`), or published weights named by `--model`.

use std::path::{Path, PathBuf};

use nabla::data::imagenet::ImagePreprocess;
use nabla::data::ImageFolder;
use nabla::transfer::{self, ClassifierRecord, ImageClassifier};
use nabla::Tensor;

use crate::models::ModelKind;
use crate::record::checkpoint_file;

/// The classifier of `checkpoint`, when it is one: a file that records an
/// image classifier (refused if `--model` names another architecture), or
/// published weights of the ImageNet model `--model` names. `None` for any
/// other model, which the classic path loads.
pub fn open(
    checkpoint: &Path,
    given: Option<ModelKind>,
) -> Result<Option<(ImageClassifier, ClassifierRecord)>, String> {
    let path = checkpoint_file(checkpoint);
    let recorded = if path.is_file() {
        transfer::read_record(&path).map_err(|e| e.to_string())?
    } else {
        None
    };
    if let Some(record) = recorded {
        if let Some(kind) = given.filter(|k| k.architecture() != Some(record.architecture)) {
            return Err(format!(
                "{} holds a {} model (as its metadata records), not {kind}",
                path.display(),
                record.architecture.name()
            ));
        }
        return transfer::load_classifier(&path)
            .map(Some)
            .map_err(|e| e.to_string());
    }
    match given.and_then(ModelKind::architecture) {
        Some(architecture) => transfer::load_pretrained(architecture, &path)
            .map(Some)
            .map_err(|e| format!("{e} (published {} weights expected)", architecture.name())),
        None => Ok(None),
    }
}

/// A split of a folder data set: its class names, preprocessed images
/// `[N, 3, crop, crop]` and labels.
pub struct FolderSplit {
    /// The class folders' names, by label.
    pub classes: Vec<String>,
    /// The images.
    pub images: Tensor,
    /// The labels.
    pub labels: Vec<usize>,
    /// The image files.
    pub paths: Vec<PathBuf>,
}

/// Reads `root/<split>/<class>/*` through the record's preprocessing.
pub fn load_split(root: &Path, split: &str, preprocess: &ImagePreprocess) -> Result<FolderSplit, String> {
    let dir = root.join(split);
    let (classes, files) = ImageFolder::list(&dir).map_err(|e| e.to_string())?;
    let paths: Vec<PathBuf> = files.iter().map(|(p, _)| p.clone()).collect();
    let images = preprocess.load_batch(&paths).map_err(|e| e.to_string())?;
    Ok(FolderSplit {
        classes,
        images,
        labels: files.iter().map(|(_, l)| *l).collect(),
        paths,
    })
}
