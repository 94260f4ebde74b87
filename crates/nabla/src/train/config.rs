//! How [`fit`](super::fit) trains: [`TrainConfig`] and [`EarlyStopping`].

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::interrupt::Interrupt;
use super::parallel::DataParallel;
#[cfg(doc)]
use super::{EpochSummary, TrainingCheckpoint};
use crate::optim::StepSchedule;

/// How [`fit`](super::fit) trains: epochs or steps, early stopping,
/// checkpoints, metrics, resumption, and the interrupt flag it watches.
///
/// `Default` gives 10 epochs, no early stopping, no checkpoints, no metrics
/// file, no clipping, and the Ctrl-C flag ([`Interrupt::ctrl_c`]; install
/// the handler with [`install_ctrlc_handler`](super::install_ctrlc_handler)).
#[derive(Clone, Debug)]
pub struct TrainConfig {
    /// The total number of epochs. A resumed run trains until it has done
    /// this many in all, so the same config resumes where a run stopped.
    /// Ignored when [`max_steps`](Self::max_steps) is given.
    pub epochs: usize,
    /// A step-based run: this many optimizer steps in all, the loader
    /// cycling through epochs (`0, 1, 2, ...`), with a summary (validation,
    /// schedule step, metrics line, checkpoint, early stopping) every
    /// [`eval_every`](Self::eval_every) steps and at the last one.
    pub max_steps: Option<usize>,
    /// In a step-based run, the steps between summaries (default: only at
    /// `max_steps`). Ignored in an epoch-based run, whose summaries are its
    /// epochs.
    pub eval_every: Option<usize>,
    /// Stop when the monitored metric has not improved for a while.
    pub early_stopping: Option<EarlyStopping>,
    /// A directory for checkpoints (created if needed): `last.safetensors`
    /// after every summary and on an interrupt; `epoch-NNNN.safetensors`
    /// after epoch `NNNN` (counting from 1), or `step-NNNNNNNN.safetensors`
    /// after step `NNNNNNNN` in a step-based run, if
    /// [`keep_epoch_checkpoints`](Self::keep_epoch_checkpoints); and
    /// `best.safetensors` (the model alone, as
    /// [`save_module`](crate::checkpoint::save_module) writes it) whenever
    /// the monitored metric improves. `None`: no checkpoints (an interrupt
    /// then stops without saving).
    pub checkpoint_dir: Option<PathBuf>,
    /// Keep every summary's checkpoint besides `last.safetensors` (default true).
    pub keep_epoch_checkpoints: bool,
    /// A JSON-lines file that gets one line per summary (appended, flushed);
    /// see the [module docs](super#the-metrics-file).
    pub metrics_path: Option<PathBuf>,
    /// Resume from this training checkpoint (a file, or a checkpoint
    /// directory meaning its `last.safetensors`); see
    /// [`TrainingCheckpoint::resume`] for what the model, optimizer and
    /// schedule must be.
    pub resume_from: Option<PathBuf>,
    /// Clip the gradients' global 2-norm to this before each step.
    pub clip_grad_norm: Option<f64>,
    /// Set the learning rate before every optimizer step from the step's
    /// number (nanoGPT's warmup and cosine decay, [`WarmupCosine`]), for
    /// step-based runs; an epoch scheduler given to `fit` as well steps
    /// after it at each summary.
    ///
    /// [`WarmupCosine`]: crate::optim::WarmupCosine
    pub step_schedule: Option<Arc<dyn StepSchedule>>,
    /// Stop at the first batch whose loss is NaN or infinite, before its
    /// update, with [`Outcome::Diverged`](super::Outcome::Diverged)
    /// (default off: the run goes on, and its weights usually become NaN).
    pub stop_on_non_finite_loss: bool,
    /// Entries written into the metadata of every checkpoint the run
    /// writes (training checkpoints and `best.safetensors`), for the
    /// program's own record of the run (its model, data and settings); a
    /// resumed run keeps the entries of its checkpoint, these replacing
    /// those of the same key. Read back with [`TrainingCheckpoint::read`] or
    /// [`load_metadata`](crate::checkpoint::load_metadata). Keys the
    /// training checkpoint uses itself (`epoch`, `history`, ...) are
    /// refused when saving.
    pub metadata: HashMap<String, String>,
    /// The flag checked after every step (default: the Ctrl-C flag).
    pub interrupt: Interrupt,
    /// Data-parallel training across processes (default `None`: this
    /// process alone). With it, [`fit`](super::fit) averages the gradients
    /// over the processes, sums the metrics over them, stops them all at
    /// the same batch, and writes the metrics file and the checkpoints on
    /// rank 0 only (every process reads `resume_from`). Each process's
    /// loaders should read its own [`Shard`](crate::data::Shard).
    pub parallel: Option<Arc<dyn DataParallel>>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 10,
            max_steps: None,
            eval_every: None,
            early_stopping: None,
            checkpoint_dir: None,
            keep_epoch_checkpoints: true,
            metrics_path: None,
            resume_from: None,
            clip_grad_norm: None,
            step_schedule: None,
            stop_on_non_finite_loss: false,
            metadata: HashMap::new(),
            interrupt: Interrupt::ctrl_c(),
            parallel: None,
        }
    }
}

impl TrainConfig {
    /// The steps between summaries of a step-based run (`None` in an
    /// epoch-based run).
    ///
    /// # Panics
    /// If `max_steps` or `eval_every` is 0.
    pub(super) fn interval(&self) -> Option<usize> {
        let max = self.max_steps?;
        assert!(max > 0, "TrainConfig: max_steps must be at least 1");
        let every = self.eval_every.unwrap_or(max);
        assert!(every > 0, "TrainConfig: eval_every must be at least 1");
        Some(every)
    }
}

/// Whether a smaller or a larger monitored value is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MonitorMode {
    /// Smaller is better (losses, errors).
    Min,
    /// Larger is better (accuracies).
    Max,
}

/// Early stopping on a monitored metric ([`EpochSummary::monitored`]): the
/// validation figure, or the training one without validation; by default
/// the loss, smaller being better.
///
/// A summary improves when its figure beats the best so far by more than
/// `min_delta`; training stops after `patience` summaries in a row without
/// improvement (as Keras' and Lightning's `EarlyStopping`). The same metric
/// decides which checkpoint is `best.safetensors`.
///
/// ```
/// use nabla::train::{EarlyStopping, MonitorMode};
/// let on_accuracy = EarlyStopping::new(3).monitor("accuracy", MonitorMode::Max);
/// assert_eq!((on_accuracy.metric.as_str(), on_accuracy.patience), ("accuracy", 3));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct EarlyStopping {
    /// Summaries in a row without improvement that stop training.
    pub patience: usize,
    /// The least change that counts as an improvement (default 0).
    pub min_delta: f64,
    /// The metric watched (default `"loss"`).
    pub metric: String,
    /// Whether smaller or larger is better (default smaller).
    pub mode: MonitorMode,
}

impl EarlyStopping {
    /// Stops after `patience` summaries without improvement of the loss,
    /// `min_delta` 0.
    pub fn new(patience: usize) -> Self {
        EarlyStopping {
            patience,
            min_delta: 0.0,
            metric: "loss".to_string(),
            mode: MonitorMode::Min,
        }
    }

    /// The same, watching `metric` with `mode`.
    pub fn monitor(mut self, metric: impl Into<String>, mode: MonitorMode) -> Self {
        self.metric = metric.into();
        self.mode = mode;
        self
    }
}
