//! The robustness benchmarks: a training step of Madry et al.'s MNIST
//! model and one PGD step on the same batch, whose ratio is the cost of an
//! attack step against a training step.

use super::median_seconds;
use crate::adversarial::{Attack, AttackMode, Norm};
use crate::nn::loss::{cross_entropy_with, Reduction};
use crate::nn::{zoo, Layer, Module, Sequential};
use crate::optim::{Adam, AdamConfig, Optimizer};
use crate::tensor::{Generator, IndexTensor, Tensor};

/// `madry_cnn` on a fixed batch of uniform pixels with labels `i % 10`.
pub struct MadryBatch {
    model: Sequential,
    inputs: Tensor,
    labels: IndexTensor,
}

impl MadryBatch {
    /// The model and a batch of `batch` examples.
    pub fn new(batch: usize) -> Self {
        MadryBatch {
            model: zoo::madry_cnn(&mut Generator::new(11)),
            inputs: Tensor::rand(&[batch, 1, 28, 28], &mut Generator::new(12)),
            labels: IndexTensor::from_vec((0..batch).map(|i| i % 10).collect(), &[batch]),
        }
    }

    /// Examples per second of training steps (forward, cross-entropy,
    /// backward, Adam 1e-4 as Madry et al.), the median of `repetitions`.
    pub fn train_samples_per_second(&mut self, repetitions: usize) -> f64 {
        let mut optimizer = Adam::new(self.model.parameters(), AdamConfig::new(1e-4));
        let (model, x, y) = (&self.model, &self.inputs, &self.labels);
        let seconds = median_seconds(2, repetitions, || {
            optimizer.zero_grad();
            cross_entropy_with(&model.forward(x), y, None, None, Reduction::Mean).backward();
            optimizer.step();
        });
        y.numel() as f64 / seconds
    }

    /// Examples per second of single PGD steps (L∞, eps 0.3, step 0.01:
    /// forward, the input's gradient, the signed step and the projection)
    /// with the model in attack mode, the median of `repetitions`.
    pub fn pgd_step_samples_per_second(&mut self, repetitions: usize) -> f64 {
        let step = Attack::pgd(Norm::Linf, 0.3, 1, 0.01)
            .expect("valid settings")
            .random_start(false)
            .keep_best(false);
        let attacked = AttackMode::enter(&mut self.model);
        let mut g = Generator::new(13);
        let (x, y) = (&self.inputs, &self.labels);
        let seconds = median_seconds(2, repetitions, || {
            std::hint::black_box(
                step.perturb(&|x: &Tensor| attacked.forward(x), x, y, &mut g)
                    .expect("logits over ten classes"),
            );
        });
        y.numel() as f64 / seconds
    }
}
