//! `nabla train --model dcgan|wgan-gp --dataset mnist`: a GAN trained for
//! `--epochs` passes over the MNIST training digits (scaled to [-1, 1]),
//! each epoch ending with a grid of samples from fixed noise
//! (`samples/epoch-NN.png`, and all grids so far as `samples.gif`), the
//! MNIST score and the Fréchet LeNet distance to the test set of
//! `--score-samples` generated digits, a metrics line and the checkpoint.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use nabla::data::{LabeledDataset, Mnist, Split};
use nabla::generative::{
    frechet_distance, mnist_images, save_gan, tanh_to_unit, DcganGenerator, FeatureStats, Gan, GanConfig,
    GanKind, GanStep, GanTrainer, GanTraining, MnistJudge,
};
use nabla::nn::Module;
use nabla::train::{install_ctrlc_handler, EpochSummary, Interrupt, Metrics, MetricsLog};
use nabla::{no_grad, Generator, Tensor};

use super::folder::{self, CURVES_FILE, METRICS_FILE, MODEL_FILE};
use super::progress::new_epoch_bar;
use super::settings::Args;
use crate::data::{DatasetKind, Normalization};
use crate::digit_grid::{grid, write_gif, write_png};
use crate::distributed::Distributed;
use crate::models::ModelKind;
use crate::output::say;
use crate::plot::write_curves;
use crate::Ending;

/// The folder of the per-epoch grids.
const SAMPLES_DIR: &str = "samples";
/// The animation of the grids.
const GIF_FILE: &str = "samples.gif";
/// Digits in the fixed-noise grid (8 x 8).
const GRID_SAMPLES: usize = 64;
/// Digits per generator pass when sampling for the scores.
const SAMPLE_CHUNK: usize = 500;

/// The options of `nabla train --model dcgan|wgan-gp`.
#[derive(clap::Args, Clone, Debug, Default)]
#[command(next_help_heading = "GANs (--model dcgan or wgan-gp)")]
pub struct GanArgs {
    /// Channels of the 14x14 layers of both networks (the 7x7 ones have
    /// twice as many), 1 to 65,536 [default: 64].
    #[arg(long, value_parser = crate::options::width)]
    pub feature_maps: Option<usize>,
    /// Critic steps per generator step (wgan-gp), 1 to 1,024 [default: 5].
    #[arg(long, value_parser = crate::options::layers)]
    pub n_critic: Option<usize>,
    /// The weight of the gradient penalty (wgan-gp), at least 0 [default: 10].
    #[arg(long, allow_negative_numbers = true, value_parser = crate::options::non_negative)]
    pub gp_lambda: Option<f64>,
    /// Generated digits scored after each epoch (MNIST score and Fréchet
    /// LeNet distance to the test set), 0 to skip, at most 100,000 [default: 10000].
    #[arg(long, value_parser = crate::options::steps)]
    pub score_samples: Option<usize>,
    /// Adam's first beta [default: 0.5 for dcgan, 0 for wgan-gp].
    #[arg(long, allow_negative_numbers = true, value_parser = crate::options::below_one)]
    pub beta1: Option<f64>,
    /// Keep a moving average of the generator's weights with this decay,
    /// in [0, 1), for the grids, the scores and `nabla sample` (its horizon
    /// is 1 / (1 - decay) generator steps; an epoch of MNIST at batch 64
    /// is 938 for dcgan, 188 for wgan-gp); 0 keeps none [default: 0].
    #[arg(long, allow_negative_numbers = true, value_parser = crate::options::below_one)]
    pub ema_decay: Option<f64>,
}

impl GanArgs {
    /// The options given, by their flags.
    pub fn given(&self) -> Vec<&'static str> {
        [
            ("--feature-maps", self.feature_maps.is_some()),
            ("--n-critic", self.n_critic.is_some()),
            ("--gp-lambda", self.gp_lambda.is_some()),
            ("--score-samples", self.score_samples.is_some()),
            ("--beta1", self.beta1.is_some()),
            ("--ema-decay", self.ema_decay.is_some()),
        ]
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
        .collect()
    }
}

/// The most digits `--score-samples` may ask for.
const MAX_SCORE_SAMPLES: usize = 100_000;

/// The settings of a GAN run.
#[derive(Debug)]
struct GanSettings {
    kind: GanKind,
    config: GanConfig,
    training: GanTraining,
    epochs: usize,
    batch_size: usize,
    seed: u64,
    limit: Option<usize>,
    score_samples: usize,
}

