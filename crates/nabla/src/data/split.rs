//! [`Split`]: the training or the test part of a data set.

/// Which part of a data set: the training set or the test set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Split {
    /// The training set (MNIST: 60,000 images; CIFAR-10: 50,000).
    Train,
    /// The test set (MNIST and CIFAR-10: 10,000 images).
    Test,
}
