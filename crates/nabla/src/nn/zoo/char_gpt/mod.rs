//! The character-level GPT: nanoGPT's model, layout and state-dict names.

mod attention;
mod block;
mod frozen;

use serde::{Deserialize, Serialize};

use self::attention::LayerCache;
use self::block::gpt_layer_norm;
pub use self::block::{CausalSelfAttention, GptBlock, GptMlp};
pub use self::frozen::{FrozenCache, FrozenCharGpt};
use crate::element::Float;
use crate::nn::init::normal_;
use crate::nn::{Dropout, Embedding, Layer, LayerNorm, Module};
use crate::tensor::{Generator, IndexTensor, Tensor};

/// The sizes of a [`CharGpt`], with nanoGPT's names; [`CharGptConfig::new`]
/// gives nanoGPT's CPU configuration for tiny-shakespeare (4 layers, 4
/// heads, 128 features, block of 64, no bias, no dropout).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CharGptConfig {
    /// Characters in the vocabulary (65 for tiny-shakespeare).
    pub vocab_size: usize,
    /// The longest context, in characters (default 64).
    pub block_size: usize,
    /// Transformer blocks (default 4).
    pub n_layer: usize,
    /// Attention heads per block (default 4); divides `n_embd`.
    pub n_head: usize,
    /// Features of the residual stream (default 128).
    pub n_embd: usize,
    /// Whether the linear layers and LayerNorms have biases (default false).
    pub bias: bool,
    /// Dropout in training (default 0). Not part of a checkpoint's config.
    #[serde(default, skip_serializing)]
    pub dropout: f64,
}

impl CharGptConfig {
    /// nanoGPT's CPU configuration for a vocabulary of `vocab_size`.
    pub fn new(vocab_size: usize) -> Self {
        CharGptConfig {
            vocab_size,
            block_size: 64,
            n_layer: 4,
            n_head: 4,
            n_embd: 128,
            bias: false,
            dropout: 0.0,
        }
    }

