//! [`TransformerEncoderLayer`], as `torch.nn.TransformerEncoderLayer`.

use super::{dropout, layer_norm, TransformerActivation, TransformerLayerOptions, TransformerMasks};
use crate::element::Float;
use crate::nn::{
    Dropout, KvCache, Layer, LayerNorm, Linear, Module, MultiheadAttention, MultiheadAttentionOptions,
};
use crate::tensor::{Generator, Tensor};

/// A transformer encoder layer, as `torch.nn.TransformerEncoderLayer`:
/// self-attention and a feed-forward block, each inside a residual
/// connection with a LayerNorm,
///
/// ```text
/// post-norm (default):  x = norm1(x + sa(x));         x = norm2(x + ff(x))
/// pre-norm (norm_first): x = x + sa(norm1(x));         x = x + ff(norm2(x))
/// sa(x) = dropout1(self_attn(x, x, x))
/// ff(x) = dropout2(linear2(dropout(activation(linear1(x)))))
/// ```
///
/// Shapes: `[S, N, d_model]` in and out (`[N, S, d_model]` with
/// `batch_first`, `[S, d_model]` unbatched). Sub-modules and state-dict
/// names as PyTorch's: `self_attn.in_proj_weight`, `self_attn.in_proj_bias`,
/// `self_attn.out_proj.{weight,bias}`, `linear1.*` `[dim_feedforward,
/// d_model]`, `linear2.*`, `norm1.*`, `norm2.*` (`dropout`, `dropout1`,
/// `dropout2` have none). With causal masks this is a GPT block (pre-norm,
/// GELU).
///
/// ```
/// use nabla::nn::{Layer, Module, TransformerEncoderLayer, TransformerLayerOptions, TransformerMasks};
/// use nabla::{Generator, Tensor};
/// let mut g = Generator::new(0);
/// let options = TransformerLayerOptions::default().dim_feedforward(64).batch_first(true);
/// let mut layer: TransformerEncoderLayer = TransformerEncoderLayer::new(32, 4, options, &mut g);
/// layer.eval(); // no dropout
/// let x = Tensor::randn(&[2, 10, 32], &mut g);
/// assert_eq!(layer.forward(&x).shape(), &[2, 10, 32]);
/// let causal = layer.forward_with(&x, &TransformerMasks::causal());
/// assert_eq!(causal.shape(), &[2, 10, 32]);
/// let names: Vec<String> = layer.state_dict().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names[..3], ["self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight"]);
/// assert_eq!(names[names.len() - 1], "norm2.bias");
/// ```
#[derive(Module)]
pub struct TransformerEncoderLayer<T: Float = f32> {
    /// The self-attention.
    pub self_attn: MultiheadAttention<T>,
    /// `d_model` to `dim_feedforward`.
    pub linear1: Linear<T>,
    /// Dropout inside the feed-forward block.
    pub dropout: Dropout<T>,
    /// `dim_feedforward` to `d_model`.
    pub linear2: Linear<T>,
    /// The LayerNorm of the attention block.
    pub norm1: LayerNorm<T>,
    /// The LayerNorm of the feed-forward block.
    pub norm2: LayerNorm<T>,
    /// Dropout on the attention block's output.
    pub dropout1: Dropout<T>,
    /// Dropout on the feed-forward block's output.
    pub dropout2: Dropout<T>,
    #[module(skip)]
    activation: TransformerActivation,
    norm_first: bool,
}

impl<T: Float> TransformerEncoderLayer<T> {
    /// A layer over `d_model` features with `nhead` attention heads,
    /// initialised from `generator` as PyTorch initialises one.
    ///
    /// # Panics
    /// If `nhead` does not divide `d_model`, or the dropout is outside `[0, 1)`.
    pub fn new(
        d_model: usize,
        nhead: usize,
        options: TransformerLayerOptions,
        generator: &mut Generator,
    ) -> Self {
        let attention = MultiheadAttentionOptions::default()
            .dropout(options.dropout)
            .bias(options.bias)
            .batch_first(options.batch_first);
        let self_attn = MultiheadAttention::with_options(d_model, nhead, attention, generator);
        let linear1 = Linear::new(d_model, options.dim_feedforward, options.bias, generator);
        let linear2 = Linear::new(options.dim_feedforward, d_model, options.bias, generator);
        TransformerEncoderLayer {
            self_attn,
            linear1,
            dropout: dropout(options.dropout, generator),
            linear2,
            norm1: layer_norm(d_model, &options),
            norm2: layer_norm(d_model, &options),
            dropout1: dropout(options.dropout, generator),
            dropout2: dropout(options.dropout, generator),
            activation: options.activation,
            norm_first: options.norm_first,
        }
    }

    /// Whether the LayerNorms come before the blocks (pre-norm).
    pub fn norm_first(&self) -> bool {
        self.norm_first
    }

    /// The layer with masks on its self-attention (PyTorch's `src_mask`,
    /// `src_key_padding_mask`, `is_causal`).
    ///
    /// # Panics
    /// If the input's shape does not fit (see the type's documentation),
    /// or a mask's.
    pub fn forward_with(&self, src: &Tensor<T>, masks: &TransformerMasks<'_, T>) -> Tensor<T> {
        self.run(src, |x| {
            let (out, _) = self.self_attn.forward_with(x, x, x, &masks.attention_args());
            out
        })
    }

    /// The layer on `L` new positions with causal self-attention over
    /// the positions in `cache` and themselves (see
    /// [`MultiheadAttention::forward_cached`]): equal to the new
    /// positions' output of [`forward_with`](Self::forward_with) with
    /// [`TransformerMasks::causal`] on the whole sequence. Under
    /// [`no_grad`](crate::no_grad).
    ///
    /// # Panics
    /// If the input is not 3-D with `d_model` features.
    pub fn forward_cached(&self, x: &Tensor<T>, cache: &mut KvCache<T>) -> Tensor<T> {
        self.run(x, |x| self.self_attn.forward_cached(x, cache))
    }

    /// The residual structure around the attention `attend`.
    fn run(&self, src: &Tensor<T>, attend: impl FnOnce(&Tensor<T>) -> Tensor<T>) -> Tensor<T> {
        let sa = |x: &Tensor<T>| self.dropout1.forward(&attend(x));
        if self.norm_first {
            let x = src + &sa(&self.norm1.forward(src));
            &x + &self.feed_forward(&self.norm2.forward(&x))
        } else {
            let x = self.norm1.forward(&(src + &sa(src)));
            self.norm2.forward(&(&x + &self.feed_forward(&x)))
        }
    }

    fn feed_forward(&self, x: &Tensor<T>) -> Tensor<T> {
        let hidden = self.activation.apply(&self.linear1.forward(x));
        self.dropout2
            .forward(&self.linear2.forward(&self.dropout.forward(&hidden)))
    }
}

impl<T: Float> Layer<T> for TransformerEncoderLayer<T> {
    /// The layer without masks.
    fn forward(&self, src: &Tensor<T>) -> Tensor<T> {
        self.forward_with(src, &TransformerMasks::none())
    }
}
