//! What a checkpoint written by `nabla train` records about its run, in the
//! safetensors metadata (a map of strings, which PyTorch's `safe_open(...)
//! .metadata()` reads too), one JSON object per key:
//!
//! - `nabla_model`: `{"kind": "lenet5", "input": [1, 28, 28], "classes": 10}`;
//! - `nabla_data`: `{"dataset": "mnist", "mean": [0.1307], "std": [0.3081],
//!   "class_names": ["0", ...]}` (`dataset` is a folder's absolute path for
//!   an image folder);
//! - `nabla_training`: the settings of the run ([`Settings`]), so that
//!   `--resume` needs no other option.
//!
//! `eval`, `predict` and `--resume` build the recorded model and refuse
//! options that contradict the record. Files without these keys (written by
//! PyTorch, or by nabla before it recorded them) load as before, with the
//! model and data set given by the options.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use nabla::checkpoint::load_metadata;
use nabla::train::LAST_FILE;
use serde::{Deserialize, Serialize};

use crate::commands::train::Settings;
use crate::models::ModelKind;

const MODEL_KEY: &str = "nabla_model";
const DATA_KEY: &str = "nabla_data";
const TRAINING_KEY: &str = "nabla_training";

/// The model a checkpoint holds: enough to build it again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelRecord {
    /// The command-line name (`lenet5`, `cnn`, ...).
    pub kind: ModelKind,
    /// The shape of one example, `[C, H, W]`.
    pub input: Vec<usize>,
    /// The number of classes.
    pub classes: usize,
}

/// The data a model was trained on: how its inputs were normalised and
/// what its outputs mean.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataRecord {
    /// `mnist`, `fashion-mnist`, `cifar10`, or an image folder's path.
    pub dataset: String,
    /// Per-channel means of the normalisation.
    pub mean: Vec<f32>,
    /// Per-channel standard deviations of the normalisation.
    pub std: Vec<f32>,
    /// The name of each class, by label.
    pub class_names: Vec<String>,
}

/// What a checkpoint records of its run; each part is absent from files
/// that do not have it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunRecord {
    /// The model.
    pub model: Option<ModelRecord>,
    /// The data.
    pub data: Option<DataRecord>,
    /// The settings of `nabla train`.
    pub training: Option<Settings>,
}

impl RunRecord {
    /// The metadata entries of the parts present.
    pub fn to_metadata(&self) -> HashMap<String, String> {
        let mut metadata = HashMap::new();
        let mut put = |key: &str, value: Option<String>| {
            if let Some(value) = value {
                metadata.insert(key.to_string(), value);
            }
        };
        put(MODEL_KEY, self.model.as_ref().map(to_json));
        put(DATA_KEY, self.data.as_ref().map(to_json));
        put(TRAINING_KEY, self.training.as_ref().map(to_json));
        metadata
    }

    /// Reads the record of the checkpoint at `path` (a file; see
    /// [`checkpoint_file`]): only its header is read.
    ///
    /// # Errors
    /// When the file is not a safetensors file, or a recorded part is not
    /// valid, naming the file and the key.
    pub fn read(path: &Path) -> Result<Self, String> {
        let metadata = load_metadata(path).map_err(|e| e.to_string())?;
        fn part<T: serde::de::DeserializeOwned>(
            path: &Path,
            metadata: &HashMap<String, String>,
            key: &str,
        ) -> Result<Option<T>, String> {
            metadata
                .get(key)
                .map(|text| {
                    serde_json::from_str(text)
                        .map_err(|e| format!("{}: the metadata's {key:?} is not valid: {e}", path.display()))
                })
                .transpose()
        }
        Ok(RunRecord {
            model: part(path, &metadata, MODEL_KEY)?,
            data: part(path, &metadata, DATA_KEY)?,
            training: part(path, &metadata, TRAINING_KEY)?,
        })
    }
}

fn to_json(value: &impl Serialize) -> String {
    serde_json::to_string(value).expect("plain data encodes as JSON")
}

/// The checkpoint file that `path` names: a run's `checkpoints/` folder (or
/// any folder of checkpoints) means its `last.safetensors`.
pub fn checkpoint_file(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join(LAST_FILE)
    } else {
        path.to_path_buf()
    }
}
