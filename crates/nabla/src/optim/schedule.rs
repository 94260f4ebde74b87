//! Learning-rate schedules, as PyTorch's `torch.optim.lr_scheduler`:
//! [`StepLr`], [`ExponentialLr`], [`CosineAnnealingLr`], [`LinearLr`]
//! (linear warmup) and [`ReduceLrOnPlateau`].
//!
//! A schedule does not hold its optimizer (so that the training loop keeps
//! using it); each call takes it. As in PyTorch, constructing a schedule
//! takes its initial step (epoch 0) and may already change the learning
//! rate (`LinearLr` multiplies it by `start_factor`); then
//! [`step`](LrScheduler::step) is called once per epoch, after the epoch's
//! optimizer steps.
//!
//! The schedules are PyTorch's *recursive* forms: each epoch's rate is
//! computed from the optimizer's current rate (so a rate changed by hand
//! between epochs carries on), with exactly PyTorch's arithmetic, so the
//! sequences match PyTorch's to the last bit or so.
//!
//! ```
//! use nabla::optim::{LrScheduler, Optimizer, Sgd, SgdConfig, StepLr};
//! use nabla::Tensor;
//! let w = Tensor::from_vec(vec![0.0f32], &[1]).requires_grad();
//! let mut opt = Sgd::new(vec![w], SgdConfig::new(0.1));
//! let mut schedule = StepLr::new(&mut opt, 2, 0.5);
//! let mut rates = vec![opt.learning_rate()];
//! for _epoch in 0..5 {
//!     // ... train: opt.step() per batch ...
//!     schedule.step(&mut opt);
//!     rates.push(opt.learning_rate());
//! }
//! assert_eq!(rates, [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]);
//! ```

use std::f64::consts::PI;

use super::Optimizer;
use crate::element::Float;

/// An epoch-based learning-rate schedule.
pub trait LrScheduler {
    /// Ends an epoch: advances the epoch counter and sets the optimizer's
    /// learning rate for the next epoch.
    fn step<T: Float, O: Optimizer<T> + ?Sized>(&mut self, optimizer: &mut O);

    /// The learning rate this schedule last set (PyTorch's `get_last_lr()`).
    fn last_lr(&self) -> f64;

    /// The number of [`step`](LrScheduler::step)s taken (PyTorch's
    /// `last_epoch`: 0 right after construction).
    fn last_epoch(&self) -> usize;
}

/// Applies a schedule's next rate: the shared body of `step`.
fn apply<T: Float, O: Optimizer<T> + ?Sized>(optimizer: &mut O, lr: f64, last_lr: &mut f64) {
    optimizer.set_learning_rate(lr);
    *last_lr = lr;
}

/// Multiplies the learning rate by `gamma` every `step_size` epochs, as
/// PyTorch's `StepLR`: at epoch `e`, `lr = base_lr · γ^⌊e / step_size⌋`
/// (computed recursively: `lr ← γ lr` when `e` is a nonzero multiple of
/// `step_size`).
///
/// ```
/// use nabla::optim::{LrScheduler, Optimizer, Sgd, SgdConfig, StepLr};
/// let mut opt = Sgd::<f32>::new(vec![], SgdConfig::new(1.0));
/// let mut s = StepLr::new(&mut opt, 3, 0.1);
/// for _ in 0..3 {
///     s.step(&mut opt);
/// }
/// assert!((opt.learning_rate() - 0.1).abs() < 1e-15);
/// ```
///
/// # Panics
/// [`StepLr::new`] panics if `step_size` is 0.
#[derive(Clone, Debug)]
#[doc(alias = "StepLR")]
pub struct StepLr {
    step_size: usize,
    gamma: f64,
    last_epoch: usize,
    last_lr: f64,
}

impl StepLr {
    /// Decays `optimizer`'s learning rate by `gamma` every `step_size` epochs.
    pub fn new<T: Float, O: Optimizer<T> + ?Sized>(optimizer: &mut O, step_size: usize, gamma: f64) -> Self {
        assert!(step_size > 0, "StepLr: step_size must be positive");
        StepLr {
            step_size,
            gamma,
            last_epoch: 0,
            last_lr: optimizer.learning_rate(),
        }
    }
}

