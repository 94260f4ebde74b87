//! The data sets the command line knows, with their normalisation and
//! augmentation, and the loaders built from them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use nabla::data::{
    Cifar10, DataLoader, FashionMnist, ImageFolder, LabeledDataset, LoaderConfig, Mnist, Normalize, Pipeline,
    RandomAffine, RandomCrop, RandomHorizontalFlip, Split, TextCorpus,
};

/// The per-channel mean and standard deviation inputs are normalised with.
#[derive(Clone, Debug, PartialEq)]
pub struct Normalization {
    /// One mean per channel.
    pub mean: Vec<f32>,
    /// One standard deviation per channel.
    pub std: Vec<f32>,
}

impl Normalization {
    /// The normalisation that leaves `channels` channels as they are
    /// (mean 0, standard deviation 1): inputs fed as raw pixels in [0, 1].
    pub fn identity(channels: usize) -> Normalization {
        Normalization {
            mean: vec![0.0; channels],
            std: vec![1.0; channels],
        }
    }

    /// The map from pixels to the model's inputs that attacks differentiate
    /// through (`nabla attack`, `--adversarial`).
    pub fn pixels(&self) -> nabla::adversarial::Pixels {
        let widen = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect::<Vec<_>>();
        nabla::adversarial::Pixels::normalized(&widen(&self.mean), &widen(&self.std))
    }
}

/// The largest rotation of `--augment`, in degrees either way.
const DIGIT_ROTATION_DEGREES: f64 = 10.0;
/// The largest shift of `--augment`, as a fraction of the size (2.8 pixels of 28).
const DIGIT_SHIFT: f64 = 0.1;

/// A data set by its command-line name, or a folder of images.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatasetKind {
    /// MNIST (bundled with nabla).
    Mnist,
    /// Fashion-MNIST (`nabla download fashion-mnist`).
    FashionMnist,
    /// CIFAR-10 (`nabla download cifar10`).
    Cifar10,
    /// A folder with `train/` and `test/`, one sub-folder per class in each.
    Folder(PathBuf),
    /// Tiny-shakespeare (bundled), text for the language models.
    TinyShakespeare,
    /// A UTF-8 text file, for the language models.
    Text(PathBuf),
    /// Two moons, 2-D points generated as scikit-learn's `make_moons(3000,
    /// noise=0.05)`, for the flows.
    Moons,
}

impl std::str::FromStr for DatasetKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "mnist" => DatasetKind::Mnist,
            "fashion-mnist" => DatasetKind::FashionMnist,
            "cifar10" => DatasetKind::Cifar10,
            "tinyshakespeare" => DatasetKind::TinyShakespeare,
            "moons" => DatasetKind::Moons,
            path => {
                let p = PathBuf::from(path);
                // Absolute, so that a checkpoint's record of it holds from anywhere.
                let absolute = p.canonicalize().unwrap_or_else(|_| p.clone());
                if p.is_dir() {
                    DatasetKind::Folder(absolute)
                } else if p.is_file() {
                    DatasetKind::Text(absolute)
                } else {
                    return Err(format!(
                        "unknown dataset {path:?} (expected mnist, fashion-mnist, cifar10, tinyshakespeare, \
                         moons, a folder of images or a text file)"
                    ));
                }
            }
        })
    }
}

impl DatasetKind {
    /// A short name for output folders.
    pub fn name(&self) -> String {
        match self {
            DatasetKind::Mnist => "mnist".into(),
            DatasetKind::FashionMnist => "fashion-mnist".into(),
            DatasetKind::Cifar10 => "cifar10".into(),
            DatasetKind::Folder(p) => p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or("images".into()),
            DatasetKind::TinyShakespeare => "tinyshakespeare".into(),
            DatasetKind::Text(p) => p
                .file_stem()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or("text".into()),
            DatasetKind::Moons => "moons".into(),
        }
    }

    /// The form `FromStr` reads back: the name, or the folder's path.
    pub fn spec(&self) -> String {
        match self {
            DatasetKind::Folder(p) | DatasetKind::Text(p) => p.display().to_string(),
            named => named.name(),
        }
    }

    /// The data set whose normalisation suits a model of `channels` input
    /// channels when nothing else says: MNIST for grey, CIFAR-10 for colour.
    pub fn default_for_channels(channels: usize) -> DatasetKind {
        if channels == 3 {
            DatasetKind::Cifar10
        } else {
            DatasetKind::Mnist
        }
    }

    /// The normalisation of examples with `channels` channels.
    pub fn normalization_for(&self, channels: usize) -> Normalization {
        let (mean, std) = match self {
            // PyTorch's MNIST convention, so that models move between the two.
            DatasetKind::Mnist => (vec![0.1307], vec![0.3081]),
            DatasetKind::FashionMnist => (vec![0.2860], vec![0.3530]),
            DatasetKind::Cifar10 => (vec![0.4914, 0.4822, 0.4465], vec![0.2470, 0.2435, 0.2616]),
            DatasetKind::Folder(_)
            | DatasetKind::TinyShakespeare
            | DatasetKind::Text(_)
            | DatasetKind::Moons => (vec![0.5; 3], vec![0.5; 3]),
        };
        let n = channels.min(mean.len());
        Normalization {
            mean: mean[..n].to_vec(),
            std: std[..n].to_vec(),
        }
    }

