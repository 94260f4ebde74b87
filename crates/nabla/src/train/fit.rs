//! The training loop ([`fit`]), evaluation ([`evaluate`]) and the types they
//! take and return.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::checkpoint_state::{self, TrainingCheckpoint};
use super::float_repr;
use super::interrupt::Interrupt;
use super::metrics::{top_k_correct, ConfusionMatrix, RunningMetrics};
use super::MetricsLog;
use crate::autograd::no_grad;
use crate::checkpoint::save_module;
use crate::data::DataLoader;
use crate::error::{Error, Result};
use crate::nn::loss::{cross_entropy_with, cross_entropy_with_label_smoothing, Reduction};
use crate::nn::{Layer, Module};
use crate::optim::{clip_grad_norm_with_, LrScheduler, Optimizer, PlateauMode, ReduceLrOnPlateau};

/// How [`fit`] trains: epochs, early stopping, checkpoints, metrics,
/// resumption, and the interrupt flag it watches.
///
/// `Default` gives 10 epochs, no early stopping, no checkpoints, no metrics
/// file, no clipping or label smoothing, and the Ctrl-C flag
/// ([`Interrupt::ctrl_c`]; install the handler with
/// [`install_ctrlc_handler`](super::install_ctrlc_handler)).
#[derive(Clone, Debug)]
pub struct TrainConfig {
    /// The total number of epochs. A resumed run trains until it has done
    /// this many in all, so the same config resumes where a run stopped.
    pub epochs: usize,
    /// Stop when the monitored loss has not improved for a while.
    pub early_stopping: Option<EarlyStopping>,
    /// A directory for checkpoints (created if needed): `last.safetensors`
    /// after every epoch and on an interrupt, `epoch-NNNN.safetensors`
    /// after epoch `NNNN` (counting from 1) if
    /// [`keep_epoch_checkpoints`](Self::keep_epoch_checkpoints), and
    /// `best.safetensors` (the model alone, as
    /// [`save_module`](crate::checkpoint::save_module) writes it) whenever
    /// the monitored loss improves. `None`: no checkpoints (an interrupt then
    /// stops without saving).
    pub checkpoint_dir: Option<PathBuf>,
    /// Keep every epoch's checkpoint besides `last.safetensors` (default true).
    pub keep_epoch_checkpoints: bool,
    /// A JSON-lines file that gets one line per epoch (appended, flushed);
    /// see the [module docs](super#the-metrics-file).
    pub metrics_path: Option<PathBuf>,
    /// Resume from this training checkpoint (a file, or a checkpoint
    /// directory meaning its `last.safetensors`); see
    /// [`TrainingCheckpoint::resume`] for what the model, optimizer and
    /// schedule must be.
    pub resume_from: Option<PathBuf>,
    /// Clip the gradients' global 2-norm to this before each step.
    pub clip_grad_norm: Option<f64>,
    /// Label smoothing of the training loss, in `[0, 1]` (default 0; the
    /// reported validation loss is always the plain cross-entropy).
    pub label_smoothing: f64,
    /// The flag checked after every step (default: the Ctrl-C flag).
    pub interrupt: Interrupt,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 10,
            early_stopping: None,
            checkpoint_dir: None,
            keep_epoch_checkpoints: true,
            metrics_path: None,
            resume_from: None,
            clip_grad_norm: None,
            label_smoothing: 0.0,
            interrupt: Interrupt::ctrl_c(),
        }
    }
}

/// Early stopping on the monitored loss: the validation loss, or the
/// training loss without validation ([`EpochSummary::monitored_loss`]).
///
/// An epoch improves when its loss is below the best so far by more than
/// `min_delta`; training stops after `patience` epochs in a row without
/// improvement (as Keras' and Lightning's `EarlyStopping`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EarlyStopping {
    /// Epochs in a row without improvement that stop training.
    pub patience: usize,
    /// The least decrease that counts as an improvement (default 0).
    pub min_delta: f64,
}