impl LrScheduler for StepLr {
    fn step<T: Float, O: Optimizer<T> + ?Sized>(&mut self, optimizer: &mut O) {
        self.last_epoch += 1;
        let lr = optimizer.learning_rate();
        let lr = if self.last_epoch % self.step_size == 0 {
            lr * self.gamma
        } else {
            lr
        };
        apply(optimizer, lr, &mut self.last_lr);
    }

    fn last_lr(&self) -> f64 {
        self.last_lr
    }

    fn last_epoch(&self) -> usize {
        self.last_epoch
    }
}

/// Multiplies the learning rate by `gamma` every epoch, as PyTorch's
/// `ExponentialLr`: `lr = base_lr · γ^e` (recursively, `lr ← γ lr`).
///
/// ```
/// use nabla::optim::{ExponentialLr, LrScheduler, Optimizer, Sgd, SgdConfig};
/// let mut opt = Sgd::<f32>::new(vec![], SgdConfig::new(1.0));
/// let mut s = ExponentialLr::new(&mut opt, 0.5);
/// s.step(&mut opt);
/// s.step(&mut opt);
/// assert_eq!(opt.learning_rate(), 0.25);
/// ```
#[derive(Clone, Debug)]
#[doc(alias = "ExponentialLR")]
pub struct ExponentialLr {
    gamma: f64,
    last_epoch: usize,
    last_lr: f64,
}

impl ExponentialLr {
    /// Decays `optimizer`'s learning rate by `gamma` every epoch.
    pub fn new<T: Float, O: Optimizer<T> + ?Sized>(optimizer: &mut O, gamma: f64) -> Self {
        ExponentialLr {
            gamma,
            last_epoch: 0,
            last_lr: optimizer.learning_rate(),
        }
    }
}

impl LrScheduler for ExponentialLr {
    fn step<T: Float, O: Optimizer<T> + ?Sized>(&mut self, optimizer: &mut O) {
        self.last_epoch += 1;
        let lr = optimizer.learning_rate() * self.gamma;
        apply(optimizer, lr, &mut self.last_lr);
    }

    fn last_lr(&self) -> f64 {
        self.last_lr
    }

    fn last_epoch(&self) -> usize {
        self.last_epoch
    }
}

/// Cosine annealing from the initial rate down to `eta_min` over `t_max`
/// epochs, as PyTorch's `CosineAnnealingLR` (no restarts). It follows
///
/// ```text
/// lr_e = η_min + (base_lr - η_min) (1 + cos(π e / T_max)) / 2
/// ```
///
/// through PyTorch's recursive form,
///
/// ```text
/// lr_e = η_min + (lr_{e-1} - η_min) (1 + cos(π e / T_max)) / (1 + cos(π (e - 1) / T_max))
/// ```
///
/// except at the epochs `e` with `(e - 1 - T_max) mod 2 T_max = 0`, where
/// that ratio would be 0/0 and PyTorch adds
/// `(base_lr - η_min)(1 - cos(π / T_max)) / 2` instead. After `T_max`
/// epochs the rate therefore rises again along the cosine, as in PyTorch.
///
/// ```
/// use nabla::optim::{CosineAnnealingLr, LrScheduler, Optimizer, Sgd, SgdConfig};
/// let mut opt = Sgd::<f32>::new(vec![], SgdConfig::new(1.0));
/// let mut s = CosineAnnealingLr::new(&mut opt, 4, 0.0);
/// for _ in 0..2 {
///     s.step(&mut opt);
/// }
/// assert!((opt.learning_rate() - 0.5).abs() < 1e-15); // half way
/// for _ in 0..2 {
///     s.step(&mut opt);
/// }
/// assert!(opt.learning_rate().abs() < 1e-15); // at T_max: eta_min
/// ```
///
/// # Panics
/// [`CosineAnnealingLr::new`] panics if `t_max` is 0.
#[derive(Clone, Debug)]
#[doc(alias = "CosineAnnealingLR")]
pub struct CosineAnnealingLr {
    t_max: usize,
    eta_min: f64,
    base_lr: f64,
    last_epoch: usize,
    last_lr: f64,
}

