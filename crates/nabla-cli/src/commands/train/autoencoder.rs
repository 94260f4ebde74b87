//! `nabla train --model ae|conv-ae|vae`: an autoencoder, or the VAE of
//! PyTorch's `examples/vae`, trained on 28x28 grey images (pixels in
//! [0, 1], not normalised) with Adam, its test loss in nats per example
//! every epoch, written as a checkpoint that `nabla sample` reads, with
//! pictures: reconstructions, samples and an interpolation (VAE), the
//! test set's codes (with 2 latents).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use indicatif::ProgressBar;
use nabla::checkpoint::load_metadata;
use nabla::data::{Batch, DataLoader, LabeledDataset, Shard, Split, Subset};
use nabla::generative::{
    importance_weighted_log_likelihood, save_autoencoder, save_vae, AnyAutoencoder, AutoencoderConfig,
    LatentModel, NegativeElbo, Reconstruction, Vae, VaeConfig,
};
use nabla::lm::{CONFIG_KEY, MODEL_KEY};
use nabla::optim::{Adam, AdamConfig};
use nabla::train::{
    fit, install_ctrlc_handler, BatchProgress, EpochSummary, MetricsLog, Outcome, RunStart, Step,
    TrainConfig, TrainObserver,
};
use nabla::{no_grad, Generator};

use super::folder::{self, CHECKPOINTS_DIR, CURVES_FILE, METRICS_FILE, MODEL_FILE};
use super::progress::{epoch_bar, say_resumed};
use super::settings::{Args, OptimizerKind, ScheduleKind};
use crate::data::{DatasetKind, Normalization};
use crate::distributed::Distributed;
use crate::generative_pictures::{
    interpolation, interpolation_ends, latent_scatter, reconstructions, samples,
};
use crate::models::ModelKind;
use crate::options;
use crate::output::say;
use crate::plot::write_curves;
use crate::record::checkpoint_file;
use crate::Ending;

/// The options of `nabla train --model ae|conv-ae|vae`.
#[derive(clap::Args, Clone, Debug, Default)]
#[command(next_help_heading = "Autoencoders and the VAE (--model ae, conv-ae or vae)")]
pub struct AutoencoderArgs {
    /// After training, estimate the VAE's test log-likelihood by importance sampling with K draws per
    /// image, 1 to 100,000 (k = 1 is the ELBO; PyTorch's example has no such figure).
    #[arg(long, value_parser = options::importance_samples)]
    pub iw_samples: Option<usize>,
}

impl AutoencoderArgs {
    /// The options given, by their flags.
    pub fn given(&self) -> Vec<&'static str> {
        self.iw_samples.map(|_| "--iw-samples").into_iter().collect()
    }
}

/// The picture files of a run, beside the model.
const RECONSTRUCTIONS_FILE: &str = "reconstructions.png";
const SAMPLES_FILE: &str = "samples.png";
const INTERPOLATION_FILE: &str = "interpolation.png";
const LATENT_FILE: &str = "latent.png";
/// Points of an interpolation, both ends included.
const INTERPOLATION_STEPS: usize = 10;
/// The seed of the samples' latents.
const SAMPLE_SEED: u64 = 0;

/// The settings of a run: the options given, else PyTorch's example's.
#[derive(Debug)]
struct AutoencoderSettings {
    model: ModelKind,
    dataset: DatasetKind,
    epochs: usize,
    batch_size: usize,
    lr: f64,
    weight_decay: f64,
    seed: u64,
    latent: usize,
    limit: Option<usize>,
    iw_samples: Option<usize>,
}

