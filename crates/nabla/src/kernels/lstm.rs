//! One LSTM layer and direction over a whole sequence, forward and
//! backward, as PyTorch's fused cell: per time step one product `h W_hhᵀ`
//! added onto the step's projected input, then the gates, the cell and the
//! output in one pass over the running rows; back, one pass and one product
//! `dgates W_hh` per step, and the weight's gradient as a single product
//! over all steps at the end.
//!
//! Gate order i, f, g, o (PyTorch's). Row `b` of the batch runs at time
//! step `t` when `b < rows[t]` (a packed batch, sorted by length); the
//! other rows keep their state, and their output is zero.

use super::elementwise::sigmoid;
use super::matmul::{gemm_into, parallelism_for, Mat, MatMut};
use crate::backend::ops::LstmSchedule;
use crate::element::Float;

/// What the forward pass keeps for the backward pass, each
/// `[steps, batch, ...]` in time order: buffers (`S = Vec<T>`) as the
/// forward pass returns them, slices (`S = &[T]`) as the backward pass
/// reads them.
pub(crate) struct LstmSaved<S> {
    /// The gates after their nonlinearities, `[steps, batch, 4H]`.
    pub gates: S,
    /// The `h` each step started from, `[steps, batch, H]`.
    pub h_prev: S,
    /// The `c` each step started from, `[steps, batch, H]`.
    pub c_prev: S,
    /// `tanh` of the `c` each step ended with, `[steps, batch, H]`.
    pub tanh_c: S,
}

/// The forward pass's results.
pub(crate) struct LstmForwardBuffers<T> {
    /// Every step's `h` (zero where a row does not run), then the final `h`
    /// and the final `c`: `[steps + 2, batch, H]`.
    pub outputs: Vec<T>,
    pub saved: LstmSaved<Vec<T>>,
}

/// The backward pass's results.
pub(crate) struct LstmGradBuffers<T> {
    /// The gradient of the projected input: the gates' pre-activations,
    /// `[steps, batch, 4H]`.
    pub projected: Vec<T>,
    /// `[4H, H]`.
    pub weight_hh: Vec<T>,
    /// The initial `h` and `c`, `[batch, H]` each.
    pub h0: Vec<T>,
    pub c0: Vec<T>,
}

/// The LSTM over the sequence `projected` (`[steps, batch, 4H]`: `x W_ihᵀ`
/// plus both biases) with recurrent weight `weight_hh` (`[4H, H]`), from
/// the state `h0`, `c0` (`[batch, H]`).
pub(crate) fn lstm_forward<T: Float>(
    projected: &[T],
    weight_hh: &[T],
    h0: &[T],
    c0: &[T],
    schedule: &LstmSchedule,
) -> LstmForwardBuffers<T> {
    let (steps, batch, hidden) = schedule.dims();
    let gates_width = 4 * hidden;
    let state = batch * hidden;
    debug_assert_eq!(projected.len(), steps * batch * gates_width);
    debug_assert_eq!(weight_hh.len(), gates_width * hidden);
    // W_hhᵀ, `[H, 4H]` row-major: `gemm` multiplies a row-major right
    // operand faster than a transposed one.
    let mut weight_hh_t = vec![T::zero(); weight_hh.len()];
    for (j, row) in weight_hh.chunks_exact(hidden).enumerate() {
        for (i, &w) in row.iter().enumerate() {
            weight_hh_t[i * gates_width + j] = w;
        }
    }
    let mut h = h0.to_vec();
    let mut c = c0.to_vec();
    let mut gates = projected.to_vec();
    let mut outputs = vec![T::zero(); (steps + 2) * state];
    // Zeros where a row does not run: the weight gradient multiplies them
    // by zero gate gradients.
    let mut h_prev = vec![T::zero(); steps * state];
    let mut c_prev = vec![T::zero(); steps * state];
    let mut tanh_c = vec![T::zero(); steps * state];
    for t in schedule.order() {
        let rows = schedule.rows[t];
        if rows == 0 {
            continue;
        }
        let running = rows * hidden;
        let at = t * state;
        h_prev[at..at + running].copy_from_slice(&h[..running]);
        c_prev[at..at + running].copy_from_slice(&c[..running]);
        let step_gates = &mut gates[t * batch * gates_width..][..rows * gates_width];
        gemm_into(
            MatMut {
                data: step_gates,
                row: gates_width,
                col: 1,
            },
            Mat::rows(&h[..running], hidden),
            Mat::rows(&weight_hh_t, gates_width),
            (rows, gates_width, hidden),
            true,
            parallelism_for(rows, gates_width, hidden),
        );
        cell_forward(
            step_gates,
            &mut c[..running],
            &mut h[..running],
            &mut tanh_c[at..at + running],
            hidden,
        );
        outputs[at..at + running].copy_from_slice(&h[..running]);
    }
    outputs[steps * state..(steps + 1) * state].copy_from_slice(&h);
    outputs[(steps + 1) * state..].copy_from_slice(&c);
    LstmForwardBuffers {
        outputs,
        saved: LstmSaved {
            gates,
            h_prev,
            c_prev,
            tanh_c,
        },
    }
}

