//! `nabla train`: train a model on a data set, with a progress bar per
//! epoch, checkpoints every epoch, metrics as JSON lines and a chart.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

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
use crate::plot::write_curves;

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
    /// Passes over the training set.
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    /// Examples per step.
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// The optimizer: sgd, adam, adamw or rmsprop.
    #[arg(long, default_value = "adam")]
    pub optimizer: String,
    /// Learning rate (default: 0.001 for adam/adamw/rmsprop, 0.05 for sgd).
    #[arg(long)]
    pub lr: Option<f64>,
    /// Momentum for sgd and rmsprop.
    #[arg(long, default_value_t = 0.9)]
    pub momentum: f64,
    /// Weight decay (decoupled for adamw).
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f64,
    /// Learning-rate schedule over epochs: none, cosine, step (x0.1 every
    /// third of the run), exponential (x0.9 per epoch) or plateau.
    #[arg(long, default_value = "cosine")]
    pub schedule: String,
    /// Seed of the initialisation, shuffling and augmentation.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Worker threads for the arithmetic (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Data-loading threads.
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// Train on the first N training examples only (for quick runs).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Output folder (default: runs/<model>-<dataset>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Resume from a training checkpoint (a file, or a run's checkpoints/ folder).
    #[arg(long)]
    pub resume: Option<PathBuf>,
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
            println!(
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
        println!(
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
    Ok(match args.optimizer.as_str() {
        "sgd" => Box::new(Sgd::new(
            params,
            SgdConfig::new(args.lr.unwrap_or(0.05))
                .momentum(args.momentum)
                .weight_decay(args.weight_decay),
        )),
        "adam" => Box::new(Adam::new(
            params,
            AdamConfig::new(adaptive_lr).weight_decay(args.weight_decay),
        )),
        "adamw" => Box::new(AdamW::new(
            params,
            AdamWConfig::new(adaptive_lr).weight_decay(args.weight_decay),
        )),
        "rmsprop" => Box::new(RmsProp::new(
            params,
            RmsPropConfig::new(adaptive_lr)
                .momentum(args.momentum)
                .weight_decay(args.weight_decay),
        )),
        other => {
            return Err(format!(
                "unknown optimizer {other:?} (expected sgd, adam, adamw or rmsprop)"
            ))
        }
    })
}

fn schedule(
    name: &str,
    optimizer: &mut dyn Optimizer,
    epochs: usize,
) -> Result<Option<Box<dyn EpochScheduler>>, String> {
    Ok(match name {
        "none" => None,
        "cosine" => Some(Box::new(CosineAnnealingLr::new(optimizer, epochs.max(1), 0.0))),
        "step" => Some(Box::new(StepLr::new(optimizer, (epochs / 3).max(1), 0.1))),
        "exponential" => Some(Box::new(ExponentialLr::new(optimizer, 0.9))),
        "plateau" => Some(Box::new(ReduceLrOnPlateau::new(
            optimizer,
            PlateauConfig::default(),
        ))),
        other => {
            return Err(format!(
                "unknown schedule {other:?} (expected none, cosine, step, exponential or plateau)"
            ))
        }
    })
}

/// Trains, then reports the test accuracy and the files written.
pub fn run(args: Args) -> Result<(), String> {
    crate::set_threads(args.threads)?;
    nabla::on_worker_thread(|| train(args))
}

/// The training run itself, on a thread of the rayon pool (see
/// [`nabla::on_worker_thread`]).
fn train(args: Args) -> Result<(), String> {
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
    let mut scheduler = schedule(&args.schedule, optimizer.as_mut(), args.epochs)?;
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
        ..TrainConfig::default()
    };
    println!(
        "training {} on {} ({} examples, {} test) for {} epochs, batch {}, {} on {} threads",
        args.model,
        args.dataset.name(),
        train_loader.dataset().len(),
        test_loader.dataset().len(),
        args.epochs,
        args.batch_size,
        args.optimizer,
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
    let model_path = out.join("model.safetensors");
    save_module(&model, &model_path).map_err(|e| e.to_string())?;
    let curves = out.join("curves.png");
    write_curves(&curves, &history.epochs)?;
    if let Outcome::Interrupted { .. } = history.outcome {
        println!(
            "interrupted: resume with --resume {}",
            out.join("checkpoints").display()
        );
    }
    if let Some(last) = history.epochs.last() {
        if let Some(accuracy) = last.val_metric("accuracy") {
            println!("test accuracy {:.2}%", 100.0 * accuracy);
        }
    }
    println!("wrote {}", model_path.display());
    println!("wrote {}", metrics.display());
    println!("wrote {}", curves.display());
    println!("done in {:.1}s", started.elapsed().as_secs_f64());
    Ok(())
}