impl AutoencoderSettings {
    fn resolve(args: &Args, model: ModelKind, recorded_latent: Option<usize>) -> Result<Self, String> {
        let language = &args.language;
        let refused: [(&str, bool); 4] = [
            ("--momentum", args.momentum.is_some()),
            (
                "--schedule other than none",
                args.schedule.is_some_and(|s| s != ScheduleKind::None),
            ),
            (
                "--optimizer other than adam",
                args.optimizer.is_some_and(|o| o != OptimizerKind::Adam),
            ),
            ("--augment", args.augment),
        ];
        if let Some((option, _)) = refused.iter().find(|(_, given)| *given) {
            return Err(format!(
                "{option} is not an option of {model}: it trains with Adam at a constant learning rate, as \
                 PyTorch's examples/vae"
            ));
        }
        if args.no_normalize {
            return Err(format!(
                "--no-normalize: {model} always reads pixels in [0, 1] as they are (its decoder gives probabilities)"
            ));
        }
        let language_options = [
            ("--max-steps", language.max_steps.is_some()),
            ("--eval-every", language.eval_every.is_some()),
            ("--eval-batches", language.eval_batches.is_some()),
            ("--block-size", language.block_size.is_some()),
            ("--n-layer", language.n_layer.is_some()),
            ("--n-head", language.n_head.is_some()),
            ("--n-embd", language.n_embd.is_some()),
            ("--hidden-size", language.hidden_size.is_some()),
            ("--num-layers", language.num_layers.is_some()),
            ("--dropout", language.dropout.is_some()),
            ("--beta2", language.beta2.is_some()),
            ("--grad-clip", language.grad_clip.is_some()),
            ("--warmup-steps", language.warmup_steps.is_some()),
            ("--min-lr", language.min_lr.is_some()),
        ];
        if let Some((option, _)) = language_options.iter().find(|(_, given)| *given) {
            return Err(format!(
                "{option} is an option of the language models, not of {model}"
            ));
        }
        let own = &args.autoencoder;
        let default_latent = if model == ModelKind::Vae { 20 } else { 32 };
        let latent = match (args.latent_dim, recorded_latent) {
            (Some(given), Some(recorded)) if given != recorded => {
                return Err(format!(
                    "--latent-dim {given} differs from the resumed run's {recorded} latents"
                ))
            }
            (_, Some(recorded)) => recorded,
            (given, None) => given.unwrap_or(default_latent),
        };
        Ok(AutoencoderSettings {
            model,
            dataset: args.dataset.clone().unwrap_or(DatasetKind::Mnist),
            epochs: args.epochs.unwrap_or(10),
            batch_size: args.batch_size.unwrap_or(128),
            lr: args.lr.unwrap_or(1e-3),
            weight_decay: args.weight_decay.unwrap_or(0.0),
            seed: args.seed.unwrap_or(0),
            latent,
            limit: args.limit,
            iw_samples: own.iw_samples,
        })
    }
}

/// The model kind and latent size a training checkpoint records.
fn recorded_model(resume: &Path) -> Result<(String, usize), String> {
    let path = checkpoint_file(resume);
    let metadata = load_metadata(&path).map_err(|e| e.to_string())?;
    let entry = |key: &str| {
        metadata.get(key).cloned().ok_or_else(|| {
            format!(
                "{} records no {key}: not a checkpoint of nabla train --model ae|conv-ae|vae",
                path.display()
            )
        })
    };
    let (kind, config) = (entry(MODEL_KEY)?, entry(CONFIG_KEY)?);
    let latent = serde_json::from_str::<serde_json::Value>(&config)
        .ok()
        .and_then(|c| c["latent_size"].as_u64())
        .ok_or_else(|| format!("{}: {CONFIG_KEY} has no latent_size", path.display()))?;
    Ok((kind, latent as usize))
}

/// The data of a run: 28x28 grey training and test images.
struct Data {
    train: Arc<dyn LabeledDataset>,
    test: Arc<dyn LabeledDataset>,
}

impl Data {
    fn load(settings: &AutoencoderSettings, data_dir: Option<&Path>) -> Result<Data, String> {
        let mut train = settings.dataset.load(data_dir, Split::Train)?;
        if let Some(limit) = settings.limit {
            let n = limit.min(train.len());
            train = Arc::new(Subset::new(train, (0..n).collect()));
        }
        let test = settings.dataset.load(data_dir, Split::Test)?;
        if train.example_shape() != [1, 28, 28] {
            return Err(format!(
                "{} takes 28x28 grey images (mnist, fashion-mnist), not {} of shape {:?}",
                settings.model,
                settings.dataset.spec(),
                train.example_shape()
            ));
        }
        Ok(Data { train, test })
    }

