//! A folder of images with one sub-folder per class, as torchvision's
//! `ImageFolder` (the cats-versus-dogs layout):
//!
//! ```text
//! train/
//!   cats/  cat.1.jpg  cat.2.jpg ...
//!   dogs/  dog.1.jpg  dog.2.jpg ...
//! ```
//!
//! The classes are the sub-folder names in sorted order (`cats` = 0,
//! `dogs` = 1); the examples are ordered by class, then by file name. PNG
//! and JPEG files are read (by content, whatever the extension says, through
//! the `image` crate); files with other extensions (`.txt`, `.DS_Store`) and
//! hidden files or folders (starting with `.`) are skipped, as torchvision
//! does.
//!
//! **Images are decoded eagerly**, in parallel, when the folder is loaded:
//! each is converted to RGB (or to grayscale), resized to the requested
//! `(height, width)` (bilinear, aspect ratio not kept, as torchvision's
//! `Resize((h, w))`; an image already of that size is kept exactly) and kept
//! as `[C, H, W]` bytes. So a file that cannot be decoded is an error at
//! load time naming the file, never a failure in the middle of training
//! ([`LabeledDataset::read_example`] cannot fail), and memory is `N x C x H x W`
//! bytes (500 cats and dogs at 64x64 RGB: 6 MB).

use std::fs;
use std::path::{Path, PathBuf};

use image::imageops::FilterType;
use image::{DynamicImage, ImageReader};
use rayon::prelude::*;

use super::files::{format_error, io_error};
use super::LabeledDataset;
use crate::error::Result;

/// The file extensions read (compared case-insensitively).
pub const IMAGE_EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

/// Labelled images from a folder of class sub-folders, decoded and resized
/// to one size, as `[C, H, W]` examples scaled to `[0, 1]` (`C` = 3 for
/// RGB, 1 for grayscale).
///
/// ```
/// use nabla::data::{LabeledDataset, ImageFolder};
/// let root = std::env::temp_dir().join(format!("nabla_doc_folder_{}", std::process::id()));
/// for (class, value) in [("cats", 10u8), ("dogs", 200)] {
///     std::fs::create_dir_all(root.join(class)).unwrap();
///     image::GrayImage::from_pixel(8, 6, image::Luma([value])).save(root.join(class).join("a.png")).unwrap();
/// }
/// let data = ImageFolder::load(&root, (3, 4), true)?;
/// assert_eq!(data.classes(), ["cats", "dogs"]);
/// assert_eq!((data.len(), data.example_shape()), (2, vec![1, 3, 4]));
/// let mut x = vec![0.0; 12];
/// data.read_example(1, &mut x);
/// assert_eq!((data.label(1), x[0]), (1, 200.0 / 255.0));
/// # std::fs::remove_dir_all(&root).unwrap();
/// # Ok::<(), nabla::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct ImageFolder {
    pixels: Vec<u8>,
    labels: Vec<usize>,
    paths: Vec<PathBuf>,
    classes: Vec<String>,
    channels: usize,
    height: usize,
    width: usize,
}

fn is_hidden(name: &str) -> bool {
    name.starts_with('.')
}

fn is_image_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

