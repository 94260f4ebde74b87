//! The files a checkpoint may be, told apart by their first bytes (not
//! their extension): a safetensors file (an 8-byte header length, then the
//! JSON header's `{`), or a PyTorch checkpoint (`torch.save`'s zip archive,
//! `PK\x03\x04`, or its legacy pickle stream, `\x80` and a protocol number),
//! read with the `pth` feature.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use super::mapped::MappedSafetensors;
use crate::element::Float;
use crate::error::Result;
use crate::tensor::Tensor;

#[cfg(not(feature = "pth"))]
use super::mapped::format_error;
#[cfg(feature = "pth")]
use super::pth::PthFile;

/// A file of named tensors, open, its header (or pickle) read.
pub(crate) enum TensorFile {
    Safetensors(MappedSafetensors),
    #[cfg(feature = "pth")]
    Pth(PthFile),
}

/// Whether the file at `path` starts as a PyTorch checkpoint does. A file
/// that cannot be read is not: the safetensors reader then reports why.
pub(crate) fn is_pytorch(path: &Path) -> bool {
    let mut start = [0u8; 9];
    let Ok(mut file) = File::open(path) else {
        return false;
    };
    let mut read = 0;
    while read < start.len() {
        match file.read(&mut start[read..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => read += n,
        }
    }
    let start = &start[..read];
    if start.len() == 9 && start[8] == b'{' {
        return false;
    }
    start.starts_with(b"PK\x03\x04") || (start.len() >= 2 && start[0] == 0x80 && (2..=5).contains(&start[1]))
}

impl TensorFile {
    /// Opens the file at `path` in its format.
    ///
    /// # Errors
    /// The reader's errors; for a PyTorch checkpoint without the `pth`
    /// feature, [`Error::Format`](crate::Error::Format) saying so.
    pub(crate) fn open(path: &Path) -> Result<Self> {
        if !is_pytorch(path) {
            return Ok(Self::Safetensors(MappedSafetensors::open(path)?));
        }
        #[cfg(feature = "pth")]
        return Ok(Self::Pth(PthFile::open(path)?));
        #[cfg(not(feature = "pth"))]
        Err(format_error(
            path,
            "a PyTorch checkpoint (torch.save's format): this build of nabla reads those only with its \
             `pth` feature",
        ))
    }

    /// The tensors' names, in the file's order.
    pub(crate) fn names(&self) -> Vec<String> {
        match self {
            Self::Safetensors(file) => file.names(),
            #[cfg(feature = "pth")]
            Self::Pth(file) => file.names(),
        }
    }

    /// The shape of tensor `name`, if the file has it.
    pub(crate) fn shape(&self, name: &str) -> Option<&[usize]> {
        match self {
            Self::Safetensors(file) => file.info(name).map(|info| info.shape.as_slice()),
            #[cfg(feature = "pth")]
            Self::Pth(file) => file.shape(name),
        }
    }

    /// Tensor `name` as a `Tensor<T>`.
    pub(crate) fn decode<T: Float>(&self, name: &str) -> Result<Tensor<T>> {
        match self {
            Self::Safetensors(file) => file.decode(name),
            #[cfg(feature = "pth")]
            Self::Pth(file) => file.decode(name),
        }
    }

    /// The safetensors metadata; a PyTorch checkpoint has none.
    pub(crate) fn metadata(&self) -> HashMap<String, String> {
        match self {
            Self::Safetensors(file) => file.metadata(),
            #[cfg(feature = "pth")]
            Self::Pth(_) => HashMap::new(),
        }
    }
}
