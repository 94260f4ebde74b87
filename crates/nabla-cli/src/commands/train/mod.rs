//! `nabla train`: train a model on a data set, with a progress bar per
//! epoch, checkpoints every epoch, metrics as JSON lines and a chart, into
//! a run folder (see [`folder`]); `--resume` continues a run, or extends it
//! with more epochs (see [`settings`]). The language models train for a
//! number of steps instead (see [`language`]).

mod adversarial;
mod autoencoder;
mod flow;
mod folder;
mod gan;
mod language;
mod progress;
mod settings;
mod transfer;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use nabla::checkpoint::save_module_with_metadata;
use nabla::data::{Batch, Split, Subset};
use nabla::nn::{Module, Sequential};
use nabla::optim::{
    Adam, AdamConfig, AdamW, AdamWConfig, CosineAnnealingLr, ExponentialLr, Optimizer, PlateauConfig,
    ReduceLrOnPlateau, RmsProp, RmsPropConfig, Sgd, SgdConfig, StepLr,
};
use nabla::train::{
    fit, install_ctrlc_handler, Classification, EpochScheduler, Outcome, Step, TrainConfig,
    TrainingCheckpoint,
};

pub use flow::{moons, FlowArgs, TRAINING_KEY};
pub use gan::GanArgs;
pub use settings::{Args, OptimizerKind, ScheduleKind, Settings};

use crate::data::{DatasetKind, Normalization};
use crate::distributed::Distributed;
use crate::models::ModelKind;
use crate::output::say;
use crate::plot::write_curves;
use crate::record::{checkpoint_file, DataRecord, ModelRecord, RunRecord};
use crate::Ending;
use folder::{CHECKPOINTS_DIR, CURVES_FILE, METRICS_FILE, MODEL_FILE};
use progress::Progress;
use settings::value_name;

fn optimizer(settings: &Settings, model: &dyn Module) -> Result<Box<dyn Optimizer>, String> {
    let params = model.parameters();
    let (lr, momentum, weight_decay) = (settings.lr, settings.momentum, settings.weight_decay);
    let built: nabla::Result<Box<dyn Optimizer>> =
        match settings.optimizer {
            OptimizerKind::Sgd => Sgd::try_new(
                params,
                SgdConfig::new(lr).momentum(momentum).weight_decay(weight_decay),
            )
            .map(|o| Box::new(o) as _),
            OptimizerKind::Adam => Adam::try_new(params, AdamConfig::new(lr).weight_decay(weight_decay))
                .map(|o| Box::new(o) as _),
            OptimizerKind::Adamw => AdamW::try_new(params, AdamWConfig::new(lr).weight_decay(weight_decay))
                .map(|o| Box::new(o) as _),
            OptimizerKind::Rmsprop => RmsProp::try_new(
                params,
                RmsPropConfig::new(lr)
                    .momentum(momentum)
                    .weight_decay(weight_decay),
            )
            .map(|o| Box::new(o) as _),
        };
    built.map_err(|e| e.to_string())
}

/// The schedule over `epochs` epochs. A resumed run gets it freshly built
/// over its (possibly new) total and stepped through the epochs done, so an
/// extended run follows the longer schedule from the epoch reached.
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

/// Trains, then reports the test accuracy and the files written. In a
/// `--distributed` run, an error on any rank stops every rank.
pub fn run(args: Args) -> Result<Ending, String> {
    let distributed = Distributed::start(&args.distributed, args.threads)?;
    nabla::on_worker_thread(|| match (train(args, distributed.as_ref()), &distributed) {
        (Err(message), Some(d)) => d.parallel().abort(&message),
        (result, _) => result,
    })
}

/// The run being resumed: its checkpoint file, state and recorded settings.
struct Resumed {
    checkpoint: PathBuf,
    state: TrainingCheckpoint,
    settings: Option<Settings>,
}

impl Resumed {
    fn read(path: &std::path::Path) -> Result<Self, String> {
        let checkpoint = checkpoint_file(path);
        let state = TrainingCheckpoint::read(&checkpoint).map_err(|e| e.to_string())?;
        let settings = RunRecord::read(&checkpoint)?.training;
        if settings.is_none() {
            crate::note(&format!(
                "{} records no settings (written by an older nabla): resuming with the options given",
                checkpoint.display()
            ));
        }
        Ok(Resumed {
            checkpoint,
            state,
            settings,
        })
    }

    /// The epochs done, counting a partial one.
    fn reached(&self) -> String {
        match self.state.batch {
            0 => format!("{} epochs", self.state.epoch),
            b => format!("{} epochs and {b} batches", self.state.epoch),
        }
    }
}

