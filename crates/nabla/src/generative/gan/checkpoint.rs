//! GAN checkpoints: one safetensors file holding the generator's tensors
//! under PyTorch's names (`fc.weight`, `bn1.running_mean`, ...), the
//! discriminator's under `discriminator.` and the generator's moving
//! average, if kept, under `generator_ema.`, with the metadata
//! `nabla.model` (`dcgan` or `wgan-gp`), `nabla.config` (the [`GanConfig`]
//! as JSON) and `nabla.ema` (the average's decay and count), so that a
//! checkpoint is all `nabla sample` needs.

use std::collections::HashMap;
use std::path::Path;

use super::models::{DcganDiscriminator, DcganGenerator, GanConfig};
use super::trainer::{Gan, GanKind};
use crate::checkpoint::{load_metadata, load_tensors, save_tensors};
use crate::error::{Error, Result};
use crate::lm::{CONFIG_KEY, MODEL_KEY};
use crate::nn::Module;
use crate::optim::{AveragedModel, Averaging};
use crate::tensor::{Generator, Tensor};

/// The prefix of the discriminator's tensors in a GAN checkpoint.
pub const DISCRIMINATOR_PREFIX: &str = "discriminator.";
/// The prefix of the generator's moving average in a GAN checkpoint.
pub const GENERATOR_EMA_PREFIX: &str = "generator_ema.";
/// The metadata key of the moving average's decay and count (JSON).
pub const EMA_KEY: &str = "nabla.ema";

/// What `nabla.ema` records of the average.
#[derive(serde::Serialize, serde::Deserialize)]
struct EmaRecord {
    decay: f64,
    n_averaged: u64,
    /// [`Averaging::BiasCorrected`] rather than [`Averaging::Exponential`].
    bias_corrected: bool,
}

/// Writes both networks of `gan` and its generator's moving average (if
/// any) to `path`, atomically, with the metadata [`MODEL_KEY`] (the GAN's
/// kind), [`CONFIG_KEY`] (its sizes as JSON), [`EMA_KEY`] (with an
/// average) and `format: pt`.
///
/// ```
/// use nabla::generative::{load_gan, load_gan_generator, save_gan, Gan, GanConfig, GanKind};
/// use nabla::Generator;
/// let config = GanConfig { latent_dim: 4, feature_maps: 2 };
/// let gan = Gan::new(GanKind::Dcgan, &config, &mut Generator::new(0));
/// let path = std::env::temp_dir().join(format!("nabla_doc_gan_{}.safetensors", std::process::id()));
/// save_gan(&gan, &path)?;
/// let (kind, generator) = load_gan_generator(&path)?;
/// assert_eq!((kind, generator.config()), (GanKind::Dcgan, &config));
/// assert_eq!(load_gan(&path)?.discriminator.fc.weight.to_vec(), gan.discriminator.fc.weight.to_vec());
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), nabla::Error>(())
/// ```
///
/// # Errors
/// [`Error::Io`] if the file cannot be written (the target is then left as it was).
pub fn save_gan(gan: &Gan, path: impl AsRef<Path>) -> Result<()> {
    let mut tensors = gan.generator.state_dict();
    tensors.extend(
        gan.discriminator
            .state_dict()
            .into_iter()
            .map(|(name, t)| (format!("{DISCRIMINATOR_PREFIX}{name}"), t)),
    );
    let config = serde_json::to_string(gan.config()).expect("a GanConfig serializes");
    let mut metadata = HashMap::from([
        ("format".to_string(), "pt".to_string()),
        (MODEL_KEY.to_string(), gan.kind.as_str().to_string()),
        (CONFIG_KEY.to_string(), config),
    ]);
    if let Some(average) = &gan.generator_ema {
        let (decay, bias_corrected) = match average.averaging() {
            Averaging::BiasCorrected { decay } => (decay, true),
            Averaging::Exponential { decay } => (decay, false),
            Averaging::Equal => panic!("save_gan: a GAN's generator average must be exponential"),
        };
        tensors.extend(
            average
                .module
                .state_dict()
                .into_iter()
                .map(|(name, t)| (format!("{GENERATOR_EMA_PREFIX}{name}"), t)),
        );
        let record = EmaRecord {
            decay,
            n_averaged: average.n_averaged(),
            bias_corrected,
        };
        metadata.insert(
            EMA_KEY.to_string(),
            serde_json::to_string(&record).expect("serializes"),
        );
    }
    save_tensors(path, &tensors, Some(metadata))
}

/// The kind and sizes a GAN checkpoint records.
///
/// # Errors
/// [`Error::Format`] naming the file when the metadata lacks `nabla.model`
/// or `nabla.config`, names a model that is not a GAN ("runs/x.safetensors
/// holds a vae model, not a GAN (dcgan or wgan-gp)"), or holds sizes that
/// are not a valid [`GanConfig`]; the errors of reading a safetensors file.
pub fn read_gan_header(path: impl AsRef<Path>) -> Result<(GanKind, GanConfig)> {
    let path = path.as_ref();
    let format_error = |message: String| Error::Format {
        path: path.to_path_buf(),
        message,
    };
    let metadata = load_metadata(path)?;
    let entry = |key: &str| {
        metadata.get(key).ok_or_else(|| {
            format_error(format!(
                "the metadata has no {key:?}: not a GAN checkpoint (nabla train --model dcgan|wgan-gp writes one)"
            ))
        })
    };
    let (kind, config) = (entry(MODEL_KEY)?, entry(CONFIG_KEY)?);
    let kind: GanKind = kind
        .parse()
        .map_err(|_| format_error(format!("holds a {kind} model, not a GAN (dcgan or wgan-gp)")))?;
    let config: GanConfig = serde_json::from_str(config)
        .map_err(|e| format_error(format!("{CONFIG_KEY} is not a valid GAN config: {e}")))?;
    config
        .validate()
        .map_err(|m| format_error(format!("{CONFIG_KEY}: {m}")))?;
    Ok((kind, config))
}

