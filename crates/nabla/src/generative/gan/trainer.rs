//! Training a GAN: two networks, two optimizers, alternating steps. DCGAN
//! takes one discriminator step and one generator step per batch;
//! WGAN-GP takes one critic step per batch and a generator step every
//! `n_critic` batches.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use super::loss::{critic_loss, discriminator_loss, generator_loss, gradient_penalty};
use super::models::{DcganDiscriminator, DcganGenerator, GanConfig};
use crate::autograd::no_grad;
use crate::error::Result;
use crate::nn::Module;
use crate::optim::{Adam, AdamConfig, AveragedModel, Averaging, Optimizer};
use crate::tensor::{Generator, Tensor};
use crate::train::{data_parallel_backward, DataParallel};

/// The two GANs: DCGAN with the non-saturating loss, and WGAN-GP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GanKind {
    /// DCGAN: a BatchNorm discriminator, binary cross-entropy.
    Dcgan,
    /// WGAN-GP: a critic without BatchNorm, the Wasserstein loss with a
    /// gradient penalty.
    WganGp,
}

impl GanKind {
    /// `dcgan` or `wgan-gp`: the checkpoint's `nabla.model`.
    pub fn as_str(self) -> &'static str {
        match self {
            GanKind::Dcgan => "dcgan",
            GanKind::WganGp => "wgan-gp",
        }
    }
}

impl fmt::Display for GanKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for GanKind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "dcgan" => Ok(GanKind::Dcgan),
            "wgan-gp" => Ok(GanKind::WganGp),
            other => Err(format!("{other:?} is not a GAN (expected dcgan or wgan-gp)")),
        }
    }
}

/// A generator and its discriminator (a critic for WGAN-GP).
///
/// ```
/// use nabla::generative::{Gan, GanConfig, GanKind};
/// use nabla::Generator;
/// let gan = Gan::new(GanKind::WganGp, &GanConfig::default(), &mut Generator::new(0));
/// assert!(gan.discriminator.bn2.is_none());
/// ```
pub struct Gan {
    /// Which GAN.
    pub kind: GanKind,
    /// Noise to images.
    pub generator: DcganGenerator,
    /// Images to logits (DCGAN) or critic values (WGAN-GP).
    pub discriminator: DcganDiscriminator,
    /// The exponential moving average of the generator's weights and
    /// BatchNorm statistics, when training keeps one
    /// ([`GanTraining::ema_decay`]): the generator to sample from.
    pub generator_ema: Option<AveragedModel<DcganGenerator>>,
}

impl Gan {
    /// A freshly initialised GAN of `kind` with `config`'s sizes.
    ///
    /// # Panics
    /// If a size of `config` is 0.
    pub fn new(kind: GanKind, config: &GanConfig, generator: &mut Generator) -> Self {
        Gan {
            kind,
            generator: DcganGenerator::new(config, generator),
            discriminator: DcganDiscriminator::new(config, kind == GanKind::Dcgan, generator),
            generator_ema: None,
        }
    }

    /// The sizes of both networks.
    pub fn config(&self) -> &GanConfig {
        self.generator.config()
    }

    /// The generator to draw samples from: the moving average when there
    /// is one, the trained generator otherwise.
    pub fn sampler(&mut self) -> &mut DcganGenerator {
        match &mut self.generator_ema {
            Some(average) => &mut average.module,
            None => &mut self.generator,
        }
    }
}

/// The optimisation settings of a GAN run; [`GanTraining::for_kind`] gives
/// each GAN's published ones.
#[derive(Clone, Debug, PartialEq)]
pub struct GanTraining {
    /// Adam's learning rate, for both networks.
    pub lr: f64,
    /// Adam's betas, for both networks.
    pub betas: (f64, f64),
    /// Critic (discriminator) steps per generator step.
    pub n_critic: usize,
    /// The weight λ of the gradient penalty (WGAN-GP only).
    pub gp_lambda: f64,
    /// The decay of an exponential moving average of the generator's
    /// weights and BatchNorm statistics ([`Averaging::BiasCorrected`]),
    /// updated after each generator step, to sample from; `None` keeps
    /// none. Averaging smooths the wandering of the last steps' weights
    /// (Yazıcı et al., 2019, "The unusual effectiveness of averaging in
    /// GAN training"); with DCGAN's recipe on MNIST it made no difference
    /// after 10 epochs (MNIST score 8.10 from an average at decay 0.999,
    /// 8.14 from the last weights), so neither GAN keeps one by default.
    pub ema_decay: Option<f64>,
}

