//! CIFAR-10 in its binary version: `data_batch_1.bin` .. `data_batch_5.bin`
//! (training, 10,000 images each), `test_batch.bin` (test, 10,000) and
//! `batches.meta.txt` (the class names, one a line).
//!
//! A batch file is a sequence of 3,073-byte records: one label byte
//! (`0..10`), then 3,072 pixel bytes, the 1,024 red values of the 32x32
//! image row-major, then the green ones, then the blue ones. That is
//! `[3, 32, 32]` channel-first, the layout a model takes, so an example is
//! just its pixel bytes / 255.
//!
//! Checked as read, each an [`Error::Format`](crate::Error::Format) naming
//! the file: a size that is not a whole number of records (a truncated
//! file), an empty file, a label out of range, a batch of the official
//! layout that does not hold exactly 10,000 records, a `batches.meta.txt`
//! that does not name 10 classes.

use std::fs;
use std::path::{Path, PathBuf};

use super::files::{format_error, io_error};
use super::LabeledDataset;
use super::Split;
use crate::error::Result;

/// Bytes per record: 1 label byte + 3 x 32 x 32 pixel bytes.
pub const RECORD_BYTES: usize = 1 + IMAGE_BYTES;
/// Pixel bytes per image.
pub const IMAGE_BYTES: usize = 3 * 32 * 32;
/// Records per batch file in the official data set.
pub const RECORDS_PER_BATCH: usize = 10_000;

/// The class names of CIFAR-10 (as in `batches.meta.txt`), by label.
pub const CIFAR10_CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// The batch files of each split.
pub const TRAIN_BATCHES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
/// The test batch file.
pub const TEST_BATCH: &str = "test_batch.bin";
/// The file of class names.
pub const META_FILE: &str = "batches.meta.txt";
/// The folder the official archive unpacks to.
pub const ARCHIVE_FOLDER: &str = "cifar-10-batches-bin";

/// CIFAR-10 images as bytes, `[3, 32, 32]` examples scaled to `[0, 1]`.
///
/// ```
/// use nabla::data::{Cifar10, LabeledDataset};
/// let dir = std::env::temp_dir().join(format!("nabla_doc_cifar_{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let mut record = vec![3u8]; // label: cat
/// record.extend((0..3072).map(|i| (i % 256) as u8));
/// std::fs::write(dir.join("batch.bin"), &record).unwrap();
/// let data = Cifar10::from_batches(&[dir.join("batch.bin")], None)?;
/// assert_eq!((data.len(), data.label(0)), (1, 3));
/// assert_eq!(data.class_names()[3], "cat");
/// let mut x = vec![0.0f32; 3072];
/// data.read_example(0, &mut x);
/// assert_eq!(x[255], 1.0);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), nabla::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Cifar10 {
    pixels: Vec<u8>,
    labels: Vec<u8>,
    class_names: Vec<String>,
}

impl Cifar10 {
    /// Loads a split from `dir`, which holds the batch files (or holds the
    /// archive's `cifar-10-batches-bin/` folder that does): the five
    /// training batches for [`Split::Train`] (50,000 images), `test_batch.bin`
    /// for [`Split::Test`] (10,000). Class names come from
    /// `batches.meta.txt` if it is there, else [`CIFAR10_CLASSES`].
    ///
    /// # Errors
    /// [`Error::Io`](crate::Error::Io) naming a missing or unreadable file;
    /// [`Error::Format`](crate::Error::Format) naming the file for anything
    /// listed in the [module docs](self), including a batch that does not
    /// hold exactly 10,000 records.
    pub fn load(dir: impl AsRef<Path>, split: Split) -> Result<Self> {
        let mut dir = dir.as_ref().to_path_buf();
        let first = match split {
            Split::Train => TRAIN_BATCHES[0],
            Split::Test => TEST_BATCH,
        };
        if !dir.join(first).exists() && dir.join(ARCHIVE_FOLDER).join(first).exists() {
            dir = dir.join(ARCHIVE_FOLDER);
        }
        let files: Vec<PathBuf> = match split {
            Split::Train => TRAIN_BATCHES.iter().map(|f| dir.join(f)).collect(),
            Split::Test => vec![dir.join(TEST_BATCH)],
        };
        let meta = dir.join(META_FILE);
        let meta = meta.exists().then_some(meta);
        Self::read(&files, meta.as_deref(), Some(RECORDS_PER_BATCH))
    }

    /// Reads any batch files of CIFAR-10 records (each a whole, non-zero
    /// number of records) in order; class names from the `meta` file if
    /// given, else [`CIFAR10_CLASSES`].
    ///
    /// # Errors
    /// As [`Cifar10::load`], without the 10,000-record rule.
    pub fn from_batches<P: AsRef<Path>>(files: &[P], meta: Option<&Path>) -> Result<Self> {
        Self::read(files, meta, None)
    }

