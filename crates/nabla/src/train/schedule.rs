//! [`EpochScheduler`]: a learning-rate schedule as [`fit`](super::fit)
//! drives it.

use super::summary::EpochSummary;
#[cfg(doc)]
use super::TrainingCheckpoint;
use crate::optim::{LrScheduler, Optimizer, PlateauMode, ReduceLrOnPlateau};

/// A learning-rate schedule as [`fit`](super::fit) drives it: one step at
/// the end of each epoch (or evaluation interval of a step-based run), after
/// validation, seeing the summary.
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
