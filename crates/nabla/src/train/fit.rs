//! The training loop ([`fit`]) and evaluation with a step ([`evaluate`]).

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::checkpoint_state::{self, TrainingCheckpoint};
use super::config::{EarlyStopping, MonitorMode, TrainConfig};
use super::observer::{BatchProgress, RunStart, TrainObserver};
use super::parallel::data_parallel_backward;
use super::running::RunningMeans;
use super::schedule::EpochScheduler;
use super::step::Step;
use super::summary::{EpochSummary, History, Metrics, Outcome};
use super::MetricsLog;
use crate::autograd::no_grad;
use crate::checkpoint::save_module_with_metadata;
use crate::data::{BatchSource, DataLoader};
use crate::error::{Error, Result};
use crate::fs::remove_stale_temp_files;
use crate::nn::AsModule;
use crate::optim::{clip_grad_norm_with_, Optimizer};

/// The best monitored figure so far and the summaries since it improved.
#[derive(Clone, Debug)]
struct Monitor {
    metric: String,
    mode: MonitorMode,
    min_delta: f64,
    best: f64,
    best_index: Option<usize>,
    since_improvement: usize,
}

impl Monitor {
    fn new(early: Option<&EarlyStopping>) -> Self {
        let default = EarlyStopping::new(0);
        let e = early.unwrap_or(&default);
        Monitor {
            metric: e.metric.clone(),
            mode: e.mode,
            min_delta: e.min_delta,
            best: match e.mode {
                MonitorMode::Min => f64::INFINITY,
                MonitorMode::Max => f64::NEG_INFINITY,
            },
            best_index: None,
            since_improvement: 0,
        }
    }

    /// Records the summary at `index` of the history; true if it improved.
    fn update(&mut self, summary: &EpochSummary, index: usize) -> bool {
        let value = summary.monitored(&self.metric);
        let improved = match self.mode {
            MonitorMode::Min => value < self.best - self.min_delta,
            MonitorMode::Max => value > self.best + self.min_delta,
        };
        if improved {
            self.best = value;
            self.best_index = Some(index);
            self.since_improvement = 0;
        } else {
            self.since_improvement += 1;
        }
        improved
    }

    fn should_stop(&self, early: Option<&EarlyStopping>) -> bool {
        early.is_some_and(|e| self.since_improvement > 0 && self.since_improvement >= e.patience)
    }
}