    /// The shuffled training loader and the test loader, pixels as they are.
    fn loaders(
        &self,
        settings: &AutoencoderSettings,
        workers: usize,
        shard: Option<Shard>,
    ) -> (DataLoader, DataLoader) {
        let identity = Normalization::identity(1);
        let loader = |set: &Arc<dyn LabeledDataset>, split| {
            settings
                .dataset
                .loader(
                    Arc::clone(set),
                    split,
                    &identity,
                    settings.batch_size,
                    settings.seed,
                    workers,
                )
                .with_shard(shard)
        };
        (loader(&self.train, Split::Train), loader(&self.test, Split::Test))
    }
}

/// Trains an autoencoder or the VAE; the caller has checked `model` is one.
pub fn train(args: &Args, model: ModelKind, distributed: Option<&Distributed>) -> Result<Ending, String> {
    let started = Instant::now();
    let recorded = args.resume.as_deref().map(recorded_model).transpose()?;
    if let Some((kind, _)) = &recorded {
        if *kind != model.to_string() {
            return Err(format!(
                "the checkpoint to resume holds a {kind} model, not a {model} (give --model {kind})"
            ));
        }
    }
    let settings = AutoencoderSettings::resolve(args, model, recorded.map(|(_, latent)| latent))?;
    let data = Data::load(&settings, args.data_dir.as_deref())?;
    let out = match (&args.out, &args.resume) {
        (Some(out), _) => out.clone(),
        (None, Some(resume)) => folder::run_folder_of(&checkpoint_file(resume)),
        (None, None) => folder::default_folder(&model.to_string(), &settings.dataset.name()),
    };
    let claim = super::claim_folder(&out, args.resume.is_some(), args.overwrite, distributed)?;
    if let Some(d) = distributed {
        d.check_same_start(&settings, &out)?;
    }
    let run = Run {
        args,
        distributed,
        settings: &settings,
        data: &data,
        out: &out,
        claim: claim.describe(),
        started,
    };
    let mut generator = Generator::new(settings.seed);
    match model {
        ModelKind::Vae => {
            let config = VaeConfig {
                latent_size: settings.latent,
                ..VaeConfig::mnist()
            };
            let vae = Vae::new(&config, &mut generator);
            let json = serde_json::to_string(&config).expect("a config of numbers serializes");
            run.train(vae, NegativeElbo::new(settings.seed), &json, |vae, path| {
                save_vae(vae, path)
            })
        }
        _ => {
            let kind = model.to_string();
            let config = if model == ModelKind::ConvAe {
                AutoencoderConfig::conv(settings.latent)
            } else {
                AutoencoderConfig::mlp(settings.latent)
            };
            let ae = AnyAutoencoder::new(&kind, &config, &mut generator)?;
            let json = serde_json::to_string(&config).expect("a config of numbers serializes");
            run.train(ae, Reconstruction, &json, |ae, path| save_autoencoder(ae, path))
        }
    }
}

/// What a run needs besides its model and step.
struct Run<'a> {
    args: &'a Args,
    distributed: Option<&'a Distributed>,
    settings: &'a AutoencoderSettings,
    data: &'a Data,
    out: &'a Path,
    claim: &'static str,
    started: Instant,
}