    fn read<P: AsRef<Path>>(
        files: &[P],
        meta: Option<&Path>,
        records_per_file: Option<usize>,
    ) -> Result<Self> {
        let class_names = match meta {
            Some(path) => read_class_names(path)?,
            None => CIFAR10_CLASSES.iter().map(|s| s.to_string()).collect(),
        };
        let mut pixels = Vec::new();
        let mut labels = Vec::new();
        for path in files {
            let path = path.as_ref();
            // The length is checked before the file is read.
            let metadata = fs::metadata(path).map_err(|e| io_error(path, e))?;
            if metadata.is_dir() {
                return Err(io_error(
                    path,
                    std::io::Error::new(
                        std::io::ErrorKind::IsADirectory,
                        "a directory, where a CIFAR batch file should be",
                    ),
                ));
            }
            let len = usize::try_from(metadata.len()).unwrap_or(usize::MAX);
            if len == 0 {
                return Err(format_error(
                    path,
                    "empty file: a CIFAR batch holds at least one record",
                ));
            }
            if len % RECORD_BYTES != 0 {
                return Err(format_error(
                    path,
                    format!(
                        "truncated: {len} bytes is not a whole number of {RECORD_BYTES}-byte records \
                         (1 label byte + {IMAGE_BYTES} pixel bytes); {} whole records and {} bytes over",
                        len / RECORD_BYTES,
                        len % RECORD_BYTES
                    ),
                ));
            }
            let count = len / RECORD_BYTES;
            if let Some(expected) = records_per_file {
                if count != expected {
                    return Err(format_error(
                        path,
                        format!("count mismatch: {count} records, a CIFAR-10 batch holds {expected}"),
                    ));
                }
            }
            let bytes = fs::read(path).map_err(|e| io_error(path, e))?;
            if bytes.len() != len {
                return Err(format_error(
                    path,
                    format!(
                        "the file changed while it was read: {len} bytes, then {}",
                        bytes.len()
                    ),
                ));
            }
            pixels.reserve(count * IMAGE_BYTES);
            labels.reserve(count);
            for (i, record) in bytes.chunks_exact(RECORD_BYTES).enumerate() {
                let label = record[0];
                if usize::from(label) >= class_names.len() {
                    return Err(format_error(
                        path,
                        format!(
                            "record {i}: label {label} is out of range 0..{}",
                            class_names.len()
                        ),
                    ));
                }
                labels.push(label);
                pixels.extend_from_slice(&record[1..]);
            }
        }
        Ok(Cifar10 {
            pixels,
            labels,
            class_names,
        })
    }

    /// All pixels, `[N, 3, 32, 32]`, as stored (0..=255).
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// All labels, by example.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }
}

/// Reads `batches.meta.txt`: the class names one a line, blank lines
/// ignored; there must be 10.
///
/// # Errors
/// [`Error::Io`](crate::Error::Io) if it cannot be read,
/// [`Error::Format`](crate::Error::Format) if it is not UTF-8 or does not
/// hold 10 names.
pub fn read_class_names(path: impl AsRef<Path>) -> Result<Vec<String>> {
    let path = path.as_ref();
    let bytes = fs::read(path).map_err(|e| io_error(path, e))?;
    let text = String::from_utf8(bytes).map_err(|e| format_error(path, format!("not UTF-8 text: {e}")))?;
    let names: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    if names.len() != CIFAR10_CLASSES.len() {
        return Err(format_error(
            path,
            format!(
                "{} class names, CIFAR-10 has {}",
                names.len(),
                CIFAR10_CLASSES.len()
            ),
        ));
    }
    Ok(names)
}

impl LabeledDataset for Cifar10 {
    fn len(&self) -> usize {
        self.labels.len()
    }

    fn example_shape(&self) -> Vec<usize> {
        vec![3, 32, 32]
    }

    fn num_classes(&self) -> usize {
        self.class_names.len()
    }

    fn class_names(&self) -> Vec<String> {
        self.class_names.clone()
    }

    fn label(&self, index: usize) -> usize {
        usize::from(self.labels[index])
    }

    fn read_example(&self, index: usize, out: &mut [f32]) {
        assert!(
            out.len() == IMAGE_BYTES,
            "Cifar10::read_example: out has {} elements, an example {IMAGE_BYTES}",
            out.len()
        );
        let pixels = &self.pixels[index * IMAGE_BYTES..(index + 1) * IMAGE_BYTES];
        for (o, &p) in out.iter_mut().zip(pixels) {
            *o = f32::from(p) / 255.0;
        }
    }
}
