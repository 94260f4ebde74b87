//! The inputs of a labelled data set without their labels.

use std::sync::Arc;

use super::{Dataset, LabeledDataset};
use crate::tensor::Tensor;

/// The examples of a [`LabeledDataset`] without labels, each a tensor of
/// the example shape: images for autoencoders and GANs. Batch them with
/// [`Stack`](super::Stack) into `[B, ...example_shape]`.
///
/// ```
/// use std::sync::Arc;
/// use nabla::data::{Dataset, TensorDataset, Unlabeled};
/// use nabla::{IndexTensor, Tensor};
/// let labelled = TensorDataset::new(Tensor::ones(&[3, 1, 2, 2]), IndexTensor::from_vec(vec![0, 1, 0], &[3]), 2);
/// let images = Unlabeled::new(Arc::new(labelled));
/// assert_eq!((images.len(), images.get(1).shape()), (3, &[1, 2, 2][..]));
/// ```
pub struct Unlabeled {
    dataset: Arc<dyn LabeledDataset>,
    shape: Vec<usize>,
}

impl Unlabeled {
    /// The examples of `dataset`, without labels.
    pub fn new(dataset: Arc<dyn LabeledDataset>) -> Self {
        Unlabeled {
            shape: dataset.example_shape(),
            dataset,
        }
    }
}

impl Dataset for Unlabeled {
    type Item = Tensor;

    fn len(&self) -> usize {
        self.dataset.len()
    }

    fn get(&self, index: usize) -> Tensor {
        let mut example = vec![0.0f32; self.shape.iter().product()];
        self.dataset.read_example(index, &mut example);
        Tensor::from_vec(example, &self.shape)
    }
}