impl EarlyStopping {
    /// Stops after `patience` epochs without improvement, `min_delta` 0.
    pub fn new(patience: usize) -> Self {
        EarlyStopping {
            patience,
            min_delta: 0.0,
        }
    }
}

/// A learning-rate schedule as [`fit`] drives it: one step at the end of
/// each epoch, after validation, seeing the epoch's summary.
///
/// Every [`LrScheduler`] is one (its step ignores the summary), and so is
/// [`ReduceLrOnPlateau`], which steps on [`EpochSummary::monitored_loss`]
/// in `Min` mode and on [`EpochSummary::monitored_accuracy`] in `Max` mode.
///
/// A schedule's state must follow from its construction and the summaries
/// it has stepped on: that is how [`TrainingCheckpoint::resume`] restores
/// it, by stepping a freshly built one through the saved history.
pub trait EpochScheduler {
    /// Ends an epoch: sets `optimizer`'s learning rate for the next one.
    fn step_epoch(&mut self, optimizer: &mut dyn Optimizer, summary: &EpochSummary);

    /// The number of steps taken (0 when freshly built).
    fn steps_taken(&self) -> usize;
}

impl<S: LrScheduler> EpochScheduler for S {
    fn step_epoch(&mut self, optimizer: &mut dyn Optimizer, _summary: &EpochSummary) {
        self.step(optimizer);
    }

    fn steps_taken(&self) -> usize {
        self.last_epoch()
    }
}

impl EpochScheduler for ReduceLrOnPlateau {
    fn step_epoch(&mut self, optimizer: &mut dyn Optimizer, summary: &EpochSummary) {
        let metric = match self.config().mode {
            PlateauMode::Min => summary.monitored_loss(),
            PlateauMode::Max => summary.monitored_accuracy(),
        };
        self.step(metric, optimizer);
    }

    fn steps_taken(&self) -> usize {
        self.last_epoch()
    }
}

/// The figures of one epoch: what the metrics file and the history hold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochSummary {
    /// The epoch's index, from 0 (as given to [`DataLoader::epoch`]).
    pub epoch: usize,
    /// The mean training loss per example (with the label smoothing
    /// applied, if any).
    #[serde(with = "float_repr")]
    pub train_loss: f64,
    /// The fraction of training examples predicted right (while training,
    /// in training mode).
    #[serde(with = "float_repr")]
    pub train_accuracy: f64,
    /// The mean validation loss per example, if there is validation.
    #[serde(with = "float_repr::option")]
    pub val_loss: Option<f64>,
    /// The validation accuracy, if there is validation.
    #[serde(with = "float_repr::option")]
    pub val_accuracy: Option<f64>,
    /// The learning rate the epoch trained with.
    #[serde(with = "float_repr")]
    pub lr: f64,
    /// Wall time of the epoch, validation included (summed over the runs
    /// of an epoch that was interrupted and resumed).
    #[serde(with = "float_repr")]
    pub seconds: f64,
    /// Training examples per second.
    #[serde(with = "float_repr")]
    pub images_per_second: f64,
}

impl EpochSummary {
    /// The loss that early stopping, the best checkpoint and
    /// [`ReduceLrOnPlateau`] watch: the validation loss, or the training
    /// loss without validation.
    pub fn monitored_loss(&self) -> f64 {
        self.val_loss.unwrap_or(self.train_loss)
    }

    /// The validation accuracy, or the training accuracy without validation.
    pub fn monitored_accuracy(&self) -> f64 {
        self.val_accuracy.unwrap_or(self.train_accuracy)
    }
}

