//! One LSTM layer and direction over a whole sequence, forward and
//! backward, fused: per time step one product `h W_hhᵀ` added onto the
//! step's projected input, then the gates, the cell and the output in one
//! pass over the running rows; back, one pass and one product `dgates
//! W_hh` per step, and the weight's gradient as a single product over all
//! steps at the end. Each thread runs every step of its own block of batch
//! rows ([`row_blocks`]).
//!
//! Gate order i, f, g, o (PyTorch's). Row `b` of the batch runs at time
//! step `t` when `b < rows[t]` (a packed batch, sorted by length); the
//! other rows keep their state, and their output is zero.

use std::ops::Range;

use gemm::Parallelism;
use rayon::prelude::*;

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
    let blocks = row_blocks(batch);
    {
        let (step_outputs, _) = outputs.split_at_mut(steps * state);
        let mut gates = split_rows(&mut gates, gates_width, &blocks).into_iter();
        let mut step_outputs = split_rows(step_outputs, hidden, &blocks).into_iter();
        let mut h_prev = split_rows(&mut h_prev, hidden, &blocks).into_iter();
        let mut c_prev = split_rows(&mut c_prev, hidden, &blocks).into_iter();
        let mut tanh_c = split_rows(&mut tanh_c, hidden, &blocks).into_iter();
        let mut h = split_rows(&mut h, hidden, &blocks).into_iter();
        let mut c = split_rows(&mut c, hidden, &blocks).into_iter();
        let work: Vec<ForwardBlock<'_, T>> = blocks
            .iter()
            .map(|rows| ForwardBlock {
                rows: rows.clone(),
                gates: next_block(&mut gates),
                outputs: next_block(&mut step_outputs),
                h_prev: next_block(&mut h_prev),
                c_prev: next_block(&mut c_prev),
                tanh_c: next_block(&mut tanh_c),
                h: next_block(&mut h).pop().unwrap_or_default(),
                c: next_block(&mut c).pop().unwrap_or_default(),
            })
            .collect();
        work.into_par_iter()
            .for_each(|block| forward_block(block, &weight_hh_t, schedule));
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
    let blocks = row_blocks(batch);
    {
        let mut dgates = split_rows(&mut dgates, gates_width, &blocks).into_iter();
        let mut dh = split_rows(&mut dh, hidden, &blocks).into_iter();
        let mut dc = split_rows(&mut dc, hidden, &blocks).into_iter();
        let work: Vec<BackwardBlock<'_, T>> = blocks
            .iter()
            .map(|rows| BackwardBlock {
                rows: rows.clone(),
                dgates: next_block(&mut dgates),
                dh: next_block(&mut dh).pop().unwrap_or_default(),
                dc: next_block(&mut dc).pop().unwrap_or_default(),
            })
            .collect();
        work.into_par_iter()
            .for_each(|block| backward_block(block, &saved, weight_hh, grad_outputs, schedule));
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

/// The batch's rows in one contiguous block per thread. A row's
/// recurrence never reads another row, so each block runs all its steps
/// on its own, with no hand-off between steps: one product of `[B/2, H]`
/// rows per step on each core beat one `[B, H]` product split over both
/// cores at every step.
fn row_blocks(batch: usize) -> Vec<Range<usize>> {
    let size = batch.div_ceil(rayon::current_num_threads().clamp(1, batch.max(1)));
    (0..batch)
        .step_by(size.max(1))
        .map(|start| start..(start + size).min(batch))
        .collect()
}

/// A `[steps, batch, width]` buffer as, for each block of rows, the block's
/// rows at every step (`[rows, width]` each).
fn split_rows<'a, T>(buffer: &'a mut [T], width: usize, blocks: &[Range<usize>]) -> Vec<Vec<&'a mut [T]>> {
    let batch = blocks.last().map_or(0, |b| b.end);
    let mut parts: Vec<Vec<&mut [T]>> = blocks.iter().map(|_| Vec::new()).collect();
    if batch * width == 0 {
        return parts;
    }
    for step in buffer.chunks_exact_mut(batch * width) {
        let mut rest = step;
        for (part, block) in parts.iter_mut().zip(blocks) {
            let (rows, tail) = std::mem::take(&mut rest).split_at_mut(block.len() * width);
            part.push(rows);
            rest = tail;
        }
    }
    parts
}

/// The next block's slices from [`split_rows`]'s result.
fn next_block<'a, T>(parts: &mut std::vec::IntoIter<Vec<&'a mut [T]>>) -> Vec<&'a mut [T]> {
    parts.next().unwrap_or_default()
}

/// How many of `block`'s rows run at a step where the first `running`
/// rows of the batch do.
fn running_in(block: &Range<usize>, running: usize) -> usize {
    running.clamp(block.start, block.end) - block.start
}

