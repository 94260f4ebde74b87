//! A [`CharGpt`]'s blocks packed once for generation, run by the backend's
//! fused decoder pass, and the key/value cache that pass fills in place.

use super::{CharGpt, GptBlock};
use crate::autograd::no_grad;
use crate::backend;
use crate::backend::ops::{DecoderPart, DecoderSpec, DecoderStep};
use crate::element::Float;
use crate::nn::{Layer, LayerNorm, Linear};
use crate::tensor::{IndexTensor, Tensor};

/// A [`CharGpt`]'s weights packed for generation ([`CharGpt::freeze`]), as
/// `torch.jit.freeze` packs a frozen module's weights once: every block's
/// weights in one buffer, the linear weights transposed to `[in, out]`,
/// and the head's (the token embeddings) to `[n_embd, vocab_size]`.
///
/// [`FrozenCharGpt::next_logits`] runs the blocks as one fused pass of the
/// backend (`kernels/decoder.rs`), which splits the positions over the
/// threads once per block instead of once per operation, and writes the
/// keys and values into a cache allocated once for the whole block size.
///
/// A snapshot: it keeps the weights as they were when it was made; freeze
/// again after they change. It runs without recording gradients, and
/// without dropout.
///
/// ```
/// use nabla::nn::zoo::{char_gpt, CharGptConfig};
/// use nabla::{Generator, IndexTensor};
/// let config = CharGptConfig { block_size: 8, n_layer: 2, n_head: 2, n_embd: 8, ..CharGptConfig::new(5) };
/// let model = char_gpt::<f64>(&config, &mut Generator::new(0));
/// let ids = IndexTensor::from_vec(vec![1, 4, 2, 0], &[1, 4]);
/// let frozen = model.freeze();
/// let mut cache = frozen.new_cache();
/// let next = frozen.next_logits(&ids, &mut cache); // [1, 5]
/// let all = model.forward(&ids); // [1, 4, 5]
/// assert!((&next - &all.select(1, 3)).abs().max().item() < 1e-12);
/// assert_eq!(cache.len(), 4);
/// ```
pub struct FrozenCharGpt<'a, T: Float = f32> {
    model: &'a CharGpt<T>,
    /// Every block's parts in the order of [`DecoderSpec::parts`].
    weights: Tensor<T>,
    /// `[n_embd, vocab_size]`.
    head: Tensor<T>,
    spec: DecoderSpec,
}

/// The keys and values of every block of a [`FrozenCharGpt`] for the
/// positions it has seen ([`FrozenCharGpt::new_cache`]): one buffer of
/// `[n_layer, 2, batch, block_size, n_embd]`, allocated at the first call
/// (which fixes the batch size) and written in place after it.
#[derive(Debug)]
pub struct FrozenCache<T: Float = f32> {
    spec: DecoderSpec,
    keys_values: Option<Tensor<T>>,
    batch: usize,
    len: usize,
}

impl<T: Float> FrozenCache<T> {
    /// The number of positions cached.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True before the first position.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forgets every position, keeping the buffer (and its batch size) for
    /// the next: what generation does each time its window moves.
    pub fn clear(&mut self) {
        self.len = 0;
    }
}

impl<'a, T: Float> FrozenCharGpt<'a, T> {
    pub(super) fn new(model: &'a CharGpt<T>) -> Self {
        let config = &model.config;
        let spec = DecoderSpec {
            layers: config.n_layer,
            n_embd: config.n_embd,
            n_head: config.n_head,
            capacity: config.block_size,
            bias: config.bias,
            eps: model.transformer.ln_f.eps(),
        };
        no_grad(|| {
            let parts: Vec<Tensor<T>> = model
                .transformer
                .h
                .iter()
                .flat_map(|block| spec.parts().into_iter().map(move |(part, _)| packed(block, part)))
                .collect();
            FrozenCharGpt {
                model,
                weights: Tensor::cat(&parts, 0),
                head: model.transformer.wte.weight.detach().t().contiguous(),
                spec,
            }
        })
    }

