//! Checkpoints: tensors, a module's state and an optimizer's state in the
//! [safetensors](https://huggingface.co/docs/safetensors) format, which
//! PyTorch (`safetensors.torch.save_file` / `load_file`) reads and writes.
//!
//! A safetensors file is an 8-byte little-endian header length `n`, `n`
//! bytes of JSON mapping each tensor name to its dtype, shape and byte range
//! (plus an optional `"__metadata__"` map of strings), then the raw data:
//! contiguous, row-major, little-endian. nabla writes `F32` for `f32` tensors
//! and `F64` for `f64` tensors.
//!
//! - [`save_module`] / [`load_module`]: a [`Module`]'s parameters and buffers
//!   under PyTorch's `state_dict` names (`0.weight`, `fc1.bias`), so a file
//!   from `safetensors.torch.save_file(model.state_dict(), path)` loads into
//!   the nabla model with the same structure, and the other way round.
//! - [`save_optimizer`] / [`load_optimizer`]: an [`Optimizer`]'s state
//!   (`state.0.momentum_buffer`, ...) with its learning rate in the metadata.
//! - [`save_tensors`] / [`load_tensors`] / [`load_metadata`]: any named tensors.
//! - [`pth`]: PyTorch's own checkpoints (`torch.save`'s `.pt`/`.pth`
//!   files), read with a restricted unpickler that runs nothing, and
//!   converted to safetensors. [`load_module`], [`load_tensors`] and
//!   [`load_metadata`] read them too: a file is taken for a PyTorch
//!   checkpoint by its first bytes (a zip archive, or a pickle), whatever
//!   its extension, and for a safetensors file otherwise.
//!
//! **Writes are atomic**: the file is written to a temporary file in the same
//! directory, flushed to disk, then renamed over the target
//! ([`write_atomic`](crate::fs::write_atomic), re-exported here),
//! so a crash or an error mid-write leaves the old checkpoint (or none), never
//! a truncated one. **Reads never panic** on a bad file: a truncated or
//! corrupted file, a wrong header or an unsupported dtype returns
//! [`Error::Format`] naming the file (and the tensor, when one is at fault).
//! **Reads check before they read**: a file is read through a memory map,
//! its header checked first (the byte ranges against the file's length,
//! and against the module's tensors or the optimizer's parameters when
//! loading one), so a header claiming huge tensors, or a file far bigger
//! than the module, is refused by name without its data being read.
//!
//! ```
//! use nabla::checkpoint::{load_module, save_module};
//! use nabla::nn::{Linear, Module, Relu, Sequential};
//! use nabla::Generator;
//!
//! let make = |seed| -> Sequential {
//!     let mut g = Generator::new(seed);
//!     Sequential::new().add(Linear::new(4, 8, true, &mut g)).add(Relu).add(Linear::new(8, 3, true, &mut g))
//! };
//! let path = std::env::temp_dir().join(format!("nabla_doc_module_{}.safetensors", std::process::id()));
//! let trained = make(0);
//! save_module(&trained, &path)?;
//!
//! let restored = make(1); // other initial values
//! let report = load_module(&restored, &path, true)?;
//! assert_eq!(report.loaded, ["0.weight", "0.bias", "2.weight", "2.bias"]);
//! assert_eq!(restored.parameters()[0].to_vec(), trained.parameters()[0].to_vec());
//! # std::fs::remove_file(&path).unwrap();
//! # Ok::<(), nabla::Error>(())
//! ```

mod bounds;
mod mapped;
#[cfg(feature = "pth")]
pub mod pth;
mod source;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;

use safetensors::{Dtype, View};

use crate::backend;
use crate::element::Float;
use crate::error::{Error, Result};
pub use crate::fs::write_atomic;
use crate::nn::Module;
use crate::optim::Optimizer;
use crate::tensor::Tensor;
pub(crate) use bounds::check_optimizer_state;
use mapped::format_error;
pub(crate) use mapped::MappedSafetensors;
pub(crate) use source::is_pytorch;
use source::TensorFile;

/// The metadata key under which [`save_optimizer`] stores the learning rate.
pub const LEARNING_RATE_KEY: &str = "learning_rate";

// ------------------------------------------------------------------ writing