impl Run<'_> {
    fn train<M, S>(
        &self,
        mut model: M,
        mut step: S,
        config_json: &str,
        save: impl Fn(&M, &Path) -> nabla::Result<()>,
    ) -> Result<Ending, String>
    where
        M: LatentModel + AsVae,
        S: Step<M, Batch>,
    {
        let settings = self.settings;
        let distributed = self.distributed;
        if let Some(d) = distributed {
            d.parallel().broadcast_module(&model);
        }
        let shard = distributed.map(Distributed::shard);
        let (train_loader, test_loader) = self.data.loaders(settings, self.args.workers, shard);
        let adam = AdamConfig::new(settings.lr).weight_decay(settings.weight_decay);
        let mut optimizer = Adam::try_new(model.parameters(), adam).map_err(|e| e.to_string())?;
        let metrics = self.out.join(METRICS_FILE);
        let checkpoints = self.out.join(CHECKPOINTS_DIR);
        install_ctrlc_handler();
        let config = TrainConfig {
            epochs: settings.epochs,
            checkpoint_dir: Some(checkpoints.clone()),
            keep_epoch_checkpoints: false,
            metrics_path: Some(metrics.clone()),
            resume_from: self.args.resume.clone(),
            stop_on_non_finite_loss: true,
            metadata: [
                (MODEL_KEY.to_string(), model.kind().to_string()),
                (CONFIG_KEY.to_string(), config_json.to_string()),
            ]
            .into(),
            parallel: distributed.map(Distributed::parallel),
            ..TrainConfig::default()
        };
        say!(
            "training {} ({} parameters, {} latents) on {} ({} examples, {} test) for {} epochs, batch {}, \
             Adam lr {:.0e} on {} threads{}, into {} ({})",
            settings.model,
            model.num_parameters(),
            settings.latent,
            settings.dataset.name(),
            train_loader.dataset().len(),
            test_loader.dataset().len(),
            settings.epochs,
            super::describe_batch(settings.batch_size, distributed),
            settings.lr,
            rayon::current_num_threads(),
            super::per_rank(distributed),
            self.out.display(),
            self.claim
        );
        let mut progress = LossProgress::new(settings.epochs);
        let history = fit(
            &mut model,
            &mut step,
            &mut optimizer,
            None,
            &train_loader,
            Some(&test_loader),
            &config,
            &mut progress,
        )
        .map_err(|e| e.to_string())?;
        if let Outcome::Diverged { epoch, batch } = history.outcome {
            return Err(folder::diverged(epoch, batch, &checkpoints));
        }
        if distributed.is_some_and(|d| d.rank() != 0) {
            return Ok(super::ending(&history, settings.epochs));
        }
        model.eval();
        let model_path = self.out.join(MODEL_FILE);
        save(&model, &model_path).map_err(|e| e.to_string())?;
        let curves = self.out.join(CURVES_FILE);
        write_curves(&curves, &history.epochs)?;
        let interrupted = matches!(history.outcome,
            Outcome::Interrupted { epoch, batch } if batch > 0 || epoch < settings.epochs);
        if interrupted {
            say!(
                "interrupted: resume with --model {} --resume {}",
                settings.model,
                checkpoints.display()
            );
        }
        if let Some(val) = history.epochs.last().and_then(EpochSummary::val_loss) {
            say!("test loss {val:.4} nats per example");
        }
        let mut written = vec![model_path.clone(), metrics.clone(), curves];
        written.extend(self.pictures(&model)?);
        if let (Some(vae), Some(k)) = (model.as_vae(), settings.iw_samples) {
            self.importance_weighted(vae, k, &metrics)?;
        }
        for path in written {
            say!("wrote {}", path.display());
        }
        if settings.model == ModelKind::Vae {
            say!(
                "draw new digits with: nabla sample --checkpoint {} --out samples.png",
                model_path.display()
            );
        }
        say!("done in {:.1}s", self.started.elapsed().as_secs_f64());
        Ok(if interrupted {
            Ending::Interrupted
        } else {
            Ending::Done
        })
    }

    /// Draws the run's pictures; returns their paths.
    fn pictures<M: LatentModel + AsVae>(&self, model: &M) -> Result<Vec<PathBuf>, String> {
        let test = &*self.data.test;
        let mut written = Vec::new();
        let path = self.out.join(RECONSTRUCTIONS_FILE);
        reconstructions(model, test, 2, &path)?;
        written.push(path);
        if let Some(vae) = model.as_vae() {
            let path = self.out.join(SAMPLES_FILE);
            samples(vae, 64, SAMPLE_SEED, &path)?;
            written.push(path);
        }
        let path = self.out.join(INTERPOLATION_FILE);
        interpolation(model, test, interpolation_ends(test)?, INTERPOLATION_STEPS, &path)?;
        written.push(path);
        if model.latent_size() == 2 {
            let path = self.out.join(LATENT_FILE);
            latent_scatter(model, test, &path)?;
            written.push(path);
        }
        Ok(written)
    }

    /// Estimates the test log-likelihood with `k` importance samples per
    /// image, prints it and appends it to the metrics file.
    fn importance_weighted(&self, vae: &Vae, k: usize, metrics: &Path) -> Result<(), String> {
        let test = &*self.data.test;
        let indices: Vec<usize> = (0..test.len()).collect();
        let mut generator = Generator::new(self.settings.seed ^ 0x1a5e);
        let mut total = 0.0f64;
        let started = Instant::now();
        for chunk in indices.chunks(self.settings.batch_size) {
            let batch = Batch::collect(test, chunk);
            let log_p = no_grad(|| importance_weighted_log_likelihood(vae, &batch.inputs, k, &mut generator));
            total += log_p.to_vec().iter().map(|&v| f64::from(v)).sum::<f64>();
        }
        let log_likelihood = total / test.len() as f64;
        say!(
            "test log-likelihood {log_likelihood:.4} nats per image (importance-weighted, {k} samples; the Bernoulli \
             likelihood of grey pixels, comparable with the ELBO, not with binarised MNIST), {:.1}s",
            started.elapsed().as_secs_f64()
        );
        let mut log = MetricsLog::append(metrics).map_err(|e| e.to_string())?;
        log.write_line(&serde_json::json!({
            "kind": "test",
            "iw_samples": k,
            "log_likelihood": log_likelihood,
            "examples": test.len(),
        }))
        .map_err(|e| e.to_string())
    }
}

