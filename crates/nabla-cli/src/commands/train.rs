//! `nabla train`: train a model on a data set, with a progress bar per
//! epoch, checkpoints every epoch, metrics as JSON lines and a chart.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressStyle};
use nabla::checkpoint::save_module;
use nabla::data::{Split, Subset};
use nabla::nn::Module;
use nabla::optim::{
    Adam, AdamConfig, AdamW, AdamWConfig, CosineAnnealingLr, ExponentialLr, Optimizer, PlateauConfig,
    ReduceLrOnPlateau, RmsProp, RmsPropConfig, Sgd, SgdConfig, StepLr,
};
use nabla::train::{
    fit, install_ctrlc_handler, BatchProgress, Classification, EpochScheduler, EpochSummary, Outcome,
    RunStart, TrainConfig, TrainObserver,
};

use crate::data::DatasetKind;
use crate::models::ModelKind;
use crate::options;
use crate::output::say;
use crate::plot::write_curves;
use crate::Ending;

/// Arguments of `nabla train`. With none, LeNet-5 on the bundled MNIST.
#[derive(clap::Args)]
pub struct Args {
    /// The model: mlp, lenet5, lenet5-classic or cnn.
    #[arg(long, default_value = "lenet5")]
    pub model: ModelKind,
    /// The data: mnist (bundled), fashion-mnist, cifar10, or a folder with
    /// train/ and test/ sub-folders of class folders of images.
    #[arg(long, default_value = "mnist")]
    pub dataset: DatasetKind,
    /// Where the data set's files are (default: data/<dataset>, the bundled MNIST).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Passes over the training set (at least 1).
    #[arg(long, default_value_t = 10, value_parser = options::count)]
    pub epochs: usize,
    /// Examples per step (at least 1).
    #[arg(long, default_value_t = 64, value_parser = options::count)]
    pub batch_size: usize,
    /// The optimizer.
    #[arg(long, value_enum, default_value_t = OptimizerKind::Adam)]
    pub optimizer: OptimizerKind,
    /// Learning rate, above 0 (default: 0.001 for adam/adamw/rmsprop, 0.05 for sgd).
    #[arg(long, allow_negative_numbers = true, value_parser = options::positive)]
    pub lr: Option<f64>,
    /// Momentum for sgd and rmsprop, in [0, 1).
    #[arg(long, default_value_t = 0.9, allow_negative_numbers = true, value_parser = options::below_one)]
    pub momentum: f64,
    /// Weight decay, at least 0 (decoupled for adamw).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true, value_parser = options::non_negative)]
    pub weight_decay: f64,
    /// Learning-rate schedule over the epochs.
    #[arg(long, value_enum, default_value_t = ScheduleKind::Cosine)]
    pub schedule: ScheduleKind,
    /// Seed of the initialisation, shuffling and augmentation.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Worker threads for the arithmetic, 1 to 1024 (default: all cores).
    #[arg(long, value_parser = options::threads)]
    pub threads: Option<usize>,
    /// Data-loading threads, 0 (none: load in the training thread) to 64.
    #[arg(long, default_value_t = 2, value_parser = options::workers)]
    pub workers: usize,
    /// Train on the first N training examples only (for quick runs; at least 1).
    #[arg(long, value_parser = options::count)]
    pub limit: Option<usize>,
    /// Output folder (default: runs/<model>-<dataset>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Resume from a training checkpoint (a file, or a run's checkpoints/ folder).
    #[arg(long)]
    pub resume: Option<PathBuf>,
}

/// The optimizers `nabla train` offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OptimizerKind {
    /// Stochastic gradient descent with momentum.
    Sgd,
    /// Adam.
    Adam,
    /// Adam with decoupled weight decay.
    Adamw,
    /// RMSprop with momentum.
    Rmsprop,
}

/// The learning-rate schedules `nabla train` offers, stepped once per epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ScheduleKind {
    /// A constant learning rate.
    None,
    /// Cosine annealing to 0 over the run.
    Cosine,
    /// x0.1 every third of the run.
    Step,
    /// x0.9 per epoch.
    Exponential,
    /// x0.1 when the test loss stops improving.
    Plateau,
}

