//! Learning rates as a function of the optimizer step ([`StepSchedule`]),
//! for runs counted in steps: [`WarmupCosine`], nanoGPT's schedule.

use std::f64::consts::PI;
use std::fmt::Debug;

/// A learning rate for every optimizer step, from the step's number alone,
/// which [`fit`](crate::train::fit) sets before each step when
/// [`TrainConfig::step_schedule`](crate::train::TrainConfig::step_schedule)
/// holds one. Having no state of its own, it resumes exactly at any step.
pub trait StepSchedule: Debug + Send + Sync {
    /// The learning rate of step `step` (counting from 0).
    fn learning_rate(&self, step: usize) -> f64;
}

/// Linear warmup, then cosine decay to a floor: nanoGPT's `get_lr`.
///
/// ```text
/// step < warmup:           lr (step + 1) / (warmup + 1)
/// warmup <= step <= decay: min_lr + (lr - min_lr) (1 + cos(pi (step - warmup) / (decay - warmup))) / 2
/// step > decay:            min_lr
/// ```
///
/// ```
/// use nabla::optim::{StepSchedule, WarmupCosine};
/// let s = WarmupCosine { lr: 1e-3, min_lr: 1e-4, warmup_steps: 100, decay_steps: 2000 };
/// assert!((s.learning_rate(0) - 1e-3 / 101.0).abs() < 1e-15);
/// assert_eq!(s.learning_rate(100), 1e-3);
/// assert!((s.learning_rate(1050) - 5.5e-4).abs() < 1e-12);
/// assert_eq!(s.learning_rate(2000), 1e-4);
/// assert_eq!(s.learning_rate(5000), 1e-4);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WarmupCosine {
    /// The peak learning rate, reached at the end of the warmup.
    pub lr: f64,
    /// The floor, reached at `decay_steps`.
    pub min_lr: f64,
    /// Steps of linear warmup.
    pub warmup_steps: usize,
    /// The step at which the decay reaches `min_lr` (nanoGPT's
    /// `lr_decay_iters`, usually the run's length).
    pub decay_steps: usize,
}

impl StepSchedule for WarmupCosine {
    fn learning_rate(&self, step: usize) -> f64 {
        if step < self.warmup_steps {
            return self.lr * (step + 1) as f64 / (self.warmup_steps + 1) as f64;
        }
        if step > self.decay_steps || self.decay_steps <= self.warmup_steps {
            return self.min_lr;
        }
        let ratio = (step - self.warmup_steps) as f64 / (self.decay_steps - self.warmup_steps) as f64;
        self.min_lr + 0.5 * (1.0 + (PI * ratio).cos()) * (self.lr - self.min_lr)
    }
}
