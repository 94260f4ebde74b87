//! Downloading the data sets: `download mnist|fashion-mnist|cifar10
//! [--mirror URL] [--dir DIR]`.
//!
//! Each file is fetched over HTTP(S), hashed while it arrives, and written
//! **atomically** (to a temporary file in the target folder, renamed into
//! place only once complete and matching its known SHA-256, see
//! [`checksum`]): an interrupted download, an HTTP error or
//! a wrong checksum leaves no file behind, and the error names the file and
//! the URL. A file already present with the right checksum is not fetched
//! again.
//!
//! - **MNIST**, **Fashion-MNIST**: the four official gzipped IDX files,
//!   kept as they are (the loaders read `.gz`).
//! - **CIFAR-10**: the official binary archive `cifar-10-binary.tar.gz`
//!   (170 MB) is downloaded and checked, then its six batch files and
//!   `batches.meta.txt` are extracted (each atomically, only those names,
//!   whatever paths the archive holds) into the target folder, and the
//!   archive is removed. If the seven files are all there already, nothing
//!   is fetched (no checksums are published for them; [`Cifar10::load`]
//!   checks their structure).
//!
//! The default target folder is [`data_dir()`]`/<name>` (the bundled MNIST's
//! folder for `mnist`). Mirrors are tried in order until one succeeds;
//! `--mirror URL` replaces them with one base URL, under which the files are
//! requested by their official names.
//!
//! ```no_run
//! use nabla::data::download::{DownloadArgs, RemoteDataset};
//! let args = DownloadArgs::parse(["fashion-mnist"]).map_err(|usage| std::io::Error::other(usage))?;
//! assert_eq!(args.dataset, RemoteDataset::FashionMnist);
//! let report = args.run()?;
//! println!("{report}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`Cifar10::load`]: super::Cifar10::load

use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use flate2::read::GzDecoder;
use sha2::{Digest, Sha256};

use super::bundled::data_dir;
use super::checksum::{self, to_hex, KnownFile};
use super::cifar::{ARCHIVE_FOLDER, META_FILE, TEST_BATCH, TRAIN_BATCHES};
use super::files::{format_error, io_error};
use crate::error::{Error, Result};
use crate::fs::write_atomic;

/// A data set the downloader knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RemoteDataset {
    /// MNIST, the four gzipped IDX files.
    Mnist,
    /// Fashion-MNIST, the four gzipped IDX files.
    FashionMnist,
    /// CIFAR-10, the binary version.
    Cifar10,
}

/// The official MNIST mirrors: torchvision's copy, then Yann LeCun's page.
pub const MNIST_MIRRORS: [&str; 2] = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
];
/// The Fashion-MNIST mirrors: Zalando's bucket, then the GitHub repository.
pub const FASHION_MNIST_MIRRORS: [&str; 2] = [
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
];
/// The CIFAR-10 mirror: the data set's page at the University of Toronto.
pub const CIFAR10_MIRRORS: [&str; 1] = ["https://www.cs.toronto.edu/~kriz/"];

impl RemoteDataset {
    /// All of them.
    pub const ALL: [RemoteDataset; 3] = [
        RemoteDataset::Mnist,
        RemoteDataset::FashionMnist,
        RemoteDataset::Cifar10,
    ];

    /// The name on the command line and of the default folder:
    /// `mnist`, `fashion-mnist`, `cifar10`.
    pub fn name(self) -> &'static str {
        match self {
            RemoteDataset::Mnist => "mnist",
            RemoteDataset::FashionMnist => "fashion-mnist",
            RemoteDataset::Cifar10 => "cifar10",
        }
    }

    /// The base URLs tried in order.
    pub fn default_mirrors(self) -> &'static [&'static str] {
        match self {
            RemoteDataset::Mnist => &MNIST_MIRRORS,
            RemoteDataset::FashionMnist => &FASHION_MNIST_MIRRORS,
            RemoteDataset::Cifar10 => &CIFAR10_MIRRORS,
        }
    }

    /// The files fetched, with their sizes and checksums.
    pub fn files(self) -> &'static [KnownFile] {
        match self {
            RemoteDataset::Mnist => &checksum::MNIST,
            RemoteDataset::FashionMnist => &checksum::FASHION_MNIST,
            RemoteDataset::Cifar10 => std::slice::from_ref(&checksum::CIFAR10_BINARY),
        }
    }

    /// The default target folder: [`data_dir()`]`/<name>`.
    pub fn default_dir(self) -> PathBuf {
        data_dir().join(self.name())
    }
}

