//! Data sets held in memory as tensors: labelled ([`TensorDataset`]) and
//! float pairs ([`TensorPairDataset`]).

use super::{Dataset, LabeledDataset};
use crate::backend;
use crate::element::Float;
use crate::tensor::{IndexTensor, Tensor};

/// Examples held in memory: inputs `[N, ...]` and labels `[N]`, as
/// PyTorch's `TensorDataset`.
///
/// ```
/// use nabla::data::{LabeledDataset, TensorDataset};
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

impl LabeledDataset for TensorDataset {
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

/// Pairs `(x, y)` of float tensors held in memory: inputs `[N, ...]` and
/// targets `[N, ...]`, as PyTorch's `TensorDataset(x, y)` with float
/// targets (regression, flows, autoencoders that predict their input).
/// Item `i` is `(x[i], y[i])`; [`Stack`](super::Stack) batches them.
///
/// ```
/// use nabla::data::{Dataset, TensorPairDataset};
/// use nabla::Tensor;
/// let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2]);
/// let y = Tensor::from_vec(vec![0.5f32, -0.5], &[2, 1]);
/// let data = TensorPairDataset::new(x, y);
/// let (x1, y1) = data.get(1);
/// assert_eq!((x1.to_vec(), y1.to_vec()), (vec![3.0, 4.0], vec![-0.5]));
/// ```
#[doc(alias = "TensorDataset")]
pub struct TensorPairDataset<T: Float = f32> {
    /// A copy of the inputs, so that changing the caller's tensor later
    /// does not change the data set.
    inputs: Tensor<T>,
    /// A copy of the targets.
    targets: Tensor<T>,
}

impl<T: Float> TensorPairDataset<T> {
    /// The pairs of `inputs [N, ...]` and `targets [N, ...]`.
    ///
    /// # Panics
    /// If the two do not have the same first dimension, or either is a scalar.
    pub fn new(inputs: Tensor<T>, targets: Tensor<T>) -> Self {
        let (n, m) = (inputs.shape().first(), targets.shape().first());
        if n.is_none() || n != m {
            panic!(
                "TensorPairDataset: inputs {:?} and targets {:?} must have the same first dimension",
                inputs.shape(),
                targets.shape()
            );
        }
        TensorPairDataset {
            inputs: backend::copy(&inputs),
            targets: backend::copy(&targets),
        }
    }
}

/// Row `index` of `data`, as a tensor of its own.
fn row<T: Float>(data: &Tensor<T>, index: usize) -> Tensor<T> {
    backend::copy(&data.select(0, index))
}

impl<T: Float> Dataset for TensorPairDataset<T> {
    type Item = (Tensor<T>, Tensor<T>);

    fn len(&self) -> usize {
        self.inputs.shape()[0]
    }

    fn get(&self, index: usize) -> (Tensor<T>, Tensor<T>) {
        (row(&self.inputs, index), row(&self.targets, index))
    }
}
