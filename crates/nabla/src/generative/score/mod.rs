//! Judging generated digits with a classifier, since a GAN's losses say
//! little about its samples: the MNIST score (the Inception-score formula
//! with a trained LeNet-5) and the Fréchet distance between LeNet-5's
//! penultimate features of two sets of images.

mod frechet;
mod judge;

pub use frechet::{frechet_distance, FeatureStats};
pub use judge::{classifier_score, MnistJudge};
#[cfg(feature = "data")]
pub use judge::{BUNDLED_JUDGE_FILE, BUNDLED_JUDGE_SHA256};

/// The images `range` of an MNIST-like data set (one byte per pixel,
/// 28x28) as `[N, 1, 28, 28]` in [0, 1] (byte / 255), what
/// [`MnistJudge`] takes.
///
/// # Panics
/// If the range runs past the data set or its images are not 28x28.
#[cfg(feature = "data")]
pub fn mnist_images(dataset: &crate::data::Mnist, range: std::ops::Range<usize>) -> crate::Tensor {
    let pixels = dataset.pixels();
    assert!(
        range.end * 784 <= pixels.len(),
        "mnist_images: images {range:?} of a data set of {} 28x28 images",
        pixels.len() / 784
    );
    let values = pixels[range.start * 784..range.end * 784]
        .iter()
        .map(|&b| f32::from(b) / 255.0)
        .collect();
    crate::Tensor::from_vec(values, &[range.len(), 1, 28, 28])
}

/// A GAN's images in (-1, 1) (its tanh output) mapped to [0, 1].
pub fn tanh_to_unit(images: &crate::Tensor) -> crate::Tensor {
    images.add_scalar(1.0).mul_scalar(0.5)
}