/// Trains `model` with `optimizer` (built over `model.parameters()`) on
/// the batches of `train`, each turned into a loss and metrics by `step`
/// ([`Classification`](super::Classification) for classifiers), for
/// [`TrainConfig::epochs`] epochs, or [`TrainConfig::max_steps`] steps.
///
/// Each epoch, in order:
///
/// 1. `model.train(true)`, then for each batch of
///    [`train.epoch(e)`](DataLoader::epoch): zero the gradients,
///    [`step.train_step`](Step::train_step) (with
///    [`TrainConfig::stop_on_non_finite_loss`], a loss that is not finite
///    ends the run here with [`Outcome::Diverged`]), backward of its loss, optional
///    clipping, `optimizer.step()`, [`TrainObserver::on_batch`]; then, if
///    the [interrupt](TrainConfig::interrupt) flag is set, take it, save the
///    checkpoint at this exact batch position and return
///    [`Outcome::Interrupted`].
/// 2. [`evaluate`] with the step on `validation`, if any (in eval mode,
///    without a graph).
/// 3. The schedule's [`step_epoch`](EpochScheduler::step_epoch).
/// 4. The metrics line, then the checkpoints (`last`, the epoch's, `best`
///    on improvement), [`TrainObserver::on_epoch`].
/// 5. Early stopping, and the interrupt flag again (stopping between
///    epochs, the checkpoint is already written).
///
/// With [`TrainConfig::parallel`] (data-parallel training), backward
/// averages the gradients over the processes, the summaries' metrics are
/// summed over them, a non-finite loss or an interrupt on any process stops
/// all of them at the same batch, and only rank 0 writes the metrics file
/// and the checkpoints.
///
/// A step-based run ([`TrainConfig::max_steps`]) goes through the epochs
/// `0, 1, 2, ...` of `train` until it has taken `max_steps` steps, and does
/// 2 to 5 every [`TrainConfig::eval_every`] steps and after the last one,
/// in the middle of an epoch as it comes; its summaries and metrics cover
/// the steps since the previous one.
///
/// With [`TrainConfig::resume_from`], the model, optimizer, schedule,
/// position, partial metrics and history are first restored from the
/// checkpoint, and training goes on exactly as if never stopped: the same
/// batches in the same order, the same updates, the same final weights bit
/// for bit (given a loader whose order depends only on its seed and the
/// epoch, a step without random state of its own, and a model without
/// random state of its own such as [`Dropout`](crate::nn::Dropout)'s
/// generator, which checkpoints do not hold).
///
/// # Errors
/// From resuming (see [`TrainingCheckpoint::resume`]; also
/// [`Error::Format`] when the checkpoint was made with a training loader of
/// another seed or number of batches, or by an epoch-based run for a
/// step-based one or the other way round), and [`Error::Io`] writing the
/// checkpoints or the metrics file.
///
/// # Panics
/// If the step panics (say, on a model output of the wrong shape), if the
/// schedule given with `resume_from` has already stepped, or if a
/// step-based run's loader has no batches.
// The loop's inputs are independent and each is needed; a struct of them
// would only be built to be taken apart again.
#[allow(clippy::too_many_arguments)]
pub fn fit<M, S, T>(
    model: &mut M,
    step: &mut T,
    optimizer: &mut dyn Optimizer,
    mut scheduler: Option<&mut dyn EpochScheduler>,
    train: &DataLoader<S>,
    validation: Option<&DataLoader<S>>,
    config: &TrainConfig,
    observer: &mut dyn TrainObserver,
) -> Result<History>
where
    M: AsModule + ?Sized,
    S: BatchSource,
    T: Step<M, S::Batch> + ?Sized,
{
    let num_batches = train.num_batches();
    let loader_seed = train.config().seed;
    let interval = config.interval();
    assert!(
        interval.is_none() || num_batches > 0,
        "fit: a step-based run needs a training loader with at least one batch"
    );
    let (mut state, resumed) = match &config.resume_from {
        Some(from) => {
            let path = checkpoint_state::resolve(from);
            let state = checkpoint_state::resume_checked(
                &path,
                model.as_module(),
                optimizer,
                scheduler.as_deref_mut(),
                |c| {
                    c.check_loader(&path, num_batches, loader_seed)?;
                    c.check_interval(&path, interval)
                },
            )?;
            (state, true)
        }
        None => {
            let mut state = TrainingCheckpoint::new(num_batches, loader_seed);
            state.interval = interval;
            (state, false)
        }
    };

    // A resumed run keeps its record, updated by the config's entries.
    state.metadata.extend(config.metadata.clone());
    let early = config.early_stopping.as_ref();
    let mut monitor = Monitor::new(early);
    for (i, summary) in state.history.iter().enumerate() {
        monitor.update(summary, i);
    }
    // In data-parallel training, rank 0 alone writes files.
    let writes_files = config.parallel.as_ref().is_none_or(|p| p.rank() == 0);
    let mut log = match writes_files {
        true => config.metrics_path.as_ref().map(MetricsLog::append).transpose()?,
        false => None,
    };
    let dir = config.checkpoint_dir.as_deref().filter(|_| writes_files);
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        remove_stale_temp_files(dir)?;
    }
    observer.on_start(&RunStart {
        epochs: config.epochs,
        max_steps: config.max_steps,
        first_epoch: state.epoch,
        first_batch: state.batch,
        first_step: state.steps,
        num_batches,
        resumed,
    });

    let mut run = Run {
        state: &mut state,
        monitor: &mut monitor,
        log: log.as_mut(),
        dir,
        checkpoint: None,
        outcome: Outcome::Completed,
    };
    if run.monitor.should_stop(early) {
        // Resumed from the checkpoint of a run that had stopped early.
        run.outcome = Outcome::EarlyStopped {
            epoch: run.state.history.len().saturating_sub(1),
        };
    }
    // The epoch (interval) being trained; it spans epochs in a step-based run.
    let mut period = Period::start(optimizer, run.state.epoch_seconds);
    while run.outcome == Outcome::Completed && !finished(config, run.state) {
        let epoch = run.state.epoch;
        model.as_module_mut().train(true);
        for batch in train.epoch_from(epoch, run.state.batch) {
            optimizer.zero_grad();
            let output = step.train_step(model, &batch);
            if config.stop_on_non_finite_loss && agreed(config, !output.loss.item().is_finite()) {
                run.outcome = Outcome::Diverged {
                    epoch,
                    batch: run.state.batch,
                };
                return Ok(run.into_history());
            }
            data_parallel_backward(config.parallel.as_deref(), &output.loss, optimizer.parameters());
            if let Some(max_norm) = config.clip_grad_norm {
                clip_grad_norm_with_(optimizer.parameters(), max_norm, 2.0);
            }
            if let Some(schedule) = &config.step_schedule {
                optimizer.set_learning_rate(schedule.learning_rate(run.state.steps));
                period.lr = optimizer.learning_rate();
            }
            optimizer.step();
            let batch_loss = run.state.running.add(&output);
            run.state.batch += 1;
            run.state.steps += 1;
            let seconds = period.seconds();
            let metrics = run.state.running.means();
            observer.on_batch(&BatchProgress {
                epoch,
                batch: run.state.batch - 1,
                num_batches,
                step: run.state.steps,
                loss: metrics.get("loss").unwrap_or(f64::NAN),
                metrics,
                batch_loss,
                lr: period.lr,
                images_per_second: run.state.running.examples as f64 / seconds,
            });
            let period_ends =
                interval.is_some_and(|every| run.state.steps % every == 0 || finished(config, run.state));
            if period_ends {
                // The summary takes the interrupt flag after its checkpoint.
                let summary = period.summary(run.state, model, step, validation, observer, config);
                run.end_summary(
                    summary,
                    config,
                    model,
                    optimizer,
                    scheduler.as_deref_mut(),
                    observer,
                )?;
                if run.outcome != Outcome::Completed || finished(config, run.state) {
                    break;
                }
                model.as_module_mut().train(true);
                period = Period::start(optimizer, 0.0);
            } else if take_interrupt(config) {
                run.state.epoch_seconds = seconds;
                if let Some(dir) = dir {
                    let path = save(run.state, dir, None, model, optimizer, scheduler.as_deref())?;
                    observer.on_checkpoint(&path);
                    run.checkpoint = Some(path);
                }
                run.outcome = Outcome::Interrupted {
                    epoch,
                    batch: run.state.batch,
                };
                return Ok(run.into_history());
            }
        }
        if interval.is_none() {
            let summary = period.summary(run.state, model, step, validation, observer, config);
            run.end_summary(
                summary,
                config,
                model,
                optimizer,
                scheduler.as_deref_mut(),
                observer,
            )?;
            period = Period::start(optimizer, 0.0);
        } else if run.state.batch >= num_batches {
            run.state.epoch += 1;
            run.state.batch = 0;
        }
    }
    Ok(run.into_history())
}

