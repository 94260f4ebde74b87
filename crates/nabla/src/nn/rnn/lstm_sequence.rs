//! One LSTM layer and direction over a whole sequence as one recorded op,
//! a block with a hand-written gradient, as PyTorch's fused LSTM: where the
//! step-by-step recording made about twenty ops per time step (each with
//! its buffer and its node), this runs one product and one fused pass per
//! step each way (`kernels::lstm`).
//!
//! Under `create_graph` the backward pass recomputes the sequence in
//! recorded ops ([`lstm_cell`]) and differentiates that, so second
//! derivatives through an LSTM stay exact.

use super::step::{lstm_cell, State};
use crate::autograd::{grad_with, record};
use crate::backend;
use crate::backend::ops::LstmSchedule;
use crate::element::Float;
use crate::tensor::Tensor;

/// Runs the LSTM over `projected` (`[steps, batch, 4H]`: the input's
/// projection plus both biases) with recurrent weight `weight_hh`
/// (`[4H, H]`) from `init` (`None` for zeros), walked as `schedule` says.
/// Returns every step's `h` (`[steps, batch, H]`, zero where a row does
/// not run) and the final state.
pub(crate) fn lstm_sequence<T: Float>(
    projected: &Tensor<T>,
    weight_hh: &Tensor<T>,
    init: Option<&State<T>>,
    schedule: LstmSchedule,
) -> (Tensor<T>, State<T>) {
    let (steps, batch, hidden) = schedule.dims();
    let (h0, c0) = match init {
        Some(state) => (
            state.h.clone(),
            state.c.clone().expect("an LSTM state carries its cell state"),
        ),
        None => (Tensor::zeros(&[batch, hidden]), Tensor::zeros(&[batch, hidden])),
    };
    let forward = backend::lstm_forward(projected, weight_hh, &h0, &c0, &schedule);
    let mut inputs = vec![projected, weight_hh];
    if init.is_some() {
        inputs.extend([&h0, &c0]);
    }
    let originals: Vec<Tensor<T>> = inputs.iter().map(|t| (*t).clone()).collect();
    let saved = forward.saved;
    let outputs = record("LstmSequence", forward.outputs, &inputs, move |ctx| {
        if ctx.create_graph {
            let recomputed = lstm_sequence_recorded(&originals, &schedule);
            let inputs: Vec<&Tensor<T>> = originals.iter().collect();
            let grads = grad_with(&[&recomputed], &[ctx.grad()], &inputs, true, true);
            return grads
                .into_iter()
                .enumerate()
                .map(|(i, g)| g.filter(|_| ctx.needs_input_grad(i)))
                .collect();
        }
        let grads = backend::lstm_backward(&saved, &originals[1].detach(), ctx.grad(), &schedule);
        let mut out = vec![
            ctx.needs_input_grad(0).then_some(grads.projected),
            ctx.needs_input_grad(1).then_some(grads.weight_hh),
        ];
        if originals.len() == 4 {
            out.push(ctx.needs_input_grad(2).then_some(grads.h0));
            out.push(ctx.needs_input_grad(3).then_some(grads.c0));
        }
        out
    });
    let state = State {
        h: outputs.select(0, steps),
        c: Some(outputs.select(0, steps + 1)),
    };
    (outputs.narrow(0, 0, steps), state)
}

/// The same outputs as [`lstm_sequence`]'s node (`[steps + 2, batch, H]`)
/// in recorded ops, from `[projected, weight_hh]` and optionally `[h0,
/// c0]`: a row that does not run at a step keeps its state through a 0/1
/// mask.
fn lstm_sequence_recorded<T: Float>(inputs: &[Tensor<T>], schedule: &LstmSchedule) -> Tensor<T> {
    let (steps, batch, hidden) = schedule.dims();
    let weight_hh_t = inputs[1].t();
    let (mut h, mut c) = match inputs {
        [_, _, h0, c0] => (h0.clone(), c0.clone()),
        _ => (Tensor::zeros(&[batch, hidden]), Tensor::zeros(&[batch, hidden])),
    };
    let mut outputs = vec![Tensor::zeros(&[batch, hidden]); steps];
    for t in schedule.order() {
        let rows = schedule.rows[t];
        let gates = &inputs[0].select(0, t) + &h.matmul(&weight_hh_t);
        let next = lstm_cell(&gates, Some(&c));
        let next_c = next.c.expect("an LSTM cell returns its cell state");
        if rows == batch {
            (h, c) = (next.h, next_c);
            outputs[t] = h.clone();
        } else {
            let running: Vec<T> = (0..batch)
                .map(|b| if b < rows { T::one() } else { T::zero() })
                .collect();
            let running = Tensor::from_vec(running, &[batch, 1]);
            let waiting = running.neg().add_scalar(T::one());
            h = &(&next.h * &running) + &(&h * &waiting);
            c = &(&next_c * &running) + &(&c * &waiting);
            outputs[t] = &h * &running;
        }
    }
    outputs.extend([h, c]);
    Tensor::stack(&outputs, 0)
}
