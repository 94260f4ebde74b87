//! The data shipped with nabla: the original MNIST files in the
//! repository's `data/mnist/` (with their `SOURCES.md`, `MD5SUMS` and
//! `SHA256SUMS`), so that training works offline on a fresh machine.
//!
//! The data directory is the workspace's `data/`, found from the path of
//! this crate at compile time (`CARGO_MANIFEST_DIR/../../data`), unless the
//! environment variable `NABLA_DATA_DIR` names another one (for a binary
//! installed away from the source tree). It holds one folder per data set:
//! `mnist/`, and the ones [`download`](super::download) writes
//! (`fashion-mnist/`, `cifar10/`).
//!
//! ```
//! use nabla::data::{bundled_mnist_dir, LabeledDataset, Mnist, Split};
//! assert!(bundled_mnist_dir().ends_with("mnist"));
//! let test = Mnist::bundled(Split::Test)?;
//! assert_eq!(test.len(), 10_000);
//! # Ok::<(), nabla::Error>(())
//! ```

use std::io;
use std::path::{Path, PathBuf};

use super::files::io_error;
use super::{Mnist, Split};
use crate::error::Result;

/// The environment variable that overrides the data directory.
pub const DATA_DIR_ENV: &str = "NABLA_DATA_DIR";

/// The data directory: `$NABLA_DATA_DIR` if set (and not empty), else the
/// workspace's `data/`.
pub fn data_dir() -> PathBuf {
    match std::env::var_os(DATA_DIR_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("..")
            .join("data"),
    }
}

/// The folder of the bundled MNIST files: [`data_dir()`]`/mnist`.
pub fn bundled_mnist_dir() -> PathBuf {
    data_dir().join("mnist")
}

impl Mnist {
    /// Loads a split of the bundled MNIST ([`bundled_mnist_dir`]), after
    /// checking the SHA-256 of its two files against the official ones.
    ///
    /// # Errors
    /// [`Error::Io`](crate::Error::Io) naming the folder if it is missing
    /// (set `NABLA_DATA_DIR`, or download MNIST), and the errors of
    /// [`Mnist::load_verified`]: [`Error::Checksum`](crate::Error::Checksum)
    /// for a corrupted file.
    pub fn bundled(split: Split) -> Result<Mnist> {
        let dir = bundled_mnist_dir();
        if !dir.is_dir() {
            return Err(io_error(
                &dir,
                io::Error::new(
                    io::ErrorKind::NotFound,
                    format!(
                        "the bundled MNIST folder is missing (set {DATA_DIR_ENV} to a folder holding mnist/, \
                         or download it with `nabla download mnist`)"
                    ),
                ),
            ));
        }
        Mnist::load_verified(&dir, split)
    }
}
