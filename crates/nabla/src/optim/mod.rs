//! Optimizers: the [`Optimizer`] trait and its implementations.
//!
//! - First-order optimizers with PyTorch's update formulas, defaults and
//!   state names: [`Sgd`], [`Adam`], [`AdamW`], [`RmsProp`], [`Adagrad`],
//!   each built from `model.parameters()` and a config struct.
//! - Learning-rate schedules ([`LrScheduler`]): [`StepLr`],
//!   [`ExponentialLr`], [`CosineAnnealingLr`], [`LinearLr`] (warmup), and
//!   [`ReduceLrOnPlateau`]; per optimizer step ([`StepSchedule`]):
//!   [`WarmupCosine`], nanoGPT's warmup and cosine decay.
//! - Parameter groups ([`ParamGroups`]): optimizers over disjoint parameter
//!   lists stepped and saved as one (AdamW with and without weight decay).
//! - Gradient clipping: [`clip_grad_norm_`], [`clip_grad_value_`].
//! - Weight averages ([`AveragedModel`]): stochastic weight averaging and
//!   the exponential moving average a GAN samples from.
//! - Newton's method: [`Newton`].

mod adagrad;
mod adam;
mod averaged;
mod clip;
mod groups;
mod newton;
mod rmsprop;
mod schedule;
mod settings;
mod sgd;
mod state;
mod step_schedule;

pub use adagrad::{Adagrad, AdagradConfig};
pub use adam::{Adam, AdamConfig, AdamW, AdamWConfig};
pub use averaged::{AveragedModel, Averaging};
pub use clip::{clip_grad_norm_, clip_grad_norm_with_, clip_grad_value_};
pub use groups::ParamGroups;
pub use newton::{Newton, NewtonConfig, NewtonSolver, NewtonStep};
pub use rmsprop::{RmsProp, RmsPropConfig};
pub use schedule::{
    CosineAnnealingLr, ExponentialLr, LinearLr, LrScheduler, PlateauConfig, PlateauMode, ReduceLrOnPlateau,
    StepLr, ThresholdMode,
};
pub use sgd::{Sgd, SgdConfig};
pub use step_schedule::{StepSchedule, WarmupCosine};

use crate::element::Float;
use crate::error::Result;
use crate::tensor::Tensor;

/// Updates parameters in place from their gradients.
///
/// An optimizer holds handles to the parameters it was built with (clones of
/// the same tensors a module holds), so `step` changes the module's
/// parameters. Parameters without a gradient, or frozen ones (that do not
/// require grad), are skipped, as in PyTorch.
pub trait Optimizer<T: Float = f32> {
    /// One update of every parameter from its current gradient.
    fn step(&mut self);

    /// The parameters being optimized.
    fn parameters(&self) -> &[Tensor<T>];

    /// Clears the gradient of every parameter.
    fn zero_grad(&self) {
        for p in self.parameters() {
            p.zero_grad();
        }
    }

    /// The current learning rate.
    fn learning_rate(&self) -> f64;

    /// Sets the learning rate (what schedules do).
    fn set_learning_rate(&mut self, learning_rate: f64);

    /// The per-parameter state (momentum buffers, moment estimates, step
    /// counts), named as in PyTorch's `optimizer.state_dict()["state"]`:
    /// `state.{index}.{name}` with `index` the parameter's position.
    fn state_dict(&self) -> Vec<(String, Tensor<T>)>;

    /// Restores state saved by [`state_dict`](Optimizer::state_dict).
    ///
    /// # Errors
    /// Names the first entry that is unknown, missing or of the wrong shape.
    fn load_state_dict(&mut self, state: &[(String, Tensor<T>)]) -> Result<()>;
}