/// The VAE inside a model, if it is one: what only the VAE draws.
trait AsVae {
    fn as_vae(&self) -> Option<&Vae>;
}

impl AsVae for Vae {
    fn as_vae(&self) -> Option<&Vae> {
        Some(self)
    }
}

impl AsVae for AnyAutoencoder {
    fn as_vae(&self) -> Option<&Vae> {
        None
    }
}

/// A bar per epoch (on standard error) and a line per epoch with the
/// losses in nats per example (on standard output).
struct LossProgress {
    bar: Option<ProgressBar>,
    epochs: usize,
}

impl LossProgress {
    fn new(epochs: usize) -> Self {
        LossProgress { bar: None, epochs }
    }
}

/// The step's own metrics of a summary: ` (reconstruction 100.1, kl 25.0)`.
fn breakdown(metrics: impl Iterator<Item = (String, f64)>) -> String {
    let parts: Vec<String> = metrics
        .filter(|(name, _)| name != "loss")
        .map(|(name, value)| format!("{name} {value:.4}"))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}

impl TrainObserver for LossProgress {
    fn on_start(&mut self, start: &RunStart) {
        self.epochs = start.epochs;
        say_resumed(start);
    }

    fn on_batch(&mut self, p: &BatchProgress) {
        let bar = epoch_bar(&mut self.bar, p, self.epochs);
        bar.set_message(format!("loss {:.2} {:.0} img/s", p.loss, p.images_per_second));
    }

    fn on_epoch(&mut self, s: &EpochSummary) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        let owned = |m: &nabla::train::Metrics| -> Vec<(String, f64)> {
            m.iter().map(|(n, v)| (n.to_string(), v)).collect()
        };
        let test = s.validation.as_ref().map_or(String::new(), |v| {
            format!(
                "  test loss {:.4}{}",
                v.get("loss").unwrap_or(f64::NAN),
                breakdown(owned(v).into_iter())
            )
        });
        say!(
            "epoch {:>3}/{}: train loss {:.4}{}{test}  {:.1}s ({:.0} img/s)",
            s.epoch + 1,
            self.epochs,
            s.train_loss(),
            breakdown(owned(&s.train).into_iter()),
            s.seconds,
            s.images_per_second
        );
    }
}
