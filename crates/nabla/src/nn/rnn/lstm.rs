//! [`Lstm`]: the long short-term memory layer, as `torch.nn.LSTM`.

use super::stack::{stack_layer_impls, Stack};
use super::weights::{CellKind, RecurrentWeights};
use super::RnnOptions;
use crate::element::Float;
use crate::tensor::{Generator, Tensor};

/// A multi-layer LSTM, as `torch.nn.LSTM`. At each step, with gates in the
/// order i, f, g, o stacked in the rows of the weights,
///
/// ```text
/// i = sigmoid(W_ii x + b_ii + W_hi h + b_hi)
/// f = sigmoid(W_if x + b_if + W_hf h + b_hf)
/// g = tanh(W_ig x + b_ig + W_hg h + b_hg)
/// o = sigmoid(W_io x + b_io + W_ho h + b_ho)
/// c' = f * c + i * g
/// h' = o * tanh(c')
/// ```
///
/// Shapes (`L` layers, `D` = 2 if bidirectional else 1, hidden size `H`):
/// input `[T, B, F]` (`[B, T, F]` with `batch_first`, or unbatched `[T,
/// F]`); output `[T, B, D * H]` (`[B, T, D * H]`), every step's `h` of the
/// last layer, the directions concatenated; `h_n` and `c_n` `[L * D, B,
/// H]` (without the `B` when unbatched), layer by layer, forward direction
/// first. The initial `(h_0, c_0)` has the shape of `(h_n, c_n)` and is
/// zero when not given.
///
/// Parameters: `weight_ih_l{k}` `[4H, F]` (`[4H, D * H]` above the first
/// layer), `weight_hh_l{k}` `[4H, H]`, `bias_ih_l{k}` and `bias_hh_l{k}`
/// `[4H]`, and the same with the suffix `_reverse` for the backward
/// direction: PyTorch's state-dict names, so weights move through
/// safetensors. All drawn from U(-1/sqrt(H), 1/sqrt(H)).
///
/// ```
/// use nabla::nn::{Lstm, Module, RnnOptions};
/// use nabla::{Generator, Tensor};
/// let mut g = Generator::new(0);
/// let options = RnnOptions::default().num_layers(2).batch_first(true);
/// let lstm: Lstm = Lstm::with_options(10, 20, options, &mut g);
/// let x = Tensor::randn(&[3, 5, 10], &mut g); // [batch, time, features]
/// let (output, (h_n, c_n)) = lstm.forward(&x, None);
/// assert_eq!(output.shape(), &[3, 5, 20]);
/// assert_eq!((h_n.shape(), c_n.shape()), (&[2, 3, 20][..], &[2, 3, 20][..]));
/// let names: Vec<String> = lstm.state_dict().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names[..4], ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]);
/// assert_eq!(lstm.num_parameters(), 4 * 20 * (10 + 20 + 2) + 4 * 20 * (20 + 20 + 2));
/// ```
#[doc(alias = "LSTM")]
pub struct Lstm<T: Float = f32> {
    stack: Stack<T>,
}

stack_layer_impls!(Lstm);

impl<T: Float> Lstm<T> {
    /// A one-layer, unidirectional LSTM from `input_size` to `hidden_size`
    /// features with biases, initialised from `generator`.
    pub fn new(input_size: usize, hidden_size: usize, generator: &mut Generator) -> Self {
        Self::with_options(input_size, hidden_size, RnnOptions::default(), generator)
    }

    /// An LSTM with the given layers, directions, bias, layout and dropout.
    ///
    /// # Panics
    /// If `num_layers` or `hidden_size` is 0, or dropout is outside `[0, 1)`.
    pub fn with_options(
        input_size: usize,
        hidden_size: usize,
        options: RnnOptions,
        generator: &mut Generator,
    ) -> Self {
        Lstm {
            stack: Stack::new(CellKind::Lstm, input_size, hidden_size, options, generator),
        }
    }

