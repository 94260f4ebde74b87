//! The settings of [`MultiheadAttention`](super::MultiheadAttention) and
//! the optional arguments of its forward pass.

use super::AttentionMask;
use crate::element::Float;

/// The settings of [`MultiheadAttention`](super::MultiheadAttention), with
/// PyTorch's defaults: no dropout, biases, keys and values of
/// `embed_dim` features, sequence-first input.
///
/// ```
/// use nabla::nn::MultiheadAttentionOptions;
/// let options = MultiheadAttentionOptions::default().batch_first(true).kdim(16).dropout(0.1);
/// assert_eq!((options.kdim, options.vdim), (Some(16), None));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct MultiheadAttentionOptions {
    /// Dropout probability on the attention weights, in training mode
    /// (default 0).
    pub dropout: f64,
    /// Whether the input and output projections have biases (default
    /// `true`): `in_proj_bias` and `out_proj.bias`.
    pub bias: bool,
    /// Features of the keys (default `None`: `embed_dim`).
    pub kdim: Option<usize>,
    /// Features of the values (default `None`: `embed_dim`).
    pub vdim: Option<usize>,
    /// Inputs and output as `[batch, sequence, features]` instead of
    /// `[sequence, batch, features]` (default `false`).
    pub batch_first: bool,
}

impl Default for MultiheadAttentionOptions {
    fn default() -> Self {
        MultiheadAttentionOptions {
            dropout: 0.0,
            bias: true,
            kdim: None,
            vdim: None,
            batch_first: false,
        }
    }
}

impl MultiheadAttentionOptions {
    /// Sets `dropout`.
    pub fn dropout(mut self, dropout: f64) -> Self {
        self.dropout = dropout;
        self
    }

    /// Sets `bias`.
    pub fn bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }

    /// Sets `kdim`.
    pub fn kdim(mut self, kdim: usize) -> Self {
        self.kdim = Some(kdim);
        self
    }

    /// Sets `vdim`.
    pub fn vdim(mut self, vdim: usize) -> Self {
        self.vdim = Some(vdim);
        self
    }

    /// Sets `batch_first`.
    pub fn batch_first(mut self, batch_first: bool) -> Self {
        self.batch_first = batch_first;
        self
    }
}

/// The optional arguments of
/// [`MultiheadAttention::forward_with`](super::MultiheadAttention::forward_with),
/// with PyTorch's defaults: no masks, the weights returned averaged over
/// the heads, not causal.
///
/// ```
/// use nabla::nn::{AttentionArgs, AttentionMask};
/// use nabla::Tensor;
/// let padding = AttentionMask::Block(Tensor::from_vec(vec![0.0f32, 0.0, 1.0], &[1, 3]));
/// let args = AttentionArgs::default().key_padding_mask(&padding).need_weights(false);
/// assert!(!args.need_weights && args.attn_mask.is_none());
/// ```
#[derive(Clone, Debug)]
pub struct AttentionArgs<'a, T: Float = f32> {
    /// Keys to ignore per batch element: `[N, S]` (`[S]` for unbatched
    /// input), usually [`AttentionMask::Block`] (PyTorch's `True` =
    /// padding).
    pub key_padding_mask: Option<&'a AttentionMask<T>>,
    /// Return the attention weights (default `true`).
    pub need_weights: bool,
    /// A mask on the scores: `[L, S]`, or `[N * num_heads, L, S]` per
    /// batch element and head (PyTorch's boolean `attn_mask` is
    /// [`AttentionMask::Block`]).
    pub attn_mask: Option<&'a AttentionMask<T>>,
    /// Average the returned weights over the heads, `[N, L, S]`, rather
    /// than `[N, num_heads, L, S]` (default `true`).
    pub average_attn_weights: bool,
    /// Query `i` attends to keys `j <= i` only. PyTorch reads it as a hint
    /// that `attn_mask` is causal and needs the mask too; here it is
    /// enough alone (and with a causal `attn_mask` the result is the same).
    pub is_causal: bool,
}

impl<T: Float> Default for AttentionArgs<'_, T> {
    fn default() -> Self {
        AttentionArgs {
            key_padding_mask: None,
            need_weights: true,
            attn_mask: None,
            average_attn_weights: true,
            is_causal: false,
        }
    }
}

impl<'a, T: Float> AttentionArgs<'a, T> {
    /// Sets `key_padding_mask`.
    pub fn key_padding_mask(mut self, mask: &'a AttentionMask<T>) -> Self {
        self.key_padding_mask = Some(mask);
        self
    }

    /// Sets `need_weights`.
    pub fn need_weights(mut self, need_weights: bool) -> Self {
        self.need_weights = need_weights;
        self
    }

    /// Sets `attn_mask`.
    pub fn attn_mask(mut self, mask: &'a AttentionMask<T>) -> Self {
        self.attn_mask = Some(mask);
        self
    }

    /// Sets `average_attn_weights`.
    pub fn average_attn_weights(mut self, average: bool) -> Self {
        self.average_attn_weights = average;
        self
    }

    /// Sets `is_causal`.
    pub fn is_causal(mut self, is_causal: bool) -> Self {
        self.is_causal = is_causal;
        self
    }
}
