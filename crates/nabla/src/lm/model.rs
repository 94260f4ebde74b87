//! [`LanguageModel`]: either character-level model of the zoo, behind one
//! forward, as a checkpoint names it.

use crate::element::Float;
use crate::nn::zoo::{char_gpt, char_lstm, CharGpt, CharGptConfig, CharLstm, CharLstmConfig};
use crate::nn::{AsModule, Module};
use crate::tensor::{Generator, IndexTensor, Tensor};

/// A character-level language model: nanoGPT's transformer or the LSTM.
///
/// ```
/// use nabla::lm::LanguageModel;
/// use nabla::nn::zoo::CharGptConfig;
/// use nabla::{Generator, IndexTensor};
/// let model: LanguageModel = LanguageModel::gpt(&CharGptConfig::new(65), &mut Generator::new(0));
/// assert_eq!((model.kind(), model.vocab_size(), model.block_size()), ("char-gpt", 65, Some(64)));
/// let logits = model.forward(&IndexTensor::from_vec(vec![0, 1, 2], &[1, 3]));
/// assert_eq!(logits.shape(), &[1, 3, 65]);
/// ```
pub enum LanguageModel<T: Float = f32> {
    /// nanoGPT's GPT (`char-gpt`).
    Gpt(CharGpt<T>),
    /// Embedding, LSTM and linear (`char-lstm`).
    Lstm(CharLstm<T>),
}

impl<T: Float> LanguageModel<T> {
    /// A new [`CharGpt`] of `config`.
    pub fn gpt(config: &CharGptConfig, generator: &mut Generator) -> Self {
        LanguageModel::Gpt(char_gpt(config, generator))
    }

    /// A new [`CharLstm`] of `config`.
    pub fn lstm(config: &CharLstmConfig, generator: &mut Generator) -> Self {
        LanguageModel::Lstm(char_lstm(config, generator))
    }

    /// The name a checkpoint's `nabla.model` gives it: `char-gpt` or `char-lstm`.
    pub fn kind(&self) -> &'static str {
        match self {
            LanguageModel::Gpt(_) => "char-gpt",
            LanguageModel::Lstm(_) => "char-lstm",
        }
    }

    /// The sizes as the JSON object of a checkpoint's `nabla.config`.
    pub fn config_json(&self) -> String {
        let json = match self {
            LanguageModel::Gpt(m) => serde_json::to_string(m.config()),
            LanguageModel::Lstm(m) => serde_json::to_string(m.config()),
        };
        json.expect("a config of numbers and booleans serializes")
    }

    /// Characters in the vocabulary.
    pub fn vocab_size(&self) -> usize {
        match self {
            LanguageModel::Gpt(m) => m.config().vocab_size,
            LanguageModel::Lstm(m) => m.vocab_size(),
        }
    }

    /// The longest context the model reads: the GPT's block size; `None`
    /// for the LSTM, whose state carries any length.
    pub fn block_size(&self) -> Option<usize> {
        match self {
            LanguageModel::Gpt(m) => Some(m.config().block_size),
            LanguageModel::Lstm(_) => None,
        }
    }

    /// The logits `[B, T, vocab_size]` of ids `[B, T]`.
    pub fn forward(&self, ids: &IndexTensor) -> Tensor<T> {
        match self {
            LanguageModel::Gpt(m) => m.forward(ids),
            LanguageModel::Lstm(m) => m.forward(ids),
        }
    }

    /// The parameter tree.
    pub fn module(&self) -> &dyn Module<T> {
        match self {
            LanguageModel::Gpt(m) => m,
            LanguageModel::Lstm(m) => m,
        }
    }

    /// The parameter tree, mutably (train/eval mode).
    pub fn module_mut(&mut self) -> &mut dyn Module<T> {
        match self {
            LanguageModel::Gpt(m) => m,
            LanguageModel::Lstm(m) => m,
        }
    }
}

/// What [`fit`](crate::train::fit) needs of a model: its parameter tree.
impl AsModule for LanguageModel {
    fn as_module(&self) -> &dyn Module {
        self.module()
    }

    fn as_module_mut(&mut self) -> &mut dyn Module {
        self.module_mut()
    }
}
