//! The generative-model benchmarks: a training step of the VAE of
//! PyTorch's `examples/vae`.

use super::median_seconds;
use crate::data::{Batch, TensorDataset};
use crate::generative::{NegativeElbo, Vae, VaeConfig};
use crate::nn::Module;
use crate::optim::{Adam, AdamConfig, Optimizer};
use crate::tensor::{Generator, IndexTensor, Tensor};
use crate::train::Step;

/// One training step of the VAE (784-400-20, batch 128, Adam 1e-3) on a
/// fixed batch of uniform pixels: encode, a fresh draw of the noise,
/// decode, the summed binary cross-entropy plus the KL term, backward,
/// Adam. The same as `benches/compare_pytorch.py`'s `vae_train_samples_per_s`.
pub struct VaeStep {
    model: Vae,
    optimizer: Adam,
    batch: Batch,
    step: NegativeElbo,
    steps: usize,
}

impl VaeStep {
    /// PyTorch's example at batch `batch`.
    pub fn new(batch: usize) -> Self {
        let model = Vae::new(&VaeConfig::mnist(), &mut Generator::new(8));
        let optimizer = Adam::new(model.parameters(), AdamConfig::new(1e-3));
        let images = Tensor::rand(&[batch, 1, 28, 28], &mut Generator::new(9));
        let data = TensorDataset::new(images, IndexTensor::from_vec(vec![0; batch], &[batch]), 1);
        let indices: Vec<usize> = (0..batch).collect();
        VaeStep {
            model,
            optimizer,
            batch: Batch::collect(&data, &indices),
            step: NegativeElbo::new(10),
            steps: 0,
        }
    }

    /// Runs one step, with noise of its own (the seed moves every step).
    pub fn run(&mut self) {
        self.steps += 1;
        self.step.seed = self.steps as u64;
        self.optimizer.zero_grad();
        let out = self.step.train_step(&mut self.model, &self.batch);
        out.loss.backward();
        self.optimizer.step();
    }

    /// Samples per second over the median of `repetitions` steps.
    pub fn samples_per_second(&mut self, repetitions: usize) -> f64 {
        let batch = self.batch.inputs.shape()[0] as f64;
        batch / median_seconds(3, repetitions, || self.run())
    }
}
