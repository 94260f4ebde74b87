//! One time step of a recurrent cell, written with recorded ops so that
//! autograd differentiates it: the input's projection is computed for all
//! time steps at once ([`Recurrence::project`]), each step adds only
//! `h W_hh^T` ([`Recurrence::step`]).

use super::weights::{CellKind, RecurrentWeights};
use super::Nonlinearity;
use crate::element::Float;
use crate::tensor::Tensor;

/// The state carried from step to step: `h`, and the LSTM's cell `c`.
#[derive(Clone)]
pub(crate) struct State<T: Float> {
    pub h: Tensor<T>,
    pub c: Option<Tensor<T>>,
}

impl<T: Float> State<T> {
    /// Rows `start..start + len` of the batch.
    pub fn rows(&self, start: usize, len: usize) -> State<T> {
        State {
            h: self.h.narrow(0, start, len),
            c: self.c.as_ref().map(|c| c.narrow(0, start, len)),
        }
    }

    /// The batches of `parts` one after another.
    pub fn cat(parts: &[State<T>]) -> State<T> {
        if parts.len() == 1 {
            return parts[0].clone();
        }
        State {
            h: Tensor::cat(parts.iter().map(|s| &s.h), 0),
            c: parts[0]
                .c
                .as_ref()
                .map(|_| Tensor::cat(parts.iter().filter_map(|s| s.c.as_ref()), 0)),
        }
    }

    /// The batch size.
    pub fn batch(&self) -> usize {
        self.h.shape()[0]
    }
}

/// One cell's weights made ready for a sequence: the transposed views and
/// the folded biases are built once, not at every step.
pub(crate) struct Recurrence<T: Float> {
    kind: CellKind,
    hidden: usize,
    w_ih_t: Tensor<T>,
    w_hh_t: Tensor<T>,
    /// Added to the input projection: `b_ih + b_hh`, except that a GRU
    /// keeps `b_hn` apart (r multiplies `W_hn h + b_hn`).
    input_bias: Option<Tensor<T>>,
    /// A GRU's `b_hn`, added to `W_hn h` at every step.
    hidden_n_bias: Option<Tensor<T>>,
}

impl<T: Float> Recurrence<T> {
    pub fn new(kind: CellKind, weights: &RecurrentWeights<T>) -> Self {
        Self::from_parts(
            kind,
            &weights.weight_ih,
            &weights.weight_hh,
            weights.bias_ih.as_ref(),
            weights.bias_hh.as_ref(),
        )
    }

    /// From the four tensors of [`RecurrentWeights`] (which a cell holds
    /// as its own fields).
    pub fn from_parts(
        kind: CellKind,
        weight_ih: &Tensor<T>,
        weight_hh: &Tensor<T>,
        bias_ih: Option<&Tensor<T>>,
        bias_hh: Option<&Tensor<T>>,
    ) -> Self {
        let hidden = weight_hh.shape()[1];
        let (input_bias, hidden_n_bias) = match (bias_ih, bias_hh) {
            (Some(b_ih), Some(b_hh)) if kind == CellKind::Gru => {
                let b_hrz = b_hh.narrow(0, 0, 2 * hidden);
                let b_hn = b_hh.narrow(0, 2 * hidden, hidden);
                let folded = Tensor::cat([b_hrz, Tensor::zeros(&[hidden])], 0);
                (Some(b_ih + &folded), Some(b_hn))
            }
            (Some(b_ih), Some(b_hh)) => (Some(b_ih + b_hh), None),
            _ => (None, None),
        };
        Recurrence {
            kind,
            hidden,
            w_ih_t: weight_ih.t(),
            w_hh_t: weight_hh.t(),
            input_bias,
            hidden_n_bias,
        }
    }

    /// The zero state of `batch` sequences (with a cell state for an LSTM).
    pub fn zero_state(&self, batch: usize) -> State<T> {
        State {
            h: Tensor::zeros(&[batch, self.hidden]),
            c: (self.kind == CellKind::Lstm).then(|| Tensor::zeros(&[batch, self.hidden])),
        }
    }