impl GanTraining {
    /// DCGAN (Radford et al., 2016): Adam 2e-4 with betas (0.5, 0.999), one
    /// discriminator step per generator step. WGAN-GP (Gulrajani et al.,
    /// 2017, algorithm 1): Adam 1e-4 with betas (0, 0.9), 5 critic steps
    /// per generator step, λ = 10. Neither keeps a moving average.
    pub fn for_kind(kind: GanKind) -> Self {
        match kind {
            GanKind::Dcgan => GanTraining {
                lr: 2e-4,
                betas: (0.5, 0.999),
                n_critic: 1,
                gp_lambda: 0.0,
                ema_decay: None,
            },
            GanKind::WganGp => GanTraining {
                lr: 1e-4,
                betas: (0.0, 0.9),
                n_critic: 5,
                gp_lambda: 10.0,
                ema_decay: None,
            },
        }
    }
}

/// The figures of one training step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GanStep {
    /// The discriminator's (critic's) loss, penalty included.
    pub d_loss: f64,
    /// The generator's loss, when this step took a generator step.
    pub g_loss: Option<f64>,
    /// Mean over the real images of D(x): the probability "real" for
    /// DCGAN, the critic's value for WGAN-GP.
    pub d_real: f64,
    /// The same over the generated images.
    pub d_fake: f64,
    /// WGAN-GP's gradient penalty (before λ).
    pub gradient_penalty: Option<f64>,
}

/// A GAN with its two Adam optimizers and the noise generator of its
/// training, stepping on batches of real images in [-1, 1].
///
/// ```
/// use nabla::generative::{Gan, GanConfig, GanKind, GanTrainer, GanTraining};
/// use nabla::{Generator, Tensor};
/// let config = GanConfig { latent_dim: 8, feature_maps: 4 };
/// let gan = Gan::new(GanKind::Dcgan, &config, &mut Generator::new(0));
/// let mut trainer = GanTrainer::new(gan, GanTraining::for_kind(GanKind::Dcgan), 1)?;
/// let real = Tensor::rand(&[6, 1, 28, 28], &mut Generator::new(2)).mul_scalar(2.0).add_scalar(-1.0);
/// let step = trainer.step(&real);
/// assert!(step.d_loss > 0.0 && step.g_loss.is_some());
/// # Ok::<(), nabla::Error>(())
/// ```
pub struct GanTrainer {
    gan: Gan,
    training: GanTraining,
    g_optimizer: Adam,
    d_optimizer: Adam,
    critic_steps: usize,
    noise: Generator,
    parallel: Option<Arc<dyn DataParallel>>,
}

impl GanTrainer {
    /// A trainer of `gan` with `training`'s settings; `seed` seeds the noise
    /// (and the penalty's interpolation).
    ///
    /// # Errors
    /// [`Error::InvalidSetting`](crate::Error::InvalidSetting) for a
    /// learning rate or betas Adam refuses, `n_critic` 0, or an
    /// `ema_decay` outside `[0, 1)`.
    ///
    /// With `ema_decay`, a `gan` without an average starts one from its
    /// generator; one it has (read from a checkpoint) goes on.
    pub fn new(mut gan: Gan, training: GanTraining, seed: u64) -> Result<Self> {
        if training.n_critic == 0 {
            return Err(crate::Error::InvalidSetting {
                context: "GanTraining".into(),
                message: "n_critic must be at least 1".into(),
            });
        }
        let adam = AdamConfig::new(training.lr).betas(training.betas.0, training.betas.1);
        let g_optimizer = Adam::try_new(gan.generator.parameters(), adam)?;
        let d_optimizer = Adam::try_new(gan.discriminator.parameters(), adam)?;
        match training.ema_decay {
            Some(decay) if gan.generator_ema.is_none() => {
                let copy = DcganGenerator::new(gan.config(), &mut Generator::new(0));
                let mut average = AveragedModel::new(copy, Averaging::BiasCorrected { decay }, true)?;
                average.update_parameters(&gan.generator);
                gan.generator_ema = Some(average);
            }
            Some(decay) => {
                let average = gan.generator_ema.take().expect("checked above");
                let n_averaged = average.n_averaged();
                let mut average =
                    AveragedModel::new(average.module, Averaging::BiasCorrected { decay }, true)?;
                average.set_n_averaged(n_averaged);
                gan.generator_ema = Some(average);
            }
            None => gan.generator_ema = None,
        }
        Ok(GanTrainer {
            gan,
            training,
            g_optimizer,
            d_optimizer,
            critic_steps: 0,
            noise: Generator::new(seed),
            parallel: None,
        })
    }

    /// The trainer with both networks' gradients averaged over the
    /// processes of `parallel` (data-parallel training: each process its
    /// own real images, and its own noise, so give each a different seed).
    pub fn data_parallel(mut self, parallel: Arc<dyn DataParallel>) -> Self {
        self.parallel = Some(parallel);
        self
    }

    /// The GAN being trained.
    pub fn gan(&self) -> &Gan {
        &self.gan
    }

    /// The GAN being trained, mutably (to switch train/eval mode).
    pub fn gan_mut(&mut self) -> &mut Gan {
        &mut self.gan
    }

    /// The trained GAN.
    pub fn into_gan(self) -> Gan {
        self.gan
    }