impl fmt::Display for RemoteDataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for RemoteDataset {
    type Err = String;

    /// `mnist`, `fashion-mnist` (or `fashion_mnist`, `fashionmnist`),
    /// `cifar10` (or `cifar-10`), in any case.
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "mnist" => Ok(RemoteDataset::Mnist),
            "fashion-mnist" | "fashion_mnist" | "fashionmnist" => Ok(RemoteDataset::FashionMnist),
            "cifar10" | "cifar-10" => Ok(RemoteDataset::Cifar10),
            _ => Err(format!(
                "unknown data set {s:?}: expected mnist, fashion-mnist or cifar10"
            )),
        }
    }
}

/// What happened to one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileStatus {
    /// Fetched from `url`: `bytes` bytes, checksum verified.
    Downloaded {
        /// Where it came from.
        url: String,
        /// Its size.
        bytes: u64,
    },
    /// Already there with the right checksum: not fetched.
    AlreadyPresent,
    /// Extracted from the downloaded archive.
    Extracted,
}

/// What [`download`] did, file by file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DownloadReport {
    /// Each file written or found, with what happened to it.
    pub files: Vec<(PathBuf, FileStatus)>,
}

impl fmt::Display for DownloadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (path, status) in &self.files {
            match status {
                FileStatus::Downloaded { url, bytes } => writeln!(
                    f,
                    "{}: downloaded {bytes} bytes from {url}, SHA-256 verified",
                    path.display()
                )?,
                FileStatus::AlreadyPresent => {
                    writeln!(f, "{}: already present, SHA-256 verified", path.display())?
                }
                FileStatus::Extracted => writeln!(f, "{}: extracted", path.display())?,
            }
        }
        Ok(())
    }
}

/// The usage line of the `download` command.
pub const USAGE: &str = "usage: download mnist|fashion-mnist|cifar10 [--mirror URL] [--dir DIR]";

/// The arguments of the `download` command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DownloadArgs {
    /// Which data set.
    pub dataset: RemoteDataset,
    /// `--mirror URL`: one base URL instead of the default mirrors.
    pub mirror: Option<String>,
    /// `--dir DIR`: the target folder instead of [`RemoteDataset::default_dir`].
    pub dir: Option<PathBuf>,
}

impl DownloadArgs {
    /// Parses the arguments after `download`: the data set name, then
    /// optionally `--mirror URL` (or `--mirror=URL`) and `--dir DIR`.
    ///
    /// ```
    /// use nabla::data::download::{DownloadArgs, RemoteDataset};
    /// let args = DownloadArgs::parse(["mnist", "--mirror", "http://127.0.0.1:8000/"]).unwrap();
    /// assert_eq!(args.dataset, RemoteDataset::Mnist);
    /// assert_eq!(args.mirror.as_deref(), Some("http://127.0.0.1:8000/"));
    /// assert!(DownloadArgs::parse(["imagenet"]).unwrap_err().contains("unknown data set"));
    /// ```
    ///
    /// # Errors
    /// A message (ending with [`USAGE`]) for a missing or unknown data set,
    /// an unknown option, or an option without its value.
    pub fn parse<I, S>(args: I) -> std::result::Result<Self, String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let fail = |message: String| format!("{message}\n{USAGE}");
        let mut dataset = None;
        let mut mirror = None;
        let mut dir = None;
        let mut args = args.into_iter().map(|a| a.as_ref().to_string());
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
                _ => (arg.clone(), None),
            };
            match flag.as_str() {
                "--mirror" | "--dir" => {
                    let value = match inline.or_else(|| args.next()) {
                        Some(v) if !v.is_empty() => v,
                        _ => return Err(fail(format!("{flag} needs a value"))),
                    };
                    if flag == "--mirror" {
                        mirror = Some(value);
                    } else {
                        dir = Some(PathBuf::from(value));
                    }
                }
                f if f.starts_with('-') => return Err(fail(format!("unknown option {f:?}"))),
                _ if dataset.is_some() => return Err(fail(format!("unexpected argument {arg:?}"))),
                _ => dataset = Some(arg.parse::<RemoteDataset>().map_err(fail)?),
            }
        }
        let dataset = dataset.ok_or_else(|| fail("which data set?".to_string()))?;
        Ok(DownloadArgs { dataset, mirror, dir })
    }

    /// Downloads as the arguments say.
    ///
    /// # Errors
    /// As [`download`].
    pub fn run(&self) -> Result<DownloadReport> {
        let dir = self.dir.clone().unwrap_or_else(|| self.dataset.default_dir());
        download(self.dataset, dir, self.mirror.as_deref())
    }
}

