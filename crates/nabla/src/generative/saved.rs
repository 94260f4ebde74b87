//! The metadata of generative checkpoints: the model's kind and sizes.

use std::collections::HashMap;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::checkpoint::{load_metadata, load_module, save_module_with_metadata};
use crate::element::Float;
use crate::error::{Error, Result};
use crate::lm::{CONFIG_KEY, MODEL_KEY};
use crate::nn::Module;

/// The kind of model a checkpoint holds, its `nabla.model` metadata
/// (`vae`, `ae`, `conv-ae`, `char-gpt`, ...), or `None` when it records
/// none (a checkpoint of a classifier, or of another program).
///
/// ```
/// use nabla::generative::{checkpoint_kind, save_vae, Vae, VaeConfig};
/// use nabla::Generator;
/// let path = std::env::temp_dir().join(format!("nabla_doc_kind_{}.safetensors", std::process::id()));
/// save_vae(&Vae::<f32>::new(&VaeConfig::mnist(), &mut Generator::new(0)), &path)?;
/// assert_eq!(checkpoint_kind(&path)?.as_deref(), Some("vae"));
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), nabla::Error>(())
/// ```
///
/// # Errors
/// The errors of reading a safetensors file's header, naming the file.
pub fn checkpoint_kind(path: impl AsRef<Path>) -> Result<Option<String>> {
    Ok(load_metadata(path)?.remove(MODEL_KEY))
}

/// Writes `module` with `kind` and `config` in the metadata, atomically.
pub(super) fn save_with_kind<T: Float>(
    module: &dyn Module<T>,
    kind: &str,
    config: &impl Serialize,
    path: &Path,
) -> Result<()> {
    let config = serde_json::to_string(config).expect("a config of numbers serializes");
    let metadata = HashMap::from([
        (MODEL_KEY.to_string(), kind.to_string()),
        (CONFIG_KEY.to_string(), config),
    ]);
    save_module_with_metadata(module, path, metadata)
}

/// The error of a checkpoint whose metadata is wrong: `Error::Format`
/// naming the file.
pub(super) fn format_error(path: &Path, message: impl Into<String>) -> Error {
    Error::Format {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// The kind (one of `expected`) and the config of the checkpoint at `path`.
///
/// # Errors
/// [`Error::Format`] naming the file when it records no kind, another
/// kind ("holds a dcgan model, not a vae"), or a config that does not
/// parse.
pub(super) fn read_kind_and_config<C: DeserializeOwned>(
    path: &Path,
    expected: &[&str],
) -> Result<(String, C)> {
    let metadata = load_metadata(path)?;
    let wanted = expected.join(" or ");
    let Some(kind) = metadata.get(MODEL_KEY) else {
        return Err(format_error(
            path,
            format!("records no {MODEL_KEY}: not a generative checkpoint (a {wanted} is expected)"),
        ));
    };
    if !expected.contains(&kind.as_str()) {
        return Err(format_error(
            path,
            format!("holds a {kind} model, not a {wanted}"),
        ));
    }
    let config = metadata
        .get(CONFIG_KEY)
        .ok_or_else(|| format_error(path, format!("records no {CONFIG_KEY} for its {kind} model")))?;
    let config = serde_json::from_str(config)
        .map_err(|e| format_error(path, format!("{CONFIG_KEY} is not a valid {kind} config: {e}")))?;
    Ok((kind.clone(), config))
}

/// Loads every tensor of `module` from `path`, refusing a missing, extra
/// or misshapen one (naming it).
pub(super) fn load_exactly<T: Float>(module: &dyn Module<T>, path: &Path) -> Result<()> {
    load_module(module, path, true).map(|_| ())
}