/// The entries of `dir` as (name, path), sorted by name, hidden ones left out.
fn sorted_entries(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| io_error(dir, e))? {
        let entry = entry.map_err(|e| io_error(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !is_hidden(&name) {
            entries.push((name, entry.path()));
        }
    }
    entries.sort();
    Ok(entries)
}

impl ImageFolder {
    /// Loads every PNG and JPEG image under `dir/<class>/`, resized to
    /// `size = (height, width)`, as RGB or, with `grayscale`, as one
    /// luminance channel.
    ///
    /// # Errors
    /// [`Error::Io`](crate::Error::Io) naming a folder or file that cannot
    /// be read; [`Error::Format`](crate::Error::Format) naming the file for
    /// an image that cannot be decoded (corrupt, truncated, not an image),
    /// naming `dir` if it has no class sub-folder, naming a class folder
    /// that holds no image.
    ///
    /// # Panics
    /// If `height` or `width` is 0.
    pub fn load(dir: impl AsRef<Path>, size: (usize, usize), grayscale: bool) -> Result<Self> {
        let dir = dir.as_ref();
        let (height, width) = size;
        assert!(
            height > 0 && width > 0,
            "ImageFolder::load: size must be positive, got {height}x{width}"
        );
        let (classes, files) = Self::list(dir)?;
        let images: Vec<Vec<u8>> = files
            .par_iter()
            .map(|(path, _)| decode(path, height, width, grayscale))
            .collect::<Result<_>>()?;
        let channels = if grayscale { 1 } else { 3 };
        let mut pixels = Vec::with_capacity(files.len() * channels * height * width);
        for image in images {
            pixels.extend_from_slice(&image);
        }
        let (paths, labels) = files.into_iter().unzip();
        Ok(ImageFolder {
            pixels,
            labels,
            paths,
            classes,
            channels,
            height,
            width,
        })
    }

    /// The class names (sorted sub-folder names) and the image files of
    /// `dir/<class>/` with their labels, in the order [`load`](Self::load)
    /// reads them, without decoding anything (for callers with their own
    /// decoding, such as [`ImagePreprocess`](super::imagenet::ImagePreprocess)).
    ///
    /// # Errors
    /// As [`load`](Self::load), except for undecodable images.
    #[allow(clippy::type_complexity)]
    pub fn list(dir: impl AsRef<Path>) -> Result<(Vec<String>, Vec<(PathBuf, usize)>)> {
        let dir = dir.as_ref();
        let mut classes = Vec::new();
        let mut files = Vec::new();
        for (name, path) in sorted_entries(dir)? {
            if !path.is_dir() {
                continue;
            }
            let label = classes.len();
            let before = files.len();
            for (_, file) in sorted_entries(&path)? {
                if file.is_file() && is_image_file(&file) {
                    files.push((file, label));
                }
            }
            if files.len() == before {
                return Err(format_error(
                    &path,
                    format!("class folder {name:?} holds no PNG or JPEG image"),
                ));
            }
            classes.push(name);
        }
        if classes.is_empty() {
            return Err(format_error(
                dir,
                "no class sub-folder: an image folder holds one sub-folder of images per class",
            ));
        }
        Ok((classes, files))
    }

    /// The class names (the sub-folder names), by label.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// The image files, by example.
    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    /// All pixels, `[N, C, H, W]`, as decoded and resized (0..=255).
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// All labels, by example.
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }
}

/// Decodes one image and returns it as `[C, H, W]` bytes of the given size.
fn decode(path: &Path, height: usize, width: usize, grayscale: bool) -> Result<Vec<u8>> {
    let reader = ImageReader::open(path)
        .map_err(|e| io_error(path, e))?
        .with_guessed_format()
        .map_err(|e| io_error(path, e))?;
    let image: DynamicImage = reader
        .decode()
        .map_err(|e| format_error(path, format!("cannot decode the image: {e}")))?;
    let (w, h) = (width as u32, height as u32);
    if grayscale {
        let mut luma = image.to_luma8();
        if luma.dimensions() != (w, h) {
            luma = image::imageops::resize(&luma, w, h, FilterType::Triangle);
        }
        Ok(luma.into_raw())
    } else {
        let mut rgb = image.to_rgb8();
        if rgb.dimensions() != (w, h) {
            rgb = image::imageops::resize(&rgb, w, h, FilterType::Triangle);
        }
        // HWC -> CHW.
        let hwc = rgb.into_raw();
        let plane = height * width;
        let mut chw = vec![0u8; 3 * plane];
        for (i, px) in hwc.chunks_exact(3).enumerate() {
            chw[i] = px[0];
            chw[plane + i] = px[1];
            chw[2 * plane + i] = px[2];
        }
        Ok(chw)
    }
}

impl LabeledDataset for ImageFolder {
    fn len(&self) -> usize {
        self.labels.len()
    }

    fn example_shape(&self) -> Vec<usize> {
        vec![self.channels, self.height, self.width]
    }

    fn num_classes(&self) -> usize {
        self.classes.len()
    }

    fn class_names(&self) -> Vec<String> {
        self.classes.clone()
    }

    fn label(&self, index: usize) -> usize {
        self.labels[index]
    }

    fn read_example(&self, index: usize, out: &mut [f32]) {
        let size = self.channels * self.height * self.width;
        assert!(
            out.len() == size,
            "ImageFolder::read_example: out has {} elements, an example {size}",
            out.len()
        );
        let pixels = &self.pixels[index * size..(index + 1) * size];
        for (o, &p) in out.iter_mut().zip(pixels) {
            *o = f32::from(p) / 255.0;
        }
    }
}