/// How a call of [`fit`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// All [`TrainConfig::epochs`] were run.
    Completed,
    /// Early stopping ended training after epoch `epoch` (its index).
    EarlyStopped {
        /// The index of the last epoch run.
        epoch: usize,
    },
    /// The interrupt flag stopped training; the checkpoint (if there is a
    /// checkpoint directory) holds this position: `batch` batches of epoch
    /// `epoch` done (0 when stopped between epochs).
    Interrupted {
        /// The epoch in progress, or the next one when `batch` is 0.
        epoch: usize,
        /// The batches of `epoch` done.
        batch: usize,
    },
}

/// What [`fit`] returns.
#[derive(Clone, Debug, PartialEq)]
pub struct History {
    /// Every finished epoch, those of earlier runs included when resumed.
    pub epochs: Vec<EpochSummary>,
    /// How training ended.
    pub outcome: Outcome,
    /// The index of the epoch with the best monitored loss (the one
    /// `best.safetensors` holds), if any improved.
    pub best_epoch: Option<usize>,
    /// The last checkpoint written by this call, if any.
    pub checkpoint: Option<PathBuf>,
}

/// Where a call of [`fit`] starts, for [`TrainObserver::on_start`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunStart {
    /// The total number of epochs.
    pub epochs: usize,
    /// The first epoch to run (past 0 when resumed).
    pub first_epoch: usize,
    /// Batches of `first_epoch` already done (past 0 when resumed mid-epoch).
    pub first_batch: usize,
    /// Batches per training epoch.
    pub num_batches: usize,
    /// True when resuming from a checkpoint.
    pub resumed: bool,
}

/// The progress after one training step, for [`TrainObserver::on_batch`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchProgress {
    /// The epoch's index.
    pub epoch: usize,
    /// The index of the batch just trained on, from 0.
    pub batch: usize,
    /// Batches in the epoch.
    pub num_batches: usize,
    /// The mean loss of the epoch so far.
    pub loss: f64,
    /// The accuracy of the epoch so far.
    pub accuracy: f64,
    /// This batch's loss.
    pub batch_loss: f64,
    /// The learning rate.
    pub lr: f64,
    /// Training examples per second over the epoch so far.
    pub images_per_second: f64,
}

/// Callbacks from [`fit`], for progress bars and logs. Every method has an
/// empty default; `()` is the observer that does nothing.
///
/// ```
/// use nabla::train::{BatchProgress, EpochSummary, TrainObserver};
/// struct Print;
/// impl TrainObserver for Print {
///     fn on_batch(&mut self, p: &BatchProgress) {
///         if p.batch + 1 == p.num_batches {
///             println!("epoch {}: loss {:.3}, {:.0} images/s", p.epoch + 1, p.loss, p.images_per_second);
///         }
///     }
///     fn on_epoch(&mut self, s: &EpochSummary) {
///         println!("validation accuracy {:?}", s.val_accuracy);
///     }
/// }
/// ```
pub trait TrainObserver {
    /// Before the first step.
    fn on_start(&mut self, _start: &RunStart) {}
    /// After each optimizer step.
    fn on_batch(&mut self, _progress: &BatchProgress) {}
    /// Before validating after epoch `epoch`, over `num_batches` batches.
    fn on_validation(&mut self, _epoch: usize, _num_batches: usize) {}
    /// After a checkpoint file was written.
    fn on_checkpoint(&mut self, _path: &Path) {}
    /// At the end of each epoch, after validation, the schedule's step and
    /// the checkpoint.
    fn on_epoch(&mut self, _summary: &EpochSummary) {}
}

impl TrainObserver for () {}

/// The best monitored loss so far and the epochs since it improved.
#[derive(Clone, Copy, Debug)]
struct Monitor {
    best: f64,
    best_epoch: Option<usize>,
    since_improvement: usize,
}

impl Monitor {
    fn new() -> Self {
        Monitor {
            best: f64::INFINITY,
            best_epoch: None,
            since_improvement: 0,
        }
    }

