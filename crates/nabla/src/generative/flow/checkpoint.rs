//! [`FlowModel`] (either RealNVP) and its checkpoints: one safetensors file
//! whose metadata names the model (`nabla.model` = `realnvp`) and its sizes
//! (`nabla.config`, a [`FlowConfig`] as JSON), so that a checkpoint is all
//! `nabla sample` needs.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::dense::{RealNvp, RealNvpConfig};
use super::multiscale::{MultiScaleConfig, MultiScaleRealNvp};
use crate::checkpoint::{load_metadata, load_module, save_tensors};
use crate::element::Float;
use crate::error::{Error, Result};
use crate::lm::{CONFIG_KEY, MODEL_KEY};
use crate::nn::{AsModule, Module};
use crate::tensor::{Generator, Tensor};

/// The value of `nabla.model` for both RealNVP architectures.
pub const REALNVP: &str = "realnvp";

/// The most parameters a checkpoint's config may ask for, checked before
/// the model is allocated: 4 GiB of them in f32.
const MAX_PARAMETERS: usize = 1_000_000_000;

/// The sizes of a [`FlowModel`], as `nabla.config` holds them: the
/// architecture's fields and `"architecture": "dense"` or `"multi-scale"`.
///
/// ```
/// use nabla::generative::flow::{FlowConfig, RealNvpConfig};
/// let json = serde_json::to_string(&FlowConfig::Dense(RealNvpConfig::moons())).unwrap();
/// assert_eq!(json, r#"{"architecture":"dense","features":2,"couplings":6,"hidden":256,"hidden_layers":4}"#);
/// assert_eq!(FlowConfig::Dense(RealNvpConfig::moons()).parameter_count(), 2_383_896);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "architecture")]
pub enum FlowConfig {
    /// A [`RealNvp`] on vectors.
    #[serde(rename = "dense")]
    Dense(RealNvpConfig),
    /// A [`MultiScaleRealNvp`] on images.
    #[serde(rename = "multi-scale")]
    MultiScale(MultiScaleConfig),
}

impl FlowConfig {
    /// Checks the sizes make a flow.
    ///
    /// # Errors
    /// A message naming the size that does not.
    pub fn validate(&self) -> std::result::Result<(), String> {
        match self {
            FlowConfig::Dense(c) => c.validate(),
            FlowConfig::MultiScale(c) => c.validate(),
        }
    }

    /// The number of parameters of the model (saturating, so that any
    /// config can be asked before it is built).
    pub fn parameter_count(&self) -> usize {
        let linear = |i: usize, o: usize| i.saturating_mul(o).saturating_add(o);
        let conv3 = |i: usize, o: usize| i.saturating_mul(o).saturating_mul(9).saturating_add(o);
        match self {
            FlowConfig::Dense(c) => {
                let (d, h) = (c.features, c.hidden);
                let hidden = c.hidden_layers.saturating_sub(1).saturating_mul(linear(h, h));
                let net = linear(d, h).saturating_add(hidden).saturating_add(linear(h, d));
                net.saturating_mul(2).saturating_mul(c.couplings)
            }
            FlowConfig::MultiScale(c) => {
                let h = c.hidden;
                let coupling = |width: usize| {
                    conv3(width, h)
                        .saturating_add(linear(h, h))
                        .saturating_add(conv3(h, width.saturating_mul(2)))
                        .saturating_add(width)
                };
                let mut channels = c.channels;
                let mut total = 0usize;
                for _ in 0..c.scales.min(usize::BITS as usize) {
                    total = total
                        .saturating_add(c.couplings.saturating_mul(coupling(channels)))
                        .saturating_add(c.couplings.saturating_mul(coupling(channels.saturating_mul(2))));
                    channels = channels.saturating_mul(2);
                }
                total.saturating_add(c.final_couplings.saturating_mul(coupling(channels)))
            }
        }
    }
}

/// A RealNVP of either architecture, as a checkpoint holds it.
///
/// ```
/// use nabla::generative::flow::{FlowConfig, FlowModel, RealNvpConfig};
/// use nabla::Generator;
/// let config = FlowConfig::Dense(RealNvpConfig { hidden: 8, hidden_layers: 1, ..RealNvpConfig::moons() });
/// let flow: FlowModel = FlowModel::new(&config, &mut Generator::new(0));
/// assert_eq!(flow.example_shape(), vec![2]);
/// assert_eq!(flow.sample(4, &mut Generator::new(1)).shape(), &[4, 2]);
/// assert_eq!(flow.module().num_parameters(), config.parameter_count());
/// ```
pub enum FlowModel<T: Float = f32> {
    /// RealNVP on vectors.
    Dense(RealNvp<T>),
    /// Multi-scale RealNVP on images.
    MultiScale(MultiScaleRealNvp<T>),
}

impl<T: Float> FlowModel<T> {
    /// A new flow of `config`.
    ///
    /// # Panics
    /// If the config does not validate.
    pub fn new(config: &FlowConfig, generator: &mut Generator) -> Self {
        match config {
            FlowConfig::Dense(c) => FlowModel::Dense(RealNvp::new(c, generator)),
            FlowConfig::MultiScale(c) => FlowModel::MultiScale(MultiScaleRealNvp::new(c, generator)),
        }
    }

    /// The sizes.
    pub fn config(&self) -> FlowConfig {
        match self {
            FlowModel::Dense(m) => FlowConfig::Dense(m.config().clone()),
            FlowModel::MultiScale(m) => FlowConfig::MultiScale(m.config().clone()),
        }
    }

