//! A safetensors file read through a memory map, as the `safetensors`
//! crate's documentation recommends: opening it reads and checks the header
//! only, and a tensor's bytes are read when it is decoded. So a file is
//! checked against what the reader needs (a module's tensors, an optimizer's
//! state) before any of its data is read, and a huge or oversized file costs
//! nothing until then.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use safetensors::tensor::{Metadata, SafeTensorError, TensorInfo};
use safetensors::{Dtype, SafeTensors};

use crate::element::Float;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// The length of the header-length field.
const N_LEN: usize = 8;

/// The largest header the safetensors format allows (the `safetensors`
/// crate's limit), checked before the header is parsed.
const MAX_HEADER_LEN: u64 = 100_000_000;

/// A safetensors file, mapped, with its header parsed and checked: every
/// tensor's byte range lies in the data section, follows the previous one
/// and matches its shape and dtype, and the tensors cover the data section
/// exactly.
pub(crate) struct MappedSafetensors {
    path: PathBuf,
    map: Mmap,
    header: Metadata,
    data_start: usize,
}

impl MappedSafetensors {
    /// Maps the file at `path` and checks its header.
    ///
    /// # Errors
    /// [`Error::Io`] if it cannot be opened or mapped, or is a directory;
    /// [`Error::Format`] for a bad header, naming the tensor at fault when
    /// there is one.
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let io_error = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io_error)?;
        if file.metadata().map_err(io_error)?.is_dir() {
            return Err(io_error(io::Error::new(
                io::ErrorKind::IsADirectory,
                "a directory, where a safetensors file should be",
            )));
        }
        // SAFETY: the map is only read, and only while `self` lives. Another
        // process changing the file meanwhile could change what is read (or
        // raise SIGBUS if it truncated it), as with any mapped file; nabla
        // never does: it replaces checkpoints by renaming a new file over
        // them (`write_atomic`), which leaves the mapped one as it was.
        let map = unsafe { Mmap::map(&file) }.map_err(io_error)?;
        let (header, data_start) = parse_header(path, &map)?;
        Ok(MappedSafetensors {
            path: path.to_path_buf(),
            map,
            header,
            data_start,
        })
    }

    /// The file's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The `"__metadata__"` map (empty when the file has none).
    pub(crate) fn metadata(&self) -> std::collections::HashMap<String, String> {
        self.header.metadata().clone().unwrap_or_default()
    }

    /// The tensor `name`'s dtype, shape and byte range, if the file has it.
    pub(crate) fn info(&self, name: &str) -> Option<&TensorInfo> {
        self.header.info(name)
    }

    /// The tensors' names, in the order of their data in the file.
    pub(crate) fn names(&self) -> Vec<String> {
        self.header.offset_keys()
    }

    /// Reads the tensor `name` (which the header has) as a `Tensor<T>`:
    /// `F32` and `F64` converted as PyTorch's `copy_` does, `I64` counters
    /// to the float type.
    ///
    /// # Errors
    /// [`Error::Format`] naming the file and the tensor for a dtype other
    /// than those, or bytes that do not make its shape.
    pub(crate) fn decode<T: Float>(&self, name: &str) -> Result<Tensor<T>> {
        let bad = |message: String| format_error(&self.path, format!("tensor {name:?}: {message}"));
        let info = self
            .info(name)
            .ok_or_else(|| bad("not in the header".to_string()))?;
        let (start, end) = info.data_offsets;
        let bytes = self.map[self.data_start..]
            .get(start..end)
            .ok_or_else(|| bad(format!("byte range {start}..{end} is outside the data section")))?;
        let values: Vec<T> = match info.dtype {
            Dtype::F32 => bytes
                .chunks_exact(4)
                .map(|c| T::from_f64(f32::from_le_bytes(c.try_into().expect("4 bytes")) as f64))
                .collect(),
            Dtype::F64 => bytes
                .chunks_exact(8)
                .map(|c| T::from_f64(f64::from_le_bytes(c.try_into().expect("8 bytes"))))
                .collect(),
            // PyTorch stores counters (BatchNorm's num_batches_tracked) as
            // int64; nabla keeps them in the float type.
            Dtype::I64 => bytes
                .chunks_exact(8)
                .map(|c| T::from_f64(i64::from_le_bytes(c.try_into().expect("8 bytes")) as f64))
                .collect(),
            other => {
                return Err(bad(format!(
                    "dtype {other} is not supported (nabla reads F32, F64 and I64 tensors)"
                )))
            }
        };
        let numel = info.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        if numel != Some(values.len()) || bytes.len() % (info.dtype.bitsize() / 8) != 0 {
            return Err(bad(format!(
                "{} bytes of {} do not make shape {:?}",
                bytes.len(),
                info.dtype,
                info.shape
            )));
        }
        Ok(Tensor::from_contiguous(values, &info.shape))
    }
}

