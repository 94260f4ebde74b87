//! The classifier that judges generated digits: a trained LeNet-5, its
//! class probabilities (for the MNIST score) and its 84 penultimate
//! features (for the Fréchet distance).

use std::path::Path;

use super::frechet::FeatureStats;
use crate::autograd::no_grad;
use crate::checkpoint::{load_metadata, load_module};
use crate::error::{Error, Result};
use crate::nn::{zoo, Module, Sequential};
use crate::tensor::{Generator, Tensor};

/// The layer whose output is the feature vector: LeNet-5's ReLU after `fc2`.
const FEATURE_LAYER: &str = "relu4";
/// The metadata entry in which `nabla train` records the data's
/// normalisation (`{"mean": [...], "std": [...], ...}`).
const DATA_KEY: &str = "nabla_data";
/// Images per forward pass.
const CHUNK: usize = 1000;

/// The file name of the bundled judge inside `data/mnist-lenet5/`.
#[cfg(feature = "data")]
pub const BUNDLED_JUDGE_FILE: &str = "lenet5.safetensors";
/// The SHA-256 of the bundled judge (also in `data/mnist-lenet5/SHA256SUMS`).
#[cfg(feature = "data")]
pub const BUNDLED_JUDGE_SHA256: &str = "9d0b05917cc773578eda2e9db3ef32a4431cad56650a685c74a850ac44d1d836";

/// A trained LeNet-5 ([`zoo::lenet5`]) with the normalisation it was
/// trained with, in evaluation mode: it takes MNIST-like images `[N, 1, 28,
/// 28]` with pixels in [0, 1] (a GAN's tanh output `x` is `(x + 1) / 2`).
///
/// ```
/// use nabla::data::{LabeledDataset, Mnist, Split};
/// use nabla::generative::MnistJudge;
/// let judge = MnistJudge::bundled()?;
/// let test = Mnist::bundled(Split::Test)?;
/// let images = nabla::generative::mnist_images(&test, 0..200);
/// let score = judge.mnist_score(&images);
/// assert!(score > 8.0 && score <= 10.0, "{score}");
/// assert_eq!(judge.features(&images).shape(), &[200, 84]);
/// # Ok::<(), nabla::Error>(())
/// ```
pub struct MnistJudge {
    model: Sequential,
    mean: f32,
    std: f32,
}

impl MnistJudge {
    /// The LeNet-5 bundled in the data directory's `mnist-lenet5/` (see its
    /// `SOURCES.md`: `nabla train --model lenet5 --epochs 10 --seed 0`, 99.17%
    /// test accuracy), after checking its SHA-256.
    ///
    /// # Errors
    /// [`Error::Io`] naming the file if it is missing, [`Error::Checksum`]
    /// if it was changed, and the errors of [`MnistJudge::load`].
    #[cfg(feature = "data")]
    pub fn bundled() -> Result<Self> {
        let path = crate::data::data_dir()
            .join("mnist-lenet5")
            .join(BUNDLED_JUDGE_FILE);
        crate::data::checksum::verify_sha256(&path, BUNDLED_JUDGE_SHA256)?;
        Self::load(&path)
    }