impl CosineAnnealingLr {
    /// Anneals `optimizer`'s learning rate to `eta_min` over `t_max` epochs.
    pub fn new<T: Float, O: Optimizer<T> + ?Sized>(optimizer: &mut O, t_max: usize, eta_min: f64) -> Self {
        assert!(t_max > 0, "CosineAnnealingLr: t_max must be positive");
        let lr = optimizer.learning_rate();
        CosineAnnealingLr {
            t_max,
            eta_min,
            base_lr: lr,
            last_epoch: 0,
            last_lr: lr,
        }
    }
}

impl LrScheduler for CosineAnnealingLr {
    fn step<T: Float, O: Optimizer<T> + ?Sized>(&mut self, optimizer: &mut O) {
        self.last_epoch += 1;
        let (epoch, t_max) = (self.last_epoch as f64, self.t_max as f64);
        let lr = optimizer.learning_rate();
        let eta_min = self.eta_min;
        let lr = if (self.last_epoch as i64 - 1 - self.t_max as i64).rem_euclid(2 * self.t_max as i64) == 0 {
            lr + (self.base_lr - eta_min) * (1.0 - (PI / t_max).cos()) / 2.0
        } else {
            (1.0 + (PI * epoch / t_max).cos()) / (1.0 + (PI * (epoch - 1.0) / t_max).cos()) * (lr - eta_min)
                + eta_min
        };
        apply(optimizer, lr, &mut self.last_lr);
    }

    fn last_lr(&self) -> f64 {
        self.last_lr
    }

    fn last_epoch(&self) -> usize {
        self.last_epoch
    }
}

/// Linear warmup (or decay): scales the learning rate by a factor that
/// goes linearly from `start_factor` to `end_factor` over `total_iters`
/// epochs, then stays, as PyTorch's `LinearLR`: at epoch `e`,
///
/// ```text
/// lr_e = base_lr · (start + (end - start) · min(e, total_iters) / total_iters)
/// ```
///
/// computed as PyTorch does, recursively: construction multiplies the rate
/// by `start_factor`, and epoch `e ≤ total_iters` multiplies it by
/// `1 + (end - start) / (total_iters · start + (e - 1)(end - start))`.
///
/// ```
/// use nabla::optim::{LinearLr, LrScheduler, Optimizer, Sgd, SgdConfig};
/// let mut opt = Sgd::<f32>::new(vec![], SgdConfig::new(1.0));
/// // Warm up from 0.25 lr to lr over 3 epochs.
/// let mut s = LinearLr::new(&mut opt, 0.25, 1.0, 3);
/// let mut rates = vec![opt.learning_rate()];
/// for _ in 0..4 {
///     s.step(&mut opt);
///     rates.push(opt.learning_rate());
/// }
/// assert_eq!(rates, [0.25, 0.5, 0.75, 1.0, 1.0]);
/// ```
///
/// # Panics
/// [`LinearLr::new`] panics unless `0 < start_factor ≤ 1` and
/// `0 ≤ end_factor ≤ 1`.
#[doc(alias = "LinearWarmup")]
#[derive(Clone, Debug)]
#[doc(alias = "LinearLR")]
pub struct LinearLr {
    start_factor: f64,
    end_factor: f64,
    total_iters: usize,
    last_epoch: usize,
    last_lr: f64,
}

impl LinearLr {
    /// Scales `optimizer`'s learning rate linearly from `start_factor` to
    /// `end_factor` times its current value over `total_iters` epochs
    /// (PyTorch's defaults: 1/3, 1, 5). Sets the rate of epoch 0.
    pub fn new<T: Float, O: Optimizer<T> + ?Sized>(
        optimizer: &mut O,
        start_factor: f64,
        end_factor: f64,
        total_iters: usize,
    ) -> Self {
        assert!(
            start_factor > 0.0 && start_factor <= 1.0,
            "LinearLr: start_factor must be in (0, 1], not {start_factor}"
        );
        assert!(
            (0.0..=1.0).contains(&end_factor),
            "LinearLr: end_factor must be in [0, 1], not {end_factor}"
        );
        let mut s = LinearLr {
            start_factor,
            end_factor,
            total_iters,
            last_epoch: 0,
            last_lr: 0.0,
        };
        let lr = optimizer.learning_rate() * start_factor;
        apply(optimizer, lr, &mut s.last_lr);
        s
    }
}

