//! GAN checkpoints: one safetensors file holding the generator's tensors
//! under PyTorch's names (`fc.weight`, `bn1.running_mean`, ...) and the
//! discriminator's under `discriminator.`, with the metadata `nabla.model`
//! (`dcgan` or `wgan-gp`) and `nabla.config` (the [`GanConfig`] as JSON),
//! so that a checkpoint is all `nabla sample` needs.

use std::collections::HashMap;
use std::path::Path;

use super::models::{DcganDiscriminator, DcganGenerator, GanConfig};
use super::trainer::{Gan, GanKind};
use crate::checkpoint::{load_metadata, load_module, load_tensors, save_tensors};
use crate::error::{Error, Result};
use crate::lm::{CONFIG_KEY, MODEL_KEY};
use crate::nn::Module;
use crate::tensor::{Generator, Tensor};

/// The prefix of the discriminator's tensors in a GAN checkpoint.
pub const DISCRIMINATOR_PREFIX: &str = "discriminator.";

/// Writes both networks of `gan` to `path`, atomically, with the metadata
/// [`MODEL_KEY`] (the GAN's kind), [`CONFIG_KEY`] (its sizes as JSON) and
/// `format: pt`.
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
    let metadata = HashMap::from([
        ("format".to_string(), "pt".to_string()),
        (MODEL_KEY.to_string(), gan.kind.as_str().to_string()),
        (CONFIG_KEY.to_string(), config),
    ]);
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

/// Reads the generator of a checkpoint written by [`save_gan`] (all that
/// sampling needs), and the GAN's kind. The discriminator's tensors, if
/// any, are left unread.
///
/// # Errors
/// Those of [`read_gan_header`]; [`Error::MissingTensor`],
/// [`Error::ShapeMismatch`] (a latent size or width that does not match
/// the recorded config) and [`Error::UnexpectedTensor`] naming the file and
/// the tensor.
pub fn load_gan_generator(path: impl AsRef<Path>) -> Result<(GanKind, DcganGenerator)> {
    let path = path.as_ref();
    let (kind, config) = read_gan_header(path)?;
    let generator = DcganGenerator::new(&config, &mut Generator::new(0));
    let report = load_module(&generator, path, false)?;
    let context = || path.display().to_string();
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
    if let Some(name) = report
        .unexpected
        .iter()
        .find(|n| !n.starts_with(DISCRIMINATOR_PREFIX))
    {
        return Err(Error::UnexpectedTensor {
            context: context(),
            name: name.clone(),
        });
    }
    Ok((kind, generator))
}

/// Reads both networks of a checkpoint written by [`save_gan`].
///
/// # Errors
/// Those of [`load_gan_generator`], and [`Error::MissingTensor`] or
/// [`Error::ShapeMismatch`] for a discriminator tensor.
pub fn load_gan(path: impl AsRef<Path>) -> Result<Gan> {
    let path = path.as_ref();
    let (kind, generator) = load_gan_generator(path)?;
    let discriminator =
        DcganDiscriminator::new(generator.config(), kind == GanKind::Dcgan, &mut Generator::new(0));
    let stored: HashMap<String, Tensor> = load_tensors(path)?.into_iter().collect();
    for (name, target) in discriminator.state_dict() {
        let key = format!("{DISCRIMINATOR_PREFIX}{name}");
        let value = stored.get(&key).ok_or_else(|| Error::MissingTensor {
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
        target.copy_from(value);
    }
    Ok(Gan {
        kind,
        generator,
        discriminator,
    })
}