/// Refuses an option of one family of models (the GANs, the VAE, the
/// flows, the classifiers' adversarial training, or the latent size of the
/// autoencoders and GANs) given for a model of another, which would otherwise be silently ignored.
fn refuse_options_of_other_families(args: &Args) -> Result<(), String> {
    let model = args.model;
    let families = [
        (
            args.latent_dim.map(|_| "--latent-dim").into_iter().collect(),
            model.is_some_and(|m| m.is_gan() || m.is_autoencoder()),
            "the autoencoders, the VAE and the GANs",
        ),
        (
            args.gan.given(),
            model.is_some_and(|m| m.is_gan()),
            "the GANs (--model dcgan or wgan-gp)",
        ),
        (
            args.autoencoder.given(),
            model == Some(ModelKind::Vae),
            "the VAE (--model vae)",
        ),
        (
            args.flow.given(),
            model.is_some_and(|m| m.is_flow()),
            "the flows (--model realnvp)",
        ),
        (
            args.adversarial.given(),
            model.is_none_or(ModelKind::is_classifier),
            "the classifiers (adversarial training)",
        ),
        (
            args.distributed
                .sync_batchnorm
                .then_some("--sync-batchnorm")
                .into_iter()
                .collect(),
            model.is_none_or(ModelKind::is_classifier),
            "the classifiers with BatchNorm (lenet5-bn)",
        ),
        (
            args.transfer.given(),
            model.is_some_and(|m| m.architecture().is_some()),
            "transfer learning (--model efficientnet-lite0 or resnet18)",
        ),
    ];
    for (given, fits, family) in families {
        if let (Some(option), false) = (given.first(), fits) {
            let model = model.map_or_else(|| "the default model".to_string(), |m| m.to_string());
            return Err(format!("{option} is an option of {family}, not of {model}"));
        }
    }
    Ok(())
}

/// The training run itself, on a thread of the rayon pool (see
/// [`nabla::on_worker_thread`]).
fn train(args: Args, distributed: Option<&Distributed>) -> Result<Ending, String> {
    refuse_options_of_other_families(&args)?;
    if let Some(model) = args.model.filter(|m| m.is_language_model()) {
        return language::train(&args, model, distributed);
    }
    if let Some(model) = args.model.filter(|m| m.is_gan()) {
        return gan::train(&args, model, distributed);
    }
    if let Some(model) = args.model.filter(|m| m.is_autoencoder()) {
        return autoencoder::train(&args, model, distributed);
    }
    if args.model.is_some_and(|m| m.is_flow()) {
        return flow::train(&args, distributed);
    }
    if let Some(model) = args.model.filter(|m| m.architecture().is_some()) {
        return transfer::train(&args, model, distributed);
    }
    let started = Instant::now();
    let resumed = args.resume.as_deref().map(Resumed::read).transpose()?;
    let settings = Settings::resolve(&args, resumed.as_ref().and_then(|r| r.settings.as_ref()))?;
    let dataset: DatasetKind = settings.dataset.parse()?;
    let out = match (&args.out, &resumed) {
        (Some(out), _) => out.clone(),
        (None, Some(r)) => folder::run_folder_of(&r.checkpoint),
        (None, None) => folder::default_folder(&settings.model.to_string(), &dataset.name()),
    };
    if let Some(r) = &resumed {
        let (done, partial) = (r.state.epoch, r.state.batch > 0);
        if settings.epochs == done && !partial {
            say!(
                "the run of {} has done its {done} epochs: nothing to do (extend it with --epochs above {done})",
                r.checkpoint.display()
            );
            return Ok(Ending::Done);
        }
        if settings.epochs < done + usize::from(partial) {
            return Err(format!(
                "the run of {} has done {} already: --epochs {} cannot shorten it (give more to extend it)",
                r.checkpoint.display(),
                r.reached(),
                settings.epochs
            ));
        }
    }
    let resuming_here = resumed
        .as_ref()
        .is_some_and(|r| folder::same_folder(&folder::run_folder_of(&r.checkpoint), &out));
    let claim = claim_folder(&out, resuming_here, args.overwrite, distributed)?;
    if let Some(d) = distributed {
        d.check_same_start(&settings, &out)?;
    }

    let data_dir = settings.data_dir.as_deref();
    let mut train_set = dataset.load(data_dir, Split::Train)?;
    if let Some(limit) = settings.limit {
        let n = limit.min(train_set.len());
        train_set = Arc::new(Subset::new(train_set, (0..n).collect()));
    }
    let test_set = dataset.load(data_dir, Split::Test)?;
    let input = train_set.example_shape();
    let classes = train_set.num_classes();
    let mut model = settings.model.build(&input, classes, settings.seed)?;
    if let Some(d) = distributed {
        #[cfg(feature = "mpi")]
        d.sync_batch_norm(&mut model)?;
        let examples = format!("{} training, {} test", train_set.len(), test_set.len());
        d.parallel()
            .check_same(&[("examples", examples)])
            .map_err(|e| e.to_string())?;
        d.parallel().broadcast_module(&model);
    }
    let mut optimizer = optimizer(&settings, &model)?;
    let mut scheduler = schedule(settings.schedule, optimizer.as_mut(), settings.epochs);
    // Recorded below, so that eval, predict and show prepare inputs the same way.
    let normalization = if settings.normalize {
        dataset.normalization_for(input[0])
    } else {
        Normalization::identity(input[0])
    };
    let record = RunRecord {
        model: Some(ModelRecord {
            kind: settings.model,
            input: input.clone(),
            classes,
        }),
        data: Some(DataRecord {
            dataset: settings.dataset.clone(),
            mean: normalization.mean.clone(),
            std: normalization.std.clone(),
            class_names: train_set.class_names(),
        }),
        training: Some(settings.clone()),
    };
    // Adversarial training attacks pixels: its loader gives them raw and
    // the step normalises them inside the differentiated function.
    let loader_normalization = match &settings.adversarial {
        Some(_) => Normalization::identity(input[0]),
        None => normalization.clone(),
    };
    let shard = distributed.map(Distributed::shard);
    let train_loader = dataset
        .training_loader(
            train_set,
            &loader_normalization,
            settings.batch_size,
            settings.seed,
            args.workers,
            settings.augment,
        )
        .with_shard(shard);
    let test_loader = dataset
        .loader(
            test_set,
            Split::Test,
            &loader_normalization,
            256,
            settings.seed,
            args.workers,
        )
        .with_shard(shard);

    let metrics = out.join(METRICS_FILE);
    let checkpoints = out.join(CHECKPOINTS_DIR);
    install_ctrlc_handler();
    let config = TrainConfig {
        epochs: settings.epochs,
        checkpoint_dir: Some(checkpoints.clone()),
        keep_epoch_checkpoints: false,
        metrics_path: Some(metrics.clone()),
        resume_from: resumed.as_ref().map(|r| r.checkpoint.clone()),
        stop_on_non_finite_loss: true,
        metadata: record.to_metadata(),
        parallel: distributed.map(Distributed::parallel),
        ..TrainConfig::default()
    };
    say!(
        "training {} on {} ({} examples, {} test) for {} epochs, batch {}, {} on {} threads{}, into {} ({})",
        settings.model,
        dataset.name(),
        train_loader.dataset().len(),
        test_loader.dataset().len(),
        settings.epochs,
        describe_batch(settings.batch_size, distributed),
        value_name(&settings.optimizer),
        rayon::current_num_threads(),
        per_rank(distributed),
        out.display(),
        claim.describe()
    );
    let mut classification = Classification::default();
    let mut adversarial_step = match &settings.adversarial {
        Some(attack) => {
            say!("each batch replaced by its adversarial examples: {attack}");
            Some(adversarial::step(attack, &normalization, settings.seed)?)
        }
        None => None,
    };
    let step: &mut dyn Step<Sequential, Batch> = match adversarial_step.as_mut() {
        Some(s) => s,
        None => &mut classification,
    };
    let mut progress = Progress::new(settings.epochs);
    let history = fit(
        &mut model,
        step,
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
            checkpoints.display()
        ));
    }
    if distributed.is_some_and(|d| d.rank() != 0) {
        return Ok(ending(&history, settings.epochs));
    }
    let model_path = out.join(MODEL_FILE);
    save_module_with_metadata(&model, &model_path, record.to_metadata()).map_err(|e| e.to_string())?;
    let curves = out.join(CURVES_FILE);
    write_curves(&curves, &history.epochs)?;
    let interrupted = ending(&history, settings.epochs) == Ending::Interrupted;
    if interrupted {
        say!("interrupted: resume with --resume {}", checkpoints.display());
    }
    if let Some(last) = history.epochs.last() {
        if let Some(accuracy) = last.val_metric("accuracy") {
            say!("test accuracy {:.2}%", 100.0 * accuracy);
        }
        if let (Some(accuracy), Some(attack)) = (last.val_metric("adv_accuracy"), &settings.adversarial) {
            say!(
                "test accuracy under the training attack ({attack}) {:.2}%",
                100.0 * accuracy
            );
        }
    }
    say!("wrote {}", model_path.display());
    say!("wrote {}", metrics.display());
    say!("wrote {}", curves.display());
    say!("done in {:.1}s", started.elapsed().as_secs_f64());
    Ok(ending(&history, settings.epochs))
}