    /// Records an epoch; true if it improved.
    fn update(&mut self, summary: &EpochSummary, min_delta: f64) -> bool {
        let loss = summary.monitored_loss();
        if loss < self.best - min_delta {
            self.best = loss;
            self.best_epoch = Some(summary.epoch);
            self.since_improvement = 0;
            true
        } else {
            self.since_improvement += 1;
            false
        }
    }

    fn should_stop(&self, early: Option<EarlyStopping>) -> bool {
        early.is_some_and(|e| self.since_improvement > 0 && self.since_improvement >= e.patience)
    }
}

/// Trains `model` with `optimizer` (built over `model.parameters()`) on
/// `train`, for [`TrainConfig::epochs`] epochs, minimising the
/// cross-entropy of its logits `[B, C]`.
///
/// Each epoch, in order:
///
/// 1. `model.train(true)`, then for each batch of
///    [`train.epoch(e)`](DataLoader::epoch): zero the gradients, forward,
///    cross-entropy (mean over the batch), backward, optional clipping,
///    `optimizer.step()`, [`TrainObserver::on_batch`]; then, if the
///    [interrupt](TrainConfig::interrupt) flag is set, take it, save the
///    checkpoint at this exact batch position and return
///    [`Outcome::Interrupted`].
/// 2. [`evaluate`] on `validation`, if any (in eval mode, without a graph).
/// 3. The schedule's [`step_epoch`](EpochScheduler::step_epoch).
/// 4. The metrics line, then the checkpoints (`last`, the epoch's, `best`
///    on improvement), [`TrainObserver::on_epoch`].
/// 5. Early stopping, and the interrupt flag again (stopping between
///    epochs, the checkpoint is already written).
///
/// With [`TrainConfig::resume_from`], the model, optimizer, schedule,
/// position, partial-epoch metrics and history are first restored from the
/// checkpoint, and training goes on exactly as if never stopped: the same
/// batches in the same order, the same updates, the same final weights bit
/// for bit (given a loader whose order depends only on its seed and the
/// epoch, and a model without random state of its own such as
/// [`Dropout`](crate::nn::Dropout)'s generator, which checkpoints do not
/// hold).
///
/// # Errors
/// From resuming (see [`TrainingCheckpoint::resume`]; also
/// [`Error::Format`] when the checkpoint was made with a training loader of
/// another seed or number of batches), and [`Error::Io`] writing the
/// checkpoints or the metrics file.
///
/// # Panics
/// If the model's output is not `[B, C]` logits for the loader's classes
/// (the loss panics), or if the schedule given with `resume_from` has
/// already stepped.
pub fn fit(
    model: &mut dyn Layer,
    optimizer: &mut dyn Optimizer,
    mut scheduler: Option<&mut dyn EpochScheduler>,
    train: &DataLoader,
    validation: Option<&DataLoader>,
    config: &TrainConfig,
    observer: &mut dyn TrainObserver,
) -> Result<History> {
    let num_batches = train.num_batches();
    let loader_seed = train.config().seed;
    let (mut state, resumed) = match &config.resume_from {
        Some(from) => {
            let path = checkpoint_state::resolve(from);
            let state = checkpoint_state::resume_checked(
                &path,
                model.as_module(),
                optimizer,
                scheduler.as_deref_mut(),
                |c| c.check_loader(&path, num_batches, loader_seed),
            )?;
            (state, true)
        }
        None => (TrainingCheckpoint::new(num_batches, loader_seed), false),
    };

    let early = config.early_stopping;
    let min_delta = early.map_or(0.0, |e| e.min_delta);
    let mut monitor = Monitor::new();
    for summary in &state.history {
        monitor.update(summary, min_delta);
    }
    let mut log = config.metrics_path.as_ref().map(MetricsLog::append).transpose()?;
    let dir = config.checkpoint_dir.as_deref();
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    observer.on_start(&RunStart {
        epochs: config.epochs,
        first_epoch: state.epoch,
        first_batch: state.batch,
        num_batches,
        resumed,
    });

    let mut checkpoint = None;
    let mut outcome = Outcome::Completed;
    if monitor.should_stop(early) {
        // Resumed from the checkpoint of a run that had stopped early.
        outcome = Outcome::EarlyStopped {
            epoch: state.epoch.saturating_sub(1),
        };
    }
    while outcome == Outcome::Completed && state.epoch < config.epochs {
        let epoch = state.epoch;
        model.train(true);
        let lr = optimizer.learning_rate();
        let started = Instant::now();
        let seconds_before = state.epoch_seconds;
        for batch in train.epoch_from(epoch, state.batch) {
            optimizer.zero_grad();
            let logits = model.forward(&batch.inputs);
            let loss = cross_entropy_with_label_smoothing(
                &logits,
                &batch.targets,
                None,
                None,
                Reduction::Mean,
                config.label_smoothing,
            );
            loss.backward();
            if let Some(max_norm) = config.clip_grad_norm {
                clip_grad_norm_with_(optimizer.parameters(), max_norm, 2.0);
            }
            optimizer.step();
            let batch_loss = f64::from(loss.item());
            state.running.add_batch(batch_loss, &logits, &batch.targets);
            state.batch += 1;
            let seconds = seconds_before + started.elapsed().as_secs_f64();
            observer.on_batch(&BatchProgress {
                epoch,
                batch: state.batch - 1,
                num_batches,
                loss: state.running.loss(),
                accuracy: state.running.accuracy(),
                batch_loss,
                lr,
                images_per_second: state.running.seen as f64 / seconds,
            });
            if config.interrupt.take() {
                state.epoch_seconds = seconds;
                let checkpoint = match dir {
                    Some(dir) => {
                        let path = save(
                            &mut state,
                            dir,
                            None,
                            model.as_module(),
                            optimizer,
                            scheduler.as_deref(),
                        )?;
                        observer.on_checkpoint(&path);
                        Some(path)
                    }
                    None => None,
                };
                return Ok(History {
                    epochs: state.history,
                    outcome: Outcome::Interrupted {
                        epoch,
                        batch: state.batch,
                    },
                    best_epoch: monitor.best_epoch,
                    checkpoint,
                });
            }
        }
        let train_seconds = seconds_before + started.elapsed().as_secs_f64();

        let validated = validation.map(|loader| {
            observer.on_validation(epoch, loader.num_batches());
            evaluate(model, loader)
        });
        let summary = EpochSummary {
            epoch,
            train_loss: state.running.loss(),
            train_accuracy: state.running.accuracy(),
            val_loss: validated.as_ref().map(|v| v.loss),
            val_accuracy: validated.as_ref().map(|v| v.accuracy),
            lr,
            seconds: seconds_before + started.elapsed().as_secs_f64(),
            images_per_second: state.running.seen as f64 / train_seconds,
        };
        if let Some(scheduler) = scheduler.as_deref_mut() {
            scheduler.step_epoch(optimizer, &summary);
        }
        let improved = monitor.update(&summary, min_delta);
        state.history.push(summary.clone());
        state.epoch += 1;
        state.batch = 0;
        state.running = RunningMetrics::default();
        state.epoch_seconds = 0.0;

        if let Some(log) = &mut log {
            log.write_epoch(&summary)?;
        }
        if let Some(dir) = dir {
            let keep = config
                .keep_epoch_checkpoints
                .then(|| dir.join(checkpoint_state::epoch_file_name(state.epoch)));
            let path = save(
                &mut state,
                dir,
                keep.as_deref(),
                model.as_module(),
                optimizer,
                scheduler.as_deref(),
            )?;
            if let Some(kept) = &keep {
                observer.on_checkpoint(kept);
            }
            observer.on_checkpoint(&path);
            checkpoint = Some(path);
            if improved {
                let best = dir.join(checkpoint_state::BEST_FILE);
                save_module(model.as_module(), &best)?;
                observer.on_checkpoint(&best);
            }
        }
        observer.on_epoch(&summary);

        if monitor.should_stop(early) {
            outcome = Outcome::EarlyStopped { epoch };
            config.interrupt.take();
        } else if config.interrupt.take() {
            outcome = Outcome::Interrupted {
                epoch: state.epoch,
                batch: 0,
            };
        }
    }
    Ok(History {
        epochs: state.history,
        outcome,
        best_epoch: monitor.best_epoch,
        checkpoint,
    })
}

