//! [`Embedding`]: a lookup table of learned vectors, as `torch.nn.Embedding`.

use crate::element::Float;
use crate::nn::init::normal_;
use crate::nn::{Geometry, Module, Summarize};
use crate::tensor::{Generator, IndexTensor, Tensor};

/// A table of `num_embeddings` vectors of `embedding_dim` features, looked
/// up by index, as `torch.nn.Embedding`: ids of any shape `[*]` give
/// `[*, embedding_dim]`.
///
/// `weight` is `[num_embeddings, embedding_dim]`, drawn from N(0, 1). The
/// lookup is `index_select`, whose backward adds each id's upstream
/// gradient into its row of `weight`'s gradient (repeated ids accumulate),
/// so a lookup never builds a dense `[num_embeddings, embedding_dim]`
/// gradient of its own.
///
/// With a padding index ([`with_padding_idx`](Self::with_padding_idx)),
/// that row starts at zero and receives no gradient, as PyTorch's
/// `padding_idx`: padded positions read it but never train it.
///
/// ```
/// use nabla::nn::{Embedding, Module};
/// use nabla::{Generator, IndexTensor};
/// let embedding: Embedding = Embedding::new(10, 3, &mut Generator::new(0)).with_padding_idx(0);
/// let ids = IndexTensor::from_vec(vec![1, 2, 0, 2], &[2, 2]);
/// let y = embedding.forward(&ids);
/// assert_eq!(y.shape(), &[2, 2, 3]);
/// assert_eq!(y.select(0, 1).select(0, 0).to_vec(), vec![0.0; 3]); // the padding row
/// y.sum().backward();
/// let grad = embedding.weight.grad().unwrap();
/// assert_eq!(grad.select(0, 2).to_vec(), vec![2.0; 3]); // id 2 twice
/// assert_eq!(grad.select(0, 0).to_vec(), vec![0.0; 3]); // padding: no gradient
/// assert_eq!(embedding.state_dict()[0].0, "weight");
/// ```
#[derive(Module)]
#[module(custom_summary)]
pub struct Embedding<T: Float = f32> {
    /// `[num_embeddings, embedding_dim]`.
    pub weight: Tensor<T>,
    padding_idx: Option<usize>,
}

impl<T: Float> Embedding<T> {
    /// A table of `num_embeddings` vectors of `embedding_dim` features
    /// drawn from N(0, 1) with `generator`.
    pub fn new(num_embeddings: usize, embedding_dim: usize, generator: &mut Generator) -> Self {
        let weight = Tensor::zeros(&[num_embeddings, embedding_dim]);
        normal_(&weight, 0.0, 1.0, generator);
        Embedding {
            weight: weight.requires_grad(),
            padding_idx: None,
        }
    }

    /// A table with the given `[num_embeddings, embedding_dim]` weight (it
    /// becomes a parameter, as `Embedding.from_pretrained(weight,
    /// freeze=False)`), and optionally a padding index whose row receives
    /// no gradient (the row is kept as given).
    ///
    /// # Panics
    /// If the weight is not 2-D or the padding index is out of range.
    pub fn from_weight(weight: Tensor<T>, padding_idx: Option<usize>) -> Self {
        assert!(
            weight.ndim() == 2,
            "Embedding: weight must be [num_embeddings, embedding_dim], got {:?}",
            weight.shape()
        );
        let embedding = Embedding {
            weight: weight.requires_grad(),
            padding_idx: None,
        };
        match padding_idx {
            Some(index) => embedding.checked_padding(index),
            None => embedding,
        }
    }

    /// The same table with row `index` as padding: set to zero (as PyTorch
    /// initialises it) and excluded from gradients.
    ///
    /// # Panics
    /// If `index` is not below `num_embeddings`.
    pub fn with_padding_idx(self, index: usize) -> Self {
        let embedding = self.checked_padding(index);
        let dim = embedding.embedding_dim();
        embedding
            .weight
            .update_data(|w| w[index * dim..(index + 1) * dim].fill(T::zero()));
        embedding
    }

    fn checked_padding(mut self, index: usize) -> Self {
        assert!(
            index < self.num_embeddings(),
            "Embedding: padding_idx {index} is out of range for {} embeddings",
            self.num_embeddings()
        );
        self.padding_idx = Some(index);
        self
    }

    /// The number of vectors.
    pub fn num_embeddings(&self) -> usize {
        self.weight.shape()[0]
    }

    /// The features of each vector.
    pub fn embedding_dim(&self) -> usize {
        self.weight.shape()[1]
    }

    /// The row that receives no gradient, if any.
    pub fn padding_idx(&self) -> Option<usize> {
        self.padding_idx
    }

    /// The vectors of `ids` (any shape `[*]`): `[*, embedding_dim]`.
    ///
    /// # Panics
    /// If an id is not below `num_embeddings`.
    pub fn forward(&self, ids: &IndexTensor) -> Tensor<T> {
        let n = self.num_embeddings();
        if let Some(bad) = ids.as_slice().iter().find(|&&i| i >= n) {
            panic!("Embedding: id {bad} is out of range for a table of {n} embeddings");
        }
        let flat = ids.reshape(&[ids.numel()]);
        let rows = self.weight.index_select(0, &flat);
        let rows = match self.padding_idx {
            Some(pad) if flat.as_slice().contains(&pad) => {
                // Padded positions read the row as a constant, so its
                // gradient never reaches the weight.
                let mask: Vec<T> = flat
                    .as_slice()
                    .iter()
                    .map(|&i| if i == pad { T::one() } else { T::zero() })
                    .collect();
                let mask = Tensor::from_vec(mask, &[flat.numel(), 1]);
                Tensor::where_(&mask, &self.weight.detach().narrow(0, pad, 1), &rows)
            }
            _ => rows,
        };
        let mut shape = ids.shape().to_vec();
        shape.push(self.embedding_dim());
        rows.reshape(&shape)
    }
}

impl<T: Float> Summarize<T> for Embedding<T> {
    fn describe(&self) -> String {
        match self.padding_idx {
            Some(p) => format!(
                "Embedding({}, {}, padding_idx={p})",
                self.num_embeddings(),
                self.embedding_dim()
            ),
            None => format!("Embedding({}, {})", self.num_embeddings(), self.embedding_dim()),
        }
    }

    fn geometry(&self) -> Geometry {
        Geometry::Elementwise
    }
}