/// How a run of `epochs` epochs ended: a stop asked for after the last
/// epoch was saved comes too late to stop anything.
pub(super) fn ending(history: &nabla::train::History, epochs: usize) -> Ending {
    match history.outcome {
        Outcome::Interrupted { epoch, batch } if batch > 0 || epoch < epochs => Ending::Interrupted,
        _ => Ending::Done,
    }
}

/// Claims the run folder: on rank 0 alone in a `--distributed` run (the
/// others wait for it in the start-up check that follows).
pub(super) fn claim_folder(
    out: &std::path::Path,
    resuming_here: bool,
    overwrite: bool,
    distributed: Option<&Distributed>,
) -> Result<folder::Claim, String> {
    match distributed {
        Some(d) if d.rank() != 0 => Ok(folder::Claim::ClaimedByRank0),
        _ => folder::claim(out, resuming_here, overwrite),
    }
}

/// ` per rank` after the threads in a `--distributed` run's first line.
pub(super) fn per_rank(distributed: Option<&Distributed>) -> &'static str {
    if distributed.is_some() {
        " per rank"
    } else {
        ""
    }
}

/// The batch as the log says it: per rank and in all in a `--distributed` run.
pub(super) fn describe_batch(batch: usize, distributed: Option<&Distributed>) -> String {
    match distributed {
        Some(d) => d.describe_batch(batch),
        None => batch.to_string(),
    }
}
