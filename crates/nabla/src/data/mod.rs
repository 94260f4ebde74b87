//! Data: the [`Dataset`] trait, in-memory data sets, and (in submodules)
//! the real file formats, the loader and transforms.
//!
//! A data set keeps its examples compactly (images as bytes) and converts
//! one example to `f32` only when a batch needs it.

pub mod bundled;
pub mod checksum;
pub mod cifar;
pub mod csv;
pub mod download;
pub mod idx;
pub mod image_folder;
mod loader;
mod subset;
mod tensor_dataset;
mod transforms;

pub use self::csv::{CsvDataset, LabelColumn};
pub use bundled::{bundled_mnist_dir, data_dir};
pub use cifar::Cifar10;
pub use idx::{FashionMnist, IdxDataset, Mnist, Split};
pub use image_folder::ImageFolder;
pub use loader::{example_generator, example_seed, DataLoader, EpochIter, LoaderConfig};
pub use subset::Subset;
pub use tensor_dataset::TensorDataset;
pub use transforms::{Normalize, Pipeline, RandomCrop, RandomHorizontalFlip, Transform};

use crate::tensor::{IndexTensor, Tensor};

/// A finite, indexable collection of labelled examples for classification.
///
/// Implementations must be cheap to share between loader threads (`Send +
/// Sync`) and must not panic for `index < len()`.
pub trait Dataset: Send + Sync {
    /// The number of examples.
    fn len(&self) -> usize;

    /// True when there are no examples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The shape of one example as a model sees it: `[C, H, W]` for images
    /// (`[1, 28, 28]` for MNIST), `[features]` for tabular data.
    fn example_shape(&self) -> Vec<usize>;

    /// The number of classes; labels are in `0..num_classes()`.
    fn num_classes(&self) -> usize;

    /// The class names, by label (digits `"0"`..`"9"` unless a format knows better).
    fn class_names(&self) -> Vec<String> {
        (0..self.num_classes()).map(|c| c.to_string()).collect()
    }

    /// The label of example `index`.
    fn label(&self, index: usize) -> usize;

    /// Writes example `index` into `out` (of the example shape's size) as
    /// `f32`, row-major; images are scaled to `[0, 1]`.
    fn read_example(&self, index: usize, out: &mut [f32]);
}

/// A batch of examples: inputs `[B, ...example_shape]`, class indices `[B]`,
/// and which examples of the data set they are.
#[derive(Clone, Debug)]
pub struct Batch {
    /// The inputs, `[B, ...example_shape]`.
    pub inputs: Tensor,
    /// The labels, `[B]`.
    pub targets: IndexTensor,
    /// The data-set indices of the examples, in batch order.
    pub indices: Vec<usize>,
}

impl Batch {
    /// Reads the examples at `indices` from `dataset` into one batch.
    ///
    /// ```
    /// use nabla::data::{Batch, TensorDataset};
    /// use nabla::{IndexTensor, Tensor};
    /// let data = TensorDataset::new(
    ///     Tensor::from_vec(vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0], &[3, 2]),
    ///     IndexTensor::from_vec(vec![0, 1, 0], &[3]),
    ///     2,
    /// );
    /// let batch = Batch::collect(&data, &[2, 0]);
    /// assert_eq!(batch.inputs.to_vec(), vec![4.0, 5.0, 0.0, 1.0]);
    /// assert_eq!(batch.targets.to_vec(), vec![0, 0]);
    /// ```
    pub fn collect(dataset: &dyn Dataset, indices: &[usize]) -> Batch {
        let shape = dataset.example_shape();
        let size: usize = shape.iter().product();
        let mut inputs = vec![0.0f32; indices.len() * size];
        for (chunk, &i) in inputs.chunks_mut(size.max(1)).zip(indices) {
            dataset.read_example(i, chunk);
        }
        let mut batch_shape = vec![indices.len()];
        batch_shape.extend(shape);
        Batch {
            inputs: Tensor::from_vec(inputs, &batch_shape),
            targets: IndexTensor::from_vec(
                indices.iter().map(|&i| dataset.label(i)).collect(),
                &[indices.len()],
            ),
            indices: indices.to_vec(),
        }
    }
}
