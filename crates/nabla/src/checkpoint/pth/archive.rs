//! `torch.save`'s zip archive (PyTorch 1.6 and later): one folder,
//! `{name}/`, holding `data.pkl` (the pickled object), `data/{key}` (each
//! storage's raw bytes), `byteorder` (`little` or `big`; absent before
//! PyTorch 1.10, meaning little) and `version`. Entries are stored without
//! compression; their CRC-32 is checked as they are read.

use std::fs::File;
use std::io::{BufReader, Read};
use std::sync::Mutex;

use zip::result::ZipError;
use zip::ZipArchive;

/// The largest `data.pkl` read (a state dict's is a few hundred bytes per
/// tensor).
const MAX_PICKLE_BYTES: u64 = 1 << 30;

/// An open archive: its folder's name and the storages in it.
pub(crate) struct ZipStorages {
    archive: Mutex<ZipArchive<BufReader<File>>>,
    prefix: String,
    /// `byteorder` says `big`: elements are swapped as they are read.
    pub big_endian: bool,
}

impl ZipStorages {
    /// Opens the archive and reads its `data.pkl`.
    ///
    /// # Errors
    /// A message for a file that is not a zip archive (truncated, say) or
    /// not laid out as `torch.save`'s.
    pub(crate) fn open(file: File) -> Result<(Self, Vec<u8>), String> {
        let archive = ZipArchive::new(BufReader::new(file)).map_err(|e| match e {
            ZipError::InvalidArchive(_) => format!("not a valid zip archive ({e}): truncated or corrupted"),
            other => format!("cannot read the zip archive: {other}"),
        })?;
        let pickles: Vec<&str> = archive
            .file_names()
            .filter(|name| name.ends_with("/data.pkl") && name.matches('/').count() == 1)
            .collect();
        let prefix = match pickles.as_slice() {
            [one] => one.trim_end_matches("data.pkl").to_string(),
            [] => {
                return Err(
                    "the archive has no {name}/data.pkl: not a checkpoint from torch.save \
                            (a TorchScript archive or another zip file?)"
                        .to_string(),
                )
            }
            many => {
                return Err(format!(
                    "the archive has {} data.pkl entries: {many:?}",
                    many.len()
                ))
            }
        };
        let storages = ZipStorages {
            archive: Mutex::new(archive),
            prefix,
            big_endian: false,
        };
        let byteorder = match storages.entry_size("byteorder") {
            Some(_) => Some(storages.read_entry("byteorder", 16)?),
            None => None,
        };
        let big_endian = match byteorder.as_deref() {
            None | Some(b"little") => false,
            Some(b"big") => true,
            Some(other) => {
                return Err(format!(
                    "the archive's byteorder is {:?}, neither \"little\" nor \"big\"",
                    String::from_utf8_lossy(other)
                ))
            }
        };
        let pickle = storages.read_entry("data.pkl", MAX_PICKLE_BYTES)?;
        Ok((
            ZipStorages {
                big_endian,
                ..storages
            },
            pickle,
        ))
    }

    /// The size of entry `{prefix}{name}`, if the archive has it (from the
    /// central directory: nothing is decompressed).
    pub(crate) fn entry_size(&self, name: &str) -> Option<u64> {
        let mut archive = self.archive.lock().unwrap_or_else(|e| e.into_inner());
        let index = archive.index_for_name(&format!("{}{name}", self.prefix))?;
        let size = archive.by_index_raw(index).ok()?.size();
        Some(size)
    }

    /// The bytes of storage `key` (`data/{key}`), which must hold `len`
    /// bytes.
    pub(crate) fn read_storage(&self, key: &str, len: u64) -> Result<Vec<u8>, String> {
        let name = format!("data/{key}");
        let bytes = self.read_entry(&name, len)?;
        if bytes.len() as u64 != len {
            return Err(format!(
                "storage {key:?} has {} bytes where its tensors need {len}: truncated or corrupted",
                bytes.len()
            ));
        }
        Ok(bytes)
    }

    /// Entry `{prefix}{name}`, at most `limit` bytes of it.
    fn read_entry(&self, name: &str, limit: u64) -> Result<Vec<u8>, String> {
        let full = format!("{}{name}", self.prefix);
        let mut archive = self.archive.lock().unwrap_or_else(|e| e.into_inner());
        let entry = archive.by_name(&full).map_err(|e| match e {
            ZipError::FileNotFound => format!("the archive has no entry {full:?}"),
            ZipError::UnsupportedArchive(what) => format!(
                "entry {full:?}: {what}: torch.save stores its entries uncompressed, and nabla reads \
                 only those"
            ),
            other => format!("entry {full:?}: {other}"),
        })?;
        if entry.size() > limit {
            return Err(format!(
                "entry {full:?} has {} bytes, more than the {limit} expected",
                entry.size()
            ));
        }
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        // Read to the entry's end (one byte more than it may have): the
        // CRC-32 is checked when the reader reaches it.
        entry
            .take(limit.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| format!("entry {full:?}: {e}: truncated or corrupted"))?;
        Ok(bytes)
    }
}
