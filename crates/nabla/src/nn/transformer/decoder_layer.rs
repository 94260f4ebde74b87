//! [`TransformerDecoderLayer`], as `torch.nn.TransformerDecoderLayer`.

use super::{dropout, layer_norm, TransformerActivation, TransformerLayerOptions, TransformerMasks};
use crate::element::Float;
use crate::nn::{Dropout, Layer, LayerNorm, Linear, Module, MultiheadAttention, MultiheadAttentionOptions};
use crate::tensor::{Generator, Tensor};

/// A transformer decoder layer, as `torch.nn.TransformerDecoderLayer`:
/// self-attention over the target, attention over the encoder's output
/// (the memory) and a feed-forward block, each inside a residual
/// connection with a LayerNorm,
///
/// ```text
/// post-norm (default):   x = norm1(x + sa(x)); x = norm2(x + mha(x, mem)); x = norm3(x + ff(x))
/// pre-norm (norm_first): x = x + sa(norm1(x)); x = x + mha(norm2(x), mem); x = x + ff(norm3(x))
/// sa(x) = dropout1(self_attn(x, x, x)),  mha(x, m) = dropout2(multihead_attn(x, m, m))
/// ff(x) = dropout3(linear2(dropout(activation(linear1(x)))))
/// ```
///
/// Shapes: target `[T, N, d_model]` and memory `[S, N, d_model]`, output
/// as the target (`[N, T, d_model]`, `[N, S, d_model]` with
/// `batch_first`; without `N` unbatched). State-dict names as PyTorch's:
/// `self_attn.*`, `multihead_attn.*`, `linear1.*`, `linear2.*`, `norm1.*`,
/// `norm2.*`, `norm3.*`.
///
/// ```
/// use nabla::nn::{Module, TransformerDecoderLayer, TransformerLayerOptions, TransformerMasks};
/// use nabla::{Generator, Tensor};
/// let mut g = Generator::new(0);
/// let options = TransformerLayerOptions::default().dim_feedforward(64).dropout(0.0);
/// let layer: TransformerDecoderLayer = TransformerDecoderLayer::new(16, 2, options, &mut g);
/// let tgt = Tensor::randn(&[7, 3, 16], &mut g); // [T, N, d_model]
/// let memory = Tensor::randn(&[5, 3, 16], &mut g); // [S, N, d_model]
/// let out = layer.forward_with(&tgt, &memory, &TransformerMasks::causal(), &TransformerMasks::none());
/// assert_eq!(out.shape(), &[7, 3, 16]);
/// assert_eq!(layer.state_dict().len(), 4 + 4 + 4 + 6);
/// ```
#[derive(Module)]
pub struct TransformerDecoderLayer<T: Float = f32> {
    /// The self-attention over the target.
    pub self_attn: MultiheadAttention<T>,
    /// The attention over the memory.
    pub multihead_attn: MultiheadAttention<T>,
    /// `d_model` to `dim_feedforward`.
    pub linear1: Linear<T>,
    /// Dropout inside the feed-forward block.
    pub dropout: Dropout<T>,
    /// `dim_feedforward` to `d_model`.
    pub linear2: Linear<T>,
    /// The LayerNorm of the self-attention block.
    pub norm1: LayerNorm<T>,
    /// The LayerNorm of the memory-attention block.
    pub norm2: LayerNorm<T>,
    /// The LayerNorm of the feed-forward block.
    pub norm3: LayerNorm<T>,
    /// Dropout on the self-attention block's output.
    pub dropout1: Dropout<T>,
    /// Dropout on the memory-attention block's output.
    pub dropout2: Dropout<T>,
    /// Dropout on the feed-forward block's output.
    pub dropout3: Dropout<T>,
    #[module(skip)]
    activation: TransformerActivation,
    norm_first: bool,
}

impl<T: Float> TransformerDecoderLayer<T> {
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
        let self_attn = MultiheadAttention::with_options(d_model, nhead, attention.clone(), generator);
        let multihead_attn = MultiheadAttention::with_options(d_model, nhead, attention, generator);
        let linear1 = Linear::new(d_model, options.dim_feedforward, options.bias, generator);
        let linear2 = Linear::new(options.dim_feedforward, d_model, options.bias, generator);
        TransformerDecoderLayer {
            self_attn,
            multihead_attn,
            linear1,
            dropout: dropout(options.dropout, generator),
            linear2,
            norm1: layer_norm(d_model, &options),
            norm2: layer_norm(d_model, &options),
            norm3: layer_norm(d_model, &options),
            dropout1: dropout(options.dropout, generator),
            dropout2: dropout(options.dropout, generator),
            dropout3: dropout(options.dropout, generator),
            activation: options.activation,
            norm_first: options.norm_first,
        }
    }

    /// Whether the LayerNorms come before the blocks (pre-norm).
    pub fn norm_first(&self) -> bool {
        self.norm_first
    }

    /// The layer without masks.
    pub fn forward(&self, tgt: &Tensor<T>, memory: &Tensor<T>) -> Tensor<T> {
        self.forward_with(tgt, memory, &TransformerMasks::none(), &TransformerMasks::none())
    }

    /// The layer with masks on the self-attention (`tgt_masks`: PyTorch's
    /// `tgt_mask`, `tgt_key_padding_mask`, `tgt_is_causal`) and on the
    /// attention over the memory (`memory_masks`: `memory_mask`,
    /// `memory_key_padding_mask`, `memory_is_causal`).
    ///
    /// # Panics
    /// If the shapes of the inputs or masks do not fit.
    pub fn forward_with(
        &self,
        tgt: &Tensor<T>,
        memory: &Tensor<T>,
        tgt_masks: &TransformerMasks<'_, T>,
        memory_masks: &TransformerMasks<'_, T>,
    ) -> Tensor<T> {
        let sa = |x: &Tensor<T>| {
            let (out, _) = self.self_attn.forward_with(x, x, x, &tgt_masks.attention_args());
            self.dropout1.forward(&out)
        };
        let mha = |x: &Tensor<T>| {
            let args = memory_masks.attention_args();
            let (out, _) = self.multihead_attn.forward_with(x, memory, memory, &args);
            self.dropout2.forward(&out)
        };
        if self.norm_first {
            let x = tgt + &sa(&self.norm1.forward(tgt));
            let x = &x + &mha(&self.norm2.forward(&x));
            &x + &self.feed_forward(&self.norm3.forward(&x))
        } else {
            let x = self.norm1.forward(&(tgt + &sa(tgt)));
            let x = self.norm2.forward(&(&x + &mha(&x)));
            self.norm3.forward(&(&x + &self.feed_forward(&x)))
        }
    }

    fn feed_forward(&self, x: &Tensor<T>) -> Tensor<T> {
        let hidden = self.activation.apply(&self.linear1.forward(x));
        self.dropout3
            .forward(&self.linear2.forward(&self.dropout.forward(&hidden)))
    }
}
