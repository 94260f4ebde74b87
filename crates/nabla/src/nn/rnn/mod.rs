//! Sequence layers: [`Embedding`], the recurrent layers [`Rnn`], [`Lstm`]
//! and [`Gru`] and their cells, with PyTorch's semantics and state-dict
//! names (`weight_ih_l0`, `bias_hh_l1_reverse`, ...).
//!
//! A recurrent layer projects its whole input once (`x W_ih^T` for every
//! time step in one product) and then runs the steps, each adding `h
//! W_hh^T` and applying its gates, with recorded ops so that autograd
//! differentiates through time; an LSTM layer runs all its steps as one
//! recorded op with a hand-written backward pass (`lstm_sequence.rs`), as
//! PyTorch's fused LSTM. Padded batches of different lengths run as
//! PyTorch's packed sequences (`forward_padded`).

mod cells;
mod embedding;
mod gru;
mod lstm;
mod lstm_sequence;
mod options;
#[allow(clippy::module_inception)]
mod rnn;
mod stack;
mod step;
mod weights;

pub use cells::{GruCell, LstmCell, RnnCell};
pub use embedding::Embedding;
pub use gru::Gru;
pub use lstm::Lstm;
pub use options::{Nonlinearity, RnnOptions};
pub use rnn::Rnn;
pub use weights::RecurrentWeights;
