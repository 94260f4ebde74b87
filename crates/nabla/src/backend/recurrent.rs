//! Recurrent layers' fused loops: one LSTM layer and direction over a
//! whole sequence, and its backward pass.

use super::ops::LstmSchedule;
use super::{device_of, on_device};
use crate::element::Float;
use crate::tensor::Tensor;

/// What [`lstm_forward`] returns: the outputs and what the backward pass
/// reads. Every tensor is new and contiguous.
pub(crate) struct LstmForward<T: Float> {
    /// Every step's `h` (zero where a row does not run), then the final
    /// `h` and the final `c`: `[steps + 2, batch, H]`.
    pub outputs: Tensor<T>,
    pub saved: LstmSaved<T>,
}

/// The forward pass's intermediate values, in time order.
pub(crate) struct LstmSaved<T: Float> {
    /// The gates after their nonlinearities, `[steps, batch, 4H]`.
    pub gates: Tensor<T>,
    /// The `h` and `c` each step started from, `[steps, batch, H]`.
    pub h_prev: Tensor<T>,
    pub c_prev: Tensor<T>,
    /// `tanh` of the `c` each step ended with, `[steps, batch, H]`.
    pub tanh_c: Tensor<T>,
}

/// The gradients of [`lstm_forward`]'s inputs.
pub(crate) struct LstmGrads<T: Float> {
    /// `[steps, batch, 4H]`.
    pub projected: Tensor<T>,
    /// `[4H, H]`.
    pub weight_hh: Tensor<T>,
    /// `[batch, H]` each.
    pub h0: Tensor<T>,
    pub c0: Tensor<T>,
}

/// The recurrent operations of a backend. Inputs may have any layout.
pub(crate) trait RecurrentOps {
    /// The LSTM over `projected` (`[steps, batch, 4H]`, the input's
    /// projection plus both biases) with recurrent weight `weight_hh`
    /// (`[4H, H]`) from `h0`, `c0` (`[batch, H]`), walked as `schedule` says.
    fn lstm_forward<T: Float>(
        projected: &Tensor<T>,
        weight_hh: &Tensor<T>,
        h0: &Tensor<T>,
        c0: &Tensor<T>,
        schedule: &LstmSchedule,
    ) -> LstmForward<T>;
    /// The gradients of the inputs of [`RecurrentOps::lstm_forward`] from
    /// the gradient of its outputs (`[steps + 2, batch, H]`).
    fn lstm_backward<T: Float>(
        saved: &LstmSaved<T>,
        weight_hh: &Tensor<T>,
        grad_outputs: &Tensor<T>,
        schedule: &LstmSchedule,
    ) -> LstmGrads<T>;
}

fn check_shape<T: Float>(op: &str, what: &str, t: &Tensor<T>, expected: &[usize]) {
    assert!(
        t.shape() == expected,
        "{op}: {what} of shape {:?} where {expected:?} is expected",
        t.shape()
    );
}

/// One LSTM layer and direction over a sequence, unrecorded: see
/// [`RecurrentOps::lstm_forward`].
///
/// # Panics
/// If a shape does not match the schedule, or a row count exceeds the batch.
pub(crate) fn lstm_forward<T: Float>(
    projected: &Tensor<T>,
    weight_hh: &Tensor<T>,
    h0: &Tensor<T>,
    c0: &Tensor<T>,
    schedule: &LstmSchedule,
) -> LstmForward<T> {
    let (steps, batch, hidden) = schedule.dims();
    check_shape(
        "lstm_forward",
        "projected input",
        projected,
        &[steps, batch, 4 * hidden],
    );
    check_shape("lstm_forward", "weight_hh", weight_hh, &[4 * hidden, hidden]);
    check_shape("lstm_forward", "h0", h0, &[batch, hidden]);
    check_shape("lstm_forward", "c0", c0, &[batch, hidden]);
    assert!(
        schedule.rows.iter().all(|&r| r <= batch),
        "lstm_forward: a step runs more rows than the batch's {batch}: {:?}",
        schedule.rows
    );
    on_device!(device_of("lstm_forward", &[projected, weight_hh, h0, c0]), B => B::lstm_forward(projected, weight_hh, h0, c0, schedule))
}

/// The gradients of [`lstm_forward`]'s inputs, unrecorded.
///
/// # Panics
/// If `grad_outputs` is not `[steps + 2, batch, H]`.
pub(crate) fn lstm_backward<T: Float>(
    saved: &LstmSaved<T>,
    weight_hh: &Tensor<T>,
    grad_outputs: &Tensor<T>,
    schedule: &LstmSchedule,
) -> LstmGrads<T> {
    let (steps, batch, hidden) = schedule.dims();
    check_shape(
        "lstm_backward",
        "output gradient",
        grad_outputs,
        &[steps + 2, batch, hidden],
    );
    check_shape("lstm_backward", "weight_hh", weight_hh, &[4 * hidden, hidden]);
    on_device!(device_of("lstm_backward", &[weight_hh, grad_outputs, &saved.gates]), B => B::lstm_backward(saved, weight_hh, grad_outputs, schedule))
}

#[cfg(test)]
impl<B: RecurrentOps> RecurrentOps for super::counting::Counting<B> {
    fn lstm_forward<T: Float>(
        projected: &Tensor<T>,
        weight_hh: &Tensor<T>,
        h0: &Tensor<T>,
        c0: &Tensor<T>,
        schedule: &LstmSchedule,
    ) -> LstmForward<T> {
        super::counting::count("lstm_forward");
        B::lstm_forward(projected, weight_hh, h0, c0, schedule)
    }
    fn lstm_backward<T: Float>(
        saved: &LstmSaved<T>,
        weight_hh: &Tensor<T>,
        grad_outputs: &Tensor<T>,
        schedule: &LstmSchedule,
    ) -> LstmGrads<T> {
        super::counting::count("lstm_backward");
        B::lstm_backward(saved, weight_hh, grad_outputs, schedule)
    }
}
