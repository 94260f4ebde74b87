//! PyTorch checkpoints read directly: the `.pt`/`.pth` files of
//! `torch.save(model.state_dict(), path)` (and `pytorch_model.bin` and the
//! like), without Python and without running anything in them.
//!
//! **Both formats.** The zip archive of PyTorch 1.6 and later (`{name}/data.pkl`,
//! the pickled object; `{name}/data/{key}`, each storage's raw
//! little-endian bytes; `{name}/byteorder`), and the legacy format before it
//! (`_use_new_zipfile_serialization=False`: pickles then storages in one
//! stream). [`PthFile::open`] tells them apart by content: a zip archive
//! starts with `PK\x03\x04`, a legacy file with a pickle.
//!
//! **A restricted unpickler.** A pickle is a program: `pickle.load` calls
//! whatever functions the file names, so a malicious checkpoint can run any
//! command (`os.system`). nabla's unpickler builds only tensors, dicts
//! (`collections.OrderedDict` included), lists, tuples and plain values
//! (integers, floats, strings, booleans, `None`), and names only the globals
//! that build those (`torch._utils._rebuild_tensor_v2`, `_rebuild_parameter`,
//! the storage classes `torch.FloatStorage`, ...), which it interprets
//! itself. Any other global (`posix.system`, `builtins.eval`, a class of the
//! program that saved the file) is refused with [`Error::Format`] naming
//! it, as soon as it is read. This is what `torch.load(weights_only=True)`
//! accepts, less the exotic parts (sparse and quantized tensors, NumPy
//! arrays, `torch.device`).
//!
//! **Tensors.** `float32`, `float64`, `float16`, `bfloat16`, the integers
//! (`int64`: BatchNorm's `num_batches_tracked`) and `bool`, on any device
//! (a CUDA checkpoint reads the same). [`PthFile::decode`] gives a
//! `Tensor<T>` in nabla's float type: `float16` and `bfloat16` widened to
//! `f32` (exactly), integers converted as nabla's safetensors reader does
//! (nabla keeps counters in the float type). Views are materialised: two
//! tensors sharing a storage (a weight and its transpose, slices of one
//! buffer), offsets into it, non-contiguous strides all come out as
//! contiguous tensors with the values PyTorch shows.
//!
//! **Names.** A state dict's names are the tensors' names. A checkpoint
//! that nests them (`{"model": state_dict, "epoch": 3}`) names each tensor
//! by its path joined with dots (`model.fc.weight`), lists by index; the
//! plain values are listed by [`PthFile::others`]. A file holding one
//! tensor names it `tensor`.
//!
//! [`load_module`](super::load_module), [`load_tensors`](super::load_tensors)
//! and [`load_model_from_checkpoint`](crate::train::load_model_from_checkpoint)
//! read these files as they read safetensors files (by content, whatever
//! the extension), with the same name and shape checks, and
//! [`convert_to_safetensors`] writes one as a safetensors file
//! (`nabla convert in.pth out.safetensors`).
//!
//! ```
//! use nabla::checkpoint::pth::{PthDtype, PthFile};
//! use nabla::checkpoint::load_module;
//! use nabla::nn::{BatchNorm2d, Conv2d, Module, Sequential};
//! use nabla::Generator;
//!
//! // torch.save(nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)).state_dict(), path)
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/pth/conv_bn.pth");
//! let file = PthFile::open(path)?;
//! assert_eq!(file.names()[..3], ["0.weight", "0.bias", "1.weight"]);
//! assert_eq!(file.shape("0.weight"), Some(&[2, 1, 3, 3][..]));
//! assert_eq!(file.dtype("1.num_batches_tracked"), Some(PthDtype::I64));
//! assert_eq!(file.decode::<f32>("1.num_batches_tracked")?.item(), 3.0);
//!
//! // The same file into a nabla model with PyTorch's names.
//! let mut g = Generator::new(0);
//! let model: Sequential = Sequential::new().add(Conv2d::new(1, 2, 3, &mut g)).add(BatchNorm2d::new(2));
//! let report = load_module(&model, path, true)?;
//! assert!(report.is_complete());
//! assert_eq!(model.state_dict()[0].1.to_vec(), file.decode::<f32>("0.weight")?.to_vec());
//! # Ok::<(), nabla::Error>(())
//! ```

