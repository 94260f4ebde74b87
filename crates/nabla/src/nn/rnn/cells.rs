//! One step of a recurrence as a module: [`RnnCell`], [`LstmCell`] and
//! [`GruCell`], as `torch.nn.RNNCell`, `LSTMCell` and `GRUCell`.

use super::step::{Recurrence, State};
use super::weights::{CellKind, RecurrentWeights};
use super::Nonlinearity;
use crate::element::Float;
use crate::nn::{Geometry, Module, Summarize};
use crate::tensor::{Generator, Tensor};

/// One step of `kind` from `input` (`[B, F]` or `[F]`) and the state
/// (`h`, and `c` for an LSTM; zeros when absent), checked for the cell
/// `name`.
fn cell_step<T: Float>(
    kind: CellKind,
    weights: [&Tensor<T>; 2],
    biases: [Option<&Tensor<T>>; 2],
    input: &Tensor<T>,
    h: Option<&Tensor<T>>,
    c: Option<&Tensor<T>>,
) -> State<T> {
    let name = kind.cell_name();
    let [weight_ih, weight_hh] = weights;
    let (features, hidden) = (weight_ih.shape()[1], weight_hh.shape()[1]);
    let unbatched = input.ndim() == 1;
    assert!(
        (input.ndim() == 2 || unbatched) && input.shape()[input.ndim() - 1] == features,
        "{name}: input must be [batch, {features}] or [{features}], got {:?}",
        input.shape()
    );
    let x = if unbatched {
        input.unsqueeze(0)
    } else {
        input.clone()
    };
    let batch = x.shape()[0];
    let state = |s: Option<&Tensor<T>>, what: &str| match s {
        Some(s) => {
            let expected: &[usize] = if unbatched { &[hidden] } else { &[batch, hidden] };
            assert!(
                s.shape() == expected,
                "{name}: {what} of shape {:?} does not fit the input {:?}: expected {expected:?}",
                s.shape(),
                input.shape()
            );
            if unbatched {
                s.unsqueeze(0)
            } else {
                s.clone()
            }
        }
        None => Tensor::zeros(&[batch, hidden]),
    };
    // No state given: the zero state, which needs no product.
    let before = h.map(|h| State {
        h: state(Some(h), "h"),
        c: (kind == CellKind::Lstm).then(|| state(c, "c")),
    });
    let recurrence = Recurrence::from_parts(kind, weight_ih, weight_hh, biases[0], biases[1]);
    let after = recurrence.step(&recurrence.project(&x), before.as_ref());
    if unbatched {
        State {
            h: after.h.squeeze(0),
            c: after.c.map(|c| c.squeeze(0)),
        }
    } else {
        after
    }
}

