//! Callbacks from [`fit`](super::fit): [`TrainObserver`], with the
//! [`RunStart`] and [`BatchProgress`] it is given.

use std::path::Path;

use super::summary::{EpochSummary, Metrics};

/// Where a call of [`fit`](super::fit) starts, for [`TrainObserver::on_start`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunStart {
    /// The total number of epochs (of an epoch-based run).
    pub epochs: usize,
    /// The total number of steps of a step-based run.
    pub max_steps: Option<usize>,
    /// The first epoch to run (past 0 when resumed).
    pub first_epoch: usize,
    /// Batches of `first_epoch` already done (past 0 when resumed mid-epoch).
    pub first_batch: usize,
    /// Optimizer steps already done (past 0 when resumed).
    pub first_step: usize,
    /// Batches per training epoch.
    pub num_batches: usize,
    /// True when resuming from a checkpoint.
    pub resumed: bool,
}

/// The progress after one training step, for [`TrainObserver::on_batch`].
#[derive(Clone, Debug, PartialEq)]
pub struct BatchProgress {
    /// The epoch's index.
    pub epoch: usize,
    /// The index of the batch just trained on, from 0.
    pub batch: usize,
    /// Batches in the epoch.
    pub num_batches: usize,
    /// Optimizer steps done since the start of the run, this one included.
    pub step: usize,
    /// The mean loss of the epoch (interval) so far.
    pub loss: f64,
    /// The means of every metric of the epoch (interval) so far, `loss` first.
    pub metrics: Metrics,
    /// This batch's loss.
    pub batch_loss: f64,
    /// The learning rate.
    pub lr: f64,
    /// Training examples per second over the epoch (interval) so far.
    pub images_per_second: f64,
}

impl BatchProgress {
    /// The running mean of metric `name`, if the step reports it.
    pub fn metric(&self, name: &str) -> Option<f64> {
        self.metrics.get(name)
    }
}

/// Callbacks from [`fit`](super::fit), for progress bars and logs. Every
/// method has an empty default; `()` is the observer that does nothing.
///
/// ```
/// use nabla::train::{BatchProgress, EpochSummary, TrainObserver};
/// struct Print;
/// impl TrainObserver for Print {
///     fn on_batch(&mut self, p: &BatchProgress) {
///         if p.batch + 1 == p.num_batches {
///             println!("epoch {}: {}, {:.0} images/s", p.epoch + 1, p.metrics, p.images_per_second);
///         }
///     }
///     fn on_epoch(&mut self, s: &EpochSummary) {
///         println!("validation accuracy {:?}", s.val_metric("accuracy"));
///     }
/// }
/// ```
pub trait TrainObserver {
    /// Before the first step.
    fn on_start(&mut self, _start: &RunStart) {}
    /// After each optimizer step.
    fn on_batch(&mut self, _progress: &BatchProgress) {}
    /// Before validating after epoch `epoch` (or an interval ending in
    /// it), over `num_batches` batches.
    fn on_validation(&mut self, _epoch: usize, _num_batches: usize) {}
    /// After a checkpoint file was written.
    fn on_checkpoint(&mut self, _path: &Path) {}
    /// At the end of each epoch (interval), after validation, the
    /// schedule's step and the checkpoint.
    fn on_epoch(&mut self, _summary: &EpochSummary) {}
}

impl TrainObserver for () {}
