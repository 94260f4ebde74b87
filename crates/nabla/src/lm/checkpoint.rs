//! Language-model checkpoints: one safetensors file whose metadata names the
//! model (`nabla.model`), its sizes (`nabla.config`) and its vocabulary
//! (`nabla.vocab`), so that a checkpoint is all `nabla generate` needs.

use std::collections::HashMap;
use std::path::Path;

use serde::de::DeserializeOwned;

use super::LanguageModel;
use crate::checkpoint::{load_metadata, load_module, load_tensors, save_tensors};
use crate::data::CharVocab;
use crate::error::{Error, Result};
use crate::nn::zoo::{CharGptConfig, CharLstmConfig};
use crate::tensor::{Generator, Tensor};

/// The metadata key of the model's kind: `char-gpt` or `char-lstm`.
pub const MODEL_KEY: &str = "nabla.model";
/// The metadata key of the model's sizes, a JSON object: for `char-gpt`
/// `vocab_size`, `block_size`, `n_layer`, `n_head`, `n_embd`, `bias`; for
/// `char-lstm` `vocab_size`, `embedding_dim`, `hidden_size`, `num_layers`.
pub const CONFIG_KEY: &str = "nabla.config";
/// The metadata key of the vocabulary, a JSON array of the characters in id
/// order.
pub const VOCAB_KEY: &str = "nabla.vocab";

/// The name of the GPT's output layer in nanoGPT, tied to its token
/// embeddings (`transformer.wte.weight`).
const TIED_HEAD: &str = "lm_head.weight";
const TIED_TO: &str = "transformer.wte.weight";

