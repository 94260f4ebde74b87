//! The error type for input from outside the program: files, checkpoints,
//! saved states. (Shape mistakes inside a program panic; see the crate docs.)

use std::path::PathBuf;

/// What went wrong reading or writing outside data; every variant names the
/// file or the tensor.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The operating system refused a read or write.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is not in the format it should be (truncated, corrupted,
    /// wrong header).
    #[error("{}: {message}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A state (a checkpoint, an optimizer state) lacks a tensor it needs.
    #[error("{context}: missing tensor {name:?}")]
    MissingTensor {
        /// Where: a file name or "optimizer state".
        context: String,
        /// The tensor's name.
        name: String,
    },
    /// A state holds a tensor nothing expects.
    #[error("{context}: unexpected tensor {name:?}")]
    UnexpectedTensor {
        /// Where: a file name or "optimizer state".
        context: String,
        /// The tensor's name.
        name: String,
    },
    /// Two tensors of one state have the same name (a file cannot hold both).
    #[error("{context}: two tensors are named {name:?}")]
    DuplicateTensor {
        /// Where: a file name or "optimizer state".
        context: String,
        /// The tensor's name.
        name: String,
    },
    /// A tensor has another shape than the one expected.
    #[error("{context}: tensor {name:?} has shape {found:?}, expected {expected:?}")]
    ShapeMismatch {
        /// Where: a file name or "optimizer state".
        context: String,
        /// The tensor's name.
        name: String,
        /// The shape the model or optimizer needs.
        expected: Vec<usize>,
        /// The shape in the state.
        found: Vec<usize>,
    },
    /// A file's SHA-256 is not the known one: it is corrupted, truncated or
    /// another file than expected.
    #[error("{}: SHA-256 checksum mismatch: the file hashes to {found}, expected {expected}", path.display())]
    Checksum {
        /// The file.
        path: PathBuf,
        /// The known SHA-256, lowercase hex.
        expected: String,
        /// The file's SHA-256, lowercase hex.
        found: String,
    },
    /// A setting is out of its range or not a finite number (an
    /// optimizer's learning rate, momentum, weight decay, ...).
    #[error("{context}: {message}")]
    InvalidSetting {
        /// Whose setting: the optimizer's name, say.
        context: String,
        /// Which setting, its value and what it must be.
        message: String,
    },
    /// A download failed (network error, HTTP error status, wrong checksum);
    /// the target file was left as it was.
    #[error("{}: download from {url} failed: {message}", path.display())]
    Download {
        /// The file that was to be written.
        path: PathBuf,
        /// The URL.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// Data-parallel training could not start or go on: MPI could not be
    /// initialised, or the processes disagree (another model, data set or
    /// seed on one of them).
    #[error("data-parallel training: {message}")]
    Distributed {
        /// What went wrong, naming the rank.
        message: String,
    },
}

/// `Result` with nabla's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