/// True if `flag` is true here or, in data-parallel training, in any
/// process: what makes every process take the same branch.
fn agreed(config: &TrainConfig, flag: bool) -> bool {
    match &config.parallel {
        Some(parallel) => parallel.any(flag),
        None => flag,
    }
}

/// Takes the interrupt flag, set here or in any process.
fn take_interrupt(config: &TrainConfig) -> bool {
    agreed(config, config.interrupt.take())
}

/// True when the run has done all its epochs, or all its steps.
fn finished(config: &TrainConfig, state: &TrainingCheckpoint) -> bool {
    match config.max_steps {
        Some(max) => state.steps >= max,
        None => state.epoch >= config.epochs,
    }
}

/// The mutable state of a call of [`fit`] that the end of a summary touches.
struct Run<'a> {
    state: &'a mut TrainingCheckpoint,
    monitor: &'a mut Monitor,
    log: Option<&'a mut MetricsLog>,
    dir: Option<&'a Path>,
    checkpoint: Option<PathBuf>,
    outcome: Outcome,
}

impl Run<'_> {
    /// Steps the schedule on `summary`, records it, writes the metrics line
    /// and the checkpoints, tells the observer, and decides whether to stop.
    fn end_summary<M: AsModule + ?Sized>(
        &mut self,
        summary: EpochSummary,
        config: &TrainConfig,
        model: &M,
        optimizer: &mut dyn Optimizer,
        mut scheduler: Option<&mut (dyn EpochScheduler + '_)>,
        observer: &mut dyn TrainObserver,
    ) -> Result<()> {
        if let Some(scheduler) = scheduler.as_deref_mut() {
            scheduler.step_epoch(optimizer, &summary);
        }
        let index = self.state.history.len();
        let improved = self.monitor.update(&summary, index);
        self.state.history.push(summary.clone());
        if self.state.interval.is_none() {
            self.state.epoch += 1;
            self.state.batch = 0;
        }
        self.state.running = RunningMeans::default();
        self.state.epoch_seconds = 0.0;

        if let Some(log) = &mut self.log {
            log.write_epoch(&summary)?;
        }
        if let Some(dir) = self.dir {
            let keep = config.keep_epoch_checkpoints.then(|| {
                dir.join(match summary.step {
                    Some(step) => checkpoint_state::step_file_name(step),
                    None => checkpoint_state::epoch_file_name(self.state.epoch),
                })
            });
            let path = save(
                self.state,
                dir,
                keep.as_deref(),
                model,
                optimizer,
                scheduler.as_deref(),
            )?;
            if let Some(kept) = &keep {
                observer.on_checkpoint(kept);
            }
            observer.on_checkpoint(&path);
            self.checkpoint = Some(path);
            if improved {
                let best = dir.join(checkpoint_state::BEST_FILE);
                save_module_with_metadata(model.as_module(), &best, config.metadata.clone())?;
                observer.on_checkpoint(&best);
            }
        }
        observer.on_epoch(&summary);

        let early = config.early_stopping.as_ref();
        if self.monitor.should_stop(early) {
            self.outcome = Outcome::EarlyStopped { epoch: index };
            take_interrupt(config);
        } else if take_interrupt(config) {
            self.outcome = Outcome::Interrupted {
                epoch: self.state.epoch,
                batch: self.state.batch,
            };
        }
        Ok(())
    }

    fn into_history(self) -> History {
        History {
            epochs: self.state.history.clone(),
            outcome: self.outcome,
            best_epoch: self.monitor.best_index,
            checkpoint: self.checkpoint,
        }
    }
}