/// Fills in the schedule's part of `state` and writes
/// it to `dir/last.safetensors` (and first to `also`, if given); returns the
/// path of `last`.
fn save(
    state: &mut TrainingCheckpoint,
    dir: &Path,
    also: Option<&Path>,
    model: &dyn Module,
    optimizer: &dyn Optimizer,
    scheduler: Option<&dyn EpochScheduler>,
) -> Result<PathBuf> {
    state.scheduler_steps = scheduler.map(EpochScheduler::steps_taken);
    if let Some(path) = also {
        state.save(path, model, optimizer)?;
    }
    let last = dir.join(checkpoint_state::LAST_FILE);
    state.save(&last, model, optimizer)?;
    Ok(last)
}

/// A model's figures on a data set, from [`evaluate`].
#[derive(Clone, Debug, PartialEq)]
pub struct EvalResult {
    /// The mean cross-entropy per example.
    pub loss: f64,
    /// The fraction of examples whose arg-max prediction is right.
    pub accuracy: f64,
    /// The `k` of `top_k_accuracy` (capped at the number of classes).
    pub top_k: usize,
    /// The fraction whose target is among the `top_k` largest logits.
    pub top_k_accuracy: f64,
    /// The number of examples.
    pub examples: u64,
    /// Actual against predicted classes, with the data set's class names.
    pub confusion: ConfusionMatrix,
}