mod allowed;
mod archive;
mod contents;
mod convert;
mod dtype;
mod legacy;
mod pickle;
mod view;

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub use convert::{convert_to_safetensors, Conversion};
pub use dtype::PthDtype;

use crate::element::Float;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use archive::ZipStorages;
use legacy::LegacyStorages;
use pickle::{unpickle, TensorRecord};

/// The first bytes of a zip archive (a local file header).
pub(crate) const ZIP_MAGIC: &[u8; 4] = b"PK\x03\x04";

/// A PyTorch checkpoint, open: its tensors' names, types and shapes are
/// known (the pickle has been read and every view checked against its
/// storage); their data is read when they are decoded.
pub struct PthFile {
    path: PathBuf,
    tensors: Vec<(String, TensorRecord)>,
    index: HashMap<String, usize>,
    others: Vec<String>,
    storages: Storages,
    /// The storage read last: consecutive views of one storage read it once.
    last_storage: Mutex<Option<(String, Arc<Vec<u8>>)>>,
}

enum Storages {
    Zip(ZipStorages),
    Legacy(LegacyStorages),
}

/// One tensor of a checkpoint as PyTorch stored it: its type, its shape,
/// and its elements contiguous in row-major order, little-endian.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawTensor {
    /// The element type.
    pub dtype: PthDtype,
    /// The shape (`[]` for a scalar).
    pub shape: Vec<usize>,
    /// `shape`'s product times `dtype.size()` bytes.
    pub data: Vec<u8>,
}