/// The epoch (or interval) being trained: when it started, the seconds
/// spent on it before a resume, and its learning rate.
struct Period {
    started: Instant,
    seconds_before: f64,
    lr: f64,
}

impl Period {
    fn start(optimizer: &dyn Optimizer, seconds_before: f64) -> Self {
        Period {
            started: Instant::now(),
            seconds_before,
            lr: optimizer.learning_rate(),
        }
    }

    fn seconds(&self) -> f64 {
        self.seconds_before + self.started.elapsed().as_secs_f64()
    }

    /// Validates (if there is validation) and sums up the period (over all
    /// the processes of data-parallel training).
    fn summary<M, S, T>(
        &self,
        state: &TrainingCheckpoint,
        model: &mut M,
        step: &mut T,
        validation: Option<&DataLoader<S>>,
        observer: &mut dyn TrainObserver,
        config: &TrainConfig,
    ) -> EpochSummary
    where
        M: AsModule + ?Sized,
        S: BatchSource,
        T: Step<M, S::Batch> + ?Sized,
    {
        let train_seconds = self.seconds();
        let parallel = config.parallel.as_deref();
        let reduced = |running: RunningMeans| match parallel {
            Some(parallel) => running.all_reduced(parallel),
            None => running,
        };
        let validation = validation.map(|loader| {
            observer.on_validation(state.epoch, loader.num_batches());
            reduced(evaluate_sums(model, loader, step)).means()
        });
        let train = reduced(state.running.clone());
        EpochSummary {
            epoch: state.epoch,
            step: state.interval.map(|_| state.steps),
            train: train.means(),
            validation,
            lr: self.lr,
            seconds: self.seconds(),
            images_per_second: train.examples as f64 / train_seconds,
        }
    }
}