/// Evaluates `model` on every batch of `loader` (its epoch 0) in eval mode
/// and without recording a graph, then puts the model back in the mode it
/// was in: the loss, the accuracy, the top-5 accuracy and the confusion
/// matrix. See [`evaluate_top_k`].
pub fn evaluate(model: &mut dyn Layer, loader: &DataLoader) -> EvalResult {
    evaluate_top_k(model, loader, 5)
}

/// [`evaluate`] with the top-`k` accuracy for a given `k` (capped at the
/// number of classes). Figures of an empty loader are NaN.
///
/// # Panics
/// If `k` is 0, or the model's outputs are not `[B, C]` logits for the data
/// set's classes.
pub fn evaluate_top_k(model: &mut dyn Layer, loader: &DataLoader, k: usize) -> EvalResult {
    assert!(k > 0, "evaluate_top_k: k must be positive");
    let dataset = loader.dataset();
    let top_k = k.min(dataset.num_classes().max(1));
    let mut confusion = ConfusionMatrix::with_class_names(dataset.class_names());
    let mut running = RunningMetrics::default();
    let mut in_top_k = 0u64;
    let was_training = model.is_training();
    model.eval();
    no_grad(|| {
        for batch in loader.epoch(0) {
            let logits = model.forward(&batch.inputs);
            let loss = cross_entropy_with(&logits, &batch.targets, None, None, Reduction::Mean);
            running.add_batch(f64::from(loss.item()), &logits, &batch.targets);
            in_top_k += top_k_correct(&logits, &batch.targets, top_k) as u64;
            confusion.add_batch(&logits, &batch.targets);
        }
    });
    model.train(was_training);
    EvalResult {
        loss: running.loss(),
        accuracy: running.accuracy(),
        top_k,
        top_k_accuracy: if running.seen == 0 {
            f64::NAN
        } else {
            in_top_k as f64 / running.seen as f64
        },
        examples: running.seen,
        confusion,
    }
}
