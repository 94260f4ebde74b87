//! A view of some examples of another data set.

use std::sync::Arc;

use super::LabeledDataset;

/// The examples of `dataset` at `indices`, in that order, as PyTorch's
/// `Subset`: for quick runs on part of a data set.
///
/// ```
/// use std::sync::Arc;
/// use nabla::data::{LabeledDataset, Subset, TensorDataset};
/// use nabla::{IndexTensor, Tensor};
/// let all = Arc::new(TensorDataset::new(Tensor::zeros(&[5, 2]), IndexTensor::from_vec(vec![0, 1, 2, 0, 1], &[5]), 3));
/// let first_two = Subset::new(all, (0..2).collect());
/// assert_eq!((first_two.len(), first_two.label(1)), (2, 1));
/// ```
pub struct Subset {
    dataset: Arc<dyn LabeledDataset>,
    indices: Vec<usize>,
}

impl Subset {
    /// The examples of `dataset` at `indices`.
    ///
    /// # Panics
    /// If an index is out of range.
    pub fn new(dataset: Arc<dyn LabeledDataset>, indices: Vec<usize>) -> Self {
        if let Some(&bad) = indices.iter().find(|&&i| i >= dataset.len()) {
            panic!(
                "Subset: index {bad} is out of range for a data set of {} examples",
                dataset.len()
            );
        }
        Subset { dataset, indices }
    }
}

impl LabeledDataset for Subset {
    fn len(&self) -> usize {
        self.indices.len()
    }

    fn example_shape(&self) -> Vec<usize> {
        self.dataset.example_shape()
    }

    fn num_classes(&self) -> usize {
        self.dataset.num_classes()
    }

    fn class_names(&self) -> Vec<String> {
        self.dataset.class_names()
    }

    fn label(&self, index: usize) -> usize {
        self.dataset.label(self.indices[index])
    }

    fn read_example(&self, index: usize, out: &mut [f32]) {
        self.dataset.read_example(self.indices[index], out);
    }
}