impl PthFile {
    /// Opens a checkpoint written by `torch.save`: reads its pickle through
    /// the restricted unpickler and checks each tensor's view against its
    /// storage, without reading the storages.
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be read; [`Error::Format`] naming
    /// the file if it is neither format, is truncated or corrupted, or its
    /// pickle names a global outside the allow-list (the message names the
    /// global, such as `posix.system`) or holds anything but tensors,
    /// containers and plain values.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let io_error = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = File::open(path).map_err(io_error)?;
        if file.metadata().map_err(io_error)?.is_dir() {
            return Err(io_error(io::Error::new(
                io::ErrorKind::IsADirectory,
                "a directory, where a PyTorch checkpoint should be",
            )));
        }
        let mut start = [0u8; 4];
        let read = read_up_to(&mut file, &mut start).map_err(io_error)?;
        let format = |message: String| Error::Format {
            path: path.to_path_buf(),
            message,
        };
        let (storages, contents) = if &start[..read] == ZIP_MAGIC {
            let (storages, pickle) = ZipStorages::open(file).map_err(format)?;
            let (root, _) = unpickle(&pickle).map_err(|e| format(format!("data.pkl: {e}")))?;
            let contents = contents::contents(root).map_err(|e| format(format!("data.pkl: {e}")))?;
            (Storages::Zip(storages), contents)
        } else if start[0] == 0x80 && read > 1 {
            let (storages, contents) = LegacyStorages::open(&file)
                .map_err(|e| format(format!("{e} (read as the legacy, non-zip torch.save format)")))?;
            (Storages::Legacy(storages), contents)
        } else {
            return Err(format(
                "neither a zip archive nor a pickle: not a PyTorch checkpoint (torch.save writes a zip \
                 archive, or a pickle stream in its legacy format)"
                    .to_string(),
            ));
        };
        let pth = PthFile {
            path: path.to_path_buf(),
            index: contents
                .tensors
                .iter()
                .enumerate()
                .map(|(i, (name, _))| (name.clone(), i))
                .collect(),
            tensors: contents.tensors,
            others: contents.others,
            storages,
            last_storage: Mutex::new(None),
        };
        pth.check_views()?;
        Ok(pth)
    }

    /// Every view within its storage, and every storage present with the
    /// length its persistent id gives.
    fn check_views(&self) -> Result<()> {
        for (name, record) in &self.tensors {
            view::check(record).map_err(|e| self.tensor_error(name, e))?;
            let expected = record
                .storage
                .numel
                .checked_mul(record.storage.dtype.size() as u64);
            let found = match &self.storages {
                Storages::Zip(zip) => zip.entry_size(&format!("data/{}", record.storage.key)),
                Storages::Legacy(legacy) => legacy.storage(&record.storage.key).ok().map(|s| s.len() as u64),
            };
            match found {
                None => {
                    return Err(self.tensor_error(
                        name,
                        format!("its storage {:?} is missing from the file", record.storage.key),
                    ))
                }
                Some(found) if Some(found) != expected => {
                    return Err(self.tensor_error(
                        name,
                        format!(
                            "its storage {:?} has {found} bytes, but {} elements of {} take {}",
                            record.storage.key,
                            record.storage.numel,
                            record.storage.dtype,
                            record
                                .storage
                                .numel
                                .saturating_mul(record.storage.dtype.size() as u64)
                        ),
                    ))
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    fn tensor_error(&self, name: &str, message: impl std::fmt::Display) -> Error {
        Error::Format {
            path: self.path.clone(),
            message: format!("tensor {name:?}: {message}"),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The tensors' names, in the order of the pickle (a state dict's
    /// order).
    pub fn names(&self) -> Vec<String> {
        self.tensors.iter().map(|(name, _)| name.clone()).collect()
    }

    /// The names of the values that are not tensors (`epoch`,
    /// `optimizer.param_groups.0.lr`, ...), which nabla does not read.
    pub fn others(&self) -> &[String] {
        &self.others
    }

    /// Whether the file is in the legacy (non-zip) format.
    pub fn is_legacy(&self) -> bool {
        matches!(self.storages, Storages::Legacy(_))
    }

    fn record(&self, name: &str) -> Option<&TensorRecord> {
        self.index.get(name).map(|&i| &self.tensors[i].1)
    }

    /// The element type of tensor `name`, if the file has it.
    pub fn dtype(&self, name: &str) -> Option<PthDtype> {
        self.record(name).map(|r| r.storage.dtype)
    }

    /// The shape of tensor `name`, if the file has it.
    pub fn shape(&self, name: &str) -> Option<&[usize]> {
        self.record(name).map(|r| r.shape.as_slice())
    }

    /// Tensor `name` as stored: its type, shape and contiguous bytes.
    ///
    /// # Errors
    /// [`Error::Format`] naming the file and the tensor if the file lacks
    /// it, or its storage cannot be read (truncated, failing its CRC-32).
    pub fn read(&self, name: &str) -> Result<RawTensor> {
        let record = self
            .record(name)
            .ok_or_else(|| self.tensor_error(name, "not in the checkpoint"))?;
        let storage = self.storage(record).map_err(|e| self.tensor_error(name, e))?;
        Ok(RawTensor {
            dtype: record.storage.dtype,
            shape: record.shape.clone(),
            data: view::gather(record, &storage),
        })
    }

    /// Tensor `name` as a `Tensor<T>`: each element converted to `T` (see
    /// [`PthDtype`]); contiguous, no gradient.
    ///
    /// # Errors
    /// As [`read`](Self::read).
    pub fn decode<T: Float>(&self, name: &str) -> Result<Tensor<T>> {
        let raw = self.read(name)?;
        let values = raw
            .data
            .chunks_exact(raw.dtype.size())
            .map(|bytes| T::from_f64(raw.dtype.value(bytes)))
            .collect();
        Ok(Tensor::from_contiguous(values, &raw.shape))
    }

    /// The bytes of `record`'s storage, little-endian.
    fn storage(&self, record: &TensorRecord) -> std::result::Result<Arc<Vec<u8>>, String> {
        let key = &record.storage.key;
        let mut last = self.last_storage.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((cached, bytes)) = last.as_ref() {
            if cached == key {
                return Ok(bytes.clone());
            }
        }
        let len = record.storage.numel * record.storage.dtype.size() as u64;
        let (mut bytes, big_endian) = match &self.storages {
            Storages::Zip(zip) => (zip.read_storage(key, len)?, zip.big_endian),
            Storages::Legacy(legacy) => (legacy.storage(key)?.to_vec(), legacy.big_endian),
        };
        if big_endian {
            for element in bytes.chunks_exact_mut(record.storage.dtype.size()) {
                element.reverse();
            }
        }
        let bytes = Arc::new(bytes);
        *last = Some((key.clone(), bytes.clone()));
        Ok(bytes)
    }
}

/// Reads into `buffer` until it is full or the file ends; returns how much
/// was read.
fn read_up_to(file: &mut File, buffer: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}