/// An indicatif bar per epoch and a summary line after it.
struct Progress {
    bar: Option<ProgressBar>,
    epochs: usize,
}

impl TrainObserver for Progress {
    fn on_start(&mut self, start: &RunStart) {
        self.epochs = start.epochs;
        if start.resumed {
            say!(
                "resuming at epoch {}, batch {}",
                start.first_epoch + 1,
                start.first_batch
            );
        }
    }

    fn on_batch(&mut self, p: &BatchProgress) {
        let epochs = self.epochs;
        let bar = self.bar.get_or_insert_with(|| {
            let bar = ProgressBar::new(p.num_batches as u64);
            bar.set_style(
                ProgressStyle::with_template("epoch {prefix} [{bar:30}] {pos}/{len} {msg}")
                    .expect("a valid template")
                    .progress_chars("=> "),
            );
            bar.set_prefix(format!("{}/{epochs}", p.epoch + 1));
            bar
        });
        bar.set_position(p.batch as u64 + 1);
        bar.set_message(format!(
            "loss {:.4} acc {:.2}% {:.0} img/s",
            p.loss,
            100.0 * p.metric("accuracy").unwrap_or(f64::NAN),
            p.images_per_second
        ));
    }

    fn on_epoch(&mut self, s: &EpochSummary) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        let test = match (s.val_loss(), s.val_metric("accuracy")) {
            (Some(l), Some(a)) => format!("  test loss {l:.4} acc {:.2}%", 100.0 * a),
            _ => String::new(),
        };
        say!(
            "epoch {:>3}/{}: train loss {:.4} acc {:.2}%{test}  lr {:.2e}  {:.1}s ({:.0} img/s)",
            s.epoch + 1,
            self.epochs,
            s.train_loss(),
            100.0 * s.train_metric("accuracy").unwrap_or(f64::NAN),
            s.lr,
            s.seconds,
            s.images_per_second
        );
    }
}

fn optimizer(args: &Args, model: &dyn Module) -> Result<Box<dyn Optimizer>, String> {
    let params = model.parameters();
    let adaptive_lr = args.lr.unwrap_or(1e-3);
    let built: nabla::Result<Box<dyn Optimizer>> = match args.optimizer {
        OptimizerKind::Sgd => Sgd::try_new(
            params,
            SgdConfig::new(args.lr.unwrap_or(0.05))
                .momentum(args.momentum)
                .weight_decay(args.weight_decay),
        )
        .map(|o| Box::new(o) as _),
        OptimizerKind::Adam => Adam::try_new(
            params,
            AdamConfig::new(adaptive_lr).weight_decay(args.weight_decay),
        )
        .map(|o| Box::new(o) as _),
        OptimizerKind::Adamw => AdamW::try_new(
            params,
            AdamWConfig::new(adaptive_lr).weight_decay(args.weight_decay),
        )
        .map(|o| Box::new(o) as _),
        OptimizerKind::Rmsprop => RmsProp::try_new(
            params,
            RmsPropConfig::new(adaptive_lr)
                .momentum(args.momentum)
                .weight_decay(args.weight_decay),
        )
        .map(|o| Box::new(o) as _),
    };
    built.map_err(|e| e.to_string())
}

fn schedule(
    kind: ScheduleKind,
    optimizer: &mut dyn Optimizer,
    epochs: usize,
) -> Option<Box<dyn EpochScheduler>> {
    match kind {
        ScheduleKind::None => None,
        ScheduleKind::Cosine => Some(Box::new(CosineAnnealingLr::new(optimizer, epochs, 0.0))),
        ScheduleKind::Step => Some(Box::new(StepLr::new(optimizer, (epochs / 3).max(1), 0.1))),
        ScheduleKind::Exponential => Some(Box::new(ExponentialLr::new(optimizer, 0.9))),
        ScheduleKind::Plateau => Some(Box::new(ReduceLrOnPlateau::new(
            optimizer,
            PlateauConfig::default(),
        ))),
    }
}