impl GanSettings {
    fn resolve(args: &Args, model: ModelKind) -> Result<Self, String> {
        let kind = if model == ModelKind::Dcgan {
            GanKind::Dcgan
        } else {
            GanKind::WganGp
        };
        let refused: [(&str, bool); 9] = [
            ("--resume", args.resume.is_some()),
            ("--optimizer", args.optimizer.is_some()),
            ("--momentum", args.momentum.is_some()),
            ("--weight-decay", args.weight_decay.is_some()),
            ("--schedule", args.schedule.is_some()),
            ("--augment", args.augment),
            ("--no-normalize", args.no_normalize),
            ("--max-steps", args.language.max_steps.is_some()),
            ("--block-size", args.language.block_size.is_some()),
        ];
        if let Some((option, _)) = refused.iter().find(|(_, given)| *given) {
            return Err(format!(
                "{option} is not an option of {model}: a GAN trains both networks with Adam at a constant rate \
                 on digits scaled to [-1, 1], for --epochs from the start"
            ));
        }
        let dataset = args.dataset.clone().unwrap_or(DatasetKind::Mnist);
        if dataset != DatasetKind::Mnist {
            return Err(format!(
                "{model} trains on mnist (its samples are judged by a LeNet-5 trained on MNIST), not {}",
                dataset.spec()
            ));
        }
        let gan = &args.gan;
        if kind == GanKind::Dcgan {
            for (option, given) in [
                ("--n-critic", gan.n_critic.is_some()),
                ("--gp-lambda", gan.gp_lambda.is_some()),
            ] {
                if given {
                    return Err(format!("{option} is an option of wgan-gp, not of dcgan"));
                }
            }
        }
        let score_samples = gan.score_samples.unwrap_or(10_000);
        if score_samples > MAX_SCORE_SAMPLES || score_samples == 1 {
            return Err(format!(
                "--score-samples {score_samples}: give 0 (no scores) or 2 to {MAX_SCORE_SAMPLES}"
            ));
        }
        let defaults = GanTraining::for_kind(kind);
        let training = GanTraining {
            lr: args.lr.unwrap_or(defaults.lr),
            betas: (gan.beta1.unwrap_or(defaults.betas.0), defaults.betas.1),
            n_critic: gan.n_critic.unwrap_or(defaults.n_critic),
            gp_lambda: gan.gp_lambda.unwrap_or(defaults.gp_lambda),
            ema_decay: match gan.ema_decay {
                Some(decay) => (decay > 0.0).then_some(decay),
                None => defaults.ema_decay,
            },
        };
        let defaults = GanConfig::default();
        Ok(GanSettings {
            kind,
            config: GanConfig {
                latent_dim: args.latent_dim.unwrap_or(defaults.latent_dim),
                feature_maps: gan.feature_maps.unwrap_or(defaults.feature_maps),
            },
            training,
            epochs: args.epochs.unwrap_or(10),
            batch_size: args.batch_size.unwrap_or(64),
            seed: args.seed.unwrap_or(0),
            limit: args.limit,
            score_samples,
        })
    }
}

/// What the judge compares generated digits with.
struct Reference {
    judge: MnistJudge,
    test_stats: FeatureStats,
}