/// Writes `model` and its vocabulary to one safetensors file, atomically,
/// with the metadata [`MODEL_KEY`], [`CONFIG_KEY`] and [`VOCAB_KEY`] (and
/// `format: pt`). The GPT's tied output layer is stored once, as
/// `transformer.wte.weight`.
///
/// ```
/// use nabla::data::CharVocab;
/// use nabla::lm::{load_language_model, save_language_model, LanguageModel};
/// use nabla::nn::zoo::CharLstmConfig;
/// use nabla::Generator;
/// let vocab = CharVocab::from_text("abc");
/// let config = CharLstmConfig { embedding_dim: 4, hidden_size: 8, num_layers: 1, ..CharLstmConfig::new(3) };
/// let model = LanguageModel::lstm(&config, &mut Generator::new(0));
/// let path = std::env::temp_dir().join(format!("nabla_doc_lm_{}.safetensors", std::process::id()));
/// save_language_model(&model, &vocab, &path)?;
/// let (loaded, loaded_vocab) = load_language_model(&path)?;
/// assert_eq!((loaded.kind(), loaded_vocab), ("char-lstm", vocab));
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), nabla::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidSetting`] if the vocabulary's size is not the model's;
/// [`Error::Io`] if the file cannot be written (the target is then left as
/// it was).
pub fn save_language_model(model: &LanguageModel, vocab: &CharVocab, path: impl AsRef<Path>) -> Result<()> {
    if vocab.len() != model.vocab_size() {
        return Err(Error::InvalidSetting {
            context: "save_language_model".into(),
            message: format!(
                "the vocabulary has {} characters, the model {}",
                vocab.len(),
                model.vocab_size()
            ),
        });
    }
    let metadata = HashMap::from([
        ("format".to_string(), "pt".to_string()),
        (MODEL_KEY.to_string(), model.kind().to_string()),
        (CONFIG_KEY.to_string(), model.config_json()),
        (VOCAB_KEY.to_string(), vocab.to_json()),
    ]);
    save_tensors(path, &model.module().state_dict(), Some(metadata))
}

/// Reads a language model and its vocabulary from a file written by
/// [`save_language_model`], by `scripts/export_nanogpt.py`, or by PyTorch
/// with the same tensor names and metadata. A GPT checkpoint may hold
/// `lm_head.weight` besides `transformer.wte.weight` (nanoGPT's state dict
/// does): it must then equal it.
///
/// # Errors
/// [`Error::Format`] naming the file and the key when the metadata lacks
/// `nabla.model`, `nabla.config` or `nabla.vocab`, names an unknown model,
/// holds a config that is not valid JSON of the model's sizes, or a
/// vocabulary whose size differs from the config's `vocab_size`;
/// [`Error::MissingTensor`], [`Error::UnexpectedTensor`] and
/// [`Error::ShapeMismatch`] naming the tensor; the errors of reading a
/// safetensors file.
pub fn load_language_model(path: impl AsRef<Path>) -> Result<(LanguageModel, CharVocab)> {
    let path = path.as_ref();
    let format_error = |message: String| Error::Format {
        path: path.to_path_buf(),
        message,
    };
    let metadata = load_metadata(path)?;
    let entry = |key: &str| {
        metadata.get(key).ok_or_else(|| {
            format_error(format!(
                "the metadata has no {key:?}: not a language-model checkpoint (nabla train --model \
                 char-gpt|char-lstm writes one; scripts/export_nanogpt.py converts nanoGPT's)"
            ))
        })
    };
    let (kind, config, vocab_json) = (entry(MODEL_KEY)?, entry(CONFIG_KEY)?, entry(VOCAB_KEY)?);
    let vocab = CharVocab::from_json(vocab_json).map_err(|e| format_error(e.to_string()))?;
    // The weights are read from the file below; these only size the model.
    let mut generator = Generator::new(0);
    let model = match kind.as_str() {
        "char-gpt" => {
            let config: CharGptConfig = parse_config(config, &format_error)?;
            config
                .validate()
                .map_err(|m| format_error(format!("{CONFIG_KEY}: {m}")))?;
            LanguageModel::gpt(&config, &mut generator)
        }
        "char-lstm" => {
            let config: CharLstmConfig = parse_config(config, &format_error)?;
            if [
                config.vocab_size,
                config.embedding_dim,
                config.hidden_size,
                config.num_layers,
            ]
            .contains(&0)
            {
                return Err(format_error(format!(
                    "{CONFIG_KEY}: every size must be at least 1"
                )));
            }
            LanguageModel::lstm(&config, &mut generator)
        }
        other => {
            return Err(format_error(format!(
                "{MODEL_KEY} is {other:?}; this version knows \"char-gpt\" and \"char-lstm\""
            )))
        }
    };
    if vocab.len() != model.vocab_size() {
        return Err(format_error(format!(
            "{VOCAB_KEY} has {} characters but {CONFIG_KEY} says vocab_size = {}",
            vocab.len(),
            model.vocab_size()
        )));
    }
    load_weights(&model, path)?;
    Ok((model, vocab))
}

fn parse_config<C: DeserializeOwned>(json: &str, format_error: &impl Fn(String) -> Error) -> Result<C> {
    serde_json::from_str(json).map_err(|e| format_error(format!("{CONFIG_KEY} is not a valid config: {e}")))
}

/// Loads every tensor of `model` from `path`, allowing only the GPT's tied
/// head as an extra tensor, and only when it equals the token embeddings.
fn load_weights(model: &LanguageModel, path: &Path) -> Result<()> {
    let context = || path.display().to_string();
    let report = load_module(model.module(), path, false)?;
    if let Some(name) = report.missing.first() {
        return Err(Error::MissingTensor {
            context: context(),
            name: name.clone(),
        });
    }
    if let Some(m) = report.mismatched.first() {
        return Err(Error::ShapeMismatch {
            context: context(),
            name: m.name.clone(),
            expected: m.expected.clone(),
            found: m.found.clone(),
        });
    }
    let tied_head = matches!(model, LanguageModel::Gpt(_));
    if let Some(name) = report.unexpected.iter().find(|n| !(tied_head && *n == TIED_HEAD)) {
        return Err(Error::UnexpectedTensor {
            context: context(),
            name: name.clone(),
        });
    }
    if report.unexpected.iter().any(|n| n == TIED_HEAD) {
        let tensors: HashMap<String, Tensor> = load_tensors(path)?.into_iter().collect();
        let (head, embeddings) = (&tensors[TIED_HEAD], &tensors[TIED_TO]);
        if head.shape() != embeddings.shape() || head.to_vec() != embeddings.to_vec() {
            return Err(Error::Format {
                path: path.to_path_buf(),
                message: format!("{TIED_HEAD} differs from {TIED_TO}, to which the model ties it"),
            });
        }
    }
    Ok(())
}
