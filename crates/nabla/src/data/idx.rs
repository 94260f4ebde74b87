//! MNIST and Fashion-MNIST: images and labels in the IDX format, gzipped or
//! not.
//!
//! An IDX file is a big-endian header then raw bytes. Images: magic number
//! 2051 (`00 00 08 03`: unsigned bytes, 3 dimensions), the image count, the
//! number of rows, the number of columns, then `count x rows x cols` pixel
//! bytes (0 = background, 255 = ink), row-major. Labels: magic number 2049
//! (`00 00 08 01`), the count, then one byte per label.
//!
//! Every file is checked as it is read, and any problem is an [`Error`]
//! naming the file: a wrong magic number, a header or data section shorter
//! than the header announces (a truncated file), bytes after the announced
//! data, an image count that differs from the label count, images of the
//! wrong size, a label out of range, a gzip stream that is corrupt or cut
//! short. A file is gzipped if it starts with the gzip magic bytes `1f 8b`;
//! a file named `*.gz` that does not is an error. What a header announces
//! is checked before the data is read: against the file's length (or what
//! a gzipped file of that length can hold), against
//! [`MAX_IDX_DATA_BYTES`], and the image and label counts against each
//! other, so a header claiming billions of images costs nothing.
//!
//! Images stay bytes in memory (47 MB for the MNIST training set) and become
//! `f32` in `[0, 1]` (pixel / 255) one at a time in
//! [`LabeledDataset::read_example`].
//!
//! ```
//! use nabla::data::{LabeledDataset, Mnist, Split};
//! let test = Mnist::bundled(Split::Test)?; // data/mnist/, SHA-256 checked
//! assert_eq!((test.len(), test.example_shape()), (10_000, vec![1, 28, 28]));
//! assert_eq!(test.label(0), 7);
//! # Ok::<(), nabla::Error>(())
//! ```

use std::io;
use std::path::{Path, PathBuf};

use super::checksum::{self, KnownFile};
use super::files::{format_error, io_error, MaybeGz};
use super::{LabeledDataset, Split};
use crate::error::{Error, Result};

/// The magic number of an IDX file of unsigned-byte images (3 dimensions).
pub const IDX_IMAGES_MAGIC: u32 = 0x0000_0803;
/// The magic number of an IDX file of unsigned-byte labels (1 dimension).
pub const IDX_LABELS_MAGIC: u32 = 0x0000_0801;

/// The class names of Fashion-MNIST, by label.
pub const FASHION_MNIST_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// The content of an IDX file of images.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxImages {
    /// The number of images.
    pub count: usize,
    /// Rows per image.
    pub rows: usize,
    /// Columns per image.
    pub cols: usize,
    /// `count x rows x cols` bytes, row-major.
    pub pixels: Vec<u8>,
}

fn what_magic(magic: u32) -> &'static str {
    match magic {
        IDX_IMAGES_MAGIC => " (that of an IDX file of images)",
        IDX_LABELS_MAGIC => " (that of an IDX file of labels)",
        _ => "",
    }
}

fn read_header<const N: usize>(file: &mut MaybeGz, what: &str) -> Result<[u8; N]> {
    let mut header = [0u8; N];
    let n = file.read_up_to(&mut header)?;
    if n < N {
        let source = if file.gzipped {
            "the decompressed data has"
        } else {
            "the file has"
        };
        return Err(format_error(
            &file.path,
            format!(
                "truncated header: {source} {n} bytes, an IDX file of {what} starts with a {N}-byte header"
            ),
        ));
    }
    Ok(header)
}

fn check_magic(path: &Path, found: u32, expected: u32, what: &str) -> Result<()> {
    if found == expected {
        return Ok(());
    }
    Err(format_error(
        path,
        format!(
            "wrong magic number {found} (0x{found:08x}){}, expected {expected} for an IDX file of {what}",
            what_magic(found)
        ),
    ))
}

