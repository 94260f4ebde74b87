//! Attacks measure perturbations in pixels: the map from pixels to what a
//! model trained on normalised inputs reads.

use crate::element::Float;
use crate::tensor::Tensor;

/// How images in pixel values (`[B, C, H, W]` in `[0, 1]`) become a
/// model's inputs: unchanged, or normalised per channel as the model was
/// trained (`(x - mean) / std`, `torchvision.transforms.Normalize`).
///
/// An eps of 0.3 means 0.3 of the pixel range whatever the normalisation,
/// and the valid range stays `[0, 1]`; the normalisation is part of the
/// differentiated function.
///
/// ```
/// use nabla::adversarial::Pixels;
/// use nabla::Tensor;
/// let mnist = Pixels::normalized(&[0.1307], &[0.3081]);
/// let x = Tensor::from_vec(vec![0.1307f32, 1.0], &[1, 1, 1, 2]);
/// let v = mnist.to_input(&x).to_vec();
/// assert!(v[0].abs() < 1e-6 && (v[1] - 2.8215).abs() < 1e-4);
/// assert_eq!(Pixels::raw().to_input(&x).to_vec(), x.to_vec());
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Pixels {
    normalization: Option<(Vec<f64>, Vec<f64>)>,
}

impl Pixels {
    /// Pixels fed to the model as they are.
    pub fn raw() -> Self {
        Pixels::default()
    }

    /// Pixels normalised with one mean and standard deviation per channel.
    ///
    /// # Panics
    /// If `mean` and `std` differ in length, or a standard deviation is not
    /// positive.
    pub fn normalized(mean: &[f64], std: &[f64]) -> Self {
        assert!(
            mean.len() == std.len() && std.iter().all(|s| *s > 0.0),
            "Pixels::normalized: {} means and {} standard deviations (all positive) are needed",
            mean.len(),
            std.len()
        );
        if mean.iter().all(|m| *m == 0.0) && std.iter().all(|s| *s == 1.0) {
            return Pixels::raw();
        }
        Pixels {
            normalization: Some((mean.to_vec(), std.to_vec())),
        }
    }

    /// The smallest standard deviation (1 for raw pixels): a function with
    /// Lipschitz constant L on normalised inputs has L / this on pixels.
    pub fn min_std(&self) -> f64 {
        self.normalization
            .as_ref()
            .map_or(1.0, |(_, std)| std.iter().copied().fold(f64::INFINITY, f64::min))
    }

    /// The model's input for pixels `[B, C, ...]`, recorded so that
    /// gradients reach the pixels.
    ///
    /// # Panics
    /// If the channels (dimension 1) are not one per mean.
    pub fn to_input<T: Float>(&self, pixels: &Tensor<T>) -> Tensor<T> {
        let Some((mean, std)) = &self.normalization else {
            return pixels.clone();
        };
        let shape = pixels.shape();
        assert!(
            shape.len() >= 2 && shape[1] == mean.len(),
            "Pixels::to_input: inputs {shape:?} do not have the {} channels the normalisation has",
            mean.len()
        );
        let mut channel_shape = vec![1; shape.len()];
        channel_shape[1] = mean.len();
        let as_tensor =
            |v: &[f64]| Tensor::from_vec(v.iter().map(|&x| T::from_f64(x)).collect(), &channel_shape);
        (pixels - &as_tensor(mean)) * as_tensor(&std.iter().map(|s| 1.0 / s).collect::<Vec<_>>())
    }
}