    /// Reads a text data set for the language models.
    ///
    /// # Errors
    /// For an image data set (naming it), or the error of reading the text.
    pub fn load_text(&self) -> Result<TextCorpus, String> {
        match self {
            DatasetKind::TinyShakespeare => TextCorpus::tiny_shakespeare().map_err(|e| e.to_string()),
            DatasetKind::Text(path) => TextCorpus::load(path).map_err(|e| e.to_string()),
            DatasetKind::Moons => Err("moons holds 2-D points: a language model trains on text \
                 (--dataset tinyshakespeare or a text file)"
                .to_string()),
            images => Err(format!(
                "{} holds images: a language model trains on text (--dataset tinyshakespeare or a text file)",
                images.spec()
            )),
        }
    }

    /// Loads a split from `dir` (the data set's folder; the bundled MNIST by default).
    pub fn load(&self, dir: Option<&Path>, split: Split) -> Result<Arc<dyn LabeledDataset>, String> {
        let named = |name: &str| {
            dir.map(Path::to_path_buf)
                .unwrap_or_else(|| nabla::data::data_dir().join(name))
        };
        let dataset: Arc<dyn LabeledDataset> = match self {
            DatasetKind::Mnist => Arc::new(
                match dir {
                    None => Mnist::bundled(split),
                    Some(d) => Mnist::load(d, split),
                }
                .map_err(|e| e.to_string())?,
            ),
            DatasetKind::FashionMnist => Arc::new(
                FashionMnist::load(named("fashion-mnist"), split)
                    .map_err(|e| format!("{e} (get the files with `nabla download fashion-mnist`)"))?,
            ),
            DatasetKind::Cifar10 => Arc::new(
                Cifar10::load(named("cifar10"), split)
                    .map_err(|e| format!("{e} (get the files with `nabla download cifar10`)"))?,
            ),
            DatasetKind::Folder(root) => {
                let sub = root.join(if split == Split::Train { "train" } else { "test" });
                Arc::new(ImageFolder::load(&sub, (32, 32), false).map_err(|e| e.to_string())?)
            }
            DatasetKind::TinyShakespeare | DatasetKind::Text(_) => {
                return Err(format!(
                    "{} is text: train a language model on it (--model char-gpt or char-lstm)",
                    self.spec()
                ))
            }
            DatasetKind::Moons => {
                return Err("moons holds 2-D points: train a flow on it (--model realnvp)".to_string())
            }
        };
        Ok(dataset)
    }

    /// The loader of a split: shuffled and augmented for training (random
    /// crops and flips for colour images), in order for testing.
    pub fn loader(
        &self,
        dataset: Arc<dyn LabeledDataset>,
        split: Split,
        normalization: &Normalization,
        batch_size: usize,
        seed: u64,
        workers: usize,
    ) -> DataLoader {
        let pipeline = pipeline(&dataset.example_shape(), split, normalization, false);
        with_pipeline(dataset, split, pipeline, batch_size, seed, workers)
    }

    /// The training loader, as [`loader`](Self::loader) gives it, and with
    /// `distort_digits` grey 28x28 digits distorted by small random
    /// rotations and shifts (LeNet-5's distortions, `--augment`).
    pub fn training_loader(
        &self,
        dataset: Arc<dyn LabeledDataset>,
        normalization: &Normalization,
        batch_size: usize,
        seed: u64,
        workers: usize,
        distort_digits: bool,
    ) -> DataLoader {
        let pipeline = pipeline(
            &dataset.example_shape(),
            Split::Train,
            normalization,
            distort_digits,
        );
        with_pipeline(dataset, Split::Train, pipeline, batch_size, seed, workers)
    }
}

/// The transforms of a split's examples of `shape`.
fn pipeline(shape: &[usize], split: Split, normalization: &Normalization, distort_digits: bool) -> Pipeline {
    let channels = shape.first().copied().unwrap_or(1);
    let mut pipeline = Pipeline::new();
    // Distortions come before the normalisation, so that pixels moved in
    // from outside are black (0), not the normalised mean.
    if split == Split::Train && distort_digits && channels == 1 && shape.len() == 3 {
        pipeline = pipeline.add(RandomAffine::new(DIGIT_ROTATION_DEGREES, DIGIT_SHIFT));
    }
    pipeline = pipeline.add(Normalize::new(&normalization.mean, &normalization.std));
    if split == Split::Train && channels == 3 && shape.len() == 3 {
        pipeline = pipeline
            .add(RandomCrop::new((shape[1], shape[2]), 4))
            .add(RandomHorizontalFlip::new(0.5));
    }
    pipeline
}

/// A loader over `dataset` with `pipeline`, shuffled for training.
fn with_pipeline(
    dataset: Arc<dyn LabeledDataset>,
    split: Split,
    pipeline: Pipeline,
    batch_size: usize,
    seed: u64,
    workers: usize,
) -> DataLoader {
    let config = LoaderConfig {
        batch_size,
        shuffle: split == Split::Train,
        drop_last: false,
        seed,
        workers,
        prefetch: 4,
        shard: None,
    };
    DataLoader::new(dataset, config).with_transforms(pipeline)
}