    /// Checks the sizes: every size positive, `n_head` divides `n_embd`,
    /// dropout in `[0, 1)`; the message names the first that is not.
    pub fn validate(&self) -> Result<(), String> {
        let sizes = [
            ("vocab_size", self.vocab_size),
            ("block_size", self.block_size),
            ("n_layer", self.n_layer),
            ("n_head", self.n_head),
            ("n_embd", self.n_embd),
        ];
        if let Some((name, _)) = sizes.iter().find(|(_, v)| *v == 0) {
            return Err(format!("{name} must be at least 1"));
        }
        if self.n_embd % self.n_head != 0 {
            return Err(format!(
                "n_embd = {} is not a multiple of n_head = {}",
                self.n_embd, self.n_head
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(format!("dropout = {} is not in [0, 1)", self.dropout));
        }
        Ok(())
    }
}

/// nanoGPT's `transformer` module dictionary.
#[derive(Module)]
pub struct GptTransformer<T: Float = f32> {
    /// Token embeddings `[vocab_size, n_embd]`, also the output layer.
    pub wte: Embedding<T>,
    /// Learned position embeddings `[block_size, n_embd]`.
    pub wpe: Embedding<T>,
    /// Dropout on the embeddings.
    pub drop: Dropout<T>,
    /// The blocks, named `h.0`, `h.1`, ...
    pub h: Vec<GptBlock<T>>,
    /// The final LayerNorm.
    pub ln_f: LayerNorm<T>,
}

/// nanoGPT's GPT for characters: token and position embeddings, `n_layer`
/// pre-LayerNorm blocks of causal self-attention and a GELU MLP, a final
/// LayerNorm, and logits from the token embeddings (`lm_head.weight` tied to
/// `transformer.wte.weight`).
///
/// The state-dict names are nanoGPT's: `transformer.wte.weight`,
/// `transformer.wpe.weight`, `transformer.h.{i}.ln_1.weight`,
/// `transformer.h.{i}.attn.c_attn.weight` (`[3C, C]`),
/// `transformer.h.{i}.attn.c_proj.weight`, `transformer.h.{i}.ln_2.weight`,
/// `transformer.h.{i}.mlp.c_fc.weight` (`[4C, C]`),
/// `transformer.h.{i}.mlp.c_proj.weight`, `transformer.ln_f.weight` (and
/// the `.bias` of each with `bias`). The tied `lm_head.weight` is not a
/// separate tensor, so it is not in `state_dict`; a checkpoint that holds it
/// too loads when it equals `transformer.wte.weight`.
///
/// Ids `[B, T]` (with `T <= block_size`) give logits `[B, T, vocab_size]`
/// for the next character at every position.
///
/// ```
/// use nabla::nn::zoo::{char_gpt, CharGptConfig};
/// use nabla::nn::{loss::cross_entropy, Module};
/// use nabla::{Generator, IndexTensor};
/// let config = CharGptConfig::new(65);
/// let model = char_gpt::<f32>(&config, &mut Generator::new(0));
/// assert_eq!(model.num_parameters(), 804_096); // nanoGPT prints 0.80M (795,904 without wpe)
/// let ids = IndexTensor::from_vec((0..24).map(|i| i % 65).collect(), &[2, 12]);
/// let logits = model.forward(&ids);
/// assert_eq!(logits.shape(), &[2, 12, 65]);
/// let targets = IndexTensor::from_vec((1..25).map(|i| i % 65).collect(), &[24]);
/// let loss = cross_entropy(&logits.reshape(&[24, 65]), &targets);
/// assert!((loss.item() - 65f32.ln()).abs() < 0.1); // about uniform when untrained
/// let names: Vec<String> = model.state_dict().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names[..3], ["transformer.wte.weight", "transformer.wpe.weight", "transformer.h.0.ln_1.weight"]);
/// ```
#[derive(Module)]
pub struct CharGpt<T: Float = f32> {
    /// Embeddings, blocks and the final LayerNorm.
    pub transformer: GptTransformer<T>,
    #[module(skip)]
    config: CharGptConfig,
}

/// A [`CharGpt`] of `config`, initialised as nanoGPT does: linear weights
/// and embeddings N(0, 0.02), biases zero, the residual projections
/// (`c_proj`) N(0, 0.02 / sqrt(2 n_layer)), LayerNorms one and zero.
///
/// # Panics
/// If the config is not valid ([`CharGptConfig::validate`]).
pub fn char_gpt<T: Float>(config: &CharGptConfig, generator: &mut Generator) -> CharGpt<T> {
    if let Err(message) = config.validate() {
        panic!("char_gpt: {message}");
    }
    let embedding = |rows: usize, generator: &mut Generator| {
        let e = Embedding::new(rows, config.n_embd, generator);
        normal_(&e.weight, 0.0, 0.02, generator);
        e
    };
    let wte = embedding(config.vocab_size, generator);
    let wpe = embedding(config.block_size, generator);
    let seed = generator.below(usize::MAX) as u64;
    let h = (0..config.n_layer)
        .map(|i| GptBlock::new(config, seed.wrapping_add(3 * i as u64 + 1), generator))
        .collect();
    CharGpt {
        transformer: GptTransformer {
            wte,
            wpe,
            drop: Dropout::new(config.dropout, seed),
            h,
            ln_f: gpt_layer_norm(config),
        },
        config: config.clone(),
    }
}

/// The keys and values of every layer for the positions generated so far,
/// so that each new character costs one position's work
/// ([`CharGpt::forward_cached`]). Each step copies the cached positions
/// once (at most `block_size` of them); unlike [`crate::nn::KvCache`] it
/// may be used while gradients are recorded.
#[derive(Clone, Debug)]
pub struct CharGptCache<T: Float = f32> {
    layers: Vec<LayerCache<T>>,
}

impl<T: Float> CharGptCache<T> {
    /// The number of positions cached.
    pub fn len(&self) -> usize {
        self.layers.first().map_or(0, LayerCache::len)
    }

    /// True before the first position.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T: Float> CharGpt<T> {
    /// The model's sizes.
    pub fn config(&self) -> &CharGptConfig {
        &self.config
    }

    /// The logits `[B, T, vocab_size]` of ids `[B, T]`.
    ///
    /// # Panics
    /// If `ids` is not `[B, T]`, `T` exceeds `block_size` or an id is
    /// outside the vocabulary.
    pub fn forward(&self, ids: &IndexTensor) -> Tensor<T> {
        self.forward_from(ids, 0, None)
    }

    /// An empty cache for [`CharGpt::forward_cached`].
    pub fn new_cache(&self) -> CharGptCache<T> {
        CharGptCache {
            layers: (0..self.config.n_layer).map(|_| LayerCache::default()).collect(),
        }
    }

    /// The logits `[B, T, vocab_size]` of ids `[B, T]` that follow the
    /// positions in `cache`, which gains their keys and values: the same
    /// logits as [`CharGpt::forward`] of the whole sequence at these
    /// positions.
    ///
    /// # Panics
    /// As [`CharGpt::forward`], if the cached and new positions together
    /// exceed `block_size` (start a new cache from the last `block_size - 1`
    /// characters, as nanoGPT's `generate` crops its context), and if the
    /// cache is another model's with a different number of layers.
    pub fn forward_cached(&self, ids: &IndexTensor, cache: &mut CharGptCache<T>) -> Tensor<T> {
        let start = cache.len();
        self.forward_from(ids, start, Some(cache))
    }

    /// The weights packed for generation: see [`FrozenCharGpt`].
    pub fn freeze(&self) -> FrozenCharGpt<'_, T> {
        FrozenCharGpt::new(self)
    }

    /// Logits `[B, T, V]` of `ids` after `start` positions (in `cache` if
    /// any).
    fn forward_from(
        &self,
        ids: &IndexTensor,
        start: usize,
        cache: Option<&mut CharGptCache<T>>,
    ) -> Tensor<T> {
        assert!(
            ids.ndim() == 2,
            "CharGpt: ids must be [batch, time], got {:?}",
            ids.shape()
        );
        let (b, t) = (ids.shape()[0], ids.shape()[1]);
        assert!(
            start + t <= self.config.block_size,
            "CharGpt: {} positions exceed the block size of {}",
            start + t,
            self.config.block_size
        );
        let x = self.embed(ids, start);
        let mut x = self.transformer.drop.forward(&x);
        let depth = self.transformer.h.len();
        if let Some(cache) = &cache {
            assert!(
                cache.layers.len() == depth,
                "CharGpt: a cache of {} layers for a model of {depth} (make it with new_cache)",
                cache.layers.len()
            );
        }
        let mut layers = cache.map(|cache| cache.layers.iter_mut());
        for block in &self.transformer.h {
            let layer = layers.as_mut().and_then(Iterator::next);
            x = block.forward(&x, b, layer);
        }
        let x = self.transformer.ln_f.forward(&x);
        let logits = x.matmul(&self.transformer.wte.weight.t());
        logits.reshape(&[b, t, self.config.vocab_size])
    }

    /// The token and position embeddings of ids `[B, T]` at positions
    /// `start..start + T`, summed: `[B * T, C]`.
    fn embed(&self, ids: &IndexTensor, start: usize) -> Tensor<T> {
        let (b, t, c) = (ids.shape()[0], ids.shape()[1], self.config.n_embd);
        let tokens = self.transformer.wte.forward(ids);
        let positions = self
            .transformer
            .wpe
            .forward(&IndexTensor::arange(start, start + t));
        (&tokens + &positions).reshape(&[b * t, c])
    }
}