    /// The shape of one example: `[D]` or `[C, H, W]`.
    pub fn example_shape(&self) -> Vec<usize> {
        match self {
            FlowModel::Dense(m) => vec![m.config().features],
            FlowModel::MultiScale(m) => {
                let c = m.config();
                vec![c.channels, c.height, c.width]
            }
        }
    }

    /// The exact log-density (nats) of each example of `x` `[B, ...]`, `[B]`.
    pub fn log_prob(&self, x: &Tensor<T>) -> Tensor<T> {
        match self {
            FlowModel::Dense(m) => m.log_prob(x),
            FlowModel::MultiScale(m) => m.log_prob(x),
        }
    }

    /// `n` examples drawn from the flow.
    pub fn sample(&self, n: usize, generator: &mut Generator) -> Tensor<T> {
        match self {
            FlowModel::Dense(m) => m.sample(n, generator),
            FlowModel::MultiScale(m) => m.sample(n, generator),
        }
    }

    /// The parameter tree.
    pub fn module(&self) -> &dyn Module<T> {
        match self {
            FlowModel::Dense(m) => m,
            FlowModel::MultiScale(m) => m,
        }
    }

    /// The parameter tree, mutably.
    pub fn module_mut(&mut self) -> &mut dyn Module<T> {
        match self {
            FlowModel::Dense(m) => m,
            FlowModel::MultiScale(m) => m,
        }
    }
}

/// What [`fit`](crate::train::fit) needs of a model: its parameter tree.
impl AsModule for FlowModel {
    fn as_module(&self) -> &dyn Module {
        self.module()
    }

    fn as_module_mut(&mut self) -> &mut dyn Module {
        self.module_mut()
    }
}

/// Writes `model` to one safetensors file, atomically, with `nabla.model` =
/// `realnvp`, `nabla.config` = its [`FlowConfig`] as JSON, `format: pt`,
/// and the `extra` metadata given (a run's settings, say).
///
/// ```
/// use nabla::generative::flow::{load_realnvp, save_realnvp, FlowConfig, FlowModel, MultiScaleConfig};
/// use nabla::Generator;
/// let config = FlowConfig::MultiScale(MultiScaleConfig { height: 4, width: 4, hidden: 4, ..MultiScaleConfig::mnist() });
/// let flow = FlowModel::new(&config, &mut Generator::new(0));
/// let path = std::env::temp_dir().join(format!("nabla_doc_flow_{}.safetensors", std::process::id()));
/// save_realnvp(&flow, &path, Default::default())?;
/// assert_eq!(load_realnvp(&path)?.config(), config);
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), nabla::Error>(())
/// ```
///
/// # Errors
/// [`Error::Io`] if the file cannot be written (the target is then left as
/// it was).
pub fn save_realnvp(model: &FlowModel, path: impl AsRef<Path>, extra: HashMap<String, String>) -> Result<()> {
    let config = serde_json::to_string(&model.config()).expect("a config of numbers serializes");
    let mut metadata = extra;
    metadata.insert("format".into(), "pt".into());
    metadata.insert(MODEL_KEY.into(), REALNVP.into());
    metadata.insert(CONFIG_KEY.into(), config);
    save_tensors(path, &model.module().state_dict(), Some(metadata))
}

/// Reads a flow from a file written by [`save_realnvp`] (or by PyTorch with
/// the same tensor names and metadata).
///
/// # Errors
/// [`Error::Format`] naming the file when the metadata lacks `nabla.model`
/// or `nabla.config`, names another kind of model ("holds a vae model, not
/// a realnvp flow"), or holds a config that is not valid JSON of a flow's
/// sizes or asks for more than a billion parameters;
/// [`Error::MissingTensor`], [`Error::UnexpectedTensor`] and
/// [`Error::ShapeMismatch`] naming the tensor; the errors of reading a
/// safetensors file.
pub fn load_realnvp(path: impl AsRef<Path>) -> Result<FlowModel> {
    let path = path.as_ref();
    let format_error = |message: String| Error::Format {
        path: path.to_path_buf(),
        message,
    };
    let metadata = load_metadata(path)?;
    let entry = |key: &str| {
        metadata.get(key).ok_or_else(|| {
            format_error(format!(
                "the metadata has no {key:?}: not a flow checkpoint (nabla train --model realnvp writes one)"
            ))
        })
    };
    let kind = entry(MODEL_KEY)?;
    if kind != REALNVP {
        return Err(format_error(format!(
            "holds a {kind} model, not a {REALNVP} flow"
        )));
    }
    let config: FlowConfig = serde_json::from_str(entry(CONFIG_KEY)?)
        .map_err(|e| format_error(format!("{CONFIG_KEY} is not a valid flow config: {e}")))?;
    config
        .validate()
        .map_err(|m| format_error(format!("{CONFIG_KEY}: {m}")))?;
    let parameters = config.parameter_count();
    if parameters > MAX_PARAMETERS {
        return Err(format_error(format!(
            "{CONFIG_KEY} asks for {parameters} parameters, more than the {MAX_PARAMETERS} allowed"
        )));
    }
    // The weights are read from the file below; the generator only sizes the model.
    let model = FlowModel::new(&config, &mut Generator::new(0));
    // Strict: a missing, misshapen or extra tensor is an error naming the file and the tensor.
    load_module(model.module(), path, true)?;
    Ok(model)
}
