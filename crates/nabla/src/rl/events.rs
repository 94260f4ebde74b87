//! What a training run reports while it runs.

use std::ops::ControlFlow;

/// One thing that happened in a training run.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// An episode ended.
    Episode {
        /// Environment steps taken so far (over all copies).
        step: usize,
        /// The episode's return.
        episodic_return: f64,
        /// Its length in steps.
        length: usize,
    },
    /// The greedy policy was evaluated.
    Evaluation {
        /// Environment steps taken so far.
        step: usize,
        /// The mean return of the evaluation episodes.
        mean: f64,
        /// Their standard deviation.
        std: f64,
    },
    /// The networks were updated.
    Update {
        /// Environment steps taken so far.
        step: usize,
        /// Named scalars of the update (losses, entropy, clip fraction, ...).
        metrics: Vec<(&'static str, f64)>,
    },
}

/// The callback of a training run: sees every event, and stops the run by
/// returning `ControlFlow::Break` (Ctrl-C, a target reached).
pub type OnEvent<'a> = &'a mut dyn FnMut(&Event) -> ControlFlow<()>;

/// A callback that lets the run go on and records nothing.
pub fn ignore_events(_: &Event) -> ControlFlow<()> {
    ControlFlow::Continue(())
}
