//! [`Rnn`]: the Elman recurrent layer, as `torch.nn.RNN`.

use super::stack::{stack_layer_impls, Stack};
use super::weights::{CellKind, RecurrentWeights};
use super::RnnOptions;
use crate::element::Float;
use crate::tensor::{Generator, Tensor};

/// A multi-layer Elman RNN, as `torch.nn.RNN`: at each step
///
/// ```text
/// h' = tanh(W_ih x + b_ih + W_hh h + b_hh)
/// ```
///
/// (relu instead of tanh with [`Nonlinearity::Relu`](super::Nonlinearity)).
///
/// Shapes (`L` layers, `D` = 2 if bidirectional else 1, hidden size `H`):
/// input `[T, B, F]` (`[B, T, F]` with `batch_first`, or unbatched `[T,
/// F]`); output `[T, B, D * H]` (`[B, T, D * H]`), every step's `h` of the
/// last layer, the directions concatenated; `h_n` `[L * D, B, H]` (without
/// the `B` when unbatched), layer by layer, forward direction first. The
/// initial `h_0` has the shape of `h_n` and is zero when not given.
///
/// Parameters: `weight_ih_l{k}` `[H, F]` (`[H, D * H]` above the first
/// layer), `weight_hh_l{k}` `[H, H]`, `bias_ih_l{k}` and `bias_hh_l{k}`
/// `[H]`, and the same with `_reverse` for the backward direction, all
/// drawn from U(-1/sqrt(H), 1/sqrt(H)).
///
/// ```
/// use nabla::nn::{Module, Nonlinearity, Rnn, RnnOptions};
/// use nabla::{Generator, Tensor};
/// let mut g = Generator::new(0);
/// let options = RnnOptions::default().bidirectional(true).nonlinearity(Nonlinearity::Relu);
/// let rnn: Rnn = Rnn::with_options(4, 6, options, &mut g);
/// let (output, h_n) = rnn.forward(&Tensor::randn(&[7, 2, 4], &mut g), None);
/// assert_eq!((output.shape(), h_n.shape()), (&[7, 2, 12][..], &[2, 2, 6][..]));
/// assert_eq!(rnn.state_dict()[4].0, "weight_ih_l0_reverse");
/// ```
#[doc(alias = "RNN")]
pub struct Rnn<T: Float = f32> {
    stack: Stack<T>,
}

stack_layer_impls!(Rnn);

impl<T: Float> Rnn<T> {
    /// A one-layer, unidirectional tanh RNN from `input_size` to
    /// `hidden_size` features with biases, initialised from `generator`.
    pub fn new(input_size: usize, hidden_size: usize, generator: &mut Generator) -> Self {
        Self::with_options(input_size, hidden_size, RnnOptions::default(), generator)
    }

    /// An RNN with the given layers, directions, nonlinearity, bias, layout
    /// and dropout.
    ///
    /// # Panics
    /// If `num_layers` or `hidden_size` is 0, or dropout is outside `[0, 1)`.
    pub fn with_options(
        input_size: usize,
        hidden_size: usize,
        options: RnnOptions,
        generator: &mut Generator,
    ) -> Self {
        let kind = CellKind::Rnn(options.nonlinearity);
        Rnn {
            stack: Stack::new(kind, input_size, hidden_size, options, generator),
        }
    }

    /// An RNN with the given weights, one per layer and direction in the
    /// order layer 0 forward, layer 0 reverse (if bidirectional), layer 1
    /// forward, ...
    ///
    /// # Panics
    /// If their number, sizes or biases do not fit `options`.
    pub fn from_weights(weights: Vec<RecurrentWeights<T>>, options: RnnOptions) -> Self {
        let kind = CellKind::Rnn(options.nonlinearity);
        Rnn {
            stack: Stack::from_weights(kind, weights, options),
        }
    }

    /// Runs the RNN over `input` from `h_0` (zeros when `None`), returning
    /// `(output, h_n)`; shapes as in the type's documentation.
    ///
    /// # Panics
    /// If the input is not 2-D or 3-D, its features are not `input_size`,
    /// or `h_0`'s shape does not fit.
    pub fn forward(&self, input: &Tensor<T>, h0: Option<&Tensor<T>>) -> (Tensor<T>, Tensor<T>) {
        let out = self.stack.forward(input, h0, None, None);
        (out.output, out.h_n)
    }

    /// Runs the RNN over a padded batch of sequences of different lengths,
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

    /// The layers, directions, nonlinearity, bias, layout and dropout.
    pub fn options(&self) -> &RnnOptions {
        self.stack.options()
    }
}
