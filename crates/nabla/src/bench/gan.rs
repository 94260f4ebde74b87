//! The GAN benchmark: one DCGAN training step (a discriminator step on a
//! real and a generated batch, then a generator step) at the course's size,
//! batch 64, on fixed random "real" images.

use super::median_seconds;
use crate::generative::{Gan, GanConfig, GanKind, GanTrainer, GanTraining};
use crate::tensor::{Generator, Tensor};

/// Images per step, as DCGAN's recipe.
const BATCH: usize = 64;

/// Training samples (real images) per second of [`GanTrainer::step`] for
/// the default DCGAN (latent 100, 64 feature maps), Adam 2e-4 (0.5, 0.999),
/// batch 64; the median of `repetitions` steps after 2 warm-up steps.
/// `benches/torch_gan.py` times the same step in PyTorch.
pub fn dcgan_train_samples_per_second(repetitions: usize) -> f64 {
    let gan = Gan::new(GanKind::Dcgan, &GanConfig::default(), &mut Generator::new(9));
    let mut trainer =
        GanTrainer::new(gan, GanTraining::for_kind(GanKind::Dcgan), 10).expect("DCGAN's settings are valid");
    let real = Tensor::rand(&[BATCH, 1, 28, 28], &mut Generator::new(11))
        .mul_scalar(2.0)
        .add_scalar(-1.0);
    BATCH as f64
        / median_seconds(2, repetitions, || {
            std::hint::black_box(trainer.step(&real));
        })
}
