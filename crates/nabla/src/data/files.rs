//! What the file formats share: errors naming the file, and [`MaybeGz`],
//! a file read through gzip when it is gzipped.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek};
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;

use crate::error::{Error, Result};

/// A [`Error::Format`] naming `path`.
pub(crate) fn format_error(path: &Path, message: impl Into<String>) -> Error {
    Error::Format {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// An [`Error::Io`] naming `path`.
pub(crate) fn io_error(path: &Path, source: io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A file opened for reading, decompressed on the fly if it is gzipped.
pub(crate) struct MaybeGz {
    pub(crate) path: PathBuf,
    pub(crate) gzipped: bool,
    /// The file's length on disk, for a regular file (not a pipe).
    pub(crate) len: Option<u64>,
    reader: Box<dyn Read + Send>,
}

impl MaybeGz {
    /// Opens `path`; gzip is recognised by its magic bytes `1f 8b`. A file
    /// whose name ends in `.gz` must be gzipped. A directory is an
    /// [`Error::Io`] of kind `IsADirectory`.
    pub(crate) fn open(path: &Path) -> Result<MaybeGz> {
        let mut file = File::open(path).map_err(|e| io_error(path, e))?;
        let metadata = file.metadata().map_err(|e| io_error(path, e))?;
        if metadata.is_dir() {
            return Err(io_error(
                path,
                io::Error::new(
                    io::ErrorKind::IsADirectory,
                    "a directory, where a data file should be",
                ),
            ));
        }
        let len = metadata.is_file().then_some(metadata.len());
        let mut head = [0u8; 2];
        let n = read_full(&mut file, &mut head).map_err(|e| io_error(path, e))?;
        file.rewind().map_err(|e| io_error(path, e))?;
        let gzipped = n == 2 && head == [0x1f, 0x8b];
        let named_gz = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gz"));
        if named_gz && !gzipped {
            return Err(format_error(
                path,
                if n == 0 {
                    "empty file (expected gzip data)".to_string()
                } else {
                    format!(
                        "not a gzip file: it starts with {:02x?}, not the gzip magic bytes [1f, 8b]",
                        &head[..n]
                    )
                },
            ));
        }
        let reader: Box<dyn Read + Send> = if gzipped {
            Box::new(GzDecoder::new(BufReader::with_capacity(1 << 16, file)))
        } else {
            Box::new(BufReader::with_capacity(1 << 16, file))
        };
        Ok(MaybeGz {
            path: path.to_path_buf(),
            gzipped,
            len,
            reader,
        })
    }

    /// The error for a failed read: a corrupt or truncated gzip stream is a
    /// format error, anything else an I/O error.
    pub(crate) fn read_error(&self, e: io::Error) -> Error {
        let data_error = matches!(
            e.kind(),
            io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput | io::ErrorKind::UnexpectedEof
        );
        if self.gzipped && data_error {
            format_error(&self.path, format!("corrupt or truncated gzip data: {e}"))
        } else {
            io_error(&self.path, e)
        }
    }

    /// Fills `buf` as far as the data goes; returns the number of bytes read.
    pub(crate) fn read_up_to(&mut self, buf: &mut [u8]) -> Result<usize> {
        read_full(&mut self.reader, buf).map_err(|e| self.read_error(e))
    }

    /// Reads exactly `len` bytes, or returns how many there were.
    pub(crate) fn read_exact_or_count(&mut self, len: usize) -> Result<std::result::Result<Vec<u8>, usize>> {
        // Grow as the data comes rather than trusting a header's count for
        // one allocation.
        let mut data = Vec::with_capacity(len.min(64 << 20));
        (&mut self.reader)
            .take(len as u64)
            .read_to_end(&mut data)
            .map_err(|e| self.read_error(e))?;
        Ok(if data.len() == len {
            Ok(data)
        } else {
            Err(data.len())
        })
    }

    /// Reads to the end (which also checks a gzip stream's CRC) and returns
    /// the number of bytes that were left.
    pub(crate) fn count_rest(&mut self) -> Result<u64> {
        io::copy(&mut self.reader, &mut io::sink()).map_err(|e| self.read_error(e))
    }

    /// The reader itself, for formats parsed by other crates.
    pub(crate) fn reader(&mut self) -> &mut (dyn Read + Send) {
        &mut *self.reader
    }
}

/// Reads until `buf` is full or the data ends; returns the bytes read.
fn read_full(reader: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