/// The gradients of [`lstm_forward`]'s inputs from the gradient of its
/// outputs (`[steps + 2, batch, H]`, laid out as its `outputs`).
pub(crate) fn lstm_backward<T: Float>(
    saved: LstmSaved<&[T]>,
    weight_hh: &[T],
    grad_outputs: &[T],
    schedule: &LstmSchedule,
) -> LstmGradBuffers<T> {
    let (steps, batch, hidden) = schedule.dims();
    let gates_width = 4 * hidden;
    let state = batch * hidden;
    debug_assert_eq!(grad_outputs.len(), (steps + 2) * state);
    let mut dh = grad_outputs[steps * state..(steps + 1) * state].to_vec();
    let mut dc = grad_outputs[(steps + 1) * state..].to_vec();
    // Zero where a row does not run, so that its state passes through.
    let mut dgates = vec![T::zero(); steps * batch * gates_width];
    for t in schedule.order().into_iter().rev() {
        let rows = schedule.rows[t];
        if rows == 0 {
            continue;
        }
        let running = rows * hidden;
        let at = t * state;
        let step_dgates = &mut dgates[t * batch * gates_width..][..rows * gates_width];
        cell_backward(
            CellSaved {
                gates: &saved.gates[t * batch * gates_width..][..rows * gates_width],
                c_prev: &saved.c_prev[at..at + running],
                tanh_c: &saved.tanh_c[at..at + running],
            },
            &grad_outputs[at..at + running],
            &mut dh[..running],
            &mut dc[..running],
            step_dgates,
            hidden,
        );
        gemm_into(
            MatMut {
                data: &mut dh[..running],
                row: hidden,
                col: 1,
            },
            Mat::rows(step_dgates, gates_width),
            Mat::rows(weight_hh, hidden),
            (rows, hidden, gates_width),
            false,
            parallelism_for(rows, hidden, gates_width),
        );
    }
    let mut weight_grad = vec![T::zero(); gates_width * hidden];
    let samples = steps * batch;
    gemm_into(
        MatMut {
            data: &mut weight_grad,
            row: hidden,
            col: 1,
        },
        Mat::transposed(&dgates, gates_width),
        Mat::rows(saved.h_prev, hidden),
        (gates_width, hidden, samples),
        false,
        parallelism_for(gates_width, hidden, samples),
    );
    LstmGradBuffers {
        projected: dgates,
        weight_hh: weight_grad,
        h0: dh,
        c0: dc,
    }
}

/// One step's cell for its running rows: `gates` (`[rows, 4H]`, the
/// pre-activations) become the gates' values; `c` and `h` (`[rows, H]`)
/// move one step on, and `tanh_c` receives `tanh` of the new `c`.
fn cell_forward<T: Float>(gates: &mut [T], c: &mut [T], h: &mut [T], tanh_c: &mut [T], hidden: usize) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { cell_forward_avx2(gates, c, h, tanh_c, hidden) };
    }
    cell_forward_rows(gates, c, h, tanh_c, hidden)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn cell_forward_avx2<T: Float>(gates: &mut [T], c: &mut [T], h: &mut [T], tanh_c: &mut [T], hidden: usize) {
    cell_forward_rows(gates, c, h, tanh_c, hidden)
}