pub(crate) fn format_error(path: &Path, message: impl Into<String>) -> Error {
    Error::Format {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Parses and checks the header of the file `bytes`; returns it and where
/// the data section starts. Only the header's bytes are read. The safetensors
/// crate does most of the checking; the checks before it give clearer
/// messages for the common cases, keep it from parsing a header longer than
/// the format allows, and reject byte ranges beyond the file, whose sum
/// could overflow inside the crate.
fn parse_header(path: &Path, bytes: &[u8]) -> Result<(Metadata, usize)> {
    let err = |message: String| format_error(path, message);
    let Some(length_field) = bytes.get(..N_LEN) else {
        return Err(err(format!(
            "the file is {} bytes long, too short for a safetensors file (which starts with an \
             8-byte header length): truncated or not a safetensors file",
            bytes.len()
        )));
    };
    let n = u64::from_le_bytes(length_field.try_into().expect("8 bytes"));
    let available = bytes.len() - N_LEN;
    if n > available as u64 {
        return Err(err(format!(
            "the header length field says {n} bytes but only {available} bytes follow: \
             truncated or not a safetensors file"
        )));
    }
    if n > MAX_HEADER_LEN {
        return Err(err(format!(
            "the header length field says {n} bytes, more than the {MAX_HEADER_LEN} the safetensors \
             format allows: corrupted or not a safetensors file"
        )));
    }
    let n = n as usize;
    let header_bytes = &bytes[N_LEN..N_LEN + n];
    if header_bytes.first() != Some(&b'{') {
        return Err(err(
            "the header is not a JSON object (it does not start with '{'): not a safetensors file"
                .to_string(),
        ));
    }
    let data_len = available - n;
    let ends = data_ends(header_bytes);
    if let Some((name, end)) = ends.iter().find(|(_, end)| *end > data_len as u128) {
        return Err(err(format!(
            "tensor {name:?}: its data would end at byte {end} of the data section, which has \
             only {data_len} bytes: truncated or corrupted file"
        )));
    }
    if let Some((name, end)) = ends.iter().max_by_key(|(_, end)| *end) {
        if *end < data_len as u128 {
            return Err(err(format!(
                "{} bytes follow the data of the last tensor, {name:?}, which ends at byte {end} of \
                 the data section: extended or corrupted file",
                data_len as u128 - end
            )));
        }
    }
    let (n, header) = SafeTensors::read_metadata(bytes).map_err(|e| err(describe(e)))?;
    Ok((header, N_LEN + n))
}

/// A message for the safetensors crate's validation errors.
fn describe(error: SafeTensorError) -> String {
    match error {
        SafeTensorError::MetadataIncompleteBuffer => "the tensors in the header do not cover the data \
                                                      section exactly: truncated, extended or corrupted file"
            .to_string(),
        SafeTensorError::InvalidOffset(name) => {
            format!("tensor {name:?}: its byte range does not follow the previous tensor's: corrupted header")
        }
        SafeTensorError::TensorInvalidInfo => {
            "a tensor's byte range does not match its shape and dtype: corrupted header".to_string()
        }
        other => format!("invalid safetensors header: {other}"),
    }
}

/// Each tensor of the JSON header with the largest number in its
/// `"data_offsets"` (its end, in a valid header), by name; empty when the
/// header is not JSON (the safetensors crate reports that).
fn data_ends(header: &[u8]) -> Vec<(String, u128)> {
    let Ok(tensors) = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(header) else {
        return Vec::new();
    };
    tensors
        .iter()
        .filter(|(name, _)| *name != "__metadata__")
        .filter_map(|(name, info)| {
            let offsets = info.get("data_offsets")?.as_array()?;
            // Numbers past u64 parse as f64; `as` saturates them.
            let end = offsets
                .iter()
                .filter_map(|n| {
                    n.as_u64()
                        .map(u128::from)
                        .or_else(|| n.as_f64().map(|f| f as u128))
                })
                .max()?;
            Some((name.clone(), end))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offset_scan_finds_each_tensors_end() {
        let header = br#"{"__metadata__":{"data_offsets":"[0, 99]"},"a\u0062":{"dtype":"F32","shape":[1],"d\u0061ta_offsets":[0, 400]}}"#;
        assert_eq!(data_ends(header), [("ab".to_string(), 400)]);
        let huge = br#"{"x":{"data_offsets":[0,99999999999999999999999999999999999999999999999]}}"#;
        assert!(data_ends(huge)[0].1 > u64::MAX as u128);
        assert!(data_ends(b"{not json").is_empty());
    }
}
