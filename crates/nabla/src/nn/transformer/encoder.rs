//! [`TransformerEncoder`], as `torch.nn.TransformerEncoder`.

use super::{TransformerEncoderLayer, TransformerMasks};
use crate::element::Float;
use crate::nn::{KvCache, Layer, LayerNorm, Module};
use crate::tensor::Tensor;

/// A stack of [`TransformerEncoderLayer`]s with an optional final
/// LayerNorm, as `torch.nn.TransformerEncoder(encoder_layer, num_layers,
/// norm)`: state-dict names `layers.{i}.…` and `norm.{weight,bias}`.
///
/// PyTorch builds the stack from deep copies of one layer, so that its
/// layers start equal; here each layer is given, usually initialised on
/// its own. Weights load the same either way.
///
/// ```
/// use nabla::nn::{Layer, LayerNorm, Module, TransformerEncoder, TransformerEncoderLayer, TransformerLayerOptions};
/// use nabla::{Generator, Tensor};
/// let mut g = Generator::new(0);
/// let options = TransformerLayerOptions::default().dim_feedforward(32).dropout(0.0).batch_first(true);
/// let layers = (0..3).map(|_| TransformerEncoderLayer::new(16, 2, options.clone(), &mut g)).collect();
/// let encoder: TransformerEncoder = TransformerEncoder::new(layers, Some(LayerNorm::new(&[16])));
/// let x = Tensor::randn(&[4, 9, 16], &mut g);
/// assert_eq!(encoder.forward(&x).shape(), &[4, 9, 16]);
/// assert!(encoder.state_dict().iter().any(|(n, _)| n == "layers.2.linear1.weight"));
/// assert!(encoder.state_dict().iter().any(|(n, _)| n == "norm.bias"));
/// ```
#[derive(Module)]
pub struct TransformerEncoder<T: Float = f32> {
    /// The layers, applied in order.
    pub layers: Vec<TransformerEncoderLayer<T>>,
    /// The LayerNorm after the last layer, if any.
    pub norm: Option<LayerNorm<T>>,
}

impl<T: Float> TransformerEncoder<T> {
    /// The stack of `layers`, then `norm`.
    pub fn new(layers: Vec<TransformerEncoderLayer<T>>, norm: Option<LayerNorm<T>>) -> Self {
        TransformerEncoder { layers, norm }
    }

    /// The stack with the same masks in every layer (PyTorch's `mask`,
    /// `src_key_padding_mask`, `is_causal`).
    ///
    /// # Panics
    /// If the shapes of the input or masks do not fit.
    pub fn forward_with(&self, src: &Tensor<T>, masks: &TransformerMasks<'_, T>) -> Tensor<T> {
        let x = self
            .layers
            .iter()
            .fold(src.clone(), |x, layer| layer.forward_with(&x, masks));
        self.finish(x)
    }

    /// A cache per layer for [`forward_cached`](Self::forward_cached).
    pub fn new_cache(&self) -> Vec<KvCache<T>> {
        (0..self.layers.len()).map(|_| KvCache::new()).collect()
    }

    /// The stack on `L` new positions with causal self-attention over the
    /// cached positions and themselves, one cache per layer (see
    /// [`TransformerEncoderLayer::forward_cached`]); under
    /// [`no_grad`](crate::no_grad).
    ///
    /// # Panics
    /// If there is not one cache per layer, or the input does not fit.
    pub fn forward_cached(&self, x: &Tensor<T>, caches: &mut [KvCache<T>]) -> Tensor<T> {
        assert!(
            caches.len() == self.layers.len(),
            "TransformerEncoder::forward_cached: {} caches for {} layers (make them with new_cache)",
            caches.len(),
            self.layers.len()
        );
        let x = self
            .layers
            .iter()
            .zip(caches)
            .fold(x.clone(), |x, (layer, cache)| layer.forward_cached(&x, cache));
        self.finish(x)
    }

    fn finish(&self, x: Tensor<T>) -> Tensor<T> {
        match &self.norm {
            Some(norm) => norm.forward(&x),
            None => x,
        }
    }
}

impl<T: Float> Layer<T> for TransformerEncoder<T> {
    /// The stack without masks.
    fn forward(&self, src: &Tensor<T>) -> Tensor<T> {
        self.forward_with(src, &TransformerMasks::none())
    }
}