// The arithmetic is the recorded step's (`c = f c + i g`, `h = o tanh(c)`,
// no fused multiply-adds), so both give the same values. Each loop is one
// function over plain slices, which the compiler vectorises; one loop doing
// all five functions at once stayed scalar.
#[inline(always)]
fn cell_forward_rows<T: Float>(gates: &mut [T], c: &mut [T], h: &mut [T], tanh_c: &mut [T], hidden: usize) {
    let rows = gates
        .chunks_exact_mut(4 * hidden)
        .zip(c.chunks_exact_mut(hidden))
        .zip(h.chunks_exact_mut(hidden))
        .zip(tanh_c.chunks_exact_mut(hidden));
    for (((gates, c), h), tanh_c) in rows {
        let (input_forget, rest) = gates.split_at_mut(2 * hidden);
        let (cell, output) = rest.split_at_mut(hidden);
        for v in input_forget.iter_mut() {
            *v = sigmoid(*v);
        }
        for v in output.iter_mut() {
            *v = sigmoid(*v);
        }
        for v in cell.iter_mut() {
            *v = v.tanh_kernel();
        }
        let (input, forget) = input_forget.split_at(hidden);
        for (((c, &i), &f), &g) in c.iter_mut().zip(input).zip(forget).zip(cell.iter()) {
            *c = f * *c + i * g;
        }
        for (t, &c) in tanh_c.iter_mut().zip(c.iter()) {
            *t = c.tanh_kernel();
        }
        for ((h, &o), &t) in h.iter_mut().zip(output.iter()).zip(tanh_c.iter()) {
            *h = o * t;
        }
    }
}

/// What one step's backward pass reads of its forward pass, for its
/// running rows.
#[derive(Clone, Copy)]
struct CellSaved<'a, T> {
    gates: &'a [T],
    c_prev: &'a [T],
    tanh_c: &'a [T],
}

/// One step's cell backwards for its running rows: `dh` (the gradient of
/// the step's `h` from later steps) plus `grad_output` (from the step's
/// output) and `dc` give the gates' pre-activation gradients `dgates`;
/// `dc` becomes the gradient of the `c` the step started from.
fn cell_backward<T: Float>(
    saved: CellSaved<'_, T>,
    grad_output: &[T],
    dh: &mut [T],
    dc: &mut [T],
    dgates: &mut [T],
    hidden: usize,
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { cell_backward_avx2(saved, grad_output, dh, dc, dgates, hidden) };
    }
    cell_backward_rows(saved, grad_output, dh, dc, dgates, hidden)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn cell_backward_avx2<T: Float>(
    saved: CellSaved<'_, T>,
    grad_output: &[T],
    dh: &mut [T],
    dc: &mut [T],
    dgates: &mut [T],
    hidden: usize,
) {
    cell_backward_rows(saved, grad_output, dh, dc, dgates, hidden)
}

#[inline(always)]
fn cell_backward_rows<T: Float>(
    saved: CellSaved<'_, T>,
    grad_output: &[T],
    dh: &mut [T],
    dc: &mut [T],
    dgates: &mut [T],
    hidden: usize,
) {
    let one = T::one();
    let rows = saved
        .gates
        .chunks_exact(4 * hidden)
        .zip(dgates.chunks_exact_mut(4 * hidden))
        .zip(saved.c_prev.chunks_exact(hidden))
        .zip(saved.tanh_c.chunks_exact(hidden))
        .zip(grad_output.chunks_exact(hidden))
        .zip(dh.chunks_exact_mut(hidden))
        .zip(dc.chunks_exact_mut(hidden));
    for ((((((gates, dgates), c_prev), tanh_c), grad_output), dh), dc) in rows {
        let (input, rest) = gates.split_at(hidden);
        let (forget, rest) = rest.split_at(hidden);
        let (cell, output) = rest.split_at(hidden);
        let (d_input, rest) = dgates.split_at_mut(hidden);
        let (d_forget, rest) = rest.split_at_mut(hidden);
        let (d_cell, d_output) = rest.split_at_mut(hidden);
        for j in 0..hidden {
            let (i, f, g, o) = (input[j], forget[j], cell[j], output[j]);
            let tc = tanh_c[j];
            let dh_j = dh[j] + grad_output[j];
            let dc_j = dc[j] + dh_j * o * (one - tc * tc);
            d_input[j] = dc_j * g * i * (one - i);
            d_forget[j] = dc_j * c_prev[j] * f * (one - f);
            d_cell[j] = dc_j * i * (one - g * g);
            d_output[j] = dh_j * tc * o * (one - o);
            dc[j] = dc_j * f;
        }
    }
}
