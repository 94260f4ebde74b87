//! The settings of the transformer layers and the masks of their forward
//! passes.

use crate::element::Float;
use crate::nn::AttentionMask;
use crate::tensor::Tensor;

/// The activation of a transformer layer's feed-forward block: PyTorch's
/// `activation="relu"` (the default) or `"gelu"` (the exact GELU).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TransformerActivation {
    /// `max(x, 0)`.
    #[default]
    Relu,
    /// `x Φ(x)`, exact.
    Gelu,
}

impl TransformerActivation {
    pub(crate) fn apply<T: Float>(self, x: &Tensor<T>) -> Tensor<T> {
        match self {
            TransformerActivation::Relu => x.relu(),
            TransformerActivation::Gelu => x.gelu(),
        }
    }
}

/// The settings of [`TransformerEncoderLayer`](super::TransformerEncoderLayer)
/// and [`TransformerDecoderLayer`](super::TransformerDecoderLayer), with
/// PyTorch's defaults: a 2048-wide feed-forward block, dropout 0.1, ReLU,
/// LayerNorm eps 1e-5, sequence-first input, the norm after each block
/// (post-norm), biases.
///
/// ```
/// use nabla::nn::{TransformerActivation, TransformerLayerOptions};
/// let gpt_like = TransformerLayerOptions::default()
///     .dim_feedforward(512)
///     .dropout(0.0)
///     .activation(TransformerActivation::Gelu)
///     .batch_first(true)
///     .norm_first(true);
/// assert_eq!(gpt_like.layer_norm_eps, 1e-5);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct TransformerLayerOptions {
    /// Features of the feed-forward block's hidden layer (default 2048).
    pub dim_feedforward: usize,
    /// Dropout probability after attention, in the feed-forward block and
    /// on the attention weights, in training mode (default 0.1).
    pub dropout: f64,
    /// The feed-forward block's activation (default ReLU).
    pub activation: TransformerActivation,
    /// The LayerNorms' eps (default 1e-5).
    pub layer_norm_eps: f64,
    /// Input and output as `[batch, sequence, features]` instead of
    /// `[sequence, batch, features]` (default `false`).
    pub batch_first: bool,
    /// Normalise before each block, inside the residual (pre-norm, as
    /// GPT-2), instead of after the residual sum (default `false`).
    pub norm_first: bool,
    /// Biases in the linear layers, the attention and the LayerNorms
    /// (default `true`).
    pub bias: bool,
}

impl Default for TransformerLayerOptions {
    fn default() -> Self {
        TransformerLayerOptions {
            dim_feedforward: 2048,
            dropout: 0.1,
            activation: TransformerActivation::Relu,
            layer_norm_eps: 1e-5,
            batch_first: false,
            norm_first: false,
            bias: true,
        }
    }
}

impl TransformerLayerOptions {
    /// Sets `dim_feedforward`.
    pub fn dim_feedforward(mut self, dim_feedforward: usize) -> Self {
        self.dim_feedforward = dim_feedforward;
        self
    }

    /// Sets `dropout`.
    pub fn dropout(mut self, dropout: f64) -> Self {
        self.dropout = dropout;
        self
    }

    /// Sets `activation`.
    pub fn activation(mut self, activation: TransformerActivation) -> Self {
        self.activation = activation;
        self
    }

    /// Sets `layer_norm_eps`.
    pub fn layer_norm_eps(mut self, eps: f64) -> Self {
        self.layer_norm_eps = eps;
        self
    }

    /// Sets `batch_first`.
    pub fn batch_first(mut self, batch_first: bool) -> Self {
        self.batch_first = batch_first;
        self
    }

    /// Sets `norm_first`.
    pub fn norm_first(mut self, norm_first: bool) -> Self {
        self.norm_first = norm_first;
        self
    }

    /// Sets `bias`.
    pub fn bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }
}

/// The masks of one attention of a transformer layer: PyTorch's
/// `src_mask`, `src_key_padding_mask` and `is_causal` of an encoder
/// layer, and the `tgt_*` and `memory_*` pairs of a decoder layer.
///
/// ```
/// use nabla::nn::{AttentionMask, TransformerMasks};
/// use nabla::Tensor;
/// let padding = AttentionMask::Block(Tensor::from_vec(vec![0.0f32, 1.0], &[1, 2]));
/// let masks = TransformerMasks::causal().key_padding_mask(&padding);
/// assert!(masks.is_causal && masks.mask.is_none());
/// ```
#[derive(Clone, Debug)]
pub struct TransformerMasks<'a, T: Float = f32> {
    /// A mask on the scores, `[L, S]` or `[N * nhead, L, S]`.
    pub mask: Option<&'a AttentionMask<T>>,
    /// Keys to ignore per batch element, `[N, S]` (`[S]` unbatched).
    pub key_padding_mask: Option<&'a AttentionMask<T>>,
    /// Query `i` attends to keys `j <= i` only.
    pub is_causal: bool,
}

impl<T: Float> Default for TransformerMasks<'_, T> {
    fn default() -> Self {
        TransformerMasks {
            mask: None,
            key_padding_mask: None,
            is_causal: false,
        }
    }
}

impl<'a, T: Float> TransformerMasks<'a, T> {
    /// No masks.
    pub fn none() -> Self {
        Self::default()
    }

    /// Causal attention, no other mask.
    pub fn causal() -> Self {
        TransformerMasks {
            is_causal: true,
            ..Self::default()
        }
    }

    /// Sets `mask`.
    pub fn mask(mut self, mask: &'a AttentionMask<T>) -> Self {
        self.mask = Some(mask);
        self
    }

    /// Sets `key_padding_mask`.
    pub fn key_padding_mask(mut self, mask: &'a AttentionMask<T>) -> Self {
        self.key_padding_mask = Some(mask);
        self
    }

    /// Sets `is_causal`.
    pub fn is_causal(mut self, is_causal: bool) -> Self {
        self.is_causal = is_causal;
        self
    }

    /// The arguments of a `MultiheadAttention` call with these masks and
    /// no weights returned.
    pub(crate) fn attention_args(&self) -> crate::nn::AttentionArgs<'a, T> {
        crate::nn::AttentionArgs {
            key_padding_mask: self.key_padding_mask,
            need_weights: false,
            attn_mask: self.mask,
            average_attn_weights: true,
            is_causal: self.is_causal,
        }
    }
}
