//! The two data-set traits: [`Dataset`] of any item type and
//! [`LabeledDataset`] of labelled `f32` examples.

/// A finite, indexable collection of items of any type, as PyTorch's
/// `Dataset`: `get(index)` is its `__getitem__`. A [`Collate`](super::Collate)
/// turns a list of items into a batch, and a
/// [`DataLoader`](super::DataLoader) does both on its worker threads.
///
/// Implementations must be cheap to share between loader threads (`Send +
/// Sync`) and must not panic for `index < len()`.
///
/// ```
/// use nabla::data::Dataset;
/// /// Windows of 4 tokens from a stream, each with the next 4 as targets.
/// struct Windows(Vec<usize>);
/// impl Dataset for Windows {
///     type Item = (Vec<usize>, Vec<usize>);
///     fn len(&self) -> usize {
///         self.0.len() - 4
///     }
///     fn get(&self, i: usize) -> Self::Item {
///         (self.0[i..i + 4].to_vec(), self.0[i + 1..i + 5].to_vec())
///     }
/// }
/// let data = Windows((0..10).collect());
/// assert_eq!(data.len(), 6);
/// assert_eq!(data.get(2), (vec![2, 3, 4, 5], vec![3, 4, 5, 6]));
/// ```
pub trait Dataset: Send + Sync {
    /// What one example is.
    type Item;

    /// The number of items.
    fn len(&self) -> usize;

    /// True when there are no items.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Item `index`, for `index < len()`.
    fn get(&self, index: usize) -> Self::Item;
}

/// A finite, indexable collection of labelled examples for classification:
/// every example has the same shape, is read as `f32`, and has a class
/// label. The [`DataLoader`](super::DataLoader) reads its examples straight
/// into the batch buffer ([`LabeledBatches`](super::LabeledBatches)).
///
/// Implementations must be cheap to share between loader threads (`Send +
/// Sync`) and must not panic for `index < len()`.
pub trait LabeledDataset: Send + Sync {
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
