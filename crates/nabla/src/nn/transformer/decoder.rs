//! [`TransformerDecoder`], as `torch.nn.TransformerDecoder`.

use super::{TransformerDecoderLayer, TransformerMasks};
use crate::element::Float;
use crate::nn::{Layer, LayerNorm, Module};
use crate::tensor::Tensor;

/// A stack of [`TransformerDecoderLayer`]s with an optional final
/// LayerNorm, as `torch.nn.TransformerDecoder(decoder_layer, num_layers,
/// norm)`: state-dict names `layers.{i}.…` and `norm.{weight,bias}`. Every
/// layer attends to the same memory. As for
/// [`TransformerEncoder`](super::TransformerEncoder), the layers are
/// given (PyTorch deep-copies one).
///
/// ```
/// use nabla::nn::{TransformerDecoder, TransformerDecoderLayer, TransformerLayerOptions};
/// use nabla::{Generator, Tensor};
/// let mut g = Generator::new(0);
/// let options = TransformerLayerOptions::default().dim_feedforward(32).dropout(0.0);
/// let layers = (0..2).map(|_| TransformerDecoderLayer::new(16, 4, options.clone(), &mut g)).collect();
/// let decoder: TransformerDecoder = TransformerDecoder::new(layers, None);
/// let (tgt, memory) = (Tensor::randn(&[6, 2, 16], &mut g), Tensor::randn(&[8, 2, 16], &mut g));
/// assert_eq!(decoder.forward(&tgt, &memory).shape(), &[6, 2, 16]);
/// ```
#[derive(Module)]
pub struct TransformerDecoder<T: Float = f32> {
    /// The layers, applied in order.
    pub layers: Vec<TransformerDecoderLayer<T>>,
    /// The LayerNorm after the last layer, if any.
    pub norm: Option<LayerNorm<T>>,
}

impl<T: Float> TransformerDecoder<T> {
    /// The stack of `layers`, then `norm`.
    pub fn new(layers: Vec<TransformerDecoderLayer<T>>, norm: Option<LayerNorm<T>>) -> Self {
        TransformerDecoder { layers, norm }
    }

    /// The stack without masks.
    pub fn forward(&self, tgt: &Tensor<T>, memory: &Tensor<T>) -> Tensor<T> {
        self.forward_with(tgt, memory, &TransformerMasks::none(), &TransformerMasks::none())
    }

    /// The stack with the same masks in every layer (see
    /// [`TransformerDecoderLayer::forward_with`]).
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
        let x = self.layers.iter().fold(tgt.clone(), |x, layer| {
            layer.forward_with(&x, memory, tgt_masks, memory_masks)
        });
        match &self.norm {
            Some(norm) => norm.forward(&x),
            None => x,
        }
    }
}