/// Fills in the schedule's part of `state` and writes
/// it to `dir/last.safetensors` (and first to `also`, if given); returns the
/// path of `last`.
fn save<M: AsModule + ?Sized>(
    state: &mut TrainingCheckpoint,
    dir: &Path,
    also: Option<&Path>,
    model: &M,
    optimizer: &dyn Optimizer,
    scheduler: Option<&dyn EpochScheduler>,
) -> Result<PathBuf> {
    state.scheduler_steps = scheduler.map(EpochScheduler::steps_taken);
    if let Some(path) = also {
        state.save(path, model.as_module(), optimizer)?;
    }
    let last = dir.join(checkpoint_state::LAST_FILE);
    state.save(&last, model.as_module(), optimizer)?;
    Ok(last)
}

/// Evaluates `model` with `step` ([`Step::eval_step`]) on every batch of
/// `loader` (its epoch 0) in eval mode and without recording a graph, then
/// puts the model back in the mode it was in: the mean of each metric over
/// the examples it covers, `loss` first (none for an empty loader).
///
/// ```
/// use std::sync::Arc;
/// use nabla::data::{DataLoader, LoaderConfig, TensorDataset};
/// use nabla::nn::Linear;
/// use nabla::train::{evaluate, Classification};
/// use nabla::{Generator, IndexTensor, Tensor};
/// let data = TensorDataset::new(Tensor::ones(&[10, 3]), IndexTensor::from_vec(vec![1; 10], &[10]), 2);
/// let loader = DataLoader::new(Arc::new(data), LoaderConfig { batch_size: 4, ..LoaderConfig::default() });
/// let mut model = Linear::new(3, 2, true, &mut Generator::new(0));
/// let metrics = evaluate(&mut model, &loader, &mut Classification::default());
/// assert_eq!(metrics.names().collect::<Vec<_>>(), ["loss", "accuracy"]);
/// let accuracy = metrics.get("accuracy").unwrap();
/// assert!(accuracy == 0.0 || accuracy == 1.0); // the same input and label everywhere
/// ```
pub fn evaluate<M, S, T>(model: &mut M, loader: &DataLoader<S>, step: &mut T) -> Metrics
where
    M: AsModule + ?Sized,
    S: BatchSource,
    T: Step<M, S::Batch> + ?Sized,
{
    evaluate_sums(model, loader, step).means()
}

/// [`evaluate`]'s sums, before they are turned into means.
fn evaluate_sums<M, S, T>(model: &mut M, loader: &DataLoader<S>, step: &mut T) -> RunningMeans
where
    M: AsModule + ?Sized,
    S: BatchSource,
    T: Step<M, S::Batch> + ?Sized,
{
    let mut running = RunningMeans::default();
    let was_training = model.as_module().is_training();
    model.as_module_mut().eval();
    no_grad(|| {
        for batch in loader.epoch(0) {
            running.add(&step.eval_step(model, &batch));
        }
    });
    model.as_module_mut().train(was_training);
    running
}
