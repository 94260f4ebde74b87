//! [`LinearSchedule`]: a value that moves linearly from a start to an end.

/// A value going linearly from `start` to `end` over `duration` steps and
/// staying at `end` after, as CleanRL's `linear_schedule` (epsilon for
/// exploration, a learning rate annealed to zero).
///
/// ```
/// let epsilon = nabla::rl::LinearSchedule::new(1.0, 0.05, 100);
/// assert_eq!(epsilon.at(0), 1.0);
/// assert!((epsilon.at(50) - 0.525).abs() < 1e-12);
/// assert_eq!(epsilon.at(1000), 0.05);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinearSchedule {
    start: f64,
    end: f64,
    duration: usize,
}

impl LinearSchedule {
    /// From `start` at step 0 to `end` at step `duration`.
    pub fn new(start: f64, end: f64, duration: usize) -> Self {
        LinearSchedule { start, end, duration }
    }

    /// The value at `step`.
    pub fn at(&self, step: usize) -> f64 {
        if self.duration == 0 || step >= self.duration {
            return self.end;
        }
        self.start + (self.end - self.start) * step as f64 / self.duration as f64
    }
}