/// Defines a cell type: the four weights as fields, constructors, the
/// summary line.
macro_rules! cell_type {
    ($(#[$doc:meta])* $cell:ident, $gates:literal) => {
        $(#[$doc])*
        #[derive(Module)]
        #[module(custom_summary)]
        pub struct $cell<T: Float = f32> {
            #[doc = concat!("`[", $gates, "H, input_size]`.")]
            pub weight_ih: Tensor<T>,
            #[doc = concat!("`[", $gates, "H, H]`.")]
            pub weight_hh: Tensor<T>,
            #[doc = concat!("`[", $gates, "H]`, if the cell has biases.")]
            pub bias_ih: Option<Tensor<T>>,
            #[doc = concat!("`[", $gates, "H]`, if the cell has biases.")]
            pub bias_hh: Option<Tensor<T>>,
            #[module(skip)]
            kind: CellKind,
        }

        impl<T: Float> $cell<T> {
            fn with_kind(kind: CellKind, input_size: usize, hidden_size: usize, bias: bool, generator: &mut Generator) -> Self {
                Self::with_weights(kind, RecurrentWeights::init(kind, input_size, hidden_size, bias, generator))
            }

            fn with_weights(kind: CellKind, weights: RecurrentWeights<T>) -> Self {
                weights.check_gates(kind, kind.cell_name());
                $cell {
                    weight_ih: weights.weight_ih,
                    weight_hh: weights.weight_hh,
                    bias_ih: weights.bias_ih,
                    bias_hh: weights.bias_hh,
                    kind,
                }
            }

            /// The input's features.
            pub fn input_size(&self) -> usize {
                self.weight_ih.shape()[1]
            }

            /// `H`, the features of the state.
            pub fn hidden_size(&self) -> usize {
                self.weight_hh.shape()[1]
            }

            fn step(&self, input: &Tensor<T>, h: Option<&Tensor<T>>, c: Option<&Tensor<T>>) -> State<T> {
                cell_step(
                    self.kind,
                    [&self.weight_ih, &self.weight_hh],
                    [self.bias_ih.as_ref(), self.bias_hh.as_ref()],
                    input,
                    h,
                    c,
                )
            }
        }

        impl<T: Float> Summarize<T> for $cell<T> {
            fn describe(&self) -> String {
                let mut s = format!("{}({}, {}", self.kind.cell_name(), self.input_size(), self.hidden_size());
                if self.bias_ih.is_none() {
                    s += ", bias=False";
                }
                if self.kind == CellKind::Rnn(Nonlinearity::Relu) {
                    s += ", nonlinearity='relu'";
                }
                s + ")"
            }

            fn geometry(&self) -> Geometry {
                Geometry::Global
            }
        }
    };
}

cell_type!(
    /// One step of an Elman RNN, as `torch.nn.RNNCell`:
    /// `h' = tanh(W_ih x + b_ih + W_hh h + b_hh)` (or relu), with weights
    /// `weight_ih` `[H, F]`, `weight_hh` `[H, H]`, biases `[H]`, drawn from
    /// U(-1/sqrt(H), 1/sqrt(H)).
    ///
    /// Input `[B, F]` (or `[F]`), state and result `[B, H]` (or `[H]`).
    ///
    /// ```
    /// use nabla::nn::{Nonlinearity, RnnCell};
    /// use nabla::{Generator, Tensor};
    /// let mut g = Generator::new(0);
    /// let cell: RnnCell = RnnCell::new(3, 4, true, &mut g).nonlinearity(Nonlinearity::Relu);
    /// let mut h = Tensor::zeros(&[2, 4]);
    /// for _ in 0..5 {
    ///     h = cell.forward(&Tensor::randn(&[2, 3], &mut g), Some(&h));
    /// }
    /// assert!(h.to_vec().iter().all(|&v| v >= 0.0));
    /// ```
    #[doc(alias = "RNNCell")]
    RnnCell,
    ""
);

cell_type!(
    /// One step of an LSTM, as `torch.nn.LSTMCell`: the gates i, f, g, o
    /// stacked in that order in the rows of `weight_ih` `[4H, F]`,
    /// `weight_hh` `[4H, H]` and the biases `[4H]` (see [`Lstm`](super::Lstm)
    /// for the equations), drawn from U(-1/sqrt(H), 1/sqrt(H)).
    ///
    /// Input `[B, F]` (or `[F]`); `h`, `c` and the results `[B, H]` (or `[H]`).
    ///
    /// ```
    /// use nabla::nn::{LstmCell, Module};
    /// use nabla::{Generator, Tensor};
    /// let mut g = Generator::new(0);
    /// let cell: LstmCell = LstmCell::new(3, 4, true, &mut g);
    /// let (h, c) = cell.forward(&Tensor::randn(&[2, 3], &mut g), None);
    /// let (h, c) = cell.forward(&Tensor::randn(&[2, 3], &mut g), Some((&h, &c)));
    /// assert_eq!((h.shape(), c.shape()), (&[2, 4][..], &[2, 4][..]));
    /// let names: Vec<String> = cell.state_dict().into_iter().map(|(n, _)| n).collect();
    /// assert_eq!(names, ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]);
    /// ```
    #[doc(alias = "LSTMCell")]
    LstmCell,
    "4"
);

cell_type!(
    /// One step of a GRU, as `torch.nn.GRUCell`: the gates r, z, n stacked
    /// in that order in the rows of `weight_ih` `[3H, F]`, `weight_hh` `[3H,
    /// H]` and the biases `[3H]` (see [`Gru`](super::Gru) for the
    /// equations), drawn from U(-1/sqrt(H), 1/sqrt(H)).
    ///
    /// Input `[B, F]` (or `[F]`), state and result `[B, H]` (or `[H]`).
    ///
    /// ```
    /// use nabla::nn::GruCell;
    /// use nabla::{Generator, Tensor};
    /// let mut g = Generator::new(0);
    /// let cell: GruCell = GruCell::new(3, 4, false, &mut g);
    /// let h = cell.forward(&Tensor::randn(&[3], &mut g), None);
    /// assert_eq!(h.shape(), &[4]);
    /// ```
    #[doc(alias = "GRUCell")]
    GruCell,
    "3"
);

impl<T: Float> RnnCell<T> {
    /// A tanh cell from `input_size` to `hidden_size` features, with or
    /// without biases, initialised from `generator`.
    pub fn new(input_size: usize, hidden_size: usize, bias: bool, generator: &mut Generator) -> Self {
        Self::with_kind(
            CellKind::Rnn(Nonlinearity::Tanh),
            input_size,
            hidden_size,
            bias,
            generator,
        )
    }

    /// A tanh cell with the given weights (`weight_ih` `[H, F]`, ...).
    ///
    /// # Panics
    /// If the weights are not those of one gate block.
    pub fn from_weights(weights: RecurrentWeights<T>) -> Self {
        Self::with_weights(CellKind::Rnn(Nonlinearity::Tanh), weights)
    }

    /// The cell with the given nonlinearity.
    pub fn nonlinearity(mut self, nonlinearity: Nonlinearity) -> Self {
        self.kind = CellKind::Rnn(nonlinearity);
        self
    }

    /// `h'` from `input` and `h` (zeros when `None`).
    ///
    /// # Panics
    /// If the input is not `[B, F]` or `[F]`, or `h` does not fit it.
    pub fn forward(&self, input: &Tensor<T>, h: Option<&Tensor<T>>) -> Tensor<T> {
        self.step(input, h, None).h
    }
}

impl<T: Float> LstmCell<T> {
    /// A cell from `input_size` to `hidden_size` features, with or without
    /// biases, initialised from `generator`.
    pub fn new(input_size: usize, hidden_size: usize, bias: bool, generator: &mut Generator) -> Self {
        Self::with_kind(CellKind::Lstm, input_size, hidden_size, bias, generator)
    }

    /// A cell with the given weights (`weight_ih` `[4H, F]`, ...).
    ///
    /// # Panics
    /// If the weights are not those of four gate blocks.
    pub fn from_weights(weights: RecurrentWeights<T>) -> Self {
        Self::with_weights(CellKind::Lstm, weights)
    }

    /// `(h', c')` from `input` and `(h, c)` (zeros when `None`).
    ///
    /// # Panics
    /// If the input is not `[B, F]` or `[F]`, or a state does not fit it.
    pub fn forward(
        &self,
        input: &Tensor<T>,
        state: Option<(&Tensor<T>, &Tensor<T>)>,
    ) -> (Tensor<T>, Tensor<T>) {
        let after = self.step(input, state.map(|s| s.0), state.map(|s| s.1));
        (after.h, after.c.expect("an LSTM step returns its cell state"))
    }
}

impl<T: Float> GruCell<T> {
    /// A cell from `input_size` to `hidden_size` features, with or without
    /// biases, initialised from `generator`.
    pub fn new(input_size: usize, hidden_size: usize, bias: bool, generator: &mut Generator) -> Self {
        Self::with_kind(CellKind::Gru, input_size, hidden_size, bias, generator)
    }

    /// A cell with the given weights (`weight_ih` `[3H, F]`, ...).
    ///
    /// # Panics
    /// If the weights are not those of three gate blocks.
    pub fn from_weights(weights: RecurrentWeights<T>) -> Self {
        Self::with_weights(CellKind::Gru, weights)
    }

    /// `h'` from `input` and `h` (zeros when `None`).
    ///
    /// # Panics
    /// If the input is not `[B, F]` or `[F]`, or `h` does not fit it.
    pub fn forward(&self, input: &Tensor<T>, h: Option<&Tensor<T>>) -> Tensor<T> {
        self.step(input, h, None).h
    }
}
