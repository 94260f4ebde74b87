//! `nabla train --model realnvp --dataset moons|mnist`: a RealNVP flow
//! trained by maximum likelihood, epoch by epoch, validated each epoch, and
//! written as a flow checkpoint (`nabla.model = realnvp`) that `nabla
//! sample` reads, with pictures of what it learnt.
//!
//! - moons: the Keras RealNVP example (6 couplings, s and t 4x256, Adam
//!   1e-4, batch 256, 300 epochs) on `make_moons(3000, noise=0.05)`
//!   standardised, 20% held out; the loss is the negative log-likelihood
//!   in nats; `density.png` and `samples.png`.
//! - mnist: [`MultiScaleConfig::mnist`] on dequantised digits (Adam 1e-3,
//!   batch 64, gradients clipped to norm 100); the loss is bits per
//!   dimension, validated on the test set; `samples.png`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use indicatif::ProgressBar;
use nabla::data::{
    Collated, DataLoader, Dataset, LoaderConfig, Shard, Split, Stack, Subset, TensorDataset, TwoMoons,
    Unlabeled,
};
use nabla::generative::flow::{
    dequantize, save_realnvp, FlowConfig, FlowModel, MultiScaleConfig, NegativeLogLikelihood, RealNvpConfig,
};
use nabla::optim::{Adam, AdamConfig};
use nabla::train::{
    fit, install_ctrlc_handler, BatchProgress, EpochSummary, Outcome, RunStart, TrainConfig, TrainObserver,
};
use nabla::{Generator, IndexTensor, Tensor};
use serde::Serialize;

use super::folder::{self, CHECKPOINTS_DIR, CURVES_FILE, METRICS_FILE, MODEL_FILE};
use super::progress::{epoch_bar, say_resumed};
use super::settings::{Args, OptimizerKind};
use crate::data::DatasetKind;
use crate::digit_grid::write_grid;
use crate::distributed::Distributed;
use crate::flow_plots::{density_grid, write_density, write_scatter};
use crate::output::say;
use crate::plot::write_curves;
use crate::record::checkpoint_file;
use crate::{options, Ending};

/// The picture of the learnt density (moons).
pub const DENSITY_FILE: &str = "density.png";
/// The picture of samples (over the data, for moons).
pub const SAMPLES_FILE: &str = "samples.png";
/// The metadata key of the run's settings in the model file.
pub const TRAINING_KEY: &str = "nabla.training";

/// The moons a flow trains on: the Keras example's `make_moons(3000,
/// noise=0.05)`, standardised, 20% held out, drawn with `seed`.
pub fn moons(seed: u64) -> TwoMoons {
    TwoMoons::new(3000, 0.05, 0.2, &mut Generator::new(seed))
}

/// The options of `nabla train --model realnvp`.
#[derive(clap::Args, Clone, Debug, Default)]
#[command(next_help_heading = "Flows (--model realnvp)")]
pub struct FlowArgs {
    /// Coupling layers (moons) or couplings of each kind per scale (mnist),
    /// 1 to 64 [default: 6 for moons, 3 for mnist].
    #[arg(long, value_parser = options::layers)]
    pub couplings: Option<usize>,
    /// Units of the hidden layers of the couplings' networks (moons), or
    /// features of their convolutions (mnist), 1 to 65,536 [default: 256
    /// for moons, 32 for mnist].
    #[arg(long, value_parser = options::width)]
    pub coupling_width: Option<usize>,
}

impl FlowArgs {
    /// The options given, by their flags.
    pub fn given(&self) -> Vec<&'static str> {
        [
            ("--couplings", self.couplings.is_some()),
            ("--coupling-width", self.coupling_width.is_some()),
        ]
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
        .collect()
    }
}

/// The two data sets a flow trains on here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum FlowData {
    Moons,
    Mnist,
}

/// Everything that decides a flow's run, recorded in its model file.
#[derive(Clone, Debug, Serialize)]
struct FlowSettings {
    dataset: FlowData,
    config: FlowConfig,
    epochs: usize,
    batch_size: usize,
    lr: f64,
    grad_clip: Option<f64>,
    seed: u64,
    limit: Option<usize>,
}

/// The gradient norm the MNIST flow's gradients are clipped to: a guard
/// against the rare large step of a flow without normalisation layers.
const MNIST_GRAD_CLIP: f64 = 100.0;