fn be_u32(bytes: &[u8]) -> u32 {
    u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

/// The most bytes of data (pixels or labels) an IDX file may announce:
/// nabla holds IDX data in memory, and a header announcing more is refused
/// before anything is read (MNIST's training images are 47 MB).
pub const MAX_IDX_DATA_BYTES: u64 = 1 << 32;

/// Deflate, gzip's compression, expands each compressed byte into at most
/// 1032 bytes: a gzipped file cannot hold more than this many times its
/// length.
const MAX_DEFLATE_RATIO: u64 = 1032;

/// Checks the `len` bytes of data that the header (of `header_len` bytes)
/// announces as `announced` against the file, before reading them: within
/// [`MAX_IDX_DATA_BYTES`], and no more than a gzipped file can hold, or
/// exactly what follows the header of a plain file (`truncated` words the
/// error for fewer bytes).
fn check_announced(
    file: &MaybeGz,
    header_len: u64,
    len: u64,
    announced: &str,
    truncated: impl FnOnce(u64) -> String,
) -> Result<()> {
    if len > MAX_IDX_DATA_BYTES {
        return Err(format_error(
            &file.path,
            format!(
                "the header announces {announced}, {len} bytes, more than the {MAX_IDX_DATA_BYTES} \
                 bytes nabla reads from an IDX file: a corrupted header"
            ),
        ));
    }
    let Some(on_disk) = file.len else {
        return Ok(());
    };
    if file.gzipped {
        let most = on_disk.saturating_mul(MAX_DEFLATE_RATIO);
        if header_len + len > most {
            return Err(format_error(
                &file.path,
                format!(
                    "truncated: the header announces {announced}, {len} bytes, but {on_disk} bytes of \
                     gzip data hold at most {most}"
                ),
            ));
        }
        return Ok(());
    }
    let found = on_disk.saturating_sub(header_len);
    if found < len {
        return Err(format_error(&file.path, truncated(found)));
    }
    if found > len {
        return Err(trailing(&file.path, found - len, announced));
    }
    Ok(())
}

fn trailing(path: &Path, rest: u64, announced: &str) -> Error {
    format_error(
        path,
        format!("{rest} bytes of trailing data after the {announced} the header announces (count mismatch)"),
    )
}

/// Reads the rest after the data announced by the header: there must be none.
fn check_no_trailing(file: &mut MaybeGz, announced: &str) -> Result<()> {
    let rest = file.count_rest()?;
    if rest > 0 {
        return Err(trailing(&file.path, rest, announced));
    }
    Ok(())
}

/// An IDX file of images whose header is read and checked against the
/// file; its pixels are next.
struct ImagesFile {
    file: MaybeGz,
    count: usize,
    rows: usize,
    cols: usize,
    len: usize,
}

impl ImagesFile {
    fn open(path: &Path) -> Result<Self> {
        let mut file = MaybeGz::open(path)?;
        let header: [u8; 16] = read_header(&mut file, "images")?;
        check_magic(path, be_u32(&header[0..4]), IDX_IMAGES_MAGIC, "images")?;
        let count = be_u32(&header[4..8]) as usize;
        let rows = be_u32(&header[8..12]) as usize;
        let cols = be_u32(&header[12..16]) as usize;
        if count == 0 {
            return Err(format_error(path, "the header announces 0 images"));
        }
        if rows == 0 || cols == 0 {
            return Err(format_error(
                path,
                format!("invalid image dimensions {rows}x{cols}"),
            ));
        }
        let len = count
            .checked_mul(rows)
            .and_then(|n| n.checked_mul(cols))
            .ok_or_else(|| {
                format_error(
                    path,
                    format!("the header announces {count} images of {rows}x{cols}: too large"),
                )
            })?;
        check_announced(
            &file,
            16,
            len as u64,
            &format!("{count} images of {rows}x{cols}"),
            |found| truncated_images(count, rows, cols, len, found),
        )?;
        Ok(ImagesFile {
            file,
            count,
            rows,
            cols,
            len,
        })
    }

    fn read(mut self) -> Result<IdxImages> {
        let (count, rows, cols, len) = (self.count, self.rows, self.cols, self.len);
        let pixels = self.file.read_exact_or_count(len)?.map_err(|found| {
            format_error(
                &self.file.path,
                truncated_images(count, rows, cols, len, found as u64),
            )
        })?;
        check_no_trailing(&mut self.file, &format!("{count} images of {rows}x{cols}"))?;
        Ok(IdxImages {
            count,
            rows,
            cols,
            pixels,
        })
    }
}

fn truncated_images(count: usize, rows: usize, cols: usize, len: usize, found: u64) -> String {
    format!(
        "truncated: the header announces {count} images of {rows}x{cols} ({len} bytes of pixels) \
         but only {found} bytes follow it"
    )
}

/// An IDX file of labels whose header is read and checked against the
/// file; its labels are next.
struct LabelsFile {
    file: MaybeGz,
    count: usize,
}

impl LabelsFile {
    fn open(path: &Path) -> Result<Self> {
        let mut file = MaybeGz::open(path)?;
        let header: [u8; 8] = read_header(&mut file, "labels")?;
        check_magic(path, be_u32(&header[0..4]), IDX_LABELS_MAGIC, "labels")?;
        let count = be_u32(&header[4..8]) as usize;
        if count == 0 {
            return Err(format_error(path, "the header announces 0 labels"));
        }
        check_announced(&file, 8, count as u64, &format!("{count} labels"), |found| {
            truncated_labels(count, found)
        })?;
        Ok(LabelsFile { file, count })
    }

    fn read(mut self) -> Result<Vec<u8>> {
        let count = self.count;
        let labels = self
            .file
            .read_exact_or_count(count)?
            .map_err(|found| format_error(&self.file.path, truncated_labels(count, found as u64)))?;
        check_no_trailing(&mut self.file, &format!("{count} labels"))?;
        Ok(labels)
    }
}

fn truncated_labels(count: usize, found: u64) -> String {
    format!("truncated: the header announces {count} labels but only {found} bytes follow it")
}

/// Reads an IDX file of images (magic 2051), gzipped or not. The header is
/// checked against the file before the pixels are read.
///
/// # Errors
/// [`Error::Io`] if the file cannot be read (or is a directory);
/// [`Error::Format`] naming the file for a wrong magic number, a truncated
/// header or pixel section, trailing bytes, a zero count or dimension, more
/// data announced than [`MAX_IDX_DATA_BYTES`] (or than a gzipped file of its
/// length can hold), or corrupt gzip data.
pub fn read_idx_images(path: impl AsRef<Path>) -> Result<IdxImages> {
    ImagesFile::open(path.as_ref())?.read()
}

/// Reads an IDX file of labels (magic 2049), gzipped or not.
///
/// # Errors
/// As [`read_idx_images`].
pub fn read_idx_labels(path: impl AsRef<Path>) -> Result<Vec<u8>> {
    LabelsFile::open(path.as_ref())?.read()
}

// ----------------------------------------------------------- the data set

/// Images and labels from a pair of IDX files, as a [`LabeledDataset`] of
/// `[1, rows, cols]` examples scaled to `[0, 1]`.
#[derive(Clone, Debug)]
pub struct IdxDataset {
    pixels: Vec<u8>,
    labels: Vec<u8>,
    rows: usize,
    cols: usize,
    class_names: Vec<String>,
}

impl IdxDataset {
    /// Reads `images` and `labels` (IDX, gzipped or not); `class_names`
    /// gives the number of classes and their names.
    ///
    /// # Errors
    /// As [`read_idx_images`] and [`read_idx_labels`], and [`Error::Format`]
    /// naming the labels file if the counts differ or a label is not below
    /// `class_names.len()`.
    pub fn load(
        images: impl AsRef<Path>,
        labels: impl AsRef<Path>,
        class_names: Vec<String>,
    ) -> Result<Self> {
        Self::load_checked(images.as_ref(), labels.as_ref(), class_names, None)
    }

    /// [`load`](Self::load), with images of `(rows, cols)` when `size` is
    /// given (the data set's name for the error). Both headers are read and
    /// checked against each other before any pixel or label is.
    fn load_checked(
        images_path: &Path,
        labels_path: &Path,
        class_names: Vec<String>,
        size: Option<(usize, usize, &str)>,
    ) -> Result<Self> {
        let images = ImagesFile::open(images_path)?;
        if let Some((rows, cols, name)) = size {
            if (images.rows, images.cols) != (rows, cols) {
                return Err(format_error(
                    images_path,
                    format!(
                        "images are {}x{}, {name} images are {rows}x{cols}",
                        images.rows, images.cols
                    ),
                ));
            }
        }
        let labels = LabelsFile::open(labels_path)?;
        if labels.count != images.count {
            return Err(format_error(
                labels_path,
                format!(
                    "count mismatch: {} labels, but {} holds {} images",
                    labels.count,
                    images_path.display(),
                    images.count
                ),
            ));
        }
        let images = images.read()?;
        let labels = labels.read()?;
        let num_classes = class_names.len();
        if let Some((i, &l)) = labels
            .iter()
            .enumerate()
            .find(|&(_, &l)| usize::from(l) >= num_classes)
        {
            return Err(format_error(
                labels_path,
                format!("label {l} of example {i} is out of range 0..{num_classes}"),
            ));
        }
        Ok(IdxDataset {
            pixels: images.pixels,
            labels,
            rows: images.rows,
            cols: images.cols,
            class_names,
        })
    }

    /// All pixels, `[N, rows, cols]` row-major, as stored (0..=255).
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// All labels, by example.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// `(rows, cols)` of one image.
    pub fn image_size(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }
}

impl LabeledDataset for IdxDataset {
    fn len(&self) -> usize {
        self.labels.len()
    }

    fn example_shape(&self) -> Vec<usize> {
        vec![1, self.rows, self.cols]
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
        let size = self.rows * self.cols;
        assert!(
            out.len() == size,
            "IdxDataset::read_example: out has {} elements, an example {size}",
            out.len()
        );
        let pixels = &self.pixels[index * size..(index + 1) * size];
        for (o, &p) in out.iter_mut().zip(pixels) {
            *o = f32::from(p) / 255.0;
        }
    }
}

/// The file in `dir` for `stem`: `stem.gz`, else `stem`, else (for MNIST's
/// other spelling) `train-images.idx3-ubyte`. A directory under one of
/// those names is reported as such, not as a missing file.
fn find_file(dir: &Path, stem: &str) -> Result<PathBuf> {
    let dotted = stem.replacen("-idx", ".idx", 1);
    let candidates = [
        format!("{stem}.gz"),
        stem.to_string(),
        format!("{dotted}.gz"),
        dotted,
    ];
    for c in &candidates {
        let p = dir.join(c);
        if p.is_file() {
            return Ok(p);
        }
    }
    if let Some(folder) = candidates.iter().map(|c| dir.join(c)).find(|p| p.is_dir()) {
        return Err(io_error(
            &folder,
            io::Error::new(
                io::ErrorKind::IsADirectory,
                "a directory, where the IDX file should be",
            ),
        ));
    }
    if !dir.is_dir() {
        let (kind, what) = if dir.exists() {
            (io::ErrorKind::NotADirectory, "not a directory")
        } else {
            (io::ErrorKind::NotFound, "no such directory")
        };
        return Err(io_error(
            dir,
            io::Error::new(kind, format!("{what} (it should hold the data set's files)")),
        ));
    }
    Err(io_error(
        &dir.join(&candidates[0]),
        io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "no such file (nor {}, {} or {})",
                candidates[1], candidates[2], candidates[3]
            ),
        ),
    ))
}