/// One block of rows' share of the forward pass: its rows of each buffer
/// at every step, and of the state.
struct ForwardBlock<'a, T> {
    rows: Range<usize>,
    gates: Vec<&'a mut [T]>,
    outputs: Vec<&'a mut [T]>,
    h_prev: Vec<&'a mut [T]>,
    c_prev: Vec<&'a mut [T]>,
    tanh_c: Vec<&'a mut [T]>,
    h: &'a mut [T],
    c: &'a mut [T],
}

fn forward_block<T: Float>(mut block: ForwardBlock<'_, T>, weight_hh_t: &[T], schedule: &LstmSchedule) {
    let hidden = schedule.hidden;
    let gates_width = 4 * hidden;
    for t in schedule.order() {
        let rows = running_in(&block.rows, schedule.rows[t]);
        if rows == 0 {
            continue;
        }
        let running = rows * hidden;
        let (h, c) = (&mut block.h[..running], &mut block.c[..running]);
        block.h_prev[t][..running].copy_from_slice(h);
        block.c_prev[t][..running].copy_from_slice(c);
        let gates = &mut block.gates[t][..rows * gates_width];
        row_major_product(gates, h, weight_hh_t, (rows, gates_width, hidden), true);
        cell_forward(gates, c, h, &mut block.tanh_c[t][..running], hidden);
        block.outputs[t][..running].copy_from_slice(h);
    }
}

/// One block of rows' share of the backward pass: its rows of the gates'
/// gradient at every step, and of the state's gradient.
struct BackwardBlock<'a, T> {
    rows: Range<usize>,
    dgates: Vec<&'a mut [T]>,
    dh: &'a mut [T],
    dc: &'a mut [T],
}

fn backward_block<T: Float>(
    mut block: BackwardBlock<'_, T>,
    saved: &LstmSaved<&[T]>,
    weight_hh: &[T],
    grad_outputs: &[T],
    schedule: &LstmSchedule,
) {
    let (_, batch, hidden) = schedule.dims();
    let gates_width = 4 * hidden;
    for t in schedule.order().into_iter().rev() {
        let rows = running_in(&block.rows, schedule.rows[t]);
        if rows == 0 {
            continue;
        }
        let running = rows * hidden;
        let first = t * batch + block.rows.start;
        let dgates = &mut block.dgates[t][..rows * gates_width];
        let dh = &mut block.dh[..running];
        cell_backward(
            CellSaved {
                gates: &saved.gates[first * gates_width..][..rows * gates_width],
                c_prev: &saved.c_prev[first * hidden..][..running],
                tanh_c: &saved.tanh_c[first * hidden..][..running],
            },
            &grad_outputs[first * hidden..][..running],
            dh,
            &mut block.dc[..running],
            dgates,
            hidden,
        );
        row_major_product(dh, dgates, weight_hh, (rows, hidden, gates_width), false);
    }
}

/// `dst (m x n) = [dst +] lhs (m x k) rhs (k x n)`, all row-major, on the
/// calling thread (its block of rows is this thread's share already).
fn row_major_product<T: Float>(
    dst: &mut [T],
    lhs: &[T],
    rhs: &[T],
    (m, n, k): (usize, usize, usize),
    accumulate: bool,
) {
    gemm_into(
        MatMut {
            data: dst,
            row: n,
            col: 1,
        },
        Mat::rows(lhs, k),
        Mat::rows(rhs, n),
        (m, n, k),
        accumulate,
        Parallelism::None,
    );
}

/// One step's cell for its running rows: `gates` (`[rows, 4H]`, the
/// pre-activations) become the gates' values; `c` and `h` (`[rows, H]`)
/// move one step on, and `tanh_c` receives `tanh` of the new `c`.
fn cell_forward<T: Float>(gates: &mut [T], c: &mut [T], h: &mut [T], tanh_c: &mut [T], hidden: usize) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU supports AVX-512F, checked just above.
        return unsafe { cell_forward_avx512(gates, c, h, tanh_c, hidden) };
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { cell_forward_avx2(gates, c, h, tanh_c, hidden) };
    }
    cell_forward_rows(gates, c, h, tanh_c, hidden)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn cell_forward_avx2<T: Float>(
    gates: &mut [T],
    c: &mut [T],
    h: &mut [T],
    tanh_c: &mut [T],
    hidden: usize,
) {
    cell_forward_rows(gates, c, h, tanh_c, hidden)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn cell_forward_avx512<T: Float>(
    gates: &mut [T],
    c: &mut [T],
    h: &mut [T],
    tanh_c: &mut [T],
    hidden: usize,
) {
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