impl FlowSettings {
    fn resolve(args: &Args) -> Result<Self, String> {
        let refused: [(&str, bool); 7] = [
            ("--momentum", args.momentum.is_some()),
            ("--weight-decay", args.weight_decay.is_some()),
            ("--schedule", args.schedule.is_some()),
            ("--augment", args.augment),
            ("--no-normalize", args.no_normalize),
            ("--max-steps", args.language.max_steps.is_some()),
            (
                "--optimizer other than adam",
                args.optimizer.is_some_and(|o| o != OptimizerKind::Adam),
            ),
        ];
        if let Some((option, _)) = refused.iter().find(|(_, given)| *given) {
            return Err(format!(
                "{option} is not an option of realnvp, which trains by Adam for --epochs at a constant --lr"
            ));
        }
        let dataset = match args.dataset.clone().unwrap_or(DatasetKind::Moons) {
            DatasetKind::Moons => FlowData::Moons,
            DatasetKind::Mnist => FlowData::Mnist,
            other => return Err(format!("realnvp trains on moons or mnist, not {}", other.spec())),
        };
        let flow = &args.flow;
        let (config, epochs, batch_size, lr, grad_clip) = match dataset {
            FlowData::Moons => {
                if args.limit.is_some() || args.data_dir.is_some() {
                    return Err("--limit and --data-dir are for mnist: moons are generated".into());
                }
                let config = RealNvpConfig {
                    couplings: flow.couplings.unwrap_or(6),
                    hidden: flow.coupling_width.unwrap_or(256),
                    ..RealNvpConfig::moons()
                };
                (FlowConfig::Dense(config), 300, 256, 1e-4, None)
            }
            FlowData::Mnist => {
                let default = MultiScaleConfig::mnist();
                let config = MultiScaleConfig {
                    couplings: flow.couplings.unwrap_or(default.couplings),
                    hidden: flow.coupling_width.unwrap_or(default.hidden),
                    ..default
                };
                (FlowConfig::MultiScale(config), 2, 64, 1e-3, Some(MNIST_GRAD_CLIP))
            }
        };
        config.validate()?;
        let parameters = config.parameter_count();
        if parameters > 100_000_000 {
            return Err(format!(
                "the flow would have {parameters} parameters; at most 100,000,000 are allowed (lower \
                 --couplings or --coupling-width)"
            ));
        }
        Ok(FlowSettings {
            dataset,
            config,
            epochs: args.epochs.unwrap_or(epochs),
            batch_size: args.batch_size.unwrap_or(batch_size),
            lr: args.lr.unwrap_or(lr),
            grad_clip,
            seed: args.seed.unwrap_or(0),
            limit: args.limit,
        })
    }
}

/// A loader of the examples of `items`, batched by `Stack`.
fn loader<D>(
    items: D,
    batch_size: usize,
    shuffle: bool,
    seed: u64,
    workers: usize,
    shard: Option<Shard>,
) -> DataLoader<Collated<D, Stack>>
where
    D: Dataset<Item = Tensor> + 'static,
{
    let config = LoaderConfig {
        batch_size,
        shuffle,
        drop_last: false,
        seed,
        workers,
        prefetch: 4,
        shard,
    };
    DataLoader::collated(Arc::new(items), Stack, config)
}

/// The rows of `points` `[N, 2]` as a data set of `[2]` tensors.
fn rows(points: &Tensor) -> Unlabeled {
    let n = points.shape()[0];
    let labels = IndexTensor::from_vec(vec![0; n], &[n]);
    Unlabeled::new(Arc::new(TensorDataset::new(points.clone(), labels, 1)))
}

