//! The legacy format of `torch.save` (before PyTorch 1.6, and with
//! `_use_new_zipfile_serialization=False` since): one stream of five
//! pickles and then the storages' bytes. The pickles are torch's magic
//! number, its protocol version (1001), a dict of system information
//! (`little_endian`, type sizes), the object itself (storages as persistent
//! ids), and the list of storage keys; then, for each key in that order,
//! the storage's element count (8 bytes) and its elements.

use std::collections::HashMap;
use std::fs::File;
use std::ops::Range;

use memmap2::Mmap;

use super::contents::{contents, Contents};
use super::dtype::PthDtype;
use super::pickle::{unpickle, Value};

/// torch.serialization's `MAGIC_NUMBER`, 0x1950a86a20f9469cfc6c, as the
/// little-endian bytes of its pickled `LONG1`.
const MAGIC: [u8; 10] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
/// torch.serialization's `PROTOCOL_VERSION`.
const PROTOCOL_VERSION: i64 = 1001;

/// The file, mapped, and where each storage's bytes are in it.
pub(crate) struct LegacyStorages {
    map: Mmap,
    ranges: HashMap<String, Range<usize>>,
    pub big_endian: bool,
}

impl LegacyStorages {
    /// Maps the file and reads its pickles and the storages' places.
    ///
    /// # Errors
    /// A message naming the part that is not as torch.save writes it.
    pub(crate) fn open(file: &File) -> Result<(Self, Contents), String> {
        // SAFETY: as for the memory-mapped safetensors files: only read,
        // only while `self` lives.
        let map = unsafe { Mmap::map(file) }.map_err(|e| format!("cannot map the file: {e}"))?;
        let mut at = 0;
        let mut next = |what: &str| -> Result<Value, String> {
            let (value, used) = unpickle(&map[at..]).map_err(|e| format!("the {what} pickle: {e}"))?;
            at += used;
            Ok(value)
        };
        match next("first")? {
            Value::BigInt(bytes) if bytes == MAGIC => {}
            _ => {
                return Err(
                    "a pickle that does not start with torch.save's magic number: not a PyTorch checkpoint"
                        .to_string(),
                )
            }
        }
        match next("protocol version")? {
            Value::Int(PROTOCOL_VERSION) => {}
            other => {
                return Err(format!(
                    "torch.save protocol version {other:?}: nabla reads {PROTOCOL_VERSION}"
                ))
            }
        }
        let big_endian = match next("system information")? {
            Value::Dict(entries) => !entries
                .iter()
                .any(|(k, v)| *k == Value::Str("little_endian".into()) && *v == Value::Bool(true)),
            _ => return Err("the system information is not a dict".to_string()),
        };
        let contents = contents(next("checkpoint")?)?;
        let keys = match next("storage keys")? {
            Value::List(keys) => keys
                .into_iter()
                .map(|k| match k {
                    Value::Str(k) => Ok(k),
                    other => Err(format!("a storage key {other:?} that is not a string")),
                })
                .collect::<Result<Vec<_>, _>>()?,
            _ => return Err("the storage keys are not a list".to_string()),
        };
        let dtypes: HashMap<&str, (PthDtype, u64)> = contents
            .tensors
            .iter()
            .map(|(_, t)| (t.storage.key.as_str(), (t.storage.dtype, t.storage.numel)))
            .collect();
        let mut ranges = HashMap::new();
        for key in keys {
            let &(dtype, numel) = dtypes
                .get(key.as_str())
                .ok_or_else(|| format!("storage {key:?} belongs to no tensor"))?;
            let count = map
                .get(at..at + 8)
                .ok_or_else(|| format!("the file ends before storage {key:?}: truncated"))?;
            let count: [u8; 8] = count.try_into().expect("8 bytes");
            let count = if big_endian {
                u64::from_be_bytes(count)
            } else {
                u64::from_le_bytes(count)
            };
            if count != numel {
                return Err(format!(
                    "storage {key:?} has {count} elements in the data, {numel} in the pickle: corrupted"
                ));
            }
            let start = at + 8;
            let end = usize::try_from(count)
                .ok()
                .and_then(|n| n.checked_mul(dtype.size()))
                .and_then(|len| start.checked_add(len))
                .filter(|&end| end <= map.len())
                .ok_or_else(|| format!("the file ends inside storage {key:?}: truncated"))?;
            ranges.insert(key, start..end);
            at = end;
        }
        if let Some((_, t)) = contents
            .tensors
            .iter()
            .find(|(_, t)| !ranges.contains_key(&t.storage.key))
        {
            return Err(format!(
                "storage {:?} is not in the file's list of storages",
                t.storage.key
            ));
        }
        Ok((
            LegacyStorages {
                map,
                ranges,
                big_endian,
            },
            contents,
        ))
    }

    /// The bytes of storage `key`.
    pub(crate) fn storage(&self, key: &str) -> Result<&[u8], String> {
        let range = self
            .ranges
            .get(key)
            .ok_or_else(|| format!("no storage {key:?}"))?;
        Ok(&self.map[range.clone()])
    }
}