/// Writes named tensors to a safetensors file at `path`, atomically.
///
/// Each tensor is stored as `F32` (for `Tensor<f32>`) or `F64` (for
/// `Tensor<f64>`) with its shape, its elements contiguous in row-major order
/// whatever its strides (a transposed view is written as the transposed
/// matrix). `metadata` becomes the file's `"__metadata__"` map of strings
/// (PyTorch writes `{"format": "pt"}`). The safetensors format orders the
/// tensors in the file by name; [`load_tensors`] returns them in that order.
///
/// ```
/// use nabla::checkpoint::{load_tensors, save_tensors};
/// use nabla::Tensor;
/// let path = std::env::temp_dir().join(format!("nabla_doc_tensors_{}.safetensors", std::process::id()));
/// let w = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
/// save_tensors(&path, &[("w".to_string(), w.transpose(0, 1))], None)?;
/// let loaded = load_tensors::<f32>(&path)?;
/// assert_eq!(loaded[0].0, "w");
/// assert_eq!(loaded[0].1.shape(), &[3, 2]);
/// assert_eq!(loaded[0].1.to_vec(), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), nabla::Error>(())
/// ```
///
/// # Errors
/// [`Error::DuplicateTensor`] if two tensors have the same name,
/// [`Error::Format`] for the name `"__metadata__"` (reserved by the format),
/// [`Error::Io`] if the file cannot be written (the target is then left as
/// it was).
pub fn save_tensors<T: Float>(
    path: impl AsRef<Path>,
    tensors: &[(String, Tensor<T>)],
    metadata: Option<HashMap<String, String>>,
) -> Result<()> {
    let path = path.as_ref();
    let bytes = serialize(path, tensors, metadata)?;
    write_atomic(path, |w| w.write_all(&bytes))
}

/// Writes `module.state_dict()` (parameters and buffers, with PyTorch's
/// hierarchical names such as `0.weight` or `encoder.fc1.bias`) to a
/// safetensors file, atomically, with the metadata `{"format": "pt"}` that
/// PyTorch's tools expect. See [`save_tensors`] for the layout and errors,
/// and the [module docs](self) for an example.
///
/// # Errors
/// As [`save_tensors`].
pub fn save_module<T: Float>(module: &dyn Module<T>, path: impl AsRef<Path>) -> Result<()> {
    save_tensors(path, &module.state_dict(), Some(pt_metadata()))
}

/// [`save_module`] with more metadata: `metadata`'s entries are written
/// beside `{"format": "pt"}` (which they cannot replace), for what a
/// program wants to know about the model when it loads it (its
/// architecture, its data's normalisation). PyTorch reads them with
/// `safe_open(path, "pt").metadata()`; [`load_metadata`] reads them back.
///
/// ```
/// use std::collections::HashMap;
/// use nabla::checkpoint::{load_metadata, save_module_with_metadata};
/// use nabla::nn::Linear;
/// use nabla::Generator;
/// let path = std::env::temp_dir().join(format!("nabla_doc_module_meta_{}.safetensors", std::process::id()));
/// let layer: Linear = Linear::new(3, 2, true, &mut Generator::new(0));
/// let kind = HashMap::from([("model".to_string(), "linear-3-2".to_string())]);
/// save_module_with_metadata(&layer, &path, kind)?;
/// let read = load_metadata(&path)?;
/// assert_eq!((read["model"].as_str(), read["format"].as_str()), ("linear-3-2", "pt"));
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), nabla::Error>(())
/// ```
///
/// # Errors
/// As [`save_tensors`].
pub fn save_module_with_metadata<T: Float>(
    module: &dyn Module<T>,
    path: impl AsRef<Path>,
    metadata: HashMap<String, String>,
) -> Result<()> {
    let mut all = metadata;
    all.extend(pt_metadata());
    save_tensors(path, &module.state_dict(), Some(all))
}

/// Writes `optimizer.state_dict()` (momentum buffers, moment estimates, step
/// counts, named `state.{index}.{name}` as in PyTorch) to a safetensors file,
/// atomically, with the learning rate in the metadata under
/// [`LEARNING_RATE_KEY`] (as the shortest decimal that reads back exactly).
///
/// Only the tensors and the learning rate are saved: other hyperparameters
/// (momentum, betas, weight decay) are taken from the optimizer that loads
/// the file, which must be built over the same parameters in the same order.
///
/// # Errors
/// As [`save_tensors`].
pub fn save_optimizer<T: Float>(optimizer: &dyn Optimizer<T>, path: impl AsRef<Path>) -> Result<()> {
    let mut metadata = pt_metadata();
    metadata.insert(
        LEARNING_RATE_KEY.to_string(),
        optimizer.learning_rate().to_string(),
    );
    save_tensors(path, &optimizer.state_dict(), Some(metadata))
}

