//! Optimizer updates as named operations.

/// One optimizer's update of one parameter in place, from its gradient and
/// its state buffers (each as long as the parameter), with this step's
/// scalars. The buffers come in the order of each variant's doc.
///
/// Every variant first forms the gradient as PyTorch does: `g ← -g` if
/// `maximize`, then `g ← g + λ θ` for a coupled weight decay `λ ≠ 0`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum OptimizerUpdate {
    /// Plain gradient descent `θ ← θ - lr g`; no buffers.
    Sgd {
        lr: f64,
        weight_decay: f64,
        maximize: bool,
    },
    /// SGD with momentum; buffers `[momentum_buffer]`. At the parameter's
    /// first step (`first_step`) the buffer becomes the gradient itself.
    SgdMomentum {
        lr: f64,
        weight_decay: f64,
        maximize: bool,
        momentum: f64,
        dampening: f64,
        nesterov: bool,
        first_step: bool,
    },
    /// Adam (AdamW with `decoupled`) at the parameter's step `step` (from 1);
    /// buffers `[exp_avg, exp_avg_sq]`, and `max_exp_avg_sq` with `amsgrad`.
    Adam {
        lr: f64,
        beta1: f64,
        beta2: f64,
        eps: f64,
        weight_decay: f64,
        decoupled: bool,
        amsgrad: bool,
        maximize: bool,
        step: f64,
    },
    /// RMSprop; buffers `[square_avg]`, then `momentum_buffer` if
    /// `momentum > 0`, then `grad_avg` if `centered`.
    RmsProp {
        lr: f64,
        alpha: f64,
        eps: f64,
        weight_decay: f64,
        momentum: f64,
        centered: bool,
        maximize: bool,
    },
    /// Adagrad with this step's decayed learning rate `clr`; buffers `[sum]`.
    Adagrad {
        clr: f64,
        weight_decay: f64,
        eps: f64,
        maximize: bool,
    },
}

impl OptimizerUpdate {
    /// How many state buffers the update reads and writes.
    pub(crate) fn buffer_count(&self) -> usize {
        match *self {
            OptimizerUpdate::Sgd { .. } => 0,
            OptimizerUpdate::SgdMomentum { .. } | OptimizerUpdate::Adagrad { .. } => 1,
            OptimizerUpdate::Adam { amsgrad, .. } => 2 + usize::from(amsgrad),
            OptimizerUpdate::RmsProp {
                momentum, centered, ..
            } => 1 + usize::from(momentum > 0.0) + usize::from(centered),
        }
    }
}
