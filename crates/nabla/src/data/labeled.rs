//! Batches of a [`LabeledDataset`]: its examples read straight into one
//! `f32` buffer, transformed in place, with their labels.

use std::fmt;
use std::sync::Arc;

use super::loader::{BatchContext, BatchSource};
use super::transforms::Pipeline;
use super::LabeledDataset;
use crate::tensor::{IndexTensor, Tensor};

/// A batch of labelled examples: inputs `[B, ...example_shape]`, class
/// indices `[B]`, and which examples of the data set they are.
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
    pub fn collect(dataset: &dyn LabeledDataset, indices: &[usize]) -> Batch {
        let shape = dataset.example_shape();
        let size: usize = shape.iter().product();
        let mut inputs = vec![0.0f32; indices.len() * size];
        for (chunk, &i) in inputs.chunks_mut(size.max(1)).zip(indices) {
            dataset.read_example(i, chunk);
        }
        let labels = indices.iter().map(|&i| dataset.label(i)).collect();
        Batch::from_parts(inputs, &shape, labels, indices)
    }

    /// The batch of `inputs` (examples of `example_shape`, one after
    /// another) with `labels`, of the examples at `indices`.
    fn from_parts(inputs: Vec<f32>, example_shape: &[usize], labels: Vec<usize>, indices: &[usize]) -> Batch {
        let mut shape = vec![indices.len()];
        shape.extend_from_slice(example_shape);
        Batch {
            inputs: Tensor::from_vec(inputs, &shape),
            targets: IndexTensor::from_vec(labels, &[indices.len()]),
            indices: indices.to_vec(),
        }
    }
}

/// The [`BatchSource`] of a [`DataLoader`](super::DataLoader) over a
/// [`LabeledDataset`] (what [`DataLoader::new`](super::DataLoader::new)
/// builds): each example is read by
/// [`read_example`](LabeledDataset::read_example) straight into its place
/// in the batch buffer, then transformed there by the [`Pipeline`] with the
/// example's own generator; the batch is a [`Batch`].
pub struct LabeledBatches {
    dataset: Arc<dyn LabeledDataset>,
    transforms: Pipeline,
    shape: Vec<usize>,
    size: usize,
}

impl LabeledBatches {
    /// Batches of `dataset` with `transforms` applied to every example.
    pub fn new(dataset: Arc<dyn LabeledDataset>, transforms: Pipeline) -> Self {
        let shape = dataset.example_shape();
        LabeledBatches {
            dataset,
            transforms,
            size: shape.iter().product(),
            shape,
        }
    }

    /// The data set.
    pub fn dataset(&self) -> &Arc<dyn LabeledDataset> {
        &self.dataset
    }

    /// The transforms applied to every example.
    pub fn transforms(&self) -> &Pipeline {
        &self.transforms
    }
}

impl BatchSource for LabeledBatches {
    type Batch = Batch;

    fn len(&self) -> usize {
        self.dataset.len()
    }

    fn build(&self, indices: &[usize], context: &BatchContext<'_>) -> Option<Batch> {
        let mut inputs = vec![0.0f32; indices.len() * self.size];
        let mut targets = Vec::with_capacity(indices.len());
        for (k, &i) in indices.iter().enumerate() {
            if context.is_stopped() {
                return None;
            }
            let example = &mut inputs[k * self.size..(k + 1) * self.size];
            self.dataset.read_example(i, example);
            if !self.transforms.is_empty() {
                self.transforms
                    .apply(example, &self.shape, &mut context.generator(i));
            }
            targets.push(self.dataset.label(i));
        }
        Some(Batch::from_parts(inputs, &self.shape, targets, indices))
    }
}

impl fmt::Debug for LabeledBatches {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LabeledBatches")
            .field("len", &self.dataset.len())
            .field("example_shape", &self.shape)
            .field("transforms", &self.transforms)
            .finish()
    }
}