/// Reads the generator to sample from out of a checkpoint written by
/// [`save_gan`] (all that sampling needs): the moving average when the
/// checkpoint has one, the trained generator otherwise; and the GAN's kind.
/// The other networks' tensors, if any, are left unread.
///
/// # Errors
/// Those of [`read_gan_header`]; [`Error::MissingTensor`],
/// [`Error::ShapeMismatch`] (a latent size or width that does not match
/// the recorded config) and [`Error::UnexpectedTensor`] naming the file and
/// the tensor.
pub fn load_gan_generator(path: impl AsRef<Path>) -> Result<(GanKind, DcganGenerator)> {
    let path = path.as_ref();
    let (kind, config) = read_gan_header(path)?;
    let prefix = if load_metadata(path)?.contains_key(EMA_KEY) {
        GENERATOR_EMA_PREFIX
    } else {
        ""
    };
    let mut stored: HashMap<String, Tensor> = load_tensors(path)?.into_iter().collect();
    let generator = DcganGenerator::new(&config, &mut Generator::new(0));
    fill(&generator, prefix, &mut stored, path)?;
    let other_network = |name: &&String| {
        [DISCRIMINATOR_PREFIX, GENERATOR_EMA_PREFIX]
            .iter()
            .any(|p| name.starts_with(p))
            || generator.state_dict().iter().any(|(own, _)| own == *name)
    };
    if let Some(name) = stored.keys().filter(|n| !other_network(n)).min() {
        return Err(Error::UnexpectedTensor {
            context: path.display().to_string(),
            name: name.clone(),
        });
    }
    Ok((kind, generator))
}

/// Reads both networks of a checkpoint written by [`save_gan`], and the
/// generator's moving average if it holds one.
///
/// # Errors
/// Those of [`read_gan_header`]; [`Error::MissingTensor`] or
/// [`Error::ShapeMismatch`] naming the file and the tensor (a latent size
/// or width that does not match the recorded config), and
/// [`Error::UnexpectedTensor`] for a tensor no network has.
pub fn load_gan(path: impl AsRef<Path>) -> Result<Gan> {
    let path = path.as_ref();
    let (kind, config) = read_gan_header(path)?;
    let metadata = load_metadata(path)?;
    let mut stored: HashMap<String, Tensor> = load_tensors(path)?.into_iter().collect();
    let generator = DcganGenerator::new(&config, &mut Generator::new(0));
    fill(&generator, "", &mut stored, path)?;
    let discriminator = DcganDiscriminator::new(&config, kind == GanKind::Dcgan, &mut Generator::new(0));
    fill(&discriminator, DISCRIMINATOR_PREFIX, &mut stored, path)?;
    let generator_ema = match metadata.get(EMA_KEY) {
        Some(record) => {
            let record: EmaRecord = serde_json::from_str(record).map_err(|e| Error::Format {
                path: path.to_path_buf(),
                message: format!("{EMA_KEY} is not a valid moving-average record: {e}"),
            })?;
            let copy = DcganGenerator::new(&config, &mut Generator::new(0));
            fill(&copy, GENERATOR_EMA_PREFIX, &mut stored, path)?;
            let averaging = if record.bias_corrected {
                Averaging::BiasCorrected { decay: record.decay }
            } else {
                Averaging::Exponential { decay: record.decay }
            };
            let mut average = AveragedModel::new(copy, averaging, true).map_err(|e| Error::Format {
                path: path.to_path_buf(),
                message: format!("{EMA_KEY}: {e}"),
            })?;
            average.set_n_averaged(record.n_averaged);
            Some(average)
        }
        None => None,
    };
    if let Some(name) = stored.keys().min() {
        return Err(Error::UnexpectedTensor {
            context: path.display().to_string(),
            name: name.clone(),
        });
    }
    Ok(Gan {
        kind,
        generator,
        discriminator,
        generator_ema,
    })
}

/// Copies the tensors named `prefix` + each of `module`'s state names out
/// of `stored` (removing them) into the module.
fn fill(module: &dyn Module, prefix: &str, stored: &mut HashMap<String, Tensor>, path: &Path) -> Result<()> {
    for (name, target) in module.state_dict() {
        let key = format!("{prefix}{name}");
        let value = stored.remove(&key).ok_or_else(|| Error::MissingTensor {
            context: path.display().to_string(),
            name: key.clone(),
        })?;
        if value.shape() != target.shape() {
            return Err(Error::ShapeMismatch {
                context: path.display().to_string(),
                name: key,
                expected: target.shape().to_vec(),
                found: value.shape().to_vec(),
            });
        }
        target.copy_from(&value);
    }
    Ok(())
}