impl LrScheduler for LinearLr {
    fn step<T: Float, O: Optimizer<T> + ?Sized>(&mut self, optimizer: &mut O) {
        self.last_epoch += 1;
        let lr = optimizer.learning_rate();
        let lr = if self.last_epoch > self.total_iters {
            lr
        } else {
            let (start, end) = (self.start_factor, self.end_factor);
            lr * (1.0
                + (end - start)
                    / (self.total_iters as f64 * start + (self.last_epoch as f64 - 1.0) * (end - start)))
        };
        apply(optimizer, lr, &mut self.last_lr);
    }

    fn last_lr(&self) -> f64 {
        self.last_lr
    }

    fn last_epoch(&self) -> usize {
        self.last_epoch
    }
}

/// Whether [`ReduceLrOnPlateau`]'s metric should go down (a loss) or up
/// (an accuracy).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlateauMode {
    /// Lower is better.
    Min,
    /// Higher is better.
    Max,
}

/// How [`ReduceLrOnPlateau`] measures a significant improvement over the
/// best metric so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThresholdMode {
    /// Better than `best · (1 ∓ threshold)` (`-` for `Min`, `+` for `Max`).
    Rel,
    /// Better than `best ∓ threshold`.
    Abs,
}

/// Settings of [`ReduceLrOnPlateau`]; `Default` gives PyTorch's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlateauConfig {
    /// Whether lower or higher metrics are better (default `Min`).
    pub mode: PlateauMode,
    /// Factor applied to the learning rate on a plateau (default 0.1; must
    /// be below 1).
    pub factor: f64,
    /// Epochs without improvement tolerated before reducing (default 10).
    pub patience: usize,
    /// The improvement that counts (default 1e-4).
    pub threshold: f64,
    /// How `threshold` is applied (default `Rel`).
    pub threshold_mode: ThresholdMode,
    /// Epochs after a reduction during which bad epochs are not counted
    /// (default 0).
    pub cooldown: usize,
    /// A lower bound on the learning rate (default 0).
    pub min_lr: f64,
    /// A reduction smaller than this is skipped (default 1e-8).
    pub eps: f64,
}

impl Default for PlateauConfig {
    fn default() -> Self {
        PlateauConfig {
            mode: PlateauMode::Min,
            factor: 0.1,
            patience: 10,
            threshold: 1e-4,
            threshold_mode: ThresholdMode::Rel,
            cooldown: 0,
            min_lr: 0.0,
            eps: 1e-8,
        }
    }
}

/// Reduces the learning rate when a metric stops improving, as PyTorch's
/// `ReduceLrOnPlateau`. Each [`step`](ReduceLrOnPlateau::step) takes the
/// epoch's metric:
///
/// ```text
/// if metric is better than best by the threshold: best ← metric, bad ← 0
/// else bad ← bad + 1
/// if cooling down: cooldown_counter ← cooldown_counter - 1, bad ← 0
/// if bad > patience:
///     new ← max(lr · factor, min_lr); if lr - new > eps: lr ← new
///     cooldown_counter ← cooldown, bad ← 0
/// ```
///
/// "Better" is `metric < best (1 - threshold)` for `Min` with `Rel`,
/// `metric > best (1 + threshold)` for `Max` with `Rel`, and
/// `metric < best - threshold`, `metric > best + threshold` with `Abs`;
/// `best` starts at +∞ (`Min`) or -∞ (`Max`).
///
/// ```
/// use nabla::optim::{Optimizer, PlateauConfig, ReduceLrOnPlateau, Sgd, SgdConfig};
/// let mut opt = Sgd::<f32>::new(vec![], SgdConfig::new(1.0));
/// let config = PlateauConfig { patience: 1, factor: 0.5, ..PlateauConfig::default() };
/// let mut s = ReduceLrOnPlateau::new(&opt, config);
/// for loss in [3.0, 2.0, 2.5, 2.5, 1.0] {
///     s.step(loss, &mut opt);
/// }
/// // Two epochs without improvement (2.5, 2.5) exceed patience 1 once.
/// assert_eq!(opt.learning_rate(), 0.5);
/// ```
///
/// # Panics
/// [`ReduceLrOnPlateau::new`] panics if `factor ≥ 1`.
#[derive(Clone, Debug)]
#[doc(alias = "ReduceLROnPlateau")]
pub struct ReduceLrOnPlateau {
    config: PlateauConfig,
    best: f64,
    num_bad_epochs: usize,
    cooldown_counter: usize,
    last_epoch: usize,
    last_lr: f64,
}

