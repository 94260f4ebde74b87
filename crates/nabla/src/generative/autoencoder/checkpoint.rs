//! Autoencoder checkpoints: the weights with `nabla.model` (`ae` or
//! `conv-ae`) and the sizes, and [`AnyAutoencoder`], either model.

use std::path::Path;

use super::{Autoencoder, AutoencoderConfig, ConvAutoencoder};
use crate::error::Result;
use crate::generative::saved::{format_error, load_exactly, read_kind_and_config, save_with_kind};
use crate::generative::LatentModel;
use crate::lm::CONFIG_KEY;
use crate::nn::Module;
use crate::tensor::{Generator, Tensor};

/// Either autoencoder, as a checkpoint names it: the MLP (`ae`) or the
/// convolutional one (`conv-ae`). It is a [`Module`] with the inner
/// model's tensor names and a [`LatentModel`], so it trains, saves and
/// draws like the model it holds.
pub enum AnyAutoencoder {
    /// The MLP autoencoder (`ae`).
    Mlp(Autoencoder),
    /// The convolutional autoencoder (`conv-ae`).
    Conv(ConvAutoencoder),
}

impl AnyAutoencoder {
    /// A new model of `kind` (`ae` or `conv-ae`) and `config`.
    ///
    /// # Errors
    /// An unknown kind, or a config that does not suit the kind.
    pub fn new(
        kind: &str,
        config: &AutoencoderConfig,
        generator: &mut Generator,
    ) -> std::result::Result<Self, String> {
        config.validate(kind)?;
        match kind {
            "ae" => Ok(AnyAutoencoder::Mlp(Autoencoder::new(config, generator))),
            "conv-ae" => Ok(AnyAutoencoder::Conv(ConvAutoencoder::new(config, generator))),
            other => Err(format!("unknown autoencoder {other:?} (expected ae or conv-ae)")),
        }
    }

    /// The sizes.
    pub fn config(&self) -> &AutoencoderConfig {
        match self {
            AnyAutoencoder::Mlp(m) => m.config(),
            AnyAutoencoder::Conv(m) => m.config(),
        }
    }

    fn inner(&self) -> &dyn LatentModel {
        match self {
            AnyAutoencoder::Mlp(m) => m,
            AnyAutoencoder::Conv(m) => m,
        }
    }

    fn inner_mut(&mut self) -> &mut dyn LatentModel {
        match self {
            AnyAutoencoder::Mlp(m) => m,
            AnyAutoencoder::Conv(m) => m,
        }
    }
}

/// The inner model's tree, without a level of its own, so the tensor
/// names are the inner model's.
impl Module for AnyAutoencoder {
    fn children(&self) -> Vec<(String, &dyn Module)> {
        self.inner().children()
    }

    fn children_mut(&mut self) -> Vec<(String, &mut dyn Module)> {
        self.inner_mut().children_mut()
    }
}

impl LatentModel for AnyAutoencoder {
    fn kind(&self) -> &'static str {
        self.inner().kind()
    }

    fn latent_size(&self) -> usize {
        self.inner().latent_size()
    }

    fn embed(&self, inputs: &Tensor) -> Tensor {
        self.inner().embed(inputs)
    }

    fn decode(&self, codes: &Tensor) -> Tensor {
        self.inner().decode(codes)
    }
}

/// Writes an autoencoder to one safetensors file, atomically, with the
/// metadata `nabla.model` (`ae` or `conv-ae`) and `nabla.config` (its
/// [`AutoencoderConfig`] as JSON).
///
/// ```
/// use nabla::generative::{load_autoencoder, save_autoencoder, AnyAutoencoder, AutoencoderConfig, LatentModel};
/// use nabla::Generator;
/// let ae = AnyAutoencoder::new("conv-ae", &AutoencoderConfig::conv(2), &mut Generator::new(0)).unwrap();
/// let path = std::env::temp_dir().join(format!("nabla_doc_ae_{}.safetensors", std::process::id()));
/// save_autoencoder(&ae, &path)?;
/// let loaded = load_autoencoder(&path)?;
/// assert_eq!((loaded.kind(), loaded.latent_size()), ("conv-ae", 2));
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), nabla::Error>(())
/// ```
///
/// # Errors
/// [`Error::Io`](crate::Error::Io) if the file cannot be written (the
/// target is left as it was).
pub fn save_autoencoder(model: &AnyAutoencoder, path: impl AsRef<Path>) -> Result<()> {
    save_with_kind(model, model.kind(), model.config(), path.as_ref())
}

/// Reads an autoencoder written by [`save_autoencoder`].
///
/// # Errors
/// [`Error::Format`](crate::Error::Format) naming the file when its
/// metadata records another kind of model ("holds a vae model, not a ae
/// or conv-ae") or none, or a config that is not valid;
/// [`Error::MissingTensor`](crate::Error::MissingTensor),
/// [`Error::UnexpectedTensor`](crate::Error::UnexpectedTensor) and
/// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) naming the
/// tensor; the errors of reading a safetensors file.
pub fn load_autoencoder(path: impl AsRef<Path>) -> Result<AnyAutoencoder> {
    let path = path.as_ref();
    let (kind, config): (_, AutoencoderConfig) = read_kind_and_config(path, &["ae", "conv-ae"])?;
    let model = AnyAutoencoder::new(&kind, &config, &mut Generator::new(0))
        .map_err(|m| format_error(path, format!("{CONFIG_KEY}: {m}")))?;
    load_exactly(&model, path)?;
    Ok(model)
}