fn pt_metadata() -> HashMap<String, String> {
    HashMap::from([("format".to_string(), "pt".to_string())])
}

/// One tensor's bytes, for the safetensors serializer.
pub(crate) struct Encoded {
    pub(crate) dtype: Dtype,
    pub(crate) shape: Vec<usize>,
    pub(crate) bytes: Vec<u8>,
}

impl View for Encoded {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        std::borrow::Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

fn encode<T: Float>(tensor: &Tensor<T>) -> Encoded {
    let is_f32 = T::DTYPE == f32::DTYPE;
    let bytes = backend::read_host(tensor, |values| {
        let mut bytes = Vec::with_capacity(values.len() * if is_f32 { 4 } else { 8 });
        for &v in values {
            if is_f32 {
                // Exact: T is f32 here.
                bytes.extend_from_slice(&(v.as_f64() as f32).to_le_bytes());
            } else {
                bytes.extend_from_slice(&v.as_f64().to_le_bytes());
            }
        }
        bytes
    });
    Encoded {
        dtype: if is_f32 { Dtype::F32 } else { Dtype::F64 },
        shape: tensor.shape().to_vec(),
        bytes,
    }
}

/// The whole file's bytes.
fn serialize<T: Float>(
    path: &Path,
    tensors: &[(String, Tensor<T>)],
    metadata: Option<HashMap<String, String>>,
) -> Result<Vec<u8>> {
    let mut seen = HashSet::new();
    for (name, _) in tensors {
        if name == "__metadata__" {
            return Err(format_error(
                path,
                "a tensor cannot be named \"__metadata__\": the safetensors format reserves that key",
            ));
        }
        if !seen.insert(name.as_str()) {
            return Err(Error::DuplicateTensor {
                context: path.display().to_string(),
                name: name.clone(),
            });
        }
    }
    let encoded = tensors.iter().map(|(name, t)| (name.as_str(), encode(t)));
    safetensors::serialize(encoded, metadata)
        .map_err(|e| format_error(path, format!("cannot encode the tensors: {e}")))
}

// ------------------------------------------------------------------ reading

/// Reads every tensor of a safetensors file, in the order of their data in
/// the file (by name, for files written by nabla or by PyTorch's
/// `safetensors`).
///
/// `F32` and `F64` tensors are read into `Tensor<T>`, converting when the
/// types differ as PyTorch's `copy_` does: `f32` to `f64` is exact, `f64` to
/// `f32` rounds to nearest. `I64` tensors (PyTorch's counters, such as
/// BatchNorm's `num_batches_tracked`) are converted to the float type. The
/// tensors are fresh (no gradient, not requiring one).
///
/// A PyTorch checkpoint (see [`pth`]) is read as [`pth::PthFile::decode`]
/// reads it, its tensors in the order of its pickle.
///
/// # Errors
/// [`Error::Io`] if the file cannot be read; [`Error::Format`] if it is not a
/// valid safetensors file (truncated, a wrong or inconsistent header) or a
/// tensor has another dtype (`F16`, `BF16`, other integers, ...), naming
/// the tensor and the dtype.
pub fn load_tensors<T: Float>(path: impl AsRef<Path>) -> Result<Vec<(String, Tensor<T>)>> {
    let file = TensorFile::open(path.as_ref())?;
    file.names()
        .into_iter()
        .map(|name| {
            let tensor = file.decode(&name)?;
            Ok((name, tensor))
        })
        .collect()
}

/// The `"__metadata__"` map of a safetensors file (empty when it has none,
/// and for a PyTorch checkpoint).
///
/// ```
/// let path = std::env::temp_dir().join(format!("nabla_doc_meta_{}.safetensors", std::process::id()));
/// let meta = std::collections::HashMap::from([("epoch".to_string(), "3".to_string())]);
/// nabla::checkpoint::save_tensors::<f32>(&path, &[], Some(meta.clone()))?;
/// assert_eq!(nabla::checkpoint::load_metadata(&path)?, meta);
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), nabla::Error>(())
/// ```
///
/// # Errors
/// As [`load_tensors`].
pub fn load_metadata(path: impl AsRef<Path>) -> Result<HashMap<String, String>> {
    Ok(TensorFile::open(path.as_ref())?.metadata())
}