impl ReduceLrOnPlateau {
    /// Watches a metric for `optimizer` (whose learning rate is not changed
    /// until a plateau).
    pub fn new<T: Float, O: Optimizer<T> + ?Sized>(optimizer: &O, config: PlateauConfig) -> Self {
        assert!(
            config.factor < 1.0,
            "ReduceLrOnPlateau: factor should be < 1.0, not {}",
            config.factor
        );
        ReduceLrOnPlateau {
            best: match config.mode {
                PlateauMode::Min => f64::INFINITY,
                PlateauMode::Max => f64::NEG_INFINITY,
            },
            config,
            num_bad_epochs: 0,
            cooldown_counter: 0,
            last_epoch: 0,
            last_lr: optimizer.learning_rate(),
        }
    }

    /// Ends an epoch whose metric was `metric`, reducing `optimizer`'s
    /// learning rate on a plateau.
    pub fn step<T: Float, O: Optimizer<T> + ?Sized>(&mut self, metric: f64, optimizer: &mut O) {
        self.last_epoch += 1;
        if self.is_better(metric) {
            self.best = metric;
            self.num_bad_epochs = 0;
        } else {
            self.num_bad_epochs += 1;
        }
        if self.in_cooldown() {
            self.cooldown_counter -= 1;
            self.num_bad_epochs = 0;
        }
        if self.num_bad_epochs > self.config.patience {
            let old = optimizer.learning_rate();
            let new = (old * self.config.factor).max(self.config.min_lr);
            if old - new > self.config.eps {
                optimizer.set_learning_rate(new);
            }
            self.cooldown_counter = self.config.cooldown;
            self.num_bad_epochs = 0;
        }
        self.last_lr = optimizer.learning_rate();
    }

    fn is_better(&self, metric: f64) -> bool {
        let (best, threshold) = (self.best, self.config.threshold);
        match (self.config.mode, self.config.threshold_mode) {
            (PlateauMode::Min, ThresholdMode::Rel) => metric < best * (1.0 - threshold),
            (PlateauMode::Min, ThresholdMode::Abs) => metric < best - threshold,
            (PlateauMode::Max, ThresholdMode::Rel) => metric > best * (threshold + 1.0),
            (PlateauMode::Max, ThresholdMode::Abs) => metric > best + threshold,
        }
    }

    /// True during the cooldown after a reduction.
    pub fn in_cooldown(&self) -> bool {
        self.cooldown_counter > 0
    }

    /// The best metric seen (±∞ before the first step).
    pub fn best(&self) -> f64 {
        self.best
    }

    /// The epochs since the last improvement (reset by a reduction and
    /// during cooldown).
    pub fn num_bad_epochs(&self) -> usize {
        self.num_bad_epochs
    }

    /// The learning rate after the last step (PyTorch's `get_last_lr()`).
    pub fn last_lr(&self) -> f64 {
        self.last_lr
    }

    /// The number of steps taken.
    pub fn last_epoch(&self) -> usize {
        self.last_epoch
    }

    /// The settings.
    pub fn config(&self) -> &PlateauConfig {
        &self.config
    }
}
