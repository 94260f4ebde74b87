//! Generative adversarial networks (chapter 11 of the course) on 28x28
//! digits: DCGAN with the non-saturating loss and WGAN-GP, their
//! training step ([`GanTrainer`]) and their checkpoints.

mod checkpoint;
mod loss;
mod models;
mod trainer;

pub use checkpoint::{
    load_gan, load_gan_generator, read_gan_header, save_gan, DISCRIMINATOR_PREFIX, EMA_KEY,
    GENERATOR_EMA_PREFIX,
};
pub use loss::{critic_loss, discriminator_loss, generator_loss, gradient_penalty, gradient_penalty_at};
pub use models::{DcganDiscriminator, DcganGenerator, GanConfig, IMAGE_SIDE};
pub use trainer::{Gan, GanKind, GanStep, GanTrainer, GanTraining};
