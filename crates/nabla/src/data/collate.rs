//! The collate step: a list of items into one batch ([`Collate`], with
//! [`Stack`] for tensors and token lists), and [`Collated`], the
//! [`BatchSource`] of any [`Dataset`] with a collate step.

use std::fmt;
use std::sync::Arc;

use super::loader::{BatchContext, BatchSource};
use super::Dataset;
use crate::element::Float;
use crate::tensor::{Generator, IndexTensor, Tensor};

/// Turns the items of a batch, in batch order, into one batch: PyTorch's
/// `collate_fn`. A closure `Fn(Vec<I>) -> B` is one.
///
/// ```
/// use nabla::data::Collate;
/// let sum_lengths = |items: Vec<Vec<usize>>| items.iter().map(Vec::len).sum::<usize>();
/// assert_eq!(sum_lengths.collate(vec![vec![1, 2], vec![3]]), 3);
/// ```
pub trait Collate<I>: Send + Sync {
    /// What a batch is.
    type Batch;

    /// The batch of `items` (never empty).
    fn collate(&self, items: Vec<I>) -> Self::Batch;
}

impl<I, B, F> Collate<I> for F
where
    F: Fn(Vec<I>) -> B + Send + Sync,
{
    type Batch = B;

    fn collate(&self, items: Vec<I>) -> B {
        self(items)
    }
}

/// The collate step that stacks items along a new first dimension, as
/// PyTorch's default collate does:
///
/// - tensors of one shape `[...]` into a tensor `[B, ...]`;
/// - pairs of tensors `(x, y)` into a pair `([B, ...x], [B, ...y])`;
/// - token lists `Vec<usize>` of one length `L` into an [`IndexTensor`]
///   `[B, L]`, and pairs of them into a pair of index tensors.
///
/// ```
/// use nabla::data::Collate;
/// use nabla::data::Stack;
/// use nabla::Tensor;
/// let batch = Stack.collate(vec![Tensor::<f32>::zeros(&[2, 3]), Tensor::ones(&[2, 3])]);
/// assert_eq!(batch.shape(), [2, 2, 3]);
/// let tokens = Stack.collate(vec![vec![1, 2, 3], vec![4, 5, 6]]);
/// assert_eq!((tokens.shape(), tokens.to_vec()), (&[2, 3][..], vec![1, 2, 3, 4, 5, 6]));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[doc(alias = "default_collate")]
pub struct Stack;

impl<T: Float> Collate<Tensor<T>> for Stack {
    type Batch = Tensor<T>;

    fn collate(&self, items: Vec<Tensor<T>>) -> Tensor<T> {
        Tensor::stack(&items.iter().collect::<Vec<_>>(), 0)
    }
}

impl<T: Float, U: Float> Collate<(Tensor<T>, Tensor<U>)> for Stack {
    type Batch = (Tensor<T>, Tensor<U>);

    fn collate(&self, items: Vec<(Tensor<T>, Tensor<U>)>) -> (Tensor<T>, Tensor<U>) {
        let (x, y): (Vec<_>, Vec<_>) = items.into_iter().unzip();
        (self.collate(x), self.collate(y))
    }
}

impl Collate<Vec<usize>> for Stack {
    type Batch = IndexTensor;

    /// # Panics
    /// If the lists differ in length.
    fn collate(&self, items: Vec<Vec<usize>>) -> IndexTensor {
        let len = items.first().map_or(0, Vec::len);
        if let Some(other) = items.iter().find(|t| t.len() != len) {
            panic!(
                "Stack: cannot stack token lists of lengths {len} and {} into one batch",
                other.len()
            );
        }
        let n = items.len();
        IndexTensor::from_vec(items.concat(), &[n, len])
    }
}

impl Collate<(Vec<usize>, Vec<usize>)> for Stack {
    type Batch = (IndexTensor, IndexTensor);

    fn collate(&self, items: Vec<(Vec<usize>, Vec<usize>)>) -> (IndexTensor, IndexTensor) {
        let (x, y): (Vec<_>, Vec<_>) = items.into_iter().unzip();
        (self.collate(x), self.collate(y))
    }
}

/// A per-item transform of a [`Collated`] source.
type ItemTransform<I> = Arc<dyn Fn(I, &mut Generator) -> I + Send + Sync>;

/// The [`BatchSource`] of any [`Dataset`] with a [`Collate`] step (what
/// [`DataLoader::collated`](super::DataLoader::collated) builds): each item
/// is [`get`](Dataset::get), passed through the item transform (if any)
/// with the example's own generator, and the list is collated.
pub struct Collated<D: Dataset + ?Sized, C> {
    dataset: Arc<D>,
    collate: Arc<C>,
    transform: Option<ItemTransform<D::Item>>,
}

impl<D: Dataset + ?Sized, C> Collated<D, C> {
    /// Batches of `dataset`'s items collated by `collate`.
    pub fn new(dataset: Arc<D>, collate: C) -> Self {
        Collated {
            dataset,
            collate: Arc::new(collate),
            transform: None,
        }
    }

    /// The same batches with `transform` applied to every item before
    /// collating (replacing any earlier item transform).
    pub fn with_transform<F>(&self, transform: F) -> Self
    where
        F: Fn(D::Item, &mut Generator) -> D::Item + Send + Sync + 'static,
    {
        Collated {
            dataset: Arc::clone(&self.dataset),
            collate: Arc::clone(&self.collate),
            transform: Some(Arc::new(transform)),
        }
    }

    /// The data set.
    pub fn dataset(&self) -> &Arc<D> {
        &self.dataset
    }
}

impl<D, C> BatchSource for Collated<D, C>
where
    D: Dataset + ?Sized + 'static,
    C: Collate<D::Item> + 'static,
    C::Batch: Send + 'static,
{
    type Batch = C::Batch;

    fn len(&self) -> usize {
        self.dataset.len()
    }

    fn build(&self, indices: &[usize], context: &BatchContext<'_>) -> Option<C::Batch> {
        let mut items = Vec::with_capacity(indices.len());
        for &i in indices {
            if context.is_stopped() {
                return None;
            }
            let item = self.dataset.get(i);
            items.push(match &self.transform {
                Some(transform) => transform(item, &mut context.generator(i)),
                None => item,
            });
        }
        Some(self.collate.collate(items))
    }
}

impl<D: Dataset + ?Sized, C> fmt::Debug for Collated<D, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Collated")
            .field("len", &self.dataset.len())
            .field("item", &std::any::type_name::<D::Item>())
            .field("transform", &self.transform.is_some())
            .finish()
    }
}
