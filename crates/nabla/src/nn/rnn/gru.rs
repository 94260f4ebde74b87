//! [`Gru`]: the gated recurrent unit layer, as `torch.nn.GRU`.

use super::stack::{stack_layer_impls, Stack};
use super::weights::{CellKind, RecurrentWeights};
use super::RnnOptions;
use crate::element::Float;
use crate::tensor::{Generator, Tensor};

/// A multi-layer GRU, as `torch.nn.GRU`. At each step, with gates in the
/// order r, z, n stacked in the rows of the weights,
///
/// ```text
/// r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
/// z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
/// n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
/// h' = (1 - z) * n + z * h
/// ```
///
/// (`r` multiplies `W_hn h + b_hn`, its bias included, as in PyTorch).
///
/// Shapes (`L` layers, `D` = 2 if bidirectional else 1, hidden size `H`):
/// input `[T, B, F]` (`[B, T, F]` with `batch_first`, or unbatched `[T,
/// F]`); output `[T, B, D * H]` (`[B, T, D * H]`), every step's `h` of the
/// last layer, the directions concatenated; `h_n` `[L * D, B, H]` (without
/// the `B` when unbatched), layer by layer, forward direction first. The
/// initial `h_0` has the shape of `h_n` and is zero when not given.
///
/// Parameters: `weight_ih_l{k}` `[3H, F]` (`[3H, D * H]` above the first
/// layer), `weight_hh_l{k}` `[3H, H]`, `bias_ih_l{k}` and `bias_hh_l{k}`
/// `[3H]`, and the same with `_reverse` for the backward direction, all
/// drawn from U(-1/sqrt(H), 1/sqrt(H)).
///
/// ```
/// use nabla::nn::{Gru, Module, RnnOptions};
/// use nabla::{Generator, Tensor};
/// let mut g = Generator::new(0);
/// let gru: Gru = Gru::with_options(4, 6, RnnOptions::default().num_layers(2), &mut g);
/// let h0 = Tensor::zeros(&[2, 3, 6]);
/// let (output, h_n) = gru.forward(&Tensor::randn(&[5, 3, 4], &mut g), Some(&h0));
/// assert_eq!((output.shape(), h_n.shape()), (&[5, 3, 6][..], &[2, 3, 6][..]));
/// assert_eq!(gru.weights(1, false).weight_ih.shape(), &[18, 6]);
/// ```
#[doc(alias = "GRU")]
pub struct Gru<T: Float = f32> {
    stack: Stack<T>,
}

stack_layer_impls!(Gru);

impl<T: Float> Gru<T> {
    /// A one-layer, unidirectional GRU from `input_size` to
    /// `hidden_size` features with biases, initialised from `generator`.
    pub fn new(input_size: usize, hidden_size: usize, generator: &mut Generator) -> Self {
        Self::with_options(input_size, hidden_size, RnnOptions::default(), generator)
    }

    /// A GRU with the given layers, directions, bias, layout and dropout.
    ///
    /// # Panics
    /// If `num_layers` or `hidden_size` is 0, or dropout is outside `[0, 1)`.
    pub fn with_options(
        input_size: usize,
        hidden_size: usize,
        options: RnnOptions,
        generator: &mut Generator,
    ) -> Self {
        Gru {
            stack: Stack::new(CellKind::Gru, input_size, hidden_size, options, generator),
        }
    }

    /// A GRU with the given weights, one per layer and direction in the
    /// order layer 0 forward, layer 0 reverse (if bidirectional), layer 1
    /// forward, ...
    ///
    /// # Panics
    /// If their number, gate count, sizes or biases do not fit `options`.
    pub fn from_weights(weights: Vec<RecurrentWeights<T>>, options: RnnOptions) -> Self {
        Gru {
            stack: Stack::from_weights(CellKind::Gru, weights, options),
        }
    }

    /// Runs the GRU over `input` from `h_0` (zeros when `None`), returning
    /// `(output, h_n)`; shapes as in the type's documentation.
    ///
    /// # Panics
    /// If the input is not 2-D or 3-D, its features are not `input_size`,
    /// or `h_0`'s shape does not fit.
    pub fn forward(&self, input: &Tensor<T>, h0: Option<&Tensor<T>>) -> (Tensor<T>, Tensor<T>) {
        let out = self.stack.forward(input, h0, None, None);
        (out.output, out.h_n)
    }

    /// Runs the GRU over a padded batch of sequences of different lengths,
    /// with PyTorch's packed-sequence results (see
    /// [`Lstm::forward_padded`](super::Lstm::forward_padded)).
    ///
    /// # Panics
    /// As [`forward`](Self::forward), and if the lengths are not one per
    /// sequence, each in `1..=T`.
    pub fn forward_padded(
        &self,
        input: &Tensor<T>,
        lengths: &[usize],
        h0: Option<&Tensor<T>>,
    ) -> (Tensor<T>, Tensor<T>) {
        let out = self.stack.forward(input, h0, None, Some(lengths));
        (out.output, out.h_n)
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

    /// `H`, the features of `h` per direction.
    pub fn hidden_size(&self) -> usize {
        self.stack.hidden_size()
    }

    /// The layers, directions, bias, layout and dropout.
    pub fn options(&self) -> &RnnOptions {
        self.stack.options()
    }
}
