//! Data: data sets of any item type, the [`DataLoader`] that batches them,
//! and (in submodules) the real file formats and the transforms.
//!
//! - [`Dataset`]: `len` and `get(index) -> Item`, for items of any type
//!   (token windows, unlabeled images, points, `(x, y)` pairs), batched by
//!   a [`Collate`] step ([`Stack`] stacks tensors), as PyTorch's
//!   `Dataset.__getitem__` and `collate_fn`.
//! - [`LabeledDataset`]: the common case of fixed-shape `f32` examples with
//!   a class label (MNIST, CIFAR-10, image folders, CSV). Its examples are
//!   kept compactly (images as bytes) and written as `f32` straight into
//!   the batch buffer ([`LabeledBatches`]), with [`Pipeline`] transforms.
//! - Text for language models: [`TextCorpus`] (a UTF-8 file, or the bundled
//!   tiny-shakespeare, as characters), its [`CharVocab`], and
//!   [`TokenWindows`], every window of a token stream with its next-token
//!   targets.
//! - [`imagenet`]: the ImageNet models' preprocessing (as torchvision's, to
//!   the pixel) and class names.
//! - [`DataLoader`]: either kind, in a seeded order, on prefetch threads,
//!   resumable mid-epoch; any [`BatchSource`] can feed it.
//!
//! The file formats need the `data` cargo feature and [`download`] the
//! `download` feature (both on by default).

#[cfg(feature = "data")]
pub mod bundled;
mod char_vocab;
#[cfg(feature = "data")]
pub mod checksum;
#[cfg(feature = "data")]
pub mod cifar;
mod collate;
#[cfg(feature = "data")]
pub mod csv;
mod dataset;
#[cfg(feature = "download")]
pub mod download;
#[cfg(feature = "data")]
mod files;
#[cfg(feature = "data")]
pub mod idx;
#[cfg(feature = "data")]
pub mod image_folder;
pub mod imagenet;
mod labeled;
mod loader;
mod moons;
mod random_affine;
mod split;
mod subset;
mod tensor_dataset;
#[cfg(feature = "data")]
mod text_corpus;
mod token_windows;
mod transforms;
mod unlabeled;

#[cfg(feature = "data")]
pub use self::csv::{CsvDataset, LabelColumn};
#[cfg(feature = "data")]
pub use bundled::{bundled_mnist_dir, data_dir};
pub use char_vocab::CharVocab;
#[cfg(feature = "data")]
pub use cifar::Cifar10;
pub use collate::{Collate, Collated, Stack};
pub use dataset::{Dataset, LabeledDataset};
#[cfg(feature = "data")]
pub use idx::{FashionMnist, IdxDataset, Mnist};
#[cfg(feature = "data")]
pub use image_folder::ImageFolder;
pub use labeled::{Batch, LabeledBatches};
pub use loader::{
    example_generator, example_seed, BatchContext, BatchSource, DataLoader, EpochIter, LoaderConfig, Shard,
};
pub use moons::{make_moons, TwoMoons};
pub use random_affine::RandomAffine;
pub use split::Split;
pub use subset::Subset;
pub use tensor_dataset::{TensorDataset, TensorPairDataset};
#[cfg(feature = "data")]
pub use text_corpus::TextCorpus;
pub use token_windows::TokenWindows;
pub use transforms::{Normalize, Pipeline, RandomCrop, RandomHorizontalFlip, Transform};
pub use unlabeled::Unlabeled;