    /// A LeNet-5 checkpoint written by `nabla train --model lenet5` (its
    /// metadata records the normalisation of the inputs).
    ///
    /// # Errors
    /// [`Error::Format`] naming the file when its metadata has no
    /// `nabla_data` with a one-channel `mean` and `std`;
    /// [`Error::MissingTensor`], [`Error::UnexpectedTensor`],
    /// [`Error::ShapeMismatch`] when it is not a LeNet-5.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let metadata = load_metadata(path)?;
        let format_error = |message: String| Error::Format {
            path: path.to_path_buf(),
            message,
        };
        let data: serde_json::Value = metadata
            .get(DATA_KEY)
            .ok_or_else(|| {
                format_error(format!(
                    "the metadata has no {DATA_KEY:?} (the normalisation the classifier was trained with): \
                     not a checkpoint of nabla train --model lenet5"
                ))
            })
            .and_then(|text| {
                serde_json::from_str(text).map_err(|e| format_error(format!("{DATA_KEY}: {e}")))
            })?;
        let channel = |key: &str| {
            data[key]
                .as_array()
                .filter(|values| values.len() == 1)
                .and_then(|values| values[0].as_f64())
                .ok_or_else(|| format_error(format!("{DATA_KEY} has no one-channel {key:?}")))
        };
        let (mean, std) = (channel("mean")? as f32, channel("std")? as f32);
        let mut model = zoo::lenet5(&mut Generator::new(0));
        load_module(&model, path, true)?;
        model.eval();
        Ok(MnistJudge { model, mean, std })
    }

    /// Class probabilities `[N, 10]` of images `[N, 1, 28, 28]` in [0, 1].
    ///
    /// # Panics
    /// If `images` is not `[N, 1, 28, 28]`.
    pub fn probabilities(&self, images: &Tensor) -> Tensor {
        self.chunked(images, None).softmax(1)
    }

    /// The 84 features of the penultimate layer (`fc2` after its ReLU),
    /// `[N, 84]`, of images `[N, 1, 28, 28]` in [0, 1].
    ///
    /// # Panics
    /// If `images` is not `[N, 1, 28, 28]`.
    pub fn features(&self, images: &Tensor) -> Tensor {
        self.chunked(images, Some(FEATURE_LAYER))
    }

    /// The MNIST score of `images`: [`classifier_score`] of their class
    /// probabilities, between 1 and 10.
    pub fn mnist_score(&self, images: &Tensor) -> f64 {
        classifier_score(&self.probabilities(images))
    }

    /// The mean and covariance of the [`features`](Self::features) of `images`.
    pub fn feature_stats(&self, images: &Tensor) -> FeatureStats {
        FeatureStats::of(&self.features(images))
    }

    /// The model's output (or layer `until`'s), in chunks, without a graph.
    fn chunked(&self, images: &Tensor, until: Option<&str>) -> Tensor {
        assert!(
            images.ndim() == 4 && images.shape()[1..] == [1, 28, 28],
            "MnistJudge: images of shape {:?}, expected [N, 1, 28, 28] with pixels in [0, 1]",
            images.shape()
        );
        let n = images.shape()[0];
        let chunks: Vec<Tensor> = (0..n)
            .step_by(CHUNK)
            .map(|start| {
                let chunk = images.narrow(0, start, CHUNK.min(n - start));
                no_grad(|| self.forward(&chunk, until))
            })
            .collect();
        Tensor::cat(&chunks, 0)
    }

    fn forward(&self, images: &Tensor, until: Option<&str>) -> Tensor {
        let mut h = images.add_scalar(-self.mean).div_scalar(self.std);
        for (layer, name) in self.model.layers().zip(self.model.names()) {
            h = layer.forward(&h);
            if until == Some(name.as_str()) {
                break;
            }
        }
        h
    }
}

/// The Inception-score formula with any classifier:
/// `exp(E_x KL(p(y|x) || p(y)))`, where `p(y)` is the mean of the rows of
/// `probabilities [N, C]` (one distribution over classes per sample), over
/// the whole set (no splits). It is 1 when every sample gets the same
/// distribution and C when each is classified with certainty and the
/// classes are equally frequent: sharp and diverse samples score high.
///
/// ```
/// use nabla::generative::classifier_score;
/// use nabla::Tensor;
/// let certain_and_balanced = Tensor::eye(10);
/// assert!((classifier_score(&certain_and_balanced) - 10.0).abs() < 1e-4);
/// let undecided = Tensor::full(&[5, 10], 0.1);
/// assert!((classifier_score(&undecided) - 1.0).abs() < 1e-6);
/// ```
///
/// # Panics
/// If `probabilities` is not `[N, C]` with N at least 1.
pub fn classifier_score(probabilities: &Tensor) -> f64 {
    assert!(
        probabilities.ndim() == 2 && probabilities.shape()[0] > 0,
        "classifier_score: probabilities of shape {:?}, expected [N, C]",
        probabilities.shape()
    );
    let classes = probabilities.shape()[1];
    let p: Vec<f64> = probabilities.to_vec().into_iter().map(f64::from).collect();
    let n = p.len() / classes;
    let mut marginal = vec![0.0; classes];
    for row in p.chunks(classes) {
        for (m, &v) in marginal.iter_mut().zip(row) {
            *m += v / n as f64;
        }
    }
    // 0 log 0 = 0: a class a sample gives no probability adds nothing.
    let kl_sum: f64 = p
        .chunks(classes)
        .map(|row| {
            row.iter()
                .zip(&marginal)
                .filter(|(&v, _)| v > 0.0)
                .map(|(&v, &m)| v * (v.ln() - m.ln()))
                .sum::<f64>()
        })
        .sum();
    (kl_sum / n as f64).exp()
}