/// What [`load_module`] did, by tensor name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Tensors copied into the module, in `state_dict` order.
    pub loaded: Vec<String>,
    /// Tensors of the module that the file lacks (left unchanged), in
    /// `state_dict` order.
    pub missing: Vec<String>,
    /// Tensors of the file that the module does not have (ignored), in file
    /// order.
    pub unexpected: Vec<String>,
    /// Tensors whose shape in the file differs from the module's (left
    /// unchanged), in `state_dict` order.
    pub mismatched: Vec<ShapeMismatch>,
}

/// A tensor that [`load_module`] skipped because its shapes differ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShapeMismatch {
    /// The tensor's name.
    pub name: String,
    /// Its shape in the module.
    pub expected: Vec<usize>,
    /// Its shape in the file.
    pub found: Vec<usize>,
}

impl LoadReport {
    /// True when every tensor of the module was loaded and the file had no
    /// others.
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty() && self.unexpected.is_empty() && self.mismatched.is_empty()
    }
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "loaded {} tensors", self.loaded.len())?;
        if !self.missing.is_empty() {
            write!(f, "; missing: {:?}", self.missing)?;
        }
        if !self.unexpected.is_empty() {
            write!(f, "; unexpected: {:?}", self.unexpected)?;
        }
        for m in &self.mismatched {
            write!(
                f,
                "; {:?} has shape {:?} in the file, {:?} in the module",
                m.name, m.found, m.expected
            )?;
        }
        Ok(())
    }
}

/// Copies the tensors of a safetensors file, or of a PyTorch checkpoint
/// (`torch.save(model.state_dict(), path)`, see [`pth`]), into `module`'s
/// parameters and buffers, in place (the module's tensors, and every optimizer holding
/// them, see the new values), matching them by their `state_dict` names.
///
/// With `strict`, the file must hold exactly the module's tensors with the
/// same shapes. Otherwise what fits is loaded and the rest is reported in the
/// returned [`LoadReport`]: tensors the file lacks, tensors only the file
/// has, tensors whose shapes differ. `F32`/`F64` data is converted to `T` as
/// in [`load_tensors`].
///
/// Everything is checked and decoded before the first tensor is changed, so
/// a load that returns an error leaves the module untouched.
///
/// ```
/// use nabla::checkpoint::{load_module, save_tensors};
/// use nabla::nn::Linear;
/// use nabla::{Generator, Tensor};
/// let path = std::env::temp_dir().join(format!("nabla_doc_partial_{}.safetensors", std::process::id()));
/// save_tensors(&path, &[("weight".to_string(), Tensor::<f32>::ones(&[2, 3]))], None)?;
///
/// let layer: Linear = Linear::new(3, 2, true, &mut Generator::new(0));
/// assert!(matches!(load_module(&layer, &path, true), Err(nabla::Error::MissingTensor { .. })));
/// let report = load_module(&layer, &path, false)?;
/// assert_eq!((report.loaded, report.missing), (vec!["weight".to_string()], vec!["bias".to_string()]));
/// assert_eq!(layer.weight.to_vec(), vec![1.0; 6]);
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), nabla::Error>(())
/// ```
///
/// # Errors
/// [`Error::Io`] and [`Error::Format`] as in [`load_tensors`] (also in
/// non-strict mode, and for an unsupported dtype only when the module needs
/// that tensor). With `strict`, the first problem found, going through the
/// module's tensors in `state_dict` order and then the file's extra ones:
/// [`Error::MissingTensor`], [`Error::ShapeMismatch`] or
/// [`Error::UnexpectedTensor`], naming the file and the tensor.
///
/// # Panics
/// If a tensor of the module is a strided view (it cannot be overwritten in
/// place); this is checked before anything is changed.
pub fn load_module<T: Float>(
    module: &dyn Module<T>,
    path: impl AsRef<Path>,
    strict: bool,
) -> Result<LoadReport> {
    let path = path.as_ref();
    let context = || path.display().to_string();
    let file = TensorFile::open(path)?;

    // Every name and shape is checked against the module before any data
    // is read: a file far bigger than the module is refused (with `strict`)
    // or left unread, whatever its tensors claim.
    let targets = module.state_dict();
    let expected: HashSet<&str> = targets.iter().map(|(n, _)| n.as_str()).collect();
    let mut report = LoadReport::default();
    let mut to_read = Vec::new();
    for (name, target) in &targets {
        let Some(shape) = file.shape(name) else {
            if strict {
                return Err(Error::MissingTensor {
                    context: context(),
                    name: name.clone(),
                });
            }
            report.missing.push(name.clone());
            continue;
        };
        if shape != target.shape() {
            if strict {
                return Err(Error::ShapeMismatch {
                    context: context(),
                    name: name.clone(),
                    expected: target.shape().to_vec(),
                    found: shape.to_vec(),
                });
            }
            report.mismatched.push(ShapeMismatch {
                name: name.clone(),
                expected: target.shape().to_vec(),
                found: shape.to_vec(),
            });
            continue;
        }
        assert!(
            target.is_contiguous(),
            "load_module: the module's tensor {name:?} of shape {:?} is a strided view and cannot be loaded in place",
            target.shape()
        );
        to_read.push((name, target));
        report.loaded.push(name.clone());
    }
    for name in file.names() {
        if !expected.contains(name.as_str()) {
            if strict {
                return Err(Error::UnexpectedTensor {
                    context: context(),
                    name,
                });
            }
            report.unexpected.push(name);
        }
    }
    let updates = to_read
        .into_iter()
        .map(|(name, target)| Ok((target, file.decode::<T>(name)?)))
        .collect::<Result<Vec<_>>>()?;
    for (target, value) in updates {
        target.copy_from(&value);
    }
    Ok(report)
}