/// Downloads `dataset` into `dir` (created if needed), from `mirror` if
/// given, else from its [default mirrors](RemoteDataset::default_mirrors)
/// in turn. See the [module docs](self).
///
/// # Errors
/// [`Error::Download`] naming the file and URL if every mirror fails (an
/// HTTP error, a broken connection, a wrong size or checksum: nothing is
/// written then); [`Error::Io`] if `dir` cannot be written;
/// [`Error::Format`] naming the archive if the CIFAR-10 archive does not
/// unpack.
pub fn download(
    dataset: RemoteDataset,
    dir: impl AsRef<Path>,
    mirror: Option<&str>,
) -> Result<DownloadReport> {
    let dir = dir.as_ref();
    fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    let mirrors: Vec<&str> = match mirror {
        Some(m) => vec![m],
        None => dataset.default_mirrors().to_vec(),
    };
    let mut report = DownloadReport::default();
    if dataset == RemoteDataset::Cifar10 {
        let targets = cifar10_members().map(|name| dir.join(name));
        if targets.iter().all(|p| p.is_file()) {
            report
                .files
                .extend(targets.into_iter().map(|p| (p, FileStatus::AlreadyPresent)));
            return Ok(report);
        }
    }
    for file in dataset.files() {
        let path = dir.join(file.name);
        if path.is_file() && checksum::verify_sha256(&path, file.sha256).is_ok() {
            report.files.push((path, FileStatus::AlreadyPresent));
            continue;
        }
        let mut failures: Vec<Error> = Vec::new();
        let mut done = None;
        for base in &mirrors {
            let url = join_url(base, file.name);
            match download_file(&url, &path, file) {
                Ok(bytes) => {
                    done = Some(FileStatus::Downloaded { url, bytes });
                    break;
                }
                Err(e) => failures.push(e),
            }
        }
        match done {
            Some(status) => report.files.push((path, status)),
            None => return Err(combine(failures)),
        }
    }
    if dataset == RemoteDataset::Cifar10 {
        let archive = dir.join(checksum::CIFAR10_BINARY.name);
        let extracted = extract_cifar10(&archive, dir)?;
        fs::remove_file(&archive).map_err(|e| io_error(&archive, e))?;
        report.files.clear();
        report
            .files
            .extend(extracted.into_iter().map(|p| (p, FileStatus::Extracted)));
    }
    Ok(report)
}

/// One error for all the mirrors that failed: the first, with the others
/// appended.
fn combine(mut failures: Vec<Error>) -> Error {
    let first = failures.remove(0);
    if failures.is_empty() {
        return first;
    }
    match first {
        Error::Download { path, url, message } => {
            let others: Vec<String> = failures
                .iter()
                .map(|e| match e {
                    Error::Download { url, message, .. } => format!("{url}: {message}"),
                    other => other.to_string(),
                })
                .collect();
            Error::Download {
                path,
                url,
                message: format!("{message}; also tried {}", others.join("; ")),
            }
        }
        other => other,
    }
}

/// `base` + `/` + `name`.
fn join_url(base: &str, name: &str) -> String {
    format!("{}/{name}", base.trim_end_matches('/'))
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .timeout_per_read(Some(Duration::from_secs(60)))
        .user_agent(concat!("nabla/", env!("CARGO_PKG_VERSION")))
        .build()
        .new_agent()
}