/// Trains a flow; the caller has checked the model is `realnvp`.
pub fn train(args: &Args, distributed: Option<&Distributed>) -> Result<Ending, String> {
    let started = Instant::now();
    let settings = FlowSettings::resolve(args)?;
    let dataset_name = match settings.dataset {
        FlowData::Moons => "moons",
        FlowData::Mnist => "mnist",
    };
    let out = match (&args.out, &args.resume) {
        (Some(out), _) => out.clone(),
        (None, Some(resume)) => folder::run_folder_of(&checkpoint_file(resume)),
        (None, None) => folder::default_folder("realnvp", dataset_name),
    };
    let claim = super::claim_folder(&out, args.resume.is_some(), args.overwrite, distributed)?;
    let mut flow = FlowModel::new(&settings.config, &mut Generator::new(settings.seed));
    if let Some(d) = distributed {
        d.check_same_start(&settings, &out)?;
        d.parallel().broadcast_module(flow.module());
    }
    let shard = distributed.map(Distributed::shard);
    let mut optimizer =
        Adam::try_new(flow.module().parameters(), AdamConfig::new(settings.lr)).map_err(|e| e.to_string())?;
    let config_json = serde_json::to_string(&settings.config).expect("a config of numbers serializes");
    let training_json = serde_json::to_string(&settings).expect("settings of numbers serialize");
    let metadata = HashMap::from([
        (nabla::lm::MODEL_KEY.to_string(), "realnvp".to_string()),
        (nabla::lm::CONFIG_KEY.to_string(), config_json),
        (TRAINING_KEY.to_string(), training_json.clone()),
    ]);
    let metrics = out.join(METRICS_FILE);
    let checkpoints = out.join(CHECKPOINTS_DIR);
    install_ctrlc_handler();
    let config = TrainConfig {
        epochs: settings.epochs,
        checkpoint_dir: Some(checkpoints.clone()),
        keep_epoch_checkpoints: false,
        metrics_path: Some(metrics.clone()),
        resume_from: args.resume.clone(),
        clip_grad_norm: settings.grad_clip,
        stop_on_non_finite_loss: true,
        metadata: metadata.clone(),
        parallel: distributed.map(Distributed::parallel),
        ..TrainConfig::default()
    };
    let unit = match settings.dataset {
        FlowData::Moons => "nats",
        FlowData::Mnist => "bits/dim",
    };
    let mut progress = FlowProgress::new(settings.epochs, unit);
    let seed = settings.seed;
    let batch_size = settings.batch_size;
    let mut moons_data = None;
    let parameters = flow.module().num_parameters();
    let describe = |train: usize, validation: usize| {
        say!(
            "training realnvp ({parameters} parameters) on {dataset_name} ({train} examples, {validation} held \
             out) for {} epochs, batch {}, Adam lr {:.0e} on {} threads{}, into {} ({})",
            settings.epochs,
            super::describe_batch(batch_size, distributed),
            settings.lr,
            rayon::current_num_threads(),
            super::per_rank(distributed),
            out.display(),
            claim.describe()
        )
    };
    let history = match settings.dataset {
        FlowData::Moons => {
            let data = moons(seed);
            describe(data.train.shape()[0], data.validation.shape()[0]);
            let train_loader = loader(rows(&data.train), batch_size, true, seed, args.workers, shard);
            let val_loader = loader(rows(&data.validation), 1024, false, seed, args.workers, shard);
            let history = fit(
                &mut flow,
                &mut NegativeLogLikelihood,
                &mut optimizer,
                None,
                &train_loader,
                Some(&val_loader),
                &config,
                &mut progress,
            );
            moons_data = Some(data);
            history
        }
        FlowData::Mnist => {
            let dir = args.data_dir.as_deref();
            let mut train_set = DatasetKind::Mnist.load(dir, Split::Train)?;
            if let Some(limit) = settings.limit {
                let n = limit.min(train_set.len());
                train_set = Arc::new(Subset::new(train_set, (0..n).collect()));
            }
            let test_set = DatasetKind::Mnist.load(dir, Split::Test)?;
            describe(train_set.len(), test_set.len());
            // Fresh noise for every example of every epoch (the example's
            // own generator); the test set's is fixed by the seed.
            let train_loader = loader(
                Unlabeled::new(train_set),
                batch_size,
                true,
                seed,
                args.workers,
                shard,
            )
            .with_item_transform(|x: Tensor, rng: &mut Generator| dequantize(&x, rng));
            let test_loader = loader(Unlabeled::new(test_set), 500, false, seed, args.workers, shard)
                .with_item_transform(|x: Tensor, rng: &mut Generator| dequantize(&x, rng));
            fit(
                &mut flow,
                &mut NegativeLogLikelihood,
                &mut optimizer,
                None,
                &train_loader,
                Some(&test_loader),
                &config,
                &mut progress,
            )
        }
    }
    .map_err(|e| e.to_string())?;
    if let Outcome::Diverged { epoch, batch } = history.outcome {
        return Err(folder::diverged(epoch, batch, &checkpoints));
    }
    if distributed.is_some_and(|d| d.rank() != 0) {
        return Ok(super::ending(&history, settings.epochs));
    }
    let model_path = out.join(MODEL_FILE);
    let extra = HashMap::from([(TRAINING_KEY.to_string(), training_json)]);
    save_realnvp(&flow, &model_path, extra).map_err(|e| e.to_string())?;
    let curves = out.join(CURVES_FILE);
    write_curves(&curves, &history.epochs)?;
    let mut pictures = Vec::new();
    let mut sampler = Generator::new(seed ^ 0x5a3b1e);
    match (&flow, &moons_data) {
        (FlowModel::Dense(dense), Some(data)) => {
            let density = out.join(DENSITY_FILE);
            write_density(&density, &density_grid(dense), "RealNVP density on two moons")?;
            let samples = out.join(SAMPLES_FILE);
            let drawn = dense.sample(data.validation.shape()[0] * 2, &mut sampler);
            let all = Tensor::cat(&[&data.train, &data.validation], 0);
            write_scatter(&samples, Some(&all), &drawn, "RealNVP samples over the data")?;
            pictures.extend([density, samples]);
        }
        (FlowModel::MultiScale(multi), _) => {
            let samples = out.join(SAMPLES_FILE);
            write_grid(&samples, &multi.sample(64, &mut sampler), 8)?;
            pictures.push(samples);
        }
        (FlowModel::Dense(_), None) => unreachable!("a dense flow trains on moons"),
    }
    let interrupted = matches!(history.outcome,
        Outcome::Interrupted { epoch, batch } if batch > 0 || epoch < settings.epochs);
    if interrupted {
        say!(
            "interrupted: resume with --model realnvp --dataset {dataset_name} --resume {}",
            checkpoints.display()
        );
    }
    if let Some(last) = history
        .epochs
        .last()
        .and_then(|s| s.val_loss().map(|v| (s.epoch, v)))
    {
        let best = history
            .epochs
            .iter()
            .filter_map(|s| s.val_loss().map(|v| (v, s.epoch)))
            .fold((f64::INFINITY, 0), |b, x| if x.0 < b.0 { x } else { b });
        let held_out = match settings.dataset {
            FlowData::Moons => "validation negative log-likelihood",
            FlowData::Mnist => "test",
        };
        // One epoch's figure moves by a few hundredths on moons: the mean of
        // the last ten is the steadier one to compare runs by.
        let recent: Vec<f64> = history
            .epochs
            .iter()
            .rev()
            .take(10)
            .filter_map(|s| s.val_loss())
            .collect();
        let recent_mean = recent.iter().sum::<f64>() / recent.len() as f64;
        say!(
            "{held_out} {:.4} {unit} after {} epochs (best {:.4} after epoch {}, mean of the last {} {:.4})",
            last.1,
            last.0 + 1,
            best.0,
            best.1 + 1,
            recent.len(),
            recent_mean
        );
    }
    for file in [&model_path, &metrics, &curves].into_iter().chain(&pictures) {
        say!("wrote {}", file.display());
    }
    say!(
        "draw samples with: nabla sample --checkpoint {}",
        model_path.display()
    );
    say!("done in {:.1}s", started.elapsed().as_secs_f64());
    Ok(if interrupted {
        Ending::Interrupted
    } else {
        Ending::Done
    })
}

/// A bar per epoch (on standard error) and a line per epoch (on standard
/// output), the loss in the flow's unit.
struct FlowProgress {
    bar: Option<ProgressBar>,
    epochs: usize,
    unit: &'static str,
}

impl FlowProgress {
    fn new(epochs: usize, unit: &'static str) -> Self {
        FlowProgress {
            bar: None,
            epochs,
            unit,
        }
    }
}

impl TrainObserver for FlowProgress {
    fn on_start(&mut self, start: &RunStart) {
        say_resumed(start);
    }

    fn on_batch(&mut self, p: &BatchProgress) {
        let bar = epoch_bar(&mut self.bar, p, self.epochs);
        bar.set_message(format!(
            "loss {:.4} {} {:.0} examples/s",
            p.loss, self.unit, p.images_per_second
        ));
    }

    fn on_epoch(&mut self, s: &EpochSummary) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        let held_out = s
            .val_loss()
            .map_or(String::new(), |l| format!("  held out {l:.4}"));
        say!(
            "epoch {:>3}/{}: train {:.4}{held_out} {}  {:.1}s ({:.0} examples/s)",
            s.epoch + 1,
            self.epochs,
            s.train_loss(),
            self.unit,
            s.seconds,
            s.images_per_second
        );
    }
}