fn split_prefix(split: Split) -> &'static str {
    match split {
        Split::Train => "train",
        Split::Test => "t10k",
    }
}

/// Loads a split of an MNIST-layout directory, checking 28x28 images.
fn load_split(dir: &Path, split: Split, name: &str, classes: Vec<String>) -> Result<IdxDataset> {
    let prefix = split_prefix(split);
    let images = find_file(dir, &format!("{prefix}-images-idx3-ubyte"))?;
    let labels = find_file(dir, &format!("{prefix}-labels-idx1-ubyte"))?;
    IdxDataset::load_checked(&images, &labels, classes, Some((28, 28, name)))
}

/// The known files of `split` (images, labels) among four known files.
fn known_split(files: &[KnownFile; 4], split: Split) -> [KnownFile; 2] {
    match split {
        Split::Train => [files[0], files[1]],
        Split::Test => [files[2], files[3]],
    }
}

/// Checks the SHA-256 of the gzipped files of `split` in `dir`, then loads them.
fn load_verified_split(
    dir: &Path,
    split: Split,
    files: &[KnownFile; 4],
    name: &str,
    classes: Vec<String>,
) -> Result<IdxDataset> {
    let [images, labels] = known_split(files, split);
    checksum::verify_sha256(dir.join(images.name), images.sha256)?;
    checksum::verify_sha256(dir.join(labels.name), labels.sha256)?;
    IdxDataset::load_checked(
        &dir.join(images.name),
        &dir.join(labels.name),
        classes,
        Some((28, 28, name)),
    )
}

