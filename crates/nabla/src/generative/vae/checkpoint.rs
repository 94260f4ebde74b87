//! VAE checkpoints: the weights with `nabla.model = vae` and the sizes.

use std::path::Path;

use super::{Vae, VaeConfig};
use crate::error::{Error, Result};
use crate::generative::saved::{format_error, load_exactly, read_kind_and_config, save_with_kind};
use crate::lm::CONFIG_KEY;
use crate::tensor::Generator;

/// Writes `vae` to one safetensors file, atomically, with the metadata
/// `nabla.model = vae` and `nabla.config` = its [`VaeConfig`] as JSON, so
/// that [`load_vae`] (and `nabla sample`) need nothing else. The tensors
/// are PyTorch's example's (`fc1.weight`, ..., `fc4.bias`).
///
/// ```
/// use nabla::generative::{load_vae, save_vae, Vae, VaeConfig};
/// use nabla::nn::Module;
/// use nabla::Generator;
/// let config = VaeConfig { latent_size: 2, ..VaeConfig::mnist() };
/// let vae = Vae::new(&config, &mut Generator::new(0));
/// let path = std::env::temp_dir().join(format!("nabla_doc_vae_{}.safetensors", std::process::id()));
/// save_vae(&vae, &path)?;
/// let loaded = load_vae(&path)?;
/// assert_eq!(loaded.config(), &config);
/// assert_eq!(loaded.fc4.weight.to_vec(), vae.fc4.weight.to_vec());
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), nabla::Error>(())
/// ```
///
/// # Errors
/// [`Error::Io`] if the file cannot be written (the target is left as it was).
pub fn save_vae(vae: &Vae, path: impl AsRef<Path>) -> Result<()> {
    save_with_kind(vae, "vae", vae.config(), path.as_ref())
}

/// Reads a VAE written by [`save_vae`] (or by PyTorch with the same tensor
/// names and metadata).
///
/// # Errors
/// [`Error::Format`] naming the file when its metadata records another
/// kind of model ("holds a dcgan model, not a vae") or none, or a config
/// that is not valid, or when its weights have another latent size than
/// its config says; [`Error::MissingTensor`], [`Error::UnexpectedTensor`]
/// and [`Error::ShapeMismatch`] naming the tensor; the errors of reading a
/// safetensors file.
pub fn load_vae(path: impl AsRef<Path>) -> Result<Vae> {
    let path = path.as_ref();
    let (_, config): (_, VaeConfig) = read_kind_and_config(path, &["vae"])?;
    config
        .validate()
        .map_err(|m| format_error(path, format!("{CONFIG_KEY}: {m}")))?;
    // The weights are read from the file below; the generator only sizes them.
    let vae = Vae::new(&config, &mut Generator::new(0));
    load_exactly(&vae, path).map_err(|e| explain_latent_mismatch(e, path, &config))?;
    Ok(vae)
}

/// A shape mismatch of a layer next to the latents, said as what it is: a
/// latent size other than the config's.
fn explain_latent_mismatch(error: Error, path: &Path, config: &VaeConfig) -> Error {
    match &error {
        Error::ShapeMismatch {
            name,
            expected,
            found,
            ..
        } if ["fc21.weight", "fc22.weight", "fc3.weight"].contains(&name.as_str()) => {
            let latent_axis = usize::from(name == "fc3.weight");
            match (found.get(latent_axis), expected.get(1 - latent_axis) == found.get(1 - latent_axis)) {
                (Some(&latents), true) if latents != config.latent_size => format_error(
                    path,
                    format!(
                        "{name} is {found:?}, a latent size of {latents}, but {CONFIG_KEY} says latent_size {}",
                        config.latent_size
                    ),
                ),
                _ => error,
            }
        }
        _ => error,
    }
}