/// Trains, then reports the test accuracy and the files written.
pub fn run(args: Args) -> Result<Ending, String> {
    crate::set_threads(args.threads)?;
    nabla::on_worker_thread(|| train(args))
}

/// The training run itself, on a thread of the rayon pool (see
/// [`nabla::on_worker_thread`]).
fn train(args: Args) -> Result<Ending, String> {
    let started = Instant::now();
    let mut train_set = args.dataset.load(args.data_dir.as_deref(), Split::Train)?;
    if let Some(limit) = args.limit {
        let n = limit.min(train_set.len());
        train_set = Arc::new(Subset::new(train_set, (0..n).collect()));
    }
    let test_set = args.dataset.load(args.data_dir.as_deref(), Split::Test)?;
    let input = train_set.example_shape();
    let mut model = args.model.build(&input, train_set.num_classes(), args.seed)?;
    let mut optimizer = optimizer(&args, &model)?;
    let mut scheduler = schedule(args.schedule, optimizer.as_mut(), args.epochs);
    let train_loader = args
        .dataset
        .loader(train_set, Split::Train, args.batch_size, args.seed, args.workers);
    let test_loader = args
        .dataset
        .loader(test_set, Split::Test, 256, args.seed, args.workers);

    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("runs").join(format!("{}-{}", args.model, args.dataset.name())));
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let metrics = out.join("metrics.jsonl");
    if args.resume.is_none() {
        // A fresh run starts a fresh metrics file.
        let _ = std::fs::remove_file(&metrics);
    }
    install_ctrlc_handler();
    let config = TrainConfig {
        epochs: args.epochs,
        checkpoint_dir: Some(out.join("checkpoints")),
        keep_epoch_checkpoints: false,
        metrics_path: Some(metrics.clone()),
        resume_from: args.resume.clone(),
        stop_on_non_finite_loss: true,
        ..TrainConfig::default()
    };
    say!(
        "training {} on {} ({} examples, {} test) for {} epochs, batch {}, {} on {} threads",
        args.model,
        args.dataset.name(),
        train_loader.dataset().len(),
        test_loader.dataset().len(),
        args.epochs,
        args.batch_size,
        args.optimizer
            .to_possible_value()
            .expect("no skipped variants")
            .get_name(),
        rayon::current_num_threads()
    );
    let mut progress = Progress {
        bar: None,
        epochs: args.epochs,
    };
    let history = fit(
        &mut model,
        &mut Classification::default(),
        optimizer.as_mut(),
        scheduler.as_mut().map(|s| s.as_mut() as &mut dyn EpochScheduler),
        &train_loader,
        Some(&test_loader),
        &config,
        &mut progress,
    )
    .map_err(|e| e.to_string())?;
    if let Outcome::Diverged { epoch, batch } = history.outcome {
        return Err(format!(
            "training diverged: the loss of epoch {}, batch {} is not a finite number (try a lower --lr \
             or --weight-decay); no model was written, {} holds the last finished epoch",
            epoch + 1,
            batch + 1,
            out.join("checkpoints").display()
        ));
    }
    let model_path = out.join("model.safetensors");
    save_module(&model, &model_path).map_err(|e| e.to_string())?;
    let curves = out.join("curves.png");
    write_curves(&curves, &history.epochs)?;
    // A stop asked for after the last epoch was saved comes too late to stop anything.
    let interrupted =
        matches!(history.outcome, Outcome::Interrupted { epoch, batch } if batch > 0 || epoch < args.epochs);
    if interrupted {
        say!(
            "interrupted: resume with --resume {}",
            out.join("checkpoints").display()
        );
    }
    if let Some(last) = history.epochs.last() {
        if let Some(accuracy) = last.val_metric("accuracy") {
            say!("test accuracy {:.2}%", 100.0 * accuracy);
        }
    }
    say!("wrote {}", model_path.display());
    say!("wrote {}", metrics.display());
    say!("wrote {}", curves.display());
    say!("done in {:.1}s", started.elapsed().as_secs_f64());
    Ok(if interrupted {
        Ending::Interrupted
    } else {
        Ending::Done
    })
}
