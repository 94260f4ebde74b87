//! Transformers: [`TransformerEncoderLayer`], [`TransformerDecoderLayer`]
//! and their stacks [`TransformerEncoder`] and [`TransformerDecoder`]
//! with PyTorch's sub-module and state-dict names, pre- and post-norm;
//! positional encodings, sinusoidal ([`SinusoidalPositionalEncoding`]) and
//! learned ([`LearnedPositionalEmbedding`]).

mod decoder;
mod decoder_layer;
mod encoder;
mod encoder_layer;
mod options;
mod positional;

pub use decoder::TransformerDecoder;
pub use decoder_layer::TransformerDecoderLayer;
pub use encoder::TransformerEncoder;
pub use encoder_layer::TransformerEncoderLayer;
pub use options::{TransformerActivation, TransformerLayerOptions, TransformerMasks};
pub use positional::{LearnedPositionalEmbedding, SinusoidalPositionalEncoding};

use crate::element::Float;
use crate::nn::{Dropout, LayerNorm, LayerNormOptions};
use crate::tensor::Generator;

/// A dropout layer of probability `p`, its seed drawn from `generator`
/// only when it drops anything (so that the weights of a layer without
/// dropout depend on the generator alone).
fn dropout<T: Float>(p: f64, generator: &mut Generator) -> Dropout<T> {
    let seed = if p > 0.0 {
        generator.below(usize::MAX) as u64
    } else {
        0
    };
    Dropout::new(p, seed)
}

/// A layer's LayerNorm over `d_model` features with its eps and bias.
fn layer_norm<T: Float>(d_model: usize, options: &TransformerLayerOptions) -> LayerNorm<T> {
    let norm = LayerNormOptions::default()
        .eps(options.layer_norm_eps)
        .bias(options.bias);
    LayerNorm::with_options(&[d_model], norm)
}