    /// An LSTM with the given weights, one per layer and direction in the
    /// order layer 0 forward, layer 0 reverse (if bidirectional), layer 1
    /// forward, ...
    ///
    /// # Panics
    /// If their number, gate count, sizes or biases do not fit `options`.
    pub fn from_weights(weights: Vec<RecurrentWeights<T>>, options: RnnOptions) -> Self {
        Lstm {
            stack: Stack::from_weights(CellKind::Lstm, weights, options),
        }
    }

    /// Runs the LSTM over `input` from the initial `(h_0, c_0)` (zeros when
    /// `None`), returning `(output, (h_n, c_n))`; shapes as in the type's
    /// documentation.
    ///
    /// # Panics
    /// If the input is not 2-D or 3-D, its features are not `input_size`,
    /// or a state's shape does not fit.
    pub fn forward(
        &self,
        input: &Tensor<T>,
        state: Option<(&Tensor<T>, &Tensor<T>)>,
    ) -> (Tensor<T>, (Tensor<T>, Tensor<T>)) {
        self.run(input, state, None)
    }

    /// Runs the LSTM over a padded batch of sequences of different lengths
    /// (sequence `b` is the first `lengths[b]` steps of the input, in any
    /// order), with PyTorch's results for `pack_padded_sequence(input,
    /// lengths, enforce_sorted=False)` and `pad_packed_sequence(output,
    /// total_length=T)`: outputs past a sequence's end are zero, `h_n` and
    /// `c_n` hold each sequence's state at its last step, and the reverse
    /// direction starts each sequence at its own last step.
    ///
    /// ```
    /// use nabla::nn::{Lstm, RnnOptions};
    /// use nabla::{Generator, Tensor};
    /// let mut g = Generator::new(0);
    /// let lstm: Lstm = Lstm::with_options(2, 3, RnnOptions::default().batch_first(true), &mut g);
    /// let x = Tensor::randn(&[2, 4, 2], &mut g);
    /// let (out, (h_n, _)) = lstm.forward_padded(&x, &[4, 2], None);
    /// assert_eq!(out.narrow(1, 2, 2).narrow(0, 1, 1).to_vec(), vec![0.0; 6]);
    /// // The second sequence's final state is its output at step 1.
    /// assert_eq!(h_n.select(1, 1).to_vec(), out.select(0, 1).select(0, 1).to_vec());
    /// ```
    ///
    /// # Panics
    /// As [`forward`](Self::forward), and if the lengths are not one per
    /// sequence, each in `1..=T`.
    pub fn forward_padded(
        &self,
        input: &Tensor<T>,
        lengths: &[usize],
        state: Option<(&Tensor<T>, &Tensor<T>)>,
    ) -> (Tensor<T>, (Tensor<T>, Tensor<T>)) {
        self.run(input, state, Some(lengths))
    }

    fn run(
        &self,
        input: &Tensor<T>,
        state: Option<(&Tensor<T>, &Tensor<T>)>,
        lengths: Option<&[usize]>,
    ) -> (Tensor<T>, (Tensor<T>, Tensor<T>)) {
        let out = self
            .stack
            .forward(input, state.map(|s| s.0), state.map(|s| s.1), lengths);
        let c_n = out.c_n.expect("an LSTM returns its cell state");
        (out.output, (out.h_n, c_n))
    }

    /// The weights of `layer` (from 0), of the reverse direction if `reverse`.
    ///
    /// # Panics
    /// If there is no such layer or direction.
    pub fn weights(&self, layer: usize, reverse: bool) -> &RecurrentWeights<T> {
        self.stack.weights(layer, reverse)
    }

    /// The input's features.
    pub fn input_size(&self) -> usize {
        self.stack.input_size()
    }

    /// `H`, the features of `h` and `c` per direction.
    pub fn hidden_size(&self) -> usize {
        self.stack.hidden_size()
    }

    /// The layers, directions, bias, layout and dropout.
    pub fn options(&self) -> &RnnOptions {
        self.stack.options()
    }
}