macro_rules! idx_data_set {
    ($(#[$doc:meta])* $name:ident, $label:literal, $files:expr, $classes:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $name {
            data: IdxDataset,
        }

        impl $name {
            #[doc = concat!("Loads a split of ", $label, " from `dir`, which holds the four files")]
            /// `{train,t10k}-{images-idx3,labels-idx1}-ubyte`, each gzipped
            /// (`.gz`, preferred when both are there) or not.
            ///
            /// # Errors
            /// [`Error::Io`] naming the missing file; [`Error::Format`]
            /// naming the file for any problem listed in the [module
            /// docs](self), or images that are not 28x28.
            pub fn load(dir: impl AsRef<Path>, split: Split) -> Result<Self> {
                let classes = $classes;
                Ok($name { data: load_split(dir.as_ref(), split, $label, classes)? })
            }

            /// Like [`load`](Self::load), but reads the gzipped files and first
            /// checks their SHA-256 against the official ones (see
            /// [`checksum`](super::checksum)).
            ///
            /// # Errors
            /// [`Error::Checksum`] naming the file if a checksum differs, and
            /// the errors of [`load`](Self::load).
            pub fn load_verified(dir: impl AsRef<Path>, split: Split) -> Result<Self> {
                let classes = $classes;
                Ok($name { data: load_verified_split(dir.as_ref(), split, &$files, $label, classes)? })
            }

            /// All pixels, `[N, 28, 28]` row-major, as stored (0..=255).
            pub fn pixels(&self) -> &[u8] {
                self.data.pixels()
            }

            /// All labels, by example.
            pub fn labels(&self) -> &[u8] {
                self.data.labels()
            }

            /// The underlying IDX data set.
            pub fn into_inner(self) -> IdxDataset {
                self.data
            }
        }

        impl LabeledDataset for $name {
            fn len(&self) -> usize {
                self.data.len()
            }
            fn example_shape(&self) -> Vec<usize> {
                self.data.example_shape()
            }
            fn num_classes(&self) -> usize {
                self.data.num_classes()
            }
            fn class_names(&self) -> Vec<String> {
                self.data.class_names()
            }
            fn label(&self, index: usize) -> usize {
                self.data.label(index)
            }
            fn read_example(&self, index: usize, out: &mut [f32]) {
                self.data.read_example(index, out)
            }
        }
    };
}

idx_data_set!(
    /// MNIST handwritten digits: 60,000 training and 10,000 test images of
    /// 28x28, labels `0..10` named `"0"`..`"9"`. See [`Mnist::bundled`] for
    /// the copy shipped in the repository.
    Mnist,
    "MNIST",
    checksum::MNIST,
    (0..10).map(|d| d.to_string()).collect()
);

idx_data_set!(
    /// Fashion-MNIST (Zalando): 60,000 training and 10,000 test images of
    /// clothes, 28x28, in the MNIST format; class names in
    /// [`FASHION_MNIST_CLASSES`].
    FashionMnist,
    "Fashion-MNIST",
    checksum::FASHION_MNIST,
    FASHION_MNIST_CLASSES.iter().map(|s| s.to_string()).collect()
);