/// Restores an optimizer's state saved by [`save_optimizer`] (or any
/// safetensors file with its `state.{index}.{name}` tensors): the tensors go
/// to [`Optimizer::load_state_dict`], then the learning rate is set from the
/// metadata. On an error the learning rate is left as it was.
///
/// # Errors
/// [`Error::Io`] and [`Error::Format`] as in [`load_tensors`], also when the
/// metadata lacks a valid [`LEARNING_RATE_KEY`]. Before any tensor is
/// read, each must be named `state.{index}.{name}` for one of the
/// optimizer's parameters, with that parameter's shape (a scalar for
/// `step`), at most 16 per parameter: else [`Error::UnexpectedTensor`],
/// [`Error::ShapeMismatch`] or [`Error::Format`] naming the file and the
/// tensor. Then the optimizer's own error for a missing, unexpected or
/// wrong-shaped tensor, with the file's name added to its context.
pub fn load_optimizer<T: Float>(optimizer: &mut dyn Optimizer<T>, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let file = MappedSafetensors::open(path)?;
    let metadata = file.metadata();
    let learning_rate = metadata.get(LEARNING_RATE_KEY).ok_or_else(|| {
        format_error(
            path,
            format!("the metadata has no {LEARNING_RATE_KEY:?}: not an optimizer checkpoint"),
        )
    })?;
    let learning_rate: f64 = learning_rate
        .parse()
        .ok()
        .filter(|lr: &f64| lr.is_finite())
        .ok_or_else(|| {
            format_error(
                path,
                format!("the metadata's {LEARNING_RATE_KEY:?} is {learning_rate:?}, not a finite number"),
            )
        })?;
    let names = file.names();
    check_optimizer_state(
        &file,
        names.iter().map(|n| (n.as_str(), n.as_str())),
        optimizer.parameters(),
    )?;
    let state = names
        .into_iter()
        .map(|name| {
            let tensor = file.decode(&name)?;
            Ok((name, tensor))
        })
        .collect::<Result<Vec<_>>>()?;
    optimizer.load_state_dict(&state).map_err(|e| in_file(e, path))?;
    optimizer.set_learning_rate(learning_rate);
    Ok(())
}

/// Adds the file's name to the context of an optimizer's state error.
fn in_file(error: Error, path: &Path) -> Error {
    let with_file = |context: String| format!("{} ({context})", path.display());
    match error {
        Error::MissingTensor { context, name } => Error::MissingTensor {
            context: with_file(context),
            name,
        },
        Error::UnexpectedTensor { context, name } => Error::UnexpectedTensor {
            context: with_file(context),
            name,
        },
        Error::DuplicateTensor { context, name } => Error::DuplicateTensor {
            context: with_file(context),
            name,
        },
        Error::ShapeMismatch {
            context,
            name,
            expected,
            found,
        } => Error::ShapeMismatch {
            context: with_file(context),
            name,
            expected,
            found,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_is_little_endian_row_major() {
        let t = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2]).transpose(0, 1);
        let e = encode(&t);
        assert_eq!(e.dtype, Dtype::F32);
        let values: Vec<f32> = e
            .bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(values, [1.0, 3.0, 2.0, 4.0]);
        assert_eq!(
            encode(&Tensor::from_vec(vec![0.5f64], &[1])).bytes,
            0.5f64.to_le_bytes()
        );
    }
}
