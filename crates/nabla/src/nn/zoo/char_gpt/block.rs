//! One transformer block of nanoGPT: pre-LayerNorm causal self-attention
//! and a GELU MLP, each added to the residual stream.

use super::attention::{causal_attention, LayerCache};
use super::CharGptConfig;
use crate::element::Float;
use crate::nn::init::{constant_, normal_};
use crate::nn::{Dropout, Layer, LayerNorm, LayerNormOptions, Linear, Module};
use crate::tensor::{Generator, Tensor};

/// nanoGPT's `CausalSelfAttention`: `c_attn` (`[3C, C]`, the queries, keys
/// and values of all heads in one product), `c_proj` (`[C, C]`), dropout on
/// the attention weights and on the output.
#[derive(Module)]
pub struct CausalSelfAttention<T: Float = f32> {
    /// `[3 n_embd, n_embd]` (and `[3 n_embd]` with bias).
    pub c_attn: Linear<T>,
    /// `[n_embd, n_embd]` (and `[n_embd]` with bias).
    pub c_proj: Linear<T>,
    /// Dropout on the attention weights.
    pub attn_dropout: Dropout<T>,
    /// Dropout on the output.
    pub resid_dropout: Dropout<T>,
    n_head: usize,
}

/// nanoGPT's `MLP`: `c_fc` (`[4C, C]`), exact GELU, `c_proj` (`[C, 4C]`),
/// dropout.
#[derive(Module)]
pub struct GptMlp<T: Float = f32> {
    /// `[4 n_embd, n_embd]`.
    pub c_fc: Linear<T>,
    /// `[n_embd, 4 n_embd]`.
    pub c_proj: Linear<T>,
    /// Dropout on the output.
    pub dropout: Dropout<T>,
}

/// nanoGPT's `Block`: `x + attn(ln_1(x))`, then `x + mlp(ln_2(x))`.
#[derive(Module)]
pub struct GptBlock<T: Float = f32> {
    /// LayerNorm before the attention.
    pub ln_1: LayerNorm<T>,
    /// Causal self-attention.
    pub attn: CausalSelfAttention<T>,
    /// LayerNorm before the MLP.
    pub ln_2: LayerNorm<T>,
    /// The MLP.
    pub mlp: GptMlp<T>,
}

/// A `Linear` with nanoGPT's initialisation: weight N(0, std), bias zero.
fn gpt_linear<T: Float>(
    inputs: usize,
    outputs: usize,
    std: f64,
    bias: bool,
    generator: &mut Generator,
) -> Linear<T> {
    let layer = Linear::new(inputs, outputs, bias, generator);
    normal_(&layer.weight, 0.0, std, generator);
    if let Some(b) = &layer.bias {
        constant_(b, 0.0);
    }
    layer
}

/// nanoGPT's `LayerNorm(ndim, bias)`: weight one, bias zero if present.
pub(super) fn gpt_layer_norm<T: Float>(config: &CharGptConfig) -> LayerNorm<T> {
    LayerNorm::with_options(&[config.n_embd], LayerNormOptions::default().bias(config.bias))
}

impl<T: Float> GptBlock<T> {
    /// Block `layer` of a model of `config`, initialised as nanoGPT's
    /// `_init_weights` (N(0, 0.02), the residual projections `c_proj` at
    /// 0.02 / sqrt(2 n_layer)); `seed` seeds its dropouts.
    pub(super) fn new(config: &CharGptConfig, seed: u64, generator: &mut Generator) -> Self {
        let c = config.n_embd;
        let residual_std = 0.02 / (2.0 * config.n_layer as f64).sqrt();
        GptBlock {
            ln_1: gpt_layer_norm(config),
            attn: CausalSelfAttention {
                c_attn: gpt_linear(c, 3 * c, 0.02, config.bias, generator),
                c_proj: gpt_linear(c, c, residual_std, config.bias, generator),
                attn_dropout: Dropout::new(config.dropout, seed),
                resid_dropout: Dropout::new(config.dropout, seed + 1),
                n_head: config.n_head,
            },
            ln_2: gpt_layer_norm(config),
            mlp: GptMlp {
                c_fc: gpt_linear(c, 4 * c, 0.02, config.bias, generator),
                c_proj: gpt_linear(4 * c, c, residual_std, config.bias, generator),
                dropout: Dropout::new(config.dropout, seed + 2),
            },
        }
    }

    /// The block on the residual stream `x`, `[B * T, C]` for `batch`
    /// sequences of `T` new positions. With a cache, the keys and values of
    /// the new positions are appended to it and the queries attend to every
    /// cached position before them.
    pub(super) fn forward(
        &self,
        x: &Tensor<T>,
        batch: usize,
        cache: Option<&mut LayerCache<T>>,
    ) -> Tensor<T> {
        let x = x + &self.attn.forward(&self.ln_1.forward(x), batch, cache);
        let hidden = self.mlp.c_fc.forward(&self.ln_2.forward(&x)).gelu();
        let out = self.mlp.c_proj.forward(&hidden);
        &x + &self.mlp.dropout.forward(&out)
    }
}

impl<T: Float> CausalSelfAttention<T> {
    /// Attention over `x`, `[B * T, C]`: `[B * T, C]`.
    fn forward(&self, x: &Tensor<T>, batch: usize, cache: Option<&mut LayerCache<T>>) -> Tensor<T> {
        let (rows, c) = (x.shape()[0], x.shape()[1]);
        let (t, h) = (rows / batch, self.n_head);
        let d = c / h;
        // [B*T, 3C] -> [B, T, 3, H, d] -> [3, B, H, T, d]: q, k and v of every head.
        let qkv = self
            .c_attn
            .forward(x)
            .reshape(&[batch, t, 3, h, d])
            .permute(&[2, 0, 3, 1, 4]);
        let (q, k, v) = (qkv.select(0, 0), qkv.select(0, 1), qkv.select(0, 2));
        let (k, v) = match cache {
            Some(cache) => cache.append(&k, &v),
            None => (k, v),
        };
        let y = causal_attention(&q, &k, &v, &self.attn_dropout);
        // [B, H, T, d] -> [B, T, H, d] -> [B*T, C]
        let y = y.permute(&[0, 2, 1, 3]).reshape(&[batch * t, c]);
        self.resid_dropout.forward(&self.c_proj.forward(&y))
    }
}
