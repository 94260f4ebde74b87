//! A data set held in memory as one tensor of inputs and one of labels.

use super::Dataset;
use crate::tensor::{IndexTensor, Tensor};

/// Examples held in memory: inputs `[N, ...]` and labels `[N]`, as
/// PyTorch's `TensorDataset`.
///
/// ```
/// use nabla::data::{Dataset, TensorDataset};
/// use nabla::{IndexTensor, Tensor};
/// let data = TensorDataset::new(Tensor::zeros(&[4, 3]), IndexTensor::from_vec(vec![0, 1, 1, 0], &[4]), 2);
/// assert_eq!((data.len(), data.example_shape()), (4, vec![3]));
/// ```
pub struct TensorDataset {
    inputs: Vec<f32>,
    example_shape: Vec<usize>,
    labels: Vec<usize>,
    num_classes: usize,
}

impl TensorDataset {
    /// A data set of `inputs [N, ...]` labelled by `labels [N]` in `0..num_classes`.
    ///
    /// # Panics
    /// If the counts differ or a label is out of range.
    pub fn new(inputs: Tensor, labels: IndexTensor, num_classes: usize) -> Self {
        let n = inputs.shape().first().copied().unwrap_or(0);
        assert!(
            labels.shape() == [n],
            "TensorDataset: {n} inputs but labels of shape {:?}",
            labels.shape()
        );
        if let Some(&bad) = labels.as_slice().iter().find(|&&l| l >= num_classes) {
            panic!("TensorDataset: label {bad} is out of range for {num_classes} classes");
        }
        TensorDataset {
            example_shape: inputs.shape()[1..].to_vec(),
            inputs: inputs.to_vec(),
            labels: labels.to_vec(),
            num_classes,
        }
    }
}

impl Dataset for TensorDataset {
    fn len(&self) -> usize {
        self.labels.len()
    }

    fn example_shape(&self) -> Vec<usize> {
        self.example_shape.clone()
    }

    fn num_classes(&self) -> usize {
        self.num_classes
    }

    fn label(&self, index: usize) -> usize {
        self.labels[index]
    }

    fn read_example(&self, index: usize, out: &mut [f32]) {
        let size = out.len();
        out.copy_from_slice(&self.inputs[index * size..(index + 1) * size]);
    }
}