    /// An empty cache for [`FrozenCharGpt::next_logits`].
    pub fn new_cache(&self) -> FrozenCache<T> {
        FrozenCache {
            spec: self.spec.clone(),
            keys_values: None,
            batch: 0,
            len: 0,
        }
    }

    /// The logits `[B, vocab_size]` of the character after ids `[B, T]`,
    /// which follow the positions in `cache`; the cache gains their keys
    /// and values. The same logits as [`CharGpt::forward`] of the whole
    /// sequence at its last position, and as
    /// [`CharGpt::forward_cached`]; the last block takes only the last
    /// position past its keys and values.
    ///
    /// # Panics
    /// If `ids` is not `[B, T]` with `T > 0`, an id is outside the
    /// vocabulary, the cached and new positions together exceed
    /// `block_size` (start a new cache from the last `block_size - 1`
    /// characters, as nanoGPT's `generate` crops its context), or the cache
    /// is another model's or was started with another batch size.
    pub fn next_logits(&self, ids: &IndexTensor, cache: &mut FrozenCache<T>) -> Tensor<T> {
        assert!(
            ids.ndim() == 2 && ids.shape()[1] > 0,
            "FrozenCharGpt::next_logits: ids must be [batch, time] with at least one position, got {:?}",
            ids.shape()
        );
        let (batch, time) = (ids.shape()[0], ids.shape()[1]);
        let start = cache.len;
        assert!(
            cache.spec == self.spec,
            "FrozenCharGpt::next_logits: a cache made for another model (make it with new_cache)"
        );
        assert!(
            start + time <= self.spec.capacity,
            "CharGpt: {} positions exceed the block size of {}",
            start + time,
            self.spec.capacity
        );
        if cache.keys_values.is_none() {
            cache.batch = batch;
        }
        assert!(
            cache.batch == batch,
            "FrozenCharGpt::next_logits: {batch} sequences for a cache of {}",
            cache.batch
        );
        let spec = &self.spec;
        let keys_values = cache
            .keys_values
            .get_or_insert_with(|| Tensor::zeros(&[spec.layers, 2, batch, spec.capacity, spec.n_embd]));
        let logits = no_grad(|| {
            let x = self.model.embed(ids, start);
            let step = DecoderStep { batch, start, time };
            let last = backend::decoder_forward(&x, &self.weights, keys_values, spec, step);
            self.model.transformer.ln_f.forward(&last).matmul(&self.head)
        });
        cache.len += time;
        logits
    }
}

/// `part` of `block`, flattened, the linear weights transposed to `[in,
/// out]`.
fn packed<T: Float>(block: &GptBlock<T>, part: DecoderPart) -> Tensor<T> {
    use DecoderPart::*;
    let tensor = match part {
        Norm1Weight => norm_weight(&block.ln_1),
        Norm1Bias => norm_bias(&block.ln_1),
        AttentionInWeight => transposed(&block.attn.c_attn),
        AttentionInBias => linear_bias(&block.attn.c_attn),
        AttentionOutWeight => transposed(&block.attn.c_proj),
        AttentionOutBias => linear_bias(&block.attn.c_proj),
        Norm2Weight => norm_weight(&block.ln_2),
        Norm2Bias => norm_bias(&block.ln_2),
        HiddenWeight => transposed(&block.mlp.c_fc),
        HiddenBias => linear_bias(&block.mlp.c_fc),
        OutputWeight => transposed(&block.mlp.c_proj),
        OutputBias => linear_bias(&block.mlp.c_proj),
    };
    tensor.detach().reshape(&[tensor.numel()])
}

fn transposed<T: Float>(layer: &Linear<T>) -> Tensor<T> {
    layer.weight.t().contiguous()
}

fn linear_bias<T: Float>(layer: &Linear<T>) -> Tensor<T> {
    layer
        .bias
        .clone()
        .expect("a char-GPT with biases has them on every linear layer")
}

fn norm_weight<T: Float>(norm: &LayerNorm<T>) -> Tensor<T> {
    norm.weight.clone().expect("a char-GPT's LayerNorms have weights")
}

fn norm_bias<T: Float>(norm: &LayerNorm<T>) -> Tensor<T> {
    norm.bias
        .clone()
        .expect("a char-GPT with biases has them on every LayerNorm")
}