    /// The settings.
    pub fn training(&self) -> &GanTraining {
        &self.training
    }

    /// One step on `real` images `[N, 1, 28, 28]` in [-1, 1]: a
    /// discriminator (critic) step, and a generator step when one is due
    /// (every batch for DCGAN, every `n_critic`-th for WGAN-GP).
    ///
    /// # Panics
    /// If `real` is not `[N, 1, 28, 28]` with N at least 1.
    pub fn step(&mut self, real: &Tensor) -> GanStep {
        assert!(
            real.ndim() == 4 && real.shape()[0] > 0,
            "GanTrainer::step: real images of shape {:?}, expected [N, 1, 28, 28]",
            real.shape()
        );
        let n = real.shape()[0];
        let z = Tensor::randn(&[n, self.gan.config().latent_dim], &mut self.noise);
        match self.gan.kind {
            GanKind::Dcgan => self.dcgan_step(real, &z),
            GanKind::WganGp => self.wgan_gp_step(real, &z),
        }
    }

    /// Folds the generator's new weights into its moving average, if kept.
    fn update_average(&mut self) {
        if let Some(average) = &mut self.gan.generator_ema {
            average.update_parameters(&self.gan.generator);
        }
    }

    /// As PyTorch's `examples/dcgan`: the generated batch is made once,
    /// judged detached for the discriminator's step, then again (by the
    /// updated discriminator) for the generator's.
    fn dcgan_step(&mut self, real: &Tensor, z: &Tensor) -> GanStep {
        let (g, d) = (&self.gan.generator, &self.gan.discriminator);
        let fake = g.forward(z);
        self.d_optimizer.zero_grad();
        let real_logits = d.forward(real);
        let fake_logits = d.forward(&fake.detach());
        let d_loss = discriminator_loss(&real_logits, &fake_logits);
        data_parallel_backward(self.parallel.as_deref(), &d_loss, self.d_optimizer.parameters());
        self.d_optimizer.step();

        let parallel = self.parallel.as_deref();
        let g_loss = generator_step(&mut self.g_optimizer, d, parallel, |d| {
            generator_loss(&d.forward(&fake))
        });
        self.update_average();
        GanStep {
            d_loss: f64::from(d_loss.item()),
            g_loss: Some(g_loss),
            d_real: mean(&real_logits.sigmoid()),
            d_fake: mean(&fake_logits.sigmoid()),
            gradient_penalty: None,
        }
    }

    /// Algorithm 1 of Gulrajani et al.: a critic step on this batch with the
    /// penalty, and a generator step (on fresh noise) every `n_critic`.
    fn wgan_gp_step(&mut self, real: &Tensor, z: &Tensor) -> GanStep {
        let (g, d) = (&self.gan.generator, &self.gan.discriminator);
        let fake = no_grad(|| g.forward(z));
        self.d_optimizer.zero_grad();
        let real_values = d.forward(real);
        let fake_values = d.forward(&fake);
        let penalty = gradient_penalty(|x| d.forward(x), real, &fake, &mut self.noise);
        let lambda = self.training.gp_lambda as f32;
        let d_loss = critic_loss(&real_values, &fake_values).add(&penalty.mul_scalar(lambda));
        data_parallel_backward(self.parallel.as_deref(), &d_loss, self.d_optimizer.parameters());
        self.d_optimizer.step();
        self.critic_steps += 1;

        let g_loss = (self.critic_steps % self.training.n_critic == 0).then(|| {
            let z = Tensor::randn(z.shape(), &mut self.noise);
            let generator = &self.gan.generator;
            let parallel = self.parallel.as_deref();
            generator_step(&mut self.g_optimizer, &self.gan.discriminator, parallel, |d| {
                d.forward(&generator.forward(&z)).mean().neg()
            })
        });
        if g_loss.is_some() {
            self.update_average();
        }
        GanStep {
            d_loss: f64::from(d_loss.item()),
            g_loss,
            d_real: mean(&real_values),
            d_fake: mean(&fake_values),
            gradient_penalty: Some(f64::from(penalty.item())),
        }
    }
}

/// A generator step on `loss(discriminator)`, with the discriminator's
/// parameters frozen so that the backward pass computes no gradient for
/// them (the generator's optimizer would not use it). Returns the loss.
fn generator_step(
    optimizer: &mut Adam,
    discriminator: &DcganDiscriminator,
    parallel: Option<&dyn DataParallel>,
    loss: impl FnOnce(&DcganDiscriminator) -> Tensor,
) -> f64 {
    optimizer.zero_grad();
    discriminator.freeze(true);
    let loss = loss(discriminator);
    data_parallel_backward(parallel, &loss, optimizer.parameters());
    discriminator.freeze(false);
    optimizer.step();
    f64::from(loss.item())
}

fn mean(values: &Tensor) -> f64 {
    f64::from(values.mean().item())
}
