//! The data sets the command line knows, with their normalisation and
//! augmentation, and the loaders built from them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use nabla::data::{
    Cifar10, DataLoader, FashionMnist, ImageFolder, LabeledDataset, LoaderConfig, Mnist, Normalize, Pipeline,
    RandomCrop, RandomHorizontalFlip, Split,
};

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
}

impl std::str::FromStr for DatasetKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "mnist" => DatasetKind::Mnist,
            "fashion-mnist" => DatasetKind::FashionMnist,
            "cifar10" => DatasetKind::Cifar10,
            path => {
                let p = PathBuf::from(path);
                if !p.is_dir() {
                    return Err(format!(
                        "unknown dataset {path:?} (expected mnist, fashion-mnist, cifar10 or a folder of images)"
                    ));
                }
                DatasetKind::Folder(p)
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
        }
    }

    /// The per-channel mean and standard deviation the inputs are normalised with.
    pub fn normalization(&self) -> (Vec<f32>, Vec<f32>) {
        match self {
            // PyTorch's MNIST convention, so that models move between the two.
            DatasetKind::Mnist => (vec![0.1307], vec![0.3081]),
            DatasetKind::FashionMnist => (vec![0.2860], vec![0.3530]),
            DatasetKind::Cifar10 => (vec![0.4914, 0.4822, 0.4465], vec![0.2470, 0.2435, 0.2616]),
            DatasetKind::Folder(_) => (vec![0.5; 3], vec![0.5; 3]),
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
        };
        Ok(dataset)
    }

    /// The loader of a split: shuffled and augmented for training (random
    /// crops and flips for colour images), in order for testing.
    pub fn loader(
        &self,
        dataset: Arc<dyn LabeledDataset>,
        split: Split,
        batch_size: usize,
        seed: u64,
        workers: usize,
    ) -> DataLoader {
        let (mean, std) = self.normalization();
        let channels = dataset.example_shape().first().copied().unwrap_or(1);
        let mut pipeline = Pipeline::new().add(Normalize::new(
            &mean[..channels.min(mean.len())],
            &std[..channels.min(std.len())],
        ));
        let shape = dataset.example_shape();
        if split == Split::Train && channels == 3 && shape.len() == 3 {
            pipeline = pipeline
                .add(RandomCrop::new((shape[1], shape[2]), 4))
                .add(RandomHorizontalFlip::new(0.5));
        }
        let config = LoaderConfig {
            batch_size,
            shuffle: split == Split::Train,
            drop_last: false,
            seed,
            workers,
            prefetch: 4,
        };
        DataLoader::new(dataset, config).with_transforms(pipeline)
    }
}
