//! The settings shared by [`Rnn`](super::Rnn), [`Lstm`](super::Lstm) and
//! [`Gru`](super::Gru), and the Elman RNN's nonlinearity.

/// The nonlinearity of an Elman RNN ([`Rnn`](super::Rnn),
/// [`RnnCell`](super::RnnCell)): PyTorch's `nonlinearity="tanh"` or `"relu"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Nonlinearity {
    /// `h' = tanh(W_ih x + b_ih + W_hh h + b_hh)` (the default).
    #[default]
    Tanh,
    /// `h' = relu(W_ih x + b_ih + W_hh h + b_hh)`.
    Relu,
}

impl Nonlinearity {
    /// PyTorch's name for it: `"tanh"` or `"relu"`.
    pub fn name(self) -> &'static str {
        match self {
            Nonlinearity::Tanh => "tanh",
            Nonlinearity::Relu => "relu",
        }
    }
}

/// The settings of a recurrent layer, with PyTorch's defaults: one layer,
/// biases, time-major input (`batch_first = false`), no dropout, one
/// direction, tanh (read only by [`Rnn`](super::Rnn)).
///
/// ```
/// use nabla::nn::RnnOptions;
/// let options = RnnOptions::default().num_layers(2).bidirectional(true).batch_first(true);
/// assert_eq!((options.num_layers, options.directions()), (2, 2));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct RnnOptions {
    /// Recurrent layers stacked, each reading the previous one's output
    /// (default 1).
    pub num_layers: usize,
    /// Whether the layers have `bias_ih` and `bias_hh` (default `true`).
    pub bias: bool,
    /// Input and output as `[batch, time, features]` instead of `[time,
    /// batch, features]` (default `false`). The states `h_0`, `h_n` (and
    /// `c_0`, `c_n`) are `[layers * directions, batch, hidden]` either way.
    pub batch_first: bool,
    /// Dropout probability on the output of every layer but the last, in
    /// training mode only (default 0).
    pub dropout: f64,
    /// A second direction per layer reading the sequence backwards, its
    /// output concatenated to the forward one's (default `false`).
    pub bidirectional: bool,
    /// The nonlinearity of [`Rnn`](super::Rnn) (default tanh); LSTM and GRU
    /// ignore it.
    pub nonlinearity: Nonlinearity,
}

impl Default for RnnOptions {
    fn default() -> Self {
        RnnOptions {
            num_layers: 1,
            bias: true,
            batch_first: false,
            dropout: 0.0,
            bidirectional: false,
            nonlinearity: Nonlinearity::Tanh,
        }
    }
}

impl RnnOptions {
    /// Sets `num_layers`.
    pub fn num_layers(mut self, num_layers: usize) -> Self {
        self.num_layers = num_layers;
        self
    }

    /// Sets `bias`.
    pub fn bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }

    /// Sets `batch_first`.
    pub fn batch_first(mut self, batch_first: bool) -> Self {
        self.batch_first = batch_first;
        self
    }

    /// Sets `dropout`.
    pub fn dropout(mut self, dropout: f64) -> Self {
        self.dropout = dropout;
        self
    }

    /// Sets `bidirectional`.
    pub fn bidirectional(mut self, bidirectional: bool) -> Self {
        self.bidirectional = bidirectional;
        self
    }

    /// Sets `nonlinearity`.
    pub fn nonlinearity(mut self, nonlinearity: Nonlinearity) -> Self {
        self.nonlinearity = nonlinearity;
        self
    }

    /// 2 when bidirectional, else 1.
    pub fn directions(&self) -> usize {
        if self.bidirectional {
            2
        } else {
            1
        }
    }
}