/// Trains a GAN; the caller has checked `model` is one.
pub fn train(args: &Args, model: ModelKind, distributed: Option<&Distributed>) -> Result<Ending, String> {
    let started = Instant::now();
    let settings = GanSettings::resolve(args, model)?;
    let load = |split| {
        match &args.data_dir {
            None => Mnist::bundled(split),
            Some(dir) => Mnist::load(dir, split),
        }
        .map_err(|e| e.to_string())
    };
    let train_set = load(Split::Train)?;
    let examples = settings.limit.unwrap_or(usize::MAX).min(train_set.len());

    let out = args
        .out
        .clone()
        .unwrap_or_else(|| folder::default_folder(&model.to_string(), "mnist"));
    let claim = super::claim_folder(&out, false, args.overwrite, distributed)?;
    // Rank 0 alone writes the run's files and judges its samples.
    let writer = distributed.is_none_or(|d| d.rank() == 0);
    let samples_dir = out.join(SAMPLES_DIR);
    if writer {
        clear_pictures(&out, &samples_dir)?;
        std::fs::create_dir_all(&samples_dir)
            .map_err(|e| format!("cannot create {}: {e}", samples_dir.display()))?;
    }

    let reference = (writer && settings.score_samples > 0)
        .then(|| reference(&load(Split::Test)?, &train_set, examples))
        .transpose()?;

    let mut init = Generator::new(settings.seed);
    let gan = Gan::new(settings.kind, &settings.config, &mut init);
    // Each rank draws its own noise.
    let rank = distributed.map_or(0, Distributed::rank) as u64;
    let noise_seed = (settings.seed ^ 0x6a4).wrapping_add(rank.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let mut trainer =
        GanTrainer::new(gan, settings.training.clone(), noise_seed).map_err(|e| e.to_string())?;
    if let Some(d) = distributed {
        d.check_same_start(&settings, &out)?;
        d.parallel().broadcast_module(&trainer.gan().generator);
        d.parallel().broadcast_module(&trainer.gan().discriminator);
        if let Some(average) = &trainer.gan().generator_ema {
            d.parallel().broadcast_module(&average.module);
        }
        trainer = trainer.data_parallel(d.parallel());
    }
    let fixed_noise = Tensor::randn(
        &[GRID_SAMPLES, settings.config.latent_dim],
        &mut Generator::new(settings.seed ^ 0xf1ed),
    );
    let subset: Arc<dyn LabeledDataset> = if examples < train_set.len() {
        Arc::new(nabla::data::Subset::new(
            Arc::new(train_set),
            (0..examples).collect(),
        ))
    } else {
        Arc::new(train_set)
    };
    let tanh_range = Normalization {
        mean: vec![0.5],
        std: vec![0.5],
    };
    let loader = DatasetKind::Mnist
        .loader(
            subset,
            Split::Train,
            &tanh_range,
            settings.batch_size,
            settings.seed,
            args.workers,
        )
        .with_shard(distributed.map(Distributed::shard));

    let metrics_path = out.join(METRICS_FILE);
    let mut metrics_log = writer
        .then(|| MetricsLog::append(&metrics_path))
        .transpose()
        .map_err(|e| e.to_string())?;
    install_ctrlc_handler();
    let interrupt = Interrupt::ctrl_c();
    say!(
        "training {model} ({} + {} parameters) on mnist ({examples} digits) for {} epochs, batch {}, Adam lr {:.0e} \
         betas ({}, {}){}{} on {} threads{}, into {} ({})",
        trainer.gan().generator.num_parameters(),
        trainer.gan().discriminator.num_parameters(),
        settings.epochs,
        super::describe_batch(settings.batch_size, distributed),
        settings.training.lr,
        settings.training.betas.0,
        settings.training.betas.1,
        if settings.kind == GanKind::WganGp {
            format!(
                ", {} critic steps per generator step, penalty weight {}",
                settings.training.n_critic, settings.training.gp_lambda
            )
        } else {
            String::new()
        },
        settings.training.ema_decay.map_or(String::new(), |decay| format!(
            ", sampling from the generator's moving average (decay {decay})"
        )),
        rayon::current_num_threads(),
        super::per_rank(distributed),
        out.display(),
        claim.describe()
    );

    let model_path = out.join(MODEL_FILE);
    let gif_path = out.join(GIF_FILE);
    let mut frames = Vec::new();
    let mut history = Vec::new();
    let mut interrupted = false;
    for epoch in 0..settings.epochs {
        let epoch_start = Instant::now();
        let bar = new_epoch_bar(epoch, settings.epochs, loader.num_batches());
        let mut sums = StepSums::default();
        for batch in loader.epoch(epoch) {
            let step = trainer.step(&batch.inputs);
            sums.add(&step, batch.inputs.shape()[0]);
            let diverged = !step.d_loss.is_finite() || step.g_loss.is_some_and(|l| !l.is_finite());
            if agreed(distributed, diverged) {
                bar.finish_and_clear();
                return Err(format!(
                    "training diverged in epoch {}: a loss is not a finite number (try a lower --lr); {} holds \
                     the last finished epoch",
                    epoch + 1,
                    model_path.display()
                ));
            }
            bar.inc(1);
            bar.set_message(format!(
                "d_loss {:.3} g_loss {:.3} {:.0} img/s",
                step.d_loss,
                sums.g_loss(),
                sums.examples as f64 / epoch_start.elapsed().as_secs_f64()
            ));
            if agreed(distributed, interrupt.is_triggered()) {
                interrupted = true;
                break;
            }
        }
        bar.finish_and_clear();
        if interrupted {
            interrupt.take();
            say!(
                "interrupted in epoch {}: {} holds the last finished epoch",
                epoch + 1,
                model_path.display()
            );
            break;
        }
        let train_seconds = epoch_start.elapsed().as_secs_f64();
        if let Some(d) = distributed {
            sums = sums.all_reduced(d);
            if !writer {
                continue;
            }
        }

        let gan = trainer.gan_mut();
        let picture = grid(&tanh_to_unit(&sample(gan.sampler(), &fixed_noise)), 8);
        write_png(&samples_dir.join(format!("epoch-{:02}.png", epoch + 1)), &picture)?;
        frames.push(picture);
        write_gif(&gif_path, &frames, 50)?;
        let validation = reference
            .as_ref()
            .map(|r| judge(gan, r, settings.score_samples, settings.seed ^ epoch as u64));
        save_gan(gan, &model_path).map_err(|e| e.to_string())?;

        let summary = EpochSummary {
            epoch,
            step: None,
            train: sums.metrics(settings.kind),
            validation,
            lr: settings.training.lr,
            seconds: epoch_start.elapsed().as_secs_f64(),
            images_per_second: sums.examples as f64 / train_seconds,
        };
        if let Some(log) = metrics_log.as_mut() {
            log.write_epoch(&summary).map_err(|e| e.to_string())?;
        }
        say!("{}", epoch_line(&summary, settings.epochs, train_seconds));
        history.push(summary);
        write_curves(&out.join(CURVES_FILE), &history)?;
    }
    if !writer {
        return Ok(if interrupted {
            Ending::Interrupted
        } else {
            Ending::Done
        });
    }
    if history.is_empty() {
        return Ok(Ending::Interrupted);
    }
    say!("wrote {}", model_path.display());
    say!("wrote {}", metrics_path.display());
    say!("wrote {}", out.join(CURVES_FILE).display());
    say!(
        "wrote {} and {}/epoch-NN.png",
        gif_path.display(),
        samples_dir.display()
    );
    say!(
        "draw digits with: nabla sample --checkpoint {}",
        model_path.display()
    );
    say!("done in {:.1}s", started.elapsed().as_secs_f64());
    Ok(if interrupted {
        Ending::Interrupted
    } else {
        Ending::Done
    })
}

/// Removes the grids and the animation a replaced run left (`folder::claim`
/// removes the files every run writes).
fn clear_pictures(out: &Path, samples_dir: &Path) -> Result<(), String> {
    let gif = out.join(GIF_FILE);
    if gif.exists() {
        std::fs::remove_file(&gif).map_err(|e| format!("cannot remove {}: {e}", gif.display()))?;
    }
    if samples_dir.is_dir() {
        std::fs::remove_dir_all(samples_dir)
            .map_err(|e| format!("cannot remove {}: {e}", samples_dir.display()))?;
    }
    Ok(())
}

/// The judge, with the reference figures printed: the MNIST score of the
/// first `examples` training digits (those the run trains on) and their
/// Fréchet distance to the test digits.
fn reference(test_set: &Mnist, train_set: &Mnist, examples: usize) -> Result<Reference, String> {
    let judge = MnistJudge::bundled().map_err(|e| e.to_string())?;
    let test_stats = judge.feature_stats(&mnist_images(test_set, 0..test_set.len()));
    let train_images = mnist_images(train_set, 0..examples);
    say!(
        "reference: the {examples} MNIST training digits score {:.3} and are at Fréchet LeNet distance {:.3} from \
         the {} test digits",
        judge.mnist_score(&train_images),
        frechet_distance(&judge.feature_stats(&train_images), &test_stats),
        test_set.len()
    );
    Ok(Reference { judge, test_stats })
}

/// `generator`'s digits for `noise`, in evaluation mode (BatchNorm with
/// its running statistics), without a graph.
fn sample(generator: &mut DcganGenerator, noise: &Tensor) -> Tensor {
    generator.eval();
    let images = no_grad(|| generator.forward(noise));
    generator.train(true);
    images
}

/// The MNIST score and Fréchet LeNet distance to the test set of `count`
/// digits from the generator samples are drawn from (the moving average,
/// if kept) and, beside a moving average, the same two figures of the
/// trained generator (`online_mnist_score`, `online_frechet_distance`).
fn judge(gan: &mut Gan, reference: &Reference, count: usize, seed: u64) -> Metrics {
    let mut metrics = judge_generator(gan.sampler(), reference, count, seed, "");
    if gan.generator_ema.is_some() {
        for (name, value) in judge_generator(&mut gan.generator, reference, count, seed, "online_").iter() {
            metrics.insert(name, value);
        }
    }
    metrics
}

fn judge_generator(
    generator: &mut DcganGenerator,
    reference: &Reference,
    count: usize,
    seed: u64,
    prefix: &str,
) -> Metrics {
    let mut noise = Generator::new(seed);
    let latent = generator.config().latent_dim;
    let chunks: Vec<Tensor> = (0..count)
        .step_by(SAMPLE_CHUNK)
        .map(|start| {
            let z = Tensor::randn(&[SAMPLE_CHUNK.min(count - start), latent], &mut noise);
            tanh_to_unit(&sample(generator, &z))
        })
        .collect();
    let images = Tensor::cat(&chunks, 0);
    let score = reference.judge.mnist_score(&images);
    let distance = frechet_distance(&reference.judge.feature_stats(&images), &reference.test_stats);
    [
        (format!("{prefix}mnist_score"), score),
        (format!("{prefix}frechet_distance"), distance),
    ]
    .into_iter()
    .collect()
}

/// Sums of an epoch's step figures, weighted by batch size.
#[derive(Default)]
struct StepSums {
    examples: usize,
    d_loss: f64,
    g_loss: f64,
    g_steps: usize,
    d_real: f64,
    d_fake: f64,
    penalty: f64,
}

impl StepSums {
    fn add(&mut self, step: &GanStep, n: usize) {
        let w = n as f64;
        self.examples += n;
        self.d_loss += w * step.d_loss;
        self.d_real += w * step.d_real;
        self.d_fake += w * step.d_fake;
        self.penalty += w * step.gradient_penalty.unwrap_or(0.0);
        if let Some(g) = step.g_loss {
            self.g_loss += g;
            self.g_steps += 1;
        }
    }

    /// The sums of every rank's.
    fn all_reduced(&self, distributed: &Distributed) -> StepSums {
        let mut values = [
            self.examples as f64,
            self.d_loss,
            self.g_loss,
            self.g_steps as f64,
            self.d_real,
            self.d_fake,
            self.penalty,
        ];
        distributed.parallel().all_reduce_sum(&mut values);
        let [examples, d_loss, g_loss, g_steps, d_real, d_fake, penalty] = values;
        StepSums {
            examples: examples as usize,
            d_loss,
            g_loss,
            g_steps: g_steps as usize,
            d_real,
            d_fake,
            penalty,
        }
    }

    /// The mean generator loss over the generator steps so far.
    fn g_loss(&self) -> f64 {
        self.g_loss / self.g_steps.max(1) as f64
    }

    fn metrics(&self, kind: GanKind) -> Metrics {
        let n = self.examples.max(1) as f64;
        let mut m: Metrics = [
            ("d_loss", self.d_loss / n),
            ("g_loss", self.g_loss()),
            ("d_real", self.d_real / n),
            ("d_fake", self.d_fake / n),
        ]
        .into_iter()
        .collect();
        if kind == GanKind::WganGp {
            m.insert("gradient_penalty", self.penalty / n);
        }
        m
    }
}

fn epoch_line(s: &EpochSummary, epochs: usize, train_seconds: f64) -> String {
    let get = |name| s.train_metric(name).unwrap_or(f64::NAN);
    let scores = s.validation.as_ref().map_or(String::new(), |v| {
        let online = match (v.get("online_mnist_score"), v.get("online_frechet_distance")) {
            (Some(score), Some(distance)) => format!(" (last step's weights: {score:.3}, {distance:.3})"),
            _ => String::new(),
        };
        format!(
            "  MNIST score {:.3}  Fréchet {:.3}{online}",
            v.get("mnist_score").unwrap_or(f64::NAN),
            v.get("frechet_distance").unwrap_or(f64::NAN)
        )
    });
    format!(
        "epoch {:>3}/{epochs}: d_loss {:.4} g_loss {:.4} D(x) {:.3} D(G(z)) {:.3}{scores}  {:.1}s ({:.0} img/s)",
        s.epoch + 1,
        get("d_loss"),
        get("g_loss"),
        get("d_real"),
        get("d_fake"),
        train_seconds,
        s.images_per_second
    )
}

/// True if `flag` is true here or, in a `--distributed` run, on any rank.
fn agreed(distributed: Option<&Distributed>, flag: bool) -> bool {
    distributed.map_or(flag, |d| d.parallel().any(flag))
}