    /// `x W_ih^T` plus the folded biases, for an input `[..., input_size]`
    /// (every time step at once): `[..., G * H]`. Computed as one product
    /// of `[N, input_size]` rows, whose weight gradient is one product too.
    pub fn project(&self, x: &Tensor<T>) -> Tensor<T> {
        let features = x.shape()[x.ndim() - 1];
        let rows = x.numel() / features.max(1);
        let flat = x.reshape(&[rows, features]).matmul(&self.w_ih_t);
        let flat = match &self.input_bias {
            Some(b) => &flat + b,
            None => flat,
        };
        let mut shape = x.shape().to_vec();
        shape[x.ndim() - 1] = self.kind.gates() * self.hidden;
        flat.reshape(&shape)
    }

    /// The state after one step, from the step's projected input
    /// `xp = [B, G * H]` (rows of [`project`](Self::project)) and the state
    /// before it (`h` of `[B, H]`, and `c` for an LSTM), `None` for a zero
    /// state: the first step from zeros then skips `h W_hh^T` and the
    /// terms it would multiply.
    pub fn step(&self, xp: &Tensor<T>, state: Option<&State<T>>) -> State<T> {
        let hp = state.map(|s| s.h.matmul(&self.w_hh_t));
        let hs = self.hidden;
        match self.kind {
            CellKind::Rnn(nonlinearity) => {
                let pre = match &hp {
                    Some(hp) => xp + hp,
                    None => xp.clone(),
                };
                let h = match nonlinearity {
                    Nonlinearity::Tanh => pre.tanh(),
                    Nonlinearity::Relu => pre.relu(),
                };
                State { h, c: None }
            }
            CellKind::Lstm => {
                let gates = match &hp {
                    Some(hp) => xp + hp,
                    None => xp.clone(),
                };
                let c_prev = state.map(|s| s.c.as_ref().expect("an LSTM state carries its cell state"));
                lstm_cell(&gates, c_prev)
            }
            CellKind::Gru => {
                let xrz = xp.narrow(1, 0, 2 * hs);
                let rz = match &hp {
                    Some(hp) => &xrz + &hp.narrow(1, 0, 2 * hs),
                    None => xrz,
                }
                .sigmoid();
                let r = rz.narrow(1, 0, hs);
                let z = rz.narrow(1, hs, hs);
                // W_hn h + b_hn, which r multiplies.
                let hn = match (&hp, &self.hidden_n_bias) {
                    (Some(hp), Some(b)) => Some(&hp.narrow(1, 2 * hs, hs) + b),
                    (Some(hp), None) => Some(hp.narrow(1, 2 * hs, hs)),
                    (None, Some(b)) => Some(b.clone()),
                    (None, None) => None,
                };
                let xn = xp.narrow(1, 2 * hs, hs);
                let n = match hn {
                    Some(hn) => &xn + &(&r * &hn),
                    None => xn,
                }
                .tanh();
                // (1 - z) n + z h, with one product fewer.
                let h = match state {
                    Some(s) => &n + &(&z * &(&s.h - &n)),
                    None => &n - &(&z * &n),
                };
                State { h, c: None }
            }
        }
    }
}

/// The LSTM cell in recorded ops, from the gates' pre-activations
/// `[B, 4H]` (order i, f, g, o) and the cell state before the step (`None`
/// for zeros): `c = f c_prev + i g`, `h = o tanh(c)`.
pub(crate) fn lstm_cell<T: Float>(gates: &Tensor<T>, c_prev: Option<&Tensor<T>>) -> State<T> {
    let hs = gates.shape()[1] / 4;
    // i and f are adjacent: one sigmoid for both.
    let input_forget = gates.narrow(1, 0, 2 * hs).sigmoid();
    let i = input_forget.narrow(1, 0, hs);
    let g = gates.narrow(1, 2 * hs, hs).tanh();
    let o = gates.narrow(1, 3 * hs, hs).sigmoid();
    let c = match c_prev {
        Some(c_prev) => &(&input_forget.narrow(1, hs, hs) * c_prev) + &(&i * &g),
        None => &i * &g,
    };
    let h = &o * &c.tanh();
    State { h, c: Some(c) }
}
