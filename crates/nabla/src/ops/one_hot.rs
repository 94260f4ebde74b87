//! One-hot encoding of class indices.

use crate::tensor::IndexTensor;

impl IndexTensor {
    /// The one-hot encoding of these class indices: shape `[..., C]`, 1 at
    /// each index's class and 0 elsewhere, as PyTorch's
    /// `F.one_hot(indices, num_classes)` (integers, as PyTorch's int64
    /// result; [`to_float`](IndexTensor::to_float) makes it a float
    /// tensor). `num_classes` `None` (PyTorch's -1) takes one more than
    /// the largest index.
    ///
    /// ```
    /// use nabla::IndexTensor;
    /// let y = IndexTensor::from_vec(vec![0, 2], &[2]);
    /// let hot = y.one_hot(Some(3));
    /// assert_eq!(hot.shape(), &[2, 3]);
    /// assert_eq!(hot.to_vec(), vec![1, 0, 0, 0, 0, 1]);
    /// let targets = hot.to_float::<f32>(); // for a loss on probabilities
    /// assert_eq!(targets.to_vec(), vec![1.0, 0.0, 0.0, 0.0, 0.0, 1.0]);
    /// ```
    ///
    /// # Panics
    /// If an index is not below `num_classes`, or `num_classes` is `None`
    /// for an empty index tensor.
    pub fn one_hot(&self, num_classes: Option<usize>) -> IndexTensor {
        let indices = self.as_slice();
        let classes = num_classes.unwrap_or_else(|| {
            let largest = indices.iter().max().unwrap_or_else(|| {
                panic!(
                    "one_hot: cannot infer the number of classes from an empty index tensor of shape {:?}; pass num_classes",
                    self.shape()
                )
            });
            largest + 1
        });
        let mut out = vec![0; indices.len() * classes];
        for (i, &class) in indices.iter().enumerate() {
            assert!(
                class < classes,
                "one_hot: class {class} (element {i}, flat, of the indices of shape {:?}) is out of range for {classes} classes",
                self.shape()
            );
            out[i * classes + class] = 1;
        }
        let mut shape = self.shape().to_vec();
        shape.push(classes);
        IndexTensor::from_vec(out, &shape)
    }
}