/// Fetches `url` into `path` atomically, checking that it has `known`'s
/// size and SHA-256; returns the number of bytes.
///
/// # Errors
/// [`Error::Download`] naming `path` and `url` for an HTTP error, a broken
/// connection, more or fewer bytes than expected or a wrong checksum (the
/// file is then not written, and an older one is left as it was);
/// [`Error::Io`] if the file cannot be written.
pub fn download_file(url: &str, path: impl AsRef<Path>, known: &KnownFile) -> Result<u64> {
    let path = path.as_ref();
    let fail = |message: String| Error::Download {
        path: path.to_path_buf(),
        url: url.to_string(),
        message,
    };
    let response = agent().get(url).call().map_err(|e| fail(describe(e)))?;
    let mut body = response.into_body().into_reader();
    let mut failure: Option<Error> = None;
    let mut total = 0u64;
    let written = write_atomic(path, |out: &mut dyn Write| {
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = match body.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    failure = Some(fail(format!("the transfer broke off after {total} bytes: {e}")));
                    return Err(io::Error::other("download failed"));
                }
            };
            total += n as u64;
            if total > known.bytes {
                failure = Some(fail(format!(
                    "the server sent more than the {} bytes of {}",
                    known.bytes, known.name
                )));
                return Err(io::Error::other("download failed"));
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n])?;
        }
        if total != known.bytes {
            failure = Some(fail(format!(
                "received {total} bytes, {} has {}: nothing was written",
                known.name, known.bytes
            )));
            return Err(io::Error::other("download failed"));
        }
        let found = to_hex(&hasher.finalize());
        if found != known.sha256 {
            failure = Some(fail(format!(
                "SHA-256 checksum mismatch: the data hashes to {found}, expected {}: rejected, nothing was written",
                known.sha256
            )));
            return Err(io::Error::other("download failed"));
        }
        Ok(())
    });
    match written {
        Ok(()) => Ok(total),
        Err(e) => Err(failure.unwrap_or(e)),
    }
}

/// A readable account of a `ureq` error.
fn describe(e: ureq::Error) -> String {
    match e {
        ureq::Error::StatusCode(code) => format!("the server answered HTTP status {code}"),
        other => other.to_string(),
    }
}

/// The names [`extract_cifar10`] writes.
fn cifar10_members() -> [&'static str; 7] {
    [
        TRAIN_BATCHES[0],
        TRAIN_BATCHES[1],
        TRAIN_BATCHES[2],
        TRAIN_BATCHES[3],
        TRAIN_BATCHES[4],
        TEST_BATCH,
        META_FILE,
    ]
}

/// Extracts the CIFAR-10 batch files and `batches.meta.txt` from the
/// official archive (a tar.gz whose members are under
/// `cifar-10-batches-bin/`) into `dir`, each atomically; other members are
/// skipped, and no path from the archive is used but these file names.
/// Returns the files written.
///
/// # Errors
/// [`Error::Format`] naming the archive if it is not a valid tar.gz or
/// lacks one of the seven files; [`Error::Io`] if a file cannot be written.
pub fn extract_cifar10(archive: impl AsRef<Path>, dir: impl AsRef<Path>) -> Result<Vec<PathBuf>> {
    let (archive_path, dir) = (archive.as_ref(), dir.as_ref());
    let corrupt = |e: io::Error| format_error(archive_path, format!("corrupt or truncated archive: {e}"));
    let file = File::open(archive_path).map_err(|e| io_error(archive_path, e))?;
    let mut archive = tar::Archive::new(GzDecoder::new(BufReader::new(file)));
    let wanted = cifar10_members();
    let mut written: Vec<Option<PathBuf>> = vec![None; wanted.len()];
    for entry in archive.entries().map_err(corrupt)? {
        let mut entry = entry.map_err(corrupt)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let member = entry.path().map_err(corrupt)?.into_owned();
        let mut parts = member
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned());
        let (Some(folder), Some(name), None) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if folder != ARCHIVE_FOLDER {
            continue;
        }
        let Some(slot) = wanted.iter().position(|w| *w == name) else {
            continue;
        };
        let target = dir.join(wanted[slot]);
        let mut read_error: Option<io::Error> = None;
        let result = write_atomic(&target, |out: &mut dyn Write| {
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let n = match entry.read(&mut buf) {
                    Ok(0) => return Ok(()),
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        let kind = e.kind();
                        read_error = Some(e);
                        return Err(io::Error::new(kind, "reading the archive failed"));
                    }
                };
                out.write_all(&buf[..n])?;
            }
        });
        if let Some(e) = read_error {
            return Err(corrupt(e));
        }
        result?;
        written[slot] = Some(target);
    }
    let missing: Vec<&str> = wanted
        .iter()
        .zip(&written)
        .filter(|(_, w)| w.is_none())
        .map(|(name, _)| *name)
        .collect();
    if !missing.is_empty() {
        return Err(format_error(
            archive_path,
            format!("the archive lacks {ARCHIVE_FOLDER}/{}", missing.join(", ")),
        ));
    }
    Ok(written.into_iter().flatten().collect())
}
