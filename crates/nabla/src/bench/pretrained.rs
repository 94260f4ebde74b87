//! The transfer-learning benchmarks: EfficientNet-Lite0 inference on one
//! image and on a batch of 32 at 224x224, and a whole fine-tuning step
//! (forward, cross-entropy, backward through every layer, Adam) on a batch
//! of 32, the figures of issue 18's targets.

use super::median_seconds;
use crate::autograd::no_grad;
use crate::nn::loss::cross_entropy;
use crate::nn::zoo::{efficientnet_lite0, EfficientNetLite};
use crate::nn::{Layer, Module};
use crate::optim::{Adam, AdamConfig, Optimizer};
use crate::tensor::{Generator, IndexTensor, Tensor};

/// EfficientNet-Lite0 with 1,000 classes (random weights: speed does not
/// depend on them) and a batch of standard-normal 224x224 images.
fn model_and_batch(batch: usize) -> (EfficientNetLite, Tensor) {
    let model = efficientnet_lite0(1000, &mut Generator::new(21));
    let x = Tensor::randn(&[batch, 3, 224, 224], &mut Generator::new(22));
    (model, x)
}

/// Milliseconds of an eval-mode forward pass on `batch` images, without
/// recording, the median of `repetitions`.
pub fn efficientnet_inference_milliseconds(batch: usize, repetitions: usize) -> f64 {
    let (mut model, x) = model_and_batch(batch);
    model.eval();
    median_seconds(2, repetitions, || {
        std::hint::black_box(no_grad(|| model.forward(&x)));
    }) * 1e3
}

/// Seconds of a fine-tuning step on `batch` images: train-mode forward
/// (batch statistics, dropout, stochastic depth), cross-entropy, backward
/// through every layer and an Adam update of all 4.65 M parameters.
pub fn efficientnet_finetune_step_seconds(batch: usize, repetitions: usize) -> f64 {
    let (model, x) = model_and_batch(batch);
    let labels = IndexTensor::from_vec((0..batch).map(|i| i % 1000).collect(), &[batch]);
    let mut optimizer = Adam::new(model.parameters(), AdamConfig::new(1e-4));
    median_seconds(1, repetitions, || {
        optimizer.zero_grad();
        cross_entropy(&model.forward(&x), &labels).backward();
        optimizer.step();
    })
}
