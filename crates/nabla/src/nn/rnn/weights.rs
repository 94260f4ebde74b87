//! [`RecurrentWeights`]: the four tensors of one recurrent cell, and the
//! [`CellKind`] that says which recurrence they compute.

use super::Nonlinearity;
use crate::element::Float;
use crate::nn::init::uniform_;
use crate::nn::Module;
use crate::tensor::{Generator, Tensor};

/// Which recurrence a cell computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CellKind {
    Rnn(Nonlinearity),
    Lstm,
    Gru,
}

impl CellKind {
    /// The gate blocks stacked in the weights' rows: 1 (RNN), 4 (LSTM:
    /// i, f, g, o), 3 (GRU: r, z, n).
    pub fn gates(self) -> usize {
        match self {
            CellKind::Rnn(_) => 1,
            CellKind::Lstm => 4,
            CellKind::Gru => 3,
        }
    }

    /// PyTorch's name of the layer, for messages and summaries.
    pub fn layer_name(self) -> &'static str {
        match self {
            CellKind::Rnn(_) => "RNN",
            CellKind::Lstm => "LSTM",
            CellKind::Gru => "GRU",
        }
    }

    /// PyTorch's name of the cell.
    pub fn cell_name(self) -> &'static str {
        match self {
            CellKind::Rnn(_) => "RNNCell",
            CellKind::Lstm => "LSTMCell",
            CellKind::Gru => "GRUCell",
        }
    }
}

/// The weights of one recurrent cell (or of one layer and direction of a
/// recurrent layer), under PyTorch's names: with `G` gate blocks (1 for an
/// RNN, 4 for an LSTM in the order i, f, g, o, 3 for a GRU in the order
/// r, z, n) and hidden size `H`,
///
/// - `weight_ih`: `[G * H, input_size]`,
/// - `weight_hh`: `[G * H, H]`,
/// - `bias_ih`, `bias_hh`: `[G * H]`, both present or both absent.
///
/// ```
/// use nabla::nn::{Lstm, Module};
/// use nabla::Generator;
/// let lstm: Lstm = Lstm::new(3, 5, &mut Generator::new(0));
/// let weights = lstm.weights(0, false);
/// assert_eq!(weights.weight_ih.shape(), &[20, 3]);
/// assert_eq!((weights.input_size(), weights.hidden_size()), (3, 5));
/// let names: Vec<String> = weights.state_dict().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]);
/// ```
#[derive(Module)]
pub struct RecurrentWeights<T: Float = f32> {
    /// `[G * H, input_size]`.
    pub weight_ih: Tensor<T>,
    /// `[G * H, H]`.
    pub weight_hh: Tensor<T>,
    /// `[G * H]`, if the cell has biases.
    pub bias_ih: Option<Tensor<T>>,
    /// `[G * H]`, if the cell has biases.
    pub bias_hh: Option<Tensor<T>>,
}

impl<T: Float> RecurrentWeights<T> {
    /// Weights drawn from U(-1/sqrt(H), 1/sqrt(H)), as PyTorch initialises
    /// every recurrent weight and bias, in the order weight_ih, weight_hh,
    /// bias_ih, bias_hh.
    pub(crate) fn init(
        kind: CellKind,
        input_size: usize,
        hidden_size: usize,
        bias: bool,
        g: &mut Generator,
    ) -> Self {
        let rows = kind.gates() * hidden_size;
        let bound = if hidden_size > 0 {
            1.0 / (hidden_size as f64).sqrt()
        } else {
            0.0
        };
        let mut draw = |shape: &[usize]| {
            let t = Tensor::zeros(shape);
            uniform_(&t, -bound, bound, g);
            t.requires_grad()
        };
        let weight_ih = draw(&[rows, input_size]);
        let weight_hh = draw(&[rows, hidden_size]);
        let bias_ih = bias.then(|| draw(&[rows]));
        let bias_hh = bias.then(|| draw(&[rows]));
        RecurrentWeights {
            weight_ih,
            weight_hh,
            bias_ih,
            bias_hh,
        }
    }

    /// Weights from given tensors (which become parameters).
    ///
    /// # Panics
    /// If `weight_hh` is not `[R, H]` with `R` a multiple of `H`,
    /// `weight_ih` not `[R, input_size]`, a bias not `[R]`, or only one bias
    /// is given.
    pub fn from_tensors(
        weight_ih: Tensor<T>,
        weight_hh: Tensor<T>,
        bias_ih: Option<Tensor<T>>,
        bias_hh: Option<Tensor<T>>,
    ) -> Self {
        let (ih, hh) = (weight_ih.shape(), weight_hh.shape());
        assert!(
            hh.len() == 2 && hh[1] > 0 && hh[0] % hh[1] == 0,
            "RecurrentWeights: weight_hh must be [gates * hidden, hidden], got {hh:?}"
        );
        assert!(
            ih.len() == 2 && ih[0] == hh[0],
            "RecurrentWeights: weight_ih of shape {ih:?} does not have the {} rows of weight_hh {hh:?}",
            hh[0]
        );
        assert!(
            bias_ih.is_some() == bias_hh.is_some(),
            "RecurrentWeights: bias_ih and bias_hh must be both present or both absent"
        );
        for b in bias_ih.iter().chain(&bias_hh) {
            assert!(
                b.shape() == [hh[0]],
                "RecurrentWeights: a bias of shape {:?} does not fit weight_hh of shape {hh:?}",
                b.shape()
            );
        }
        RecurrentWeights {
            weight_ih: weight_ih.requires_grad(),
            weight_hh: weight_hh.requires_grad(),
            bias_ih: bias_ih.map(Tensor::requires_grad),
            bias_hh: bias_hh.map(Tensor::requires_grad),
        }
    }

    /// The features of the input.
    pub fn input_size(&self) -> usize {
        self.weight_ih.shape()[1]
    }

    /// `H`, the features of the hidden state.
    pub fn hidden_size(&self) -> usize {
        self.weight_hh.shape()[1]
    }

    /// Whether the cell has its two biases.
    pub fn has_bias(&self) -> bool {
        self.bias_ih.is_some()
    }

    /// Panics unless these weights have the `kind`'s gate count, for the
    /// layer `what`.
    pub(crate) fn check_gates(&self, kind: CellKind, what: &str) {
        let rows = self.weight_hh.shape()[0];
        let hidden = self.hidden_size();
        assert!(
            rows == kind.gates() * hidden,
            "{what}: weight_hh of shape {:?} has {rows} rows where {} needs {} gate blocks of {hidden}",
            self.weight_hh.shape(),
            kind.layer_name(),
            kind.gates()
        );
    }
}
