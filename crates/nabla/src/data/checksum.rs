//! SHA-256 checksums: computing them, checking a file against one, and the
//! known checksums of the MNIST, Fashion-MNIST and CIFAR-10 archives and
//! of tiny-shakespeare.
//!
//! The MNIST and Fashion-MNIST values are those of the official gzipped IDX
//! files (the `SHA256SUMS` kept next to the bundled copies in `data/mnist/`;
//! their md5 equal the md5 published with the data sets). The CIFAR-10 value
//! is that of the official `cifar-10-binary.tar.gz` (170,052,171 bytes, md5
//! `c32a1d4ab5d03f1284b67883e8d87530` as published on the data set's page).
//!
//! ```
//! use nabla::data::checksum::{sha256_hex, MNIST};
//! assert_eq!(
//!     sha256_hex(b"abc"),
//!     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
//! );
//! assert_eq!(MNIST[0].name, "train-images-idx3-ubyte.gz");
//! ```

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// A file whose content is known: its name, size in bytes and SHA-256.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KnownFile {
    /// The file name (no directory).
    pub name: &'static str,
    /// The size in bytes.
    pub bytes: u64,
    /// The SHA-256, lowercase hex.
    pub sha256: &'static str,
}

/// The four official MNIST files (gzipped IDX), train images and labels,
/// then test images and labels.
pub const MNIST: [KnownFile; 4] = [
    KnownFile {
        name: "train-images-idx3-ubyte.gz",
        bytes: 9_912_422,
        sha256: "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    },
    KnownFile {
        name: "train-labels-idx1-ubyte.gz",
        bytes: 28_881,
        sha256: "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    },
    KnownFile {
        name: "t10k-images-idx3-ubyte.gz",
        bytes: 1_648_877,
        sha256: "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    },
    KnownFile {
        name: "t10k-labels-idx1-ubyte.gz",
        bytes: 4_542,
        sha256: "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
];

/// The four official Fashion-MNIST files (gzipped IDX), in the order of [`MNIST`].
pub const FASHION_MNIST: [KnownFile; 4] = [
    KnownFile {
        name: "train-images-idx3-ubyte.gz",
        bytes: 26_421_880,
        sha256: "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    },
    KnownFile {
        name: "train-labels-idx1-ubyte.gz",
        bytes: 29_515,
        sha256: "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    },
    KnownFile {
        name: "t10k-images-idx3-ubyte.gz",
        bytes: 4_422_102,
        sha256: "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    },
    KnownFile {
        name: "t10k-labels-idx1-ubyte.gz",
        bytes: 5_148,
        sha256: "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    },
];

/// The official CIFAR-10 binary archive (a tar.gz holding
/// `cifar-10-batches-bin/{data_batch_1..5.bin, test_batch.bin, batches.meta.txt}`).
pub const CIFAR10_BINARY: KnownFile = KnownFile {
    name: "cifar-10-binary.tar.gz",
    bytes: 170_052_171,
    sha256: "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
};

/// Tiny-shakespeare, `input.txt` of karpathy/char-rnn's
/// `data/tinyshakespeare/` (bundled in `data/tinyshakespeare/`).
pub const TINY_SHAKESPEARE: KnownFile = KnownFile {
    name: "input.txt",
    bytes: 1_115_394,
    sha256: "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
};

/// Lowercase hex of a digest.
pub(crate) fn to_hex(digest: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(digest.len() * 2);
    for &b in digest {
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 15)] as char);
    }
    s
}

/// The SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    to_hex(&Sha256::digest(bytes))
}

/// The SHA-256 of everything `reader` yields, lowercase hex.
pub(crate) fn sha256_reader(reader: &mut dyn Read) -> io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(to_hex(&hasher.finalize()))
}

/// The SHA-256 of the file at `path`, lowercase hex.
///
/// # Errors
/// [`Error::Io`] naming the file if it cannot be read.
pub fn sha256_file(path: impl AsRef<Path>) -> Result<String> {
    let path = path.as_ref();
    let io_error = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io_error)?;
    sha256_reader(&mut file).map_err(io_error)
}

/// Checks that the file at `path` has the SHA-256 `expected` (hex, either case).
///
/// # Errors
/// [`Error::Checksum`] naming the file and both checksums if they differ,
/// [`Error::Io`] if it cannot be read.
pub fn verify_sha256(path: impl AsRef<Path>, expected: &str) -> Result<()> {
    let path = path.as_ref();
    let found = sha256_file(path)?;
    if found.eq_ignore_ascii_case(expected) {
        Ok(())
    } else {
        Err(Error::Checksum {
            path: path.to_path_buf(),
            expected: expected.to_ascii_lowercase(),
            found,
        })
    }
}

/// Checks `dir/{file.name}` for each known file, in order.
///
/// # Errors
/// As [`verify_sha256`], for the first file that fails.
pub fn verify_known_files(dir: impl AsRef<Path>, files: &[KnownFile]) -> Result<()> {
    let dir = dir.as_ref();
    files
        .iter()
        .try_for_each(|f| verify_sha256(dir.join(f.name), f.sha256))
}
